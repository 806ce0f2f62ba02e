//! Exactly once: what Herald publishes, it publishes once, and a status says only what is true.

use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Mode, TestApp, advance_both, down_for, herald_now};
use crate::on_both_backends;

/// Schedules `text` (with `media`, if any) to `profile`, due in `secs` seconds.
async fn schedule(app: &TestApp, profile: &str, text: &str, media: &[&str], secs: i64) -> String {
    let at = (Timestamp::now() + SignedDuration::from_secs(secs)).to_string();
    let (s, p) = app
        .schedule(json!({"text": text, "media_ids": media, "targets": [{"profile_id": profile}], "scheduled_at": at}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    p["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn two_posts_with_the_same_text_to_one_page_due_seconds_apart_are_two_posts_with_two_ids() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup("twice@example.com").await;
        let page = app.choose_account("facebook:100000000000001").await;
        let (_, a) = app.upload("square-1080.jpg").await;
        let (_, b) = app.upload("portrait-4x5-1080x1350.jpg").await;
        let posts = [
            schedule(
                &app,
                &page,
                "Fresh bread at nine",
                &[a["id"].as_str().unwrap()],
                1,
            )
            .await,
            schedule(
                &app,
                &page,
                "Fresh bread at nine",
                &[b["id"].as_str().unwrap()],
                3,
            )
            .await,
        ];
        let mut ids = Vec::new();
        for post in &posts {
            let p = app.wait_for(post, |d| d["status"] == "published").await;
            ids.push(
                p["deliveries"][0]["platform_post_id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        assert_ne!(ids[0], ids[1], "two posts, two ids");
        let page_posts = app.sandbox_facebook().await["posts"].as_array().unwrap().clone();
        assert_eq!(page_posts.len(), 2, "{page_posts:#?}");
    });
}

#[tokio::test]
async fn the_same_text_twice_in_a_row_is_refused_by_facebook_and_said_so_never_claimed() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup("again@example.com").await;
        let page = app.choose_account("facebook:100000000000001").await;
        let first = schedule(&app, &page, "Closed on Monday", &[], 1).await;
        let p = app.wait_for(&first, |d| d["status"] == "published").await;
        let id = p["deliveries"][0]["platform_post_id"].clone();
        let second = schedule(&app, &page, "Closed on Monday", &[], 1).await;
        let p = app
            .wait_for(&second, |d| {
                d["status"] != "scheduled" && d["status"] != "publishing"
            })
            .await;
        let d = &p["deliveries"][0];
        assert_eq!(d["status"], "failed", "{p:#}");
        assert_eq!(d["error"]["code"], "content_rejected");
        assert!(
            d["error"]["message"]
                .as_str()
                .unwrap()
                .contains("duplicate of the previous post"),
            "{p:#}"
        );
        assert!(
            d["platform_post_id"].is_null(),
            "never the first post's id ({id})"
        );
        assert_eq!(app.sandbox_facebook().await["posts"].as_array().unwrap().len(), 1);
    });
}

/// Makes the platform perform the next `method` call of `operation`, then lose its answer.
async fn lose_answer(app: &TestApp, platform: &str, operation: &str, method: &str) {
    app.fault(
        platform,
        json!({"operation": operation, "method": method, "kind": "lost_response"}),
    )
    .await;
}

/// One publish whose visible call loses its answer: Herald retries, finds the post, says
/// `published` with its id. Returns that id.
async fn published_after_a_lost_answer(app: &TestApp, email: &str, post: &str) -> String {
    let waiting = app
        .wait_for(post, |d| {
            d["status"] == "retry_wait" || d["status"] == "published"
        })
        .await;
    assert_eq!(
        waiting["deliveries"][0]["status"], "retry_wait",
        "the answer was lost: {waiting:#}"
    );
    advance_both(app, SignedDuration::from_secs(20), email).await;
    let done = app
        .wait_for(post, |d| {
            !matches!(
                d["status"].as_str(),
                Some("retry_wait" | "publishing" | "processing" | "scheduled")
            )
        })
        .await;
    let d = &done["deliveries"][0];
    assert_eq!(d["status"], "published", "{done:#}");
    d["platform_post_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_lost_answer_on_each_instagram_publish_leaves_one_copy_published_with_its_id() {
    on_both_backends!(Mode::Builtin, |app| {
        let email = "lost-ig@example.com";
        app.signup(email).await;
        app.connect(&[]).await;
        let via_instagram = app.profiles().await[0]["id"].as_str().unwrap().to_owned();
        let via_page = app.choose_account("instagram:17841400000000002").await;
        let (_, image) = app.upload("square-1080.jpg").await;
        let (_, other) = app.upload("portrait-4x5-1080x1350.jpg").await;
        let (_, reel) = app.upload("reel-720x1280-4s.mp4").await;
        let (img, oth, rl) = (image["id"].clone(), other["id"].clone(), reel["id"].clone());
        for (profile, text, media, options) in [
            (&via_instagram, "lost image", json!([img]), json!({})),
            (&via_instagram, "lost carousel", json!([img, oth]), json!({})),
            (&via_instagram, "lost reel", json!([rl]), json!({})),
            (&via_instagram, "", json!([img]), json!({"format": "story"})),
            (&via_page, "lost through the Page", json!([img]), json!({})),
        ] {
            let before = app.sandbox_media().await.len();
            lose_answer(&app, "instagram", "media_publish", "POST").await;
            let at = (herald_now(&app) + SignedDuration::from_secs(1)).to_string();
            let (s, p) = app
                .schedule(json!({"text": text, "media_ids": media, "targets": [{"profile_id": profile, "options": options}], "scheduled_at": at}))
                .await;
            assert_eq!(s, StatusCode::CREATED, "{p}");
            let id = published_after_a_lost_answer(&app, email, p["id"].as_str().unwrap()).await;
            let media = app.sandbox_media().await;
            assert_eq!(media.len(), before + 1, "exactly one copy of {text:?}");
            assert_eq!(media.last().unwrap()["id"].to_string().trim_matches('"'), id);
        }
    });
}

#[tokio::test]
async fn a_lost_answer_on_each_page_publish_leaves_one_copy_published_with_its_id() {
    on_both_backends!(Mode::Builtin, |app| {
        let email = "lost-fb@example.com";
        app.signup(email).await;
        let page = app.choose_account("facebook:100000000000001").await;
        let (_, photo) = app.upload("square-1080.jpg").await;
        let (_, other) = app.upload("portrait-4x5-1080x1350.jpg").await;
        let (_, reel) = app.upload("reel-720x1280-4s.mp4").await;
        let (_, landscape) = app.upload("landscape-1280x720-6s.mp4").await;
        let (ph, ot, rl, ls) = (
            photo["id"].clone(),
            other["id"].clone(),
            reel["id"].clone(),
            landscape["id"].clone(),
        );
        for (text, media, format, operation) in [
            ("lost text", json!([]), "feed", "feed"),
            ("lost photo", json!([ph]), "feed", "photos"),
            ("lost photos", json!([ph, ot]), "feed", "feed"),
            ("lost feed video", json!([ls]), "feed", "node"),
            ("lost reel", json!([rl]), "reel", "video_reels"),
            ("", json!([rl]), "story", "video_stories"),
            ("", json!([ph]), "story", "photo_stories"),
        ] {
            let before = app.sandbox_facebook().await["posts"].as_array().unwrap().len();
            lose_answer(&app, "facebook", operation, "POST").await;
            let at = (herald_now(&app) + SignedDuration::from_secs(1)).to_string();
            let (s, p) = app
                .schedule(json!({"text": text, "media_ids": media, "targets": [{"profile_id": page, "options": {"format": format}}], "scheduled_at": at}))
                .await;
            assert_eq!(s, StatusCode::CREATED, "{p}");
            let id = published_after_a_lost_answer(&app, email, p["id"].as_str().unwrap()).await;
            let posts = app.sandbox_facebook().await["posts"].as_array().unwrap().clone();
            assert_eq!(
                posts.len(),
                before + 1,
                "exactly one copy of {operation} {text:?}: {posts:#?}"
            );
            assert_eq!(posts.last().unwrap()["id"], id.as_str(), "{operation}");
        }
    });
}

#[tokio::test]
async fn the_search_after_a_lost_answer_pages_back_past_newer_posts_to_find_the_one_copy() {
    on_both_backends!(Mode::Standalone, |app| {
        let email = "paged@example.com";
        app.signup(email).await;
        let page = app.choose_account("facebook:100000000000001").await;
        lose_answer(&app, "facebook", "feed", "POST").await;
        let at = (herald_now(&app) + SignedDuration::from_secs(1)).to_string();
        let (_, p) = app
            .schedule(json!({"text": "Buried under sixty newer posts", "targets": [{"profile_id": page}], "scheduled_at": at}))
            .await;
        let post = p["id"].as_str().unwrap().to_owned();
        app.wait_for(&post, |d| d["status"] == "retry_wait").await;
        // While Herald is down, the Page's owner posts more than one page of Graph's listing.
        if let Some(running) = app.app.take() {
            running.stop().await;
        }
        let token = app.sandbox_page_token("100000000000001").await;
        let feed = app
            .sandbox_base
            .join("graph.facebook.com/v24.0/100000000000001/feed")
            .unwrap();
        for i in 0..60 {
            let r = reqwest::Client::new()
                .post(feed.clone())
                .bearer_auth(&token)
                .form(&[("message", format!("The owner's own post {i}"))])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
        }
        down_for(&mut app, SignedDuration::from_secs(20), email).await;
        let done = app
            .wait_for(&post, |d| {
                d["status"] != "retry_wait" && d["status"] != "publishing"
            })
            .await;
        let d = &done["deliveries"][0];
        assert_eq!(d["status"], "published", "{done:#}");
        let copies: Vec<Value> = app.sandbox_facebook().await["posts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["message"] == "Buried under sixty newer posts")
            .cloned()
            .collect();
        assert_eq!(copies.len(), 1, "exactly one copy: {copies:#?}");
        assert_eq!(copies[0]["id"], d["platform_post_id"]);
    });
}

#[tokio::test]
async fn a_search_refused_after_a_lost_answer_leaves_the_delivery_unconfirmed_never_failed() {
    on_both_backends!(Mode::Builtin, |app| {
        let email = "refused-search@example.com";
        app.signup(email).await;
        let page = app.choose_account("facebook:100000000000001").await;
        lose_answer(&app, "facebook", "feed", "POST").await;
        app.fault(
            "facebook",
            json!({"operation": "feed", "method": "GET", "kind": "refuse"}),
        )
        .await;
        let at = (herald_now(&app) + SignedDuration::from_secs(1)).to_string();
        let (_, p) = app
            .schedule(json!({"text": "Searched for, refused", "targets": [{"profile_id": page}], "scheduled_at": at}))
            .await;
        let post = p["id"].as_str().unwrap().to_owned();
        app.wait_for(&post, |d| d["status"] == "retry_wait").await;
        advance_both(&app, SignedDuration::from_secs(20), email).await;
        let done = app
            .wait_for(&post, |d| {
                d["status"] != "retry_wait" && d["status"] != "publishing"
            })
            .await;
        assert_eq!(
            done["deliveries"][0]["status"], "unconfirmed",
            "the post may be live: {done:#}"
        );
        let copies = app.sandbox_facebook().await["posts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["message"] == "Searched for, refused")
            .count();
        assert_eq!(copies, 1, "nothing published again");
    });
}

#[tokio::test]
async fn two_lost_answers_that_cannot_be_told_apart_are_unconfirmed_with_both_candidates_and_the_person_settles_them()
 {
    on_both_backends!(Mode::Builtin, |app| {
        let email = "twins@example.com";
        app.signup(email).await;
        let page = app.choose_account("facebook:100000000000001").await;
        let (_, photo) = app.upload("square-1080.jpg").await;
        lose_answer(&app, "facebook", "photos", "POST").await;
        lose_answer(&app, "facebook", "photos", "POST").await;
        let at = (herald_now(&app) + SignedDuration::from_secs(1)).to_string();
        let mut posts = Vec::new();
        for _ in 0..2 {
            let (_, p) = app
                .schedule(json!({"text": "Same photo, same words", "media_ids": [photo["id"]], "targets": [{"profile_id": page}], "scheduled_at": at}))
                .await;
            posts.push(p["id"].as_str().unwrap().to_owned());
        }
        for post in &posts {
            app.wait_for(post, |d| d["status"] == "retry_wait").await;
        }
        advance_both(&app, SignedDuration::from_secs(20), email).await;
        let on_page: Vec<String> = app.sandbox_facebook().await["posts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(on_page.len(), 2, "both calls were made");
        for post in &posts {
            let done = app.wait_for(post, |d| d["status"] == "unconfirmed").await;
            let d = &done["deliveries"][0];
            let mut candidates: Vec<String> = d["candidates"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_owned())
                .collect();
            candidates.sort();
            let mut expected = on_page.clone();
            expected.sort();
            assert_eq!(candidates, expected, "{done:#}");
            assert!(d["platform_post_id"].is_null(), "never a guess");
        }
        // The person looks at the Page: the first post is the first candidate; the second they
        // dismiss. A post id that is not a candidate is refused.
        let act =
            |post: &str, d: &str, action: &str| app.ws_url(&format!("posts/{post}/deliveries/{d}/{action}"));
        let (_, first) = app.get(app.ws_url(&format!("posts/{}", posts[0]))).await;
        let d = first["deliveries"][0]["id"].as_str().unwrap().to_owned();
        let (s, e) = app
            .post(act(&posts[0], &d, "choose"), json!({"platform_post_id": "1_2"}))
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "{e}");
        assert_eq!(e["error"]["code"], "conflict");
        let (s, chosen) = app
            .post(
                act(&posts[0], &d, "choose"),
                json!({"platform_post_id": on_page[0]}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{chosen}");
        assert_eq!(chosen["deliveries"][0]["status"], "published");
        assert_eq!(chosen["deliveries"][0]["platform_post_id"], on_page[0].as_str());
        let (_, second) = app.get(app.ws_url(&format!("posts/{}", posts[1]))).await;
        let d = second["deliveries"][0]["id"].as_str().unwrap().to_owned();
        let (s, dismissed) = app.post(act(&posts[1], &d, "dismiss"), json!({})).await;
        assert_eq!(s, StatusCode::OK, "{dismissed}");
        assert_eq!(dismissed["deliveries"][0]["status"], "cancelled");
        assert_eq!(dismissed["deliveries"][0]["error"]["code"], "dismissed");
        let (s, _) = app.post(act(&posts[1], &d, "dismiss"), json!({})).await;
        assert_eq!(s, StatusCode::CONFLICT, "dismissed once");
    });
}

#[tokio::test]
async fn a_corrupt_handle_or_options_never_start_a_fresh_publish() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup("corrupt@example.com").await;
        app.connect(&[]).await;
        let profile = app.profiles().await[0]["id"].as_str().unwrap().to_owned();
        let (_, image) = app.upload("square-1080.jpg").await;
        let later = (herald_now(&app) + SignedDuration::from_hours(1)).to_string();
        let mut posts = Vec::new();
        for text in ["a handle gone bad", "options gone bad", "both gone bad"] {
            let (_, p) = app
                .schedule(json!({"text": text, "media_ids": [image["id"]], "targets": [{"profile_id": profile, "options": {"alt_text": "x"}}], "scheduled_at": later}))
                .await;
            posts.push(p["id"].as_str().unwrap().to_owned());
        }
        let now = herald_now(&app).as_microsecond();
        let set = |post: &str, what: &str| {
            format!("UPDATE deliveries SET {what}, due_at = {now} WHERE post_id = '{post}'")
        };
        app.tamper(&set(&posts[0], "handle = '{\"container_id\": 17'"))
            .await;
        app.tamper(&set(&posts[1], "options = 'not json'")).await;
        app.tamper(&set(
            &posts[2],
            "options = 'not json', handle = '{\"publish_started\": true, \"container_id\": \"1\"}'",
        ))
        .await;
        app.wait_for(&posts[2], |_| true).await;
        let expect = [
            ("unconfirmed", "cannot be read"),
            ("failed", "cannot be read"),
            ("unconfirmed", "options became unreadable"),
        ];
        for (post, (status, words)) in posts.iter().zip(expect) {
            let done = app
                .wait_for(post, |d| {
                    d["status"] != "scheduled" && d["status"] != "publishing"
                })
                .await;
            let d = &done["deliveries"][0];
            assert_eq!(d["status"], status, "{done:#}");
            assert!(
                d["error"]["message"].as_str().unwrap().contains(words),
                "{done:#}"
            );
        }
        assert!(
            app.sandbox_media().await.is_empty(),
            "nothing was published afresh"
        );
    });
}

#[tokio::test]
async fn a_profile_whose_platform_herald_does_not_know_is_an_error_never_taken_for_instagram() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup("unknown@example.com").await;
        app.connect(&[]).await;
        let profile = app.profiles().await[0]["id"].as_str().unwrap().to_owned();
        let (_, image) = app.upload("square-1080.jpg").await;
        let later = (herald_now(&app) + SignedDuration::from_hours(1)).to_string();
        let (_, p) = app
            .schedule(json!({"text": "to a platform nobody knows", "media_ids": [image["id"]], "targets": [{"profile_id": profile}], "scheduled_at": later}))
            .await;
        let post = p["id"].as_str().unwrap().to_owned();
        assert_eq!(
            app.tamper(&format!(
                "UPDATE profiles SET platform = 'myspace' WHERE id = '{profile}'"
            ))
            .await,
            1
        );
        let (s, body) = app.get(app.ws_url(&format!("profiles/{profile}"))).await;
        assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
        assert_eq!(body["error"]["code"], "internal");
        assert!(body["error"]["request_id"].is_string(), "{body}");
        let now = herald_now(&app).as_microsecond();
        app.tamper(&format!(
            "UPDATE deliveries SET due_at = {now} WHERE post_id = '{post}'"
        ))
        .await;
        let done = app.wait_for(&post, |d| d["status"] == "failed").await;
        assert_eq!(
            done["deliveries"][0]["error"]["code"], "corrupt_profile",
            "{done:#}"
        );
        assert!(app.sandbox_media().await.is_empty(), "nothing went to Instagram");
    });
}

#[tokio::test]
async fn a_profile_disconnected_while_its_post_may_be_live_leaves_the_delivery_unconfirmed() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup("gone@example.com").await;
        app.connect(&[]).await;
        let profile = app.profiles().await[0]["id"].as_str().unwrap().to_owned();
        let (_, image) = app.upload("square-1080.jpg").await;
        let later = (herald_now(&app) + SignedDuration::from_hours(1)).to_string();
        let (_, p) = app
            .schedule(json!({"text": "in flight", "media_ids": [image["id"]], "targets": [{"profile_id": profile}], "scheduled_at": later}))
            .await;
        let post = p["id"].as_str().unwrap().to_owned();
        // As if an earlier claim had started `media_publish` and was waiting to look again.
        app.tamper(&format!("UPDATE deliveries SET status = 'processing', may_be_live = 1, handle = '{{\"container_id\": \"1\", \"publish_started\": true}}' WHERE post_id = '{post}'")).await;
        let (s, _) = app.delete(app.ws_url(&format!("profiles/{profile}"))).await;
        assert_eq!(s, StatusCode::OK);
        let now = herald_now(&app).as_microsecond();
        app.tamper(&format!(
            "UPDATE deliveries SET due_at = {now} WHERE post_id = '{post}'"
        ))
        .await;
        let done = app
            .wait_for(&post, |d| {
                d["status"] != "processing" && d["status"] != "publishing"
            })
            .await;
        let d = &done["deliveries"][0];
        assert_eq!(d["status"], "unconfirmed", "{done:#}");
        assert!(
            d["error"]["message"]
                .as_str()
                .unwrap()
                .contains("may be on the profile"),
            "{done:#}"
        );
    });
}
