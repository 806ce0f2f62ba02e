//! OAuth binding: a connection started with an API token connects nothing until the user who
//! started it, signed in in the browser that came back from the platform, confirms it on a page
//! naming the account and workspace. Completed in another user's browser, it connects nothing.

use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Mode, TestApp, client, page_text};
use crate::on_both_backends;

/// An API token of the signed-in user of `app` (tokens are made from a session).
async fn token(app: &TestApp) -> String {
    let (s, t) = app
        .post(app.url("api/v1/tokens"), json!({"name": "script"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    t["token"].as_str().unwrap().to_owned()
}

/// Starts connecting `platform` with the API token only (no cookie): the consent URL.
async fn start_with_token(app: &TestApp, token: &str, platform: &str) -> String {
    let r = reqwest::Client::new()
        .post(app.ws_url("connections"))
        .bearer_auth(token)
        .json(&json!({ "platform": platform }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["authorize_url"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A person in `browser` answers the platform's consent page for `authorize_url`, then follows
/// the platform's redirect back to Herald; returns Herald's answer to that redirect.
async fn consent_in(app: &TestApp, browser: &reqwest::Client, authorize_url: &str) -> reqwest::Response {
    let html = page_text(browser, authorize_url).await;
    let form = crate::form::parse(&html, &[]);
    let action = app
        .sandbox_base
        .join(form.action.trim_start_matches('/'))
        .unwrap();
    let r = browser
        .post(action)
        .form(&form.submit("allow"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let back = r.headers()["location"].to_str().unwrap().to_owned();
    browser.get(back).send().await.unwrap()
}

/// Confirms the pending connection at `pending` in `browser`.
async fn answer(app: &TestApp, browser: &reqwest::Client, pending: &str) -> reqwest::Response {
    let form = [("decision", "confirm")];
    browser.post(app.url(pending)).form(&form).send().await.unwrap()
}

/// Starts connecting `platform` with `token` and answers the consent in `browser`: the path of
/// the confirmation page Herald sent the browser to.
async fn waiting(app: &TestApp, token: &str, platform: &str, browser: &reqwest::Client) -> String {
    let url = start_with_token(app, token, platform).await;
    let back = consent_in(app, browser, &url).await;
    assert_eq!(back.status(), StatusCode::SEE_OTHER, "to the confirmation page");
    back.headers()["location"].to_str().unwrap().to_owned()
}

async fn profiles_via(app: &TestApp, token: &str) -> Vec<Value> {
    let r = reqwest::Client::new()
        .get(app.ws_url("profiles"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    r.json::<Value>().await.unwrap()["data"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn an_authorize_url_from_a_token_completed_in_another_users_browser_connects_nothing() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup("starter@example.com").await;
        let token = token(&app).await;
        // Someone else, signed in to Herald as themselves, completes it.
        let victim = client();
        let victim_ws = app.signup_in(&victim, "someone@example.com").await;
        let pending = waiting(&app, &token, "instagram", &victim).await;
        assert!(pending.starts_with("/connections/pending/"), "{pending}");
        let page = victim.get(app.url(&pending)).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::FORBIDDEN);
        assert_eq!(page.headers()["cache-control"], "no-store");
        assert_eq!(page.headers()["referrer-policy"], "no-referrer");
        let text = page.text().await.unwrap();
        assert!(
            text.contains("started by another Herald user") && !text.contains("sandbox_creator"),
            "{text}"
        );
        assert!(
            profiles_via(&app, &token).await.is_empty(),
            "nothing in the starter's workspace"
        );
        let (_, theirs) = TestApp::get_with(
            &victim,
            app.url(&format!("api/v1/workspaces/{victim_ws}/profiles")),
        )
        .await;
        assert!(theirs["data"].as_array().unwrap().is_empty(), "nor in theirs");
        // The starter cannot take it over afterwards, from their browser or otherwise.
        let r = app.client.get(app.url(&pending)).send().await.unwrap();
        assert_ne!(r.status(), StatusCode::OK);
        let r = answer(&app, &app.client, &pending).await;
        assert_ne!(r.status(), StatusCode::OK);
        assert!(profiles_via(&app, &token).await.is_empty());
    });
}

#[tokio::test]
async fn the_starter_confirms_in_their_own_browser_after_signing_in_there() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup("script@example.com").await;
        let token = token(&app).await;
        // Signed in already: the page names the account and the workspace.
        let pending = waiting(&app, &token, "instagram", &app.client).await;
        let page = page_text(&app.client, app.url(&pending)).await;
        assert!(
            page.contains("@sandbox_creator on Instagram") && page.contains("script&#39;s workspace"),
            "{page}"
        );
        assert!(
            profiles_via(&app, &token).await.is_empty(),
            "nothing before the confirmation"
        );
        let done = answer(&app, &app.client, &pending).await;
        assert_eq!(done.status(), StatusCode::OK);
        assert!(done.text().await.unwrap().contains("is connected"));
        assert_eq!(profiles_via(&app, &token).await.len(), 1);
        // Not signed in in this browser yet: it signs in on Herald's page and comes back.
        let fresh = client();
        let pending = waiting(&app, &token, "facebook", &fresh).await;
        let page = fresh.get(app.url(&pending)).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::UNAUTHORIZED);
        let html = page.text().await.unwrap();
        assert!(html.contains("id=\"sign-in\""), "{html}");
        let sign_in = |password: &'static str| {
            let form = [
                ("email", "script@example.com"),
                ("password", password),
                ("next", pending.as_str()),
            ];
            fresh.post(app.url("login")).form(&form).send()
        };
        let wrong = sign_in("not it at all").await.unwrap();
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        assert!(
            wrong.text().await.unwrap().contains("id=\"error\""),
            "a sentence beside the form"
        );
        let signed_in = sign_in("correct horse battery").await.unwrap();
        assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
        assert_eq!(signed_in.headers()["location"], pending.as_str());
        let page = page_text(&fresh, app.url(&pending)).await;
        assert!(page.contains("Sam Sandbox on Facebook"), "{page}");
        let done = answer(&app, &fresh, &pending).await;
        assert_eq!(done.status(), StatusCode::OK);
        let (_, grants) = app.get(app.ws_url("connections")).await;
        assert_eq!(grants["data"].as_array().unwrap().len(), 1, "{grants}");
    });
}

#[tokio::test]
async fn an_unconfirmed_connection_expires_and_facebook_revokes_its_token() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup("late@example.com").await;
        let token = token(&app).await;
        let before = app.sandbox.issued_tokens();
        let pending = waiting(&app, &token, "facebook", &app.client).await;
        let user_tokens: Vec<String> = app
            .sandbox
            .issued_tokens()
            .into_iter()
            .filter(|t| !before.contains(t))
            .collect();
        assert!(!user_tokens.is_empty());
        let works = |t: String| {
            let url = app.sandbox_base.join("graph.facebook.com/v24.0/me").unwrap();
            async move {
                reqwest::Client::new()
                    .get(url)
                    .bearer_auth(t)
                    .send()
                    .await
                    .unwrap()
                    .status()
            }
        };
        assert_eq!(works(user_tokens[0].clone()).await, StatusCode::OK);
        // Eleven minutes later (the clock moves; the sweep wakes with it), it is gone.
        app.app
            .as_ref()
            .unwrap()
            .store
            .clock()
            .advance(SignedDuration::from_mins(11));
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        while works(user_tokens[0].clone()).await == StatusCode::OK {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the token was never revoked"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let r = app.client.get(app.url(&pending)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert!(profiles_via(&app, &token).await.is_empty());
    });
}
