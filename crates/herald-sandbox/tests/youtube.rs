//! The sandbox's YouTube: Google's consent with PKCE and offline access, single-use codes, refresh
//! tokens that do not rotate and die with the grant when revoked; and the Data API refusing what
//! Google refuses (no token, a scope the method does not accept, an unknown parameter, a chunk that
//! is not a multiple of 256 KiB), the resumable protocol's `308` with `Range`, and the daily quota.

use std::time::Duration;

use base64::Engine;
use herald_sandbox::{Emulator, Sandbox, SandboxConfig};
use jiff::SignedDuration;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

mod common;
use common::serve;

const REDIRECT: &str = "http://127.0.0.1:9/oauth/youtube/callback";
const KITCHEN: &str = "UCsbxSandboxKitchen00001";
const VERIFIER: &str = "a-verifier-of-at-least-forty-three-characters-long-0123456789";
const UPLOAD: &str = "https://www.googleapis.com/auth/youtube.upload";
const READONLY: &str = "https://www.googleapis.com/auth/youtube.readonly";
/// Every chunk but the last is a multiple of this.
const K: usize = 256 * 1024;

struct Yt {
    sb: Sandbox,
    base: String,
    http: reqwest::Client,
}

async fn start() -> Yt {
    let sb = Sandbox::new(SandboxConfig {
        processing_delay: Duration::ZERO,
        ..SandboxConfig::default()
    });
    sb.allow_redirect(Emulator::Youtube, REDIRECT);
    let base = serve(sb.router()).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Yt { sb, base, http }
}

fn param(u: &url::Url, k: &str) -> Option<String> {
    u.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.into_owned())
}

impl Yt {
    /// Consents for the first channel with `scopes` (PKCE S256, offline access, `prompt=consent`);
    /// the redirect back.
    async fn consent(&self, scopes: &[&str]) -> url::Url {
        let app = self.sb.app(Emulator::Youtube);
        let challenge =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
        let mut form = vec![
            ("client_id", app.client_id.as_str()),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("state", "s1"),
            ("access_type", "offline"),
            ("prompt", "consent"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("account", KITCHEN),
            ("decision", "allow"),
        ];
        form.extend(scopes.iter().map(|s| ("scope", *s)));
        let r = self
            .http
            .post(format!("{}/accounts.google.com/o/oauth2/v2/auth", self.base))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap()
    }

    /// `POST /oauth2.googleapis.com/token` with the app's credentials and `form`.
    async fn token_request(&self, form: &[(&str, &str)]) -> (u16, Value) {
        let app = self.sb.app(Emulator::Youtube);
        let mut all = vec![
            ("client_id", app.client_id.as_str()),
            ("client_secret", app.client_secret.as_str()),
        ];
        all.extend_from_slice(form);
        let r = self
            .http
            .post(format!("{}/oauth2.googleapis.com/token", self.base))
            .form(&all)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    fn exchange<'a>(code: &'a str, verifier: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
        ];
        form.extend(verifier.map(|v| ("code_verifier", v)));
        form
    }

    /// The token endpoint's answer for a fresh consent to `scopes`.
    async fn tokens(&self, scopes: &[&str]) -> Value {
        let code = param(&self.consent(scopes).await, "code").unwrap();
        let (s, t) = self.token_request(&Self::exchange(&code, Some(VERIFIER))).await;
        assert_eq!(s, 200, "{t}");
        t
    }

    async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut r = self
            .http
            .get(format!("{}/www.googleapis.com/youtube/v3/{path}", self.base));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.unwrap()
    }
}

fn reason(e: &Value) -> (&str, &str) {
    let first = &e["error"]["errors"][0];
    (
        first["domain"].as_str().unwrap_or_default(),
        first["reason"].as_str().unwrap_or_default(),
    )
}

#[tokio::test]
async fn the_api_refuses_a_missing_token_a_scope_the_method_does_not_take_and_an_unknown_parameter() {
    let yt = start().await;
    let r = yt.get("channels?part=snippet&mine=true", None).await;
    assert_eq!(r.status(), 401);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(
        challenge.starts_with("Bearer realm=\"https://accounts.google.com/\""),
        "{challenge}"
    );
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["status"], "UNAUTHENTICATED", "{e}");
    assert_eq!(reason(&e), ("global", "authError"));

    // youtube.upload is taken by videos.insert and thumbnails.set only.
    let t = yt.tokens(&[UPLOAD]).await;
    let upload_only = t["access_token"].as_str().unwrap();
    let r = yt.get("channels?part=snippet&mine=true", Some(upload_only)).await;
    assert_eq!(r.status(), 403);
    let e: Value = r.json().await.unwrap();
    assert_eq!(reason(&e), ("global", "insufficientPermissions"), "{e}");

    let t = yt.tokens(&[READONLY]).await;
    let token = t["access_token"].as_str().unwrap();
    let r = yt
        .get("channels?part=snippet&mine=true&publishAfter=x", Some(token))
        .await;
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Unknown name \"publishAfter\""),
        "{e}"
    );
    let r = yt.get("channels?mine=true", Some(token)).await;
    let e: Value = r.json().await.unwrap();
    assert_eq!(
        (reason(&e).1, e["error"]["message"].as_str()),
        ("required", Some("Required parameter: part"))
    );

    let r = yt
        .get("channels?part=snippet,contentDetails&mine=true", Some(token))
        .await;
    assert_eq!(r.status(), 200);
    let list: Value = r.json().await.unwrap();
    let channel = &list["items"][0];
    assert_eq!(
        (channel["id"].as_str(), channel["snippet"]["title"].as_str()),
        (Some(KITCHEN), Some("Sandbox Kitchen"))
    );
    assert_eq!(
        channel["contentDetails"]["relatedPlaylists"]["uploads"],
        "UUsbxSandboxKitchen00001"
    );
    assert!(channel.get("statistics").is_none(), "only the parts asked for");
}

#[tokio::test]
async fn a_code_works_once_and_only_with_its_pkce_verifier() {
    let yt = start().await;
    let back = yt.consent(&[READONLY]).await;
    assert_eq!(param(&back, "state").as_deref(), Some("s1"));
    assert_eq!(
        param(&back, "scope").as_deref(),
        Some(READONLY),
        "Google names the scopes granted"
    );
    let code = param(&back, "code").unwrap();
    let (s, e) = yt.token_request(&Yt::exchange(&code, None)).await;
    assert_eq!(
        (s, e["error_description"].as_str()),
        (400, Some("Missing code verifier.")),
        "{e}"
    );
    let (s, e) = yt
        .token_request(&Yt::exchange(&code, Some("not-the-verifier")))
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")), "{e}");
    let (s, t) = yt.token_request(&Yt::exchange(&code, Some(VERIFIER))).await;
    assert_eq!(s, 200, "{t}");
    let (s, e) = yt.token_request(&Yt::exchange(&code, Some(VERIFIER))).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "a code is single-use: {e}"
    );
}

#[tokio::test]
async fn a_refresh_gives_no_new_refresh_token_and_revoking_ends_the_grant() {
    let yt = start().await;
    let t = yt.tokens(&[READONLY]).await;
    assert_eq!(
        (t["expires_in"].as_i64(), t["token_type"].as_str()),
        (Some(3599), Some("Bearer"))
    );
    let refresh = t["refresh_token"].as_str().unwrap().to_owned();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
    ];
    let (s, renewed) = yt.token_request(&form).await;
    assert_eq!(s, 200, "{renewed}");
    assert!(
        renewed.get("refresh_token").is_none(),
        "Google's refresh tokens do not rotate: {renewed}"
    );
    assert_eq!(renewed["scope"], READONLY);
    let (s, again) = yt.token_request(&form).await;
    assert_eq!(s, 200, "the same refresh token still works: {again}");
    let access = again["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        yt.get("channels?part=id&mine=true", Some(&access)).await.status(),
        200
    );

    let r = yt
        .http
        .post(format!("{}/oauth2.googleapis.com/revoke", yt.base))
        .form(&[("token", refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (s, e) = yt.token_request(&form).await;
    assert_eq!(
        (s, e["error"].as_str(), e["error_description"].as_str()),
        (
            400,
            Some("invalid_grant"),
            Some("Token has been expired or revoked.")
        ),
        "{e}"
    );
    let r = yt.get("channels?part=id&mine=true", Some(&access)).await;
    assert_eq!(r.status(), 401, "the grant's access tokens die with it");
}

#[tokio::test]
async fn a_resumable_upload_takes_256_kib_chunks_answers_308_with_range_and_ends_with_the_video() {
    let yt = start().await;
    let t = yt.tokens(&[UPLOAD, READONLY]).await;
    let token = t["access_token"].as_str().unwrap();
    let total = 2 * K + 1000;
    let mut video = b"\0\0\0\x18ftypmp42".to_vec();
    video.resize(total, 7);
    let metadata = json!({"snippet": {"title": "Bread", "description": "Crumb.", "tags": ["bread"],
        "categoryId": "26"}, "status": {"privacyStatus": "unlisted", "selfDeclaredMadeForKids": false}});
    let r = yt
        .http
        .post(format!(
            "{}/www.googleapis.com/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status",
            yt.base
        ))
        .bearer_auth(token)
        .header("x-upload-content-length", total.to_string())
        .header("x-upload-content-type", "video/mp4")
        .json(&metadata)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let session = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        session.starts_with(&format!(
            "{}/www.googleapis.com/upload/youtube/v3/videos?",
            yt.base
        )),
        "{session}"
    );
    let put = |range: String, body: &[u8]| {
        let body = body.to_vec();
        yt.http
            .put(&session)
            .header("content-range", range)
            .body(body)
            .send()
    };
    let r = put(format!("bytes */{total}"), &[]).await.unwrap();
    assert_eq!(r.status().as_u16(), 308);
    assert!(r.headers().get("range").is_none(), "nothing received yet");

    let r = put(format!("bytes 0-99999/{total}"), &video[..100_000])
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        400,
        "not a multiple of 256 KiB, and not the last chunk"
    );
    let r = put(format!("bytes 0-{}/{total}", 2 * K - 1), &video[..2 * K])
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 308);
    assert_eq!(r.headers()["range"], format!("bytes=0-{}", 2 * K - 1).as_str());
    let r = put(format!("bytes */{total}"), &[]).await.unwrap();
    assert_eq!(
        (r.status().as_u16(), r.headers()["range"].to_str().unwrap()),
        (308, format!("bytes=0-{}", 2 * K - 1).as_str()),
        "the session says where it stands"
    );

    let r = put(format!("bytes {}-{}/{total}", 2 * K, total - 1), &video[2 * K..])
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let id = v["id"].as_str().unwrap().to_owned();
    assert_eq!((v["kind"].as_str(), id.len()), (Some("youtube#video"), 11), "{v}");
    assert_eq!(v["status"]["uploadStatus"], "uploaded", "{v}");
    assert_eq!(v["status"]["privacyStatus"], "unlisted", "{v}");
    let r = put(format!("bytes */{total}"), &[]).await.unwrap();
    let again: Value = r.json().await.unwrap();
    assert_eq!(
        again["id"],
        id.as_str(),
        "a finished session answers its video again"
    );

    let r = yt
        .get(
            "playlistItems?part=contentDetails&playlistId=UUsbxSandboxKitchen00001",
            Some(token),
        )
        .await;
    let items: Value = r.json().await.unwrap();
    assert_eq!(
        items["items"][0]["contentDetails"]["videoId"],
        id.as_str(),
        "{items}"
    );
    let state: Value = yt
        .http
        .get(format!("{}/_sandbox/youtube", yt.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kept = &state["videos"][0];
    assert_eq!(
        kept["sha256"],
        hex::encode(Sha256::digest(&video)).as_str(),
        "{kept}"
    );
    assert_eq!(kept["upload_status"], "processed", "{kept}");
}

#[tokio::test]
async fn the_daily_quota_runs_out_and_comes_back_at_midnight_in_california() {
    let yt = start().await;
    let r = yt
        .http
        .post(format!("{}/_sandbox/youtube/app", yt.base))
        .json(&json!({"daily_units": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let t = yt.tokens(&[READONLY]).await;
    let token = t["access_token"].as_str().unwrap();
    for _ in 0..2 {
        assert_eq!(
            yt.get("channels?part=id&mine=true", Some(token)).await.status(),
            200
        );
    }
    let r = yt.get("channels?part=id&mine=true", Some(token)).await;
    assert_eq!(r.status(), 403);
    let e: Value = r.json().await.unwrap();
    assert_eq!(reason(&e), ("youtube.quota", "quotaExceeded"), "{e}");
    // A day later by any calendar (a day is at most 25 hours long).
    yt.sb.clock().advance(SignedDuration::from_hours(25)).unwrap();
    let fresh = yt.tokens(&[READONLY]).await;
    let token = fresh["access_token"].as_str().unwrap();
    assert_eq!(
        yt.get("channels?part=id&mine=true", Some(token)).await.status(),
        200
    );
}
