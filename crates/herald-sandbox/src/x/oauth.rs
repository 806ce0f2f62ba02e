//! X's OAuth 2.0: the consent page on `x.com/i/oauth2/authorize` (and `twitter.com`), with PKCE
//! required (S256 or plain) and 30-second codes; the token endpoint on `api.x.com/2/oauth2/token`
//! (a confidential client authenticates with HTTP Basic) giving two-hour access tokens and, with
//! `offline.access`, refresh tokens that rotate on every use; and revocation.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::SCOPES;
use super::world::{Code, Token, TokenKind, World};
use crate::html::page;
use crate::{Sandbox, oauth_error, random_token};

/// Access tokens: two hours [official].
pub(crate) const ACCESS_TTL: SignedDuration = SignedDuration::from_hours(2);
/// Refresh tokens: X documents no lifetime; the sandbox gives six months.
const REFRESH_TTL: SignedDuration = SignedDuration::from_hours(183 * 24);
/// Authorization codes: 30 seconds [official].
const CODE_TTL: SignedDuration = SignedDuration::from_secs(30);

fn error_page(message: &str) -> Response {
    crate::html::error_page(
        StatusCode::BAD_REQUEST,
        "Something went wrong. You weren't able to give access to the App.",
        message,
    )
}

fn check_request(sb: &Sandbox, q: &HashMap<String, String>) -> Result<Vec<String>, String> {
    let app = sb.config().x_app;
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
    if get("client_id") != app.client_id {
        return Err("Unknown client_id".into());
    }
    if !app.redirect_uris.iter().any(|u| u == get("redirect_uri")) {
        return Err("The redirect_uri is not one of the app's callback URLs".into());
    }
    if get("response_type") != "code" {
        return Err("response_type must be code".into());
    }
    if get("code_challenge").is_empty() || !matches!(get("code_challenge_method"), "S256" | "plain") {
        return Err("PKCE is required: code_challenge and code_challenge_method (S256 or plain)".into());
    }
    let scopes: Vec<String> = get("scope")
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(bad) = scopes.iter().find(|s| !SCOPES.iter().any(|(n, _)| n == *s)) {
        return Err(format!("Invalid scope: {bad}"));
    }
    if scopes.is_empty() {
        return Err("scope is required".into());
    }
    Ok(scopes)
}

const CARRIED: &[&str] = &[
    "client_id",
    "redirect_uri",
    "response_type",
    "state",
    "code_challenge",
    "code_challenge_method",
];

/// `GET /x.com/i/oauth2/authorize`: the consent form.
pub(crate) async fn authorize_page(
    State(sb): State<Sandbox>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let scopes = match check_request(&sb, &q) {
        Ok(s) => s,
        Err(m) => return error_page(&m),
    };
    let hidden = crate::html::hidden(&q, CARRIED);
    let accounts = crate::html::account_radios(
        sb.x()
            .users
            .iter()
            .map(|u| (u.id.clone(), format!("@{} ({})", u.username, u.name))),
    );
    let perms = crate::html::scope_boxes(&scopes, SCOPES);
    let body = format!(
        "<h1>Authorize this app to access your X account?</h1>\
         <form method=\"post\" action=\"/x.com/i/oauth2/authorize\">{hidden}\
         <fieldset><legend>Log in as</legend>{accounts}</fieldset>\
         <fieldset><legend>It will be able to (untick any you do not want)</legend>{perms}</fieldset>\
         <button type=\"submit\" name=\"decision\" value=\"allow\">Authorize app</button> \
         <button type=\"submit\" name=\"decision\" value=\"deny\">Cancel</button></form>"
    );
    Html(page("X: authorize app", &body)).into_response()
}

/// `POST /x.com/i/oauth2/authorize`: the person's decision.
pub(crate) async fn authorize_decision(State(sb): State<Sandbox>, body: axum::body::Bytes) -> Response {
    let (mut q, granted, deny) = crate::html::decision(&body);
    let scope = if deny {
        "users.read".into()
    } else {
        granted.join(" ")
    };
    q.insert("scope".into(), scope);
    if let Err(m) = check_request(&sb, &q) {
        return error_page(&m);
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
    let user = q.get("account").cloned().unwrap_or_default();
    let now = sb.clock().now();
    let client_id = sb.config().x_app.client_id;
    let mut world = sb.x();
    if world.user(&user).is_none() {
        return error_page("Choose an account to log in as");
    }
    world
        .grants
        .insert((client_id.clone(), user.clone()), granted.clone());
    let code = random_token("", 64);
    world.add_code(
        code.clone(),
        Code {
            client_id,
            redirect_uri: redirect_uri.clone(),
            user,
            scopes: granted,
            challenge: q["code_challenge"].clone(),
            method: q["code_challenge_method"].clone(),
            expires_at: now + CODE_TTL,
            used: false,
        },
        now,
    );
    drop(world);
    crate::html::redirect_to(&redirect_uri, &[("state", &state), ("code", &code)], "")
}

fn invalid_token() -> Response {
    oauth_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "Value passed for the token was invalid.",
    )
}

/// The confidential client's credentials from `Authorization: Basic`.
fn client_auth(sb: &Sandbox, headers: &HeaderMap) -> Option<String> {
    use base64::Engine;
    let app = sb.config().x_app;
    let creds = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(creds.trim())
        .ok()?;
    let (id, secret) = String::from_utf8(raw)
        .ok()?
        .split_once(':')
        .map(|(a, b)| (a.to_owned(), b.to_owned()))?;
    (id == app.client_id && secret == app.client_secret).then_some(id)
}

/// `POST /api.x.com/2/oauth2/token`.
pub(crate) fn token(sb: &Sandbox, headers: &HeaderMap, form: &HashMap<String, String>) -> Response {
    let Some(client_id) = client_auth(sb, headers) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized_client",
            "Missing valid authorization header",
        );
    };
    let get = |k: &str| form.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let now = sb.clock().now();
    let mut world = sb.x();
    let (user, scopes) = match get("grant_type") {
        Some("authorization_code") => {
            let (Some(code), Some(redirect), Some(verifier)) =
                (get("code"), get("redirect_uri"), get("code_verifier"))
            else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Missing required parameter [code, redirect_uri or code_verifier].",
                );
            };
            let Some(c) = world.codes.get_mut(code) else {
                return invalid_token();
            };
            if c.used
                || c.expires_at <= now
                || c.client_id != client_id
                || c.redirect_uri != redirect
                || !crate::pkce_matches(&c.challenge, &c.method, verifier)
            {
                return invalid_token();
            }
            c.used = true;
            (c.user.clone(), c.scopes.clone())
        }
        Some("refresh_token") => {
            let Some(presented) = get("refresh_token") else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Missing required parameter [refresh_token].",
                );
            };
            let Some(t) = world
                .tokens
                .get(presented)
                .filter(|t| t.kind == TokenKind::Refresh && t.client_id == client_id && t.expires_at > now)
                .cloned()
            else {
                return invalid_token();
            };
            // Rotation: the refresh token used is gone.
            world.tokens.remove(presented);
            (t.user, t.scopes)
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Unsupported grant_type.",
            );
        }
    };
    if !world.grants.contains_key(&(client_id.clone(), user.clone())) {
        return invalid_token();
    }
    let issue = |world: &mut World, prefix: &str, kind, ttl: SignedDuration| {
        let token = random_token(prefix, 80);
        let t = Token {
            user: user.clone(),
            client_id: client_id.clone(),
            scopes: scopes.clone(),
            kind,
            expires_at: now + ttl,
        };
        world.add_token(token.clone(), t, now);
        token
    };
    let access = issue(&mut world, "", TokenKind::Access, ACCESS_TTL);
    let mut body = json!({
        "token_type": "bearer", "expires_in": ACCESS_TTL.as_secs(), "access_token": access,
        "scope": scopes.join(" "),
    });
    if scopes.iter().any(|s| s == "offline.access") {
        body["refresh_token"] = json!(issue(&mut world, "", TokenKind::Refresh, REFRESH_TTL));
    }
    axum::Json(body).into_response()
}

/// `POST /api.x.com/2/oauth2/revoke`: the token stops working; `{"revoked": true}`.
pub(crate) fn revoke(sb: &Sandbox, headers: &HeaderMap, form: &HashMap<String, String>) -> Response {
    let Some(client_id) = client_auth(sb, headers) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized_client",
            "Missing valid authorization header",
        );
    };
    let Some(token) = form.get("token").filter(|t| !t.is_empty()) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter [token].",
        );
    };
    let mut world = sb.x();
    if world.tokens.get(token).is_some_and(|t| t.client_id == client_id) {
        world.tokens.remove(token);
    }
    axum::Json(json!({"revoked": true})).into_response()
}

/// The user and scopes behind a bearer token.
pub(crate) fn validate(world: &World, headers: &HeaderMap, now: Timestamp) -> Option<Token> {
    let token = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?
        .trim();
    let t = world
        .tokens
        .get(token)
        .filter(|t| t.kind == TokenKind::Access && t.expires_at > now)?;
    world
        .grants
        .contains_key(&(t.client_id.clone(), t.user.clone()))
        .then(|| t.clone())
}
