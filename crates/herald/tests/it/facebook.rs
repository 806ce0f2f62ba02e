//! Facebook Login end to end: a grant covering two Pages and a linked Instagram account, the
//! choose-accounts step, reconnecting without twins, and publishing to a Page.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Mode, TestApp};
use crate::on_both_backends;

const BAKERY: &str = "facebook:100000000000001";
const BOOKS: &str = "facebook:100000000000002";
const LINKED: &str = "instagram:17841400000000002";

fn in_secs(s: i64) -> String {
    (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(s)).to_string()
}

/// Logs in with Facebook and returns the connection's id.
async fn login(app: &TestApp) -> String {
    let (s, page) = app.connect_facebook(&[]).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("3 more account(s) can be added"), "{page}");
    let (s, list) = app.get(app.ws_url("connections")).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "{list}");
    list["data"][0]["id"].as_str().unwrap().to_owned()
}

/// A Page token for the bakery, got the way any Facebook client gets one: the login dialog, the
/// code exchange, `/me/accounts`.
async fn bakery_page_token(app: &TestApp) -> String {
    app.sandbox_page_token("100000000000001").await
}

async fn choose(app: &TestApp, connection: &str, accounts: &[&str]) -> (StatusCode, Value) {
    app.post(
        app.ws_url(&format!("connections/{connection}/accounts")),
        json!({ "accounts": accounts }),
    )
    .await
}

#[tokio::test]
async fn a_facebook_grant_with_two_pages_and_a_linked_instagram_account_becomes_the_chosen_profiles_and_reconnecting_makes_no_twins()
 {
    on_both_backends!(Mode::Standalone, |app| {
        app.signup("pages@example.com").await;
        let connection = login(&app).await;
        let (s, accounts) = app
            .get(app.ws_url(&format!("connections/{connection}/accounts")))
            .await;
        assert_eq!(s, StatusCode::OK, "{accounts}");
        let ids: Vec<&str> = accounts["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [LINKED, BAKERY, BOOKS]);
        assert!(
            accounts["data"]
                .as_array()
                .unwrap()
                .iter()
                .all(|a| a["profile_id"].is_null() && a["can_publish"] == true)
        );
        assert_eq!(
            app.profiles().await.len(),
            0,
            "nothing is a profile before it is chosen"
        );

        let (s, chosen) = choose(&app, &connection, &[BAKERY, LINKED]).await;
        assert_eq!(s, StatusCode::CREATED, "{chosen}");
        let profiles = app.profiles().await;
        assert_eq!(profiles.len(), 2, "{profiles:#?}");
        let page = profiles.iter().find(|p| p["platform"] == "facebook").unwrap();
        assert_eq!(
            (page["handle"].as_str(), page["login"].as_str()),
            (Some("Sandbox Bakery"), Some("facebook"))
        );
        assert_eq!(page["token_never_expires"], true, "a Page token does not expire");
        assert!(page["token_expires_at"].is_null());
        assert!(
            page["reconnect_by"].is_string(),
            "the grant's end is the date to reconnect by"
        );
        let ig = profiles.iter().find(|p| p["platform"] == "instagram").unwrap();
        assert_eq!(
            (ig["handle"].as_str(), ig["status"].as_str()),
            (Some("sandbox_brand"), Some("connected"))
        );

        let (s, page) = app.connect_facebook(&[]).await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            page.contains("Sandbox Bakery")
                && page.contains("sandbox_brand")
                && page.contains("1 more account(s)"),
            "{page}"
        );
        let (s, _) = choose(&app, &connection, &[BAKERY]).await;
        assert_eq!(s, StatusCode::CREATED);
        let again = app.profiles().await;
        let ids = |ps: &[Value]| {
            ps.iter()
                .map(|p| p["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids(&again),
            ids(&profiles),
            "reconnecting and choosing again updates the same profiles"
        );
        let (_, list) = app.get(app.ws_url("connections")).await;
        assert_eq!(list["data"].as_array().unwrap().len(), 1, "one grant per person");

        let (s, e) = choose(&app, &connection, &["facebook:999"]).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_account"))
        );
    });
}

#[tokio::test]
async fn a_page_publishes_text_a_link_one_photo_and_several_photos_each_exactly_once() {
    on_both_backends!(Mode::Standalone, |app| {
        app.signup("page-posts@example.com").await;
        let connection = login(&app).await;
        let (s, chosen) = choose(&app, &connection, &[BAKERY]).await;
        assert_eq!(s, StatusCode::CREATED, "{chosen}");
        let profile = chosen["data"][0]["id"].as_str().unwrap().to_owned();
        let (_, a) = app.upload("square-1080.jpg").await;
        let (_, b) = app.upload("square-1080.png").await;
        let target = |options: Value| json!([{"profile_id": profile, "options": options}]);
        let posts = [
            json!({"text": "Fresh bread at 8.", "targets": target(json!({})) }),
            json!({"text": "Our winter menu", "targets": target(json!({"link": "https://example.com/menu"})) }),
            json!({"text": "One loaf", "media_ids": [a["id"]], "targets": target(json!({"alt_text": "a loaf"})) }),
            json!({"text": "Two loaves", "media_ids": [a["id"], b["id"]], "targets": target(json!({})) }),
        ];
        for mut body in posts {
            body["scheduled_at"] = json!(in_secs(1));
            let (s, post) = app.schedule(body).await;
            assert_eq!(s, StatusCode::CREATED, "{post}");
            let done = app
                .wait_for(post["id"].as_str().unwrap(), |d| {
                    d["status"] == "published" || d["status"] == "failed"
                })
                .await;
            assert_eq!(done["deliveries"][0]["status"], "published", "{done:#}");
            assert!(
                done["deliveries"][0]["permalink"]
                    .as_str()
                    .unwrap()
                    .starts_with("https://www.facebook.com/")
            );
        }
        let fb = app.sandbox_facebook().await;
        let seen: Vec<(&str, Option<&str>, usize)> = fb["posts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["message"].as_str().unwrap(),
                    p["link"].as_str(),
                    p["photos"].as_array().unwrap().len(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("Fresh bread at 8.", None, 0),
                ("Our winter menu", Some("https://example.com/menu"), 0),
                ("One loaf", None, 1),
                ("Two loaves", None, 2),
            ]
        );
        let alt: Vec<&Value> = fb["photos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| &p["alt_text"])
            .collect();
        assert_eq!(alt[0], "a loaf");
        let (_, v) = app
            .post(
                app.ws_url("posts/validate"),
                json!({"text": "words alone", "targets": target(json!({}))}),
            )
            .await;
        assert_eq!(v["valid"], true, "a text-only Facebook post is fine: {v}");
    });
}

#[tokio::test]
async fn an_instagram_account_linked_to_a_page_publishes_through_facebook_login() {
    on_both_backends!(Mode::Standalone, |app| {
        app.signup("linked@example.com").await;
        let connection = login(&app).await;
        let (s, chosen) = choose(&app, &connection, &[LINKED]).await;
        assert_eq!(s, StatusCode::CREATED, "{chosen}");
        let profile = chosen["data"][0]["id"].as_str().unwrap().to_owned();
        let (_, image) = app.upload("square-1080.jpg").await;
        let (s, post) = app.schedule(json!({"text": "via the Page", "media_ids": [image["id"]], "targets": [{"profile_id": profile}], "scheduled_at": in_secs(1)})).await;
        assert_eq!(s, StatusCode::CREATED, "{post}");
        let done = app
            .wait_for(post["id"].as_str().unwrap(), |d| {
                d["status"] == "published" || d["status"] == "failed"
            })
            .await;
        assert_eq!(done["deliveries"][0]["status"], "published", "{done:#}");
        let media = app.sandbox_media().await;
        assert_eq!(media.len(), 1, "{media:#?}");
        assert_eq!(
            (media[0]["owner"].as_u64(), media[0]["caption"].as_str()),
            (Some(17841400000000002), Some("via the Page"))
        );
        let calls: Value = app.sandbox_json("_sandbox/instagram/calls").await;
        assert!(
            calls["data"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["operation"] == "media_publish"),
            "{calls}"
        );
    });
}

#[tokio::test]
async fn a_comment_on_a_page_post_is_listed_the_reply_appears_as_the_page_and_metrics_equal_the_sandboxs() {
    on_both_backends!(Mode::Standalone, |app| {
        app.signup("page-comments@example.com").await;
        let connection = login(&app).await;
        let (_, chosen) = choose(&app, &connection, &[BAKERY]).await;
        let profile = chosen["data"][0]["id"].as_str().unwrap().to_owned();
        let (s, post) = app
            .schedule(json!({"text": "Open on Sunday?", "targets": [{"profile_id": profile}], "scheduled_at": in_secs(1)}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{post}");
        let post = post["id"].as_str().unwrap().to_owned();
        let done = app.wait_for(&post, |d| d["status"] == "published").await;
        let platform_id = done["deliveries"][0]["platform_post_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let http = reqwest::Client::new();
        let r = http
            .post(
                app.sandbox_base
                    .join(&format!("_sandbox/facebook/posts/{platform_id}/comments"))
                    .unwrap(),
            )
            .json(&json!({"username": "Ada", "text": "Yes please!"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let (s, listed) = app.get(app.ws_url(&format!("posts/{post}/comments"))).await;
        assert_eq!(s, StatusCode::OK, "{listed}");
        let comment = &listed["data"][0]["comments"][0];
        assert_eq!(
            (comment["text"].as_str(), comment["username"].as_str()),
            (Some("Yes please!"), Some("Ada"))
        );
        let comment_id = comment["id"].as_str().unwrap().to_owned();
        let (s, reply) = app
            .post(
                app.ws_url(&format!("posts/{post}/comments/{comment_id}/replies")),
                json!({"text": "From 9 to 5!"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{reply}");
        let fb = app.sandbox_facebook().await;
        let written = fb["comments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == reply["id"])
            .unwrap();
        assert_eq!(
            written["from_page"], 100_000_000_000_001u64,
            "the reply is written by the Page"
        );
        assert_eq!(written["parent"], comment_id);
        let (s, e) = app
            .post(
                app.ws_url(&format!(
                    "posts/{post}/comments/{}/replies",
                    reply["id"].as_str().unwrap()
                )),
                json!({"text": "again"}),
            )
            .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("not_top_level"))
        );

        let r = http
            .post(app.sandbox_base.join("_sandbox/clock/advance").unwrap())
            .json(&json!({"seconds": 7 * 3600}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let (s, metrics) = app.get(app.ws_url(&format!("posts/{post}/metrics"))).await;
        assert_eq!(s, StatusCode::OK, "{metrics}");
        let m = &metrics["data"][0]["metrics"];
        let fb = app.sandbox_facebook().await;
        let generated = &fb["posts"][0]["insights"];
        let reactions = generated["post_reactions_by_type_total"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum::<u64>();
        assert_eq!(m["views"], generated["post_media_view"]);
        assert_eq!(m["reach"], generated["post_total_media_view_unique"]);
        assert_eq!(m["likes"], reactions);
        assert_eq!(m["shares"], generated["shares"]);
        assert_eq!((m["comments"].as_u64(), m["saves"].as_u64()), (Some(2), None));
        assert!(
            m["views"].as_u64().unwrap() >= 7 * 30,
            "views grew with sandbox time: {m}"
        );
    });
}

#[tokio::test]
async fn a_page_publishes_a_feed_video_a_reel_and_photo_and_video_stories() {
    on_both_backends!(Mode::Standalone, |app| {
        app.signup("page-reels@example.com").await;
        let connection = login(&app).await;
        let (_, chosen) = choose(&app, &connection, &[BAKERY]).await;
        let profile = chosen["data"][0]["id"].as_str().unwrap().to_owned();
        let (_, reel) = app.upload("reel-720x1280-4s.mp4").await;
        let (_, photo) = app.upload("square-1080.jpg").await;
        let (_, landscape) = app.upload("landscape-1280x720-6s.mp4").await;
        let (s, e) = app
            .schedule(json!({"text": "wide", "media_ids": [landscape["id"]], "targets": [{"profile_id": profile, "options": {"format": "reel"}}], "scheduled_at": in_secs(60)}))
            .await;
        assert_eq!(
            (s, e["error"]["violations"][0]["rule"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("media.aspect_ratio")),
            "{e}"
        );
        for (text, media, format) in [
            ("Oven tour", &landscape, "feed"),
            ("Behind the oven", &reel, "reel"),
            ("", &photo, "story"),
            ("", &reel, "story"),
        ] {
            let (s, post) = app
                .schedule(json!({"text": text, "media_ids": [media["id"]], "targets": [{"profile_id": profile, "options": {"format": format}}], "scheduled_at": in_secs(1)}))
                .await;
            assert_eq!(s, StatusCode::CREATED, "{post}");
            let done = app
                .wait_for(post["id"].as_str().unwrap(), |d| {
                    d["status"] == "published" || d["status"] == "failed"
                })
                .await;
            assert_eq!(done["deliveries"][0]["status"], "published", "{done:#}");
            assert_eq!(done["deliveries"][0]["attempts"], 1, "{done:#}");
        }
        let fb = app.sandbox_facebook().await;
        let seen: Vec<(&str, &str, bool, usize)> = fb["posts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["kind"].as_str().unwrap(),
                    p["message"].as_str().unwrap(),
                    p["video"].is_u64(),
                    p["photos"].as_array().unwrap().len(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("video", "Oven tour", true, 0),
                ("reel", "Behind the oven", true, 0),
                ("story", "", false, 1),
                ("story", "", true, 0)
            ]
        );
        assert!(
            fb["videos"]
                .as_array()
                .unwrap()
                .iter()
                .all(|v| v["bytes"].as_u64() > Some(0)),
            "each video was uploaded once"
        );
    });
}

#[tokio::test]
async fn a_rate_limited_page_post_waits_for_the_advertised_time_and_calls_nothing_before_it() {
    on_both_backends!(Mode::Standalone, |app| {
        app.signup("page-throttle@example.com").await;
        let connection = login(&app).await;
        let (_, chosen) = choose(&app, &connection, &[BAKERY]).await;
        let profile = chosen["data"][0]["id"].as_str().unwrap().to_owned();
        app.fault("facebook", json!({"operation": "feed", "minutes": 7}))
            .await;
        let at = (crate::harness::herald_now(&app) + jiff::SignedDuration::from_secs(1)).to_string();
        let (_, post) = app
            .schedule(json!({"text": "Patience", "targets": [{"profile_id": profile}], "scheduled_at": at}))
            .await;
        let id = post["id"].as_str().unwrap();
        let waiting = app.wait_for(id, |d| d["status"] == "retry_wait").await;
        let d = &waiting["deliveries"][0];
        assert_eq!(d["error"]["code"], "rate_limited", "{d}");
        let due: jiff::Timestamp = d["due_at"].as_str().unwrap().parse().unwrap();
        assert!(
            due.duration_since(crate::harness::herald_now(&app))
                > jiff::SignedDuration::from_secs(6 * 60 + 50),
            "waits the advertised 7 minutes: {due}"
        );
        crate::harness::advance_both(
            &app,
            jiff::SignedDuration::from_secs(7 * 60 + 1),
            "page-throttle@example.com",
        )
        .await;
        app.wait_for(id, |d| d["status"] == "published").await;
        let calls: Value = app.sandbox_json("_sandbox/facebook/calls").await;
        let calls = calls["data"].as_array().unwrap();
        let throttled = calls
            .iter()
            .position(|c| c["operation"] == "feed")
            .expect("the throttled call");
        let regain: jiff::Timestamp = calls[throttled]["at"].as_str().unwrap().parse().unwrap();
        let regain = regain + jiff::SignedDuration::from_mins(7);
        for c in &calls[throttled + 1..] {
            let at: jiff::Timestamp = c["at"].as_str().unwrap().parse().unwrap();
            assert!(
                at >= regain,
                "a call reached Facebook before access returned: {c}"
            );
        }
        assert_eq!(app.sandbox_facebook().await["posts"].as_array().unwrap().len(), 1);
    });
}

#[tokio::test]
async fn removing_a_facebook_connection_revokes_it_there_and_disconnects_its_profiles() {
    on_both_backends!(Mode::Standalone, |app| {
        app.signup("page-remove@example.com").await;
        let connection = login(&app).await;
        let (_, chosen) = choose(&app, &connection, &[BAKERY, LINKED]).await;
        let profile = chosen["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["platform"] == "facebook")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (s, post) = app
            .schedule(
                json!({"text": "Later", "targets": [{"profile_id": profile}], "scheduled_at": in_secs(3600)}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{post}");
        let page_token = bakery_page_token(&app).await;
        let (s, body) = app.delete(app.ws_url(&format!("connections/{connection}"))).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(
            (
                body["disconnected_profiles"].as_u64(),
                body["cancelled_deliveries"].as_u64()
            ),
            (Some(2), Some(1)),
            "{body}"
        );
        assert_eq!(body["revoked_at_platform"], true);
        assert!(app.profiles().await.iter().all(|p| p["status"] == "disconnected"));
        let (_, list) = app.get(app.ws_url("connections")).await;
        assert_eq!(list["data"], json!([]));
        let me: Value = reqwest::Client::new()
            .get(app.sandbox_base.join("graph.facebook.com/v24.0/me").unwrap())
            .bearer_auth(&page_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            me["error"]["code"], 190,
            "Facebook no longer accepts the Page's token: {me}"
        );
        let (s, _) = app.delete(app.ws_url(&format!("connections/{connection}"))).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "gone is gone");
    });
}

#[tokio::test]
async fn a_page_whose_access_was_removed_on_facebook_waits_for_a_new_login_and_then_publishes() {
    on_both_backends!(Mode::Standalone, |app| {
        app.signup("page-revoked@example.com").await;
        let connection = login(&app).await;
        let (_, chosen) = choose(&app, &connection, &[BAKERY]).await;
        let profile = chosen["data"][0]["id"].as_str().unwrap().to_owned();
        let page_token = bakery_page_token(&app).await;
        // The person removes the app in their Facebook settings.
        let r = reqwest::Client::new()
            .delete(
                app.sandbox_base
                    .join("graph.facebook.com/v24.0/me/permissions")
                    .unwrap(),
            )
            .bearer_auth(&page_token)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        let (_, post) = app.schedule(json!({"text": "After the break", "targets": [{"profile_id": profile}], "scheduled_at": in_secs(1)})).await;
        let id = post["id"].as_str().unwrap();
        let stopped = app.wait_for(id, |d| d["status"] == "needs_reconnect").await;
        assert_eq!(
            stopped["deliveries"][0]["error"]["code"], "revoked_on_platform",
            "{stopped:#}"
        );
        let p = app
            .profiles()
            .await
            .into_iter()
            .find(|p| p["id"] == profile.as_str())
            .unwrap();
        assert_eq!(
            (p["status"].as_str(), p["reason"].as_str()),
            (Some("needs_reconnect"), Some("revoked_on_platform"))
        );
        let (s, page) = app.connect_facebook(&[]).await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            page.contains("Connected: Sandbox Bakery"),
            "the Page chosen before is reconnected at once: {page}"
        );
        app.wait_for(id, |d| d["status"] == "published").await;
        assert_eq!(app.profiles().await.len(), 1, "no twin");
    });
}

#[tokio::test]
async fn a_new_login_without_a_chosen_page_marks_its_profiles_as_needing_the_person() {
    on_both_backends!(Mode::Standalone, |app| {
        app.signup("page-unticked@example.com").await;
        let connection = login(&app).await;
        let (s, _) = choose(&app, &connection, &[BAKERY, LINKED, BOOKS]).await;
        assert_eq!(s, StatusCode::CREATED);
        // Log in again, leaving the bakery's Page (and so its Instagram account) out.
        let (s, page) = app.connect_facebook(&["100000000000001"]).await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            page.contains("did not include")
                && page.contains("Sandbox Bakery")
                && page.contains("sandbox_brand"),
            "{page}"
        );
        let status = |platform: &str, handle: &str, profiles: &[Value]| {
            let p = profiles
                .iter()
                .find(|p| p["platform"] == platform && p["handle"] == handle)
                .unwrap();
            (
                p["status"].as_str().unwrap().to_owned(),
                p["reason"].as_str().map(str::to_owned),
            )
        };
        let profiles = app.profiles().await;
        assert_eq!(
            status("facebook", "Sandbox Books", &profiles),
            ("connected".into(), None)
        );
        assert_eq!(
            status("facebook", "Sandbox Bakery", &profiles),
            ("needs_reconnect".into(), Some("revoked_on_platform".into()))
        );
        assert_eq!(
            status("instagram", "sandbox_brand", &profiles),
            ("needs_reconnect".into(), Some("revoked_on_platform".into()))
        );
    });
}
