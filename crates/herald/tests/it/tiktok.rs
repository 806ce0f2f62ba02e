//! TikTok end to end through the sandbox: connecting with PKCE through the consent page, a video
//! sent in chunks (the bytes TikTok holds are the file's), photos pulled from Herald's media links,
//! the account's privacy levels and longest video held against a post at scheduling and again at
//! publishing, metrics, a Business account's comments read and answered through the API for
//! Business (which a profile adds), the rotating refresh token, and a lost answer to a chunk.

use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Digest;

use crate::harness::{Mode, TestApp, advance_both, backends, fixture, herald_now, padded_video};
use crate::on_both_backends;

const CREATOR: &str = "-000sbxTikTokCreatorPublic";

fn at(app: &TestApp, s: i64) -> String {
    (herald_now(app) + SignedDuration::from_secs(s)).to_string()
}

/// Connects the public account through the consent page; returns the profile's id.
async fn connect_tiktok(app: &TestApp) -> String {
    let location = app.consent_on("tiktok", &[], "allow").await;
    assert!(
        location.contains("scopes="),
        "TikTok names the scopes granted: {location}"
    );
    let (s, page) = app.callback(&location).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(
        page.contains("Sandbox Bakes") && page.contains("Herald can publish"),
        "{page}"
    );
    let profiles = app.profiles().await;
    profiles.iter().find(|p| p["platform"] == "tiktok").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn state(app: &TestApp) -> Value {
    app.sandbox_json("_sandbox/tiktok").await
}

/// The publication TikTok holds for a delivery, found by its post id or publish id.
async fn publication(app: &TestApp, id: &str) -> Value {
    let s = state(app).await;
    s["publications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["post_id"] == id || p["publish_id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no publication {id}: {s:#}"))
}

/// Rule ids of a refused scheduling.
async fn refused(app: &TestApp, body: Value) -> Vec<String> {
    let (s, r) = app.schedule(body).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    r["error"]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["rule"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn tiktok_connects_with_pkce_and_posts_a_chunked_video_and_photos_with_their_options_and_metrics() {
    on_both_backends!(Mode::Standalone, |app| {
        let email = "tt@example.com";
        app.signup(email).await;
        let profile = connect_tiktok(&app).await;
        let kinds: Vec<String> = state(&app).await["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["kind"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(kinds.len(), 2, "an access and a refresh token: {kinds:?}");

        // A video of 25 MB: two chunks, 10 MB and the rest, each PUT in order.
        let video = padded_video("reel-720x1280-4s.mp4", 25_000_000);
        let digest = hex::encode(sha2::Sha256::digest(&video));
        let (s, mp4) = app.upload_bytes("long.mp4", video).await;
        assert_eq!(s, StatusCode::CREATED, "{mp4}");
        let (s, post) = app
            .schedule(json!({"text": "Sourdough, start to finish #baking", "media_ids": [mp4["id"]],
                "targets": [{"profile_id": profile, "options": {"privacy_level": "PUBLIC_TO_EVERYONE", "disable_duet": true}}],
                "scheduled_at": at(&app, 1)}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{post}");
        let done = app.settled(post["id"].as_str().unwrap()).await;
        let d = &done["deliveries"][0];
        assert_eq!(d["status"], "published", "{done:#}");
        let id = d["platform_post_id"].as_str().unwrap().to_owned();
        assert!(
            id.chars().all(|c| c.is_ascii_digit()),
            "a public post's id, after moderation: {id}"
        );
        let p = publication(&app, &id).await;
        assert_eq!(
            (
                p["total_chunks"].as_u64(),
                p["uploaded_bytes"].as_u64(),
                p["sha256"].as_str()
            ),
            (Some(2), Some(25_000_000), Some(digest.as_str())),
            "every byte arrived, in two chunks: {p:#}"
        );
        assert_eq!(p["title"], "Sourdough, start to finish #baking");
        assert_eq!(p["options"]["disable_duet"], true, "{p:#}");

        // Photos, pulled from Herald's links; "only me" never gets a public id on TikTok.
        let (_, a) = app.upload("portrait-4x5-1080x1350.jpg").await;
        let (_, b) = app.upload("square-1080.jpg").await;
        let (s, photos) = app
            .schedule(json!({"text": "Crumb shots.", "media_ids": [a["id"], b["id"]],
                "targets": [{"profile_id": profile, "options": {"privacy_level": "SELF_ONLY", "title": "Crumb"}}],
                "scheduled_at": at(&app, 1)}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{photos}");
        let done = app.settled(photos["id"].as_str().unwrap()).await;
        let d = &done["deliveries"][0];
        assert_eq!(d["status"], "published", "{done:#}");
        let p = publication(&app, d["platform_post_id"].as_str().unwrap()).await;
        assert_eq!(
            (
                p["media_type"].as_str(),
                p["photos"].as_array().unwrap().len(),
                p["title"].as_str(),
                p["description"].as_str()
            ),
            (Some("PHOTO"), 2, Some("Crumb"), Some("Crumb shots.")),
            "{p:#}"
        );
        assert!(p["post_id"].is_null(), "{p:#}");

        // Ten hours on, the two-hour token has been renewed (with the refresh token, which
        // rotates: the one used is gone) without any post due.
        let issued = app.profiles().await[0]["token_expires_at"].clone();
        let refresh = |s: &Value| -> Vec<String> {
            s["tokens"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|t| t["kind"] == "refresh")
                .map(|t| t["fingerprint"].as_str().unwrap().to_owned())
                .collect()
        };
        let first = refresh(&state(&app).await);
        advance_both(&app, SignedDuration::from_hours(10), email).await;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        while app.profiles().await[0]["token_expires_at"] == issued {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the token was never renewed"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let now = refresh(&state(&app).await);
        assert!(now.len() == 1 && now != first, "rotated: {first:?} → {now:?}");
        // Metrics from video/query; comments are said to be unavailable, not empty.
        let video_post = post["id"].as_str().unwrap();
        let (s, metrics) = app.get(app.ws_url(&format!("posts/{video_post}/metrics"))).await;
        assert_eq!(s, StatusCode::OK, "{metrics}");
        let m = &metrics["data"][0]["metrics"];
        assert_eq!(
            (m["views"].as_u64(), m["likes"].as_u64()),
            (Some(120), Some(30)),
            "{metrics:#}"
        );
        let (_, comments) = app.get(app.ws_url(&format!("posts/{video_post}/comments"))).await;
        assert_eq!(
            comments["data"][0]["error"]["code"], "conversations_missing",
            "{comments:#}"
        );
    });
}

/// Adds TikTok for Business to the profile through its consent page, as `account` (the first,
/// a Business account, unless named); returns the callback page.
async fn add_comments(app: &TestApp, profile: &str, account: Option<&str>) -> (StatusCode, String) {
    let (s, started) = app
        .post(
            app.ws_url(&format!("profiles/{profile}/conversations")),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{started}");
    let url = started["authorize_url"].as_str().unwrap();
    assert!(
        url.contains("client_key=7100000000000000001") && !url.contains("code_challenge"),
        "the Business app's key, no PKCE: {url}"
    );
    let page = reqwest::get(url).await.unwrap().text().await.unwrap();
    assert!(page.contains("comment.list.manage"), "{page}");
    let mut form = crate::form::parse(&page, account.map(|_| CREATOR).as_slice());
    if let Some(a) = account {
        form.fields.push(("account".into(), a.into()));
    }
    let action = app
        .sandbox_base
        .join(form.action.trim_start_matches('/'))
        .unwrap();
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(action)
        .form(&form.submit("allow"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    app.callback(res.headers()["location"].to_str().unwrap()).await
}

#[tokio::test]
async fn a_tiktok_business_accounts_comments_are_listed_and_answered_as_the_account_through_the_api_for_business()
 {
    on_both_backends!(Mode::Standalone, |app| {
        let email = "ttc@example.com";
        app.signup(email).await;
        let profile = connect_tiktok(&app).await;
        let (_, mp4) = app.upload("reel-720x1280-4s.mp4").await;
        let (s, post) = app
            .schedule(json!({"text": "Rye, start to finish.", "media_ids": [mp4["id"]],
                "targets": [{"profile_id": profile, "options": {"privacy_level": "PUBLIC_TO_EVERYONE"}}],
                "scheduled_at": at(&app, 1)}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{post}");
        let post = post["id"].as_str().unwrap().to_owned();
        let done = app.settled(&post).await;
        let video = done["deliveries"][0]["platform_post_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let comment = app
            .sandbox_post(
                &format!("_sandbox/tiktok/videos/{video}/comments"),
                json!({"author": "crumb.fan", "text": "What flour?"}),
            )
            .await["comment_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let comments_url = app.ws_url(&format!("posts/{post}/comments"));

        // A personal account is told why it has no comments, and nothing is kept.
        let (s, page) = add_comments(&app, &profile, Some("-000sbxTikTokCreatorPrivate")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{page}");
        assert!(
            page.contains("@sandbox.diary is a personal TikTok account")
                && page.contains("Switch to Business Account"),
            "{page}"
        );
        assert_eq!(app.profiles().await[0]["conversations"]["added"], false);
        let (_, comments) = app.get(comments_url.clone()).await;
        assert_eq!(
            comments["data"][0]["error"]["code"], "conversations_missing",
            "{comments:#}"
        );

        // The Business account: its comments listed, the reply written as the account.
        let (s, page) = add_comments(&app, &profile, None).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        assert!(
            page.contains("as @sandbox.bakes through TikTok for Business"),
            "{page}"
        );
        let c = &app.profiles().await[0]["conversations"];
        assert_eq!(
            (c["handle"].as_str(), c["status"].as_str()),
            (Some("sandbox.bakes"), Some("connected")),
            "{c}"
        );
        let (s, comments) = app.get(comments_url.clone()).await;
        assert_eq!(s, StatusCode::OK, "{comments}");
        let listed = &comments["data"][0]["comments"][0];
        assert_eq!(
            (
                listed["id"].as_str(),
                listed["text"].as_str(),
                listed["username"].as_str()
            ),
            (Some(comment.as_str()), Some("What flour?"), Some("crumb.fan")),
            "{comments:#}"
        );
        let replies = app.ws_url(&format!("posts/{post}/comments/{comment}/replies"));
        let (s, too_long) = app.post(replies.clone(), json!({"text": "r".repeat(151)})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{too_long}");
        assert!(
            too_long["error"]["message"].as_str().unwrap().contains("150"),
            "{too_long}"
        );
        let (s, reply) = app
            .post(replies.clone(), json!({"text": "Stone-ground rye."}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{reply}");
        let held: Vec<Value> = state(&app).await["comments"].as_array().unwrap().clone();
        let written = held
            .iter()
            .find(|c| c["parent_comment_id"] == comment.as_str())
            .unwrap();
        assert_eq!(
            (
                written["text"].as_str(),
                written["username"].as_str(),
                written["owner"].as_bool()
            ),
            (Some("Stone-ground rye."), Some("sandbox.bakes"), Some(true)),
            "the reply is the account's: {held:#?}"
        );
        assert_eq!(written["comment_id"], reply["id"]);

        // A day on, the day-long token has ended: it is renewed when comments are read.
        advance_both(&app, SignedDuration::from_hours(25), email).await;
        let (s, comments) = app.get(comments_url.clone()).await;
        assert_eq!(s, StatusCode::OK, "{comments}");
        assert_eq!(
            comments["data"][0]["comments"][0]["replies"][0]["text"], "Stone-ground rye.",
            "{comments:#}"
        );

        // Removing it revokes Herald's access at TikTok for Business.
        let (s, removed) = app
            .delete(app.ws_url(&format!("profiles/{profile}/conversations")))
            .await;
        assert_eq!(s, StatusCode::OK, "{removed}");
        let grants = state(&app).await["grants"].clone();
        assert!(
            !grants.to_string().contains("7100000000000000001"),
            "the Business app's grant is gone: {grants:#}"
        );
        let (_, comments) = app.get(comments_url).await;
        assert_eq!(
            comments["data"][0]["error"]["code"], "conversations_missing",
            "{comments:#}"
        );
    });
}

#[tokio::test]
async fn what_the_tiktok_account_allows_is_held_against_a_post_at_scheduling_and_again_at_publishing() {
    on_both_backends!(Mode::Standalone, |app| {
        app.signup("tt-rules@example.com").await;
        // The account allows videos of three seconds at most; the rules learn it when it is
        // connected.
        app.sandbox_post(
            &format!("_sandbox/tiktok/creators/{CREATOR}"),
            json!({"max_video_post_duration_sec": 3}),
        )
        .await;
        let profile = connect_tiktok(&app).await;
        let (_, reel) = app.upload("reel-720x1280-4s.mp4").await;
        let (_, jpg) = app.upload("square-1080.jpg").await;
        let target = |options: Value| json!([{"profile_id": profile, "options": options}]);
        let in_a_minute = at(&app, 60);
        assert_eq!(
            refused(&app, json!({"text": "x", "media_ids": [jpg["id"]], "targets": target(json!({})), "scheduled_at": in_a_minute})).await,
            ["options.required"],
            "the person chooses the privacy; there is no default"
        );
        assert_eq!(
            refused(&app, json!({"text": "x", "media_ids": [jpg["id"]], "targets": target(json!({"privacy_level": "FOLLOWER_OF_CREATOR"})), "scheduled_at": in_a_minute})).await,
            ["options.privacy_unavailable"],
            "a public account does not offer followers-only"
        );
        assert_eq!(
            refused(&app, json!({"text": "x", "media_ids": [reel["id"]], "targets": target(json!({"privacy_level": "PUBLIC_TO_EVERYONE"})), "scheduled_at": in_a_minute})).await,
            ["media.too_long_for_account"]
        );
        let photos = vec![jpg["id"].clone(); 36];
        assert_eq!(
            refused(&app, json!({"text": "x", "media_ids": photos, "targets": target(json!({"privacy_level": "SELF_ONLY"})), "scheduled_at": in_a_minute})).await,
            ["media.too_many"]
        );
        let (s, post) = app
            .schedule(json!({"text": "For everyone.", "media_ids": [jpg["id"]], "targets": target(json!({"privacy_level": "PUBLIC_TO_EVERYONE"})), "scheduled_at": at(&app, 1)}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{post}");
        let first = app.settled(post["id"].as_str().unwrap()).await;
        assert_eq!(first["deliveries"][0]["status"], "published", "{first:#}");
        // What the account allows changes after scheduling (its owner made it private): what
        // Herald knows is at most ten minutes old when it publishes, so it asks TikTok again, and
        // the post is refused by the same rule rather than sent.
        let (s, later) = app
            .schedule(json!({"text": "For everyone, later.", "media_ids": [jpg["id"]], "targets": target(json!({"privacy_level": "PUBLIC_TO_EVERYONE"})), "scheduled_at": at(&app, 11 * 60)}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{later}");
        app.sandbox_post(
            &format!("_sandbox/tiktok/creators/{CREATOR}"),
            json!({"private": true}),
        )
        .await;
        advance_both(&app, SignedDuration::from_mins(11), "tt-rules@example.com").await;
        let done = app.settled(later["id"].as_str().unwrap()).await;
        let d = &done["deliveries"][0];
        assert_eq!(d["status"], "failed", "{done:#}");
        assert!(
            d["error"]["message"]
                .as_str()
                .unwrap()
                .contains("does not offer the privacy level"),
            "{done:#}"
        );
        let made: Vec<Value> = state(&app).await["publications"].as_array().unwrap().clone();
        assert_eq!(made.len(), 1, "only the first post reached TikTok: {made:#?}");
    });
}

#[tokio::test]
async fn a_lost_answer_to_a_tiktok_chunk_resumes_the_upload_and_a_lost_photo_init_is_found_or_unconfirmed_never_resent()
 {
    on_both_backends!(Mode::Standalone, |app| {
        let email = "tt-lost@example.com";
        app.signup(email).await;
        let profile = connect_tiktok(&app).await;
        // The first chunk arrives but its answer is lost: TikTok holds 10 MB, Herald's handle
        // says none; TikTok's status says where the upload stands and the next chunk goes.
        app.sandbox_post(
            "_sandbox/tiktok/faults",
            json!({"operation": "upload", "method": "PUT", "kind": "lost_response"}),
        )
        .await;
        let video = padded_video("reel-720x1280-4s.mp4", 25_000_000);
        let digest = hex::encode(sha2::Sha256::digest(&video));
        let (_, mp4) = app.upload_bytes("lost.mp4", video).await;
        let (_, post) = app
            .schedule(json!({"text": "Once.", "media_ids": [mp4["id"]],
                "targets": [{"profile_id": profile, "options": {"privacy_level": "SELF_ONLY"}}],
                "scheduled_at": at(&app, 1)}))
            .await;
        let post = post["id"].as_str().unwrap().to_owned();
        app.wait_for(&post, |d| d["status"] == "retry_wait").await;
        advance_both(&app, SignedDuration::from_secs(30), email).await;
        let done = app.settled(&post).await;
        assert_eq!(done["deliveries"][0]["status"], "published", "{done:#}");
        let all = state(&app).await["publications"].as_array().unwrap().clone();
        assert_eq!(all.len(), 1, "one upload, resumed: {all:#?}");
        assert_eq!(all[0]["sha256"], digest.as_str(), "{all:#?}");

        // A video of one chunk whose answer is lost: TikTok has every byte, its status says so,
        // and nothing is sent again.
        app.sandbox_post(
            "_sandbox/tiktok/faults",
            json!({"operation": "upload", "method": "PUT", "kind": "lost_response"}),
        )
        .await;
        let (_, reel) = app.upload("reel-720x1280-4s.mp4").await;
        let one = lost_then_settled(
            &app,
            email,
            json!({"text": "One chunk.", "media_ids": [reel["id"]],
            "targets": [{"profile_id": profile, "options": {"privacy_level": "SELF_ONLY"}}]}),
        )
        .await;
        assert_eq!(one["deliveries"][0]["status"], "published", "{one:#}");
        let all = state(&app).await["publications"].as_array().unwrap().clone();
        assert_eq!(all.len(), 2, "{all:#?}");
        let whole = hex::encode(sha2::Sha256::digest(fixture("reel-720x1280-4s.mp4")));
        assert_eq!(all[1]["sha256"], whole.as_str(), "{all:#?}");

        // Photos whose init answer is lost: TikTok pulled them. A public post is found among
        // the account's posts once moderated and taken for this one; one that is not public
        // cannot be looked for, so Herald says it cannot tell. Neither is sent again.
        let (_, jpg) = app.upload("square-1080.jpg").await;
        for (privacy, outcome) in [("PUBLIC_TO_EVERYONE", "published"), ("SELF_ONLY", "unconfirmed")] {
            app.sandbox_post(
                "_sandbox/tiktok/faults",
                json!({"operation": "content_init", "method": "POST", "kind": "lost_response"}),
            )
            .await;
            let done = lost_then_settled(
                &app,
                email,
                json!({"text": format!("Photos, {privacy}."), "media_ids": [jpg["id"]],
                "targets": [{"profile_id": profile, "options": {"privacy_level": privacy}}]}),
            )
            .await;
            assert_eq!(done["deliveries"][0]["status"], outcome, "{done:#}");
            let made = state(&app).await["publications"].as_array().unwrap().clone();
            let last = made.last().unwrap();
            assert_eq!(
                last["privacy_level"], privacy,
                "each photo post made once: {made:#?}"
            );
            if outcome == "published" {
                assert_eq!(
                    done["deliveries"][0]["platform_post_id"], last["post_id"],
                    "{done:#}"
                );
            }
        }
        let all = state(&app).await["publications"].as_array().unwrap().clone();
        assert_eq!(all.len(), 4, "each photo post made once: {all:#?}");
    });
}

/// Schedules `body` a second from now, waits for the retry its lost answer causes, lets the retry
/// come, and returns the settled post.
async fn lost_then_settled(app: &TestApp, email: &str, mut body: Value) -> Value {
    body["scheduled_at"] = json!(at(app, 1));
    let (s, post) = app.schedule(body).await;
    assert_eq!(s, StatusCode::CREATED, "{post}");
    let post = post["id"].as_str().unwrap().to_owned();
    app.wait_for(&post, |d| d["status"] == "retry_wait").await;
    advance_both(app, SignedDuration::from_secs(30), email).await;
    app.settled(&post).await
}

#[tokio::test]
async fn four_workers_racing_on_a_tiktok_token_close_to_expiry_refresh_it_once_and_the_rotated_out_refresh_token_is_refused()
 {
    let Some(mut app) = crate::harness::on_postgres().await else {
        return;
    };
    let email = "race-tiktok@example.com";
    app.signup(email).await;
    connect_tiktok(&app).await;
    let tt = app.sandbox.config().tiktok_app;
    let url = app
        .sandbox_base
        .join("open.tiktokapis.com/v2/oauth/token/")
        .unwrap();
    let r = crate::harness::four_workers_renew_once(&app, email, "/v2/oauth/token/", |used| {
        reqwest::Client::new().post(url.clone()).form(&[
            ("client_key", tt.client_id.as_str()),
            ("client_secret", tt.client_secret.as_str()),
            ("grant_type", "refresh_token"),
            ("refresh_token", used),
        ])
    })
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let refused: Value = r.json().await.unwrap();
    assert_eq!(refused["error"], "invalid_grant", "{refused}");
    app.stop().await;
}

#[tokio::test]
async fn with_heralds_domain_verified_tiktok_pulls_a_video_from_its_link_and_refuses_a_link_outside_the_verified_prefix()
 {
    for backend in backends().await {
        let mut app =
            TestApp::spawn_with(backend, Mode::Standalone, |s| s.media_domain_verified = true).await;
        app.signup("ttpull@example.com").await;
        let profile = connect_tiktok(&app).await;
        let video = fixture("reel-720x1280-4s.mp4");
        let digest = hex::encode(sha2::Sha256::digest(&video));
        let (_, mp4) = app.upload_bytes("pulled.mp4", video).await;
        let schedule = |text: &str| {
            json!({"text": text, "media_ids": [mp4["id"]], "scheduled_at": at(&app, 1),
                "targets": [{"profile_id": profile, "options": {"privacy_level": "PUBLIC_TO_EVERYONE"}}]})
        };
        // The app verified Herald's own address: TikTok pulls the video, no chunk is sent.
        app.sandbox_post(
            "_sandbox/tiktok/app",
            json!({"verified_prefixes": [app.base.as_str()]}),
        )
        .await;
        let (s, post) = app.schedule(schedule("Pulled, not pushed.")).await;
        assert_eq!(s, StatusCode::CREATED, "{post}");
        let done = app.settled(post["id"].as_str().unwrap()).await;
        let d = &done["deliveries"][0];
        assert_eq!(d["status"], "published", "{done:#}");
        let p = publication(&app, d["platform_post_id"].as_str().unwrap()).await;
        assert_eq!(
            (
                p["total_chunks"].as_u64(),
                p["sha256"].as_str(),
                p["title"].as_str()
            ),
            (Some(0), Some(digest.as_str()), Some("Pulled, not pushed.")),
            "pulled whole, the same bytes: {p:#}"
        );
        // A prefix Herald's links are not under: TikTok refuses, and the delivery says how to fix it.
        app.sandbox_post(
            "_sandbox/tiktok/app",
            json!({"verified_prefixes": ["https://cdn.example.com/"]}),
        )
        .await;
        let (_, post) = app.schedule(schedule("Not verified.")).await;
        let done = app.settled(post["id"].as_str().unwrap()).await;
        let d = &done["deliveries"][0];
        assert_eq!(d["status"], "failed", "{done:#}");
        assert!(
            d["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("URL properties"),
            "{done:#}"
        );
        app.stop().await;
    }
}
