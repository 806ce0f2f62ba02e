//! Bad input gets a clear 4xx and changes nothing.

use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{Mode, TestApp, backends, client};
use crate::on_both_backends;

async fn post_count(app: &TestApp) -> usize {
    app.get(app.ws_url("posts")).await.1["data"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn malformed_json_unknown_fields_and_unknown_platforms_are_refused_clearly() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup("json@example.com").await;
        let raw = |body: &'static str| {
            app.client
                .post(app.ws_url("posts"))
                .header("content-type", "application/json")
                .body(body)
                .send()
        };
        let r = raw("{\"text\": ").await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let e: serde_json::Value = r.json().await.unwrap();
        assert_eq!(e["error"]["code"], "invalid_request");
        assert!(
            e["error"]["message"].as_str().unwrap().contains("malformed JSON"),
            "{e}"
        );
        let r = raw("{\"text\": \"hi\", \"colour\": \"red\", \"targets\": []}")
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let e: serde_json::Value = r.json().await.unwrap();
        assert!(e["error"]["message"].as_str().unwrap().contains("colour"), "{e}");
        let (s, e) = app
            .post(app.ws_url("connections"), json!({"platform": "myspace"}))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e["error"]["code"], "unknown_platform");
        assert!(e["error"]["message"].as_str().unwrap().contains("instagram"));
        assert_eq!(post_count(&app).await, 0);
        assert!(app.profiles().await.is_empty());
    });
}

#[tokio::test]
async fn past_times_dst_gaps_missing_media_and_broken_instagram_rules_are_refused() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup("rules@example.com").await;
        app.connect(&[]).await;
        let profile = app.profiles().await[0]["id"].clone();
        let (_, jpeg) = app.upload("square-1080.jpg").await;
        let (_, png) = app.upload("square-1080.png").await;
        let (_, wide) = app.upload("too-wide-1920x600.jpg").await;
        let future = (Timestamp::now() + SignedDuration::from_hours(1)).to_string();
        let post = |text: String, media: serde_json::Value, at: &str, tz: Option<&str>| json!({"text": text, "media_ids": media, "targets": [{"profile_id": profile}], "scheduled_at": at, "time_zone": tz});
        let past = (Timestamp::now() - SignedDuration::from_mins(5)).to_string();
        let (s, e) = app
            .schedule(post("x".into(), json!([jpeg["id"]]), &past, None))
            .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("scheduled_in_past"))
        );
        let (s, e) = app
            .schedule(post(
                "x".into(),
                json!([jpeg["id"]]),
                "2027-03-14T02:30:00",
                Some("America/New_York"),
            ))
            .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_time"))
        );
        assert_eq!(
            e["error"]["candidates"],
            json!(["2027-03-14T06:30:00Z", "2027-03-14T07:30:00Z"])
        );
        let missing = uuid::Uuid::now_v7().to_string();
        let (s, e) = app
            .schedule(post("x".into(), json!([missing]), &future, None))
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert!(e["error"]["message"].as_str().unwrap().contains(&missing));
        for (text, media, rule) in [
            ("text only".to_owned(), json!([]), "media.required"),
            ("png".to_owned(), json!([png["id"]]), "media.type"),
            ("wide".to_owned(), json!([wide["id"]]), "media.aspect_ratio"),
            ("a".repeat(2201), json!([jpeg["id"]]), "caption.too_long"),
        ] {
            let (s, e) = app.schedule(post(text, media, &future, None)).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
            let rules: Vec<&str> = e["error"]["violations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["rule"].as_str().unwrap())
                .collect();
            assert_eq!(rules, [rule]);
            assert!(
                e["error"]["violations"][0]["message"]
                    .as_str()
                    .unwrap()
                    .contains("Instagram")
            );
        }
        assert_eq!(post_count(&app).await, 0);
        let (s, v) = app
            .post(
                app.ws_url("posts/validate"),
                post("fine".into(), json!([jpeg["id"]]), &future, None),
            )
            .await;
        assert_eq!((s, v["valid"].as_bool()), (StatusCode::OK, Some(true)));
    });
}

#[tokio::test]
async fn files_that_are_not_media_or_over_the_cap_are_refused_and_leave_nothing_behind() {
    for backend in backends().await {
        let mut app = TestApp::spawn_with(backend, Mode::Builtin, |s| s.max_upload_bytes = 100_000).await;
        app.signup("upload@example.com").await;
        let (s, e) = app.upload("not-media.jpg").await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media"))
        );
        let (s, e) = app.upload("square-1080.jpg").await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large"))
        );
        let (_, list) = app.get(app.ws_url("media")).await;
        assert!(list["data"].as_array().unwrap().is_empty());
        let dir = app.settings.data_dir.join("media").join(&app.ws);
        let left = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
        assert_eq!(left, 0, "no partial files in {}", dir.display());
        app.stop().await;
    }
}

#[tokio::test]
async fn callbacks_with_a_wrong_reused_or_expired_state_a_denial_or_another_session_connect_nothing() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup("oauth@example.com").await;
        let (s, page) = app
            .callback(app.url("oauth/instagram/callback?code=abc&state=forged").as_str())
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(page.contains("unknown or was already used"), "{page}");

        let denied = app.consent(&[], "deny").await;
        assert!(denied.contains("error=access_denied"));
        let (s, page) = app.callback(&denied).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(
            page.contains("Access not granted") && page.contains("Nothing was connected"),
            "{page}"
        );

        let elsewhere = app.consent(&[], "allow").await;
        let r = client().get(&elsewhere).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(r.text().await.unwrap().contains("another browser session"));

        let late = app.consent(&[], "allow").await;
        app.app
            .as_ref()
            .unwrap()
            .store
            .clock()
            .advance(SignedDuration::from_mins(11));
        let (s, page) = app.callback(&late).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(page.contains("expired"), "{page}");
        assert!(app.profiles().await.is_empty());

        let good = app.consent(&[], "allow").await;
        assert_eq!(app.callback(&good).await.0, StatusCode::OK);
        let (s, page) = app.callback(&good).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "a state works once");
        assert!(page.contains("already used"));
        assert_eq!(app.profiles().await.len(), 1);
    });
}

#[tokio::test]
async fn requests_without_a_session_or_with_a_cross_site_origin_are_refused() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup("csrf@example.com").await;
        let (s, e) = TestApp::get_with(&client(), app.url("api/v1/me")).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
        );
        let r = app
            .client
            .post(app.ws_url("connections"))
            .header("sec-fetch-site", "cross-site")
            .json(&json!({"platform": "instagram"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let (s, t) = app.post(app.url("api/v1/tokens"), json!({"name": "cli"})).await;
        assert_eq!(s, StatusCode::CREATED);
        let token = t["token"].as_str().unwrap();
        let me_with_token = || client().get(app.url("api/v1/me")).bearer_auth(token).send();
        assert_eq!(me_with_token().await.unwrap().status(), StatusCode::OK);
        let (_, list) = app.get(app.url("api/v1/tokens")).await;
        assert!(
            list["data"][0].get("token").is_none(),
            "a token is shown only once"
        );
        let r = app
            .client
            .delete(app.url(&format!("api/v1/tokens/{}", t["id"].as_str().unwrap())))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        assert_eq!(me_with_token().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    });
}
