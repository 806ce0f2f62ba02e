//! `thumbnails.set`: the image (sent as JPEG, PNG or octet-stream, as the discovery document
//! accepts; JPEG, PNG or GIF inside, at most 2 MB) as the request's body becomes a
//! video's custom thumbnail, if the video is the token's channel's and the channel may use custom
//! thumbnails; its SHA-256 is kept on the video.

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;
use sha2::Digest;

use super::api::{Refusal, Req, bad, ok, refusal, tagged};
use super::lists::thumbnails;
use super::world::Token;
use crate::Sandbox;

/// The largest custom thumbnail (2 MB) [official].
const MAX_THUMBNAIL: usize = 2 * 1024 * 1024;

/// `POST /upload/youtube/v3/thumbnails/set?videoId=` with the image (JPEG, PNG or GIF, at most
/// 2 MB) as the body: the video's custom thumbnail, if its channel may set one.
pub(super) fn set(sb: &Sandbox, req: &Req, t: &Token, body: &Bytes) -> Result<Response, Refusal> {
    if req.param("uploadType").is_some_and(|u| u != "media") {
        let message = "The sandbox takes thumbnails as the request's body: uploadType=media.";
        return Err(bad("badRequest", message));
    }
    let thumb = |status: StatusCode, reason: &str, message: &str| {
        refusal(status, "youtube.thumbnail", reason, message)
    };
    // The media types the discovery document's `mediaUpload.accept` lists [official].
    let ctype = req.header("content-type").unwrap_or_default();
    let ctype = ctype.split(';').next().unwrap_or_default().trim();
    if !matches!(ctype, "image/jpeg" | "image/png" | "application/octet-stream") {
        let message = format!(
            "Media type '{ctype}' is not supported. Valid media types: [image/jpeg, image/png, application/octet-stream]"
        );
        return Err(bad("badContent", &message));
    }
    if body.is_empty() {
        let message = "The request does not include the image content.";
        return Err(thumb(StatusCode::BAD_REQUEST, "mediaBodyRequired", message));
    }
    if body.len() > MAX_THUMBNAIL {
        let message = "The image you are uploading is too large.";
        return Err(thumb(StatusCode::BAD_REQUEST, "imageTooLarge", message));
    }
    if !crate::fetch::probe(body).image {
        let message = "The provided image content is invalid.";
        return Err(thumb(StatusCode::BAD_REQUEST, "invalidImage", message));
    }
    let video_id = req.param("videoId").unwrap_or_default();
    let mut world = sb.youtube();
    let custom = world.channel(&t.channel_id).is_some_and(|c| c.custom_thumbnails);
    let Some(v) = world.videos.iter_mut().find(|v| v.id == video_id) else {
        let message = "The video that you are trying to insert a thumbnail image for cannot be found. Check \
                       the value of the <code>videoId</code> parameter to ensure that it is correct.";
        return Err(thumb(StatusCode::NOT_FOUND, "videoNotFound", message));
    };
    if v.channel_id != t.channel_id {
        let message = "The thumbnail can't be set for the specified video. The request might not be \
                       properly authorized.";
        return Err(thumb(StatusCode::FORBIDDEN, "forbidden", message));
    }
    if !custom {
        let message = "The authenticated user doesn't have permissions for uploading and setting custom \
                       thumbnails for the current video.";
        return Err(thumb(StatusCode::FORBIDDEN, "forbidden", message));
    }
    v.thumbnail_sha256 = Some(hex::encode(sha2::Sha256::digest(body)));
    let answer = json!({"kind": "youtube#thumbnailSetResponse", "items": [thumbnails(&v.id)]});
    Ok(ok(tagged(answer)))
}
