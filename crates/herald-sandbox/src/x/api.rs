//! `api.x.com/2`: the authenticated user, posts (create, read, the user's timeline, recent search
//! by conversation), the chunked media upload (initialize, append, finalize, status) and media
//! metadata. Errors are RFC 7807 problems; `POST /2/tweets` carries `x-rate-limit-*` (100 per 15
//! minutes per user) and `x-app-limit-24hour-*` (10,000 per day per app), scaled as the sandbox's
//! limits say, and a throttle injected as a fault answers 429 until the instant its reset names.

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::oauth::{revoke, token, validate};
use super::world::{Post, Token, Upload};
use crate::Sandbox;
use crate::meter::{Call, UseCase};

/// Posts per user per 15 minutes, and per app per 24 hours [official rate-limit table].
const USER_POSTS: u32 = 100;
const APP_POSTS: u32 = 10_000;
const USER_WINDOW: SignedDuration = SignedDuration::from_mins(15);
const APP_WINDOW: SignedDuration = SignedDuration::from_hours(24);
/// Media limits [official best practices]: images 5 MB, GIFs 15 MB, videos 512 MB.
const MAX_IMAGE: u64 = 5 * 1024 * 1024;
const MAX_GIF: u64 = 15 * 1024 * 1024;
const MAX_VIDEO: u64 = 512 * 1024 * 1024;

/// An RFC 7807 problem as X answers it.
pub(crate) fn problem(status: StatusCode, title: &str, kind: &str, detail: &str) -> Response {
    (
        status,
        axum::Json(json!({"title": title, "type": kind, "status": status.as_u16(), "detail": detail})),
    )
        .into_response()
}

/// A refusal, boxed (a response is large and most answers are not refusals).
type Refusal = Box<Response>;

fn invalid(detail: &str) -> Refusal {
    Box::new(
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({
                "errors": [{"message": detail}], "title": "Invalid Request",
                "detail": "One or more parameters to your request was invalid.",
                "type": "https://api.twitter.com/2/problems/invalid-request",
            })),
        )
            .into_response(),
    )
}

fn unauthorized() -> Refusal {
    Box::new(problem(
        StatusCode::UNAUTHORIZED,
        "Unauthorized",
        "about:blank",
        "Unauthorized",
    ))
}

fn forbidden(detail: &str) -> Refusal {
    Box::new(problem(StatusCode::FORBIDDEN, "Forbidden", "about:blank", detail))
}

fn need(t: &Token, scopes: &[&str]) -> Result<(), Refusal> {
    match scopes.iter().find(|s| !t.scopes.iter().any(|g| g == *s)) {
        Some(missing) => Err(forbidden(&format!("Missing scope: {missing}"))),
        None => Ok(()),
    }
}

/// A request body as its content type says: form, JSON, or multipart (kept raw).
enum Body {
    None,
    Form(HashMap<String, String>),
    Json(Value),
    Multipart(Bytes, String),
}

impl Body {
    fn read(headers: &HeaderMap, bytes: Bytes) -> Result<Self, Refusal> {
        if bytes.is_empty() {
            return Ok(Self::None);
        }
        let ctype = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if ctype.starts_with("application/json") {
            serde_json::from_slice(&bytes)
                .map(Self::Json)
                .map_err(|_| invalid("The body is not valid JSON"))
        } else if ctype.starts_with("application/x-www-form-urlencoded") {
            Ok(Self::Form(
                url::form_urlencoded::parse(&bytes).into_owned().collect(),
            ))
        } else if ctype.starts_with("multipart/form-data") {
            Ok(Self::Multipart(bytes, ctype))
        } else {
            Err(invalid("Unsupported content type"))
        }
    }

    /// What the journal keeps: no credentials, no media bytes.
    fn public(&self, multipart: Option<&BTreeMap<String, Value>>) -> Option<Value> {
        match self {
            Self::None => None,
            Self::Json(v) => Some(v.clone()),
            Self::Form(f) => Some(crate::graph::redacted_form(f, str::to_owned)),
            Self::Multipart(..) => multipart.map(|m| m.clone().into_iter().collect()),
        }
    }
}

/// The fields of a multipart body: text fields as they are, the `media` part as its size.
async fn multipart_fields(bytes: Bytes, ctype: &str) -> Result<(BTreeMap<String, Value>, Vec<u8>), Refusal> {
    use axum::extract::FromRequest;
    let request = axum::http::Request::builder()
        .header(header::CONTENT_TYPE, ctype)
        .body(axum::body::Body::from(bytes))
        .map_err(|_| invalid("Malformed multipart body"))?;
    let mut m = axum::extract::Multipart::from_request(request, &())
        .await
        .map_err(|_| invalid("No multipart boundary"))?;
    let (mut fields, mut media) = (BTreeMap::new(), Vec::new());
    while let Some(field) = m
        .next_field()
        .await
        .map_err(|_| invalid("Malformed multipart body"))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        let data = field
            .bytes()
            .await
            .map_err(|_| invalid("Malformed multipart body"))?;
        if name == "media" {
            fields.insert(name, json!(format!("<{} bytes>", data.len())));
            media = data.to_vec();
        } else {
            fields.insert(name, json!(String::from_utf8_lossy(&data)));
        }
    }
    Ok((fields, media))
}

/// Every request under `/api.x.com/2/`.
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
    let body = match Body::read(&headers, bytes) {
        Ok(b) => b,
        Err(e) => return *e,
    };
    let (multipart, media) = match &body {
        Body::Multipart(raw, ctype) => match multipart_fields(raw.clone(), ctype).await {
            Ok((f, m)) => (Some(f), m),
            Err(e) => return *e,
        },
        _ => (None, Vec::new()),
    };
    crate::graph::record_rest(
        &sb,
        "api.x.com",
        &method,
        format!("/2/{path}"),
        &query,
        body.public(multipart.as_ref()),
        &headers,
    );
    let now = sb.clock().now();
    let operation = operation(&method, &path);
    let user = validate(&sb.x(), &headers, now).map(|t| t.user);
    // The meter's lock is let go before the throttle is read again.
    let throttled = sb.meter().admit(Call {
        at: now,
        method: method.to_string(),
        path: format!("/2/{path}"),
        operation: operation.to_owned(),
        use_case: UseCase::X,
        object: user.clone(),
    });
    if let Some(minutes) = throttled {
        let until = user
            .as_deref()
            .and_then(|u| sb.meter().throttled_until(u))
            .unwrap_or(now + SignedDuration::from_mins(minutes));
        let mut res = problem(
            StatusCode::TOO_MANY_REQUESTS,
            "Too Many Requests",
            "about:blank",
            "Too Many Requests",
        );
        limit_headers(&mut res, "x-rate-limit", USER_POSTS, 0, until);
        return res;
    }
    let perform = async {
        let form = match &body {
            Body::Form(f) => f.clone(),
            _ => HashMap::new(),
        };
        match (method.as_str(), path.as_str()) {
            ("POST", "oauth2/token") => return token(&sb, &headers, &form),
            ("POST", "oauth2/revoke") => return revoke(&sb, &headers, &form),
            _ => {}
        }
        let Some(t) = validate(&sb.x(), &headers, now) else {
            return *unauthorized();
        };
        let fields = multipart.clone().unwrap_or_default();
        route(&sb, &method, &path, &query, &t, &body, &fields, &media)
            .await
            .unwrap_or_else(|e| *e)
    };
    crate::faults::faulted(&sb, UseCase::X, method.as_str(), operation, perform).await
}

fn operation(method: &Method, path: &str) -> &'static str {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match (method.as_str(), segs.as_slice()) {
        (_, ["oauth2", "token"]) => "token",
        (_, ["oauth2", "revoke"]) => "revoke",
        (_, ["users", "me"]) => "me",
        (_, ["users", _, "tweets"]) => "user_tweets",
        ("POST", ["tweets"]) => "tweets",
        (_, ["tweets", "search", "recent"]) => "search",
        (_, ["tweets", _]) => "tweet",
        (_, ["media", "upload", "initialize"]) => "initialize",
        (_, ["media", "upload", _, "append"]) => "append",
        (_, ["media", "upload", _, "finalize"]) => "finalize",
        (_, ["media", "upload"]) => "status",
        (_, ["media", "metadata"]) => "metadata",
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
    body: &Body,
    fields: &BTreeMap<String, Value>,
    media: &[u8],
) -> Result<Response, Refusal> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let json = || match body {
        Body::Json(v) => Ok(v),
        _ => Err(invalid("The body must be JSON")),
    };
    match (method.as_str(), segs.as_slice()) {
        ("GET", ["users", "me"]) => me(sb, t),
        ("POST", ["tweets"]) => create(sb, t, json()?),
        ("GET", ["tweets", "search", "recent"]) => search(sb, t, q),
        ("GET", ["tweets", id]) => one(sb, t, id, q),
        ("GET", ["users", id, "tweets"]) => timeline(sb, t, id, q),
        ("POST", ["media", "upload", "initialize"]) => initialize(sb, t, json()?),
        ("POST", ["media", "upload", id, "append"]) => append(sb, t, id, fields, media),
        ("POST", ["media", "upload", id, "finalize"]) => finalize(sb, t, id),
        ("GET", ["media", "upload"]) => status(sb, t, q),
        ("POST", ["media", "metadata"]) => metadata(sb, t, json()?),
        _ => Err(Box::new(problem(
            StatusCode::NOT_FOUND,
            "Not Found Error",
            "https://api.twitter.com/2/problems/resource-not-found",
            "Sorry, that page does not exist",
        ))),
    }
}

fn me(sb: &Sandbox, t: &Token) -> Result<Response, Refusal> {
    need(t, &["users.read", "tweet.read"])?;
    let w = sb.x();
    let u = w.user(&t.user).ok_or_else(unauthorized)?;
    Ok(axum::Json(json!({"data": {"id": u.id, "name": u.name, "username": u.username}})).into_response())
}

/// X's weighted length (twitter-text v3): a URL counts 23, characters in the Latin and common
/// punctuation ranges 1, every other (CJK, emoji) 2.
pub(crate) fn weighted(text: &str) -> usize {
    let light = |c: char| matches!(c as u32, 0..=4351 | 8192..=8205 | 8208..=8223 | 8242..=8247);
    text.split_inclusive(char::is_whitespace)
        .map(|w| {
            let word = w.trim_end();
            let tail = w.len() - word.len();
            match word.starts_with("http://") || word.starts_with("https://") {
                true => 23 + tail,
                false => w.chars().map(|c| if light(c) { 1 } else { 2 }).sum(),
            }
        })
        .sum()
}

/// Sets `{prefix}-limit`, `-remaining` and `-reset` (Unix seconds).
fn limit_headers(res: &mut Response, prefix: &str, limit: u32, remaining: u32, reset: Timestamp) {
    for (k, v) in [
        ("limit", limit.to_string()),
        ("remaining", remaining.to_string()),
        // The second the window resets, rounded up: a client that waits for it is let through.
        (
            "reset",
            (reset + SignedDuration::from_millis(999)).as_second().to_string(),
        ),
    ] {
        if let Ok(v) = HeaderValue::from_str(&v) {
            res.headers_mut().insert(
                axum::http::HeaderName::from_bytes(format!("{prefix}-{k}").as_bytes()).expect("header name"),
                v,
            );
        }
    }
}

/// `POST /2/tweets`.
fn create(sb: &Sandbox, t: &Token, v: &Value) -> Result<Response, Refusal> {
    need(t, &["tweet.read", "tweet.write", "users.read"])?;
    const KNOWN: &[&str] = &[
        "text",
        "media",
        "reply",
        "reply_settings",
        "quote_tweet_id",
        "poll",
        "geo",
        "card_uri",
        "community_id",
        "direct_message_deep_link",
        "edit_options",
        "for_super_followers_only",
        "made_with_ai",
        "nullcast",
        "paid_partnership",
        "share_with_followers",
    ];
    let obj = v
        .as_object()
        .ok_or_else(|| invalid("The body must be an object"))?;
    if let Some(k) = obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(invalid(&format!("[{k}] is not a valid field")));
    }
    let text = v["text"].as_str().unwrap_or_default().to_owned();
    let media_ids: Vec<String> = v["media"]["media_ids"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    if text.is_empty() && media_ids.is_empty() {
        return Err(invalid("A post needs text or media"));
    }
    if weighted(&text) > 280 {
        return Err(forbidden(
            "You are not permitted to create a Tweet with a length greater than the maximum allowed.",
        ));
    }
    let reply_settings = match v["reply_settings"].as_str() {
        None => None,
        Some(s @ ("following" | "mentionedUsers" | "subscribers" | "verified")) => Some(s.to_owned()),
        Some(other) => {
            return Err(invalid(&format!(
                "reply_settings {other} is not one of the allowed values"
            )));
        }
    };
    let now = sb.clock().now();
    let limits = sb.config().limits;
    let mut w = sb.x();
    w.settle(now);
    // Media: 1 to 4 of this user's finished uploads; a video or a GIF goes alone.
    if media_ids.len() > 4 {
        return Err(invalid("media.media_ids may hold at most 4 ids"));
    }
    for id in &media_ids {
        let u = w
            .uploads
            .get(id)
            .filter(|u| u.user == t.user)
            .ok_or_else(|| invalid(&format!("Your media IDs are invalid: [{id}]")))?;
        if u.state != "succeeded" {
            return Err(invalid(&format!("The media {id} has not finished processing")));
        }
        if u.category != "tweet_image" && media_ids.len() > 1 {
            return Err(invalid("A video or a GIF cannot be posted with other media"));
        }
    }
    let in_reply_to = v["reply"]["in_reply_to_tweet_id"].as_str().map(str::to_owned);
    let conversation = match &in_reply_to {
        Some(parent) => w
            .posts
            .iter()
            .find(|p| &p.id == parent)
            .map(|p| p.conversation_id.clone())
            .ok_or_else(|| invalid("The post you are replying to does not exist"))?,
        None => String::new(),
    };
    // The limits: per user in 15 minutes, per app in 24 hours.
    let app_cap = w.app_daily_posts.unwrap_or_else(|| limits.applied(APP_POSTS));
    let user_cap = limits.applied(USER_POSTS);
    let recent: Vec<&Post> = w
        .posts
        .iter()
        .filter(|p| p.created_at > now - USER_WINDOW && p.author == t.user)
        .collect();
    let day = w.posts.iter().filter(|p| p.created_at > now - APP_WINDOW).count() as u32;
    let user_reset = recent
        .first()
        .map_or(now + USER_WINDOW, |p| p.created_at + USER_WINDOW);
    let app_reset = w
        .posts
        .iter()
        .find(|p| p.created_at > now - APP_WINDOW)
        .map_or(now + APP_WINDOW, |p| p.created_at + APP_WINDOW);
    let used = recent.len() as u32;
    if used >= user_cap || day >= app_cap {
        let mut res = problem(
            StatusCode::TOO_MANY_REQUESTS,
            "Too Many Requests",
            "about:blank",
            "Too Many Requests",
        );
        limit_headers(&mut res, "x-rate-limit", user_cap, 0, user_reset);
        limit_headers(
            &mut res,
            "x-app-limit-24hour",
            app_cap,
            app_cap.saturating_sub(day),
            app_reset,
        );
        return Err(Box::new(res));
    }
    // The same text as one of the user's posts of the last day is refused.
    if !text.is_empty()
        && w.posts
            .iter()
            .any(|p| p.author == t.user && p.text == text && p.created_at > now - APP_WINDOW)
    {
        return Err(forbidden(
            "You are not allowed to create a Tweet with duplicate content.",
        ));
    }
    let id = w.next_id();
    let conversation_id = if conversation.is_empty() {
        id.clone()
    } else {
        conversation
    };
    w.posts.push(Post {
        id: id.clone(),
        author: t.user.clone(),
        text: text.clone(),
        media_ids,
        reply_settings,
        in_reply_to,
        conversation_id,
        created_at: now,
    });
    let mut res = (
        StatusCode::CREATED,
        axum::Json(json!({"data": {"id": id, "text": text, "edit_history_tweet_ids": [id]}})),
    )
        .into_response();
    limit_headers(
        &mut res,
        "x-rate-limit",
        user_cap,
        user_cap - used - 1,
        user_reset,
    );
    limit_headers(
        &mut res,
        "x-app-limit-24hour",
        app_cap,
        app_cap - day - 1,
        app_reset,
    );
    Ok(res)
}

/// The fields asked for (`post.fields`, or the older `tweet.fields`), and the expansions that
/// add a field to the post itself (`referenced_posts`, or the older `referenced_tweets.id`).
fn asked(q: &BTreeMap<String, String>) -> Vec<String> {
    let list = |k: &str| q.get(k).into_iter().flat_map(|f| f.split(',').map(str::to_owned));
    let fields = q.get("post.fields").or(q.get("tweet.fields")).into_iter();
    fields
        .flat_map(|f| f.split(',').map(str::to_owned).collect::<Vec<_>>())
        .chain(list("expansions").filter(|e| e.starts_with("referenced_")))
        .collect()
}

/// A post's text as X gives it back: `&`, `<` and `>` escaped, links rewritten to `t.co`, and a
/// link to the media added at the end of a post with media.
fn shown_text(p: &Post) -> String {
    let escaped = p
        .text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let mut words: Vec<String> = escaped
        .split(' ')
        .map(|w| match w.starts_with("http://") || w.starts_with("https://") {
            true => format!("https://t.co/{}", crate::random_token("", 10)),
            false => w.to_owned(),
        })
        .collect();
    if !p.media_ids.is_empty() {
        words.push(format!("https://t.co/{}", &p.id[p.id.len().saturating_sub(10)..]));
    }
    words.join(" ")
}

/// A post as X shows it: `id`, `text` and `edit_history_tweet_ids`, plus the fields asked for.
fn post_json(p: &Post, fields: &[String], now: Timestamp, replies: usize) -> Value {
    let mut v = json!({"id": p.id, "text": shown_text(p), "edit_history_tweet_ids": [p.id]});
    for f in fields {
        match f.as_str() {
            "created_at" => {
                v["created_at"] = json!(p.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z").to_string())
            }
            "author_id" => v["author_id"] = json!(p.author),
            "conversation_id" => v["conversation_id"] = json!(p.conversation_id),
            // The expansion names the field: `referenced_posts` as the document has it, or
            // `referenced_tweets` for the older `referenced_tweets.id`.
            "referenced_posts" | "referenced_tweets.id" => {
                if let Some(parent) = &p.in_reply_to {
                    let name = f.trim_end_matches(".id");
                    v[name] = json!([{"type": "replied_to", "id": parent}]);
                }
            }
            "attachments" if !p.media_ids.is_empty() => {
                v["attachments"] =
                    json!({"media_keys": p.media_ids.iter().map(|m| format!("3_{m}")).collect::<Vec<_>>()});
            }
            "public_metrics" => {
                let hours = now.duration_since(p.created_at).as_secs().max(0) as u64 / 3600;
                v["public_metrics"] = json!({
                    "retweet_count": hours / 10, "reply_count": replies, "like_count": hours / 2,
                    "quote_count": hours / 40, "bookmark_count": hours / 20, "impression_count": hours * 9,
                });
            }
            // Only for the author's own post of the last 30 days (`one` refuses the rest); link
            // clicks only where the post has a link.
            "non_public_metrics" => {
                let hours = now.duration_since(p.created_at).as_secs().max(0) as u64 / 3600;
                v["non_public_metrics"] =
                    json!({"impression_count": hours * 9, "user_profile_clicks": hours / 4});
                if p.text.contains("http://") || p.text.contains("https://") {
                    v["non_public_metrics"]["url_link_clicks"] = json!(hours / 3);
                }
            }
            _ => {}
        }
    }
    v
}

fn replies_to(w: &super::World, id: &str) -> usize {
    w.posts
        .iter()
        .filter(|p| p.in_reply_to.as_deref() == Some(id))
        .count()
}

/// How long a post's non-public metrics can be read [official].
const NON_PUBLIC_FOR: SignedDuration = SignedDuration::from_hours(30 * 24);

fn one(sb: &Sandbox, t: &Token, id: &str, q: &BTreeMap<String, String>) -> Result<Response, Refusal> {
    need(t, &["tweet.read", "users.read"])?;
    let w = sb.x();
    let now = sb.clock().now();
    let fields = asked(q);
    Ok(match w.posts.iter().find(|p| p.id == id) {
        // Someone else's post, or one older than 30 days: X answers 200 with a field
        // authorization error for each non-public metric, and no data.
        Some(p)
            if fields.iter().any(|f| f == "non_public_metrics")
                && (p.author != t.user || now.duration_since(p.created_at) >= NON_PUBLIC_FOR) =>
        {
            let errors: Vec<Value> = ["impression_count", "user_profile_clicks"]
                .iter()
                .map(|m| {
                    let field = format!("non_public_metrics.{m}");
                    json!({"resource_type": "tweet", "field": field, "parameter": "id", "resource_id": id,
                        "title": "Field Authorization Error", "section": "data", "value": id,
                        "detail": format!("Sorry, you are not authorized to access '{field}' on the Tweet with id : [{id}]."),
                        "type": "https://api.twitter.com/2/problems/not-authorized-for-field"})
                })
                .collect();
            axum::Json(json!({ "errors": errors })).into_response()
        }
        Some(p) => axum::Json(json!({"data": post_json(p, &fields, now, replies_to(&w, id))})).into_response(),
        None => axum::Json(json!({"errors": [{
            "value": id, "detail": format!("Could not find tweet with id: [{id}]."), "title": "Not Found Error",
            "resource_type": "tweet", "parameter": "id", "resource_id": id,
            "type": "https://api.twitter.com/2/problems/resource-not-found"}]}))
        .into_response(),
    })
}

fn time_param(q: &BTreeMap<String, String>, k: &str) -> Result<Option<Timestamp>, Refusal> {
    q.get(k)
        .map(|s| {
            s.parse::<Timestamp>()
                .map_err(|_| invalid(&format!("{k} is not an RFC 3339 time")))
        })
        .transpose()
}

fn timeline(sb: &Sandbox, t: &Token, id: &str, q: &BTreeMap<String, String>) -> Result<Response, Refusal> {
    need(t, &["tweet.read", "users.read"])?;
    let max = match q.get("max_results").map(|m| m.parse::<usize>()) {
        None => 10,
        Some(Ok(n)) if (5..=100).contains(&n) => n,
        _ => {
            return Err(invalid(
                "The `max_results` query parameter value is not between 5 and 100",
            ));
        }
    };
    let (start, end) = (time_param(q, "start_time")?, time_param(q, "end_time")?);
    let w = sb.x();
    if w.user(id).is_none() {
        return Err(invalid(&format!(
            "The `id` query parameter value [{id}] is not valid"
        )));
    }
    let now = sb.clock().now();
    let fields = asked(q);
    let data: Vec<Value> = w
        .posts
        .iter()
        .rev()
        .filter(|p| {
            p.author == id && start.is_none_or(|s| p.created_at >= s) && end.is_none_or(|e| p.created_at <= e)
        })
        .take(max)
        .map(|p| post_json(p, &fields, now, replies_to(&w, &p.id)))
        .collect();
    let mut meta = json!({"result_count": data.len()});
    if let (Some(first), Some(last)) = (data.first(), data.last()) {
        meta["newest_id"] = first["id"].clone();
        meta["oldest_id"] = last["id"].clone();
    }
    Ok(axum::Json(json!({"data": data, "meta": meta})).into_response())
}

fn search(sb: &Sandbox, t: &Token, q: &BTreeMap<String, String>) -> Result<Response, Refusal> {
    need(t, &["tweet.read", "users.read"])?;
    if !sb.x().search_allowed {
        // What X answers an app whose access level lacks the endpoint.
        let body = json!({
            "title": "Client Forbidden", "type": "https://api.twitter.com/2/problems/client-forbidden",
            "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a Twitter developer App that is attached to a Project. You can create a project via the developer portal.",
            "reason": "client-not-enrolled", "required_enrollment": "Appropriate Level of API Access",
            "registration_url": "https://developer.x.com/en/portal/product", "client_id": t.client_id,
        });
        return Err(Box::new(
            (StatusCode::FORBIDDEN, axum::Json(body)).into_response(),
        ));
    }
    let conversation = q
        .get("query")
        .and_then(|s| s.strip_prefix("conversation_id:"))
        .ok_or_else(|| invalid("The sandbox searches only by conversation_id:ID"))?
        .to_owned();
    let w = sb.x();
    let now = sb.clock().now();
    let mut fields = asked(q);
    // An expansion brings the field it expands.
    if q.get("expansions").is_some_and(|e| e.contains("author_id")) {
        fields.push("author_id".into());
    }
    let found: Vec<&Post> = w
        .posts
        .iter()
        .rev()
        .filter(|p| {
            p.conversation_id == conversation
                && p.id != conversation
                && p.created_at > now - SignedDuration::from_hours(7 * 24)
        })
        .collect();
    let data: Vec<Value> = found.iter().map(|p| post_json(p, &fields, now, 0)).collect();
    let mut body = json!({"data": data, "meta": {"result_count": data.len()}});
    if q.get("expansions").is_some_and(|e| e.contains("author_id")) {
        let users: Vec<Value> = w
            .users
            .iter()
            .filter(|u| found.iter().any(|p| p.author == u.id))
            .map(|u| json!({"id": u.id, "name": u.name, "username": u.username}))
            .collect();
        body["includes"] = json!({"users": users});
    }
    Ok(axum::Json(body).into_response())
}

fn initialize(sb: &Sandbox, t: &Token, v: &Value) -> Result<Response, Refusal> {
    need(t, &["media.write"])?;
    let media_type = v["media_type"]
        .as_str()
        .ok_or_else(|| invalid("media_type is required"))?
        .to_owned();
    let total = v["total_bytes"]
        .as_u64()
        .ok_or_else(|| invalid("total_bytes is required"))?;
    let category = v["media_category"].as_str().unwrap_or("tweet_image").to_owned();
    let max = match category.as_str() {
        "tweet_image" => MAX_IMAGE,
        "tweet_gif" => MAX_GIF,
        "tweet_video" | "amplify_video" => MAX_VIDEO,
        other => return Err(invalid(&format!("media_category {other} is not supported here"))),
    };
    if total > max {
        return Err(invalid(&format!(
            "The file is larger than {max} bytes for {category}"
        )));
    }
    let now = sb.clock().now();
    let mut w = sb.x();
    let id = w.next_id();
    w.uploads.insert(
        id.clone(),
        Upload {
            id: id.clone(),
            user: t.user.clone(),
            media_type,
            category,
            total_bytes: total,
            segments: BTreeMap::new(),
            head: Vec::new(),
            finalized: false,
            state: "pending",
            ready_at: None,
            alt_text: None,
            created_at: now,
        },
    );
    Ok(
        axum::Json(json!({"data": {"id": id, "media_key": format!("3_{id}"), "expires_after_secs": 86_400}}))
            .into_response(),
    )
}

fn append(
    sb: &Sandbox,
    t: &Token,
    id: &str,
    fields: &BTreeMap<String, Value>,
    media: &[u8],
) -> Result<Response, Refusal> {
    need(t, &["media.write"])?;
    let index: u32 = fields
        .get("segment_index")
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse().ok())
        .filter(|i| *i <= 999)
        .ok_or_else(|| invalid("segment_index must be an integer from 0 to 999"))?;
    if !fields.contains_key("media") {
        return Err(invalid("media is required"));
    }
    let mut w = sb.x();
    let u = w
        .uploads
        .get_mut(id)
        .filter(|u| u.user == t.user && !u.finalized)
        .ok_or_else(|| invalid(&format!("Media id {id} is not an upload in progress")))?;
    if index == 0 {
        u.head = media.iter().take(64 * 1024).copied().collect();
    }
    u.segments.insert(index, media.len() as u64);
    let expires = (u.created_at + SignedDuration::from_hours(24)).as_second();
    Ok(axum::Json(json!({"data": {"expires_at": expires}})).into_response())
}

fn finalize(sb: &Sandbox, t: &Token, id: &str) -> Result<Response, Refusal> {
    need(t, &["media.write"])?;
    let now = sb.clock().now();
    let delay = SignedDuration::try_from(sb.config().processing_delay).unwrap_or_default();
    let mut w = sb.x();
    let u = w
        .uploads
        .get_mut(id)
        .filter(|u| u.user == t.user)
        .ok_or_else(|| invalid(&format!("Media id {id} is not an upload")))?;
    let received: u64 = u.segments.values().sum();
    if received != u.total_bytes {
        return Err(invalid(&format!(
            "Segments total {received} bytes, not the {} announced",
            u.total_bytes
        )));
    }
    let probe = crate::fetch::probe(&u.head);
    let fits = match u.category.as_str() {
        "tweet_video" | "amplify_video" => probe.iso,
        _ => probe.image,
    };
    u.finalized = true;
    let mut data = json!({"id": u.id, "media_key": format!("3_{}", u.id), "size": u.total_bytes, "expires_after_secs": 86_400});
    match (fits, u.category.as_str()) {
        (false, _) => {
            u.state = "failed";
            return Err(invalid("The media type is unrecognized"));
        }
        (true, "tweet_video" | "amplify_video") => {
            u.state = "in_progress";
            u.ready_at = Some(now + delay);
            data["processing_info"] = json!({"state": "pending", "check_after_secs": 1});
        }
        (true, _) => u.state = "succeeded",
    }
    Ok(axum::Json(json!({ "data": data })).into_response())
}

fn status(sb: &Sandbox, t: &Token, q: &BTreeMap<String, String>) -> Result<Response, Refusal> {
    need(t, &["media.write"])?;
    let id = q.get("media_id").ok_or_else(|| invalid("media_id is required"))?;
    let mut w = sb.x();
    w.settle(sb.clock().now());
    let u = w
        .uploads
        .get(id)
        .filter(|u| u.user == t.user)
        .ok_or_else(|| invalid(&format!("Media id {id} is not an upload")))?;
    let progress = if u.state == "succeeded" { 100 } else { 40 };
    Ok(
        axum::Json(json!({"data": {"id": u.id, "media_key": format!("3_{}", u.id),
        "processing_info": {"state": u.state, "check_after_secs": 1, "progress_percent": progress}}}))
        .into_response(),
    )
}

fn metadata(sb: &Sandbox, t: &Token, v: &Value) -> Result<Response, Refusal> {
    need(t, &["media.write"])?;
    let id = v["id"].as_str().ok_or_else(|| invalid("id is required"))?;
    let alt = v["metadata"]["alt_text"]["text"]
        .as_str()
        .ok_or_else(|| invalid("metadata.alt_text.text is required"))?;
    if alt.chars().count() > 1000 {
        return Err(invalid("alt text may be at most 1000 characters"));
    }
    let mut w = sb.x();
    let u = w
        .uploads
        .get_mut(id)
        .filter(|u| u.user == t.user)
        .ok_or_else(|| invalid(&format!("Media id {id} is not an upload")))?;
    u.alt_text = Some(alt.to_owned());
    Ok(
        axum::Json(json!({"data": {"id": id, "associated_metadata": {"alt_text": {"text": alt}}}}))
            .into_response(),
    )
}
