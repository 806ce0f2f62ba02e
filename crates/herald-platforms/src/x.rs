//! X API v2: OAuth 2.0 with PKCE S256 (a confidential client: HTTP Basic at the token endpoint),
//! two-hour access tokens renewed with `offline.access` refresh tokens that rotate on every use,
//! revoke; posts with text, up to four images or one video (the v2 chunked media upload:
//! initialize → append → finalize → status), reply settings and alt text; metrics from
//! `public_metrics` and, for a post of the last 30 days, `non_public_metrics`; replies through recent search by `conversation_id` where the app's access
//! level allows it. Errors are RFC 7807 problems; `x-rate-limit-reset` is honoured to the second.
//!
//! A thread is published part after part, each a reply to the one before; the handle records the
//! parts published, so a crash resumes at the next part and never repeats one.
//!
//! Exactly once: X takes no idempotency key, so `post_started` is saved before each `POST
//! /2/tweets`; after an interruption the user's recent posts are read for one with the same text
//! (links aside: X rewrites them) and media (and, for a later part, replying to the part before),
//! inside the attempt's window. A duplicate-content 403 is a reason to look, never a failure by
//! itself.

use std::time::Duration;

use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use herald_domain::platform::{Login, Platform};

use crate::adapter::{
    Authorize, Call, CodeExchange, Connector, Exchanged, Item, Progress, PublishJob, Publisher, Unavailable,
    read_handle, saved, unreadable,
};
use crate::oauth2::Tokens;
use crate::{Comment, Grant, Metrics, PlatformError, Published, Refreshed, Step, StepContext, settle};

/// Where the adapter finds X and who it is there.
#[derive(Clone)]
pub struct XConfig {
    pub client_id: String,
    pub client_secret: SecretString,
    /// `https://x.com` (the consent page).
    pub www_base: Url,
    /// `https://api.x.com` (the API, the token endpoint and media uploads).
    pub api_base: Url,
}

impl std::fmt::Debug for XConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XConfig")
            .field("client_id", &self.client_id)
            .field("api_base", &self.api_base.as_str())
            .finish_non_exhaustive()
    }
}

/// Progress of one delivery's post, saved by the dispatcher between steps: the parts of a thread
/// already published, and the current part's media and marker.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Handle {
    #[serde(default)]
    started_at: i64,
    /// The ids of the parts published, in order; the current part is the next one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    posted: Vec<String>,
    /// When the current part started (seconds): its media's processing is timed from it.
    #[serde(default)]
    part_started_at: i64,
    /// The uploaded (finalized) media, in the post's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    media_ids: Vec<String>,
    /// Those X is still processing (their finalize answered with `processing_info`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    processing: Vec<String>,
    /// Every media finished processing.
    #[serde(default)]
    media_ready: bool,
    /// Set (and saved) before `POST /2/tweets`.
    #[serde(default)]
    post_started: bool,
}

/// The largest chunk appended at once (X takes up to 5 MB per append [3p]).
const CHUNK: usize = 4 * 1024 * 1024;
/// How far X's clock may be from Herald's when matching a post's time (seconds).
const SKEW: i64 = 5;
/// How long a video may process before Herald gives up on it (seconds).
const PROCESSING_LIMIT: i64 = 3600;

#[derive(Debug, Clone)]
pub struct X {
    config: XConfig,
    http: reqwest::Client,
    /// Media bytes go through a client without the total-call bound.
    upload: reqwest::Client,
}

impl X {
    pub fn new(config: XConfig, http: reqwest::Client) -> Self {
        Self {
            config,
            http,
            upload: crate::oauth2::upload_client(),
        }
    }

    fn api(&self, path: &str) -> Url {
        let mut u = self.config.api_base.clone();
        let base = u.path().trim_end_matches('/').to_owned();
        u.set_path(&format!("{base}/2/{path}"));
        u
    }

    /// A lookup: what it refuses is never the post's content.
    async fn get(&self, url: Url, token: &SecretString) -> Result<Value, PlatformError> {
        let answer = result(crate::send(self.http.get(url).bearer_auth(token.expose_secret())).await?).await;
        answer.map_err(|e| match e {
            PlatformError::ContentRejected { message } => PlatformError::Platform { message },
            e => e,
        })
    }

    async fn post(&self, path: &str, token: &SecretString, body: &Value) -> Result<Value, PlatformError> {
        let request = self
            .http
            .post(self.api(path))
            .bearer_auth(token.expose_secret())
            .json(body);
        let res = crate::send(request).await?;
        // What is left of the user's window for posts: the dispatcher paces the account by it
        // (not when the app's daily cap refused the post: the window then says nothing).
        if path == "tweets"
            && !(res.status() == reqwest::StatusCode::TOO_MANY_REQUESTS && reset_of(res.headers(), true).1)
            && let Some(headroom) = posts_left(res.headers())
        {
            crate::headroom::seen(headroom);
        }
        result(res).await
    }

    /// The token endpoints, with the app's credentials as HTTP Basic authentication.
    async fn token_call(&self, path: &str, form: &[(&str, &str)]) -> Result<Value, PlatformError> {
        let request = self
            .http
            .post(self.api(path))
            .basic_auth(
                &self.config.client_id,
                Some(self.config.client_secret.expose_secret()),
            )
            .form(form);
        let res = crate::send(request).await?;
        // A code or refresh token that no longer works (used, rotated, revoked, expired).
        let ended = ["invalid_request", "invalid_grant"];
        crate::oauth2::token_answer(res, "X", &ended, "X client id and secret").await
    }

    fn consent_url(&self, r: &Authorize<'_>) -> Url {
        let mut u = self.config.www_base.clone();
        let base = u.path().trim_end_matches('/').to_owned();
        u.set_path(&format!("{base}/i/oauth2/authorize"));
        {
            let mut q = u.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &self.config.client_id)
                .append_pair("redirect_uri", r.redirect_uri)
                .append_pair("scope", &r.scopes.join(" "))
                .append_pair("state", r.state);
            if let Some(c) = r.pkce_challenge {
                q.append_pair("code_challenge", c)
                    .append_pair("code_challenge_method", "S256");
            }
        }
        u
    }

    async fn exchange_code(&self, r: CodeExchange<'_>) -> Result<Grant, PlatformError> {
        let verifier = r.pkce_verifier.ok_or_else(|| PlatformError::Platform {
            message: "X requires PKCE, and this connection has no verifier".into(),
        })?;
        let body = self
            .token_call(
                "oauth2/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("code", r.code),
                    ("redirect_uri", r.redirect_uri),
                    ("code_verifier", verifier.expose_secret()),
                    ("client_id", &self.config.client_id),
                ],
            )
            .await?;
        let tokens = Tokens::read(&body, r.now, "X")?;
        let mut me = self.api("users/me");
        me.query_pairs_mut().append_pair("user.fields", "username");
        let me = self.get(me, &tokens.access).await?;
        let scopes = match body["scope"].as_str() {
            Some(s) => s
                .split(' ')
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
            account_id: me["data"]["id"]
                .as_str()
                .ok_or_else(|| malformed("data.id"))?
                .to_owned(),
            handle: me["data"]["username"].as_str().unwrap_or_default().to_owned(),
            renew: tokens.renew,
        })
    }

    async fn renew(&self, refresh: &SecretString, now: Timestamp) -> Result<Refreshed, PlatformError> {
        let body = self
            .token_call(
                "oauth2/token",
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.expose_secret()),
                    ("client_id", &self.config.client_id),
                ],
            )
            .await?;
        Tokens::read(&body, now, "X").map(Refreshed::from)
    }

    async fn revoke_token(&self, token: &SecretString, kind: &str) -> Result<(), PlatformError> {
        self.token_call(
            "oauth2/revoke",
            &[
                ("token", token.expose_secret()),
                ("token_type_hint", kind),
                ("client_id", &self.config.client_id),
            ],
        )
        .await
        .map(|_| ())
    }

    /// One step of publishing; see the module docs.
    async fn publish_step(
        &self,
        job: &PublishJob<'_>,
        handle: Handle,
        ctx: &StepContext<'_>,
    ) -> Result<Step<Handle>, PlatformError> {
        let now = ctx.now.as_second();
        let handle = Handle {
            started_at: match handle.started_at {
                0 => now,
                t => t,
            },
            part_started_at: match handle.part_started_at {
                0 => now,
                t => t,
            },
            ..handle
        };
        let (text, items) = part(job, handle.posted.len())?;
        if handle.media_ids.len() != items.len() {
            let (mut media_ids, mut processing) = (Vec::with_capacity(items.len()), Vec::new());
            for item in items {
                // The option's alt text describes the first part's images.
                let alt = job.text_option("alt_text").filter(|_| handle.posted.is_empty());
                let (id, processes) = self.upload(job.token, item, alt).await?;
                if processes {
                    processing.push(id.clone());
                }
                media_ids.push(id);
            }
            return Ok(Step::Continue(Handle {
                media_ids,
                processing,
                ..handle
            }));
        }
        if !handle.media_ready {
            for id in &handle.processing {
                let mut url = self.api("media/upload");
                url.query_pairs_mut()
                    .append_pair("media_id", id)
                    .append_pair("command", "STATUS");
                let status = self.get(url, job.token).await?;
                let info = &status["data"]["processing_info"];
                match info["state"].as_str() {
                    None | Some("succeeded") => {}
                    Some("pending" | "in_progress")
                        if ctx.now.as_second() - handle.part_started_at > PROCESSING_LIMIT =>
                    {
                        return Err(PlatformError::ContentRejected {
                            message: "X did not finish processing the media within an hour.".into(),
                        });
                    }
                    Some("pending" | "in_progress") => {
                        let after = info["check_after_secs"].as_u64().unwrap_or(1).clamp(1, 60);
                        return Ok(Step::Park(handle, Duration::from_secs(after)));
                    }
                    Some(other) => {
                        return Err(PlatformError::ContentRejected {
                            message: format!(
                                "X could not process the media ({other}: {}).",
                                info["error"]["message"].as_str().unwrap_or("no reason given")
                            ),
                        });
                    }
                }
            }
            return Ok(Step::Continue(Handle {
                media_ready: true,
                ..handle
            }));
        }
        if !handle.post_started {
            return Ok(Step::Continue(Handle {
                post_started: true,
                ..handle
            }));
        }
        let window = (handle.started_at, ctx.now.as_second());
        if ctx.recovering {
            let found = self.find_published(job, &handle, text, window).await?;
            if let Some(step) = settle(found, ctx.known) {
                return mid_thread(job, handle, step);
            }
        }
        let mut body = json!({ "text": text });
        if !handle.media_ids.is_empty() {
            body["media"] = json!({ "media_ids": handle.media_ids });
        }
        if let Some(who) = job.text_option("reply_settings") {
            body["reply_settings"] = json!(who);
        }
        if let Some(previous) = handle.posted.last() {
            body["reply"] = json!({ "in_reply_to_tweet_id": previous });
        }
        match self.post("tweets", job.token, &body).await {
            Ok(created) => {
                let id = created["data"]["id"]
                    .as_str()
                    .ok_or_else(|| malformed("data.id"))?;
                Ok(next_part(job, handle, Step::Published(published(id))))
            }
            // The same text as a recent post: perhaps this very post, made by a call whose
            // answer was lost. Look before saying anything.
            Err(PlatformError::ContentRejected { message }) if message.contains("duplicate") => {
                let found = self.find_published(job, &handle, text, window).await?;
                // Nothing found: an earlier call may still have made it (the person decides).
                let step = settle(found, ctx.known).ok_or(PlatformError::Platform {
                    message: format!(
                        "X refused the post as a duplicate ({message}), and no matching post was found in this attempt's window"
                    ),
                })?;
                mid_thread(job, handle, step)
            }
            Err(e) => Err(e),
        }
    }

    /// Uploads one media file through the chunked upload (images too: one path for every
    /// kind), attaching alt text to images; returns its media id, and whether X still processes it.
    async fn upload(
        &self,
        token: &SecretString,
        item: &Item,
        alt: Option<&str>,
    ) -> Result<(String, bool), PlatformError> {
        let (media_type, bytes) = crate::oauth2::fetch_media(&self.upload, item).await?;
        let category = match media_type.as_str() {
            _ if item.video() => "tweet_video",
            "image/gif" => "tweet_gif",
            _ => "tweet_image",
        };
        let init = self
            .post(
                "media/upload/initialize",
                token,
                &json!({"media_type": media_type, "total_bytes": bytes.len(), "media_category": category}),
            )
            .await?;
        let id = init["data"]["id"]
            .as_str()
            .ok_or_else(|| malformed("data.id"))?
            .to_owned();
        for (index, chunk) in bytes.chunks(CHUNK).enumerate() {
            let form = reqwest::multipart::Form::new()
                .text("segment_index", index.to_string())
                .part(
                    "media",
                    reqwest::multipart::Part::bytes(chunk.to_vec()).file_name("media"),
                );
            let request = self
                .upload
                .post(self.api(&format!("media/upload/{id}/append")))
                .bearer_auth(token.expose_secret())
                .multipart(form);
            result(request.send().await.map_err(|e| PlatformError::from_http(&e))?).await?;
        }
        let request = self
            .http
            .post(self.api(&format!("media/upload/{id}/finalize")))
            .bearer_auth(token.expose_secret());
        let finalized = result(crate::send(request).await?).await?;
        let processes = !finalized["data"]["processing_info"].is_null();
        if let Some(alt) = alt.filter(|_| !item.video()) {
            self.post(
                "media/metadata",
                token,
                &json!({"id": id, "metadata": {"alt_text": {"text": alt}}}),
            )
            .await?;
        }
        Ok((id, processes))
    }

    /// The account's posts inside the window with this text (links aside) and as many media, and
    /// for a later part of a thread, replying to the part before.
    async fn find_published(
        &self,
        job: &PublishJob<'_>,
        handle: &Handle,
        text: &str,
        (from, to): (i64, i64),
    ) -> Result<Vec<Published>, PlatformError> {
        let time = |s: i64| {
            Timestamp::from_second(s)
                .map(|t| t.to_string())
                .unwrap_or_default()
        };
        let mut url = self.api(&format!("users/{}/tweets", job.account));
        url.query_pairs_mut()
            .append_pair("max_results", "100")
            .append_pair("start_time", &time(from - SKEW))
            .append_pair("end_time", &time(to + SKEW))
            .append_pair("post.fields", "created_at,attachments")
            // What a post replies to comes with this expansion (older clients: `referenced_tweets.id`).
            .append_pair("expansions", "referenced_posts");
        let body = self.get(url, job.token).await?;
        let want = without_links(text);
        let replies_to = |p: &Value| {
            p["referenced_posts"]
                .as_array()
                .or(p["referenced_tweets"].as_array())
                .into_iter()
                .flatten()
                .find(|r| r["type"] == "replied_to")
                .and_then(|r| r["id"].as_str())
                .map(str::to_owned)
        };
        Ok(body["data"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|p| {
                let media = p["attachments"]["media_keys"].as_array().map_or(0, Vec::len);
                without_links(p["text"].as_str().unwrap_or_default()) == want
                    && media == handle.media_ids.len()
                    && replies_to(p).as_ref() == handle.posted.last()
            })
            .filter_map(|p| p["id"].as_str().map(published))
            .collect())
    }

    /// The post's public metrics and, where X allows (the author's own token, a post of the last
    /// 30 days), its non-public ones: link clicks and profile visits. X answers a post too old for
    /// them with a field-authorization error and no data; then the public ones are read alone.
    async fn metrics(&self, token: &SecretString, post: &str) -> Result<Metrics, PlatformError> {
        let fields = |fields: &str| {
            let mut url = self.api(&format!("tweets/{post}"));
            url.query_pairs_mut().append_pair("post.fields", fields);
            url
        };
        let mut body = self
            .get(fields("public_metrics,non_public_metrics"), token)
            .await?;
        if body["data"].is_null() && not_authorized_for_field(&body) {
            body = self.get(fields("public_metrics"), token).await?;
        }
        let data = &body["data"];
        if data.is_null() {
            return Err(PlatformError::Platform {
                message: body["errors"][0]["detail"]
                    .as_str()
                    .unwrap_or("X answered without the post")
                    .to_owned(),
            });
        }
        let (public, private) = (&data["public_metrics"], &data["non_public_metrics"]);
        let n = |k: &str| public[k].as_u64();
        Ok(Metrics {
            views: n("impression_count"),
            likes: n("like_count"),
            comments: n("reply_count"),
            shares: match (n("retweet_count"), n("quote_count")) {
                (None, None) => None,
                (r, q) => Some(r.unwrap_or(0) + q.unwrap_or(0)),
            },
            saves: n("bookmark_count"),
            link_clicks: private["url_link_clicks"].as_u64(),
            profile_clicks: private["user_profile_clicks"].as_u64(),
            ..Metrics::default()
        })
    }

    /// Replies in the post's conversation, through recent search (the last seven days).
    async fn replies(&self, token: &SecretString, post: &str) -> Result<Vec<Comment>, PlatformError> {
        let mut url = self.api("tweets/search/recent");
        url.query_pairs_mut()
            .append_pair("query", &format!("conversation_id:{post}"))
            .append_pair("max_results", "100")
            // The author comes with the `author_id` expansion (the document lists no such field).
            .append_pair("post.fields", "created_at")
            .append_pair("expansions", "author_id")
            .append_pair("user.fields", "username");
        let body = match self.get(url, token).await {
            Err(PlatformError::PermissionMissing(why) | PlatformError::Unsupported(why)) => {
                return Err(PlatformError::Unsupported(format!(
                    "Replies are not available with this X access level ({why})."
                )));
            }
            other => other?,
        };
        let users = body["includes"]["users"].as_array().cloned().unwrap_or_default();
        let name = |id: &Value| {
            users
                .iter()
                .find(|u| &u["id"] == id)
                .and_then(|u| u["username"].as_str())
                .unwrap_or_default()
                .to_owned()
        };
        Ok(body["data"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|p| Comment {
                id: p["id"].as_str().unwrap_or_default().to_owned(),
                text: p["text"].as_str().unwrap_or_default().to_owned(),
                username: name(&p["author_id"]),
                timestamp: p["created_at"].as_str().map(str::to_owned),
                hidden: false,
                replies: Vec::new(),
            })
            .collect())
    }

    async fn reply_to(&self, token: &SecretString, post: &str, text: &str) -> Result<String, PlatformError> {
        let body = json!({"text": text, "reply": {"in_reply_to_tweet_id": post}});
        let created = self.post("tweets", token, &body).await?;
        created["data"]["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| malformed("data.id"))
    }
}

/// Whether X refused a field the request asked for (`not-authorized-for-field`: a non-public
/// metric of a post older than 30 days, or of someone else's post).
fn not_authorized_for_field(body: &Value) -> bool {
    body["errors"].as_array().is_some_and(|errors| {
        errors.iter().any(|e| {
            e["type"]
                .as_str()
                .is_some_and(|t| t.ends_with("/problems/not-authorized-for-field"))
        })
    })
}

/// Text as X reads it back, for matching: HTML entities X escapes undone, every link left out
/// (X rewrites links to `t.co`, and adds one to the end of a post with media), white space
/// collapsed. (A bare domain X turns into a link still differs: such a post is not found, and
/// its delivery says so rather than guessing.)
fn without_links(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .split_whitespace()
        .filter(|w| !w.contains("http://") && !w.contains("https://"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text and media of the thread's part `n` (0: the post's own).
fn part<'j>(job: &'j PublishJob<'_>, n: usize) -> Result<(&'j str, &'j [Item]), PlatformError> {
    match n.checked_sub(1) {
        None => Ok((job.text, job.items)),
        Some(i) => job
            .thread
            .get(i)
            .map(|p| (p.text.as_str(), p.items.as_slice()))
            .ok_or_else(|| {
                unreadable(format!(
                    "it records {n} parts published of a post of {}",
                    job.thread.len() + 1
                ))
            }),
    }
}

/// What a search for an interrupted part settled: the part found (the thread goes on), or, for a
/// part after the first, several candidates: choosing one could not resume the thread, so the
/// delivery says it cannot tell, naming them.
fn mid_thread(
    job: &PublishJob<'_>,
    handle: Handle,
    step: Step<Handle>,
) -> Result<Step<Handle>, PlatformError> {
    match step {
        Step::Ambiguous(found) if !handle.posted.is_empty() => Err(PlatformError::Platform {
            message: format!(
                "part {} of the thread was sent and {} posts match it ({}); the thread stops here",
                handle.posted.len() + 1,
                found.len(),
                found.iter().map(|p| p.id.as_str()).collect::<Vec<_>>().join(", ")
            ),
        }),
        step => Ok(next_part(job, handle, step)),
    }
}

/// After a part is published: the next part starts (its id kept), or, after the last, the
/// thread is published as its first part.
fn next_part(job: &PublishJob<'_>, handle: Handle, step: Step<Handle>) -> Step<Handle> {
    let Step::Published(p) = step else {
        return step;
    };
    let mut posted = handle.posted;
    posted.push(p.id.clone());
    if posted.len() > job.thread.len() {
        return Step::Published(published(&posted[0]));
    }
    Step::Continue(Handle {
        started_at: handle.started_at,
        posted,
        ..Handle::default()
    })
}

fn published(id: &str) -> Published {
    Published {
        id: id.to_owned(),
        permalink: Some(format!("https://x.com/i/web/status/{id}")),
    }
}

fn malformed(field: &str) -> PlatformError {
    PlatformError::Platform {
        message: format!("X's answer lacked `{field}`"),
    }
}

/// An X answer: the JSON body, or its RFC 7807 problem mapped into the taxonomy. A 429 waits
/// until `x-rate-limit-reset` (Unix seconds), to the second.
async fn result(res: reqwest::Response) -> Result<Value, PlatformError> {
    let status = res.status();
    // The app's daily cap counts per endpoint: the one every post goes through holds them all.
    let creates_posts = res.url().path().ends_with("/2/tweets");
    let (reset, app_wide) = reset_of(res.headers(), creates_posts);
    let text = res.text().await.map_err(|e| PlatformError::from_http(&e))?;
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(body);
    }
    let message = body["detail"]
        .as_str()
        .or(body["title"].as_str())
        .map_or_else(|| format!("X answered {status}"), str::to_owned);
    Err(match status.as_u16() {
        // The instant X names, on X's clock: the retry is due exactly then, not a guess after.
        429 => PlatformError::RateLimited {
            retry_after: None,
            until: reset.and_then(|r| Timestamp::from_second(r).ok()),
            app_wide,
        },
        401 => PlatformError::TokenRevoked(message),
        // A 403 says many things: a missing scope, an app X does not allow here, or the content.
        403 if message.contains("Missing scope")
            || body["type"]
                .as_str()
                .is_some_and(|t| t.ends_with("/unsupported-authentication")) =>
        {
            PlatformError::PermissionMissing(message)
        }
        // The app's access level or project lacks this endpoint: nothing the person can fix.
        403 if body["type"]
            .as_str()
            .is_some_and(|t| t.ends_with("/client-forbidden")) =>
        {
            let needs = body["required_enrollment"]
                .as_str()
                .unwrap_or("another access level");
            PlatformError::Unsupported(format!(
                "X does not allow this app here (it needs {needs}): check the app's access level and project"
            ))
        }
        403 => PlatformError::ContentRejected { message },
        400 | 404 | 409 | 413 | 422 => PlatformError::ContentRejected { message },
        _ if status.is_server_error() => PlatformError::Transient { message },
        _ => PlatformError::Platform { message },
    })
}

/// When a 429 ends: the latest reset among X's limits that are used up (the 15-minute window,
/// and the app's and the user's 24-hour caps), else the 15-minute window's. When `app_counts`
/// and the app's cap (which every account shares) is spent, the app's reset instead, and `true`:
/// every account waits for it, and one whose own cap is spent too hears so again then.
fn reset_of(headers: &reqwest::header::HeaderMap, app_counts: bool) -> (Option<i64>, bool) {
    let read = |name: String| number(headers, &name);
    let families = ["x-rate-limit", "x-app-limit-24hour", "x-user-limit-24hour"];
    let spent = families
        .iter()
        .filter(|f| read(format!("{f}-remaining")) == Some(0))
        .filter_map(|f| read(format!("{f}-reset")))
        .max();
    let app_reset = read("x-app-limit-24hour-reset".into())
        .filter(|_| app_counts && read("x-app-limit-24hour-remaining".into()) == Some(0));
    match app_reset {
        Some(reset) => (Some(reset), true),
        None => (spent.or_else(|| read("x-rate-limit-reset".into())), false),
    }
}

/// The user's posts left in X's 15-minute window, and when it resets (`x-rate-limit-*`).
fn posts_left(headers: &reqwest::header::HeaderMap) -> Option<crate::Headroom> {
    Some(crate::Headroom::Calls {
        left: u32::try_from(number(headers, "x-rate-limit-remaining")?).ok()?,
        resets: Timestamp::from_second(number(headers, "x-rate-limit-reset")?).ok()?,
    })
}

/// A header holding a whole number.
fn number(headers: &reqwest::header::HeaderMap, name: &str) -> Option<i64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

impl Connector for X {
    fn login(&self) -> Login {
        Login::X
    }

    fn authorize_url(&self, r: &Authorize<'_>) -> Url {
        self.consent_url(r)
    }

    fn exchange<'a>(&'a self, r: CodeExchange<'a>) -> Call<'a, Exchanged> {
        Box::pin(async move { self.exchange_code(r).await.map(Exchanged::Account) })
    }

    fn covers(&self) -> &'static str {
        "one X account"
    }

    fn refresh<'a>(
        &'a self,
        _: &'a SecretString,
        renew: Option<&'a SecretString>,
        now: Timestamp,
    ) -> Call<'a, Refreshed> {
        Box::pin(async move { self.renew(crate::oauth2::renew_with(renew, "X")?, now).await })
    }

    fn revoke<'a>(&'a self, token: &'a SecretString, renew: Option<&'a SecretString>) -> Call<'a, ()> {
        Box::pin(async move {
            // X revokes each token on its own: the refresh token too, or it would still renew.
            if let Some(renew) = renew {
                self.revoke_token(renew, "refresh_token").await?;
            }
            self.revoke_token(token, "access_token").await
        })
    }
}

impl Publisher for X {
    fn platform(&self) -> Platform {
        Platform::X
    }

    fn start(&self, at: Timestamp) -> String {
        let h = Handle {
            started_at: at.as_second(),
            ..Handle::default()
        };
        serde_json::to_string(&h).expect("handles serialise")
    }

    /// Text alone has nothing to upload or wait for: its attempt begins at the post call, as the
    /// steps that mark the media ready and the post started would leave it.
    fn begin(&self, job: &PublishJob<'_>, at: Timestamp) -> String {
        let text_only = job.items.is_empty();
        let h = Handle {
            started_at: at.as_second(),
            part_started_at: at.as_second(),
            media_ready: text_only,
            post_started: text_only,
            ..Handle::default()
        };
        serde_json::to_string(&h).expect("handles serialise")
    }

    fn progress(&self, handle: &str) -> Result<Progress, String> {
        let h: Handle = read_handle(handle)?;
        Ok(Progress {
            fresh: h.posted.is_empty() && h.media_ids.is_empty() && !h.post_started,
            // A thread with a part published is live.
            visible_call: h.post_started || !h.posted.is_empty(),
            partly_live: !h.posted.is_empty(),
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
            self.publish_step(job, h, &ctx).await.map(saved)
        })
    }

    fn comments_available(&self) -> Result<(), Unavailable> {
        Ok(())
    }

    fn comments<'a>(
        &'a self,
        _: Login,
        token: &'a SecretString,
        _: &'a str,
        post: &'a str,
    ) -> Call<'a, Vec<Comment>> {
        Box::pin(self.replies(token, post))
    }

    fn reply<'a>(
        &'a self,
        _: Login,
        token: &'a SecretString,
        _: &'a str,
        _: &'a str,
        comment: &'a str,
        text: &'a str,
    ) -> Call<'a, String> {
        Box::pin(self.reply_to(token, comment, text))
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
        _: Timestamp,
    ) -> Call<'a, Metrics> {
        Box::pin(self.metrics(token, post))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_consent_url_asks_for_pkce_s256_with_space_separated_scopes() {
        let x = X::new(
            XConfig {
                client_id: "c".into(),
                client_secret: SecretString::from("s"),
                www_base: Url::parse("http://127.0.0.1:1/x.com").unwrap(),
                api_base: Url::parse("http://127.0.0.1:1/api.x.com").unwrap(),
            },
            crate::http_client(),
        );
        let u = x.consent_url(&Authorize {
            state: "st",
            redirect_uri: "http://h/cb",
            scopes: &["tweet.read", "offline.access"],
            pkce_challenge: Some("abc"),
        });
        assert_eq!(u.path(), "/x.com/i/oauth2/authorize");
        let q = u.query().unwrap();
        assert!(
            q.contains("scope=tweet.read+offline.access") && q.contains("code_challenge_method=S256"),
            "{q}"
        );
        assert!(!format!("{:?}", x.config).contains("\"s\""));
    }

    #[test]
    fn links_are_set_aside_when_matching_text_as_x_shortens_them() {
        assert_eq!(
            without_links("Read https://example.com/a now\r\n"),
            without_links("Read https://t.co/xyz now")
        );
        assert_ne!(without_links("Read this"), without_links("Read that"));
        assert_eq!(
            without_links("Fish & chips <3 https://t.co/media"),
            without_links("Fish &amp; chips &lt;3"),
            "entities undone, the media link X adds left out"
        );
    }

    #[test]
    fn the_posts_left_in_the_window_are_read_from_x_rate_limit_headers_and_a_partial_set_says_nothing() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("x-rate-limit-remaining", "3".parse().unwrap());
        assert_eq!(posts_left(&h), None, "no reset: nothing to pace by");
        h.insert("x-rate-limit-reset", "1800000000".parse().unwrap());
        assert_eq!(
            posts_left(&h),
            Some(crate::Headroom::Calls {
                left: 3,
                resets: Timestamp::from_second(1_800_000_000).unwrap()
            })
        );
        h.insert("x-rate-limit-remaining", "-1".parse().unwrap());
        assert_eq!(posts_left(&h), None);
    }
}
