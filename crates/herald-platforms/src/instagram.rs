//! Instagram API with Instagram Login: OAuth (no PKCE: Instagram does not document it), long-lived
//! tokens, and publishing through a media container (create → wait until `FINISHED` → `media_publish`).
//!
//! Exactly once: before `media_publish` the handle is saved with `publish_started`, and every step first
//! reads the container's status, so a crash or lost response never leads to a second publish.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use herald_domain::platform::Login;
use herald_domain::rules::LiveFacts;

use crate::adapter::{
    Account, Authorize, Call, CodeExchange, Connector, Exchanged, Item, Progress, PublishJob, Publisher,
    RetryPolicy, Unavailable, read_handle, saved, unreadable,
};
use crate::meta::{CommentFields, Graph, comments, id_of, malformed};
use crate::{Comment, Grant, Metrics, PlatformError, Published, Refreshed, Step, StepContext, settle};
use herald_domain::platform::Platform;

/// Where the adapter finds Instagram and who it is there.
#[derive(Clone)]
pub struct InstagramConfig {
    pub client_id: String,
    pub client_secret: SecretString,
    /// `https://www.instagram.com` (the consent page).
    pub www_base: Url,
    /// `https://api.instagram.com` (the code exchange).
    pub api_base: Url,
    /// `https://graph.instagram.com`.
    pub graph_base: Url,
    pub graph_version: String,
}

impl std::fmt::Debug for InstagramConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstagramConfig")
            .field("client_id", &self.client_id)
            .field("graph_base", &self.graph_base.as_str())
            .finish_non_exhaustive()
    }
}

/// Progress of one delivery's publish, saved by the dispatcher between steps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handle {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
    /// A carousel's item containers, created before its parent container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<String>,
    /// Set (and saved) before `media_publish` is called.
    #[serde(default)]
    pub publish_started: bool,
    /// When the attempt began (Unix seconds): the earliest a published copy can carry.
    #[serde(default)]
    pub started_at: i64,
}

/// What to publish.
#[derive(Debug, Clone)]
pub struct Content<'a> {
    pub caption: &'a str,
    /// One image or video (a reel), or 2 to 10 images for a carousel.
    pub items: &'a [Item],
    /// Alternative text for the image, read by screen readers.
    pub alt_text: Option<&'a str>,
    /// Publish the single item as a Story (no caption) instead of a feed post or reel.
    pub story: bool,
    /// A reel also appears in the profile's grid (Instagram's default: yes).
    pub share_to_feed: Option<bool>,
    /// A reel's cover: the frame this many milliseconds in.
    pub thumb_offset_ms: Option<i64>,
    /// A reel's cover image, at a URL Instagram downloads it from.
    pub cover_url: Option<&'a str>,
}

#[derive(Debug, Clone)]
pub struct Instagram {
    config: InstagramConfig,
    graph: Graph,
    /// Facebook's Graph host, which serves the accounts connected through a Page.
    pages_graph: Url,
}

const RECHECK: Duration = Duration::from_secs(1);

impl Instagram {
    pub fn new(config: InstagramConfig, pages_graph: Url, http: reqwest::Client) -> Self {
        let graph = Graph {
            http,
            base: config.graph_base.clone(),
            version: config.graph_version.clone(),
        };
        Self {
            config,
            graph,
            pages_graph,
        }
    }

    /// The adapter for an account connected through `login`: Instagram accounts reached through
    /// Facebook Login use Facebook's Graph host (with their Page's token).
    fn on(&self, login: Login) -> Self {
        let mut other = self.clone();
        if login == Login::Facebook {
            other.graph.base = self.pages_graph.clone();
        }
        other
    }

    /// The consent page URL. Scopes are comma-separated, as Instagram expects.
    pub fn authorize_url(&self, state: &str, redirect_uri: &str, scopes: &[&str]) -> Url {
        let mut u = self.config.www_base.clone();
        let base = u.path().trim_end_matches('/').to_owned();
        u.set_path(&format!("{base}/oauth/authorize"));
        u.query_pairs_mut()
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", &scopes.join(","))
            .append_pair("state", state);
        u
    }

    /// Code → short-lived token → long-lived token → the account's id and username.
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        requested: &[&str],
        now: Timestamp,
    ) -> Result<Grant, PlatformError> {
        let mut url = self.config.api_base.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base}/oauth/access_token"));
        let res = crate::send(self.graph.http.post(url).form(&[
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", self.config.client_secret.expose_secret()),
            ("grant_type", "authorization_code"),
            ("redirect_uri", redirect_uri),
            ("code", code),
        ]))
        .await?;
        let status = res.status();
        let body: Value = res.json().await.map_err(|e| PlatformError::from_http(&e))?;
        if !status.is_success() {
            let message = body["error_message"]
                .as_str()
                .or(body["error"]["message"].as_str())
                .unwrap_or("the code exchange failed");
            return Err(PlatformError::Platform {
                message: message.to_owned(),
            });
        }
        // Instagram documents both a flat body and one wrapped in `data`.
        let short = if body["data"].is_array() {
            &body["data"][0]
        } else {
            &body
        };
        let short_token = SecretString::from(
            short["access_token"]
                .as_str()
                .ok_or_else(|| malformed("access_token"))?
                .to_owned(),
        );
        let scopes = match &short["permissions"] {
            Value::String(s) => s
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            Value::Array(a) => a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
            _ => requested.iter().map(|s| (*s).to_owned()).collect(),
        };
        let mut url = self.graph.unversioned("access_token");
        url.query_pairs_mut()
            .append_pair("grant_type", "ig_exchange_token")
            .append_pair("client_secret", self.config.client_secret.expose_secret());
        let long = self.graph.get_json(url, &short_token).await?;
        let access_token = SecretString::from(
            long["access_token"]
                .as_str()
                .ok_or_else(|| malformed("access_token"))?
                .to_owned(),
        );
        let expires_at = long["expires_in"]
            .as_i64()
            .map(|s| now + SignedDuration::from_secs(s));
        let mut me = self.graph.url("me");
        me.query_pairs_mut().append_pair("fields", "user_id,username");
        let me = self.graph.get_json(me, &access_token).await?;
        let account_id = match &me["user_id"] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return Err(malformed("user_id")),
        };
        let handle = me["username"].as_str().unwrap_or_default().to_owned();
        Ok(Grant {
            access_token,
            issued_at: now,
            expires_at,
            scopes,
            account_id,
            handle,
            renew: None,
        })
    }

    /// A new 60-day token for a long-lived one that is at least a day old.
    pub async fn refresh(&self, token: &SecretString, now: Timestamp) -> Result<Refreshed, PlatformError> {
        let mut url = self.graph.unversioned("refresh_access_token");
        url.query_pairs_mut()
            .append_pair("grant_type", "ig_refresh_token");
        let body = self.graph.get_json(url, token).await?;
        let access_token = SecretString::from(
            body["access_token"]
                .as_str()
                .ok_or_else(|| malformed("access_token"))?
                .to_owned(),
        );
        Ok(Refreshed {
            access_token,
            renew: None,
            expires_at: body["expires_in"]
                .as_i64()
                .map(|s| now + SignedDuration::from_secs(s)),
        })
    }

    /// One step of publishing an image post; see the module docs for the order of steps.
    pub async fn publish_step(
        &self,
        token: &SecretString,
        account_id: &str,
        content: &Content<'_>,
        handle: &Handle,
        ctx: &StepContext<'_>,
    ) -> Result<Step<Handle>, PlatformError> {
        let Some(container) = handle.container_id.as_deref() else {
            return self
                .create_containers(token, account_id, content, handle, ctx.now)
                .await;
        };
        let mut url = self.graph.url(container);
        url.query_pairs_mut().append_pair("fields", "status_code,status");
        let status = self.graph.get_json(url, token).await?;
        match (
            status["status_code"].as_str().unwrap_or_default(),
            handle.publish_started,
        ) {
            ("IN_PROGRESS", _) => Ok(Step::Park(handle.clone(), RECHECK)),
            ("FINISHED", false) => Ok(Step::Continue(Handle {
                publish_started: true,
                ..handle.clone()
            })),
            ("FINISHED", true) => {
                let media_id = self.media_publish(token, account_id, container).await?;
                Ok(Step::Published(Published {
                    permalink: self.permalink(token, &media_id).await.ok(),
                    id: media_id,
                }))
            }
            // Published by an earlier call whose answer was lost: which post is it?
            ("PUBLISHED", _) => {
                let window = (handle.started_at, ctx.now.as_second());
                let found = self.find_published(token, account_id, content, window).await?;
                settle(found, ctx.known).ok_or_else(|| PlatformError::Platform {
                    message: "Instagram reports the container published, but the post was not found among the account's recent media".into(),
                })
            }
            // Not published, and no longer publishable: a new container is safe.
            ("EXPIRED", _) => Ok(Step::Continue(Handle {
                container_id: None,
                children: Vec::new(),
                publish_started: false,
                ..handle.clone()
            })),
            (other, _) => Err(PlatformError::ContentRejected {
                message: format!(
                    "Instagram could not process the media ({}).",
                    status["status"].as_str().unwrap_or(other)
                ),
            }),
        }
    }

    /// The containers before publishing: one for a single image; for a carousel, its items first (one
    /// step), then, once every item is `FINISHED`, the parent (the next step).
    async fn create_containers(
        &self,
        token: &SecretString,
        account_id: &str,
        content: &Content<'_>,
        handle: &Handle,
        now: Timestamp,
    ) -> Result<Step<Handle>, PlatformError> {
        let started_at = if handle.started_at > 0 {
            handle.started_at
        } else {
            now.as_second()
        };
        let url = self.graph.url(&format!("{account_id}/media"));
        if let [single] = content.items {
            let media_key = if single.video() { "video_url" } else { "image_url" };
            let share = content.share_to_feed.unwrap_or(true).to_string();
            let offset = content.thumb_offset_ms.map(|ms| ms.to_string());
            let mut form = vec![(media_key, single.url.as_str())];
            if content.story {
                // Stories take no caption.
                form.push(("media_type", "STORIES"));
            } else if single.video() {
                // Feed videos are reels since 2023; `share_to_feed` also shows it in the grid.
                form.extend([
                    ("caption", content.caption),
                    ("media_type", "REELS"),
                    ("share_to_feed", share.as_str()),
                ]);
                if let Some(offset) = &offset {
                    form.push(("thumb_offset", offset));
                }
                if let Some(cover) = content.cover_url {
                    form.push(("cover_url", cover));
                }
            } else {
                form.push(("caption", content.caption));
                if let Some(alt) = content.alt_text {
                    form.push(("alt_text", alt));
                }
            }
            let id = id_of(&self.graph.post_form(url, token, &form).await?)?;
            return Ok(Step::Continue(Handle {
                container_id: Some(id),
                children: Vec::new(),
                publish_started: false,
                started_at,
            }));
        }
        if handle.children.is_empty() {
            let mut children = Vec::with_capacity(content.items.len());
            for item in content.items {
                let form: &[(&str, &str)] = if item.video() {
                    &[
                        ("media_type", "VIDEO"),
                        ("video_url", &item.url),
                        ("is_carousel_item", "true"),
                    ]
                } else {
                    &[("image_url", &item.url), ("is_carousel_item", "true")]
                };
                children.push(id_of(&self.graph.post_form(url.clone(), token, form).await?)?);
            }
            return Ok(Step::Continue(Handle {
                children,
                started_at,
                ..Handle::default()
            }));
        }
        for (n, child) in handle.children.iter().enumerate() {
            let mut status_url = self.graph.url(child);
            status_url
                .query_pairs_mut()
                .append_pair("fields", "status_code,status");
            let status = self.graph.get_json(status_url, token).await?;
            match status["status_code"].as_str().unwrap_or_default() {
                "FINISHED" => {}
                "IN_PROGRESS" => return Ok(Step::Park(handle.clone(), RECHECK)),
                // Expired before the carousel was made: new items (items never publish alone).
                "EXPIRED" => {
                    return Ok(Step::Continue(Handle {
                        children: Vec::new(),
                        ..handle.clone()
                    }));
                }
                other => {
                    return Err(PlatformError::ContentRejected {
                        message: format!(
                            "Instagram could not process item {} of the carousel ({}).",
                            n + 1,
                            status["status"].as_str().unwrap_or(other)
                        ),
                    });
                }
            }
        }
        let children = handle.children.join(",");
        let form = [
            ("media_type", "CAROUSEL"),
            ("children", children.as_str()),
            ("caption", content.caption),
        ];
        let id = id_of(&self.graph.post_form(url, token, &form).await?)?;
        Ok(Step::Continue(Handle {
            container_id: Some(id),
            ..handle.clone()
        }))
    }

    async fn media_publish(
        &self,
        token: &SecretString,
        account_id: &str,
        container: &str,
    ) -> Result<String, PlatformError> {
        let body = self
            .graph
            .post_form(
                self.graph.url(&format!("{account_id}/media_publish")),
                token,
                &[("creation_id", container)],
            )
            .await?;
        id_of(&body)
    }

    async fn permalink(&self, token: &SecretString, media_id: &str) -> Result<String, PlatformError> {
        let mut url = self.graph.url(media_id);
        url.query_pairs_mut().append_pair("fields", "permalink");
        let body = self.graph.get_json(url, token).await?;
        body["permalink"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| malformed("permalink"))
    }

    /// A media object's lifetime metrics. Only current metric names are asked for: Meta removed
    /// `impressions`, `plays` and `video_views` in 2025.
    pub async fn metrics(&self, token: &SecretString, media_id: &str) -> Result<Metrics, PlatformError> {
        let mut url = self.graph.url(&format!("{media_id}/insights"));
        url.query_pairs_mut()
            .append_pair("metric", "views,reach,likes,comments,shares,saved");
        let body = self.graph.get_json(url, token).await?;
        let value = |name: &str| {
            body["data"].as_array()?.iter().find(|m| m["name"] == name)?["values"][0]["value"].as_u64()
        };
        Ok(Metrics {
            views: value("views"),
            reach: value("reach"),
            likes: value("likes"),
            comments: value("comments"),
            shares: value("shares"),
            saves: value("saved"),
            ..Metrics::default()
        })
    }

    /// Top-level comments on a media object, each with its replies.
    pub async fn comments(
        &self,
        token: &SecretString,
        media_id: &str,
    ) -> Result<Vec<Comment>, PlatformError> {
        let mut url = self.graph.url(&format!("{media_id}/comments"));
        url.query_pairs_mut().append_pair(
            "fields",
            "id,text,timestamp,username,hidden,replies{id,text,timestamp,username,hidden}",
        );
        let body = self.graph.get_json(url, token).await?;
        Ok(comments(
            &body,
            &CommentFields {
                text: "text",
                author: &["username"],
                time: "timestamp",
                hidden: "hidden",
                replies: "replies",
            },
        ))
    }

    /// Replies to a top-level comment as the account; returns the reply's id.
    pub async fn reply(
        &self,
        token: &SecretString,
        comment_id: &str,
        text: &str,
    ) -> Result<String, PlatformError> {
        let body = self
            .graph
            .post_form(
                self.graph.url(&format!("{comment_id}/replies")),
                token,
                &[("message", text)],
            )
            .await?;
        id_of(&body)
    }

    /// The account's publishing quota: API-published posts in the last 24 hours, and the allowance.
    pub async fn publishing_quota(
        &self,
        token: &SecretString,
        account_id: &str,
    ) -> Result<LiveFacts, PlatformError> {
        let mut url = self.graph.url(&format!("{account_id}/content_publishing_limit"));
        url.query_pairs_mut().append_pair("fields", "quota_usage,config");
        let body = self.graph.get_json(url, token).await?;
        let entry = &body["data"][0];
        let n = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok());
        Ok(LiveFacts {
            quota_used: n(&entry["quota_usage"]),
            quota_total: n(&entry["config"]["quota_total"]),
            creator: None,
        })
    }

    /// The account's media published within the attempt's window that match everything sent:
    /// the caption, the kind of media and where it shows (feed, reels, stories).
    async fn find_published(
        &self,
        token: &SecretString,
        account_id: &str,
        content: &Content<'_>,
        window: (i64, i64),
    ) -> Result<Vec<Published>, PlatformError> {
        // Stories are not on the `media` edge, and carry no caption to match on.
        let edge = if content.story { "stories" } else { "media" };
        let mut url = self.graph.url(&format!("{account_id}/{edge}"));
        url.query_pairs_mut()
            .append_pair(
                "fields",
                "id,caption,timestamp,permalink,media_type,media_product_type",
            )
            .append_pair("limit", "50");
        let (media_type, product) = match content.items {
            _ if content.story => (None, "STORY"),
            [one] if one.video() => (Some("VIDEO"), "REELS"),
            [_] => (Some("IMAGE"), "FEED"),
            _ => (Some("CAROUSEL_ALBUM"), "FEED"),
        };
        self.graph
            .search(url, token, ("timestamp", "permalink"), window, |m| {
                let caption = content.story || m["caption"].as_str().unwrap_or_default() == content.caption;
                let kind = media_type.is_none_or(|t| m["media_type"] == t);
                caption && kind && m["media_product_type"] == product
            })
            .await
    }
}

impl Connector for Instagram {
    fn login(&self) -> Login {
        Login::Instagram
    }

    fn authorize_url(&self, r: &Authorize<'_>) -> Url {
        // Instagram Login documents no PKCE: a challenge, if any, is not sent.
        self.authorize_url(r.state, r.redirect_uri, r.scopes)
    }

    fn exchange<'a>(&'a self, r: CodeExchange<'a>) -> Call<'a, Exchanged> {
        Box::pin(async move {
            self.exchange_code(r.code, r.redirect_uri, r.requested, r.now)
                .await
                .map(Exchanged::Account)
        })
    }

    fn covers(&self) -> &'static str {
        "one Instagram professional account"
    }

    fn accounts<'a>(&'a self, _: &'a SecretString) -> Call<'a, Vec<Account>> {
        Box::pin(async {
            Err(PlatformError::Unsupported(
                "Instagram Login connects one account; there is nothing to choose".into(),
            ))
        })
    }

    fn refresh<'a>(
        &'a self,
        token: &'a SecretString,
        _: Option<&'a SecretString>,
        now: Timestamp,
    ) -> Call<'a, Refreshed> {
        // Instagram renews the long-lived access token itself.
        Box::pin(self.refresh(token, now))
    }

    fn revoke<'a>(&'a self, _: &'a SecretString, _: Option<&'a SecretString>) -> Call<'a, ()> {
        Box::pin(async {
            Err(PlatformError::Unsupported(
                "Instagram offers no revocation endpoint for Instagram Login; remove Herald under Settings → Apps and websites on Instagram to revoke it there too.".into(),
            ))
        })
    }
}

impl Publisher for Instagram {
    fn platform(&self) -> Platform {
        Platform::Instagram
    }

    fn retries(&self) -> RetryPolicy {
        // A container can be published for 24 hours: an interrupted publish may still finish
        // within half of that, and a new attempt makes a new container anyway.
        RetryPolicy {
            max_failures: 8,
            max_time: Duration::from_secs(12 * 3600),
        }
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
            fresh: h.container_id.is_none() && h.children.is_empty(),
            visible_call: h.publish_started,
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
            if job.items.is_empty() {
                return Err(PlatformError::ContentRejected {
                    message: "Instagram needs an image or a video.".into(),
                });
            }
            let content = Content {
                caption: job.text,
                items: job.items,
                alt_text: job.text_option("alt_text"),
                story: job.kind == Some("story"),
                share_to_feed: job.options.get("share_to_feed").and_then(Value::as_bool),
                thumb_offset_ms: job.options.get("thumb_offset_ms").and_then(Value::as_i64),
                cover_url: job.media_option("cover_media_id"),
            };
            self.on(job.login)
                .publish_step(job.token, job.account, &content, &h, &ctx)
                .await
                .map(saved)
        })
    }

    fn live_facts<'a>(
        &'a self,
        login: Login,
        token: &'a SecretString,
        account: &'a str,
    ) -> Call<'a, Option<LiveFacts>> {
        Box::pin(async move { self.on(login).publishing_quota(token, account).await.map(Some) })
    }

    fn comments_available(&self) -> Result<(), Unavailable> {
        Ok(())
    }

    fn comments<'a>(
        &'a self,
        login: Login,
        token: &'a SecretString,
        _: &'a str,
        post: &'a str,
    ) -> Call<'a, Vec<Comment>> {
        Box::pin(async move { self.on(login).comments(token, post).await })
    }

    fn reply<'a>(
        &'a self,
        login: Login,
        token: &'a SecretString,
        _: &'a str,
        _: &'a str,
        comment: &'a str,
        text: &'a str,
    ) -> Call<'a, String> {
        Box::pin(async move { self.on(login).reply(token, comment, text).await })
    }

    fn metrics_available(&self) -> Result<(), Unavailable> {
        Ok(())
    }

    fn metrics<'a>(
        &'a self,
        login: Login,
        token: &'a SecretString,
        _: &'a str,
        post: &'a str,
        _: Timestamp,
    ) -> Call<'a, Metrics> {
        Box::pin(async move { self.on(login).metrics(token, post).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorize_url_has_comma_separated_scopes_and_no_pkce() {
        let ig = Instagram::new(
            InstagramConfig {
                client_id: "123".into(),
                client_secret: SecretString::from("s".to_owned()),
                www_base: Url::parse("http://127.0.0.1:1/www.instagram.com").unwrap(),
                api_base: Url::parse("http://127.0.0.1:1/api.instagram.com").unwrap(),
                graph_base: Url::parse("http://127.0.0.1:1/graph.instagram.com").unwrap(),
                graph_version: "v24.0".into(),
            },
            Url::parse("http://127.0.0.1:1/graph.facebook.com").unwrap(),
            crate::http_client(),
        );
        let u = ig.authorize_url("st", "http://h/cb", &["a", "b"]);
        assert_eq!(u.path(), "/www.instagram.com/oauth/authorize");
        assert!(u.query().unwrap().contains("scope=a%2Cb"));
        assert!(!u.query().unwrap().contains("code_challenge"));
        assert!(!format!("{:?}", ig.config).contains("\"s\""));
    }
}
