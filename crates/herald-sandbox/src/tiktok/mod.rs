//! TikTok: Login Kit on `www.tiktok.com/v2/auth/authorize/`, the Content Posting and Display APIs
//! (and the token endpoints) on `open.tiktokapis.com/v2`, and the upload host a video init names.

pub(crate) mod api;
mod oauth;
mod upload;
mod world;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get, put};

pub(crate) use world::World;

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

pub(crate) fn routes() -> Router<Sandbox> {
    Router::new()
        .route(
            "/www.tiktok.com/v2/auth/authorize/",
            get(oauth::authorize_page).post(oauth::authorize_decision),
        )
        .route("/open.tiktokapis.com/v2/{*path}", any(api::api))
        .route(
            &format!("/{UPLOAD_HOST}/video/"),
            put(upload::upload).layer(DefaultBodyLimit::max(MAX_CHUNK_BODY)),
        )
}
