//! Starting and running Herald: the keyring guard, login and listing.

use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{Mode, TestApp, backends};
use crate::on_both_backends;

#[tokio::test]
async fn herald_refuses_to_start_when_no_key_in_the_ring_opens_the_stored_data_keys() {
    for backend in backends().await {
        let mut app = TestApp::spawn(backend, Mode::Builtin).await;
        app.signup("keys@example.com").await;
        app.connect(&[]).await;
        let settings = app.settings.clone();
        app.app.take().unwrap().stop().await;
        let keys = settings.data_dir.join("master.keys");
        std::fs::rename(&keys, settings.data_dir.join("lost.keys")).unwrap();
        let err = herald::start(settings.clone())
            .await
            .err()
            .expect("refused")
            .to_string();
        assert!(
            err.contains("refusing to start") && err.contains("missing"),
            "{err}"
        );
        assert!(!keys.exists(), "no new keyring is generated over encrypted data");
        let mut other = settings.clone();
        let other_keys = settings.data_dir.join("other.keys");
        herald_vault::KeySource::File(other_keys.clone())
            .save(&herald_vault::Keyring::generate().unwrap())
            .unwrap();
        other.keys = herald::KeySetting::File(other_keys);
        let err = herald::start(other).await.err().expect("refused").to_string();
        assert!(
            err.contains("refusing to start") && err.contains("no master key"),
            "{err}"
        );
        std::fs::rename(settings.data_dir.join("lost.keys"), &keys).unwrap();
        app.app = Some(
            herald::start(settings)
                .await
                .expect("starts with its keyring back"),
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn login_logout_and_listing_posts_by_status_and_time_in_pages() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup("list@example.com").await;
        let (s, _) = app.post(app.url("api/v1/auth/logout"), json!({})).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        assert_eq!(app.get(app.url("api/v1/me")).await.0, StatusCode::UNAUTHORIZED);
        let (s, e) = app
            .post(
                app.url("api/v1/auth/login"),
                json!({"email": "list@example.com", "password": "wrong password!"}),
            )
            .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_credentials"))
        );
        let (s, _) = app
            .post(
                app.url("api/v1/auth/login"),
                json!({"email": "LIST@example.com", "password": "correct horse battery"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let (_, me) = app.get(app.url("api/v1/me")).await;
        assert_eq!(me["workspaces"][0]["id"], app.ws.as_str());
        assert_eq!(me["workspaces"][0]["role"], "owner");

        app.connect(&[]).await;
        let profile = app.profiles().await[0]["id"].clone();
        let (_, media) = app.upload("square-1080.jpg").await;
        let base =
            Timestamp::from_second(Timestamp::now().as_second()).unwrap() + SignedDuration::from_hours(2);
        let mut ids = Vec::new();
        for i in 0..5 {
            let at = (base + SignedDuration::from_mins(i)).to_string();
            let (s, p) = app.schedule(json!({"text": format!("post {i}"), "media_ids": [media["id"]], "targets": [{"profile_id": profile}], "scheduled_at": at})).await;
            assert_eq!(s, StatusCode::CREATED);
            ids.push(p["id"].as_str().unwrap().to_owned());
        }
        app.post(app.ws_url(&format!("posts/{}/cancel", ids[4])), json!({}))
            .await;
        let (_, page1) = app.get(app.ws_url("posts?status=scheduled&limit=2")).await;
        let page1_ids: Vec<&str> = page1["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap())
            .collect();
        assert_eq!(page1_ids, [ids[0].as_str(), ids[1].as_str()]);
        let cursor = page1["next_cursor"].as_str().unwrap();
        let (_, page2) = app
            .get(app.ws_url(&format!("posts?status=scheduled&limit=2&cursor={cursor}")))
            .await;
        let page2_ids: Vec<&str> = page2["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap())
            .collect();
        assert_eq!(page2_ids, [ids[2].as_str(), ids[3].as_str()]);
        let (_, cancelled) = app.get(app.ws_url("posts?status=cancelled")).await;
        assert_eq!(cancelled["data"].as_array().unwrap().len(), 1);
        let to = url::form_urlencoded::byte_serialize(
            (base + SignedDuration::from_secs(90)).to_string().as_bytes(),
        )
        .collect::<String>();
        let (_, early) = app.get(app.ws_url(&format!("posts?to={to}"))).await;
        assert_eq!(early["data"].as_array().unwrap().len(), 2);
        let (s, e) = app.get(app.ws_url("posts?status=done")).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request"))
        );

        let later = (base + SignedDuration::from_hours(1)).to_string();
        let r = app
            .client
            .patch(app.ws_url(&format!("posts/{}", ids[0])))
            .json(&json!({"text": "edited", "scheduled_at": later}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let p: serde_json::Value = r.json().await.unwrap();
        assert_eq!(
            (p["text"].as_str(), p["deliveries"][0]["due_at"].as_str()),
            (Some("edited"), Some(later.as_str()))
        );
    });
}

#[tokio::test]
async fn videos_are_probed_for_duration_rate_codecs_and_moov_position() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup("video@example.com").await;
        let (s, reel) = app.upload("reel-720x1280-4s.mp4").await;
        assert_eq!(s, StatusCode::CREATED, "{reel}");
        assert_eq!(
            (
                reel["content_type"].as_str(),
                reel["width"].as_i64(),
                reel["height"].as_i64()
            ),
            (Some("video/mp4"), Some(720), Some(1280))
        );
        assert_eq!(reel["video"]["video_codec"], "avc1");
        assert_eq!(reel["video"]["audio_codec"], "mp4a");
        assert_eq!(reel["video"]["moov_first"], true);
        assert!((3900..=4100).contains(&reel["video"]["duration_ms"].as_i64().unwrap()));
        let (_, late) = app.upload("reel-no-faststart-2s.mp4").await;
        assert_eq!(late["video"]["moov_first"], false);
        let mut cut = crate::harness::fixture("reel-no-faststart-2s.mp4");
        cut.truncate(cut.len() / 2);
        let (s, e) = app.upload_bytes("cut.mp4", cut).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media"))
        );
        let (_, list) = app.get(app.ws_url("media")).await;
        assert_eq!(list["data"].as_array().unwrap().len(), 2);
    });
}

#[tokio::test]
async fn an_idempotency_key_returns_the_first_post_and_refuses_a_different_request() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup("idem@example.com").await;
        app.connect(&[]).await;
        let profile = app.profiles().await[0]["id"].clone();
        let (_, media) = app.upload("square-1080.jpg").await;
        let at = (Timestamp::now() + SignedDuration::from_hours(1)).to_string();
        let body = json!({"text": "once", "media_ids": [media["id"]], "targets": [{"profile_id": profile}], "scheduled_at": at});
        let send = |b: &serde_json::Value| {
            app.client
                .post(app.ws_url("posts"))
                .header("idempotency-key", "k-1")
                .json(b)
                .send()
        };
        let first = send(&body).await.unwrap();
        assert_eq!(first.status(), StatusCode::CREATED);
        let first: serde_json::Value = first.json().await.unwrap();
        let again = send(&body).await.unwrap();
        assert_eq!(
            again.status(),
            StatusCode::OK,
            "a retry answers with the first post"
        );
        assert_eq!(
            again.json::<serde_json::Value>().await.unwrap()["id"],
            first["id"]
        );
        let mut changed = body.clone();
        changed["text"] = json!("twice");
        let r = send(&changed).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
            "idempotency_key_reused"
        );
        assert_eq!(
            app.get(app.ws_url("posts")).await.1["data"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    });
}
