//! `api.pinterest.com/v5`: every request journaled, counted against its account, throttled with
//! a 429 when a fault says so, and answered as Pinterest answers: the user account, boards and
//! their sections and pins, media registration and status, pin creation and analytics. Errors are
//! `{"code","message"}` with the HTTP status carrying the class.

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::oauth::{revoke, token, validate};
use super::world::{Image, Media, MediaStatus, Pin, Token};
use crate::Sandbox;
use crate::fetch::download;
use crate::graph::GraphError;
use crate::meter::{Call, UseCase};

const MAX_IMAGE_BYTES: usize = 20 * 1024 * 1024;
/// The upload host the registrations name (S3, in front of Pinterest's media pipeline).
pub(crate) const UPLOAD_HOST: &str = "pinterest-media-upload.s3-accelerate.amazonaws.com";

/// A Pinterest error: the status, and `{"code","message"}`.
#[derive(Debug)]
pub(crate) struct PinError {
    status: StatusCode,
    code: i64,
    message: String,
    /// For a 429: seconds until the window resets.
    reset: Option<i64>,
}

impl PinError {
    pub fn new(status: StatusCode, code: i64, message: &str) -> Self {
        Self {
            status,
            code,
            message: message.to_owned(),
            reset: None,
        }
    }

    /// 401, code 2: the token (or the app's credentials) was not accepted.
    pub fn auth() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, 2, "Authentication failed.")
    }

    /// 400, code 1: a parameter is missing or wrong.
    pub fn invalid(why: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, 1, &format!("Invalid request: {why}"))
    }

    fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, 404, &format!("{what} not found."))
    }

    /// 403, code 29: the token lacks a scope the call needs.
    fn scope(scope: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            29,
            &format!("You are not permitted to access that resource. Missing scope: {scope}"),
        )
    }

    pub fn rate_limited(reset: i64) -> Self {
        Self {
            reset: Some(reset),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                8,
                "You have exceeded your rate limit. Try again later.",
            )
        }
    }
}

impl IntoResponse for PinError {
    fn into_response(self) -> Response {
        let mut res = (
            self.status,
            axum::Json(json!({"code": self.code, "message": self.message})),
        )
            .into_response();
        if let Some(reset) = self.reset {
            for h in ["retry-after", "x-ratelimit-reset"] {
                if let Ok(v) = reset.to_string().parse() {
                    res.headers_mut().insert(h, v);
                }
            }
            res.headers_mut()
                .insert("x-ratelimit-remaining", axum::http::HeaderValue::from_static("0"));
        }
        res
    }
}

/// A request's body, read as its content type says.
enum Body {
    None,
    Form(HashMap<String, String>),
    Json(Value),
}

impl Body {
    fn read(headers: &HeaderMap, bytes: &Bytes) -> Result<Self, PinError> {
        if bytes.is_empty() {
            return Ok(Self::None);
        }
        let ctype = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if ctype.starts_with("application/json") {
            serde_json::from_slice(bytes)
                .map(Self::Json)
                .map_err(|_| PinError::invalid("the body is not valid JSON"))
        } else if ctype.starts_with("application/x-www-form-urlencoded") {
            Ok(Self::Form(
                url::form_urlencoded::parse(bytes).into_owned().collect(),
            ))
        } else {
            Err(PinError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                415,
                "Unsupported media type",
            ))
        }
    }

    /// What the journal keeps: the body without credentials, and signed links' signatures masked.
    fn public(&self) -> Option<Value> {
        match self {
            Self::None => None,
            Self::Json(v) => Some(crate::graph::mask_signatures(v)),
            Self::Form(f) => Some(crate::graph::redacted_form(f, crate::graph::mask_signature)),
        }
    }

    fn form(&self) -> HashMap<String, String> {
        match self {
            Self::Form(f) => f.clone(),
            _ => HashMap::new(),
        }
    }

    fn json(&self) -> Result<&Value, PinError> {
        match self {
            Self::Json(v) => Ok(v),
            _ => Err(PinError::invalid("the body must be JSON")),
        }
    }
}

/// Every request under `/api.pinterest.com/v5/`.
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
    let body = match Body::read(&headers, &bytes) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    crate::graph::record_rest(
        &sb,
        "api.pinterest.com",
        &method,
        format!("/v5/{path}"),
        &query,
        body.public(),
        &headers,
    );
    let now = sb.clock().now();
    let operation = operation(&method, &path);
    let object = {
        let world = sb.pinterest();
        validate(&world, &headers, now).ok().map(|t| t.account)
    };
    let throttled = sb.meter().admit(Call {
        at: now,
        method: method.to_string(),
        path: format!("/v5/{path}"),
        operation: operation.to_owned(),
        use_case: UseCase::Pinterest,
        object,
    });
    if let Some(minutes) = throttled {
        return PinError::rate_limited(minutes * 60).into_response();
    }
    let perform = async {
        route(&sb, &method, &path, &query, &headers, &body)
            .await
            .unwrap_or_else(IntoResponse::into_response)
    };
    crate::faults::faulted(&sb, UseCase::Pinterest, method.as_str(), operation, perform).await
}

/// The name faults and the call log use for a request.
fn operation(method: &Method, path: &str) -> &'static str {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match (method.as_str(), segs.as_slice()) {
        (_, ["oauth", "token"]) => "token",
        (_, ["oauth", "token", "revoke"]) => "revoke",
        (_, ["user_account"]) => "user_account",
        (_, ["boards"]) => "boards",
        (_, ["boards", _, "sections"]) => "sections",
        (_, ["boards", _, "pins"]) => "board_pins",
        ("POST", ["pins"]) => "pins",
        (_, ["pins", _, "analytics"]) => "analytics",
        (_, ["pins", _]) => "pin",
        ("POST", ["media"]) => "media",
        (_, ["media", _]) => "media_status",
        _ => "unknown",
    }
}

async fn route(
    sb: &Sandbox,
    method: &Method,
    path: &str,
    query: &BTreeMap<String, String>,
    headers: &HeaderMap,
    body: &Body,
) -> Result<Response, PinError> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match (method.as_str(), segs.as_slice()) {
        ("POST", ["oauth", "token"]) => return token(sb, headers, &body.form()),
        ("POST", ["oauth", "token", "revoke"]) => return revoke(sb, headers, &body.form()),
        _ => {}
    }
    let now = sb.clock().now();
    let t = validate(&sb.pinterest(), headers, now)?;
    match (method.as_str(), segs.as_slice()) {
        ("GET", ["user_account"]) => user_account(sb, &t),
        ("GET", ["boards"]) => boards(sb, &t, query),
        ("GET", ["boards", board, "sections"]) => sections(sb, &t, board, query),
        ("GET", ["boards", board, "pins"]) => board_pins(sb, &t, board, query),
        ("POST", ["pins"]) => create_pin(sb, &t, body.json()?).await,
        ("GET", ["pins", pin]) => get_pin(sb, &t, pin),
        ("GET", ["pins", pin, "analytics"]) => super::analytics::pin(sb, &t, pin, query),
        ("POST", ["media"]) => register_media(sb, &t, headers, body.json()?),
        ("GET", ["media", id]) => media_status(sb, &t, id),
        _ => Err(PinError::new(StatusCode::NOT_FOUND, 404, "Not found")),
    }
}

pub(crate) fn need(t: &Token, scopes: &[&str]) -> Result<(), PinError> {
    match scopes.iter().find(|s| !t.scopes.iter().any(|g| g == *s)) {
        Some(missing) => Err(PinError::scope(missing)),
        None => Ok(()),
    }
}

fn user_account(sb: &Sandbox, t: &Token) -> Result<Response, PinError> {
    need(t, &["user_accounts:read"])?;
    let world = sb.pinterest();
    let a = world
        .account(&t.account)
        .ok_or_else(|| PinError::not_found("User account"))?;
    Ok(axum::Json(json!({
        "account_type": "BUSINESS", "id": a.id, "username": a.username,
        "business_name": a.business_name, "board_count": a.boards.len(),
        "profile_image": "", "website_url": "", "about": "",
    }))
    .into_response())
}

/// One page of `items` (each with its `id`): `page_size` of them (1 to 250, 25 when not given)
/// after the `bookmark`, and the next bookmark while more remain.
fn paged(items: Vec<Value>, query: &BTreeMap<String, String>) -> Result<Response, PinError> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let size = match query.get("page_size") {
        None => 25,
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=250).contains(n))
            .ok_or_else(|| PinError::invalid("page_size must be between 1 and 250"))?,
    };
    let start = match query.get("bookmark") {
        None => 0,
        Some(b) => {
            let after = b64
                .decode(b)
                .ok()
                .and_then(|raw| String::from_utf8(raw).ok())
                .ok_or_else(|| PinError::invalid("the bookmark is not valid"))?;
            items
                .iter()
                .position(|i| i["id"] == after.as_str())
                .map_or(items.len(), |p| p + 1)
        }
    };
    let page: Vec<Value> = items.iter().skip(start).take(size).cloned().collect();
    let bookmark = (start + page.len() < items.len())
        .then(|| {
            page.last()
                .and_then(|l| l["id"].as_str())
                .map(|id| b64.encode(id))
        })
        .flatten();
    Ok(axum::Json(json!({"items": page, "bookmark": bookmark})).into_response())
}

fn boards(sb: &Sandbox, t: &Token, query: &BTreeMap<String, String>) -> Result<Response, PinError> {
    need(t, &["boards:read"])?;
    let world = sb.pinterest();
    let a = world
        .account(&t.account)
        .ok_or_else(|| PinError::not_found("User account"))?;
    let items = a
        .boards
        .iter()
        .map(|b| json!({"id": b.id, "name": b.name, "privacy": b.privacy, "description": "", "owner": {"username": a.username}}))
        .collect();
    paged(items, query)
}

fn sections(
    sb: &Sandbox,
    t: &Token,
    board: &str,
    query: &BTreeMap<String, String>,
) -> Result<Response, PinError> {
    need(t, &["boards:read"])?;
    let world = sb.pinterest();
    let b = world
        .board(&t.account, board)
        .ok_or_else(|| PinError::not_found("Board"))?;
    let items = b
        .sections
        .iter()
        .map(|(id, name)| json!({"id": id, "name": name}))
        .collect();
    paged(items, query)
}

/// A pin as the API shows it.
pub(crate) fn pin_json(p: &Pin, owner: &str) -> Value {
    let media = match p.media_type {
        "video" => json!({"media_type": "video", "cover_image_url": p.cover}),
        "multiple_images" => {
            json!({"media_type": "multiple_images", "items": p.images.iter().map(|i| json!({"item_type": "image", "title": i.title, "description": i.description, "link": i.link})).collect::<Vec<_>>()})
        }
        _ => json!({"media_type": "image"}),
    };
    json!({
        "id": p.id, "created_at": p.created_at.strftime("%Y-%m-%dT%H:%M:%S").to_string(),
        "link": p.link, "title": p.title, "description": p.description, "alt_text": p.alt_text,
        "board_id": p.board_id, "board_section_id": p.board_section_id,
        "board_owner": {"username": owner}, "media": media, "creative_type": if p.media_type == "video" { "VIDEO" } else { "REGULAR" },
        "is_owner": true, "is_standard": true, "has_been_promoted": false, "pin_metrics": null,
        "parent_pin_id": null, "dominant_color": "#6E7874",
    })
}

fn board_pins(
    sb: &Sandbox,
    t: &Token,
    board: &str,
    query: &BTreeMap<String, String>,
) -> Result<Response, PinError> {
    need(t, &["boards:read", "pins:read"])?;
    let world = sb.pinterest();
    let owner = world
        .board(&t.account, board)
        .map(|_| {
            world
                .account(&t.account)
                .map(|a| a.username.clone())
                .unwrap_or_default()
        })
        .ok_or_else(|| PinError::not_found("Board"))?;
    let items = world
        .pins
        .iter()
        .rev()
        .filter(|p| p.board_id == board)
        .map(|p| pin_json(p, &owner))
        .collect();
    paged(items, query)
}

fn get_pin(sb: &Sandbox, t: &Token, id: &str) -> Result<Response, PinError> {
    need(t, &["boards:read", "pins:read"])?;
    let world = sb.pinterest();
    let p = world
        .pins
        .iter()
        .find(|p| p.id == id && p.account == t.account)
        .ok_or_else(|| PinError::not_found("Pin"))?;
    let owner = world
        .account(&t.account)
        .map(|a| a.username.clone())
        .unwrap_or_default();
    Ok(axum::Json(pin_json(p, &owner)).into_response())
}

/// An optional string field no longer than `max` characters.
fn text(v: &Value, field: &str, max: usize) -> Result<Option<String>, PinError> {
    match &v[field] {
        Value::Null => Ok(None),
        Value::String(s) if s.chars().count() <= max => Ok(Some(s.clone())),
        Value::String(_) => Err(PinError::invalid(&format!(
            "{field} must be at most {max} characters"
        ))),
        _ => Err(PinError::invalid(&format!("{field} must be a string"))),
    }
}

fn unreachable_image(url: &str) -> GraphError {
    GraphError::param(format!("Sorry, we could not fetch the image at {url}"))
}

fn image_too_large() -> GraphError {
    GraphError::param("The image is larger than 20 MB")
}

/// Downloads one image of a pin, as Pinterest's fetcher would.
async fn fetch_image(sb: &Sandbox, url: &str) -> Result<usize, PinError> {
    let fetched = download(sb, url, MAX_IMAGE_BYTES, unreachable_image, image_too_large)
        .await
        .map_err(|e| PinError::invalid(&e.message))?;
    if !fetched.image {
        return Err(PinError::invalid("the media at url is not a JPEG or PNG image"));
    }
    Ok(fetched.len)
}

/// `POST /v5/pins`: a pin on one of the account's boards, from one image URL, 2 to 5 image URLs
/// or a video that finished processing.
async fn create_pin(sb: &Sandbox, t: &Token, v: &Value) -> Result<Response, PinError> {
    need(t, &["boards:read", "boards:write", "pins:read", "pins:write"])?;
    let board_id = v["board_id"]
        .as_str()
        .ok_or_else(|| PinError::invalid("board_id is required"))?
        .to_owned();
    let section = text(v, "board_section_id", 64)?;
    {
        let world = sb.pinterest();
        let board = world
            .board(&t.account, &board_id)
            .ok_or_else(|| PinError::not_found("Board"))?;
        if let Some(s) = &section
            && !board.sections.iter().any(|(id, _)| id == s)
        {
            return Err(PinError::not_found("Board section"));
        }
    }
    let (title, description) = (text(v, "title", 100)?, text(v, "description", 800)?);
    let (link, alt_text) = (text(v, "link", 2048)?, text(v, "alt_text", 500)?);
    let source = &v["media_source"];
    let (media_type, images, media_id, cover) = match source["source_type"].as_str() {
        Some("image_url") => {
            let url = source["url"]
                .as_str()
                .ok_or_else(|| PinError::invalid("media_source.url is required"))?;
            let bytes = fetch_image(sb, url).await?;
            let image = Image {
                url: url.to_owned(),
                bytes,
                title: None,
                description: None,
                link: None,
            };
            ("image", vec![image], None, None)
        }
        Some("multiple_image_urls") => {
            let items = source["items"].as_array().map(Vec::as_slice).unwrap_or_default();
            if !(2..=5).contains(&items.len()) {
                return Err(PinError::invalid("media_source.items must hold 2 to 5 images"));
            }
            let mut images = Vec::with_capacity(items.len());
            for item in items {
                let url = item["url"]
                    .as_str()
                    .ok_or_else(|| PinError::invalid("each item needs a url"))?;
                images.push(Image {
                    url: url.to_owned(),
                    bytes: fetch_image(sb, url).await?,
                    title: text(item, "title", 100)?,
                    description: text(item, "description", 800)?,
                    link: text(item, "link", 2048)?,
                });
            }
            ("multiple_images", images, None, None)
        }
        Some("video_id") => {
            let media_id = source["media_id"]
                .as_str()
                .ok_or_else(|| PinError::invalid("media_source.media_id is required"))?;
            let mut world = sb.pinterest();
            world.settle(sb.clock().now());
            let m = world
                .media
                .get(media_id)
                .filter(|m| m.account == t.account)
                .ok_or_else(|| PinError::not_found("Media"))?;
            if m.status != MediaStatus::Succeeded {
                return Err(PinError::invalid("the video has not finished processing"));
            }
            let cover = match (
                source["cover_image_url"].as_str(),
                source["cover_image_key_frame_time"].as_i64(),
            ) {
                (Some(url), _) => Some(url.to_owned()),
                (None, Some(s)) if s >= 0 => Some(format!("key frame {s} s")),
                _ => {
                    return Err(PinError::invalid(
                        "a video pin needs cover_image_url or cover_image_key_frame_time",
                    ));
                }
            };
            ("video", Vec::new(), Some(media_id.to_owned()), cover)
        }
        Some(other) => {
            return Err(PinError::invalid(&format!(
                "media_source.source_type {other} is not supported here"
            )));
        }
        None => return Err(PinError::invalid("media_source is required")),
    };
    let now = sb.clock().now();
    let mut world = sb.pinterest();
    let id = world.next_id();
    let pin = Pin {
        id,
        account: t.account.clone(),
        board_id,
        board_section_id: section,
        title,
        description,
        link,
        alt_text,
        media_type,
        images,
        media_id,
        cover,
        created_at: now,
    };
    let owner = world
        .account(&t.account)
        .map(|a| a.username.clone())
        .unwrap_or_default();
    let body = pin_json(&pin, &owner);
    world.pins.push(pin);
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// `POST /v5/media`: registers a video upload and names where its bytes go.
fn register_media(sb: &Sandbox, t: &Token, headers: &HeaderMap, v: &Value) -> Result<Response, PinError> {
    need(t, &["pins:read", "pins:write"])?;
    if v["media_type"] != "video" {
        return Err(PinError::invalid("media_type must be video"));
    }
    let now = sb.clock().now();
    let mut world = sb.pinterest();
    let id = world.next_id();
    let key = format!("uploads/{}/{id}.mp4", t.account);
    world.media.insert(
        id.clone(),
        Media {
            id: id.clone(),
            account: t.account.clone(),
            key: key.clone(),
            status: MediaStatus::Registered,
            bytes: 0,
            registered_at: now,
            ready_at: None,
        },
    );
    // The sandbox's own address, as the client reached it, stands in for S3.
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({
            "media_id": id, "media_type": "video",
            "upload_url": format!("http://{host}/{UPLOAD_HOST}/"),
            "upload_parameters": {
                "x-amz-date": now.strftime("%Y%m%dT%H%M%SZ").to_string(),
                "x-amz-signature": super::upload::signature(&key),
                "x-amz-security-token": "sandbox-session-token",
                "x-amz-algorithm": "AWS4-HMAC-SHA256",
                "key": key,
                "policy": "eyJzYW5kYm94Ijp0cnVlfQ==",
                "x-amz-credential": "SANDBOX/20261130/us-east-1/s3/aws4_request",
                "Content-Type": "multipart/form-data",
            },
        })),
    )
        .into_response())
}

fn media_status(sb: &Sandbox, t: &Token, id: &str) -> Result<Response, PinError> {
    need(t, &["pins:read"])?;
    let mut world = sb.pinterest();
    world.settle(sb.clock().now());
    let m = world
        .media
        .get(id)
        .filter(|m| m.account == t.account)
        .ok_or_else(|| PinError::not_found("Media"))?;
    Ok(axum::Json(json!({"media_id": m.id, "media_type": "video", "status": m.status})).into_response())
}

/// How old a pin is, for the generated analytics.
pub(crate) fn age(p: &Pin, now: Timestamp) -> SignedDuration {
    now.duration_since(p.created_at)
}
