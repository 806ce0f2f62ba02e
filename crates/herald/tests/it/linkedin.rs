//! LinkedIn end to end through the sandbox: a member who administers two Pages (and is only an
//! analyst of a third) chooses which become profiles, reconnecting makes no twins; text in the
//! little format (shown as written), an article, images, several images and a video; comments on
//! a Page's post answered as the Page; share statistics; the length limit; a lost answer leaving
//! one post; a daily limit waited out until midnight UTC; and a partner app's tokens renewed with
//! its refresh token until the year from the consent ends.

use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Mode, TestApp, advance_both, herald_now};
use crate::on_both_backends;

/// A one-page PDF, about as small as a valid one gets.
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

const MEMBER: &str = "linkedin:urn:li:person:sbx4Lk9Qw2";
const COFFEE: &str = "linkedin:urn:li:organization:90210001";
const LABS: &str = "linkedin:urn:li:organization:90210002";

fn at(app: &TestApp, s: i64) -> String {
    (herald_now(app) + SignedDuration::from_secs(s)).to_string()
}

/// Signs in with LinkedIn through the sandbox's consent page; returns the connection's id.
async fn login(app: &TestApp) -> String {
    let location = app.consent_on("linkedin", &[], "allow").await;
    let (s, page) = app.callback(&location).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("Sandra Box"), "{page}");
    let (_, list) = app.get(app.ws_url("connections")).await;
    list["data"][0]["id"].as_str().unwrap().to_owned()
}

/// Makes `accounts` profiles; returns their ids in the same order.
async fn choose(app: &TestApp, connection: &str, accounts: &[&str]) -> Vec<String> {
    let (s, chosen) = app
        .post(
            app.ws_url(&format!("connections/{connection}/accounts")),
            json!({ "accounts": accounts }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{chosen}");
    let profiles = app.profiles().await;
    accounts
        .iter()
        .map(|a| {
            let urn = a.trim_start_matches("linkedin:");
            profiles.iter().find(|p| p["external_id"] == urn).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

async fn state(app: &TestApp) -> Value {
    app.sandbox_json("_sandbox/linkedin").await
}

/// Publishes now and returns the platform's post as the sandbox holds it.
async fn publish(app: &TestApp, body: Value) -> (Value, Value) {
    let (s, post) = app.schedule(body).await;
    assert_eq!(s, StatusCode::CREATED, "{post}");
    let done = app.settled(post["id"].as_str().unwrap()).await;
    assert_eq!(done["deliveries"][0]["status"], "published", "{done:#}");
    let urn = done["deliveries"][0]["platform_post_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let on_linkedin = state(app).await["posts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == urn)
        .cloned()
        .unwrap();
    (done, on_linkedin)
}

#[tokio::test]
async fn a_linkedin_member_with_two_pages_chooses_profiles_publishes_every_kind_and_answers_comments_as_the_page()
 {
    on_both_backends!(Mode::Standalone, |app| {
        app.signup("li@example.com").await;
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
        assert_eq!(ids, [MEMBER, COFFEE, LABS], "the analyst's Page is not offered");
        assert_eq!(app.profiles().await.len(), 0);
        let chosen = choose(&app, &connection, &[MEMBER, COFFEE]).await;
        let (member, coffee) = (chosen[0].clone(), chosen[1].clone());
        let profiles = app.profiles().await;
        let page = profiles.iter().find(|p| p["id"] == coffee.as_str()).unwrap();
        assert_eq!(page["handle"], "Sandbox Coffee Co");
        let reconnect_by: jiff::Timestamp = page["reconnect_by"].as_str().unwrap().parse().unwrap();
        let days = reconnect_by.duration_since(herald_now(&app)).as_hours() / 24;
        assert!(
            (59..=60).contains(&days),
            "60-day tokens: reconnect by {reconnect_by}"
        );

        // Signing in again and choosing again updates the same profiles.
        login(&app).await;
        choose(&app, &connection, &[MEMBER, COFFEE]).await;
        let again: Vec<Value> = app.profiles().await;
        assert_eq!(again.len(), 2, "{again:#?}");

        let to = |profile: &str, options: Value| json!([{"profile_id": profile, "options": options}]);
        // The little format: reserved characters and a hashtag, shown as written.
        let text = "Our (new) roast #Coffee — 50% off *today* [in store] @ 9am <3";
        let (done, shown) = publish(
            &app,
            json!({"text": text, "targets": to(&coffee, json!({})), "scheduled_at": at(&app, 1)}),
        )
        .await;
        assert_eq!(shown["shown"], text, "{shown:#}");
        assert_eq!(shown["author"], "urn:li:organization:90210001");
        let urn = shown["id"].as_str().unwrap().to_owned();
        assert_eq!(
            done["deliveries"][0]["permalink"],
            format!("https://www.linkedin.com/feed/update/{urn}/")
        );

        let (_, article) = publish(&app, json!({"text": "Worth reading.", "targets": to(&member, json!({"link": "https://example.com/essay", "link_title": "An essay", "visibility": "CONNECTIONS"})), "scheduled_at": at(&app, 1)})).await;
        assert_eq!(
            (
                article["content"]["article"]["source"].as_str(),
                article["content"]["article"]["title"].as_str(),
                article["visibility"].as_str(),
                article["author"].as_str()
            ),
            (
                Some("https://example.com/essay"),
                Some("An essay"),
                Some("CONNECTIONS"),
                Some("urn:li:person:sbx4Lk9Qw2")
            )
        );
        let (_, jpg) = app.upload("square-1080.jpg").await;
        let (_, png) = app.upload("square-1080.png").await;
        let (_, one) = publish(&app, json!({"text": "One view.", "media_ids": [jpg["id"]], "targets": to(&member, json!({"alt_text": "A red square"})), "scheduled_at": at(&app, 1)})).await;
        assert_eq!(one["content"]["media"]["altText"], "A red square", "{one:#}");
        let (_, two) = publish(&app, json!({"text": "Two views.", "media_ids": [jpg["id"], png["id"]], "targets": to(&coffee, json!({})), "scheduled_at": at(&app, 1)})).await;
        assert_eq!(
            two["content"]["multiImage"]["images"].as_array().unwrap().len(),
            2
        );
        let (_, video) = app.upload("landscape-1280x720-6s.mp4").await;
        let (_, clip) = publish(&app, json!({"text": "Moving.", "media_ids": [video["id"]], "targets": to(&coffee, json!({})), "scheduled_at": at(&app, 1)})).await;
        let assets = state(&app).await["assets"].as_array().unwrap().clone();
        let asset = assets
            .iter()
            .find(|a| a["urn"] == clip["content"]["media"]["id"])
            .unwrap();
        assert_eq!(
            (asset["status"].as_str(), asset["size"].as_u64()),
            (
                Some("AVAILABLE"),
                Some(crate::harness::fixture("landscape-1280x720-6s.mp4").len() as u64)
            ),
            "{asset:#}"
        );

        // A PDF becomes a document post, under its title.
        let (s, deck) = app.upload_bytes("deck.pdf", PDF.to_vec()).await;
        assert_eq!(s, StatusCode::CREATED, "{deck}");
        assert_eq!(deck["content_type"], "application/pdf");
        let (_, doc) = publish(&app, json!({"text": "Our roasting guide.", "media_ids": [deck["id"]], "targets": to(&coffee, json!({"document_title": "Roasting guide"})), "scheduled_at": at(&app, 1)})).await;
        let media = &doc["content"]["media"];
        assert!(
            media["id"].as_str().unwrap().starts_with("urn:li:document:")
                && media["title"] == "Roasting guide",
            "{doc:#}"
        );

        // Over LinkedIn's 3,000 characters: refused when scheduling, by rule.
        let (s, e) = app
            .schedule(json!({"text": "a".repeat(3001), "targets": to(&coffee, json!({})), "scheduled_at": at(&app, 60)}))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
        assert_eq!(e["error"]["violations"][0]["rule"], "caption.too_long", "{e}");

        // Someone comments on the Page's post; Herald lists it and answers as the Page.
        app.sandbox_post(
            &format!("_sandbox/linkedin/posts/{urn}/comments"),
            json!({"text": "Is it decaf too?"}),
        )
        .await;
        let post = done["id"].as_str().unwrap();
        let (s, comments) = app.get(app.ws_url(&format!("posts/{post}/comments"))).await;
        assert_eq!(s, StatusCode::OK, "{comments}");
        let c = &comments["data"][0]["comments"][0];
        assert_eq!(c["text"], "Is it decaf too?", "{comments:#}");
        let (s, replied) = app
            .post(
                app.ws_url(&format!(
                    "posts/{post}/comments/{}/replies",
                    urlencoding(c["id"].as_str().unwrap())
                )),
                json!({"text": "Yes, all week."}),
            )
            .await;
        assert!(s.is_success(), "{replied}");
        let all = state(&app).await["comments"].as_array().unwrap().clone();
        let answer = all.iter().find(|x| x["text"] == "Yes, all week.").unwrap();
        assert_eq!(
            (answer["actor"].as_str(), answer["parent"].as_str()),
            (Some("urn:li:organization:90210001"), c["id"].as_str()),
            "{answer:#}"
        );

        let (s, metrics) = app.get(app.ws_url(&format!("posts/{post}/metrics"))).await;
        assert_eq!(s, StatusCode::OK, "{metrics}");
        let m = &metrics["data"][0]["metrics"];
        assert_eq!(
            (m["views"].as_u64(), m["comments"].as_u64()),
            (Some(120), Some(2)),
            "share statistics: {metrics:#}"
        );
    });
}

/// A comment URN as one path segment.
fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn a_lost_answer_to_a_linkedin_page_post_leaves_one_post_a_members_is_unconfirmed_and_a_daily_limit_waits_for_midnight_utc()
 {
    on_both_backends!(Mode::Standalone, |app| {
        let email = "li-lost@example.com";
        app.signup(email).await;
        let connection = login(&app).await;
        let chosen = choose(&app, &connection, &[MEMBER, LABS]).await;
        let (member, labs) = (chosen[0].clone(), chosen[1].clone());
        app.fault(
            "linkedin",
            json!({"operation": "posts", "method": "POST", "kind": "lost_response"}),
        )
        .await;
        let (_, jpg) = app.upload("square-1080.jpg").await;
        let (_, post) = app.schedule(json!({"text": "Said once (only once).", "media_ids": [jpg["id"]], "targets": [{"profile_id": labs}], "scheduled_at": at(&app, 1)})).await;
        let post = post["id"].as_str().unwrap().to_owned();
        let waiting = app
            .wait_for(&post, |d| {
                d["status"] == "retry_wait" || d["status"] == "published"
            })
            .await;
        assert_eq!(waiting["deliveries"][0]["status"], "retry_wait", "{waiting:#}");
        advance_both(&app, SignedDuration::from_secs(20), email).await;
        let done = app.settled(&post).await;
        assert_eq!(done["deliveries"][0]["status"], "published", "{done:#}");
        let posts = state(&app).await["posts"].as_array().unwrap().clone();
        assert_eq!(posts.len(), 1, "{posts:#?}");
        assert_eq!(done["deliveries"][0]["platform_post_id"], posts[0]["id"]);

        // A member's posts cannot be read back without a permission LinkedIn grants to few apps:
        // Herald says it cannot tell, rather than posting again.
        app.fault(
            "linkedin",
            json!({"operation": "posts", "method": "POST", "kind": "lost_response"}),
        )
        .await;
        let (_, mine) = app.schedule(json!({"text": "Mine, once.", "targets": [{"profile_id": member}], "scheduled_at": at(&app, 1)})).await;
        let mine = mine["id"].as_str().unwrap().to_owned();
        app.wait_for(&mine, |d| d["status"] == "retry_wait").await;
        advance_both(&app, SignedDuration::from_secs(20), email).await;
        let unsure = app.settled(&mine).await;
        let d = &unsure["deliveries"][0];
        assert_eq!(d["status"], "unconfirmed", "{unsure:#}");
        assert!(
            d["error"]["message"].as_str().unwrap().contains("cannot tell"),
            "{unsure:#}"
        );
        assert_eq!(state(&app).await["posts"].as_array().unwrap().len(), 2);

        // A daily limit: LinkedIn names no time; its limits reset at midnight UTC.
        app.fault(
            "linkedin",
            json!({"operation": "posts", "method": "POST", "kind": "rate_limit", "minutes": 30}),
        )
        .await;
        let (_, later) = app.schedule(json!({"text": "After the limit.", "targets": [{"profile_id": labs}], "scheduled_at": at(&app, 1)})).await;
        let later = later["id"].as_str().unwrap().to_owned();
        let waiting = app.wait_for(&later, |d| d["status"] == "retry_wait").await;
        let due: jiff::Timestamp = waiting["deliveries"][0]["due_at"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let midnight =
            jiff::Timestamp::from_second((herald_now(&app).as_second() / 86_400 + 1) * 86_400).unwrap();
        assert_eq!(due, midnight, "{waiting:#}");
    });
}

/// Days from Herald's now to the profile's `field`, rounded down.
fn days_to(app: &TestApp, profile: &Value, field: &str) -> i64 {
    let at: jiff::Timestamp = profile[field].as_str().unwrap().parse().unwrap();
    at.duration_since(herald_now(app)).as_hours().div_euclid(24)
}

/// Waits until the token care has renewed every profile's token (each one's end moved on from
/// what `before` holds); returns the profiles.
async fn all_renewed(app: &TestApp, before: &[Value]) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let now = app.profiles().await;
        let moved = now.iter().all(|p| {
            before
                .iter()
                .find(|b| b["id"] == p["id"])
                .is_some_and(|b| b["token_expires_at"] != p["token_expires_at"])
        });
        if moved {
            return now;
        }
        assert!(tokio::time::Instant::now() < deadline, "never renewed: {now:#?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Signs up, plays an app LinkedIn approved for programmatic refresh tokens (a partner's), signs
/// in with LinkedIn and chooses the member and a Page; returns the connection and the profiles.
async fn partner(app: &mut TestApp, email: &str) -> (String, Vec<Value>) {
    app.signup(email).await;
    app.sandbox_post("_sandbox/linkedin/app", json!({"refresh_tokens": true}))
        .await;
    let connection = login(app).await;
    choose(app, &connection, &[MEMBER, COFFEE]).await;
    let profiles = app.profiles().await;
    for p in &profiles {
        assert_eq!(
            (
                days_to(app, p, "token_expires_at"),
                days_to(app, p, "reconnect_by")
            ),
            (59, 364),
            "a 60-day token the care renews; the person reconnects a year from the consent: {p:#}"
        );
    }
    // 55 days on, inside the week before the access tokens end: the care renews each profile's
    // token with its refresh token, and the year's end does not move.
    advance_both(app, SignedDuration::from_hours(55 * 24), email).await;
    let profiles = all_renewed(app, &profiles).await;
    for p in &profiles {
        assert_eq!(p["status"], "connected", "{p:#}");
        assert_eq!(
            (
                days_to(app, p, "token_expires_at"),
                days_to(app, p, "reconnect_by")
            ),
            (59, 309),
            "{p:#}"
        );
    }
    let journal = app.sandbox_json("_sandbox/requests").await.to_string();
    assert!(
        journal.contains(r#""grant_type":"refresh_token""#),
        "the renewals were refresh-token grants"
    );
    (connection, profiles)
}

#[tokio::test]
async fn a_linkedin_partner_apps_tokens_are_renewed_until_the_refresh_tokens_year_ends_then_the_person_reconnects()
 {
    on_both_backends!(Mode::Standalone, |app| {
        let email = "li-partner@example.com";
        let (connection, profiles) = partner(&mut app, email).await;
        let coffee = profiles
            .iter()
            .find(|p| p["external_id"] == COFFEE.trim_start_matches("linkedin:"))
            .unwrap()["id"]
            .clone();

        // Day 61: the first access tokens are dead; the Page publishes with its renewed one.
        advance_both(&app, SignedDuration::from_hours(6 * 24), email).await;
        publish(
            &app,
            json!({"text": "After the renewal.", "targets": [{"profile_id": coffee}], "scheduled_at": at(&app, 1)}),
        )
        .await;
        // The connection's own token (60 days, dead now) is renewed when its accounts are listed:
        // Pages can be added until the year ends.
        let renewals = || async {
            let journal = app.sandbox_json("_sandbox/requests").await.to_string();
            journal.matches(r#""grant_type":"refresh_token""#).count()
        };
        let before = renewals().await;
        let (s, accounts) = app
            .get(app.ws_url(&format!("connections/{connection}/accounts")))
            .await;
        assert_eq!(s, StatusCode::OK, "{accounts}");
        assert_eq!(renewals().await, before + 1, "the connection's token was renewed");

        // Day 360: the renewal gives a token that ends with the refresh token, five days on, and
        // each profile says the person must reconnect soon.
        advance_both(&app, SignedDuration::from_hours(299 * 24), email).await;
        let profiles = all_renewed(&app, &profiles).await;
        for p in &profiles {
            let at = |f: &str| p[f].as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
            let apart = at("reconnect_by").duration_since(at("token_expires_at")).abs();
            assert!(apart < SignedDuration::from_secs(60), "{p:#}");
            assert_eq!(p["status"], "expiring_soon", "{p:#}");
        }

        // Day 366: the refresh token has ended; the care's last try is refused and each profile
        // needs the person, because their consent expired (not because it was revoked).
        advance_both(&app, SignedDuration::from_hours(6 * 24), email).await;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let profiles = app.profiles().await;
            if profiles.iter().all(|p| p["status"] == "needs_reconnect") {
                for p in &profiles {
                    assert_eq!(p["reason"], "expired", "{p:#}");
                }
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "never held: {profiles:#?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    });
}

#[tokio::test]
async fn deleting_a_linkedin_partner_connection_revokes_its_refresh_token_and_each_profiles_renewed_token() {
    on_both_backends!(Mode::Standalone, |app| {
        let (connection, _) = partner(&mut app, "li-partner-gone@example.com").await;
        // The connection's first token and each profile's renewed one are alive, with the
        // refresh token; LinkedIn does not say that revoking a refresh token ends the tokens it
        // made, so Herald revokes each.
        let (_, gone) = app.delete(app.ws_url(&format!("connections/{connection}"))).await;
        assert_eq!(gone["revoked_at_platform"], true, "{gone:#}");
        let live: Vec<Value> = state(&app).await["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["expired"] == false)
            .cloned()
            .collect();
        assert!(
            live.is_empty(),
            "nothing of Herald's still works at LinkedIn: {live:#?}"
        );
    });
}
