//! The catch-up window and bounded retries: a delivery that cannot start in time waits for the
//! person instead of going out late by surprise, and transient failures end after a bounded number.

use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Mode, TestApp, advance_both, backends, down_for, herald_now, outcomes};

/// Schedules `text` with the photo, `in_` from now on Herald's clock; returns the post.
async fn schedule_in(
    app: &TestApp,
    (profile, media): &(String, String),
    text: &str,
    in_: SignedDuration,
) -> Value {
    let at = (herald_now(app) + in_).to_string();
    let (s, post) = app
        .schedule(json!({"text": text, "media_ids": [media], "targets": [{"profile_id": profile}], "scheduled_at": at}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{post}");
    post
}

fn ids(post: &Value) -> (String, String) {
    (
        post["id"].as_str().unwrap().to_owned(),
        post["deliveries"][0]["id"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn herald_down_past_a_deliverys_window_makes_it_missed_and_inside_the_window_it_publishes() {
    for backend in backends().await {
        let mut app = TestApp::spawn(backend, Mode::Standalone).await;
        let email = "downtime@example.com";
        let target = app.ready_on_instagram(email).await;
        let (late, late_delivery) =
            ids(&schedule_in(&app, &target, "Breakfast special", SignedDuration::from_mins(5)).await);
        let (fresh, _) =
            ids(&schedule_in(&app, &target, "Lunch special", SignedDuration::from_mins(30)).await);
        // Herald is down for 40 minutes: breakfast is 35 minutes late, lunch 10 (inside 15).
        down_for(&mut app, SignedDuration::from_mins(40), email).await;
        let missed = app
            .wait_for(&late, |d| {
                d["status"] != "scheduled" && d["status"] != "publishing"
            })
            .await;
        let d = &missed["deliveries"][0];
        assert_eq!(d["status"], "missed", "{missed:#}");
        assert!(
            d["error"]["message"]
                .as_str()
                .unwrap()
                .contains("catch-up window of 15 minutes"),
            "{missed:#}"
        );
        let published = app.wait_for(&fresh, |d| d["status"] == "published").await;
        assert!(published["deliveries"][0]["platform_post_id"].is_string());
        assert_eq!(
            app.sandbox_media().await.len(),
            1,
            "nothing went out late by surprise"
        );
        // The person publishes the missed one now.
        let (s, again) = app
            .post(
                app.ws_url(&format!("posts/{late}/deliveries/{late_delivery}/publish-now")),
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{again}");
        let done = app.wait_for(&late, |d| d["status"] == "published").await;
        let outcomes = outcomes(&done);
        assert!(
            outcomes.iter().any(|o| o == "missed") && outcomes.iter().any(|o| o == "publish_now"),
            "{outcomes:?}"
        );
        assert_eq!(app.sandbox_media().await.len(), 2);
        app.stop().await;
    }
}

#[tokio::test]
async fn the_workspace_sets_its_window_and_a_missed_delivery_can_be_cancelled() {
    for backend in backends().await {
        let mut app = TestApp::spawn(backend, Mode::Standalone).await;
        let email = "window@example.com";
        let target = app.ready_on_instagram(email).await;
        let (s, settings) = app.get(app.ws_url("settings")).await;
        assert_eq!(
            (s, settings["catch_up_minutes"].as_i64()),
            (StatusCode::OK, Some(15))
        );
        let (s, body) = app.set_catch_up(-1).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["code"], "invalid_catch_up_minutes");
        assert_eq!(app.set_catch_up(60).await.0, StatusCode::OK);
        let (a, _) = ids(&schedule_in(&app, &target, "Within the hour", SignedDuration::from_mins(1)).await);
        let (b, _) = ids(&schedule_in(&app, &target, "Too late now", SignedDuration::from_mins(2)).await);
        assert_eq!(app.set_catch_up(30).await.0, StatusCode::OK);
        // Down for 35 minutes: both are 33 to 34 minutes late, past the 30-minute window now set.
        down_for(&mut app, SignedDuration::from_mins(35), email).await;
        for post in [&a, &b] {
            app.wait_for(post, |d| d["status"] == "missed").await;
        }
        let (s, c) = app
            .post(app.ws_url(&format!("posts/{b}/cancel")), json!({}))
            .await;
        assert_eq!(s, StatusCode::OK, "{c}");
        assert_eq!(c["cancel"]["cancelled"], 1);
        assert_eq!(c["deliveries"][0]["status"], "cancelled");
        assert!(app.sandbox_media().await.is_empty());
        app.stop().await;
    }
}

#[tokio::test]
async fn transient_failures_end_after_the_policys_attempts_with_nothing_published() {
    for backend in backends().await {
        let mut app =
            TestApp::spawn_with(backend, Mode::Standalone, |s| s.retry.max_failures = Some(3)).await;
        let email = "flaky@example.com";
        let target = app.ready_on_instagram(email).await;
        for _ in 0..3 {
            app.fault(
                "instagram",
                json!({"operation": "media", "method": "POST", "kind": "server_error"}),
            )
            .await;
        }
        let (post, _) =
            ids(&schedule_in(&app, &target, "Third time unlucky", SignedDuration::from_secs(1)).await);
        for _ in 0..2 {
            app.wait_for(&post, |d| d["status"] == "retry_wait").await;
            // Past the longest back-off so far (5 s, then 10 s), well inside the window.
            advance_both(&app, SignedDuration::from_secs(30), email).await;
        }
        let done = app.wait_for(&post, |d| d["status"] == "failed").await;
        let d = &done["deliveries"][0];
        assert_eq!(d["error"]["code"], "transient", "{done:#}");
        assert!(
            d["error"]["message"]
                .as_str()
                .unwrap()
                .contains("gave up after 3 attempts"),
            "{done:#}"
        );
        let (_, notes) = app.get(app.ws_url("notifications?unread=true")).await;
        assert_eq!(notes["data"][0]["kind"], "delivery_failed", "{notes:#}");
        assert_eq!(notes["data"][0]["subject"]["id"], post.as_str());
        let containers = app
            .sandbox_requests()
            .await
            .iter()
            .filter(|(m, p)| m == "POST" && p.ends_with("/media"))
            .count();
        assert_eq!(containers, 3);
        assert!(app.sandbox_media().await.is_empty());
        app.stop().await;
    }
}
