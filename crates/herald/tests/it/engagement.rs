//! Comments on published posts: listed through Herald, answered as the profile, Meta's rules kept.

use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Mode, TestApp};
use crate::on_both_backends;

pub async fn published(app: &mut TestApp) -> (String, String) {
    app.signup("comments@example.com").await;
    app.connect(&[]).await;
    let profile = app.profiles().await[0]["id"].clone();
    let (_, media) = app.upload("square-1080.jpg").await;
    let at = (Timestamp::now() + SignedDuration::from_secs(1)).to_string();
    let (_, post) = app.schedule(json!({"text": "talk to me", "media_ids": [media["id"]], "targets": [{"profile_id": profile}], "scheduled_at": at})).await;
    let id = post["id"].as_str().unwrap().to_owned();
    let done = app.wait_for(&id, |d| d["status"] == "published").await;
    (
        id,
        done["deliveries"][0]["platform_post_id"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

pub async fn fan_comments(app: &TestApp, media: &str, text: &str, hidden: bool) -> String {
    let r = reqwest::Client::new()
        .post(
            app.sandbox_base
                .join(&format!("_sandbox/instagram/media/{media}/comments"))
                .unwrap(),
        )
        .json(&json!({"username": "a_fan", "text": text, "hidden": hidden}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_comment_added_on_instagram_is_listed_and_the_reply_appears_as_the_profile() {
    on_both_backends!(Mode::Standalone, |app| {
        let (post, media) = published(&mut app).await;
        let comment = fan_comments(&app, &media, "Love this!", false).await;
        let hidden = fan_comments(&app, &media, "spam spam", true).await;
        let (s, listed) = app.get(app.ws_url(&format!("posts/{post}/comments"))).await;
        assert_eq!(s, StatusCode::OK, "{listed}");
        let comments = listed["data"][0]["comments"].as_array().unwrap();
        let fan = comments
            .iter()
            .find(|c| c["id"] == comment.as_str())
            .expect("the fan's comment is listed");
        assert_eq!(
            (fan["text"].as_str(), fan["username"].as_str()),
            (Some("Love this!"), Some("a_fan"))
        );

        let (s, reply) = app
            .post(
                app.ws_url(&format!("posts/{post}/comments/{comment}/replies")),
                json!({"text": "Thank you!"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{reply}");
        let all: Value = app.sandbox_json("_sandbox/instagram/comments").await;
        let written = all["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"].to_string().trim_matches('"') == reply["id"].as_str().unwrap())
            .expect("the reply is on Instagram");
        assert_eq!(
            (written["text"].as_str(), written["username"].as_str()),
            (Some("Thank you!"), Some("sandbox_creator"))
        );
        assert_eq!(written["parent_id"].to_string().trim_matches('"'), comment);

        let reply_id = reply["id"].as_str().unwrap();
        let (s, e) = app
            .post(
                app.ws_url(&format!("posts/{post}/comments/{reply_id}/replies")),
                json!({"text": "again"}),
            )
            .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("not_top_level"))
        );
        let (s, e) = app
            .post(
                app.ws_url(&format!("posts/{post}/comments/{hidden}/replies")),
                json!({"text": "no"}),
            )
            .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("comment_hidden"))
        );
        let (s, _) = app
            .post(
                app.ws_url(&format!("posts/{post}/comments/999/replies")),
                json!({"text": "who?"}),
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    });
}
