//! LinkedIn: three-legged OAuth on `www.linkedin.com/oauth/v2` (60-day access tokens; an app
//! LinkedIn approved for refresh tokens renews them until the refresh token's end, a year from the
//! consent, and any other shows the 60 days' end as a reconnect-by date), the member
//! and the Pages they administer as a choose-accounts step, and the Posts API on
//! `api.linkedin.com/rest` with `LinkedIn-Version` and `X-Restli-Protocol-Version: 2.0.0` on every
//! call: text in LinkedIn's "little" format, articles, one image or several (Images API), video
//! (Videos API: initialize → parts, keeping each ETag → finalize → wait until available), a PDF
//! document (Documents API); comments
//! on Pages' posts answered as the Page; metrics from share statistics (Pages) and social metadata.
//!
//! Exactly once: LinkedIn takes no idempotency key, so `post_started` is saved before
//! `POST /rest/posts`; after an interruption the author's recent posts are read for one with the
//! same commentary and media inside the attempt's window. Errors are
//! `{"status","serviceErrorCode","code","message"}`; a 429 (LinkedIn's daily limits, no headers)
//! waits until midnight UTC, when they reset.

use std::time::Duration;

use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use herald_domain::platform::{Login, Platform};

use crate::adapter::{
    Account, Authorize, Call, CodeExchange, Connector, Exchanged, Item, PersonGrant, Progress, PublishJob,
    Publisher, Unavailable, read_handle, saved, unreadable,
};
use crate::oauth2::Tokens;
use crate::{Comment, Metrics, PlatformError, Published, Refreshed, Step, StepContext, settle};

/// The LinkedIn API version Herald speaks (`YYYYMM`; LinkedIn sunsets each about a year after).
pub const VERSION: &str = "202610";

/// Where the adapter finds LinkedIn and who it is there.
#[derive(Clone)]
pub struct LinkedinConfig {
    pub client_id: String,
    pub client_secret: SecretString,
    /// `https://www.linkedin.com` (the consent page and the token endpoints).
    pub www_base: Url,
    /// `https://api.linkedin.com` (`/v2/userinfo` and `/rest`).
    pub api_base: Url,
}

impl std::fmt::Debug for LinkedinConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkedinConfig")
            .field("client_id", &self.client_id)
            .field("api_base", &self.api_base.as_str())
            .finish_non_exhaustive()
    }
}

/// Progress of one delivery's post, saved by the dispatcher between steps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Handle {
    #[serde(default)]
    started_at: i64,
    /// The uploaded images' or video's URNs, in the post's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    media: Vec<String>,
    /// LinkedIn says every media is `AVAILABLE`.
    #[serde(default)]
    media_ready: bool,
    /// Set (and saved) before `POST /rest/posts`.
    #[serde(default)]
    post_started: bool,
}

/// How far LinkedIn's clock may be from Herald's when matching a post's time (seconds).
const SKEW: i64 = 5;
/// How long media may process before Herald gives up on it (seconds).
const PROCESSING_LIMIT: i64 = 3600;
/// How many posts or comments are read per page.
const PAGE: usize = 50;
/// How many of the author's newest posts are read, at most, when looking for an interrupted
/// attempt's.
const LOOK_BACK: usize = 1000;

#[derive(Debug, Clone)]
pub struct Linkedin {
    config: LinkedinConfig,
    http: reqwest::Client,
    /// Media bytes go through a client without the total-call bound.
    upload: reqwest::Client,
}

impl Linkedin {
    pub fn new(config: LinkedinConfig, http: reqwest::Client) -> Self {
        Self {
            config,
            http,
            upload: crate::oauth2::upload_client(),
        }
    }

    /// `https://api.linkedin.com/{path}`; `path` carries URNs already encoded ([`encode`]).
    fn api(&self, path: &str) -> Url {
        let mut u = self.config.api_base.clone();
        let base = u.path().trim_end_matches('/').to_owned();
        u.set_path(&format!("{base}/{path}"));
        u
    }

    /// A Rest.li action on a collection (`…/rest/images?action=initializeUpload`).
    fn action(&self, path: &str, action: &str) -> Url {
        let mut u = self.api(path);
        u.query_pairs_mut().append_pair("action", action);
        u
    }

    fn www(&self, path: &str) -> Url {
        let mut u = self.config.www_base.clone();
        let base = u.path().trim_end_matches('/').to_owned();
        u.set_path(&format!("{base}/{path}"));
        u
    }

    /// A request with the headers every LinkedIn API call carries.
    fn call(&self, method: reqwest::Method, url: Url, token: &SecretString) -> reqwest::RequestBuilder {
        self.http
            .request(method, url)
            .bearer_auth(token.expose_secret())
            .header("LinkedIn-Version", VERSION)
            .header("X-Restli-Protocol-Version", "2.0.0")
    }

    /// A lookup: what it refuses is never the post's content.
    async fn get(&self, url: Url, token: &SecretString) -> Result<Value, PlatformError> {
        let res = crate::send(self.call(reqwest::Method::GET, url, token)).await?;
        read(res).await.map(|(body, _)| body).map_err(|e| match e {
            PlatformError::ContentRejected { message } => PlatformError::Platform { message },
            e => e,
        })
    }

    /// A `POST` with a JSON body: the answer's body and its `x-restli-id`.
    async fn post(
        &self,
        url: Url,
        token: &SecretString,
        body: &Value,
    ) -> Result<(Value, Option<String>), PlatformError> {
        read(crate::send(self.call(reqwest::Method::POST, url, token).json(body)).await?).await
    }

    /// The token endpoints on `www.linkedin.com`, with the app's credentials in the form.
    async fn token_call(&self, path: &str, form: &[(&str, &str)]) -> Result<Value, PlatformError> {
        let mut form = form.to_vec();
        form.push(("client_id", &self.config.client_id));
        form.push(("client_secret", self.config.client_secret.expose_secret()));
        let res = crate::send(self.http.post(self.www(path)).form(&form)).await?;
        let status = res.status();
        let text = res.text().await.map_err(|e| PlatformError::from_http(&e))?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        let message = body["error_description"].as_str().map_or_else(
            || format!("LinkedIn's token endpoint answered {status}"),
            str::to_owned,
        );
        Err(match body["error"].as_str() {
            Some("invalid_client" | "unauthorized_client") => PlatformError::Platform {
                message: format!(
                    "LinkedIn refused Herald's app credentials ({message}): check the LinkedIn client id and secret"
                ),
            },
            Some("invalid_request" | "invalid_grant") if status.as_u16() == 400 || status.as_u16() == 401 => {
                PlatformError::TokenRevoked(message)
            }
            _ if status.is_server_error() => PlatformError::Transient { message },
            _ => PlatformError::Platform { message },
        })
    }

    fn consent_url(&self, r: &Authorize<'_>) -> Url {
        let mut u = self.www("oauth/v2/authorization");
        u.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", r.redirect_uri)
            .append_pair("state", r.state)
            .append_pair("scope", &r.scopes.join(" "));
        u
    }

    async fn exchange_code(&self, r: CodeExchange<'_>) -> Result<PersonGrant, PlatformError> {
        let body = self
            .token_call(
                "oauth/v2/accessToken",
                &[
                    ("grant_type", "authorization_code"),
                    ("code", r.code),
                    ("redirect_uri", r.redirect_uri),
                ],
            )
            .await?;
        let tokens = Tokens::read(&body, r.now, "LinkedIn")?;
        let me = self.get(self.api("v2/userinfo"), &tokens.access).await?;
        // LinkedIn lists the granted scopes separated by commas.
        let scopes = match body["scope"].as_str() {
            Some(s) => s
                .split([',', ' '])
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            None => r.requested.iter().map(|s| (*s).to_owned()).collect(),
        };
        Ok(PersonGrant {
            access_token: tokens.access,
            issued_at: r.now,
            expires_at: tokens.expires_at,
            scopes,
            user_id: me["sub"].as_str().ok_or_else(|| malformed("sub"))?.to_owned(),
            name: me["name"].as_str().unwrap_or_default().to_owned(),
            renew: tokens.renew,
            renew_until: tokens.renew_until,
        })
    }

    /// A new 60-day access token from the refresh token LinkedIn gives the apps it approved for
    /// them. The refresh token stays the same and keeps its end (a year from the consent): a new
    /// access token never outlives it.
    async fn renew(&self, renew: &SecretString, now: Timestamp) -> Result<Refreshed, PlatformError> {
        let body = self
            .token_call(
                "oauth/v2/accessToken",
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", renew.expose_secret()),
                ],
            )
            .await?;
        Tokens::read(&body, now, "LinkedIn").map(Refreshed::from)
    }

    /// The member, and the Pages they may post as (an approved `ADMINISTRATOR` or
    /// `CONTENT_ADMINISTRATOR` role), each reached with the member's token.
    async fn accounts(&self, token: &SecretString) -> Result<Vec<Account>, PlatformError> {
        let me = self.get(self.api("v2/userinfo"), token).await?;
        let sub = me["sub"].as_str().ok_or_else(|| malformed("sub"))?;
        let mut out = vec![Account {
            platform: Platform::Linkedin,
            external_id: format!("urn:li:person:{sub}"),
            handle: me["name"].as_str().unwrap_or(sub).to_owned(),
            group: "Member profile".into(),
            token: token.clone(),
        }];
        let mut acls = self.api("rest/organizationAcls");
        acls.query_pairs_mut()
            .append_pair("q", "roleAssignee")
            .append_pair("state", "APPROVED")
            .append_pair("count", "100");
        let acls = match self.get(acls, token).await {
            // Without the Pages permission the member alone is offered.
            Err(PlatformError::PermissionMissing(_)) => return Ok(out),
            other => other?,
        };
        // The roles that may post as the Page.
        let posts = |acl: &&Value| {
            matches!(
                acl["role"].as_str(),
                Some("ADMINISTRATOR" | "CONTENT_ADMINISTRATOR")
            )
        };
        let pages: Vec<&str> = acls["elements"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(posts)
            .filter_map(|acl| acl["organization"].as_str())
            .collect();
        if pages.is_empty() {
            return Ok(out);
        }
        // Their names in one batch call (`ids=List(…)`, Rest.li 2.0).
        let id = |org: &str| org.rsplit(':').next().unwrap_or_default().to_owned();
        let ids: Vec<String> = pages.iter().map(|o| id(o)).collect();
        let mut url = self.api("rest/organizations");
        url.set_query(Some(&format!("ids=List({})", ids.join(","))));
        let named = self.get(url, token).await?;
        for org in pages {
            let page = &named["results"][id(org)];
            out.push(Account {
                platform: Platform::Linkedin,
                external_id: org.to_owned(),
                handle: page["localizedName"].as_str().unwrap_or(org).to_owned(),
                group: "LinkedIn Page".into(),
                token: token.clone(),
            });
        }
        Ok(out)
    }

    async fn revoke_token(&self, token: &SecretString) -> Result<(), PlatformError> {
        self.token_call("oauth/v2/revoke", &[("token", token.expose_secret())])
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
        let handle = Handle {
            started_at: match handle.started_at {
                0 => ctx.now.as_second(),
                t => t,
            },
            ..handle
        };
        if handle.media.len() != job.items.len() {
            let mut media = Vec::with_capacity(job.items.len());
            for item in job.items {
                media.push(self.upload(job.token, job.account, item).await?);
            }
            return Ok(Step::Continue(Handle { media, ..handle }));
        }
        if !handle.media_ready {
            for urn in &handle.media {
                let kind = match urn.split(':').nth(2) {
                    Some("video") => "videos",
                    Some("document") => "documents",
                    _ => "images",
                };
                let status = self
                    .get(self.api(&format!("rest/{kind}/{}", encode(urn))), job.token)
                    .await?;
                match status["status"].as_str() {
                    Some("AVAILABLE") => {}
                    Some("WAITING_UPLOAD" | "PROCESSING")
                        if ctx.now.as_second() - handle.started_at > PROCESSING_LIMIT =>
                    {
                        return Err(PlatformError::ContentRejected {
                            message: "LinkedIn did not finish processing the media within an hour.".into(),
                        });
                    }
                    Some("WAITING_UPLOAD" | "PROCESSING") => {
                        return Ok(Step::Park(handle, Duration::from_secs(5)));
                    }
                    other => {
                        return Err(PlatformError::ContentRejected {
                            message: format!(
                                "LinkedIn could not process the media ({}).",
                                other.unwrap_or("no status")
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
        let commentary = little(job.text);
        if ctx.recovering {
            let found = self.find_published(job, &handle, &commentary, window).await?;
            if let Some(step) = settle(found, ctx.known) {
                return Ok(step);
            }
        }
        let body = post_body(job, &handle.media, &commentary);
        match self.post(self.api("rest/posts"), job.token, &body).await {
            Ok((_, Some(urn))) => Ok(Step::Published(published(&urn))),
            Ok((_, None)) => Err(malformed("x-restli-id")),
            // The same commentary as a recent post: perhaps this very post, made by a call whose
            // answer was lost. Look before saying anything.
            Err(PlatformError::ContentRejected { message }) if message.contains("duplicate") => {
                let found = self.find_published(job, &handle, &commentary, window).await?;
                settle(found, ctx.known).ok_or(PlatformError::Platform {
                    message: format!(
                        "LinkedIn refused the post as a duplicate ({message}), and no matching post was found in this attempt's window"
                    ),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Uploads one image (Images API), document (Documents API) or video (Videos API, in the
    /// parts LinkedIn names, each part's ETag kept for the finalize call); returns its URN.
    async fn upload(&self, token: &SecretString, owner: &str, item: &Item) -> Result<String, PlatformError> {
        let (media_type, bytes) = crate::oauth2::fetch_media(&self.upload, item).await?;
        if !item.video() {
            // Images API, or the Documents API for a PDF: the same three steps.
            let (collection, field) = match item.media_type.is_document() {
                true => ("rest/documents", "document"),
                false => ("rest/images", "image"),
            };
            let (init, _) = self
                .post(
                    self.action(collection, "initializeUpload"),
                    token,
                    &json!({"initializeUploadRequest": {"owner": owner}}),
                )
                .await?;
            let urn = init["value"][field]
                .as_str()
                .ok_or_else(|| malformed(&format!("value.{field}")))?;
            let target = init["value"]["uploadUrl"]
                .as_str()
                .ok_or_else(|| malformed("value.uploadUrl"))?;
            self.put(target, token, &media_type, bytes).await?;
            return Ok(urn.to_owned());
        }
        let (init, _) = self
            .post(
                self.action("rest/videos", "initializeUpload"),
                token,
                &json!({"initializeUploadRequest": {
                    "owner": owner, "fileSizeBytes": bytes.len(),
                    "uploadCaptions": false, "uploadThumbnail": false,
                }}),
            )
            .await?;
        let value = &init["value"];
        let urn = value["video"].as_str().ok_or_else(|| malformed("value.video"))?;
        let mut etags = Vec::new();
        for part in value["uploadInstructions"].as_array().into_iter().flatten() {
            let (Some(first), Some(last), Some(target)) = (
                part["firstByte"].as_u64(),
                part["lastByte"].as_u64(),
                part["uploadUrl"].as_str(),
            ) else {
                return Err(malformed("value.uploadInstructions"));
            };
            let chunk = bytes
                .get(first as usize..=last as usize)
                .ok_or_else(|| malformed("value.uploadInstructions (a range past the file's end)"))?;
            etags.push(
                self.put(target, token, "application/octet-stream", chunk.to_vec())
                    .await?,
            );
        }
        self.post(
            self.action("rest/videos", "finalizeUpload"),
            token,
            &json!({"finalizeUploadRequest": {
                "video": urn, "uploadToken": value["uploadToken"].as_str().unwrap_or_default(),
                "uploadedPartIds": etags,
            }}),
        )
        .await?;
        Ok(urn.to_owned())
    }

    /// Sends bytes to an upload URL LinkedIn named; returns the part's ETag.
    async fn put(
        &self,
        target: &str,
        token: &SecretString,
        media_type: &str,
        bytes: Vec<u8>,
    ) -> Result<String, PlatformError> {
        let url = Url::parse(target).map_err(|_| malformed("uploadUrl"))?;
        // The bearer token goes only where LinkedIn's own hosts are.
        let ours = |base: &Url| {
            base.host_str() == url.host_str() && base.port_or_known_default() == url.port_or_known_default()
        };
        if !(ours(&self.config.www_base) || ours(&self.config.api_base)) {
            return Err(PlatformError::Platform {
                message: format!(
                    "LinkedIn named an upload URL on another host ({})",
                    url.host_str().unwrap_or("none")
                ),
            });
        }
        let res = self
            .upload
            .put(url)
            .bearer_auth(token.expose_secret())
            .header(reqwest::header::CONTENT_TYPE, media_type)
            .body(bytes)
            .send()
            .await
            .map_err(|e| PlatformError::from_http(&e))?;
        let etag = res
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        read(res).await?;
        Ok(etag)
    }

    /// The author's posts inside the window with this commentary (as LinkedIn shows it) and as
    /// many media: newest first, page after page, until the posts are older than the window (at
    /// most [`LOOK_BACK`] posts, after which it is an error, never a guess).
    async fn find_published(
        &self,
        job: &PublishJob<'_>,
        handle: &Handle,
        commentary: &str,
        (from, to): (i64, i64),
    ) -> Result<Vec<Published>, PlatformError> {
        let window = (from - SKEW) * 1000..=(to + SKEW) * 1000;
        let want = as_shown(commentary);
        let mut found = Vec::new();
        for start in (0..LOOK_BACK).step_by(PAGE) {
            let mut url = self.api("rest/posts");
            url.query_pairs_mut()
                .append_pair("author", job.account)
                .append_pair("q", "author")
                .append_pair("count", &PAGE.to_string())
                .append_pair("start", &start.to_string())
                .append_pair("sortBy", "CREATED");
            let body = match self.get(url, job.token).await {
                Err(PlatformError::PermissionMissing(why)) => {
                    return Err(PlatformError::Platform {
                        message: format!(
                            "LinkedIn does not let Herald read this author's posts to check for an earlier attempt's ({why})"
                        ),
                    });
                }
                other => other?,
            };
            let page = body["elements"].as_array().map(Vec::as_slice).unwrap_or_default();
            found.extend(
                page.iter()
                    .filter(|p| {
                        p["commentary"].as_str().map(as_shown).as_deref() == Some(want.as_str())
                            && p["createdAt"].as_i64().is_some_and(|t| window.contains(&t))
                            && media_of(&p["content"]) == handle.media.len()
                    })
                    .filter_map(|p| p["id"].as_str().map(published)),
            );
            let older = page
                .iter()
                .any(|p| p["createdAt"].as_i64().is_some_and(|t| t < *window.start()));
            if older || page.len() < PAGE {
                return Ok(found);
            }
        }
        Err(PlatformError::Platform {
            message: format!(
                "the author published more than {LOOK_BACK} posts since this attempt started; Herald cannot tell whether one is this post"
            ),
        })
    }

    /// Organizations: the share statistics; members: the social metadata.
    async fn metrics(
        &self,
        token: &SecretString,
        account: &str,
        post: &str,
    ) -> Result<Metrics, PlatformError> {
        if account.starts_with("urn:li:organization:") {
            let list = if post.starts_with("urn:li:ugcPost:") {
                "ugcPosts"
            } else {
                "shares"
            };
            let mut url = self.api("rest/organizationalEntityShareStatistics");
            // Rest.li lists keep their parentheses; the URNs inside are encoded.
            url.set_query(Some(&format!(
                "q=organizationalEntity&organizationalEntity={}&{list}=List({})",
                encode(account),
                encode(post)
            )));
            let body = self.get(url, token).await?;
            let s = &body["elements"][0]["totalShareStatistics"];
            let n = |k: &str| s[k].as_u64();
            return Ok(Metrics {
                views: n("impressionCount"),
                reach: n("uniqueImpressionsCount"),
                likes: n("likeCount"),
                comments: n("commentCount"),
                shares: n("shareCount"),
                clicks: n("clickCount"),
                ..Metrics::default()
            });
        }
        let url = self.api(&format!("rest/socialMetadata/{}", encode(post)));
        let body = match self.get(url, token).await {
            Err(PlatformError::PermissionMissing(why)) => {
                return Err(PlatformError::Unsupported(format!(
                    "LinkedIn lets Herald read the metrics of Pages' posts only; a member's need a permission LinkedIn grants to few apps ({why})."
                )));
            }
            other => other?,
        };
        let reactions = body["reactionSummaries"]
            .as_object()
            .map(|m| m.values().filter_map(|r| r["count"].as_u64()).sum());
        Ok(Metrics {
            likes: reactions,
            comments: body["commentSummary"]["count"].as_u64(),
            ..Metrics::default()
        })
    }

    /// A post's comments, each with its replies (LinkedIn nests them under the comment's URN).
    async fn comments(&self, token: &SecretString, post: &str) -> Result<Vec<Comment>, PlatformError> {
        let mut out = Vec::new();
        for c in self.comments_on(token, post).await? {
            let replies = self.comments_on(token, &c.id).await?;
            out.push(Comment { replies, ..c });
        }
        Ok(out)
    }

    /// Every comment on `urn` (a post, or a comment for its replies), page after page.
    async fn comments_on(&self, token: &SecretString, urn: &str) -> Result<Vec<Comment>, PlatformError> {
        let mut all = Vec::new();
        loop {
            let page = self.comments_page(token, urn, all.len()).await?;
            let last = page.len() < PAGE;
            all.extend(page);
            if last || all.len() >= LOOK_BACK {
                return Ok(all);
            }
        }
    }

    async fn comments_page(
        &self,
        token: &SecretString,
        urn: &str,
        start: usize,
    ) -> Result<Vec<Comment>, PlatformError> {
        let mut url = self.api(&format!("rest/socialActions/{}/comments", encode(urn)));
        url.query_pairs_mut()
            .append_pair("count", &PAGE.to_string())
            .append_pair("start", &start.to_string());
        let body = match self.get(url, token).await {
            Err(PlatformError::PermissionMissing(why)) => {
                return Err(PlatformError::Unsupported(format!(
                    "LinkedIn lets Herald read comments on Pages' posts only; a member's need a permission LinkedIn grants to few apps ({why})."
                )));
            }
            other => other?,
        };
        Ok(body["elements"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|c| Comment {
                id: c["$URN"].as_str().unwrap_or_default().to_owned(),
                text: c["message"]["text"].as_str().unwrap_or_default().to_owned(),
                username: c["actor"].as_str().unwrap_or_default().to_owned(),
                timestamp: c["created"]["time"]
                    .as_i64()
                    .and_then(|ms| Timestamp::from_millisecond(ms).ok())
                    .map(|t| t.to_string()),
                hidden: false,
                replies: Vec::new(),
            })
            .collect())
    }

    /// Answers a comment as the account (`urn:li:comment:(activity,id)`: the object is its activity).
    async fn reply_to(
        &self,
        token: &SecretString,
        account: &str,
        comment: &str,
        text: &str,
    ) -> Result<String, PlatformError> {
        let object = comment
            .strip_prefix("urn:li:comment:(")
            .and_then(|rest| rest.rsplit_once(','))
            .map(|(object, _)| object)
            .ok_or_else(|| PlatformError::Platform {
                message: format!("`{comment}` is not a LinkedIn comment"),
            })?;
        let body = json!({
            "actor": account, "object": object, "parentComment": comment,
            "message": {"text": text},
        });
        let url = self.api(&format!("rest/socialActions/{}/comments", encode(comment)));
        let (created, id) = self.post(url, token, &body).await?;
        // The comment's URN (what a reply to it names), from the body or built from the id.
        created["$URN"]
            .as_str()
            .map(str::to_owned)
            .or_else(|| id.map(|id| format!("urn:li:comment:({object},{id})")))
            .ok_or_else(|| malformed("x-restli-id"))
    }
}

/// What `POST /rest/posts` sends.
fn post_body(job: &PublishJob<'_>, media: &[String], commentary: &str) -> Value {
    let alt = job.text_option("alt_text");
    let image = |urn: &String| match alt {
        Some(alt) => json!({"id": urn, "altText": alt}),
        None => json!({"id": urn}),
    };
    let mut body = json!({
        "author": job.account,
        "commentary": commentary,
        "visibility": job.text_option("visibility").unwrap_or("PUBLIC"),
        "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": false,
    });
    match media {
        [] => {
            if let Some(link) = job.text_option("link") {
                body["content"] = json!({"article": {
                    "source": link, "title": job.text_option("link_title").unwrap_or(link),
                }});
            }
        }
        // A document is shown under its title, which LinkedIn requires.
        [one] if one.starts_with("urn:li:document:") => {
            let first_line = job.text.lines().next().unwrap_or_default().trim();
            let title = job
                .text_option("document_title")
                .filter(|t| !t.trim().is_empty())
                .unwrap_or(if first_line.is_empty() {
                    "Document"
                } else {
                    first_line
                });
            let title: String = title.chars().take(400).collect();
            body["content"] = json!({"media": {"id": one, "title": title}});
        }
        [one] => body["content"] = json!({"media": image(one)}),
        many => {
            body["content"] = json!({"multiImage": {"images": many.iter().map(image).collect::<Vec<_>>()}})
        }
    }
    body
}

/// How many media a post read back carries.
fn media_of(content: &Value) -> usize {
    if content["media"]["id"].is_string() {
        1
    } else {
        content["multiImage"]["images"].as_array().map_or(0, Vec::len)
    }
}

/// Text in LinkedIn's little format: the reserved characters escaped with a backslash, and each
/// `#word` kept a hashtag by LinkedIn's `{hashtag|\#|word}` template. (Mentions need a member's
/// URN, which plain text does not carry: an `@` is written as it is typed.)
fn little(text: &str) -> String {
    const RESERVED: &[char] = &[
        '\\', '|', '{', '}', '@', '[', ']', '(', ')', '<', '>', '#', '*', '_', '~',
    ];
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.char_indices().peekable();
    let mut previous: Option<char> = None;
    while let Some((i, c)) = chars.next() {
        let starts_word = previous.is_none_or(|p| p.is_whitespace());
        let tag: String = text[i + c.len_utf8()..]
            .chars()
            .take_while(|c| c.is_alphanumeric())
            .collect();
        if c == '#' && starts_word && !tag.is_empty() {
            out.push_str(&format!("{{hashtag|\\#|{tag}}}"));
            for _ in tag.chars() {
                chars.next();
            }
            previous = tag.chars().last();
            continue;
        }
        if RESERVED.contains(&c) {
            out.push('\\');
        }
        out.push(c);
        previous = Some(c);
    }
    out
}

/// Little-format text as LinkedIn shows it (escapes undone, hashtag templates read), for matching
/// what LinkedIn reads back however it escaped it.
fn as_shown(little: &str) -> String {
    let mut out = String::with_capacity(little.len());
    let mut rest = little;
    while let Some(c) = rest.chars().next() {
        if let Some((tag, after)) = rest.strip_prefix("{hashtag|\\#|").and_then(|t| t.split_once('}')) {
            out.push('#');
            out.push_str(tag);
            rest = after;
            continue;
        }
        rest = &rest[c.len_utf8()..];
        match (c, rest.chars().next()) {
            ('\\', Some(next)) => {
                out.push(next);
                rest = &rest[next.len_utf8()..];
            }
            _ => out.push(c),
        }
    }
    out
}

/// A URN as one path segment or query value (Rest.li: every reserved character encoded).
fn encode(urn: &str) -> String {
    url::form_urlencoded::byte_serialize(urn.as_bytes()).collect()
}

fn published(urn: &str) -> Published {
    Published {
        id: urn.to_owned(),
        permalink: Some(format!("https://www.linkedin.com/feed/update/{urn}/")),
    }
}

fn malformed(field: &str) -> PlatformError {
    PlatformError::Platform {
        message: format!("LinkedIn's answer lacked `{field}`"),
    }
}

/// The next midnight UTC after `now`, when LinkedIn's daily limits reset.
fn next_midnight(now: Timestamp) -> Option<Timestamp> {
    // A UTC day is 86,400 seconds (jiff counts no leap seconds).
    const DAY: i64 = 86_400;
    Timestamp::from_second((now.as_second().div_euclid(DAY) + 1) * DAY).ok()
}

/// A LinkedIn answer: its JSON body (empty bodies are `null`) and `x-restli-id`, or its error
/// mapped into the taxonomy.
async fn read(res: reqwest::Response) -> Result<(Value, Option<String>), PlatformError> {
    let status = res.status();
    let id = res
        .headers()
        .get("x-restli-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = res.text().await.map_err(|e| PlatformError::from_http(&e))?;
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if status.is_success() {
        return Ok((body, id));
    }
    let message = body["message"]
        .as_str()
        .map_or_else(|| format!("LinkedIn answered {status}"), str::to_owned);
    Err(match status.as_u16() {
        // No headers say when: LinkedIn's daily limits reset at midnight UTC, which a publishing
        // step sets from its clock (see `step`).
        429 => PlatformError::RateLimited {
            retry_after: None,
            until: None,
            app_wide: false,
        },
        401 if body["code"] == "EXPIRED_ACCESS_TOKEN" => PlatformError::TokenExpired,
        401 => PlatformError::TokenRevoked(message),
        403 => PlatformError::PermissionMissing(message),
        // Nothing was done: the request itself was refused.
        426 => PlatformError::ContentRejected {
            message: format!("LinkedIn no longer serves API version {VERSION} ({message}): update Herald"),
        },
        400 | 404 | 409 | 413 | 422 => PlatformError::ContentRejected { message },
        _ if status.is_server_error() => PlatformError::Transient { message },
        _ => PlatformError::Platform { message },
    })
}

impl Connector for Linkedin {
    fn login(&self) -> Login {
        Login::Linkedin
    }

    fn authorize_url(&self, r: &Authorize<'_>) -> Url {
        self.consent_url(r)
    }

    fn exchange<'a>(&'a self, r: CodeExchange<'a>) -> Call<'a, Exchanged> {
        Box::pin(async move { self.exchange_code(r).await.map(Exchanged::Person) })
    }

    fn covers(&self) -> &'static str {
        "their member profile and the LinkedIn Pages they administer"
    }

    fn accounts<'a>(&'a self, token: &'a SecretString) -> Call<'a, Vec<Account>> {
        Box::pin(self.accounts(token))
    }

    fn refresh<'a>(
        &'a self,
        _: &'a SecretString,
        renew: Option<&'a SecretString>,
        now: Timestamp,
    ) -> Call<'a, Refreshed> {
        Box::pin(async move {
            self.renew(crate::oauth2::renew_with(renew, "LinkedIn")?, now)
                .await
        })
    }

    /// Revokes the refresh token, where there is one (it would otherwise make new access tokens;
    /// one LinkedIn no longer knows is gone already), and the access token whatever became of it.
    fn revoke<'a>(&'a self, token: &'a SecretString, renew: Option<&'a SecretString>) -> Call<'a, ()> {
        Box::pin(async move {
            let renew = match renew {
                Some(renew) => match self.revoke_token(renew).await {
                    Err(PlatformError::TokenRevoked(_) | PlatformError::TokenExpired) => Ok(()),
                    other => other,
                },
                None => Ok(()),
            };
            let access = self.revoke_token(token).await;
            renew.and(access)
        })
    }
}

impl Publisher for Linkedin {
    fn platform(&self) -> Platform {
        Platform::Linkedin
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
            media_ready: text_only,
            post_started: text_only,
            ..Handle::default()
        };
        serde_json::to_string(&h).expect("handles serialise")
    }

    fn progress(&self, handle: &str) -> Result<Progress, String> {
        let h: Handle = read_handle(handle)?;
        Ok(Progress {
            fresh: h.media.is_empty() && !h.post_started,
            visible_call: h.post_started,
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
            match self.publish_step(job, h, &ctx).await {
                Err(PlatformError::RateLimited { until: None, .. }) => Err(PlatformError::RateLimited {
                    retry_after: None,
                    until: next_midnight(ctx.now),
                    app_wide: false,
                }),
                other => other.map(saved),
            }
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
        Box::pin(self.comments(token, post))
    }

    fn reply<'a>(
        &'a self,
        _: Login,
        token: &'a SecretString,
        account: &'a str,
        _: &'a str,
        comment: &'a str,
        text: &'a str,
    ) -> Call<'a, String> {
        Box::pin(self.reply_to(token, account, comment, text))
    }

    fn metrics_available(&self) -> Result<(), Unavailable> {
        Ok(())
    }

    fn metrics<'a>(
        &'a self,
        _: Login,
        token: &'a SecretString,
        account: &'a str,
        post: &'a str,
        _: Timestamp,
    ) -> Call<'a, Metrics> {
        Box::pin(self.metrics(token, account, post))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn little_format_escapes_reserved_characters_and_keeps_hashtags() {
        assert_eq!(little("Hello (world) *now*"), r"Hello \(world\) \*now\*");
        assert_eq!(little("Launch #Rust day"), r"Launch {hashtag|\#|Rust} day");
        assert_eq!(little("a#b @me [x]"), r"a\#b \@me \[x\]");
        assert_eq!(little("back\\slash | pipe"), r"back\\slash \| pipe");
        assert_eq!(little("#"), r"\#");
        for text in ["Our (new) roast #Coffee *now* @ 9 \\ | {x}", "#", "a#b"] {
            assert_eq!(as_shown(&little(text)), text, "read back as written");
        }
    }

    #[test]
    fn urns_are_encoded_as_one_segment() {
        assert_eq!(
            encode("urn:li:comment:(urn:li:activity:1,2)"),
            "urn%3Ali%3Acomment%3A%28urn%3Ali%3Aactivity%3A1%2C2%29"
        );
    }

    #[test]
    fn daily_limits_wait_until_the_next_midnight_utc() {
        let now: Timestamp = "2026-11-30T22:15:00Z".parse().unwrap();
        assert_eq!(next_midnight(now).unwrap().to_string(), "2026-12-01T00:00:00Z");
    }

    #[test]
    fn the_consent_url_asks_for_space_separated_scopes_and_hides_the_secret() {
        let l = Linkedin::new(
            LinkedinConfig {
                client_id: "c".into(),
                client_secret: SecretString::from("s"),
                www_base: Url::parse("http://127.0.0.1:1/www.linkedin.com").unwrap(),
                api_base: Url::parse("http://127.0.0.1:1/api.linkedin.com").unwrap(),
            },
            crate::http_client(),
        );
        let u = l.consent_url(&Authorize {
            state: "st",
            redirect_uri: "http://h/cb",
            scopes: &["openid", "w_member_social"],
            pkce_challenge: None,
        });
        assert_eq!(u.path(), "/www.linkedin.com/oauth/v2/authorization");
        assert!(u.query().unwrap().contains("scope=openid+w_member_social"));
        assert!(!format!("{:?}", l.config).contains("\"s\""));
    }
}
