//! Crash safety with the real binary: SIGKILL while Instagram or Facebook is processing, in the
//! middle of an X thread or of a TikTok or YouTube upload; restart; one copy.

use std::time::Duration;

use herald_sandbox::SandboxConfig;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use crate::fleet::{Fleet, Role};
use crate::harness::backends;

#[tokio::test]
async fn sigkill_while_instagram_processes_then_restart_publishes_exactly_one_copy() {
    for backend in backends().await {
        crash_while_processing(backend, "square-1080.jpg", Where::Instagram).await;
    }
}

#[tokio::test]
async fn sigkill_while_a_reel_processes_then_restart_publishes_exactly_one_reel() {
    for backend in backends().await {
        crash_while_processing(backend, "reel-720x1280-4s.mp4", Where::Instagram).await;
    }
}

#[tokio::test]
async fn sigkill_while_a_facebook_reel_processes_then_restart_publishes_exactly_one_reel() {
    for backend in backends().await {
        crash_while_processing(backend, "reel-720x1280-4s.mp4", Where::PageReel).await;
    }
}

#[derive(Clone, Copy)]
enum Where {
    Instagram,
    PageReel,
}

/// Schedules `fixture`, kills Herald while the platform processes it, restarts, and counts the copies.
async fn crash_while_processing(backend: herald_store::Backend, fixture: &str, to: Where) {
    let sandbox = SandboxConfig {
        // Long enough that the test surely sees `processing` before Instagram finishes, even on a busy machine.
        processing_delay: Duration::from_secs(6),
        ..SandboxConfig::default()
    };
    let mut fleet = Fleet::start(backend, sandbox, &[Role::Serve]).await;
    let app = &mut fleet.app;
    app.signup("crash@example.com").await;
    let (profile, options) = match to {
        Where::Instagram => {
            app.connect(&[]).await;
            (app.profiles().await[0]["id"].clone(), json!({}))
        }
        Where::PageReel => {
            app.connect_facebook(&[]).await;
            let (_, list) = app.get(app.ws_url("connections")).await;
            let connection = list["data"][0]["id"].as_str().unwrap().to_owned();
            let (_, chosen) = app
                .post(
                    app.ws_url(&format!("connections/{connection}/accounts")),
                    json!({"accounts": ["facebook:100000000000001"]}),
                )
                .await;
            (chosen["data"][0]["id"].clone(), json!({"format": "reel"}))
        }
    };
    let (_, media) = app.upload(fixture).await;
    let caption = format!("survives a crash {}", uuid::Uuid::new_v4().simple());
    let at = (Timestamp::now() + SignedDuration::from_secs(1)).to_string();
    let (_, post) = app.schedule(json!({"text": caption, "media_ids": [media["id"]], "targets": [{"profile_id": profile, "options": options}], "scheduled_at": at})).await;
    let id = post["id"].as_str().unwrap().to_owned();
    app.wait_for(&id, |d| d["status"] == "processing").await;

    fleet.kill(0);
    fleet.restart(0).await;
    let app = &fleet.app;
    let done = app.wait_for(&id, |d| d["status"] == "published").await;
    let copies = match to {
        Where::Instagram => app
            .sandbox_media()
            .await
            .into_iter()
            .filter(|m| m["caption"] == caption.as_str())
            .count(),
        Where::PageReel => {
            let fb = app.sandbox_facebook().await;
            let finished = fb["videos"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|v| v["description"] == caption.as_str())
                .count();
            assert_eq!(finished, 1, "one video was finished: {fb:#}");
            fb["posts"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["message"] == caption.as_str())
                .count()
        }
    };
    assert_eq!(copies, 1, "exactly one copy after the crash: {done:#}");
    fleet.stop().await;
}

#[tokio::test]
async fn sigkill_in_the_middle_of_a_tiktok_upload_then_restart_continues_it_into_exactly_one_video_of_the_same_bytes()
 {
    for backend in backends().await {
        crash_mid_upload(backend, &TIKTOK).await;
    }
}

#[tokio::test]
async fn sigkill_in_the_middle_of_a_youtube_upload_then_restart_resumes_its_session_into_exactly_one_video_of_the_same_bytes()
 {
    for backend in backends().await {
        crash_mid_upload(backend, &YOUTUBE).await;
    }
}

/// Where a platform's sandbox shows an upload: its uploads in progress and the bytes each holds,
/// its videos with their bytes and digest, and the field of a video Herald records.
struct Upload {
    platform: &'static str,
    options: fn() -> serde_json::Value,
    chunk: u64,
    uploads: &'static str,
    received: &'static str,
    videos: &'static str,
    bytes: &'static str,
    recorded: &'static str,
}

const TIKTOK: Upload = Upload {
    platform: "tiktok",
    options: || json!({"privacy_level": "SELF_ONLY"}),
    chunk: 10_000_000,
    uploads: "publications",
    received: "uploaded_bytes",
    videos: "publications",
    bytes: "uploaded_bytes",
    recorded: "publish_id",
};

const YOUTUBE: Upload = Upload {
    platform: "youtube",
    options: || json!({"title": "Survives a crash", "made_for_kids": false}),
    chunk: 8 * 1024 * 1024,
    uploads: "sessions",
    received: "received_bytes",
    videos: "videos",
    bytes: "bytes",
    recorded: "id",
};

/// Sends a video of several chunks; the first arrives, the second hangs, and Herald is killed
/// meanwhile; after the restart the upload goes on from the byte the sandbox holds, into one video
/// of the file's bytes.
async fn crash_mid_upload(backend: herald_store::Backend, up: &Upload) {
    use sha2::Digest;
    let mut fleet = Fleet::start(backend, SandboxConfig::default(), &[Role::Serve]).await;
    let app = &mut fleet.app;
    app.signup(&format!("{}-crash@example.com", up.platform)).await;
    let location = app.consent_on(up.platform, &[], "allow").await;
    app.callback(&location).await;
    let profile = app.profiles().await[0]["id"].clone();
    let state = format!("_sandbox/{}", up.platform);
    let video = crate::harness::padded_video("reel-720x1280-4s.mp4", 30_500_000);
    let digest = hex::encode(sha2::Sha256::digest(&video));
    let (_, mp4) = app.upload_bytes("crash.mp4", video).await;
    for kind in ["slow", "hang"] {
        app.sandbox_post(
            &format!("{state}/faults"),
            json!({"operation": "upload", "method": "PUT", "kind": kind, "millis": 0}),
        )
        .await;
    }
    let at = (Timestamp::now() + SignedDuration::from_secs(1)).to_string();
    let (_, post) = app
        .schedule(json!({"text": "Survives a crash.", "media_ids": [mp4["id"]],
        "targets": [{"profile_id": profile, "options": (up.options)()}], "scheduled_at": at}))
        .await;
    let id = post["id"].as_str().unwrap().to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while app.sandbox_json("_sandbox/faults").await["injected"]["hang"] != 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the second chunk never went"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let held = app.sandbox_json(&state).await[up.uploads][0].clone();
    assert_eq!(held[up.received], up.chunk, "one chunk arrived: {held:#}");

    fleet.kill(0);
    fleet.restart(0).await;
    let app = &fleet.app;
    let done = app.wait_for(&id, |d| d["status"] == "published").await;
    let all = app.sandbox_json(&state).await[up.videos]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(all.len(), 1, "the same upload, continued: {all:#?}");
    assert_eq!(
        (all[0][up.bytes].as_u64(), all[0]["sha256"].as_str()),
        (Some(30_500_000), Some(digest.as_str())),
        "every byte, once, in order: {all:#?}"
    );
    assert_eq!(done["deliveries"][0]["platform_post_id"], all[0][up.recorded]);
    fleet.stop().await;
}

#[tokio::test]
async fn sigkill_after_two_parts_of_an_x_thread_then_restart_publishes_the_other_two_once_chained_in_order() {
    for backend in backends().await {
        let sandbox = SandboxConfig {
            // The third part's video processes long enough for the kill to land after two parts.
            processing_delay: Duration::from_secs(6),
            ..SandboxConfig::default()
        };
        let mut fleet = Fleet::start(backend, sandbox, &[Role::Serve]).await;
        let app = &mut fleet.app;
        app.signup("thread-crash@example.com").await;
        let location = app.consent_on("x", &[], "allow").await;
        app.callback(&location).await;
        let profile = app.profiles().await[0]["id"].clone();
        let (_, video) = app.upload("landscape-1280x720-6s.mp4").await;
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let texts: Vec<String> = (1..=4).map(|i| format!("{i}/4 survives a crash {tag}")).collect();
        let thread = json!([
            {"text": texts[1]},
            {"text": texts[2], "media_ids": [video["id"]]},
            {"text": texts[3]},
        ]);
        let at = (Timestamp::now() + SignedDuration::from_secs(1)).to_string();
        let (_, post) = app.schedule(json!({"text": texts[0], "thread": thread, "targets": [{"profile_id": profile}], "scheduled_at": at})).await;
        let id = post["id"].as_str().unwrap().to_owned();
        app.wait_for(&id, |d| d["status"] == "processing").await;
        let before = app.sandbox_json("_sandbox/x").await["posts"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(before, 2, "two parts out when Herald is killed");

        fleet.kill(0);
        fleet.restart(0).await;
        let app = &fleet.app;
        let done = app.wait_for(&id, |d| d["status"] == "published").await;
        let posts = app.sandbox_json("_sandbox/x").await["posts"]
            .as_array()
            .unwrap()
            .clone();
        let chain: Vec<&serde_json::Value> = texts
            .iter()
            .map(|t| {
                let copies: Vec<&serde_json::Value> =
                    posts.iter().filter(|p| p["text"] == t.as_str()).collect();
                assert_eq!(copies.len(), 1, "exactly one copy of {t}: {posts:#?}");
                copies[0]
            })
            .collect();
        assert_eq!(posts.len(), 4, "{posts:#?}");
        for pair in chain.windows(2) {
            assert_eq!(
                pair[1]["in_reply_to"], pair[0]["id"],
                "chained in order: {posts:#?}"
            );
        }
        assert_eq!(done["deliveries"][0]["platform_post_id"], chain[0]["id"]);
        fleet.stop().await;
    }
}

#[tokio::test]
async fn a_second_process_cannot_dispatch_from_the_same_sqlite_data_directory() {
    let dir = std::env::temp_dir().join(format!("herald-lock-{}", uuid::Uuid::new_v4().simple()));
    let settings = herald::Settings::local(dir.clone(), "127.0.0.1:0".parse().unwrap());
    let first = herald::start(settings.clone())
        .await
        .expect("the first process starts");
    let err = herald::start(settings)
        .await
        .err()
        .expect("the second is refused")
        .to_string();
    assert!(
        err.contains("already dispatching") && err.contains("PostgreSQL"),
        "{err}"
    );
    first.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
