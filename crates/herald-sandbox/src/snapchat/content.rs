//! Posting a finalized, processed media (each media once) [3p×8 for the paths and bodies; C7 lists
//! the fields from the docs]: a Public Story (`POST .../stories {media_id, customized_ttl?}`,
//! answered with a request id only [3p: C2]), Saved Stories (`POST .../saved_stories`, titles of at
//! most 45 characters, answered in the batch envelope, an item's failure as its own
//! `sub_request_status`) [3p], and Spotlights (video only; `locale` required, a description of at
//! most 160 characters; answered with `spotlight_id`; `SUBMITTED` under review for the sandbox's
//! processing delay, then `LIVE` or `REJECTED` at `GET .../spotlights/{id}`) [3p: C1, C2, C3].
//!
//! Snap documents no way to list or delete posted content [facts §5], so there is none here; a
//! client reconciles after a lost answer with what is documented: a Spotlight's status by its id,
//! the stats endpoint (which lists every asset of a type), and `MEDIA_POSTING_ALREADY_IN_PROGRESS`
//! for a media already posted [assumption].

use axum::http::StatusCode;
use axum::response::Response;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::api::{Refusal, answer, invalid, item, managed, not_found, ok, refusal, request_id};
use super::assets::{MediaKind, SavedStory, Spotlight, Story};
use super::world::{Token, World, uuid};
use crate::Sandbox;

/// A Saved Story's title, and a Spotlight's description (hashtags included) [3p: every client].
const TITLE_MAX: usize = 45;
const DESCRIPTION_MAX: usize = 160;
/// The most Saved Stories one call creates, and snaps one Saved Story holds [assumption].
const MAX_ITEMS: usize = 20;
const MAX_SNAPS: usize = 20;
/// A Story's lifetimes [3p: C5 and another client]; a day unless asked.
const TTLS: &[(&str, i64)] = &[
    ("ONE_DAY", 24),
    ("TWO_DAYS", 48),
    ("THREE_DAYS", 72),
    ("ONE_WEEK", 168),
];

/// Why a media cannot be posted: an error code and its debug message.
struct Snag {
    code: &'static str,
    message: String,
}

impl Snag {
    fn new(code: &'static str, message: &str) -> Self {
        Self {
            code,
            message: message.to_owned(),
        }
    }

    fn refusal(&self) -> Refusal {
        refusal(StatusCode::BAD_REQUEST, self.code, &self.message)
    }
}

/// The media a post names, when it can be posted now: the profile's, finalized, processed, not
/// expired, not posted before (and a video, for a Spotlight).
fn ready(
    world: &mut World,
    profile_id: &str,
    media_id: &str,
    video_only: bool,
    now: Timestamp,
) -> Result<MediaKind, Snag> {
    let Some(m) = world.media.get(media_id) else {
        return Err(Snag::new("INVALID_MEDIA", "No such media"));
    };
    if m.profile_id != profile_id {
        return Err(Snag::new(
            "INVALID_MEDIA",
            "The media belongs to another Public Profile",
        ));
    }
    let (kind, status, used) = (m.kind, m.status(now), m.used_by.as_ref().map(|(what, _)| *what));
    let failure = m.finalized.as_ref().and_then(|f| f.as_ref().err().cloned());
    if video_only && kind != MediaKind::Video {
        return Err(Snag::new("INVALID_MEDIA", "A Spotlight takes a VIDEO media only"));
    }
    match status {
        "EXPIRED" => {
            return Err(Snag::new("MEDIA_EXPIRED", "The media has expired"));
        }
        "PENDING_UPLOAD" => return Err(Snag::new("INVALID_MEDIA", "The media was not finalized")),
        "FAILED" => return Err(Snag::new("INVALID_MEDIA", &failure.unwrap_or_default())),
        _ => {}
    }
    if let Some(what) = used {
        let message = format!("The media is already posted (as a {what}); a media is posted once");
        return Err(Snag::new("MEDIA_POSTING_ALREADY_IN_PROGRESS", &message));
    }
    if world.settings.media_processing > 0 {
        world.settings.media_processing -= 1;
        return Err(Snag::new("MEDIA_PROCESSING", "Media is still being processed"));
    }
    if status == "PROCESSING" {
        return Err(Snag::new("MEDIA_PROCESSING", "Media is still being processed"));
    }
    Ok(kind)
}

/// Records that the media was posted as `what`.
fn mark(world: &mut World, media_id: &str, what: &'static str, id: &str) {
    if let Some(m) = world.media.get_mut(media_id) {
        m.used_by = Some((what, id.to_owned()));
    }
}

fn media_id(body: &Value) -> Result<&str, Refusal> {
    body["media_id"]
        .as_str()
        .filter(|m| !m.is_empty())
        .ok_or_else(|| invalid("media_id is required"))
}

/// `POST /v1/public_profiles/{id}/stories`.
pub(super) fn story(
    sb: &Sandbox,
    t: &Token,
    profile_id: &str,
    body: &Value,
    now: Timestamp,
) -> Result<Response, Refusal> {
    let mut world = sb.snapchat();
    managed(&world, t, profile_id)?;
    let media = media_id(body)?;
    let (ttl, hours) = match body.get("customized_ttl") {
        None | Some(Value::Null) => TTLS[0],
        Some(v) => {
            let asked = v["ttl"].as_str().unwrap_or_default();
            TTLS.iter()
                .copied()
                .find(|(name, _)| *name == asked)
                .ok_or_else(|| {
                    invalid("customized_ttl.ttl must be ONE_DAY, TWO_DAYS, THREE_DAYS or ONE_WEEK")
                })?
        }
    };
    let kind = ready(&mut world, profile_id, media, false, now).map_err(|s| s.refusal())?;
    let (id, rid) = (uuid(), request_id());
    world.stories.push(Story {
        id: id.clone(),
        profile_id: profile_id.to_owned(),
        media_id: media.to_owned(),
        kind,
        ttl,
        request_id: rid.clone(),
        created_at: now,
        expires_at: now + SignedDuration::from_hours(hours),
    });
    mark(&mut world, media, "story", &id);
    Ok(answer(rid, json!({})))
}

/// A Saved Story asked for: its title and its snaps' media.
struct Asked {
    title: String,
    media: Vec<String>,
}

/// The Saved Stories of a request, each checked; a bad one refuses the whole request.
fn asked(body: &Value) -> Result<Vec<Asked>, Refusal> {
    let items = body["saved_stories"]
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| invalid("saved_stories must be a non-empty array"))?;
    if items.len() > MAX_ITEMS {
        return Err(invalid("At most 20 saved stories can be created at once"));
    }
    items
        .iter()
        .map(|it| -> Result<Asked, Refusal> {
            let title = it["title"]
                .as_str()
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| invalid("Each saved story needs a title"))?;
            let length = title.chars().count();
            if length > TITLE_MAX {
                let message =
                    format!("The title has {length} characters; a Saved Story's title has at most 45");
                return Err(refusal(StatusCode::BAD_REQUEST, "INVALID_TITLE", &message));
            }
            let sources = it["snap_sources"]
                .as_array()
                .filter(|a| (1..=MAX_SNAPS).contains(&a.len()))
                .ok_or_else(|| invalid("Each saved story needs 1 to 20 snap_sources"))?;
            let media: Vec<String> = sources
                .iter()
                .map(|s| {
                    s["media_id"]
                        .as_str()
                        .filter(|m| !m.is_empty())
                        .map(str::to_owned)
                })
                .collect::<Option<_>>()
                .ok_or_else(|| invalid("Each snap source needs a media_id"))?;
            if media.iter().enumerate().any(|(i, m)| media[..i].contains(m)) {
                return Err(invalid("A media_id appears twice in one saved story"));
            }
            Ok(Asked {
                title: title.to_owned(),
                media,
            })
        })
        .collect()
}

/// `POST /v1/public_profiles/{id}/saved_stories`: every item made whose media can be posted; when
/// none can, the first reason as a 400; when some cannot (or the control API makes an item fail),
/// `PARTIAL` with each item's own status.
pub(super) fn saved_stories(
    sb: &Sandbox,
    t: &Token,
    profile_id: &str,
    body: &Value,
    now: Timestamp,
) -> Result<Response, Refusal> {
    let mut world = sb.snapchat();
    managed(&world, t, profile_id)?;
    let asked = asked(body)?;
    let (mut results, mut snags, mut made, mut forced) = (Vec::new(), Vec::new(), 0usize, false);
    for a in asked {
        let failed = |reason: &str| {
            json!({"sub_request_status": "ERROR", "sub_request_error_reason": reason,
                "saved_story": {"title": a.title}})
        };
        if world.settings.saved_story_failures > 0 {
            world.settings.saved_story_failures -= 1;
            forced = true;
            results.push(failed(
                "Internal error: the saved story was not created; please retry",
            ));
            continue;
        }
        let checked = a
            .media
            .iter()
            .try_for_each(|m| ready(&mut world, profile_id, m, false, now).map(drop));
        if let Err(snag) = checked {
            results.push(failed(&snag.message));
            snags.push(snag);
            continue;
        }
        let id = uuid();
        for m in &a.media {
            mark(&mut world, m, "saved_story", &id);
        }
        results.push(item("saved_story", json!({"id": id, "title": a.title})));
        world.saved_stories.push(SavedStory {
            id,
            profile_id: profile_id.to_owned(),
            title: a.title,
            media_ids: a.media,
            created_at: now,
        });
        made += 1;
    }
    if made == 0
        && !forced
        && let Some(first) = snags.first()
    {
        return Err(first.refusal());
    }
    let status = if made == results.len() {
        "SUCCESS"
    } else {
        "PARTIAL"
    };
    Ok(ok(json!({"request_status": status, "saved_stories": results})))
}

/// A locale as Snap writes them: `en_US` [3p].
fn is_locale(l: &str) -> bool {
    let b = l.as_bytes();
    b.len() == 5
        && b[..2].iter().all(u8::is_ascii_lowercase)
        && b[2] == b'_'
        && b[3..].iter().all(u8::is_ascii_uppercase)
}

/// `POST /v1/public_profiles/{id}/spotlights`.
pub(super) fn spotlight(
    sb: &Sandbox,
    t: &Token,
    profile_id: &str,
    body: &Value,
    now: Timestamp,
) -> Result<Response, Refusal> {
    let review = SignedDuration::try_from(sb.config().processing_delay).unwrap_or_default();
    let mut world = sb.snapchat();
    managed(&world, t, profile_id)?;
    let media = media_id(body)?;
    let locale = body["locale"]
        .as_str()
        .filter(|l| !l.is_empty())
        .ok_or_else(|| invalid("locale is required for a Spotlight"))?;
    if !is_locale(locale) {
        return Err(invalid("locale must be a language and a country, as en_US"));
    }
    let description = match &body["description"] {
        Value::Null => "",
        Value::String(s) => s.as_str(),
        _ => return Err(invalid("description must be a string")),
    };
    let length = description.chars().count();
    if length > DESCRIPTION_MAX {
        let message = format!("The description has {length} characters; a Spotlight's has at most 160");
        return Err(refusal(StatusCode::BAD_REQUEST, "INVALID_DESCRIPTION", &message));
    }
    let skip = match &body["skip_save_to_profile"] {
        Value::Null => false,
        Value::Bool(b) => *b,
        _ => return Err(invalid("skip_save_to_profile must be true or false")),
    };
    ready(&mut world, profile_id, media, true, now).map_err(|s| s.refusal())?;
    let id = uuid();
    let rejected = world.settings.reject_spotlights;
    world.spotlights.push(Spotlight {
        id: id.clone(),
        profile_id: profile_id.to_owned(),
        media_id: media.to_owned(),
        description: description.to_owned(),
        locale: locale.to_owned(),
        skip_save_to_profile: skip,
        created_at: now,
        review_until: now + review,
        rejected,
    });
    mark(&mut world, media, "spotlight", &id);
    Ok(ok(json!({ "spotlight_id": id })))
}

/// `GET /v1/public_profiles/{id}/spotlights/{spotlight_id}`: its status, and its link once live.
pub(super) fn spotlight_status(
    sb: &Sandbox,
    t: &Token,
    profile_id: &str,
    id: &str,
    now: Timestamp,
) -> Result<Response, Refusal> {
    let world = sb.snapchat();
    managed(&world, t, profile_id)?;
    let s = world
        .spotlights
        .iter()
        .find(|s| s.id == id && s.profile_id == profile_id)
        .ok_or_else(|| not_found("No such Spotlight"))?;
    let status = s.status(now);
    let mut v = json!({"id": s.id, "status": status});
    if status == "LIVE" {
        v["share_link"] = json!(s.share_link());
    }
    Ok(ok(json!({"spotlights": [item("spotlight", v)]})))
}

#[cfg(test)]
mod tests {
    use super::is_locale;

    #[test]
    fn locales_are_a_language_and_a_country() {
        assert!(is_locale("en_US") && is_locale("de_DE"));
        assert!(!is_locale("en-US") && !is_locale("EN_us") && !is_locale("en") && !is_locale("éé_US"));
    }
}
