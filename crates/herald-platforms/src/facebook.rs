//! Facebook Login and Pages: the dialog (comma-separated scopes, PKCE S256), code → short-lived →
//! long-lived user token, the person's Pages with their Page tokens and linked Instagram accounts,
//! and publishing to a Page: text, a link, one photo, or several photos through `attached_media`.
//!
//! Exactly once: nothing Meta offers makes a Page post idempotent, so before the call that creates
//! the post the handle is saved with `post_started`. When a later claim finds it set (the call may
//! have been made, its answer lost), it first looks among the Page's recent posts for one matching
//! everything sent, within the attempt's window, and creates the post only when there is none.

use jiff::{SignedDuration, Timestamp};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::meta::{CommentFields, Graph, comments, id_of, malformed};

/// How long to wait before looking at a processing video again.
const RECHECK: std::time::Duration = std::time::Duration::from_secs(1);
use crate::adapter::{
    Account, Authorize, Call, CodeExchange, Connector, Exchanged, Item, PersonGrant, Progress, PublishJob,
    Publisher, Unavailable, read_handle, saved, unreadable,
};
use crate::{Comment, Metrics, PlatformError, Published, Refreshed, Step, StepContext, settle};
use herald_domain::platform::{Login, Platform};

/// Where the adapter finds Facebook and who it is there.
#[derive(Clone)]
pub struct FacebookConfig {
    pub client_id: String,
    pub client_secret: SecretString,
    /// `https://www.facebook.com` (the login dialog).
    pub www_base: Url,
    /// `https://graph.facebook.com`.
    pub graph_base: Url,
    /// `https://rupload.facebook.com` (resumable video uploads).
    pub rupload_base: Url,
    pub graph_version: String,
}

impl std::fmt::Debug for FacebookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FacebookConfig")
            .field("client_id", &self.client_id)
            .field("graph_base", &self.graph_base.as_str())
            .finish_non_exhaustive()
    }
}

/// Where on the Page a post goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageFormat {
    Feed,
    Reel,
    Story,
}

/// What to publish on a Page.
#[derive(Debug, Clone)]
pub struct PageContent<'a> {
    pub message: &'a str,
    pub link: Option<&'a str>,
    /// Signed URLs of the photos, in order.
    pub photos: &'a [String],
    /// The signed URL of the video (reels and video stories).
    pub video: Option<&'a str>,
    pub format: PageFormat,
    pub alt_text: Option<&'a str>,
}

/// Progress of one Page post, saved by the dispatcher between steps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageHandle {
    /// Unpublished photos uploaded for `attached_media` (or for a photo story).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photo_ids: Vec<String>,
    /// A reel's or video story's upload session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_id: Option<String>,
    /// The video's bytes reached `rupload.facebook.com`.
    #[serde(default)]
    pub uploaded: bool,
    /// Set (and saved) before the call that creates the post.
    #[serde(default)]
    pub post_started: bool,
    /// When the attempt began (Unix seconds): the earliest a published copy can carry.
    #[serde(default)]
    pub started_at: i64,
}

/// Saves that the call which makes the post visible is about to be made, before making it.
fn mark_started(handle: &PageHandle) -> Option<Step<PageHandle>> {
    (!handle.post_started).then(|| {
        Step::Continue(PageHandle {
            post_started: true,
            ..handle.clone()
        })
    })
}

#[derive(Debug, Clone)]
pub struct Facebook {
    config: FacebookConfig,
    graph: Graph,
}

impl Facebook {
    pub fn new(config: FacebookConfig, http: reqwest::Client) -> Self {
        let graph = Graph {
            http,
            base: config.graph_base.clone(),
            version: config.graph_version.clone(),
        };
        Self { config, graph }
    }

    /// The Graph host, for the Instagram adapter to reach accounts linked to Pages.
    pub(crate) fn graph_base(&self) -> &Url {
        &self.config.graph_base
    }

    /// The login dialog: comma-separated scopes and a PKCE S256 challenge.
    pub fn authorize_url(
        &self,
        state: &str,
        redirect_uri: &str,
        scopes: &[&str],
        challenge: Option<&str>,
    ) -> Url {
        let mut u = self.config.www_base.clone();
        let base = u.path().trim_end_matches('/').to_owned();
        u.set_path(&format!("{base}/{}/dialog/oauth", self.config.graph_version));
        u.query_pairs_mut()
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state)
            .append_pair("response_type", "code")
            .append_pair("scope", &scopes.join(","));
        if let Some(challenge) = challenge {
            u.query_pairs_mut()
                .append_pair("code_challenge", challenge)
                .append_pair("code_challenge_method", "S256");
        }
        u
    }

    async fn token_call(
        &self,
        params: &[(&str, &str)],
    ) -> Result<(SecretString, Option<i64>), PlatformError> {
        // The client secret travels in the body, never in a URL (Graph takes these parameters by
        // POST as well as by GET).
        let mut form = vec![
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", self.config.client_secret.expose_secret()),
        ];
        form.extend_from_slice(params);
        let res = crate::send(
            self.graph
                .http
                .post(self.graph.url("oauth/access_token"))
                .form(&form),
        )
        .await?;
        let body = crate::meta::graph_result(res).await?;
        let token = body["access_token"]
            .as_str()
            .ok_or_else(|| malformed("access_token"))?;
        Ok((SecretString::from(token.to_owned()), body["expires_in"].as_i64()))
    }

    /// Code (with its PKCE verifier) → short-lived token → long-lived token → who the person is and
    /// which permissions they granted.
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        verifier: &SecretString,
        now: Timestamp,
    ) -> Result<PersonGrant, PlatformError> {
        let (short, _) = self
            .token_call(&[
                ("redirect_uri", redirect_uri),
                ("code", code),
                ("code_verifier", verifier.expose_secret()),
            ])
            .await?;
        let (access_token, expires_in) = self
            .token_call(&[
                ("grant_type", "fb_exchange_token"),
                ("fb_exchange_token", short.expose_secret()),
            ])
            .await?;
        let mut me = self.graph.url("me");
        me.query_pairs_mut().append_pair("fields", "id,name");
        let me = self.graph.get_json(me, &access_token).await?;
        let perms = self
            .graph
            .get_json(self.graph.url("me/permissions"), &access_token)
            .await?;
        let scopes = perms["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["status"] == "granted")
            .filter_map(|p| p["permission"].as_str().map(str::to_owned))
            .collect();
        Ok(PersonGrant {
            access_token,
            issued_at: now,
            expires_at: expires_in.map(|s| now + SignedDuration::from_secs(s)),
            scopes,
            user_id: me["id"].as_str().ok_or_else(|| malformed("id"))?.to_owned(),
            name: me["name"].as_str().unwrap_or_default().to_owned(),
            renew: None,
            renew_until: None,
        })
    }

    /// Removes the app from the person's account (`DELETE /me/permissions`): every token of the
    /// grant, user and Page, stops working.
    pub async fn revoke(&self, user_token: &SecretString) -> Result<(), PlatformError> {
        self.graph
            .delete(self.graph.url("me/permissions"), user_token)
            .await
            .map(drop)
    }

    /// The accounts the grant covers: each Page, after the Instagram account linked to it (which is
    /// reached with the Page's token).
    pub async fn accounts(&self, user_token: &SecretString) -> Result<Vec<Account>, PlatformError> {
        let mut url = self.graph.url("me/accounts");
        url.query_pairs_mut()
            .append_pair(
                "fields",
                "id,name,access_token,instagram_business_account{id,username}",
            )
            .append_pair("limit", "100");
        let body = self.graph.get_json(url, user_token).await?;
        let mut out = Vec::new();
        for p in body["data"].as_array().into_iter().flatten() {
            let name = p["name"].as_str().unwrap_or_default().to_owned();
            let token = SecretString::from(
                p["access_token"]
                    .as_str()
                    .ok_or_else(|| malformed("access_token"))?
                    .to_owned(),
            );
            let ig = &p["instagram_business_account"];
            if let Some(id) = ig["id"].as_str() {
                out.push(Account {
                    platform: Platform::Instagram,
                    external_id: id.to_owned(),
                    handle: ig["username"].as_str().unwrap_or_default().to_owned(),
                    group: name.clone(),
                    token: token.clone(),
                });
            }
            out.push(Account {
                platform: Platform::Facebook,
                external_id: id_of(p)?,
                handle: name.clone(),
                group: name,
                token,
            });
        }
        Ok(out)
    }

    /// One step of publishing on a Page: a feed post, a photo story, or a reel or video story.
    pub async fn publish_step(
        &self,
        token: &SecretString,
        page_id: &str,
        content: &PageContent<'_>,
        handle: &PageHandle,
        ctx: &StepContext<'_>,
    ) -> Result<Step<PageHandle>, PlatformError> {
        let started_at = if handle.started_at > 0 {
            handle.started_at
        } else {
            ctx.now.as_second()
        };
        let handle = PageHandle {
            started_at,
            ..handle.clone()
        };
        match (content.format, content.video) {
            (PageFormat::Feed, None) => self.feed_step(token, page_id, content, handle, ctx).await,
            (PageFormat::Story, None) => self.photo_story_step(token, page_id, content, handle).await,
            (format, Some(video)) => {
                self.video_step(token, page_id, content, format, video, handle)
                    .await
            }
            (PageFormat::Reel, None) => Err(PlatformError::ContentRejected {
                message: "a reel needs a video".into(),
            }),
        }
    }

    /// Uploads one photo unpublished (for `attached_media` or a story); returns its id.
    async fn unpublished_photo(
        &self,
        token: &SecretString,
        page_id: &str,
        url: &str,
        alt: Option<&str>,
    ) -> Result<String, PlatformError> {
        let mut form = vec![("url", url), ("published", "false"), ("temporary", "true")];
        if let Some(alt) = alt {
            form.push(("alt_text_custom", alt));
        }
        id_of(
            &self
                .graph
                .post_form(self.graph.url(&format!("{page_id}/photos")), token, &form)
                .await?,
        )
    }

    /// Text, a link, one photo, or several: upload unpublished photos (several), mark the post as
    /// started, then create it, or find it when an earlier attempt already did.
    async fn feed_step(
        &self,
        token: &SecretString,
        page_id: &str,
        content: &PageContent<'_>,
        handle: PageHandle,
        ctx: &StepContext<'_>,
    ) -> Result<Step<PageHandle>, PlatformError> {
        let several = content.photos.len() > 1;
        if several && handle.photo_ids.len() != content.photos.len() {
            let mut photo_ids = Vec::with_capacity(content.photos.len());
            for url in content.photos {
                photo_ids.push(
                    self.unpublished_photo(token, page_id, url, content.alt_text)
                        .await?,
                );
            }
            return Ok(Step::Continue(PageHandle { photo_ids, ..handle }));
        }
        if let Some(step) = mark_started(&handle) {
            return Ok(step);
        }
        if ctx.recovering {
            let window = (handle.started_at, ctx.now.as_second());
            let found = self
                .find_published(token, page_id, content, &handle, window)
                .await?;
            if let Some(step) = settle(found, ctx.known) {
                return Ok(step);
            }
        }
        let id = match content.photos {
            [photo] => {
                let mut form = vec![("url", photo.as_str()), ("caption", content.message)];
                if let Some(alt) = content.alt_text {
                    form.push(("alt_text_custom", alt));
                }
                let body = self
                    .graph
                    .post_form(self.graph.url(&format!("{page_id}/photos")), token, &form)
                    .await?;
                body["post_id"]
                    .as_str()
                    .ok_or_else(|| malformed("post_id"))?
                    .to_owned()
            }
            _ => {
                let attached = serde_json::to_string(
                    &handle
                        .photo_ids
                        .iter()
                        .map(|id| serde_json::json!({"media_fbid": id}))
                        .collect::<Vec<_>>(),
                )
                .unwrap_or_default();
                let mut form = vec![("message", content.message)];
                if let Some(link) = content.link {
                    form.push(("link", link));
                }
                if several {
                    form.push(("attached_media", &attached));
                }
                id_of(
                    &self
                        .graph
                        .post_form(self.graph.url(&format!("{page_id}/feed")), token, &form)
                        .await?,
                )?
            }
        };
        let mut url = self.graph.url(&id);
        url.query_pairs_mut().append_pair("fields", "permalink_url");
        let permalink = self
            .graph
            .get_json(url, token)
            .await
            .ok()
            .and_then(|b| b["permalink_url"].as_str().map(str::to_owned));
        Ok(Step::Published(Published { id, permalink }))
    }

    /// A photo story: upload the photo unpublished, mark started, then `photo_stories`; after a
    /// crash the photo's `page_story_id` says whether the story already exists.
    async fn photo_story_step(
        &self,
        token: &SecretString,
        page_id: &str,
        content: &PageContent<'_>,
        handle: PageHandle,
    ) -> Result<Step<PageHandle>, PlatformError> {
        let [photo] = content.photos else {
            return Err(PlatformError::ContentRejected {
                message: "a Facebook story takes one photo or one video".into(),
            });
        };
        let Some(photo_id) = handle.photo_ids.first().cloned() else {
            let id = self
                .unpublished_photo(token, page_id, photo, content.alt_text)
                .await?;
            return Ok(Step::Continue(PageHandle {
                photo_ids: vec![id],
                ..handle
            }));
        };
        if let Some(step) = mark_started(&handle) {
            return Ok(step);
        }
        let mut url = self.graph.url(&photo_id);
        url.query_pairs_mut().append_pair("fields", "page_story_id");
        if let Some(story) = self.graph.get_json(url, token).await?["page_story_id"].as_str() {
            return Ok(Step::Published(Published {
                id: story.to_owned(),
                permalink: None,
            }));
        }
        let body = self
            .graph
            .post_form(
                self.graph.url(&format!("{page_id}/photo_stories")),
                token,
                &[("photo_id", &photo_id)],
            )
            .await?;
        let id = body["post_id"]
            .as_str()
            .ok_or_else(|| malformed("post_id"))?
            .to_owned();
        Ok(Step::Published(Published { id, permalink: None }))
    }

    /// A video: upload it unpublished (a feed video: `/{page}/videos` by URL; a reel or video story:
    /// an upload session, then the bytes by URL through `rupload.facebook.com`), mark started,
    /// publish (`published=true`, or `upload_phase=finish`), then wait for processing. The video id
    /// is the handle; every step after the upload reads the video's status first, so a video is
    /// never published twice.
    async fn video_step(
        &self,
        token: &SecretString,
        page_id: &str,
        content: &PageContent<'_>,
        format: PageFormat,
        video: &str,
        handle: PageHandle,
    ) -> Result<Step<PageHandle>, PlatformError> {
        let edge = match format {
            PageFormat::Feed => "videos",
            PageFormat::Reel => "video_reels",
            PageFormat::Story => "video_stories",
        };
        let endpoint = self.graph.url(&format!("{page_id}/{edge}"));
        let Some(video_id) = handle.video_id.clone() else {
            if format == PageFormat::Feed {
                let form = [
                    ("file_url", video),
                    ("description", content.message),
                    ("published", "false"),
                ];
                let id = id_of(&self.graph.post_form(endpoint, token, &form).await?)?;
                return Ok(Step::Continue(PageHandle {
                    video_id: Some(id),
                    uploaded: true,
                    ..handle
                }));
            }
            let body = self
                .graph
                .post_form(endpoint, token, &[("upload_phase", "start")])
                .await?;
            let id = body["video_id"]
                .as_str()
                .ok_or_else(|| malformed("video_id"))?
                .to_owned();
            return Ok(Step::Continue(PageHandle {
                video_id: Some(id),
                ..handle
            }));
        };
        if !handle.uploaded {
            self.rupload(token, &video_id, video).await?;
            return Ok(Step::Continue(PageHandle {
                uploaded: true,
                ..handle
            }));
        }
        if let Some(step) = mark_started(&handle) {
            return Ok(step);
        }
        let mut url = self.graph.url(&video_id);
        url.query_pairs_mut()
            .append_pair("fields", "status,post_id,permalink_url");
        let status = self.graph.get_json(url, token).await?;
        match status["status"]["publishing_phase"]["status"].as_str() {
            Some("complete") => Ok(Step::Published(Published {
                id: status["post_id"].as_str().unwrap_or(&video_id).to_owned(),
                permalink: status["permalink_url"].as_str().map(str::to_owned),
            })),
            Some("in_progress") => Ok(Step::Park(handle, RECHECK)),
            _ if status["status"]["video_status"] == "error" => Err(PlatformError::ContentRejected {
                message: status["status"]["processing_phase"]["error"]["message"]
                    .as_str()
                    .unwrap_or("Facebook could not process the video")
                    .to_owned(),
            }),
            _ if format == PageFormat::Feed => {
                let url = self.graph.url(&video_id);
                self.graph.post_form(url, token, &[("published", "true")]).await?;
                Ok(Step::Park(handle, RECHECK))
            }
            _ => {
                let mut form = vec![
                    ("upload_phase", "finish"),
                    ("video_id", video_id.as_str()),
                    ("description", content.message),
                ];
                if format == PageFormat::Reel {
                    form.push(("video_state", "PUBLISHED"));
                }
                self.graph.post_form(endpoint, token, &form).await?;
                Ok(Step::Park(handle, RECHECK))
            }
        }
    }

    /// Hands the video's URL to `rupload.facebook.com`, which fetches it (hosted-file upload).
    async fn rupload(
        &self,
        token: &SecretString,
        video_id: &str,
        file_url: &str,
    ) -> Result<(), PlatformError> {
        let mut url = self.config.rupload_base.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!(
            "{base}/video-upload/{}/{video_id}",
            self.config.graph_version
        ));
        let res = crate::send(
            self.graph
                .http
                .post(url)
                .header("authorization", format!("OAuth {}", token.expose_secret()))
                .header("file_url", file_url),
        )
        .await?;
        let status = res.status();
        let body: serde_json::Value = res.json().await.unwrap_or_default();
        if status.is_success() && body["success"] == true {
            return Ok(());
        }
        let message = body["debug_info"]["message"]
            .as_str()
            .unwrap_or("the video upload failed")
            .to_owned();
        Err(match status.as_u16() {
            401 | 403 => PlatformError::TokenRevoked(message),
            500.. => PlatformError::Transient { message },
            _ => PlatformError::MediaUnreachable { message },
        })
    }

    /// The post's top-level comments, newest first, each with its replies.
    pub async fn comments(&self, token: &SecretString, post_id: &str) -> Result<Vec<Comment>, PlatformError> {
        let mut url = self.graph.url(&format!("{post_id}/comments"));
        url.query_pairs_mut()
            .append_pair("filter", "toplevel")
            .append_pair("order", "reverse_chronological")
            .append_pair(
                "fields",
                "id,message,from,created_time,is_hidden,comments{id,message,from,created_time,is_hidden}",
            );
        let body = self.graph.get_json(url, token).await?;
        Ok(comments(
            &body,
            &CommentFields {
                text: "message",
                author: &["from", "name"],
                time: "created_time",
                hidden: "is_hidden",
                replies: "comments",
            },
        ))
    }

    /// Replies to a top-level comment as the Page; returns the reply's id.
    pub async fn reply(
        &self,
        token: &SecretString,
        comment_id: &str,
        text: &str,
    ) -> Result<String, PlatformError> {
        let url = self.graph.url(&format!("{comment_id}/comments"));
        id_of(&self.graph.post_form(url, token, &[("message", text)]).await?)
    }

    /// A post's metrics: views and viewers (reach) and reactions from the post's insights (current
    /// names; the impressions metrics Meta removed are never asked for), shares and comments from
    /// the post itself. Facebook has no saves.
    pub async fn metrics(&self, token: &SecretString, post_id: &str) -> Result<Metrics, PlatformError> {
        let mut url = self.graph.url(&format!("{post_id}/insights"));
        url.query_pairs_mut().append_pair(
            "metric",
            "post_media_view,post_total_media_view_unique,post_reactions_by_type_total",
        );
        let insights = self.graph.get_json(url, token).await?;
        let metric = |name: &str| {
            insights["data"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|m| m["name"] == name)
                .map(|m| m["values"][0]["value"].clone())
        };
        let mut url = self.graph.url(post_id);
        url.query_pairs_mut()
            .append_pair("fields", "shares,comments.limit(0).summary(true)");
        let post = self.graph.get_json(url, token).await?;
        let reactions = metric("post_reactions_by_type_total").map(|r| {
            r.as_object()
                .map_or(0, |o| o.values().filter_map(serde_json::Value::as_u64).sum())
        });
        Ok(Metrics {
            views: metric("post_media_view").and_then(|v| v.as_u64()),
            reach: metric("post_total_media_view_unique").and_then(|v| v.as_u64()),
            likes: reactions,
            comments: post["comments"]["summary"]["total_count"].as_u64(),
            // A post nobody shared has no `shares` field.
            shares: Some(post["shares"]["count"].as_u64().unwrap_or(0)),
            ..Metrics::default()
        })
    }

    /// The Page's posts created within the attempt's window that match everything sent: the
    /// message, the link, and the photos (the very photos uploaded for several; one, or none).
    async fn find_published(
        &self,
        token: &SecretString,
        page_id: &str,
        content: &PageContent<'_>,
        handle: &PageHandle,
        window: (i64, i64),
    ) -> Result<Vec<Published>, PlatformError> {
        let mut url = self.graph.url(&format!("{page_id}/feed"));
        url.query_pairs_mut()
            .append_pair(
                "fields",
                "id,message,created_time,permalink_url,attachments{type,unshimmed_url,target{id},subattachments{type,target{id}}}",
            )
            .append_pair("limit", "50");
        self.graph
            .search(url, token, ("created_time", "permalink_url"), window, |post| {
                let shown = Attachments::of(post);
                let photos_match = match content.photos.len() {
                    0 => shown.photos.is_empty(),
                    1 => shown.photos.len() == 1,
                    // The photos uploaded for this post, and no others.
                    _ => {
                        let mut want = handle.photo_ids.clone();
                        let mut got = shown.photos.clone();
                        want.sort();
                        got.sort();
                        want == got
                    }
                };
                post["message"].as_str().unwrap_or_default() == content.message
                    && shown.link.as_deref() == content.link
                    && photos_match
            })
            .await
    }
}

/// What a Page post shows beside its message: the link it shares and the photos it holds (a
/// single photo, or an album's photos).
struct Attachments {
    link: Option<String>,
    photos: Vec<String>,
}

impl Attachments {
    fn of(post: &serde_json::Value) -> Self {
        let mut out = Self {
            link: None,
            photos: Vec::new(),
        };
        let list = |v: &serde_json::Value| v["data"].as_array().cloned().unwrap_or_default();
        for a in list(&post["attachments"]) {
            match a["type"].as_str() {
                Some("share") => out.link = a["unshimmed_url"].as_str().map(str::to_owned),
                Some("photo") => out.photos.extend(a["target"]["id"].as_str().map(str::to_owned)),
                _ => {}
            }
            for sub in list(&a["subattachments"]) {
                out.photos.extend(sub["target"]["id"].as_str().map(str::to_owned));
            }
        }
        out
    }
}

impl Connector for Facebook {
    fn login(&self) -> Login {
        Login::Facebook
    }

    fn authorize_url(&self, r: &Authorize<'_>) -> Url {
        self.authorize_url(r.state, r.redirect_uri, r.scopes, r.pkce_challenge)
    }

    fn exchange<'a>(&'a self, r: CodeExchange<'a>) -> Call<'a, Exchanged> {
        Box::pin(async move {
            let verifier = r.pkce_verifier.ok_or_else(|| PlatformError::Platform {
                message: "this connection attempt has no PKCE verifier".into(),
            })?;
            self.exchange_code(r.code, r.redirect_uri, verifier, r.now)
                .await
                .map(Exchanged::Person)
        })
    }

    fn covers(&self) -> &'static str {
        "their Pages and the Instagram accounts linked to them"
    }

    fn accounts<'a>(&'a self, token: &'a SecretString) -> Call<'a, Vec<Account>> {
        Box::pin(self.accounts(token))
    }

    fn refresh<'a>(
        &'a self,
        _: &'a SecretString,
        _: Option<&'a SecretString>,
        _: Timestamp,
    ) -> Call<'a, Refreshed> {
        Box::pin(async {
            Err(PlatformError::Unsupported(
                "a Facebook Login grant is not renewed by the app: log in with Facebook again before it ends"
                    .into(),
            ))
        })
    }

    fn revoke<'a>(&'a self, token: &'a SecretString, _: Option<&'a SecretString>) -> Call<'a, ()> {
        Box::pin(self.revoke(token))
    }
}

impl Publisher for Facebook {
    fn platform(&self) -> Platform {
        Platform::Facebook
    }

    fn start(&self, at: Timestamp) -> String {
        let h = PageHandle {
            started_at: at.as_second(),
            ..PageHandle::default()
        };
        serde_json::to_string(&h).expect("handles serialise")
    }

    /// A feed post of text, a link or one photo makes the post call first (nothing to upload
    /// before it): its attempt begins marked, as [`mark_started`] would mark it.
    fn begin(&self, job: &PublishJob<'_>, at: Timestamp) -> String {
        let photos = job.items.iter().filter(|i| !i.video()).count();
        let feed = !matches!(job.kind, Some("reel" | "story"));
        let h = PageHandle {
            started_at: at.as_second(),
            post_started: feed && photos <= 1 && !job.items.iter().any(Item::video),
            ..PageHandle::default()
        };
        serde_json::to_string(&h).expect("handles serialise")
    }

    fn progress(&self, handle: &str) -> Result<Progress, String> {
        let h: PageHandle = read_handle(handle)?;
        Ok(Progress {
            fresh: h.photo_ids.is_empty() && h.video_id.is_none() && !h.post_started,
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
            let h: PageHandle = read_handle(handle).map_err(unreadable)?;
            let photos: Vec<String> = job
                .items
                .iter()
                .filter(|i| !i.video())
                .map(|i| i.url.clone())
                .collect();
            let content = PageContent {
                message: job.text,
                link: job.text_option("link"),
                photos: &photos,
                video: job.items.iter().find(|i| i.video()).map(|i| i.url.as_str()),
                format: match job.kind {
                    Some("reel") => PageFormat::Reel,
                    Some("story") => PageFormat::Story,
                    _ => PageFormat::Feed,
                },
                alt_text: job.text_option("alt_text"),
            };
            self.publish_step(job.token, job.account, &content, &h, &ctx)
                .await
                .map(saved)
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
        _: &'a str,
        _: &'a str,
        comment: &'a str,
        text: &'a str,
    ) -> Call<'a, String> {
        Box::pin(self.reply(token, comment, text))
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

    /// An adapter pointed at a closed port (these tests make no call).
    fn facebook() -> Facebook {
        Facebook::new(
            FacebookConfig {
                client_id: "42".into(),
                client_secret: SecretString::from("s".to_owned()),
                www_base: Url::parse("http://127.0.0.1:1/www.facebook.com").unwrap(),
                graph_base: Url::parse("http://127.0.0.1:1/graph.facebook.com").unwrap(),
                rupload_base: Url::parse("http://127.0.0.1:1/rupload.facebook.com").unwrap(),
                graph_version: "v24.0".into(),
            },
            crate::http_client(),
        )
    }

    #[test]
    fn the_dialog_url_is_versioned_with_comma_separated_scopes_and_an_s256_challenge() {
        let fb = facebook();
        let u = fb.authorize_url(
            "st",
            "http://h/cb",
            &["pages_show_list", "pages_manage_posts"],
            Some("ch"),
        );
        assert_eq!(u.path(), "/www.facebook.com/v24.0/dialog/oauth");
        let q: std::collections::HashMap<_, _> = u.query_pairs().into_owned().collect();
        assert_eq!(q["scope"], "pages_show_list,pages_manage_posts");
        assert_eq!(
            (q["code_challenge"].as_str(), q["code_challenge_method"].as_str()),
            ("ch", "S256")
        );
    }

    #[test]
    fn an_attempt_begins_at_the_post_call_only_when_nothing_is_uploaded_before_it() {
        use herald_domain::media::MediaType;
        let fb = facebook();
        let item = |media_type| Item {
            url: "http://h/m".into(),
            media_type,
        };
        let (photo, video) = (item(MediaType::Jpeg), item(MediaType::Mp4));
        let token = SecretString::from("t".to_owned());
        let options = serde_json::Map::new();
        let begins_marked = |items: &[Item], kind| {
            let job = PublishJob {
                login: Login::Facebook,
                token: &token,
                account: "1",
                text: "hi",
                items,
                kind,
                options: &options,
                media_options: &[],
                thread: &[],
            };
            let p = fb.progress(&fb.begin(&job, Timestamp::UNIX_EPOCH)).unwrap();
            assert_eq!(p.fresh, !p.visible_call, "a marked handle is no longer fresh");
            p.visible_call
        };
        assert!(begins_marked(&[], None), "text");
        assert!(begins_marked(std::slice::from_ref(&photo), None), "one photo");
        assert!(
            !begins_marked(&[photo.clone(), photo.clone()], None),
            "several photos are uploaded first"
        );
        assert!(
            !begins_marked(std::slice::from_ref(&video), Some("reel")),
            "a reel is uploaded first"
        );
        assert!(
            !begins_marked(std::slice::from_ref(&photo), Some("story")),
            "a story's photo is uploaded first"
        );
    }
}
