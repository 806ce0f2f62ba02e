//! The upload host an init names: `PUT` of each chunk in order, with `Content-Range: bytes
//! {first}-{last}/{total}` and the video's type; 206 for a chunk, 201 for the last, 416 (with how far
//! the upload got) for a chunk out of order, 400 for a wrong size, 403 once the hour is over, 404
//! for an upload nobody started. The bytes are hashed and their start probed, not kept; the video
//! is processed after the sandbox's processing delay.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::SignedDuration;
use sha2::Digest;

use super::api::UPLOAD_TTL;
use crate::Sandbox;

/// The largest last chunk (128 MB) and the largest other chunk.
const MAX_LAST_CHUNK: u64 = 128_000_000;

/// `Content-Range: bytes {first}-{last}/{total}`.
fn range(headers: &HeaderMap) -> Option<(u64, u64, u64)> {
    let v = headers.get(header::CONTENT_RANGE)?.to_str().ok()?;
    let (span, total) = v.trim().strip_prefix("bytes ")?.split_once('/')?;
    let (first, last) = span.split_once('-')?;
    Some((first.parse().ok()?, last.parse().ok()?, total.parse().ok()?))
}

/// An answer of the upload host, with how far the upload got.
fn answer(status: StatusCode, uploaded: u64, total: u64) -> Response {
    let mut res = status.into_response();
    let got = match uploaded {
        0 => format!("bytes */{total}"),
        n => format!("bytes 0-{}/{total}", n - 1),
    };
    if let Ok(v) = HeaderValue::from_str(&got) {
        res.headers_mut().insert(header::CONTENT_RANGE, v);
    }
    res
}

/// `PUT /open-upload.tiktokapis.com/video/?upload_id=&upload_token=` (faults apply to it as the
/// operation `upload`).
pub(crate) async fn upload(
    State(sb): State<Sandbox>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let perform = async { chunk(&sb, &q, &headers, &body) };
    crate::faults::faulted(&sb, crate::meter::UseCase::Tiktok, "PUT", "upload", perform).await
}

/// One chunk, held to the upload's plan.
fn chunk(sb: &Sandbox, q: &HashMap<String, String>, headers: &HeaderMap, body: &Bytes) -> Response {
    let now = sb.clock().now();
    let delay = SignedDuration::try_from(sb.config().processing_delay).unwrap_or_default();
    let mut world = sb.tiktok();
    let super::World {
        publications,
        uploads,
        ..
    } = &mut *world;
    let (id, token) = (
        q.get("upload_id").map(String::as_str).unwrap_or_default(),
        q.get("upload_token").map(String::as_str).unwrap_or_default(),
    );
    let Some(p) = publications
        .iter_mut()
        .find(|p| p.publish_id == id && p.upload_token == token && p.media_type == "VIDEO")
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if p.created_at + UPLOAD_TTL <= now {
        return StatusCode::FORBIDDEN.into_response();
    }
    let video_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| matches!(c, "video/mp4" | "video/quicktime" | "video/webm"));
    let Some((first, last, total)) = range(headers).filter(|(f, l, _)| f <= l) else {
        return answer(StatusCode::BAD_REQUEST, p.uploaded_bytes, p.video_size);
    };
    let len = last - first + 1;
    if !video_type || total != p.video_size || body.len() as u64 != len {
        return answer(StatusCode::BAD_REQUEST, p.uploaded_bytes, p.video_size);
    }
    if first != p.uploaded_bytes || p.uploaded_bytes >= p.video_size {
        return answer(StatusCode::RANGE_NOT_SATISFIABLE, p.uploaded_bytes, p.video_size);
    }
    // Each chunk but the last is `chunk_size` bytes; the last takes the rest (up to 128 MB).
    let final_chunk = first / p.chunk_size.max(1) + 1 == p.total_chunks;
    let right_size = match final_chunk {
        true => last + 1 == p.video_size && len <= MAX_LAST_CHUNK.max(p.chunk_size),
        false => len == p.chunk_size,
    };
    if !right_size {
        return answer(StatusCode::BAD_REQUEST, p.uploaded_bytes, p.video_size);
    }
    // The bytes are hashed as they come, and the first chunk tells whether this is a video.
    let (hasher, video) = uploads
        .entry(id.to_owned())
        .or_insert_with(|| (sha2::Sha256::new(), false));
    if first == 0 {
        *video = crate::fetch::probe(&body[..body.len().min(64 * 1024)]).iso;
    }
    hasher.update(body);
    p.uploaded_bytes += len;
    if !final_chunk {
        return answer(StatusCode::PARTIAL_CONTENT, p.uploaded_bytes, p.video_size);
    }
    let (hasher, video) = uploads.remove(id).unwrap_or_default();
    p.sha256 = Some(hex::encode(hasher.finalize()));
    if video {
        p.ready_at = Some(now + delay);
        p.moderated_at = (p.privacy_level == "PUBLIC_TO_EVERYONE").then(|| now + delay + delay);
    } else {
        p.status = "FAILED";
        p.fail_reason = Some("file_format_check_failed".into());
    }
    answer(StatusCode::CREATED, p.uploaded_bytes, p.video_size)
}
