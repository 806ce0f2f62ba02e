//! The Data API's front door on both hosts: every request journaled and counted against its
//! channel, then held to Google's checks in Google's order (a query parameter the method does not
//! take, the bearer token, the scopes the method accepts, its required parameter, the day's quota)
//! and answered, or refused in Google's envelope
//! `{"error":{"code","message","errors":[{"message","domain","reason"}],"status"}}`.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde_json::{Value, json};

use super::methods::{Op, STANDARD, Spec, spec_of};
use super::oauth::validate;
use super::world::Token;
use super::{API_HOSTS, SCOPE_PREFIX, comments, lists, thumbnails, upload};
use crate::Sandbox;
use crate::meter::{Call, UseCase};

/// Google's name for an HTTP status, as its envelope's `status` gives it.
fn status_name(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        _ => "INTERNAL",
    }
}

/// An error in Google's envelope.
pub(crate) fn error(status: StatusCode, domain: &str, reason: &str, message: &str) -> Response {
    let body = json!({"error": {"code": status.as_u16(), "message": message,
        "errors": [{"message": message, "domain": domain, "reason": reason}],
        "status": status_name(status)}});
    (status, axum::Json(body)).into_response()
}

/// A refusal, boxed (a response is large and most answers are not refusals).
pub(super) type Refusal = Box<Response>;

pub(super) fn refusal(status: StatusCode, domain: &str, reason: &str, message: &str) -> Refusal {
    Box::new(error(status, domain, reason, message))
}

/// A 400 in the `global` domain.
pub(super) fn bad(reason: &str, message: &str) -> Refusal {
    refusal(StatusCode::BAD_REQUEST, "global", reason, message)
}

/// A list method called without any of the filters it needs.
pub(super) fn no_filter(expected: &str) -> Refusal {
    let message = format!("No filter selected. Expected one of: {expected}");
    refusal(
        StatusCode::BAD_REQUEST,
        "youtube.parameter",
        "missingRequiredParameter",
        &message,
    )
}

pub(super) fn ok(v: Value) -> Response {
    axum::Json(v).into_response()
}

/// A resource (or a list) with its `etag`: a hash of its content, stable while it is unchanged.
pub(super) fn tagged(mut v: Value) -> Value {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(v.to_string().as_bytes());
    v["etag"] = json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..20]));
    v
}

/// A request body read as JSON: `{}` when empty, Google's `parseError` when not JSON.
pub(super) fn json_body(body: &Bytes) -> Result<Value, Refusal> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|_| bad("parseError", "Parse Error"))
}

/// A Data API request as the sandbox reads it.
pub(super) struct Req {
    /// The host it came on.
    pub host: &'static str,
    pub method: Method,
    /// The path without the host: `/youtube/v3/videos`, `/upload/youtube/v3/videos`.
    pub path: String,
    /// The query as sent (the session URI repeats it) and as read.
    pub raw_query: String,
    pub query: BTreeMap<String, String>,
    pub headers: HeaderMap,
}

impl Req {
    fn new(method: Method, uri: &Uri, headers: HeaderMap) -> Self {
        let full = uri.path().trim_start_matches('/');
        let (host, path) = full.split_once('/').unwrap_or((full, ""));
        let host = API_HOSTS.into_iter().find(|h| *h == host).unwrap_or(API_HOSTS[0]);
        let raw_query = uri.query().unwrap_or_default().to_owned();
        let query = url::form_urlencoded::parse(raw_query.as_bytes())
            .into_owned()
            .collect();
        Self {
            host,
            method,
            path: format!("/{path}"),
            raw_query,
            query,
            headers,
        }
    }

    /// A query parameter, when given and not empty.
    pub fn param(&self, k: &str) -> Option<&str> {
        self.query.get(k).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// The resource parts `part` asks for.
    pub fn parts(&self) -> Vec<&str> {
        let part = self.param("part").unwrap_or_default();
        part.split(',').map(str::trim).filter(|p| !p.is_empty()).collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The access token: `Authorization: Bearer`, or the `access_token` parameter.
    fn token(&self) -> Option<&str> {
        let bearer = self
            .header("authorization")
            .and_then(|v| v.strip_prefix("Bearer "));
        bearer.map(str::trim).or_else(|| self.param("access_token"))
    }

    fn is_json(&self) -> bool {
        self.header("content-type")
            .is_some_and(|c| c.starts_with("application/json"))
    }
}

/// Journals a request: its query without the access token, its JSON body, its headers' kinds.
pub(super) fn record(sb: &Sandbox, req: &Req, body: Option<Value>) {
    let query: BTreeMap<String, String> = req
        .query
        .iter()
        .map(|(k, v)| match k.as_str() {
            "access_token" => (k.clone(), "REDACTED".to_owned()),
            _ => (k.clone(), v.clone()),
        })
        .collect();
    crate::graph::record_rest(
        sb,
        req.host,
        &req.method,
        req.path.clone(),
        &query,
        body,
        &req.headers,
    );
}

/// Logs the call against its channel; while a rate-limit fault throttles the channel, Google's
/// per-minute refusal.
pub(super) fn throttled(
    sb: &Sandbox,
    req: &Req,
    operation: &str,
    channel: Option<String>,
    now: Timestamp,
) -> Option<Response> {
    sb.meter().admit(Call {
        at: now,
        method: req.method.to_string(),
        path: req.path.clone(),
        operation: operation.to_owned(),
        use_case: UseCase::Youtube,
        object: channel,
    })?;
    let message = "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service \
                   'youtube.googleapis.com' for consumer 'project_number:1000000000001'.";
    Some(error(
        StatusCode::TOO_MANY_REQUESTS,
        "global",
        "rateLimitExceeded",
        message,
    ))
}

/// Every request to the API hosts.
pub(crate) async fn api(
    State(sb): State<Sandbox>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = Req::new(method, &uri, headers);
    if req.method == Method::PUT && req.param("upload_id").is_some() {
        return upload::chunk(&sb, &req, &body).await;
    }
    let recorded: Option<Value> = req
        .is_json()
        .then(|| serde_json::from_slice(&body).ok())
        .flatten();
    record(&sb, &req, recorded);
    let now = sb.clock().now();
    let spec = spec_of(&req);
    let operation = spec.map_or("unknown", |s| s.name);
    let channel = req
        .token()
        .and_then(|t| validate(&sb.youtube(), t, now))
        .map(|t| t.channel_id);
    if let Some(refused) = throttled(&sb, &req, operation, channel, now) {
        return refused;
    }
    let perform = async {
        let Some(spec) = spec else {
            return error(StatusCode::NOT_FOUND, "global", "notFound", "Not Found");
        };
        admit(&sb, &req, spec, now)
            .and_then(|t| dispatch(&sb, &req, spec.op, &t, &body, now))
            .unwrap_or_else(|e| *e)
    };
    crate::faults::faulted(&sb, UseCase::Youtube, req.method.as_str(), operation, perform).await
}

/// Google's checks before a method runs, in its order; the caller's token when they pass.
fn admit(sb: &Sandbox, req: &Req, spec: &Spec, now: Timestamp) -> Result<Token, Refusal> {
    let known = |k: &str| spec.params.contains(&k) || STANDARD.contains(&k);
    if let Some(name) = req.query.keys().find(|k| !known(k.as_str())) {
        let message = format!(
            "Invalid JSON payload received. Unknown name \"{name}\": Cannot bind query parameter. \
             Field '{name}' could not be found in request message."
        );
        return Err(bad("invalid", &message));
    }
    let t = req
        .token()
        .and_then(|token| validate(&sb.youtube(), token, now))
        .ok_or_else(unauthenticated)?;
    let granted = |s: &&str| t.scopes.iter().any(|g| g.strip_prefix(SCOPE_PREFIX) == Some(*s));
    if !spec.scopes.iter().any(granted) {
        return Err(insufficient(spec));
    }
    if req.param(spec.required).is_none() {
        let message = format!("Required parameter: {}", spec.required);
        return Err(bad("required", &message));
    }
    let limits = sb.config().limits;
    let mut world = sb.youtube();
    let units = spec.units.unwrap_or(world.quota.insert_cost);
    let budget = limits.applied(world.quota.daily_units);
    if !world.quota.spend(units, budget, now) {
        let message = "The request cannot be completed because you have exceeded your \
                       <a href=\"/youtube/v3/getting-started#quota\">quota</a>.";
        return Err(refusal(
            StatusCode::FORBIDDEN,
            "youtube.quota",
            "quotaExceeded",
            message,
        ));
    }
    Ok(t)
}

/// 401 for a missing, unknown, expired or revoked token, with Google's `WWW-Authenticate`.
fn unauthenticated() -> Refusal {
    let message = "Request had invalid authentication credentials. Expected OAuth 2 access token, login \
                   cookie or other valid authentication credential. See \
                   https://developers.google.com/identity/sign-in/web/devconsole-project.";
    let body = json!({"error": {"code": 401, "message": message, "errors": [{"message": "Invalid Credentials",
        "domain": "global", "reason": "authError", "location": "Authorization", "locationType": "header"}],
        "status": "UNAUTHENTICATED"}});
    let mut res = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    let challenge = "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"";
    res.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    Box::new(res)
}

/// 403 for a token without any scope the method accepts, naming them in `WWW-Authenticate`.
fn insufficient(spec: &Spec) -> Refusal {
    let body = json!({"error": {"code": 403, "message": "Request had insufficient authentication scopes.",
        "errors": [{"message": "Insufficient Permission", "domain": "global",
            "reason": "insufficientPermissions"}],
        "status": "PERMISSION_DENIED"}});
    let mut res = (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
    let scopes: Vec<String> = spec.scopes.iter().map(|s| format!("{SCOPE_PREFIX}{s}")).collect();
    let challenge = format!(
        "Bearer realm=\"https://accounts.google.com/\", error=\"insufficient_scope\", scope=\"{}\"",
        scopes.join(" ")
    );
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    Box::new(res)
}

/// Runs the method.
fn dispatch(
    sb: &Sandbox,
    req: &Req,
    op: Op,
    t: &Token,
    body: &Bytes,
    now: Timestamp,
) -> Result<Response, Refusal> {
    match op {
        Op::ChannelsList => lists::channels(sb, req, t, now),
        Op::VideosList => lists::videos(sb, req, t, now),
        Op::PlaylistItemsList => lists::playlist_items(sb, req, t, now),
        Op::CommentThreadsList => comments::threads(sb, req, t, now),
        Op::CommentsList => comments::replies(sb, req, now),
        Op::CommentsInsert => comments::insert(sb, t, body, now),
        Op::VideosInsert => upload::insert(sb, req, t, body, now),
        Op::ThumbnailsSet => thumbnails::set(sb, req, t, body),
    }
}
