//! Media uploads [official S3: the steps, the create call's fields, AES-256-CBC with a 32-byte key
//! and a 16-byte IV sent base64-encoded, 24 hours to post]: `POST /v1/public_profiles/{id}/media`
//! `{type, name, key, iv}` answers a flat `media_id`, `add_path` and `finalize_path` [3p-live: C1;
//! 3p×4; assumption: the paths' form, after the Ads API's]; then multipart `POST`s to those paths:
//! `action=ADD` with `part_number` (1-based, in order; a retried part with the same bytes is taken
//! again without effect) and `file` (the ciphertext, at most 32 MiB a request, framing included,
//! else "Media size is too large" [3p-live: C1]; at most 35 parts and 1 GiB [3p×4]), and
//! `action=FINALIZE`. The ciphertext is decrypted as it arrives (never kept); FINALIZE checks the
//! padding and what the plaintext is (an MP4's `ftyp` box for a VIDEO, JPEG or PNG for an IMAGE,
//! at most 20 MB [3p]), keeps its SHA-256 and size, and the media is processed for the sandbox's
//! processing delay [assumption: the emulator design of the facts].

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use sha2::Digest;

use super::api::{Refusal, denied, invalid, managed, not_found, ok, refusal};
use super::assets::{Finished, Media, MediaKind, Part};
use super::body::Body;
use super::crypto::{Decryption, IV_BYTES, KEY_BYTES, Plaintext, detect};
use super::world::{Token, uuid};
use crate::Sandbox;

/// A part's request, framing included: 32 MiB [3p-live: C1 saw one with a part of exactly
/// 33,554,432 bytes refused].
const MAX_PART_BYTES: usize = 32 * 1024 * 1024;
const MAX_PARTS: u32 = 35;
/// All parts together: "1 GB" [3p×4], taken as 1 GiB.
const MAX_MEDIA_BYTES: u64 = 1024 * 1024 * 1024;
/// An image: 20 MB [3p: Ayrshare, Late], taken as 20 MiB.
const MAX_IMAGE_BYTES: u64 = 20 * 1024 * 1024;

/// 400 `INVALID_MEDIA` [assumption: the code, from the facts' emulator design].
fn invalid_media(debug_message: &str) -> Refusal {
    refusal(StatusCode::BAD_REQUEST, "INVALID_MEDIA", debug_message)
}

/// A request past 32 MiB, or media past 1 GiB [3p-live: C1, the message].
fn too_large() -> Refusal {
    invalid_media("Media size is too large")
}

/// 400 `MEDIA_EXPIRED`: the 24 hours have passed [3p: C7, the code].
fn expired() -> Refusal {
    refusal(
        StatusCode::BAD_REQUEST,
        "MEDIA_EXPIRED",
        "The media has expired: media can be used for 24 hours after it is created",
    )
}

/// A key or IV: the base64 of exactly `N` raw bytes.
fn raw<const N: usize>(body: &Value, field: &str) -> Result<[u8; N], Refusal> {
    let text = body[field]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid(&format!("{field} is required")))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| invalid(&format!("{field} must be base64-encoded")))?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| {
        invalid(&format!(
            "{field} must be the base64 of {N} raw bytes; it decodes to {} bytes",
            bytes.len()
        ))
    })
}

/// `POST /v1/public_profiles/{id}/media`.
pub(super) fn create(
    sb: &Sandbox,
    t: &Token,
    profile_id: &str,
    body: &Value,
    now: Timestamp,
) -> Result<Response, Refusal> {
    managed(&sb.snapchat(), t, profile_id)?;
    let kind = match body["type"].as_str() {
        Some("VIDEO") => MediaKind::Video,
        Some("IMAGE") => MediaKind::Image,
        _ => return Err(invalid("type must be VIDEO or IMAGE")),
    };
    let name = body["name"]
        .as_str()
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| invalid("name is required"))?;
    let key: [u8; KEY_BYTES] = raw(body, "key")?;
    let iv: [u8; IV_BYTES] = raw(body, "iv")?;
    let id = uuid();
    let media = Media {
        id: id.clone(),
        profile_id: profile_id.to_owned(),
        kind,
        name: name.to_owned(),
        parts: Vec::new(),
        ciphertext_bytes: 0,
        decryption: Some(Decryption::new(&key, &iv)),
        finalized: None,
        created_at: now,
        ready_at: None,
        used_by: None,
    };
    sb.snapchat().add_media(media, now);
    Ok(ok(json!({
        "media_id": id,
        "add_path": format!("/us/v1/media/{id}/multipart-upload-v2?action=ADD"),
        "finalize_path": format!("/v1/media/{id}/multipart-upload-v2?action=FINALIZE"),
    })))
}

/// `POST /v1/media/{id}/multipart-upload-v2` (or under `/us/`): `action` in the form, or else in
/// the query.
pub(super) fn upload(
    sb: &Sandbox,
    t: &Token,
    media_id: &str,
    query: &BTreeMap<String, String>,
    body: &Body,
    now: Timestamp,
) -> Result<Response, Refusal> {
    let none = BTreeMap::new();
    let (fields, file, size) = match body {
        Body::Form { fields, file, size } => (fields, file.as_ref(), *size),
        Body::Empty => (&none, None, 0),
        Body::TooLarge => return Err(too_large()),
        Body::Bad(why) => return Err(invalid(why)),
        Body::Json(_) => return Err(invalid("The upload takes a multipart/form-data body")),
    };
    let action = fields.get("action").or_else(|| query.get("action"));
    let delay = SignedDuration::try_from(sb.config().processing_delay).unwrap_or_default();
    let mut world = sb.snapchat();
    let owner = world
        .media
        .get(media_id)
        .map(|m| m.profile_id.clone())
        .ok_or_else(|| not_found("No such media"))?;
    if !world.manages(&t.user_id, &owner) {
        return Err(denied());
    }
    let Some(m) = world.media.get_mut(media_id) else {
        return Err(not_found("No such media"));
    };
    if m.status(now) == "EXPIRED" {
        return Err(expired());
    }
    match action.map(String::as_str) {
        Some("ADD") => add(m, fields, file, size),
        Some("FINALIZE") => finalize(m, delay, now),
        _ => Err(invalid("action must be ADD or FINALIZE")),
    }
}

/// One part: decrypted on arrival, in order.
fn add(
    m: &mut Media,
    fields: &BTreeMap<String, String>,
    file: Option<&Bytes>,
    size: usize,
) -> Result<Response, Refusal> {
    if m.finalized.is_some() {
        return Err(invalid("The media was already finalized"));
    }
    if size > MAX_PART_BYTES {
        return Err(too_large());
    }
    let number: u32 = fields
        .get("part_number")
        .and_then(|n| n.trim().parse::<u32>().ok())
        .filter(|n| *n >= 1)
        .ok_or_else(|| invalid("part_number must be a whole number from 1"))?;
    let data = file
        .filter(|f| !f.is_empty())
        .ok_or_else(|| invalid("file is required"))?;
    let sha256 = hex::encode(sha2::Sha256::digest(data));
    if let Some(p) = m.parts.iter().find(|p| p.number == number) {
        return match p.sha256 == sha256 {
            true => Ok(ok(json!({}))),
            false => Err(invalid(&format!(
                "part {number} was already added, with other bytes"
            ))),
        };
    }
    let next = u32::try_from(m.parts.len()).unwrap_or(u32::MAX).saturating_add(1);
    if number > MAX_PARTS {
        return Err(invalid("A media takes at most 35 parts"));
    }
    if number != next {
        let message = format!("part_number {number} is out of order: the next part is {next}");
        return Err(invalid(&message));
    }
    let bytes = data.len() as u64;
    if m.ciphertext_bytes + bytes > MAX_MEDIA_BYTES {
        return Err(too_large());
    }
    let Some(d) = m.decryption.as_mut() else {
        return Err(invalid("The media was already finalized"));
    };
    d.feed(data);
    m.ciphertext_bytes += bytes;
    m.parts.push(Part {
        number,
        bytes,
        sha256,
    });
    Ok(ok(json!({})))
}

/// The end of the upload: the decryption's end, the media checked, processing begun. A repeated
/// FINALIZE answers as the first did.
fn finalize(m: &mut Media, delay: SignedDuration, now: Timestamp) -> Result<Response, Refusal> {
    if let Some(done) = &m.finalized {
        return match done {
            Ok(_) => Ok(ok(json!({}))),
            Err(why) => Err(invalid_media(why)),
        };
    }
    if m.parts.is_empty() {
        return Err(invalid_media("No part was added before FINALIZE"));
    }
    let Some(d) = m.decryption.take() else {
        return Err(invalid_media("The media cannot be finalized"));
    };
    let outcome = d
        .finish()
        .map_err(|why| format!("The media could not be decrypted: {why}"))
        .and_then(|p| check(m.kind, p));
    let answer = match &outcome {
        Ok(_) => Ok(ok(json!({}))),
        Err(why) => Err(invalid_media(why)),
    };
    if outcome.is_ok() {
        m.ready_at = Some(now + delay);
    }
    m.finalized = Some(outcome);
    answer
}

/// Whether the plaintext is what the media was created as.
fn check(kind: MediaKind, p: Plaintext) -> Result<Finished, String> {
    let detected = detect(&p.head);
    match (kind, detected) {
        (MediaKind::Video, Some("MP4")) | (MediaKind::Image, Some("JPEG" | "PNG")) => {}
        (MediaKind::Video, _) => {
            return Err(
                "The decrypted media is not an MP4 video (it does not start with an ftyp box)".into(),
            );
        }
        (MediaKind::Image, _) => return Err("The decrypted media is not a JPEG or PNG image".into()),
    }
    if kind == MediaKind::Image && p.bytes > MAX_IMAGE_BYTES {
        return Err(format!(
            "An image may be at most 20 MB; this one is {} bytes",
            p.bytes
        ));
    }
    Ok(Finished {
        sha256: p.sha256,
        bytes: p.bytes,
        detected: detected.unwrap_or_default(),
    })
}
