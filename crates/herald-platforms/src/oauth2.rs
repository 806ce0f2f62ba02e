//! What the OAuth 2.0 logins outside Meta share (Pinterest, LinkedIn, X, TikTok, YouTube): the
//! token endpoint's answer read into tokens, the client that carries media bytes, and the reading
//! of a media file (or one byte range of it) from Herald's own link.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use secrecy::SecretString;
use serde_json::Value;

use crate::{PlatformError, Refreshed, RenewBy};

/// What a token endpoint answered: the access token, its end, and the refresh token (which, where
/// the login rotates them, replaces the one used) with its own end where the answer gives one.
pub(crate) struct Tokens {
    pub access: SecretString,
    pub expires_at: Option<Timestamp>,
    pub renew: Option<RenewBy>,
    pub renew_until: Option<Timestamp>,
}

impl Tokens {
    /// Reads `access_token`, `expires_in` (seconds from `now`), `refresh_token` and
    /// `refresh_token_expires_in`; `who` names the platform in the error when the answer has no
    /// access token.
    pub fn read(body: &Value, now: Timestamp, who: &str) -> Result<Self, PlatformError> {
        let secret = |k: &str| body[k].as_str().map(|s| SecretString::from(s.to_owned()));
        Ok(Self {
            access: secret("access_token").ok_or_else(|| PlatformError::Platform {
                message: format!("{who}'s token endpoint answered without an access token"),
            })?,
            expires_at: body["expires_in"]
                .as_i64()
                .map(|s| now + SignedDuration::from_secs(s)),
            renew: secret("refresh_token").map(|token| RenewBy { token }),
            renew_until: body["refresh_token_expires_in"]
                .as_i64()
                .map(|s| now + SignedDuration::from_secs(s)),
        })
    }
}

impl From<Tokens> for Refreshed {
    /// A renewal's answer: the refresh token's own end is the grant's business, not the profile's.
    fn from(t: Tokens) -> Self {
        Self {
            access_token: t.access,
            expires_at: t.expires_at,
            renew: t.renew,
        }
    }
}

/// A token endpoint's answer: its JSON, or its refusal (RFC 6749 §5.2, `{"error",
/// "error_description"}`, whatever the status: TikTok has sent one with 200) in the taxonomy.
/// `ended` names the errors by which the login says the code or refresh token no longer works (the
/// person must connect again); `credentials` what to check when the app's own are refused.
pub(crate) async fn token_answer(
    res: reqwest::Response,
    who: &str,
    ended: &[&str],
    credentials: &str,
) -> Result<Value, PlatformError> {
    let status = res.status();
    let text = res.text().await.map_err(|e| PlatformError::from_http(&e))?;
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let error = body["error"].as_str().filter(|e| !e.is_empty());
    if status.is_success() && error.is_none() {
        return Ok(body);
    }
    let message = body["error_description"].as_str().map_or_else(
        || format!("{who}'s token endpoint answered {status}"),
        str::to_owned,
    );
    // A server in trouble, or a limit, is never taken for the grant's end.
    Err(match error {
        _ if status.is_server_error() => PlatformError::Transient { message },
        _ if status.as_u16() == 429 => PlatformError::RateLimited {
            retry_after: Some(Duration::from_secs(60)),
            until: None,
            app_wide: false,
        },
        Some(e) if ended.contains(&e) => PlatformError::TokenRevoked(message),
        Some("invalid_client" | "unauthorized_client") => PlatformError::Platform {
            message: format!("{who} refused Herald's app credentials ({message}): check the {credentials}"),
        },
        _ => PlatformError::Platform { message },
    })
}

/// The refresh token a renewal needs, or why there is none (the person must connect again).
pub(crate) fn renew_with<'a>(
    renew: Option<&'a SecretString>,
    who: &str,
) -> Result<&'a SecretString, PlatformError> {
    renew.ok_or_else(|| {
        PlatformError::TokenRevoked(format!("Herald holds no refresh token for this {who} account"))
    })
}

/// The client that carries media bytes: no bound on the whole call (an upload is long), a
/// minute's silence at most.
pub(crate) fn upload_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(crate::CONNECT_TIMEOUT)
        .read_timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Herald/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("HTTP client")
}

/// One media file's answer from Herald's own link, to stream; an error unless it is there.
pub(crate) async fn open_media(
    client: &reqwest::Client,
    item: &crate::Item,
) -> Result<reqwest::Response, PlatformError> {
    let source = client
        .get(&item.url)
        .send()
        .await
        .map_err(|e| PlatformError::from_http(&e))?;
    if !source.status().is_success() {
        return Err(PlatformError::MediaUnreachable {
            message: format!("Herald's own media link answered {}", source.status()),
        });
    }
    Ok(source)
}

/// `len` bytes of the media file from `first`, read from Herald's own link: that range alone
/// where the link serves ranges, else the file read up to it.
pub(crate) async fn read_range(
    client: &reqwest::Client,
    item: &crate::Item,
    first: u64,
    len: u64,
) -> Result<Vec<u8>, PlatformError> {
    let mut source = client
        .get(&item.url)
        .header(
            reqwest::header::RANGE,
            format!("bytes={first}-{}", first + len - 1),
        )
        .send()
        .await
        .map_err(|e| PlatformError::from_http(&e))?;
    let mut skip = match source.status().as_u16() {
        206 => 0,
        200 => first,
        s => {
            return Err(PlatformError::MediaUnreachable {
                message: format!("Herald's own media link answered {s}"),
            });
        }
    };
    let mut out = Vec::with_capacity(len as usize);
    while (out.len() as u64) < len {
        let Some(piece) = source.chunk().await.map_err(|e| PlatformError::from_http(&e))? else {
            return Err(PlatformError::MediaUnreachable {
                message: "Herald's own media link ended before the video did".into(),
            });
        };
        let start = (skip as usize).min(piece.len());
        skip -= start as u64;
        let end = piece.len().min(start + (len as usize - out.len()));
        out.extend_from_slice(&piece[start..end]);
    }
    Ok(out)
}

/// One media file read from Herald's own link: its content type (or its kind's) and its bytes.
pub(crate) async fn fetch_media(
    client: &reqwest::Client,
    item: &crate::Item,
) -> Result<(String, Vec<u8>), PlatformError> {
    let source = open_media(client, item).await?;
    let media_type = source
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or(item.media_type.mime())
        .to_owned();
    let bytes = source.bytes().await.map_err(|e| PlatformError::from_http(&e))?;
    Ok((media_type, bytes.into()))
}
