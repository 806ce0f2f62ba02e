//! Instagram API with Instagram Login: OAuth on `www.instagram.com` / `api.instagram.com`, and the Graph
//! API on `graph.instagram.com` (tokens, `/me`, the container → status → `media_publish` flow, quota).

pub(crate) mod api;
mod comments;
mod insights;
mod oauth;
mod world;

use axum::Router;
use axum::routing::{any, get};

pub(crate) use insights::insights_now;
pub(crate) use world::{Comment, World};

use crate::Sandbox;

/// The Instagram account linked to the Facebook sandbox's first Page.
pub(crate) const LINKED_ACCOUNT: (u64, &str) = (17841400000000002, "sandbox_brand");

/// The scopes Instagram Login knows (the 2025 names).
pub(crate) const SCOPES: &[(&str, &str)] = &[
    (
        "instagram_business_basic",
        "Access your profile info (username, account id)",
    ),
    (
        "instagram_business_content_publish",
        "Publish content to your account",
    ),
    (
        "instagram_business_manage_comments",
        "Read and reply to comments on your media",
    ),
    ("instagram_business_manage_messages", "Read and send messages"),
    (
        "instagram_business_manage_insights",
        "Read insights about your media",
    ),
];

pub(crate) fn routes() -> Router<Sandbox> {
    Router::new()
        .route(
            "/www.instagram.com/oauth/authorize",
            get(oauth::authorize_page).post(oauth::authorize_decision),
        )
        .route(
            "/api.instagram.com/oauth/authorize",
            get(oauth::authorize_page).post(oauth::authorize_decision),
        )
        .route("/api.instagram.com/oauth/access_token", any(oauth::access_token))
        .route("/graph.instagram.com/{*path}", any(api::graph))
}
