//! Tokens stay secret: never in the database files or any log (at trace level), in any common encoding;
//! and master keys rotate while Herald publishes.

use std::sync::Arc;

use base64::Engine;
use herald_domain::profile::SecretKind;
use herald_domain::{Clock, ProfileId, WorkspaceId};
use herald_store::{Db, Store};
use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::json;

use crate::harness::{Mode, TestApp, log_buffer};
use crate::on_both_backends;

fn encodings(secret: &str) -> Vec<String> {
    vec![
        secret.to_owned(),
        base64::engine::general_purpose::STANDARD.encode(secret),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
        hex::encode(secret),
        url::form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
    ]
}

/// Fails naming `place` if any of `secrets` appears in `haystack` in any common encoding.
pub(crate) fn assert_absent(haystack: &[u8], secrets: &[String], place: &str) {
    for s in secrets {
        for e in encodings(s) {
            if let Some(at) = haystack.windows(e.len()).position(|w| w == e.as_bytes()) {
                let line_start = haystack[..at]
                    .iter()
                    .rposition(|b| *b == b'\n')
                    .map_or(0, |i| i + 1);
                let context = String::from_utf8_lossy(&haystack[line_start..at]);
                panic!("a secret appears in {place}, after: {context}");
            }
        }
    }
}

async fn database_bytes(app: &TestApp) -> Vec<u8> {
    let db = app.db.as_ref().unwrap();
    if let Some(dir) = db.sqlite_dir() {
        let mut all = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            all.extend(std::fs::read(entry.unwrap().path()).unwrap());
        }
        assert!(!all.is_empty());
        return all;
    }
    let name = db.postgres_name().unwrap();
    let out = std::process::Command::new("pg_dump")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", name])
        .output()
        .expect("pg_dump runs");
    assert!(
        out.status.success(),
        "pg_dump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[tokio::test]
async fn no_token_or_code_reaches_the_database_files_or_the_trace_logs() {
    let logs = log_buffer();
    on_both_backends!(Mode::Standalone, |app| {
        app.signup("secret@example.com").await;
        let location = app.consent(&[], "allow").await;
        let code = url::Url::parse(&location)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned();
        assert_eq!(app.callback(&location).await.0, StatusCode::OK);
        let profile = app.profiles().await[0]["id"].clone();
        let (_, media) = app.upload("square-1080.jpg").await;
        let at = (Timestamp::now() + SignedDuration::from_secs(1)).to_string();
        let (_, post) = app.schedule(json!({"text": "secret test", "media_ids": [media["id"]], "targets": [{"profile_id": profile}], "scheduled_at": at})).await;
        app.wait_for(post["id"].as_str().unwrap(), |d| d["status"] == "published")
            .await;
        // The tokens the sandbox issued to Herald (read from the sandbox object this test owns:
        // no HTTP route shows them).
        let mut secrets = app.sandbox.issued_tokens();
        assert_eq!(secrets.len(), 2, "a short-lived and a long-lived token");
        secrets.push(code);
        // Facebook Login too: the code, the user tokens and the Page tokens.
        let location = app.consent_on("facebook", &[], "allow").await;
        let fb_code = url::Url::parse(&location)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned();
        assert_eq!(app.callback(&location).await.0, StatusCode::OK);
        let (_, list) = app.get(app.ws_url("connections")).await;
        let connection = list["data"][0]["id"].as_str().unwrap();
        let (s, chosen) = app
            .post(
                app.ws_url(&format!("connections/{connection}/accounts")),
                json!({"accounts": ["facebook:100000000000001"]}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{chosen}");
        let at = (Timestamp::now() + SignedDuration::from_secs(1)).to_string();
        let (_, post) = app.schedule(json!({"text": "secret page test", "targets": [{"profile_id": chosen["data"][0]["id"]}], "scheduled_at": at})).await;
        app.wait_for(post["id"].as_str().unwrap(), |d| d["status"] == "published")
            .await;
        let fb: Vec<String> = app
            .sandbox
            .issued_tokens()
            .into_iter()
            .filter(|t| !secrets.contains(t))
            .collect();
        assert!(fb.len() >= 3, "user tokens and Page tokens: {}", fb.len());
        secrets.extend(fb);
        secrets.push(fb_code);
        // X too: a PKCE code, an access token and a refresh token (sealed like the access token).
        let (x_code, x) = connect_and_issued(&app, "x", &secrets).await;
        assert_eq!(x.len(), 2, "an access and a refresh token");
        secrets.extend(x);
        secrets.push(x_code);
        // LinkedIn too, as an app LinkedIn approved for refresh tokens: the code, the member's
        // access token and the refresh token (both kept, sealed, for the grant).
        app.sandbox_post("_sandbox/linkedin/app", json!({"refresh_tokens": true}))
            .await;
        let (li_code, li) = connect_and_issued(&app, "linkedin", &secrets).await;
        assert_eq!(li.len(), 2, "an access and a refresh token");
        secrets.extend(li);
        secrets.push(li_code);
        // TikTok too: a PKCE code, an access token and a refresh token that rotates.
        let (tt_code, tt) = connect_and_issued(&app, "tiktok", &secrets).await;
        assert_eq!(tt.len(), 2, "an access and a refresh token");
        secrets.extend(tt);
        secrets.push(tt_code);
        let (_, listed) = app.get(app.ws_url("profiles")).await;
        assert_absent(
            listed.to_string().as_bytes(),
            &secrets,
            "the API's profile listing",
        );
        assert_absent(&database_bytes(&app).await, &secrets, "the database");
        let captured = logs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        assert_absent(&captured, &secrets, "the logs");
    });
    assert!(
        !logs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_empty(),
        "trace logging was captured"
    );
}

/// Connects `platform` through its consent page; returns the code and the tokens the sandbox
/// issued that `known` does not hold.
async fn connect_and_issued(app: &TestApp, platform: &str, known: &[String]) -> (String, Vec<String>) {
    let location = app.consent_on(platform, &[], "allow").await;
    let code = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    assert_eq!(app.callback(&location).await.0, StatusCode::OK);
    let issued = app
        .sandbox
        .issued_tokens()
        .into_iter()
        .filter(|t| !known.contains(t))
        .collect();
    (code, issued)
}

#[tokio::test]
async fn rotating_master_keys_while_publishing_rewraps_everything_and_the_old_version_retires() {
    on_both_backends!(Mode::Standalone, |app| {
        app.signup("rotate@example.com").await;
        app.connect(&[]).await;
        let profile = app.profiles().await[0]["id"].as_str().unwrap().to_owned();
        let (_, media) = app.upload("square-1080.jpg").await;
        let mut posts = Vec::new();
        for i in 0..3 {
            let at = (Timestamp::now() + SignedDuration::from_millis(500 + 300 * i)).to_string();
            let (s, p) = app.schedule(json!({"text": format!("rotation {i}"), "media_ids": [media["id"]], "targets": [{"profile_id": profile}], "scheduled_at": at})).await;
            assert_eq!(s, StatusCode::CREATED);
            posts.push(p["id"].as_str().unwrap().to_owned());
        }
        let msg = herald::keys::rotate(&app.settings).await.expect("rotate");
        assert!(msg.contains("re-wrapped 1"), "{msg}");
        for p in &posts {
            app.wait_for(p, |d| d["status"] == "published").await;
        }
        let status = herald::keys::status(&app.settings).await.unwrap();
        assert!(
            status.contains("version 1: wraps 0") && status.contains("version 2: wraps 1"),
            "{status}"
        );
        herald::keys::retire(&app.settings, 1).await.expect("retire");
        let vault = herald::keys::load_or_create(&app.settings.keys).unwrap();
        assert_eq!(vault.ring().versions(), vec![2]);
        let store = Store::new(
            Db::connect(app.settings.database_url.expose()).await.unwrap(),
            Arc::new(vault),
            Clock::system(),
        );
        let ws: WorkspaceId = app.ws.parse().unwrap();
        let id: ProfileId = profile.parse().unwrap();
        let token = store
            .get_secret(ws, id, SecretKind::AccessToken)
            .await
            .unwrap()
            .expect("token decrypts after retiring v1");
        assert!(token.expose_secret().starts_with("IGAA"));
        assert!(
            herald::keys::retire(&app.settings, 2)
                .await
                .unwrap_err()
                .to_string()
                .contains("current master key")
        );
    });
}
