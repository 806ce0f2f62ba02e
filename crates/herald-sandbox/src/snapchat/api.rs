//! The Public Profile API's front door on `businessapi.snapchat.com` (`/v1/`, the region-prefixed
//! `/us/v1/` that upload paths name, and `/public/v1/`): every request journaled (key, IV and
//! media bytes left out) and counted, then held to Snap's checks (the app's allow-listing, the
//! token, 10 calls a second per token and 20 per app, the scope) and answered in Snap's envelope
//! `{"request_status","request_id",...}`, or refused in its error envelope
//! `{"request_status":"ERROR","request_id","debug_message","display_message","error_code"}`.

use std::collections::BTreeMap;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde_json::{Value, json};

use super::body::Body;
use super::world::{Token, World};
use super::{API_HOST, PROFILE_SCOPE, content, media, oauth, profiles, stats};
use crate::Sandbox;
use crate::meter::{Call, UseCase};

/// Calls a second: per access token, and per app [official S9: "averages" of 10 and 20].
const PER_TOKEN: u32 = 10;
const PER_APP: u32 = 20;

/// A request id as Snap writes them: a long hex string [3p: real ones are not UUIDs].
pub(crate) fn request_id() -> String {
    let mut b = [0u8; 24];
    getrandom::fill(&mut b).expect("randomness");
    hex::encode(b)
}

/// The message Snap shows a person, by status [assumption: worded after the Ads API's].
fn display_message(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "We're sorry, but the data provided in the request is incomplete or incorrect",
        401 => "We're sorry, but you are not authorized to access this resource",
        403 => "We're sorry, but you do not have permission to access this resource",
        404 => "We're sorry, but the requested resource could not be found",
        429 => "We're sorry, but you have made too many requests. Please try again later",
        _ => "We're sorry, but something went wrong. Please try again later",
    }
}

/// An error in Snap's envelope [G: `ApiResponse`; the field names 3p×5].
pub(crate) fn error(status: StatusCode, code: &str, debug_message: &str) -> Response {
    let body = json!({"request_status": "ERROR", "request_id": request_id(),
        "debug_message": debug_message, "display_message": display_message(status), "error_code": code});
    (status, axum::Json(body)).into_response()
}

/// A time as the API writes it: `2026-11-25T09:00:00.000Z`.
pub(super) fn time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S.000Z").to_string()
}

/// A refusal, boxed (a response is large and most answers are not refusals).
pub(super) type Refusal = Box<Response>;

pub(super) fn refusal(status: StatusCode, code: &str, debug_message: &str) -> Refusal {
    Box::new(error(status, code, debug_message))
}

/// A 400 for input Snap would not take [assumption: the code's name].
pub(super) fn invalid(debug_message: &str) -> Refusal {
    refusal(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", debug_message)
}

/// A 404 for a profile, media or asset that does not exist [official S10: 404; assumption: the code].
pub(super) fn not_found(debug_message: &str) -> Refusal {
    refusal(StatusCode::NOT_FOUND, "NOT_FOUND", debug_message)
}

/// The 403 for a profile or organization the user does not manage [3p: C8].
pub(super) fn denied() -> Refusal {
    refusal(
        StatusCode::FORBIDDEN,
        "AUTHORIZATION_PERMISSION_DENIED",
        "The authenticated user does not have permission to access this resource",
    )
}

/// `200` with `fields` in the success envelope [official S11].
pub(super) fn ok(fields: Value) -> Response {
    answer(request_id(), fields)
}

/// `200` in the success envelope with a given request id, and `fields` (which may set
/// `request_status` to `PARTIAL`).
pub(super) fn answer(request_id: String, fields: Value) -> Response {
    let mut body = json!({"request_status": "SUCCESS", "request_id": request_id});
    if let (Some(b), Value::Object(f)) = (body.as_object_mut(), fields) {
        b.extend(f);
    }
    axum::Json(body).into_response()
}

/// One entity in the batch form: `{"sub_request_status":"SUCCESS","<singular>":{...}}`.
pub(super) fn item(singular: &str, entity: Value) -> Value {
    json!({"sub_request_status": "SUCCESS", singular: entity})
}

/// The path after the host: its prefix (`/v1`, `/us/v1`, `/public/v1`) and its segments.
struct Route {
    path: String,
    public: bool,
    segs: Vec<String>,
}

impl Route {
    fn parse(path: &str) -> Option<Self> {
        let rest = path.strip_prefix(&format!("/{API_HOST}"))?;
        let (prefix, tail) = ["/public/v1/", "/us/v1/", "/v1/"]
            .into_iter()
            .find_map(|p| rest.strip_prefix(p).map(|t| (p, t)))?;
        Some(Self {
            path: rest.to_owned(),
            public: prefix == "/public/v1/",
            segs: tail
                .split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        })
    }
}

/// The operation a call is counted and faulted as.
fn operation(segs: &[&str], query: &BTreeMap<String, String>) -> &'static str {
    match segs {
        ["me"] => "me",
        ["me", "organizations"] => "organizations",
        ["organizations", _, "public_profiles"] => "public_profiles",
        ["public_profiles", "my_profile"] => "my_profile",
        ["public_profiles", _] => "public_profile",
        ["public_profiles", _, "media"] => "media",
        ["media", _, "multipart-upload-v2"] => match query.get("action").map(String::as_str) {
            Some("FINALIZE") => "finalize",
            _ => "add",
        },
        ["public_profiles", _, "stories"] => "stories",
        ["public_profiles", _, "saved_stories"] => "saved_stories",
        ["public_profiles", _, "spotlights"] => "spotlights",
        ["public_profiles", _, "spotlights", _] => "spotlight",
        [.., "stats"] => "stats",
        _ => "unknown",
    }
}

/// The access token: `Authorization: Bearer <token>`, or the bare token that Snap's Get Started
/// page shows [official S2, S8].
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let token = match v.split_once(' ') {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim(),
        Some(_) => return None,
        None => v,
    };
    Some(token).filter(|t| !t.is_empty())
}

/// Every request to `businessapi.snapchat.com`.
pub(crate) async fn api(State(sb): State<Sandbox>, request: Request) -> Response {
    let (method, uri, headers) = (
        request.method().clone(),
        request.uri().clone(),
        request.headers().clone(),
    );
    let query: BTreeMap<String, String> =
        url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let body = Body::read(&sb, request).await;
    let Some(route) = Route::parse(uri.path()) else {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "No such endpoint");
    };
    crate::graph::record_rest(
        &sb,
        API_HOST,
        &method,
        route.path.clone(),
        &query,
        body.public(),
        &headers,
    );
    let segs: Vec<&str> = route.segs.iter().map(String::as_str).collect();
    let operation = operation(&segs, &query);
    let now = sb.clock().now();
    let token = bearer(&headers).and_then(|raw| {
        let t = oauth::validate(&sb.snapchat(), raw, now)?;
        Some((crate::control::fingerprint(raw), t))
    });
    // A rate-limit fault throttles the user; the meter's lock is let go before anything else.
    let throttled = sb.meter().admit(Call {
        at: now,
        method: method.to_string(),
        path: route.path.clone(),
        operation: operation.to_owned(),
        use_case: UseCase::Snapchat,
        object: token.as_ref().map(|(_, t)| t.user_id.clone()),
    });
    if throttled.is_some() {
        return rate_limited();
    }
    let perform = async {
        admit(&sb, token.as_ref(), now)
            .and_then(|t| dispatch(&sb, &method, route.public, &segs, &query, &body, &t, now))
            .unwrap_or_else(|e| *e)
    };
    crate::faults::faulted(&sb, UseCase::Snapchat, method.as_str(), operation, perform).await
}

/// 429 [official S9: the status; assumption: the body and its code].
fn rate_limited() -> Response {
    error(
        StatusCode::TOO_MANY_REQUESTS,
        "RATE_LIMITED",
        "Too many requests: lower the rate of requests",
    )
}

/// Snap's checks before any call: the app allow-listed (else a 403 with an empty body), a live
/// token (else 401), the rate (else 429), and the Public Profile API's scope (else 403).
fn admit(sb: &Sandbox, token: Option<&(String, Token)>, now: Timestamp) -> Result<Token, Refusal> {
    let limits = sb.config().limits;
    let mut world = sb.snapchat();
    if !world.settings.allow_listed {
        return Err(Box::new(StatusCode::FORBIDDEN.into_response()));
    }
    let Some((fingerprint, t)) = token else {
        return Err(refusal(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "The access token is missing, invalid or expired",
        ));
    };
    let rates = (
        limits.applied(PER_TOKEN) as usize,
        limits.applied(PER_APP) as usize,
    );
    if !world.admit_rate(fingerprint, &t.client_id, rates, now) {
        return Err(Box::new(rate_limited()));
    }
    if !t.scopes.iter().any(|s| s == PROFILE_SCOPE) {
        return Err(refusal(
            StatusCode::FORBIDDEN,
            "AUTHORIZATION_PERMISSION_DENIED",
            "The access token was not granted the snapchat-profile-api scope",
        ));
    }
    Ok(t.clone())
}

/// Runs the call.
#[allow(clippy::too_many_arguments)]
fn dispatch(
    sb: &Sandbox,
    method: &Method,
    public: bool,
    segs: &[&str],
    query: &BTreeMap<String, String>,
    body: &Body,
    t: &Token,
    now: Timestamp,
) -> Result<Response, Refusal> {
    match (method.as_str(), public, segs) {
        ("GET", true, ["public_profiles", pid]) => profiles::public(sb, pid),
        (_, true, _) => Err(not_found("No such endpoint")),
        ("GET", _, ["me"]) => profiles::me(sb, t),
        ("GET", _, ["me", "organizations"]) => profiles::organizations(sb, t),
        ("GET", _, ["organizations", org, "public_profiles"]) => profiles::of_organization(sb, t, org, query),
        ("GET", _, ["public_profiles", "my_profile"]) => profiles::my_profile(sb, t),
        ("GET", _, ["public_profiles", pid]) => profiles::one(sb, t, pid),
        ("POST", _, ["public_profiles", pid, "media"]) => media::create(sb, t, pid, body.json()?, now),
        ("POST", _, ["media", mid, "multipart-upload-v2"]) => media::upload(sb, t, mid, query, body, now),
        ("POST", _, ["public_profiles", pid, "stories"]) => content::story(sb, t, pid, body.json()?, now),
        ("POST", _, ["public_profiles", pid, "saved_stories"]) => {
            content::saved_stories(sb, t, pid, body.json()?, now)
        }
        ("POST", _, ["public_profiles", pid, "spotlights"]) => {
            content::spotlight(sb, t, pid, body.json()?, now)
        }
        ("GET", _, ["public_profiles", pid, "spotlights", id]) => {
            content::spotlight_status(sb, t, pid, id, now)
        }
        ("GET", _, ["public_profiles", pid, "stats"]) => stats::stats(sb, t, pid, None, query, now),
        (
            "GET",
            _,
            [
                "public_profiles",
                pid,
                kind @ ("stories" | "saved_stories" | "spotlights"),
                id,
                "stats",
            ],
        ) => stats::stats(sb, t, pid, Some((*kind, *id)), query, now),
        _ => Err(not_found("No such endpoint")),
    }
}

/// The profile, when the user manages it: 404 for one that does not exist, 403 for another's.
pub(super) fn managed<'w>(
    world: &'w World,
    t: &Token,
    profile_id: &str,
) -> Result<&'w super::world::Profile, Refusal> {
    let Some(p) = world.profile(profile_id) else {
        return Err(not_found("No such Public Profile"));
    };
    match world.manages(&t.user_id, profile_id) {
        true => Ok(p),
        false => Err(denied()),
    }
}
