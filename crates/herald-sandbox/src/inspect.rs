//! What a fault harness or a benchmark asks the sandbox: how many times each piece of content was
//! published and when (by a fingerprint of what was sent, so "exactly one" and "not early" can be
//! checked without Herald's word), and many accounts to publish to.

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
    /// One token per Page, chosen by the caller: the Pages come granted to the Facebook app, each
    /// with its token (see [`crate::facebook::World::seed_granted_pages`]).
    #[serde(default)]
    tokens: Vec<String>,
}

/// The shortest and longest token a caller may choose.
const TOKEN_LENGTH: std::ops::RangeInclusive<usize> = 20..=256;

fn unprocessable(code: &str, message: String) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

/// What is wrong with the tokens a caller chose, if anything: one per Page, URL-safe, of a
/// plausible length, each new.
fn bad_tokens(s: &Seed, issued: impl Fn(&str) -> bool) -> Option<String> {
    if s.tokens.len() != s.count {
        return Some(format!(
            "`tokens` must hold one token per Page: {} for a `count` of {}",
            s.tokens.len(),
            s.count
        ));
    }
    let plausible = |t: &str| {
        TOKEN_LENGTH.contains(&t.len())
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if let Some(i) = s.tokens.iter().position(|t| !plausible(t)) {
        return Some(format!(
            "token {i} must be {} to {} letters, digits, `-` or `_`",
            TOKEN_LENGTH.start(),
            TOKEN_LENGTH.end()
        ));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(i) = s
        .tokens
        .iter()
        .position(|t| !seen.insert(t.as_str()) || issued(t.as_str()))
    {
        return Some(format!("token {i} is already in use"));
    }
    None
}

/// `POST /_sandbox/facebook/pages {"count": N}`: N more Pages administered by the sandbox's person,
/// for a harness to publish to many accounts at once. With `"tokens": [...]`, one per Page, the
/// Pages come granted to the Facebook app with the permissions publishing needs, each with its
/// token as its Page token, for a benchmark that writes the tokens into Herald's database itself.
/// The answer is the new Pages' ids, in the order of the tokens.
pub(crate) async fn seed_pages(State(sb): State<Sandbox>, Json(s): Json<Seed>) -> Response {
    if s.count == 0 || s.count > MAX_SEEDED_PAGES {
        return unprocessable(
            "invalid_count",
            format!("`count` must be between 1 and {MAX_SEEDED_PAGES}"),
        );
    }
    let ids = if s.tokens.is_empty() {
        sb.facebook().seed_pages(s.count)
    } else {
        let (client, now) = (sb.config().facebook_app.client_id, sb.clock().now());
        let mut w = sb.facebook();
        if let Some(message) = bad_tokens(&s, |t| w.tokens.contains_key(t)) {
            return unprocessable("invalid_tokens", message);
        }
        w.seed_granted_pages(&client, s.tokens, now)
    };
    Json(json!({ "data": ids.iter().map(ToString::to_string).collect::<Vec<_>>() })).into_response()
}
