//! YouTube end to end through the sandbox: connecting with Google's consent (PKCE, offline access)
//! to the channel chosen there, a video sent by the resumable protocol in 256 KiB-multiple chunks
//! (the bytes YouTube holds are the file's) with its title, tags, category, privacy, made-for-kids
//! declaration and custom thumbnail, comments listed and answered as the channel, metrics, the
//! one-hour token renewed with a refresh token that does not rotate, lost answers resumed from
//! where the session stands, the daily quota waited out until midnight in California, and a
//! refresh token Google no longer honours asking the person to reconnect.

use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Digest;

use crate::discovery::Discovery;
use crate::harness::{Mode, TestApp, advance_both, fixture, herald_now, padded_video};
use crate::on_both_backends;
use crate::openapi::assert_requests_valid;

const CHANNEL: &str = "UCsbxSandboxKitchen00001";
const HOST: &str = "www.googleapis.com";
const SPEC: &str = "youtube/v3-discovery.json";

fn at(app: &TestApp, s: i64) -> String {
    (herald_now(app) + SignedDuration::from_secs(s)).to_string()
}

/// Connects the first channel through Google's consent page; returns the profile's id.
async fn connect_youtube(app: &TestApp) -> String {
    let location = app.consent_on("youtube", &[], "allow").await;
    assert!(
        location.contains("scope="),
        "Google names the scopes granted: {location}"
    );
    let (s, page) = app.callback(&location).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("Sandbox Kitchen"), "{page}");
    let profiles = app.profiles().await;
    profiles.iter().find(|p| p["platform"] == "youtube").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn state(app: &TestApp) -> Value {
    app.sandbox_json("_sandbox/youtube").await
}

fn videos(s: &Value) -> Vec<Value> {
    s["videos"].as_array().unwrap().clone()
}

/// The options every YouTube post needs.
fn options(title: &str) -> Value {
    json!({"title": title, "made_for_kids": false})
}

#[tokio::test]
async fn youtube_connects_with_offline_access_and_uploads_a_resumable_video_with_its_thumbnail_then_answers_comments()
 {
    on_both_backends!(Mode::Standalone, |app| {
        let email = "yt@example.com";
        app.signup(email).await;
        let profile = connect_youtube(&app).await;
        let kinds: Vec<String> = state(&app).await["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["kind"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            kinds.len(),
            2,
            "an access and a refresh token (offline access): {kinds:?}"
        );

        // Every post says whether it is made for kids, and has a title.
        let video = padded_video("reel-720x1280-4s.mp4", 20_000_000);
        let digest = hex::encode(sha2::Sha256::digest(&video));
        let (s, mp4) = app.upload_bytes("long.mp4", video).await;
        assert_eq!(s, StatusCode::CREATED, "{mp4}");
        let (_, thumb) = app.upload("square-1080.jpg").await;
        let target = |options: Value| json!([{"profile_id": profile, "options": options}]);
        let (s, refused) = app
            .schedule(json!({"text": "d", "media_ids": [mp4["id"]], "targets": target(json!({"title": "t"})), "scheduled_at": at(&app, 60)}))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(
            refused["error"]["violations"][0]["rule"], "options.required",
            "{refused}"
        );

        // A video of 20 MB: three chunks (8 MiB, 8 MiB and the rest), each answered 308 until
        // the last.
        let (s, post) = app
            .schedule(
                json!({"text": "Every step, from starter to crumb.", "media_ids": [mp4["id"]],
                "targets": target(json!({"title": "Sourdough, start to finish", "made_for_kids": false,
                    "privacy_status": "unlisted", "tags": "bread, sourdough", "category_id": "26",
                    "thumbnail": thumb["id"]})),
                "scheduled_at": at(&app, 1)}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{post}");
        let done = app.settled(post["id"].as_str().unwrap()).await;
        let d = &done["deliveries"][0];
        assert_eq!(d["status"], "published", "{done:#}");
        let id = d["platform_post_id"].as_str().unwrap().to_owned();
        assert_eq!(
            d["permalink"].as_str(),
            Some(format!("https://www.youtube.com/watch?v={id}").as_str())
        );
        let s = state(&app).await;
        let all = videos(&s);
        assert_eq!(all.len(), 1, "{all:#?}");
        let v = &all[0];
        assert_eq!(
            (v["id"].as_str(), v["sha256"].as_str(), v["bytes"].as_u64()),
            (Some(id.as_str()), Some(digest.as_str()), Some(20_000_000)),
            "every byte arrived: {v:#}"
        );
        assert_eq!(
            (
                v["title"].as_str(),
                v["description"].as_str(),
                v["privacy_status"].as_str(),
                v["category_id"].as_str(),
                v["made_for_kids"].as_bool()
            ),
            (
                Some("Sourdough, start to finish"),
                Some("Every step, from starter to crumb."),
                Some("unlisted"),
                Some("26"),
                Some(false)
            ),
            "{v:#}"
        );
        assert_eq!(v["tags"], json!(["bread", "sourdough"]), "{v:#}");
        let thumb_digest = hex::encode(sha2::Sha256::digest(fixture("square-1080.jpg")));
        assert_eq!(v["thumbnail_sha256"], thumb_digest.as_str(), "{v:#}");
        assert_eq!(v["channel_id"], CHANNEL);

        // A viewer comments; Herald lists it and answers as the channel.
        app.sandbox_post(
            &format!("_sandbox/youtube/videos/{id}/comments"),
            json!({"author": "Crumb Fan", "text": "What hydration?"}),
        )
        .await;
        let post = post["id"].as_str().unwrap();
        let (s, comments) = app.get(app.ws_url(&format!("posts/{post}/comments"))).await;
        assert_eq!(s, StatusCode::OK, "{comments}");
        let c = &comments["data"][0]["comments"][0];
        assert_eq!(
            (c["text"].as_str(), c["username"].as_str()),
            (Some("What hydration?"), Some("Crumb Fan")),
            "{comments:#}"
        );
        let (s, replied) = app
            .post(
                app.ws_url(&format!(
                    "posts/{post}/comments/{}/replies",
                    c["id"].as_str().unwrap()
                )),
                json!({"text": "78%, overnight."}),
            )
            .await;
        assert!(s.is_success(), "{replied}");
        let (_, comments) = app.get(app.ws_url(&format!("posts/{post}/comments"))).await;
        let reply = &comments["data"][0]["comments"][0]["replies"][0];
        assert_eq!(
            (reply["text"].as_str(), reply["username"].as_str()),
            (Some("78%, overnight."), Some("Sandbox Kitchen")),
            "{comments:#}"
        );

        // Metrics from videos.list statistics.
        let (s, metrics) = app.get(app.ws_url(&format!("posts/{post}/metrics"))).await;
        assert_eq!(s, StatusCode::OK, "{metrics}");
        let m = &metrics["data"][0]["metrics"];
        assert_eq!(
            (m["views"].as_u64(), m["likes"].as_u64(), m["comments"].as_u64()),
            (Some(120), Some(30), Some(2)),
            "{metrics:#}"
        );

        // A thread carries five replies at most; with six, Herald reads them all.
        let reply_url = app.ws_url(&format!(
            "posts/{post}/comments/{}/replies",
            c["id"].as_str().unwrap()
        ));
        for n in 2..=6 {
            let (s, r) = app
                .post(reply_url.clone(), json!({"text": format!("Reply {n}.")}))
                .await;
            assert!(s.is_success(), "{r}");
        }
        let (_, comments) = app.get(app.ws_url(&format!("posts/{post}/comments"))).await;
        let replies = comments["data"][0]["comments"][0]["replies"].as_array().unwrap();
        assert_eq!(replies.len(), 6, "{comments:#}");
        assert_eq!(replies[5]["text"], "Reply 6.", "{comments:#}");

        // Every request Herald made is one Google's discovery document describes.
        let seen = assert_requests_valid(&app, HOST, &Discovery::load(SPEC), &[]).await;
        for op in [
            "youtube.channels.list",
            "youtube.videos.insert",
            "resumable upload session",
            "youtube.thumbnails.set",
            "youtube.videos.list",
            "youtube.commentThreads.list",
            "youtube.comments.insert",
            "youtube.comments.list",
        ] {
            assert!(seen.iter().any(|s| s == op), "{op} not among {seen:?}");
        }

        // Three hours on, the one-hour token has been renewed with the refresh token, which
        // Google does not rotate: the same one is still the only one.
        let refresh = |s: &Value| -> Vec<String> {
            s["tokens"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|t| t["kind"] == "refresh")
                .map(|t| t["fingerprint"].as_str().unwrap().to_owned())
                .collect()
        };
        // Twice: the second renewal works only if Herald kept the refresh token when the first
        // answer came without one.
        let first = refresh(&state(&app).await);
        for _ in 0..2 {
            let issued = app.profiles().await[0]["token_expires_at"].clone();
            advance_both(&app, SignedDuration::from_hours(3), email).await;
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
            while app.profiles().await[0]["token_expires_at"] == issued {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the token was never renewed"
                );
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
        assert_eq!(refresh(&state(&app).await), first, "not rotated");
        let profile = &app.profiles().await[0];
        assert_eq!(profile["status"], "connected", "{profile:#}");
    });
}

#[tokio::test]
async fn a_lost_answer_to_a_youtube_chunk_resumes_from_where_the_session_stands_and_a_lost_last_answer_leaves_one_video()
 {
    on_both_backends!(Mode::Standalone, |app| {
        let email = "yt-lost@example.com";
        app.signup(email).await;
        let profile = connect_youtube(&app).await;
        let video = padded_video("reel-720x1280-4s.mp4", 20_000_000);
        let digest = hex::encode(sha2::Sha256::digest(&video));
        let (_, mp4) = app.upload_bytes("lost.mp4", video).await;
        let reel = fixture("reel-720x1280-4s.mp4");
        let (_, short) = app.upload("reel-720x1280-4s.mp4").await;
        // The first chunk arrives and its answer is lost (a 502): the session says it holds
        // 8 MiB, and the upload goes on from there at once. Then, for a video of one chunk, the
        // connection drops after the last byte: the retry asks the session, which answers with
        // the video. Then the same, but the retry comes after the session is gone (a week on),
        // and Herald finds the video among the channel's uploads.
        let short_sha = hex::encode(sha2::Sha256::digest(&reel));
        let (minute, week) = (SignedDuration::from_secs(30), SignedDuration::from_hours(8 * 24));
        let cases = [
            (
                &mp4,
                "Lost chunk",
                20_000_000,
                digest.clone(),
                "lost_response",
                None,
            ),
            (
                &short,
                "Lost last answer",
                reel.len() as u64,
                short_sha.clone(),
                "lost_connection",
                Some(minute),
            ),
            (
                &short,
                "Lost session",
                reel.len() as u64,
                short_sha.clone(),
                "lost_connection",
                Some(week),
            ),
        ];
        // Each with a custom thumbnail: a video found again still gets it.
        let (_, thumb) = app.upload("square-1080.jpg").await;
        for (media, title, bytes, sha, kind, retry_after) in cases {
            app.sandbox_post(
                "_sandbox/youtube/faults",
                json!({"operation": "upload", "method": "PUT", "kind": kind}),
            )
            .await;
            let mut with_thumb = options(title);
            with_thumb["thumbnail"] = thumb["id"].clone();
            let (s, post) = app
                .schedule(json!({"text": "Once.", "media_ids": [media["id"]],
                    "targets": [{"profile_id": profile, "options": with_thumb}],
                    "scheduled_at": at(&app, 1)}))
                .await;
            assert_eq!(s, StatusCode::CREATED, "{post}");
            let post = post["id"].as_str().unwrap().to_owned();
            if let Some(wait) = retry_after {
                app.wait_for(&post, |d| d["status"] == "retry_wait").await;
                advance_both(&app, wait, email).await;
            }
            let done = app.settled(&post).await;
            assert_eq!(done["deliveries"][0]["status"], "published", "{title}: {done:#}");
            let all = videos(&state(&app).await);
            let mine: Vec<&Value> = all.iter().filter(|v| v["title"] == title).collect();
            assert_eq!(mine.len(), 1, "one video, resumed: {all:#?}");
            assert_eq!(
                (mine[0]["sha256"].as_str(), mine[0]["bytes"].as_u64()),
                (Some(sha.as_str()), Some(bytes)),
                "{all:#?}"
            );
            assert_eq!(done["deliveries"][0]["platform_post_id"], mine[0]["id"]);
            assert!(mine[0]["thumbnail_sha256"].is_string(), "{title}: {all:#?}");
        }
        assert_requests_valid(&app, HOST, &Discovery::load(SPEC), &[]).await;
    });
}

#[tokio::test]
async fn youtubes_daily_quota_is_waited_out_until_midnight_in_california_and_a_dead_refresh_token_asks_to_reconnect()
 {
    on_both_backends!(Mode::Standalone, |app| {
        let email = "yt-quota@example.com";
        app.signup(email).await;
        // The app is in Google's "Testing" status: its refresh tokens die after seven days.
        app.sandbox_post(
            "_sandbox/youtube/app",
            json!({"testing": true, "insert_cost": 1600, "daily_units": 1700}),
        )
        .await;
        let profile = connect_youtube(&app).await;
        // A quota wait can last until midnight: this workspace lets a post go out up to a day late
        // rather than be missed.
        assert_eq!(app.set_catch_up(24 * 60).await.0, StatusCode::OK);
        let (_, short) = app.upload("reel-720x1280-4s.mp4").await;
        let schedule = |title: &'static str| {
            json!({"text": "Quota.", "media_ids": [short["id"]],
                "targets": [{"profile_id": profile, "options": options(title)}], "scheduled_at": at(&app, 1)})
        };
        let (_, first) = app.schedule(schedule("First of the day")).await;
        let done = app.settled(first["id"].as_str().unwrap()).await;
        assert_eq!(done["deliveries"][0]["status"], "published", "{done:#}");
        // The next upload would pass the day's units: it waits for midnight, Pacific time.
        let (_, second) = app.schedule(schedule("Second of the day")).await;
        let second = second["id"].as_str().unwrap().to_owned();
        let waiting = app.wait_for(&second, |d| d["status"] == "retry_wait").await;
        let due: jiff::Timestamp = waiting["deliveries"][0]["due_at"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let here = herald_now(&app).in_tz("America/Los_Angeles").unwrap();
        let midnight = here.tomorrow().unwrap().start_of_day().unwrap().timestamp();
        assert_eq!(due, midnight, "{waiting:#}");
        advance_both(
            &app,
            due.duration_since(herald_now(&app)) + SignedDuration::from_secs(5),
            email,
        )
        .await;
        let done = app.settled(&second).await;
        assert_eq!(done["deliveries"][0]["status"], "published", "{done:#}");
        assert_eq!(videos(&state(&app).await).len(), 2);

        // A week on, Google no longer honours the refresh token: the profile asks for the person.
        advance_both(&app, SignedDuration::from_hours(8 * 24), email).await;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let p = app.profiles().await[0].clone();
            if p["status"] == "needs_reconnect" {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "never asked to reconnect: {p:#}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    });
}

#[tokio::test]
async fn a_refused_youtube_thumbnail_leaves_the_video_published_with_a_note_and_the_channels_upload_cap_is_waited_out()
 {
    on_both_backends!(Mode::Standalone, |app| {
        let email = "yt-cap@example.com";
        app.signup(email).await;
        let profile = connect_youtube(&app).await;
        let (_, short) = app.upload("reel-720x1280-4s.mp4").await;
        let (_, thumb) = app.upload("square-1080.jpg").await;
        // A thumbnail over YouTube's 2 MB is refused when the post is scheduled.
        let mut big = fixture("square-1080.jpg");
        big.resize(2_500_000, 0);
        let (s, big) = app.upload_bytes("big.jpg", big).await;
        assert_eq!(s, StatusCode::CREATED, "{big}");
        let mut too_big = options("Too big");
        too_big["thumbnail"] = big["id"].clone();
        let (s, e) = app
            .schedule(json!({"text": "x", "media_ids": [short["id"]],
                "targets": [{"profile_id": profile, "options": too_big}], "scheduled_at": at(&app, 60)}))
            .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("option_media_too_large")),
            "{e}"
        );
        // The channel may not use custom thumbnails (its phone number is not verified).
        app.sandbox_post(
            &format!("_sandbox/youtube/channels/{CHANNEL}"),
            json!({"custom_thumbnails": false}),
        )
        .await;
        let mut with_thumb = options("Thumbnail refused");
        with_thumb["thumbnail"] = thumb["id"].clone();
        let (_, post) = app
            .schedule(json!({"text": "Up anyway.", "media_ids": [short["id"]],
                "targets": [{"profile_id": profile, "options": with_thumb}], "scheduled_at": at(&app, 1)}))
            .await;
        let done = app.settled(post["id"].as_str().unwrap()).await;
        let d = &done["deliveries"][0];
        assert_eq!(d["status"], "published", "{done:#}");
        assert_eq!(d["error"]["code"], "thumbnail_refused", "{done:#}");
        assert!(
            d["error"]["message"].as_str().unwrap().contains("YouTube Studio"),
            "{done:#}"
        );
        let all = videos(&state(&app).await);
        assert!(all[0]["thumbnail_sha256"].is_null(), "{all:#?}");

        // The channel has uploaded as much as YouTube allows today: the next waits an hour at a
        // time, and goes once YouTube takes uploads again.
        app.sandbox_post(
            &format!("_sandbox/youtube/channels/{CHANNEL}"),
            json!({"upload_limit": 1}),
        )
        .await;
        let (_, capped) = app
            .schedule(json!({"text": "Tomorrow, maybe.", "media_ids": [short["id"]],
                "targets": [{"profile_id": profile, "options": options("Capped")}], "scheduled_at": at(&app, 1)}))
            .await;
        let capped = capped["id"].as_str().unwrap().to_owned();
        let waiting = app.wait_for(&capped, |d| d["status"] == "retry_wait").await;
        let d = &waiting["deliveries"][0];
        assert_eq!(d["error"]["code"], "rate_limited", "{waiting:#}");
        let due: jiff::Timestamp = d["due_at"].as_str().unwrap().parse().unwrap();
        let wait = due.duration_since(herald_now(&app));
        assert!(
            wait > SignedDuration::from_mins(55) && wait <= SignedDuration::from_mins(60),
            "an hour: {waiting:#}"
        );
        app.sandbox_post(
            &format!("_sandbox/youtube/channels/{CHANNEL}"),
            json!({"upload_limit": 15}),
        )
        .await;
        assert_eq!(app.set_catch_up(24 * 60).await.0, StatusCode::OK);
        advance_both(&app, SignedDuration::from_mins(61), email).await;
        let done = app.settled(&capped).await;
        assert_eq!(done["deliveries"][0]["status"], "published", "{done:#}");
        assert_eq!(videos(&state(&app).await).len(), 2);
    });
}

#[tokio::test]
async fn a_long_youtube_upload_that_outlasts_the_catch_up_window_goes_on_a_few_chunks_per_claim_into_one_video()
 {
    // The window is the dispatcher's, not the store's: one backend proves it, and the minute it
    // takes is spent once.
    let mut app = TestApp::spawn(herald_store::Backend::Sqlite, Mode::Standalone).await;
    let email = "yt-long@example.com";
    app.signup(email).await;
    let profile = connect_youtube(&app).await;
    assert_eq!(app.set_catch_up(1).await.0, StatusCode::OK);
    // Eight chunks: more than one claim takes. The first two are slow, so the first claim ends
    // after the one-minute window has passed.
    for _ in 0..2 {
        app.sandbox_post(
            "_sandbox/youtube/faults",
            json!({"operation": "upload", "method": "PUT", "kind": "slow", "millis": 31_000}),
        )
        .await;
    }
    let video = padded_video("reel-720x1280-4s.mp4", 60_000_000);
    let digest = hex::encode(sha2::Sha256::digest(&video));
    let (_, mp4) = app.upload_bytes("long.mp4", video).await;
    let (s, post) = app
        .schedule(json!({"text": "All of it.", "media_ids": [mp4["id"]],
            "targets": [{"profile_id": profile, "options": options("Long")}], "scheduled_at": at(&app, 1)}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{post}");
    let post = post["id"].as_str().unwrap().to_owned();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(150);
    let done = loop {
        let (_, p) = app.get(app.ws_url(&format!("posts/{post}"))).await;
        let status = p["deliveries"][0]["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if !matches!(
            status.as_str(),
            "scheduled" | "publishing" | "retry_wait" | "processing"
        ) {
            break p;
        }
        assert!(tokio::time::Instant::now() < deadline, "still {status}: {p:#}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(done["deliveries"][0]["status"], "published", "{done:#}");
    let all = videos(&state(&app).await);
    assert_eq!(
        (all.len(), all[0]["sha256"].as_str()),
        (1, Some(digest.as_str())),
        "{all:#?}"
    );
    // More than one claim took it, the later ones after the window, and none was a failure.
    let d = &done["deliveries"][0];
    let outcomes: Vec<&str> = d["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert!(outcomes.contains(&"continuing"), "{outcomes:?}");
    assert!(
        !outcomes.iter().any(|o| matches!(*o, "transient" | "missed")),
        "{outcomes:?}"
    );
    let scheduled: jiff::Timestamp = done["scheduled_at"].as_str().unwrap().parse().unwrap();
    let resumed = d["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "published")
        .filter_map(|e| e["at"].as_str()?.parse::<jiff::Timestamp>().ok())
        .max()
        .unwrap();
    assert!(
        resumed > scheduled + SignedDuration::from_mins(1),
        "the upload went on past the window to the end: {done:#}"
    );
    app.stop().await;
}
