//! YouTube: Google's OAuth on `accounts.google.com/o/oauth2/v2/auth` and `oauth2.googleapis.com`
//! (offline access with `prompt=consent` for a refresh token, PKCE S256; one-hour access tokens;
//! refresh tokens that do not rotate and die when revoked), and the Data API v3 on
//! `www.googleapis.com`: `videos.insert` by the resumable protocol (a session opened with the
//! metadata, its URI saved before the first byte, then `PUT`s of 256 KiB multiples answered
//! `308 Resume Incomplete` with the `Range` received), `thumbnails.set`, the video's processing
//! read from `videos.list`, comments through `commentThreads` and `comments.insert`, and metrics
//! from `videos.list?part=statistics`.
//!
//! Exactly once: a video exists only once its last byte arrived. After a crash or a lost answer
//! once the last chunk may have gone, and whenever YouTube refuses a chunk, the session is asked
//! where it stands (`Content-Range: bytes */{size}`): `308` with what it holds (the upload goes on
//! from there) or `200` with the video (it is done). A session YouTube no longer knows (they last
//! about a week) when the last chunk may have gone sends Herald to the channel's uploads playlist
//! for a video of this title made inside the attempt's window; only when there is none does a new
//! upload start. A custom thumbnail YouTube refuses does not undo the video: it is said beside it.

use std::time::Duration;

use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use herald_domain::platform::{Login, Platform};

use crate::adapter::{
    Authorize, Call, CodeExchange, Connector, Exchanged, PublishJob, Publisher, read_handle, saved,
    unreadable,
};
use crate::oauth2::Tokens;
use crate::{Comment, Grant, Metrics, Note, PlatformError, Published, Refreshed, Step, StepContext, settle};

/// Where the adapter finds Google and who it is there.
#[derive(Clone)]
pub struct YoutubeConfig {
    pub client_id: String,
    pub client_secret: SecretString,
    /// `https://accounts.google.com` (the consent page).
    pub www_base: Url,
    /// `https://oauth2.googleapis.com` (the token and revoke endpoints).
    pub oauth_base: Url,
    /// `https://www.googleapis.com` (the Data API, and its upload paths).
    pub api_base: Url,
}

impl std::fmt::Debug for YoutubeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("YoutubeConfig")
            .field("client_id", &self.client_id)
            .field("api_base", &self.api_base.as_str())
            .finish_non_exhaustive()
    }
}

/// Progress of one delivery's video, saved by the dispatcher between steps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Handle {
    /// When the attempt began (Unix seconds): the earliest a published video can carry.
    #[serde(default)]
    started_at: i64,
    /// The resumable session's URI: saved before the first byte.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    session: Option<String>,
    /// The video's size, and the bytes YouTube said it holds.
    #[serde(default)]
    size: u64,
    #[serde(default)]
    sent: u64,
    /// The video, once its last byte arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    video_id: Option<String>,
    /// The custom thumbnail is set (or none was asked for, or YouTube refused it).
    #[serde(default)]
    thumbnail_done: bool,
    /// Why YouTube refused the custom thumbnail: said beside the published video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    thumbnail_refused: Option<String>,
    /// When Herald first found YouTube processing the video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    processing_since: Option<i64>,
}

/// Herald's chunks: 8 MiB, a multiple of the 256 KiB YouTube requires of every chunk but the last.
const CHUNK: u64 = 32 * 256 * 1024;
/// How soon a processing video is looked at again, and how long Herald waits for processing
/// before it calls the video published (YouTube goes on processing it; it is uploaded).
const RECHECK: Duration = Duration::from_secs(5);
const PROCESSING_LIMIT: i64 = 2 * 3600;
/// How long a video just uploaded may be missing from `videos.list` before it counts as deleted.
const UNLISTED_GRACE: i64 = 5 * 60;
/// Uploads read after a session was lost (50 a page, YouTube's most), and pages of any list read
/// at most (the newest 200 uploads; 400 comment threads or replies, 100 a page).
const PAGE: u64 = 50;
const MAX_PAGES: usize = 4;
/// How far YouTube's clock may be from Herald's when matching a video's time (seconds).
const SKEW: i64 = 5;
/// Where YouTube's quota day ends: midnight in California [official].
const QUOTA_ZONE: &str = "America/Los_Angeles";

#[derive(Debug, Clone)]
pub struct Youtube {
    config: YoutubeConfig,
    http: reqwest::Client,
    /// Video bytes go through a client without the total-call bound (a chunk is large).
    upload: reqwest::Client,
}

impl Youtube {
    pub fn new(config: YoutubeConfig, http: reqwest::Client) -> Self {
        Self {
            config,
            http,
            upload: crate::oauth2::upload_client(),
        }
    }

    fn at(base: &Url, path: &str) -> Url {
        let mut u = base.clone();
        let root = u.path().trim_end_matches('/').to_owned();
        u.set_path(&format!("{root}{path}"));
        u
    }

    fn api(&self, path: &str) -> Url {
        Self::at(&self.config.api_base, &format!("/youtube/v3/{path}"))
    }

    fn upload_path(&self, path: &str) -> Url {
        Self::at(&self.config.api_base, &format!("/upload/youtube/v3/{path}"))
    }

    /// A read of the API; `now`, where a step knows it, dates a quota's reset.
    async fn get(
        &self,
        url: Url,
        token: &SecretString,
        now: Option<Timestamp>,
    ) -> Result<Value, PlatformError> {
        read(
            crate::send(self.http.get(url).bearer_auth(token.expose_secret())).await?,
            now,
        )
        .await
    }

    async fn post(
        &self,
        url: Url,
        token: &SecretString,
        body: &Value,
        now: Option<Timestamp>,
    ) -> Result<Value, PlatformError> {
        let request = self
            .http
            .post(url)
            .bearer_auth(token.expose_secret())
            .header(reqwest::header::CONTENT_TYPE, "application/json; charset=UTF-8")
            .body(body.to_string());
        read(crate::send(request).await?, now).await
    }

    /// Google's token endpoints: the app's id and secret in the form; `{"error",
    /// "error_description"}` when refused.
    async fn token_call(&self, path: &str, form: &[(&str, &str)]) -> Result<Value, PlatformError> {
        let mut form = form.to_vec();
        form.push(("client_id", &self.config.client_id));
        form.push(("client_secret", self.config.client_secret.expose_secret()));
        let url = Self::at(&self.config.oauth_base, path);
        let res = crate::send(self.http.post(url).form(&form)).await?;
        // A refresh token revoked, unused for six months, or of an app in testing (seven days).
        let ended = ["invalid_grant", "invalid_token"];
        crate::oauth2::token_answer(res, "Google", &ended, "YouTube client id and secret").await
    }

    fn consent_url(&self, r: &Authorize<'_>) -> Url {
        let mut u = Self::at(&self.config.www_base, "/o/oauth2/v2/auth");
        u.query_pairs_mut()
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", r.redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", &r.scopes.join(" "))
            // A refresh token, given again on every consent.
            .append_pair("access_type", "offline")
            .append_pair("prompt", "consent")
            .append_pair("state", r.state);
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
        let body = self.token_call("/token", &form).await?;
        let tokens = Tokens::read(&body, r.now, "Google")?;
        let scopes = match body["scope"].as_str() {
            Some(s) => s.split_whitespace().map(str::to_owned).collect(),
            None => r.requested.iter().map(|s| (*s).to_owned()).collect(),
        };
        // The channel chosen on Google's page is the one the token speaks for.
        let mut url = self.api("channels");
        url.query_pairs_mut()
            .append_pair("part", "snippet")
            .append_pair("mine", "true");
        let channels = self.get(url, &tokens.access, Some(r.now)).await?;
        let channel = channels["items"]
            .as_array()
            .and_then(|c| c.first())
            .ok_or_else(|| PlatformError::Platform {
                message:
                    "This Google account has no YouTube channel: create one on YouTube, then connect again."
                        .into(),
            })?;
        let id = channel["id"].as_str().ok_or_else(|| malformed("items[0].id"))?;
        let snippet = &channel["snippet"];
        let handle = snippet["customUrl"]
            .as_str()
            .or(snippet["title"].as_str())
            .unwrap_or(id);
        Ok(Grant {
            access_token: tokens.access,
            issued_at: r.now,
            expires_at: tokens.expires_at,
            scopes,
            account_id: id.to_owned(),
            handle: format!("{} ({handle})", snippet["title"].as_str().unwrap_or(id)),
            renew: tokens.renew,
        })
    }

    /// A new access token; Google's refresh tokens do not rotate, so the one held stays.
    async fn renew(&self, refresh: &SecretString, now: Timestamp) -> Result<Refreshed, PlatformError> {
        let body = self
            .token_call(
                "/token",
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.expose_secret()),
                ],
            )
            .await?;
        Tokens::read(&body, now, "Google").map(Refreshed::from)
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
        if let Some(video) = handle.video_id.clone() {
            if !handle.thumbnail_done {
                return self.set_thumbnail(job, &video, handle, ctx.now).await;
            }
            return self.settle_processing(job, &video, handle, ctx.now).await;
        }
        let Some(session) = handle.session.clone() else {
            return self.open_session(job, handle, ctx.now).await;
        };
        if ctx.recovering {
            return self.resume(job, &session, handle, ctx).await;
        }
        self.send_chunk(job, &session, handle, ctx).await
    }

    /// The metadata `POST` that opens a resumable session; nothing is on YouTube yet.
    async fn open_session(
        &self,
        job: &PublishJob<'_>,
        handle: Handle,
        now: Timestamp,
    ) -> Result<Step<Handle>, PlatformError> {
        let video = job
            .items
            .iter()
            .find(|i| i.video())
            .ok_or_else(|| PlatformError::ContentRejected {
                message: "A YouTube post needs a video.".into(),
            })?;
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
        let mut url = self.upload_path("videos");
        url.query_pairs_mut()
            .append_pair("uploadType", "resumable")
            .append_pair("part", "snippet,status");
        if job.options.get("notify_subscribers").and_then(Value::as_bool) == Some(false) {
            url.query_pairs_mut().append_pair("notifySubscribers", "false");
        }
        let res = crate::send(
            self.http
                .post(url)
                .bearer_auth(job.token.expose_secret())
                .header(reqwest::header::CONTENT_TYPE, "application/json; charset=UTF-8")
                .header("X-Upload-Content-Length", size.to_string())
                .header("X-Upload-Content-Type", video.media_type.mime())
                .body(metadata(job).to_string()),
        )
        .await?;
        let location = res
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        read(res, Some(now)).await?;
        let session = location.ok_or_else(|| malformed("Location"))?;
        self.own(&session)?;
        Ok(Step::Continue(Handle {
            session: Some(session),
            size,
            sent: 0,
            ..handle
        }))
    }

    /// A session URI on YouTube's own upload host (the token goes with every chunk).
    fn own(&self, session: &str) -> Result<(), PlatformError> {
        let url = Url::parse(session).map_err(|_| malformed("Location"))?;
        match url.origin() == self.config.api_base.origin() {
            true => Ok(()),
            false => Err(PlatformError::Platform {
                message: format!(
                    "YouTube named an upload session on another host ({}); Herald sends video bytes only to YouTube's own",
                    url.host_str().unwrap_or_default()
                ),
            }),
        }
    }

    /// Asks the session where it stands: `308` with the bytes it holds, or the finished video.
    async fn resume(
        &self,
        job: &PublishJob<'_>,
        session: &str,
        handle: Handle,
        ctx: &StepContext<'_>,
    ) -> Result<Step<Handle>, PlatformError> {
        let res = self
            .upload
            .put(session)
            .bearer_auth(job.token.expose_secret())
            .header(reqwest::header::CONTENT_RANGE, format!("bytes */{}", handle.size))
            .header(reqwest::header::CONTENT_LENGTH, "0")
            .send()
            .await
            .map_err(|e| PlatformError::from_http(&e))?;
        match res.status().as_u16() {
            308 if received(res.headers()) >= handle.size => Err(PlatformError::Platform {
                message: "YouTube's upload session holds every byte yet says the upload is not complete"
                    .into(),
            }),
            308 => Ok(Step::Continue(Handle {
                sent: received(res.headers()),
                ..handle
            })),
            200 | 201 => self.uploaded(res, handle, ctx.now).await,
            // The session is gone (they last about a week): the video was made, or never.
            404 | 410 => self.find_or_restart(job, handle, ctx).await,
            _ => read(res, Some(ctx.now)).await.and_then(|_| {
                Err(PlatformError::Transient {
                    message: "YouTube's upload session did not say where it stands".into(),
                })
            }),
        }
    }

    /// The next chunk. YouTube answers `308` with what it holds until the last byte, then the
    /// video; any other answer is checked against where the session stands (the chunk may have
    /// arrived before an answer was lost).
    async fn send_chunk(
        &self,
        job: &PublishJob<'_>,
        session: &str,
        handle: Handle,
        ctx: &StepContext<'_>,
    ) -> Result<Step<Handle>, PlatformError> {
        let video = job
            .items
            .iter()
            .find(|i| i.video())
            .ok_or_else(|| unreadable("it records a video upload for a post without a video".into()))?;
        if handle.sent >= handle.size {
            return self.resume(job, session, handle, ctx).await;
        }
        let first = handle.sent;
        let last = (first + CHUNK).min(handle.size) - 1;
        let bytes = crate::oauth2::read_range(&self.upload, video, first, last - first + 1).await?;
        let res = self
            .upload
            .put(session)
            .bearer_auth(job.token.expose_secret())
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
            // YouTube took none of the chunk: tried again later, and not forever (a failure).
            308 if received(res.headers()) <= handle.sent => Err(PlatformError::Transient {
                message: "YouTube's upload session took none of the chunk".into(),
            }),
            308 => Ok(Step::Continue(Handle {
                sent: received(res.headers()),
                ..handle
            })),
            200 | 201 => self.uploaded(res, handle, ctx.now).await,
            404 | 410 => self.find_or_restart(job, handle, ctx).await,
            _ => {
                let refused = read(res, Some(ctx.now)).await.err();
                // Where the session stands decides: a chunk that did arrive is not sent again.
                match self.resume(job, session, handle.clone(), ctx).await? {
                    Step::Continue(h) if h.sent == handle.sent && h.video_id.is_none() => Err(refused
                        .unwrap_or(PlatformError::Transient {
                            message: "YouTube's upload host refused a chunk".into(),
                        })),
                    step => Ok(step),
                }
            }
        }
    }

    /// The video resource the last byte brought: its id is saved before anything else.
    async fn uploaded(
        &self,
        res: reqwest::Response,
        handle: Handle,
        now: Timestamp,
    ) -> Result<Step<Handle>, PlatformError> {
        let video = read(res, Some(now)).await?;
        let id = video["id"].as_str().ok_or_else(|| malformed("id"))?;
        Ok(Step::Continue(Handle {
            video_id: Some(id.to_owned()),
            sent: handle.size,
            ..handle
        }))
    }

    /// A session YouTube no longer knows. When its last chunk may have gone (Herald is recovering,
    /// with the ids of the profile's other posts at hand), the video of this title made inside
    /// the attempt's window is looked for among the channel's uploads, and taken on to its
    /// thumbnail and processing; otherwise, or when there is none, a new upload starts.
    async fn find_or_restart(
        &self,
        job: &PublishJob<'_>,
        handle: Handle,
        ctx: &StepContext<'_>,
    ) -> Result<Step<Handle>, PlatformError> {
        let restart = Handle {
            session: None,
            sent: 0,
            size: 0,
            ..handle.clone()
        };
        if !ctx.recovering {
            return Ok(Step::Continue(restart));
        }
        let found = self.find_uploaded(job, handle.started_at, ctx.now).await?;
        Ok(match settle(found, ctx.known) {
            Some(Step::Published(p)) => Step::Continue(Handle {
                video_id: Some(p.id),
                sent: handle.size,
                ..handle
            }),
            Some(step) => step,
            None => Step::Continue(restart),
        })
    }

    /// The channel's uploads made inside the window whose title is this post's.
    async fn find_uploaded(
        &self,
        job: &PublishJob<'_>,
        from: i64,
        now: Timestamp,
    ) -> Result<Vec<Published>, PlatformError> {
        let to = now.as_second();
        let mut url = self.api("channels");
        url.query_pairs_mut()
            .append_pair("part", "contentDetails")
            .append_pair("mine", "true");
        let channels = self.get(url, job.token, Some(now)).await?;
        let uploads = channels["items"][0]["contentDetails"]["relatedPlaylists"]["uploads"]
            .as_str()
            .ok_or_else(|| malformed("items[0].contentDetails.relatedPlaylists.uploads"))?
            .to_owned();
        let title = job.text_option("title").unwrap_or_default().trim();
        let mut found = Vec::new();
        let mut page: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut url = self.api("playlistItems");
            url.query_pairs_mut()
                .append_pair("part", "snippet")
                .append_pair("playlistId", &uploads)
                .append_pair("maxResults", &PAGE.to_string());
            if let Some(p) = &page {
                url.query_pairs_mut().append_pair("pageToken", p);
            }
            let d = self.get(url, job.token, Some(now)).await?;
            let mut older = false;
            for item in d["items"].as_array().into_iter().flatten() {
                let s = &item["snippet"];
                let at = s["publishedAt"]
                    .as_str()
                    .and_then(|t| t.parse::<Timestamp>().ok())
                    .map_or(0, Timestamp::as_second);
                older |= at < from - SKEW;
                if at >= from - SKEW && at <= to + SKEW && s["title"].as_str().map(str::trim) == Some(title) {
                    found.extend(s["resourceId"]["videoId"].as_str().map(published));
                }
            }
            page = d["nextPageToken"].as_str().map(str::to_owned);
            if older || page.is_none() {
                return Ok(found);
            }
        }
        Err(PlatformError::Platform {
            message: format!(
                "Herald looked through the channel's newest {} uploads without reaching the time of this attempt, so it cannot tell whether the video was made.",
                MAX_PAGES as u64 * PAGE
            ),
        })
    }

    /// `thumbnails.set` with the image the post names, when it names one.
    async fn set_thumbnail(
        &self,
        job: &PublishJob<'_>,
        video: &str,
        handle: Handle,
        now: Timestamp,
    ) -> Result<Step<Handle>, PlatformError> {
        let done = Handle {
            thumbnail_done: true,
            ..handle
        };
        let Some(image) = job.media_option("thumbnail") else {
            return Ok(Step::Continue(done));
        };
        let item = crate::Item {
            url: image.to_owned(),
            media_type: herald_domain::media::MediaType::Jpeg,
        };
        // The video is up whatever happens to its thumbnail: a failure that is not about access,
        // limits or the network is said beside it, and the person sets it in YouTube Studio.
        let why = match self.send_thumbnail(job, video, &item, now).await {
            Ok(()) => return Ok(Step::Continue(done)),
            Err(
                e @ (PlatformError::TokenExpired
                | PlatformError::TokenRevoked(_)
                | PlatformError::RateLimited { .. }
                | PlatformError::Transient { .. }),
            ) => return Err(e),
            Err(PlatformError::PermissionMissing(why)) => {
                format!("{why}; a channel may use custom thumbnails once its phone number is verified")
            }
            Err(e) => e.to_string(),
        };
        Ok(Step::Continue(Handle {
            thumbnail_refused: Some(format!(
                "YouTube refused the custom thumbnail ({why}). The video is published with YouTube's own thumbnail; set yours in YouTube Studio."
            )),
            ..done
        }))
    }

    /// `thumbnails.set` with the image read from Herald's own link.
    async fn send_thumbnail(
        &self,
        job: &PublishJob<'_>,
        video: &str,
        item: &crate::Item,
        now: Timestamp,
    ) -> Result<(), PlatformError> {
        let (media_type, bytes) = crate::oauth2::fetch_media(&self.upload, item).await?;
        let mut url = self.upload_path("thumbnails/set");
        url.query_pairs_mut()
            .append_pair("videoId", video)
            .append_pair("uploadType", "media");
        let res = crate::send(
            self.upload
                .post(url)
                .bearer_auth(job.token.expose_secret())
                .header(reqwest::header::CONTENT_TYPE, media_type)
                .body(bytes),
        )
        .await?;
        read(res, Some(now)).await.map(|_| ())
    }

    /// Where processing stands: published once processed (or after two hours of processing,
    /// which YouTube finishes on its own); a failed or rejected upload says why.
    async fn settle_processing(
        &self,
        job: &PublishJob<'_>,
        video: &str,
        handle: Handle,
        now: Timestamp,
    ) -> Result<Step<Handle>, PlatformError> {
        let mut url = self.api("videos");
        url.query_pairs_mut()
            .append_pair("part", "status,processingDetails")
            .append_pair("id", video);
        let d = self.get(url, job.token, Some(now)).await?;
        let since = handle.processing_since.unwrap_or(now.as_second());
        let Some(status) = d["items"]
            .as_array()
            .and_then(|v| v.first())
            .map(|v| &v["status"])
        else {
            // A video just uploaded may be listed a moment late; one still missing after a few
            // minutes was deleted or removed.
            if now.as_second() - since < UNLISTED_GRACE {
                return Ok(Step::Park(
                    Handle {
                        processing_since: Some(since),
                        ..handle
                    },
                    RECHECK,
                ));
            }
            return Err(PlatformError::ContentRejected {
                message:
                    "YouTube no longer lists the video: it was deleted or removed while it was processed"
                        .into(),
            });
        };
        let done = |handle: Handle| match handle.thumbnail_refused {
            Some(message) => Step::PublishedWithNote(
                published(video),
                Note {
                    code: "thumbnail_refused",
                    message,
                },
            ),
            None => Step::Published(published(video)),
        };
        match status["uploadStatus"].as_str().unwrap_or_default() {
            "processed" => Ok(done(handle)),
            "failed" => Err(PlatformError::ContentRejected {
                message: format!(
                    "YouTube could not process the video ({})",
                    status["failureReason"].as_str().unwrap_or("no reason given")
                ),
            }),
            "rejected" | "deleted" => Err(PlatformError::ContentRejected {
                message: format!(
                    "YouTube rejected the video ({})",
                    status["rejectionReason"].as_str().unwrap_or("deleted")
                ),
            }),
            _ if now.as_second() - since > PROCESSING_LIMIT => Ok(done(handle)),
            _ => Ok(Step::Park(
                Handle {
                    processing_since: Some(since),
                    ..handle
                },
                RECHECK,
            )),
        }
    }

    async fn metrics(
        &self,
        token: &SecretString,
        video: &str,
        now: Timestamp,
    ) -> Result<Metrics, PlatformError> {
        let mut url = self.api("videos");
        url.query_pairs_mut()
            .append_pair("part", "statistics")
            .append_pair("id", video);
        let d = self.get(url, token, Some(now)).await?;
        let s = d["items"]
            .as_array()
            .and_then(|v| v.first())
            .map(|v| &v["statistics"])
            .ok_or_else(|| PlatformError::Platform {
                message: "YouTube did not list the video: it was deleted, or is no longer the channel's"
                    .into(),
            })?;
        // Counts are strings (uint64 in the discovery document).
        let n = |k: &str| s[k].as_str().and_then(|v| v.parse().ok());
        Ok(Metrics {
            views: n("viewCount"),
            likes: n("likeCount"),
            comments: n("commentCount"),
            ..Metrics::default()
        })
    }

    async fn comments(&self, token: &SecretString, video: &str) -> Result<Vec<Comment>, PlatformError> {
        let mut out = Vec::new();
        let mut page: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut url = self.api("commentThreads");
            url.query_pairs_mut()
                .append_pair("part", "snippet,replies")
                .append_pair("videoId", video)
                .append_pair("maxResults", "100")
                .append_pair("textFormat", "plainText");
            if let Some(p) = &page {
                url.query_pairs_mut().append_pair("pageToken", p);
            }
            let d = self.get(url, token, None).await?;
            for thread in d["items"].as_array().into_iter().flatten() {
                let top = &thread["snippet"]["topLevelComment"];
                let mut c = comment(top);
                c.replies = thread["replies"]["comments"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(comment)
                    .collect();
                // A thread carries some of its replies; `comments.list` has them all.
                let total = thread["snippet"]["totalReplyCount"].as_u64().unwrap_or(0);
                if total > c.replies.len() as u64 {
                    c.replies = self.replies(token, &c.id).await?;
                }
                out.push(c);
            }
            page = d["nextPageToken"].as_str().map(str::to_owned);
            if page.is_none() {
                break;
            }
        }
        Ok(out)
    }

    /// The replies to a top-level comment, oldest first (up to 400).
    async fn replies(&self, token: &SecretString, parent: &str) -> Result<Vec<Comment>, PlatformError> {
        let mut out = Vec::new();
        let mut page: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut url = self.api("comments");
            url.query_pairs_mut()
                .append_pair("part", "snippet")
                .append_pair("parentId", parent)
                .append_pair("maxResults", "100")
                .append_pair("textFormat", "plainText");
            if let Some(p) = &page {
                url.query_pairs_mut().append_pair("pageToken", p);
            }
            let d = self.get(url, token, None).await?;
            out.extend(d["items"].as_array().into_iter().flatten().map(comment));
            page = d["nextPageToken"].as_str().map(str::to_owned);
            if page.is_none() {
                break;
            }
        }
        Ok(out)
    }

    async fn reply(&self, token: &SecretString, parent: &str, text: &str) -> Result<String, PlatformError> {
        let mut url = self.api("comments");
        url.query_pairs_mut().append_pair("part", "snippet");
        let d = self
            .post(
                url,
                token,
                &json!({"snippet": {"parentId": parent, "textOriginal": text}}),
                None,
            )
            .await?;
        d["id"].as_str().map(str::to_owned).ok_or_else(|| malformed("id"))
    }
}

/// The metadata of `videos.insert`: the title and description, tags, category, privacy and the
/// made-for-kids self-declaration.
fn metadata(job: &PublishJob<'_>) -> Value {
    let tags: Vec<&str> = job
        .text_option("tags")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    let mut snippet = json!({
        "title": job.text_option("title").unwrap_or_default(),
        "description": job.text,
        "categoryId": job.text_option("category_id").unwrap_or("22"),
    });
    if !tags.is_empty() {
        snippet["tags"] = json!(tags);
    }
    json!({
        "snippet": snippet,
        "status": {
            "privacyStatus": job.text_option("privacy_status").unwrap_or("public"),
            "selfDeclaredMadeForKids": job.options.get("made_for_kids").and_then(Value::as_bool).unwrap_or(false),
            "embeddable": true,
            "license": "youtube",
        },
    })
}

/// The bytes a session holds, from `Range: bytes=0-{last}` (none: nothing yet).
fn received(headers: &reqwest::header::HeaderMap) -> u64 {
    headers
        .get(reqwest::header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.trim().strip_prefix("bytes=0-"))
        .and_then(|last| last.parse::<u64>().ok())
        .map_or(0, |last| last + 1)
}

fn comment(c: &Value) -> Comment {
    let s = &c["snippet"];
    Comment {
        id: c["id"].as_str().unwrap_or_default().to_owned(),
        text: s["textOriginal"]
            .as_str()
            .or(s["textDisplay"].as_str())
            .unwrap_or_default()
            .to_owned(),
        username: s["authorDisplayName"].as_str().unwrap_or_default().to_owned(),
        timestamp: s["publishedAt"].as_str().map(str::to_owned),
        hidden: false,
        replies: Vec::new(),
    }
}

fn published(id: &str) -> Published {
    Published {
        id: id.to_owned(),
        permalink: Some(format!("https://www.youtube.com/watch?v={id}")),
    }
}

fn malformed(field: &str) -> PlatformError {
    PlatformError::Platform {
        message: format!("YouTube's answer lacked `{field}`"),
    }
}

/// The next midnight in California, when YouTube's daily quota starts again.
fn quota_reset(now: Timestamp) -> Option<Timestamp> {
    let here = now.in_tz(QUOTA_ZONE).ok()?;
    Some(here.tomorrow().ok()?.start_of_day().ok()?.timestamp())
}

/// A Data API answer: its JSON, or Google's `{"error":{"code","message","errors":[{"reason"}]}}`
/// mapped into the taxonomy by its first reason.
async fn read(res: reqwest::Response, now: Option<Timestamp>) -> Result<Value, PlatformError> {
    let status = res.status();
    let text = res.text().await.map_err(|e| PlatformError::from_http(&e))?;
    if status.is_success() {
        return Ok(serde_json::from_str(&text).unwrap_or(Value::Null));
    }
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let reason = body["error"]["errors"][0]["reason"].as_str().unwrap_or_default();
    let said = body["error"]["message"].as_str().unwrap_or_default();
    let message = match said.is_empty() {
        true => format!("YouTube answered {status} ({reason})"),
        false => format!("{said} ({reason})"),
    };
    Err(match reason {
        // The project's daily quota, which every channel connected to Herald shares.
        "quotaExceeded" => PlatformError::RateLimited {
            retry_after: Some(Duration::from_secs(3600)),
            until: now.and_then(quota_reset),
            app_wide: true,
        },
        // The channel's own upload cap over a rolling day: tried again hourly.
        "uploadLimitExceeded" => PlatformError::RateLimited {
            retry_after: Some(Duration::from_secs(3600)),
            until: None,
            app_wide: false,
        },
        "rateLimitExceeded" | "userRateLimitExceeded" => PlatformError::RateLimited {
            retry_after: Some(Duration::from_secs(60)),
            until: None,
            app_wide: false,
        },
        "insufficientPermissions" | "forbidden" => PlatformError::PermissionMissing(message),
        "invalidTitle"
        | "invalidDescription"
        | "invalidTags"
        | "invalidCategoryId"
        | "invalidVideoMetadata"
        | "invalidPublishAt"
        | "imageTooLarge"
        | "mediaBodyRequired"
        | "invalidImage"
        | "commentTextTooLong"
        | "commentTextRequired" => PlatformError::ContentRejected { message },
        "authError" => PlatformError::TokenRevoked(message),
        _ if status.as_u16() == 401 => PlatformError::TokenRevoked(message),
        _ if status.as_u16() == 429 => PlatformError::RateLimited {
            retry_after: Some(Duration::from_secs(60)),
            until: None,
            app_wide: false,
        },
        _ if status.is_server_error() => PlatformError::Transient { message },
        _ => PlatformError::Platform { message },
    })
}

impl Connector for Youtube {
    fn login(&self) -> Login {
        Login::Youtube
    }

    fn authorize_url(&self, r: &Authorize<'_>) -> Url {
        self.consent_url(r)
    }

    fn exchange<'a>(&'a self, r: CodeExchange<'a>) -> Call<'a, Exchanged> {
        Box::pin(async move { self.exchange_code(r).await.map(Exchanged::Account) })
    }

    fn covers(&self) -> &'static str {
        "the YouTube channel chosen on Google's page"
    }

    fn refresh<'a>(
        &'a self,
        _: &'a SecretString,
        renew: Option<&'a SecretString>,
        now: Timestamp,
    ) -> Call<'a, Refreshed> {
        Box::pin(async move {
            self.renew(crate::oauth2::renew_with(renew, "YouTube")?, now)
                .await
        })
    }

    /// Revoking the refresh token ends the whole grant, its access tokens too; a token Google
    /// no longer knows (`invalid_token`: revoked already, by the person or an earlier try) has
    /// nothing left to revoke.
    fn revoke<'a>(&'a self, token: &'a SecretString, renew: Option<&'a SecretString>) -> Call<'a, ()> {
        Box::pin(async move {
            let token = renew.unwrap_or(token);
            match self
                .token_call("/revoke", &[("token", token.expose_secret())])
                .await
            {
                Ok(_) | Err(PlatformError::TokenRevoked(_)) => Ok(()),
                Err(e) => Err(e),
            }
        })
    }
}

impl Publisher for Youtube {
    fn platform(&self) -> Platform {
        Platform::Youtube
    }

    fn start(&self, at: Timestamp) -> String {
        let h = Handle {
            started_at: at.as_second(),
            ..Handle::default()
        };
        serde_json::to_string(&h).expect("handles serialise")
    }

    fn progress(&self, handle: &str) -> Result<crate::Progress, String> {
        let h: Handle = read_handle(handle)?;
        Ok(crate::Progress {
            fresh: h.session.is_none() && h.video_id.is_none(),
            // The next chunk is the last, or went: what makes the video.
            visible_call: h.video_id.is_some() || (h.session.is_some() && h.sent + CHUNK >= h.size),
            partly_live: h.video_id.is_some(),
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

    fn comments_available(&self) -> Result<(), crate::Unavailable> {
        Ok(())
    }

    fn comments<'a>(
        &'a self,
        _: Login,
        token: &'a SecretString,
        _: &'a str,
        post: &'a str,
    ) -> Call<'a, Vec<Comment>> {
        Box::pin(self.comments(token, post))
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
        Box::pin(self.reply(token, comment, text))
    }

    fn metrics_available(&self) -> Result<(), crate::Unavailable> {
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
        Box::pin(self.metrics(token, post, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn youtube() -> Youtube {
        let base = |h: &str| Url::parse(&format!("http://127.0.0.1:1/{h}")).unwrap();
        Youtube::new(
            YoutubeConfig {
                client_id: "1-x.apps.googleusercontent.com".into(),
                client_secret: SecretString::from("GOCSPX-s3cret"),
                www_base: base("accounts.google.com"),
                oauth_base: base("oauth2.googleapis.com"),
                api_base: base("www.googleapis.com"),
            },
            crate::http_client(),
        )
    }

    #[test]
    fn the_consent_url_asks_for_offline_access_with_consent_space_separated_scopes_and_pkce() {
        let y = youtube();
        let u = y.consent_url(&Authorize {
            state: "st",
            redirect_uri: "http://h/cb",
            scopes: &[
                "https://www.googleapis.com/auth/youtube.upload",
                "https://www.googleapis.com/auth/youtube.readonly",
            ],
            pkce_challenge: Some("c"),
        });
        assert_eq!(u.path(), "/accounts.google.com/o/oauth2/v2/auth");
        let q = u.query().unwrap();
        assert!(q.contains("access_type=offline&prompt=consent"), "{q}");
        assert!(q.contains("youtube.upload+https"), "{q}");
        assert!(q.contains("code_challenge=c&code_challenge_method=S256"), "{q}");
        assert!(!format!("{:?}", y.config).contains("s3cret"));
    }

    #[test]
    fn a_sessions_range_header_says_how_many_bytes_it_holds() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(received(&h), 0, "no Range: nothing yet");
        h.insert(reqwest::header::RANGE, "bytes=0-8388607".parse().unwrap());
        assert_eq!(received(&h), CHUNK);
        assert_eq!(CHUNK % (256 * 1024), 0, "chunks are multiples of 256 KiB");
    }

    #[test]
    fn the_quota_day_ends_at_midnight_in_california_summer_or_winter() {
        let summer: Timestamp = "2026-07-01T12:00:00Z".parse().unwrap();
        assert_eq!(quota_reset(summer).unwrap().to_string(), "2026-07-02T07:00:00Z");
        let winter: Timestamp = "2026-12-01T09:00:00Z".parse().unwrap();
        assert_eq!(quota_reset(winter).unwrap().to_string(), "2026-12-02T08:00:00Z");
    }

    #[test]
    fn an_upload_session_elsewhere_than_youtubes_upload_host_is_refused() {
        let y = youtube();
        assert!(
            y.own("http://127.0.0.1:1/www.googleapis.com/upload/youtube/v3/videos?upload_id=1")
                .is_ok()
        );
        assert!(y.own("http://evil.example/upload?upload_id=1").is_err());
    }

    #[test]
    fn the_last_chunk_is_the_visible_call_and_an_uploaded_video_is_partly_live() {
        let y = youtube();
        let h = |session: bool, size, sent, video: bool| {
            serde_json::to_string(&Handle {
                session: session.then(|| "s".into()),
                size,
                sent,
                video_id: video.then(|| "v".into()),
                ..Handle::default()
            })
            .unwrap()
        };
        let p = y.progress(&h(false, 0, 0, false)).unwrap();
        assert!(p.fresh && !p.visible_call);
        let p = y.progress(&h(true, 3 * CHUNK, 0, false)).unwrap();
        assert!(!p.fresh && !p.visible_call);
        let p = y.progress(&h(true, 3 * CHUNK, 2 * CHUNK, false)).unwrap();
        assert!(p.visible_call && !p.partly_live);
        let p = y.progress(&h(true, 3 * CHUNK, 3 * CHUNK, true)).unwrap();
        assert!(p.visible_call && p.partly_live);
    }
}
