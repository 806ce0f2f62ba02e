//! Least privilege: another workspace's profiles, media, posts, and another user's tokens and
//! sessions are 404, never 403, never shown.

use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{Mode, client, page_text};
use crate::on_both_backends;

#[tokio::test]
async fn a_second_user_cannot_read_change_or_schedule_on_the_first_users_objects() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup("owner@example.com").await;
        app.connect(&[]).await;
        let profile = app.profiles().await[0]["id"].as_str().unwrap().to_owned();
        let (_, media) = app.upload("square-1080.jpg").await;
        let media = media["id"].as_str().unwrap().to_owned();
        let at = (Timestamp::now() + SignedDuration::from_hours(1)).to_string();
        let (_, post) = app.schedule(json!({"text": "mine", "media_ids": [media], "targets": [{"profile_id": profile}], "scheduled_at": at})).await;
        let delivery = post["deliveries"][0]["id"].as_str().unwrap().to_owned();
        let post = post["id"].as_str().unwrap().to_owned();
        let (_, token) = app.post(app.url("api/v1/tokens"), json!({"name": "owner"})).await;
        let owner_ws = app.ws.clone();

        // The owner's own profile lists live choices only for a list one of its options names.
        let (s, none) = app
            .get(app.ws_url(&format!("profiles/{profile}/choices/boards")))
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{none}");
        assert!(
            none["error"]["message"]
                .as_str()
                .unwrap()
                .contains("no option whose choices are `boards`"),
            "{none}"
        );
        let intruder = client();
        let own_ws = app.signup_in(&intruder, "intruder@example.com").await;
        for ws in [&owner_ws, &own_ws] {
            let base = format!("api/v1/workspaces/{ws}");
            for path in [
                format!("{base}/profiles/{profile}"),
                format!("{base}/profiles/{profile}/choices/boards"),
                format!("{base}/media/{media}"),
                format!("{base}/posts/{post}"),
            ] {
                let r = intruder.get(app.url(&path)).send().await.unwrap();
                assert_eq!(r.status(), StatusCode::NOT_FOUND, "GET {path}");
                let body = r.text().await.unwrap();
                assert!(
                    !body.contains("mine") && !body.contains("sandbox_creator"),
                    "{body}"
                );
            }
            let r = intruder
                .patch(app.url(&format!("{base}/posts/{post}")))
                .json(&json!({"text": "hijacked"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::NOT_FOUND);
            for action in [
                "cancel",
                &format!("deliveries/{delivery}/publish-now"),
                &format!("deliveries/{delivery}/dismiss"),
            ] {
                let r = intruder
                    .post(app.url(&format!("{base}/posts/{post}/{action}")))
                    .json(&json!({}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::NOT_FOUND, "{action}");
            }
            let r = intruder
                .post(app.url(&format!("{base}/posts/{post}/deliveries/{delivery}/choose")))
                .json(&json!({"platform_post_id": "1"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::NOT_FOUND);
            let r = intruder
                .delete(app.url(&format!("{base}/profiles/{profile}")))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::NOT_FOUND);
            for method in [reqwest::Method::POST, reqwest::Method::DELETE] {
                let r = intruder
                    .request(
                        method.clone(),
                        app.url(&format!("{base}/profiles/{profile}/conversations")),
                    )
                    .json(&json!({}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::NOT_FOUND, "{method} conversations");
            }
            let r = intruder
                .post(app.url(&format!("{base}/posts")))
                .json(&json!({"text": "x", "media_ids": [media], "targets": [{"profile_id": profile}], "scheduled_at": at}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::NOT_FOUND);
        }
        let r = intruder
            .patch(app.url(&format!("api/v1/workspaces/{owner_ws}/settings")))
            .json(&json!({"catch_up_minutes": 0}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "another workspace's settings");
        for path in [
            format!("api/v1/workspaces/{owner_ws}/notifications"),
            format!("api/v1/workspaces/{owner_ws}/settings"),
        ] {
            let r = intruder.get(app.url(&path)).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        }
        // Another workspace's notification, through the intruder's own workspace.
        app.app
            .as_ref()
            .unwrap()
            .store
            .notify(herald_store::NewNotification {
                workspace: owner_ws.parse().unwrap(),
                kind: "delivery_failed",
                subject: ("post", post.clone()),
                link: format!("/api/v1/workspaces/{owner_ws}/posts/{post}"),
                message: "mine",
                dedupe_key: "isolation".into(),
            })
            .await
            .unwrap();
        let (_, mine) = app.get(app.ws_url("notifications")).await;
        assert_eq!(mine["data"].as_array().unwrap().len(), 1);
        let note = uuid::Uuid::now_v7();
        for id in mine["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_str().unwrap().to_owned())
            .chain([note.to_string()])
        {
            let r = intruder
                .post(app.url(&format!("api/v1/workspaces/{own_ws}/notifications/{id}/read")))
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "notification {id}");
        }
        let r = intruder
            .post(app.url(&format!("api/v1/workspaces/{owner_ws}/connections")))
            .json(&json!({"platform": "instagram"}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::NOT_FOUND,
            "no connecting profiles into another workspace"
        );
        for path in ["profiles", "media", "posts"] {
            let r = intruder
                .get(app.url(&format!("api/v1/workspaces/{own_ws}/{path}")))
                .send()
                .await
                .unwrap();
            let body: serde_json::Value = r.json().await.unwrap();
            assert!(body["data"].as_array().unwrap().is_empty(), "{path}: {body}");
        }
        let r = intruder
            .delete(app.url(&format!("api/v1/tokens/{}", token["id"].as_str().unwrap())))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        // Sessions too: the owner's is neither listed to the intruder nor theirs to end.
        let (_, sessions) = app.get(app.url("api/v1/sessions")).await;
        let owner_session = sessions["data"][0]["id"].as_str().unwrap().to_owned();
        let listed = page_text(&intruder, app.url("api/v1/sessions")).await;
        assert!(!listed.contains(&owner_session), "{listed}");
        let r = intruder
            .delete(app.url(&format!("api/v1/sessions/{owner_session}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(app.get(app.url("api/v1/me")).await.0, StatusCode::OK);
        let (_, p) = app.get(app.ws_url(&format!("posts/{post}"))).await;
        assert_eq!(
            (p["text"].as_str(), p["deliveries"][0]["status"].as_str()),
            (Some("mine"), Some("scheduled"))
        );
        assert_eq!(app.profiles().await[0]["status"], "connected");
    });
}

#[tokio::test]
async fn another_workspace_cannot_list_or_choose_the_accounts_of_a_facebook_connection() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup("pages-owner@example.com").await;
        let (s, page) = app.connect_facebook(&[]).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        let (_, list) = app.get(app.ws_url("connections")).await;
        let connection = list["data"][0]["id"].as_str().unwrap().to_owned();
        let owner_ws = app.ws.clone();
        let intruder = client();
        let own_ws = app.signup_in(&intruder, "pages-intruder@example.com").await;
        for ws in [&owner_ws, &own_ws] {
            let path = format!("api/v1/workspaces/{ws}/connections/{connection}/accounts");
            let r = intruder.get(app.url(&path)).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "GET {path}");
            let r = intruder
                .post(app.url(&path))
                .json(&json!({"accounts": ["facebook:100000000000001"]}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "POST {path}");
            let path = format!("api/v1/workspaces/{ws}/connections/{connection}");
            let r = intruder.delete(app.url(&path)).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "DELETE {path}");
        }
        // The page that chooses a connection's accounts answers the intruder as the API does.
        let page = format!("connections/{connection}/choose");
        let r = intruder.get(app.url(&page)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "GET {page}");
        let r = intruder
            .post(app.url(&page))
            .form(&[("account:facebook:100000000000001", "yes")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "POST {page}");
        let r = intruder
            .get(app.url(&format!("api/v1/workspaces/{own_ws}/connections")))
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(body["data"].as_array().unwrap().is_empty(), "{body}");
        assert!(
            app.profiles().await.is_empty(),
            "nothing was chosen into the owner's workspace"
        );
    });
}
