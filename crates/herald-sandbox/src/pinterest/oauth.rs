//! Pinterest OAuth: the consent page on `www.pinterest.com/oauth/`, and the token endpoint on
//! `api.pinterest.com/v5/oauth/token` with HTTP Basic client authentication: codes for 30-day
//! access tokens and 60-day continuous refresh tokens, which rotate (a used one is refused), and
//! revocation.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::SCOPES;
use super::api::PinError;
use super::world::{Code, Token, TokenKind, World};
use crate::html::page;
use crate::{Sandbox, random_token};

/// Access tokens: 30 days (`expires_in` 2592000).
pub(crate) const ACCESS_TTL: SignedDuration = SignedDuration::from_hours(30 * 24);
/// Continuous refresh tokens: 60 days, renewed by each refresh.
pub(crate) const REFRESH_TTL: SignedDuration = SignedDuration::from_hours(60 * 24);
/// How long a code can be exchanged (Pinterest does not document it; the sandbox's choice).
const CODE_TTL: SignedDuration = SignedDuration::from_mins(10);

fn error_page(status: StatusCode, message: &str) -> Response {
    crate::html::error_page(status, "Something went wrong", message)
}

/// Checks client id, exact redirect URI and scopes; returns the requested scopes or what is wrong.
fn check_request(sb: &Sandbox, q: &HashMap<String, String>) -> Result<Vec<String>, String> {
    let app = sb.config().pinterest_app;
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
    if get("client_id") != app.client_id {
        return Err("Invalid client_id: no app has this id".into());
    }
    if !app.redirect_uris.iter().any(|u| u == get("redirect_uri")) {
        return Err("The redirect_uri does not match any redirect URI registered for this app".into());
    }
    if get("response_type") != "code" {
        return Err("Invalid response_type: only 'code' is supported".into());
    }
    let scopes: Vec<String> = get("scope")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if scopes.is_empty() {
        return Err("Invalid scope: at least one scope is required".into());
    }
    let unknown: Vec<&str> = scopes
        .iter()
        .map(String::as_str)
        .filter(|s| !SCOPES.iter().any(|(n, _)| n == s))
        .collect();
    if !unknown.is_empty() {
        return Err(format!("Invalid scope: {}", unknown.join(", ")));
    }
    Ok(scopes)
}

/// `GET /www.pinterest.com/oauth/`: the consent form, an account to log in as and one checkbox per
/// requested scope.
pub(crate) async fn authorize_page(
    State(sb): State<Sandbox>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let scopes = match check_request(&sb, &q) {
        Ok(s) => s,
        Err(m) => return error_page(StatusCode::BAD_REQUEST, &m),
    };
    let hidden = crate::html::hidden(&q, &["client_id", "redirect_uri", "response_type", "state"]);
    let accounts = crate::html::account_radios(
        sb.pinterest()
            .accounts
            .iter()
            .map(|a| (a.id.clone(), format!("{} ({})", a.username, a.business_name))),
    );
    let perms = crate::html::scope_boxes(&scopes, SCOPES);
    let body = format!(
        "<h1>Give this app access to your Pinterest account?</h1>\
         <form method=\"post\" action=\"/www.pinterest.com/oauth/\">{hidden}\
         <fieldset><legend>Log in as</legend>{accounts}</fieldset>\
         <fieldset><legend>Access (untick any you do not want to give)</legend>{perms}</fieldset>\
         <button type=\"submit\" name=\"decision\" value=\"allow\">Give access</button> \
         <button type=\"submit\" name=\"decision\" value=\"deny\">Cancel</button></form>"
    );
    Html(page("Pinterest: give access", &body)).into_response()
}

/// `POST /www.pinterest.com/oauth/`: the person's decision.
pub(crate) async fn authorize_decision(State(sb): State<Sandbox>, body: axum::body::Bytes) -> Response {
    let (mut q, granted, deny) = crate::html::decision(&body);
    // A refusal grants nothing, but still goes back only to a registered redirect URI.
    let scope = if deny {
        "user_accounts:read".into()
    } else {
        granted.join(",")
    };
    q.insert("scope".into(), scope);
    if let Err(m) = check_request(&sb, &q) {
        return error_page(StatusCode::BAD_REQUEST, &m);
    }
    let redirect_uri = q["redirect_uri"].clone();
    let state = q.get("state").cloned().unwrap_or_default();
    if deny {
        return crate::html::redirect_to(
            &redirect_uri,
            &[("error", "access_denied"), ("state", &state)],
            "",
        );
    }
    let now = sb.clock().now();
    let client_id = sb.config().pinterest_app.client_id;
    let account = q.get("account").cloned().unwrap_or_default();
    let mut world = sb.pinterest();
    if world.account(&account).is_none() {
        return error_page(StatusCode::BAD_REQUEST, "Choose an account to log in as");
    }
    let code = random_token("", 40);
    world
        .grants
        .insert((client_id.clone(), account.clone()), granted.clone());
    world.add_code(
        code.clone(),
        Code {
            client_id,
            redirect_uri: redirect_uri.clone(),
            account,
            scopes: granted,
            expires_at: now + CODE_TTL,
            used: false,
        },
        now,
    );
    drop(world);
    crate::html::redirect_to(&redirect_uri, &[("code", &code), ("state", &state)], "")
}

/// The app's credentials from `Authorization: Basic base64(client_id:client_secret)`.
fn client_auth(sb: &Sandbox, headers: &HeaderMap) -> Result<String, PinError> {
    use base64::Engine;
    let app = sb.config().pinterest_app;
    let creds = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok());
    match creds.as_deref().and_then(|c| c.split_once(':')) {
        Some((id, secret)) if id == app.client_id && secret == app.client_secret => Ok(app.client_id),
        _ => Err(PinError::auth()),
    }
}

/// A grant the token endpoint cannot use (a code or refresh token unknown, used, rotated,
/// expired, or for another app).
fn bad_grant() -> PinError {
    PinError::new(
        StatusCode::UNAUTHORIZED,
        283,
        "The authorization grant is invalid",
    )
}

/// `POST /api.pinterest.com/v5/oauth/token`.
pub(crate) fn token(
    sb: &Sandbox,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<Response, PinError> {
    let client_id = client_auth(sb, headers)?;
    let get = |k: &str| form.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let now = sb.clock().now();
    let mut world = sb.pinterest();
    let (account, scopes, kind) = match get("grant_type") {
        Some("authorization_code") => {
            let (Some(code), Some(redirect_uri)) = (get("code"), get("redirect_uri")) else {
                return Err(PinError::invalid("code and redirect_uri are required"));
            };
            let c = world.codes.get_mut(code).ok_or_else(bad_grant)?;
            if c.used || c.expires_at <= now || c.client_id != client_id || c.redirect_uri != redirect_uri {
                return Err(bad_grant());
            }
            c.used = true;
            (c.account.clone(), c.scopes.clone(), "authorization_code")
        }
        Some("refresh_token") => {
            let presented =
                get("refresh_token").ok_or_else(|| PinError::invalid("refresh_token is required"))?;
            let t = world
                .tokens
                .get(presented)
                .filter(|t| t.kind == TokenKind::Refresh && t.client_id == client_id && t.expires_at > now)
                .cloned()
                .ok_or_else(bad_grant)?;
            // Rotation: the refresh token used is gone.
            world.tokens.remove(presented);
            (t.account, t.scopes, "refresh_token")
        }
        Some(other) => return Err(PinError::invalid(&format!("Unsupported grant_type: {other}"))),
        None => return Err(PinError::invalid("grant_type is required")),
    };
    if !world.grants.contains_key(&(client_id.clone(), account.clone())) {
        return Err(bad_grant());
    }
    let issue = |world: &mut World, prefix: &str, kind: TokenKind, ttl: SignedDuration| {
        let token = random_token(prefix, 60);
        let t = Token {
            account: account.clone(),
            client_id: client_id.clone(),
            scopes: scopes.clone(),
            kind,
            issued_at: now,
            expires_at: now + ttl,
        };
        world.add_token(token.clone(), t, now);
        token
    };
    let access = issue(&mut world, "pina_", TokenKind::Access, ACCESS_TTL);
    let refresh = issue(&mut world, "pinr_", TokenKind::Refresh, REFRESH_TTL);
    let refresh_at: Timestamp = now + REFRESH_TTL;
    Ok(axum::Json(json!({
        "access_token": access,
        "token_type": "bearer",
        "expires_in": ACCESS_TTL.as_secs(),
        "scope": scopes.join(","),
        "response_type": kind,
        "refresh_token": refresh,
        "refresh_token_expires_in": REFRESH_TTL.as_secs(),
        "refresh_token_expires_at": refresh_at.as_second(),
    }))
    .into_response())
}

/// `POST /api.pinterest.com/v5/oauth/token/revoke`: "Only tokens issued for system users are
/// currently supported" (the spec), so a person's token is refused with the spec's 403, code 29;
/// an unknown token or a missing one is a bad request. Nothing is revoked.
pub(crate) fn revoke(
    sb: &Sandbox,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<Response, PinError> {
    client_auth(sb, headers)?;
    form.get("token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| PinError::invalid("token is required"))?;
    Err(PinError::new(
        StatusCode::FORBIDDEN,
        29,
        "You are not permitted to access that resource.",
    ))
}

/// The account and scopes behind a bearer token, or Pinterest's 401.
pub(crate) fn validate(world: &World, headers: &HeaderMap, now: Timestamp) -> Result<Token, PinError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(PinError::auth)?;
    let t = world
        .tokens
        .get(token)
        .filter(|t| t.kind == TokenKind::Access && t.expires_at > now)
        .ok_or_else(PinError::auth)?;
    if !world
        .grants
        .contains_key(&(t.client_id.clone(), t.account.clone()))
    {
        return Err(PinError::auth());
    }
    Ok(t.clone())
}
