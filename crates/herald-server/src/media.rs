//! Media: streamed uploads under a size cap, type detected from the bytes, and signed download URLs
//! (which serve one byte range on request: a platform that takes a video in chunks reads each).

use std::collections::HashMap;

use axum::body::Body as HttpBody;
use axum::extract::multipart::Field;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use herald_domain::media::{MediaType, PROBE_PREFIX, probe};
use herald_domain::mp4::{Source, probe_mp4};
use herald_domain::{MediaId, WorkspaceId};
use herald_store::{MediaRow, NewMedia, VideoFacts};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::json::rfc3339;

pub(crate) fn to_json(m: &MediaRow) -> Value {
    let mut v = json!({
        "id": m.id, "content_type": m.media_type.mime(), "bytes": m.bytes, "width": m.width, "height": m.height,
        "sha256": m.sha256, "original_name": m.original_name, "created_at": rfc3339(m.created_at),
    });
    if m.media_type == MediaType::Mp4 {
        let f = &m.video;
        v["video"] = json!({
            "duration_ms": f.duration_ms, "frame_rate": f.frame_rate_milli.map(|r| r as f64 / 1000.0),
            "video_codec": f.video_codec, "audio_codec": f.audio_codec, "moov_first": f.moov_first,
        });
    }
    v
}

/// A file deleted when this is dropped (if it still exists), unless kept.
struct RemoveOnDrop(Option<std::path::PathBuf>);

impl RemoveOnDrop {
    fn new(path: std::path::PathBuf) -> Self {
        Self(Some(path))
    }

    fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(path) = &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Reads an uploaded file at offsets, for the MP4 prober.
struct FileSource {
    file: std::fs::File,
    len: u64,
}

impl FileSource {
    fn open(path: &std::path::Path) -> Option<Self> {
        let file = std::fs::File::open(path).ok()?;
        let len = file.metadata().ok()?.len();
        Some(Self { file, len })
    }
}

impl Source for FileSource {
    fn size(&self) -> u64 {
        self.len
    }

    fn read_at(&mut self, offset: u64, len: usize) -> Option<Vec<u8>> {
        use std::io::{Read, Seek, SeekFrom};
        self.file.seek(SeekFrom::Start(offset)).ok()?;
        let mut buf = vec![0; len];
        self.file.read_exact(&mut buf).ok()?;
        Some(buf)
    }
}

pub(crate) fn collection() -> MethodRouter<AppState> {
    get(|State(state): State<AppState>, caller: Caller, Path(ws): Path<String>| async move {
        let ws = caller.workspace(&state, &ws).await?;
        let data: Vec<Value> = state.store.list_media(ws).await?.iter().map(to_json).collect();
        Ok::<_, ApiError>(axum::Json(json!({ "data": data })))
    })
    .post(|State(state): State<AppState>, caller: Caller, Path(ws): Path<String>, multipart: Multipart| async move {
        let ws = caller.workspace(&state, &ws).await?;
        let row = upload(&state, ws, multipart).await?;
        Ok::<_, ApiError>((StatusCode::CREATED, axum::Json(to_json(&row))))
    })
    // The cap is enforced while streaming, with a clear error, instead of axum's 2 MB default.
    .layer(DefaultBodyLimit::disable())
}

async fn upload(state: &AppState, ws: WorkspaceId, mut multipart: Multipart) -> ApiResult<MediaRow> {
    let bad_form = |_| ApiError::bad_request("send the file as multipart/form-data in a field named `file`");
    let field = loop {
        let f = multipart
            .next_field()
            .await
            .map_err(bad_form)?
            .ok_or_else(|| ApiError::bad_request("no `file` field in the form"))?;
        if f.name() == Some("file") {
            break f;
        }
    };
    store_field(state, ws, field).await
}

/// Streams one form field's file into the workspace's library (under the size cap and the upload
/// deadline), and records it once its type is known from its bytes.
pub(crate) async fn store_field(
    state: &AppState,
    ws: WorkspaceId,
    mut field: Field<'_>,
) -> ApiResult<MediaRow> {
    let bad_form = |_| ApiError::bad_request("send the file as multipart/form-data in a field named `file`");
    let original_name = field.file_name().map(|n| n.chars().take(255).collect::<String>());
    let id = MediaId::new();
    let dir = state.config.media_dir.join(ws.to_string());
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let partial = dir.join(format!("{id}.part"));
    // Removed however the upload ends short of being kept: an error, or the request abandoned.
    let _partial = RemoveOnDrop::new(partial.clone());
    let cap = state.config.max_upload_bytes;
    let limit = state.config.upload_timeout;
    let deadline = tokio::time::Instant::now() + limit;
    let result: ApiResult<(u64, String, Vec<u8>)> = async {
        let mut file = tokio::fs::File::create(&partial)
            .await
            .map_err(|e| ApiError::internal(&e))?;
        let (mut size, mut hasher, mut head) = (0u64, Sha256::new(), Vec::new());
        loop {
            let next = tokio::time::timeout_at(deadline, field.chunk())
                .await
                .map_err(|_| {
                    ApiError::new(
                        StatusCode::REQUEST_TIMEOUT,
                        "upload_timeout",
                        format!(
                            "the upload took longer than this Herald allows ({} s); nothing was kept. Try again on a faster connection",
                            limit.as_secs()
                        ),
                    )
                })?;
            let Some(chunk) = next.map_err(bad_form)? else {
                break;
            };
            size += chunk.len() as u64;
            if size > cap {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    format!("the file is larger than this Herald's upload limit of {cap} bytes"),
                ));
            }
            if head.len() < PROBE_PREFIX {
                head.extend_from_slice(&chunk[..chunk.len().min(PROBE_PREFIX - head.len())]);
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await.map_err(|e| ApiError::internal(&e))?;
        }
        file.sync_all().await.map_err(|e| ApiError::internal(&e))?;
        Ok((size, hex::encode(hasher.finalize()), head))
    }
    .await;
    let (size, sha256, head) = result?;
    let Some(found) = probe(&head) else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media",
            "the file is not an image, video or document any platform accepts (JPEG, PNG, GIF, MP4 or PDF), whatever its name says",
        ));
    };
    let (mut width, mut height, mut video) = (
        found.width.map(i64::from),
        found.height.map(i64::from),
        VideoFacts::default(),
    );
    if found.media_type == MediaType::Mp4 {
        let file = partial.clone();
        let probed = tokio::task::spawn_blocking(move || {
            let mut src = FileSource::open(&file)?;
            probe_mp4(&mut src)
        })
        .await
        .map_err(|e| ApiError::internal(&e))?;
        let Some(v) = probed else {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media",
                "the file looks like MP4 but has no playable video track (is it truncated?)",
            ));
        };
        (width, height) = (Some(i64::from(v.width)), Some(i64::from(v.height)));
        video = VideoFacts {
            duration_ms: i64::try_from(v.duration_ms).ok(),
            frame_rate_milli: v.frame_rate.map(|r| (r * 1000.0).round() as i64),
            video_codec: v.video_codec,
            audio_codec: v.audio_codec,
            moov_first: Some(v.moov_first),
        };
    }
    let ext = found.media_type.mime().rsplit('/').next().unwrap_or("bin");
    let path = dir.join(format!("{id}.{ext}"));
    tokio::fs::rename(&partial, &path)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    // From here the file is kept only once its row exists.
    let stored = RemoveOnDrop::new(path.clone());
    let path_str = path.to_string_lossy().into_owned();
    let row = state
        .store
        .insert_media(NewMedia {
            id,
            workspace: ws,
            media_type: found.media_type,
            bytes: i64::try_from(size).unwrap_or(i64::MAX),
            width,
            height,
            sha256: &sha256,
            original_name: original_name.as_deref(),
            path: &path_str,
            video,
        })
        .await?;
    stored.keep();
    Ok(row)
}

pub(crate) fn one() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, caller: Caller, Path((ws, id)): Path<(String, String)>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            let id: MediaId = id.parse().map_err(|_| ApiError::not_found("media"))?;
            let m = state
                .store
                .get_media(ws, id)
                .await
                .map_err(ApiError::missing("media"))?;
            Ok::<_, ApiError>(axum::Json(to_json(&m)))
        },
    )
}

/// `GET /media/{id}.{ext}?exp=&sig=`: what platforms download. No session; the signature is the right.
pub(crate) fn signed() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>,
         Path(file): Path<String>,
         Query(q): Query<HashMap<String, String>>,
         headers: HeaderMap| async move {
            let denied = || {
                ApiError::new(
                    StatusCode::FORBIDDEN,
                    "invalid_signature",
                    "this media link is invalid or has expired",
                )
            };
            let exp: i64 = q.get("exp").and_then(|e| e.parse().ok()).ok_or_else(denied)?;
            let sig = q.get("sig").ok_or_else(denied)?;
            if !state.signer.verify(
                &file,
                exp,
                q.get("kv").and_then(|v| v.parse().ok()),
                sig,
                state.store.clock().now().as_second(),
            ) {
                return Err(denied());
            }
            let id: MediaId = file
                .split('.')
                .next()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| ApiError::not_found("media"))?;
            let m = state
                .store
                .get_media_for_signed_url(id)
                .await
                .map_err(ApiError::missing("media"))?;
            let range = range_of(&headers, u64::try_from(m.bytes).unwrap_or(0));
            Ok::<Response, ApiError>(serve(&m, "attachment", range).await)
        },
    )
}

/// One `Range: bytes=first-last` (or `first-`) inside a file of `size` bytes, as the inclusive
/// bounds; any other (several ranges, a suffix, one past the end) is no range: the whole file.
fn range_of(headers: &HeaderMap, size: u64) -> Option<(u64, u64)> {
    let spec = headers
        .get(header::RANGE)?
        .to_str()
        .ok()?
        .trim()
        .strip_prefix("bytes=")?;
    let (first, last) = spec.split_once('-')?;
    let end = size.checked_sub(1)?;
    let first: u64 = first.trim().parse().ok()?;
    let last = match last.trim() {
        "" => end,
        l => l.parse::<u64>().ok()?.min(end),
    };
    (first <= last).then_some((first, last))
}

/// A library file's bytes, or one `range` of them: `inline` for Herald's own pages, `attachment`
/// for what platforms fetch.
pub(crate) async fn serve(m: &MediaRow, disposition: &str, range: Option<(u64, u64)>) -> Response {
    let mut f = match tokio::fs::File::open(&m.path).await {
        Ok(f) => f,
        Err(e) => return ApiError::internal(&e).into_response(),
    };
    let ext = m.media_type.mime().rsplit('/').next().unwrap_or("bin");
    let (status, length, body) = match range {
        Some((first, last)) => {
            if let Err(e) = f.seek(std::io::SeekFrom::Start(first)).await {
                return ApiError::internal(&e).into_response();
            }
            let len = last - first + 1;
            let part = tokio_util::io::ReaderStream::new(f.take(len));
            (StatusCode::PARTIAL_CONTENT, len, HttpBody::from_stream(part))
        }
        None => (
            StatusCode::OK,
            u64::try_from(m.bytes).unwrap_or(0),
            HttpBody::from_stream(tokio_util::io::ReaderStream::new(f)),
        ),
    };
    let mut res = (
        status,
        [
            (header::CONTENT_TYPE, m.media_type.mime().to_owned()),
            (header::CONTENT_LENGTH, length.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("{disposition}; filename=\"{}.{ext}\"", m.id),
            ),
            // Only the one who holds the link (or the session) keeps it.
            (header::CACHE_CONTROL, "private, max-age=3600".to_owned()),
            (header::ACCEPT_RANGES, "bytes".to_owned()),
        ],
        body,
    )
        .into_response();
    if let Some((first, last)) = range
        && let Ok(v) = format!("bytes {first}-{last}/{}", m.bytes).parse()
    {
        res.headers_mut().insert(header::CONTENT_RANGE, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asking(range: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::RANGE, range.parse().unwrap());
        h
    }

    #[test]
    fn one_byte_range_inside_the_file_is_served_and_anything_else_is_the_whole_file() {
        assert_eq!(range_of(&asking("bytes=0-9"), 100), Some((0, 9)));
        assert_eq!(range_of(&asking("bytes=90-"), 100), Some((90, 99)));
        assert_eq!(
            range_of(&asking("bytes=90-200"), 100),
            Some((90, 99)),
            "clipped to the end"
        );
        assert_eq!(range_of(&asking("bytes=100-"), 100), None, "past the end");
        assert_eq!(range_of(&asking("bytes=-10"), 100), None, "a suffix");
        assert_eq!(range_of(&asking("bytes=0-1,5-6"), 100), None, "several");
        assert_eq!(range_of(&HeaderMap::new(), 100), None);
    }
}
