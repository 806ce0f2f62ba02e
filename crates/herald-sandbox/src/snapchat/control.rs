//! `/_sandbox/snapchat`: what the emulated Snapchat holds (the user, organizations and profiles,
//! grants, tokens as fingerprints only, media with the digest of what decrypted, Stories, Saved
//! Stories and Spotlights), its switches (allow-listing, the refresh grace, media still
//! processing, failing Saved Story items, rejected Spotlights), the person removing the app, and
//! faults queued on its operations.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jiff::Timestamp;
use serde_json::{Value, json};

use super::world::{USER, World};
use crate::Sandbox;
use crate::control::fingerprint;
use crate::faults::Fault;
use crate::meter::UseCase;

pub(crate) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/_sandbox/snapchat", get(state))
        .route("/_sandbox/snapchat/faults", post(fault))
        .route("/_sandbox/snapchat/app", post(app))
        .route("/_sandbox/snapchat/revoke", post(revoke))
}

/// Everything, as JSON (no token, key or IV ever appears).
async fn state(State(sb): State<Sandbox>) -> Json<Value> {
    let now = sb.clock().now();
    Json(overview(&sb.snapchat(), now))
}

fn overview(w: &World, now: Timestamp) -> Value {
    let profiles: Vec<Value> = w
        .profiles
        .iter()
        .map(|p| {
            let mut v = json!(p);
            v["managed"] = json!(w.manages(USER, &p.id));
            v
        })
        .collect();
    let grants: Vec<Value> = w
        .grants
        .iter()
        .map(|((app, user), scopes)| json!({"client_id": app, "user_id": user, "scopes": scopes}))
        .collect();
    let tokens: Vec<Value> = w
        .tokens
        .iter()
        .map(|(t, v)| {
            json!({"fingerprint": fingerprint(t), "user_id": v.user_id, "kind": v.kind, "scopes": v.scopes,
                "issued_at": v.issued_at, "expires_at": v.expires_at, "expired": !v.live(now)})
        })
        .collect();
    let mut media: Vec<_> = w.media.values().collect();
    media.sort_by_key(|m| m.created_at);
    let media: Vec<Value> = media
        .iter()
        .map(|m| {
            let (finished, failure) = match &m.finalized {
                Some(Ok(f)) => (Some(f), None),
                Some(Err(why)) => (None, Some(why)),
                None => (None, None),
            };
            json!({"media_id": m.id, "profile_id": m.profile_id, "type": m.kind, "name": m.name,
                "status": m.status(now), "parts": m.parts, "ciphertext_bytes": m.ciphertext_bytes,
                "sha256": finished.map(|f| &f.sha256), "bytes": finished.map(|f| f.bytes),
                "detected": finished.map(|f| f.detected), "failure": failure,
                "created_at": m.created_at, "expires_at": m.expires_at(), "ready_at": m.ready_at,
                "posted_as": m.used_by.as_ref().map(|(what, id)| json!({"kind": what, "id": id}))})
        })
        .collect();
    let spotlights: Vec<Value> = w
        .spotlights
        .iter()
        .map(|s| {
            let mut v = json!(s);
            v["status"] = json!(s.status(now));
            v["share_link"] = json!(s.share_link());
            v
        })
        .collect();
    json!({"clock": now, "users": w.users, "organizations": w.organizations, "profiles": profiles,
        "grants": grants, "tokens": tokens, "settings": w.settings, "media": media,
        "stories": w.stories, "saved_stories": w.saved_stories, "spotlights": spotlights})
}

/// One post, as `/_sandbox/publications` counts them.
pub(crate) struct Posted {
    pub profile_id: String,
    /// A Saved Story's title or a Spotlight's description (a Story has none).
    pub text: String,
    /// What was posted: the SHA-256 of each media's plaintext (the media id once it is forgotten),
    /// so the same file uploaded and posted twice counts as the same content.
    pub content: String,
    pub kind: &'static str,
    pub id: String,
    pub at: Timestamp,
}

/// Every Story, Saved Story and Spotlight, oldest first within each kind, for
/// `/_sandbox/publications`.
pub(crate) fn posted(w: &World) -> Vec<Posted> {
    let content = |media_id: &str| {
        let finished = w.media.get(media_id).and_then(|m| m.finalized.as_ref());
        match finished {
            Some(Ok(f)) => f.sha256.clone(),
            _ => media_id.to_owned(),
        }
    };
    let post = |profile_id: &str, text: &str, content: String, kind, id: &str, at| Posted {
        profile_id: profile_id.to_owned(),
        text: text.to_owned(),
        content,
        kind,
        id: id.to_owned(),
        at,
    };
    let stories = w.stories.iter().map(|s| {
        post(
            &s.profile_id,
            "",
            content(&s.media_id),
            "story",
            &s.id,
            s.created_at,
        )
    });
    let saved = w.saved_stories.iter().map(|s| {
        let all: Vec<String> = s.media_ids.iter().map(|m| content(m.as_str())).collect();
        post(
            &s.profile_id,
            &s.title,
            all.join(","),
            "saved_story",
            &s.id,
            s.created_at,
        )
    });
    let spotlights = w.spotlights.iter().map(|s| {
        let media = content(&s.media_id);
        post(
            &s.profile_id,
            &s.description,
            media,
            "spotlight",
            &s.id,
            s.created_at,
        )
    });
    stories.chain(saved).chain(spotlights).collect()
}

/// Queues a fault on Snapchat (`operation`: `token`, `revoke`, `me`, `organizations`,
/// `public_profiles`, `my_profile`, `public_profile`, `media`, `add`, `finalize`, `stories`,
/// `saved_stories`, `spotlights`, `spotlight`, `stats`, or `any`; a rate limit answers 429 until
/// it lapses).
async fn fault(State(sb): State<Sandbox>, Json(f): Json<Fault>) -> Response {
    match sb.meter().queue(UseCase::Snapchat, f) {
        Some(queued) => Json(json!({ "queued": queued })).into_response(),
        None => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": {"code": "too_many_faults",
                "message": format!("at most {} faults wait at once; let some fire first", crate::meter::MAX_FAULTS)}})),
        )
            .into_response(),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AppSettings {
    allow_listed: Option<bool>,
    refresh_grace_seconds: Option<u64>,
    media_processing: Option<u32>,
    saved_story_failures: Option<u32>,
    reject_spotlights: Option<bool>,
}

/// Sets whether Snap allow-listed the app (when not, every API call is a 403 with an empty body),
/// how long a rotated refresh token keeps working, how many coming posts answer
/// `MEDIA_PROCESSING`, how many coming Saved Story items fail, and whether review rejects the
/// Spotlights posted from now on.
async fn app(State(sb): State<Sandbox>, Json(a): Json<AppSettings>) -> Json<Value> {
    let mut w = sb.snapchat();
    let s = &mut w.settings;
    if let Some(v) = a.allow_listed {
        s.allow_listed = v;
    }
    if let Some(v) = a.refresh_grace_seconds {
        s.refresh_grace_seconds = v.min(24 * 3600);
    }
    if let Some(v) = a.media_processing {
        s.media_processing = v;
    }
    if let Some(v) = a.saved_story_failures {
        s.saved_story_failures = v;
    }
    if let Some(v) = a.reject_spotlights {
        s.reject_spotlights = v;
    }
    Json(json!(s))
}

/// As if the person removed the app in Business Manager: every grant of the user, and every token
/// of it, ends.
async fn revoke(State(sb): State<Sandbox>) -> Response {
    let mut w = sb.snapchat();
    let keys: Vec<(String, String)> = w.grants.keys().filter(|(_, u)| u == USER).cloned().collect();
    if keys.is_empty() {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no grant to revoke"})),
        )
            .into_response();
    }
    for key in &keys {
        super::oauth::end_grant(&mut w, key);
    }
    Json(json!({"revoked": keys.len()})).into_response()
}
