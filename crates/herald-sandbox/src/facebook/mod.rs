//! Facebook Login and Pages: the login dialog on `www.facebook.com`, and `graph.facebook.com` for
//! tokens, the person's Pages and their tokens, and Page posts and photos.

mod api;
mod engagement;
mod oauth;
mod video;
mod world;

use axum::Router;
use axum::routing::{any, get};

pub(crate) use world::World;

/// What the sandbox's control API shows of Facebook: Pages, posts and photos.
pub(crate) fn overview(w: &World, now: jiff::Timestamp) -> serde_json::Value {
    serde_json::json!({
        "pages": w.pages.iter().map(|p| serde_json::json!({"id": p.id.to_string(), "name": p.name, "instagram_business_account": p.instagram.as_ref().map(|(id, u)| serde_json::json!({"id": id.to_string(), "username": u}))})).collect::<Vec<_>>(),
        "posts": w.posts.iter().map(|p| {
            let mut v = serde_json::json!(p);
            v["insights"] = engagement::insights_now(w, p, now);
            v
        }).collect::<Vec<_>>(),
        "comments": w.comments,
        "videos": w.videos,
        "photos": w.photos,
    })
}

use crate::Sandbox;

/// Every issued token with whom it belongs to, by fingerprint (the control API's view, never Graph's).
pub(crate) fn tokens(w: &World) -> serde_json::Value {
    let data: Vec<_> = w
        .tokens
        .iter()
        .map(|(token, t)| {
            let kind = match t.kind {
                world::TokenKind::ShortLivedUser => "short_lived_user".to_owned(),
                world::TokenKind::LongLivedUser => "long_lived_user".to_owned(),
                world::TokenKind::Page(id) => format!("page:{id}"),
            };
            serde_json::json!({"fingerprint": crate::control::fingerprint(token), "user_id": t.user_id.to_string(), "kind": kind, "expires_at": t.expires_at})
        })
        .collect();
    serde_json::json!({ "data": data })
}

/// The permissions Facebook Login knows that Herald may ask for, with the dialog's wording.
pub(crate) const SCOPES: &[(&str, &str)] = &[
    ("public_profile", "Your name and profile picture"),
    ("pages_show_list", "Show a list of the Pages you manage"),
    ("pages_read_engagement", "Read content posted on the Page"),
    ("pages_manage_posts", "Create and manage content on your Page"),
    (
        "pages_manage_engagement",
        "Create and manage comments on your Page",
    ),
    ("pages_read_user_content", "Read user content on your Page"),
    ("read_insights", "Read Page insights"),
    ("publish_video", "Publish videos to your Page"),
    ("business_management", "Manage your business"),
    (
        "instagram_basic",
        "Access profile and posts from the Instagram account connected to your Page",
    ),
    (
        "instagram_content_publish",
        "Create content on the Instagram account connected to your Page",
    ),
    (
        "instagram_manage_comments",
        "Manage comments for the Instagram account connected to your Page",
    ),
    (
        "instagram_manage_insights",
        "Read insights for the Instagram account connected to your Page",
    ),
];

pub(crate) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/www.facebook.com/{version}/dialog/oauth", get(oauth::dialog))
        .route(
            "/www.facebook.com/dialog/oauth",
            get(oauth::dialog).post(oauth::decision),
        )
        .route("/graph.facebook.com/{*path}", any(api::graph))
        .route(
            "/rupload.facebook.com/video-upload/{version}/{video_id}",
            axum::routing::post(video::upload),
        )
}
