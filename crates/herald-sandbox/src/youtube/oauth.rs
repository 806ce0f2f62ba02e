//! Google's token endpoint on `oauth2.googleapis.com/token` (the client's credentials in the form or
//! by HTTP Basic; `{"error","error_description"}` on failure): a code, with its redirect URI and
//! PKCE verifier, for an access token of 3,599 seconds and, with offline access, a refresh token
//! that never rotates and lasts until revoked (seven days while the app is in Testing; at most 100
//! live per client and channel); refreshes; `oauth2.googleapis.com/revoke`, which ends the whole
//! grant; and the bearer check of the API.

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::world::{Kind, Token, World};
use crate::meter::UseCase;
use crate::{Sandbox, oauth_error, random_token};

/// Access tokens: an hour, announced as 3,599 seconds [official].
const ACCESS_TTL: SignedDuration = SignedDuration::from_secs(3599);
/// Refresh tokens of an app whose publishing status is Testing: seven days [official].
const TESTING_REFRESH_TTL: SignedDuration = SignedDuration::from_hours(7 * 24);
const HOST: &str = "oauth2.googleapis.com";

/// A refusal, boxed (a response is large and most answers are not refusals).
type Refusal = Box<Response>;

fn refuse(status: StatusCode, error: &str, description: &str) -> Refusal {
    Box::new(oauth_error(status, error, description))
}

/// `invalid_grant`: a code or refresh token that is unknown, used, expired or revoked.
fn bad_grant(description: &str) -> Refusal {
    refuse(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

fn form(bytes: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

/// Journals a request to the token host, its credentials redacted.
fn journal(
    sb: &Sandbox,
    path: &str,
    query: &HashMap<String, String>,
    form: &HashMap<String, String>,
    headers: &HeaderMap,
) {
    let query: BTreeMap<String, String> = query
        .iter()
        .map(|(k, v)| match k.as_str() {
            "token" => (k.clone(), "REDACTED".to_owned()),
            _ => (k.clone(), v.clone()),
        })
        .collect();
    let body = (!form.is_empty()).then(|| crate::graph::redacted_form(form, str::to_owned));
    crate::graph::record_rest(sb, HOST, &Method::POST, path.to_owned(), &query, body, headers);
}

/// `POST /oauth2.googleapis.com/token` (faults apply to it as the operation `token`).
pub(crate) async fn token(State(sb): State<Sandbox>, headers: HeaderMap, body: Bytes) -> Response {
    let form = form(&body);
    journal(&sb, "/token", &HashMap::new(), &form, &headers);
    let perform = async { exchange(&sb, &headers, &form).unwrap_or_else(|e| *e) };
    crate::faults::faulted(&sb, UseCase::Youtube, "POST", "token", perform).await
}

/// The app's client id, when the request authenticates as the app: in the form, or by HTTP Basic.
fn client(sb: &Sandbox, headers: &HeaderMap, form: &HashMap<String, String>) -> Result<String, Refusal> {
    use base64::Engine;
    let app = sb.config().youtube_app;
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok());
    let from_form = || {
        let get = |k: &str| form.get(k).cloned().unwrap_or_default();
        (get("client_id"), get("client_secret"))
    };
    let (id, secret) = basic
        .as_deref()
        .and_then(|b| b.split_once(':'))
        .map(|(i, s)| (i.to_owned(), s.to_owned()))
        .unwrap_or_else(from_form);
    if id != app.client_id {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "The OAuth client was not found.",
        ));
    }
    if secret != app.client_secret {
        return Err(refuse(StatusCode::UNAUTHORIZED, "invalid_client", "Unauthorized"));
    }
    Ok(id)
}

fn exchange(sb: &Sandbox, headers: &HeaderMap, form: &HashMap<String, String>) -> Result<Response, Refusal> {
    let client_id = client(sb, headers, form)?;
    let get = |k: &str| form.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let now = sb.clock().now();
    let mut world = sb.youtube();
    let answer = match get("grant_type") {
        Some("authorization_code") => by_code(&mut world, &client_id, form, now)?,
        Some("refresh_token") => by_refresh(&mut world, &client_id, get("refresh_token"), now)?,
        other => {
            let description = format!("Invalid grant_type: {}", other.unwrap_or_default());
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &description,
            ));
        }
    };
    Ok(axum::Json(answer).into_response())
}

/// `grant_type=authorization_code`: the code, once, with its redirect URI and PKCE verifier.
fn by_code(
    world: &mut World,
    client_id: &str,
    form: &HashMap<String, String>,
    now: Timestamp,
) -> Result<Value, Refusal> {
    let get = |k: &str| form.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let missing = |k: &str| {
        let description = format!("Missing required parameter: {k}");
        refuse(StatusCode::BAD_REQUEST, "invalid_request", &description)
    };
    let code = get("code").ok_or_else(|| missing("code"))?;
    let c = world
        .codes
        .get_mut(code)
        .filter(|c| !c.used && c.expires_at > now && c.client_id == client_id)
        .ok_or_else(|| bad_grant("Bad Request"))?;
    let redirect_uri = get("redirect_uri").ok_or_else(|| missing("redirect_uri"))?;
    if c.redirect_uri != redirect_uri {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "redirect_uri_mismatch",
            "Bad Request",
        ));
    }
    if let Some((challenge, method)) = &c.challenge {
        let verifier = get("code_verifier").ok_or_else(|| {
            refuse(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing code verifier.",
            )
        })?;
        if !crate::pkce_matches(challenge, method, verifier) {
            return Err(bad_grant("Bad Request"));
        }
    }
    c.used = true;
    let (channel, scopes, refresh) = (c.channel_id.clone(), c.scopes.clone(), c.refresh);
    if !world
        .grants
        .contains_key(&(client_id.to_owned(), channel.clone()))
    {
        return Err(bad_grant("Token has been expired or revoked."));
    }
    let mut answer = access(world, client_id, &channel, &scopes, now);
    if refresh {
        answer["refresh_token"] = json!(issue(world, Kind::Refresh, client_id, &channel, &scopes, now));
    }
    Ok(answer)
}

/// `grant_type=refresh_token`: a new access token; the refresh token stays as it is (Google's do
/// not rotate) [official].
fn by_refresh(
    world: &mut World,
    client_id: &str,
    presented: Option<&str>,
    now: Timestamp,
) -> Result<Value, Refusal> {
    let presented = presented.ok_or_else(|| {
        refuse(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: refresh_token",
        )
    })?;
    let t = world
        .tokens
        .get(presented)
        .filter(|t| t.kind == Kind::Refresh && t.client_id == client_id && t.live(now))
        .filter(|t| {
            world
                .grants
                .contains_key(&(t.client_id.clone(), t.channel_id.clone()))
        })
        .cloned()
        .ok_or_else(|| bad_grant("Token has been expired or revoked."))?;
    Ok(access(world, client_id, &t.channel_id, &t.scopes, now))
}

/// Issues a token of `kind` on the grant: an access token for [`ACCESS_TTL`], a refresh token until
/// revoked (or [`TESTING_REFRESH_TTL`] while the app is in Testing).
fn issue(
    world: &mut World,
    kind: Kind,
    client_id: &str,
    channel: &str,
    scopes: &[String],
    now: Timestamp,
) -> String {
    let (token, expires_at) = match kind {
        Kind::Access => (random_token("ya29.", 150), Some(now + ACCESS_TTL)),
        Kind::Refresh => (
            random_token("1//", 100),
            world.testing.then(|| now + TESTING_REFRESH_TTL),
        ),
    };
    let t = Token {
        channel_id: channel.to_owned(),
        client_id: client_id.to_owned(),
        scopes: scopes.to_vec(),
        kind,
        issued_at: now,
        expires_at,
    };
    world.add_token(token.clone(), t, now);
    token
}

/// What both grants answer: a new access token and the grant's scopes.
fn access(world: &mut World, client_id: &str, channel: &str, scopes: &[String], now: Timestamp) -> Value {
    let token = issue(world, Kind::Access, client_id, channel, scopes, now);
    json!({"access_token": token, "expires_in": ACCESS_TTL.as_secs(), "scope": scopes.join(" "),
        "token_type": "Bearer"})
}

/// `POST /oauth2.googleapis.com/revoke` with `token` in the form (or the query): the whole grant
/// the token belongs to ends, every access and refresh token of its client and channel with it.
pub(crate) async fn revoke(
    State(sb): State<Sandbox>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (query, form) = (
        self::form(query.unwrap_or_default().as_bytes()),
        self::form(&body),
    );
    journal(&sb, "/revoke", &query, &form, &headers);
    let token = form
        .get("token")
        .or_else(|| query.get("token"))
        .cloned()
        .unwrap_or_default();
    let perform = async { end_grant(&sb, &token) };
    crate::faults::faulted(&sb, UseCase::Youtube, "POST", "revoke", perform).await
}

fn end_grant(sb: &Sandbox, token: &str) -> Response {
    let now = sb.clock().now();
    let mut world = sb.youtube();
    let Some(t) = world.tokens.get(token).filter(|t| t.live(now)).cloned() else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_token",
            "Token expired or revoked",
        );
    };
    world.grants.remove(&(t.client_id.clone(), t.channel_id.clone()));
    world
        .tokens
        .retain(|_, o| !(o.client_id == t.client_id && o.channel_id == t.channel_id));
    axum::Json(json!({})).into_response()
}

/// The channel and scopes behind an access token, while it lasts and its grant stands.
pub(crate) fn validate(world: &World, token: &str, now: Timestamp) -> Option<Token> {
    let t = world
        .tokens
        .get(token)
        .filter(|t| t.kind == Kind::Access && t.live(now))?;
    world
        .grants
        .contains_key(&(t.client_id.clone(), t.channel_id.clone()))
        .then(|| t.clone())
}
