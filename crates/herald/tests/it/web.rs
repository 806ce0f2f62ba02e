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
pub(crate) async fn sign_up(b: &Browser, app: &TestApp, email: &str) {
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

/// A fixture's path on disk, for a file input.
fn fixture_path(name: &str) -> String {
    let path = format!("{}/../../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::canonicalize(path)
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// Goes to `url` again until `css` shows (a page that changes as the dispatcher works).
async fn reload_until(b: &Browser, url: &str, css: &str) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        b.goto(url).await;
        if b.has(css).await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{css} never showed on {url}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Connects Instagram from the profiles page through the sandbox's consent page, unticking `untick`.
pub(crate) async fn connect_instagram(b: &Browser, app: &TestApp, untick: &[&str]) {
    b.goto(app.url("connect/instagram").as_str()).await;
    b.click("#continue").await;
    b.text_with("h1", "Allow this app to access your Instagram account?")
        .await;
    for u in untick {
        b.click(&format!("input[value='{u}']")).await;
    }
    b.click("button[value='allow']").await;
    b.text_with("h1", "Connected").await;
    b.click("#back").await;
}

#[tokio::test]
async fn a_newcomer_connects_reconnects_uploads_fixes_a_caption_schedules_and_sees_it_published() {
    let Some(b) = Browser::start("a_newcomer_schedules_a_post").await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite, Mode::Builtin).await;
    sign_up(&b, &app, "flow@example.com").await;
    connect_instagram(&b, &app, &["instagram_business_manage_comments"]).await;
    b.text_with(".profile", "Comments is off").await;
    connect_instagram(&b, &app, &[]).await;
    b.text_with(".profile", "connected").await;
    assert!(
        !b.has(".profile .missing").await,
        "reconnected with every permission, nothing is missing"
    );
    b.click("nav a[href='/compose']").await;
    b.text_with("#no-media", "library is empty").await;
    b.keys("#file", &fixture_path("square-1080.jpg")).await;
    b.click("#upload").await;
    b.text_with("#media", "square-1080.jpg").await;
    // Typed too long: the live check says so beside the text, as the platform counts.
    b.fill("#text", &"a".repeat(2210)).await;
    let said = b.text_with("#text-error", "Shorten it by 10").await;
    assert!(said.contains("Instagram takes at most 2200 characters"), "{said}");
    b.text_with("#counters", "2210 / 2200 characters").await;
    b.shoot("compose-violation").await;
    b.fill("#text", "Hello from Herald").await;
    b.text_with("#problems", "can take this post").await;
    b.text_with("#previews", "Hello from Herald").await;
    assert!(b.has("#previews img").await, "the preview shows the image");
    b.shoot("compose").await;
    let date = b.value("#date").await;
    b.click("#schedule").await;
    b.text_with("h1", "Post for").await;
    b.text_with(".delivery .status", "Scheduled").await;
    // Herald's clock (and the platform's) moves to the post's time; nothing sleeps.
    let due = app.count("SELECT MAX(scheduled_at) FROM posts").await;
    let now = crate::harness::herald_now(&app).as_microsecond();
    crate::harness::move_clocks(&app, jiff::SignedDuration::from_micros(due - now)).await;
    b.goto(app.url(&format!("calendar?date={date}")).as_str()).await;
    b.text_with(".chip", "Hello from Herald").await;
    b.shoot("calendar").await;
    b.click(".chip").await;
    let post_url = b.url().await;
    reload_until(&b, &post_url, ".permalink").await;
    let link = b.text_with(".permalink", "http").await;
    assert!(link.contains("instagram"), "{link}");
    b.text_with(".delivery .status", "Published").await;
    b.shoot("post-published").await;
    let errors = b.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    b.quit().await;
    app.stop().await;
}

#[tokio::test]
async fn a_pin_is_scheduled_in_the_browser_on_a_board_chosen_from_the_accounts_live_list_and_published() {
    let Some(b) = Browser::start("a_pin_is_scheduled_in_the_browser").await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite, Mode::Builtin).await;
    sign_up(&b, &app, "pins@example.com").await;
    b.goto(app.url("connect/pinterest").as_str()).await;
    b.click("#continue").await;
    b.text_with("h1", "Give this app access to your Pinterest account?")
        .await;
    b.click("button[value='allow']").await;
    b.text_with("h1", "Connected").await;
    b.click("#back").await;
    b.text_with(".profile", "on Pinterest").await;
    b.click("nav a[href='/compose']").await;
    b.keys("#file", &fixture_path("square-1080.jpg")).await;
    b.click("#upload").await;
    b.text_with("#media", "square-1080.jpg").await;
    b.fill("#text", "A lamp for spring").await;
    // The board is required: the live check says so beside the post until one is chosen.
    b.text_with("#problems", "board_id").await;
    b.click("details.profile-tab summary").await;
    let boards = b.text_with("select[id$='-board_id']", "Product launches").await;
    assert!(
        boards.contains("Recipes") && boards.contains("(choose)"),
        "{boards}"
    );
    let sections = b.text_with("select[id$='-board_section_id']", "Spring").await;
    assert!(sections.contains("Product launches › Spring"), "{sections}");
    b.click("select[id$='-board_id'] option[value='549755885175']")
        .await;
    b.text_with("#problems", "can take this post").await;
    b.click("#schedule").await;
    b.text_with("h1", "Post for").await;
    let link = published_permalink(&b, &app).await;
    assert!(link.starts_with("https://www.pinterest.com/pin/"), "{link}");
    let pins = app.sandbox_json("_sandbox/pinterest").await;
    assert_eq!(pins["pins"][0]["board_id"], "549755885175", "{pins:#}");
    let errors = b.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    b.quit().await;
    app.stop().await;
}

#[tokio::test]
async fn a_linkedin_page_chosen_in_the_browser_gets_a_post_with_reserved_characters_shown_as_written() {
    let Some(b) = Browser::start("a_linkedin_page_chosen_in_the_browser").await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite, Mode::Builtin).await;
    sign_up(&b, &app, "linkedin@example.com").await;
    b.goto(app.url("connect/linkedin").as_str()).await;
    b.click("#continue").await;
    b.text_with("h1", "Herald would like to access your LinkedIn account")
        .await;
    b.click("button[value='allow']").await;
    b.text_with("#message", "3 more account(s) can be added").await;
    b.click("#back").await;
    b.click("a.choose").await;
    b.text_with("h1", "Choose the accounts").await;
    let listed = b.text_with("main", "Sandbox Labs").await;
    assert!(
        listed.contains("Sandbox Coffee Co") && !listed.contains("Analytics Guild"),
        "only the Pages the member administers: {listed}"
    );
    b.click("input[name='account:linkedin:urn:li:organization:90210001']")
        .await;
    b.click("button#make-profiles").await;
    b.text_with(".profile", "on LinkedIn").await;
    b.click("nav a[href='/compose']").await;
    let text = "Fresh (single-origin) roast #Coffee *today*";
    b.fill("#text", text).await;
    b.text_with("#problems", "can take this post").await;
    b.click("#schedule").await;
    b.text_with("h1", "Post for").await;
    let link = published_permalink(&b, &app).await;
    assert!(
        link.starts_with("https://www.linkedin.com/feed/update/urn:li:share:"),
        "{link}"
    );
    let state = app.sandbox_json("_sandbox/linkedin").await;
    assert_eq!(
        (
            state["posts"][0]["shown"].as_str(),
            state["posts"][0]["author"].as_str()
        ),
        (Some(text), Some("urn:li:organization:90210001")),
        "{state:#}"
    );
    let errors = b.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    b.quit().await;
    app.stop().await;
}

#[tokio::test]
async fn an_x_thread_is_written_part_by_part_in_the_browser_and_published_as_a_reply_chain() {
    let Some(b) = Browser::start("an_x_thread_is_written_part_by_part").await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite, Mode::Builtin).await;
    sign_up(&b, &app, "thread@example.com").await;
    b.goto(app.url("connect/x").as_str()).await;
    b.click("#continue").await;
    b.text_with("h1", "Authorize this app to access your X account?")
        .await;
    b.click("button[value='allow']").await;
    b.text_with("h1", "Connected").await;
    b.click("#back").await;
    b.text_with(".profile", "on X").await;
    b.click("nav a[href='/compose']").await;
    b.fill("#text", "1/ A thread about roasting.").await;
    b.click("#add-part").await;
    b.fill("#part-0", "2/ It starts at dawn.").await;
    b.click("#add-part").await;
    // Everything typed is kept, and the new part is empty.
    let kept = b.text_with("label[for='part-1']", "part 3").await;
    assert_eq!(kept, "Text of part 3");
    b.fill("#part-1", "3/ And ends by noon.").await;
    b.text_with("#problems", "can take this post").await;
    b.click("#schedule").await;
    b.text_with("h1", "Post for").await;
    b.text_with("#post-thread", "And ends by noon.").await;
    let link = published_permalink(&b, &app).await;
    assert!(link.starts_with("https://x.com/i/web/status/"), "{link}");
    let posts = app.sandbox_json("_sandbox/x").await["posts"]
        .as_array()
        .unwrap()
        .clone();
    let texts: Vec<&str> = posts.iter().map(|p| p["text"].as_str().unwrap()).collect();
    assert_eq!(
        texts,
        [
            "1/ A thread about roasting.",
            "2/ It starts at dawn.",
            "3/ And ends by noon."
        ],
        "published in order"
    );
    assert_eq!(posts[1]["in_reply_to"], posts[0]["id"]);
    assert_eq!(posts[2]["in_reply_to"], posts[1]["id"]);
    let errors = b.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    b.quit().await;
    app.stop().await;
}

#[tokio::test]
async fn a_tiktok_photo_post_is_scheduled_in_the_browser_with_a_privacy_level_the_account_offers() {
    let Some(b) = Browser::start("a_tiktok_photo_post_is_scheduled").await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite, Mode::Builtin).await;
    sign_up(&b, &app, "tiktok@example.com").await;
    b.goto(app.url("connect/tiktok").as_str()).await;
    b.click("#continue").await;
    b.text_with("h1", "Herald wants to access your TikTok account")
        .await;
    b.click("button[value='allow']").await;
    b.text_with("h1", "Connected").await;
    b.click("#back").await;
    b.text_with(".profile", "on TikTok").await;
    b.click("nav a[href='/compose']").await;
    b.keys("#file", &fixture_path("square-1080.jpg")).await;
    b.click("#upload").await;
    b.text_with("#media", "square-1080.jpg").await;
    b.fill("#text", "Crumb shot of the day").await;
    // The privacy level has no default: the live check asks for it until one is chosen, and the
    // list holds only what this (public) account offers.
    b.text_with("#problems", "privacy_level").await;
    b.click("details.profile-tab summary").await;
    let levels = b
        .text_with("select[id$='-privacy_level']", "PUBLIC_TO_EVERYONE")
        .await;
    assert!(
        levels.contains("SELF_ONLY") && !levels.contains("FOLLOWER_OF_CREATOR"),
        "{levels}"
    );
    b.click("select[id$='-privacy_level'] option[value='PUBLIC_TO_EVERYONE']")
        .await;
    b.text_with("#problems", "can take this post").await;
    b.click("#schedule").await;
    b.text_with("h1", "Post for").await;
    let link = published_permalink(&b, &app).await;
    assert!(link.starts_with("https://www.tiktok.com/video/"), "{link}");
    let made = app.sandbox_json("_sandbox/tiktok").await;
    assert_eq!(
        (
            made["publications"][0]["description"].as_str(),
            made["publications"][0]["privacy_level"].as_str()
        ),
        (Some("Crumb shot of the day"), Some("PUBLIC_TO_EVERYONE")),
        "{made:#}"
    );
    // Comments come through TikTok for Business, which the profile adds on the profiles page.
    let post_page = b.url().await;
    let engagement = format!("{}/engagement", post_page.trim_end_matches('/'));
    b.goto(&engagement).await;
    b.text_with(".comments-unavailable", "TikTok for Business").await;
    b.goto(app.url("profiles").as_str()).await;
    b.text_with(".conversations", "Comments: off").await;
    b.click(".add-conversations").await;
    b.text_with("h1", "your TikTok account's comments (TikTok for Business)")
        .await;
    b.click("button[value='allow']").await;
    b.text_with("#message", "as @sandbox.bakes through TikTok for Business")
        .await;
    let video = made["publications"][0]["post_id"].as_str().unwrap();
    app.sandbox_post(
        &format!("_sandbox/tiktok/videos/{video}/comments"),
        serde_json::json!({"author": "crumb.fan", "text": "Which flour?"}),
    )
    .await;
    b.goto(&engagement).await;
    b.text_with(".comment", "Which flour?").await;
    b.fill(".comment textarea", "Stone-ground rye.").await;
    b.click(".comment button[type='submit']").await;
    b.text_with(".comment ul", "@sandbox.bakes: Stone-ground rye.")
        .await;
    let errors = b.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    b.quit().await;
    app.stop().await;
}

#[tokio::test]
async fn a_youtube_video_is_scheduled_in_the_browser_with_its_title_and_made_for_kids_declaration() {
    let Some(b) = Browser::start("a_youtube_video_is_scheduled").await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite, Mode::Builtin).await;
    sign_up(&b, &app, "youtube@example.com").await;
    b.goto(app.url("connect/youtube").as_str()).await;
    b.click("#continue").await;
    b.text_with("h1", "Sign in to Herald with Google").await;
    b.click("button[value='allow']").await;
    b.text_with("h1", "Connected").await;
    b.click("#back").await;
    b.text_with(".profile", "on YouTube").await;
    b.click("nav a[href='/compose']").await;
    b.keys("#file", &fixture_path("reel-720x1280-4s.mp4")).await;
    b.click("#upload").await;
    b.text_with("#media", "reel-720x1280-4s.mp4").await;
    b.fill("#text", "Shaping a batard, in four seconds.").await;
    // A title and the made-for-kids declaration are required: the live check asks for both.
    b.text_with("#problems", "made_for_kids").await;
    b.click("details.profile-tab summary").await;
    b.fill("input[id$='-title']", "Shaping a batard").await;
    b.click("select[id$='-made_for_kids'] option[value='no']").await;
    b.text_with("#problems", "can take this post").await;
    b.click("#schedule").await;
    b.text_with("h1", "Post for").await;
    let link = published_permalink(&b, &app).await;
    assert!(link.starts_with("https://www.youtube.com/watch?v="), "{link}");
    let made = app.sandbox_json("_sandbox/youtube").await;
    let v = &made["videos"][0];
    assert_eq!(
        (
            v["title"].as_str(),
            v["description"].as_str(),
            v["made_for_kids"].as_bool()
        ),
        (
            Some("Shaping a batard"),
            Some("Shaping a batard, in four seconds."),
            Some(false)
        ),
        "{made:#}"
    );
    let errors = b.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    b.quit().await;
    app.stop().await;
}

#[tokio::test]
async fn a_snapchat_saved_story_is_scheduled_in_the_browser_with_its_title_on_a_public_profile_chosen_there()
{
    let Some(b) = Browser::start("a_snapchat_saved_story_is_scheduled").await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite, Mode::Builtin).await;
    sign_up(&b, &app, "snapchat@example.com").await;
    b.goto(app.url("connect/snapchat").as_str()).await;
    b.click("#continue").await;
    b.text_with("h1", "Herald wants to access your Snapchat Public Profiles")
        .await;
    b.click("button[value='allow']").await;
    b.text_with("#message", "more account(s) can be added").await;
    b.click("#back").await;
    b.click("a.choose").await;
    b.text_with("h1", "Choose the accounts").await;
    b.click("input[name='account:snapchat:c0ffee00-5a4d-4b0c-8a11-5a4d0b0c5a01']")
        .await;
    b.click("button#make-profiles").await;
    b.text_with(".profile", "on Snapchat").await;
    // A 9:16 image, written where the browser can pick it.
    let image = std::env::temp_dir().join(format!("herald-snap-{}.png", uuid::Uuid::new_v4().simple()));
    std::fs::write(&image, crate::harness::grey_png(1080, 1920)).unwrap();
    b.click("nav a[href='/compose']").await;
    b.keys("#file", &image.to_string_lossy()).await;
    b.click("#upload").await;
    b.text_with("#media", "herald-snap-").await;
    b.click("details.profile-tab summary").await;
    b.click("select[id$='-format'] option[value='saved_story']").await;
    // A Saved Story needs its title, of at most 45 characters.
    b.text_with("#problems", "title").await;
    b.fill("input[id$='-title']", "This week's menu").await;
    b.text_with("#problems", "can take this post").await;
    b.click("#schedule").await;
    b.text_with("h1", "Post for").await;
    // Snap names no link for a Saved Story: the delivery shows published, without one.
    published_showing(&b, &app, ".status[data-status='published']").await;
    let made = app.sandbox_json("_sandbox/snapchat").await;
    assert_eq!(made["saved_stories"][0]["title"], "This week's menu", "{made:#}");
    std::fs::remove_file(&image).unwrap();
    let errors = b.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    b.quit().await;
    app.stop().await;
}

/// Moves the clocks to the post just scheduled in the browser, and returns its permalink once the
/// post's page shows it published.
async fn published_permalink(b: &Browser, app: &TestApp) -> String {
    published_showing(b, app, ".permalink").await;
    b.text_with(".permalink", "http").await
}

/// Moves the clocks to the post just scheduled in the browser, until its page shows `css`.
async fn published_showing(b: &Browser, app: &TestApp, css: &str) {
    let due = app.count("SELECT MAX(scheduled_at) FROM posts").await;
    let now = crate::harness::herald_now(app).as_microsecond();
    crate::harness::move_clocks(app, jiff::SignedDuration::from_micros(due - now)).await;
    let post_url = b.url().await;
    reload_until(b, &post_url, css).await;
}

/// Fires the HTML drag-and-drop events a person's drag makes, from the chip to the day's cell.
const DRAG: &str =
    "const [chip, cell] = [document.querySelector(arguments[0]), document.querySelector(arguments[1])];
const data = new DataTransfer();
chip.dispatchEvent(new DragEvent('dragstart', {bubbles: true, dataTransfer: data}));
cell.dispatchEvent(new DragEvent('dragover', {bubbles: true, cancelable: true, dataTransfer: data}));
cell.dispatchEvent(new DragEvent('drop', {bubbles: true, cancelable: true, dataTransfer: data}));";

#[tokio::test]
async fn a_post_scheduled_with_the_keyboard_is_dragged_to_another_day_and_hour_and_a_publishing_one_stays() {
    let Some(b) = Browser::start("a_post_is_dragged_on_the_calendar").await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite, Mode::Builtin).await;
    // Herald's clock moves to a Wednesday at 10:00 UTC, so the composer's default time (two hours
    // on) and the next day are in one week's view.
    let now = crate::harness::herald_now(&app);
    let today = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    let ahead = (3 - i64::from(today.weekday().to_monday_zero_offset()) + 7) % 7 + 7;
    let wednesday = (today + jiff::ToSpan::days(ahead))
        .at(10, 0, 0, 0)
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp();
    crate::harness::move_clocks(&app, wednesday.duration_since(now)).await;
    sign_up(&b, &app, "drag@example.com").await;
    connect_instagram(&b, &app, &[]).await;
    b.goto(app.url("compose").as_str()).await;
    b.keys("#file", &fixture_path("square-1080.jpg")).await;
    // The keyboard only: keys into the fields, Enter on the buttons.
    b.keys("#upload", "\u{E007}").await;
    b.text_with("#media", "square-1080.jpg").await;
    b.keys("#text", "Moved by dragging").await;
    let date = b.value("#date").await;
    let hour = b.value("#time").await[..2].to_owned();
    assert_eq!(hour, "12", "the default is two hours on");
    b.keys("#schedule", "\u{E007}").await;
    b.text_with("h1", "Post for").await;
    let id = b.url().await.rsplit('/').next().unwrap().to_owned();
    let day: jiff::civil::Date = date.parse().unwrap();
    let next = day + jiff::ToSpan::days(1);
    b.goto(app.url(&format!("calendar?view=week&date={date}")).as_str())
        .await;
    b.text_with(&format!("#chip-{id}"), "Moved by dragging").await;
    // To the next day, same hour; then to 15:00 that day.
    for (to_day, to_hour) in [(next, "12"), (next, "15")] {
        let cell = format!("td[data-date='{to_day}'][data-hour='{to_hour}']");
        b.run(DRAG, serde_json::json!([format!("#chip-{id}"), cell]))
            .await;
        // The move is done once the page says so (the drop's request runs after the events).
        b.text_with("#move-status", &format!("Moved to {to_day} at {to_hour}"))
            .await;
        b.goto(app.url(&format!("calendar?view=week&date={date}")).as_str())
            .await;
        b.text_with(&format!("{cell} #chip-{id}"), "Moved").await;
    }
    b.goto(app.url(&format!("posts/{id}")).as_str()).await;
    b.text_with("h1", &format!("{}, 15:00 (UTC)", next.strftime("%-d %b %Y")))
        .await;
    // A post that started publishing is not movable: its drag is refused and the chip goes home.
    app.tamper("UPDATE deliveries SET status = 'publishing'").await;
    b.goto(app.url(&format!("calendar?view=week&date={date}")).as_str())
        .await;
    b.text_with(&format!("#chip-{id}"), "Moved").await;
    b.run(
        "document.querySelector(arguments[0]).setAttribute('draggable', 'true');",
        serde_json::json!([format!("#chip-{id}")]),
    )
    .await;
    b.run(
        DRAG,
        serde_json::json!([
            format!("#chip-{id}"),
            format!("td[data-date='{date}'][data-hour='12']")
        ]),
    )
    .await;
    let said = b.text_with("#move-error", "already started").await;
    assert!(said.contains("can no longer be edited"), "{said}");
    assert!(
        b.has(&format!("td[data-date='{next}'][data-hour='15'] #chip-{id}"))
            .await,
        "the chip returned to its day and hour"
    );
    b.quit().await;
    app.stop().await;
}

#[tokio::test]
async fn every_page_passes_an_axe_scan_with_no_serious_or_critical_violation() {
    let Some(axe) = crate::browser::axe_source("every_page_passes_an_axe_scan") else {
        return;
    };
    let Some(b) = Browser::start("every_page_passes_an_axe_scan").await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite, Mode::Builtin).await;
    let mut found = Vec::new();
    let scan = async |b: &Browser, what: &str, found: &mut Vec<String>| {
        found.extend(b.axe(&axe).await.into_iter().map(|v| format!("{what}: {v}")));
    };
    b.goto(app.url("").as_str()).await;
    scan(&b, "sign-in", &mut found).await;
    b.goto(app.url("signup").as_str()).await;
    scan(&b, "sign-up", &mut found).await;
    sign_up(&b, &app, "a11y@example.com").await;
    scan(&b, "empty dashboard", &mut found).await;
    b.goto(app.url("compose").as_str()).await;
    scan(&b, "composer without profiles", &mut found).await;
    b.goto(app.url("connect/instagram").as_str()).await;
    scan(&b, "connect review", &mut found).await;
    connect_instagram(&b, &app, &["instagram_business_manage_comments"]).await;
    scan(&b, "profiles", &mut found).await;
    b.goto(app.url("connect/facebook").as_str()).await;
    b.click("#continue").await;
    b.click("button[value='allow']").await;
    b.click("#back").await;
    b.click("a.choose").await;
    b.text_with("h1", "Choose the accounts").await;
    scan(&b, "choose accounts", &mut found).await;
    b.goto(app.url("compose").as_str()).await;
    b.keys("#file", &fixture_path("square-1080.jpg")).await;
    b.click("#upload").await;
    b.text_with("#media", "square-1080.jpg").await;
    b.fill("#text", &"a".repeat(2210)).await;
    b.text_with("#text-error", "Shorten it").await;
    scan(&b, "composer with a problem", &mut found).await;
    b.fill("#text", "Accessible").await;
    b.text_with("#problems", "can take this post").await;
    b.click("#schedule").await;
    b.text_with("h1", "Post for").await;
    scan(&b, "post page", &mut found).await;
    let date = b.value("#date").await;
    b.goto(app.url(&format!("calendar?date={date}")).as_str()).await;
    scan(&b, "calendar month", &mut found).await;
    b.goto(app.url(&format!("calendar?view=week&date={date}")).as_str())
        .await;
    scan(&b, "calendar week", &mut found).await;
    b.goto(app.url("posts").as_str()).await;
    scan(&b, "posts list", &mut found).await;
    b.goto(app.url("").as_str()).await;
    scan(&b, "dashboard", &mut found).await;
    b.goto(app.url("no/such/page").as_str()).await;
    scan(&b, "404 page", &mut found).await;
    b.goto(app.url("settings").as_str()).await;
    b.fill("#token-name", "a11y").await;
    b.click("#make-token").await;
    b.text_with("#new-token", "hrld_").await;
    scan(&b, "settings with a new token", &mut found).await;
    b.goto(app.url("audit").as_str()).await;
    b.text_with("#audit-list", "workspace.created").await;
    scan(&b, "audit log", &mut found).await;
    b.goto(app.url("instance/audit").as_str()).await;
    b.text_with("#audit-list", "instance.claimed").await;
    scan(&b, "instance audit log", &mut found).await;
    for (page, title, name) in [
        ("settings/two-factor", "Two-factor sign-in", "two-factor sign-in"),
        ("workspace/settings", "Settings of", "workspace settings"),
        ("account/delete", "Delete your account?", "account deletion"),
    ] {
        b.goto(app.url(page).as_str()).await;
        b.text_with("h1", title).await;
        scan(&b, name, &mut found).await;
    }
    b.goto(app.url("members").as_str()).await;
    b.fill("#invite-email", "colleague@example.com").await;
    b.click("#invite").await;
    b.text_with("#invite-link", "/invitations/").await;
    scan(&b, "members with an invitation", &mut found).await;
    b.goto(app.url("profiles").as_str()).await;
    b.click("a.disconnect").await;
    b.text_with("#does-not", "stay").await;
    scan(&b, "disconnect confirmation", &mut found).await;
    b.click("#confirm-disconnect").await;
    b.text_with("h1", "is disconnected").await;
    scan(&b, "disconnected", &mut found).await;
    assert!(found.is_empty(), "axe found: {found:#?}");
    b.quit().await;
    app.stop().await;
}
