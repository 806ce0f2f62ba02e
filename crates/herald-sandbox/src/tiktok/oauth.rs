//! TikTok's Login Kit v2: the consent page on `www.tiktok.com/v2/auth/authorize/` (a checkbox per
//! scope; it serves the Business app too, whose codes only its own token endpoint takes), single-use codes bound to a PKCE challenge when one was sent, the token endpoint on
//! `open.tiktokapis.com/v2/oauth/token/` (the app's key and secret in the form; a flat answer, or
//! `{"error","error_description","log_id"}`), two-hour access tokens and 180-day refresh tokens
//! that rotate on every use (the one used stops working), revocation of the person's
//! authorization, and the bearer check.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::world::{Code, Kind, Token, World};
use super::{BUSINESS_SCOPES, SCOPES};
use crate::html::page;
use crate::{Sandbox, random_token};

/// Access tokens: two hours; refresh tokens: 180 days, rotated on every refresh [official, the
/// token management guide as updated November 2026; older pages say a day and a year].
pub(crate) const ACCESS_TTL: SignedDuration = SignedDuration::from_hours(2);
const REFRESH_TTL: SignedDuration = SignedDuration::from_hours(180 * 24);
/// Authorization codes: ten minutes [3p], once.
const CODE_TTL: SignedDuration = SignedDuration::from_mins(10);

/// TikTok's OAuth error: `{"error","error_description","log_id"}` [official].
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description, "log_id": log_id()})),
    )
        .into_response()
}

/// A request id as TikTok writes them: a time stamp and random hex.
pub(crate) fn log_id() -> String {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).expect("randomness");
    format!("2026{}", hex::encode(b).to_uppercase())
}

fn error_page(message: &str) -> Response {
    crate::html::error_page(StatusCode::BAD_REQUEST, "Something went wrong", message)
}

/// One of the two apps the consent page serves: Login Kit's, or the API for Business's.
struct ConsentApp {
    app: crate::App,
    scopes: &'static [(&'static str, &'static str)],
    business: bool,
}

fn consent_app(sb: &Sandbox, client_key: &str) -> Option<ConsentApp> {
    let config = sb.config();
    [
        (config.tiktok_app, SCOPES, false),
        (config.tiktok_business_app, BUSINESS_SCOPES, true),
    ]
    .into_iter()
    .find(|(app, _, _)| app.client_id == client_key)
    .map(|(app, scopes, business)| ConsentApp {
        app,
        scopes,
        business,
    })
}

/// The app asked for and the requested scopes, or what is wrong with the request.
fn check_request(sb: &Sandbox, q: &HashMap<String, String>) -> Result<(ConsentApp, Vec<String>), String> {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
    let Some(consent) = consent_app(sb, get("client_key")) else {
        return Err("client_key: the app is not registered".into());
    };
    let app = &consent.app;
    if !app.redirect_uris.iter().any(|u| u == get("redirect_uri")) {
        return Err("redirect_uri: it is not one the app registered".into());
    }
    if get("response_type") != "code" {
        return Err("response_type: must be code".into());
    }
    if !get("code_challenge").is_empty() && get("code_challenge_method") != "S256" {
        return Err("code_challenge_method: must be S256".into());
    }
    let scopes: Vec<String> = get("scope")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if scopes.is_empty() {
        return Err("scope: at least one is needed".into());
    }
    if let Some(bad) = scopes
        .iter()
        .find(|s| !consent.scopes.iter().any(|(n, _)| n == *s))
    {
        return Err(format!("scope: {bad} is not one this app may ask for"));
    }
    Ok((consent, scopes))
}

const CARRIED: &[&str] = &[
    "client_key",
    "redirect_uri",
    "response_type",
    "state",
    "code_challenge",
    "code_challenge_method",
];

/// `GET /www.tiktok.com/v2/auth/authorize/`: the consent form.
pub(crate) async fn authorize_page(
    State(sb): State<Sandbox>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (consent, scopes) = match check_request(&sb, &q) {
        Ok(s) => s,
        Err(m) => return error_page(&m),
    };
    let hidden = crate::html::hidden(&q, CARRIED);
    let accounts = crate::html::account_radios(sb.tiktok().creators.iter().map(|c| {
        let kind = if c.private { "private" } else { "public" };
        (
            c.open_id.clone(),
            format!("@{} ({}, {kind} account)", c.username, c.display_name),
        )
    }));
    let perms = crate::html::scope_boxes(&scopes, consent.scopes);
    let what = match consent.business {
        true => "your TikTok account's comments (TikTok for Business)",
        false => "your TikTok account",
    };
    let body = format!(
        "<h1>Herald wants to access {what}</h1>\
         <form method=\"post\" action=\"/www.tiktok.com/v2/auth/authorize/\">{hidden}\
         <fieldset><legend>Continue as</legend>{accounts}</fieldset>\
         <fieldset><legend>Herald will be able to (untick any you do not want)</legend>{perms}</fieldset>\
         <button type=\"submit\" name=\"decision\" value=\"allow\">Authorize</button> \
         <button type=\"submit\" name=\"decision\" value=\"deny\">Cancel</button></form>"
    );
    Html(page("TikTok: authorize app", &body)).into_response()
}

/// `POST /www.tiktok.com/v2/auth/authorize/`: the person's decision; the code comes back with the
/// scopes granted.
pub(crate) async fn authorize_decision(State(sb): State<Sandbox>, body: axum::body::Bytes) -> Response {
    let (mut q, granted, deny) = crate::html::decision(&body);
    let scope = if deny || granted.is_empty() {
        "user.info.basic".into()
    } else {
        granted.join(",")
    };
    q.insert("scope".into(), scope);
    let consent = match check_request(&sb, &q) {
        Ok((consent, _)) => consent,
        Err(m) => return error_page(&m),
    };
    let redirect_uri = q["redirect_uri"].clone();
    let state = q.get("state").cloned().unwrap_or_default();
    if deny {
        return crate::html::redirect_to(
            &redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", "The user denied the request"),
                ("state", &state),
            ],
            "",
        );
    }
    let chosen = q.get("account").cloned().unwrap_or_default();
    let now = sb.clock().now();
    let client_key = consent.app.client_id;
    let mut world = sb.tiktok();
    // Each app knows the account by its own open_id.
    let Some(open_id) = world.creator(&chosen).map(|c| match consent.business {
        true => c.business_id.clone(),
        false => c.open_id.clone(),
    }) else {
        return error_page("Choose an account to continue as");
    };
    world
        .grants
        .insert((client_key.clone(), open_id.clone()), granted.clone());
    let code = random_token("", 64);
    world.add_code(
        code.clone(),
        Code {
            client_key,
            redirect_uri: redirect_uri.clone(),
            open_id,
            scopes: granted.clone(),
            challenge: q.get("code_challenge").filter(|c| !c.is_empty()).cloned(),
            expires_at: now + CODE_TTL,
            used: false,
        },
        now,
    );
    drop(world);
    crate::html::redirect_to(
        &redirect_uri,
        &[("code", &code), ("scopes", &granted.join(",")), ("state", &state)],
        "",
    )
}

/// The app's key, when the form carries the app's key and secret.
fn client_ok(sb: &Sandbox, form: &HashMap<String, String>) -> Option<String> {
    let app = sb.config().tiktok_app;
    let get = |k: &str| form.get(k).map(String::as_str);
    (get("client_key") == Some(app.client_id.as_str())
        && get("client_secret") == Some(app.client_secret.as_str()))
    .then_some(app.client_id)
}

fn bad_client() -> Response {
    oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "Client key or secret is incorrect.",
    )
}

/// `POST /open.tiktokapis.com/v2/oauth/token/`.
pub(crate) fn token(sb: &Sandbox, headers: &HeaderMap, form: &HashMap<String, String>) -> Response {
    let form_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    if !form_body {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request parameters are malformed.",
        );
    }
    let Some(client_key) = client_ok(sb, form) else {
        return bad_client();
    };
    let get = |k: &str| form.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let now = sb.clock().now();
    let mut world = sb.tiktok();
    let (open_id, scopes) = match get("grant_type") {
        Some("authorization_code") => {
            let (Some(code), Some(redirect)) = (get("code"), get("redirect_uri")) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "The request parameters are malformed.",
                );
            };
            let Some(c) = world
                .codes
                .get_mut(code)
                .filter(|c| !c.used && c.expires_at > now && c.client_key == client_key)
            else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Authorization code is expired.",
                );
            };
            if c.redirect_uri != redirect {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Redirect_uri is not matched with the uri when requesting code.",
                );
            }
            let verified = match (&c.challenge, get("code_verifier")) {
                (None, _) => true,
                (Some(challenge), Some(v)) => crate::pkce_matches(challenge, "S256", v),
                (Some(_), None) => false,
            };
            if !verified {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Code verifier or code challenge is invalid.",
                );
            }
            c.used = true;
            (c.open_id.clone(), c.scopes.clone())
        }
        Some("refresh_token") => {
            let used = get("refresh_token").unwrap_or_default();
            let Some(t) = world
                .tokens
                .get(used)
                .filter(|t| t.kind == Kind::Refresh && t.client_key == client_key && t.expires_at > now)
                .cloned()
            else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Refresh token is invalid or expired.",
                );
            };
            // Rotation: the refresh token used stops working [official].
            world.tokens.remove(used);
            (t.open_id, t.scopes)
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "The grant type is not supported.",
            );
        }
    };
    if !world.grants.contains_key(&(client_key.clone(), open_id.clone())) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The user has deauthorized the app.",
        );
    }
    let issue = |world: &mut World, kind, ttl: SignedDuration| {
        let token = random_token(if kind == Kind::Access { "act." } else { "rft." }, 72);
        let t = Token {
            open_id: open_id.clone(),
            client_key: client_key.clone(),
            scopes: scopes.clone(),
            kind,
            expires_at: now + ttl,
        };
        world.add_token(token.clone(), t, now);
        token
    };
    let access = issue(&mut world, Kind::Access, ACCESS_TTL);
    let refresh = issue(&mut world, Kind::Refresh, REFRESH_TTL);
    axum::Json(json!({
        "access_token": access, "expires_in": ACCESS_TTL.as_secs(), "open_id": open_id,
        "refresh_expires_in": REFRESH_TTL.as_secs(), "refresh_token": refresh,
        "scope": scopes.join(","), "token_type": "Bearer",
    }))
    .into_response()
}

/// `POST /open.tiktokapis.com/v2/oauth/revoke/`: the person's authorization of the app ends, and
/// every token of it with it.
pub(crate) fn revoke(sb: &Sandbox, form: &HashMap<String, String>) -> Response {
    let Some(client_key) = client_ok(sb, form) else {
        return bad_client();
    };
    let mut world = sb.tiktok();
    let Some(t) = form.get("token").and_then(|t| world.tokens.get(t)).cloned() else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The access token is invalid or not found in the request.",
        );
    };
    if t.client_key == client_key {
        world.grants.remove(&(client_key.clone(), t.open_id.clone()));
        world
            .tokens
            .retain(|_, o| !(o.open_id == t.open_id && o.client_key == client_key));
    }
    axum::Json(json!({})).into_response()
}

/// The account and scopes behind a bearer token, while its grant stands.
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
        .filter(|t| t.kind == Kind::Access && t.expires_at > now)?;
    world
        .grants
        .contains_key(&(t.client_key.clone(), t.open_id.clone()))
        .then(|| t.clone())
}
