//! X end to end through the sandbox: PKCE consent, text, images with alt text and a video through
//! the chunked upload, reply settings, metrics, replies and answering them, X's weighted length,
//! a rate limit waited out to the second, a window of posts counted down from X's headers, a
//! lost answer, and every request checked against X's OpenAPI document.

use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Mode, TestApp, advance_both, herald_now, move_clocks};
use crate::on_both_backends;
use crate::openapi::{OpenApi, assert_requests_valid};

/// A 1×1 GIF.
const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
const HOST: &str = "api.x.com";
const SPEC: &str = "x/openapi.json";
/// What X's document does not describe: its OAuth 2.0 endpoints.
const OAUTH: &[&str] = &["/2/oauth2/token", "/2/oauth2/revoke"];

fn at(app: &TestApp, s: i64) -> String {
    (herald_now(app) + SignedDuration::from_secs(s)).to_string()
}

/// Connects the sandbox's first X user through its consent page; returns the profile.
async fn connect_x(app: &TestApp) -> String {
    let location = app.consent_on("x", &[], "allow").await;
    let (s, page) = app.callback(&location).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(
        page.contains("sandbox_news") && page.contains("Herald can publish"),
        "{page}"
    );
    let profiles = app.profiles().await;
    profiles.iter().find(|p| p["platform"] == "x").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn posts(app: &TestApp) -> Vec<Value> {
    app.sandbox_json("_sandbox/x").await["posts"]
        .as_array()
        .unwrap()
        .clone()
}

/// Waits until the token care has renewed the (only) profile's token issued to end at `issued`.
async fn renewed(app: &TestApp, issued: &Value) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while app.profiles().await[0]["token_expires_at"] == *issued {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the token was never renewed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The metrics of the post's first delivery.
async fn metrics(app: &TestApp, post: &str) -> Value {
    let (s, metrics) = app.get(app.ws_url(&format!("posts/{post}/metrics"))).await;
    assert_eq!(s, StatusCode::OK, "{metrics}");
    metrics["data"][0]["metrics"].clone()
}

async fn publish(app: &TestApp, body: Value) -> Value {
    let (s, post) = app.schedule(body).await;
    assert_eq!(s, StatusCode::CREATED, "{post}");
    let done = app.settled(post["id"].as_str().unwrap()).await;
    assert_eq!(done["deliveries"][0]["status"], "published", "{done:#}");
    done
}

#[tokio::test]
async fn x_connects_with_pkce_and_publishes_text_images_and_a_video_and_answers_replies() {
    on_both_backends!(Mode::Standalone, |app| {
        app.signup("news@example.com").await;
        let profile = connect_x(&app).await;
        let target = |options: Value| json!([{"profile_id": profile, "options": options}]);

        let done = publish(&app, json!({"text": "Polls open at 8.", "targets": target(json!({"reply_settings": "following"})), "scheduled_at": at(&app, 1)})).await;
        let id = done["deliveries"][0]["platform_post_id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            done["deliveries"][0]["permalink"],
            format!("https://x.com/i/web/status/{id}")
        );

        let (_, jpg) = app.upload("square-1080.jpg").await;
        let (_, png) = app.upload("square-1080.png").await;
        publish(
            &app,
            json!({"text": "Two views of the square.", "media_ids": [jpg["id"], png["id"]],
            "targets": target(json!({"alt_text": "A red square"})), "scheduled_at": at(&app, 1)}),
        )
        .await;
        let (_, video) = app.upload("landscape-1280x720-6s.mp4").await;
        publish(&app, json!({"text": "The square, moving.", "media_ids": [video["id"]], "targets": target(json!({})), "scheduled_at": at(&app, 1)})).await;
        // A GIF goes alone, as X's GIF category.
        let (_, gif) = app.upload_bytes("dot.gif", GIF.to_vec()).await;
        publish(&app, json!({"text": "A dot.", "media_ids": [gif["id"]], "targets": target(json!({})), "scheduled_at": at(&app, 1)})).await;

        let state = app.sandbox_json("_sandbox/x").await;
        let all = state["posts"].as_array().unwrap();
        let find = |text: &str| all.iter().find(|p| p["text"] == text).unwrap().clone();
        assert_eq!(find("Polls open at 8.")["reply_settings"], "following");
        let images = find("Two views of the square.");
        assert_eq!(images["media_ids"].as_array().unwrap().len(), 2, "{images:#}");
        let uploads = state["uploads"].as_array().unwrap();
        let upload = |id: &Value| uploads.iter().find(|u| &u["id"] == id).unwrap().clone();
        assert_eq!(upload(&images["media_ids"][0])["alt_text"], "A red square");
        assert_eq!(upload(&find("A dot.")["media_ids"][0])["category"], "tweet_gif");
        let clip = upload(&find("The square, moving.")["media_ids"][0]);
        assert_eq!(
            (
                clip["category"].as_str(),
                clip["state"].as_str(),
                clip["total_bytes"].as_u64()
            ),
            (
                Some("tweet_video"),
                Some("succeeded"),
                Some(crate::harness::fixture("landscape-1280x720-6s.mp4").len() as u64)
            ),
            "{clip:#}"
        );

        // Someone replies; Herald lists it and answers as the account.
        app.sandbox_post(
            &format!("_sandbox/x/posts/{id}/replies"),
            json!({"text": "What time do they close?"}),
        )
        .await;
        let post = done["id"].as_str().unwrap();
        let (s, comments) = app.get(app.ws_url(&format!("posts/{post}/comments"))).await;
        assert_eq!(s, StatusCode::OK, "{comments}");
        let c = &comments["data"][0]["comments"][0];
        assert_eq!(
            (c["text"].as_str(), c["username"].as_str()),
            (Some("What time do they close?"), Some("sandbox_reader")),
            "{comments:#}"
        );
        let (s, replied) = app
            .post(
                app.ws_url(&format!(
                    "posts/{post}/comments/{}/replies",
                    c["id"].as_str().unwrap()
                )),
                json!({"text": "At 8 pm."}),
            )
            .await;
        assert!(s.is_success(), "{replied}");
        let answer = posts(&app)
            .await
            .into_iter()
            .find(|p| p["text"] == "At 8 pm.")
            .unwrap();
        assert_eq!(answer["in_reply_to"], c["id"], "{answer:#}");

        // An app whose access level lacks recent search: the person is told, plainly.
        app.sandbox_post("_sandbox/x/access", json!({"search": false}))
            .await;
        let (_, refused) = app.get(app.ws_url(&format!("posts/{post}/comments"))).await;
        assert!(
            refused
                .to_string()
                .contains("not available with this X access level"),
            "{refused:#}"
        );
        app.sandbox_post("_sandbox/x/access", json!({"search": true}))
            .await;

        // Within the two-hour token's life (which the token care renews an hour in).
        let issued = app.profiles().await[0]["token_expires_at"].clone();
        move_clocks(&app, SignedDuration::from_mins(90)).await;
        let m = metrics(&app, post).await;
        assert!(
            m["views"].as_u64() == Some(9) && m["comments"].as_u64() == Some(1),
            "{m:#}"
        );
        assert!(
            m["profile_clicks"].is_u64() && m["link_clicks"].is_null(),
            "the author's own post of the last 30 days shows its profile visits (no link, no link clicks): {m:#}"
        );

        // Once the renewal is done (a disconnect during one is the store's and the care's
        // business, not this test's): disconnecting revokes both tokens at X, since the refresh
        // token would otherwise still renew.
        renewed(&app, &issued).await;
        let (_, gone) = app.delete(app.ws_url(&format!("profiles/{profile}"))).await;
        assert_eq!(gone["revoked_at_platform"], true, "{gone:#}");
        // What is left is the access token from before the renewal 90 minutes in, which X lets
        // run to its end; the refresh token that could make more is gone.
        let left = app.sandbox_json("_sandbox/x").await["tokens"].clone();
        let kinds: Vec<&str> = left
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["access"], "{left:#}");

        let seen = assert_requests_valid(&app, HOST, &OpenApi::load(SPEC), OAUTH).await;
        for op in [
            "GET /2/users/me",
            "POST /2/tweets",
            "POST /2/media/upload/initialize",
            "POST /2/media/upload/{id}/append",
            "POST /2/media/upload/{id}/finalize",
            "GET /2/media/upload",
            "POST /2/media/metadata",
            "GET /2/tweets/search/recent",
            "GET /2/tweets/{id}",
        ] {
            assert!(seen.contains(&op.to_owned()), "{op} was not made: {seen:?}");
        }
    });
}

#[tokio::test]
async fn x_counts_as_x_does_281_weighted_is_refused_and_280_with_a_long_link_goes() {
    on_both_backends!(Mode::Standalone, |app| {
        app.signup("count@example.com").await;
        let profile = connect_x(&app).await;
        let target = json!([{"profile_id": profile}]);
        let (s, e) = app
            .schedule(
                json!({"text": "日".repeat(140) + "a", "targets": target, "scheduled_at": at(&app, 60)}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
        assert_eq!(e["error"]["violations"][0]["rule"], "caption.too_long", "{e}");
        // A link counts 23 however long it is: 256 + 1 + 23 = 280.
        let text = format!(
            "{} https://example.com/{}",
            "a".repeat(256),
            "long-path/".repeat(30)
        );
        let done = publish(
            &app,
            json!({"text": text, "targets": target, "scheduled_at": at(&app, 1)}),
        )
        .await;
        assert_eq!(done["deliveries"][0]["status"], "published");
        assert_eq!(posts(&app).await[0]["text"], text);
    });
}

#[tokio::test]
async fn a_rate_limited_x_post_waits_exactly_until_the_reset_x_names_and_x_sees_no_call_before() {
    on_both_backends!(Mode::Standalone, |app| {
        let email = "limited@example.com";
        app.signup(email).await;
        let profile = connect_x(&app).await;
        app.fault(
            "x",
            json!({"operation": "tweets", "method": "POST", "kind": "rate_limit", "minutes": 7}),
        )
        .await;
        let (_, post) = app.schedule(json!({"text": "After the limit.", "targets": [{"profile_id": profile}], "scheduled_at": at(&app, 1)})).await;
        let post = post["id"].as_str().unwrap().to_owned();
        let waiting = app.wait_for(&post, |d| d["status"] == "retry_wait").await;
        let due = due_at(&waiting);
        let calls = tweet_calls;
        assert_eq!(
            calls(&app.sandbox_json("_sandbox/requests").await),
            1,
            "one call, refused"
        );
        // Herald waits for the instant X named (on X's clock, which moves with Herald's here).
        let now = herald_now(&app);
        let wait = due.duration_since(now);
        // X names whole seconds, rounded up.
        assert!(
            wait > SignedDuration::from_mins(6) && wait <= SignedDuration::from_secs(7 * 60 + 1),
            "due {due}, now {now}"
        );
        // Whole seconds: the sandbox's clock moves by whole seconds, and both must stay together.
        let secs = wait.as_secs();
        advance_both(&app, SignedDuration::from_secs(secs - 2), email).await;
        let still = app.wait_for(&post, |d| d["status"] == "retry_wait").await;
        assert_eq!(still["deliveries"][0]["status"], "retry_wait");
        assert_eq!(
            calls(&app.sandbox_json("_sandbox/requests").await),
            1,
            "no call before the reset"
        );
        advance_both(&app, SignedDuration::from_secs(4), email).await;
        // Still `retry_wait` until the dispatcher wakes to the moved clock: wait for the outcome.
        let done = app
            .wait_for(&post, |d| d["status"] == "published" || d["status"] == "failed")
            .await;
        assert_eq!(done["deliveries"][0]["status"], "published", "{done:#}");
        assert_eq!(calls(&app.sandbox_json("_sandbox/requests").await), 2);
    });
}

#[tokio::test]
async fn an_x_account_out_of_posts_mid_burst_makes_no_call_x_would_refuse_and_the_rest_go_at_the_reset() {
    on_both_backends!(Mode::Standalone, |app| {
        let email = "window@example.com";
        app.signup(email).await;
        let profile = connect_x(&app).await;
        // The last four wait a quarter of an hour: within the workspace's catch-up window.
        assert_eq!(app.set_catch_up(60).await.0, StatusCode::OK);
        // X allows a user 100 posts in 15 minutes: four more than that fall due at once.
        let burst = 104;
        let mut ids = Vec::new();
        for n in 0..burst {
            let body = json!({"text": format!("Post {n} of the burst."), "targets": [{"profile_id": profile}], "scheduled_at": at(&app, 1)});
            let (s, post) = app.schedule(body).await;
            assert_eq!(s, StatusCode::CREATED, "{post}");
            ids.push(post["id"].as_str().unwrap().to_owned());
        }
        let count = async |status: &str| {
            app.count(&format!(
                "SELECT COUNT(*) FROM deliveries WHERE status = '{status}'"
            ))
            .await
        };
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        while count("published").await + count("retry_wait").await < burst {
            assert!(tokio::time::Instant::now() < deadline, "the burst never settled");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(count("published").await, 100);
        // X's answers counted the window down: Herald made no call X would refuse.
        assert_eq!(tweet_calls(&app.sandbox_json("_sandbox/requests").await), 100);
        let mut waiting = Vec::new();
        for id in &ids {
            let (_, post) = app.get(app.ws_url(&format!("posts/{id}"))).await;
            if post["deliveries"][0]["status"] == "retry_wait" {
                waiting.push(post);
            }
        }
        assert_eq!(waiting.len(), 4);
        let reset = due_at(&waiting[0]);
        assert!(
            reset > herald_now(&app) + SignedDuration::from_mins(14),
            "the window resets at {reset}"
        );
        for post in &waiting {
            assert_eq!(due_at(post), reset, "{post:#}");
            assert_eq!(post["deliveries"][0]["error"]["code"], "rate_limited", "{post:#}");
            let said = post["deliveries"][0]["error"]["message"].as_str().unwrap();
            assert!(said.contains("used up the posts it allows"), "{said}");
        }
        advance_both(
            &app,
            reset.duration_since(herald_now(&app)) + SignedDuration::from_secs(5),
            email,
        )
        .await;
        for post in &waiting {
            let done = app.settled(post["id"].as_str().unwrap()).await;
            assert_eq!(done["deliveries"][0]["status"], "published", "{done:#}");
        }
        assert_eq!(
            tweet_calls(&app.sandbox_json("_sandbox/requests").await),
            burst as usize
        );
    });
}

/// The calls X has had to create a post.
fn tweet_calls(journal: &Value) -> usize {
    journal["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["host"] == HOST && r["method"] == "POST" && r["path"] == "/2/tweets")
        .count()
}

/// When the delivery is due next.
fn due_at(post: &Value) -> jiff::Timestamp {
    post["deliveries"][0]["due_at"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn once_x_says_the_apps_daily_cap_is_spent_no_delivery_calls_x_until_it_resets_and_a_hold_another_process_wrote_is_honoured()
 {
    on_both_backends!(Mode::Standalone, |app| {
        let email = "app-cap@example.com";
        app.signup(email).await;
        let profile = connect_x(&app).await;
        let post = |text: &str| json!({"text": text, "targets": [{"profile_id": profile}], "scheduled_at": at(&app, 1)});
        let calls = async || tweet_calls(&app.sandbox_json("_sandbox/requests").await);
        // Another process learnt that X's allowance for the app is spent for ten minutes.
        let resumes = herald_now(&app) + SignedDuration::from_mins(10);
        // To the microsecond, as Herald keeps instants.
        let resumes = jiff::Timestamp::from_microsecond(resumes.as_microsecond()).unwrap();
        let now = herald_now(&app).as_microsecond();
        app.tamper(&format!(
            "INSERT INTO app_holds (login, held_until, recorded_at) VALUES ('x', {}, {now})",
            resumes.as_microsecond()
        ))
        .await;
        let (_, held) = app.schedule(post("Held by another process.")).await;
        let held = held["id"].as_str().unwrap().to_owned();
        let waiting = app.wait_for(&held, |d| d["status"] == "retry_wait").await;
        assert_eq!(due_at(&waiting), resumes, "{waiting:#}");
        let said = waiting["deliveries"][0]["error"]["message"].as_str().unwrap();
        assert!(said.contains("Herald's app has used up its allowance"), "{said}");
        assert_eq!(calls().await, 0, "no call while the app is held");
        advance_both(
            &app,
            SignedDuration::from_mins(10) + SignedDuration::from_secs(5),
            email,
        )
        .await;
        let done = app.settled(&held).await;
        assert_eq!(done["deliveries"][0]["status"], "published", "{done:#}");

        // The app's access level allows two posts a day: the second goes, the third is refused
        // with the app's cap spent, and the fourth waits for the reset without calling X.
        app.sandbox_post("_sandbox/x/access", json!({"daily_posts": 2}))
            .await;
        publish(&app, post("Second of the day.")).await;
        let (_, refused) = app.schedule(post("Third of the day.")).await;
        let refused = refused["id"].as_str().unwrap().to_owned();
        let refused = app.wait_for(&refused, |d| d["status"] == "retry_wait").await;
        assert_eq!(calls().await, 3, "the third was refused by X");
        let reset = due_at(&refused);
        assert!(
            reset > herald_now(&app) + SignedDuration::from_hours(23),
            "X's day ends at {reset}"
        );
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) FROM app_holds WHERE login = 'x' AND held_until = {}",
                reset.as_microsecond()
            ))
            .await,
            1,
            "the hold until X's reset is kept for every process"
        );
        let (_, fourth) = app.schedule(post("Fourth of the day.")).await;
        let fourth = fourth["id"].as_str().unwrap().to_owned();
        let waiting = app.wait_for(&fourth, |d| d["status"] == "retry_wait").await;
        assert_eq!(due_at(&waiting), reset, "{waiting:#}");
        assert_eq!(calls().await, 3, "the fourth made no call");

        // After X's day both go out (a day late is within this workspace's catch-up window).
        assert_eq!(app.set_catch_up(25 * 60).await.0, StatusCode::OK);
        app.sandbox_post("_sandbox/x/access", json!({"daily_posts": 10}))
            .await;
        advance_both(
            &app,
            reset.duration_since(herald_now(&app)) + SignedDuration::from_secs(5),
            email,
        )
        .await;
        for id in [refused["id"].as_str().unwrap(), &fourth] {
            let done = app.settled(id).await;
            assert_eq!(done["deliveries"][0]["status"], "published", "{done:#}");
        }
        assert_eq!(calls().await, 5);
    });
}

#[tokio::test]
async fn a_lost_answer_to_an_x_post_with_media_and_a_link_leaves_exactly_one_post_whose_link_clicks_show_for_30_days()
 {
    on_both_backends!(Mode::Standalone, |app| {
        let email = "lost-x@example.com";
        app.signup(email).await;
        let profile = connect_x(&app).await;
        app.fault(
            "x",
            json!({"operation": "tweets", "method": "POST", "kind": "lost_response"}),
        )
        .await;
        // With an image, a link and an ampersand: X reads the text back with `t.co` links, one
        // more for the media, and `&amp;`.
        let (_, jpg) = app.upload("square-1080.jpg").await;
        let text = "Said once & only once: https://example.com/once";
        let (_, post) = app.schedule(json!({"text": text, "media_ids": [jpg["id"]], "targets": [{"profile_id": profile}], "scheduled_at": at(&app, 1)})).await;
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
        let all = posts(&app).await;
        assert_eq!(all.len(), 1, "{all:#?}");
        assert_eq!(done["deliveries"][0]["platform_post_id"], all[0]["id"]);

        // Its link clicks, which X shows its author for 30 days; after that the public metrics
        // alone, with no error (X refuses the non-public ones of an older post).
        let fresh = metrics(&app, &post).await;
        assert!(fresh["link_clicks"].is_u64(), "{fresh:#}");
        let issued = app.profiles().await[0]["token_expires_at"].clone();
        advance_both(&app, SignedDuration::from_hours(31 * 24), email).await;
        renewed(&app, &issued).await;
        let old = metrics(&app, &post).await;
        assert!(
            old["views"].as_u64() == Some(31 * 24 * 9) && old["link_clicks"].is_null(),
            "{old:#}"
        );
        assert_requests_valid(&app, HOST, &OpenApi::load(SPEC), OAUTH).await;
    });
}

#[tokio::test]
async fn four_workers_racing_on_an_x_token_close_to_expiry_refresh_it_once_and_the_old_refresh_token_is_refused()
 {
    let Some(mut app) = crate::harness::on_postgres().await else {
        return;
    };
    let email = "race-x@example.com";
    app.signup(email).await;
    connect_x(&app).await;
    // The refresh token used is gone: X's token endpoint refuses it from now on.
    let x_app = app.sandbox.config().x_app;
    let url = app.sandbox_base.join("api.x.com/2/oauth2/token").unwrap();
    let r = crate::harness::four_workers_renew_once(&app, email, "/2/oauth2/token", |used| {
        reqwest::Client::new()
            .post(url.clone())
            .basic_auth(&x_app.client_id, Some(&x_app.client_secret))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", used)])
    })
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let refused: Value = r.json().await.unwrap();
    assert_eq!(refused["error"], "invalid_request", "{refused}");
    app.stop().await;
}

#[tokio::test]
async fn an_x_thread_of_four_parts_goes_out_as_a_reply_chain_and_a_lost_answer_to_its_first_part_is_found_not_repeated()
 {
    on_both_backends!(Mode::Standalone, |app| {
        let email = "thread@example.com";
        app.signup(email).await;
        let profile = connect_x(&app).await;
        let (_, jpg) = app.upload("square-1080.jpg").await;
        let thread = json!([
            {"text": "2/ The roasting starts at dawn."},
            {"text": "3/ This is the drum.", "media_ids": [jpg["id"]]},
            {"text": "4/ And that is all."},
        ]);
        // Each part is checked as a post of its own, its problem naming the part.
        let too_long = json!([{"text": "a".repeat(281)}]);
        let (s, e) = app
            .schedule(json!({"text": "1/", "thread": too_long, "targets": [{"profile_id": profile}], "scheduled_at": at(&app, 60)}))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
        let v = &e["error"]["violations"][0];
        assert!(
            v["rule"] == "caption.too_long"
                && v["part"] == 2
                && v["message"].as_str().unwrap().starts_with("Part 2:"),
            "{e}"
        );
        app.fault(
            "x",
            json!({"operation": "tweets", "method": "POST", "kind": "lost_response"}),
        )
        .await;
        let (s, post) = app
            .schedule(json!({"text": "1/ How our coffee is made.", "thread": thread, "targets": [{"profile_id": profile}], "scheduled_at": at(&app, 1)}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{post}");
        assert_eq!(post["thread"].as_array().unwrap().len(), 3, "{post}");
        let id = post["id"].as_str().unwrap().to_owned();
        app.wait_for(&id, |d| d["status"] == "retry_wait").await;
        advance_both(&app, SignedDuration::from_secs(20), email).await;
        let done = app.settled(&id).await;
        assert_eq!(done["deliveries"][0]["status"], "published", "{done:#}");
        let all = posts(&app).await;
        let texts: Vec<&str> = all.iter().map(|p| p["text"].as_str().unwrap()).collect();
        assert_eq!(all.len(), 4, "one post per part, none twice: {texts:?}");
        let chain: Vec<&Value> = [
            "1/ How our coffee is made.",
            "2/ The roasting starts at dawn.",
            "3/ This is the drum.",
            "4/ And that is all.",
        ]
        .iter()
        .map(|t| all.iter().find(|p| p["text"] == *t).unwrap())
        .collect();
        assert!(chain[0]["in_reply_to"].is_null());
        for pair in chain.windows(2) {
            assert_eq!(pair[1]["in_reply_to"], pair[0]["id"], "{all:#?}");
        }
        assert_eq!(chain[2]["media_ids"].as_array().unwrap().len(), 1);
        assert_eq!(
            done["deliveries"][0]["platform_post_id"], chain[0]["id"],
            "the thread is found by its first part"
        );
        assert_requests_valid(&app, HOST, &OpenApi::load(SPEC), OAUTH).await;
    });
}
