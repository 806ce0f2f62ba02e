//! The `herald` command as a user runs it: clear one-line errors, configuration files, graceful stop.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

fn herald(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_herald"));
    c.current_dir(dir)
        .env_remove("HERALD_DATABASE_URL")
        .env_remove("HERALD_MASTER_KEYS")
        .env_remove("RUST_LOG");
    c
}

fn temp_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("herald-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn a_worker_on_sqlite_and_a_bad_setting_fail_with_one_line_saying_what_to_fix() {
    let dir = temp_dir();
    let out = herald(&dir).arg("worker").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: `herald worker` needs PostgreSQL"),
        "{err}"
    );

    std::fs::write(
        dir.join("herald.toml"),
        "listen = \"127.0.0.1:0\"\nsignup = \"sometimes\"\n",
    )
    .unwrap();
    let out = herald(&dir)
        .args(["--config", "herald.toml", "migrate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        err.trim(),
        "error: --signup must be `open` or `closed`, not `sometimes`"
    );

    std::fs::write(dir.join("typo.toml"), "lisen = \"127.0.0.1:0\"\n").unwrap();
    let out = herald(&dir)
        .args(["--config", "typo.toml", "migrate"])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: the config file typo.toml is invalid") && err.contains("lisen"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn serve_prints_where_everything_is_and_stops_cleanly_on_sigterm() {
    let dir = temp_dir();
    std::fs::write(
        dir.join("herald.toml"),
        "listen = \"127.0.0.1:0\"\ndata_dir = \"state\"\n",
    )
    .unwrap();
    let mut child = herald(&dir)
        .args(["--config", "herald.toml", "serve"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let seen = read_until(&mut child, |seen| seen.contains("Press Ctrl-C"));
    assert!(seen.contains("Sandbox:") && seen.contains("state"), "{seen}");
    assert!(dir.join("state/master.keys").exists() && dir.join("state/herald.db").exists());
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(std::time::Instant::now() < deadline, "serve did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Reads the child's standard output until `done` holds for what it printed so far.
fn read_until(child: &mut std::process::Child, done: impl Fn(&str) -> bool) -> String {
    let stdout = child.stdout.as_mut().unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 256];
    while !done(&seen) {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "herald exited early: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    seen
}

/// Runs `herald` in `dir` with `args` and returns (exit code, stderr).
fn run(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let out = herald(dir).args(args).output().unwrap();
    (out.status.code(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn keys_commands_never_create_a_keyring_and_a_readable_keyring_stops_herald() {
    let dir = temp_dir();
    for cmd in ["status", "rotate"] {
        let (code, err) = run(&dir, &["keys", cmd]);
        assert_eq!(code, Some(1), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("no master keyring at") && err.contains("backup"),
            "{err}"
        );
    }
    assert!(
        !dir.join("herald-data/master.keys").exists(),
        "nothing was created"
    );
    std::fs::write(dir.join("herald.toml"), "listen = \"127.0.0.1:0\"\n").unwrap();
    std::fs::create_dir_all(dir.join("herald-data")).unwrap();
    let keys = dir.join("herald-data/master.keys");
    std::fs::write(&keys, "1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (code, err) = run(&dir, &["--config", "herald.toml", "serve"]);
        assert_eq!(code, Some(1), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("error: refusing to start") && err.contains("chmod 600"),
            "{err}"
        );
        let (_, err) = run(&dir, &["keys", "status"]);
        assert!(err.contains("chmod 600"), "{err}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn secrets_are_refused_as_flags_with_where_to_put_them() {
    let dir = temp_dir();
    for (flag, instead) in [
        ("--database-url", "HERALD_DATABASE_URL"),
        ("--instagram-client-secret", "HERALD_INSTAGRAM_CLIENT_SECRET"),
    ] {
        let (code, err) = run(&dir, &[flag, "hunter2hunter2", "serve"]);
        assert_eq!(code, Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(instead) && err.contains("`ps`"), "{err}");
    }
    let (code, err) = run(&dir, &["serve", "--sandbox", "sometimes"]);
    assert_eq!((code, err.lines().count()), (Some(1), 1), "{err}");
    assert!(err.contains("`auto`, `on` or `off`"), "{err}");
    let (code, err) = run(&dir, &["serve", "--listen", "0.0.0.0:0", "--sandbox", "on"]);
    assert_eq!((code, err.lines().count()), (Some(1), 1), "{err}");
    assert!(err.contains("--allow-public-sandbox"), "{err}");
    let (code, err) = run(&dir, &["sandbox", "--listen", "0.0.0.0:0"]);
    assert_eq!((code, err.lines().count()), (Some(1), 1), "{err}");
    assert!(err.contains("--allow-public-sandbox"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_standalone_sandbox_says_how_its_quotas_apply_scaled_or_off() {
    let dir = temp_dir();
    for (flags, says) in [
        (&["--limits-scale", "100"][..], "Quotas: 100× the platforms'"),
        (&["--no-limits"][..], "Quotas: off"),
        (&[][..], "Quotas: as the platforms document them"),
    ] {
        let mut child = herald(&dir)
            .args(["sandbox", "--listen", "127.0.0.1:0"])
            .args(flags)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let seen = read_until(&mut child, |seen| {
            seen.contains("Quotas:") && seen.ends_with('\n')
        });
        assert!(seen.contains(says), "{flags:?}: {seen}");
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let (code, err) = run(&dir, &["sandbox", "--limits-scale", "5", "--no-limits"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--no-limits"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}
