//! TikTok: Login Kit on `www.tiktok.com/v2/auth/authorize/`, the Content Posting and Display APIs
//! (and the token endpoints) on `open.tiktokapis.com/v2`, the upload host a video init names, and
//! the API for Business (comments of Business accounts) on `business-api.tiktok.com/open_api/v1.3`.

pub(crate) mod api;
mod business;
mod oauth;
mod upload;
mod world;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get, put};

pub(crate) use world::{VideoComment, World};

use crate::Sandbox;

/// The scopes TikTok's consent page knows, with what it tells the person.
pub(crate) const SCOPES: &[(&str, &str)] = &[
    ("user.info.basic", "Read your profile info (avatar, display name)"),
    (
        "user.info.profile",
        "Read your additional profile info (bio, profile link, verification)",
    ),
    (
        "user.info.stats",
        "Read your statistical data (likes, followers, following, videos)",
    ),
    ("video.list", "Read your public videos on TikTok"),
    ("video.publish", "Directly post content to your TikTok profile"),
    ("video.upload", "Share content to TikTok as a draft"),
];

/// The host the video inits name for their chunks (TikTok's varies; this is the documented one).
pub(crate) const UPLOAD_HOST: &str = "open-upload.tiktokapis.com";
/// The largest video TikTok takes (4 GB).
pub(crate) const MAX_VIDEO_BYTES: u64 = 4_000_000_000;
/// The largest chunk the upload host reads (the last may be 128 MB).
const MAX_CHUNK_BODY: usize = 130_000_000;

/// The scopes TikTok's consent page knows for a Business app (the TikTok Accounts guide).
pub(crate) const BUSINESS_SCOPES: &[(&str, &str)] = &[
    ("user.info.basic", "Read your profile info (avatar, display name)"),
    ("user.info.username", "Read your username"),
    (
        "user.account.type",
        "Know whether your account is a personal or Business account",
    ),
    ("video.list", "Read your public videos on TikTok"),
    ("comment.list", "Read the comments on your videos"),
    (
        "comment.list.manage",
        "Reply to, hide and delete comments on your videos",
    ),
];

/// The consent page, shared by TikTok's Login Kit and Business apps.
pub(crate) fn consent_routes() -> Router<Sandbox> {
    Router::new().route(
        "/www.tiktok.com/v2/auth/authorize/",
        get(oauth::authorize_page).post(oauth::authorize_decision),
    )
}

/// The API for Business.
pub(crate) fn business_routes() -> Router<Sandbox> {
    Router::new().route(
        "/business-api.tiktok.com/open_api/v1.3/{*path}",
        any(business::api),
    )
}

pub(crate) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/open.tiktokapis.com/v2/{*path}", any(api::api))
        .route(
            &format!("/{UPLOAD_HOST}/video/"),
            put(upload::upload).layer(DefaultBodyLimit::max(MAX_CHUNK_BODY)),
        )
}
