//! A real Chromium, headless, driven through W3C WebDriver (Debian's `chromium` and
//! `chromedriver`, which `scripts/install-browser` installs): a small client over reqwest, enough
//! for the page tests. Without a browser a test says it skipped; under CI=true it fails instead.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The key W3C WebDriver names an element by.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long a page may take to show what a test waits for.
const WAIT: Duration = Duration::from_secs(10);

/// Runs axe-core on the document and answers its serious and critical violations.
const AXE_RUN: &str = "const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ['violations']})
  .then(r => done(r.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => v.id + ': ' + v.help + ' (' + v.nodes.map(n => n.target.join(' ')).join(', ') + ')')))
  .catch(e => done(['axe failed: ' + e]));";

/// axe-core's source, as `scripts/install-browser` installs it (or from `HERALD_AXE`); `None`,
/// said aloud, when it is missing outside CI.
pub fn axe_source(test: &str) -> Option<String> {
    let path = std::env::var_os("HERALD_AXE")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            let tools =
                std::env::var_os("HERALD_TOOLS_DIR").unwrap_or_else(|| "/var/tmp/herald-tools".into());
            std::fs::read_dir(tools)
                .ok()?
                .flatten()
                .map(|e| e.path().join("axe.min.js"))
                .find(|p| p.is_file())
        });
    match path.and_then(|p| std::fs::read_to_string(p).ok()) {
        Some(source) => Some(source),
        None => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "axe-core is missing under CI=true: run scripts/install-browser"
            );
            eprintln!("SKIPPED {test}: no axe-core here (run scripts/install-browser)");
            None
        }
    }
}

pub struct Browser {
    http: reqwest::Client,
    session: String,
    _driver: tokio::process::Child,
    /// Chromium's profile directory, removed when the session ends.
    profile: std::path::PathBuf,
}

fn installed(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

impl Browser {
    /// A new headless Chromium, or `None` (said aloud) when none is installed outside CI.
    pub async fn start(test: &str) -> Option<Self> {
        if !(installed("chromedriver") && installed("chromium")) {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "chromium and chromedriver are missing under CI=true: run scripts/install-browser"
            );
            eprintln!("SKIPPED {test}: no chromium/chromedriver here (run scripts/install-browser)");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = tokio::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(started.elapsed() < WAIT, "chromedriver did not answer");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = std::env::temp_dir().join(format!("herald-chromium-{}-{port}", std::process::id()));
        // Without the background-networking flags Chromium keeps calling Google on a closed network.
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
        ];
        let mut args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args},
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let r: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {r}"));
        Some(Self {
            http,
            session: format!("{base}/session/{id}"),
            _driver: driver,
            profile,
        })
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, Value> {
        let mut req = self.http.request(method, format!("{}{path}", self.session));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let ok = res.status().is_success();
        let v: Value = res.json().await.unwrap();
        match ok {
            true => Ok(v["value"].clone()),
            false => Err(v["value"].clone()),
        }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body))
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None)
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({"url": url})).await;
    }

    pub async fn url(&self) -> String {
        self.get("/url").await.as_str().unwrap().to_owned()
    }

    /// The page's address once it contains `needle`: a form sent by GET has been answered and
    /// its page is the one showing (reading the old page's text instead would race it).
    pub async fn url_with(&self, needle: &str) -> String {
        let started = Instant::now();
        loop {
            let url = self.url().await;
            if url.contains(needle) {
                return url;
            }
            assert!(started.elapsed() < WAIT, "never went to {needle:?}: on {url}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The element `css` selects, waiting for it to appear.
    async fn find(&self, css: &str) -> String {
        let started = Instant::now();
        loop {
            let found = self
                .call(
                    reqwest::Method::POST,
                    "/element",
                    Some(json!({"using": "css selector", "value": css})),
                )
                .await;
            if let Ok(e) = found {
                return e[ELEMENT].as_str().unwrap().to_owned();
            }
            assert!(
                started.elapsed() < WAIT,
                "no element `{css}` on {}",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether `css` selects something now.
    pub async fn has(&self, css: &str) -> bool {
        let body = json!({"using": "css selector", "value": css});
        !self.post("/elements", body).await.as_array().unwrap().is_empty()
    }

    /// Replaces the text of the field `css` with `text`, as typed.
    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.post(&format!("/element/{e}/clear"), json!({})).await;
        self.post(&format!("/element/{e}/value"), json!({"text": text}))
            .await;
    }

    /// Types `keys` into the element `css` without clearing it first: a file's path into a file
    /// input, or keys such as Enter (`\u{E007}`) into a button, which presses it.
    pub async fn keys(&self, css: &str, keys: &str) {
        let e = self.find(css).await;
        self.post(&format!("/element/{e}/value"), json!({"text": keys}))
            .await;
    }

    /// Runs `script` in the page with `args` (`arguments[0]`, …), returning what it returns.
    pub async fn run(&self, script: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": args}))
            .await
    }

    /// The serious and critical accessibility violations axe-core finds on the page now, each as
    /// `rule: help (where)`. `axe` is axe-core's source, which this injects first.
    pub async fn axe(&self, axe: &str) -> Vec<String> {
        // Run as WebDriver's script (not a `<script>` element), so the page's CSP does not apply.
        self.post(
            "/execute/sync",
            json!({"script": format!("{axe}\n;return typeof axe;"), "args": []}),
        )
        .await;
        let found = self
            .post("/execute/async", json!({"script": AXE_RUN, "args": []}))
            .await;
        found
            .as_array()
            .unwrap_or_else(|| panic!("axe did not run: {found}"))
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect()
    }

    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.post(&format!("/element/{e}/click"), json!({})).await;
    }

    /// The text of `css` once it contains `needle` (after a click that loads another page, the
    /// old page may still be showing for a moment).
    pub async fn text_with(&self, css: &str, needle: &str) -> String {
        let started = Instant::now();
        loop {
            if self.has(css).await {
                let e = self.find(css).await;
                // The element may belong to the page being replaced: read again if it went stale.
                if let Ok(t) = self
                    .call(reqwest::Method::GET, &format!("/element/{e}/text"), None)
                    .await
                    && t.as_str().is_some_and(|t| t.contains(needle))
                {
                    return t.as_str().unwrap_or_default().to_owned();
                }
            }
            assert!(
                started.elapsed() < WAIT,
                "`{css}` never said {needle:?} on {}",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A form field's current value.
    pub async fn value(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.get(&format!("/element/{e}/property/value"))
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The value of the cookie `name` the browser holds for the page's site (an `HttpOnly` one
    /// too: a test fetches what a link downloads with it, as the browser would).
    pub async fn cookie(&self, name: &str) -> String {
        let c = self.get(&format!("/cookie/{name}")).await;
        c["value"]
            .as_str()
            .unwrap_or_else(|| panic!("no cookie {name}: {c}"))
            .to_owned()
    }

    /// What the page logged as errors since the last look (CSP refusals included).
    pub async fn console_errors(&self) -> Vec<String> {
        let log = self.post("/se/log", json!({"type": "browser"})).await;
        log.as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// With `HERALD_SCREENSHOTS=DIR` (`docs/screenshots` for the README), a PNG of the page as it
    /// shows now, as `DIR/{name}.png`; without it, nothing.
    pub async fn shoot(&self, name: &str) {
        if let Some(dir) = std::env::var_os("HERALD_SCREENSHOTS") {
            self.screenshot(&Path::new(&dir).join(format!("{name}.png")))
                .await;
        }
    }

    async fn screenshot(&self, to: &Path) {
        use base64::Engine;
        let png = self.get("/screenshot").await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        std::fs::write(to, bytes).unwrap();
    }

    /// Ends the session (the browser closes; chromedriver stops when dropped).
    pub async fn quit(self) {
        let _ = self.http.delete(&self.session).send().await;
    }
}

impl Drop for Browser {
    /// A test that fails before `quit` still leaves no Chromium behind: ChromeDriver is killed
    /// with the test, and the browser it started would outlive it.
    fn drop(&mut self) {
        let _ = std::process::Command::new("pkill")
            .arg("-f")
            .arg(format!("user-data-dir={}", self.profile.display()))
            .status();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
