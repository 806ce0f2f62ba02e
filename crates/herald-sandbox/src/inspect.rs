//! What a fault harness asks the sandbox: how many times each piece of content was published (by
//! a fingerprint of what was sent, so "exactly one" can be checked without Herald's word), and
//! many accounts to publish to.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sha2::Digest;

use crate::Sandbox;

/// The most Pages one seeding adds.
const MAX_SEEDED_PAGES: usize = 100_000;

/// One piece of content and every publication of it.
#[derive(Default, serde::Serialize)]
struct Publication {
    platform: &'static str,
    /// The Page or Instagram account it is on.
    object: String,
    message: String,
    kind: String,
    ids: Vec<String>,
    first_at: Option<jiff::Timestamp>,
}

fn fingerprint(parts: &[&str]) -> String {
    hex::encode(&sha2::Sha256::digest(parts.join("\n").as_bytes())[..12])
}

/// `GET /_sandbox/publications`: every published post and media object, grouped by a fingerprint
/// of its account, text, link and kind, with how many times each was published.
pub(crate) async fn publications(State(sb): State<Sandbox>) -> Json<serde_json::Value> {
    let mut by: BTreeMap<String, Publication> = BTreeMap::new();
    let mut add =
        |platform: &'static str, object: String, message: &str, extra: &str, kind: &str, id: String, at| {
            let p = by
                .entry(fingerprint(&[platform, &object, message, extra, kind]))
                .or_insert_with(|| Publication {
                    platform,
                    object: object.clone(),
                    message: message.to_owned(),
                    kind: kind.to_owned(),
                    ..Publication::default()
                });
            p.ids.push(id);
            p.first_at = Some(p.first_at.map_or(at, |f: jiff::Timestamp| f.min(at)));
        };
    {
        let mut w = sb.facebook();
        w.settle(sb.clock().now());
        for post in &w.posts {
            let extra = format!(
                "{}|{}",
                post.link.as_deref().unwrap_or_default(),
                post.photos.len()
            );
            add(
                "facebook",
                post.page_id.to_string(),
                &post.message,
                &extra,
                post.kind,
                post.id.clone(),
                post.created_time,
            );
        }
    }
    for m in &sb.instagram().media {
        add(
            "instagram",
            m.owner.to_string(),
            &m.caption,
            "",
            m.media_type,
            m.id.to_string(),
            m.timestamp,
        );
    }
    let posted = crate::snapchat::posted(&sb.snapchat());
    for p in posted {
        add("snapchat", p.profile_id, &p.text, &p.content, p.kind, p.id, p.at);
    }
    for p in &sb.pinterest().pins {
        let extra = format!(
            "{}|{}|{}",
            p.title.as_deref().unwrap_or_default(),
            p.link.as_deref().unwrap_or_default(),
            p.images.len()
        );
        add(
            "pinterest",
            p.board_id.clone(),
            p.description.as_deref().unwrap_or_default(),
            &extra,
            p.media_type,
            p.id.clone(),
            p.created_at,
        );
    }
    let data: Vec<_> = by
        .into_iter()
        .map(|(fp, p)| {
            json!({"fingerprint": fp, "count": p.ids.len(), "platform": p.platform, "object": p.object,
            "message": p.message, "kind": p.kind, "ids": p.ids, "first_at": p.first_at})
        })
        .collect();
    Json(json!({ "data": data }))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Seed {
    count: usize,
}

/// `POST /_sandbox/facebook/pages {"count": N}`: N more Pages administered by the sandbox's person,
/// for a harness to publish to many accounts at once.
pub(crate) async fn seed_pages(State(sb): State<Sandbox>, Json(s): Json<Seed>) -> Response {
    if s.count == 0 || s.count > MAX_SEEDED_PAGES {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": {"code": "invalid_count", "message": format!("`count` must be between 1 and {MAX_SEEDED_PAGES}")}})),
        )
            .into_response();
    }
    let ids = sb.facebook().seed_pages(s.count);
    Json(json!({ "data": ids.iter().map(ToString::to_string).collect::<Vec<_>>() })).into_response()
}
