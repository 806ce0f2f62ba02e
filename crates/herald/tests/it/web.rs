//! The web app in a real browser: a newcomer opens Herald, creates an account (a refused password
//! is said beside its field, the email kept), lands on the dashboard's empty state, signs out; and
//! the same pages without a browser (CSP on every page, one account per email).

use herald_store::Backend;
use reqwest::StatusCode;

use crate::browser::Browser;
use crate::harness::{Mode, TestApp, client};

#[tokio::test]
async fn a_newcomer_signs_up_in_the_browser_sees_the_empty_dashboard_and_signs_out() {
    let Some(b) = Browser::start("a_newcomer_signs_up_in_the_browser").await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite, Mode::Builtin).await;
    b.goto(app.url("").as_str()).await;
    assert_eq!(b.text("h1").await, "Sign in to Herald");
    b.shoot("signin").await;
    b.click("#to-signup").await;
    b.fill("#email", "newcomer@example.com").await;
    b.fill("#password", "short").await;
    b.click("button[type=submit]").await;
    let said = b.text("#password-error").await;
    // The refused form answers 422, which Chromium logs; the pages after it must log nothing.
    b.console_errors().await;
    assert!(said.contains("at least 12 characters"), "{said}");
    assert_eq!(
        b.value("#email").await,
        "newcomer@example.com",
        "the email is kept"
    );
    b.fill("#password", "a long and quiet harbour").await;
    b.click("button[type=submit]").await;
    assert!(b.text("#no-profiles").await.contains("No profiles yet"));
    assert!(b.has("#no-upcoming").await);
    b.shoot("dashboard-empty").await;
    assert_eq!(b.url().await, app.url("").as_str());
    let errors = b.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    b.click("form[action='/logout'] button").await;
    assert_eq!(b.text("h1").await, "Sign in to Herald");
    b.quit().await;
    app.stop().await;
}

#[tokio::test]
async fn pages_carry_the_csp_and_a_second_account_for_one_email_is_refused_beside_the_field() {
    let app = TestApp::spawn(Backend::Sqlite, Mode::Builtin).await;
    let c = client();
    for path in ["", "signup", "login"] {
        let r = c.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            csp.contains("default-src 'self'") && !csp.contains("unsafe"),
            "{path}: {csp}"
        );
        assert_eq!(r.headers()["cache-control"], "no-store", "{path}");
    }
    let form = [
        ("email", "twice@example.com"),
        ("password", "a long and quiet harbour"),
    ];
    let r = c.post(app.url("signup")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let other = client();
    let r = other.post(app.url("signup")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("id=\"email-error\"") && html.contains("exists; sign in instead"),
        "{html}"
    );
    assert!(html.contains("value=\"twice@example.com\""), "{html}");
    app.stop().await;
}
