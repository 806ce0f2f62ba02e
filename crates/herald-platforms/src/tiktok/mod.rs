//! TikTok: Login Kit v2 on `www.tiktok.com/v2/auth/authorize/` and `open.tiktokapis.com/v2/oauth`
//! (PKCE S256; access and refresh tokens whose lifetimes the token endpoint names, the refresh token
//! rotating on every use), `creator_info` before each post (the privacy levels the account offers,
//! the interactions its owner turned off, the longest video it may post), and the Content Posting
//! API: a video sent by `FILE_UPLOAD` (init → `PUT`s of the chunks in order, each with its
//! `Content-Range`) and photos pulled from Herald's media links (`PULL_FROM_URL`), then
//! `status/fetch` until TikTok says the post is complete. Metrics from `video/query`.
//!
//! Exactly once: a video is on TikTok only once every byte arrived, and the `publish_id` of the
//! upload is saved before the first byte: after a crash, TikTok's `uploaded_bytes` says where the
//! upload stands and it continues from there; a lost answer to the init leaves an upload nobody
//! finishes, so a new one is started. Photos are pulled by TikTok at once: `init_started` is saved
//! before that call, and after a lost answer the account's public posts are read for the post;
//! when it is not among them (it may be in moderation, or not public, which TikTok does not list)
//! the delivery says it cannot tell, never sends it again.
//!
//! Comments are not in the Content Posting API: a TikTok profile adds TikTok's API for Business
//! for them ([`business`]), and they are read and answered through it.

mod business;

pub use business::{TiktokBusiness, TiktokBusinessConfig};

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use herald_domain::platform::{Login, Platform};
use herald_domain::rules::{Creator, LiveFacts};

use crate::adapter::{
    Authorize, Call, CodeExchange, Connector, Exchanged, Item, Progress, PublishJob, Publisher, Unavailable,
    read_handle, saved, unreadable,
};
use crate::oauth2::Tokens;
use crate::{Comment, Grant, Metrics, PlatformError, Published, Refreshed, Step, StepContext, settle};

/// Where the adapter finds TikTok and who it is there.
#[derive(Clone)]
pub struct TiktokConfig {
    /// The app's client key (TikTok's name for a client id).
    pub client_key: String,
    pub client_secret: SecretString,
    /// `https://www.tiktok.com` (the consent page).
    pub www_base: Url,
    /// `https://open.tiktokapis.com` (the API and the token endpoint, under `/v2`).
    pub api_base: Url,
    /// Whether TikTok pulls videos from Herald's links (`PULL_FROM_URL`: Herald's domain is
    /// verified in the app's URL properties) instead of receiving them in chunks.
    pub pull_videos: bool,
}

impl std::fmt::Debug for TiktokConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TiktokConfig")
            .field("client_key", &self.client_key)
            .field("api_base", &self.api_base.as_str())
            .finish_non_exhaustive()
    }
}

/// Progress of one delivery's post, saved by the dispatcher between steps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Handle {
    /// When the attempt began (Unix seconds): the earliest a published post can carry.
    #[serde(default)]
    started_at: i64,
    /// What TikTok named the publication: saved before the first byte of a video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    publish_id: Option<String>,
    /// Where a video's chunks go (valid an hour).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    upload_url: Option<String>,
    /// The video's size, the size of each chunk but the last, and how many chunks there are.
    #[serde(default)]
    size: u64,
    #[serde(default)]
    chunk_size: u64,
    #[serde(default)]
    chunks: u64,
    /// Chunks TikTok has taken.
    #[serde(default)]
    sent: u64,
    /// Set (and saved) before a photo post's init, the call that makes the post.
    #[serde(default)]
    init_started: bool,
    /// Whether the photo post turns comments off (as it says, else as the account has them).
    #[serde(default)]
    comments_off: bool,
    /// When Herald first found TikTok processing the post (every byte sent, or the photos asked
    /// for): what the processing limit counts from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    processing_since: Option<i64>,
    /// When TikTok first said the post was complete without its id (moderation goes on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    complete_at: Option<i64>,
}

/// A chunk is 5 to 64 MB, the last up to 128 MB; a video under 5 MB goes as one [official: media
/// transfer guide]. Herald sends 10 MB chunks.
const CHUNK: u64 = 10_000_000;
const MIN_CHUNK: u64 = 5_000_000;
/// How soon a processing post is looked at again, and how long TikTok may process it.
const RECHECK: Duration = Duration::from_secs(2);
const PROCESSING_LIMIT: i64 = 2 * 3600;
/// How long Herald waits for a public post's id after TikTok said it was complete (moderation,
/// usually under a minute, sometimes hours); the dispatcher spaces the looks out.
const MODERATION_LIMIT: i64 = 6 * 3600;
/// Posts read after a lost answer (20 a page, TikTok's most).
const PAGE: u64 = 20;
const MAX_PAGES: usize = 10;
/// How far TikTok's clock may be from Herald's when matching a post's time (seconds).
const SKEW: i64 = 5;
/// The privacy level whose posts get a public id (and can be read back).
const PUBLIC: &str = "PUBLIC_TO_EVERYONE";

#[derive(Debug, Clone)]
pub struct Tiktok {
    config: TiktokConfig,
    http: reqwest::Client,
    /// Video bytes go through a client without the total-call bound (a chunk is large).
    upload: reqwest::Client,
    /// The API for Business, which reads and answers comments.
    business: Arc<TiktokBusiness>,
}

impl Tiktok {
    pub fn new(config: TiktokConfig, business: Arc<TiktokBusiness>, http: reqwest::Client) -> Self {
        Self {
            config,
            http,
            upload: crate::oauth2::upload_client(),
            business,
        }
    }

    fn api(&self, path: &str) -> Url {
        let mut u = self.config.api_base.clone();
        let base = u.path().trim_end_matches('/').to_owned();
        u.set_path(&format!("{base}/v2/{path}"));
        u
    }

    /// A call of the API: its `data`, or its `error` mapped into the taxonomy.
    async fn call(
        &self,
        request: reqwest::RequestBuilder,
        token: &SecretString,
    ) -> Result<Value, PlatformError> {
        read(crate::send(request.bearer_auth(token.expose_secret())).await?).await
    }

    async fn post(&self, url: Url, token: &SecretString, body: &Value) -> Result<Value, PlatformError> {
        let request = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json; charset=UTF-8")
            .body(body.to_string());
        self.call(request, token).await
    }

    /// The token endpoints: the app's key and secret in the form; a flat answer, or
    /// `{"error","error_description","log_id"}` (with any status: the body decides).
    async fn token_call(&self, path: &str, form: &[(&str, &str)]) -> Result<Value, PlatformError> {
        let mut form = form.to_vec();
        form.push(("client_key", &self.config.client_key));
        form.push(("client_secret", self.config.client_secret.expose_secret()));
        let res = crate::send(self.http.post(self.api(path)).form(&form)).await?;
        crate::oauth2::token_answer(res, "TikTok", &["invalid_grant"], "TikTok client key and secret").await
    }

    fn consent_url(&self, r: &Authorize<'_>) -> Url {
        let mut u = self.config.www_base.clone();
        let base = u.path().trim_end_matches('/').to_owned();
        u.set_path(&format!("{base}/v2/auth/authorize/"));
        u.query_pairs_mut()
            .append_pair("client_key", &self.config.client_key)
            .append_pair("scope", &r.scopes.join(","))
            .append_pair("redirect_uri", r.redirect_uri)
            .append_pair("state", r.state)
            .append_pair("response_type", "code");
        if let Some(challenge) = r.pkce_challenge {
            u.query_pairs_mut()
                .append_pair("code_challenge", challenge)
                .append_pair("code_challenge_method", "S256");
        }
        u
    }

    async fn exchange_code(&self, r: CodeExchange<'_>) -> Result<Grant, PlatformError> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", r.code),
            ("redirect_uri", r.redirect_uri),
        ];
        if let Some(v) = r.pkce_verifier {
            form.push(("code_verifier", v.expose_secret()));
        }
        let body = self.token_call("oauth/token/", &form).await?;
        let tokens = Tokens::read(&body, r.now, "TikTok")?;
        let mut me = self.api("user/info/");
        me.query_pairs_mut()
            .append_pair("fields", "open_id,union_id,avatar_url,display_name");
        let me = self.call(self.http.get(me), &tokens.access).await?;
        let user = &me["user"];
        let scopes = match body["scope"].as_str() {
            Some(s) => s
                .split([',', ' '])
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            None => r.requested.iter().map(|s| (*s).to_owned()).collect(),
        };
        let open_id = user["open_id"]
            .as_str()
            .or(body["open_id"].as_str())
            .ok_or_else(|| malformed("user.open_id"))?;
        Ok(Grant {
            access_token: tokens.access,
            issued_at: r.now,
            expires_at: tokens.expires_at,
            scopes,
            account_id: open_id.to_owned(),
            handle: user["display_name"].as_str().unwrap_or(open_id).to_owned(),
            renew: tokens.renew,
        })
    }

    /// A new access token and the refresh token that replaces the one used (TikTok rotates them:
    /// the old one stops working).
    async fn renew(&self, refresh: &SecretString, now: Timestamp) -> Result<Refreshed, PlatformError> {
        let body = self
            .token_call(
                "oauth/token/",
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.expose_secret()),
                ],
            )
            .await?;
        Tokens::read(&body, now, "TikTok").map(Refreshed::from)
    }

    async fn revoke_token(&self, token: &SecretString) -> Result<(), PlatformError> {
        self.token_call("oauth/revoke/", &[("token", token.expose_secret())])
            .await
            .map(|_| ())
    }

    /// What the account allows a post now (`creator_info`).
    async fn creator(&self, token: &SecretString) -> Result<LiveFacts, PlatformError> {
        let d = self
            .post(self.api("post/publish/creator_info/query/"), token, &json!({}))
            .await?;
        let flag = |k: &str| d[k].as_bool().unwrap_or(false);
        Ok(LiveFacts {
            creator: Some(Creator {
                privacy_levels: d["privacy_level_options"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
                comment_disabled: flag("comment_disabled"),
                duet_disabled: flag("duet_disabled"),
                stitch_disabled: flag("stitch_disabled"),
                max_video_duration_s: d["max_video_post_duration_sec"]
                    .as_u64()
                    .and_then(|s| u32::try_from(s).ok()),
            }),
            ..LiveFacts::default()
        })
    }

    /// One step of publishing; see the module docs.
    async fn publish_step(
        &self,
        job: &PublishJob<'_>,
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
        let privacy = job
            .text_option("privacy_level")
            .ok_or_else(|| PlatformError::ContentRejected {
                message: "A TikTok post needs a privacy level.".into(),
            })?;
        let Some(publish_id) = handle.publish_id.clone() else {
            return match job.items.iter().find(|i| i.video()) {
                Some(video) if !self.config.pull_videos => {
                    self.start_video(job, video, privacy, handle).await
                }
                pulled => self.start_pulled(job, pulled, privacy, handle, ctx).await,
            };
        };
        if handle.upload_url.is_some() && handle.sent < handle.chunks {
            return self.send_chunk(job, &publish_id, handle, ctx).await;
        }
        self.settle_status(job, &publish_id, privacy, handle, ctx.now)
            .await
    }

    /// `video/init` with the chunk plan; nothing shows until every byte arrived.
    async fn start_video(
        &self,
        job: &PublishJob<'_>,
        video: &Item,
        privacy: &str,
        handle: Handle,
    ) -> Result<Step<Handle>, PlatformError> {
        let source = crate::oauth2::open_media(&self.upload, video).await?;
        let size = source
            .content_length()
            .ok_or_else(|| PlatformError::MediaUnreachable {
                message: "Herald's own media link did not say the video's size".into(),
            })?;
        drop(source);
        if size == 0 {
            return Err(PlatformError::ContentRejected {
                message: "The video file is empty.".into(),
            });
        }
        let (chunk_size, chunks) = chunk_plan(size);
        // What the account has turned off, asked just before the post as TikTok's guidelines say.
        let account = self.creator(job.token).await?.creator.unwrap_or_default();
        let body = json!({
            "post_info": {
                "title": job.text, "privacy_level": privacy,
                "disable_comment": off(job, "disable_comment", account.comment_disabled),
                "disable_duet": off(job, "disable_duet", account.duet_disabled),
                "disable_stitch": off(job, "disable_stitch", account.stitch_disabled),
                "brand_content_toggle": false, "brand_organic_toggle": false,
            },
            "source_info": {"source": "FILE_UPLOAD", "video_size": size, "chunk_size": chunk_size,
                "total_chunk_count": chunks},
        });
        let d = self
            .post(self.api("post/publish/video/init/"), job.token, &body)
            .await?;
        Ok(Step::Continue(Handle {
            publish_id: Some(publish_id_of(&d)?),
            upload_url: Some(
                d["upload_url"]
                    .as_str()
                    .ok_or_else(|| malformed("data.upload_url"))?
                    .to_owned(),
            ),
            size,
            chunk_size,
            chunks,
            ..handle
        }))
    }

    /// The next chunk of the video. After an interruption TikTok's `uploaded_bytes` says where the
    /// upload stands (a chunk may have arrived without its answer being saved).
    async fn send_chunk(
        &self,
        job: &PublishJob<'_>,
        publish_id: &str,
        mut handle: Handle,
        ctx: &StepContext<'_>,
    ) -> Result<Step<Handle>, PlatformError> {
        if ctx.recovering {
            let d = self.status(job.token, publish_id).await?;
            handle.sent = chunks_taken(&handle, d["uploaded_bytes"].as_u64().unwrap_or(0));
            if handle.sent >= handle.chunks {
                return Ok(Step::Continue(handle));
            }
        }
        let video = job
            .items
            .iter()
            .find(|i| i.video())
            .ok_or_else(|| unreadable("it records a video upload for a post without a video".into()))?;
        let first = handle.sent * handle.chunk_size;
        let last = match handle.sent + 1 == handle.chunks {
            true => handle.size - 1,
            false => first + handle.chunk_size - 1,
        };
        let bytes = crate::oauth2::read_range(&self.upload, video, first, last - first + 1).await?;
        let url = handle.upload_url.clone().unwrap_or_default();
        let res = self
            .upload
            .put(&url)
            .header(reqwest::header::CONTENT_TYPE, video.media_type.mime())
            .header(
                reqwest::header::CONTENT_RANGE,
                format!("bytes {first}-{last}/{}", handle.size),
            )
            .body(bytes)
            .send()
            .await
            .map_err(|e| PlatformError::from_http(&e))?;
        match res.status().as_u16() {
            201 | 206 => Ok(Step::Continue(Handle {
                sent: handle.sent + 1,
                ..handle
            })),
            // Not where TikTok stands: its `Content-Range` says how far the upload got.
            416 => {
                let taken = res
                    .headers()
                    .get(reqwest::header::CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(uploaded_of)
                    .unwrap_or(0);
                Ok(Step::Continue(Handle {
                    sent: chunks_taken(&handle, taken),
                    ..handle
                }))
            }
            403 | 404 => Err(PlatformError::ContentRejected {
                message: "TikTok's upload link expired before the video was sent (it lasts an hour).".into(),
            }),
            s if s >= 500 => Err(PlatformError::Transient {
                message: format!("TikTok's upload host answered {s}"),
            }),
            s => Err(PlatformError::Platform {
                message: format!("TikTok's upload host refused a chunk ({s})"),
            }),
        }
    }

    /// `content/init` for photos, or `video/init` for a video by `PULL_FROM_URL`, which TikTok
    /// pulls from Herald's media links and posts.
    async fn start_pulled(
        &self,
        job: &PublishJob<'_>,
        video: Option<&Item>,
        privacy: &str,
        handle: Handle,
        ctx: &StepContext<'_>,
    ) -> Result<Step<Handle>, PlatformError> {
        if !handle.init_started {
            // What the account has turned off, asked just before the post (kept for the init).
            let account = self.creator(job.token).await?.creator.unwrap_or_default();
            return Ok(Step::Continue(Handle {
                init_started: true,
                comments_off: off(job, "disable_comment", account.comment_disabled),
                ..handle
            }));
        }
        let what = if video.is_some() { "video" } else { "photo post" };
        if ctx.recovering {
            if privacy != PUBLIC {
                return Err(PlatformError::Platform {
                    message: format!(
                        "the {what} was sent and TikTok lists only public posts, so Herald cannot tell whether it was made"
                    ),
                });
            }
            let window = (handle.started_at, ctx.now.as_second());
            let found = self.find_published(job, window).await?;
            // A new post shows in the list only once moderated: not finding it says nothing.
            return settle(found, ctx.known).ok_or_else(|| PlatformError::Platform {
                message: format!("the {what} was sent and TikTok does not list it (yet), so Herald cannot tell whether it was made"),
            });
        }
        let (path, body) = match video {
            Some(v) => (
                "post/publish/video/init/",
                self.pull_body(job, v, privacy, &handle).await?,
            ),
            None => ("post/publish/content/init/", photos_body(job, privacy, &handle)),
        };
        let d = match self.post(self.api(path), job.token, &body).await {
            // A limit is an answer: no post was made, so the next try is a new init, not a
            // search for one that might have been.
            Err(PlatformError::RateLimited { retry_after, .. }) => {
                return Ok(Step::Park(
                    Handle {
                        init_started: false,
                        ..handle
                    },
                    retry_after.unwrap_or(Duration::from_secs(60)),
                ));
            }
            other => other?,
        };
        Ok(Step::Continue(Handle {
            publish_id: Some(publish_id_of(&d)?),
            ..handle
        }))
    }

    /// A video's `video/init` by `PULL_FROM_URL`, with what the account has turned off now.
    async fn pull_body(
        &self,
        job: &PublishJob<'_>,
        video: &Item,
        privacy: &str,
        handle: &Handle,
    ) -> Result<Value, PlatformError> {
        let account = self.creator(job.token).await?.creator.unwrap_or_default();
        Ok(json!({
            "post_info": {
                "title": job.text, "privacy_level": privacy,
                "disable_comment": handle.comments_off,
                "disable_duet": off(job, "disable_duet", account.duet_disabled),
                "disable_stitch": off(job, "disable_stitch", account.stitch_disabled),
                "brand_content_toggle": false, "brand_organic_toggle": false,
            },
            "source_info": {"source": "PULL_FROM_URL", "video_url": video.url},
        }))
    }
}

/// A photo post's `content/init`, its photos pulled from Herald's media links.
fn photos_body(job: &PublishJob<'_>, privacy: &str, handle: &Handle) -> Value {
    json!({
        "media_type": "PHOTO", "post_mode": "DIRECT_POST",
        "post_info": {
            "title": job.text_option("title").unwrap_or_default(), "description": job.text,
            "privacy_level": privacy,
            "disable_comment": handle.comments_off,
            "auto_add_music": true,
        },
        "source_info": {"source": "PULL_FROM_URL", "photo_cover_index": 0,
            "photo_images": job.items.iter().map(|i| i.url.as_str()).collect::<Vec<_>>()},
    })
}

impl Tiktok {
    async fn status(&self, token: &SecretString, publish_id: &str) -> Result<Value, PlatformError> {
        self.post(
            self.api("post/publish/status/fetch/"),
            token,
            &json!({ "publish_id": publish_id }),
        )
        .await
    }

    /// Where the publication stands: processing (looked at again), failed (TikTok's reason), or
    /// complete. A public post is published once it has its id (after moderation); a post that
    /// is not public never gets one, so its `publish_id` stands for it.
    async fn settle_status(
        &self,
        job: &PublishJob<'_>,
        publish_id: &str,
        privacy: &str,
        handle: Handle,
        now: Timestamp,
    ) -> Result<Step<Handle>, PlatformError> {
        let d = self.status(job.token, publish_id).await?;
        let processing_since = handle.processing_since.unwrap_or(now.as_second());
        let handle = Handle {
            processing_since: Some(processing_since),
            ..handle
        };
        match d["status"].as_str().unwrap_or_default() {
            "PUBLISH_COMPLETE" => {
                let id = d["publicaly_available_post_id"]
                    .as_array()
                    .and_then(|ids| ids.first())
                    .and_then(|v| {
                        v.as_u64()
                            .map(|n| n.to_string())
                            .or(v.as_str().map(str::to_owned))
                    });
                if let Some(id) = id {
                    return Ok(Step::Published(published(&id)));
                }
                let since = handle.complete_at.unwrap_or(now.as_second());
                if privacy != PUBLIC || now.as_second() - since > MODERATION_LIMIT {
                    return Ok(Step::Published(Published {
                        id: publish_id.to_owned(),
                        permalink: None,
                    }));
                }
                Ok(Step::Park(
                    Handle {
                        complete_at: Some(since),
                        ..handle
                    },
                    RECHECK,
                ))
            }
            "FAILED" => Err(PlatformError::ContentRejected {
                message: failure(d["fail_reason"].as_str().unwrap_or("unknown")),
            }),
            // Still processing: TikTok may yet publish it, so this is no refusal.
            _ if now.as_second() - processing_since > PROCESSING_LIMIT => Err(PlatformError::Platform {
                message: "TikTok was still processing the post two hours after it had it all, so Herald cannot tell whether it will be published".into(),
            }),
            _ => Ok(Step::Park(handle, RECHECK)),
        }
    }

    /// The account's public posts made inside the window whose caption is this post's text.
    async fn find_published(
        &self,
        job: &PublishJob<'_>,
        (from, to): (i64, i64),
    ) -> Result<Vec<Published>, PlatformError> {
        let mut found = Vec::new();
        let mut cursor: Option<i64> = None;
        for _ in 0..MAX_PAGES {
            let mut url = self.api("video/list/");
            url.query_pairs_mut()
                .append_pair("fields", "id,create_time,title,video_description");
            let mut body = json!({ "max_count": PAGE });
            if let Some(c) = cursor {
                body["cursor"] = json!(c);
            }
            let d = self.post(url, job.token, &body).await?;
            let mut older = false;
            for v in d["videos"].as_array().into_iter().flatten() {
                let at = v["create_time"].as_i64().unwrap_or(0);
                older |= at < from - SKEW;
                let text = v["video_description"]
                    .as_str()
                    .or(v["title"].as_str())
                    .unwrap_or_default();
                if at >= from - SKEW && at <= to + SKEW && text.trim() == job.text.trim() {
                    found.extend(v["id"].as_str().map(published));
                }
            }
            cursor = d["cursor"].as_i64();
            if older || d["has_more"] != true {
                return Ok(found);
            }
        }
        Err(PlatformError::Platform {
            message: format!(
                "Herald looked through the account's newest {} posts without reaching the time of this attempt, so it cannot tell whether the post was made.",
                MAX_PAGES as u64 * PAGE
            ),
        })
    }

    async fn metrics(&self, token: &SecretString, post: &str) -> Result<Metrics, PlatformError> {
        let mut url = self.api("video/query/");
        url.query_pairs_mut()
            .append_pair("fields", "id,view_count,like_count,comment_count,share_count");
        let d = self
            .post(url, token, &json!({"filters": {"video_ids": [post]}}))
            .await?;
        let v = d["videos"]
            .as_array()
            .and_then(|v| v.first())
            .ok_or_else(|| PlatformError::Platform {
                message: "TikTok did not list the post: it is not public, or not yet".into(),
            })?;
        let n = |k: &str| v[k].as_u64();
        Ok(Metrics {
            views: n("view_count"),
            likes: n("like_count"),
            comments: n("comment_count"),
            shares: n("share_count"),
            ..Metrics::default()
        })
    }
}

/// The chunk size and count TikTok takes for a video of `size` bytes: one chunk under 5 MB (or
/// under two chunks' worth), else 10 MB chunks, the last taking the rest
/// (`total_chunk_count = floor(size / chunk_size)`).
fn chunk_plan(size: u64) -> (u64, u64) {
    match size {
        s if s < MIN_CHUNK.max(2 * CHUNK) => (s, 1),
        s => (CHUNK, s / CHUNK),
    }
}

/// How many whole chunks `uploaded` bytes are.
fn chunks_taken(h: &Handle, uploaded: u64) -> u64 {
    match uploaded {
        u if u >= h.size => h.chunks,
        u => u / h.chunk_size.max(1),
    }
}

/// The bytes uploaded so far, from `Content-Range: bytes 0-{last}/{total}`.
fn uploaded_of(range: &str) -> Option<u64> {
    let (_, rest) = range.trim().strip_prefix("bytes ")?.split_once('-')?;
    let (last, _) = rest.split_once('/')?;
    last.parse::<u64>().ok().map(|l| l + 1)
}

/// Whether a post turns an interaction off: as the post says, else as the account has it (one its
/// owner turned off stays off; the rules refuse a post that turns it on).
fn off(job: &PublishJob<'_>, option: &str, account_off: bool) -> bool {
    job.options
        .get(option)
        .and_then(Value::as_bool)
        .unwrap_or(account_off)
}

/// TikTok's `fail_reason`, said for people.
fn failure(reason: &str) -> String {
    let why = match reason {
        "file_format_check_failed" => "the file's format is not one TikTok takes",
        "duration_check_failed" => "the video is shorter or longer than TikTok allows",
        "frame_rate_check_failed" => "the video's frame rate is outside what TikTok allows",
        "picture_size_check_failed" => "the picture size is outside what TikTok allows",
        "video_pull_failed" | "photo_pull_failed" => "TikTok could not download the media from Herald",
        "publish_cancelled" => "the post was cancelled on TikTok",
        "auth_removed" => "the account removed Herald's access while the post was made",
        "spam_risk_too_many_posts" => "the account has posted as much as TikTok allows for now",
        "spam_risk_user_banned_from_posting" => "TikTok has stopped this account from posting",
        "spam_risk_text" | "spam_risk" => "TikTok took the post for spam",
        _ => "TikTok did not say why",
    };
    format!("TikTok could not publish the post ({reason}): {why}.")
}

fn publish_id_of(d: &Value) -> Result<String, PlatformError> {
    d["publish_id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| malformed("data.publish_id"))
}

fn published(id: &str) -> Published {
    Published {
        id: id.to_owned(),
        permalink: Some(format!("https://www.tiktok.com/video/{id}")),
    }
}

fn malformed(field: &str) -> PlatformError {
    PlatformError::Platform {
        message: format!("TikTok's answer lacked `{field}`"),
    }
}

/// A TikTok answer, `{"data", "error": {"code", "message", "log_id"}}`: the data when the code is
/// `ok`, else the code mapped into the taxonomy (some refusals come with HTTP 200).
async fn read(res: reqwest::Response) -> Result<Value, PlatformError> {
    let status = res.status();
    let text = res.text().await.map_err(|e| PlatformError::from_http(&e))?;
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let code = body["error"]["code"].as_str().unwrap_or_default();
    if status.is_success() && (code == "ok" || code.is_empty()) {
        return Ok(body["data"].clone());
    }
    let said = body["error"]["message"].as_str().unwrap_or_default();
    let message = match said.is_empty() {
        true => format!("TikTok answered {status} ({code})"),
        false => format!("{said} ({code})"),
    };
    Err(match code {
        "access_token_invalid" => PlatformError::TokenRevoked(message),
        "scope_not_authorized" | "scope_permission_missed" => PlatformError::PermissionMissing(message),
        "rate_limit_exceeded" => PlatformError::RateLimited {
            retry_after: Some(Duration::from_secs(60)),
            until: None,
            app_wide: false,
        },
        // A daily cap TikTok does not publish: tried again in an hour.
        "spam_risk_too_many_posts" | "spam_risk_too_many_pending_share" => PlatformError::RateLimited {
            retry_after: Some(Duration::from_secs(3600)),
            until: None,
            app_wide: false,
        },
        "unaudited_client_can_only_post_to_private_accounts" => PlatformError::ContentRejected {
            message: "TikTok has not audited Herald's app yet, and an unaudited app may post only to private accounts, and only as \"only me\" (SELF_ONLY): make the account private on TikTok, or have the app audited.".into(),
        },
        "url_ownership_unverified" => PlatformError::ContentRejected {
            message: "TikTok pulls photos only from a domain the app has verified: verify Herald's public address in the TikTok developer portal (URL properties).".into(),
        },
        "reached_active_user_cap" => PlatformError::ContentRejected {
            message: "TikTok lets an unaudited app post for only five accounts a day, and that many have posted: try again tomorrow, or have the app audited.".into(),
        },
        "privacy_level_option_mismatch" | "invalid_params" | "invalid_param" | "invalid_file_upload" => {
            PlatformError::ContentRejected { message }
        }
        "spam_risk_user_banned_from_posting" => PlatformError::Platform { message },
        _ if status.as_u16() == 429 => PlatformError::RateLimited {
            retry_after: Some(Duration::from_secs(60)),
            until: None,
            app_wide: false,
        },
        _ if status.as_u16() == 401 => PlatformError::TokenRevoked(message),
        _ if status.is_server_error() => PlatformError::Transient { message },
        _ => PlatformError::Platform { message },
    })
}

impl Connector for Tiktok {
    fn login(&self) -> Login {
        Login::Tiktok
    }

    fn authorize_url(&self, r: &Authorize<'_>) -> Url {
        self.consent_url(r)
    }

    fn exchange<'a>(&'a self, r: CodeExchange<'a>) -> Call<'a, Exchanged> {
        Box::pin(async move { self.exchange_code(r).await.map(Exchanged::Account) })
    }

    fn covers(&self) -> &'static str {
        "one TikTok account"
    }

    fn refresh<'a>(
        &'a self,
        _: &'a SecretString,
        renew: Option<&'a SecretString>,
        now: Timestamp,
    ) -> Call<'a, Refreshed> {
        Box::pin(async move { self.renew(crate::oauth2::renew_with(renew, "TikTok")?, now).await })
    }

    /// TikTok's revoke ends the person's authorization of the app: the refresh token goes with
    /// the access token named.
    fn revoke<'a>(&'a self, token: &'a SecretString, _: Option<&'a SecretString>) -> Call<'a, ()> {
        Box::pin(self.revoke_token(token))
    }
}

impl Publisher for Tiktok {
    fn platform(&self) -> Platform {
        Platform::Tiktok
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
            fresh: h.publish_id.is_none() && !h.init_started,
            // A photo post's init, or a video's last chunk: what makes the post.
            visible_call: h.init_started || (h.chunks > 0 && h.sent + 1 >= h.chunks),
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
            self.publish_step(job, h, &ctx).await.map(saved)
        })
    }

    fn live_facts<'a>(
        &'a self,
        _: Login,
        token: &'a SecretString,
        _: &'a str,
    ) -> Call<'a, Option<LiveFacts>> {
        Box::pin(async move { self.creator(token).await.map(Some) })
    }

    fn live_facts_shape_posts(&self) -> bool {
        true
    }

    fn comments_available(&self) -> Result<(), Unavailable> {
        Ok(())
    }

    /// Through the API for Business only: the Content Posting API has no comments.
    fn comments<'a>(
        &'a self,
        login: Login,
        token: &'a SecretString,
        account: &'a str,
        post: &'a str,
    ) -> Call<'a, Vec<Comment>> {
        Box::pin(async move {
            business_only(login)?;
            self.business.comments(token, account, post).await
        })
    }

    fn reply<'a>(
        &'a self,
        login: Login,
        token: &'a SecretString,
        account: &'a str,
        post: &'a str,
        comment: &'a str,
        text: &'a str,
    ) -> Call<'a, String> {
        Box::pin(async move {
            business_only(login)?;
            self.business.reply(token, account, post, comment, text).await
        })
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

/// Comments are read and answered through the API for Business, never Login Kit's token.
fn business_only(login: Login) -> Result<(), PlatformError> {
    match login {
        Login::TiktokBusiness => Ok(()),
        _ => Err(PlatformError::Unsupported(
            "TikTok's Content Posting API has no comments: add comments to the profile (TikTok for Business) to read and answer them.".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_video_is_one_chunk_under_twenty_megabytes_else_ten_megabyte_chunks_the_last_taking_the_rest() {
        assert_eq!(chunk_plan(4_000_000), (4_000_000, 1));
        assert_eq!(chunk_plan(19_999_999), (19_999_999, 1));
        assert_eq!(chunk_plan(20_000_000), (CHUNK, 2));
        // TikTok's own example: 50,000,123 bytes in five chunks, the last 10,000,123.
        assert_eq!(chunk_plan(50_000_123), (CHUNK, 5));
        let h = Handle {
            size: 50_000_123,
            chunk_size: CHUNK,
            chunks: 5,
            ..Handle::default()
        };
        assert_eq!(chunks_taken(&h, 0), 0);
        assert_eq!(chunks_taken(&h, 30_000_000), 3);
        assert_eq!(chunks_taken(&h, 50_000_123), 5);
    }

    #[test]
    fn the_upload_hosts_content_range_says_how_many_bytes_arrived() {
        assert_eq!(uploaded_of("bytes 0-9999999/50000123"), Some(10_000_000));
        assert_eq!(uploaded_of("nonsense"), None);
    }

    #[test]
    fn the_authorize_url_carries_the_client_key_comma_separated_scopes_and_pkce() {
        let business = TiktokBusiness::new(
            TiktokBusinessConfig {
                app_id: "7000biz".into(),
                secret: SecretString::from("b"),
                www_base: Url::parse("http://127.0.0.1:1/www.tiktok.com").unwrap(),
                api_base: Url::parse("http://127.0.0.1:1/business-api.tiktok.com").unwrap(),
            },
            crate::http_client(),
        );
        let t = Tiktok::new(
            TiktokConfig {
                client_key: "awkey".into(),
                client_secret: SecretString::from("s3cret"),
                www_base: Url::parse("http://127.0.0.1:1/www.tiktok.com").unwrap(),
                api_base: Url::parse("http://127.0.0.1:1/open.tiktokapis.com").unwrap(),
                pull_videos: false,
            },
            Arc::new(business),
            crate::http_client(),
        );
        let u = t.consent_url(&Authorize {
            state: "st",
            redirect_uri: "http://h/cb",
            scopes: &["user.info.basic", "video.publish"],
            pkce_challenge: Some("c"),
        });
        assert_eq!(u.path(), "/www.tiktok.com/v2/auth/authorize/");
        let q = u.query().unwrap();
        assert!(q.contains("client_key=awkey") && q.contains("scope=user.info.basic%2Cvideo.publish"));
        assert!(q.contains("code_challenge=c&code_challenge_method=S256"));
        assert!(!format!("{:?}", t.config).contains("s3cret"));
    }
}
