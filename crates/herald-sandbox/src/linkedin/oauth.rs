//! LinkedIn's three-legged OAuth on `www.linkedin.com/oauth/v2`: the consent page (all or
//! nothing: LinkedIn lets a member allow or cancel, not untick scopes), 30-minute single-use codes,
//! the token endpoint (the client's id and secret in the form) giving 60-day access tokens, and
//! refresh tokens only to an app LinkedIn approved for them (`/_sandbox/linkedin/app`): a year
//! from the consent, the same token on every refresh, never extended, and no access token
//! outlives it. Revocation (of the one token named: LinkedIn does not say that revoking a refresh
//! token ends the access tokens it made, so the sandbox assumes it does not), and the bearer check.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::SCOPES;
use super::world::{Code, Token};
use crate::html::page;
use crate::{Sandbox, oauth_error, random_token};

/// Access tokens: 60 days (`expires_in: 5184000`) [official].
pub(crate) const ACCESS_TTL: SignedDuration = SignedDuration::from_hours(60 * 24);
/// Authorization codes: 30 minutes [official].
const CODE_TTL: SignedDuration = SignedDuration::from_mins(30);
/// Refresh tokens: 365 days from the consent, not extended by use [official].
const REFRESH_TTL: SignedDuration = SignedDuration::from_hours(365 * 24);

fn error_page(message: &str) -> Response {
    crate::html::error_page(StatusCode::BAD_REQUEST, "Bummer, something went wrong.", message)
}

/// What is wrong with an authorization request that cannot be sent back to the app.
fn check_client(sb: &Sandbox, q: &HashMap<String, String>) -> Result<(), String> {
    let app = sb.config().linkedin_app;
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
    if get("client_id") != app.client_id {
        return Err("The passed in client_id is invalid".into());
    }
    if !app.redirect_uris.iter().any(|u| u == get("redirect_uri")) {
        return Err("The redirect_uri does not match the registered value".into());
    }
    if get("response_type") != "code" {
        return Err("The response_type must be code".into());
    }
    Ok(())
}

/// The requested scopes, or the error LinkedIn sends back to the app for one it does not know.
fn scopes(q: &HashMap<String, String>) -> Result<Vec<String>, (String, String)> {
    let requested: Vec<String> = q
        .get("scope")
        .map(String::as_str)
        .unwrap_or_default()
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(bad) = requested.iter().find(|s| !SCOPES.iter().any(|(n, _)| n == *s)) {
        return Err((
            "unauthorized_scope_error".into(),
            format!("Scope \"{bad}\" is not authorized for your application"),
        ));
    }
    Ok(requested)
}

const CARRIED: &[&str] = &["client_id", "redirect_uri", "response_type", "state", "scope"];

/// `GET /www.linkedin.com/oauth/v2/authorization`: the consent form.
pub(crate) async fn authorize_page(
    State(sb): State<Sandbox>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(m) = check_client(&sb, &q) {
        return error_page(&m);
    }
    let state = q.get("state").cloned().unwrap_or_default();
    let requested = match scopes(&q) {
        Ok(s) => s,
        Err((error, description)) => {
            return crate::html::redirect_to(
                &q["redirect_uri"],
                &[
                    ("error", &error),
                    ("error_description", &description),
                    ("state", &state),
                ],
                "",
            );
        }
    };
    let hidden = crate::html::hidden(&q, CARRIED);
    let members = crate::html::account_radios(
        sb.linkedin()
            .members
            .iter()
            .map(|m| (m.id.clone(), m.name.clone())),
    );
    let perms: String = requested
        .iter()
        .map(|s| {
            let label = SCOPES.iter().find(|(n, _)| n == s).map_or("", |(_, l)| l);
            format!(
                "<li>{} <code>{}</code></li>",
                crate::html::escape(label),
                crate::html::escape(s)
            )
        })
        .collect();
    let body = format!(
        "<h1>Herald would like to access your LinkedIn account</h1>\
         <form method=\"post\" action=\"/www.linkedin.com/oauth/v2/authorization\">{hidden}\
         <fieldset><legend>Sign in as</legend>{members}</fieldset>\
         <p>This will allow Herald to:</p><ul>{perms}</ul>\
         <button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button> \
         <button type=\"submit\" name=\"decision\" value=\"deny\">Cancel</button></form>"
    );
    Html(page("LinkedIn: authorize app", &body)).into_response()
}

/// `POST /www.linkedin.com/oauth/v2/authorization`: the member's decision.
pub(crate) async fn authorize_decision(State(sb): State<Sandbox>, body: axum::body::Bytes) -> Response {
    let (mut q, scope, deny) = crate::html::decision(&body);
    q.insert("scope".into(), scope.join(" "));
    if let Err(m) = check_client(&sb, &q) {
        return error_page(&m);
    }
    let redirect_uri = q["redirect_uri"].clone();
    let state = q.get("state").cloned().unwrap_or_default();
    let granted = match scopes(&q) {
        Ok(s) => s,
        Err(_) => return error_page("The request's scopes changed on the way"),
    };
    if deny {
        return crate::html::redirect_to(
            &redirect_uri,
            &[
                ("error", "user_cancelled_authorize"),
                ("error_description", "The user cancelled the authorization"),
                ("state", &state),
            ],
            "",
        );
    }
    let member = q.get("account").cloned().unwrap_or_default();
    let now = sb.clock().now();
    let client_id = sb.config().linkedin_app.client_id;
    let mut world = sb.linkedin();
    if world.member(&member).is_none() {
        return error_page("Choose a member to sign in as");
    }
    world
        .grants
        .insert((client_id.clone(), member.clone()), granted.clone());
    let code = random_token("AQ", 120);
    world.add_code(
        code.clone(),
        Code {
            client_id,
            redirect_uri: redirect_uri.clone(),
            member,
            scopes: granted,
            expires_at: now + CODE_TTL,
            used: false,
        },
        now,
    );
    drop(world);
    crate::html::redirect_to(&redirect_uri, &[("code", &code), ("state", &state)], "")
}

/// The app's credentials, from the form (LinkedIn's documented way).
fn client_ok(sb: &Sandbox, form: &HashMap<String, String>) -> Option<String> {
    let app = sb.config().linkedin_app;
    let get = |k: &str| form.get(k).map(String::as_str);
    (get("client_id") == Some(app.client_id.as_str())
        && get("client_secret") == Some(app.client_secret.as_str()))
    .then_some(app.client_id)
}

/// `POST /www.linkedin.com/oauth/v2/accessToken`.
pub(crate) async fn access_token(
    State(sb): State<Sandbox>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    record(&sb, "/oauth/v2/accessToken", &form, &headers);
    let Some(client_id) = client_ok(&sb, &form) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        );
    };
    let get = |k: &str| form.get(k).map(String::as_str).filter(|v| !v.is_empty());
    match get("grant_type") {
        Some("authorization_code") => {}
        Some("refresh_token") => return refreshed(&sb, &client_id, get("refresh_token")),
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "A required parameter \"grant_type\" is missing or invalid",
            );
        }
    }
    let (Some(code), Some(redirect)) = (get("code"), get("redirect_uri")) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "A required parameter \"code\" or \"redirect_uri\" is missing",
        );
    };
    let now = sb.clock().now();
    let mut world = sb.linkedin();
    let usable = world
        .codes
        .get_mut(code)
        .filter(|c| !c.used && c.expires_at > now && c.client_id == client_id && c.redirect_uri == redirect);
    let Some(c) = usable else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Unable to retrieve access token: appid/redirect uri/code verifier does not match authorization code. Or authorization code expired. Or external member binding exists",
        );
    };
    c.used = true;
    let (member, scopes) = (c.member.clone(), c.scopes.clone());
    let grant = Token {
        member,
        client_id,
        scopes: scopes.clone(),
        expires_at: now + REFRESH_TTL,
    };
    let refresh = world.refresh_enabled.then(|| {
        let refresh = random_token("AQX", 160);
        world.add_refresh_token(refresh.clone(), grant.clone(), now);
        refresh
    });
    let token = random_token("AQV", 160);
    world.add_token(
        token.clone(),
        Token {
            expires_at: now + ACCESS_TTL,
            ..grant
        },
        now,
    );
    // LinkedIn lists the granted scopes separated by commas.
    let mut body = json!({
        "access_token": token, "expires_in": ACCESS_TTL.as_secs(), "scope": scopes.join(","),
        "token_type": "Bearer",
    });
    if let Some(refresh) = refresh {
        body["refresh_token"] = json!(refresh);
        body["refresh_token_expires_in"] = json!(REFRESH_TTL.as_secs());
    }
    axum::Json(body).into_response()
}

/// `grant_type=refresh_token`: a new access token from an approved app's refresh token, which
/// stays the same and keeps its end; the access token ends with it at the latest.
fn refreshed(sb: &Sandbox, client_id: &str, refresh: Option<&str>) -> Response {
    let now = sb.clock().now();
    let mut world = sb.linkedin();
    if !world.refresh_enabled {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Refresh tokens are not enabled for this application",
        );
    }
    let usable = refresh.and_then(|r| world.refresh_tokens.get(r)).filter(|t| {
        t.client_id == client_id
            && t.expires_at > now
            && world
                .grants
                .contains_key(&(t.client_id.clone(), t.member.clone()))
    });
    let (Some(refresh), Some(grant)) = (refresh, usable.cloned()) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The provided refresh token is invalid, expired or revoked",
        );
    };
    let token = random_token("AQV", 160);
    let expires_at = (now + ACCESS_TTL).min(grant.expires_at);
    world.add_token(
        token.clone(),
        Token {
            expires_at,
            ..grant.clone()
        },
        now,
    );
    axum::Json(json!({
        "access_token": token, "expires_in": expires_at.duration_since(now).as_secs(),
        "refresh_token": refresh, "refresh_token_expires_in": grant.expires_at.duration_since(now).as_secs(),
        "scope": grant.scopes.join(","), "token_type": "Bearer",
    }))
    .into_response()
}

/// `POST /www.linkedin.com/oauth/v2/revoke` (RFC 7009): the token stops working.
pub(crate) async fn revoke(
    State(sb): State<Sandbox>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    record(&sb, "/oauth/v2/revoke", &form, &headers);
    let Some(client_id) = client_ok(&sb, &form) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        );
    };
    let Some(token) = form.get("token").filter(|t| !t.is_empty()) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "A required parameter \"token\" is missing",
        );
    };
    let mut world = sb.linkedin();
    if world.tokens.get(token).is_some_and(|t| t.client_id == client_id) {
        world.tokens.remove(token);
    }
    if world
        .refresh_tokens
        .get(token)
        .is_some_and(|t| t.client_id == client_id)
    {
        world.refresh_tokens.remove(token);
    }
    StatusCode::OK.into_response()
}

/// Journals a token-endpoint call with its secrets redacted.
fn record(sb: &Sandbox, path: &str, form: &HashMap<String, String>, headers: &HeaderMap) {
    let body = crate::graph::redacted_form(form, str::to_owned);
    crate::graph::record_rest(
        sb,
        "www.linkedin.com",
        &axum::http::Method::POST,
        path.to_owned(),
        &Default::default(),
        Some(body),
        headers,
    );
}

/// The member and scopes behind a bearer token.
pub(crate) fn validate(sb: &Sandbox, headers: &HeaderMap, now: Timestamp) -> Option<Token> {
    let token = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?
        .trim();
    let world = sb.linkedin();
    let t = world.tokens.get(token).filter(|t| t.expires_at > now)?;
    world
        .grants
        .contains_key(&(t.client_id.clone(), t.member.clone()))
        .then(|| t.clone())
}
