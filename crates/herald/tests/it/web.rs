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
    b.text_with("h1", "Sign in to Herald").await;
    b.shoot("signin").await;
    b.click("#to-signup").await;
    b.fill("#email", "newcomer@example.com").await;
    b.fill("#password", "short").await;
    b.click("button[type=submit]").await;
    let said = b.text_with("#password-error", "at least 12").await;
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
    b.text_with("#no-profiles", "No profiles yet").await;
    assert!(b.has("#no-upcoming").await);
    b.shoot("dashboard-empty").await;
    assert_eq!(b.url().await, app.url("").as_str());
    let errors = b.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    b.click("form[action='/logout'] button").await;
    b.text_with("h1", "Sign in to Herald").await;
    b.quit().await;
    app.stop().await;
}

/// Creates an account through the sign-up page; the browser ends on the dashboard.
async fn sign_up(b: &Browser, app: &TestApp, email: &str) {
    b.goto(app.url("signup").as_str()).await;
    b.fill("#email", email).await;
    b.fill("#password", "a long and quiet harbour").await;
    b.click("button[type=submit]").await;
    b.text_with("#no-profiles", "No profiles yet").await;
}

#[tokio::test]
async fn a_newcomer_connects_instagram_through_the_sandbox_with_a_permission_unticked_and_sees_what_it_turns_off()
 {
    let Some(b) = Browser::start("a_newcomer_connects_instagram").await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite, Mode::Builtin).await;
    sign_up(&b, &app, "connector@example.com").await;
    b.click("nav a[href='/profiles']").await;
    b.text_with("#no-profiles", "No profiles yet").await;
    b.click("#connect-instagram").await;
    let review = b
        .text_with("#permissions", "instagram_business_content_publish")
        .await;
    assert!(
        review.contains("instagram_business_content_publish")
            && review.contains("To publish the posts you schedule"),
        "{review}"
    );
    b.shoot("connect-review").await;
    b.click("#continue").await;
    b.text_with("h1", "Allow this app to access your Instagram account?")
        .await;
    b.click("input[value='instagram_business_manage_comments']").await;
    b.click("button[value='allow']").await;
    b.text_with("h1", "Connected").await;
    b.click("#back").await;
    let card = b.text_with(".profile", "Comments is off").await;
    assert!(
        card.contains("Comments is off") && card.contains("instagram_business_manage_comments"),
        "{card}"
    );
    assert!(
        card.contains("sandbox"),
        "a sandbox-backed profile says so: {card}"
    );
    b.shoot("profiles").await;
    // The sandbox's consent page is not Herald's; Herald's own pages log nothing.
    b.console_errors().await;
    b.goto(app.url("profiles").as_str()).await;
    assert!(b.has(".profile").await);
    let errors = b.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    b.quit().await;
    app.stop().await;
}

#[tokio::test]
async fn a_facebook_login_covering_several_accounts_makes_only_the_ticked_page_a_profile() {
    let Some(b) = Browser::start("a_facebook_login_covering_several_accounts").await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite, Mode::Builtin).await;
    sign_up(&b, &app, "pages@example.com").await;
    b.goto(app.url("connect/facebook").as_str()).await;
    b.click("#continue").await;
    b.text_with("button[value='allow']", "Continue").await;
    b.click("button[value='allow']").await;
    b.text_with("#message", "3 more account(s) can be added").await;
    b.click("#back").await;
    b.click("a.choose").await;
    b.text_with("h1", "Choose the accounts").await;
    b.click("button#make-profiles").await;
    b.text_with("#error", "Tick at least one account").await;
    b.click("input[name^='account:facebook:']").await;
    b.shoot("choose-accounts").await;
    b.click("button#make-profiles").await;
    let card = b.text_with(".profile", "on Facebook Pages").await;
    assert!(card.contains("connected"), "{card}");
    assert!(
        !b.has("li.profile ~ li.profile").await,
        "only the ticked Page became a profile"
    );
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
