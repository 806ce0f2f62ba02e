//! Two-factor sign-in end to end, on both databases: enrolling through the API (the code computed
//! from the key as an authenticator app would), signing in with a code that works once and a
//! recovery code that works once, wrong codes throttled like wrong passwords, sensitive changes
//! refused eleven minutes after the session last proved who it is until it does again, enrolment
//! forced for an owner where Herald is served over https, and the pages in a real browser.

use herald_store::Backend;
use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::harness::{Mode, TestApp, accept_invitation, backends, client, herald_now, invite, page_text};
use crate::on_both_backends;
use crate::web::sign_up;

const EMAIL: &str = "two@example.com";
const PASSWORD: &str = "correct horse battery";

/// The code an authenticator app holding the base32 `key` shows now, by Herald's clock.
fn code_now(app: &TestApp, key: &str) -> String {
    herald_server::totp_code(key, herald_now(app).as_second()).expect("a base32 key")
}

/// A fresh browser signing in as [`EMAIL`] through the API, with `extra` fields beside the
/// password (`code`, `recovery_code`): the answer, and the browser.
async fn login(app: &TestApp, extra: Value) -> (StatusCode, Value, reqwest::Client) {
    let browser = client();
    let mut body = json!({"email": EMAIL, "password": PASSWORD});
    for (k, v) in extra.as_object().into_iter().flatten() {
        body[k] = v.clone();
    }
    let r = browser
        .post(app.url("api/v1/auth/login"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null), browser)
}

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

/// Turns on two-factor sign-in for the app's client through the API; returns the key and the
/// recovery codes.
async fn enrol(app: &TestApp) -> (String, Vec<String>) {
    let (s, begun) = app.post(app.url("api/v1/auth/two-factor"), json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{begun}");
    let key = begun["secret"].as_str().unwrap().to_owned();
    assert!(
        begun["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with(&format!("otpauth://totp/Herald:two%40example.com?secret={key}&")),
        "{begun}"
    );
    assert!(begun["qr_svg"].as_str().unwrap().starts_with("<svg"), "{begun}");
    let (s, e) = app
        .post(
            app.url("api/v1/auth/two-factor/confirm"),
            json!({"code": "not a code"}),
        )
        .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_code"))
    );
    let (s, done) = app
        .post(
            app.url("api/v1/auth/two-factor/confirm"),
            json!({"code": code_now(app, &key)}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{done}");
    let codes: Vec<String> = done["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (key, codes)
}

/// How many entries of `action` the instance's audit chain holds.
async fn audited(app: &TestApp, action: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM audit_entries WHERE action = '{action}'"
    ))
    .await
}

#[tokio::test]
async fn signing_in_asks_for_the_second_factor_and_each_code_works_once() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup(EMAIL).await;
        let (s, status) = app.get(app.url("api/v1/auth/two-factor")).await;
        assert_eq!(s, StatusCode::OK, "{status}");
        assert_eq!(
            (status["enrolled"].as_bool(), status["required"].as_bool()),
            (Some(false), Some(false)),
            "offered, not required, over http: {status}"
        );
        let (key, codes) = enrol(&app).await;
        assert_eq!(codes.len(), 10);
        let (_, status) = app.get(app.url("api/v1/auth/two-factor")).await;
        assert_eq!(
            (
                status["enrolled"].as_bool(),
                status["recovery_codes_left"].as_i64()
            ),
            (Some(true), Some(10))
        );
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) FROM recovery_codes WHERE code_hash = '{}'",
                codes[0]
            ))
            .await,
            0,
            "recovery codes are stored hashed"
        );
        assert_eq!(audited(&app, "auth.second_factor.enrolled").await, 1);

        // The password alone starts no session, and is not counted as a failure.
        let (s, e, browser) = login(&app, json!({})).await;
        assert_eq!(
            (s, code(&e)),
            (StatusCode::UNAUTHORIZED, Some("second_factor_required"))
        );
        let r = browser.get(app.url("api/v1/me")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(audited(&app, "auth.signin_failed").await, 0);

        // The code that confirmed the key is spent; the next one signs in, once.
        let (s, e, _) = login(&app, json!({"code": code_now(&app, &key)})).await;
        assert_eq!(
            (s, code(&e)),
            (StatusCode::UNAUTHORIZED, Some("invalid_second_factor"))
        );
        app.settings.clock.advance(SignedDuration::from_secs(30));
        let fresh = code_now(&app, &key);
        let (s, body, browser) = login(&app, json!({"code": fresh})).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let r = browser.get(app.url("api/v1/me")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let (s, e, _) = login(&app, json!({"code": fresh})).await;
        assert_eq!(
            (s, code(&e)),
            (StatusCode::UNAUTHORIZED, Some("invalid_second_factor")),
            "a code is never used twice"
        );

        // A recovery code, as typed by a person (any case, no dash), works once.
        let typed = codes[3].to_lowercase().replace('-', "");
        let (s, e, _) = login(&app, json!({"recovery_code": "AAAAA-BBBBB"})).await;
        assert_eq!(
            (s, code(&e)),
            (StatusCode::UNAUTHORIZED, Some("invalid_second_factor"))
        );
        let (s, body, _) = login(&app, json!({"recovery_code": typed})).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let (s, e, _) = login(&app, json!({"recovery_code": codes[3]})).await;
        assert_eq!(
            (s, code(&e)),
            (StatusCode::UNAUTHORIZED, Some("invalid_second_factor"))
        );
        let (_, status) = app.get(app.url("api/v1/auth/two-factor")).await;
        assert_eq!(status["recovery_codes_left"].as_i64(), Some(9));
        assert_eq!(audited(&app, "auth.recovery_code.used").await, 1);
        assert!(audited(&app, "auth.second_factor_failed").await >= 4);

        // Wrong codes are throttled as wrong passwords are.
        let now = code_now(&app, &key);
        let wrong = if now == "000000" { "111111" } else { "000000" };
        let mut throttled = false;
        for _ in 0..10 {
            let (s, _, _) = login(&app, json!({"code": wrong})).await;
            if s == StatusCode::TOO_MANY_REQUESTS {
                throttled = true;
                break;
            }
            assert_eq!(s, StatusCode::UNAUTHORIZED);
        }
        assert!(throttled, "wrong codes were never throttled");
    });
}

#[tokio::test]
async fn wrong_codes_from_many_addresses_lock_the_accounts_codes_but_not_its_recovery_codes() {
    on_both_backends!(Mode::Builtin, |app| {
        app.restart_with(|s| {
            s.trusted_proxies = herald_server::TrustedProxies::parse("127.0.0.1, ::1").unwrap()
        })
        .await;
        app.signup(EMAIL).await;
        let (key, codes) = enrol(&app).await;
        app.settings.clock.advance(SignedDuration::from_secs(30));
        // Ten wrong codes, each from an address that never failed before.
        for n in 0..10 {
            let r = client()
                .post(app.url("api/v1/auth/login"))
                .header("x-forwarded-for", format!("203.0.113.{n}"))
                .json(&json!({"email": EMAIL, "password": PASSWORD, "code": "000000"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "guess {n}");
        }
        // The right code, from yet another address, is refused for the account for a while.
        let r = client()
            .post(app.url("api/v1/auth/login"))
            .header("x-forwarded-for", "198.51.100.7")
            .json(&json!({"email": EMAIL, "password": PASSWORD, "code": code_now(&app, &key)}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        let e: Value = r.json().await.unwrap();
        assert_eq!(code(&e), Some("second_factor_locked"));
        let r = client()
            .post(app.url("api/v1/auth/login"))
            .header("x-forwarded-for", "198.51.100.8")
            .json(&json!({"email": EMAIL, "password": PASSWORD, "recovery_code": codes[0]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "a recovery code still signs in");
        // After the window, a code works again.
        app.settings.clock.advance(SignedDuration::from_mins(16));
        let r = client()
            .post(app.url("api/v1/auth/login"))
            .header("x-forwarded-for", "198.51.100.9")
            .json(&json!({"email": EMAIL, "password": PASSWORD, "code": code_now(&app, &key)}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    });
}

#[tokio::test]
async fn sensitive_changes_need_the_session_to_have_proved_itself_in_the_last_ten_minutes() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup(EMAIL).await;
        let (s, t) = app.post(app.url("api/v1/tokens"), json!({"name": "fresh"})).await;
        assert_eq!(s, StatusCode::CREATED, "a session that just began: {t}");
        let token = t["token"].as_str().unwrap().to_owned();

        app.settings.clock.advance(SignedDuration::from_mins(11));
        let (s, e) = app.post(app.url("api/v1/tokens"), json!({"name": "late"})).await;
        assert_eq!(
            (s, code(&e)),
            (StatusCode::FORBIDDEN, Some("reauthentication_required"))
        );
        let (s, e) = app
            .post(
                app.url("api/v1/auth/password"),
                json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"}),
            )
            .await;
        assert_eq!(
            (s, code(&e)),
            (StatusCode::FORBIDDEN, Some("reauthentication_required"))
        );
        let (s, e) = app.post(app.url("api/v1/auth/two-factor"), json!({})).await;
        assert_eq!(
            (s, code(&e)),
            (StatusCode::FORBIDDEN, Some("reauthentication_required"))
        );
        // The page's form goes to prove it, and comes back.
        let r = app
            .client
            .post(app.url("settings/tokens"))
            .form(&[("name", "from the page"), ("days", "30")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], "/reauth?next=%2Fsettings");

        let reauth = |body: Value| app.post(app.url("api/v1/auth/reauthenticate"), body);
        let (s, e) = reauth(json!({"password": "not my password"})).await;
        assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, Some("wrong_password")));
        let (s, body) = reauth(json!({"password": PASSWORD})).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let (s, t) = app.post(app.url("api/v1/tokens"), json!({"name": "late"})).await;
        assert_eq!(s, StatusCode::CREATED, "{t}");

        // With a second factor, proving it takes the factor too; then it can be turned off.
        let (key, _) = enrol(&app).await;
        app.settings.clock.advance(SignedDuration::from_mins(11));
        let (s, e) = app.delete(app.url("api/v1/auth/two-factor")).await;
        assert_eq!(
            (s, code(&e)),
            (StatusCode::FORBIDDEN, Some("reauthentication_required"))
        );
        let (s, e) = reauth(json!({"password": PASSWORD})).await;
        assert_eq!(
            (s, code(&e)),
            (StatusCode::UNAUTHORIZED, Some("second_factor_required"))
        );
        let (s, body) = reauth(json!({"password": PASSWORD, "code": code_now(&app, &key)})).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let (s, body) = app.delete(app.url("api/v1/auth/two-factor")).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
        let (_, status) = app.get(app.url("api/v1/auth/two-factor")).await;
        assert_eq!(status["enrolled"].as_bool(), Some(false));
        assert_eq!(audited(&app, "auth.second_factor.disabled").await, 1);
        let (s, _, _) = login(&app, json!({})).await;
        assert_eq!(s, StatusCode::OK, "the password alone again");

        // An API token is no session: it changes no password and proves nothing.
        let bearer = reqwest::Client::new();
        let r = bearer
            .post(app.url("api/v1/auth/password"))
            .bearer_auth(&token)
            .json(&json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let e: Value = r.json().await.unwrap();
        assert_eq!(code(&e), Some("token_not_allowed"));
    });
}

#[tokio::test]
async fn over_https_an_owner_is_led_to_enrol_before_anything_else() {
    for backend in backends().await {
        let mut app = TestApp::spawn(backend, Mode::Builtin).await;
        app.signup(EMAIL).await;
        app.restart_with(|s| s.public_url = url::Url::parse("https://herald.example/").unwrap())
            .await;
        app.sign_in(EMAIL).await;
        let (s, e) = app.get(app.url("api/v1/me")).await;
        assert_eq!(
            (s, code(&e)),
            (StatusCode::FORBIDDEN, Some("second_factor_enrolment_required"))
        );
        // Pages, whatever they need, lead to the enrolment page, which says why.
        for page in ["", "settings", "profiles", "members"] {
            let r = app
                .client
                .get(app.url(page))
                .header("accept", "text/html")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::SEE_OTHER, "/{page}");
            assert_eq!(r.headers()["location"], "/settings/two-factor", "/{page}");
        }
        let page = page_text(&app.client, app.url("settings/two-factor")).await;
        assert!(page.contains("id=\"required\""), "{page}");
        let (_, status) = app.get(app.url("api/v1/auth/two-factor")).await;
        assert_eq!(status["required"].as_bool(), Some(true), "{status}");

        enrol(&app).await;
        let (s, me) = app.get(app.url("api/v1/me")).await;
        assert_eq!(s, StatusCode::OK, "{me}");
        let r = app.client.get(app.url("settings")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        app.stop().await;
    }
}

#[tokio::test]
async fn a_workspace_that_requires_it_leads_every_member_to_enrol_even_over_http() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup(EMAIL).await;
        let editor = client();
        app.signup_in(&editor, "editor@example.com").await;
        let secret = invite(&app, &app.client, &app.ws, "editor@example.com", "editor").await;
        accept_invitation(&app, &editor, &secret).await;
        let r = editor.get(app.url("api/v1/me")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "over http, an editor is not asked");
        let r = editor
            .post(app.url("api/v1/tokens"))
            .json(&json!({"name": "editor's script", "workspace_id": app.ws}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let token = r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        // The owner's own token cannot change the requirement: that takes a browser session.
        let r = app
            .client
            .post(app.url("api/v1/tokens"))
            .json(&json!({"name": "owner's"}))
            .send()
            .await
            .unwrap();
        let owners = r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = reqwest::Client::new()
            .patch(app.ws_url("settings"))
            .bearer_auth(&owners)
            .json(&json!({"require_two_factor": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);

        let r = app
            .client
            .patch(app.ws_url("settings"))
            .json(&json!({"require_two_factor": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["require_two_factor"], json!(true), "{body}");
        let r = editor.get(app.url("api/v1/me")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let e: Value = r.json().await.unwrap();
        assert_eq!(code(&e), Some("second_factor_enrolment_required"));
        // Their token made before is held back the same way.
        let r = reqwest::Client::new()
            .get(app.ws_url("posts"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = editor
            .get(app.url("calendar"))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["location"], "/settings/two-factor");
        assert_eq!(audited(&app, "settings.changed").await, 1);
    });
}

#[tokio::test]
async fn a_person_turns_on_two_factor_sign_in_on_the_page_and_signs_in_with_a_code() {
    let Some(b) = Browser::start("a_person_turns_on_two_factor_sign_in_on_the_page").await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite, Mode::Builtin).await;
    sign_up(&b, &app, "browser@example.com").await;
    b.goto(app.url("settings").as_str()).await;
    b.click("#two-factor-link").await;
    b.text_with("#status", "off").await;
    b.click("#begin").await;
    // The key as a person would type it into their app (in groups of four).
    let key = b.text_with("#manual-key", " ").await;
    assert!(b.has("#qr svg").await, "the QR code is drawn on the page");
    let code = herald_server::totp_code(&key, herald_now(&app).as_second()).unwrap();
    b.fill("#code", &code).await;
    b.click("#confirm").await;
    let codes = b.text_with("#recovery-codes", "-").await;
    assert_eq!(codes.lines().count(), 10, "{codes}");
    b.text_with("#notice", "Two-factor sign-in is on").await;
    b.shoot("two-factor-recovery-codes").await;
    b.click("form[action='/logout'] button").await;
    // Signed out before going on: a navigation started now would race the sign-out's.
    b.text_with("h1", "Sign in to Herald").await;

    // Signing in: the password, then the code (the next one: the one that confirmed is spent).
    app.settings.clock.advance(SignedDuration::from_secs(30));
    b.goto(app.url("login").as_str()).await;
    b.fill("#email", "browser@example.com").await;
    b.fill("#password", "a long and quiet harbour").await;
    b.click("button[type=submit]").await;
    b.text_with("h1", "Enter your code").await;
    let code = herald_server::totp_code(&key, herald_now(&app).as_second()).unwrap();
    b.fill("#code", &code).await;
    b.click("#verify").await;
    b.text_with(".who", "browser@example.com").await;
    let errors = b.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    b.quit().await;
    app.stop().await;
}
