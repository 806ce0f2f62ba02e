//! A benchmark, not a test: how late and how fast a burst of due posts is published. Run with
//! `cargo test -p herald --test it bench -- --ignored --nocapture`; it prints one JSON line per backend.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use crate::harness::{Mode, TestApp, backends};

/// Under Instagram's 50 API posts per account per 24 hours, which the sandbox enforces.
const POSTS: usize = 45;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::test]
#[ignore = "benchmark: run explicitly"]
async fn bench_a_burst_of_due_posts() {
    for backend in backends().await {
        let mut app = TestApp::spawn_with(backend, Mode::Builtin, |s| {
            s.sandbox_processing_delay = Duration::ZERO
        })
        .await;
        app.signup("bench@example.com").await;
        app.connect(&[]).await;
        let profile = app.profiles().await[0]["id"].clone();
        let (_, media) = app.upload("square-1080.jpg").await;
        let due = Timestamp::now() + SignedDuration::from_secs(3);
        let mut ids = Vec::new();
        for i in 0..POSTS {
            let (_, p) = app.schedule(json!({"text": format!("burst {i}"), "media_ids": [media["id"]], "targets": [{"profile_id": profile}], "scheduled_at": due.to_string()})).await;
            ids.push(p["id"].as_str().unwrap().to_owned());
        }
        let mut lateness = Vec::new();
        for id in &ids {
            let p = app.wait_for(id, |d| d["status"] == "published").await;
            let at: Timestamp = p["deliveries"][0]["updated_at"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            lateness.push(at.duration_since(due).as_secs_f64());
        }
        lateness.sort_by(f64::total_cmp);
        let last = lateness[lateness.len() - 1];
        println!(
            "{}",
            json!({
                "bench": "burst_of_due_posts", "backend": format!("{backend:?}"), "posts": POSTS,
                "lateness_s": {"p50": percentile(&lateness, 0.5), "p95": percentile(&lateness, 0.95), "max": last},
                "posts_per_s": POSTS as f64 / last,
            })
        );
        assert_eq!(app.sandbox_media().await.len(), POSTS);
        app.stop().await;
    }
}
