//! Snapchat end to end through the sandbox: Snap's consent page and the Public Profiles chosen
//! after it, a Story, a Saved Story and a Spotlight each sent as encrypted parts that the
//! sandbox decrypts into the very bytes uploaded to Herald, a Saved Story title one character too
//! long refused by its rule, and a lost answer to the final call leaving exactly one post.

use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Digest;

use crate::harness::{Mode, TestApp, grey_png, herald_now, padded_video};
use crate::on_both_backends;

/// The Public Profiles the sandbox's user manages.
const SNACKS: &str = "c0ffee00-5a4d-4b0c-8a11-5a4d0b0c5a01";
const STREET: &str = "c0ffee00-5a4d-4b0c-8a11-5a4d0b0c5a02";

fn at(app: &TestApp, s: i64) -> String {
    (herald_now(app) + SignedDuration::from_secs(s)).to_string()
}

/// Logs in with Snapchat through the consent page and makes Sandbox Snacks a profile; returns
/// its id.
async fn connect_snapchat(app: &TestApp) -> String {
    connect_profiles(app, &[SNACKS]).await.remove(0)
}

/// Logs in with Snapchat and makes `profiles` profiles; returns their ids in the same order.
async fn connect_profiles(app: &TestApp, profiles: &[&str]) -> Vec<String> {
    let location = app.consent_on("snapchat", &[], "allow").await;
    let (s, page) = app.callback(&location).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let (_, list) = app.get(app.ws_url("connections")).await;
    let connection = list["data"][0]["id"].as_str().unwrap().to_owned();
    let (s, offered) = app
        .get(app.ws_url(&format!("connections/{connection}/accounts")))
        .await;
    assert_eq!(s, StatusCode::OK, "{offered}");
    assert!(
        offered.to_string().contains("sandboxstreet"),
        "every Public Profile the person manages is offered: {offered:#}"
    );
    let accounts: Vec<String> = profiles.iter().map(|p| format!("snapchat:{p}")).collect();
    let (s, chosen) = app
        .post(
            app.ws_url(&format!("connections/{connection}/accounts")),
            json!({ "accounts": accounts }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{chosen}");
    let listed = app.profiles().await;
    profiles
        .iter()
        .map(|p| {
            listed.iter().find(|l| l["external_id"] == *p).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

async fn state(app: &TestApp) -> Value {
    app.sandbox_json("_sandbox/snapchat").await
}

/// The SHA-256 of the plaintext the sandbox decrypted for `media_id`.
fn decrypted(s: &Value, media_id: &str) -> String {
    s["media"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["media_id"] == media_id)
        .unwrap_or_else(|| panic!("no media {media_id}: {s:#}"))["sha256"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Schedules one post to the profile and waits for it to settle; returns the post.
async fn publish(app: &TestApp, profile: &str, media: &Value, text: &str, options: Value) -> Value {
    let (s, post) = app
        .schedule(json!({"text": text, "media_ids": [media["id"]],
            "targets": [{"profile_id": profile, "options": options}], "scheduled_at": at(app, 1)}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{post}");
    app.settled(post["id"].as_str().unwrap()).await
}

#[tokio::test]
async fn snapchat_publishes_a_story_a_saved_story_and_a_spotlight_as_encrypted_parts_of_the_same_bytes() {
    on_both_backends!(Mode::Standalone, |app| {
        app.signup("snap@example.com").await;
        let profile = connect_snapchat(&app).await;
        let png = grey_png(1080, 1920);
        let png_sha = hex::encode(sha2::Sha256::digest(&png));
        // Large enough for two encrypted parts (each under Snap's 32 MB).
        let video = padded_video("landscape-1280x720-6s.mp4", 40_000_000);
        let video_sha = hex::encode(sha2::Sha256::digest(&video));

        // A Story: the image alone (Stories carry no caption).
        let (s, image) = app.upload_bytes("story.png", png.clone()).await;
        assert_eq!(s, StatusCode::CREATED, "{image}");
        let d = &publish(&app, &profile, &image, "", json!({})).await["deliveries"][0];
        assert_eq!(d["status"], "published", "{d:#}");
        let s = state(&app).await;
        let story = &s["stories"][0];
        assert_eq!(story["profile_id"], SNACKS, "{s:#}");
        assert_eq!(decrypted(&s, story["media_id"].as_str().unwrap()), png_sha);

        // A Saved Story, with its title; a title of 46 characters is refused by its rule.
        let (_, image) = app.upload_bytes("saved.png", png).await;
        let (s, refused) = app
            .schedule(json!({"text": "", "media_ids": [image["id"]], "scheduled_at": at(&app, 1),
                "targets": [{"profile_id": profile, "options": {"format": "saved_story", "title": "t".repeat(46)}}]}))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(
            refused["error"]["violations"][0]["rule"], "options.invalid",
            "{refused}"
        );
        let done = publish(
            &app,
            &profile,
            &image,
            "",
            json!({"format": "saved_story", "title": "This week's menu"}),
        )
        .await;
        let d = &done["deliveries"][0];
        assert_eq!(d["status"], "published", "{d:#}");
        let s = state(&app).await;
        let saved = &s["saved_stories"][0];
        assert_eq!(
            (saved["title"].as_str(), saved["id"].as_str()),
            (Some("This week's menu"), d["platform_post_id"].as_str()),
            "{s:#}"
        );
        assert_eq!(decrypted(&s, saved["media_ids"][0].as_str().unwrap()), png_sha);

        // A Spotlight: the video, the post's text as its description.
        let (_, mp4) = app.upload_bytes("fries.mp4", video).await;
        let done = publish(
            &app,
            &profile,
            &mp4,
            "New fries #snacks",
            json!({"format": "spotlight"}),
        )
        .await;
        let d = &done["deliveries"][0];
        assert_eq!(d["status"], "published", "{d:#}");
        let s = state(&app).await;
        let spot = &s["spotlights"][0];
        assert_eq!(
            (
                spot["description"].as_str(),
                spot["locale"].as_str(),
                spot["id"].as_str()
            ),
            (
                Some("New fries #snacks"),
                Some("en_US"),
                d["platform_post_id"].as_str()
            ),
            "{s:#}"
        );
        assert_eq!(decrypted(&s, spot["media_id"].as_str().unwrap()), video_sha);
        let parts = s["media"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["media_id"] == spot["media_id"])
            .unwrap()["parts"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(parts, 2, "sent in two parts: {s:#}");
        // Snapchat has no comments API: said, not shown as none.
        let post = done["id"].as_str().unwrap();
        let (_, comments) = app.get(app.ws_url(&format!("posts/{post}/comments"))).await;
        assert!(
            comments.to_string().contains("no public API for comments"),
            "{comments:#}"
        );
    });
}

#[tokio::test]
async fn a_lost_answer_to_the_final_snapchat_call_leaves_exactly_one_post() {
    on_both_backends!(Mode::Standalone, |app| {
        app.signup("snap-lost@example.com").await;
        let profile = connect_snapchat(&app).await;
        for (operation, options) in [
            ("stories", json!({})),
            (
                "saved_stories",
                json!({"format": "saved_story", "title": "Lost and found"}),
            ),
        ] {
            let (_, image) = app.upload_bytes("lost.png", grey_png(720, 1280)).await;
            app.sandbox_post(
                "_sandbox/snapchat/faults",
                json!({"operation": operation, "method": "POST", "kind": "lost_response"}),
            )
            .await;
            let done = publish(&app, &profile, &image, "", options).await;
            let d = &done["deliveries"][0];
            assert_eq!(d["status"], "published", "{d:#}");
            let s = state(&app).await;
            let made = s[operation].as_array().unwrap();
            assert_eq!(
                made.len(),
                1,
                "exactly one {operation} after the lost answer: {s:#}"
            );
            if operation == "saved_stories" {
                assert_eq!(
                    d["platform_post_id"], made[0]["id"],
                    "found again by its id: {s:#}"
                );
            }
        }
    });
}

#[tokio::test]
async fn two_public_profiles_of_one_snap_login_share_each_renewal_of_its_rotating_refresh_token() {
    on_both_backends!(Mode::Standalone, |app| {
        let email = "snap-two@example.com";
        app.signup(email).await;
        let ids = connect_profiles(&app, &[SNACKS, STREET]).await;
        // Three hours of one-hour tokens: each renewal rotates the refresh token (the used one
        // stops working), and both profiles stay connected on the pair the last renewal gave.
        for _ in 0..3 {
            let before: Vec<Value> = app
                .profiles()
                .await
                .iter()
                .map(|p| p["token_expires_at"].clone())
                .collect();
            crate::harness::advance_both(&app, SignedDuration::from_mins(45), email).await;
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
            loop {
                let now = app.profiles().await;
                assert!(
                    now.iter().all(|p| p["status"] != "needs_reconnect"),
                    "a profile lost its token: {now:#?}"
                );
                if now.iter().zip(&before).all(|(p, b)| p["token_expires_at"] != *b) {
                    break;
                }
                assert!(tokio::time::Instant::now() < deadline, "never renewed: {now:#?}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
        for id in &ids {
            let (_, image) = app.upload_bytes("later.png", grey_png(720, 1280)).await;
            let done = publish(&app, id, &image, "", json!({})).await;
            assert_eq!(done["deliveries"][0]["status"], "published", "{done:#}");
        }
    });
}
