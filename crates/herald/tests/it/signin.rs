//! Sign-in protection: guessing is throttled per account and address, exactly alike for unknown
//! accounts, never locking the owner out; a forwarded address counts only from a trusted proxy;
//! sign-ups are throttled per address and passwords say why they are refused.

use herald_server::TrustedProxies;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Mode, TestApp, backends};

const OWNER: &str = "owner@example.com";
const PASSWORD: &str = "correct horse battery";

/// What a client sees of a response, less what differs on every response (date, request id).
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    status: StatusCode,
    headers: Vec<(String, String)>,
    body: Value,
}

async fn login(app: &TestApp, email: &str, password: &str, from: Option<&str>) -> Seen {
    let mut r = reqwest::Client::new()
        .post(app.url("api/v1/auth/login"))
        .json(&json!({ "email": email, "password": password }));
    if let Some(addr) = from {
        r = r.header("x-forwarded-for", addr);
    }
    let r = r.send().await.unwrap();
    let mut headers: Vec<(String, String)> = r
        .headers()
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "date" | "x-request-id" | "set-cookie"))
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
        .collect();
    headers.sort();
    Seen {
        status: r.status(),
        headers,
        body: r.json().await.unwrap_or(Value::Null),
    }
}

/// Fifty wrong passwords for `email` from `from`.
async fn guess(app: &TestApp, email: &str, from: &str) -> Vec<Seen> {
    let mut seen = Vec::new();
    for i in 0..50 {
        seen.push(login(app, email, &format!("wrong guess number {i}"), Some(from)).await);
    }
    seen
}

#[tokio::test]
async fn fifty_wrong_passwords_are_throttled_as_for_an_unknown_account_and_the_owner_still_signs_in() {
    for backend in backends().await {
        let mut app = TestApp::spawn_with(backend, Mode::Builtin, |s| {
            s.trusted_proxies = TrustedProxies::parse("127.0.0.1, ::1").unwrap();
        })
        .await;
        app.signup(OWNER).await;
        let known = guess(&app, OWNER, "203.0.113.7").await;
        let unknown = guess(&app, "nobody@example.com", "203.0.113.8").await;
        for seen in [&known, &unknown] {
            assert!(
                seen[..5].iter().all(|s| s.status == StatusCode::UNAUTHORIZED),
                "{seen:#?}"
            );
            let last = seen.last().unwrap();
            assert_eq!(last.status, StatusCode::TOO_MANY_REQUESTS, "{last:#?}");
            assert_eq!(last.body["error"]["code"], "too_many_attempts");
            let retry: u64 = last
                .headers
                .iter()
                .find(|(k, _)| k == "retry-after")
                .map(|(_, v)| v.parse().unwrap())
                .expect("Retry-After");
            assert!(retry >= 1);
        }
        // A known account and an unknown one answer alike, refusal for refusal.
        assert_eq!(known[0], unknown[0], "the first wrong password");
        let throttled = |seen: &[Seen]| {
            seen.iter()
                .find(|s| s.status == StatusCode::TOO_MANY_REQUESTS)
                .map(|s| {
                    (
                        s.body.clone(),
                        s.headers.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
                    )
                })
        };
        assert_eq!(throttled(&known), throttled(&unknown), "the first refusal");
        // Guesses from many addresses, one each, put the account under protection: an address that
        // failed for it waits after every failure, however few it made.
        for i in 0..25 {
            let seen = login(&app, OWNER, "one guess each", Some(&format!("192.0.2.{i}"))).await;
            assert_eq!(seen.status, StatusCode::UNAUTHORIZED, "{seen:#?}");
        }
        let again = login(&app, OWNER, "a second guess", Some("192.0.2.3")).await;
        assert_eq!(again.status, StatusCode::TOO_MANY_REQUESTS, "{again:#?}");
        // The owner, from an address that has not failed, signs in; the guessing address cannot,
        // even with the right password, until its wait is over.
        let owner = login(&app, OWNER, PASSWORD, Some("198.51.100.9")).await;
        assert_eq!(owner.status, StatusCode::OK, "{owner:#?}");
        let attacker = login(&app, OWNER, PASSWORD, Some("203.0.113.7")).await;
        assert_eq!(attacker.status, StatusCode::TOO_MANY_REQUESTS);
        // Once the wait is over (the clock moves instead of the test waiting), it may try again.
        app.app
            .as_ref()
            .unwrap()
            .store
            .clock()
            .advance(jiff::SignedDuration::from_hours(2));
        let later = login(&app, OWNER, PASSWORD, Some("203.0.113.7")).await;
        assert_eq!(later.status, StatusCode::OK, "{later:#?}");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_forwarded_address_from_a_client_that_is_not_a_trusted_proxy_changes_nothing() {
    for backend in backends().await {
        let mut app = TestApp::spawn(backend, Mode::Builtin).await;
        app.signup(OWNER).await;
        let mut last = None;
        for i in 0..6 {
            // Each attempt claims another address; with no trusted proxy, the connection's counts.
            last = Some(login(&app, OWNER, "not the password", Some(&format!("192.0.2.{i}"))).await);
        }
        assert_eq!(last.unwrap().status, StatusCode::TOO_MANY_REQUESTS);
        app.stop().await;
    }
}

#[tokio::test]
async fn passwords_say_why_they_are_refused_and_sign_ups_are_throttled_per_address() {
    for backend in backends().await {
        let app = TestApp::spawn_with(backend, Mode::Builtin, |s| s.signups_per_hour = 2).await;
        let signup = |email: &str, password: String| {
            let url = app.url("api/v1/auth/signup");
            let body = json!({ "email": email, "password": password });
            async move {
                let r = reqwest::Client::new().post(url).json(&body).send().await.unwrap();
                let status = r.status();
                (status, r.json::<Value>().await.unwrap())
            }
        };
        for (password, code) in [
            ("too short".to_owned(), "password_too_short"),
            ("x".repeat(1025), "password_too_long"),
            ("Qwerty123456".to_owned(), "password_too_common"),
            ("the amelia.fox password".to_owned(), "password_contains_email"),
        ] {
            let (s, e) = signup("amelia.fox@example.com", password).await;
            assert_eq!(
                (s, e["error"]["code"].as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
                "{e}"
            );
            assert_eq!(e["error"]["field"], "password");
            assert!(
                e["error"]["message"].as_str().unwrap().len() > 20,
                "says why: {e}"
            );
        }
        let (s, _) = signup("first@example.com", PASSWORD.into()).await;
        assert_eq!(s, StatusCode::CREATED);
        let (s, _) = signup("second@example.com", PASSWORD.into()).await;
        assert_eq!(s, StatusCode::CREATED);
        let (s, e) = signup("third@example.com", PASSWORD.into()).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::TOO_MANY_REQUESTS, Some("too_many_signups"))
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn guesses_sent_all_at_once_are_counted_at_once() {
    for backend in backends().await {
        let mut app = TestApp::spawn(backend, Mode::Builtin).await;
        app.signup(OWNER).await;
        let mut tasks = Vec::new();
        for i in 0..50 {
            let url = app.url("api/v1/auth/login");
            tasks.push(tokio::spawn(async move {
                reqwest::Client::new()
                    .post(url)
                    .json(&json!({"email": OWNER, "password": format!("parallel guess {i}")}))
                    .send()
                    .await
                    .unwrap()
                    .status()
            }));
        }
        let mut checked = 0;
        for t in tasks {
            let status = t.await.unwrap();
            assert!(
                status == StatusCode::UNAUTHORIZED || status == StatusCode::TOO_MANY_REQUESTS,
                "{status}"
            );
            checked += usize::from(status == StatusCode::UNAUTHORIZED);
        }
        assert!(
            checked <= 5,
            "{checked} passwords were checked; 5 are free, the rest wait"
        );
        app.stop().await;
    }
}
