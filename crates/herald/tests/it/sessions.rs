//! Sessions and tokens: list, sign out one or all others, idle expiry, a password change ending the
//! other sessions, expired sessions swept, the `__Host-` cookie over https, tokens that expire and
//! cannot make tokens.

use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Mode, TestApp, backends, client};
use crate::on_both_backends;

const EMAIL: &str = "sessions@example.com";
const PASSWORD: &str = "correct horse battery";

/// Signs in with a fresh browser (its own cookie jar) that says it is `agent`.
async fn browser(app: &TestApp, agent: &str, password: &str) -> reqwest::Client {
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .user_agent(agent)
        .build()
        .unwrap();
    let r = c
        .post(app.url("api/v1/auth/login"))
        .json(&json!({"email": EMAIL, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    c
}

async fn me(app: &TestApp, c: &reqwest::Client) -> StatusCode {
    c.get(app.url("api/v1/me")).send().await.unwrap().status()
}

#[tokio::test]
async fn sessions_are_listed_and_signed_out_one_or_all_others() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup(EMAIL).await;
        let phone = browser(&app, "Phone Browser/1.0", PASSWORD).await;
        let laptop = browser(&app, "Laptop Browser/2.0", PASSWORD).await;
        let (s, list) = TestApp::get_with(&phone, app.url("api/v1/sessions")).await;
        assert_eq!(s, StatusCode::OK);
        let data = list["data"].as_array().unwrap();
        assert_eq!(data.len(), 3, "{list}");
        let mine: Vec<&Value> = data.iter().filter(|s| s["current"] == true).collect();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0]["user_agent"], "Phone Browser/1.0");
        assert_eq!(mine[0]["address"], "127.0.0.1");
        assert!(mine[0]["last_seen_at"].is_string() && mine[0]["created_at"].is_string());
        let laptop_id = data
            .iter()
            .find(|s| s["user_agent"] == "Laptop Browser/2.0")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = phone
            .delete(app.url(&format!("api/v1/sessions/{laptop_id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        assert_eq!(me(&app, &laptop).await, StatusCode::UNAUTHORIZED, "signed out");
        assert_eq!(me(&app, &phone).await, StatusCode::OK);
        // Another user cannot see or end these sessions.
        let stranger = client();
        let (s, _) = TestApp::get_with(&stranger, app.url("api/v1/sessions")).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let (s, _) = app
            .post(app.url("api/v1/sessions/revoke-others"), json!({}))
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(me(&app, &phone).await, StatusCode::UNAUTHORIZED);
        assert_eq!(me(&app, &app.client).await, StatusCode::OK, "this one stays");
        let r = app
            .client
            .delete(app.url(&format!("api/v1/sessions/{laptop_id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "already gone");
        // Each ending is in the instance's audit log, and so is signing out.
        let (s, _) = app.post(app.url("api/v1/auth/logout"), json!({})).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        for (action, n) in [
            ("session.revoked", 1),
            ("session.revoked_others", 1),
            ("auth.signout", 1),
        ] {
            let found = app
                .count(&format!(
                    "SELECT COUNT(*) FROM audit_entries WHERE chain = 'instance' AND action = '{action}'"
                ))
                .await;
            assert_eq!(found, n, "{action}");
        }
    });
}

#[tokio::test]
async fn an_idle_session_ends_and_expired_sessions_are_swept() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup(EMAIL).await;
        let clock = app.app.as_ref().unwrap().store.clock().clone();
        clock.advance(SignedDuration::from_hours(23));
        assert_eq!(me(&app, &app.client).await, StatusCode::OK, "used within the day");
        clock.advance(SignedDuration::from_hours(23));
        assert_eq!(
            me(&app, &app.client).await,
            StatusCode::OK,
            "the last use counts, not the start"
        );
        clock.advance(SignedDuration::from_hours(25));
        assert_eq!(
            me(&app, &app.client).await,
            StatusCode::UNAUTHORIZED,
            "idle for a day"
        );
        // The sweep (woken by the clock) deletes it.
        let db = herald_store::Db::connect(app.settings.database_url.expose())
            .await
            .unwrap();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let n: i64 = match &db {
                herald_store::Db::Sqlite(p) => sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
                    .fetch_one(p)
                    .await
                    .unwrap(),
                herald_store::Db::Postgres(p) => sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
                    .fetch_one(p)
                    .await
                    .unwrap(),
            };
            if n == 0 {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{n} session(s) were never swept"
            );
            clock.advance(SignedDuration::from_secs(1));
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        db.close().await;
    });
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_every_other_session() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup(EMAIL).await;
        let other = browser(&app, "Other/1.0", PASSWORD).await;
        let change = |current: &str, new: &str| {
            app.post(
                app.url("api/v1/auth/password"),
                json!({"current_password": current, "new_password": new}),
            )
        };
        let (s, e) = change("not my password", "a brand new passphrase").await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("wrong_password"))
        );
        // The right current password clears the count: trying several new ones is not guessing.
        for _ in 0..7 {
            let (s, e) = change(PASSWORD, "short").await;
            assert_eq!(
                (s, e["error"]["field"].as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, Some("new_password"))
            );
        }
        assert_eq!(me(&app, &other).await, StatusCode::OK, "nothing changed yet");
        let (s, done) = change(PASSWORD, "a brand new passphrase").await;
        assert_eq!(s, StatusCode::OK, "{done}");
        assert_eq!(done["other_sessions_ended"], 1);
        assert_eq!(me(&app, &other).await, StatusCode::UNAUTHORIZED);
        assert_eq!(me(&app, &app.client).await, StatusCode::OK);
        let r = client()
            .post(app.url("api/v1/auth/login"))
            .json(&json!({"email": EMAIL, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "the old password is gone");
        browser(&app, "New/1.0", "a brand new passphrase").await;
    });
}

#[tokio::test]
async fn a_token_expires_records_its_last_use_and_cannot_make_a_token() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup(EMAIL).await;
        let (s, t) = app
            .post(
                app.url("api/v1/tokens"),
                json!({"name": "ci", "expires_in_days": 1}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{t}");
        let token = t["token"].as_str().unwrap().to_owned();
        let (_, never) = app
            .post(
                app.url("api/v1/tokens"),
                json!({"name": "forever", "expires_in_days": null}),
            )
            .await;
        assert!(never["expires_at"].is_null(), "{never}");
        let (_, default) = app
            .post(app.url("api/v1/tokens"), json!({"name": "default"}))
            .await;
        assert!(
            default["expires_at"].is_string(),
            "90 days unless said otherwise: {default}"
        );
        let bearer = reqwest::Client::new();
        let r = bearer
            .post(app.url("api/v1/tokens"))
            .bearer_auth(&token)
            .json(&json!({"name": "from a token"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["error"]["code"], "token_not_allowed");
        let (_, list) = app.get(app.url("api/v1/tokens")).await;
        let ci = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "ci")
            .unwrap()
            .clone();
        assert!(ci["last_used_at"].is_string(), "{ci}");
        app.app
            .as_ref()
            .unwrap()
            .store
            .clock()
            .advance(SignedDuration::from_hours(25));
        let r = bearer
            .get(app.url("api/v1/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "expired");
    });
}

#[tokio::test]
async fn over_https_the_session_cookie_is_host_prefixed_and_secure() {
    for backend in backends().await {
        let mut app = TestApp::spawn(backend, Mode::Builtin).await;
        app.restart_with(|s| s.public_url = url::Url::parse("https://herald.example/").unwrap())
            .await;
        let code = app.setup_code();
        let r = reqwest::Client::new()
            .post(app.url("api/v1/auth/signup"))
            .json(&json!({"email": EMAIL, "password": PASSWORD, "setup_code": code}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.starts_with("__Host-herald_session="), "{cookie}");
        for attr in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(cookie.contains(attr), "{attr}: {cookie}");
        }
        assert!(!cookie.contains("Domain"), "{cookie}");
        app.stop().await;
    }
}
