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

/// A field of `/proc/self/status`, in KiB.
fn proc_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// A benchmark, not a test: 200 sign-ins at once, with password hashing capped (Herald's default,
/// one hash per core) and uncapped (200 at once), measuring this process's peak memory and the
/// sign-ins' latency. Run with
/// `cargo test -p herald --test it bench_two_hundred -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark: run explicitly"]
async fn bench_two_hundred_concurrent_signins() {
    const SIGNINS: usize = 200;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    for at_once in [cores, SIGNINS] {
        let mut app = TestApp::spawn_with(herald_store::Backend::Sqlite, Mode::Builtin, |s| {
            s.password_hashes_at_once = Some(at_once);
        })
        .await;
        app.signup("bench-signin@example.com").await;
        // One client for all (clones share it): building 200 clients would cost more than Herald.
        let http = reqwest::Client::new();
        // Peak memory from here: writing 5 to clear_refs resets the high-water mark.
        std::fs::write("/proc/self/clear_refs", "5").unwrap();
        let base = proc_kib("VmRSS:");
        let started = std::time::Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..SIGNINS {
            let url = app.url("api/v1/auth/login");
            let http = http.clone();
            tasks.push(tokio::spawn(async move {
                let t = std::time::Instant::now();
                let r = http
                    .post(url)
                    .json(&json!({"email": "bench-signin@example.com", "password": "correct horse battery"}))
                    .send()
                    .await
                    .unwrap();
                (r.status().as_u16(), t.elapsed().as_secs_f64())
            }));
        }
        let mut latency = Vec::new();
        for t in tasks {
            let (status, secs) = t.await.unwrap();
            assert_eq!(status, 200);
            latency.push(secs);
        }
        let total = started.elapsed().as_secs_f64();
        latency.sort_by(f64::total_cmp);
        let peak = proc_kib("VmHWM:");
        println!(
            "{}",
            json!({
                "bench": "two_hundred_concurrent_signins", "hashes_at_once": at_once, "signins": SIGNINS,
                "peak_rss_above_start_mib": (peak.saturating_sub(base)) as f64 / 1024.0,
                "latency_s": {"p50": percentile(&latency, 0.5), "max": latency[latency.len() - 1]},
                "signins_per_s": SIGNINS as f64 / total,
            })
        );
        app.stop().await;
    }
}
