//! Pinterest API v5: OAuth on `www.pinterest.com/oauth/` and `api.pinterest.com/v5/oauth/token`,
//! the API on `api.pinterest.com/v5`, and the S3 upload host video registrations name.

mod analytics;
pub(crate) mod api;
mod oauth;
mod upload;
mod world;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get, post};

pub(crate) use world::World;

use crate::Sandbox;

/// The scopes Pinterest's consent page knows, with what it tells the person.
pub(crate) const SCOPES: &[(&str, &str)] = &[
    ("user_accounts:read", "See your account information"),
    ("boards:read", "See your public boards"),
    ("boards:read_secret", "See your secret boards"),
    ("boards:write", "Create, update, or delete your public boards"),
    (
        "boards:write_secret",
        "Create, update, or delete your secret boards",
    ),
    ("pins:read", "See your public Pins"),
    ("pins:read_secret", "See your secret Pins"),
    ("pins:write", "Create, update, or delete your public Pins"),
    ("pins:write_secret", "Create, update, or delete your secret Pins"),
];

pub(crate) fn routes() -> Router<Sandbox> {
    Router::new()
        .route(
            "/www.pinterest.com/oauth/",
            get(oauth::authorize_page).post(oauth::authorize_decision),
        )
        .route("/api.pinterest.com/v5/{*path}", any(api::api))
        .route(
            &format!("/{}/", api::UPLOAD_HOST),
            post(upload::upload).layer(DefaultBodyLimit::max(upload::MAX_VIDEO_BYTES)),
        )
}
