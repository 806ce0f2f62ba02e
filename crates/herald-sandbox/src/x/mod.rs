//! X API v2: OAuth 2.0 on `x.com` (and `twitter.com`) and `api.x.com/2/oauth2/*`, and the API on
//! `api.x.com/2` (posts, the chunked media upload, users).

pub(crate) mod api;
mod oauth;
mod world;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get};

pub(crate) use world::{Post, World};

use crate::Sandbox;

/// The OAuth 2.0 scopes X's consent page knows (the ones a scheduler uses, and a few more).
pub(crate) const SCOPES: &[(&str, &str)] = &[
    ("tweet.read", "All the posts you can view"),
    ("tweet.write", "Post and repost for you"),
    ("tweet.moderate.write", "Hide and unhide replies to your posts"),
    ("users.read", "Any account you can view"),
    ("media.write", "Upload media for you"),
    (
        "offline.access",
        "Stay connected to your account until you revoke access",
    ),
    ("like.read", "Posts you've liked and likes you can view"),
    ("follows.read", "People who follow you and people who you follow"),
];

pub(crate) fn routes() -> Router<Sandbox> {
    Router::new()
        .route(
            "/x.com/i/oauth2/authorize",
            get(oauth::authorize_page).post(oauth::authorize_decision),
        )
        .route(
            "/twitter.com/i/oauth2/authorize",
            get(oauth::authorize_page).post(oauth::authorize_decision),
        )
        .route(
            "/api.x.com/2/{*path}",
            any(api::api).layer(DefaultBodyLimit::max(16 * 1024 * 1024)),
        )
}
