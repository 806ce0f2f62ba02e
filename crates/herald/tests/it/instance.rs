//! The instance's first account, on both databases: it administers the instance, a closed
//! instance still lets it in (and nobody after it without an invitation), and an instance whose
//! public URL is not loopback asks it for the setup code printed at start.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Mode, TestApp, backends, client, page_text};

const PASSWORD: &str = "correct horse battery";

/// Signs `email` up with a fresh client, sending `setup_code` when given: (status, body).
async fn sign_up(app: &TestApp, email: &str, setup_code: Option<&str>) -> (StatusCode, Value) {
    let mut body = json!({"email": email, "password": PASSWORD});
    if let Some(code) = setup_code {
        body["setup_code"] = code.into();
    }
    let r = client()
        .post(app.url("api/v1/auth/signup"))
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

fn code(e: &Value) -> Option<&str> {
    e["error"]["code"].as_str()
}

#[tokio::test]
async fn the_first_account_administers_the_instance_and_a_closed_instance_refuses_the_next() {
    for backend in backends().await {
        let mut app = TestApp::spawn_with(backend, Mode::Builtin, |s| s.signup_open = false).await;
        app.signup("first@example.com").await;
        let (_, me) = app.get(app.url("api/v1/me")).await;
        assert_eq!(me["user"]["instance_admin"], json!(true), "{me}");

        let (s, e) = sign_up(&app, "second@example.com", None).await;
        assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, Some("signup_closed")));

        // Its administrator reads the instance's log; the workspace's owners do not.
        let (s, log) = app.get(app.url("api/v1/instance/audit?action=instance.")).await;
        assert_eq!(s, StatusCode::OK, "{log}");
        assert_eq!(log["data"][0]["action"], "instance.claimed", "{log}");

        app.restart_with(|s| s.signup_open = true).await;
        let (s, body) = sign_up(&app, "second@example.com", None).await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        app.sign_in("second@example.com").await;
        let (_, me) = app.get(app.url("api/v1/me")).await;
        assert_eq!(me["user"]["instance_admin"], json!(false), "{me}");
        let (s, e) = app.get(app.url("api/v1/instance/audit")).await;
        assert_eq!(
            (s, code(&e)),
            (StatusCode::FORBIDDEN, Some("instance_admin_required"))
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_public_instance_asks_its_first_account_for_the_setup_code_and_nobody_after() {
    for backend in backends().await {
        let mut app = TestApp::spawn(backend, Mode::Builtin).await;
        assert!(
            app.app.as_ref().unwrap().setup_code.is_none(),
            "a loopback instance prints none"
        );
        // As `herald serve --public-url …` starts it: sign-up closed but for the first account.
        app.restart_with(|s| {
            s.public_url = "http://herald.example.test/".parse().unwrap();
            s.signup_open = false;
        })
        .await;
        let code_ = app.setup_code();

        let (s, e) = sign_up(&app, "stranger@example.com", None).await;
        assert_eq!(
            (s, code(&e)),
            (StatusCode::FORBIDDEN, Some("setup_code_required"))
        );
        let (s, e) = sign_up(&app, "stranger@example.com", Some("AAAAA-AAAAA-AAAAA-AAAAA")).await;
        assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, Some("setup_code_invalid")));
        let page = page_text(&client(), app.url("signup")).await;
        assert!(page.contains("name=\"setup_code\""), "{page}");

        // Typed in lower case, without its dashes: the same code.
        let typed = code_.replace('-', "").to_lowercase();
        let (s, body) = sign_up(&app, "admin@example.com", Some(&typed)).await;
        assert_eq!(s, StatusCode::CREATED, "{body}");

        // The code served once: sign-up is closed now, and the page no longer asks for it.
        let (s, e) = sign_up(&app, "late@example.com", Some(&code_)).await;
        assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, Some("signup_closed")));
        let page = page_text(&client(), app.url("signup")).await;
        assert!(!page.contains("name=\"setup_code\""), "{page}");

        app.restart_with(|s| s.public_url = "http://herald.example.test/".parse().unwrap())
            .await;
        assert!(
            app.app.as_ref().unwrap().setup_code.is_none(),
            "a claimed instance prints no setup code"
        );
        app.stop().await;
    }
}
