//! Video uploads by YouTube's resumable protocol: `videos.insert` with the metadata opens a session
//! (checked as YouTube checks it; the channel's cap per 24 hours; an unverified app's videos locked
//! to private) whose URI the `Location` header gives; `PUT`s of the bytes, in chunks that are
//! multiples of 256 KiB but the last, each answered `308` with `Range` until the last, which
//! answers the video resource; a `PUT` with `Content-Range: bytes */total` asks how far it got.
//! The bytes are hashed and their start probed, not kept; the video is processed after the
//! sandbox's processing delay.

use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use sha2::Digest;

use super::api::{Refusal, Req, bad, error, json_body, ok, record, refusal, throttled};
use super::lists::video_json;
use super::world::{Draft, SESSION_TTL, Session, Token, Video, World};
use crate::Sandbox;
use crate::meter::UseCase;

/// The video categories YouTube assigns in the US [official: videoCategories.list].
const CATEGORIES: &[&str] = &[
    "1", "2", "10", "15", "17", "19", "20", "22", "23", "24", "25", "26", "27", "28", "29",
];
/// Every chunk but the last is a multiple of 256 KiB [official].
const CHUNK_MULTIPLE: u64 = 256 * 1024;
/// How much of a video's start is probed for what it is.
const PROBED: usize = 64 * 1024;

fn video_error(reason: &str, message: &str) -> Refusal {
    refusal(StatusCode::BAD_REQUEST, "youtube.video", reason, message)
}

/// The video's metadata from the insert's body, checked as YouTube checks it. Only the parts the
/// request names are read: with `part=snippet` alone, the body's `status` is ignored [official].
fn draft(body: &Value, parts: &[&str], now: Timestamp) -> Result<Draft, Refusal> {
    let null = Value::Null;
    let snippet = if parts.contains(&"snippet") {
        &body["snippet"]
    } else {
        &null
    };
    let status = if parts.contains(&"status") {
        &body["status"]
    } else {
        &null
    };
    let text = |k: &str| snippet[k].as_str().unwrap_or_default().to_owned();
    let title = text("title");
    if title.trim().is_empty() || title.chars().count() > 100 || title.contains(['<', '>']) {
        let message = "The request metadata specifies an invalid or empty video title.";
        return Err(video_error("invalidTitle", message));
    }
    let description = text("description");
    if description.len() > 5000 || description.contains(['<', '>']) {
        let message = "The request metadata specifies an invalid video description.";
        return Err(video_error("invalidDescription", message));
    }
    let tags: Vec<String> = snippet["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str().map(str::to_owned))
        .collect();
    if tags.iter().map(|t| t.chars().count()).sum::<usize>() > 500 {
        let message = "The request metadata specifies invalid video keywords.";
        return Err(video_error("invalidTags", message));
    }
    let category = snippet["categoryId"].as_str().unwrap_or("22");
    if !CATEGORIES.contains(&category) {
        let message = "The <code>snippet.categoryId</code> property specifies an invalid category ID. Use \
                       the <code>videoCategories.list</code> method to retrieve supported categories.";
        return Err(video_error("invalidCategoryId", message));
    }
    let invalid = || video_error("invalidVideoMetadata", "The request metadata is invalid.");
    // Absent, a video is public [3p].
    let privacy = status["privacyStatus"].as_str().unwrap_or("public");
    let license = status["license"].as_str().unwrap_or("youtube");
    let known_privacy = matches!(privacy, "public" | "unlisted" | "private");
    if !known_privacy || !matches!(license, "youtube" | "creativeCommon") {
        return Err(invalid());
    }
    let publish_at = match status["publishAt"].as_str() {
        None => None,
        Some(at) => Some(
            at.parse::<Timestamp>()
                .ok()
                .filter(|at| *at > now && privacy == "private")
                .ok_or_else(|| {
                    let message = "The request metadata specifies an invalid scheduled publishing time.";
                    video_error("invalidPublishAt", message)
                })?,
        ),
    };
    let flag = |k: &str, default: bool| status[k].as_bool().unwrap_or(default);
    Ok(Draft {
        title,
        description,
        tags,
        category_id: category.to_owned(),
        privacy_status: privacy.to_owned(),
        publish_at,
        made_for_kids: flag("selfDeclaredMadeForKids", false),
        embeddable: flag("embeddable", true),
        license: license.to_owned(),
        public_stats_viewable: flag("publicStatsViewable", true),
    })
}

/// `POST /upload/youtube/v3/videos?uploadType=resumable&part=…` with the metadata: a session, whose
/// URI `Location` gives (the address the client reached the sandbox at).
pub(super) fn insert(
    sb: &Sandbox,
    req: &Req,
    t: &Token,
    body: &Bytes,
    now: Timestamp,
) -> Result<Response, Refusal> {
    if req.param("uploadType") != Some("resumable") {
        return Err(bad(
            "badRequest",
            "The sandbox takes videos by the resumable protocol only: uploadType=resumable.",
        ));
    }
    if let Some(kind) = req
        .header("x-upload-content-type")
        .filter(|k| !k.starts_with("video/") && *k != "application/octet-stream")
    {
        let message = format!(
            "Media type '{kind}' is not supported. Valid media types: [video/*, application/octet-stream]"
        );
        return Err(bad("badContent", &message));
    }
    let declared = match req.header("x-upload-content-length") {
        None => None,
        Some(n) => Some(n.trim().parse::<u64>().map_err(|_| {
            bad(
                "badRequest",
                "X-Upload-Content-Length must be the video's size in bytes.",
            )
        })?),
    };
    let parts = req.parts();
    let mut draft = draft(&json_body(body)?, &parts, now)?;
    let limits = sb.config().limits;
    let mut world = sb.youtube();
    if !world.verified {
        // An unverified project's uploads are locked to private [official].
        (draft.privacy_status, draft.publish_at) = ("private".into(), None);
    }
    if !world.take_upload(&t.channel_id, limits, now) {
        let message = "The user has exceeded the number of videos they may upload.";
        return Err(video_error("uploadLimitExceeded", message));
    }
    let upload_id = crate::random_token("AEnB2U", 72);
    let session = Session {
        upload_id: upload_id.clone(),
        channel_id: t.channel_id.clone(),
        parts: parts.iter().map(|p| (*p).to_owned()).collect(),
        draft,
        declared_bytes: declared,
        received_bytes: 0,
        hasher: sha2::Sha256::new(),
        video: false,
        created_at: now,
        video_id: None,
    };
    world.add_session(session, now);
    drop(world);
    let mut res = StatusCode::OK.into_response();
    for (name, value) in [
        ("location", session_uri(req, &upload_id)),
        ("x-guploader-uploadid", upload_id),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            res.headers_mut().insert(name, v);
        }
    }
    Ok(res)
}

/// The session URI: the sandbox's address as the client reached it, the insert's path and query
/// (without a token) and the session's id.
fn session_uri(req: &Req, upload_id: &str) -> String {
    let host = req.header("host").unwrap_or("127.0.0.1");
    let mut query: Vec<&str> = req
        .raw_query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("access_token=") && !p.starts_with("upload_id="))
        .collect();
    let id = format!("upload_id={upload_id}");
    query.push(&id);
    format!("http://{host}/{}{}?{}", req.host, req.path, query.join("&"))
}

/// What a `PUT`'s `Content-Range` says.
#[derive(Debug, PartialEq, Eq)]
enum Span {
    /// No `Content-Range`: the whole video in one body.
    Whole,
    /// `bytes */total`: how far did the upload get?
    Status,
    /// `bytes first-last/total`, the total `None` when given as `*` (not known yet).
    Chunk {
        first: u64,
        last: u64,
        total: Option<u64>,
    },
}

fn span(content_range: Option<&str>) -> Option<Span> {
    let Some(v) = content_range else {
        return Some(Span::Whole);
    };
    let (range, total) = v.trim().strip_prefix("bytes ")?.split_once('/')?;
    let total = match total {
        "*" => None,
        n => Some(n.parse().ok()?),
    };
    if range == "*" {
        return Some(Span::Status);
    }
    let (first, last) = range.split_once('-')?;
    let (first, last) = (first.parse().ok()?, last.parse().ok()?);
    (first <= last).then_some(Span::Chunk { first, last, total })
}

/// Takes bytes starting at `first` into the session (a video of `total` bytes, when the request
/// says): whether the upload is now complete, or why the bytes are refused.
fn take(s: &mut Session, first: u64, total: Option<u64>, bytes: &[u8]) -> Result<bool, &'static str> {
    if first != s.received_bytes {
        return Err(
            "The chunk does not start where the bytes received so far end; ask how far the \
                    upload got (Content-Range: bytes */total) and resume from there.",
        );
    }
    let total = match (s.declared_bytes, total) {
        (Some(d), Some(t)) if d != t => {
            return Err("The total size in Content-Range differs from X-Upload-Content-Length.");
        }
        (d, t) => d.or(t),
    };
    let end = first + bytes.len() as u64;
    if total.is_some_and(|t| end > t) {
        return Err("The chunk goes past the video's total size.");
    }
    let last = total == Some(end);
    if !last && !(bytes.len() as u64).is_multiple_of(CHUNK_MULTIPLE) {
        return Err("Every chunk but the last must be a multiple of 256 KiB (262144 bytes).");
    }
    if first == 0 {
        s.video = crate::fetch::probe(&bytes[..bytes.len().min(PROBED)]).iso;
    }
    s.declared_bytes = total;
    s.hasher.update(bytes);
    s.received_bytes = end;
    Ok(last)
}

/// The `Range` a `308` carries: the bytes received so far; none before the first byte.
fn progress(received: u64) -> Option<String> {
    received.checked_sub(1).map(|last| format!("bytes=0-{last}"))
}

/// `308` with how far the upload got.
fn incomplete(received: u64) -> Response {
    let mut res = StatusCode::PERMANENT_REDIRECT.into_response();
    if let Some(v) = progress(received).and_then(|r| HeaderValue::from_str(&r).ok()) {
        res.headers_mut().insert(header::RANGE, v);
    }
    res
}

fn no_session() -> Response {
    error(StatusCode::NOT_FOUND, "global", "notFound", "Not Found")
}

/// `PUT` on a session URI (faults apply to it as the operation `upload`).
pub(super) async fn chunk(sb: &Sandbox, req: &Req, body: &Bytes) -> Response {
    record(sb, req, None);
    let now = sb.clock().now();
    let id = req.param("upload_id").unwrap_or_default();
    let channel = sb.youtube().sessions.get(id).map(|s| s.channel_id.clone());
    if let Some(refused) = throttled(sb, req, "upload", channel, now) {
        return refused;
    }
    let perform = async { put(sb, req, body, now) };
    crate::faults::faulted(sb, UseCase::Youtube, "PUT", "upload", perform).await
}

/// A chunk, the whole video, or a status query, on a session not older than a week.
fn put(sb: &Sandbox, req: &Req, body: &Bytes, now: Timestamp) -> Response {
    let delay = SignedDuration::try_from(sb.config().processing_delay).unwrap_or_default();
    let id = req.param("upload_id").unwrap_or_default();
    let mut world = sb.youtube();
    world.settle(now);
    let Some(s) = world
        .sessions
        .get_mut(id)
        .filter(|s| s.created_at + SESSION_TTL > now)
    else {
        return no_session();
    };
    if let Some(video_id) = s.video_id.clone() {
        let parts = s.parts.clone();
        return finished(&world, &video_id, &parts);
    }
    let len = body.len() as u64;
    let taken = match span(req.header("content-range")) {
        None => Err("Content-Range must be bytes first-last/total, bytes first-last/* or bytes */total."),
        Some(Span::Status) => Ok(false),
        Some(Span::Whole) => take(s, 0, Some(len), body),
        Some(Span::Chunk { first, last, total }) if last - first + 1 == len => take(s, first, total, body),
        Some(Span::Chunk { .. }) => Err("The body's length differs from what Content-Range says."),
    };
    match taken {
        Err(why) => error(StatusCode::BAD_REQUEST, "global", "badRequest", why),
        Ok(false) => incomplete(s.received_bytes),
        Ok(true) => complete(&mut world, id, delay, now),
    }
}

/// The last byte arrived: the session becomes a video, processed after `delay`.
fn complete(world: &mut World, id: &str, delay: SignedDuration, now: Timestamp) -> Response {
    let Some(s) = world.sessions.get_mut(id) else {
        return no_session();
    };
    let video_id = crate::random_token("", 11);
    s.video_id = Some(video_id.clone());
    let failure = match (s.received_bytes, s.video) {
        (0, _) => Some("emptyFile"),
        (_, false) => Some("invalidFile"),
        _ => None,
    };
    let video = Video {
        id: video_id.clone(),
        channel_id: s.channel_id.clone(),
        draft: s.draft.clone(),
        upload_status: "uploaded",
        failure_reason: failure,
        sha256: hex::encode(std::mem::take(&mut s.hasher).finalize()),
        bytes: s.received_bytes,
        thumbnail_sha256: None,
        published_at: now,
        ready_at: now + delay,
    };
    let parts = s.parts.clone();
    world.videos.push(video);
    finished(world, &video_id, &parts)
}

/// `200` with the video resource, in the parts the insert asked for.
fn finished(world: &World, video_id: &str, parts: &[String]) -> Response {
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    match world.videos.iter().find(|v| v.id == video_id) {
        Some(v) => ok(video_json(world, v, &parts)),
        None => no_session(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn session(declared: Option<u64>) -> Session {
        let draft = draft(
            &json!({"snippet": {"title": "t"}}),
            &["snippet"],
            Timestamp::UNIX_EPOCH,
        );
        Session {
            upload_id: "u".into(),
            channel_id: "c".into(),
            parts: Vec::new(),
            draft: draft.unwrap_or_else(|_| panic!("a title is enough")),
            declared_bytes: declared,
            received_bytes: 0,
            hasher: sha2::Sha256::new(),
            video: false,
            created_at: Timestamp::UNIX_EPOCH,
            video_id: None,
        }
    }

    const K: usize = CHUNK_MULTIPLE as usize;

    #[test]
    fn every_chunk_but_the_last_is_a_multiple_of_256_kib() {
        let mut s = session(Some(3 * K as u64 + 10));
        assert!(take(&mut s, 0, Some(3 * K as u64 + 10), &vec![0; K + 1]).is_err());
        assert_eq!(s.received_bytes, 0, "a refused chunk takes nothing");
        assert_eq!(
            take(&mut s, 0, None, &vec![0; 2 * K]),
            Ok(false),
            "a total of * is fine"
        );
        assert!(
            take(&mut s, 2 * K as u64, Some(3 * K as u64 + 10), &[0; 9]).is_err(),
            "short of the end"
        );
        assert_eq!(
            take(&mut s, 2 * K as u64, Some(3 * K as u64 + 10), &vec![0; K + 10]),
            Ok(true)
        );
    }

    #[test]
    fn a_chunk_must_start_where_the_bytes_so_far_end_and_keep_to_the_declared_size() {
        let mut s = session(Some(2 * K as u64));
        assert!(take(&mut s, K as u64, None, &vec![0; K]).is_err(), "a gap");
        assert!(take(&mut s, 0, Some(5), &[0; 5]).is_err(), "another total");
        assert_eq!(take(&mut s, 0, None, &vec![0; K]), Ok(false));
        assert!(
            take(&mut s, 0, None, &vec![0; K]).is_err(),
            "bytes already received"
        );
        assert!(
            take(&mut s, K as u64, None, &vec![0; 2 * K]).is_err(),
            "past the end"
        );
    }

    #[test]
    fn the_308_names_the_bytes_received_and_nothing_before_the_first() {
        assert_eq!(progress(0), None);
        assert_eq!(progress(1).as_deref(), Some("bytes=0-0"));
        assert_eq!(progress(262_144).as_deref(), Some("bytes=0-262143"));
        let res = incomplete(0);
        assert_eq!(res.status().as_u16(), 308);
        assert!(res.headers().get(header::RANGE).is_none());
    }

    #[test]
    fn content_range_is_read_as_google_writes_it() {
        assert_eq!(span(None), Some(Span::Whole));
        assert_eq!(span(Some("bytes */1000")), Some(Span::Status));
        let chunk = Span::Chunk {
            first: 0,
            last: 262_143,
            total: Some(1000),
        };
        assert_eq!(span(Some("bytes 0-262143/1000")), Some(chunk));
        assert!(matches!(
            span(Some("bytes 0-9/*")),
            Some(Span::Chunk { total: None, .. })
        ));
        assert_eq!(span(Some("bytes 9-0/10")), None);
        assert_eq!(span(Some("0-9/10")), None);
    }

    #[test]
    fn the_metadata_is_held_to_youtube_s_rules() {
        let now = Timestamp::UNIX_EPOCH;
        let parts = ["snippet", "status"];
        let reason = |body: Value| match draft(&body, &parts, now) {
            Ok(_) => "ok".to_owned(),
            Err(e) => format!("{}", e.status()),
        };
        assert_eq!(reason(json!({"snippet": {"title": "Hi"}})), "ok");
        assert_eq!(reason(json!({"snippet": {"title": "a < b"}})), "400 Bad Request");
        assert_eq!(
            reason(json!({"snippet": {"title": "x".repeat(101)}})),
            "400 Bad Request"
        );
        let scheduled = json!({"snippet": {"title": "Hi"}, "status": {"privacyStatus": "public",
            "publishAt": "2030-01-01T10:00:00Z"}});
        assert_eq!(
            reason(scheduled),
            "400 Bad Request",
            "publishAt only with private"
        );
        let private = json!({"snippet": {"title": "Hi"}, "status": {"privacyStatus": "private"}});
        let d = draft(&private, &["snippet"], now);
        assert_eq!(
            d.map(|d| d.privacy_status).ok().as_deref(),
            Some("public"),
            "a status outside `part` is ignored"
        );
    }
}
