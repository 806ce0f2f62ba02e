//! `open.tiktokapis.com/v2`: every request journaled and counted; answered in TikTok's envelope,
//! `{"data", "error": {"code", "message", "log_id"}}`: user info, `creator_info`, video and photo
//! inits (the chunk rules, the privacy levels the account offers, an unaudited app's limits, the
//! verified URL prefixes of pull mode, six inits a minute per account), `status/fetch`, and the
//! account's videos for `video/list` and `video/query`.

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::oauth::{log_id, revoke, token, validate};
use super::world::{Publication, Token};
use super::{MAX_VIDEO_BYTES, UPLOAD_HOST};
use crate::Sandbox;
use crate::meter::{Call, UseCase};

/// Chunks are 5 to 64 MB, the last up to 128 MB; at most 1,000 [official: media transfer guide].
const MIN_CHUNK: u64 = 5_000_000;
const MAX_CHUNK: u64 = 64_000_000;
const MAX_CHUNKS: u64 = 1000;
/// Inits per account per minute [official].
const INITS_PER_MINUTE: usize = 6;
/// Photos: JPEG or WebP up to 20 MB, 1 to 35 a post [official].
const MAX_PHOTO_BYTES: usize = 20 * 1024 * 1024;
const MAX_PHOTOS: usize = 35;
/// The largest video the sandbox pulls (it reads it whole; TikTok takes 4 GB).
const MAX_PULLED_VIDEO: usize = 1024 * 1024 * 1024;
/// An upload URL lasts an hour [official].
pub(super) const UPLOAD_TTL: SignedDuration = SignedDuration::from_hours(1);

/// An answer in TikTok's envelope.
pub(crate) fn envelope(status: StatusCode, data: Value, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"data": data, "error": {"code": code, "message": message, "log_id": log_id()}})),
    )
        .into_response()
}

fn ok(data: Value) -> Response {
    envelope(StatusCode::OK, data, "ok", "")
}

/// A refusal, boxed (a response is large and most answers are not refusals).
type Refusal = Box<Response>;

pub(crate) fn refusal(status: StatusCode, code: &str, message: &str) -> Refusal {
    Box::new(envelope(status, json!({}), code, message))
}

fn invalid(message: &str) -> Refusal {
    refusal(StatusCode::BAD_REQUEST, "invalid_params", message)
}

fn need(t: &Token, scope: &str) -> Result<(), Refusal> {
    match t.scopes.iter().any(|s| s == scope) {
        true => Ok(()),
        false => Err(refusal(
            StatusCode::UNAUTHORIZED,
            "scope_not_authorized",
            &format!("The user did not authorize the scope required for completing this request: {scope}."),
        )),
    }
}

/// Every request under `/open.tiktokapis.com/v2/`.
pub(crate) async fn api(
    State(sb): State<Sandbox>,
    method: Method,
    Path(path): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let query: BTreeMap<String, String> = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let form: HashMap<String, String> = match ctype.starts_with("application/x-www-form-urlencoded") {
        true => url::form_urlencoded::parse(&bytes).into_owned().collect(),
        false => HashMap::new(),
    };
    let json_body: Option<Value> = serde_json::from_slice(&bytes).ok();
    // No credentials, and no signed link's signature (photos are pulled from signed links).
    let recorded = match (form.is_empty(), &json_body) {
        (false, _) => Some(crate::graph::redacted_form(&form, str::to_owned)),
        (true, Some(v)) => Some(crate::graph::mask_signatures(v)),
        (true, None) => None,
    };
    crate::graph::record_rest(
        &sb,
        "open.tiktokapis.com",
        &method,
        format!("/v2/{path}"),
        &query,
        recorded,
        &headers,
    );
    let now = sb.clock().now();
    let operation = operation(&path);
    let open_id = validate(&sb.tiktok(), &headers, now).map(|t| t.open_id);
    // A throttle a fault set answers 429, as TikTok's per-minute limits do (no headers say when).
    let throttled = sb.meter().admit(Call {
        at: now,
        method: method.to_string(),
        path: format!("/v2/{path}"),
        operation: operation.to_owned(),
        use_case: UseCase::Tiktok,
        object: open_id,
    });
    if throttled.is_some() {
        return envelope(
            StatusCode::TOO_MANY_REQUESTS,
            json!({}),
            "rate_limit_exceeded",
            "The API rate limit was exceeded. Please try again later.",
        );
    }
    let perform = async {
        match (method.as_str(), path.as_str()) {
            ("POST", "oauth/token/") => return token(&sb, &headers, &form),
            ("POST", "oauth/revoke/") => return revoke(&sb, &form),
            _ => {}
        }
        let Some(t) = validate(&sb.tiktok(), &headers, now) else {
            return envelope(
                StatusCode::UNAUTHORIZED,
                json!({}),
                "access_token_invalid",
                "The access token is invalid or not found in the request.",
            );
        };
        let body = match (method.as_str(), &json_body) {
            ("GET", _) => Value::Null,
            (_, Some(v)) if ctype.starts_with("application/json") => v.clone(),
            _ => return *invalid("The request body must be JSON."),
        };
        route(&sb, &method, &path, &query, &t, &body, &headers, now)
            .await
            .unwrap_or_else(|e| *e)
    };
    crate::faults::faulted(&sb, UseCase::Tiktok, method.as_str(), operation, perform).await
}

fn operation(path: &str) -> &'static str {
    match path.trim_end_matches('/') {
        "oauth/token" => "token",
        "oauth/revoke" => "revoke",
        "user/info" => "user_info",
        "post/publish/creator_info/query" => "creator_info",
        "post/publish/video/init" => "video_init",
        "post/publish/content/init" => "content_init",
        "post/publish/status/fetch" => "status",
        "video/list" => "video_list",
        "video/query" => "video_query",
        _ => "unknown",
    }
}

#[allow(clippy::too_many_arguments)]
async fn route(
    sb: &Sandbox,
    method: &Method,
    path: &str,
    q: &BTreeMap<String, String>,
    t: &Token,
    body: &Value,
    headers: &HeaderMap,
    now: Timestamp,
) -> Result<Response, Refusal> {
    match (method.as_str(), path) {
        ("GET", "user/info/") => user_info(sb, t, q),
        ("POST", "post/publish/creator_info/query/") => creator_info(sb, t),
        ("POST", "post/publish/video/init/") => video_init(sb, t, body, headers, now).await,
        ("POST", "post/publish/content/init/") => content_init(sb, t, body, now).await,
        ("POST", "post/publish/status/fetch/") => status(sb, t, body, now),
        ("POST", "video/list/") => video_list(sb, t, q, body, now),
        ("POST", "video/query/") => video_query(sb, t, q, body, now),
        _ => Err(refusal(
            StatusCode::NOT_FOUND,
            "invalid_params",
            &format!("No such endpoint: {method} /v2/{path}"),
        )),
    }
}

fn user_info(sb: &Sandbox, t: &Token, q: &BTreeMap<String, String>) -> Result<Response, Refusal> {
    need(t, "user.info.basic")?;
    let world = sb.tiktok();
    let c = world
        .creator(&t.open_id)
        .ok_or_else(|| invalid("The user does not exist."))?;
    let fields = q.get("fields").ok_or_else(|| invalid("fields is required"))?;
    let mut user = serde_json::Map::new();
    for f in fields.split(',').map(str::trim) {
        let v = match f {
            "open_id" => json!(c.open_id),
            "union_id" => json!(format!("u{}", c.open_id)),
            "avatar_url" => json!(format!("https://p16.tiktokcdn.com/{}.jpeg", c.username)),
            "display_name" => json!(c.display_name),
            "username" if t.scopes.iter().any(|s| s == "user.info.profile") => json!(c.username),
            _ => continue,
        };
        user.insert(f.to_owned(), v);
    }
    Ok(ok(json!({ "user": user })))
}

fn creator_info(sb: &Sandbox, t: &Token) -> Result<Response, Refusal> {
    need(t, "video.publish")?;
    let world = sb.tiktok();
    let c = world
        .creator(&t.open_id)
        .ok_or_else(|| invalid("The user does not exist."))?;
    Ok(ok(json!({
        "creator_avatar_url": format!("https://p16.tiktokcdn.com/{}.jpeg", c.username),
        "creator_username": c.username, "creator_nickname": c.display_name,
        "privacy_level_options": c.privacy_levels(),
        "comment_disabled": c.comment_disabled, "duet_disabled": c.duet_disabled,
        "stitch_disabled": c.stitch_disabled,
        "max_video_post_duration_sec": c.max_video_post_duration_sec,
    })))
}

/// What every direct post is checked for: the account's privacy levels, an unaudited app's
/// limits, and six inits a minute.
fn admit_post(sb: &Sandbox, t: &Token, privacy: &str, now: Timestamp) -> Result<(), Refusal> {
    need(t, "video.publish")?;
    let mut world = sb.tiktok();
    let c = world
        .creator(&t.open_id)
        .ok_or_else(|| invalid("The user does not exist."))?
        .clone();
    if !world.audited && !c.private {
        return Err(refusal(
            StatusCode::FORBIDDEN,
            "unaudited_client_can_only_post_to_private_accounts",
            "Unaudited clients can only post to a private account.",
        ));
    }
    let offered = c.privacy_levels().contains(&privacy);
    if !offered || (!world.audited && privacy != "SELF_ONLY") {
        return Err(refusal(
            StatusCode::BAD_REQUEST,
            "privacy_level_option_mismatch",
            "The privacy level is not one of the creator's options.",
        ));
    }
    let recent = world.inits.entry(t.open_id.clone()).or_default();
    recent.retain(|at| *at > now - SignedDuration::from_mins(1));
    if recent.len() >= INITS_PER_MINUTE {
        return Err(refusal(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_exceeded",
            "The API rate limit was exceeded. Please try again later.",
        ));
    }
    recent.push(now);
    Ok(())
}

/// UTF-16 units, as TikTok counts a caption.
fn utf16(s: &str) -> usize {
    s.encode_utf16().count()
}

fn new_publication(
    world: &mut super::World,
    t: &Token,
    media_type: &'static str,
    info: &Value,
    now: Timestamp,
) -> Publication {
    let n = world.next_id();
    let prefix = if media_type == "VIDEO" {
        "v_pub_file"
    } else {
        "p_pub_url"
    };
    let text = |k: &str| info[k].as_str().unwrap_or_default().to_owned();
    let options: serde_json::Map<String, Value> = info
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.starts_with("disable_") || k.ends_with("_toggle") || *k == "auto_add_music")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Publication {
        publish_id: format!("{prefix}~v2-1.{n}"),
        open_id: t.open_id.clone(),
        media_type,
        title: text("title"),
        description: text("description"),
        privacy_level: text("privacy_level"),
        options: Value::Object(options),
        video_size: 0,
        chunk_size: 0,
        total_chunks: 0,
        uploaded_bytes: 0,
        sha256: None,
        photos: Vec::new(),
        upload_token: crate::random_token("", 32),
        status: "PROCESSING_UPLOAD",
        fail_reason: None,
        ready_at: None,
        moderated_at: None,
        post_id: None,
        created_at: now,
    }
}

/// `POST /v2/post/publish/video/init/`: `FILE_UPLOAD` with its chunk plan, which the upload host
/// then holds the chunks to, or `PULL_FROM_URL` from a URL of a prefix the app verified.
async fn video_init(
    sb: &Sandbox,
    t: &Token,
    body: &Value,
    headers: &HeaderMap,
    now: Timestamp,
) -> Result<Response, Refusal> {
    let info = &body["post_info"];
    let source = &body["source_info"];
    let privacy = info["privacy_level"]
        .as_str()
        .ok_or_else(|| invalid("post_info.privacy_level is required"))?;
    if utf16(info["title"].as_str().unwrap_or_default()) > 2200 {
        return Err(invalid("post_info.title is longer than 2200 characters"));
    }
    if source["source"] == "PULL_FROM_URL" {
        return pull_video(sb, t, info, privacy, source, now).await;
    }
    if source["source"] != "FILE_UPLOAD" {
        return Err(invalid("source_info.source must be FILE_UPLOAD or PULL_FROM_URL"));
    }
    let n = |k: &str| source[k].as_u64();
    let (Some(size), Some(chunk), Some(count)) = (n("video_size"), n("chunk_size"), n("total_chunk_count"))
    else {
        return Err(invalid(
            "video_size, chunk_size and total_chunk_count are required",
        ));
    };
    if size == 0 || size > MAX_VIDEO_BYTES {
        return Err(invalid("The video size is invalid."));
    }
    // One chunk of the whole video (under 5 MB it must be), or chunks of 5 to 64 MB, the last
    // taking the rest: `total_chunk_count = floor(video_size / chunk_size)`.
    let whole = chunk == size && count == 1 && size <= MAX_CHUNK;
    let chunked = size >= MIN_CHUNK && (MIN_CHUNK..=MAX_CHUNK).contains(&chunk) && chunk <= size;
    if !whole && !chunked {
        return Err(invalid("The chunk size is invalid."));
    }
    if !whole && (count != size / chunk || count > MAX_CHUNKS) {
        return Err(invalid("The total chunk count is invalid."));
    }
    admit_post(sb, t, privacy, now)?;
    let mut world = sb.tiktok();
    let mut p = new_publication(&mut world, t, "VIDEO", info, now);
    (p.video_size, p.chunk_size, p.total_chunks) = (size, chunk, count);
    // The sandbox's own address, as the client reached it, stands in for the upload host.
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let upload_url = format!(
        "http://{host}/{UPLOAD_HOST}/video/?upload_id={}&upload_token={}",
        p.publish_id, p.upload_token
    );
    let publish_id = p.publish_id.clone();
    world.publications.push(p);
    Ok(ok(json!({ "publish_id": publish_id, "upload_url": upload_url })))
}

/// Refused unless every URL starts with a prefix the app verified (none verified: any is taken).
fn verified(sb: &Sandbox, urls: &[&str]) -> Result<(), Refusal> {
    let prefixes = sb.tiktok().verified_prefixes.clone();
    if !prefixes.is_empty() && !urls.iter().all(|u| prefixes.iter().any(|p| u.starts_with(p))) {
        return Err(refusal(
            StatusCode::FORBIDDEN,
            "url_ownership_unverified",
            "The domain or URL prefix of the media is not verified by the app.",
        ));
    }
    Ok(())
}

/// A video TikTok pulls from `video_url` [official: the Content Posting API's pull mode]: fetched
/// at once, then processed into a post like an upload.
async fn pull_video(
    sb: &Sandbox,
    t: &Token,
    info: &Value,
    privacy: &str,
    source: &Value,
    now: Timestamp,
) -> Result<Response, Refusal> {
    let url = source["video_url"]
        .as_str()
        .ok_or_else(|| invalid("source_info.video_url is required"))?;
    verified(sb, &[url])?;
    admit_post(sb, t, privacy, now)?;
    let fetched = crate::fetch::download(
        sb,
        url,
        MAX_PULLED_VIDEO,
        |_| crate::graph::GraphError::param("unreachable"),
        || crate::graph::GraphError::param("too large"),
    )
    .await;
    let delay = SignedDuration::try_from(sb.config().processing_delay).unwrap_or_default();
    let mut world = sb.tiktok();
    let mut p = new_publication(&mut world, t, "VIDEO", info, now);
    match fetched {
        Ok(f) if f.iso => {
            (p.video_size, p.uploaded_bytes, p.sha256) = (f.len as u64, f.len as u64, Some(f.sha256));
            p.status = "PROCESSING_DOWNLOAD";
            p.ready_at = Some(now + delay);
            p.moderated_at = (p.privacy_level == "PUBLIC_TO_EVERYONE").then(|| now + delay + delay);
        }
        Ok(_) => {
            p.status = "FAILED";
            p.fail_reason = Some("file_format_check_failed".into());
        }
        Err(_) => {
            p.status = "FAILED";
            p.fail_reason = Some("video_pull_failed".into());
        }
    }
    let publish_id = p.publish_id.clone();
    world.publications.push(p);
    Ok(ok(json!({ "publish_id": publish_id })))
}

/// `POST /v2/post/publish/content/init/`: photos pulled from their URLs (which must start with a
/// prefix the app verified), then processed into a post.
async fn content_init(sb: &Sandbox, t: &Token, body: &Value, now: Timestamp) -> Result<Response, Refusal> {
    let info = &body["post_info"];
    let source = &body["source_info"];
    if body["media_type"] != "PHOTO" {
        return Err(invalid("media_type must be PHOTO"));
    }
    if body["post_mode"] != "DIRECT_POST" {
        return Err(invalid("The sandbox takes photo posts as DIRECT_POST"));
    }
    let privacy = info["privacy_level"]
        .as_str()
        .ok_or_else(|| invalid("post_info.privacy_level is required"))?;
    if utf16(info["title"].as_str().unwrap_or_default()) > 90 {
        return Err(invalid("post_info.title is longer than 90 characters"));
    }
    if utf16(info["description"].as_str().unwrap_or_default()) > 4000 {
        return Err(invalid("post_info.description is longer than 4000 characters"));
    }
    if source["source"] != "PULL_FROM_URL" {
        return Err(invalid("Photos are taken only by PULL_FROM_URL"));
    }
    let urls: Vec<String> = source["photo_images"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u.as_str().map(str::to_owned))
        .collect();
    if urls.is_empty() || urls.len() > MAX_PHOTOS {
        return Err(invalid("photo_images must hold 1 to 35 URLs"));
    }
    let cover = source["photo_cover_index"]
        .as_u64()
        .ok_or_else(|| invalid("source_info.photo_cover_index is required"))?;
    if cover as usize >= urls.len() {
        return Err(invalid("photo_cover_index is out of range"));
    }
    verified(sb, &urls.iter().map(String::as_str).collect::<Vec<_>>())?;
    admit_post(sb, t, privacy, now)?;
    // TikTok pulls the photos; one it cannot fetch, or not a JPEG or WebP, fails the post.
    let mut photos = Vec::new();
    let mut failed = None;
    for u in &urls {
        let fetched = crate::fetch::download(
            sb,
            u,
            MAX_PHOTO_BYTES,
            |_| crate::graph::GraphError::param("unreachable"),
            || crate::graph::GraphError::param("too large"),
        )
        .await;
        match fetched {
            Ok(f) if f.jpeg.is_some() => photos.push((crate::graph::mask_signature(u), f.len as u64)),
            Ok(_) => failed = Some("file_format_check_failed"),
            Err(_) => failed = Some("photo_pull_failed"),
        }
    }
    let delay = SignedDuration::try_from(sb.config().processing_delay).unwrap_or_default();
    let mut world = sb.tiktok();
    let mut p = new_publication(&mut world, t, "PHOTO", info, now);
    p.photos = photos;
    match failed {
        Some(reason) => {
            p.status = "FAILED";
            p.fail_reason = Some(reason.to_owned());
        }
        None => {
            p.status = "PROCESSING_DOWNLOAD";
            p.ready_at = Some(now + delay);
            p.moderated_at = (p.privacy_level == "PUBLIC_TO_EVERYONE").then(|| now + delay + delay);
        }
    }
    let publish_id = p.publish_id.clone();
    world.publications.push(p);
    Ok(ok(json!({ "publish_id": publish_id })))
}

/// `POST /v2/post/publish/status/fetch/`.
fn status(sb: &Sandbox, t: &Token, body: &Value, now: Timestamp) -> Result<Response, Refusal> {
    need(t, "video.publish")?;
    let id = body["publish_id"]
        .as_str()
        .ok_or_else(|| invalid("publish_id is required"))?;
    let mut world = sb.tiktok();
    world.settle(now);
    let p = world
        .publications
        .iter()
        .find(|p| p.publish_id == id)
        .ok_or_else(|| {
            refusal(
                StatusCode::BAD_REQUEST,
                "invalid_publish_id",
                "The publish_id does not exist.",
            )
        })?;
    if p.open_id != t.open_id {
        return Err(refusal(
            StatusCode::BAD_REQUEST,
            "token_not_authorized_for_specified_publish_id",
            "The access token is not authorized for this publish_id.",
        ));
    }
    // The id is a number in TikTok's answer [official: list<int64>].
    let ids: Vec<u64> = p.post_id.iter().filter_map(|i| i.parse().ok()).collect();
    let mut data = json!({
        "status": p.status, "publicaly_available_post_id": ids, "uploaded_bytes": p.uploaded_bytes,
    });
    if p.media_type == "PHOTO" {
        data["downloaded_bytes"] = json!(p.photos.iter().map(|(_, n)| n).sum::<u64>());
    }
    if let Some(reason) = &p.fail_reason {
        data["fail_reason"] = json!(reason);
    }
    Ok(ok(data))
}

/// A public post as `video/list` and `video/query` show it, with the fields asked for; its
/// figures grow with its age.
fn video_json(p: &Publication, fields: &[&str], now: Timestamp) -> Value {
    let hours = now.duration_since(p.created_at).as_secs().max(0) as u64 / 3600;
    let mut v = serde_json::Map::new();
    for f in fields {
        let value = match *f {
            "id" => json!(p.post_id),
            "create_time" => json!(p.created_at.as_second()),
            "title" => json!(p.title),
            "video_description" => json!(match p.media_type {
                "PHOTO" => &p.description,
                _ => &p.title,
            }),
            "share_url" => json!(format!(
                "https://www.tiktok.com/@sandbox/video/{}",
                p.post_id.clone().unwrap_or_default()
            )),
            "view_count" => json!(hours * 12),
            "like_count" => json!(hours * 3),
            "comment_count" => json!(hours / 5),
            "share_count" => json!(hours / 10),
            _ => continue,
        };
        v.insert((*f).to_owned(), value);
    }
    Value::Object(v)
}

fn fields_of(q: &BTreeMap<String, String>) -> Result<Vec<&str>, Refusal> {
    q.get("fields")
        .map(|f| f.split(',').map(str::trim).collect())
        .ok_or_else(|| invalid("fields is required"))
}

/// `POST /v2/video/list/`: the account's public posts, newest first, `max_count` (≤ 20) a page,
/// the cursor being the time (ms) before which the next page starts.
fn video_list(
    sb: &Sandbox,
    t: &Token,
    q: &BTreeMap<String, String>,
    body: &Value,
    now: Timestamp,
) -> Result<Response, Refusal> {
    need(t, "video.list")?;
    let fields = fields_of(q)?;
    let max = body["max_count"].as_u64().unwrap_or(10);
    if !(1..=20).contains(&max) {
        return Err(invalid("max_count must be between 1 and 20"));
    }
    let before = body["cursor"].as_i64().unwrap_or(i64::MAX);
    let mut world = sb.tiktok();
    world.settle(now);
    let mut mine: Vec<&Publication> = world
        .publications
        .iter()
        .filter(|p| p.open_id == t.open_id && p.post_id.is_some())
        .filter(|p| p.created_at.as_millisecond() < before)
        .collect();
    mine.sort_by_key(|p| std::cmp::Reverse(p.created_at));
    let page: Vec<&Publication> = mine.iter().take(max as usize).copied().collect();
    let has_more = mine.len() > page.len();
    let cursor = page.last().map_or(0, |p| p.created_at.as_millisecond());
    Ok(ok(json!({
        "videos": page.iter().map(|p| video_json(p, &fields, now)).collect::<Vec<_>>(),
        "cursor": cursor, "has_more": has_more,
    })))
}

/// `POST /v2/video/query/`: the account's public posts with the ids asked for (≤ 20).
fn video_query(
    sb: &Sandbox,
    t: &Token,
    q: &BTreeMap<String, String>,
    body: &Value,
    now: Timestamp,
) -> Result<Response, Refusal> {
    need(t, "video.list")?;
    let fields = fields_of(q)?;
    let ids: Vec<&str> = body["filters"]["video_ids"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if ids.is_empty() || ids.len() > 20 {
        return Err(invalid("filters.video_ids must hold 1 to 20 ids"));
    }
    let mut world = sb.tiktok();
    world.settle(now);
    let found: Vec<Value> = world
        .publications
        .iter()
        .filter(|p| p.open_id == t.open_id && p.post_id.as_deref().is_some_and(|i| ids.contains(&i)))
        .map(|p| video_json(p, &fields, now))
        .collect();
    Ok(ok(json!({ "videos": found, "cursor": 0, "has_more": false })))
}
