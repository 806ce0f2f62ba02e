//! LinkedIn: OAuth on `www.linkedin.com/oauth/v2`, the upload URLs on `www.linkedin.com/dms-uploads`,
//! and the API on `api.linkedin.com` (`/v2/userinfo` and the versioned `/rest`).

pub(crate) mod api;
mod oauth;
mod world;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get, post, put};

pub(crate) use world::{Comment, World};

use crate::Sandbox;

/// The scopes the sandbox's LinkedIn app has (its products: Sign In with LinkedIn using OpenID
/// Connect, Share on LinkedIn, Community Management API), with what the consent page says.
/// `r_member_social` is not among them: LinkedIn grants it to few apps.
pub(crate) const SCOPES: &[(&str, &str)] = &[
    ("openid", "Use your name and photo"),
    ("profile", "Use your name and photo"),
    (
        "email",
        "Use the primary email address associated with your LinkedIn account",
    ),
    (
        "w_member_social",
        "Create, modify, and delete posts, comments, and reactions on your behalf",
    ),
    (
        "r_organization_social",
        "Retrieve your organizations' posts, comments, reactions, and other engagement data",
    ),
    (
        "w_organization_social",
        "Create, modify, and delete posts, comments, and reactions on your organizations' behalf",
    ),
    (
        "rw_organization_admin",
        "Manage your organizations' pages and retrieve reporting data",
    ),
    (
        "r_organization_admin",
        "Retrieve your organizations' pages and their reporting data",
    ),
];

/// The largest upload part or image LinkedIn takes here (video parts are 4 MiB; images up to 36 MB).
const MAX_UPLOAD: usize = 40 * 1024 * 1024;

pub(crate) fn routes() -> Router<Sandbox> {
    Router::new()
        .route(
            "/www.linkedin.com/oauth/v2/authorization",
            get(oauth::authorize_page).post(oauth::authorize_decision),
        )
        .route(
            "/www.linkedin.com/oauth/v2/accessToken",
            post(oauth::access_token),
        )
        .route("/www.linkedin.com/oauth/v2/revoke", post(oauth::revoke))
        .route(
            "/www.linkedin.com/dms-uploads/{key}",
            put(api::upload).layer(DefaultBodyLimit::max(MAX_UPLOAD)),
        )
        .route("/api.linkedin.com/{*path}", any(api::api))
}
