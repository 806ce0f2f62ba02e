//! Google's consent page on `accounts.google.com/o/oauth2/v2/auth`: the request checked as Google
//! checks it (an unknown client, a redirect URI the app did not register, a bad parameter or scope
//! each get Google's error page, never a redirect), a radio per channel and a checkbox per scope
//! (Google's granular consent lets the person untick scopes), `prompt=none` answered without a
//! page, and single-use ten-minute codes bound to the client, redirect URI, channel, granted
//! scopes, PKCE challenge and whether a refresh token was asked for.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};

use super::SCOPES;
use super::world::{Code, World};
use crate::Sandbox;
use crate::html::page;

/// Authorization codes: ten minutes [3p], once.
const CODE_TTL: SignedDuration = SignedDuration::from_mins(10);

/// The request's parameters the consent form carries to the decision (the scopes are its boxes).
const CARRIED: &[&str] = &[
    "client_id",
    "redirect_uri",
    "response_type",
    "state",
    "access_type",
    "prompt",
    "code_challenge",
    "code_challenge_method",
    "include_granted_scopes",
];

/// Google's error page (boxed: a response is large and most requests are fine).
type Refusal = Box<Response>;

/// Google's error page: `Error 400: redirect_uri_mismatch` and what is wrong.
fn blocked(status: StatusCode, error: &str, detail: &str) -> Refusal {
    let heading = match status {
        StatusCode::UNAUTHORIZED => "Access blocked: Authorization Error",
        _ => "Access blocked: This app's request is invalid",
    };
    let message = format!("Error {}: {error}. {detail}", status.as_u16());
    Box::new(crate::html::error_page(status, heading, &message))
}

fn invalid(detail: &str) -> Refusal {
    blocked(StatusCode::BAD_REQUEST, "invalid_request", detail)
}

/// An authorization request that passed Google's checks.
struct Request {
    client_id: String,
    redirect_uri: String,
    state: Option<String>,
    scopes: Vec<String>,
    /// `access_type=offline`: the app wants a refresh token.
    offline: bool,
    /// `prompt`'s values: `none`, `consent`, `select_account`.
    prompts: Vec<String>,
    challenge: Option<(String, String)>,
    include_granted: bool,
}

/// The client and the redirect URI, which Google checks before anything else.
fn check_client(sb: &Sandbox, q: &HashMap<String, String>) -> Result<(), Refusal> {
    let app = sb.config().youtube_app;
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
    if get("client_id").is_empty() {
        return Err(invalid("Missing required parameter: client_id"));
    }
    if get("client_id") != app.client_id {
        return Err(blocked(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "The OAuth client was not found.",
        ));
    }
    if !app.redirect_uris.iter().any(|u| u == get("redirect_uri")) {
        let detail = format!(
            "You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 policy. \
             Request details: redirect_uri={}",
            get("redirect_uri")
        );
        return Err(blocked(StatusCode::BAD_REQUEST, "redirect_uri_mismatch", &detail));
    }
    Ok(())
}

/// The rest of the request, with `scope` (space-separated) as the scopes asked for.
fn check_request(q: &HashMap<String, String>, scope: &str) -> Result<Request, Refusal> {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
    if get("response_type") != "code" {
        return Err(invalid("Required parameter is missing or invalid: response_type"));
    }
    let scopes: Vec<String> = scope.split_whitespace().map(str::to_owned).collect();
    if scopes.is_empty() {
        return Err(invalid("Missing required parameter: scope"));
    }
    let unknown: Vec<&str> = scopes
        .iter()
        .map(String::as_str)
        .filter(|s| !SCOPES.iter().any(|(n, _)| n == s))
        .collect();
    if !unknown.is_empty() {
        let detail = format!(
            "Some requested scopes were invalid. {{invalid=[{}]}}",
            unknown.join(", ")
        );
        return Err(blocked(StatusCode::BAD_REQUEST, "invalid_scope", &detail));
    }
    let offline = match get("access_type") {
        "" | "online" => false,
        "offline" => true,
        other => return Err(invalid(&format!("Invalid access_type: {other}"))),
    };
    let prompts: Vec<String> = get("prompt").split_whitespace().map(str::to_owned).collect();
    if let Some(bad) = prompts
        .iter()
        .find(|p| !matches!(p.as_str(), "none" | "consent" | "select_account"))
    {
        return Err(invalid(&format!("Invalid parameter value for prompt: {bad}")));
    }
    if prompts.len() > 1 && prompts.iter().any(|p| p == "none") {
        return Err(invalid(
            "Invalid parameter value for prompt: None cannot be combined with other values",
        ));
    }
    let challenge = match (get("code_challenge"), get("code_challenge_method")) {
        ("", _) => None,
        (c, "" | "plain") => Some((c.to_owned(), "plain".to_owned())),
        (c, "S256") => Some((c.to_owned(), "S256".to_owned())),
        (_, other) => return Err(invalid(&format!("Invalid code_challenge_method: {other}"))),
    };
    Ok(Request {
        client_id: get("client_id").to_owned(),
        redirect_uri: get("redirect_uri").to_owned(),
        state: Some(get("state").to_owned()).filter(|s| !s.is_empty()),
        scopes,
        offline,
        prompts,
        challenge,
        include_granted: get("include_granted_scopes") == "true",
    })
}

/// The redirect back to the app: `state` (when the app sent one) and `params`.
fn back(redirect_uri: &str, state: Option<&str>, params: &[(&str, &str)]) -> Response {
    let mut all: Vec<(&str, &str)> = state.map(|s| ("state", s)).into_iter().collect();
    all.extend_from_slice(params);
    crate::html::redirect_to(redirect_uri, &all, "")
}

/// `GET /accounts.google.com/o/oauth2/v2/auth`: the consent form.
pub(crate) async fn form(State(sb): State<Sandbox>, Query(q): Query<HashMap<String, String>>) -> Response {
    let scope = q.get("scope").cloned().unwrap_or_default();
    let req = match check_client(&sb, &q).and_then(|()| check_request(&q, &scope)) {
        Ok(r) => r,
        Err(refused) => return *refused,
    };
    if req.prompts.iter().any(|p| p == "none") {
        return silent(&sb, &req);
    }
    let hidden = crate::html::hidden(&q, CARRIED);
    let channels = crate::html::account_radios(
        sb.youtube()
            .channels
            .iter()
            .map(|c| (c.id.clone(), format!("{} ({})", c.title, c.custom_url))),
    );
    let perms = crate::html::scope_boxes(&req.scopes, SCOPES);
    let body = format!(
        "<h1>Sign in to Herald with Google</h1>\
         <form method=\"post\" action=\"/accounts.google.com/o/oauth2/v2/auth\">{hidden}\
         <fieldset><legend>Choose a channel</legend>{channels}</fieldset>\
         <fieldset><legend>Herald wants access to your Google Account (untick any you do not want)</legend>\
         {perms}</fieldset>\
         <button type=\"submit\" name=\"decision\" value=\"allow\">Continue</button> \
         <button type=\"submit\" name=\"decision\" value=\"deny\">Cancel</button></form>"
    );
    Html(page("Sign in - Google Accounts", &body)).into_response()
}

/// `POST /accounts.google.com/o/oauth2/v2/auth`: the person's decision; the code comes back with
/// the scopes left ticked.
pub(crate) async fn decision(State(sb): State<Sandbox>, body: Bytes) -> Response {
    let (q, granted, deny) = crate::html::decision(&body);
    if let Err(refused) = check_client(&sb, &q) {
        return *refused;
    }
    let redirect_uri = q.get("redirect_uri").map(String::as_str).unwrap_or_default();
    let state = q.get("state").map(String::as_str).filter(|s| !s.is_empty());
    if deny || granted.is_empty() {
        return back(redirect_uri, state, &[("error", "access_denied")]);
    }
    let req = match check_request(&q, &granted.join(" ")) {
        Ok(r) => r,
        Err(refused) => return *refused,
    };
    let channel = q.get("account").cloned().unwrap_or_default();
    let now = sb.clock().now();
    let mut world = sb.youtube();
    if world.channel(&channel).is_none() {
        let message = "Choose a channel to continue to Herald.";
        return crate::html::error_page(StatusCode::BAD_REQUEST, "Choose an account", message);
    }
    issue(&mut world, &req, &channel, "consent", now)
}

/// `prompt=none`: a code for the first channel whose grant already holds every scope asked for,
/// else `error=consent_required`; Google shows no page either way.
fn silent(sb: &Sandbox, req: &Request) -> Response {
    let now = sb.clock().now();
    let mut world = sb.youtube();
    let granted = world.channels.iter().map(|c| c.id.clone()).find(|id| {
        let grant = world.grants.get(&(req.client_id.clone(), id.clone()));
        grant.is_some_and(|g| req.scopes.iter().all(|s| g.contains(s)))
    });
    match granted {
        Some(channel) => issue(&mut world, req, &channel, "none", now),
        None => back(
            &req.redirect_uri,
            req.state.as_deref(),
            &[("error", "consent_required")],
        ),
    }
}

/// Records the grant (joined to the earlier one with `include_granted_scopes=true`) and issues a
/// code for it; the redirect carrying the code. `prompt` is what Google echoes: `consent` when the
/// page was shown.
fn issue(world: &mut World, req: &Request, channel: &str, prompt: &str, now: Timestamp) -> Response {
    let key = (req.client_id.clone(), channel.to_owned());
    let earlier = world.grants.get(&key).cloned();
    let mut scopes = req.scopes.clone();
    if req.include_granted {
        for s in earlier.iter().flatten() {
            if !scopes.contains(s) {
                scopes.push(s.clone());
            }
        }
    }
    // A refresh token comes with the first offline consent, and again whenever `prompt=consent`
    // asks for consent anew [official].
    let refresh = req.offline && (earlier.is_none() || req.prompts.iter().any(|p| p == "consent"));
    world.grants.insert(key, scopes.clone());
    let code = crate::random_token("4/0A", 72);
    let c = Code {
        client_id: req.client_id.clone(),
        redirect_uri: req.redirect_uri.clone(),
        channel_id: channel.to_owned(),
        scopes: scopes.clone(),
        challenge: req.challenge.clone(),
        refresh,
        expires_at: now + CODE_TTL,
        used: false,
    };
    world.add_code(code.clone(), c, now);
    let scope = scopes.join(" ");
    let params = [
        ("code", code.as_str()),
        ("scope", scope.as_str()),
        ("authuser", "0"),
        ("prompt", prompt),
    ];
    back(&req.redirect_uri, req.state.as_deref(), &params)
}
