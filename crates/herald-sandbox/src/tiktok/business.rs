//! `business-api.tiktok.com/open_api/v1.3`, TikTok's API for Business as far as comments go: the
//! `tt_user/oauth2` token endpoints (a JSON body with the app's id and secret; codes of the
//! Business app only; day-long access tokens and year-long refresh tokens [3p: pytiktok's
//! authorization guide]), `business/get/`, and a Business account's comments
//! (`business/comment/list/`, `business/comment/reply/list/`, `business/comment/reply/create/`),
//! each answered in the Business envelope `{"code","message","request_id","data"}` with HTTP 200
//! whatever the code [3p]. Tokens go in `Access-Token`. A personal account authorizes, but its
//! comments are refused (`40001`).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::oauth::log_id;
use super::world::{Creator, Kind, Token, VideoComment, World};
use crate::meter::{Call, UseCase};
use crate::{Sandbox, random_token};

/// Access tokens: a day; refresh tokens: a year [3p].
const ACCESS_TTL: SignedDuration = SignedDuration::from_hours(24);
const REFRESH_TTL: SignedDuration = SignedDuration::from_hours(365 * 24);
/// Comments per page at most, and the longest reply [3p: pytiktok's comment API].
const MAX_COUNT: usize = 30;
const REPLY_MAX: usize = 150;

/// An answer in the Business envelope (always HTTP 200).
fn answer(code: i64, message: &str, data: Value) -> Response {
    axum::Json(json!({"code": code, "message": message, "request_id": log_id(), "data": data}))
        .into_response()
}

fn ok(data: Value) -> Response {
    answer(0, "OK", data)
}

/// Refusals by code [3p]: invalid parameters, no permission, an invalid token, too many requests.
fn invalid(message: &str) -> Response {
    answer(40002, message, json!({}))
}

fn forbidden(message: &str) -> Response {
    answer(40001, message, json!({}))
}

fn operation(path: &str) -> &'static str {
    match path.trim_end_matches('/') {
        "tt_user/oauth2/token" | "tt_user/oauth2/refresh_token" => "business_token",
        "tt_user/oauth2/revoke" => "business_revoke",
        "business/get" => "business_get",
        "business/comment/list" => "comment_list",
        "business/comment/reply/list" => "reply_list",
        "business/comment/reply/create" => "reply_create",
        _ => "unknown",
    }
}

/// Every request under `/business-api.tiktok.com/open_api/v1.3/`.
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
    let body: Option<Value> = serde_json::from_slice(&bytes).ok();
    // The app's secret is never recorded.
    let recorded = body.as_ref().map(|b| {
        let mut b = b.clone();
        if let Some(o) = b.as_object_mut() {
            for k in ["client_secret", "refresh_token", "access_token", "auth_code"] {
                if o.contains_key(k) {
                    o.insert(k.into(), json!("[redacted]"));
                }
            }
        }
        b
    });
    crate::graph::record_rest(
        &sb,
        "business-api.tiktok.com",
        &method,
        format!("/open_api/v1.3/{path}"),
        &query,
        recorded,
        &headers,
    );
    let now = sb.clock().now();
    let operation = operation(&path);
    let token = validate(&sb, &headers, now);
    let throttled = sb.meter().admit(Call {
        at: now,
        method: method.to_string(),
        path: format!("/open_api/v1.3/{path}"),
        operation: operation.to_owned(),
        use_case: UseCase::Tiktok,
        object: token.as_ref().map(|t| t.open_id.clone()),
    });
    if throttled.is_some() {
        return answer(40100, "Too many requests. Please retry in some time.", json!({}));
    }
    let perform = async {
        let body = body.unwrap_or(Value::Null);
        match (method.as_str(), path.as_str()) {
            ("POST", "tt_user/oauth2/token/") => return exchange(&sb, &body, now),
            ("POST", "tt_user/oauth2/refresh_token/") => return refresh(&sb, &body, now),
            ("POST", "tt_user/oauth2/revoke/") => return revoke(&sb, &body),
            _ => {}
        }
        let Some(t) = token else {
            return answer(
                40105,
                "The access token is invalid or has been revoked.",
                json!({}),
            );
        };
        match (method.as_str(), path.as_str()) {
            ("GET", "business/get/") => business_get(&sb, &t, &query),
            ("GET", "business/comment/list/") => list(&sb, &t, &query, None),
            ("GET", "business/comment/reply/list/") => match query.get("comment_id") {
                Some(c) => list(&sb, &t, &query, Some(c)),
                None => invalid("comment_id: field required"),
            },
            ("POST", "business/comment/reply/create/") => reply(&sb, &t, &body, now),
            _ => answer(
                40002,
                &format!("No such endpoint: {method} /open_api/v1.3/{path}"),
                json!({}),
            ),
        }
    };
    crate::faults::faulted(&sb, UseCase::Tiktok, method.as_str(), operation, perform).await
}

/// The Business app's key, when the body carries its id and secret.
fn app_ok(sb: &Sandbox, body: &Value) -> Option<String> {
    let app = sb.config().tiktok_business_app;
    (body["client_id"] == app.client_id.as_str() && body["client_secret"] == app.client_secret.as_str())
        .then_some(app.client_id)
}

fn bad_app() -> Response {
    answer(40001, "The app id or secret is incorrect.", json!({}))
}

/// `tt_user/oauth2/token/`: a Business app's code, once, for the redirect it was issued to.
fn exchange(sb: &Sandbox, body: &Value, now: Timestamp) -> Response {
    let Some(app) = app_ok(sb, body) else {
        return bad_app();
    };
    if body["grant_type"] != "authorization_code" {
        return invalid("grant_type: must be authorization_code");
    }
    let (Some(code), Some(redirect)) = (body["auth_code"].as_str(), body["redirect_uri"].as_str()) else {
        return invalid("auth_code and redirect_uri are required");
    };
    let mut world = sb.tiktok();
    let Some(c) = world
        .codes
        .get_mut(code)
        .filter(|c| !c.used && c.expires_at > now && c.client_key == app)
    else {
        return invalid("The auth_code is invalid or expired.");
    };
    if c.redirect_uri != redirect {
        return invalid("redirect_uri does not match the one the code was issued to.");
    }
    c.used = true;
    let (open_id, scopes) = (c.open_id.clone(), c.scopes.clone());
    issue(&mut world, &app, &open_id, &scopes, now, None)
}

/// `tt_user/oauth2/refresh_token/`: a new access token; the refresh token stays the same
/// [unverified: the guide's answers show one, not whether it changes].
fn refresh(sb: &Sandbox, body: &Value, now: Timestamp) -> Response {
    let Some(app) = app_ok(sb, body) else {
        return bad_app();
    };
    let used = body["refresh_token"].as_str().unwrap_or_default().to_owned();
    let mut world = sb.tiktok();
    let Some(t) = world
        .tokens
        .get(&used)
        .filter(|t| t.kind == Kind::Refresh && t.client_key == app && t.expires_at > now)
        .cloned()
    else {
        return invalid("The refresh_token is invalid or expired.");
    };
    if !world.grants.contains_key(&(app.clone(), t.open_id.clone())) {
        return invalid("The user has deauthorized the app.");
    }
    issue(&mut world, &app, &t.open_id, &t.scopes, now, Some(used))
}

fn issue(
    world: &mut World,
    app: &str,
    open_id: &str,
    scopes: &[String],
    now: Timestamp,
    refresh: Option<String>,
) -> Response {
    let token = |kind| Token {
        open_id: open_id.to_owned(),
        client_key: app.to_owned(),
        scopes: scopes.to_vec(),
        kind,
        expires_at: now
            + if kind == Kind::Access {
                ACCESS_TTL
            } else {
                REFRESH_TTL
            },
    };
    let access = random_token("bat.", 64);
    world.add_token(access.clone(), token(Kind::Access), now);
    let refresh = refresh.unwrap_or_else(|| {
        let r = random_token("brt.", 64);
        world.add_token(r.clone(), token(Kind::Refresh), now);
        r
    });
    ok(json!({
        "access_token": access, "token_type": "bearer", "scope": scopes.join(","),
        "expires_in": ACCESS_TTL.as_secs(), "refresh_token": refresh,
        "refresh_token_expires_in": REFRESH_TTL.as_secs(), "open_id": open_id,
    }))
}

/// `tt_user/oauth2/revoke/`: the account's authorization of the Business app ends.
fn revoke(sb: &Sandbox, body: &Value) -> Response {
    let Some(app) = app_ok(sb, body) else {
        return bad_app();
    };
    let mut world = sb.tiktok();
    let Some(t) = body["access_token"]
        .as_str()
        .and_then(|t| world.tokens.get(t))
        .filter(|t| t.client_key == app)
        .cloned()
    else {
        return answer(
            40105,
            "The access token is invalid or has been revoked.",
            json!({}),
        );
    };
    world.grants.remove(&(app.clone(), t.open_id.clone()));
    world
        .tokens
        .retain(|_, o| !(o.open_id == t.open_id && o.client_key == app));
    ok(json!({}))
}

/// The Business app's access token in `Access-Token`, while its grant stands.
fn validate(sb: &Sandbox, headers: &HeaderMap, now: Timestamp) -> Option<Token> {
    let app = sb.config().tiktok_business_app.client_id;
    let token = headers.get("access-token")?.to_str().ok()?.trim().to_owned();
    let world = sb.tiktok();
    let t = world
        .tokens
        .get(&token)
        .filter(|t| t.kind == Kind::Access && t.expires_at > now && t.client_key == app)?;
    world
        .grants
        .contains_key(&(t.client_key.clone(), t.open_id.clone()))
        .then(|| t.clone())
}

/// A refusal, boxed (a response is large and most answers are not refusals).
type Refusal = Box<Response>;

fn need(t: &Token, scope: &str) -> Result<(), Refusal> {
    match t.scopes.iter().any(|s| s == scope) {
        true => Ok(()),
        false => Err(Box::new(forbidden(&format!(
            "The access token lacks the scope this request needs: {scope}."
        )))),
    }
}

/// The account the token is for, which must be the `business_id` asked about.
fn account(world: &World, t: &Token, business_id: Option<&str>) -> Result<Creator, Refusal> {
    match business_id {
        None => Err(Box::new(invalid("business_id: field required"))),
        Some(b) if b != t.open_id => Err(Box::new(forbidden(
            "The access token does not belong to this business_id.",
        ))),
        Some(b) => world
            .business(b)
            .cloned()
            .ok_or_else(|| Box::new(invalid("business_id: no such account"))),
    }
}

/// `business/get/`: the fields asked for (a JSON array; by default the display name and image).
fn business_get(sb: &Sandbox, t: &Token, q: &BTreeMap<String, String>) -> Response {
    if let Err(r) = need(t, "user.info.basic") {
        return *r;
    }
    let world = sb.tiktok();
    let c = match account(&world, t, q.get("business_id").map(String::as_str)) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let fields: Vec<String> = match q.get("fields") {
        Some(f) => match serde_json::from_str(f) {
            Ok(f) => f,
            Err(_) => return invalid("fields: must be a JSON array of field names"),
        },
        None => vec!["display_name".into(), "profile_image".into()],
    };
    let mut data = serde_json::Map::new();
    for f in fields {
        // Some fields take a scope of their own.
        let scope = match f.as_str() {
            "username" => Some("user.info.username"),
            "is_business_account" => Some("user.account.type"),
            _ => None,
        };
        if let Some(Err(r)) = scope.map(|s| need(t, s)) {
            return *r;
        }
        let v = match f.as_str() {
            "username" => json!(c.username),
            "display_name" => json!(c.display_name),
            "profile_image" => json!(format!(
                "https://p16-sign.tiktokcdn-us.com/{}.jpeg",
                c.business_id
            )),
            "is_business_account" => json!(c.business),
            other => return invalid(&format!("fields: unknown field {other}")),
        };
        data.insert(f, v);
    }
    ok(Value::Object(data))
}

/// The checks every comment call makes: the scope, the account (a Business one), and the video
/// (one of its posts).
fn comment_call(
    world: &World,
    t: &Token,
    scope: &str,
    business_id: Option<&str>,
    video_id: Option<&str>,
) -> Result<(Creator, String), Refusal> {
    need(t, scope)?;
    let c = account(world, t, business_id)?;
    if !c.business {
        return Err(Box::new(forbidden(
            "This account is not a Business account: comments are available to Business accounts only.",
        )));
    }
    let video = video_id.ok_or_else(|| Box::new(invalid("video_id: field required")))?;
    let owned = world
        .publications
        .iter()
        .any(|p| p.open_id == c.open_id && p.post_id.as_deref() == Some(video));
    match owned {
        true => Ok((c, video.to_owned())),
        false => Err(Box::new(invalid("video_id: no such video of this account"))),
    }
}

/// `business/comment/list/` (top-level comments) and `business/comment/reply/list/` (one's
/// replies): pages of `max_count` (at most 30) from `cursor`.
fn list(sb: &Sandbox, t: &Token, q: &BTreeMap<String, String>, parent: Option<&String>) -> Response {
    let world = sb.tiktok();
    let get = |k: &str| q.get(k).map(String::as_str);
    let (_, video) = match comment_call(&world, t, "comment.list", get("business_id"), get("video_id")) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let max = match get("max_count").map(str::parse::<usize>) {
        None => 20,
        Some(Ok(n)) if (1..=MAX_COUNT).contains(&n) => n,
        Some(_) => return invalid("max_count: must be 1 to 30"),
    };
    let cursor = match get("cursor").map(str::parse::<usize>) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => return invalid("cursor: must be a number"),
    };
    let all_status = get("status") == Some("ALL");
    if let Some(p) = parent
        && !world
            .comments
            .iter()
            .any(|c| c.comment_id == *p && c.video_id == video && c.parent_comment_id.is_none())
    {
        return invalid("comment_id: no such top-level comment on this video");
    }
    let matching: Vec<&VideoComment> = world
        .comments
        .iter()
        .filter(|c| c.video_id == video && c.parent_comment_id.as_ref() == parent)
        .filter(|c| all_status || c.status == "PUBLIC")
        .collect();
    let page: Vec<Value> = matching
        .iter()
        .skip(cursor)
        .take(max)
        .map(|c| {
            let replies = world
                .comments
                .iter()
                .filter(|r| r.parent_comment_id.as_deref() == Some(c.comment_id.as_str()))
                .count();
            let mut v = json!(c);
            v["replies"] = json!(replies);
            v["unique_identifier"] = json!(c.username);
            v
        })
        .collect();
    let next = cursor + page.len();
    ok(json!({"comments": page, "cursor": next, "has_more": next < matching.len()}))
}

/// `business/comment/reply/create/`: a reply, written as the account, to a public top-level
/// comment on one of its videos.
fn reply(sb: &Sandbox, t: &Token, body: &Value, now: Timestamp) -> Response {
    let mut world = sb.tiktok();
    let s = |k: &str| body[k].as_str();
    let (c, video) = match comment_call(&world, t, "comment.list.manage", s("business_id"), s("video_id")) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let Some(parent) = s("comment_id") else {
        return invalid("comment_id: field required");
    };
    let text = s("text").unwrap_or_default();
    if text.trim().is_empty() || text.chars().count() > REPLY_MAX {
        return invalid("text: must be 1 to 150 characters");
    }
    match world
        .comments
        .iter()
        .find(|x| x.comment_id == parent && x.video_id == video)
    {
        None => return invalid("comment_id: no such comment on this video"),
        Some(x) if x.parent_comment_id.is_some() => {
            return invalid("comment_id: replies can only be made to top-level comments");
        }
        Some(x) if x.status != "PUBLIC" => return invalid("comment_id: the comment is hidden"),
        Some(_) => {}
    }
    let reply = VideoComment {
        comment_id: world.next_id().to_string(),
        video_id: video,
        parent_comment_id: Some(parent.to_owned()),
        text: text.to_owned(),
        username: c.username.clone(),
        create_time: now.as_second(),
        likes: 0,
        owner: true,
        status: "PUBLIC",
    };
    world.comments.push(reply.clone());
    ok(json!(reply))
}
