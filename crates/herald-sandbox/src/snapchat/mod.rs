//! Snapchat's Public Profile API: Snap's OAuth 2.0 on `accounts.snapchat.com` (the consent page,
//! the token endpoint with rotating refresh tokens, revocation) and the API on
//! `businessapi.snapchat.com` (`/v1/`, the region-prefixed `/us/v1/` that upload paths name, and
//! `/public/v1/`): the user, its organizations and the Public Profiles it manages, media uploaded
//! encrypted (AES-256-CBC) in parts and decrypted by the sandbox, Stories, Saved Stories,
//! Spotlights and their review, and stats; plus `/_sandbox/snapchat`.
//!
//! Each fact is tagged: [official] (a developers.snap.com page, S1 to S13 of the research notes),
//! [3p] (open-source clients that call the API agree, C1 to C10; [3p-live] when one records a real
//! answer; G is a community OpenAPI file made from the docs), or [assumption] (nothing found: a
//! design consistent with Snap's Marketing API). Snap's pages were read only in part, so much of
//! the wire format is [3p] or [assumption].

mod api;
mod assets;
mod body;
mod content;
mod control;
mod crypto;
mod media;
mod oauth;
mod profiles;
mod stats;
mod world;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodRouter, any, get, post};

pub(crate) use api::error;
pub(crate) use control::{posted, routes as control_routes};
pub(crate) use world::World;

use crate::Sandbox;

/// The scopes Snap's OAuth knows [official S8], with what the consent page tells the person; the
/// Public Profile API's is `snapchat-profile-api` [G; 3p×7].
pub(crate) const SCOPES: &[(&str, &str)] = &[
    (
        "snapchat-profile-api",
        "Manage your Public Profiles: post Stories, Saved Stories and Spotlights, and read their insights",
    ),
    (
        "snapchat-marketing-api",
        "Manage your ad accounts, campaigns and creatives",
    ),
    (
        "snapchat-offline-conversions-api",
        "Send offline conversion events",
    ),
];

/// The scope every Public Profile API call needs.
pub(crate) const PROFILE_SCOPE: &str = "snapchat-profile-api";
/// The API's host [official S3, S5, S7].
pub(crate) const API_HOST: &str = "businessapi.snapchat.com";
/// The largest body the API paths read: a 32 MiB part with room over it, so that a part past
/// 32 MiB gets Snap's own refusal rather than the server's.
const MAX_BODY: usize = 64 * 1024 * 1024;

pub(crate) fn routes() -> Router<Sandbox> {
    Router::new()
        .route(
            "/accounts.snapchat.com/login/oauth2/authorize",
            get(oauth::consent_page).post(oauth::consent_decision),
        )
        .route(
            "/accounts.snapchat.com/login/oauth2/access_token",
            post(oauth::token),
        )
        .route(
            "/accounts.snapchat.com/accounts/oauth2/revoke",
            post(oauth::revoke),
        )
        .route(&format!("/{API_HOST}/v1/{{*path}}"), api_route())
        .route(&format!("/{API_HOST}/us/v1/{{*path}}"), api_route())
        .route(&format!("/{API_HOST}/public/v1/{{*path}}"), api_route())
}

/// An API path: the front door, reading bodies up to [`MAX_BODY`].
fn api_route() -> MethodRouter<Sandbox> {
    any(api::api).layer(DefaultBodyLimit::max(MAX_BODY))
}
