//! The built-in sandbox is a development tool: a Herald others can reach mounts none of it, real
//! credentials for one platform leave only the other's emulator, and profiles the sandbox backed
//! are held back (nothing sent anywhere) once it is off.

use herald_domain::platform::Login;
use herald_platforms::App;
use herald_sandbox::{Sandbox, SandboxConfig};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};
use url::Url;

use crate::harness::{Mode, TestApp, backends};
use crate::on_both_backends;

async fn status(url: Url) -> StatusCode {
    reqwest::get(url).await.unwrap().status()
}

/// A sandbox on its own port acting as the real Instagram, and credentials for it.
async fn real_instagram() -> (Sandbox, App) {
    let sb = Sandbox::new(SandboxConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(herald_sandbox::serve(
        sb.clone(),
        listener,
        std::future::pending(),
    ));
    let app = sb.config().instagram_app;
    let secret = SecretString::from(app.client_secret);
    let creds = App::under(Login::Instagram, app.client_id, secret, Some(&base));
    (sb, creds)
}

#[tokio::test]
async fn a_public_instance_mounts_no_sandbox_and_holds_back_what_the_sandbox_connected() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup("public@example.com").await;
        app.connect(&[]).await;
        let (_, token) = app.post(app.url("api/v1/tokens"), json!({"name": "ops"})).await;
        let token = token["token"].as_str().unwrap().to_owned();
        app.restart_with(|s| {
            s.listen = "0.0.0.0:0".parse().unwrap();
            s.public_url = Url::parse("https://herald.example/").unwrap();
        })
        .await;
        assert!(app.app.as_ref().unwrap().sandbox.is_none());
        // Over https an owner without a second factor reaches nothing, their token included: this
        // one has enrolled (as far as the check is concerned).
        app.tamper("INSERT INTO two_factor (user_id, secret_ciphertext, created_at, enabled_at) SELECT id, '', 0, 0 FROM users")
            .await;
        for path in [
            "_sandbox/",
            "_sandbox/instagram/tokens",
            "graph.instagram.com/v24.0/me",
            "www.instagram.com/oauth/authorize",
            "www.facebook.com/v24.0/dialog/oauth",
            "graph.facebook.com/v24.0/me",
        ] {
            assert_eq!(status(app.url(path)).await, StatusCode::NOT_FOUND, "{path}");
        }
        let http = reqwest::Client::new();
        let profiles: Value = http
            .get(app.ws_url("profiles"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let p = &profiles["data"][0];
        assert_eq!(
            (p["status"].as_str(), p["reason"].as_str(), p["sandbox"].as_bool()),
            (Some("needs_reconnect"), Some("sandbox_off"), Some(true)),
            "{p}"
        );
        assert!(p["reason_message"].as_str().unwrap().contains("sandbox"), "{p}");
        let r = http
            .post(app.ws_url("connections"))
            .bearer_auth(&token)
            .json(&json!({"platform": "instagram"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["error"]["code"], "platform_not_configured", "{e}");
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains("HERALD_INSTAGRAM_CLIENT_ID")
        );
    });
}

#[tokio::test]
async fn a_profile_the_sandbox_connected_sends_nothing_to_the_real_platform_and_works_again_with_the_sandbox()
{
    for backend in backends().await {
        let mut app = TestApp::spawn(backend, Mode::Builtin).await;
        app.signup("switch@example.com").await;
        app.connect(&[]).await;
        let profile = app.profiles().await[0]["id"].as_str().unwrap().to_owned();
        let (_, media) = app.upload("square-1080.jpg").await;
        let at = (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(3)).to_string();
        let (s, post) = app
            .schedule(
                json!({"text": "not for the real Instagram", "media_ids": [media["id"]],
                "targets": [{"profile_id": profile}], "scheduled_at": at}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{post}");
        let post = post["id"].as_str().unwrap().to_owned();
        let (real, creds) = real_instagram().await;
        app.restart_with(|s| {
            s.apps.insert(Login::Instagram, creds.clone());
        })
        .await;
        let (s, refused) = app
            .schedule(json!({"text": "another", "media_ids": [media["id"]],
                "targets": [{"profile_id": profile}], "scheduled_at": at}))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let v = &refused["error"]["violations"][0];
        assert_eq!(v["rule"], "sandbox_off", "{refused}");
        assert!(v["message"].as_str().unwrap().contains("sandbox"), "{refused}");
        let done = app.wait_for(&post, |d| d["status"] == "needs_reconnect").await;
        assert_eq!(done["deliveries"][0]["error"]["code"], "sandbox_off", "{done}");
        assert!(
            done["deliveries"][0]["error"]["message"]
                .as_str()
                .unwrap()
                .contains("sandbox")
        );
        assert_eq!(
            real.footprint().calls + real.footprint().journal,
            0,
            "the real Instagram never heard of the sandbox's profile"
        );
        // With the sandbox back (as on the machine it was connected on), the profile is connected
        // again. (The post is cancelled first: requeued, it would meet a sandbox that, started
        // afresh, no longer knows the old token.)
        let (s, _) = app
            .post(app.ws_url(&format!("posts/{post}/cancel")), json!({}))
            .await;
        assert_eq!(s, StatusCode::OK);
        app.restart_with(|s| {
            s.apps.remove(&Login::Instagram);
        })
        .await;
        let p = &app.profiles().await[0];
        assert_eq!(p["status"], "connected", "{p}");
        app.stop().await;
    }
}

#[tokio::test]
async fn real_credentials_for_one_platform_mount_only_the_other_platforms_emulator() {
    for backend in backends().await {
        let (_real, creds) = real_instagram().await;
        let mut app = TestApp::spawn_with(backend, Mode::Builtin, |s| {
            s.apps.insert(Login::Instagram, creds);
        })
        .await;
        for path in [
            "graph.instagram.com/v24.0/me",
            "www.instagram.com/oauth/authorize",
            "_sandbox/instagram/tokens",
            "_sandbox/instagram/media",
        ] {
            assert_eq!(status(app.url(path)).await, StatusCode::NOT_FOUND, "{path}");
        }
        assert_eq!(status(app.url("_sandbox/facebook")).await, StatusCode::OK);
        assert_eq!(
            status(app.url("graph.facebook.com/v24.0/me")).await,
            StatusCode::BAD_REQUEST,
            "the Facebook emulator answers as Graph does"
        );
        app.signup("real@example.com").await;
        let (_, platforms) = app.get(app.url("api/v1/platforms")).await;
        let backend_of = |id: &str| {
            platforms["data"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["id"] == id)
                .unwrap()["backend"]
                .clone()
        };
        assert_eq!(backend_of("instagram"), "real");
        assert_eq!(backend_of("facebook"), "sandbox");
        app.stop().await;
    }
}
