//! `/_sandbox/`: inspect what the emulated platforms hold, and act as the person or the platform would
//! (remove the app from an account, move the clock).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jiff::SignedDuration;
use serde_json::json;

use crate::Sandbox;
use crate::meter::{Fault, UseCase};

pub(crate) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/_sandbox", get(overview))
        .route("/_sandbox/", get(overview))
        .route("/_sandbox/instagram/media", get(instagram_media))
        .route("/_sandbox/facebook", get(facebook))
        .route("/_sandbox/instagram/quota", post(instagram_quota))
        .route("/_sandbox/requests", get(requests))
        .route("/_sandbox/facebook/tokens", get(facebook_tokens))
        .route("/_sandbox/instagram/tokens", get(instagram_tokens))
        .route("/_sandbox/instagram/calls", get(instagram_calls))
        .route("/_sandbox/instagram/comments", get(instagram_comments))
        .route("/_sandbox/instagram/media/{media_id}/comments", post(add_comment))
        .route(
            "/_sandbox/facebook/posts/{post_id}/comments",
            post(add_page_comment),
        )
        .route("/_sandbox/instagram/faults", post(instagram_fault))
        .route("/_sandbox/facebook/faults", post(facebook_fault))
        .route("/_sandbox/facebook/calls", get(facebook_calls))
        .route("/_sandbox/instagram/accounts/{user_id}/revoke", post(revoke))
        .route("/_sandbox/clock/advance", post(advance))
}

/// Accounts, grants, tokens (never their values) and published media on every platform.
async fn overview(State(sb): State<Sandbox>) -> Json<serde_json::Value> {
    let now = sb.clock().now();
    let w = sb.inner.instagram.lock().expect("instagram lock");
    let accounts: Vec<_> = w
        .accounts
        .iter()
        .map(|a| json!({"user_id": a.user_id.to_string(), "username": a.username, "name": a.name}))
        .collect();
    let grants: Vec<_> = w
        .grants
        .iter()
        .map(|((app, user), scopes)| json!({"client_id": app, "user_id": user.to_string(), "scopes": scopes}))
        .collect();
    let tokens: Vec<_> = w
        .tokens
        .values()
        .map(|t| {
            json!({
                "user_id": t.user_id.to_string(), "kind": format!("{:?}", t.kind), "scopes": t.scopes,
                "issued_at": t.issued_at, "expires_at": t.expires_at, "expired": t.expires_at <= now,
            })
        })
        .collect();
    Json(json!({
        "clock": now,
        "instagram": {"accounts": accounts, "grants": grants, "tokens": tokens, "containers": w.containers.len(), "media": w.media},
    }))
}

/// Published media, each with its carousel items and the insights the sandbox generates for it now.
async fn instagram_media(State(sb): State<Sandbox>) -> Json<serde_json::Value> {
    let now = sb.clock().now();
    let w = sb.inner.instagram.lock().expect("instagram lock");
    let data: Vec<_> = w
        .media
        .iter()
        .map(|m| {
            let comments = w
                .comments
                .iter()
                .filter(|c| c.media_id == m.id && !c.hidden)
                .count() as u64;
            let mut v = json!(m);
            // A carousel's items as Graph's `children` edge shows them.
            v["children"] = m
                .children
                .iter()
                .filter_map(|id| w.containers.get(id))
                .map(|c| json!({"id": c.id.to_string(), "media_type": if c.video { "VIDEO" } else { "IMAGE" }}))
                .collect();
            v["insights"] = crate::instagram::insights_now(m, comments, now);
            v
        })
        .collect();
    Json(json!({ "data": data }))
}

#[derive(serde::Deserialize)]
struct Quota {
    total: u32,
}

/// Sets how many API-published posts an Instagram account may make per 24 hours (Meta: 50).
async fn instagram_quota(State(sb): State<Sandbox>, Json(q): Json<Quota>) -> Json<serde_json::Value> {
    sb.inner.config.lock().expect("config lock").publish_quota = q.total;
    Json(json!({ "publish_quota": q.total }))
}

/// Every Graph request the sandbox answered, without credentials, oldest first.
async fn requests(State(sb): State<Sandbox>) -> Json<serde_json::Value> {
    let j = sb.inner.journal.lock().expect("journal lock");
    Json(json!({ "data": *j }))
}

/// Facebook's Pages, and the posts and photos published on them.
async fn facebook(State(sb): State<Sandbox>) -> Json<serde_json::Value> {
    let mut w = sb.inner.facebook.lock().expect("facebook lock");
    w.settle(sb.clock().now());
    Json(crate::facebook::overview(&w, sb.clock().now()))
}

/// Facebook's issued user and Page tokens themselves, for a developer testing by hand.
async fn facebook_tokens(State(sb): State<Sandbox>) -> Json<serde_json::Value> {
    let w = sb.inner.facebook.lock().expect("facebook lock");
    Json(crate::facebook::tokens(&w))
}

/// The issued tokens themselves, for a developer testing by hand (the overview never shows them).
async fn instagram_tokens(State(sb): State<Sandbox>) -> Json<serde_json::Value> {
    let w = sb.inner.instagram.lock().expect("instagram lock");
    let data: Vec<_> = w.tokens.iter().map(|(token, t)| json!({"access_token": token, "user_id": t.user_id.to_string(), "expires_at": t.expires_at})).collect();
    Json(json!({ "data": data }))
}

/// Every comment and reply, oldest first.
async fn instagram_comments(State(sb): State<Sandbox>) -> Json<serde_json::Value> {
    let w = sb.inner.instagram.lock().expect("instagram lock");
    Json(json!({ "data": w.comments }))
}

#[derive(serde::Deserialize)]
struct NewComment {
    username: String,
    text: String,
    #[serde(default)]
    hidden: bool,
}

/// A follower comments on a published media object (as a person would in the app).
async fn add_comment(
    State(sb): State<Sandbox>,
    Path(media_id): Path<u64>,
    Json(c): Json<NewComment>,
) -> Response {
    let now = sb.clock().now();
    let mut w = sb.inner.instagram.lock().expect("instagram lock");
    if !w.media.iter().any(|m| m.id == media_id) {
        return (StatusCode::NOT_FOUND, Json(json!({"error": "no such media"}))).into_response();
    }
    let id = w.next_id();
    let from_id = 17_841_499_000_000_000 + id % 1_000_000;
    w.comments.push(crate::instagram::Comment {
        id,
        media_id,
        parent_id: None,
        from_id,
        username: c.username,
        text: c.text,
        timestamp: now,
        hidden: c.hidden,
    });
    (StatusCode::CREATED, Json(json!({"id": id.to_string()}))).into_response()
}

/// Someone comments on a Page post (as a person would on Facebook); `username` is their name.
async fn add_page_comment(
    State(sb): State<Sandbox>,
    Path(post_id): Path<String>,
    Json(c): Json<NewComment>,
) -> Response {
    let now = sb.clock().now();
    let mut w = sb.inner.facebook.lock().expect("facebook lock");
    match w.add_comment(&post_id, &c.username, &c.text, c.hidden, now) {
        Some(id) => (StatusCode::CREATED, Json(json!({ "id": id }))).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"error": "no such post"}))).into_response(),
    }
}

/// Every Graph call of one use case, oldest first (paths only).
fn calls(sb: &Sandbox, use_case: UseCase) -> Json<serde_json::Value> {
    let m = sb.inner.meter.lock().expect("meter lock");
    let data: Vec<_> = m.calls.iter().filter(|c| c.use_case == use_case).collect();
    Json(json!({ "data": data }))
}

async fn instagram_calls(State(sb): State<Sandbox>) -> Json<serde_json::Value> {
    calls(&sb, UseCase::Instagram)
}

async fn facebook_calls(State(sb): State<Sandbox>) -> Json<serde_json::Value> {
    calls(&sb, UseCase::Pages)
}

/// Queues a fault: the next call of that operation is rate limited and throttles its account.
async fn instagram_fault(State(sb): State<Sandbox>, Json(f): Json<Fault>) -> Json<serde_json::Value> {
    let queued = sb
        .inner
        .meter
        .lock()
        .expect("meter lock")
        .queue(UseCase::Instagram, f);
    Json(json!({ "queued": queued }))
}

/// Queues a fault on Facebook: the next call of that operation is rate limited (code 80001) and
/// throttles its Page.
async fn facebook_fault(State(sb): State<Sandbox>, Json(f): Json<Fault>) -> Json<serde_json::Value> {
    let queued = sb
        .inner
        .meter
        .lock()
        .expect("meter lock")
        .queue(UseCase::Pages, f);
    Json(json!({ "queued": queued }))
}

/// As if the person removed the app in Instagram's settings: every grant and token of the account dies.
async fn revoke(State(sb): State<Sandbox>, Path(user_id): Path<u64>) -> Response {
    let mut w = sb.inner.instagram.lock().expect("instagram lock");
    let before = w.grants.len();
    w.grants.retain(|(_, u), _| *u != user_id);
    if w.grants.len() == before {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no grant for that account"})),
        )
            .into_response();
    }
    Json(json!({"revoked": true, "user_id": user_id.to_string()})).into_response()
}

/// How far one call may move the clock (ten years), so the clock stays in range.
const MAX_ADVANCE_SECS: i64 = 10 * 366 * 24 * 3600;

#[derive(serde::Deserialize)]
struct Advance {
    seconds: i64,
}

async fn advance(State(sb): State<Sandbox>, Json(a): Json<Advance>) -> Json<serde_json::Value> {
    sb.clock().advance(SignedDuration::from_secs(
        a.seconds.clamp(-MAX_ADVANCE_SECS, MAX_ADVANCE_SECS),
    ));
    Json(json!({"now": sb.clock().now()}))
}
