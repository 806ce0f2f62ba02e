//! YouTube: Google's OAuth 2.0 (the consent page on `accounts.google.com`, tokens and revocation on
//! `oauth2.googleapis.com`) and the YouTube Data API v3, served alike on `www.googleapis.com` and
//! `youtube.googleapis.com` (uploads under `/upload/` and `/resumable/upload/`): channels, the
//! resumable video upload, thumbnails, the uploads playlist, comment threads and replies.

mod api;
mod comments;
mod consent;
mod lists;
mod methods;
mod oauth;
mod quota;
mod thumbnails;
mod upload;
mod world;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodRouter, any, get, post};
use jiff::Timestamp;
use serde_json::{Value, json};

pub(crate) use api::error;
pub(crate) use world::World;

use crate::Sandbox;
use crate::control::fingerprint;

/// What every YouTube scope URL starts with.
pub(crate) const SCOPE_PREFIX: &str = "https://www.googleapis.com/auth/";

/// The scopes Google's consent page knows for YouTube, with what it tells the person [official:
/// the discovery documents' scope descriptions], and the sign-in scopes.
pub(crate) const SCOPES: &[(&str, &str)] = &[
    (
        "https://www.googleapis.com/auth/youtube",
        "Manage your YouTube account",
    ),
    (
        "https://www.googleapis.com/auth/youtube.readonly",
        "View your YouTube account",
    ),
    (
        "https://www.googleapis.com/auth/youtube.upload",
        "Manage your YouTube videos",
    ),
    (
        "https://www.googleapis.com/auth/youtube.force-ssl",
        "See, edit, and permanently delete your YouTube videos, ratings, comments and captions",
    ),
    (
        "https://www.googleapis.com/auth/yt-analytics.readonly",
        "View YouTube Analytics reports for your YouTube content",
    ),
    ("openid", "Associate you with your personal info on Google"),
    ("email", "See your primary Google Account email address"),
    (
        "profile",
        "See your personal info, including any personal info you've made publicly available",
    ),
];

/// The hosts that serve the Data API: the one Google's guides use, and the discovery document's root.
pub(crate) const API_HOSTS: [&str; 2] = ["www.googleapis.com", "youtube.googleapis.com"];

/// The largest body an upload path reads: a chunk, or a whole video sent at once (Google's Python
/// client sends 100 MiB chunks).
const MAX_UPLOAD_BODY: usize = 128 * 1024 * 1024;

pub(crate) fn routes() -> Router<Sandbox> {
    let mut r = Router::new()
        .route(
            "/accounts.google.com/o/oauth2/v2/auth",
            get(consent::form).post(consent::decision),
        )
        .route("/oauth2.googleapis.com/token", post(oauth::token))
        .route("/oauth2.googleapis.com/revoke", post(oauth::revoke));
    for host in API_HOSTS {
        r = r
            .route(&format!("/{host}/youtube/v3/{{*path}}"), any(api::api))
            .route(&format!("/{host}/upload/youtube/v3/{{*path}}"), upload_route())
            .route(
                &format!("/{host}/resumable/upload/youtube/v3/{{*path}}"),
                upload_route(),
            );
    }
    r
}

/// An upload path: the API's handler, reading bodies up to [`MAX_UPLOAD_BODY`].
fn upload_route() -> MethodRouter<Sandbox> {
    any(api::api).layer(DefaultBodyLimit::max(MAX_UPLOAD_BODY))
}

/// What the sandbox's control API shows of YouTube: channels and what each may do, grants, tokens
/// (fingerprints), the app's status and quota, upload sessions, and videos with their comments.
pub(crate) fn overview(w: &World, now: Timestamp) -> Value {
    let tokens: Vec<_> = w
        .tokens
        .iter()
        .map(|(t, v)| {
            json!({"fingerprint": fingerprint(t), "channel_id": v.channel_id, "kind": v.kind,
            "scopes": v.scopes, "expires_at": v.expires_at, "expired": !v.live(now)})
        })
        .collect();
    let grants: Vec<_> = w
        .grants
        .iter()
        .map(|((app, channel), scopes)| json!({"client_id": app, "channel_id": channel, "scopes": scopes}))
        .collect();
    let mut sessions: Vec<_> = w.sessions.values().collect();
    sessions.sort_by_key(|s| s.created_at);
    let sessions: Vec<_> = sessions
        .iter()
        .map(|s| {
            json!({"upload_id": s.upload_id, "channel_id": s.channel_id, "declared_bytes": s.declared_bytes,
            "received_bytes": s.received_bytes, "created_at": s.created_at, "video_id": s.video_id})
        })
        .collect();
    let videos: Vec<_> = w
        .videos
        .iter()
        .map(|v| {
            let mut j = json!(v);
            j["comments"] = json!(
                w.comments
                    .iter()
                    .filter(|c| c.video_id == v.id)
                    .collect::<Vec<_>>()
            );
            j
        })
        .collect();
    json!({"channels": w.channels, "grants": grants, "tokens": tokens, "app": app(w, now),
        "sessions": sessions, "videos": videos})
}

/// The app as the control API shows and sets it: whether Google verified it, whether its
/// publishing status is Testing, its daily units, what an upload costs and the units used today.
pub(crate) fn app(w: &World, now: Timestamp) -> Value {
    json!({"verified": w.verified, "testing": w.testing, "daily_units": w.quota.daily_units,
        "insert_cost": w.quota.insert_cost, "units_used": w.quota.spent(now)})
}
