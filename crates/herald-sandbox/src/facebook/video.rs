//! Page reels and stories: the resumable flow (`video_reels` / `video_stories` start → upload on
//! `rupload.facebook.com` → finish → processing → post), the video's status with its phases, and
//! photo stories from an unpublished photo.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::oauth::validate;
use super::world::{TokenKind, Video, World};
use crate::Sandbox;
use crate::graph::{GraphError, Params};

/// API-published reels a Page may make in a moving 24 hours (Reels Publishing API).
const REELS_PER_DAY: u32 = 30;

/// The largest video the sandbox accepts (Meta documents no smaller limit for reels).
const MAX_VIDEO_BYTES: usize = 1024 * 1024 * 1024;

/// `POST /{page-id}/video_reels` or `/video_stories`: `upload_phase=start` makes an upload session,
/// `upload_phase=finish` publishes the uploaded video (it becomes a post once processed).
pub(crate) fn phase(
    sb: &Sandbox,
    w: &mut World,
    page: u64,
    kind: &'static str,
    p: &Params,
    now: Timestamp,
) -> Result<Response, GraphError> {
    match p.require("upload_phase")? {
        "start" => {
            let id = w.next_id();
            w.videos.push(Video {
                id,
                page_id: page,
                kind,
                bytes: None,
                description: String::new(),
                finished_at: None,
                ready_at: None,
                post_id: None,
            });
            let url = format!("https://rupload.facebook.com/video-upload/v24.0/{id}");
            Ok(axum::Json(json!({"video_id": id.to_string(), "upload_url": url})).into_response())
        }
        "finish" => {
            let raw = p.require("video_id")?;
            let delay = SignedDuration::try_from(sb.config().processing_delay).unwrap_or_default();
            let day_ago = now - SignedDuration::from_hours(24);
            let published_reels = w
                .videos
                .iter()
                .filter(|v| {
                    v.page_id == page && v.kind == "reel" && v.finished_at.is_some_and(|at| at > day_ago)
                })
                .count();
            let reels_per_day = sb.config().limits.applied(REELS_PER_DAY);
            if kind == "reel" && published_reels >= reels_per_day as usize {
                // Meta documents the limit and where it is enforced, not the code; the sandbox uses 9.
                return Err(GraphError::new(
                    9,
                    format!("(#9) This Page has published {reels_per_day} reels through the API in the last 24 hours; try again later"),
                )
                .user("Reels limit reached", format!("Pages can publish {reels_per_day} reels through the API per 24 hours.")));
            }
            let video = raw
                .parse::<u64>()
                .ok()
                .and_then(|id| {
                    w.videos
                        .iter_mut()
                        .find(|v| v.id == id && v.page_id == page && v.kind == kind)
                })
                .ok_or_else(|| GraphError::param(format!("(#100) Invalid video_id: {raw}")))?;
            if kind == "reel" && p.get("video_state") != Some("PUBLISHED") {
                return Err(GraphError::param(
                    "(#100) video_state must be PUBLISHED (DRAFT and SCHEDULED are not emulated)",
                ));
            }
            if video.bytes.is_none() {
                return Err(GraphError::new(
                    6000,
                    "There was a problem uploading your video file. Please try again.",
                )
                .user("Video upload incomplete", "Upload the video before finishing."));
            }
            if video.finished_at.is_some() {
                return Err(GraphError::param("(#100) This video has already been published"));
            }
            video.description = p.get("description").unwrap_or_default().to_owned();
            video.finished_at = Some(now);
            video.ready_at = Some(now + delay);
            Ok(axum::Json(json!({"success": true})).into_response())
        }
        other => Err(GraphError::param(format!(
            "(#100) upload_phase must be start or finish, not {other}"
        ))),
    }
}

/// `POST /{page-id}/videos?file_url=`: a feed video, fetched from its URL; published at once, or
/// kept unpublished (`published=false`) until `POST /{video-id}?published=true`.
pub(crate) async fn page_video(sb: &Sandbox, page: u64, p: &Params) -> Result<Response, GraphError> {
    let url = p.get("file_url").ok_or_else(|| {
        GraphError::param("(#100) file_url is required (the sandbox does not take `source` uploads)")
    })?;
    let published = match p.get("published") {
        None | Some("true") => true,
        Some("false") => false,
        Some(_) => return Err(GraphError::param("(#100) Param published must be a boolean")),
    };
    let fetched = crate::fetch::download(
        sb,
        url,
        MAX_VIDEO_BYTES,
        |u| GraphError::new(389, format!("Unable to fetch video file from URL: {u}")),
        || GraphError::param("(#100) The video is larger than the sandbox accepts"),
    )
    .await?;
    if !fetched.iso {
        return Err(GraphError::new(
            352,
            "The video file you selected is in a format that we don't support.",
        ));
    }
    let now = sb.clock().now();
    let delay = SignedDuration::try_from(sb.config().processing_delay).unwrap_or_default();
    let mut w = sb.facebook();
    let id = w.next_id();
    w.videos.push(Video {
        id,
        page_id: page,
        kind: "video",
        bytes: Some(fetched.len),
        description: p.get("description").unwrap_or_default().to_owned(),
        finished_at: published.then_some(now),
        ready_at: published.then_some(now + delay),
        post_id: None,
    });
    Ok(axum::Json(json!({ "id": id.to_string() })).into_response())
}

/// `POST /{video-id}?published=true`: publishes a video uploaded unpublished.
pub(crate) fn publish_video(
    sb: &Sandbox,
    w: &mut World,
    page: u64,
    p: &Params,
    id: u64,
    now: Timestamp,
) -> Result<Response, GraphError> {
    let delay = SignedDuration::try_from(sb.config().processing_delay).unwrap_or_default();
    let v = w
        .videos
        .iter_mut()
        .find(|v| v.id == id && v.page_id == page && v.kind == "video")
        .ok_or_else(|| GraphError::no_object(&id.to_string(), "post"))?;
    if p.get("published") == Some("true") && v.finished_at.is_none() {
        v.finished_at = Some(now);
        v.ready_at = Some(now + delay);
    }
    if let Some(d) = p.get("description") {
        v.description = d.to_owned();
    }
    Ok(axum::Json(json!({"success": true})).into_response())
}

/// `POST /{page-id}/photo_stories?photo_id=`: an unpublished photo of the Page, shown as a story.
pub(crate) fn photo_story(
    w: &mut World,
    page: u64,
    p: &Params,
    now: Timestamp,
) -> Result<Response, GraphError> {
    let raw = p.require("photo_id")?;
    let photo = raw
        .parse::<u64>()
        .ok()
        .and_then(|id| w.photos.iter().find(|ph| ph.id == id && ph.page_id == page))
        .ok_or_else(|| GraphError::param(format!("(#100) Invalid photo_id: {raw}")))?;
    if photo.published || photo.post_id.is_some() {
        return Err(GraphError::param(
            "(#100) The photo is already published; upload it with published=false",
        ));
    }
    let id = photo.id;
    let post = w.new_photo_story(page, id, now);
    Ok(axum::Json(json!({"success": true, "post_id": post})).into_response())
}

/// A video's fields: `status` with its phases (Graph spells `bytes_transfered` that way).
pub(crate) fn video_json(v: &Video, now: Timestamp) -> serde_json::Map<String, Value> {
    let uploaded = v.bytes.is_some();
    let processed = v.ready_at.is_some_and(|at| at <= now);
    let publishing = match (v.finished_at, processed) {
        (None, _) => json!({"status": "not_started", "publish_status": "not_published"}),
        (Some(_), false) => json!({"status": "in_progress", "publish_status": "not_published"}),
        (Some(_), true) => {
            json!({"status": "complete", "publish_status": "published", "publish_time": v.ready_at.map(crate::graph::graph_time)})
        }
    };
    let video_status = match (uploaded, v.finished_at.is_some(), processed) {
        (false, _, _) => "upload_incomplete",
        (true, false, _) => "upload_complete",
        (true, true, false) => "processing",
        (true, true, true) => "ready",
    };
    json!({
        "id": v.id.to_string(), "description": v.description, "post_id": v.post_id,
        "permalink_url": v.post_id.as_ref().map(|_| format!("https://www.facebook.com/reel/{}", v.id)),
        "status": {
            "video_status": video_status,
            "uploading_phase": {"status": if uploaded { "complete" } else { "not_started" }, "bytes_transfered": v.bytes.unwrap_or(0)},
            "processing_phase": {"status": match (v.finished_at, processed) { (None, _) => "not_started", (Some(_), false) => "in_progress", _ => "complete" }},
            "publishing_phase": publishing,
        },
    })
    .as_object()
    .expect("object")
    .clone()
}

/// rupload's error body, which is not Graph's envelope.
fn rupload_error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"debug_info": {"retriable": false, "type": kind, "message": message}})),
    )
        .into_response()
}

/// `POST rupload.facebook.com/video-upload/{version}/{video-id}`: the video's bytes, either in the
/// body (`offset`, `file_size` headers) or fetched from a `file_url` header; `Authorization: OAuth`.
pub(crate) async fn upload(
    State(sb): State<Sandbox>,
    Path((_version, video_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let Some(token) = header("authorization").and_then(|a| a.strip_prefix("OAuth ").map(str::to_owned))
    else {
        return rupload_error(
            StatusCode::UNAUTHORIZED,
            "OAuthException",
            "Authorization: OAuth <token> is required",
        );
    };
    let page = {
        let w = sb.facebook();
        match validate(&w, &token, sb.clock().now()) {
            Ok(t) => match t.kind {
                TokenKind::Page(page) => page,
                _ => {
                    return rupload_error(
                        StatusCode::FORBIDDEN,
                        "OAuthException",
                        "A Page access token is required",
                    );
                }
            },
            Err(e) => return rupload_error(StatusCode::UNAUTHORIZED, "OAuthException", &e.message),
        }
    };
    let fetched = if let Some(url) = header("file_url") {
        match crate::fetch::download(
            &sb,
            &url,
            MAX_VIDEO_BYTES,
            |u| GraphError::param(format!("could not fetch {u}")),
            || GraphError::param("too large"),
        )
        .await
        {
            Ok(b) => b,
            Err(_) => {
                return rupload_error(
                    StatusCode::BAD_REQUEST,
                    "ProcessingFailedError",
                    "Request processing failed: the file_url could not be fetched",
                );
            }
        }
    } else {
        let size = header("file_size").and_then(|s| s.parse::<usize>().ok());
        if header("offset").as_deref() != Some("0") || size != Some(body.len()) {
            return rupload_error(
                StatusCode::BAD_REQUEST,
                "ProcessingFailedError",
                "offset must be 0 and file_size the body's length (or send file_url)",
            );
        }
        crate::fetch::probe(&body)
    };
    if !fetched.iso {
        return rupload_error(
            StatusCode::BAD_REQUEST,
            "ProcessingFailedError",
            "The file is not a video this upload accepts",
        );
    }
    let mut w = sb.facebook();
    let Some(v) = video_id
        .parse::<u64>()
        .ok()
        .and_then(|id| w.videos.iter_mut().find(|v| v.id == id && v.page_id == page))
    else {
        return rupload_error(
            StatusCode::NOT_FOUND,
            "NotFoundError",
            "No upload session for this video id and Page",
        );
    };
    v.bytes = Some(fetched.len);
    axum::Json(json!({"success": true})).into_response()
}
