//! The core loop end to end: connect through the consent form, upload, schedule, publish exactly once.

use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::Mode;
use crate::on_both_backends;

fn in_secs(s: i64) -> String {
    (Timestamp::now() + SignedDuration::from_secs(s)).to_string()
}

#[tokio::test]
async fn a_scheduled_post_is_published_exactly_once_and_not_before_its_time() {
    on_both_backends!(Mode::Standalone, |app| {
        let (profile, media) = app.ready_on_instagram("e2e@example.com").await;
        let at = in_secs(2);
        let caption = format!("Launch day #herald {}", uuid::Uuid::new_v4().simple());
        let (s, post) = app.schedule(json!({"text": caption, "media_ids": [media], "targets": [{"profile_id": profile, "options": {"alt_text": "A red square"}}], "scheduled_at": at})).await;
        assert_eq!(s, StatusCode::CREATED, "{post}");
        assert_eq!(post["deliveries"][0]["status"], "scheduled");
        let id = post["id"].as_str().unwrap();
        let done = app.wait_for(id, |d| d["status"] == "published").await;
        let published = app.sandbox_media().await;
        let copies: Vec<&Value> = published
            .iter()
            .filter(|m| m["caption"] == caption.as_str())
            .collect();
        assert_eq!(copies.len(), 1, "exactly one copy: {published:#?}");
        let landed: Timestamp = copies[0]["timestamp"].as_str().unwrap().parse().unwrap();
        assert!(
            landed >= at.parse::<Timestamp>().unwrap(),
            "published at {landed}, scheduled for {at}"
        );
        let d = &done["deliveries"][0];
        assert_eq!(
            d["platform_post_id"],
            copies[0]["id"].to_string().trim_matches('"')
        );
        assert_eq!(d["permalink"], copies[0]["permalink"]);
        assert_eq!(
            copies[0]["alt_text"], "A red square",
            "the target's options reach Instagram"
        );
        let outcomes: Vec<&str> = d["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["outcome"].as_str().unwrap())
            .collect();
        assert_eq!(outcomes.first(), Some(&"scheduled"));
        assert!(outcomes.contains(&"attempt_started"), "{outcomes:?}");
        assert_eq!(outcomes.last(), Some(&"published"));
    });
}

#[tokio::test]
async fn the_builtin_sandbox_backs_profiles_marked_as_sandbox_and_publishes() {
    on_both_backends!(Mode::Builtin, |app| {
        let (profile, media) = app.ready_on_instagram("builtin@example.com").await;
        let p = &app.profiles().await[0];
        assert_eq!(p["sandbox"], true);
        assert_eq!(p["status"], "connected");
        assert_eq!(p["handle"], "sandbox_creator");
        let (s, post) = app.schedule(json!({"text": "From the walk-through", "media_ids": [media], "targets": [{"profile_id": profile}], "scheduled_at": in_secs(1)})).await;
        assert_eq!(s, StatusCode::CREATED, "{post}");
        app.wait_for(post["id"].as_str().unwrap(), |d| d["status"] == "published")
            .await;
        assert_eq!(app.sandbox_media().await.len(), 1);
    });
}

#[tokio::test]
async fn unticking_the_publish_permission_reports_it_missing_and_scheduling_is_refused() {
    on_both_backends!(Mode::Standalone, |app| {
        app.signup("noperm@example.com").await;
        let (s, page) = app.connect(&["instagram_business_content_publish"]).await;
        assert_eq!(s, StatusCode::OK);
        assert!(page.contains("publishing is unavailable"), "{page}");
        let p = app.profiles().await[0].clone();
        assert_eq!(p["status"], "needs_reconnect");
        assert_eq!(p["reason"], "permission_missing");
        assert_eq!(
            p["missing_permissions"],
            json!(["instagram_business_content_publish"])
        );
        assert_eq!(p["unavailable_features"][0]["feature"], "publish");
        let (_, media) = app.upload("square-1080.jpg").await;
        let (s, err) = app.schedule(json!({"text": "x", "media_ids": [media["id"]], "targets": [{"profile_id": p["id"]}], "scheduled_at": in_secs(60)})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
        assert_eq!(err["error"]["violations"][0]["rule"], "permission_missing");
        assert_eq!(err["error"]["violations"][0]["profile_id"], p["id"]);
    });
}

#[tokio::test]
async fn a_grant_revoked_on_instagram_ends_needs_reconnect_and_reconnecting_publishes_it() {
    on_both_backends!(Mode::Standalone, |app| {
        let (profile, media) = app.ready_on_instagram("revoked@example.com").await;
        let (s, post) = app.schedule(json!({"text": "never", "media_ids": [media], "targets": [{"profile_id": profile}], "scheduled_at": in_secs(2)})).await;
        assert_eq!(s, StatusCode::CREATED);
        app.revoke_on_instagram("17841400000000001").await;
        let done = app
            .wait_for(post["id"].as_str().unwrap(), |d| {
                d["status"] != "scheduled" && d["status"] != "publishing"
            })
            .await;
        assert_eq!(done["deliveries"][0]["status"], "needs_reconnect", "{done:#}");
        let p = &app.profiles().await[0];
        assert_eq!(
            (p["status"].as_str(), p["reason"].as_str()),
            (Some("needs_reconnect"), Some("revoked_on_platform"))
        );
        assert!(app.sandbox_media().await.is_empty());
        let (s, page) = app.connect(&[]).await;
        assert_eq!(s, StatusCode::OK);
        assert!(page.contains("1 post(s) that were waiting"), "{page}");
        let done = app
            .wait_for(post["id"].as_str().unwrap(), |d| d["status"] == "published")
            .await;
        let outcomes = crate::harness::outcomes(&done);
        assert!(outcomes.iter().any(|o| o == "reconnected"), "{outcomes:?}");
        assert_eq!(app.sandbox_media().await.len(), 1);
    });
}

#[tokio::test]
async fn reconnecting_the_same_account_updates_its_profile_instead_of_adding_a_twin() {
    on_both_backends!(Mode::Standalone, |app| {
        app.signup("twice@example.com").await;
        app.connect(&["instagram_business_content_publish"]).await;
        let first = app.profiles().await;
        app.connect(&[]).await;
        let second = app.profiles().await;
        assert_eq!(second.len(), 1);
        assert_eq!(first[0]["id"], second[0]["id"]);
        assert_eq!(second[0]["status"], "connected");
    });
}

#[tokio::test]
async fn disconnecting_deletes_the_tokens_and_cancels_pending_deliveries() {
    on_both_backends!(Mode::Standalone, |app| {
        let (profile, media) = app.ready_on_instagram("disconnect@example.com").await;
        let (_, post) = app.schedule(json!({"text": "later", "media_ids": [media], "targets": [{"profile_id": profile}], "scheduled_at": in_secs(3600)})).await;
        let (s, body) = app.delete(app.ws_url(&format!("profiles/{profile}"))).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(body["cancelled_deliveries"], 1);
        let p = &app.profiles().await[0];
        assert_eq!(p["status"], "disconnected");
        let (_, post) = app
            .get(app.ws_url(&format!("posts/{}", post["id"].as_str().unwrap())))
            .await;
        assert_eq!(post["deliveries"][0]["status"], "cancelled");
    });
}

#[tokio::test]
async fn cancelling_stops_unpublished_deliveries_and_says_published_posts_stay() {
    on_both_backends!(Mode::Standalone, |app| {
        let (profile, media) = app.ready_on_instagram("cancel@example.com").await;
        let (_, post) = app.schedule(json!({"text": "later", "media_ids": [media], "targets": [{"profile_id": profile}], "scheduled_at": in_secs(3600)})).await;
        let id = post["id"].as_str().unwrap();
        let (s, c) = app
            .post(app.ws_url(&format!("posts/{id}/cancel")), json!({}))
            .await;
        assert_eq!(s, StatusCode::OK, "{c}");
        assert_eq!(c["cancel"]["cancelled"], 1);
        assert!(
            c["cancel"]["notes"][0]
                .as_str()
                .unwrap()
                .contains("cannot and does not delete")
        );
        assert_eq!(c["deliveries"][0]["status"], "cancelled");
        let (s, e) = app
            .client
            .patch(app.ws_url(&format!("posts/{id}")))
            .json(&json!({"text": "edited"}))
            .send()
            .await
            .map(|r| (r.status(), r))
            .unwrap();
        assert_eq!(s, StatusCode::CONFLICT, "{:?}", e.text().await);
    });
}

#[tokio::test]
async fn two_dispatchers_on_postgresql_publish_each_post_exactly_once() {
    if !crate::harness::backends()
        .await
        .contains(&herald_store::Backend::Postgres)
    {
        return;
    }
    let mut app = crate::harness::TestApp::spawn(herald_store::Backend::Postgres, Mode::Standalone).await;
    let mut worker_settings = app.settings.clone();
    worker_settings.run_api = false;
    worker_settings.public_url = app.base.clone();
    let worker = herald::start(worker_settings)
        .await
        .expect("a second worker starts on PostgreSQL");
    let (profile, media) = app.ready_on_instagram("race@example.com").await;
    let at = in_secs(2);
    let mut ids = Vec::new();
    for i in 0..20 {
        let (s, p) = app.schedule(json!({"text": format!("race {i}"), "media_ids": [media], "targets": [{"profile_id": profile}], "scheduled_at": at})).await;
        assert_eq!(s, StatusCode::CREATED);
        ids.push(p["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        app.wait_for(id, |d| d["status"] == "published").await;
    }
    let published = app.sandbox_media().await;
    for i in 0..20 {
        let n = published
            .iter()
            .filter(|m| m["caption"] == format!("race {i}").as_str())
            .count();
        assert_eq!(n, 1, "post {i} published {n} times");
    }
    worker.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn a_carousel_of_two_images_and_a_video_is_published_as_one_album() {
    on_both_backends!(Mode::Standalone, |app| {
        let (profile, first) = app.ready_on_instagram("carousel@example.com").await;
        let (_, second) = app.upload("portrait-4x5-1080x1350.jpg").await;
        let (_, third) = app.upload("reel-720x1280-4s.mp4").await;
        let media = json!([first, second["id"], third["id"]]);
        let (s, post) = app.schedule(json!({"text": "three in one", "media_ids": media, "targets": [{"profile_id": profile}], "scheduled_at": in_secs(1)})).await;
        assert_eq!(s, StatusCode::CREATED, "{post}");
        let done = app
            .wait_for(post["id"].as_str().unwrap(), |d| d["status"] == "published")
            .await;
        let published = app.sandbox_media().await;
        assert_eq!(published.len(), 1, "{published:#?}");
        assert_eq!(published[0]["media_type"], "CAROUSEL_ALBUM");
        let kinds: Vec<&str> = published[0]["children"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["media_type"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["IMAGE", "IMAGE", "VIDEO"]);
        assert_eq!(published[0]["caption"], "three in one");
        assert_eq!(
            done["deliveries"][0]["attempts"], 1,
            "waiting for the items is one attempt, not several"
        );
        assert_eq!(
            done["deliveries"][0]["platform_post_id"],
            published[0]["id"].to_string().trim_matches('"')
        );
    });
}

#[tokio::test]
async fn an_image_and_a_video_are_published_as_stories_without_captions() {
    on_both_backends!(Mode::Standalone, |app| {
        let (profile, image) = app.ready_on_instagram("story@example.com").await;
        let (_, video) = app.upload("reel-720x1280-4s.mp4").await;
        let story = |media: &serde_json::Value| json!({"text": "not shown on a story", "media_ids": [media], "targets": [{"profile_id": profile, "options": {"format": "story"}}], "scheduled_at": in_secs(1)});
        for media in [json!(image), video["id"].clone()] {
            let (s, post) = app.schedule(story(&media)).await;
            assert_eq!(s, StatusCode::CREATED, "{post}");
            app.wait_for(post["id"].as_str().unwrap(), |d| d["status"] == "published")
                .await;
        }
        let published = app.sandbox_media().await;
        let seen: Vec<(&str, &str, &str)> = published
            .iter()
            .map(|m| {
                (
                    m["product"].as_str().unwrap(),
                    m["media_type"].as_str().unwrap(),
                    m["caption"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(seen, [("STORY", "IMAGE", ""), ("STORY", "VIDEO", "")]);
    });
}

#[tokio::test]
async fn a_video_is_published_as_a_reel_and_one_without_fast_start_is_refused() {
    on_both_backends!(Mode::Standalone, |app| {
        let (profile, _) = app.ready_on_instagram("reel@example.com").await;
        let (s, reel) = app.upload("reel-720x1280-4s.mp4").await;
        assert_eq!(s, StatusCode::CREATED, "{reel}");
        let (_, cover) = app.upload("portrait-4x5-1080x1350.jpg").await;
        let (_, png) = app.upload("square-1080.png").await;
        let (s, e) = app.schedule(json!({"text": "x", "media_ids": [reel["id"]], "targets": [{"profile_id": profile, "options": {"cover_media_id": png["id"]}}], "scheduled_at": in_secs(60)})).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("option_media_type"))
        );
        let options = json!({"share_to_feed": false, "thumb_offset_ms": 1500, "cover_media_id": cover["id"]});
        let (s, post) = app.schedule(json!({"text": "moving pictures", "media_ids": [reel["id"]], "targets": [{"profile_id": profile, "options": options}], "scheduled_at": in_secs(1)})).await;
        assert_eq!(s, StatusCode::CREATED, "{post}");
        app.wait_for(post["id"].as_str().unwrap(), |d| d["status"] == "published")
            .await;
        let published = app.sandbox_media().await;
        assert_eq!(
            (
                published[0]["media_type"].as_str(),
                published[0]["product"].as_str()
            ),
            (Some("VIDEO"), Some("REELS"))
        );
        assert_eq!(
            (&published[0]["share_to_feed"], &published[0]["thumb_offset"]),
            (&json!(false), &json!(1500))
        );
        assert!(
            published[0]["cover_bytes"].as_u64() > Some(0),
            "the cover image reached Instagram"
        );
        let (_, slow) = app.upload("reel-no-faststart-2s.mp4").await;
        let (s, e) = app.schedule(json!({"text": "x", "media_ids": [slow["id"]], "targets": [{"profile_id": profile}], "scheduled_at": in_secs(60)})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let rules: Vec<&str> = e["error"]["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["rule"].as_str().unwrap())
            .collect();
        assert_eq!(
            rules,
            ["media.moov_at_end", "media.duration"],
            "the 2 s fixture is also too short for a reel"
        );
    });
}
