//! Crash safety with the real binary: SIGKILL while Instagram or Facebook is processing, restart,
//! one copy.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use herald_sandbox::{Sandbox, SandboxConfig};
use herald_store::testing::TestDatabase;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use url::Url;

use crate::harness::{TestApp, backends, client};

/// Starts `herald serve` as a child process against the sandbox at `sandbox` (its Instagram and
/// Facebook apps).
fn spawn_herald(
    port: u16,
    dir: &std::path::Path,
    db_url: &str,
    sandbox: &Sandbox,
    sandbox_url: &Url,
) -> Child {
    let (ig, fb) = (sandbox.config().instagram_app, sandbox.config().facebook_app);
    let host = |h: &str| sandbox_url.join(h).unwrap().to_string();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("herald.log"))
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_herald"))
        .arg("serve")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir)
        .env("HERALD_DATABASE_URL", db_url)
        .args(["--instagram-client-id", &ig.client_id])
        .env("HERALD_INSTAGRAM_CLIENT_SECRET", &ig.client_secret)
        .args(["--instagram-www-base", &host("www.instagram.com")])
        .args(["--instagram-api-base", &host("api.instagram.com")])
        .args(["--instagram-graph-base", &host("graph.instagram.com")])
        .args(["--facebook-client-id", &fb.client_id])
        .env("HERALD_FACEBOOK_CLIENT_SECRET", &fb.client_secret)
        .args(["--facebook-www-base", &host("www.facebook.com")])
        .args(["--facebook-graph-base", &host("graph.facebook.com")])
        .args(["--facebook-rupload-base", &host("rupload.facebook.com")])
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("herald starts")
}

async fn wait_healthy(base: &Url) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while reqwest::get(base.join("healthz").unwrap()).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "herald never became healthy"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn sigkill_while_instagram_processes_then_restart_publishes_exactly_one_copy() {
    for backend in backends().await {
        crash_while_processing(backend, "square-1080.jpg", Where::Instagram).await;
    }
}

#[tokio::test]
async fn sigkill_while_a_reel_processes_then_restart_publishes_exactly_one_reel() {
    for backend in backends().await {
        crash_while_processing(backend, "reel-720x1280-4s.mp4", Where::Instagram).await;
    }
}

#[tokio::test]
async fn sigkill_while_a_facebook_reel_processes_then_restart_publishes_exactly_one_reel() {
    for backend in backends().await {
        crash_while_processing(backend, "reel-720x1280-4s.mp4", Where::PageReel).await;
    }
}

#[derive(Clone, Copy)]
enum Where {
    Instagram,
    PageReel,
}

/// Schedules `fixture`, kills Herald while the platform processes it, restarts, and counts the copies.
async fn crash_while_processing(backend: herald_store::Backend, fixture: &str, to: Where) {
    {
        let sandbox = Sandbox::new(SandboxConfig {
            // Long enough that the test surely sees `processing` before Instagram finishes, even on a busy machine.
            processing_delay: Duration::from_secs(6),
            ..SandboxConfig::default()
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sandbox_base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let served = herald_sandbox::serve(sandbox.clone(), listener, std::future::pending());
        let sandbox_task = tokio::spawn(async move {
            let _ = served.await;
        });
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let base = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        sandbox.allow_instagram_redirect(base.join("oauth/instagram/callback").unwrap().as_str());
        sandbox.allow_facebook_redirect(base.join("oauth/facebook/callback").unwrap().as_str());
        sandbox.trust_origin(&base);
        let db = TestDatabase::create(backend).await;
        let dir = std::env::temp_dir().join(format!("herald-crash-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let (db_url, sb_url) = (db.url.clone(), sandbox_base.clone());
        let start = || spawn_herald(port, &dir, &db_url, &sandbox, &sb_url);
        let mut child = start();
        wait_healthy(&base).await;

        let settings = herald::Settings::local(dir.clone(), format!("127.0.0.1:{port}").parse().unwrap());
        let mut app = TestApp {
            base: base.clone(),
            sandbox_base,
            sandbox: sandbox.clone(),
            app: None,
            settings,
            db: Some(db),
            dir: dir.clone(),
            client: client(),
            ws: String::new(),
            sandbox_task: Some(sandbox_task),
        };
        app.signup("crash@example.com").await;
        let (profile, options) = match to {
            Where::Instagram => {
                app.connect(&[]).await;
                (app.profiles().await[0]["id"].clone(), json!({}))
            }
            Where::PageReel => {
                app.connect_facebook(&[]).await;
                let (_, list) = app.get(app.ws_url("connections")).await;
                let connection = list["data"][0]["id"].as_str().unwrap().to_owned();
                let (_, chosen) = app
                    .post(
                        app.ws_url(&format!("connections/{connection}/accounts")),
                        json!({"accounts": ["facebook:100000000000001"]}),
                    )
                    .await;
                (chosen["data"][0]["id"].clone(), json!({"format": "reel"}))
            }
        };
        let (_, media) = app.upload(fixture).await;
        let caption = format!("survives a crash {}", uuid::Uuid::new_v4().simple());
        let at = (Timestamp::now() + SignedDuration::from_secs(1)).to_string();
        let (_, post) = app.schedule(json!({"text": caption, "media_ids": [media["id"]], "targets": [{"profile_id": profile, "options": options}], "scheduled_at": at})).await;
        let id = post["id"].as_str().unwrap().to_owned();
        app.wait_for(&id, |d| d["status"] == "processing").await;

        child.kill().expect("SIGKILL");
        child.wait().unwrap();
        let mut child = start();
        wait_healthy(&base).await;
        let done = app.wait_for(&id, |d| d["status"] == "published").await;
        let copies = match to {
            Where::Instagram => app
                .sandbox_media()
                .await
                .into_iter()
                .filter(|m| m["caption"] == caption.as_str())
                .count(),
            Where::PageReel => {
                let fb = app.sandbox_facebook().await;
                let finished = fb["videos"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|v| v["description"] == caption.as_str())
                    .count();
                assert_eq!(finished, 1, "one video was finished: {fb:#}");
                fb["posts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|p| p["message"] == caption.as_str())
                    .count()
            }
        };
        assert_eq!(copies, 1, "exactly one copy after the crash: {done:#}");
        child.kill().unwrap();
        child.wait().unwrap();
        app.stop().await;
    }
}

#[tokio::test]
async fn a_second_process_cannot_dispatch_from_the_same_sqlite_data_directory() {
    let dir = std::env::temp_dir().join(format!("herald-lock-{}", uuid::Uuid::new_v4().simple()));
    let settings = herald::Settings::local(dir.clone(), "127.0.0.1:0".parse().unwrap());
    let first = herald::start(settings.clone())
        .await
        .expect("the first process starts");
    let err = herald::start(settings)
        .await
        .err()
        .expect("the second is refused")
        .to_string();
    assert!(
        err.contains("already dispatching") && err.contains("PostgreSQL"),
        "{err}"
    );
    first.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
