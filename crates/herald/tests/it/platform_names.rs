//! Outside the registry, the platform modules, the sandbox and the domain's `Platform` enum and
//! rules tables, no code names a platform: adding one never means editing the dispatcher, the
//! server, the store or the CLI. Comments and in-file test modules are not code that runs, so
//! they are not read.

use std::path::{Path, PathBuf};

/// Where platforms may be named.
const ALLOWED: &[&str] = &[
    "crates/herald-domain/src/platform.rs",
    "crates/herald-domain/src/rules/tables.rs",
    // The tables' own tests.
    "crates/herald-domain/src/rules/tests.rs",
    "crates/herald-platforms/src/registry.rs",
    "crates/herald-platforms/src/instagram.rs",
    "crates/herald-platforms/src/facebook.rs",
    "crates/herald-platforms/src/meta.rs",
    "crates/herald-platforms/src/pinterest.rs",
    "crates/herald-platforms/src/snapchat/",
    "crates/herald-platforms/src/linkedin.rs",
    "crates/herald-platforms/src/tiktok/",
    "crates/herald-platforms/src/x.rs",
    "crates/herald-platforms/src/youtube.rs",
    "crates/herald-sandbox/",
    // `herald bench` measures against one emulated platform's one-call post (the sandbox's
    // Facebook Pages), by design: a development tool, not a path a platform's posts take.
    "crates/herald/src/bench.rs",
    "crates/herald/src/bench/",
];

const NAMES: &[&str] = &[
    "instagram",
    "facebook",
    "tiktok",
    "pinterest",
    "linkedin",
    "youtube",
    "snapchat",
];

/// `Platform::X`, `Login::Facebook` and the like: a variant named in code.
const VARIANTS: &[&str] = &["Platform::", "Login::", "Emulator::"];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file: up to its test module, without comments.
fn code(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .take_while(|(_, l)| l.trim() != "#[cfg(test)]")
        .map(|(i, l)| {
            let code = match l.find("//") {
                // A `//` inside a string (a URL) is code, not a comment.
                Some(at) if !l[..at].contains('"') => &l[..at],
                _ => l,
            };
            (i + 1, code.to_owned())
        })
        .collect()
}

fn names_a_platform(line: &str) -> Option<String> {
    let lower = line.to_lowercase();
    if let Some(n) = NAMES.iter().find(|n| lower.contains(*n)) {
        return Some((*n).to_owned());
    }
    VARIANTS.iter().find_map(|v| {
        let at = line.find(v)?;
        let rest = &line[at + v.len()..];
        let variant: String = rest.chars().take_while(|c| c.is_alphanumeric()).collect();
        // `Platform::ALL`, `Login::parse`: the set or a function, never one platform.
        let one = variant.chars().next().is_some_and(char::is_uppercase)
            && variant.chars().any(char::is_lowercase)
            || variant == "X";
        one.then(|| format!("{v}{variant}"))
    })
}

#[test]
fn no_code_outside_the_registry_and_the_platform_modules_names_a_platform() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for krate in std::fs::read_dir(root.join("crates")).unwrap() {
        let src = krate.unwrap().path().join("src");
        if src.is_dir() {
            sources(&src, &mut files);
        }
    }
    assert!(files.len() > 50, "found only {} source files", files.len());
    let mut found = Vec::new();
    for path in &files {
        let rel = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if ALLOWED.iter().any(|a| rel.starts_with(a)) {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        // The crate root declares the platform modules; nothing else there may name them.
        let declares_modules = rel == "crates/herald-platforms/src/lib.rs";
        for (n, line) in code(&text) {
            if declares_modules && line.trim_start().starts_with("mod ") {
                continue;
            }
            if let Some(name) = names_a_platform(&line) {
                found.push(format!("{rel}:{n}: {name}: {}", line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "platforms are named outside the registry and the platform modules (ask the registry instead):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scan_sees_a_platform_named_in_code_but_not_in_a_comment_or_a_set() {
    assert_eq!(
        names_a_platform("let p = Platform::Pinterest;").as_deref(),
        Some("pinterest")
    );
    assert_eq!(
        names_a_platform("if p == Platform::X {").as_deref(),
        Some("Platform::X")
    );
    assert_eq!(names_a_platform("for p in Platform::ALL {"), None);
    assert_eq!(names_a_platform("Login::parse(s)"), None);
    let lines =
        code("let a = 1; // Instagram's quota\nlet u = \"https://x.test//y\";\n#[cfg(test)]\nFacebook");
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|(_, l)| names_a_platform(l).is_none()));
}
