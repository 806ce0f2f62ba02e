//! Token lifetimes: refreshed before use when close to expiry; an expired grant asks for a reconnect.

use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Mode, TestApp};
use crate::on_both_backends;

/// Moves Herald's clock and the sandbox's by the same amount, and signs in again (sessions expire too).
async fn advance_both(app: &TestApp, by: SignedDuration, email: &str) {
    app.app.as_ref().unwrap().store.clock().advance(by);
    let r = reqwest::Client::new()
        .post(app.sandbox_base.join("_sandbox/clock/advance").unwrap())
        .json(&json!({"seconds": by.as_secs()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (s, _) = app
        .post(
            app.url("api/v1/auth/login"),
            json!({"email": email, "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
}

fn herald_now(app: &TestApp) -> jiff::Timestamp {
    app.app.as_ref().unwrap().store.clock().now()
}

async fn tokens_issued(app: &TestApp) -> usize {
    let body: Value = reqwest::get(app.sandbox_base.join("_sandbox/instagram/tokens").unwrap())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["data"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_token_close_to_expiry_is_refreshed_before_publishing() {
    on_both_backends!(Mode::Standalone, |app| {
        app.signup("refresh@example.com").await;
        app.connect(&[]).await;
        let before = app.profiles().await[0]["token_expires_at"]
            .as_str()
            .unwrap()
            .to_owned();
        let (_, media) = app.upload("square-1080.jpg").await;
        advance_both(&app, SignedDuration::from_hours(24 * 54), "refresh@example.com").await;
        assert_eq!(app.profiles().await[0]["status"], "expiring_soon");
        assert_eq!(tokens_issued(&app).await, 2);
        let at = (herald_now(&app) + SignedDuration::from_secs(1)).to_string();
        let profile = app.profiles().await[0]["id"].clone();
        let (s, post) = app.schedule(json!({"text": "refreshed", "media_ids": [media["id"]], "targets": [{"profile_id": profile}], "scheduled_at": at})).await;
        assert_eq!(s, StatusCode::CREATED, "{post}");
        app.wait_for(post["id"].as_str().unwrap(), |d| d["status"] == "published")
            .await;
        assert_eq!(tokens_issued(&app).await, 3, "one refresh");
        let p = &app.profiles().await[0];
        assert_eq!(p["status"], "connected");
        assert!(p["token_expires_at"].as_str().unwrap() > before.as_str());
    });
}

#[tokio::test]
async fn an_expired_grant_is_refused_at_scheduling_and_stops_a_pending_delivery_as_needs_reconnect() {
    on_both_backends!(Mode::Standalone, |app| {
        app.signup("expired@example.com").await;
        app.connect(&[]).await;
        let profile = app.profiles().await[0]["id"].clone();
        let (_, media) = app.upload("square-1080.jpg").await;
        let at = (herald_now(&app) + SignedDuration::from_hours(24 * 61)).to_string();
        let (s, post) = app.schedule(json!({"text": "too late", "media_ids": [media["id"]], "targets": [{"profile_id": profile}], "scheduled_at": at})).await;
        assert_eq!(s, StatusCode::CREATED, "{post}");
        advance_both(&app, SignedDuration::from_hours(24 * 61), "expired@example.com").await;
        let done = app
            .wait_for(post["id"].as_str().unwrap(), |d| {
                d["status"] != "scheduled" && d["status"] != "publishing"
            })
            .await;
        assert_eq!(done["deliveries"][0]["status"], "needs_reconnect", "{done:#}");
        assert_eq!(done["deliveries"][0]["error"]["code"], "expired");
        let p = &app.profiles().await[0];
        assert_eq!(
            (p["status"].as_str(), p["reason"].as_str()),
            (Some("needs_reconnect"), Some("expired"))
        );
        let soon = (herald_now(&app) + SignedDuration::from_hours(1)).to_string();
        let (s, e) = app.schedule(json!({"text": "x", "media_ids": [media["id"]], "targets": [{"profile_id": profile}], "scheduled_at": soon})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e["error"]["violations"][0]["rule"], "expired");
        assert!(app.sandbox_media().await.is_empty());
    });
}
