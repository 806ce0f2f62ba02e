//! Snap's OAuth 2.0 for the Marketing and Public Profile APIs [official S8]: the consent page on
//! `accounts.snapchat.com/login/oauth2/authorize` (a checkbox per scope; the person picks no
//! profile: the grant covers every Public Profile the user manages), single-use ten-minute codes
//! bound to the client and redirect URI, the token endpoint `login/oauth2/access_token` (the
//! client's credentials in the form [3p×8], or by HTTP Basic [assumption]), access tokens of an
//! hour, refresh tokens that rotate on every use (the used one stops working, after an optional
//! grace) [3p: C1, C8; assumption: the old one's end], RFC 6749 errors [assumption], Login Kit's
//! revocation path [3p: C6], and the bearer check of the API.

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::SCOPES;
use super::world::{Code, Kind, Token, USER, World};
use crate::html::page;
use crate::meter::UseCase;
use crate::{Sandbox, oauth_error, random_token};

/// Access tokens: an hour [3p×many: `expires_in` 3600; older material says 1800].
const ACCESS_TTL: SignedDuration = SignedDuration::from_secs(3600);
/// Authorization codes: ten minutes, once [assumption].
const CODE_TTL: SignedDuration = SignedDuration::from_mins(10);
const HOST: &str = "accounts.snapchat.com";

/// The request's parameters the consent form carries to the decision (the scopes are its boxes).
const CARRIED: &[&str] = &[
    "client_id",
    "redirect_uri",
    "response_type",
    "state",
    "code_challenge",
    "code_challenge_method",
];

/// A refusal, boxed (a response is large and most answers are not refusals).
type Refusal = Box<Response>;

fn refuse(status: StatusCode, error: &str, description: &str) -> Refusal {
    Box::new(oauth_error(status, error, description))
}

fn page_error(message: &str) -> Refusal {
    Box::new(crate::html::error_page(
        StatusCode::BAD_REQUEST,
        "Something went wrong",
        message,
    ))
}

/// The client and the redirect URI: an error page (never a redirect) when either is wrong.
fn check_client(sb: &Sandbox, q: &HashMap<String, String>) -> Result<(), Refusal> {
    let app = sb.config().snapchat_app;
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
    if get("client_id") != app.client_id {
        return Err(page_error("Invalid client_id: no OAuth app has this id."));
    }
    if !app.redirect_uris.iter().any(|u| u == get("redirect_uri")) {
        return Err(page_error(
            "Invalid redirect_uri: it does not match the OAuth app's redirect URI.",
        ));
    }
    Ok(())
}

/// The redirect back to the app with `params` and the `state` it sent.
fn back(q: &HashMap<String, String>, params: &[(&str, &str)]) -> Response {
    let mut all: Vec<(&str, &str)> = params.to_vec();
    if let Some(state) = q.get("state").filter(|s| !s.is_empty()) {
        all.push(("state", state.as_str()));
    }
    let redirect_uri = q.get("redirect_uri").map(String::as_str).unwrap_or_default();
    crate::html::redirect_to(redirect_uri, &all, "")
}

/// The scopes asked for (space-separated [3p]), or the redirect that refuses the request
/// (RFC 6749 §4.1.2.1) [assumption].
fn check_request(q: &HashMap<String, String>, scope: &str) -> Result<Vec<String>, Refusal> {
    if q.get("response_type").map(String::as_str) != Some("code") {
        return Err(Box::new(back(q, &[("error", "unsupported_response_type")])));
    }
    let scopes: Vec<String> = scope.split_whitespace().map(str::to_owned).collect();
    let known = |s: &String| SCOPES.iter().any(|(n, _)| n == s);
    if scopes.is_empty() || !scopes.iter().all(known) {
        return Err(Box::new(back(q, &[("error", "invalid_scope")])));
    }
    Ok(scopes)
}

/// `GET /accounts.snapchat.com/login/oauth2/authorize`: the consent form. Unknown parameters
/// (`code_challenge` and the like) are carried, not refused.
pub(crate) async fn consent_page(
    State(sb): State<Sandbox>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let scope = q.get("scope").cloned().unwrap_or_default();
    let scopes = match check_client(&sb, &q).and_then(|()| check_request(&q, &scope)) {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    let world = sb.snapchat();
    let Some(user) = world.user(USER) else {
        return *page_error("No Snapchat account is logged in.");
    };
    let escape = crate::html::escape;
    let profiles: String = world
        .managed(USER)
        .iter()
        .map(|p| {
            format!(
                "<li>{} (@{})</li>",
                escape(&p.display_name),
                escape(&p.snap_user_name)
            )
        })
        .collect();
    let who = format!("{} ({})", escape(&user.display_name), escape(&user.email));
    drop(world);
    let hidden = crate::html::hidden(&q, CARRIED);
    let perms = crate::html::scope_boxes(&scopes, SCOPES);
    let body = format!(
        "<h1>Herald wants to access your Snapchat Public Profiles</h1>\
         <p>Logged in as {who}.</p>\
         <form method=\"post\" action=\"/accounts.snapchat.com/login/oauth2/authorize\">{hidden}\
         <fieldset><legend>The Public Profiles you manage (Herald gets access to all of them)</legend>\
         <ul>{profiles}</ul></fieldset>\
         <fieldset><legend>Herald will be able to (untick any you do not want)</legend>{perms}</fieldset>\
         <button type=\"submit\" name=\"decision\" value=\"allow\">Continue</button> \
         <button type=\"submit\" name=\"decision\" value=\"deny\">Cancel</button></form>"
    );
    Html(page("Snapchat: authorize app", &body)).into_response()
}

/// `POST /accounts.snapchat.com/login/oauth2/authorize`: the person's decision; the code comes
/// back (with `state`) for the scopes left ticked, or `error=access_denied`.
pub(crate) async fn consent_decision(State(sb): State<Sandbox>, body: Bytes) -> Response {
    let (q, granted, deny) = crate::html::decision(&body);
    if let Err(refused) = check_client(&sb, &q) {
        return *refused;
    }
    if deny || granted.is_empty() {
        return back(&q, &[("error", "access_denied")]);
    }
    let scopes = match check_request(&q, &granted.join(" ")) {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let challenge = Some(get("code_challenge")).filter(|c| !c.is_empty()).map(|c| {
        let method = match get("code_challenge_method").as_str() {
            "S256" => "S256",
            _ => "plain",
        };
        (c, method.to_owned())
    });
    let now = sb.clock().now();
    let code = random_token("", 43);
    let mut world = sb.snapchat();
    world
        .grants
        .insert((get("client_id"), USER.to_owned()), scopes.clone());
    let c = Code {
        client_id: get("client_id"),
        redirect_uri: get("redirect_uri"),
        user_id: USER.to_owned(),
        scopes,
        challenge,
        expires_at: now + CODE_TTL,
        used: false,
    };
    world.add_code(code.clone(), c, now);
    drop(world);
    back(&q, &[("code", &code)])
}

fn form(bytes: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

/// Journals a request to the accounts host, its credentials redacted.
fn journal(sb: &Sandbox, path: &str, form: &HashMap<String, String>, headers: &HeaderMap) {
    let body = (!form.is_empty()).then(|| crate::graph::redacted_form(form, str::to_owned));
    let path = path.to_owned();
    crate::graph::record_rest(sb, HOST, &Method::POST, path, &BTreeMap::new(), body, headers);
}

/// `POST /accounts.snapchat.com/login/oauth2/access_token` (faults apply as the operation `token`).
pub(crate) async fn token(State(sb): State<Sandbox>, headers: HeaderMap, body: Bytes) -> Response {
    let form = form(&body);
    journal(&sb, "/login/oauth2/access_token", &form, &headers);
    let perform = async { exchange(&sb, &headers, &form).unwrap_or_else(|e| *e) };
    crate::faults::faulted(&sb, UseCase::Snapchat, "POST", "token", perform).await
}

/// The app's client id, when the request authenticates as the app: in the form, or by HTTP Basic.
fn client(sb: &Sandbox, headers: &HeaderMap, form: &HashMap<String, String>) -> Result<String, Refusal> {
    use base64::Engine;
    let app = sb.config().snapchat_app;
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok());
    let (id, secret) = match basic.as_deref().and_then(|b| b.split_once(':')) {
        Some((i, s)) => (i.to_owned(), s.to_owned()),
        None => {
            let get = |k: &str| form.get(k).cloned().unwrap_or_default();
            (get("client_id"), get("client_secret"))
        }
    };
    if id != app.client_id || secret != app.client_secret {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        ));
    }
    Ok(id)
}

fn exchange(sb: &Sandbox, headers: &HeaderMap, form: &HashMap<String, String>) -> Result<Response, Refusal> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|c| c.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The body must be application/x-www-form-urlencoded",
        ));
    }
    let client_id = client(sb, headers, form)?;
    let get = |k: &str| form.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let now = sb.clock().now();
    let grace = sb.snapchat().settings.refresh_grace_seconds;
    let mut world = sb.snapchat();
    let (user, scopes) = match get("grant_type") {
        Some("authorization_code") => by_code(&mut world, &client_id, form, now)?,
        Some("refresh_token") => by_refresh(&mut world, &client_id, get("refresh_token"), grace, now)?,
        _ => {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type must be authorization_code or refresh_token",
            ));
        }
    };
    if !world.grants.contains_key(&(client_id.clone(), user.clone())) {
        return Err(bad_grant("The authorization was revoked"));
    }
    Ok(axum::Json(issue(&mut world, &client_id, &user, &scopes, now)).into_response())
}

/// `invalid_grant`: a code or refresh token that is unknown, used, expired or revoked.
fn bad_grant(description: &str) -> Refusal {
    refuse(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

fn missing(k: &str) -> Refusal {
    let description = format!("Missing required parameter: {k}");
    refuse(StatusCode::BAD_REQUEST, "invalid_request", &description)
}

/// `grant_type=authorization_code`: the code, once, with the redirect URI it was issued to; the
/// PKCE verifier checked only when both a challenge and a verifier were sent [assumption: Snap
/// documents no PKCE for this flow].
fn by_code(
    world: &mut World,
    client_id: &str,
    form: &HashMap<String, String>,
    now: Timestamp,
) -> Result<(String, Vec<String>), Refusal> {
    let get = |k: &str| form.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let code = get("code").ok_or_else(|| missing("code"))?;
    let redirect_uri = get("redirect_uri").ok_or_else(|| missing("redirect_uri"))?;
    let c = world
        .codes
        .get_mut(code)
        .filter(|c| !c.used && c.expires_at > now && c.client_id == client_id)
        .ok_or_else(|| bad_grant("Invalid authorization code"))?;
    if c.redirect_uri != redirect_uri {
        return Err(bad_grant("redirect_uri does not match the authorization request"));
    }
    if let (Some((challenge, method)), Some(verifier)) = (&c.challenge, get("code_verifier"))
        && !crate::pkce_matches(challenge, method, verifier)
    {
        return Err(bad_grant("Invalid code_verifier"));
    }
    c.used = true;
    Ok((c.user_id.clone(), c.scopes.clone()))
}

/// `grant_type=refresh_token`: a new pair; the refresh token used stops working (`grace` seconds
/// later, when the control API set a grace) [assumption].
fn by_refresh(
    world: &mut World,
    client_id: &str,
    presented: Option<&str>,
    grace: u64,
    now: Timestamp,
) -> Result<(String, Vec<String>), Refusal> {
    let presented = presented.ok_or_else(|| missing("refresh_token"))?;
    let t = world
        .tokens
        .get_mut(presented)
        .filter(|t| t.kind == Kind::Refresh && t.client_id == client_id && t.live(now))
        .ok_or_else(|| bad_grant("Invalid refresh token"))?;
    let grace = SignedDuration::from_secs(i64::try_from(grace).unwrap_or(0));
    t.expires_at = Some(t.expires_at.unwrap_or(now + grace).min(now + grace));
    Ok((t.user_id.clone(), t.scopes.clone()))
}

/// A new access token and refresh token on the grant, as the token endpoint answers them.
fn issue(world: &mut World, client_id: &str, user: &str, scopes: &[String], now: Timestamp) -> Value {
    let token = |kind, expires_at| Token {
        user_id: user.to_owned(),
        client_id: client_id.to_owned(),
        scopes: scopes.to_vec(),
        kind,
        issued_at: now,
        expires_at,
    };
    let access = random_token("eyJ", 160);
    let refresh = random_token("hCgw", 96);
    world.add_token(access.clone(), token(Kind::Access, Some(now + ACCESS_TTL)), now);
    world.add_token(refresh.clone(), token(Kind::Refresh, None), now);
    json!({"access_token": access, "token_type": "Bearer", "expires_in": ACCESS_TTL.as_secs(),
        "refresh_token": refresh, "scope": scopes.join(" ")})
}

/// `POST /accounts.snapchat.com/accounts/oauth2/revoke` with `token` (Login Kit's path, which
/// clients call best-effort [3p: C6]): the whole grant ends; `200 {}` whatever the token was
/// (RFC 7009).
pub(crate) async fn revoke(State(sb): State<Sandbox>, headers: HeaderMap, body: Bytes) -> Response {
    let form = form(&body);
    journal(&sb, "/accounts/oauth2/revoke", &form, &headers);
    let perform = async {
        let client_id = match client(&sb, &headers, &form) {
            Ok(c) => c,
            Err(refused) => return *refused,
        };
        let mut world = sb.snapchat();
        let grant = form
            .get("token")
            .and_then(|t| world.tokens.get(t))
            .filter(|t| t.client_id == client_id)
            .map(|t| (t.client_id.clone(), t.user_id.clone()));
        if let Some(key) = grant {
            end_grant(&mut world, &key);
        }
        axum::Json(json!({})).into_response()
    };
    crate::faults::faulted(&sb, UseCase::Snapchat, "POST", "revoke", perform).await
}

/// Ends a grant (client id, user id) and every token of it.
pub(super) fn end_grant(world: &mut World, key: &(String, String)) {
    world.grants.remove(key);
    world
        .tokens
        .retain(|_, t| !(t.client_id == key.0 && t.user_id == key.1));
}

/// The user and scopes behind an access token, while it lasts and its grant stands.
pub(crate) fn validate(world: &World, token: &str, now: Timestamp) -> Option<Token> {
    let t = world
        .tokens
        .get(token)
        .filter(|t| t.kind == Kind::Access && t.live(now))?;
    world
        .grants
        .contains_key(&(t.client_id.clone(), t.user_id.clone()))
        .then(|| t.clone())
}
