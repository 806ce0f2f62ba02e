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

/// A benchmark, not a test: 200 sign-ins at once with Herald's default password hashing (one hash
/// per core at a time), measuring this process's peak memory, the sign-ins' latency, and the memory
/// still held once the hashing threads have been idle a while. (Hashing uncapped, 200 at once, can
/// no longer be compared: the sign-in throttle counts an attempt before its hash, so 200 attempts
/// in flight for one account are refused as a guessing run.) Run with
/// `cargo test -p herald --test it bench_two_hundred -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark: run explicitly"]
async fn bench_two_hundred_concurrent_signins() {
    const SIGNINS: usize = 200;
    let at_once = std::thread::available_parallelism().map_or(2, |n| n.get());
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
            let status = r.status().as_u16();
            (
                status,
                r.text().await.unwrap_or_default(),
                t.elapsed().as_secs_f64(),
            )
        }));
    }
    let mut latency = Vec::new();
    for t in tasks {
        let (status, body, secs) = t.await.unwrap();
        assert_eq!(status, 200, "{body}");
        latency.push(secs);
    }
    let total = started.elapsed().as_secs_f64();
    latency.sort_by(f64::total_cmp);
    let peak = proc_kib("VmHWM:");
    // The hashing threads give their work areas back two seconds after the last hash.
    let idle_since = std::time::Instant::now();
    while proc_kib("VmRSS:") > base + 4096 && idle_since.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = proc_kib("VmRSS:");
    println!(
        "{}",
        json!({
            "bench": "two_hundred_concurrent_signins", "hashes_at_once": at_once, "signins": SIGNINS,
            "peak_rss_above_start_mib": (peak.saturating_sub(base)) as f64 / 1024.0,
            "rss_above_start_once_idle_mib": (after.saturating_sub(base)) as f64 / 1024.0,
            "idle_after_s": idle_since.elapsed().as_secs_f64(),
            "latency_s": {"p50": percentile(&latency, 0.5), "max": latency[latency.len() - 1]},
            "signins_per_s": SIGNINS as f64 / total,
        })
    );
    app.stop().await;
}

/// Posts in the seeded workspace, and how many of them fall in its busiest month.
const PAGE_POSTS: usize = 10_000;
const BUSIEST_MONTH_POSTS: usize = 1_500;
const PAGE_PROFILES: usize = 50;
/// Requests per page.
const PAGE_REQUESTS: usize = 200;

/// Fills the signed-in user's workspace with `PAGE_PROFILES` profiles and `PAGE_POSTS` posts of one
/// to three targets each, straight through the store (the API would take minutes): the busiest month
/// is the next one; the rest spread over the eleven after it. Returns (a post id, the busiest month's
/// first day, a profile id).
async fn seed_workspace(app: &TestApp) -> (String, String, String) {
    use herald_domain::platform::Login;
    use herald_store::{NewPost, NewProfile, NewTarget};
    let store = &app.app.as_ref().unwrap().store;
    let ws: herald_domain::WorkspaceId = app.ws.parse().unwrap();
    let (_, me) = app.get(app.url("api/v1/me")).await;
    let user: herald_domain::UserId = me["user"]["id"].as_str().unwrap().parse().unwrap();
    let scopes = vec![
        "instagram_business_basic".to_owned(),
        "instagram_business_content_publish".to_owned(),
    ];
    let mut profiles = Vec::new();
    for i in 0..PAGE_PROFILES {
        let external = format!("1789{i:010}");
        let id = store
            .upsert_profile(NewProfile {
                workspace: ws,
                platform: "instagram",
                external_id: &external,
                handle: &format!("brand_{i}"),
                granted_scopes: &scopes,
                token_issued_at: 0,
                token_expires_at: None,
                sandbox: true,
                login: Login::Instagram,
                grant: None,
                reconnect_by: None,
            })
            .await
            .unwrap();
        profiles.push(id);
    }
    let now = store.clock().now();
    let zone = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
    let first = now.to_zoned_datetime(zone.clone()).date().first_of_month() + jiff::ToSpan::months(1);
    let start = first.to_zoned_datetime(zone).unwrap().timestamp();
    let mut some_post = String::new();
    for i in 0..PAGE_POSTS {
        // The busiest month gets BUSIEST_MONTH_POSTS, each later month its share of the rest.
        let offset_hours = if i < BUSIEST_MONTH_POSTS {
            (i * 28 * 24 / BUSIEST_MONTH_POSTS) as i64
        } else {
            31 * 24 + ((i - BUSIEST_MONTH_POSTS) * 330 * 24 / (PAGE_POSTS - BUSIEST_MONTH_POSTS)) as i64
        };
        let at = start + SignedDuration::from_hours(offset_hours) + SignedDuration::from_mins(7);
        let targets = (0..1 + i % 3)
            .map(|k| NewTarget {
                profile: profiles[(i + k * 17) % PAGE_PROFILES],
                text: None,
                media_ids: None,
                options: None,
            })
            .collect();
        let (id, _) = store
            .create_post(NewPost {
                workspace: ws,
                user,
                text: &format!("Seeded post {i}: spring collection, now in stores #brand"),
                media_ids: &[],
                thread: &[],
                scheduled_at: at.as_microsecond(),
                time_zone: "Europe/Paris",
                idempotency_key: None,
                request_hash: None,
                targets,
                awaits_approval: false,
            })
            .await
            .unwrap();
        if i == BUSIEST_MONTH_POSTS / 2 {
            some_post = id.to_string();
        }
    }
    (some_post, first.to_string(), profiles[0].to_string())
}

#[tokio::test]
#[ignore = "benchmark: run explicitly"]
async fn bench_pages_of_a_busy_workspace() {
    for backend in backends().await {
        let mut app = TestApp::spawn(backend, Mode::Builtin).await;
        app.signup("pages-bench@example.com").await;
        let seeding = std::time::Instant::now();
        let (post, month, profile) = seed_workspace(&app).await;
        let seeded_s = seeding.elapsed().as_secs_f64();
        // A workspace grows over months, while the databases keep their statistics; a seed of
        // seconds would otherwise be planned as if its tables were empty.
        app.tamper("ANALYZE").await;
        eprintln!("seeded {PAGE_POSTS} posts in {seeded_s:.1} s");
        let pages = [
            ("dashboard", String::new()),
            ("profiles", "profiles".to_owned()),
            ("composer", "compose".to_owned()),
            ("calendar month (busiest)", format!("calendar?date={month}")),
            ("calendar week", format!("calendar?view=week&date={month}")),
            ("posts list", "posts".to_owned()),
            (
                "posts list, filtered",
                format!("posts?status=scheduled&profile={profile}"),
            ),
            ("post page", format!("posts/{post}")),
            ("settings", "settings".to_owned()),
        ];
        let mut results = Vec::new();
        for (name, path) in pages {
            let url = app.url(&path);
            let mut ms = Vec::with_capacity(PAGE_REQUESTS);
            let mut bytes = 0;
            for _ in 0..PAGE_REQUESTS {
                let started = std::time::Instant::now();
                let r = app.client.get(url.clone()).send().await.unwrap();
                assert_eq!(r.status(), reqwest::StatusCode::OK, "{name}");
                bytes = r.bytes().await.unwrap().len();
                ms.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            ms.sort_by(f64::total_cmp);
            eprintln!("{name}: p50 {:.1} ms", percentile(&ms, 0.5));
            results.push(json!({"page": name, "p50_ms": percentile(&ms, 0.5), "p99_ms": percentile(&ms, 0.99), "max_ms": ms[ms.len() - 1], "bytes": bytes}));
        }
        println!(
            "{}",
            json!({"bench": "pages_of_a_busy_workspace", "backend": format!("{backend:?}"), "posts": PAGE_POSTS,
                "busiest_month_posts": BUSIEST_MONTH_POSTS, "profiles": PAGE_PROFILES, "requests_per_page": PAGE_REQUESTS,
                "seeding_s": seeded_s, "pages": results})
        );
        app.stop().await;
    }
}
