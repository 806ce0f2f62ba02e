//! Snapchat: Snap's OAuth 2.0 for its business APIs on `accounts.snapchat.com/login/oauth2`
//! (space-separated scopes, the app's id and secret in the token call's form, no PKCE; access
//! tokens of an hour; refresh tokens that rotate on every use, the used one ending) and the Public
//! Profile API on `businessapi.snapchat.com`, which Snap opens to the apps it allow-listed only.
//! A person's grant covers every Public Profile of every organization they belong to in Snap
//! Business Manager: they choose which become profiles after consent.
//!
//! A post is one image or video, sent encrypted as Snap requires: a media container is created
//! with a random AES-256 key and IV (`POST /v1/public_profiles/{id}/media`), which answers the
//! paths its parts go to; the file is read from Herald's media link a part at a time (31 MiB, under
//! Snap's 32 MiB a request), each part encrypted with AES-256-CBC continuing the chain of the one
//! before (the last padded, PKCS#7) and sent (`action=ADD`, `part_number`, `file`); `action=FINALIZE`
//! ends the upload; then the media is posted as a Story, a Saved Story (with its `title`) or a
//! Spotlight (the post's text as its description, with a `locale`), parked while Snap answers
//! `MEDIA_PROCESSING`. A media expired before it was posted (24 hours) starts the attempt again.
//! Metrics come from the stats of the post's asset; Snap has no API for comments.
//!
//! Exactly once: Snap takes no idempotency key, but a media is posted only once (a second post of
//! it is refused `MEDIA_POSTING_ALREADY_IN_PROGRESS`). The ids of the profile's assets of the
//! post's kind are listed (the stats endpoint lists every asset of a type: the only listing Snap
//! documents) and `posting` saved before the post call. After a lost answer the same call is sent
//! again: taken means the first never landed; refused as already posted means it did, and the
//! asset new since that listing (and not another delivery's) is the post; none found leaves the
//! delivery unconfirmed. A Story's answer names no Story: it is told the same way, or named by its
//! media (posted once) when it cannot be.

mod crypto;
mod publish;
mod wire;

use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use herald_domain::platform::{Login, Platform};

use crate::adapter::{
    Account, Authorize, Call, CodeExchange, Connector, Exchanged, PersonGrant, Progress, PublishJob,
    Publisher, Unavailable,
};
use crate::oauth2::Tokens;
use crate::{Metrics, PlatformError, Refreshed, Step, StepContext};
use wire::Refused;

/// Where the adapter finds Snap and who it is there.
#[derive(Clone)]
pub struct SnapchatConfig {
    pub client_id: String,
    pub client_secret: SecretString,
    /// `https://accounts.snapchat.com` (the consent page, the token and revoke endpoints).
    pub www_base: Url,
    /// `https://businessapi.snapchat.com` (the Public Profile API, and the upload paths it names).
    pub api_base: Url,
}

impl std::fmt::Debug for SnapchatConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapchatConfig")
            .field("client_id", &self.client_id)
            .field("api_base", &self.api_base.as_str())
            .finish_non_exhaustive()
    }
}

/// Public Profiles read per page, and pages read per organization at most.
const PAGE: usize = 50;
const MAX_PAGES: usize = 20;

#[derive(Debug, Clone)]
pub struct Snapchat {
    config: SnapchatConfig,
    http: reqwest::Client,
    /// Media parts go through a client without the total-call bound (a part is large).
    upload: reqwest::Client,
}

impl Snapchat {
    pub fn new(config: SnapchatConfig, http: reqwest::Client) -> Self {
        Self {
            config,
            http,
            upload: crate::oauth2::upload_client(),
        }
    }

    fn www(&self, path: &str) -> Url {
        let mut u = self.config.www_base.clone();
        let root = u.path().trim_end_matches('/').to_owned();
        u.set_path(&format!("{root}{path}"));
        u
    }

    /// An API path from its segments, each encoded.
    fn api(&self, segments: &[&str]) -> Url {
        let mut u = self.config.api_base.clone();
        if let Ok(mut path) = u.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        u
    }

    /// Where a path Snap named for the upload goes: a path on the API's host (region-prefixed, as
    /// `/us/v1/media/{id}/multipart-upload-v2?action=ADD`), or a URL on that very host; the token
    /// goes nowhere else.
    fn upload_url(&self, path: &str) -> Result<Url, PlatformError> {
        let refused = || PlatformError::Platform {
            message: format!("Snapchat named an upload path Herald does not send media to ({path})"),
        };
        if let Ok(url) = Url::parse(path) {
            return match url.origin() == self.config.api_base.origin() {
                true => Ok(url),
                false => Err(refused()),
            };
        }
        let (p, query) = match path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path, None),
        };
        if !p.starts_with('/') || p.split('/').any(|s| s == "..") {
            return Err(refused());
        }
        let mut u = self.config.api_base.clone();
        let root = u.path().trim_end_matches('/').to_owned();
        u.set_path(&format!("{root}{p}"));
        u.set_query(query);
        Ok(u)
    }

    /// A call of the API with the bearer token: Snap's answer, or its refusal.
    async fn call(&self, request: reqwest::RequestBuilder, token: &SecretString) -> Result<Value, Refused> {
        let res = crate::send(request.bearer_auth(token.expose_secret())).await?;
        wire::answer(res).await
    }

    /// A lookup: what it refuses is never the post's content.
    async fn get(&self, url: Url, token: &SecretString) -> Result<Value, PlatformError> {
        self.call(self.http.get(url), token)
            .await
            .map_err(|r| wire::lookup(r.error))
    }

    async fn post(&self, url: Url, token: &SecretString, body: &Value) -> Result<Value, Refused> {
        self.call(self.http.post(url).json(body), token).await
    }

    /// A multipart call to an upload path, through the client without the total-call bound.
    async fn upload_call(
        &self,
        url: Url,
        form: reqwest::multipart::Form,
        token: &SecretString,
    ) -> Result<Value, Refused> {
        let res = self
            .upload
            .post(url)
            .bearer_auth(token.expose_secret())
            .multipart(form)
            .send()
            .await
            .map_err(|e| Refused::from(PlatformError::from_http(&e)))?;
        wire::answer(res).await
    }

    /// The token endpoints on `accounts.snapchat.com`, with the app's credentials in the form.
    async fn token_call(&self, path: &str, form: &[(&str, &str)]) -> Result<Value, PlatformError> {
        let mut form = form.to_vec();
        form.push(("client_id", &self.config.client_id));
        form.push(("client_secret", self.config.client_secret.expose_secret()));
        let res = crate::send(self.http.post(self.www(path)).form(&form)).await?;
        let ended = ["invalid_grant", "invalid_token"];
        crate::oauth2::token_answer(
            res,
            "Snapchat",
            &ended,
            "Snapchat OAuth app's client id and secret",
        )
        .await
    }

    fn consent_url(&self, r: &Authorize<'_>) -> Url {
        let mut u = self.www("/login/oauth2/authorize");
        u.query_pairs_mut()
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", r.redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", &r.scopes.join(" "))
            .append_pair("state", r.state);
        u
    }

    async fn exchange_code(&self, r: CodeExchange<'_>) -> Result<PersonGrant, PlatformError> {
        let body = self
            .token_call(
                "/login/oauth2/access_token",
                &[
                    ("grant_type", "authorization_code"),
                    ("code", r.code),
                    ("redirect_uri", r.redirect_uri),
                ],
            )
            .await?;
        let tokens = Tokens::read(&body, r.now, "Snapchat")?;
        let scopes = match body["scope"].as_str() {
            Some(s) => s
                .split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            None => r.requested.iter().map(|s| (*s).to_owned()).collect(),
        };
        let answer = self.get(self.api(&["v1", "me"]), &tokens.access).await?;
        let me = &answer["me"];
        let user_id = me["id"].as_str().ok_or_else(|| malformed("me.id"))?.to_owned();
        let name = me["display_name"]
            .as_str()
            .or(me["email"].as_str())
            .unwrap_or(&user_id)
            .to_owned();
        Ok(PersonGrant {
            access_token: tokens.access,
            issued_at: r.now,
            expires_at: tokens.expires_at,
            scopes,
            user_id,
            name,
            renew: tokens.renew,
            renew_until: tokens.renew_until,
        })
    }

    /// A new access token and the refresh token that replaces the one used (Snap rotates them: the
    /// old one stops working).
    async fn renew(&self, refresh: &SecretString, now: Timestamp) -> Result<Refreshed, PlatformError> {
        let body = self
            .token_call(
                "/login/oauth2/access_token",
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.expose_secret()),
                ],
            )
            .await?;
        Tokens::read(&body, now, "Snapchat").map(Refreshed::from)
    }

    /// Every Public Profile of every organization the user belongs to, each reached with the
    /// user's token; an organization whose profiles the user may not see offers none.
    async fn public_profiles(&self, token: &SecretString) -> Result<Vec<Account>, PlatformError> {
        let orgs = self.get(self.api(&["v1", "me", "organizations"]), token).await?;
        let mut out: Vec<Account> = Vec::new();
        for entry in orgs["organizations"].as_array().into_iter().flatten() {
            let org = &entry["organization"];
            let Some(org_id) = org["id"].as_str().filter(|_| !wire::item_failed(entry)) else {
                continue;
            };
            let group = org["name"].as_str().unwrap_or(org_id);
            let profiles = match self.profiles_of(token, org_id).await {
                Err(PlatformError::PermissionMissing(_)) => continue,
                other => other?,
            };
            for p in profiles {
                let Some(id) = p["id"].as_str() else { continue };
                if out.iter().any(|a| a.external_id == id) {
                    continue;
                }
                let handle = p["snap_user_name"]
                    .as_str()
                    .filter(|h| !h.is_empty())
                    .or(p["display_name"].as_str())
                    .unwrap_or(id);
                out.push(Account {
                    platform: Platform::Snapchat,
                    external_id: id.to_owned(),
                    handle: handle.to_owned(),
                    group: group.to_owned(),
                    token: token.clone(),
                });
            }
        }
        Ok(out)
    }

    /// One organization's Public Profiles, page by page (the first [`MAX_PAGES`] pages).
    async fn profiles_of(&self, token: &SecretString, org: &str) -> Result<Vec<Value>, PlatformError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut url = self.api(&["v1", "organizations", org, "public_profiles"]);
            url.query_pairs_mut().append_pair("limit", &PAGE.to_string());
            if let Some(c) = &cursor {
                url.query_pairs_mut().append_pair("cursor", c);
            }
            let page = self.get(url, token).await?;
            for item in page["public_profiles"].as_array().into_iter().flatten() {
                if !wire::item_failed(item) {
                    out.push(item["public_profile"].clone());
                }
            }
            let next = wire::next_cursor(&page["paging"]);
            if next.is_none() || next == cursor {
                break;
            }
            cursor = next;
        }
        Ok(out)
    }
}

fn malformed(field: &str) -> PlatformError {
    PlatformError::Platform {
        message: format!("Snapchat's answer lacked `{field}`"),
    }
}

impl Connector for Snapchat {
    fn login(&self) -> Login {
        Login::Snapchat
    }

    fn authorize_url(&self, r: &Authorize<'_>) -> Url {
        self.consent_url(r)
    }

    fn exchange<'a>(&'a self, r: CodeExchange<'a>) -> Call<'a, Exchanged> {
        Box::pin(async move { self.exchange_code(r).await.map(Exchanged::Person) })
    }

    fn covers(&self) -> &'static str {
        "the Public Profiles of the organizations they belong to in Snap Business Manager"
    }

    fn accounts<'a>(&'a self, token: &'a SecretString) -> Call<'a, Vec<Account>> {
        Box::pin(self.public_profiles(token))
    }

    fn refresh<'a>(
        &'a self,
        _: &'a SecretString,
        renew: Option<&'a SecretString>,
        now: Timestamp,
    ) -> Call<'a, Refreshed> {
        Box::pin(async move {
            self.renew(crate::oauth2::renew_with(renew, "Snapchat")?, now)
                .await
        })
    }

    /// Revoking a token of the grant ends the whole grant (the refresh token is named where there
    /// is one); a token Snap no longer knows has nothing left to revoke.
    fn revoke<'a>(&'a self, token: &'a SecretString, renew: Option<&'a SecretString>) -> Call<'a, ()> {
        // The refresh token first (it is what keeps the grant alive), then the access token: a
        // copy of either that is no longer current would otherwise leave the other working.
        Box::pin(async move {
            for t in renew.into_iter().chain([token]) {
                match self
                    .token_call("/accounts/oauth2/revoke", &[("token", t.expose_secret())])
                    .await
                {
                    Ok(_) | Err(PlatformError::TokenRevoked(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        })
    }
}

impl Publisher for Snapchat {
    fn platform(&self) -> Platform {
        Platform::Snapchat
    }

    fn start(&self, at: Timestamp) -> String {
        publish::start(at)
    }

    fn progress(&self, handle: &str) -> Result<Progress, String> {
        publish::progress(handle)
    }

    fn step<'a>(
        &'a self,
        job: &'a PublishJob<'a>,
        handle: &'a str,
        ctx: StepContext<'a>,
    ) -> Call<'a, Step<String>> {
        Box::pin(self.publish(job, handle, ctx))
    }

    fn comments_available(&self) -> Result<(), Unavailable> {
        Err("Snapchat has no public API for comments or replies")
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
        Box::pin(self.figures_of(token, account, post))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn snapchat() -> Snapchat {
        let base = |h: &str| Url::parse(&format!("http://127.0.0.1:1/{h}")).unwrap();
        Snapchat::new(
            SnapchatConfig {
                client_id: "snap-client".into(),
                client_secret: SecretString::from("s3cret"),
                www_base: base("accounts.snapchat.com"),
                api_base: base("businessapi.snapchat.com"),
            },
            crate::http_client(),
        )
    }

    #[test]
    fn the_authorize_url_asks_for_a_code_with_space_separated_scopes_and_no_pkce() {
        let s = snapchat();
        let u = s.consent_url(&Authorize {
            state: "st",
            redirect_uri: "https://herald.example/oauth/snapchat/callback",
            scopes: &["snapchat-profile-api", "snapchat-marketing-api"],
            pkce_challenge: Some("c"),
        });
        assert_eq!(u.path(), "/accounts.snapchat.com/login/oauth2/authorize");
        let q: HashMap<String, String> = u.query_pairs().into_owned().collect();
        assert_eq!(q["client_id"], "snap-client");
        assert_eq!(
            q["redirect_uri"],
            "https://herald.example/oauth/snapchat/callback"
        );
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["scope"], "snapchat-profile-api snapchat-marketing-api");
        assert_eq!(q["state"], "st");
        assert!(!q.contains_key("code_challenge"), "{u}");
        assert!(!format!("{:?}", s.config).contains("s3cret"));
    }

    #[test]
    fn upload_paths_join_the_api_host_and_go_nowhere_else() {
        let s = snapchat();
        let add = s
            .upload_url("/us/v1/media/m1/multipart-upload-v2?action=ADD")
            .unwrap();
        assert_eq!(
            add.as_str(),
            "http://127.0.0.1:1/businessapi.snapchat.com/us/v1/media/m1/multipart-upload-v2?action=ADD"
        );
        assert!(
            s.upload_url("http://127.0.0.1:1/businessapi.snapchat.com/v1/media/m1")
                .is_ok()
        );
        assert!(s.upload_url("https://evil.example/v1/media/m1").is_err());
        assert!(s.upload_url("v1/media/m1").is_err());
        assert!(s.upload_url("/v1/../../elsewhere").is_err());
        assert_eq!(
            s.api(&["v1", "public_profiles", "p 1", "media"]).as_str(),
            "http://127.0.0.1:1/businessapi.snapchat.com/v1/public_profiles/p%201/media"
        );
    }
}
