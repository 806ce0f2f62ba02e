//! The sandbox's Instagram refuses what Instagram refuses, with Instagram's status and error body.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use herald_sandbox::{Sandbox, SandboxConfig};
use jiff::SignedDuration;
use serde_json::Value;

mod common;
use common::{fixture, graph_error, serve, serve_media};

const ACCOUNT: &str = "17841400000000001";
const REDIRECT: &str = "http://127.0.0.1:9/cb";

struct Ig {
    sb: Sandbox,
    base: String,
    image_url: String,
    http: reqwest::Client,
}

async fn start() -> Ig {
    let sb = Sandbox::new(SandboxConfig {
        processing_delay: Duration::from_secs(60),
        ..SandboxConfig::default()
    });
    sb.allow_instagram_redirect(REDIRECT);
    let base = serve(sb.router()).await;
    let jpeg = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/square-1080.jpg"
    ))
    .unwrap();
    let images = serve_media(
        &sb,
        Router::new()
            .route("/square.jpg", get(move || async move { jpeg.clone() }))
            .route("/page.jpg", get(|| async { "<html>not an image</html>" }))
            .route("/late.mp4", get(|| async { fixture("reel-no-faststart-2s.mp4") }))
            .route("/reel.mp4", get(|| async { fixture("reel-720x1280-4s.mp4") })),
    )
    .await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Ig {
        sb,
        base,
        image_url: format!("{images}/square.jpg"),
        http,
    }
}

impl Ig {
    /// Consents with `scopes` and returns the authorization code.
    async fn code(&self, scopes: &[&str]) -> String {
        let app = self.sb.config().instagram_app;
        let mut form = vec![
            ("client_id", app.client_id.as_str()),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("state", "s1"),
            ("account", ACCOUNT),
            ("decision", "allow"),
        ];
        form.extend(scopes.iter().map(|s| ("scope", *s)));
        let r = self
            .http
            .post(format!("{}/www.instagram.com/oauth/authorize", self.base))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let loc = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
        assert_eq!(loc.fragment(), Some("_"), "Instagram appends #_");
        loc.query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned()
    }

    async fn exchange(&self, code: &str) -> (u16, Value) {
        let app = self.sb.config().instagram_app;
        let r = self
            .http
            .post(format!("{}/api.instagram.com/oauth/access_token", self.base))
            .form(&[
                ("client_id", app.client_id.as_str()),
                ("client_secret", app.client_secret.as_str()),
                ("grant_type", "authorization_code"),
                ("redirect_uri", REDIRECT),
                ("code", code),
            ])
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// A long-lived token with `scopes`.
    async fn token(&self, scopes: &[&str]) -> String {
        let code = self.code(scopes).await;
        let short = self.exchange(&code).await.1["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let secret = self.sb.config().instagram_app.client_secret;
        let (s, long) = self
            .graph_get(
                &format!(
                    "access_token?grant_type=ig_exchange_token&client_secret={secret}&access_token={short}"
                ),
                None,
            )
            .await;
        assert_eq!(s, 200, "{long}");
        assert_eq!(long["token_type"], "bearer");
        long["access_token"].as_str().unwrap().to_owned()
    }

    /// What the sandbox's control API answers at `path` (`_sandbox/…`).
    async fn control_json(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}/{path}", self.base))
            .send()
            .await
            .unwrap();
        r.json().await.unwrap()
    }

    /// Publishes the square image with `caption` (a container, its processing, `media_publish`);
    /// returns the media id.
    async fn publish_image(&self, token: &str, caption: &str) -> Value {
        let (_, c) = self
            .graph_post(
                &format!("{ACCOUNT}/media"),
                token,
                &[("image_url", self.image_url.as_str()), ("caption", caption)],
            )
            .await;
        self.sb.clock().advance(SignedDuration::from_secs(61)).unwrap();
        let (s, m) = self
            .graph_post(
                &format!("{ACCOUNT}/media_publish"),
                token,
                &[("creation_id", c["id"].as_str().unwrap())],
            )
            .await;
        assert_eq!(s, 200, "{m}");
        m["id"].clone()
    }

    async fn graph_get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut r = self.http.get(format!("{}/graph.instagram.com/{path}", self.base));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let r = r.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn graph_post(&self, path: &str, token: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let mut form: Vec<(&str, &str)> = form.to_vec();
        form.push(("access_token", token));
        let r = self
            .http
            .post(format!("{}/graph.instagram.com/v24.0/{path}", self.base))
            .form(&form)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }
}

const ALL: &[&str] = &["instagram_business_basic", "instagram_business_content_publish"];

#[tokio::test]
async fn an_authorization_code_works_once_and_only_with_the_same_redirect_uri() {
    let ig = start().await;
    let code = ig.code(ALL).await;
    let (s, first) = ig.exchange(&code).await;
    assert_eq!(s, 200, "{first}");
    assert_eq!(first["user_id"].as_u64(), Some(ACCOUNT.parse().unwrap()));
    assert_eq!(first["permissions"], ALL.join(","));
    let (s, again) = ig.exchange(&code).await;
    assert_eq!(
        (s, again["error_type"].as_str(), again["code"].as_i64()),
        (400, Some("OAuthException"), Some(400))
    );
    assert_eq!(again["error_message"], "This authorization code has been used");
    let r = ig.http.get(format!("{}/www.instagram.com/oauth/authorize?client_id=990000000000001&redirect_uri=http://evil.example/cb&response_type=code&scope=instagram_business_basic", ig.base)).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("Invalid redirect_uri"));
}

#[tokio::test]
async fn bad_expired_and_revoked_tokens_get_code_190() {
    let ig = start().await;
    let token = ig.token(ALL).await;
    let (s, me) = ig
        .graph_get("v24.0/me?fields=user_id,username", Some(&token))
        .await;
    assert_eq!(
        (s, me["user_id"].as_str(), me["username"].as_str()),
        (200, Some(ACCOUNT), Some("sandbox_creator"))
    );
    let (s, e) = ig.graph_get("v24.0/me", Some("IGAAnot-a-token")).await;
    assert_eq!((s, graph_error(&e).0), (400, 190));
    let (s, e) = ig.graph_get("v24.0/me", None).await;
    assert_eq!((s, graph_error(&e).0), (400, 2500));
    ig.sb
        .clock()
        .advance(SignedDuration::from_hours(24 * 61))
        .unwrap();
    let (_, e) = ig.graph_get("v24.0/me", Some(&token)).await;
    assert_eq!(graph_error(&e), (190, Some(463)));
    let fresh = start().await;
    let token = fresh.token(ALL).await;
    let r = fresh
        .http
        .post(format!(
            "{}/_sandbox/instagram/accounts/{ACCOUNT}/revoke",
            fresh.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, e) = fresh.graph_get("v24.0/me", Some(&token)).await;
    assert_eq!(graph_error(&e), (190, Some(458)));
}

#[tokio::test]
async fn a_long_lived_token_refreshes_only_once_a_day_old() {
    let ig = start().await;
    let token = ig.token(ALL).await;
    let path = format!("refresh_access_token?grant_type=ig_refresh_token&access_token={token}");
    let (s, e) = ig.graph_get(&path, None).await;
    assert_eq!((s, graph_error(&e).0), (400, 100));
    assert!(e["error"]["message"].as_str().unwrap().contains("24 hours"));
    ig.sb.clock().advance(SignedDuration::from_hours(25)).unwrap();
    let (s, fresh) = ig.graph_get(&path, None).await;
    assert_eq!(s, 200, "{fresh}");
    assert_eq!(fresh["expires_in"].as_i64(), Some(60 * 24 * 3600));
    assert_ne!(fresh["access_token"].as_str(), Some(token.as_str()));
}

#[tokio::test]
async fn publishing_refuses_missing_permission_foreign_accounts_unready_containers_and_bad_media() {
    let ig = start().await;
    let basic_only = ig.token(&["instagram_business_basic"]).await;
    let (s, e) = ig
        .graph_post(
            &format!("{ACCOUNT}/media"),
            &basic_only,
            &[("image_url", &ig.image_url)],
        )
        .await;
    assert_eq!((s, graph_error(&e).0), (400, 10));
    let token = ig.token(ALL).await;
    let (_, e) = ig
        .graph_post("17841400000000002/media", &token, &[("image_url", &ig.image_url)])
        .await;
    assert_eq!(graph_error(&e), (100, Some(33)));
    let (_, e) = ig
        .graph_post(&format!("{ACCOUNT}/media"), &token, &[("caption", "no image")])
        .await;
    assert_eq!(graph_error(&e).0, 100);
    let page = ig.image_url.replace("square.jpg", "page.jpg");
    let (_, e) = ig
        .graph_post(&format!("{ACCOUNT}/media"), &token, &[("image_url", &page)])
        .await;
    assert_eq!(graph_error(&e), (9004, Some(2207052)));
    let (s, c) = ig
        .graph_post(
            &format!("{ACCOUNT}/media"),
            &token,
            &[("image_url", &ig.image_url), ("caption", "hi")],
        )
        .await;
    assert_eq!(s, 200, "{c}");
    let container = c["id"].as_str().unwrap();
    let (_, status) = ig
        .graph_get(&format!("v24.0/{container}?fields=status_code"), Some(&token))
        .await;
    assert_eq!(status["status_code"], "IN_PROGRESS");
    let (_, e) = ig
        .graph_post(
            &format!("{ACCOUNT}/media_publish"),
            &token,
            &[("creation_id", container)],
        )
        .await;
    assert_eq!(graph_error(&e), (9007, Some(2207027)));
    ig.sb.clock().advance(SignedDuration::from_secs(61)).unwrap();
    let (s, published) = ig
        .graph_post(
            &format!("{ACCOUNT}/media_publish"),
            &token,
            &[("creation_id", container)],
        )
        .await;
    assert_eq!(s, 200, "{published}");
    let (_, again) = ig
        .graph_post(
            &format!("{ACCOUNT}/media_publish"),
            &token,
            &[("creation_id", container)],
        )
        .await;
    assert_eq!(
        again["id"], published["id"],
        "publishing a published container returns the same media"
    );
    let (_, quota) = ig
        .graph_get(
            &format!("v24.0/{ACCOUNT}/content_publishing_limit?fields=quota_usage,config"),
            Some(&token),
        )
        .await;
    assert_eq!(quota["data"][0]["quota_usage"], 1);
    let media = published["id"].as_str().unwrap();
    let (_, e) = ig
        .graph_get(&format!("v24.0/{media}/insights?metric=views"), Some(&token))
        .await;
    assert_eq!(
        graph_error(&e).0,
        10,
        "insights need instagram_business_manage_insights"
    );
    let insights = ig
        .token(&["instagram_business_basic", "instagram_business_manage_insights"])
        .await;
    let (s, e) = ig
        .graph_get(
            &format!("v24.0/{media}/insights?metric=impressions"),
            Some(&insights),
        )
        .await;
    assert_eq!(
        (s, graph_error(&e).0),
        (400, 100),
        "impressions was removed in 2025"
    );
    let (s, ok) = ig
        .graph_get(
            &format!("v24.0/{media}/insights?metric=views,saved"),
            Some(&insights),
        )
        .await;
    assert_eq!(s, 200, "{ok}");
    assert_eq!(
        (ok["data"][0]["name"].as_str(), ok["data"][1]["period"].as_str()),
        (Some("views"), Some("lifetime"))
    );
}

#[tokio::test]
async fn an_exhausted_business_use_case_throttles_the_account_with_usage_headers_until_it_regains_access() {
    let ig = start().await;
    let token = ig.token(ALL).await;
    let r = ig
        .http
        .post(format!("{}/_sandbox/instagram/faults", ig.base))
        .json(&serde_json::json!({"operation": "me", "minutes": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for _ in 0..2 {
        let r = ig
            .http
            .get(format!("{}/graph.instagram.com/v24.0/me", ig.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let usage: Value =
            serde_json::from_str(r.headers()["x-business-use-case-usage"].to_str().unwrap()).unwrap();
        assert!(
            usage[ACCOUNT][0]["estimated_time_to_regain_access"]
                .as_i64()
                .unwrap()
                >= 1
        );
        assert_eq!(graph_error(&r.json().await.unwrap()).0, 80002);
    }
    ig.sb.clock().advance(SignedDuration::from_mins(3)).unwrap();
    let r = ig
        .http
        .get(format!("{}/graph.instagram.com/v24.0/me", ig.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let usage: Value =
        serde_json::from_str(r.headers()["x-business-use-case-usage"].to_str().unwrap()).unwrap();
    assert_eq!(usage[ACCOUNT][0]["estimated_time_to_regain_access"], 0);
}

#[tokio::test]
async fn a_carousel_needs_two_to_ten_processed_items_and_its_items_never_publish_alone() {
    let ig = start().await;
    let token = ig.token(ALL).await;
    let form = [("image_url", ig.image_url.as_str()), ("is_carousel_item", "true")];
    let a = ig.graph_post(&format!("{ACCOUNT}/media"), &token, &form).await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = ig.graph_post(&format!("{ACCOUNT}/media"), &token, &form).await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, e) = ig
        .graph_post(
            &format!("{ACCOUNT}/media"),
            &token,
            &[("media_type", "CAROUSEL"), ("children", &a)],
        )
        .await;
    assert_eq!(graph_error(&e).0, 100, "one child is not a carousel");
    let both = format!("{a},{b}");
    let (_, e) = ig
        .graph_post(
            &format!("{ACCOUNT}/media"),
            &token,
            &[("media_type", "CAROUSEL"), ("children", &both)],
        )
        .await;
    assert_eq!(graph_error(&e), (9007, Some(2207027)), "items still processing");
    ig.sb.clock().advance(SignedDuration::from_secs(61)).unwrap();
    let (_, e) = ig
        .graph_post(
            &format!("{ACCOUNT}/media_publish"),
            &token,
            &[("creation_id", &a)],
        )
        .await;
    assert_eq!(graph_error(&e).0, 100, "an item alone is refused");
    let (s, parent) = ig
        .graph_post(
            &format!("{ACCOUNT}/media"),
            &token,
            &[
                ("media_type", "CAROUSEL"),
                ("children", &both),
                ("caption", "album"),
            ],
        )
        .await;
    assert_eq!(s, 200, "{parent}");
    ig.sb.clock().advance(SignedDuration::from_secs(61)).unwrap();
    let (s, album) = ig
        .graph_post(
            &format!("{ACCOUNT}/media_publish"),
            &token,
            &[("creation_id", parent["id"].as_str().unwrap())],
        )
        .await;
    assert_eq!(s, 200, "{album}");
    let (_, m) = ig
        .graph_get(
            &format!(
                "v24.0/{}?fields=media_type,caption",
                album["id"].as_str().unwrap()
            ),
            Some(&token),
        )
        .await;
    assert_eq!(
        (m["media_type"].as_str(), m["caption"].as_str()),
        (Some("CAROUSEL_ALBUM"), Some("album"))
    );
}

#[tokio::test]
async fn a_reel_needs_a_video_with_its_moov_atom_first() {
    let ig = start().await;
    let token = ig.token(ALL).await;
    let late = ig.image_url.replace("square.jpg", "late.mp4");
    let (s, e) = ig
        .graph_post(
            &format!("{ACCOUNT}/media"),
            &token,
            &[("media_type", "REELS"), ("video_url", &late)],
        )
        .await;
    assert_eq!((s, graph_error(&e)), (400, (36001, Some(2207026))));
    let (_, e) = ig
        .graph_post(
            &format!("{ACCOUNT}/media"),
            &token,
            &[("media_type", "REELS"), ("video_url", &ig.image_url)],
        )
        .await;
    assert_eq!(graph_error(&e), (9004, Some(2207052)), "a JPEG is not a video");
    let reel = ig.image_url.replace("square.jpg", "reel.mp4");
    let (s, c) = ig
        .graph_post(
            &format!("{ACCOUNT}/media"),
            &token,
            &[("media_type", "REELS"), ("video_url", &reel), ("caption", "r")],
        )
        .await;
    assert_eq!(s, 200, "{c}");
}

#[tokio::test]
async fn a_story_takes_one_image_or_video_and_appears_on_the_stories_edge_not_in_media() {
    let ig = start().await;
    let token = ig.token(ALL).await;
    let media = format!("{ACCOUNT}/media");
    let (_, e) = ig.graph_post(&media, &token, &[("media_type", "STORIES")]).await;
    assert_eq!(graph_error(&e).0, 100, "a story needs image_url or video_url");
    let reel = ig.image_url.replace("square.jpg", "reel.mp4");
    let (_, e) = ig
        .graph_post(
            &media,
            &token,
            &[
                ("media_type", "REELS"),
                ("video_url", &reel),
                ("is_carousel_item", "true"),
            ],
        )
        .await;
    assert_eq!(graph_error(&e).0, 100, "a reel is never a carousel item");
    let (_, e) = ig
        .graph_post(&media, &token, &[("media_type", "VIDEO"), ("video_url", &reel)])
        .await;
    assert_eq!(graph_error(&e).0, 100, "VIDEO outside a carousel is refused");
    let (s, c) = ig
        .graph_post(
            &media,
            &token,
            &[
                ("media_type", "STORIES"),
                ("image_url", &ig.image_url),
                ("caption", "ignored"),
            ],
        )
        .await;
    assert_eq!(s, 200, "{c}");
    ig.sb.clock().advance(SignedDuration::from_secs(61)).unwrap();
    let (s, story) = ig
        .graph_post(
            &format!("{ACCOUNT}/media_publish"),
            &token,
            &[("creation_id", c["id"].as_str().unwrap())],
        )
        .await;
    assert_eq!(s, 200, "{story}");
    let (_, stories) = ig
        .graph_get(
            &format!("v24.0/{ACCOUNT}/stories?fields=id,media_product_type,caption"),
            Some(&token),
        )
        .await;
    assert_eq!(stories["data"][0]["id"], story["id"]);
    assert_eq!(stories["data"][0]["media_product_type"], "STORY");
    assert_eq!(stories["data"][0]["caption"], "", "stories carry no caption");
    let (_, feed) = ig
        .graph_get(&format!("v24.0/{ACCOUNT}/media?fields=id"), Some(&token))
        .await;
    assert_eq!(
        feed["data"],
        serde_json::json!([]),
        "stories are not on the media edge"
    );
    ig.sb.clock().advance(SignedDuration::from_hours(25)).unwrap();
    let (_, stories) = ig
        .graph_get(&format!("v24.0/{ACCOUNT}/stories?fields=id"), Some(&token))
        .await;
    assert_eq!(stories["data"], serde_json::json!([]), "a story lasts 24 hours");
}

#[tokio::test]
async fn the_control_api_shows_token_fingerprints_and_never_a_token() {
    use sha2::Digest;
    let ig = start().await;
    let token = ig.token(ALL).await;
    ig.graph_get("v24.0/me?fields=user_id", Some(&token)).await;
    let mut seen = String::new();
    for path in [
        "_sandbox",
        "_sandbox/instagram/tokens",
        "_sandbox/instagram/calls",
        "_sandbox/requests",
        "_sandbox/instagram/media",
    ] {
        let r = ig.http.get(format!("{}/{path}", ig.base)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        seen.push_str(&r.text().await.unwrap());
    }
    let fingerprint: String = sha2::Sha256::digest(token.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(!seen.contains(&token), "a token value in the control API");
    assert!(seen.contains(&fingerprint), "the token's fingerprint is listed");
}

impl Ig {
    /// Queues a fault of `kind` on the next container creation.
    async fn fault_on_media(&self, kind: &str) {
        let r = self
            .http
            .post(format!("{}/_sandbox/instagram/faults", self.base))
            .json(&serde_json::json!({"operation": "media", "method": "POST", "kind": kind, "millis": 200}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }

    /// Creates an image container; the answer's body, or the transport error the caller saw.
    async fn create_container(&self, token: &str) -> Result<Value, reqwest::Error> {
        self.http
            .post(format!("{}/graph.instagram.com/v24.0/{ACCOUNT}/media", self.base))
            .form(&[("image_url", self.image_url.as_str()), ("access_token", token)])
            .send()
            .await?
            .json()
            .await
    }

    /// How many containers Instagram holds.
    async fn containers(&self) -> u64 {
        let (status, overview) = self.graph_get("../_sandbox", None).await;
        assert_eq!(status, 200);
        overview["instagram"]["containers"].as_u64().unwrap()
    }
}

#[tokio::test]
async fn faults_break_the_connection_before_or_after_performing_and_a_slow_call_still_answers() {
    let ig = start().await;
    let token = ig.token(ALL).await;
    let before = ig.containers().await;
    // Reset before anything is performed: the caller sees a broken connection, nothing is made.
    ig.fault_on_media("reset").await;
    let err = ig.create_container(&token).await.unwrap_err();
    assert!(
        !err.is_status() && !err.is_decode(),
        "the connection broke: {err:?}"
    );
    assert_eq!(ig.containers().await, before);
    // A hang ends with the connection dropped unanswered, and nothing made.
    ig.fault_on_media("hang").await;
    assert!(ig.create_container(&token).await.is_err());
    assert_eq!(ig.containers().await, before);
    // Performed, then the connection lost: the container exists, the caller never heard of it.
    ig.fault_on_media("lost_connection").await;
    assert!(ig.create_container(&token).await.is_err());
    assert_eq!(ig.containers().await, before + 1);
    // Slow: answered, late.
    ig.fault_on_media("slow").await;
    let body = ig.create_container(&token).await.unwrap();
    assert!(body["id"].is_string(), "{body}");
    assert_eq!(ig.containers().await, before + 2);
}

#[tokio::test]
async fn list_parameters_may_be_json_arrays_and_a_wrong_appsecret_proof_is_refused() {
    use hmac::{KeyInit, Mac};
    let ig = start().await;
    let token = ig.token(ALL).await;
    let form = [("image_url", ig.image_url.as_str()), ("is_carousel_item", "true")];
    let mut items = Vec::new();
    for _ in 0..2 {
        let (_, c) = ig.graph_post(&format!("{ACCOUNT}/media"), &token, &form).await;
        items.push(c["id"].as_str().unwrap().to_owned());
    }
    ig.sb.clock().advance(SignedDuration::from_secs(61)).unwrap();
    // As official SDKs send lists: a JSON array, in a JSON body.
    let r = ig
        .http
        .post(format!("{}/graph.instagram.com/v24.0/{ACCOUNT}/media", ig.base))
        .bearer_auth(&token)
        .json(&serde_json::json!({"media_type": "CAROUSEL", "children": items, "caption": "array"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let (s, e) = ig
        .graph_post(
            &format!("{ACCOUNT}/media"),
            &token,
            &[("media_type", "CAROUSEL"), ("children", "[1, {}]")],
        )
        .await;
    assert_eq!((s, graph_error(&e).0), (400, 100));
    // appsecret_proof: the right one passes, a wrong one is refused as Graph refuses it.
    let secret = ig.sb.config().instagram_app.client_secret;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(token.as_bytes());
    let proof = hex::encode(mac.finalize().into_bytes());
    let (s, me) = ig
        .graph_get(
            &format!("v24.0/me?fields=id&appsecret_proof={proof}"),
            Some(&token),
        )
        .await;
    assert_eq!(s, 200, "{me}");
    let (s, e) = ig
        .graph_get("v24.0/me?fields=id&appsecret_proof=00ff", Some(&token))
        .await;
    assert_eq!(s, 400);
    assert_eq!(graph_error(&e).0, 100);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("appsecret_proof"),
        "{e}"
    );
}

#[tokio::test]
async fn chaos_faults_a_share_of_calls_counts_them_and_publications_are_counted_by_content() {
    let ig = start().await;
    let token = ig.token(ALL).await;
    let chaos = |body: Value| {
        let http = ig.http.clone();
        let url = format!("{}/_sandbox/faults/chaos", ig.base);
        async move { http.post(url).json(&body).send().await.unwrap() }
    };
    assert_eq!(chaos(serde_json::json!({"rate": 1.5})).await.status(), 422);
    assert_eq!(
        chaos(serde_json::json!({"rate": 0.5, "kinds": ["rate_limit"]}))
            .await
            .status(),
        422
    );
    let r =
        chaos(serde_json::json!({"rate": 1.0, "kinds": ["server_error"], "method": "POST", "seed": 7})).await;
    assert_eq!(r.status(), 200);
    let (s, _) = ig
        .graph_post(
            &format!("{ACCOUNT}/media"),
            &token,
            &[("image_url", ig.image_url.as_str())],
        )
        .await;
    assert_eq!(s, 500, "every POST fails");
    let (s, _) = ig.graph_get("v24.0/me?fields=id", Some(&token)).await;
    assert_eq!(s, 200, "a GET is untouched");
    let report = ig.control_json("_sandbox/faults").await;
    assert_eq!(report["injected"]["server_error"], 1, "{report}");
    assert_eq!(
        report["calls"]["POST media"], 1,
        "each call counted once: {report}"
    );
    // Rules per method: reads can be faulted apart from writes.
    let r = chaos(serde_json::json!([
        {"rate": 0.0, "method": "POST", "kinds": ["refuse"]},
        {"rate": 1.0, "method": "GET", "kinds": ["server_error"]}
    ]))
    .await;
    assert_eq!(r.status(), 200);
    let (s, _) = ig.graph_get("v24.0/me?fields=id", Some(&token)).await;
    assert_eq!(s, 500, "a GET is faulted by its rule");
    assert_eq!(chaos(serde_json::json!({"rate": 0.0})).await.status(), 200);
    // The same content published twice is one fingerprint counted twice.
    for _ in 0..2 {
        ig.publish_image(&token, "twice").await;
    }
    let p = ig.control_json("_sandbox/publications").await;
    let twice: Vec<&Value> = p["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["message"] == "twice")
        .collect();
    assert_eq!(twice.len(), 1, "{p}");
    assert_eq!(twice[0]["count"], 2);
}

#[tokio::test]
async fn listings_are_paged_with_an_after_cursor_and_a_next_link_while_more_remain() {
    let ig = start().await;
    let token = ig.token(ALL).await;
    let mut published = Vec::new();
    for i in 0..3 {
        published.push(ig.publish_image(&token, &format!("paged {i}")).await);
    }
    let list = |after: Option<String>| {
        let mut path = format!("v24.0/{ACCOUNT}/media?fields=id&limit=2");
        if let Some(a) = after {
            path.push_str(&format!("&after={a}"));
        }
        let (ig, token) = (&ig, &token);
        async move { ig.graph_get(&path, Some(token)).await }
    };
    let (s, first) = list(None).await;
    assert_eq!(s, 200, "{first}");
    let ids: Vec<&Value> = first["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["id"])
        .collect();
    assert_eq!(ids, [&published[2], &published[1]], "newest first, two to a page");
    assert!(first["paging"]["next"].is_string(), "{first}");
    let after = first["paging"]["cursors"]["after"].as_str().unwrap().to_owned();
    // A post made between two pages does not shift the next page: cursors name an entry.
    ig.publish_image(&token, "newer than the listing").await;
    let (_, second) = list(Some(after)).await;
    assert_eq!(second["data"].as_array().unwrap().len(), 1, "{second}");
    assert_eq!(second["data"][0]["id"], published[0]);
    assert!(
        second["paging"]["next"].is_null(),
        "the last page has no next: {second}"
    );
    let (s, e) = list(Some("not-a-cursor".into())).await;
    assert_eq!((s, graph_error(&e).0), (400, 100), "{e}");
}

#[tokio::test]
async fn quotas_can_be_scaled_or_switched_off_for_a_run_and_the_reported_limit_follows() {
    let ig = start().await;
    let token = ig.token(ALL).await;
    let control = |path: &str, body: Value| {
        let (http, url) = (ig.http.clone(), format!("{}/_sandbox/{path}", ig.base));
        async move { http.post(url).json(&body).send().await.unwrap().status() }
    };
    assert_eq!(
        control("instagram/quota", serde_json::json!({"total": 1})).await,
        200
    );
    ig.publish_image(&token, "the only one allowed").await;
    let try_publish = || async {
        let (_, c) = ig
            .graph_post(
                &format!("{ACCOUNT}/media"),
                &token,
                &[("image_url", ig.image_url.as_str())],
            )
            .await;
        ig.sb.clock().advance(SignedDuration::from_secs(61)).unwrap();
        ig.graph_post(
            &format!("{ACCOUNT}/media_publish"),
            &token,
            &[("creation_id", c["id"].as_str().unwrap())],
        )
        .await
    };
    let (s, e) = try_publish().await;
    assert_eq!((s, graph_error(&e).0), (400, 9), "the documented quota: {e}");
    assert_eq!(control("limits", serde_json::json!({"scale": 0})).await, 422);
    assert_eq!(control("limits", serde_json::json!({"scale": 2})).await, 200);
    let (_, limit) = ig
        .graph_get(
            &format!("v24.0/{ACCOUNT}/content_publishing_limit?fields=quota_usage,config"),
            Some(&token),
        )
        .await;
    assert_eq!(limit["data"][0]["config"]["quota_total"], 2, "{limit}");
    assert_eq!(try_publish().await.0, 200, "twice the quota");
    assert_eq!(try_publish().await.0, 400);
    assert_eq!(control("limits", serde_json::json!({"off": true})).await, 200);
    assert_eq!(try_publish().await.0, 200, "no quota at all");
}
