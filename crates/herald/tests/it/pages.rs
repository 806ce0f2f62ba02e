//! The composer, the post page, the calendar and the list as a browser without JavaScript uses
//! them: plain form posts. A double submit schedules one post; a refused post says why beside its
//! cause with the input kept; another workspace's pages are 404 pages; a reschedule is fenced.

use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::{Mode, TestApp, client, page_text};
use crate::on_both_backends;

/// The value of the hidden form token on a composer page.
fn form_token(html: &str) -> String {
    let at = html
        .find("name=\"form_token\" value=\"")
        .expect("the composer has a form token")
        + "name=\"form_token\" value=\"".len();
    html[at..at + html[at..].find('"').unwrap()].to_owned()
}

/// The composer's fields for one Instagram profile and one image, due tomorrow at noon UTC.
fn fields(token: &str, profile: &str, media: &str, text: &str, date: &str) -> Vec<(String, String)> {
    vec![
        ("form_token".into(), token.into()),
        ("text".into(), text.into()),
        (format!("target:{profile}"), "on".into()),
        (format!("media:{media}"), "on".into()),
        ("date".into(), date.into()),
        ("time".into(), "12:00".into()),
        ("zone".into(), "Europe/Paris".into()),
    ]
}

fn tomorrow(app: &TestApp) -> String {
    (crate::harness::herald_now(app) + jiff::SignedDuration::from_hours(24))
        .strftime("%Y-%m-%d")
        .to_string()
}

async fn composer(app: &TestApp) -> String {
    let r = app.client.get(app.url("compose")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
}

/// Posts a page's form as a browser without JavaScript does (no redirect followed).
async fn submit<T: serde::Serialize + ?Sized>(app: &TestApp, path: &str, form: &T) -> reqwest::Response {
    app.client.post(app.url(path)).form(form).send().await.unwrap()
}

/// Signs `email` up with Instagram and an image, and schedules `text` from the composer for
/// tomorrow at noon in Paris; returns the profile, the image and the day.
async fn scheduled(app: &mut TestApp, email: &str, text: &str) -> (String, String, String) {
    let (profile, media) = app.ready_on_instagram(email).await;
    let token = form_token(&composer(app).await);
    let day = tomorrow(app);
    let r = submit(app, "compose", &fields(&token, &profile, &media, text, &day)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    (profile, media, day)
}

async fn posts(app: &TestApp) -> Vec<Value> {
    let (_, list) = app.get(app.ws_url("posts")).await;
    list["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn posting_the_schedule_form_twice_creates_one_post() {
    on_both_backends!(Mode::Builtin, |app| {
        let (profile, media) = app.ready_on_instagram("twice@example.com").await;
        let token = form_token(&composer(&app).await);
        let form = fields(&token, &profile, &media, "Launch day", &tomorrow(&app));
        let mut went = Vec::new();
        for _ in 0..2 {
            let r = submit(&app, "compose", &form).await;
            assert_eq!(r.status(), StatusCode::SEE_OTHER);
            went.push(r.headers()["location"].to_str().unwrap().to_owned());
        }
        assert_eq!(went[0], went[1], "the second submit answers the first post");
        let all = posts(&app).await;
        assert_eq!(all.len(), 1, "{all:?}");
        assert_eq!(went[0], format!("/posts/{}", all[0]["id"].as_str().unwrap()));
        assert_eq!(all[0]["time_zone"], "Europe/Paris");
        let noon_paris = format!("{}T11:00:00Z", tomorrow(&app));
        assert_eq!(all[0]["scheduled_at"].as_str().unwrap(), noon_paris);
        // The same token with other content is refused, not a second post.
        let other = fields(&token, &profile, &media, "Something else", &tomorrow(&app));
        let r = submit(&app, "compose", &other).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("This form already scheduled a post")
        );
        assert_eq!(posts(&app).await.len(), 1);
    });
}

#[tokio::test]
async fn a_refused_post_is_said_beside_its_cause_with_everything_typed_kept() {
    let mut app = TestApp::spawn(herald_store::Backend::Sqlite, Mode::Builtin).await;
    let (profile, media) = app.ready_on_instagram("refused@example.com").await;
    let token = form_token(&composer(&app).await);
    let long = "a".repeat(2300);
    let form = fields(&token, &profile, &media, &long, &tomorrow(&app));
    let r = submit(&app, "compose", &form).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    let beside = &html[html.find("id=\"text-error\"").expect("an error beside the text")..];
    assert!(
        beside[..400].contains("Instagram takes at most 2200 characters of text; this has 2300"),
        "{beside}"
    );
    assert!(html.contains(&long), "the text is kept");
    assert!(
        html.contains("2300 / 2200 characters"),
        "the counter counts as Instagram does"
    );
    assert!(html.contains(&format!("name=\"form_token\" value=\"{token}\"")));
    // A time already past is said beside the time.
    let mut past = fields(&token, &profile, &media, "Fine", "2001-01-01");
    past.retain(|(k, _)| k != "form_token");
    let r = submit(&app, "compose", &past).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    let beside = &html[html.find("id=\"time-error\"").unwrap()..];
    assert!(beside[..300].contains("is in the past"), "{beside}");
    // No profile ticked: said beside the profiles.
    let none: Vec<_> = fields(&token, &profile, &media, "Fine", &tomorrow(&app))
        .into_iter()
        .filter(|(k, _)| !k.starts_with("target:"))
        .collect();
    let r = submit(&app, "compose", &none).await;
    let html = r.text().await.unwrap();
    let beside = &html[html.find("id=\"targets-error\"").unwrap()..];
    assert!(
        beside[..300].contains("must name at least one profile"),
        "{beside}"
    );
    assert!(posts(&app).await.is_empty());
    // The live check answers the composer with the problem in place, and saves nothing.
    let r = submit(
        &app,
        "compose/check",
        &fields(&token, &profile, &media, &long, &tomorrow(&app)),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("Shorten it by 100"));
    assert!(posts(&app).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn another_workspaces_pages_are_404_pages_as_its_api_routes_are() {
    on_both_backends!(Mode::Builtin, |app| {
        let (_, media, _) = scheduled(&mut app, "owner@example.com", "Mine alone").await;
        let post = posts(&app).await[0].clone();
        let id = post["id"].as_str().unwrap();
        let delivery = post["deliveries"][0]["id"].as_str().unwrap();
        let intruder = client();
        app.signup_in(&intruder, "intruder@example.com").await;
        for path in [format!("posts/{id}"), format!("library/{media}")] {
            let r = intruder
                .get(app.url(&path))
                .header("accept", "text/html")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
            let html = r.text().await.unwrap();
            assert!(
                html.contains("<h1>Not found</h1>") && !html.contains("Mine alone"),
                "{html}"
            );
        }
        for path in [
            format!("posts/{id}/cancel"),
            format!("posts/{id}/reschedule"),
            format!("posts/{id}/deliveries/{delivery}/publish-now"),
        ] {
            let r = intruder
                .post(app.url(&path))
                .form(&[("date", "2030-01-01"), ("time", "10:00"), ("zone", "UTC")])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        }
        // Nothing the intruder did changed the post.
        let (_, after) = app.get(app.ws_url(&format!("posts/{id}"))).await;
        assert_eq!(after["scheduled_at"], post["scheduled_at"]);
        assert_eq!(after["deliveries"][0]["status"], "scheduled");
        let calendar = page_text(&intruder, app.url("calendar")).await;
        assert!(!calendar.contains("Mine alone"), "{calendar}");
        let list = page_text(&intruder, app.url("posts")).await;
        assert!(
            !list.contains("Mine alone") && list.contains("No posts yet"),
            "{list}"
        );
    });
}

#[tokio::test]
async fn a_page_address_that_does_not_exist_is_a_page_and_an_api_one_is_json() {
    let app = TestApp::spawn(herald_store::Backend::Sqlite, Mode::Builtin).await;
    let c = client();
    let r = c
        .get(app.url("no/such/page"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(r.text().await.unwrap().contains("Back to the dashboard"));
    let r = c
        .get(app.url("api/v1/nothing"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    app.stop().await;
}

#[tokio::test]
async fn the_calendar_and_the_list_show_the_post_and_a_reschedule_is_refused_once_publishing_started() {
    on_both_backends!(Mode::Builtin, |app| {
        let (profile, _, day) = scheduled(&mut app, "planner@example.com", "On the calendar").await;
        let id = posts(&app).await[0]["id"].as_str().unwrap().to_owned();
        let page = |path: String| page_text(&app.client, app.url(&path));
        let month = page(format!("calendar?date={day}&zone=Europe/Paris")).await;
        let cell = &month[month.find(&format!("data-date=\"{day}\"")).unwrap()..];
        let cell = &cell[..cell.find("</td>").unwrap()];
        assert!(
            cell.contains(&format!("id=\"chip-{id}\"")) && cell.contains("12:00"),
            "{cell}"
        );
        assert!(
            cell.contains("Instagram: scheduled") && cell.contains("draggable=\"true\""),
            "{cell}"
        );
        let week = page(format!("calendar?view=week&date={day}&zone=Europe/Paris")).await;
        assert!(week.contains(&format!("chip-{id}")));
        // The list filters by status and profile.
        let list = page(format!("posts?status=scheduled&profile={profile}")).await;
        assert!(list.contains("On the calendar"), "{list}");
        let list = page("posts?status=published".to_owned()).await;
        assert!(list.contains("No post matches these filters"), "{list}");
        // Rescheduled from the form (the keyboard's way, and the drag's request).
        let later = (crate::harness::herald_now(&app) + jiff::SignedDuration::from_hours(72))
            .strftime("%Y-%m-%d")
            .to_string();
        let move_later = async |back: &str| {
            let form = [
                ("date", later.as_str()),
                ("time", "12:00"),
                ("zone", "Europe/Paris"),
                ("back", back),
            ];
            let r = submit(&app, &format!("posts/{id}/reschedule"), &form).await;
            assert_eq!(r.status(), StatusCode::SEE_OTHER);
            r.headers()["location"].to_str().unwrap().to_owned()
        };
        assert_eq!(move_later("/calendar").await, "/calendar");
        let (_, moved) = app.get(app.ws_url(&format!("posts/{id}"))).await;
        assert_eq!(
            moved["scheduled_at"].as_str().unwrap(),
            format!("{later}T11:00:00Z")
        );
        // A `back` that a browser would read as another site is not followed.
        assert_eq!(move_later("/\t/evil.example").await, "/");
        // Once a target has started publishing, the move is refused with a sentence and nothing changes.
        app.tamper("UPDATE deliveries SET status = 'publishing'").await;
        let r = submit(
            &app,
            &format!("posts/{id}/reschedule"),
            &[
                ("date", day.as_str()),
                ("time", "12:00"),
                ("zone", "Europe/Paris"),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::CONFLICT);
        let html = r.text().await.unwrap();
        assert!(
            html.contains("Publishing has already started for this post"),
            "{html}"
        );
        let (_, same) = app.get(app.ws_url(&format!("posts/{id}"))).await;
        assert_eq!(same["scheduled_at"], moved["scheduled_at"]);
    });
}

#[tokio::test]
async fn the_dashboard_says_what_needs_the_person_and_a_disconnect_says_what_it_does_first() {
    on_both_backends!(Mode::Builtin, |app| {
        let (profile, ..) = scheduled(&mut app, "needs@example.com", "Going out").await;
        let dashboard = page_text(&app.client, app.url("")).await;
        assert!(dashboard.contains("Nothing needs you"), "{dashboard}");
        assert!(dashboard.contains("Going out"), "due soon: {dashboard}");
        // The confirmation says what disconnecting does and does not do, and changes nothing.
        let confirm = page_text(&app.client, app.url(&format!("profiles/{profile}/disconnect"))).await;
        assert!(
            confirm.contains("The 1 post(s) scheduled to it and not yet published are cancelled")
                && confirm.contains("Posts already published stay on Instagram"),
            "{confirm}"
        );
        assert_eq!(posts(&app).await[0]["deliveries"][0]["status"], "scheduled");
        let r = submit(&app, &format!("profiles/{profile}/disconnect"), &[("", "")]).await;
        assert_eq!(r.status(), StatusCode::OK);
        let done = r.text().await.unwrap();
        assert!(
            done.contains("is disconnected") && done.contains("1 scheduled post(s) to it were cancelled"),
            "{done}"
        );
        assert_eq!(posts(&app).await[0]["deliveries"][0]["status"], "cancelled");
        // A delivery that failed is on the dashboard with the way to it.
        app.tamper("UPDATE deliveries SET status = 'failed'").await;
        let dashboard = page_text(&app.client, app.url("")).await;
        assert!(
            dashboard.contains("1 post(s): Failed") && dashboard.contains("/posts?status=failed"),
            "{dashboard}"
        );
    });
}

/// `GET /api/v1/me` with `token` alone.
async fn as_token(app: &TestApp, token: &str) -> reqwest::Response {
    let url = app.url("api/v1/me");
    reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_settings_page_shows_a_new_token_once_revokes_it_and_says_a_wrong_password_beside_its_field() {
    let mut app = TestApp::spawn(herald_store::Backend::Sqlite, Mode::Builtin).await;
    app.signup("settings@example.com").await;
    let r = submit(
        &app,
        "settings/tokens",
        &[
            ("name", "deploy script"),
            ("days", "30"),
            ("scope:posts:read", "on"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    let at = page.find("id=\"new-token\">").unwrap() + "id=\"new-token\">".len();
    let secret = &page[at..at + page[at..].find('<').unwrap()];
    assert!(secret.starts_with("hrld_"), "{secret}");
    // The token works, and the page never shows it again.
    let me = as_token(&app, secret).await;
    assert_eq!(me.status(), StatusCode::OK);
    let again = page_text(&app.client, app.url("settings")).await;
    assert!(again.contains("deploy script") && !again.contains(secret));
    let id = {
        let (_, list) = app.get(app.url("api/v1/tokens")).await;
        list["data"][0]["id"].as_str().unwrap().to_owned()
    };
    let r = submit(&app, &format!("settings/tokens/{id}/revoke"), &[("", "")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let me = as_token(&app, secret).await;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    // An empty name is said beside the field.
    let r = submit(&app, "settings/tokens", &[("name", " "), ("days", "30")]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("id=\"token-error\""));
    let r = submit(
        &app,
        "settings/password",
        &[
            ("current_password", "not it at all"),
            ("new_password", "a brand new passphrase"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    let beside = &page[page.find("id=\"current-error\"").unwrap()..];
    assert!(beside[..200].contains("is not your current password"), "{beside}");
    // Another browser signed in is listed, and signed out from here.
    let other = client();
    let r = other
        .post(app.url("api/v1/auth/login"))
        .json(&serde_json::json!({"email": "settings@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page = page_text(&app.client, app.url("settings")).await;
    assert_eq!(page.matches("Sign this session out").count(), 1, "{page}");
    let r = submit(&app, "settings/sessions/others/revoke", &[("", "")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = other.get(app.url("api/v1/me")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        page_text(&app.client, app.url("settings"))
            .await
            .contains("this browser")
    );
    app.stop().await;
}

#[tokio::test]
async fn a_published_posts_comments_are_answered_from_its_page_and_another_workspace_gets_a_404() {
    on_both_backends!(Mode::Builtin, |app| {
        let (post, media) = crate::engagement::published(&mut app).await;
        let comment = crate::engagement::fan_comments(&app, &media, "Where can I buy this?", false).await;
        let page = page_text(&app.client, app.url(&format!("posts/{post}"))).await;
        assert!(
            page.contains(&format!("href=\"/posts/{post}/engagement\"")),
            "{page}"
        );
        let page = page_text(&app.client, app.url(&format!("posts/{post}/engagement"))).await;
        assert!(
            page.contains("Where can I buy this?") && page.contains("@a_fan"),
            "{page}"
        );
        assert!(
            page.contains("<dt>Likes</dt>") || page.contains("<dt>Views</dt>"),
            "{page}"
        );
        let path = format!("posts/{post}/comments/{comment}/reply");
        let r = submit(&app, &path, &[("text", "In our shop, link in bio")]).await;
        assert_eq!(r.status(), StatusCode::OK);
        let page = r.text().await.unwrap();
        assert!(
            page.contains("Your reply is posted.") && page.contains("In our shop, link in bio"),
            "{page}"
        );
        // An empty reply is said on the page, and nothing is posted.
        let r = submit(&app, &path, &[("text", " ")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("must be 1 to 2,200 characters"));
        let intruder = client();
        app.signup_in(&intruder, "intruder@example.com").await;
        let r = intruder
            .get(app.url(&format!("posts/{post}/engagement")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let r = intruder
            .post(app.url(&path))
            .form(&[("text", "hijack")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    });
}

/// The hidden version a post page's forms send back.
fn seen(page: &str) -> String {
    let at = page.find("name=\"seen\" value=\"").unwrap() + "name=\"seen\" value=\"".len();
    page[at..at + page[at..].find('"').unwrap()].to_owned()
}

#[tokio::test]
async fn an_edit_from_a_stale_page_is_refused_with_a_sentence_and_a_fresh_one_saves() {
    on_both_backends!(Mode::Builtin, |app| {
        scheduled(&mut app, "stale@example.com", "First words").await;
        let id = posts(&app).await[0]["id"].as_str().unwrap().to_owned();
        let opened = page_text(&app.client, app.url(&format!("posts/{id}"))).await;
        let old = seen(&opened);
        // Meanwhile, another tab (here the API) changes the text.
        let r = app
            .client
            .patch(app.ws_url(&format!("posts/{id}")))
            .json(&serde_json::json!({"text": "Changed elsewhere"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let path = format!("posts/{id}/edit");
        let r = submit(&app, &path, &[("text", "My edit"), ("seen", old.as_str())]).await;
        assert_eq!(r.status(), StatusCode::CONFLICT);
        let page = r.text().await.unwrap();
        assert!(
            page.contains("this post changed after this page showed it")
                || page.contains("This post changed after this page showed it"),
            "{page}"
        );
        assert!(
            page.contains("Changed elsewhere"),
            "the page shows the post as it is now"
        );
        let (_, now) = app.get(app.ws_url(&format!("posts/{id}"))).await;
        assert_eq!(now["text"], "Changed elsewhere");
        // The same stale version refuses a reschedule too.
        let r = submit(
            &app,
            &format!("posts/{id}/reschedule"),
            &[
                ("date", "2030-01-01"),
                ("time", "10:00"),
                ("zone", "UTC"),
                ("seen", old.as_str()),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::CONFLICT);
        let fresh = seen(&page);
        let r = submit(&app, &path, &[("text", "My edit"), ("seen", fresh.as_str())]).await;
        assert_eq!(r.status(), StatusCode::OK);
        let (_, now) = app.get(app.ws_url(&format!("posts/{id}"))).await;
        assert_eq!(now["text"], "My edit");
    });
}

#[tokio::test]
async fn the_first_posts_zone_becomes_the_persons_and_the_settings_change_it() {
    let mut app = TestApp::spawn(herald_store::Backend::Sqlite, Mode::Builtin).await;
    scheduled(&mut app, "zones@example.com", "In Paris").await;
    let settings = page_text(&app.client, app.url("settings")).await;
    assert!(
        settings.contains("<option selected>Europe/Paris</option>"),
        "the first post's zone is kept"
    );
    let r = submit(&app, "settings/zone", &[("zone", "Mars/Olympus")]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("is not a time zone Herald knows")
    );
    let r = submit(&app, "settings/zone", &[("zone", "Asia/Tokyo")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let calendar = page_text(&app.client, app.url("calendar")).await;
    assert!(calendar.contains("Times are in Asia/Tokyo"), "{calendar}");
    let composer = composer(&app).await;
    assert!(composer.contains("<option selected>Asia/Tokyo</option>"));
    app.stop().await;
}

#[tokio::test]
async fn a_draft_is_saved_with_its_problems_reopened_checked_and_scheduled_once_fixed() {
    on_both_backends!(Mode::Builtin, |app| {
        let (profile, media) = app.ready_on_instagram("drafts@example.com").await;
        let token = form_token(&composer(&app).await);
        let long = "b".repeat(2250);
        let mut form = fields(&token, &profile, &media, &long, "");
        form.retain(|(k, _)| k != "time");
        let r = submit(&app, "compose/draft", &form).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let to = r.headers()["location"].to_str().unwrap().to_owned();
        let id = to.rsplit('=').next().unwrap().to_owned();
        assert!(posts(&app).await.is_empty(), "a draft is not a post");
        let page = page_text(&app.client, app.url(to.trim_start_matches('/'))).await;
        assert!(page.contains("Draft saved") && page.contains(&long), "{page}");
        assert!(page.contains("Shorten it by 50"), "checked as it is: {page}");
        assert!(page.contains(&format!("name=\"draft\" value=\"{id}\"")));
        let list = page_text(&app.client, app.url("posts")).await;
        assert!(list.contains(&format!("/compose?draft={id}")), "{list}");
        let (s, api) = app.get(app.ws_url(&format!("drafts/{id}"))).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(api["draft"]["text"], long.as_str());
        assert_eq!(api["violations"][0]["rule"], "caption.too_long");
        // Another workspace sees nothing of it.
        let intruder = client();
        app.signup_in(&intruder, "intruder@example.com").await;
        let r = intruder
            .get(app.url(&format!("compose?draft={id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert!(!r.text().await.unwrap().contains(&long));
        // Fixed and scheduled: one post, and the draft is gone.
        let token = form_token(&page);
        let mut form = fields(&token, &profile, &media, "Fixed caption", &tomorrow(&app));
        form.push(("draft".into(), id.clone()));
        let r = submit(&app, "compose", &form).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(posts(&app).await.len(), 1);
        let (s, _) = app.get(app.ws_url(&format!("drafts/{id}"))).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    });
}

#[tokio::test]
async fn a_profile_gets_its_own_media_in_its_own_order() {
    let mut app = TestApp::spawn(herald_store::Backend::Sqlite, Mode::Builtin).await;
    let (profile, first) = app.ready_on_instagram("order@example.com").await;
    let (_, second) = app.upload("square-1080.jpg").await;
    let second = second["id"].as_str().unwrap().to_owned();
    let token = form_token(&composer(&app).await);
    let mut form = fields(&token, &profile, &first, "Two of them", &tomorrow(&app));
    form.extend([
        (format!("own_media:{profile}"), "on".to_owned()),
        (format!("tmedia:{profile}:{first}"), "on".to_owned()),
        (format!("tmedia:{profile}:{second}"), "on".to_owned()),
        (format!("order:tmedia:{profile}:{first}"), "2".to_owned()),
        (format!("order:tmedia:{profile}:{second}"), "1".to_owned()),
    ]);
    let r = submit(&app, "compose", &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let post = &posts(&app).await[0];
    assert_eq!(post["media_ids"], serde_json::json!([first]));
    assert_eq!(
        post["deliveries"][0]["media_ids"],
        serde_json::json!([second, first])
    );
    app.stop().await;
}

#[tokio::test]
async fn an_upload_whose_form_text_is_too_large_is_refused_and_keeps_nothing() {
    let mut app = TestApp::spawn(herald_store::Backend::Sqlite, Mode::Builtin).await;
    app.ready_on_instagram("big@example.com").await;
    let file = reqwest::multipart::Part::bytes(crate::harness::fixture("square-1080.jpg"))
        .file_name("square-1080.jpg");
    let form = reqwest::multipart::Form::new()
        .text("text", "x".repeat(2 * 1024 * 1024))
        .part("file", file);
    let r = app
        .client
        .post(app.url("compose/upload"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.text().await.unwrap().contains("larger than 1 MiB"));
    let (_, media) = app.get(app.ws_url("media")).await;
    assert_eq!(
        media["data"].as_array().unwrap().len(),
        1,
        "only the file uploaded before"
    );
    app.stop().await;
}
