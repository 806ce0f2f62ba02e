//! Pinterest API v5: OAuth (HTTP Basic client authentication at the token endpoint, 30-day access
//! tokens renewed by continuous refresh tokens that rotate), boards and sections for the composer,
//! and pins: one image or 2 to 5 images by URL, or a video (register → upload → wait for
//! `succeeded` → pin). Pin analytics become Herald's metrics; the v5 API has no comments.
//!
//! Exactly once: Pinterest takes no idempotency key, so `pin_started` is saved before
//! `POST /v5/pins`; a claim that finds it set after an interruption looks on the board for a pin
//! with everything sent, made inside the attempt's window, before it makes one.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use herald_domain::platform::{Login, Platform};

use crate::adapter::{
    Authorize, Call, Choice, CodeExchange, Connector, Exchanged, Item, Progress, PublishJob, Publisher,
    Unavailable, read_handle, saved, unreadable,
};
use crate::oauth2::Tokens;
use crate::{Grant, Metrics, PlatformError, Published, Refreshed, Step, StepContext, settle};

/// Where the adapter finds Pinterest and who it is there.
#[derive(Clone)]
pub struct PinterestConfig {
    pub client_id: String,
    pub client_secret: SecretString,
    /// `https://www.pinterest.com` (the consent page).
    pub www_base: Url,
    /// `https://api.pinterest.com` (the API and the token endpoint, under `/v5`).
    pub api_base: Url,
}

impl std::fmt::Debug for PinterestConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinterestConfig")
            .field("client_id", &self.client_id)
            .field("api_base", &self.api_base.as_str())
            .finish_non_exhaustive()
    }
}

/// Progress of one delivery's pin, saved by the dispatcher between steps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Handle {
    /// When the attempt began (Unix seconds): the earliest a published pin can carry.
    #[serde(default)]
    started_at: i64,
    /// A video's media id, saved once its bytes are uploaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    media_id: Option<String>,
    /// The video finished processing.
    #[serde(default)]
    media_ready: bool,
    /// Set (and saved) before `POST /v5/pins`.
    #[serde(default)]
    pin_started: bool,
}

/// How soon a processing video is looked at again.
const RECHECK: Duration = Duration::from_secs(2);
/// Pins per page when the board is read after an interruption (the newest first).
const PAGE: usize = 100;
/// Pages read before Herald gives up telling whether the pin was made.
const MAX_PAGES: usize = 10;
/// How long a video may stay `registered` or `processing` before Herald gives up on it (seconds).
const PROCESSING_LIMIT: i64 = 3600;
/// How far Pinterest's clock may be from Herald's when matching a pin's time (seconds).
const SKEW: i64 = 5;

#[derive(Debug, Clone)]
pub struct Pinterest {
    config: PinterestConfig,
    http: reqwest::Client,
    /// Video bytes go through a client without the total-call bound (an upload is long).
    upload: reqwest::Client,
}

/// What one pin carries, read from the job.
struct PinContent<'a> {
    board_id: &'a str,
    section_id: Option<&'a str>,
    title: Option<&'a str>,
    description: &'a str,
    link: Option<&'a str>,
    alt_text: Option<&'a str>,
    /// `image`, `multiple_images` or `video`, as Pinterest names a pin's `media.media_type`.
    media_type: &'static str,
}

impl Pinterest {
    pub fn new(config: PinterestConfig, http: reqwest::Client) -> Self {
        Self {
            config,
            http,
            upload: crate::oauth2::upload_client(),
        }
    }

    fn api(&self, path: &str) -> Url {
        let mut u = self.config.api_base.clone();
        let base = u.path().trim_end_matches('/').to_owned();
        u.set_path(&format!("{base}/v5/{path}"));
        u
    }

    async fn get(&self, url: Url, token: &SecretString) -> Result<Value, PlatformError> {
        result(crate::send(self.http.get(url).bearer_auth(token.expose_secret())).await?).await
    }

    async fn post(&self, path: &str, token: &SecretString, body: &Value) -> Result<Value, PlatformError> {
        let request = self
            .http
            .post(self.api(path))
            .bearer_auth(token.expose_secret())
            .json(body);
        result(crate::send(request).await?).await
    }

    /// The token endpoint, with the app's credentials as HTTP Basic authentication.
    async fn token_call(&self, form: &[(&str, &str)]) -> Result<Value, PlatformError> {
        let request = self
            .http
            .post(self.api("oauth/token"))
            .basic_auth(
                &self.config.client_id,
                Some(self.config.client_secret.expose_secret()),
            )
            .form(form);
        let res = crate::send(request).await?;
        let status = res.status();
        let text = res.text().await.map_err(|e| PlatformError::from_http(&e))?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        let message = body["message"].as_str().map_or_else(
            || format!("Pinterest's token endpoint answered {status}"),
            str::to_owned,
        );
        // Decided by Pinterest's code, not the status: 283 is a grant that no longer works (a
        // used, rotated or revoked refresh token, an old code); a refused client (code 2 on the
        // token endpoint) is Herald's configuration, which no reconnect mends.
        Err(match (body["code"].as_i64(), body["error"].as_str()) {
            (Some(283), _) | (_, Some("invalid_grant")) => PlatformError::TokenRevoked(message),
            _ if status.is_server_error() => PlatformError::Transient { message },
            _ if status.as_u16() == 429 => PlatformError::RateLimited {
                retry_after: None,
                until: None,
                app_wide: false,
            },
            _ if status.as_u16() == 401 || body["code"] == 2 => PlatformError::Platform {
                message: format!(
                    "Pinterest refused Herald's app credentials ({message}): check the Pinterest client id and secret"
                ),
            },
            _ => PlatformError::Platform { message },
        })
    }

    fn consent_url(&self, r: &Authorize<'_>) -> Url {
        let mut u = self.config.www_base.clone();
        let base = u.path().trim_end_matches('/').to_owned();
        u.set_path(&format!("{base}/oauth/"));
        u.query_pairs_mut()
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", r.redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", &r.scopes.join(","))
            .append_pair("state", r.state);
        u
    }

    async fn exchange_code(&self, r: CodeExchange<'_>) -> Result<Grant, PlatformError> {
        let body = self
            .token_call(&[
                ("grant_type", "authorization_code"),
                ("code", r.code),
                ("redirect_uri", r.redirect_uri),
            ])
            .await?;
        let tokens = Tokens::read(&body, r.now, "Pinterest")?;
        let me = self.get(self.api("user_account"), &tokens.access).await?;
        let account_id = me["id"].as_str().ok_or_else(|| malformed("id"))?.to_owned();
        let scopes = match body["scope"].as_str() {
            Some(s) => s
                .split([',', ' '])
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            None => r.requested.iter().map(|s| (*s).to_owned()).collect(),
        };
        Ok(Grant {
            access_token: tokens.access,
            issued_at: r.now,
            expires_at: tokens.expires_at,
            scopes,
            account_id,
            handle: me["username"].as_str().unwrap_or_default().to_owned(),
            renew: tokens.renew,
        })
    }

    async fn renew(&self, refresh: &SecretString, now: Timestamp) -> Result<Refreshed, PlatformError> {
        // `continuous_refresh=true` asks apps made before 2025-09-25 for the rotating 60-day token
        // too; newer apps get it anyway.
        let body = self
            .token_call(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.expose_secret()),
                ("continuous_refresh", "true"),
            ])
            .await?;
        Tokens::read(&body, now, "Pinterest").map(Refreshed::from)
    }

    async fn revoke_token(&self, token: &SecretString) -> Result<(), PlatformError> {
        let request = self
            .http
            .post(self.api("oauth/token/revoke"))
            .basic_auth(
                &self.config.client_id,
                Some(self.config.client_secret.expose_secret()),
            )
            .form(&[
                ("token", token.expose_secret()),
                ("token_type_hint", "access_token"),
            ]);
        let res = crate::send(request).await?;
        if res.status().is_success() {
            return Ok(());
        }
        // The endpoint revokes only system users' tokens (the spec): a person's is refused (403).
        if res.status() == reqwest::StatusCode::FORBIDDEN {
            return Err(PlatformError::Unsupported(
                "Pinterest's API revokes only the tokens of system users; to end Herald's access on Pinterest too, remove it under Settings → Security and logins → Apps on Pinterest.".into(),
            ));
        }
        result(res).await.map(|_| ())
    }

    /// Every page of a listing (`items` and a `bookmark` cursor), up to `max` items.
    async fn all(&self, path: &str, token: &SecretString, max: usize) -> Result<Vec<Value>, PlatformError> {
        let mut items = Vec::new();
        let mut bookmark: Option<String> = None;
        loop {
            let mut url = self.api(path);
            url.query_pairs_mut().append_pair("page_size", "100");
            if let Some(b) = &bookmark {
                url.query_pairs_mut().append_pair("bookmark", b);
            }
            let page = self.get(url, token).await?;
            items.extend(page["items"].as_array().cloned().unwrap_or_default());
            bookmark = page["bookmark"].as_str().map(str::to_owned);
            if bookmark.is_none() || items.len() >= max {
                return Ok(items);
            }
        }
    }

    async fn boards(&self, token: &SecretString) -> Result<Vec<Choice>, PlatformError> {
        Ok(self
            .all("boards", token, 1000)
            .await?
            .iter()
            .filter_map(|b| {
                Some(Choice {
                    id: b["id"].as_str()?.to_owned(),
                    name: b["name"].as_str().unwrap_or_default().to_owned(),
                    parent: None,
                })
            })
            .collect())
    }

    /// Every board's sections, each under its board.
    async fn sections(&self, token: &SecretString) -> Result<Vec<Choice>, PlatformError> {
        let mut out = Vec::new();
        for board in self.boards(token).await? {
            let path = format!("boards/{}/sections", board.id);
            for s in self.all(&path, token, 1000).await? {
                if let Some(id) = s["id"].as_str() {
                    out.push(Choice {
                        id: id.to_owned(),
                        name: s["name"].as_str().unwrap_or_default().to_owned(),
                        parent: Some(board.id.clone()),
                    });
                }
            }
        }
        Ok(out)
    }

    /// One step of publishing a pin; see the module docs for the order of steps.
    async fn publish_step(
        &self,
        job: &PublishJob<'_>,
        pin: &PinContent<'_>,
        handle: Handle,
        ctx: &StepContext<'_>,
    ) -> Result<Step<Handle>, PlatformError> {
        let handle = Handle {
            started_at: match handle.started_at {
                0 => ctx.now.as_second(),
                t => t,
            },
            ..handle
        };
        let video = job.items.iter().find(|i| i.video());
        if let Some(video) = video {
            let Some(media_id) = handle.media_id.clone() else {
                let media_id = self.upload_video(job.token, video).await?;
                return Ok(Step::Continue(Handle {
                    media_id: Some(media_id),
                    ..handle
                }));
            };
            if !handle.media_ready {
                let media = self
                    .get(self.api(&format!("media/{media_id}")), job.token)
                    .await?;
                return match media["status"].as_str().unwrap_or_default() {
                    "succeeded" => Ok(Step::Continue(Handle {
                        media_ready: true,
                        ..handle
                    })),
                    "registered" | "processing"
                        if ctx.now.as_second() - handle.started_at > PROCESSING_LIMIT =>
                    {
                        Err(PlatformError::ContentRejected {
                            message: "Pinterest did not finish processing the video within an hour.".into(),
                        })
                    }
                    "registered" | "processing" => Ok(Step::Park(handle, RECHECK)),
                    other => Err(PlatformError::ContentRejected {
                        message: format!("Pinterest could not process the video ({other})."),
                    }),
                };
            }
        }
        if !handle.pin_started {
            return Ok(Step::Continue(Handle {
                pin_started: true,
                ..handle
            }));
        }
        if ctx.recovering {
            let window = (handle.started_at, ctx.now.as_second());
            let found = self.find_published(job.token, pin, window).await?;
            if let Some(step) = settle(found, ctx.known) {
                return Ok(step);
            }
        }
        let source = media_source(job, handle.media_id.as_deref())?;
        let mut body = json!({
            "board_id": pin.board_id,
            "description": pin.description,
            "media_source": source,
        });
        for (k, v) in [
            ("board_section_id", pin.section_id),
            ("title", pin.title),
            ("link", pin.link),
            ("alt_text", pin.alt_text),
        ] {
            if let Some(v) = v {
                body[k] = json!(v);
            }
        }
        let created = self.post("pins", job.token, &body).await?;
        let id = created["id"].as_str().ok_or_else(|| malformed("id"))?;
        Ok(Step::Published(published(id)))
    }

    /// Registers a video, then sends its bytes (read from Herald's media link) to the upload URL
    /// Pinterest gave, with every upload parameter, as a multipart form.
    async fn upload_video(&self, token: &SecretString, video: &Item) -> Result<String, PlatformError> {
        let registered = self.post("media", token, &json!({"media_type": "video"})).await?;
        let media_id = registered["media_id"]
            .as_str()
            .ok_or_else(|| malformed("media_id"))?
            .to_owned();
        let upload_url = registered["upload_url"]
            .as_str()
            .ok_or_else(|| malformed("upload_url"))?;
        let source = crate::oauth2::open_media(&self.upload, video).await?;
        let length = source.content_length();
        let mut form = reqwest::multipart::Form::new();
        if let Some(params) = registered["upload_parameters"].as_object() {
            for (k, v) in params {
                form = form.text(k.clone(), v.as_str().unwrap_or_default().to_owned());
            }
        }
        let body = reqwest::Body::wrap_stream(source.bytes_stream());
        let part = match length {
            Some(n) => reqwest::multipart::Part::stream_with_length(body, n),
            None => reqwest::multipart::Part::stream(body),
        };
        form = form.part(
            "file",
            part.file_name("video.mp4")
                .mime_str("video/mp4")
                .expect("a MIME type"),
        );
        let res = self
            .upload
            .post(upload_url)
            .multipart(form)
            .send()
            .await
            .map_err(|e| PlatformError::from_http(&e))?;
        // Nothing is saved before the upload took, so a retry registers the video again: only a
        // file the host will never take (too large) is a refusal.
        let status = res.status();
        if status.is_success() {
            return Ok(media_id);
        }
        let said = res.text().await.unwrap_or_default();
        if status == reqwest::StatusCode::PAYLOAD_TOO_LARGE || said.contains("EntityTooLarge") {
            return Err(PlatformError::ContentRejected {
                message: "Pinterest's upload host refused the video as too large.".into(),
            });
        }
        Err(PlatformError::Transient {
            message: format!("Pinterest's upload host answered {status}"),
        })
    }

    /// Pins on the board made inside the window with everything sent. The board is read newest
    /// first, page by page, until a pin older than the window shows; a board that does not get
    /// there within [`MAX_PAGES`] is an error, never "not made".
    async fn find_published(
        &self,
        token: &SecretString,
        pin: &PinContent<'_>,
        (from, to): (i64, i64),
    ) -> Result<Vec<Published>, PlatformError> {
        let path = format!("boards/{}/pins", pin.board_id);
        let mut found = Vec::new();
        let mut bookmark: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut url = self.api(&path);
            url.query_pairs_mut().append_pair("page_size", &PAGE.to_string());
            if let Some(b) = &bookmark {
                url.query_pairs_mut().append_pair("bookmark", b);
            }
            let page = self.get(url, token).await?;
            let items = page["items"].as_array().map(Vec::as_slice).unwrap_or_default();
            let mut older = false;
            for p in items {
                let at = p["created_at"].as_str().and_then(pin_time);
                older |= at.is_some_and(|t| t < from - SKEW);
                if at.is_some_and(|t| t >= from - SKEW && t <= to + SKEW) && same_pin(p, pin) {
                    found.extend(p["id"].as_str().map(published));
                }
            }
            bookmark = page["bookmark"].as_str().map(str::to_owned);
            if older || bookmark.is_none() {
                return Ok(found);
            }
        }
        Err(PlatformError::Platform {
            message: format!(
                "Herald looked through the board's newest {} pins without reaching the time of this attempt, so it cannot tell whether the pin was made.",
                MAX_PAGES * PAGE
            ),
        })
    }

    async fn analytics(
        &self,
        token: &SecretString,
        pin: &str,
        now: Timestamp,
    ) -> Result<Metrics, PlatformError> {
        // Pinterest keeps 90 days of daily figures; a pin's lifetime totals come with them.
        let day = |t: Timestamp| jiff::tz::Offset::UTC.to_datetime(t).date().to_string();
        let mut url = self.api(&format!("pins/{pin}/analytics"));
        url.query_pairs_mut()
            .append_pair("start_date", &day(now - SignedDuration::from_hours(89 * 24)))
            .append_pair("end_date", &day(now))
            .append_pair(
                "metric_types",
                "IMPRESSION,SAVE,PIN_CLICK,OUTBOUND_CLICK,TOTAL_REACTIONS,TOTAL_COMMENTS",
            )
            .append_pair("app_types", "ALL");
        let body = self.get(url, token).await?;
        let all = &body["all"];
        let total = |name: &str| {
            all["lifetime_metrics"][name]
                .as_u64()
                .or_else(|| all["summary_metrics"][name].as_u64())
        };
        Ok(Metrics {
            views: total("IMPRESSION"),
            reach: None,
            likes: total("TOTAL_REACTIONS"),
            comments: total("TOTAL_COMMENTS"),
            saves: total("SAVE"),
            clicks: total("PIN_CLICK"),
            link_clicks: total("OUTBOUND_CLICK"),
            ..Metrics::default()
        })
    }
}

/// The pin's `media_source` for what the job carries.
fn media_source(job: &PublishJob<'_>, media_id: Option<&str>) -> Result<Value, PlatformError> {
    if let Some(media_id) = media_id {
        let mut source = json!({"source_type": "video_id", "media_id": media_id});
        match (
            job.media_option("cover_media_id"),
            job.options.get("cover_frame_s"),
        ) {
            (Some(cover), _) => source["cover_image_url"] = json!(cover),
            (None, Some(s)) => source["cover_image_key_frame_time"] = s.clone(),
            (None, None) => source["cover_image_key_frame_time"] = json!(0),
        }
        return Ok(source);
    }
    match job.items {
        [] => Err(PlatformError::ContentRejected {
            message: "A pin needs an image or a video.".into(),
        }),
        [one] => Ok(json!({"source_type": "image_url", "url": one.url})),
        several => {
            let per = |name: &str, i: usize| {
                job.options
                    .get(name)
                    .and_then(|v| v.get(i))
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
            };
            let items: Vec<Value> = several
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let mut v = json!({"url": item.url});
                    for (key, option) in [
                        ("title", "item_titles"),
                        ("description", "item_descriptions"),
                        ("link", "item_links"),
                    ] {
                        if let Some(s) = per(option, i) {
                            v[key] = json!(s);
                        }
                    }
                    v
                })
                .collect();
            Ok(json!({"source_type": "multiple_image_urls", "items": items, "index": 0}))
        }
    }
}

/// Whether a pin on the board carries everything sent: the text (line ends and surrounding white
/// space aside), title, link, alt text, section and kind of media. An empty field is no field.
fn same_pin(p: &Value, pin: &PinContent<'_>) -> bool {
    let norm = |s: &str| s.replace("\r\n", "\n").trim().to_owned();
    let field = |k: &str| p[k].as_str().map(norm).filter(|s| !s.is_empty());
    let want = |v: Option<&str>| v.map(norm).filter(|s| !s.is_empty());
    field("description") == want(Some(pin.description))
        && field("title") == want(pin.title)
        && field("link") == want(pin.link)
        && field("alt_text") == want(pin.alt_text)
        && field("board_section_id") == want(pin.section_id)
        && p["media"]["media_type"] == pin.media_type
}

fn published(id: &str) -> Published {
    Published {
        id: id.to_owned(),
        permalink: Some(format!("https://www.pinterest.com/pin/{id}/")),
    }
}

/// A pin's `created_at` (`2026-11-30T09:00:00`, UTC) in Unix seconds.
fn pin_time(s: &str) -> Option<i64> {
    let civil: jiff::civil::DateTime = s.trim_end_matches('Z').parse().ok()?;
    Some(jiff::tz::Offset::UTC.to_timestamp(civil).ok()?.as_second())
}

fn malformed(field: &str) -> PlatformError {
    PlatformError::Platform {
        message: format!("Pinterest's answer lacked `{field}`"),
    }
}

/// A Pinterest answer: the JSON body, or its `{"code","message"}` mapped into the taxonomy.
async fn result(res: reqwest::Response) -> Result<Value, PlatformError> {
    let status = res.status();
    let wait = wait_of(res.headers(), Timestamp::now());
    let text = res.text().await.map_err(|e| PlatformError::from_http(&e))?;
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(body);
    }
    let message = body["message"]
        .as_str()
        .map_or_else(|| format!("Pinterest answered {status}"), str::to_owned);
    Err(match status.as_u16() {
        429 => PlatformError::RateLimited {
            retry_after: wait,
            until: None,
            app_wide: false,
        },
        401 => PlatformError::TokenRevoked(message),
        403 => PlatformError::PermissionMissing(message),
        400 | 404 | 409 | 413 | 422 => PlatformError::ContentRejected { message },
        _ if status.is_server_error() => PlatformError::Transient { message },
        _ => PlatformError::Platform { message },
    })
}

/// How long a 429 asks to wait: `Retry-After`, else the rate-limit window's reset, in seconds
/// (a value that can only be a Unix time is read as one), never more than a day.
fn wait_of(headers: &reqwest::header::HeaderMap, now: Timestamp) -> Option<Duration> {
    let secs = ["retry-after", "x-ratelimit-reset"]
        .iter()
        .find_map(|h| headers.get(*h)?.to_str().ok()?.trim().parse::<i64>().ok())?;
    let secs = match secs {
        s if s > 1_000_000_000 => s - now.as_second(),
        s => s,
    };
    Some(Duration::from_secs(secs.clamp(0, 86_400) as u64))
}

impl Connector for Pinterest {
    fn login(&self) -> Login {
        Login::Pinterest
    }

    fn authorize_url(&self, r: &Authorize<'_>) -> Url {
        // Pinterest documents no PKCE for web apps: a challenge, if any, is not sent.
        self.consent_url(r)
    }

    fn exchange<'a>(&'a self, r: CodeExchange<'a>) -> Call<'a, Exchanged> {
        Box::pin(async move { self.exchange_code(r).await.map(Exchanged::Account) })
    }

    fn covers(&self) -> &'static str {
        "one Pinterest account"
    }

    fn refresh<'a>(
        &'a self,
        _: &'a SecretString,
        renew: Option<&'a SecretString>,
        now: Timestamp,
    ) -> Call<'a, Refreshed> {
        Box::pin(async move {
            self.renew(crate::oauth2::renew_with(renew, "Pinterest")?, now)
                .await
        })
    }

    fn revoke<'a>(&'a self, token: &'a SecretString, _: Option<&'a SecretString>) -> Call<'a, ()> {
        Box::pin(self.revoke_token(token))
    }
}

impl Publisher for Pinterest {
    fn platform(&self) -> Platform {
        Platform::Pinterest
    }

    fn start(&self, at: Timestamp) -> String {
        let h = Handle {
            started_at: at.as_second(),
            ..Handle::default()
        };
        serde_json::to_string(&h).expect("handles serialise")
    }

    fn progress(&self, handle: &str) -> Result<Progress, String> {
        let h: Handle = read_handle(handle)?;
        Ok(Progress {
            fresh: h.media_id.is_none() && !h.pin_started,
            visible_call: h.pin_started,
            partly_live: false,
        })
    }

    fn step<'a>(
        &'a self,
        job: &'a PublishJob<'a>,
        handle: &'a str,
        ctx: StepContext<'a>,
    ) -> Call<'a, Step<String>> {
        Box::pin(async move {
            let h: Handle = read_handle(handle).map_err(unreadable)?;
            let board_id = job
                .text_option("board_id")
                .ok_or_else(|| PlatformError::ContentRejected {
                    message: "A pin needs a board.".into(),
                })?;
            // An empty option is no option: it is not sent, and a pin found later has none.
            let set = |name: &str| job.text_option(name).filter(|v| !v.trim().is_empty());
            let pin = PinContent {
                board_id,
                section_id: set("board_section_id"),
                title: set("title"),
                description: job.text,
                link: set("link"),
                alt_text: set("alt_text"),
                media_type: match job.items {
                    _ if job.items.iter().any(|i| i.video()) => "video",
                    [_] => "image",
                    _ => "multiple_images",
                },
            };
            self.publish_step(job, &pin, h, &ctx).await.map(saved)
        })
    }

    fn choices<'a>(
        &'a self,
        _: Login,
        token: &'a SecretString,
        _: &'a str,
        list: &'a str,
    ) -> Call<'a, Vec<Choice>> {
        Box::pin(async move {
            match list {
                "boards" => self.boards(token).await,
                "sections" => self.sections(token).await,
                other => Err(PlatformError::Unsupported(format!(
                    "Pinterest lists no `{other}` for an account"
                ))),
            }
        })
    }

    fn comments_available(&self) -> Result<(), Unavailable> {
        Err(NO_COMMENTS)
    }

    fn metrics_available(&self) -> Result<(), Unavailable> {
        Ok(())
    }

    fn metrics<'a>(
        &'a self,
        _: Login,
        token: &'a SecretString,
        _: &'a str,
        post: &'a str,
        now: Timestamp,
    ) -> Call<'a, Metrics> {
        Box::pin(self.analytics(token, post, now))
    }
}

/// What people are told about comments on Pinterest.
const NO_COMMENTS: &str =
    "Pinterest's API has no way to read or answer comments; Herald shows their count with the pin's metrics.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_on_the_board_matches_only_with_everything_sent_empty_fields_being_none() {
        let sent = PinContent {
            board_id: "1",
            section_id: None,
            title: None,
            description: "Line one\r\nline two ",
            link: Some("https://example.com/a"),
            alt_text: None,
            media_type: "image",
        };
        let found = json!({"description": "Line one\nline two", "title": "", "link": "https://example.com/a",
            "alt_text": null, "board_section_id": null, "media": {"media_type": "image"}});
        assert!(same_pin(&found, &sent));
        let mut video = found.clone();
        video["media"]["media_type"] = json!("video");
        assert!(!same_pin(&video, &sent), "another kind of media is another pin");
        let mut titled = found.clone();
        titled["title"] = json!("A title");
        assert!(!same_pin(&titled, &sent));
        let mut sectioned = found;
        sectioned["board_section_id"] = json!("9");
        assert!(!same_pin(&sectioned, &sent));
    }

    #[test]
    fn pin_times_are_read_as_utc() {
        assert_eq!(pin_time("1970-01-01T00:01:00"), Some(60));
        assert_eq!(pin_time("not a time"), None);
    }

    #[test]
    fn the_authorize_url_has_comma_separated_scopes_and_no_pkce() {
        let p = Pinterest::new(
            PinterestConfig {
                client_id: "1".into(),
                client_secret: SecretString::from("s"),
                www_base: Url::parse("http://127.0.0.1:1/www.pinterest.com").unwrap(),
                api_base: Url::parse("http://127.0.0.1:1/api.pinterest.com").unwrap(),
            },
            crate::http_client(),
        );
        let u = p.consent_url(&Authorize {
            state: "st",
            redirect_uri: "http://h/cb",
            scopes: &["boards:read", "pins:write"],
            pkce_challenge: Some("c"),
        });
        assert_eq!(u.path(), "/www.pinterest.com/oauth/");
        assert!(u.query().unwrap().contains("scope=boards%3Aread%2Cpins%3Awrite"));
        assert!(!u.query().unwrap().contains("code_challenge"));
        assert!(!format!("{:?}", p.config).contains("\"s\""));
    }

    #[test]
    fn a_rate_limit_waits_for_retry_after_or_the_reset() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("x-ratelimit-reset", "42".parse().unwrap());
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        assert_eq!(wait_of(&h, now), Some(Duration::from_secs(42)));
        h.insert("x-ratelimit-reset", "1800000060".parse().unwrap());
        assert_eq!(wait_of(&h, now), Some(Duration::from_secs(60)), "a Unix time");
        h.insert("retry-after", "7".parse().unwrap());
        assert_eq!(wait_of(&h, now), Some(Duration::from_secs(7)));
    }
}
