//! The sandbox's Facebook: Facebook Login with PKCE, Pages and their tokens, Page posts; and the
//! refusals the Graph API documents, with its status and error body.

use axum::Router;
use axum::routing::get;
use base64::Engine;
use herald_sandbox::{Sandbox, SandboxConfig};
use jiff::SignedDuration;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

mod common;
use common::{fixture, graph_error, serve, serve_media};

const REDIRECT: &str = "http://127.0.0.1:9/oauth/facebook/callback";
const USER: &str = "10000000000001";
const BAKERY: &str = "100000000000001";
const BOOKS: &str = "100000000000002";
const PUBLISH: &[&str] = &[
    "pages_show_list",
    "pages_read_engagement",
    "pages_manage_posts",
    "instagram_basic",
];
const VERIFIER: &str = "a-verifier-of-at-least-forty-three-characters-long-0123456789";

struct Fb {
    sb: Sandbox,
    base: String,
    images: String,
    http: reqwest::Client,
}

async fn start() -> Fb {
    let sb = Sandbox::new(SandboxConfig::default());
    sb.allow_facebook_redirect(REDIRECT);
    let base = serve(sb.router()).await;
    let images = serve_media(
        &sb,
        Router::new()
            .route("/square.jpg", get(|| async { fixture("square-1080.jpg") }))
            .route("/reel.mp4", get(|| async { fixture("reel-720x1280-4s.mp4") }))
            .route("/page.html", get(|| async { "<html>not an image</html>" })),
    )
    .await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Fb {
        sb,
        base,
        images,
        http,
    }
}

fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl Fb {
    /// Consents with `scopes` for `pages` (PKCE S256 with [`VERIFIER`]) and returns the code.
    async fn code(&self, scopes: &[&str], pages: &[&str]) -> String {
        let app = self.sb.config().facebook_app;
        let challenge = challenge(VERIFIER);
        let mut form = vec![
            ("client_id", app.client_id.as_str()),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("state", "s1"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("user", USER),
            ("decision", "allow"),
        ];
        form.extend(scopes.iter().map(|s| ("scope", *s)));
        form.extend(pages.iter().map(|p| ("page", *p)));
        let r = self
            .http
            .post(format!("{}/www.facebook.com/dialog/oauth", self.base))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let loc = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
        assert_eq!(loc.fragment(), Some("_=_"), "Facebook appends #_=_");
        loc.query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned()
    }

    async fn exchange(&self, code: &str, verifier: &str) -> (u16, Value) {
        let app = self.sb.config().facebook_app;
        let q = [
            ("client_id", app.client_id.as_str()),
            ("client_secret", app.client_secret.as_str()),
            ("redirect_uri", REDIRECT),
            ("code", code),
            ("code_verifier", verifier),
        ];
        let r = self
            .http
            .get(format!(
                "{}/graph.facebook.com/v24.0/oauth/access_token",
                self.base
            ))
            .query(&q)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// A long-lived user token.
    async fn user_token(&self, scopes: &[&str], pages: &[&str]) -> String {
        let code = self.code(scopes, pages).await;
        let (s, short) = self.exchange(&code, VERIFIER).await;
        assert_eq!(s, 200, "{short}");
        let app = self.sb.config().facebook_app;
        let q = [
            ("grant_type", "fb_exchange_token"),
            ("client_id", app.client_id.as_str()),
            ("client_secret", app.client_secret.as_str()),
            ("fb_exchange_token", short["access_token"].as_str().unwrap()),
        ];
        // Sent as a form body, as Herald sends it: Graph takes the token endpoint's parameters by
        // POST too, which keeps the client secret out of URLs.
        let r = self
            .http
            .post(format!(
                "{}/graph.facebook.com/v24.0/oauth/access_token",
                self.base
            ))
            .form(&q)
            .send()
            .await
            .unwrap();
        let long: Value = r.json().await.unwrap();
        assert!(long["expires_in"].as_i64().unwrap() > 50 * 24 * 3600, "{long}");
        long["access_token"].as_str().unwrap().to_owned()
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut r = self
            .http
            .get(format!("{}/graph.facebook.com/v24.0/{path}", self.base));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let r = r.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn post(&self, path: &str, token: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/graph.facebook.com/v24.0/{path}", self.base))
            .header("authorization", format!("OAuth {token}"))
            .form(form)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// Hands rupload a video's `file` (from the fixture server) with `token`, if any; returns the
    /// status and body.
    async fn rupload(&self, video: &str, token: Option<&str>, file: &str) -> (u16, Value) {
        let mut r = self
            .http
            .post(format!(
                "{}/rupload.facebook.com/video-upload/v24.0/{video}",
                self.base
            ))
            .header("file_url", format!("{}/{file}", self.images));
        if let Some(t) = token {
            r = r.header("authorization", format!("OAuth {t}"));
        }
        let r = r.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// The Page tokens of a user token, by Page id.
    async fn page_token(&self, user: &str, page: &str) -> String {
        let (_, accounts) = self.get("me/accounts?fields=id,access_token", Some(user)).await;
        accounts["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == page)
            .unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

#[tokio::test]
async fn a_grant_lists_the_chosen_pages_with_tokens_that_never_expire_and_the_linked_instagram_account() {
    let fb = start().await;
    let user = fb.user_token(PUBLISH, &[BAKERY, BOOKS]).await;
    let (s, accounts) = fb
        .get(
            "me/accounts?fields=id,name,access_token,instagram_business_account{id,username}",
            Some(&user),
        )
        .await;
    assert_eq!(s, 200, "{accounts}");
    let data = accounts["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["instagram_business_account"]["username"], "sandbox_brand");
    assert!(data[1].get("instagram_business_account").is_none());
    let page = data[0]["access_token"].as_str().unwrap().to_owned();
    fb.sb
        .clock()
        .advance(SignedDuration::from_hours(24 * 365))
        .unwrap();
    let (s, me) = fb.get("me?fields=id,name", Some(&page)).await;
    assert_eq!(
        (s, me["id"].as_str()),
        (200, Some(BAKERY)),
        "a Page token from a long-lived user token does not expire"
    );
    let (s, e) = fb.get("me", Some(&user)).await;
    assert_eq!(
        (s, graph_error(&e)),
        (400, (190, Some(463))),
        "the user token does"
    );
    let (_, perms) = fb.get("me/permissions", Some(&page)).await;
    assert!(
        perms["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["permission"] == "pages_manage_engagement" && p["status"] == "declined")
    );
}

#[tokio::test]
async fn a_code_works_once_only_with_its_pkce_verifier_and_redirect_uri() {
    let fb = start().await;
    let code = fb.code(PUBLISH, &[BAKERY]).await;
    let (s, e) = fb
        .exchange(&code, "the-wrong-verifier-the-wrong-verifier-the-wrong")
        .await;
    assert_eq!((s, graph_error(&e).0), (400, 100));
    assert!(e["error"]["message"].as_str().unwrap().contains("code verifier"));
    let (s, ok) = fb.exchange(&code, VERIFIER).await;
    assert_eq!(s, 200, "{ok}");
    assert_eq!(ok["token_type"], "bearer");
    let (_, e) = fb.exchange(&code, VERIFIER).await;
    assert_eq!(graph_error(&e), (100, Some(36009)), "a code is single-use");
    let page = fb
        .http
        .get(format!("{}/www.facebook.com/v24.0/dialog/oauth", fb.base))
        .query(&[
            ("client_id", fb.sb.config().facebook_app.client_id.as_str()),
            ("redirect_uri", "http://evil.example/cb"),
            ("response_type", "code"),
            ("scope", "pages_show_list"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 400);
    assert!(page.text().await.unwrap().contains("URL Blocked"));
}

#[tokio::test]
async fn a_page_publishes_text_links_and_several_photos_and_refuses_what_graph_refuses() {
    let fb = start().await;
    let user = fb.user_token(PUBLISH, &[BAKERY]).await;
    let page = fb.page_token(&user, BAKERY).await;
    let feed = format!("{BAKERY}/feed");
    let (s, post) = fb.post(&feed, &page, &[("message", "Fresh bread at 8")]).await;
    assert_eq!(s, 200, "{post}");
    assert!(post["id"].as_str().unwrap().starts_with(&format!("{BAKERY}_")));
    let (_, e) = fb.post(&feed, &page, &[("message", "Fresh bread at 8")]).await;
    assert_eq!(graph_error(&e).0, 506, "a duplicate of the last post");
    let (s, _) = fb
        .post(
            &feed,
            &page,
            &[("message", "Our menu"), ("link", "https://example.com/menu")],
        )
        .await;
    assert_eq!(s, 200);
    let (_, e) = fb
        .post(&feed, &page, &[("message", "x"), ("link", "not a link")])
        .await;
    assert_eq!(graph_error(&e).0, 100);
    let (_, e) = fb.post(&feed, &page, &[]).await;
    assert_eq!(graph_error(&e).0, 100, "nothing to post");
    let photo_url = format!("{}/square.jpg", fb.images);
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (s, ph) = fb
            .post(
                &format!("{BAKERY}/photos"),
                &page,
                &[("url", &photo_url), ("published", "false")],
            )
            .await;
        assert_eq!(s, 200, "{ph}");
        assert!(ph.get("post_id").is_none(), "an unpublished photo makes no post");
        ids.push(ph["id"].as_str().unwrap().to_owned());
    }
    let attached = serde_json::json!(
        ids.iter()
            .map(|id| serde_json::json!({"media_fbid": id}))
            .collect::<Vec<_>>()
    )
    .to_string();
    let (s, album) = fb
        .post(
            &feed,
            &page,
            &[("message", "Two loaves"), ("attached_media", &attached)],
        )
        .await;
    assert_eq!(s, 200, "{album}");
    let (_, e) = fb
        .post(
            &feed,
            &page,
            &[("message", "again"), ("attached_media", &attached)],
        )
        .await;
    assert_eq!(graph_error(&e).0, 100, "attached photos are used up");
    let (_, e) = fb
        .post(
            &format!("{BAKERY}/photos"),
            &page,
            &[("url", &format!("{}/page.html", fb.images))],
        )
        .await;
    assert_eq!(graph_error(&e).0, 324, "not an image");
    let (s, listed) = fb
        .get(&format!("{feed}?fields=id,message,link,attachments"), Some(&page))
        .await;
    assert_eq!(s, 200);
    let listed = listed["data"].as_array().unwrap();
    assert_eq!(listed.len(), 3);
    let album = &listed[0]["attachments"]["data"][0];
    assert_eq!(album["type"], "album");
    assert_eq!(album["subattachments"]["data"].as_array().unwrap().len(), 2);
    assert_eq!(listed[1]["link"], "https://example.com/menu");
    let share = &listed[1]["attachments"]["data"][0];
    assert_eq!(
        (share["type"].as_str(), share["unshimmed_url"].as_str()),
        (Some("share"), Some("https://example.com/menu"))
    );
}

#[tokio::test]
async fn page_calls_need_a_page_token_with_its_permissions_and_an_existing_object() {
    let fb = start().await;
    let (s, e) = fb.get("me", None).await;
    assert_eq!((s, graph_error(&e).0), (400, 2500), "no token");
    let (_, e) = fb.get("me", Some("EAAnot-a-token")).await;
    assert_eq!(graph_error(&e).0, 190, "unknown token");
    let user = fb.user_token(PUBLISH, &[BAKERY]).await;
    let (_, e) = fb
        .post(&format!("{BAKERY}/feed"), &user, &[("message", "as a person")])
        .await;
    assert_eq!(graph_error(&e).0, 200, "a user token cannot post as the Page");
    let page = fb.page_token(&user, BAKERY).await;
    let (_, e) = fb
        .post(&format!("{BOOKS}/feed"), &page, &[("message", "elsewhere")])
        .await;
    assert_eq!(graph_error(&e).0, 200, "another Page's token");
    let (_, e) = fb.post("999/feed", &page, &[("message", "nowhere")]).await;
    assert_eq!(graph_error(&e), (100, Some(33)), "no such object");
    let (_, e) = fb
        .get(
            "me/accounts",
            Some(&fb.user_token(&["pages_read_engagement"], &[BAKERY]).await),
        )
        .await;
    assert_eq!(graph_error(&e).0, 10, "pages_show_list is needed to list Pages");
    let reader = fb
        .user_token(&["pages_show_list", "pages_read_engagement"], &[BAKERY])
        .await;
    let reader_page = fb.page_token(&reader, BAKERY).await;
    let (_, e) = fb
        .post(
            &format!("{BAKERY}/feed"),
            &reader_page,
            &[("message", "no publish permission")],
        )
        .await;
    assert_eq!(graph_error(&e).0, 200, "pages_manage_posts is needed to post");
    let (s, ok) = fb
        .http
        .delete(format!("{}/graph.facebook.com/v24.0/me/permissions", fb.base))
        .bearer_auth(&reader_page)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .map(|v| (200, v))
        .unwrap();
    assert_eq!((s, &ok["success"]), (200, &Value::Bool(true)));
    let (_, e) = fb.get("me", Some(&reader_page)).await;
    assert_eq!(
        graph_error(&e),
        (190, Some(458)),
        "removing the app ends every token"
    );
}

#[tokio::test]
async fn the_linked_instagram_account_answers_on_graph_facebook_com_to_its_pages_token_only() {
    let fb = start().await;
    let mut scopes = PUBLISH.to_vec();
    scopes.push("instagram_content_publish");
    let user = fb.user_token(&scopes, &[BAKERY, BOOKS]).await;
    let bakery = fb.page_token(&user, BAKERY).await;
    let books = fb.page_token(&user, BOOKS).await;
    const LINKED: &str = "17841400000000002";
    let media = format!("{LINKED}/media");
    let image = format!("{}/square.jpg", fb.images);
    let (s, c) = fb
        .post(
            &media,
            &bakery,
            &[("image_url", &image), ("caption", "via the Page")],
        )
        .await;
    assert_eq!(s, 200, "{c}");
    let (_, e) = fb.post(&media, &books, &[("image_url", &image)]).await;
    assert_eq!(
        graph_error(&e),
        (100, Some(33)),
        "another Page's token cannot reach the account"
    );
    let (_, e) = fb.post(&media, &user, &[("image_url", &image)]).await;
    assert_eq!(graph_error(&e), (100, Some(33)), "a user token is not the Page's");
    let (_, e) = fb.post(&media, "EAAnot-a-token", &[("image_url", &image)]).await;
    assert_eq!(graph_error(&e).0, 190);
    let reader = fb.user_token(PUBLISH, &[BAKERY]).await;
    let reader_page = fb.page_token(&reader, BAKERY).await;
    let (_, e) = fb.post(&media, &reader_page, &[("image_url", &image)]).await;
    assert_eq!(graph_error(&e).0, 10, "instagram_content_publish was not granted");
}

#[tokio::test]
async fn comments_and_insights_need_their_permissions_top_level_targets_and_current_metric_names() {
    let fb = start().await;
    let mut all = PUBLISH.to_vec();
    all.extend([
        "pages_read_user_content",
        "pages_manage_engagement",
        "read_insights",
    ]);
    let user = fb.user_token(&all, &[BAKERY]).await;
    let page = fb.page_token(&user, BAKERY).await;
    let (_, post) = fb
        .post(&format!("{BAKERY}/feed"), &page, &[("message", "Hello")])
        .await;
    let post = post["id"].as_str().unwrap().to_owned();
    let r = fb
        .http
        .post(format!("{}/_sandbox/facebook/posts/{post}/comments", fb.base))
        .json(&serde_json::json!({"username": "Ada", "text": "Hi!"}))
        .send()
        .await
        .unwrap();
    let comment = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, listed) = fb
        .get(
            &format!("{post}/comments?fields=id,message,from,comments{{id}}"),
            Some(&page),
        )
        .await;
    assert_eq!(s, 200, "{listed}");
    assert_eq!(listed["data"][0]["from"]["name"], "Ada");
    let (_, e) = fb.get(&format!("{post}/comments"), None).await;
    assert_eq!(graph_error(&e).0, 2500, "no token");
    let (_, e) = fb.get("999_1/comments", Some(&page)).await;
    assert_eq!(graph_error(&e), (100, Some(33)), "no such post");
    let (_, e) = fb.post(&format!("{comment}/comments"), &page, &[]).await;
    assert_eq!(graph_error(&e).0, 100, "a reply needs a message");
    let (s, reply) = fb
        .post(&format!("{comment}/comments"), &page, &[("message", "Welcome")])
        .await;
    assert_eq!(s, 200, "{reply}");
    let (_, e) = fb
        .post(
            &format!("{}/comments", reply["id"].as_str().unwrap()),
            &page,
            &[("message", "x")],
        )
        .await;
    assert_eq!(graph_error(&e).0, 100, "replies take no replies");
    let (s, ins) = fb
        .get(
            &format!("{post}/insights?metric=post_media_view,post_total_media_view_unique"),
            Some(&page),
        )
        .await;
    assert_eq!(s, 200, "{ins}");
    assert_eq!(ins["data"][0]["name"], "post_media_view");
    let (_, e) = fb
        .get(&format!("{post}/insights?metric=post_impressions"), Some(&page))
        .await;
    assert_eq!(graph_error(&e).0, 100, "impressions metrics were removed");
    let reader = fb.user_token(PUBLISH, &[BAKERY]).await;
    let reader_page = fb.page_token(&reader, BAKERY).await;
    let (_, e) = fb
        .get(
            &format!("{post}/insights?metric=post_media_view"),
            Some(&reader_page),
        )
        .await;
    assert_eq!(graph_error(&e).0, 10, "read_insights is needed");
    let (_, e) = fb
        .post(&format!("{comment}/comments"), &reader_page, &[("message", "x")])
        .await;
    assert_eq!(graph_error(&e).0, 10, "pages_manage_engagement is needed");
}

#[tokio::test]
async fn a_reel_is_started_uploaded_to_rupload_finished_once_and_published_after_processing() {
    let fb = start().await;
    let user = fb.user_token(PUBLISH, &[BAKERY]).await;
    let page = fb.page_token(&user, BAKERY).await;
    let reels = format!("{BAKERY}/video_reels");
    let (s, started) = fb.post(&reels, &page, &[("upload_phase", "start")]).await;
    assert_eq!(s, 200, "{started}");
    let video = started["video_id"].as_str().unwrap().to_owned();
    assert!(
        started["upload_url"]
            .as_str()
            .unwrap()
            .starts_with("https://rupload.facebook.com/video-upload/")
    );
    let finish = [
        ("upload_phase", "finish"),
        ("video_id", video.as_str()),
        ("video_state", "PUBLISHED"),
        ("description", "Oven"),
    ];
    let (_, e) = fb.post(&reels, &page, &finish).await;
    assert_eq!(graph_error(&e).0, 6000, "nothing was uploaded yet");
    let (s, e) = fb.rupload(&video, None, "reel.mp4").await;
    assert_eq!(s, 401, "rupload needs Authorization: OAuth");
    assert!(
        e["debug_info"]["message"].is_string(),
        "rupload's own error body: {e}"
    );
    assert_eq!(
        fb.rupload(&video, Some(&page), "square.jpg").await.0,
        400,
        "not a video"
    );
    assert_eq!(fb.rupload(&video, Some(&page), "reel.mp4").await.0, 200);
    let (s, ok) = fb.post(&reels, &page, &finish).await;
    assert_eq!((s, &ok["success"]), (200, &Value::Bool(true)));
    let (_, e) = fb.post(&reels, &page, &finish).await;
    assert_eq!(graph_error(&e).0, 100, "a video is finished once");
    let (_, status) = fb
        .get(&format!("{video}?fields=status,post_id"), Some(&page))
        .await;
    assert_eq!(status["status"]["publishing_phase"]["status"], "in_progress");
    fb.sb.clock().advance(SignedDuration::from_secs(10)).unwrap();
    let (_, status) = fb
        .get(&format!("{video}?fields=status,post_id"), Some(&page))
        .await;
    assert_eq!(status["status"]["publishing_phase"]["status"], "complete");
    assert!(status["post_id"].as_str().unwrap().starts_with(BAKERY));
    let (_, e) = fb
        .post(&reels, &page, &[("upload_phase", "finish"), ("video_id", "999")])
        .await;
    assert_eq!(graph_error(&e).0, 100, "an unknown video id");
    let (_, photo) = fb
        .post(
            &format!("{BAKERY}/photos"),
            &page,
            &[("url", &format!("{}/square.jpg", fb.images))],
        )
        .await;
    let (_, e) = fb
        .post(
            &format!("{BAKERY}/photo_stories"),
            &page,
            &[("photo_id", photo["id"].as_str().unwrap())],
        )
        .await;
    assert_eq!(graph_error(&e).0, 100, "a published photo cannot become a story");
}

#[tokio::test]
async fn every_page_call_carries_usage_headers_and_a_fault_throttles_the_page_with_code_80001() {
    let fb = start().await;
    let user = fb.user_token(PUBLISH, &[BAKERY]).await;
    let page = fb.page_token(&user, BAKERY).await;
    let r = fb
        .http
        .get(format!("{}/graph.facebook.com/v24.0/{BAKERY}?fields=id", fb.base))
        .bearer_auth(&page)
        .send()
        .await
        .unwrap();
    let app: Value = serde_json::from_str(r.headers()["x-app-usage"].to_str().unwrap()).unwrap();
    assert!(app["call_count"].is_u64());
    let buc: Value =
        serde_json::from_str(r.headers()["x-business-use-case-usage"].to_str().unwrap()).unwrap();
    assert_eq!(buc[BAKERY][0]["type"], "pages");
    let r = fb
        .http
        .post(format!("{}/_sandbox/facebook/faults", fb.base))
        .json(&serde_json::json!({"operation": "feed", "minutes": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let feed = format!("{}/graph.facebook.com/v24.0/{BAKERY}/feed", fb.base);
    let r = fb
        .http
        .post(&feed)
        .bearer_auth(&page)
        .form(&[("message", "now")])
        .send()
        .await
        .unwrap();
    let buc: Value =
        serde_json::from_str(r.headers()["x-business-use-case-usage"].to_str().unwrap()).unwrap();
    assert_eq!(buc[BAKERY][0]["estimated_time_to_regain_access"], 3);
    assert_eq!(graph_error(&r.json::<Value>().await.unwrap()).0, 80001);
    let (_, e) = fb.get(&format!("{BAKERY}?fields=id"), Some(&page)).await;
    assert_eq!(graph_error(&e).0, 80001, "the whole Page is throttled");
    fb.sb.clock().advance(SignedDuration::from_secs(181)).unwrap();
    let (s, _) = fb
        .post(&format!("{BAKERY}/feed"), &page, &[("message", "later")])
        .await;
    assert_eq!(s, 200, "access returns after the advertised time");
}

#[tokio::test]
async fn usage_headers_follow_the_quotas_scaled_or_off() {
    let fb = start().await;
    let user = fb.user_token(PUBLISH, &[BAKERY]).await;
    let page = fb.page_token(&user, BAKERY).await;
    // (app, Page) usage after each of 300 calls: one point a call to the Page, one per two calls
    // to the app, at most 100.
    let usage = |r: &reqwest::Response| {
        let read =
            |name: &str| -> Value { serde_json::from_str(r.headers()[name].to_str().unwrap()).unwrap() };
        (
            read("x-app-usage")["call_count"].as_u64().unwrap(),
            read("x-business-use-case-usage")[BAKERY][0]["call_count"]
                .as_u64()
                .unwrap(),
        )
    };
    let mut last = (0, 0);
    for _ in 0..300 {
        let r = fb
            .http
            .get(format!("{}/graph.facebook.com/v24.0/{BAKERY}?fields=id", fb.base))
            .bearer_auth(&page)
            .send()
            .await
            .unwrap();
        last = usage(&r);
    }
    assert_eq!(
        last,
        (100, 100),
        "as documented, the calls use the whole allowance"
    );
    for (limits, expected) in [
        (serde_json::json!({"scale": 10}), (15, 30)),
        (serde_json::json!({"off": true}), (0, 0)),
    ] {
        let r = fb
            .http
            .post(format!("{}/_sandbox/limits", fb.base))
            .json(&limits)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let r = fb
            .http
            .get(format!("{}/graph.facebook.com/v24.0/{BAKERY}?fields=id", fb.base))
            .bearer_auth(&page)
            .send()
            .await
            .unwrap();
        assert_eq!(usage(&r), expected, "{limits}");
    }
}

#[tokio::test]
async fn page_videos_and_video_stories_refuse_what_is_not_a_video_a_missing_url_and_the_wrong_token() {
    let fb = start().await;
    let user = fb.user_token(PUBLISH, &[BAKERY]).await;
    let page = fb.page_token(&user, BAKERY).await;
    let videos = format!("{BAKERY}/videos");
    let reel = format!("{}/reel.mp4", fb.images);
    let (_, e) = fb.post(&videos, &page, &[("description", "no file")]).await;
    assert_eq!(graph_error(&e).0, 100, "file_url is required");
    let (_, e) = fb
        .post(
            &videos,
            &page,
            &[("file_url", &format!("{}/square.jpg", fb.images))],
        )
        .await;
    assert_eq!(graph_error(&e).0, 352, "not a video");
    let (_, e) = fb.post(&videos, &user, &[("file_url", &reel)]).await;
    assert_eq!(graph_error(&e).0, 200, "a user token cannot post as the Page");
    let (s, v) = fb
        .post(
            &videos,
            &page,
            &[
                ("file_url", &reel),
                ("published", "false"),
                ("description", "Tour"),
            ],
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    let (_, status) = fb.get(&format!("{id}?fields=status"), Some(&page)).await;
    assert_eq!(
        status["status"]["publishing_phase"]["status"], "not_started",
        "unpublished until asked"
    );
    let (s, ok) = fb.post(&id, &page, &[("published", "true")]).await;
    assert_eq!((s, &ok["success"]), (200, &Value::Bool(true)));
    let (_, e) = fb.post("999", &page, &[("published", "true")]).await;
    assert_eq!(graph_error(&e), (100, Some(33)), "no such video");
    let stories = format!("{BAKERY}/video_stories");
    let (_, e) = fb.post(&stories, &page, &[]).await;
    assert_eq!(graph_error(&e).0, 100, "upload_phase is required");
    let (_, e) = fb.post(&stories, &page, &[("upload_phase", "middle")]).await;
    assert_eq!(graph_error(&e).0, 100, "upload_phase is start or finish");
}

#[tokio::test]
async fn the_dialog_the_token_endpoint_and_the_reading_endpoints_refuse_what_graph_refuses() {
    let fb = start().await;
    let app = fb.sb.config().facebook_app;
    let dialog = |q: &[(&str, &str)]| {
        let mut q: Vec<(&str, &str)> = q.to_vec();
        q.extend([("redirect_uri", REDIRECT), ("response_type", "code")]);
        fb.http
            .get(format!("{}/www.facebook.com/v24.0/dialog/oauth", fb.base))
            .query(&q)
            .send()
    };
    let r = dialog(&[("client_id", "1"), ("scope", "pages_show_list")])
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("Invalid App ID"));
    let r = dialog(&[
        ("client_id", &app.client_id),
        ("scope", "pages_show_list,publish_actions"),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Invalid Scopes: publish_actions")
    );
    let r = dialog(&[
        ("client_id", &app.client_id),
        ("scope", "pages_show_list"),
        ("code_challenge", "x"),
        ("code_challenge_method", "plain"),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), 400, "only S256");

    let code = fb.code(PUBLISH, &[BAKERY]).await;
    let token_url = format!("{}/graph.facebook.com/v24.0/oauth/access_token", fb.base);
    let exchange = |q: Vec<(&'static str, String)>| fb.http.get(&token_url).query(&q).send();
    let base = |secret: &str, redirect: &str| {
        vec![
            ("client_id", app.client_id.clone()),
            ("client_secret", secret.to_owned()),
            ("redirect_uri", redirect.to_owned()),
            ("code", code.clone()),
            ("code_verifier", VERIFIER.to_owned()),
        ]
    };
    let e: Value = exchange(base("wrong", REDIRECT))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(graph_error(&e).0, 1, "a wrong app secret");
    let e: Value = exchange(base(&app.client_secret, "http://127.0.0.1:9/elsewhere"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        graph_error(&e),
        (100, Some(36008)),
        "another redirect URI than the dialog's"
    );
    let user = {
        let ok: Value = exchange(base(&app.client_secret, REDIRECT))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ok["access_token"].as_str().unwrap().to_owned()
    };
    let (_, accounts) = fb.get("me/accounts?fields=id,access_token", Some(&user)).await;
    let page = accounts["data"][0]["access_token"].as_str().unwrap().to_owned();
    let e: Value = exchange(vec![
        ("grant_type", "fb_exchange_token".into()),
        ("client_id", app.client_id.clone()),
        ("client_secret", app.client_secret.clone()),
        ("fb_exchange_token", page.clone()),
    ])
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(graph_error(&e).0, 100, "a Page token is not exchanged");

    let (_, e) = fb.get("me/permissions", None).await;
    assert_eq!(graph_error(&e).0, 2500, "no token");
    let (_, e) = fb.get("me/accounts", Some(&page)).await;
    assert_eq!(graph_error(&e).0, 100, "a Page has no accounts edge");
    let (_, e) = fb.get(&format!("{BAKERY}/feed"), Some(&user)).await;
    assert_eq!(
        graph_error(&e),
        (100, Some(33)),
        "the feed is read with the Page's token"
    );
    let (_, e) = fb
        .post(&format!("{BAKERY}/photos"), &page, &[("caption", "no file")])
        .await;
    assert_eq!(graph_error(&e).0, 324, "a photo needs a url");
}

#[tokio::test]
async fn a_page_publishes_at_most_thirty_reels_in_twenty_four_hours() {
    let fb = start().await;
    let user = fb.user_token(PUBLISH, &[BAKERY]).await;
    let page = fb.page_token(&user, BAKERY).await;
    let reels = format!("{BAKERY}/video_reels");
    let publish = || async {
        let (_, started) = fb.post(&reels, &page, &[("upload_phase", "start")]).await;
        let video = started["video_id"].as_str().unwrap().to_owned();
        assert_eq!(fb.rupload(&video, Some(&page), "reel.mp4").await.0, 200);
        fb.post(
            &reels,
            &page,
            &[
                ("upload_phase", "finish"),
                ("video_id", &video),
                ("video_state", "PUBLISHED"),
            ],
        )
        .await
    };
    for _ in 0..30 {
        assert_eq!(publish().await.0, 200);
    }
    let (_, e) = publish().await;
    assert_eq!(graph_error(&e).0, 9, "the 31st reel of the day is refused");
    fb.sb.clock().advance(SignedDuration::from_hours(24)).unwrap();
    assert_eq!(publish().await.0, 200, "a day later there is room again");
}

/// A token's fingerprint as the control API shows it: the first 8 bytes of its SHA-256, in hex.
fn fingerprint(token: &str) -> String {
    Sha256::digest(token.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn the_control_api_shows_token_fingerprints_and_never_a_token() {
    let fb = start().await;
    let user = fb.user_token(PUBLISH, &[BAKERY]).await;
    let page = fb.page_token(&user, BAKERY).await;
    fb.post(&format!("{BAKERY}/feed"), &page, &[("message", "hello")])
        .await;
    let mut seen = String::new();
    for path in [
        "_sandbox",
        "_sandbox/facebook",
        "_sandbox/facebook/tokens",
        "_sandbox/facebook/calls",
        "_sandbox/requests",
    ] {
        let r = fb.http.get(format!("{}/{path}", fb.base)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        seen.push_str(&r.text().await.unwrap());
    }
    for token in [&user, &page] {
        assert!(!seen.contains(token.as_str()), "a token value in the control API");
        assert!(
            seen.contains(&fingerprint(token)),
            "the token's fingerprint is listed"
        );
    }
}

#[tokio::test]
async fn pages_seeded_with_chosen_tokens_publish_with_them_and_bad_tokens_are_refused() {
    let fb = start().await;
    let seed = |body: Value| {
        let r = fb
            .http
            .post(format!("{}/_sandbox/facebook/pages", fb.base))
            .json(&body)
            .send();
        async move {
            let r = r.await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let tokens = ["EAAbench-a-chosen-page-token-1", "EAAbench-a-chosen-page-token-2"];
    let (s, seeded) = seed(json!({"count": 2, "tokens": tokens})).await;
    assert_eq!(s, 200, "{seeded}");
    let pages: Vec<String> = seeded["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(pages.len(), 2);
    for (page, token) in pages.iter().zip(tokens) {
        let (s, post) = fb
            .post(&format!("{page}/feed"), token, &[("message", "seeded")])
            .await;
        assert_eq!(s, 200, "{post}");
    }
    let (_, e) = fb
        .post(
            &format!("{}/feed", pages[1]),
            tokens[0],
            &[("message", "elsewhere")],
        )
        .await;
    assert_eq!(graph_error(&e).0, 200, "a token publishes on its own Page only");
    for (body, why) in [
        (
            json!({"count": 2, "tokens": ["EAAbench-only-one-token-given"]}),
            "one token per Page",
        ),
        (json!({"count": 1, "tokens": ["short"]}), "a plausible token"),
        (
            json!({"count": 1, "tokens": ["EAAbench with spaces in it!!"]}),
            "URL-safe",
        ),
        (json!({"count": 1, "tokens": [tokens[0]]}), "a token in use"),
        (
            json!({"count": 2, "tokens": ["EAAbench-twice-the-same-token", "EAAbench-twice-the-same-token"]}),
            "the same token twice",
        ),
    ] {
        let (s, e) = seed(body).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (422, Some("invalid_tokens")),
            "{why}: {e}"
        );
    }
    let all: Value = fb
        .http
        .get(format!("{}/_sandbox/facebook", fb.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        all["pages"].as_array().unwrap().len(),
        4,
        "the two seeded Pages beside the sandbox's own, nothing added by a refusal"
    );
}

/// A listener that counts the connections made to it and never answers.
async fn tripwire() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = l.accept().await {
            c.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    (format!("http://{addr}"), count)
}

#[tokio::test]
async fn a_media_url_outside_the_trusted_origins_is_refused_without_a_connection() {
    let fb = start().await;
    let (untrusted, connections) = tripwire().await;
    let hop = untrusted.clone();
    let media = serve_media(
        &fb.sb,
        Router::new()
            .route("/square.jpg", get(|| async { fixture("square-1080.jpg") }))
            .route(
                "/hop.jpg",
                get(move || async move { axum::response::Redirect::temporary(&format!("{hop}/x.jpg")) }),
            ),
    )
    .await;
    let user = fb.user_token(PUBLISH, &[BAKERY]).await;
    let page = fb.page_token(&user, BAKERY).await;
    let photo = |url: String| {
        let page = page.clone();
        let fb = &fb;
        async move {
            let form = [("url", url.as_str()), ("published", "false")];
            fb.post(&format!("{BAKERY}/photos"), &page, &form).await
        }
    };
    let (s, ok) = photo(format!("{media}/square.jpg")).await;
    assert_eq!(s, 200, "the trusted origin serves: {ok}");
    for url in [
        format!("{untrusted}/x.jpg"),
        format!("{media}/hop.jpg"),
        "file:///etc/passwd".to_owned(),
        "ftp://127.0.0.1/x.jpg".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
    ] {
        let (s, body) = photo(url.clone()).await;
        assert_eq!(s, 400, "{url}");
        assert_eq!(graph_error(&body), (324, None), "{url}: {body}");
    }
    assert_eq!(
        connections.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing connected to the untrusted origin, directly or by redirect"
    );
}

#[tokio::test]
async fn the_clock_moved_to_its_bounds_keeps_answering() {
    let fb = start().await;
    let advance = |seconds: i64| {
        fb.http
            .post(format!("{}/_sandbox/clock/advance", fb.base))
            .json(&json!({ "seconds": seconds }))
            .send()
    };
    for huge in [i64::MAX, i64::MIN, 200 * 366 * 24 * 3600] {
        let r = advance(huge).await.unwrap();
        assert_eq!(r.status(), 422, "{huge}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "clock_out_of_range");
    }
    let limit = herald_sandbox::SandboxClock::MAX_OFFSET.as_secs();
    assert_eq!(advance(limit).await.unwrap().status(), 200, "up to the bound");
    assert_eq!(advance(1).await.unwrap().status(), 422, "not past it");
    // Everything that reads the clock still answers, a token with expiry arithmetic included.
    let user = fb.user_token(PUBLISH, &[BAKERY]).await;
    let page = fb.page_token(&user, BAKERY).await;
    assert_eq!(fb.get("me", Some(&page)).await.0, 200);
    assert_eq!(
        advance(-2 * limit).await.unwrap().status(),
        200,
        "all the way back"
    );
    assert_eq!(fb.get("me", Some(&page)).await.0, 200);
}
