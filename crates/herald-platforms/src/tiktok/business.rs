//! TikTok's API for Business, which a TikTok profile adds for its comments (the Content Posting
//! API has none): its own app and authorization (TikTok's consent page with the Business app's
//! key; codes exchanged at `business-api.tiktok.com/open_api/v1.3/tt_user/oauth2/token/` with a
//! JSON body and no PKCE; day-long access tokens and year-long refresh tokens), then
//! `business/comment/list/` and `business/comment/reply/list/` read a video's comments and
//! `business/comment/reply/create/` answers one as the account. Every answer is TikTok's
//! Business envelope `{"code","message","request_id","data"}`, `code` 0 when it worked (any
//! HTTP status). Only a Business account has comments here: a personal one is told so when it
//! is added, and nothing is kept.

use std::time::Duration;

use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use url::Url;

use herald_domain::platform::Login;

use crate::adapter::{Authorize, Call, CodeExchange, Connector, Exchanged};
use crate::oauth2::Tokens;
use crate::{Comment, Grant, PlatformError, Refreshed};

/// Where TikTok's API for Business is and which app Herald uses there.
#[derive(Clone)]
pub struct TiktokBusinessConfig {
    /// The Business app's id (TikTok's consent page calls it the client key).
    pub app_id: String,
    pub secret: SecretString,
    /// `https://www.tiktok.com` (the consent page).
    pub www_base: Url,
    /// `https://business-api.tiktok.com` (everything else, under `/open_api/v1.3`).
    pub api_base: Url,
}

impl std::fmt::Debug for TiktokBusinessConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TiktokBusinessConfig")
            .field("app_id", &self.app_id)
            .field("api_base", &self.api_base.as_str())
            .finish_non_exhaustive()
    }
}

/// TikTok's API for Business: the conversations login of TikTok profiles.
#[derive(Debug)]
pub struct TiktokBusiness {
    config: TiktokBusinessConfig,
    http: reqwest::Client,
}

/// Comments per page (TikTok's most), and pages read at most per video.
const PAGE: u64 = 30;
const MAX_PAGES: usize = 20;
/// The longest reply TikTok takes.
pub(crate) const REPLY_MAX: usize = 150;

/// What a personal account is told.
const NOT_BUSINESS: &str = "is a personal TikTok account. TikTok lets apps read and answer comments only on Business accounts (through its API for Business): switch the account to a Business account in the TikTok app (Settings and privacy → Account → Switch to Business Account), then add comments again. Publishing is not affected.";

impl TiktokBusiness {
    pub fn new(config: TiktokBusinessConfig, http: reqwest::Client) -> Self {
        Self { config, http }
    }

    fn api(&self, path: &str) -> Url {
        let mut u = self.config.api_base.clone();
        let base = u.path().trim_end_matches('/').to_owned();
        u.set_path(&format!("{base}/open_api/v1.3/{path}"));
        u
    }

    /// The app's own calls (tokens): its id and secret in the JSON body.
    async fn app_call(&self, path: &str, mut body: Value) -> Result<Value, PlatformError> {
        body["client_id"] = json!(self.config.app_id);
        body["client_secret"] = json!(self.config.secret.expose_secret());
        let res = self
            .http
            .post(self.api(path))
            .json(&body)
            .send()
            .await
            .map_err(|e| PlatformError::from_http(&e))?;
        read(res, true).await
    }

    /// A call as the account: its token in `Access-Token`.
    async fn call(
        &self,
        request: reqwest::RequestBuilder,
        token: &SecretString,
    ) -> Result<Value, PlatformError> {
        let res = request
            .header("Access-Token", token.expose_secret())
            .send()
            .await
            .map_err(|e| PlatformError::from_http(&e))?;
        read(res, false).await
    }

    async fn exchange_code(&self, r: CodeExchange<'_>) -> Result<Grant, PlatformError> {
        let body = self
            .app_call(
                "tt_user/oauth2/token/",
                json!({"grant_type": "authorization_code", "auth_code": r.code, "redirect_uri": r.redirect_uri}),
            )
            .await?;
        let tokens = Tokens::read(&body, r.now, "TikTok for Business")?;
        let (business_id, handle) = match self.who(&body, &tokens.access).await {
            Ok(w) => w,
            Err(e) => {
                // Nothing is kept of an authorization that cannot serve its purpose.
                let _ = self.revoke_token(&tokens.access).await;
                return Err(e);
            }
        };
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
            account_id: business_id,
            handle,
            renew: tokens.renew,
        })
    }

    /// The account an authorization is for (its `business_id` and @username), when it is a
    /// Business account.
    async fn who(&self, body: &Value, token: &SecretString) -> Result<(String, String), PlatformError> {
        // `open_id` in v1.3, `creator_id` in older answers.
        let business_id = body["open_id"]
            .as_str()
            .or(body["creator_id"].as_str())
            .ok_or_else(|| malformed("data.open_id"))?
            .to_owned();
        let mut url = self.api("business/get/");
        url.query_pairs_mut()
            .append_pair("business_id", &business_id)
            .append_pair("fields", r#"["username","display_name","is_business_account"]"#);
        let me = self.call(self.http.get(url), token).await?;
        let handle = me["username"].as_str().unwrap_or(&business_id).to_owned();
        match me["is_business_account"].as_bool() {
            Some(true) => Ok((business_id, handle)),
            Some(false) => Err(PlatformError::Unsupported(format!("@{handle} {NOT_BUSINESS}"))),
            None => Err(PlatformError::PermissionMissing(
                "TikTok did not say whether the account is a Business account: allow `user.account.type`"
                    .into(),
            )),
        }
    }

    async fn renew(&self, refresh: &SecretString, now: Timestamp) -> Result<Refreshed, PlatformError> {
        let body = self
            .app_call(
                "tt_user/oauth2/refresh_token/",
                json!({"grant_type": "refresh_token", "refresh_token": refresh.expose_secret()}),
            )
            .await?;
        Tokens::read(&body, now, "TikTok for Business").map(Refreshed::from)
    }

    async fn revoke_token(&self, token: &SecretString) -> Result<(), PlatformError> {
        match self
            .app_call(
                "tt_user/oauth2/revoke/",
                json!({"access_token": token.expose_secret()}),
            )
            .await
        {
            Ok(_) => Ok(()),
            // A token TikTok calls invalid or revoked (40104, 40105) is as revoked as it gets.
            Err(PlatformError::TokenRevoked(m)) if m.contains("(4010") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// A video's comments, each with its replies, read as the Business account.
    pub(crate) async fn comments(
        &self,
        token: &SecretString,
        business_id: &str,
        video_id: &str,
    ) -> Result<Vec<Comment>, PlatformError> {
        let mut out = Vec::new();
        let mut cursor = None;
        for _ in 0..MAX_PAGES {
            let d = self
                .page(
                    "business/comment/list/",
                    token,
                    business_id,
                    video_id,
                    None,
                    cursor,
                )
                .await?;
            for c in d["comments"].as_array().into_iter().flatten() {
                let mut comment = comment_of(c);
                if c["replies"].as_u64().unwrap_or(0) > 0 {
                    comment.replies = self.replies(token, business_id, video_id, &comment.id).await?;
                }
                out.push(comment);
            }
            cursor = d["cursor"].as_u64();
            if d["has_more"] != true || cursor.is_none() {
                break;
            }
        }
        Ok(out)
    }

    async fn replies(
        &self,
        token: &SecretString,
        business_id: &str,
        video_id: &str,
        comment_id: &str,
    ) -> Result<Vec<Comment>, PlatformError> {
        let mut out = Vec::new();
        let mut cursor = None;
        for _ in 0..MAX_PAGES {
            let d = self
                .page(
                    "business/comment/reply/list/",
                    token,
                    business_id,
                    video_id,
                    Some(comment_id),
                    cursor,
                )
                .await?;
            out.extend(d["comments"].as_array().into_iter().flatten().map(comment_of));
            cursor = d["cursor"].as_u64();
            if d["has_more"] != true || cursor.is_none() {
                break;
            }
        }
        Ok(out)
    }

    async fn page(
        &self,
        path: &str,
        token: &SecretString,
        business_id: &str,
        video_id: &str,
        comment_id: Option<&str>,
        cursor: Option<u64>,
    ) -> Result<Value, PlatformError> {
        let mut url = self.api(path);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("business_id", business_id)
                .append_pair("video_id", video_id)
                .append_pair("status", "ALL")
                .append_pair("max_count", &PAGE.to_string());
            if let Some(c) = comment_id {
                q.append_pair("comment_id", c);
            }
            if let Some(c) = cursor {
                q.append_pair("cursor", &c.to_string());
            }
        }
        self.call(self.http.get(url), token).await
    }

    /// Answers a top-level comment on `video_id` as the account; the reply's id.
    pub(crate) async fn reply(
        &self,
        token: &SecretString,
        business_id: &str,
        video_id: &str,
        comment_id: &str,
        text: &str,
    ) -> Result<String, PlatformError> {
        if text.chars().count() > REPLY_MAX {
            return Err(PlatformError::ContentRejected {
                message: format!("TikTok takes replies of at most {REPLY_MAX} characters"),
            });
        }
        let body =
            json!({"business_id": business_id, "video_id": video_id, "comment_id": comment_id, "text": text});
        let d = self
            .call(
                self.http
                    .post(self.api("business/comment/reply/create/"))
                    .json(&body),
                token,
            )
            .await?;
        d["comment_id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| malformed("data.comment_id"))
    }
}

fn comment_of(c: &Value) -> Comment {
    let s = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
    Comment {
        id: s("comment_id"),
        text: s("text"),
        username: s("username"),
        // A number, or a number in a string in some answers.
        timestamp: c["create_time"]
            .as_i64()
            .or_else(|| c["create_time"].as_str().and_then(|t| t.parse().ok()))
            .and_then(|t| Timestamp::from_second(t).ok())
            .map(|t| t.to_string()),
        hidden: c["status"].as_str().is_some_and(|s| s != "PUBLIC"),
        replies: Vec::new(),
    }
}

fn malformed(field: &str) -> PlatformError {
    PlatformError::Platform {
        message: format!("TikTok for Business's answer lacked `{field}`"),
    }
}

/// A Business API answer: its `data` when `code` is 0, else the code in the taxonomy. `tokens`:
/// the answer of a token endpoint, where a refused token or code means the authorization ended.
async fn read(res: reqwest::Response, tokens: bool) -> Result<Value, PlatformError> {
    let status = res.status();
    let text = res.text().await.map_err(|e| PlatformError::from_http(&e))?;
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let code = body["code"].as_i64();
    if status.is_success() && code == Some(0) {
        return Ok(body["data"].clone());
    }
    let message = match body["message"].as_str() {
        Some(m) => format!("{m} ({})", code.unwrap_or_default()),
        None => format!("TikTok for Business answered {status}"),
    };
    let limited = || PlatformError::RateLimited {
        retry_after: Some(Duration::from_secs(60)),
        until: None,
        app_wide: false,
    };
    Err(match code {
        _ if status.is_server_error() => PlatformError::Transient { message },
        _ if status.as_u16() == 429 => limited(),
        // Too many requests.
        Some(40100) => limited(),
        // The access token (or, at a token endpoint, the code or refresh token) is invalid,
        // expired or revoked.
        Some(40104 | 40105) => PlatformError::TokenRevoked(message),
        Some(40002) if tokens => PlatformError::TokenRevoked(message),
        // No permission: a scope not granted, or an account this app may not act for.
        Some(40001) => PlatformError::PermissionMissing(message),
        Some(40002 | 40006) => PlatformError::ContentRejected { message },
        Some(c) if c >= 50000 => PlatformError::Transient { message },
        _ => PlatformError::Platform { message },
    })
}

impl Connector for TiktokBusiness {
    fn login(&self) -> Login {
        Login::TiktokBusiness
    }

    /// TikTok's own consent page, with the Business app's key.
    fn authorize_url(&self, r: &Authorize<'_>) -> Url {
        let mut u = self.config.www_base.clone();
        let base = u.path().trim_end_matches('/').to_owned();
        u.set_path(&format!("{base}/v2/auth/authorize/"));
        u.query_pairs_mut()
            .append_pair("client_key", &self.config.app_id)
            .append_pair("scope", &r.scopes.join(","))
            .append_pair("redirect_uri", r.redirect_uri)
            .append_pair("state", r.state)
            .append_pair("response_type", "code");
        u
    }

    fn exchange<'a>(&'a self, r: CodeExchange<'a>) -> Call<'a, Exchanged> {
        Box::pin(async move { self.exchange_code(r).await.map(Exchanged::Account) })
    }

    fn covers(&self) -> &'static str {
        "one TikTok Business account's comments"
    }

    fn refresh<'a>(
        &'a self,
        _: &'a SecretString,
        renew: Option<&'a SecretString>,
        now: Timestamp,
    ) -> Call<'a, Refreshed> {
        Box::pin(async move {
            self.renew(crate::oauth2::renew_with(renew, "TikTok for Business")?, now)
                .await
        })
    }

    fn revoke<'a>(&'a self, token: &'a SecretString, _: Option<&'a SecretString>) -> Call<'a, ()> {
        Box::pin(self.revoke_token(token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_consent_url_names_the_business_app_and_asks_no_pkce() {
        let b = TiktokBusiness::new(
            TiktokBusinessConfig {
                app_id: "7000biz".into(),
                secret: SecretString::from("s3cret"),
                www_base: Url::parse("http://127.0.0.1:1/www.tiktok.com").unwrap(),
                api_base: Url::parse("http://127.0.0.1:1/business-api.tiktok.com").unwrap(),
            },
            crate::http_client(),
        );
        let u = b.authorize_url(&Authorize {
            state: "st",
            redirect_uri: "http://h/cb",
            scopes: &["user.info.basic", "comment.list"],
            pkce_challenge: None,
        });
        assert_eq!(u.path(), "/www.tiktok.com/v2/auth/authorize/");
        let q = u.query().unwrap();
        assert!(q.contains("client_key=7000biz") && q.contains("scope=user.info.basic%2Ccomment.list"));
        assert_eq!(
            b.api("business/get/").path(),
            "/business-api.tiktok.com/open_api/v1.3/business/get/"
        );
        assert!(!format!("{:?}", b.config).contains("s3cret"));
    }
}
