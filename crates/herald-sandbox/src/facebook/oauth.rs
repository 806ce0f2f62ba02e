//! Facebook Login: the dialog (permissions and Pages), the code exchange with PKCE, the long-lived
//! exchange (`fb_exchange_token`), and token validation.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::SCOPES;
use super::world::{Code, Grant, Token, TokenKind, World};
use crate::graph::{GraphError, Params};
use crate::html::{escape, page};
use crate::{Sandbox, random_token};

fn error_page(message: &str) -> Response {
    crate::html::error_page(StatusCode::BAD_REQUEST, "Sorry, something went wrong.", message)
}

/// Checks the dialog's parameters; returns the requested scopes or what is wrong.
fn check_request(sb: &Sandbox, q: &HashMap<String, String>) -> Result<Vec<String>, String> {
    let app = sb.config().facebook_app;
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
    if get("client_id") != app.client_id {
        return Err("Invalid App ID: the provided app ID does not look like a valid app ID.".into());
    }
    if !app.redirect_uris.iter().any(|u| u == get("redirect_uri")) {
        return Err("URL Blocked: This redirect failed because the redirect URI is not whitelisted in the app's Client OAuth Settings.".into());
    }
    if get("response_type") != "code" {
        return Err("Invalid response_type: Herald's sandbox emulates the code flow only".into());
    }
    match (q.get("code_challenge"), get("code_challenge_method")) {
        (None, _) | (Some(_), "S256") => {}
        (Some(_), m) => return Err(format!("Invalid code_challenge_method '{m}': use S256")),
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
        return Err(format!(
            "Invalid Scopes: {}. This message is only shown to developers.",
            unknown.join(", ")
        ));
    }
    Ok(scopes)
}

/// `GET /www.facebook.com/{version}/dialog/oauth`: who logs in, which permissions, which Pages.
pub(crate) async fn dialog(State(sb): State<Sandbox>, Query(q): Query<HashMap<String, String>>) -> Response {
    let scopes = match check_request(&sb, &q) {
        Ok(s) => s,
        Err(m) => return error_page(&m),
    };
    let hidden: String = [
        "client_id",
        "redirect_uri",
        "response_type",
        "state",
        "code_challenge",
        "code_challenge_method",
    ]
    .iter()
    .filter_map(|k| q.get(*k).map(|v| (k, v)))
    .map(|(k, v)| format!("<input type=\"hidden\" name=\"{k}\" value=\"{}\">", escape(v)))
    .collect();
    let world = sb.facebook();
    let users: String = world
        .users
        .iter()
        .enumerate()
        .map(|(i, u)| {
            format!(
                "<label class=\"perm\"><input type=\"radio\" name=\"user\" value=\"{}\"{}> {}</label>",
                u.id,
                if i == 0 { " checked" } else { "" },
                escape(&u.name)
            )
        })
        .collect();
    let pages: String = world
        .pages
        .iter()
        .map(|p| {
            let ig = p.instagram.as_ref().map(|(_, u)| format!(" (Instagram @{})", escape(u))).unwrap_or_default();
            format!(
                "<label class=\"perm\"><input type=\"checkbox\" name=\"page\" value=\"{}\" checked> {}{ig}</label>",
                p.id,
                escape(&p.name)
            )
        })
        .collect();
    drop(world);
    let perms: String = scopes
        .iter()
        .map(|s| {
            let label = SCOPES.iter().find(|(n, _)| n == s).map_or("", |(_, l)| l);
            format!("<label class=\"perm\"><input type=\"checkbox\" name=\"scope\" value=\"{s}\" checked> {label} <code>{s}</code></label>")
        })
        .collect();
    let body = format!(
        "<h1>Herald is requesting access to your Facebook account</h1>\
         <form method=\"post\" action=\"/www.facebook.com/dialog/oauth\">{hidden}\
         <fieldset><legend>Continue as</legend>{users}</fieldset>\
         <fieldset><legend>Choose the Pages this app may use</legend>{pages}</fieldset>\
         <fieldset><legend>Permissions (untick any you do not want to give)</legend>{perms}</fieldset>\
         <button type=\"submit\" name=\"decision\" value=\"allow\">Continue</button> \
         <button type=\"submit\" name=\"decision\" value=\"deny\">Cancel</button></form>"
    );
    Html(page("Log in with Facebook", &body)).into_response()
}

fn redirect_to(uri: &str, params: &[(&str, &str)]) -> Response {
    crate::html::redirect_to(uri, params, "_=_")
}

/// `POST /www.facebook.com/dialog/oauth`: the person's decision.
pub(crate) async fn decision(State(sb): State<Sandbox>, body: axum::body::Bytes) -> Response {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let all = |key: &str| -> Vec<String> {
        pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let mut q: HashMap<String, String> = pairs
        .iter()
        .filter(|(k, _)| k != "scope" && k != "page")
        .cloned()
        .collect();
    let granted = all("scope");
    q.insert("scope".into(), granted.join(","));
    if let Err(m) = check_request(&sb, &q) {
        return error_page(&m);
    }
    let redirect_uri = q["redirect_uri"].clone();
    let state = q.get("state").cloned().unwrap_or_default();
    if q.get("decision").map(String::as_str) != Some("allow") {
        return redirect_to(
            &redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_code", "200"),
                ("error_description", "Permissions error"),
                ("error_reason", "user_denied"),
                ("state", &state),
            ],
        );
    }
    let Some(user_id) = q.get("user").and_then(|u| u.parse::<u64>().ok()) else {
        return error_page("Choose who to continue as");
    };
    let now = sb.clock().now();
    let client_id = sb.config().facebook_app.client_id;
    let mut world = sb.facebook();
    if !world.users.iter().any(|u| u.id == user_id) {
        return error_page("Unknown person");
    }
    let pages: Vec<u64> = all("page")
        .iter()
        .filter_map(|p| p.parse().ok())
        .filter(|p| world.page(*p).is_some_and(|p| p.admin == user_id))
        .collect();
    let declined = SCOPES
        .iter()
        .map(|(n, _)| (*n).to_owned())
        .filter(|n| !granted.contains(n))
        .collect();
    world.grants.insert(
        (client_id.clone(), user_id),
        Grant {
            scopes: granted,
            declined,
            pages,
        },
    );
    let code = random_token("AQ", 96);
    world.add_code(
        code.clone(),
        Code {
            client_id,
            redirect_uri: redirect_uri.clone(),
            user_id,
            challenge: q.get("code_challenge").cloned(),
            expires_at: now + SignedDuration::from_mins(10),
            used: false,
        },
        now,
    );
    drop(world);
    redirect_to(&redirect_uri, &[("code", &code), ("state", &state)])
}

fn issue(
    world: &mut World,
    kind: TokenKind,
    user_id: u64,
    client_id: &str,
    now: Timestamp,
    ttl: Option<SignedDuration>,
) -> (String, Option<i64>) {
    let token = random_token("EAA", 180);
    world.add_token(
        token.clone(),
        Token {
            user_id,
            client_id: client_id.to_owned(),
            kind,
            expires_at: ttl.map(|t| now + t),
        },
        now,
    );
    (token, ttl.map(|t| t.as_secs()))
}

/// `GET graph.facebook.com/{version}/oauth/access_token`: a code (with its PKCE verifier) → a
/// short-lived user token, or `grant_type=fb_exchange_token` → a long-lived (60-day) user token.
pub(crate) fn access_token(sb: &Sandbox, p: &Params) -> Result<Response, GraphError> {
    let app = sb.config().facebook_app;
    if p.require("client_id")? != app.client_id {
        return Err(GraphError::new(
            101,
            "Error validating application. Invalid application ID.",
        ));
    }
    if p.require("client_secret")? != app.client_secret {
        return Err(GraphError::new(1, "Error validating client secret.").subcode(1_349_013));
    }
    let now = sb.clock().now();
    let config = sb.config();
    let short = SignedDuration::try_from(config.short_token_ttl).unwrap_or(SignedDuration::from_hours(1));
    let long = SignedDuration::try_from(config.long_token_ttl).unwrap_or(SignedDuration::from_hours(24 * 60));
    let mut world = sb.facebook();
    let (token, expires_in) = if p.get("grant_type") == Some("fb_exchange_token") {
        let t = validate(&world, p.require("fb_exchange_token")?, now)?.clone();
        if t.kind != TokenKind::ShortLivedUser && t.kind != TokenKind::LongLivedUser {
            return Err(GraphError::param(
                "(#100) Only user access tokens can be exchanged",
            ));
        }
        issue(
            &mut world,
            TokenKind::LongLivedUser,
            t.user_id,
            &t.client_id,
            now,
            Some(long),
        )
    } else {
        let raw = p.require("code")?;
        let redirect_uri = p.require("redirect_uri")?;
        let code = world
            .codes
            .get_mut(raw)
            .ok_or_else(|| GraphError::param("Invalid verification code format.").kind("OAuthException"))?;
        if code.used {
            return Err(GraphError::param("This authorization code has been used.")
                .kind("OAuthException")
                .subcode(36009));
        }
        if code.expires_at < now {
            return Err(GraphError::param("This authorization code has expired.")
                .kind("OAuthException")
                .subcode(36007));
        }
        if code.redirect_uri != redirect_uri {
            return Err(GraphError::param("Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request").kind("OAuthException").subcode(36008));
        }
        if let Some(challenge) = &code.challenge {
            let verifier = p.get("code_verifier").unwrap_or_default();
            use base64::Engine;
            let computed =
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if &computed != challenge {
                return Err(GraphError::param("Invalid code verifier").kind("OAuthException"));
            }
        }
        code.used = true;
        let (user, client) = (code.user_id, code.client_id.clone());
        issue(
            &mut world,
            TokenKind::ShortLivedUser,
            user,
            &client,
            now,
            Some(short),
        )
    };
    Ok(
        axum::Json(json!({"access_token": token, "token_type": "bearer", "expires_in": expires_in}))
            .into_response(),
    )
}

/// Checks a token: known, its grant still there, not expired. Page tokens also need the Page granted.
pub(crate) fn validate<'w>(world: &'w World, token: &str, now: Timestamp) -> Result<&'w Token, GraphError> {
    let t = world
        .tokens
        .get(token)
        .ok_or_else(|| GraphError::new(190, "Invalid OAuth access token - Cannot parse access token"))?;
    let Some(grant) = world.grants.get(&(t.client_id.clone(), t.user_id)) else {
        return Err(GraphError::new(
            190,
            "Error validating access token: The user has not authorized application.",
        )
        .subcode(458));
    };
    if let Some(at) = t.expires_at.filter(|at| *at <= now) {
        return Err(GraphError::new(
            190,
            format!("Error validating access token: Session has expired on {at}. The current time is {now}."),
        )
        .subcode(463));
    }
    if let TokenKind::Page(page) = t.kind
        && !grant.pages.contains(&page)
    {
        return Err(GraphError::new(
            190,
            "Error validating access token: The session is invalid because the user is no longer an admin of the Page.",
        )
        .subcode(492));
    }
    Ok(t)
}

/// Page tokens for the Pages a grant covers: they never expire when issued from a long-lived user
/// token, and live as long as the user token otherwise.
pub(crate) fn page_token(world: &mut World, user: &Token, page: u64, now: Timestamp) -> String {
    let ttl = match user.kind {
        TokenKind::LongLivedUser => None,
        _ => user.expires_at.map(|at| at.duration_since(now)),
    };
    issue(
        world,
        TokenKind::Page(page),
        user.user_id,
        &user.client_id.clone(),
        now,
        ttl,
    )
    .0
}
