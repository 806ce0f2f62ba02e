//! Token lifetimes: renewed ahead of expiry for every profile, once across all workers; a refused
//! renewal or an expired grant asks for a reconnect.

use std::collections::HashSet;

use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Mode, TestApp, advance_both, herald_now};
use crate::on_both_backends;

/// The fingerprints of the tokens the sandbox's Instagram knows.
async fn tokens_issued(app: &TestApp) -> HashSet<String> {
    let body: Value = app.sandbox_json("_sandbox/instagram/tokens").await;
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["fingerprint"].as_str().unwrap().to_owned())
        .collect()
}

/// How many refreshes reached the sandbox's Instagram.
async fn refresh_calls(app: &TestApp) -> usize {
    app.sandbox_requests()
        .await
        .iter()
        .filter(|(_, path)| path.ends_with("/refresh_access_token"))
        .count()
}

/// Waits until the profile's token expires later than `before` says it did.
async fn renewed(app: &TestApp, before: &str) -> Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let p = app.profiles().await[0].clone();
        if p["token_expires_at"].as_str().is_some_and(|t| t > before) {
            return p;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the token was never renewed: {p:#}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_idle_profiles_token_is_renewed_ahead_of_expiry_without_any_post_due() {
    on_both_backends!(Mode::Standalone, |app| {
        let email = "refresh@example.com";
        let (profile, media) = app.ready_on_instagram(email).await;
        let before = app.profiles().await[0]["token_expires_at"]
            .as_str()
            .unwrap()
            .to_owned();
        let issued = tokens_issued(&app).await;
        // Six days before the 60-day token ends, with nothing scheduled.
        advance_both(&app, SignedDuration::from_hours(24 * 54), email).await;
        let p = renewed(&app, &before).await;
        assert_eq!(p["status"], "connected");
        assert_eq!(
            tokens_issued(&app).await.difference(&issued).count(),
            1,
            "one new token"
        );
        assert_eq!(refresh_calls(&app).await, 1);
        // The renewed token publishes.
        let at = (herald_now(&app) + SignedDuration::from_secs(1)).to_string();
        let (s, post) = app.schedule(json!({"text": "renewed", "media_ids": [media], "targets": [{"profile_id": profile}], "scheduled_at": at})).await;
        assert_eq!(s, StatusCode::CREATED, "{post}");
        app.wait_for(post["id"].as_str().unwrap(), |d| d["status"] == "published")
            .await;
        assert_eq!(refresh_calls(&app).await, 1, "nothing refreshed twice");
    });
}

#[tokio::test]
async fn four_workers_racing_on_a_token_close_to_expiry_refresh_it_once() {
    let Some(mut app) = crate::harness::on_postgres().await else {
        return;
    };
    let email = "race@example.com";
    app.ready_on_instagram(email).await;
    let before = app.profiles().await[0]["token_expires_at"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut workers = Vec::new();
    for _ in 0..4 {
        workers.push(app.start_worker().await);
    }
    // Every process shares the test's clock: moving it wakes all five at once.
    advance_both(&app, SignedDuration::from_hours(24 * 54), email).await;
    renewed(&app, &before).await;
    assert_eq!(refresh_calls(&app).await, 1, "one refresh at the platform");
    for w in workers {
        w.stop().await;
    }
    app.stop().await;
}

#[tokio::test]
async fn a_refresh_refused_holds_the_profile_parks_its_posts_and_notifies() {
    on_both_backends!(Mode::Standalone, |app| {
        let email = "refused@example.com";
        let (profile, media) = app.ready_on_instagram(email).await;
        let at = (herald_now(&app) + SignedDuration::from_hours(24 * 58)).to_string();
        let (_, post) = app.schedule(json!({"text": "later", "media_ids": [media], "targets": [{"profile_id": profile}], "scheduled_at": at})).await;
        let post = post["id"].as_str().unwrap().to_owned();
        app.revoke_on_instagram("17841400000000001").await;
        advance_both(&app, SignedDuration::from_hours(24 * 54), email).await;
        let parked = app.wait_for(&post, |d| d["status"] == "needs_reconnect").await;
        assert_eq!(parked["deliveries"][0]["error"]["code"], "revoked_on_platform");
        let p = &app.profiles().await[0];
        assert_eq!(
            (p["status"].as_str(), p["reason"].as_str()),
            (Some("needs_reconnect"), Some("revoked_on_platform"))
        );
        let (s, list) = app.get(app.ws_url("notifications?unread=true")).await;
        assert_eq!(s, StatusCode::OK);
        let data = list["data"].as_array().unwrap();
        assert_eq!(data.len(), 1, "{list:#}");
        let n = &data[0];
        assert_eq!(n["kind"], "profile_needs_reconnect");
        assert_eq!(n["subject"]["id"], profile.as_str());
        assert_eq!(n["read"], false);
        assert!(
            n["message"]
                .as_str()
                .unwrap()
                .contains("1 scheduled post(s) wait"),
            "{n}"
        );
        let (s, linked) = app
            .get(app.url(n["link"].as_str().unwrap().trim_start_matches('/')))
            .await;
        assert_eq!(s, StatusCode::OK, "the link leads to the profile: {linked}");
        let (s, _) = app
            .post(
                app.ws_url(&format!("notifications/{}/read", n["id"].as_str().unwrap())),
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let (_, list) = app.get(app.ws_url("notifications?unread=true")).await;
        assert!(list["data"].as_array().unwrap().is_empty());
        let (_, all) = app.get(app.ws_url("notifications")).await;
        assert_eq!(all["data"][0]["read"], true);
        // Nothing was refreshed, and nothing published.
        assert!(app.sandbox_media().await.is_empty());
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

#[tokio::test]
async fn a_rate_limited_publish_waits_until_the_advertised_time_and_calls_nothing_before_it() {
    on_both_backends!(Mode::Standalone, |app| {
        app.signup("throttled@example.com").await;
        app.connect(&[]).await;
        let profile = app.profiles().await[0]["id"].clone();
        let (_, media) = app.upload("square-1080.jpg").await;
        app.fault("instagram", json!({"operation": "media_publish", "minutes": 5}))
            .await;
        let at = (herald_now(&app) + SignedDuration::from_secs(1)).to_string();
        let (_, post) = app.schedule(json!({"text": "patience", "media_ids": [media["id"]], "targets": [{"profile_id": profile}], "scheduled_at": at})).await;
        let id = post["id"].as_str().unwrap();
        let waiting = app.wait_for(id, |d| d["status"] == "retry_wait").await;
        let d = &waiting["deliveries"][0];
        assert_eq!(d["error"]["code"], "rate_limited");
        let due: jiff::Timestamp = d["due_at"].as_str().unwrap().parse().unwrap();
        assert!(
            due.duration_since(herald_now(&app)) > SignedDuration::from_secs(4 * 60 + 50),
            "waits the advertised 5 minutes: {due}"
        );

        advance_both(
            &app,
            SignedDuration::from_secs(5 * 60 + 1),
            "throttled@example.com",
        )
        .await;
        app.wait_for(id, |d| d["status"] == "published").await;
        let calls: Value = app.sandbox_json("_sandbox/instagram/calls").await;
        let calls = calls["data"].as_array().unwrap();
        let throttled = calls
            .iter()
            .position(|c| c["operation"] == "media_publish")
            .expect("the throttled publish");
        let regain = calls[throttled]["at"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
            + SignedDuration::from_mins(5);
        let after: Vec<&Value> = calls[throttled + 1..]
            .iter()
            .filter(|c| c["object"] == "17841400000000001")
            .collect();
        assert!(!after.is_empty());
        for c in after {
            let at: jiff::Timestamp = c["at"].as_str().unwrap().parse().unwrap();
            assert!(
                at >= regain,
                "a call at {at} came before access returned at {regain}: {c}"
            );
        }
        assert_eq!(app.sandbox_media().await.len(), 1);
    });
}

#[tokio::test]
async fn metrics_read_through_herald_equal_what_the_sandbox_generated() {
    on_both_backends!(Mode::Standalone, |app| {
        app.signup("metrics@example.com").await;
        app.connect(&[]).await;
        let profile = app.profiles().await[0]["id"].clone();
        let (_, media) = app.upload("square-1080.jpg").await;
        let at = (herald_now(&app) + SignedDuration::from_secs(1)).to_string();
        let (_, post) = app.schedule(json!({"text": "measured", "media_ids": [media["id"]], "targets": [{"profile_id": profile}], "scheduled_at": at})).await;
        let id = post["id"].as_str().unwrap();
        app.wait_for(id, |d| d["status"] == "published").await;
        // Half-way through an hour, so both reads fall in the same hour of growth.
        advance_both(
            &app,
            SignedDuration::from_mins(3 * 60 + 30),
            "metrics@example.com",
        )
        .await;
        let (s, m) = app.get(app.ws_url(&format!("posts/{id}/metrics"))).await;
        assert_eq!(s, StatusCode::OK, "{m}");
        let ours = &m["data"][0]["metrics"];
        let theirs = &app.sandbox_media().await[0]["insights"];
        assert!(ours["views"].as_u64().unwrap() >= 120, "{ours}");
        for (herald, meta) in [
            ("views", "views"),
            ("reach", "reach"),
            ("likes", "likes"),
            ("comments", "comments"),
            ("shares", "shares"),
            ("saves", "saved"),
        ] {
            assert_eq!(ours[herald], theirs[meta], "{herald}");
        }
    });
}

#[tokio::test]
async fn metrics_without_the_insights_permission_say_which_permission_is_missing() {
    on_both_backends!(Mode::Standalone, |app| {
        app.signup("noinsights@example.com").await;
        app.connect(&["instagram_business_manage_insights"]).await;
        let p = app.profiles().await[0].clone();
        assert_eq!(p["status"], "connected", "publishing still works");
        assert_eq!(p["unavailable_features"][0]["feature"], "metrics");
        let (_, media) = app.upload("square-1080.jpg").await;
        let at = (herald_now(&app) + SignedDuration::from_secs(1)).to_string();
        let (_, post) = app.schedule(json!({"text": "unmeasured", "media_ids": [media["id"]], "targets": [{"profile_id": p["id"]}], "scheduled_at": at})).await;
        let id = post["id"].as_str().unwrap();
        app.wait_for(id, |d| d["status"] == "published").await;
        let (_, m) = app.get(app.ws_url(&format!("posts/{id}/metrics"))).await;
        assert_eq!(m["data"][0]["error"]["code"], "permission_missing");
        assert!(
            m["data"][0]["error"]["message"]
                .as_str()
                .unwrap()
                .contains("instagram_business_manage_insights")
        );
    });
}

#[tokio::test]
async fn a_used_up_publishing_quota_holds_the_next_post_and_the_composer_says_why() {
    on_both_backends!(Mode::Standalone, |app| {
        app.signup("quota@example.com").await;
        app.connect(&[]).await;
        let profile = app.profiles().await[0]["id"].clone();
        let (_, media) = app.upload("square-1080.jpg").await;
        let http = reqwest::Client::new();
        let r = http
            .post(app.sandbox_base.join("_sandbox/instagram/quota").unwrap())
            .json(&json!({"total": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let post = |text: &str| json!({"text": text, "media_ids": [media["id"]], "targets": [{"profile_id": profile}], "scheduled_at": (herald_now(&app) + SignedDuration::from_secs(1)).to_string()});
        let (_, first) = app.schedule(post("the one slot")).await;
        app.wait_for(first["id"].as_str().unwrap(), |d| d["status"] == "published")
            .await;
        let (s, v) = app.post(app.ws_url("posts/validate"), post("one more")).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["violations"][0]["rule"], "quota.exhausted", "{v}");
        let (s, second) = app.schedule(post("one more")).await;
        assert_eq!(
            s,
            StatusCode::CREATED,
            "scheduling still works: the post waits for a slot: {second}"
        );
        let held = app
            .wait_for(second["id"].as_str().unwrap(), |d| d["status"] == "retry_wait")
            .await;
        let d = &held["deliveries"][0];
        assert_eq!(d["error"]["code"], "rate_limited");
        assert!(
            d["error"]["message"].as_str().unwrap().contains("24 hours"),
            "{d}"
        );
        assert_eq!(
            app.sandbox_media().await.len(),
            1,
            "nothing was sent past the quota"
        );
    });
}
