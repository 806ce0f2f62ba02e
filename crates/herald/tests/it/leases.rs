//! Leases: a worker keeps its claim while a step runs longer than the lease, nobody else touches
//! the delivery meanwhile, and a worker that lost its claim makes no further platform call.

use std::time::Duration;

use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{Mode, TestApp, backends, herald_now, log_buffer};

/// A lease far shorter than the slow step below.
const LEASE: Duration = Duration::from_secs(1);

/// Connects Instagram and schedules one photo to it, due in a second; returns the post's id.
async fn one_photo_due(app: &mut TestApp, email: &str) -> String {
    let (profile, media) = app.ready_on_instagram(email).await;
    let at = (herald_now(app) + SignedDuration::from_secs(1)).to_string();
    let (s, post) = app
        .schedule(json!({"text": "Slow but sure", "media_ids": [media],
            "targets": [{"profile_id": profile}], "scheduled_at": at}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{post}");
    post["id"].as_str().unwrap().to_owned()
}

/// The post once its delivery is no longer on its way.
async fn settled(app: &TestApp, post: &str) -> serde_json::Value {
    app.wait_for(post, |d| {
        !matches!(
            d["status"].as_str(),
            Some("scheduled" | "publishing" | "processing")
        )
    })
    .await
}

/// How many requests the sandbox saw with `method` on a path ending in `/{edge}`.
async fn calls(app: &TestApp, method: &str, edge: &str) -> usize {
    let suffix = format!("/{edge}");
    app.sandbox_requests()
        .await
        .iter()
        .filter(|(m, p)| m == method && p.ends_with(&suffix))
        .count()
}

/// The log lines that say a claim on `delivery` was lost.
fn lost_leases(delivery: &str) -> usize {
    let log = log_buffer();
    let text = String::from_utf8_lossy(&log.lock().unwrap()).into_owned();
    text.lines()
        .filter(|l| l.contains("lease lost") && l.contains(delivery))
        .count()
}

#[tokio::test]
async fn a_step_slower_than_the_lease_keeps_its_claim_and_no_second_worker_touches_the_delivery() {
    log_buffer();
    for backend in backends().await {
        let mut app = TestApp::spawn_with(backend, Mode::Standalone, |s| s.lease = LEASE).await;
        // PostgreSQL takes several workers: one more races for the delivery.
        let worker = match backend {
            herald_store::Backend::Postgres => Some(app.start_worker().await),
            herald_store::Backend::Sqlite => None,
        };
        // Creating the container takes three leases.
        app.fault(
            "instagram",
            json!({"operation": "media", "method": "POST", "kind": "slow", "millis": 3000}),
        )
        .await;
        let post = one_photo_due(&mut app, "slow@example.com").await;
        let done = settled(&app, &post).await;
        let d = &done["deliveries"][0];
        assert_eq!(d["status"], "published", "{done:#}");
        let delivery = d["id"].as_str().unwrap();
        assert_eq!(calls(&app, "POST", "media").await, 1, "one container");
        assert_eq!(calls(&app, "POST", "media_publish").await, 1, "one publish");
        assert_eq!(app.sandbox_media().await.len(), 1);
        assert_eq!(lost_leases(delivery), 0, "no claim was taken over");
        if let Some(w) = worker {
            w.stop().await;
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn a_worker_that_lost_its_lease_abandons_its_call_and_makes_no_further_one() {
    log_buffer();
    for backend in backends().await {
        let mut app = TestApp::spawn_with(backend, Mode::Standalone, |s| s.lease = LEASE).await;
        // The container call gets no answer for two minutes (longer than Herald waits).
        app.fault(
            "instagram",
            json!({"operation": "media", "method": "POST", "kind": "hang"}),
        )
        .await;
        let post = one_photo_due(&mut app, "lost-lease@example.com").await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while calls(&app, "POST", "media").await == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the container call was made"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Another worker claims it, as one would after a lapsed lease.
        let far = (herald_now(&app) + SignedDuration::from_hours(1)).as_microsecond();
        let n = app
            .tamper(&format!(
                "UPDATE deliveries SET fence = fence + 1, lease_owner = 'another-worker', lease_until = {far} WHERE status = 'publishing'"
            ))
            .await;
        assert_eq!(n, 1);
        let (_, p) = app.get(app.ws_url(&format!("posts/{post}"))).await;
        let delivery = p["deliveries"][0]["id"].as_str().unwrap().to_owned();
        // The next heartbeat finds the claim gone and abandons the hung call (long before
        // Herald's own 30-second timeout would have ended it).
        while lost_leases(&delivery) == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the worker noticed it lost the lease"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(calls(&app, "POST", "media_publish").await, 0);
        // The other worker gives the delivery back; it is claimed again and published once.
        app.tamper("UPDATE deliveries SET lease_until = 0 WHERE lease_owner = 'another-worker'")
            .await;
        let done = settled(&app, &post).await;
        assert_eq!(done["deliveries"][0]["status"], "published", "{done:#}");
        assert_eq!(calls(&app, "POST", "media_publish").await, 1, "one publish");
        assert_eq!(app.sandbox_media().await.len(), 1);
        app.stop().await;
    }
}

#[tokio::test]
async fn herald_restarted_on_sqlite_resumes_its_in_flight_deliveries_at_once() {
    // One process dispatches from a SQLite database, so what it finds in flight at start-up was its
    // own before it stopped. (On PostgreSQL, other workers may still hold their claims: they are
    // taken over when their leases lapse, as the test above shows.)
    // The sandbox on its own port outlives Herald's restart, as a platform would.
    let mut app = TestApp::spawn(herald_store::Backend::Sqlite, Mode::Standalone).await;
    let post = one_photo_due(&mut app, "resume@example.com").await;
    app.wait_for(&post, |d| d["status"] == "published").await;
    // A second post, left in flight for an hour by a process that died (as a kill would leave it).
    let (_, media) = app.upload("square-1080.jpg").await;
    let profile = app.profiles().await[0]["id"].as_str().unwrap().to_owned();
    let at = (herald_now(&app) + SignedDuration::from_hours(2)).to_string();
    let (_, second) = app
        .schedule(json!({"text": "After the crash", "media_ids": [media["id"]],
            "targets": [{"profile_id": profile}], "scheduled_at": at}))
        .await;
    let second = second["id"].as_str().unwrap().to_owned();
    let now = herald_now(&app).as_microsecond();
    let hour = SignedDuration::from_hours(1).as_micros() as i64;
    let n = app
        .tamper(&format!(
            "UPDATE deliveries SET status = 'publishing', due_at = {now}, fence = fence + 1, lease_owner = 'the-process-that-died', lease_until = {} WHERE status = 'scheduled'",
            now + hour
        ))
        .await;
    assert_eq!(n, 1);
    app.restart_with(|_| {}).await;
    let done = app.wait_for(&second, |d| d["status"] == "published").await;
    assert_eq!(done["deliveries"][0]["status"], "published");
    app.stop().await;
}
