//! Pinterest end to end through the sandbox: the consent page, boards and sections for the
//! composer, an image pin, a multi-image pin and a video pin with their options, metrics and the
//! plain answer about comments, a lost answer to the pin's creation, refusals at scheduling, and
//! the rotating refresh token.

use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Mode, TestApp, advance_both, herald_now, move_clocks};
use crate::on_both_backends;
use crate::openapi::{OpenApi, assert_requests_valid};

const HOST: &str = "api.pinterest.com";
const SPEC: &str = "pinterest/openapi.json";

const LAUNCHES: &str = "549755885175";
const SPRING: &str = "5497558851751";
const RECIPES: &str = "549755885176";

fn in_secs(s: i64) -> String {
    (jiff::Timestamp::now() + SignedDuration::from_secs(s)).to_string()
}

/// Connects the sandbox's first Pinterest account through its consent page; returns the profile.
pub async fn connect_pinterest(app: &TestApp) -> String {
    let location = app.consent_on("pinterest", &[], "allow").await;
    let (s, page) = app.callback(&location).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(
        page.contains("sandbox_pins") && page.contains("Herald can publish"),
        "{page}"
    );
    let profiles = app.profiles().await;
    let p = profiles.iter().find(|p| p["platform"] == "pinterest").unwrap();
    p["id"].as_str().unwrap().to_owned()
}

async fn pins(app: &TestApp) -> Vec<Value> {
    app.sandbox_json("_sandbox/pinterest").await["pins"]
        .as_array()
        .unwrap()
        .clone()
}

async fn publish(app: &TestApp, body: Value) -> Value {
    let (s, post) = app.schedule(body).await;
    assert_eq!(s, StatusCode::CREATED, "{post}");
    let done = app
        .wait_for(post["id"].as_str().unwrap(), |d| {
            !matches!(
                d["status"].as_str(),
                Some("scheduled" | "publishing" | "processing")
            )
        })
        .await;
    assert_eq!(done["deliveries"][0]["status"], "published", "{done:#}");
    done
}

#[tokio::test]
async fn pinterest_connects_through_its_consent_page_and_publishes_image_multi_image_and_video_pins_with_their_options()
 {
    on_both_backends!(Mode::Standalone, |app| {
        app.signup("pins@example.com").await;
        let profile = connect_pinterest(&app).await;

        let (s, boards) = app
            .get(app.ws_url(&format!("profiles/{profile}/choices/boards")))
            .await;
        assert_eq!(s, StatusCode::OK, "{boards}");
        let names: Vec<&str> = boards["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Product launches", "Recipes"]);
        let (s, sections) = app
            .get(app.ws_url(&format!("profiles/{profile}/choices/sections")))
            .await;
        assert_eq!(s, StatusCode::OK, "{sections}");
        assert_eq!(sections["data"][0]["parent"], LAUNCHES, "{sections}");

        let (_, jpg) = app.upload("square-1080.jpg").await;
        let (_, png) = app.upload("square-1080.png").await;
        let (_, portrait) = app.upload("portrait-4x5-1080x1350.jpg").await;
        let (_, video) = app.upload("landscape-1280x720-6s.mp4").await;

        let done = publish(&app, json!({
            "text": "Our spring lamp, in three colours.", "media_ids": [jpg["id"]],
            "targets": [{"profile_id": profile, "options": {"board_id": LAUNCHES, "board_section_id": SPRING,
                "title": "The spring lamp", "link": "https://example.com/lamp", "alt_text": "A red square lamp"}}],
            "scheduled_at": in_secs(1)})).await;
        let d = &done["deliveries"][0];
        let id = d["platform_post_id"].as_str().unwrap();
        assert!(id.chars().all(|c| c.is_ascii_digit()), "{id}");
        assert_eq!(d["permalink"], format!("https://www.pinterest.com/pin/{id}/"));
        let pin = pins(&app).await.into_iter().find(|p| p["id"] == id).unwrap();
        assert_eq!(
            (
                &pin["board_id"],
                &pin["board_section_id"],
                &pin["title"],
                &pin["link"],
                &pin["alt_text"],
                &pin["media_type"]
            ),
            (
                &json!(LAUNCHES),
                &json!(SPRING),
                &json!("The spring lamp"),
                &json!("https://example.com/lamp"),
                &json!("A red square lamp"),
                &json!("image")
            ),
            "{pin:#}"
        );
        assert_eq!(pin["description"], "Our spring lamp, in three colours.");
        assert!(
            pin["images"][0]["bytes"].as_u64().unwrap() > 1000,
            "the image was fetched: {pin:#}"
        );

        publish(
            &app,
            json!({
            "text": "Three dinners for the week.", "media_ids": [jpg["id"], png["id"], portrait["id"]],
            "targets": [{"profile_id": profile, "options": {"board_id": RECIPES,
                "item_titles": ["Monday", "Tuesday", "Wednesday"],
                "item_links": ["https://example.com/1", "https://example.com/2", "https://example.com/3"]}}],
            "scheduled_at": in_secs(1)}),
        )
        .await;
        let carousel = pins(&app)
            .await
            .into_iter()
            .find(|p| p["media_type"] == "multiple_images")
            .unwrap();
        let titles: Vec<&str> = carousel["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["title"].as_str().unwrap())
            .collect();
        assert_eq!(titles, ["Monday", "Tuesday", "Wednesday"], "{carousel:#}");
        assert_eq!(carousel["images"][2]["link"], "https://example.com/3");

        let done = publish(&app, json!({
            "text": "The lamp, turning.", "media_ids": [video["id"]],
            "targets": [{"profile_id": profile, "options": {"board_id": LAUNCHES, "title": "Lamp video", "cover_frame_s": 2}}],
            "scheduled_at": in_secs(1)})).await;
        let id = done["deliveries"][0]["platform_post_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let state = app.sandbox_json("_sandbox/pinterest").await;
        let pin = state["pins"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id.as_str())
            .unwrap();
        assert_eq!(
            (&pin["media_type"], &pin["cover"]),
            (&json!("video"), &json!("key frame 2 s")),
            "{pin:#}"
        );
        let media = state["media"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == pin["media_id"])
            .unwrap();
        assert_eq!(
            (media["bytes"].as_u64().unwrap() as usize, &media["status"]),
            (
                crate::harness::fixture("landscape-1280x720-6s.mp4").len(),
                &json!("succeeded")
            ),
            "every byte of the video reached the upload host"
        );

        // Metrics come from pin analytics; comments are said to be unavailable, not empty.
        move_clocks(&app, SignedDuration::from_hours(10)).await;
        let post = done["id"].as_str().unwrap();
        let (s, metrics) = app.get(app.ws_url(&format!("posts/{post}/metrics"))).await;
        assert_eq!(s, StatusCode::OK, "{metrics}");
        let m = &metrics["data"][0]["metrics"];
        assert!(
            m["views"].as_u64().unwrap() >= 70 && m["saves"].is_u64(),
            "{metrics:#}"
        );
        let (_, comments) = app.get(app.ws_url(&format!("posts/{post}/comments"))).await;
        assert!(
            comments.to_string().contains("no way to read or answer comments"),
            "{comments:#}"
        );

        // Disconnecting asks Pinterest to revoke the token; its API revokes only system users'
        // tokens, so the person is told where to remove Herald on Pinterest.
        let (s, said) = app.delete(app.ws_url(&format!("profiles/{profile}"))).await;
        assert_eq!(s, StatusCode::OK, "{said}");
        assert!(
            said.to_string().contains("Settings → Security and logins → Apps"),
            "{said:#}"
        );
        let (_, gone) = app.get(app.ws_url(&format!("profiles/{profile}"))).await;
        assert_eq!(gone["status"], "disconnected", "{gone:#}");
        let seen = assert_requests_valid(&app, HOST, &OpenApi::load(SPEC), &[]).await;
        assert_eq!(
            seen,
            [
                "GET /boards",
                "GET /boards/{board_id}/sections",
                "GET /media/{media_id}",
                "GET /pins/{pin_id}/analytics",
                "GET /user_account",
                "POST /media",
                "POST /oauth/token",
                "POST /oauth/token/revoke",
                "POST /pins",
            ],
            "every kind of call was made and checked"
        );
    });
}

#[tokio::test]
async fn a_lost_answer_to_the_pins_creation_leaves_exactly_one_pin() {
    on_both_backends!(Mode::Standalone, |app| {
        let email = "lost-pin@example.com";
        app.signup(email).await;
        let profile = connect_pinterest(&app).await;
        let (_, jpg) = app.upload("square-1080.jpg").await;
        app.fault(
            "pinterest",
            json!({"operation": "pins", "method": "POST", "kind": "lost_response"}),
        )
        .await;
        let (s, post) = app
            .schedule(json!({
            "text": "Only once, please.", "media_ids": [jpg["id"]],
            "targets": [{"profile_id": profile, "options": {"board_id": RECIPES, "title": "Once"}}],
            "scheduled_at": in_secs(1)}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{post}");
        let post = post["id"].as_str().unwrap();
        let waiting = app
            .wait_for(post, |d| {
                d["status"] == "retry_wait" || d["status"] == "published"
            })
            .await;
        assert_eq!(waiting["deliveries"][0]["status"], "retry_wait", "{waiting:#}");
        advance_both(&app, SignedDuration::from_secs(20), email).await;
        let done = app
            .wait_for(post, |d| {
                !matches!(
                    d["status"].as_str(),
                    Some("retry_wait" | "publishing" | "scheduled")
                )
            })
            .await;
        assert_eq!(done["deliveries"][0]["status"], "published", "{done:#}");
        let all = pins(&app).await;
        assert_eq!(all.len(), 1, "exactly one pin: {all:#?}");
        assert_eq!(done["deliveries"][0]["platform_post_id"], all[0]["id"]);
        let seen = assert_requests_valid(&app, HOST, &OpenApi::load(SPEC), &[]).await;
        assert!(
            seen.contains(&"GET /boards/{board_id}/pins".to_owned()),
            "{seen:?}"
        );
    });
}

#[tokio::test]
async fn pins_without_a_board_or_an_image_or_with_six_images_are_refused_by_rule_at_scheduling() {
    on_both_backends!(Mode::Standalone, |app| {
        app.signup("rules@example.com").await;
        let profile = connect_pinterest(&app).await;
        let (_, jpg) = app.upload("square-1080.jpg").await;
        let refused = |body: Value| async {
            let (s, e) = app.schedule(body).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
            e["error"]["violations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["rule"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        let target = |options: Value| json!([{"profile_id": profile, "options": options}]);
        let no_board = refused(json!({"text": "x", "media_ids": [jpg["id"]], "targets": [{"profile_id": profile}], "scheduled_at": in_secs(60)})).await;
        let no_image = refused(json!({"text": "x", "targets": target(json!({"board_id": RECIPES})), "scheduled_at": in_secs(60)})).await;
        let six = refused(json!({"text": "x", "media_ids": vec![jpg["id"].clone(); 6], "targets": target(json!({"board_id": RECIPES})), "scheduled_at": in_secs(60)})).await;
        let long_title = refused(json!({"text": "x", "media_ids": [jpg["id"]], "targets": target(json!({"board_id": RECIPES, "title": "t".repeat(101)})), "scheduled_at": in_secs(60)})).await;
        assert_eq!(
            [no_board, no_image, six, long_title].map(|r| r.join(",")),
            [
                "options.required",
                "media.required",
                "media.too_many",
                "options.invalid"
            ]
        );
        assert!(pins(&app).await.is_empty());
    });
}

#[tokio::test]
async fn pinterest_tokens_are_renewed_with_the_rotating_refresh_token_and_the_used_one_is_refused_after() {
    on_both_backends!(Mode::Standalone, |app| {
        let email = "renew@example.com";
        app.signup(email).await;
        let profile = connect_pinterest(&app).await;
        let tokens = |state: &Value, kind: &str| -> Vec<String> {
            state["tokens"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|t| t["kind"] == kind && t["expired"] == false)
                .map(|t| t["fingerprint"].as_str().unwrap().to_owned())
                .collect()
        };
        let mut refresh = tokens(&app.sandbox_json("_sandbox/pinterest").await, "refresh");
        assert_eq!(refresh.len(), 1);
        // Twice, 29 days apart: each time the 30-day access token is within Herald's renewal
        // window; the second renewal can only work with the refresh token the first one stored.
        for round in 1..=2 {
            advance_both(&app, SignedDuration::from_hours(29 * 24), email).await;
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
            let now = loop {
                let state = app.sandbox_json("_sandbox/pinterest").await;
                let now = tokens(&state, "refresh");
                if now.len() == 1 && now != refresh {
                    break now;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "round {round}: never renewed: {state:#}"
                );
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            };
            assert!(
                !now.contains(&refresh[0]),
                "the used refresh token is gone: the sandbox refuses it from now on"
            );
            refresh = now;
        }
        let profiles = app.profiles().await;
        let p = profiles.iter().find(|p| p["id"] == profile.as_str()).unwrap();
        assert_eq!(p["status"], "connected", "{p:#}");
        // 58 days on, the first access token is long dead: publishing works with the renewed one.
        let (_, jpg) = app.upload("square-1080.jpg").await;
        publish(
            &app,
            json!({"text": "after renewal", "media_ids": [jpg["id"]],
            "targets": [{"profile_id": profile, "options": {"board_id": RECIPES}}],
            "scheduled_at": (herald_now(&app) + SignedDuration::from_secs(1)).to_string()}),
        )
        .await;
    });
}
