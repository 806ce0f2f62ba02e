//! `api.linkedin.com`: `/v2/userinfo`, and under `/rest` (every call with an active
//! `LinkedIn-Version`; finders and lists with `X-Restli-Protocol-Version: 2.0.0`) organization
//! access control and organizations, the Images and Videos APIs, posts (create, by author),
//! comments (`socialActions`), social metadata and organizations' share statistics. Errors are
//! `{"status","serviceErrorCode","code","message"}`; a member may publish 150 posts a day (scaled
//! as the sandbox's limits say), after which LinkedIn answers 429 with no header saying when.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::oauth::validate;
use super::world::{Asset, Comment, Post, Token, World};
use crate::Sandbox;
use crate::meter::{Call, UseCase};

/// Posts a member may publish per day [3p: LinkedIn publishes no figures; 150 is the commonly
/// reported member limit], reset at midnight UTC [official].
const MEMBER_POSTS_PER_DAY: u32 = 150;
/// Video parts: 4 MiB each [official: the Videos API splits uploads into 4,194,304-byte parts].
const PART: u64 = 4 * 1024 * 1024;
/// The largest video: 500 MB [3p].
const MAX_VIDEO: u64 = 500 * 1024 * 1024;
/// The longest commentary, as shown [official Posts API: 3,000 characters].
const MAX_COMMENTARY: usize = 3000;
/// Characters the little format reserves; unescaped outside a template, they end the text shown.
const RESERVED: &[char] = &[
    '\\', '|', '{', '}', '@', '[', ']', '(', ')', '<', '>', '#', '*', '_', '~',
];

/// LinkedIn's error envelope.
pub(crate) fn error(status: StatusCode, service: u32, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(
            json!({"status": status.as_u16(), "serviceErrorCode": service, "code": code, "message": message}),
        ),
    )
        .into_response()
}

type Refusal = Box<Response>;

fn refuse(status: StatusCode, service: u32, code: &str, message: &str) -> Refusal {
    Box::new(error(status, service, code, message))
}

/// A validation failure as the Posts API words it (`ERROR :: /field :: why`).
fn invalid(field: &str, why: &str) -> Refusal {
    Box::new(
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({"status": 422, "message": format!("ERROR :: {field} :: {why}\n")})),
        )
            .into_response(),
    )
}

fn denied(method: &Method, path: &str) -> Refusal {
    refuse(
        StatusCode::FORBIDDEN,
        100,
        "ACCESS_DENIED",
        &format!("Not enough permissions to access: {method} /{path}"),
    )
}

fn not_found(what: &str) -> Refusal {
    refuse(
        StatusCode::NOT_FOUND,
        0,
        "NOT_FOUND",
        &format!("{what} does not exist"),
    )
}

/// The request, as the routes need it.
struct Request<'a> {
    method: &'a Method,
    path: &'a str,
    query: &'a BTreeMap<String, String>,
    headers: &'a HeaderMap,
    token: &'a Token,
    body: &'a Value,
    now: Timestamp,
}

impl Request<'_> {
    fn has(&self, scope: &str) -> bool {
        self.token.scopes.iter().any(|s| s == scope)
    }

    fn need(&self, scopes: &[&str]) -> Result<(), Refusal> {
        match scopes.iter().all(|s| self.has(s)) {
            true => Ok(()),
            false => Err(denied(self.method, self.path)),
        }
    }

    fn person(&self) -> String {
        format!("urn:li:person:{}", self.token.member)
    }

    /// Whether the member may write as `author` (themselves, or a Page they administer).
    fn may_act(&self, w: &World, author: &str) -> Result<(), Refusal> {
        let allowed = if author == self.person() {
            self.has("w_member_social")
        } else {
            self.has("w_organization_social") && w.administers(&self.token.member, author)
        };
        match allowed {
            true => Ok(()),
            false => Err(refuse(
                StatusCode::FORBIDDEN,
                100,
                "ACCESS_DENIED",
                &format!("Not enough permissions to act as {author}"),
            )),
        }
    }

    /// Whether the member may read `author`'s posts and their comments (a member's own need
    /// `r_member_social`, which LinkedIn grants to few apps and this sandbox's app lacks).
    fn may_read(&self, w: &World, author: &str) -> Result<(), Refusal> {
        let allowed = if author == self.person() {
            self.has("r_member_social")
        } else {
            self.has("r_organization_social") && w.administers(&self.token.member, author)
        };
        match allowed {
            true => Ok(()),
            false => Err(denied(self.method, self.path)),
        }
    }

    /// The sandbox's own address as the client reached it, which stands in for the upload host.
    fn upload_url(&self, key: &str) -> String {
        let host = self
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1");
        format!("http://{host}/www.linkedin.com/dms-uploads/{key}")
    }
}

/// Every request under `/api.linkedin.com/`.
pub(crate) async fn api(
    State(sb): State<Sandbox>,
    method: Method,
    Path(path): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let raw = raw.unwrap_or_default();
    let query: BTreeMap<String, String> = url::form_urlencoded::parse(raw.as_bytes()).into_owned().collect();
    let body: Value = match bytes.is_empty() {
        true => Value::Null,
        false => match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    0,
                    "ILLEGAL_ARGUMENT",
                    "Request body could not be converted to data map",
                );
            }
        },
    };
    crate::graph::record_rest(
        &sb,
        "api.linkedin.com",
        &method,
        format!("/{path}"),
        &query,
        (!body.is_null()).then(|| body.clone()),
        &headers,
    );
    let now = sb.clock().now();
    let op = operation(&method, &path, &query);
    if let Some(refused) = protocol(&path, &query, &headers, now) {
        return *refused;
    }
    let token = bearer(&sb, &headers, now);
    let member = token.as_ref().ok().map(|t| t.member.clone());
    let throttled = sb.meter().admit(Call {
        at: now,
        method: method.to_string(),
        path: format!("/{path}"),
        operation: op.to_owned(),
        use_case: UseCase::Linkedin,
        object: member,
    });
    if throttled.is_some() {
        return too_many("MEMBER");
    }
    let perform = async {
        let token = match token {
            Ok(t) => t,
            Err(refused) => return *refused,
        };
        let r = Request {
            method: &method,
            path: &path,
            query: &query,
            headers: &headers,
            token: &token,
            body: &body,
            now,
        };
        route(&sb, &r).unwrap_or_else(|e| *e)
    };
    crate::faults::faulted(&sb, UseCase::Linkedin, method.as_str(), op, perform).await
}

fn too_many(scope: &str) -> Response {
    error(
        StatusCode::TOO_MANY_REQUESTS,
        101,
        "TOO_MANY_REQUESTS",
        &format!("Resource level throttle {scope} DAY limit for calls to this resource is reached."),
    )
}

/// The versioning and protocol headers `/rest` needs.
fn protocol(
    path: &str,
    q: &BTreeMap<String, String>,
    headers: &HeaderMap,
    now: Timestamp,
) -> Option<Refusal> {
    if !path.starts_with("rest/") {
        return None;
    }
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::trim);
    let Some(version) = header("linkedin-version") else {
        return Some(refuse(
            StatusCode::BAD_REQUEST,
            0,
            "VERSION_MISSING",
            "A version must be present. Please specify a version by adding the LinkedIn-Version header.",
        ));
    };
    if !active(version, now) {
        return Some(refuse(
            StatusCode::UPGRADE_REQUIRED,
            0,
            "NONEXISTENT_VERSION",
            &format!("Requested version {version} is not active"),
        ));
    }
    let finder = q.contains_key("q") || q.values().any(|v| v.starts_with("List("));
    if finder && header("x-restli-protocol-version") != Some("2.0.0") {
        return Some(refuse(
            StatusCode::BAD_REQUEST,
            0,
            "ILLEGAL_ARGUMENT",
            "Finder and batch requests need the header X-Restli-Protocol-Version: 2.0.0",
        ));
    }
    None
}

/// Whether a `YYYYMM` version is served: released (not after this month) and not sunset (LinkedIn
/// keeps each for about a year).
fn active(version: &str, now: Timestamp) -> bool {
    let today = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    let current = i32::from(today.year()) * 12 + i32::from(today.month()) - 1;
    let parsed = (version.len() == 6 && version.bytes().all(|b| b.is_ascii_digit()))
        .then(|| (version[..4].parse::<i32>().ok(), version[4..].parse::<i32>().ok()));
    match parsed {
        Some((Some(y), Some(m))) if (1..=12).contains(&m) => {
            let asked = y * 12 + m - 1;
            asked <= current && current - asked < 12
        }
        _ => false,
    }
}

/// The token a request carries, or LinkedIn's 401 for it.
fn bearer(sb: &Sandbox, headers: &HeaderMap, now: Timestamp) -> Result<Token, Refusal> {
    if let Some(t) = validate(sb, headers, now) {
        return Ok(t);
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let expired = presented.is_some_and(|t| sb.linkedin().tokens.get(t).is_some_and(|t| t.expires_at <= now));
    Err(match expired {
        true => refuse(
            StatusCode::UNAUTHORIZED,
            65602,
            "EXPIRED_ACCESS_TOKEN",
            "The token used in the request has expired",
        ),
        false => refuse(
            StatusCode::UNAUTHORIZED,
            65600,
            "INVALID_ACCESS_TOKEN",
            "Invalid access token",
        ),
    })
}

fn operation(method: &Method, path: &str, q: &BTreeMap<String, String>) -> &'static str {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let action = q.get("action").map(String::as_str);
    match (method.as_str(), segs.as_slice(), action) {
        (_, ["v2", "userinfo"], _) => "userinfo",
        (_, ["rest", "organizationAcls"], _) => "organization_acls",
        (_, ["rest", "organizations", _], _) => "organization",
        (_, ["rest", "organizations"], _) => "organizations",
        ("POST", ["rest", "images"], _) => "image_initialize",
        (_, ["rest", "images", _], _) => "image",
        ("POST", ["rest", "documents"], _) => "document_initialize",
        (_, ["rest", "documents", _], _) => "document",
        ("POST", ["rest", "videos"], Some("finalizeUpload")) => "video_finalize",
        ("POST", ["rest", "videos"], _) => "video_initialize",
        (_, ["rest", "videos", _], _) => "video",
        ("POST", ["rest", "posts"], _) => "posts",
        (_, ["rest", "posts"], _) => "posts_by_author",
        (_, ["rest", "posts", _], _) => "post",
        ("POST", ["rest", "socialActions", _, "comments"], _) => "comment",
        (_, ["rest", "socialActions", _, "comments"], _) => "comments",
        (_, ["rest", "socialMetadata", _], _) => "social_metadata",
        (_, ["rest", "organizationalEntityShareStatistics"], _) => "share_statistics",
        _ => "unknown",
    }
}

fn route(sb: &Sandbox, r: &Request<'_>) -> Result<Response, Refusal> {
    let segs: Vec<&str> = r.path.split('/').filter(|s| !s.is_empty()).collect();
    let action = r.query.get("action").map(String::as_str);
    match (r.method.as_str(), segs.as_slice(), action) {
        ("GET", ["v2", "userinfo"], _) => userinfo(sb, r),
        ("GET", ["rest", "organizationAcls"], _) => acls(sb, r),
        ("GET", ["rest", "organizations", id], _) => organization(sb, id),
        ("GET", ["rest", "organizations"], _) => organizations(sb, r),
        ("POST", ["rest", "images"], Some("initializeUpload")) => one_file_initialize(sb, r, "image"),
        ("POST", ["rest", "documents"], Some("initializeUpload")) => one_file_initialize(sb, r, "document"),
        ("GET", ["rest", "images", urn], _) if urn.starts_with("urn:li:image:") => asset(sb, r, urn),
        ("GET", ["rest", "documents", urn], _) if urn.starts_with("urn:li:document:") => asset(sb, r, urn),
        ("GET", ["rest", "videos", urn], _) if urn.starts_with("urn:li:video:") => asset(sb, r, urn),
        ("POST", ["rest", "videos"], Some("initializeUpload")) => video_initialize(sb, r),
        ("POST", ["rest", "videos"], Some("finalizeUpload")) => video_finalize(sb, r),
        ("POST", ["rest", "posts"], _) => create_post(sb, r),
        ("GET", ["rest", "posts"], _) => posts_by_author(sb, r),
        ("GET", ["rest", "socialActions", urn, "comments"], _) => comments(sb, r, urn),
        ("POST", ["rest", "socialActions", urn, "comments"], _) => comment(sb, r, urn),
        ("GET", ["rest", "socialMetadata", urn], _) => social_metadata(sb, r, urn),
        ("GET", ["rest", "organizationalEntityShareStatistics"], _) => share_statistics(sb, r),
        _ => Err(refuse(
            StatusCode::NOT_FOUND,
            0,
            "RESOURCE_NOT_FOUND",
            &format!("No virtual resource found for {} /{}", r.method, r.path),
        )),
    }
}

fn userinfo(sb: &Sandbox, r: &Request<'_>) -> Result<Response, Refusal> {
    r.need(&["openid", "profile"])?;
    let w = sb.linkedin();
    let m = w.member(&r.token.member).ok_or_else(|| not_found("The member"))?;
    let (given, family) = m.name.split_once(' ').unwrap_or((m.name.as_str(), ""));
    Ok(axum::Json(json!({
        "sub": m.id, "name": m.name, "given_name": given, "family_name": family,
        "picture": "https://media.licdn.com/dms/image/sandbox/profile.jpg",
        "locale": {"country": "US", "language": "en"},
    }))
    .into_response())
}

fn acls(sb: &Sandbox, r: &Request<'_>) -> Result<Response, Refusal> {
    if !(r.has("rw_organization_admin") || r.has("r_organization_admin")) {
        return Err(denied(r.method, r.path));
    }
    if r.query.get("q").map(String::as_str) != Some("roleAssignee") {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            0,
            "ILLEGAL_ARGUMENT",
            "The finder q=roleAssignee is required",
        ));
    }
    let w = sb.linkedin();
    let (role, person) = (r.query.get("role"), r.person());
    let elements: Vec<Value> = w
        .organizations
        .iter()
        .flat_map(|o| o.roles.iter().map(move |(m, role)| (o, m, role)))
        .filter(|(_, m, _)| **m == r.token.member)
        .filter(|(_, _, granted)| role.is_none_or(|want| want == **granted))
        .filter(|_| r.query.get("state").is_none_or(|s| s == "APPROVED"))
        .map(|(o, _, granted)| {
            json!({"roleAssignee": person, "state": "APPROVED", "role": granted,
                "organization": format!("urn:li:organization:{}", o.id)})
        })
        .collect();
    let total = elements.len();
    Ok(axum::Json(
        json!({"elements": elements, "paging": {"start": 0, "count": 100, "links": [], "total": total}}),
    )
    .into_response())
}

/// `GET /rest/organizations?ids=List(…)`: a batch get, `results` by id (unknown ids in `errors`).
fn organizations(sb: &Sandbox, r: &Request<'_>) -> Result<Response, Refusal> {
    let ids: Vec<&str> = r
        .query
        .get("ids")
        .and_then(|v| v.strip_prefix("List(")?.strip_suffix(')'))
        .map(|inner| inner.split(',').collect())
        .ok_or_else(|| {
            refuse(
                StatusCode::BAD_REQUEST,
                0,
                "ILLEGAL_ARGUMENT",
                "ids=List(…) is required",
            )
        })?;
    let w = sb.linkedin();
    let (mut results, mut errors) = (serde_json::Map::new(), serde_json::Map::new());
    for id in ids {
        match w.organization(id) {
            Some(o) => {
                results.insert(id.to_owned(), organization_json(o));
            }
            None => {
                errors.insert(id.to_owned(), json!({"status": 404, "message": "Not found"}));
            }
        }
    }
    Ok(axum::Json(json!({"results": results, "errors": errors, "statuses": {}})).into_response())
}

fn organization_json(o: &super::world::Organization) -> Value {
    json!({
        "id": o.id.parse::<u64>().unwrap_or_default(), "localizedName": o.name, "vanityName": o.vanity,
        "name": {"localized": {"en_US": o.name}, "preferredLocale": {"country": "US", "language": "en"}},
    })
}

fn organization(sb: &Sandbox, id: &str) -> Result<Response, Refusal> {
    let w = sb.linkedin();
    let o = w.organization(id).ok_or_else(|| not_found("The organization"))?;
    Ok(axum::Json(organization_json(o)).into_response())
}

fn owner_of(r: &Request<'_>) -> Result<String, Refusal> {
    r.body["initializeUploadRequest"]["owner"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| {
            invalid(
                "/initializeUploadRequest/owner",
                "field is required but not found and has no default value",
            )
        })
}

/// The Images and Documents APIs' `initializeUpload`: one upload URL for the whole file; `kind`
/// names the URN's type and the answer's field (`image`, `document`).
fn one_file_initialize(sb: &Sandbox, r: &Request<'_>, kind: &str) -> Result<Response, Refusal> {
    let owner = owner_of(r)?;
    let mut w = sb.linkedin();
    r.may_act(&w, &owner)?;
    let urn = format!("urn:li:{kind}:{}", crate::random_token("D4E10AQ", 22));
    let key = crate::random_token("", 32);
    w.uploads.insert(key.clone(), (urn.clone(), 0));
    w.assets.insert(
        urn.clone(),
        Asset {
            urn: urn.clone(),
            owner,
            size: 0,
            parts: vec![(0, u64::MAX, None)],
            upload_token: String::new(),
            status: "WAITING_UPLOAD",
            ready_at: None,
            created_at: r.now,
        },
    );
    let expires = (r.now + SignedDuration::from_hours(24)).as_millisecond();
    Ok(axum::Json(json!({"value": {
        "uploadUrlExpiresAt": expires, "uploadUrl": r.upload_url(&key), kind: urn,
    }}))
    .into_response())
}

fn video_initialize(sb: &Sandbox, r: &Request<'_>) -> Result<Response, Refusal> {
    let owner = owner_of(r)?;
    let size = r.body["initializeUploadRequest"]["fileSizeBytes"]
        .as_u64()
        .ok_or_else(|| {
            invalid(
                "/initializeUploadRequest/fileSizeBytes",
                "field is required but not found and has no default value",
            )
        })?;
    if size == 0 || size > MAX_VIDEO {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            0,
            "INVALID_FILE_SIZE",
            &format!("fileSizeBytes must be between 1 and {MAX_VIDEO}"),
        ));
    }
    let mut w = sb.linkedin();
    r.may_act(&w, &owner)?;
    let urn = format!("urn:li:video:{}", crate::random_token("C5505AQ", 22));
    let parts: Vec<(u64, u64, Option<String>)> = (0..size.div_ceil(PART))
        .map(|i| (i * PART, ((i + 1) * PART).min(size) - 1, None))
        .collect();
    let mut instructions = Vec::new();
    for (i, (first, last, _)) in parts.iter().enumerate() {
        let key = crate::random_token("", 32);
        w.uploads.insert(key.clone(), (urn.clone(), i));
        instructions.push(json!({"uploadUrl": r.upload_url(&key), "firstByte": first, "lastByte": last}));
    }
    // One part needs no upload token; several do.
    let upload_token = match parts.len() {
        1 => String::new(),
        _ => crate::random_token("", 24),
    };
    w.assets.insert(
        urn.clone(),
        Asset {
            urn: urn.clone(),
            owner,
            size,
            parts,
            upload_token: upload_token.clone(),
            status: "WAITING_UPLOAD",
            ready_at: None,
            created_at: r.now,
        },
    );
    let expires = (r.now + SignedDuration::from_hours(24)).as_millisecond();
    Ok(axum::Json(json!({"value": {
        "uploadUrlsExpireAt": expires, "video": urn, "uploadInstructions": instructions,
        "uploadToken": upload_token, "thumbnailUploadUrl": "", "captionsUploadUrl": "",
    }}))
    .into_response())
}

fn video_finalize(sb: &Sandbox, r: &Request<'_>) -> Result<Response, Refusal> {
    let f = &r.body["finalizeUploadRequest"];
    let urn = f["video"].as_str().ok_or_else(|| {
        invalid(
            "/finalizeUploadRequest/video",
            "field is required but not found and has no default value",
        )
    })?;
    let delay = sb.config().processing_delay;
    let mut w = sb.linkedin();
    let a = w.assets.get(urn).cloned().ok_or_else(|| not_found("The video"))?;
    r.may_act(&w, &a.owner)?;
    let sent: Vec<&str> = f["uploadedPartIds"]
        .as_array()
        .map(|ids| ids.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let etags: Vec<&str> = a.parts.iter().filter_map(|p| p.2.as_deref()).collect();
    if f["uploadToken"].as_str().unwrap_or_default() != a.upload_token {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            0,
            "INVALID_UPLOAD_TOKEN",
            "The upload token does not match the video",
        ));
    }
    if etags.len() != a.parts.len() || sent != etags {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            0,
            "INVALID_UPLOADED_PART_IDS",
            "uploadedPartIds must list every part's ETag, in the order of the upload instructions",
        ));
    }
    let asset = w.assets.get_mut(urn).ok_or_else(|| not_found("The video"))?;
    asset.status = "PROCESSING";
    asset.ready_at = Some(r.now + SignedDuration::try_from(delay).unwrap_or_default());
    Ok(StatusCode::OK.into_response())
}

fn asset(sb: &Sandbox, r: &Request<'_>, urn: &str) -> Result<Response, Refusal> {
    let mut w = sb.linkedin();
    w.settle(r.now);
    let a = w.assets.get(urn).cloned().ok_or_else(|| not_found("The media"))?;
    r.may_act(&w, &a.owner)?;
    Ok(axum::Json(json!({"id": a.urn, "owner": a.owner, "status": a.status})).into_response())
}

/// `PUT /www.linkedin.com/dms-uploads/{key}`: an image, or one part of a video (answered with
/// its ETag).
pub(crate) async fn upload(
    State(sb): State<Sandbox>,
    Path(key): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let now = sb.clock().now();
    let Ok(token) = bearer(&sb, &headers, now) else {
        return error(
            StatusCode::UNAUTHORIZED,
            65600,
            "INVALID_ACCESS_TOKEN",
            "Invalid access token",
        );
    };
    let mut w = sb.linkedin();
    let Some((urn, part)) = w.uploads.get(&key).cloned() else {
        return error(
            StatusCode::NOT_FOUND,
            0,
            "NOT_FOUND",
            "The upload URL is not valid",
        );
    };
    let Some(a) = w.assets.get(&urn).cloned() else {
        return error(
            StatusCode::NOT_FOUND,
            0,
            "NOT_FOUND",
            "The upload URL is not valid",
        );
    };
    let person = format!("urn:li:person:{}", token.member);
    if a.owner != person && !w.administers(&token.member, &a.owner) {
        return error(
            StatusCode::FORBIDDEN,
            100,
            "ACCESS_DENIED",
            "Not enough permissions to upload",
        );
    }
    let asset = w.assets.get_mut(&urn).expect("read above");
    if asset.status != "WAITING_UPLOAD" {
        return error(
            StatusCode::BAD_REQUEST,
            0,
            "UPLOAD_COMPLETE",
            "This media was already uploaded",
        );
    }
    if !urn.starts_with("urn:li:video:") {
        // What the file must be: an image for the Images API, a PDF for the Documents API.
        let image = match urn.starts_with("urn:li:document:") {
            true => bytes.starts_with(b"%PDF-"),
            false => {
                bytes.starts_with(&[0xFF, 0xD8, 0xFF])
                    || bytes.starts_with(b"\x89PNG")
                    || bytes.starts_with(b"GIF8")
            }
        };
        asset.size = bytes.len() as u64;
        asset.parts[0] = (0, asset.size.saturating_sub(1), Some(String::new()));
        asset.status = if image { "PROCESSING" } else { "PROCESSING_FAILED" };
        asset.ready_at = Some(now);
        // An upload URL takes its bytes once.
        w.uploads.remove(&key);
        return StatusCode::CREATED.into_response();
    }
    let (first, last, _) = asset.parts[part];
    if bytes.len() as u64 != last - first + 1 {
        return error(
            StatusCode::BAD_REQUEST,
            0,
            "INVALID_PART_SIZE",
            &format!("This part must be {} bytes", last - first + 1),
        );
    }
    let etag = format!("/ambry-video/signedId/{}", crate::random_token("", 24));
    asset.parts[part].2 = Some(etag.clone());
    w.uploads.remove(&key);
    let mut res = StatusCode::OK.into_response();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}

/// The little format as LinkedIn shows it: escapes undone, hashtag and mention templates read,
/// and the text cut at the first reserved character left unescaped.
pub(crate) fn shown(commentary: &str) -> String {
    let mut out = String::new();
    let mut rest = commentary;
    while let Some(c) = rest.chars().next() {
        if c == '\\' {
            let next = rest[1..].chars().next();
            if let Some(n) = next {
                out.push(n);
                rest = &rest[1 + n.len_utf8()..];
                continue;
            }
            break;
        }
        if let Some(tag) = rest.strip_prefix("{hashtag|\\#|").and_then(|t| t.split_once('}')) {
            out.push('#');
            out.push_str(tag.0);
            rest = tag.1;
            continue;
        }
        if let Some((name, after)) = rest.strip_prefix("@[").and_then(|t| t.split_once("]("))
            && let Some((_, tail)) = after.split_once(')')
        {
            out.push_str(name);
            rest = tail;
            continue;
        }
        if RESERVED.contains(&c) {
            break;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The URNs of the media a post's content names, with the field each sits in.
fn media_of(content: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(id) = content["media"]["id"].as_str() {
        out.push(("/content/media/id".to_owned(), id.to_owned()));
    }
    for (i, image) in content["multiImage"]["images"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let id = image["id"].as_str().unwrap_or_default().to_owned();
        out.push((format!("/content/multiImage/images/{i}/id"), id));
    }
    out
}

fn create_post(sb: &Sandbox, r: &Request<'_>) -> Result<Response, Refusal> {
    let b = r.body;
    let required = |k: &str| {
        b.get(k).filter(|v| !v.is_null()).ok_or_else(|| {
            invalid(
                &format!("/{k}"),
                "field is required but not found and has no default value",
            )
        })
    };
    let author = required("author")?.as_str().unwrap_or_default().to_owned();
    let visibility = required("visibility")?.as_str().unwrap_or_default().to_owned();
    required("distribution")?;
    required("lifecycleState")?;
    if !matches!(
        visibility.as_str(),
        "PUBLIC" | "CONNECTIONS" | "LOGGED_IN" | "CONTAINER"
    ) {
        return Err(invalid(
            "/visibility",
            &format!("\"{visibility}\" is not an enum symbol"),
        ));
    }
    if b["distribution"]["feedDistribution"].as_str().is_none() {
        return Err(invalid(
            "/distribution/feedDistribution",
            "field is required but not found and has no default value",
        ));
    }
    if b["lifecycleState"] != "PUBLISHED" && b["lifecycleState"] != "DRAFT" {
        return Err(invalid("/lifecycleState", "is not an enum symbol"));
    }
    let commentary = b["commentary"].as_str().unwrap_or_default().to_owned();
    let text = shown(&commentary);
    if text.chars().count() > MAX_COMMENTARY {
        return Err(invalid(
            "/commentary",
            &format!("length of commentary exceeds the limit {MAX_COMMENTARY}"),
        ));
    }
    let content = b.get("content").cloned().unwrap_or(Value::Null);
    if let Some(article) = content.get("article") {
        for k in ["source", "title"] {
            if article[k].as_str().is_none_or(str::is_empty) {
                return Err(invalid(
                    &format!("/content/article/{k}"),
                    "field is required but not found and has no default value",
                ));
            }
        }
    }
    if content["media"]["id"]
        .as_str()
        .is_some_and(|id| id.starts_with("urn:li:document:"))
        && content["media"]["title"].as_str().is_none_or(str::is_empty)
    {
        return Err(invalid(
            "/content/media/title",
            "field is required but not found and has no default value",
        ));
    }
    if let Some(images) = content["multiImage"]["images"].as_array()
        && !(2..=20).contains(&images.len())
    {
        return Err(invalid(
            "/content/multiImage/images",
            "a multi-image post has 2 to 20 images",
        ));
    }
    let mut w = sb.linkedin();
    w.settle(r.now);
    r.may_act(&w, &author)?;
    for (field, urn) in media_of(&content) {
        let fits = match field.starts_with("/content/multiImage") {
            true => urn.starts_with("urn:li:image:"),
            false => ["urn:li:image:", "urn:li:video:", "urn:li:document:"]
                .iter()
                .any(|p| urn.starts_with(p)),
        };
        if !fits {
            return Err(invalid(&field, &format!("{urn} is not media this field takes")));
        }
        match w.assets.get(&urn) {
            Some(a) if a.owner != author => {
                return Err(invalid(&field, &format!("{urn} is not owned by the author")));
            }
            Some(a) if a.status == "AVAILABLE" => {}
            Some(a) => {
                return Err(invalid(&field, &format!("{urn} is not ready ({})", a.status)));
            }
            None => return Err(invalid(&field, &format!("{urn} does not exist"))),
        }
    }
    // Daily limits reset at midnight UTC (a UTC day is 86,400 seconds).
    let midnight = Timestamp::from_second(r.now.as_second().div_euclid(86_400) * 86_400).unwrap_or(r.now);
    let today = w
        .posts
        .iter()
        .filter(|p| p.created_at >= midnight && p.author == author)
        .count();
    if today >= sb.config().limits.applied(MEMBER_POSTS_PER_DAY) as usize {
        return Err(Box::new(too_many("MEMBER")));
    }
    let day_ago = r.now - SignedDuration::from_hours(24);
    if let Some(twin) = w.posts.iter().rev().find(|p| {
        p.author == author && p.commentary == commentary && p.content == content && p.created_at > day_ago
    }) {
        return Err(refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            0,
            "DUPLICATE_POST",
            &format!("Content is a duplicate of {}", twin.id),
        ));
    }
    let n = w.next_id();
    let id = format!("urn:li:share:{n}");
    w.posts.push(Post {
        id: id.clone(),
        activity: format!("urn:li:activity:{}", n + 1),
        author,
        commentary,
        shown: text,
        visibility,
        content,
        created_at: r.now,
    });
    let mut res = StatusCode::CREATED.into_response();
    res.headers_mut().insert(
        "x-restli-id",
        HeaderValue::from_str(&id).expect("URNs are header values"),
    );
    Ok(res)
}

fn post_json(p: &Post) -> Value {
    let ms = p.created_at.as_millisecond();
    let mut v = json!({
        "id": p.id, "author": p.author, "commentary": p.commentary, "visibility": p.visibility,
        "lifecycleState": "PUBLISHED", "createdAt": ms, "publishedAt": ms, "lastModifiedAt": ms,
        "isReshareDisabledByAuthor": false, "lifecycleStateInfo": {"isEditedByAuthor": false},
        "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
    });
    if !p.content.is_null() {
        v["content"] = p.content.clone();
    }
    v
}

fn posts_by_author(sb: &Sandbox, r: &Request<'_>) -> Result<Response, Refusal> {
    if r.query.get("q").map(String::as_str) != Some("author") {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            0,
            "ILLEGAL_ARGUMENT",
            "The finder q=author is required",
        ));
    }
    let author = r.query.get("author").ok_or_else(|| {
        refuse(
            StatusCode::BAD_REQUEST,
            0,
            "ILLEGAL_ARGUMENT",
            "author is required",
        )
    })?;
    let (start, count) = paging(r, 10);
    let w = sb.linkedin();
    r.may_read(&w, author)?;
    let mine: Vec<&Post> = w.posts.iter().rev().filter(|p| &p.author == author).collect();
    let elements: Vec<Value> = mine
        .iter()
        .skip(start)
        .take(count)
        .map(|p| post_json(p))
        .collect();
    Ok(axum::Json(json!({"elements": elements, "paging": {"start": start, "count": count, "links": [], "total": mine.len()}}))
        .into_response())
}

/// `start` and `count` (at most 100) as a collection's finder takes them.
fn paging(r: &Request<'_>, default: usize) -> (usize, usize) {
    let read = |k: &str| r.query.get(k).and_then(|c| c.parse::<usize>().ok());
    (
        read("start").unwrap_or(0),
        read("count").unwrap_or(default).min(100),
    )
}

fn comment_json(c: &Comment) -> Value {
    let ms = c.created_at.as_millisecond();
    let mut v = json!({
        "id": c.id, "$URN": c.urn, "commentUrn": c.urn, "actor": c.actor, "object": c.object,
        "message": {"text": c.text, "attributes": []},
        "created": {"actor": c.actor, "time": ms}, "lastModified": {"actor": c.actor, "time": ms},
    });
    if let Some(parent) = &c.parent {
        v["parentComment"] = json!(parent);
    }
    v
}

/// The post a `socialActions` target belongs to: a post's URN, or a comment's.
fn post_of<'w>(w: &'w World, target: &str) -> Option<&'w Post> {
    match target.strip_prefix("urn:li:comment:(") {
        Some(rest) => w.post(rest.rsplit_once(',')?.0),
        None => w.post(target),
    }
}

fn comments(sb: &Sandbox, r: &Request<'_>, target: &str) -> Result<Response, Refusal> {
    let w = sb.linkedin();
    let post = post_of(&w, target).ok_or_else(|| not_found("The post"))?;
    r.may_read(&w, &post.author)?;
    let replies_to = target.starts_with("urn:li:comment:").then_some(target);
    let (start, count) = paging(r, 10);
    let all: Vec<&Comment> = w
        .comments
        .iter()
        .filter(|c| c.object == post.activity && c.parent.as_deref() == replies_to)
        .collect();
    let elements: Vec<Value> = all
        .iter()
        .skip(start)
        .take(count)
        .map(|c| comment_json(c))
        .collect();
    Ok(axum::Json(
        json!({"elements": elements, "paging": {"start": start, "count": count, "links": [], "total": all.len()}}),
    )
    .into_response())
}

fn comment(sb: &Sandbox, r: &Request<'_>, target: &str) -> Result<Response, Refusal> {
    let b = r.body;
    let actor = b["actor"].as_str().ok_or_else(|| {
        invalid(
            "/actor",
            "field is required but not found and has no default value",
        )
    })?;
    let text = b["message"]["text"].as_str().ok_or_else(|| {
        invalid(
            "/message/text",
            "field is required but not found and has no default value",
        )
    })?;
    let mut w = sb.linkedin();
    let post = post_of(&w, target)
        .cloned()
        .ok_or_else(|| not_found("The post"))?;
    r.may_act(&w, actor)?;
    let object = b["object"].as_str().unwrap_or_default();
    if object != post.activity && object != post.id {
        return Err(invalid("/object", "does not match the entity commented on"));
    }
    let parent = target.starts_with("urn:li:comment:").then(|| target.to_owned());
    if let Some(parent) = &parent {
        if b["parentComment"].as_str() != Some(parent.as_str()) {
            return Err(invalid("/parentComment", "must be the comment replied to"));
        }
        // Replies nest one level, under a comment that exists.
        if !w.comments.iter().any(|c| &c.urn == parent && c.parent.is_none()) {
            return Err(not_found("The comment"));
        }
    }
    let c = Comment {
        id: w.next_id().to_string(),
        urn: String::new(),
        object: post.activity.clone(),
        parent,
        actor: actor.to_owned(),
        text: text.to_owned(),
        created_at: r.now,
    };
    let c = Comment {
        urn: format!("urn:li:comment:({},{})", post.activity, c.id),
        ..c
    };
    let body = comment_json(&c);
    let id = c.id.clone();
    w.comments.push(c);
    let mut res = (StatusCode::CREATED, axum::Json(body)).into_response();
    res.headers_mut().insert(
        "x-restli-id",
        HeaderValue::from_str(&id).expect("digits are header values"),
    );
    Ok(res)
}

/// What a post's statistics report: impressions and clicks grow with the comments it drew.
fn counts(w: &World, post: &Post) -> (usize, usize) {
    let all = w.comments.iter().filter(|c| c.object == post.activity).count();
    let top = w
        .comments
        .iter()
        .filter(|c| c.object == post.activity && c.parent.is_none())
        .count();
    (all, top)
}

fn social_metadata(sb: &Sandbox, r: &Request<'_>, urn: &str) -> Result<Response, Refusal> {
    let w = sb.linkedin();
    let post = w.post(urn).ok_or_else(|| not_found("The entity"))?;
    r.may_read(&w, &post.author)?;
    let (all, top) = counts(&w, post);
    Ok(axum::Json(json!({
        "entity": urn, "reactionSummaries": {"LIKE": {"reactionType": "LIKE", "count": 3}},
        "commentSummary": {"count": all, "topLevelCount": top}, "commentsState": "OPEN",
    }))
    .into_response())
}

fn share_statistics(sb: &Sandbox, r: &Request<'_>) -> Result<Response, Refusal> {
    if r.query.get("q").map(String::as_str) != Some("organizationalEntity") {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            0,
            "ILLEGAL_ARGUMENT",
            "The finder q=organizationalEntity is required",
        ));
    }
    let org = r.query.get("organizationalEntity").cloned().unwrap_or_default();
    let w = sb.linkedin();
    if !r.has("rw_organization_admin") || !w.administers(&r.token.member, &org) {
        return Err(denied(r.method, r.path));
    }
    let list = |k: &str| -> Vec<String> {
        r.query
            .get(k)
            .and_then(|v| v.strip_prefix("List(")?.strip_suffix(')'))
            .map(|inner| inner.split(',').map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let mut elements = Vec::new();
    for (kind, urn) in list("shares")
        .into_iter()
        .map(|u| ("share", u))
        .chain(list("ugcPosts").into_iter().map(|u| ("ugcPost", u)))
    {
        let post = w
            .post(&urn)
            .filter(|p| p.author == org)
            .ok_or_else(|| not_found(&format!("The {kind} {urn} of {org}")))?;
        let (all, _) = counts(&w, post);
        let c = all as u64;
        elements.push(json!({
            "organizationalEntity": org, kind: urn,
            "totalShareStatistics": {
                "impressionCount": 100 + 10 * c, "uniqueImpressionsCount": 80 + 8 * c,
                "clickCount": 5 + c, "likeCount": 3, "commentCount": c, "shareCount": 0,
                "engagement": (8 + 2 * c) as f64 / (100 + 10 * c) as f64,
            },
        }));
    }
    Ok(
        axum::Json(json!({"elements": elements, "paging": {"start": 0, "count": 10, "links": []}}))
            .into_response(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_little_format_is_read_as_linkedin_shows_it() {
        assert_eq!(shown(r"Hello \(world\) {hashtag|\#|Rust}"), "Hello (world) #Rust");
        assert_eq!(shown("Hi @[Sam](urn:li:person:1)!"), "Hi Sam!");
        assert_eq!(
            shown("Cut (here) please"),
            "Cut ",
            "an unescaped reserved character ends it"
        );
    }

    #[test]
    fn versions_are_served_for_a_year_after_their_month() {
        let now: Timestamp = "2026-11-30T10:00:00Z".parse().unwrap();
        assert!(active("202611", now) && active("202512", now));
        assert!(!active("202511", now), "sunset");
        assert!(!active("202612", now), "not released");
        assert!(!active("2026-11", now) && !active("202613", now));
    }
}
