//! `/_sandbox/`: inspect what the emulated platforms hold, and act as the person or the platform would
//! (remove the app from an account, move the clock). Tokens appear only as fingerprints.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jiff::SignedDuration;
use serde_json::json;

use crate::Sandbox;
use crate::faults::{ChaosRules, Fault};
use crate::meter::UseCase;

/// What every emulated platform shares: the overview, the journal, the clock, the pages' style.
pub(crate) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/_sandbox", get(overview))
        .route("/_sandbox/", get(overview))
        .route("/_sandbox/requests", get(requests))
        .route("/_sandbox/publications", get(crate::inspect::publications))
        .route("/_sandbox/faults", get(faults))
        .route("/_sandbox/faults/chaos", post(chaos))
        .route("/_sandbox/clock/advance", post(advance))
        .route("/_sandbox/limits", get(limits).post(set_limits))
        .route("/_sandbox/sandbox.css", get(crate::html::stylesheet))
}

pub(crate) fn instagram_routes() -> Router<Sandbox> {
    Router::new()
        .route("/_sandbox/instagram/media", get(instagram_media))
        .route("/_sandbox/instagram/quota", post(instagram_quota))
        .route("/_sandbox/instagram/tokens", get(instagram_tokens))
        .route("/_sandbox/instagram/calls", get(instagram_calls))
        .route("/_sandbox/instagram/comments", get(instagram_comments))
        .route("/_sandbox/instagram/media/{media_id}/comments", post(add_comment))
        .route("/_sandbox/instagram/faults", post(instagram_fault))
        .route("/_sandbox/instagram/accounts/{user_id}/revoke", post(revoke))
}

pub(crate) fn facebook_routes() -> Router<Sandbox> {
    Router::new()
        .route("/_sandbox/facebook", get(facebook))
        .route("/_sandbox/facebook/tokens", get(facebook_tokens))
        .route(
            "/_sandbox/facebook/posts/{post_id}/comments",
            post(add_page_comment),
        )
        .route("/_sandbox/facebook/faults", post(facebook_fault))
        .route("/_sandbox/facebook/pages", post(crate::inspect::seed_pages))
        .route("/_sandbox/facebook/calls", get(facebook_calls))
}

/// What the control API shows instead of a token: the first 16 hex digits of its SHA-256, enough to
/// tell tokens apart and to match one a client holds, useless to call the API with.
pub(crate) fn fingerprint(token: &str) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(token.as_bytes())[..8])
}

/// Accounts, grants, tokens (never their values) and published media on every platform.
async fn overview(State(sb): State<Sandbox>) -> Json<serde_json::Value> {
    let now = sb.clock().now();
    let w = sb.instagram();
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
    let w = sb.instagram();
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
    crate::lock(&sb.inner.config).publish_quota = q.total;
    Json(json!({ "publish_quota": q.total }))
}

/// The platforms' quotas: as documented, scaled, or off.
async fn limits(State(sb): State<Sandbox>) -> Json<crate::Limits> {
    Json(sb.config().limits)
}

/// Scales the platforms' quotas (`{"scale": 100}`) or switches them off (`{"off": true}`) for a run.
async fn set_limits(State(sb): State<Sandbox>, Json(l): Json<crate::Limits>) -> Response {
    if !(1..=1_000_000).contains(&l.scale) {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": {"code": "invalid_scale", "message": "`scale` must be between 1 and 1000000"}})),
        )
            .into_response();
    }
    crate::lock(&sb.inner.config).limits = l;
    Json(json!(l)).into_response()
}

/// Every Graph request the sandbox answered, without credentials, oldest first.
async fn requests(State(sb): State<Sandbox>) -> Json<serde_json::Value> {
    let j = sb.journal();
    Json(json!({ "data": *j }))
}

/// Facebook's Pages, and the posts and photos published on them.
async fn facebook(State(sb): State<Sandbox>) -> Json<serde_json::Value> {
    let mut w = sb.facebook();
    w.settle(sb.clock().now());
    Json(crate::facebook::overview(&w, sb.clock().now()))
}

/// Facebook's issued user and Page tokens: whose they are and their fingerprints.
async fn facebook_tokens(State(sb): State<Sandbox>) -> Json<serde_json::Value> {
    let w = sb.facebook();
    Json(crate::facebook::tokens(&w))
}

/// The issued tokens: whose they are, when they expire, and their fingerprints (never the values:
/// a client gets its tokens from the code exchange, as on Instagram).
async fn instagram_tokens(State(sb): State<Sandbox>) -> Json<serde_json::Value> {
    let w = sb.instagram();
    let data: Vec<_> = w
        .tokens
        .iter()
        .map(|(token, t)| {
            json!({"fingerprint": fingerprint(token), "user_id": t.user_id.to_string(), "kind": format!("{:?}", t.kind), "expires_at": t.expires_at})
        })
        .collect();
    Json(json!({ "data": data }))
}

/// Every comment and reply, oldest first.
async fn instagram_comments(State(sb): State<Sandbox>) -> Json<serde_json::Value> {
    let w = sb.instagram();
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
    let mut w = sb.instagram();
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
    let mut w = sb.facebook();
    match w.add_comment(&post_id, &c.username, &c.text, c.hidden, now) {
        Some(id) => (StatusCode::CREATED, Json(json!({ "id": id }))).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"error": "no such post"}))).into_response(),
    }
}

/// Every Graph call of one use case, oldest first (paths only).
fn calls(sb: &Sandbox, use_case: UseCase) -> Json<serde_json::Value> {
    let m = sb.meter();
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
async fn instagram_fault(State(sb): State<Sandbox>, Json(f): Json<Fault>) -> Response {
    queue_fault(&sb, UseCase::Instagram, f)
}

pub(crate) fn pinterest_routes() -> Router<Sandbox> {
    Router::new()
        .route("/_sandbox/pinterest", get(pinterest))
        .route("/_sandbox/pinterest/faults", post(pinterest_fault))
}

/// Pinterest's accounts and boards, grants, tokens (fingerprints), media and pins.
async fn pinterest(State(sb): State<Sandbox>) -> Json<serde_json::Value> {
    let now = sb.clock().now();
    let mut w = sb.pinterest();
    w.settle(now);
    let accounts: Vec<_> = w
        .accounts
        .iter()
        .map(|a| {
            let boards: Vec<_> = a
                .boards
                .iter()
                .map(|b| json!({"id": b.id, "name": b.name, "sections": b.sections.iter().map(|(id, name)| json!({"id": id, "name": name})).collect::<Vec<_>>()}))
                .collect();
            json!({"id": a.id, "username": a.username, "boards": boards})
        })
        .collect();
    let grants: Vec<_> = w
        .grants
        .iter()
        .map(|((app, account), scopes)| json!({"client_id": app, "account": account, "scopes": scopes}))
        .collect();
    let tokens: Vec<_> = w
        .tokens
        .iter()
        .map(|(t, v)| {
            json!({"fingerprint": fingerprint(t), "account": v.account, "kind": v.kind, "scopes": v.scopes,
                "issued_at": v.issued_at, "expires_at": v.expires_at, "expired": v.expires_at <= now})
        })
        .collect();
    let media: Vec<_> = w.media.values().collect();
    Json(json!({"accounts": accounts, "grants": grants, "tokens": tokens, "media": media, "pins": w.pins}))
}

pub(crate) fn x_routes() -> Router<Sandbox> {
    Router::new()
        .route("/_sandbox/x", get(x_state))
        .route("/_sandbox/x/faults", post(x_fault))
        .route("/_sandbox/x/posts/{post_id}/replies", post(x_reply))
        .route("/_sandbox/x/access", post(x_access))
}

/// What an app's access level decides; each left out stays as it is.
#[derive(serde::Deserialize)]
struct XAccess {
    search: Option<bool>,
    /// How many posts the app may create in 24 hours, all its users together (X's levels and
    /// pay-per-use plans differ: 17 on Free, 10,000 by default here).
    daily_posts: Option<u32>,
}

/// Sets the app's access level: whether it includes recent search (X's Free level does not), and
/// its daily cap on posts.
async fn x_access(State(sb): State<Sandbox>, Json(a): Json<XAccess>) -> Json<serde_json::Value> {
    let mut w = sb.x();
    if let Some(search) = a.search {
        w.search_allowed = search;
    }
    if let Some(cap) = a.daily_posts {
        w.app_daily_posts = Some(cap);
    }
    Json(json!({ "search": w.search_allowed, "daily_posts": w.app_daily_posts }))
}

/// X's users, grants, tokens (fingerprints), uploads and posts.
async fn x_state(State(sb): State<Sandbox>) -> Json<serde_json::Value> {
    let now = sb.clock().now();
    let mut w = sb.x();
    w.settle(now);
    let tokens: Vec<_> = w
        .tokens
        .iter()
        .map(|(t, v)| {
            json!({"fingerprint": fingerprint(t), "user": v.user, "kind": v.kind, "scopes": v.scopes,
            "expires_at": v.expires_at, "expired": v.expires_at <= now})
        })
        .collect();
    let grants: Vec<_> = w
        .grants
        .iter()
        .map(|((app, user), scopes)| json!({"client_id": app, "user": user, "scopes": scopes}))
        .collect();
    let uploads: Vec<_> = w.uploads.values().collect();
    Json(
        json!({"users": w.users.iter().map(|u| json!({"id": u.id, "username": u.username})).collect::<Vec<_>>(),
        "grants": grants, "tokens": tokens, "uploads": uploads, "posts": w.posts}),
    )
}

/// Queues a fault on X (a rate limit answers 429 until the reset it names).
async fn x_fault(State(sb): State<Sandbox>, Json(f): Json<Fault>) -> Response {
    queue_fault(&sb, UseCase::X, f)
}

#[derive(serde::Deserialize)]
struct XReply {
    text: String,
}

/// Another user replies to a post (as a person would in the app).
async fn x_reply(State(sb): State<Sandbox>, Path(post_id): Path<String>, Json(r): Json<XReply>) -> Response {
    let now = sb.clock().now();
    let mut w = sb.x();
    let Some(conversation) = w
        .posts
        .iter()
        .find(|p| p.id == post_id)
        .map(|p| p.conversation_id.clone())
    else {
        return (StatusCode::NOT_FOUND, Json(json!({"error": "no such post"}))).into_response();
    };
    let id = w.next_id();
    let author = w.users[1].id.clone();
    w.posts.push(crate::x::Post {
        id: id.clone(),
        author,
        text: r.text,
        media_ids: Vec::new(),
        reply_settings: None,
        in_reply_to: Some(post_id),
        conversation_id: conversation,
        created_at: now,
    });
    Json(json!({ "id": id })).into_response()
}

pub(crate) fn tiktok_routes() -> Router<Sandbox> {
    Router::new()
        .route("/_sandbox/tiktok", get(tiktok_state))
        .route("/_sandbox/tiktok/faults", post(tiktok_fault))
        .route("/_sandbox/tiktok/app", post(tiktok_app))
        .route("/_sandbox/tiktok/creators/{open_id}", post(tiktok_creator))
        .route(
            "/_sandbox/tiktok/videos/{video_id}/comments",
            post(tiktok_comment),
        )
}

/// TikTok's creators and what each allows, grants (of both apps), tokens (fingerprints), the
/// app's audit and verified prefixes, every publication (uploads, processing, posts), and the
/// comments and replies on posts.
async fn tiktok_state(State(sb): State<Sandbox>) -> Json<serde_json::Value> {
    let now = sb.clock().now();
    let mut w = sb.tiktok();
    w.settle(now);
    let tokens: Vec<_> = w
        .tokens
        .iter()
        .map(|(t, v)| {
            json!({"fingerprint": fingerprint(t), "open_id": v.open_id, "kind": v.kind, "scopes": v.scopes,
            "expires_at": v.expires_at, "expired": v.expires_at <= now})
        })
        .collect();
    let grants: Vec<_> = w
        .grants
        .iter()
        .map(|((app, user), scopes)| json!({"client_key": app, "open_id": user, "scopes": scopes}))
        .collect();
    Json(
        json!({"creators": w.creators, "grants": grants, "tokens": tokens, "audited": w.audited,
        "verified_prefixes": w.verified_prefixes, "publications": w.publications, "comments": w.comments}),
    )
}

/// Queues a fault on TikTok (a rate limit answers 429 until it lapses).
async fn tiktok_fault(State(sb): State<Sandbox>, Json(f): Json<Fault>) -> Response {
    queue_fault(&sb, UseCase::Tiktok, f)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TiktokApp {
    audited: Option<bool>,
    verified_prefixes: Option<Vec<String>>,
}

/// Sets whether TikTok audited the app, and the URL prefixes it verified for pull mode (none: any).
async fn tiktok_app(State(sb): State<Sandbox>, Json(a): Json<TiktokApp>) -> Json<serde_json::Value> {
    let mut w = sb.tiktok();
    if let Some(audited) = a.audited {
        w.audited = audited;
    }
    if let Some(prefixes) = a.verified_prefixes {
        w.verified_prefixes = prefixes;
    }
    Json(json!({"audited": w.audited, "verified_prefixes": w.verified_prefixes}))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TiktokCreator {
    private: Option<bool>,
    comment_disabled: Option<bool>,
    max_video_post_duration_sec: Option<u32>,
}

/// Changes what an account allows, as its owner would in the app.
async fn tiktok_creator(
    State(sb): State<Sandbox>,
    Path(open_id): Path<String>,
    Json(c): Json<TiktokCreator>,
) -> Response {
    let mut w = sb.tiktok();
    let Some(creator) = w.creators.iter_mut().find(|x| x.open_id == open_id) else {
        return (StatusCode::NOT_FOUND, Json(json!({"error": "no such creator"}))).into_response();
    };
    if let Some(p) = c.private {
        creator.private = p;
    }
    if let Some(d) = c.comment_disabled {
        creator.comment_disabled = d;
    }
    if let Some(m) = c.max_video_post_duration_sec {
        creator.max_video_post_duration_sec = m;
    }
    Json(json!(creator)).into_response()
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TiktokComment {
    author: String,
    text: String,
}

/// Someone comments on a post, as a viewer would in the app.
async fn tiktok_comment(
    State(sb): State<Sandbox>,
    Path(video_id): Path<String>,
    Json(c): Json<TiktokComment>,
) -> Response {
    let now = sb.clock().now();
    let mut w = sb.tiktok();
    w.settle(now);
    if !w
        .publications
        .iter()
        .any(|p| p.post_id.as_deref() == Some(video_id.as_str()))
    {
        return (StatusCode::NOT_FOUND, Json(json!({"error": "no such video"}))).into_response();
    }
    let id = w.next_id().to_string();
    w.comments.push(crate::tiktok::VideoComment {
        comment_id: id.clone(),
        video_id,
        parent_comment_id: None,
        text: c.text,
        username: c.author,
        create_time: now.as_second(),
        likes: 0,
        owner: false,
        status: "PUBLIC",
    });
    Json(json!({ "comment_id": id })).into_response()
}

pub(crate) fn youtube_routes() -> Router<Sandbox> {
    Router::new()
        .route("/_sandbox/youtube", get(youtube_state))
        .route("/_sandbox/youtube/faults", post(youtube_fault))
        .route("/_sandbox/youtube/app", post(youtube_app))
        .route("/_sandbox/youtube/channels/{channel_id}", post(youtube_channel))
        .route(
            "/_sandbox/youtube/videos/{video_id}/comments",
            post(youtube_comment),
        )
}

/// YouTube's channels and what each may do, grants, tokens (fingerprints), the app's status and
/// quota, upload sessions, and every video (processing settled first) with its comments.
async fn youtube_state(State(sb): State<Sandbox>) -> Json<serde_json::Value> {
    let now = sb.clock().now();
    let mut w = sb.youtube();
    w.settle(now);
    Json(crate::youtube::overview(&w, now))
}

/// Queues a fault on YouTube (`operation`: `insert`, `upload`, `thumbnails.set`, `videos.list`,
/// `token`, …; a rate limit answers 429 until it lapses).
async fn youtube_fault(State(sb): State<Sandbox>, Json(f): Json<Fault>) -> Response {
    queue_fault(&sb, UseCase::Youtube, f)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct YoutubeApp {
    verified: Option<bool>,
    testing: Option<bool>,
    daily_units: Option<u32>,
    insert_cost: Option<u32>,
}

/// Sets whether Google verified the app (an unverified one uploads only private videos), whether
/// it is in Testing (refresh tokens issued then last seven days), and its quota: units a day, and
/// what an upload costs.
async fn youtube_app(State(sb): State<Sandbox>, Json(a): Json<YoutubeApp>) -> Json<serde_json::Value> {
    let now = sb.clock().now();
    let mut w = sb.youtube();
    if let Some(verified) = a.verified {
        w.verified = verified;
    }
    if let Some(testing) = a.testing {
        w.testing = testing;
    }
    if let Some(units) = a.daily_units {
        w.quota.daily_units = units;
    }
    if let Some(cost) = a.insert_cost {
        w.quota.insert_cost = cost;
    }
    Json(crate::youtube::app(&w, now))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct YoutubeChannel {
    upload_limit: Option<u32>,
    custom_thumbnails: Option<bool>,
}

/// Changes what a channel may do: its uploads per 24 hours, and whether it may set custom
/// thumbnails (as verifying its phone number would).
async fn youtube_channel(
    State(sb): State<Sandbox>,
    Path(channel_id): Path<String>,
    Json(c): Json<YoutubeChannel>,
) -> Response {
    let mut w = sb.youtube();
    let Some(channel) = w.channels.iter_mut().find(|x| x.id == channel_id) else {
        return (StatusCode::NOT_FOUND, Json(json!({"error": "no such channel"}))).into_response();
    };
    if let Some(limit) = c.upload_limit {
        channel.upload_limit = limit;
    }
    if let Some(custom) = c.custom_thumbnails {
        channel.custom_thumbnails = custom;
    }
    Json(json!(channel)).into_response()
}

#[derive(serde::Deserialize)]
struct YoutubeComment {
    author: String,
    text: String,
}

/// A viewer comments on a video (as a person would on YouTube); the same name is the same viewer.
async fn youtube_comment(
    State(sb): State<Sandbox>,
    Path(video_id): Path<String>,
    Json(c): Json<YoutubeComment>,
) -> Response {
    let now = sb.clock().now();
    let mut w = sb.youtube();
    if !w.videos.iter().any(|v| v.id == video_id) {
        return (StatusCode::NOT_FOUND, Json(json!({"error": "no such video"}))).into_response();
    }
    let viewer = format!("UCsbxViewer{}", &fingerprint(&c.author)[..13]);
    let comment = w.add_comment(
        &video_id,
        None,
        (c.author.as_str(), viewer.as_str()),
        &c.text,
        now,
    );
    Json(json!({ "id": comment.id })).into_response()
}

pub(crate) fn linkedin_routes() -> Router<Sandbox> {
    Router::new()
        .route("/_sandbox/linkedin", get(linkedin_state))
        .route("/_sandbox/linkedin/faults", post(linkedin_fault))
        .route("/_sandbox/linkedin/app", post(linkedin_app))
        .route("/_sandbox/linkedin/posts/{urn}/comments", post(linkedin_comment))
}

#[derive(serde::Deserialize)]
struct LinkedinApp {
    refresh_tokens: bool,
}

/// Sets whether the app is one LinkedIn approved for programmatic refresh tokens (a partner's).
async fn linkedin_app(State(sb): State<Sandbox>, Json(a): Json<LinkedinApp>) -> Json<serde_json::Value> {
    sb.linkedin().refresh_enabled = a.refresh_tokens;
    Json(json!({ "refresh_tokens": a.refresh_tokens }))
}

/// LinkedIn's members, organizations and roles, grants, tokens (fingerprints; access and refresh),
/// uploads, posts (with the text LinkedIn shows) and comments.
async fn linkedin_state(State(sb): State<Sandbox>) -> Json<serde_json::Value> {
    let now = sb.clock().now();
    let mut w = sb.linkedin();
    w.settle(now);
    let kinds = [("access", &w.tokens), ("refresh", &w.refresh_tokens)];
    let tokens: Vec<_> = kinds
        .iter()
        .flat_map(|(kind, map)| map.iter().map(move |(t, v)| (kind, t, v)))
        .map(|(kind, t, v)| {
            json!({"fingerprint": fingerprint(t), "kind": kind, "member": v.member, "scopes": v.scopes,
            "expires_at": v.expires_at, "expired": v.expires_at <= now})
        })
        .collect();
    let grants: Vec<_> = w
        .grants
        .iter()
        .map(|((app, member), scopes)| json!({"client_id": app, "member": member, "scopes": scopes}))
        .collect();
    let organizations: Vec<_> = w
        .organizations
        .iter()
        .map(|o| json!({"urn": format!("urn:li:organization:{}", o.id), "name": o.name, "roles": o.roles}))
        .collect();
    let members: Vec<_> = w
        .members
        .iter()
        .map(|m| json!({"id": m.id, "name": m.name}))
        .collect();
    let assets: Vec<_> = w.assets.values().collect();
    let comments: Vec<_> = w.comments.iter().collect();
    Json(
        json!({"members": members, "organizations": organizations, "grants": grants, "tokens": tokens,
        "assets": assets, "posts": w.posts, "comments": comments}),
    )
}

/// Queues a fault on LinkedIn (a rate limit answers 429, with no header saying until when).
async fn linkedin_fault(State(sb): State<Sandbox>, Json(f): Json<Fault>) -> Response {
    queue_fault(&sb, UseCase::Linkedin, f)
}

#[derive(serde::Deserialize)]
struct LinkedinComment {
    text: String,
}

/// Another member comments on a post (as a person would on LinkedIn).
async fn linkedin_comment(
    State(sb): State<Sandbox>,
    Path(urn): Path<String>,
    Json(c): Json<LinkedinComment>,
) -> Response {
    let now = sb.clock().now();
    let mut w = sb.linkedin();
    let Some(activity) = w.post(&urn).map(|p| p.activity.clone()) else {
        return (StatusCode::NOT_FOUND, Json(json!({"error": "no such post"}))).into_response();
    };
    let id = w.next_id().to_string();
    let urn = format!("urn:li:comment:({activity},{id})");
    let actor = format!("urn:li:person:{}", w.members[1].id);
    w.comments.push(crate::linkedin::Comment {
        urn: urn.clone(),
        id,
        object: activity,
        parent: None,
        actor,
        text: c.text,
        created_at: now,
    });
    Json(json!({ "urn": urn })).into_response()
}

/// Queues a fault on Pinterest (a rate limit answers 429 and throttles the account).
async fn pinterest_fault(State(sb): State<Sandbox>, Json(f): Json<Fault>) -> Response {
    queue_fault(&sb, UseCase::Pinterest, f)
}

/// Queues a fault on Facebook: the next call of that operation is rate limited (code 80001) and
/// throttles its Page.
async fn facebook_fault(State(sb): State<Sandbox>, Json(f): Json<Fault>) -> Response {
    queue_fault(&sb, UseCase::Pages, f)
}

fn queue_fault(sb: &Sandbox, use_case: UseCase, f: Fault) -> Response {
    match sb.meter().queue(use_case, f) {
        Some(queued) => Json(json!({ "queued": queued })).into_response(),
        None => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": {"code": "too_many_faults",
                "message": format!("at most {} faults wait at once; let some fire first", crate::meter::MAX_FAULTS)}})),
        )
            .into_response(),
    }
}

/// Faults injected so far by kind, the chaos setting, the calls seen and in flight, and how many
/// queued faults wait to fire.
async fn faults(State(sb): State<Sandbox>) -> Json<serde_json::Value> {
    let mut report = sb.faults().report();
    report["queued"] = sb.meter().queued().into();
    Json(report)
}

/// Sets chaos: a fault on a share of every call, by one rule or several (a rate of 0 ends it).
async fn chaos(State(sb): State<Sandbox>, Json(c): Json<ChaosRules>) -> Response {
    let set = sb.faults().set_chaos(c);
    match set {
        Ok(()) => Json(sb.faults().report()).into_response(),
        Err(message) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": {"code": "invalid_chaos", "message": message}})),
        )
            .into_response(),
    }
}

/// As if the person removed the app in Instagram's settings: every grant and token of the account dies.
async fn revoke(State(sb): State<Sandbox>, Path(user_id): Path<u64>) -> Response {
    let mut w = sb.instagram();
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

#[derive(serde::Deserialize)]
struct Advance {
    seconds: i64,
}

/// Moves the clock by `seconds` (negative moves back), within 100 years of real time; a move
/// past that is refused with 422 and leaves the clock where it was.
async fn advance(State(sb): State<Sandbox>, Json(a): Json<Advance>) -> Response {
    match sb.clock().advance(SignedDuration::from_secs(a.seconds)) {
        Ok(now) => Json(json!({ "now": now })).into_response(),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": {"code": "clock_out_of_range", "message": e.to_string()}})),
        )
            .into_response(),
    }
}
