//! Who is calling: a session cookie or a personal API token; CSRF protection for cookie-authenticated writes.

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use herald_domain::{ApiTokenId, Role, SessionId, UserId, WorkspaceId};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::ApiError;

/// The session cookie over plain http (a loopback Herald).
pub(crate) const SESSION_COOKIE: &str = "herald_session";
/// The session cookie over https: the `__Host-` prefix makes browsers insist on `Secure`, `Path=/`
/// and no `Domain`, so no other site or subdomain can set or read it.
pub(crate) const SECURE_SESSION_COOKIE: &str = "__Host-herald_session";

/// A random secret of 32 bytes, URL-safe.
pub(crate) fn random_secret() -> String {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("randomness");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// A new one-time setup code: 100 random bits as four groups of five letters and digits that
/// cannot be mistaken for each other (Crockford's alphabet), easy to copy from a terminal.
pub fn new_setup_code() -> secrecy::SecretString {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut b = [0u8; 20];
    getrandom::fill(&mut b).expect("randomness");
    let mut code = String::with_capacity(23);
    for (i, byte) in b.iter().enumerate() {
        if i > 0 && i % 5 == 0 {
            code.push('-');
        }
        code.push(char::from(ALPHABET[usize::from(byte & 31)]));
    }
    code.into()
}

/// A setup code as typed, compared without its dashes, spaces or case.
pub(crate) fn normal_setup_code(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// What is stored instead of a secret: its SHA-256, hex.
pub(crate) fn hash_secret(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub user: UserId,
    /// The hash of the browser session, when the caller came with a cookie.
    pub session_hash: Option<String>,
    /// The browser session, when the caller came with a cookie (not an API token).
    pub session: Option<SessionId>,
    /// The personal API token, when the caller came with one.
    pub token: Option<ApiTokenId>,
    /// A scoped token's workspace and scopes; `None` for a session or a legacy token.
    pub grant: Option<herald_store::TokenGrant>,
    /// For a page, the workspace it acts in and the caller's role there, as the access check read
    /// them: the handler acts in that one, even if the person switches meanwhile.
    pub acting: Option<(WorkspaceId, Role)>,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // The access check found the caller already.
        if let Some(known) = parts.extensions.get::<Caller>() {
            return Ok(known.clone());
        }
        if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
            let token = auth
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .ok_or_else(ApiError::unauthenticated)?;
            let (token, user, grant) = state
                .store
                .api_token_user(&hash_secret(token.trim()))
                .await?
                .ok_or_else(ApiError::unauthenticated)?;
            // A person who must enrol a second factor reaches nothing with a token meanwhile.
            crate::two_factor::enrolment_gate(state, user, parts.uri.path()).await?;
            return Ok(Caller {
                user,
                session_hash: None,
                session: None,
                token: Some(token),
                grant,
                acting: None,
            });
        }
        let session =
            cookie(&parts.headers, state.config.session_cookie()).ok_or_else(ApiError::unauthenticated)?;
        let hash = hash_secret(&session);
        let found = state
            .store
            .session_user(&hash, micros(state.config.session_idle))
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        // Where two-factor sign-in is required of this person, a session reaches only enrolling.
        crate::two_factor::enrolment_gate(state, found.user, parts.uri.path()).await?;
        Ok(Caller {
            user: found.user,
            session_hash: Some(hash),
            session: Some(found.session),
            token: None,
            grant: None,
            acting: None,
        })
    }
}

/// A duration in microseconds, as instants are stored.
pub(crate) fn micros(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

impl Caller {
    /// Refuses a caller who came with an API token where only a person in a browser may act.
    pub fn require_session(&self, what: &str) -> Result<SessionId, ApiError> {
        self.session.ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "session_required",
                format!("{what} needs you signed in to Herald (a session), not an API token"),
            )
        })
    }

    /// The workspace, if the caller belongs to it; otherwise 404, as if it did not exist.
    pub async fn workspace(&self, state: &AppState, ws: &str) -> Result<WorkspaceId, ApiError> {
        self.workspace_role(state, ws).await.map(|(id, _)| id)
    }

    /// The workspace and the caller's role in it, if they belong to it; otherwise 404.
    pub async fn workspace_role(&self, state: &AppState, ws: &str) -> Result<(WorkspaceId, Role), ApiError> {
        let id: WorkspaceId = ws.parse().map_err(|_| ApiError::not_found("workspace"))?;
        match state.store.membership(self.user, id).await? {
            Some(role) => Ok((id, role)),
            None => Err(ApiError::not_found("workspace")),
        }
    }
}

/// Refuses cross-site writes from browsers (Sec-Fetch-Site, then Origin), unless a bearer token is used:
/// a cookie alone never authorises a write another site triggered.
pub(crate) async fn csrf_guard(req: Request, next: Next) -> Result<Response, ApiError> {
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if unsafe_method && !req.headers().contains_key(header::AUTHORIZATION) && is_cross_site(req.headers()) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "cross-site request refused: send writes from Herald's own pages or with an API token",
        ));
    }
    Ok(next.run(req).await)
}

fn is_cross_site(h: &HeaderMap) -> bool {
    if let Some(site) = h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return !matches!(site, "same-origin" | "none");
    }
    let Some(origin) = h.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = h
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    origin == "null" || origin_host != host
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn cross_site_writes_are_detected_by_fetch_metadata_then_origin() {
        assert!(is_cross_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!is_cross_site(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(is_cross_site(&headers(&[
            ("origin", "https://evil.example"),
            ("host", "herald.example")
        ])));
        assert!(!is_cross_site(&headers(&[
            ("origin", "https://herald.example"),
            ("host", "herald.example")
        ])));
        assert!(
            !is_cross_site(&headers(&[("host", "herald.example")])),
            "non-browser clients send neither"
        );
    }
}
