//! Instagram Login: the consent page, the code exchange, and long-lived token exchange and refresh.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use jiff::SignedDuration;
use serde_json::json;

use super::SCOPES;
use super::world::{Code, Token, TokenKind, World};
use crate::graph::{GraphError, Params};
use crate::html::page;
use crate::{Sandbox, random_token};

const BASIC: &str = "instagram_business_basic";

fn error_page(status: StatusCode, message: &str) -> Response {
    crate::html::error_page(status, "Sorry, this page isn't available", message)
}

/// Checks client id, exact redirect URI and scopes; returns the requested scopes or what is wrong.
fn check_request(sb: &Sandbox, q: &HashMap<String, String>) -> Result<Vec<String>, String> {
    let app = sb.config().instagram_app;
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
    if get("client_id") != app.client_id {
        return Err(String::from("Invalid platform app"));
    }
    if !app.redirect_uris.iter().any(|u| u == get("redirect_uri")) {
        return Err(String::from(
            "Invalid redirect_uri: the redirect URI must exactly match one configured for the app",
        ));
    }
    if get("response_type") != "code" {
        return Err(String::from("Invalid response_type: only 'code' is supported"));
    }
    let scopes: Vec<String> = get("scope")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let unknown: Vec<&str> = scopes
        .iter()
        .map(String::as_str)
        .filter(|s| !SCOPES.iter().any(|(n, _)| n == s))
        .collect();
    if !unknown.is_empty() {
        return Err(String::from(&format!("Invalid Scopes: {}", unknown.join(", "))));
    }
    if !scopes.iter().any(|s| s == BASIC) {
        return Err(String::from(
            "Invalid Scopes: instagram_business_basic is required",
        ));
    }
    Ok(scopes)
}

/// `GET /www.instagram.com/oauth/authorize`: the consent form, one checkbox per requested permission.
pub(crate) async fn authorize_page(
    State(sb): State<Sandbox>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let scopes = match check_request(&sb, &q) {
        Ok(s) => s,
        Err(m) => return error_page(StatusCode::BAD_REQUEST, &m),
    };
    let hidden = crate::html::hidden(&q, &["client_id", "redirect_uri", "response_type", "state"]);
    let world = sb.instagram();
    let accounts = crate::html::account_radios(
        world
            .accounts
            .iter()
            .map(|a| (a.user_id.to_string(), format!("@{} ({})", a.username, a.name))),
    );
    drop(world);
    let perms = scopes
        .iter()
        .map(|s| {
            let label = SCOPES.iter().find(|(n, _)| n == s).map_or("", |(_, l)| l);
            if s == BASIC {
                format!("<label class=\"perm\"><input type=\"checkbox\" checked disabled> {label} <code>{s}</code> (required)</label><input type=\"hidden\" name=\"scope\" value=\"{s}\">")
            } else {
                format!("<label class=\"perm\"><input type=\"checkbox\" name=\"scope\" value=\"{s}\" checked> {label} <code>{s}</code></label>")
            }
        })
        .collect::<String>();
    let body = format!(
        "<h1>Allow this app to access your Instagram account?</h1>\
         <form method=\"post\" action=\"/www.instagram.com/oauth/authorize\">{hidden}\
         <fieldset><legend>Log in as</legend>{accounts}</fieldset>\
         <fieldset><legend>Permissions (untick any you do not want to give)</legend>{perms}</fieldset>\
         <button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button> \
         <button type=\"submit\" name=\"decision\" value=\"deny\">Cancel</button></form>"
    );
    Html(page("Instagram: allow access", &body)).into_response()
}

fn redirect_to(uri: &str, params: &[(&str, &str)]) -> Response {
    crate::html::redirect_to(uri, params, "_")
}

/// `POST /www.instagram.com/oauth/authorize`: the person's decision.
pub(crate) async fn authorize_decision(State(sb): State<Sandbox>, body: axum::body::Bytes) -> Response {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let q: HashMap<String, String> = pairs.iter().filter(|(k, _)| k != "scope").cloned().collect();
    let requested_from_form: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v.clone())
        .collect();
    let mut q_for_check = q.clone();
    q_for_check.insert("scope".into(), requested_from_form.join(","));
    if let Err(m) = check_request(&sb, &q_for_check) {
        return error_page(StatusCode::BAD_REQUEST, &m);
    }
    let redirect_uri = q["redirect_uri"].clone();
    let state = q.get("state").cloned().unwrap_or_default();
    if q.get("decision").map(String::as_str) != Some("allow") {
        return redirect_to(
            &redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_reason", "user_denied"),
                ("error_description", "The user denied your request."),
                ("state", &state),
            ],
        );
    }
    let user_id: u64 = match q.get("account").and_then(|a| a.parse().ok()) {
        Some(id) => id,
        None => return error_page(StatusCode::BAD_REQUEST, "Choose an account to log in as"),
    };
    let now = sb.clock().now();
    let client_id = sb.config().instagram_app.client_id;
    let mut world = sb.instagram();
    if world.account(user_id).is_none() {
        return error_page(StatusCode::BAD_REQUEST, "Unknown account");
    }
    let code = random_token("AQ", 64);
    world
        .grants
        .insert((client_id.clone(), user_id), requested_from_form.clone());
    world.add_code(
        code.clone(),
        Code {
            client_id,
            redirect_uri: redirect_uri.clone(),
            user_id,
            scopes: requested_from_form,
            expires_at: now + SignedDuration::from_hours(1),
            used: false,
        },
        now,
    );
    drop(world);
    redirect_to(&redirect_uri, &[("code", &code), ("state", &state)])
}

/// The error shape of `api.instagram.com/oauth/access_token`.
fn token_endpoint_error(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error_type": "OAuthException", "code": 400, "error_message": message})),
    )
        .into_response()
}

/// `POST /api.instagram.com/oauth/access_token`: authorization code → short-lived token.
pub(crate) async fn access_token(
    State(sb): State<Sandbox>,
    method: axum::http::Method,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if method != axum::http::Method::POST {
        return token_endpoint_error("Unsupported method: use POST");
    }
    for k in ["client_id", "client_secret", "grant_type", "redirect_uri", "code"] {
        if f.get(k).is_none_or(String::is_empty) {
            return token_endpoint_error(&format!("Missing required field {k}"));
        }
    }
    let app = sb.config().instagram_app;
    if f["client_id"] != app.client_id {
        return token_endpoint_error("Invalid platform app");
    }
    if f["client_secret"] != app.client_secret {
        return token_endpoint_error("Error validating client secret.");
    }
    if f["grant_type"] != "authorization_code" {
        return token_endpoint_error("Unsupported grant_type");
    }
    let now = sb.clock().now();
    let ttl = SignedDuration::try_from(sb.config().short_token_ttl).unwrap_or(SignedDuration::from_hours(1));
    let mut world = sb.instagram();
    let Some(code) = world.codes.get_mut(&f["code"]) else {
        return token_endpoint_error("Invalid authorization code");
    };
    if code.used {
        return token_endpoint_error("This authorization code has been used");
    }
    if code.expires_at < now {
        return token_endpoint_error("This authorization code has expired");
    }
    if code.redirect_uri != f["redirect_uri"] || code.client_id != f["client_id"] {
        return token_endpoint_error(
            "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request",
        );
    }
    code.used = true;
    let code = code.clone();
    let token = random_token("IGAA", 120);
    world.add_token(
        token.clone(),
        Token {
            user_id: code.user_id,
            client_id: code.client_id,
            scopes: code.scopes.clone(),
            kind: TokenKind::ShortLived,
            issued_at: now,
            expires_at: now + ttl,
        },
        now,
    );
    axum::Json(json!({"access_token": token, "user_id": code.user_id, "permissions": code.scopes.join(",")}))
        .into_response()
}

/// Checks a token: known, not expired, and its grant not removed by the person.
pub(crate) fn validate<'w>(
    world: &'w World,
    token: &str,
    now: jiff::Timestamp,
) -> Result<&'w Token, GraphError> {
    let t = world
        .tokens
        .get(token)
        .ok_or_else(|| GraphError::new(190, "Invalid OAuth access token - Cannot parse access token"))?;
    if !world.grants.contains_key(&(t.client_id.clone(), t.user_id)) {
        return Err(GraphError::new(
            190,
            "Error validating access token: The user has not authorized application.",
        )
        .subcode(458));
    }
    if t.expires_at <= now {
        return Err(GraphError::new(
            190,
            format!(
                "Error validating access token: Session has expired on {}. The current time is {}.",
                t.expires_at, now
            ),
        )
        .subcode(463));
    }
    Ok(t)
}

fn issue_long_lived(sb: &Sandbox, world: &mut World, from: &Token) -> Response {
    let now = sb.clock().now();
    let ttl =
        SignedDuration::try_from(sb.config().long_token_ttl).unwrap_or(SignedDuration::from_hours(24 * 60));
    let token = random_token("IGAA", 160);
    world.add_token(
        token.clone(),
        Token {
            kind: TokenKind::LongLived,
            issued_at: now,
            expires_at: now + ttl,
            ..from.clone()
        },
        now,
    );
    axum::Json(json!({"access_token": token, "token_type": "bearer", "expires_in": ttl.as_secs()}))
        .into_response()
}

/// `GET graph.instagram.com/access_token?grant_type=ig_exchange_token`: short-lived → long-lived.
pub(crate) fn exchange(sb: &Sandbox, p: &Params) -> Result<Response, GraphError> {
    if p.require("grant_type")? != "ig_exchange_token" {
        return Err(GraphError::param("(#100) grant_type must be ig_exchange_token"));
    }
    if p.require("client_secret")? != sb.config().instagram_app.client_secret {
        return Err(GraphError::new(101, "Error validating client secret."));
    }
    let mut world = sb.instagram();
    let t = validate(&world, p.token()?, sb.clock().now())?.clone();
    if t.kind != TokenKind::ShortLived {
        return Err(GraphError::param(
            "(#100) Only short-lived access tokens can be exchanged",
        ));
    }
    Ok(issue_long_lived(sb, &mut world, &t))
}

/// `GET graph.instagram.com/refresh_access_token?grant_type=ig_refresh_token`: a long-lived token that is
/// at least 24 hours old and not expired → a new 60-day token.
pub(crate) fn refresh(sb: &Sandbox, p: &Params) -> Result<Response, GraphError> {
    if p.require("grant_type")? != "ig_refresh_token" {
        return Err(GraphError::param("(#100) grant_type must be ig_refresh_token"));
    }
    let now = sb.clock().now();
    let mut world = sb.instagram();
    let t = validate(&world, p.token()?, now)?.clone();
    if t.kind != TokenKind::LongLived {
        return Err(GraphError::param(
            "(#100) Only long-lived access tokens can be refreshed",
        ));
    }
    if now.duration_since(t.issued_at) < SignedDuration::from_hours(24) {
        return Err(GraphError::param(
            "(#100) The access token can only be refreshed when it is at least 24 hours old",
        ));
    }
    Ok(issue_long_lived(sb, &mut world, &t))
}
