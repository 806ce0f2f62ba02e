//! `graph.instagram.com`: `/me`, containers, their status, `media_publish`, media and the publishing quota.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

use super::oauth::{exchange, refresh, validate};
use super::world::{Container, ContainerStatus, Media, Product, Token};
use crate::fetch::download;
use crate::graph::{GraphError, Params, graph_time, is_version, pick};
use crate::meter::{Call, UseCase};
use crate::{Sandbox, random_token};

const PUBLISH: &str = "instagram_business_content_publish";
const BASIC: &str = "instagram_business_basic";
const MAX_IMAGE_BYTES: usize = 8 * 1024 * 1024;
const MAX_VIDEO_BYTES: usize = 1024 * 1024 * 1024;
const CONTAINER_LIFETIME: SignedDuration = SignedDuration::from_hours(24);

/// Every request under `/graph.instagram.com/`: journaled, then answered by [`serve`].
pub(crate) async fn graph(
    State(sb): State<Sandbox>,
    method: Method,
    Path(path): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = match Params::parse(query.as_deref(), &headers, &body) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    crate::graph::record(&sb, "graph.instagram.com", &method, &path, &p);
    let secret = sb.config().instagram_app.client_secret;
    if let Err(e) = p.check_proof(&secret) {
        return e.into_response();
    }
    serve(&sb, &method, &path, &p).await
}

/// An Instagram Graph request (from either Graph host), routed the way Graph routes paths, logged,
/// throttled when the account ran out of calls, and answered with Meta's usage header.
pub(crate) async fn serve(sb: &Sandbox, method: &Method, path: &str, p: &Params) -> Response {
    let operation = operation(method, path);
    let now = sb.clock().now();
    let user = {
        let world = sb.instagram();
        p.token()
            .ok()
            .and_then(|t| world.tokens.get(t))
            .map(|t| t.user_id)
    };
    let object = user.map(|u| u.to_string());
    let throttled = sb.meter().admit(Call {
        at: now,
        method: method.to_string(),
        path: format!("/{path}"),
        operation: operation.to_owned(),
        use_case: UseCase::Instagram,
        object: object.clone(),
    });
    let regain = throttled.unwrap_or(0);
    let res = match throttled {
        Some(_) => GraphError::new(
            80002,
            "There have been too many calls to this Instagram account. Wait a bit and try again.",
        )
        .user("Too many calls", "Wait a bit and try again.")
        .into_response(),
        None => {
            let perform = async {
                let res = route(sb, method, path, p)
                    .await
                    .unwrap_or_else(|e| e.into_response());
                with_usage(sb, res, UseCase::Instagram, object.as_deref(), now, regain)
            };
            return crate::faults::faulted(sb, UseCase::Instagram, method.as_str(), operation, perform).await;
        }
    };
    with_usage(sb, res, UseCase::Instagram, object.as_deref(), now, regain)
}

/// Adds the usage headers for `object`, when the call had one.
pub(crate) fn with_usage(
    sb: &Sandbox,
    mut res: Response,
    use_case: UseCase,
    object: Option<&str>,
    now: Timestamp,
    regain: i64,
) -> Response {
    if let Some(o) = object {
        let limits = sb.config().limits;
        sb.meter().headers(&mut res, use_case, o, now, regain, limits);
    }
    res
}

/// The name faults and the call log use for a request.
fn operation(method: &Method, path: &str) -> &'static str {
    let segs: Vec<&str> = path
        .split('/')
        .filter(|s| !s.is_empty() && !is_version(s))
        .collect();
    match (method.as_str(), segs.as_slice()) {
        (_, ["access_token"]) => "access_token",
        (_, ["refresh_access_token"]) => "refresh_access_token",
        (_, ["me"]) => "me",
        ("POST", [_, "media"]) => "media",
        ("GET", [_, "media"]) => "list_media",
        (_, [_, "media_publish"]) => "media_publish",
        (_, [_, "content_publishing_limit"]) => "content_publishing_limit",
        (_, [_, "insights"]) => "insights",
        (_, [_, "comments"]) => "comments",
        (_, [_, "replies"]) => "replies",
        (_, [_]) => "node",
        _ => "unknown",
    }
}

async fn route(sb: &Sandbox, method: &Method, path: &str, p: &Params) -> Result<Response, GraphError> {
    let mut segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segs.first().is_some_and(|s| is_version(s)) {
        segs.remove(0);
    }
    match (method.as_str(), segs.as_slice()) {
        ("GET", ["access_token"]) => exchange(sb, p),
        ("GET", ["refresh_access_token"]) => refresh(sb, p),
        ("GET", ["me"]) => me(sb, p),
        ("POST", [id, "media"]) => create_container(sb, p, id).await,
        ("GET", [id, "media"]) => list_media(sb, p, id),
        ("GET", [id, "stories"]) => list_stories(sb, p, id),
        ("POST", [id, "media_publish"]) => publish(sb, p, id),
        ("GET", [id, "content_publishing_limit"]) => quota(sb, p, id),
        ("GET", [id, "insights"]) => super::insights::insights(sb, p, id),
        ("GET", [id, "comments"]) => super::comments::list(sb, p, id),
        ("POST", [id, "replies"]) => super::comments::reply(sb, p, id),
        ("GET", [id]) => node(sb, p, id),
        _ => Err(GraphError::new(
            2500,
            format!("Unknown path components: /{}", segs.join("/")),
        )),
    }
}

/// Validates the token and that it carries `scope`.
pub(crate) fn authorize(sb: &Sandbox, p: &Params, scope: &str) -> Result<Token, GraphError> {
    let world = sb.instagram();
    let t = validate(&world, p.token()?, sb.clock().now())?.clone();
    if !t.scopes.iter().any(|s| s == scope) {
        return Err(GraphError::permission(scope));
    }
    Ok(t)
}

/// The token must belong to the account named in the path.
fn owner(t: &Token, id: &str, method: &str) -> Result<u64, GraphError> {
    match id.parse::<u64>() {
        Ok(n) if n == t.user_id => Ok(n),
        _ if id == "me" => Ok(t.user_id),
        _ => Err(GraphError::no_object(id, method)),
    }
}

fn me(sb: &Sandbox, p: &Params) -> Result<Response, GraphError> {
    let t = authorize(sb, p, BASIC)?;
    let world = sb.instagram();
    let a = world
        .account(t.user_id)
        .ok_or_else(|| GraphError::no_object("me", "get"))?;
    let media_count = world.media.iter().filter(|m| m.owner == a.user_id).count();
    let all = json!({
        "id": a.app_scoped_id.to_string(), "user_id": a.user_id.to_string(), "username": a.username, "name": a.name,
        "account_type": "BUSINESS", "media_count": media_count, "followers_count": 0,
    });
    Ok(pick(all.as_object().expect("object"), &p.fields(&["id"])))
}

fn container_status(c: &Container, now: Timestamp) -> &'static str {
    match c.status {
        ContainerStatus::Published => "PUBLISHED",
        _ if now.duration_since(c.created_at) > CONTAINER_LIFETIME => "EXPIRED",
        ContainerStatus::InProgress if now < c.ready_at => "IN_PROGRESS",
        _ => "FINISHED",
    }
}

fn unreachable(url: &str) -> GraphError {
    GraphError::new(
        9004,
        format!("The media could not be fetched from this uri: {url}"),
    )
    .subcode(2207052)
    .user(
        "Media download has failed.",
        "The media could not be fetched from this uri.",
    )
}

async fn fetch_image(sb: &Sandbox, url: &str) -> Result<usize, GraphError> {
    let fetched = download(sb, url, MAX_IMAGE_BYTES, unreachable, || {
        GraphError::new(36000, "The image size is too large.")
            .subcode(2207004)
            .user(
                "Image size too large",
                "The image is too large to download. It should be less than 8 MiB.",
            )
    })
    .await?;
    let Some((w, h)) = fetched.jpeg else {
        return Err(
            GraphError::new(9004, "Only photo or video can be accepted as media type.")
                .subcode(2207052)
                .user("Media download has failed.", "Only JPEG images are supported."),
        );
    };
    let ratio = f64::from(w) / f64::from(h.max(1));
    if !(0.8 - 1e-3..=1.91 + 1e-3).contains(&ratio) {
        return Err(GraphError::new(36003, format!("The submitted image with aspect ratio ('{w}/{h}',) cannot be published. Please submit an image with a valid aspect ratio."))
            .subcode(2207009)
            .user("Aspect ratio is not supported.", "The aspect ratio is not supported."));
    }
    Ok(fetched.len)
}

/// A reel's cover image (`cover_url`): a JPEG of any shape, up to 8 MiB.
async fn fetch_cover(sb: &Sandbox, url: &str) -> Result<usize, GraphError> {
    let fetched = download(sb, url, MAX_IMAGE_BYTES, unreachable, || {
        GraphError::new(36000, "The image size is too large.").subcode(2207004)
    })
    .await?;
    if fetched.jpeg.is_none() {
        return Err(
            GraphError::new(9004, "Only photo or video can be accepted as media type.")
                .subcode(2207052)
                .user("Media download has failed.", "The cover must be a JPEG image."),
        );
    }
    Ok(fetched.len)
}

/// Downloads `video_url` as Instagram would for a reel: an MP4/MOV whose `moov` atom precedes its media data.
async fn fetch_video(sb: &Sandbox, url: &str) -> Result<usize, GraphError> {
    let fetched = download(sb, url, MAX_VIDEO_BYTES, unreachable, || {
        GraphError::new(36001, "The video file is too large")
            .subcode(2207026)
            .user("Video too large", "The video should be at most 1 GB.")
    })
    .await?;
    match fetched.moov_first.filter(|_| fetched.iso) {
        None => Err(
            GraphError::new(9004, "Only photo or video can be accepted as media type.")
                .subcode(2207052)
                .user("Media download has failed.", "The file is not a video."),
        ),
        Some(false) => Err(GraphError::new(
            36001,
            "The video format is not supported. Please check spec for supported video format.",
        )
        .subcode(2207026)
        .user(
            "Unsupported video format",
            "Move the moov atom to the front of the file (fast start).",
        )),
        Some(true) => Ok(fetched.len),
    }
}

async fn create_container(sb: &Sandbox, p: &Params, id: &str) -> Result<Response, GraphError> {
    let t = authorize(sb, p, PUBLISH)?;
    let user = owner(&t, id, "post")?;
    let caption = p.get("caption").unwrap_or_default().to_owned();
    if caption.chars().count() > 2200 {
        return Err(GraphError::param(
            "(#100) The caption must be at most 2200 characters",
        ));
    }
    let carousel_item = p.get("is_carousel_item") == Some("true");
    let (children, video, product) = match p.get("media_type") {
        None => (None, false, Product::Feed),
        Some("CAROUSEL") => (Some(carousel_children(sb, p, user)?), false, Product::Feed),
        Some("IMAGE") => {
            return Err(GraphError::param(
                "(#100) media_type IMAGE is not a valid value; omit media_type for an image",
            ));
        }
        // A video inside a carousel is still `VIDEO`; anywhere else it must be a reel.
        Some("VIDEO") if carousel_item => (None, true, Product::Feed),
        Some("VIDEO") => {
            return Err(GraphError::param(
                "(#100) The VIDEO media type is no longer supported for feed posts; use REELS",
            ));
        }
        Some("REELS") => (None, true, Product::Reels),
        Some("STORIES") => (None, p.get("video_url").is_some(), Product::Story),
        Some(other) => {
            return Err(GraphError::param(format!(
                "(#100) media_type must be one of REELS, STORIES, CAROUSEL, VIDEO (carousel items); got {other}"
            )));
        }
    };
    if carousel_item && product != Product::Feed {
        return Err(GraphError::param(
            "(#100) Only images and VIDEO can be carousel items",
        ));
    }
    let thumb_offset = match p.get("thumb_offset") {
        Some(raw) if product == Product::Reels => Some(
            raw.parse::<u64>()
                .map_err(|_| GraphError::param("(#100) Param thumb_offset must be a non-negative integer"))?,
        ),
        _ => None,
    };
    let share_to_feed = match p.get("share_to_feed") {
        Some("true") => true,
        Some("false") => product != Product::Reels,
        None => product == Product::Reels,
        Some(_) => return Err(GraphError::param("(#100) Param share_to_feed must be a boolean")),
    };
    let image_bytes = match &children {
        Some(_) => 0,
        None if video => fetch_video(sb, p.require("video_url")?).await?,
        None => fetch_image(sb, p.require("image_url")?).await?,
    };
    let cover_bytes = match p.get("cover_url") {
        Some(url) if product == Product::Reels => Some(fetch_cover(sb, url).await?),
        Some(_) => return Err(GraphError::param("(#100) cover_url applies to reels only")),
        None => None,
    };
    let now = sb.clock().now();
    let delay = SignedDuration::try_from(sb.config().processing_delay).unwrap_or_default();
    let mut world = sb.instagram();
    let cid = world.next_id();
    world.add_container(
        Container {
            id: cid,
            owner: user,
            // Stories carry no caption.
            caption: if product == Product::Story {
                String::new()
            } else {
                caption
            },
            alt_text: p.get("alt_text").map(str::to_owned),
            image_bytes,
            carousel_item,
            video,
            product,
            share_to_feed,
            thumb_offset,
            cover_bytes,
            children: children.unwrap_or_default(),
            kept: false,
            created_at: now,
            ready_at: now + delay,
            status: ContainerStatus::InProgress,
            media_id: None,
        },
        now,
    );
    Ok(axum::Json(json!({"id": cid.to_string()})).into_response())
}

/// A carousel's `children`: 2 to 10 of the account's item containers, each processed.
fn carousel_children(sb: &Sandbox, p: &Params, user: u64) -> Result<Vec<u64>, GraphError> {
    let ids = p.list("children")?;
    if !(2..=10).contains(&ids.len()) {
        return Err(GraphError::param(format!(
            "(#100) A carousel takes 2 to 10 children; got {}",
            ids.len()
        )));
    }
    let now = sb.clock().now();
    let world = sb.instagram();
    ids.iter()
        .map(|raw| {
            let id: u64 = raw.parse().map_err(|_| GraphError::no_object(raw, "post"))?;
            let c = world
                .containers
                .get(&id)
                .filter(|c| c.owner == user && c.carousel_item)
                .ok_or_else(|| GraphError::no_object(raw, "post"))?;
            match container_status(c, now) {
                "FINISHED" => Ok(id),
                _ => Err(GraphError::new(9007, "Media ID is not available")
                    .subcode(2207027)
                    .user(
                        "Media is not ready for publishing",
                        "A carousel item is still processing, please wait for a moment",
                    )),
            }
        })
        .collect()
}

fn publish(sb: &Sandbox, p: &Params, id: &str) -> Result<Response, GraphError> {
    let t = authorize(sb, p, PUBLISH)?;
    let user = owner(&t, id, "post")?;
    let creation_id = p.require("creation_id")?;
    let now = sb.clock().now();
    let config = sb.config();
    let quota = config.limits.applied(config.publish_quota) as usize;
    let mut world = sb.instagram();
    let cid: u64 = creation_id
        .parse()
        .map_err(|_| GraphError::no_object(creation_id, "post"))?;
    let c = world
        .containers
        .get(&cid)
        .filter(|c| c.owner == user)
        .cloned()
        .ok_or_else(|| GraphError::no_object(creation_id, "post"))?;
    if c.carousel_item {
        return Err(GraphError::param(
            "(#100) A carousel item cannot be published on its own; publish its carousel container",
        ));
    }
    match container_status(&c, now) {
        "PUBLISHED" => {
            return Ok(axum::Json(json!({"id": c.media_id.unwrap_or_default().to_string()})).into_response());
        }
        "IN_PROGRESS" => {
            return Err(GraphError::new(9007, "Media ID is not available")
                .subcode(2207027)
                .user(
                    "Media is not ready for publishing",
                    "The media is not ready for publishing, please wait for a moment",
                ));
        }
        "EXPIRED" => {
            return Err(GraphError::new(-2, "The media container has expired")
                .subcode(2207020)
                .user("Media expired", "Create a new container."));
        }
        _ => {}
    }
    let day_ago = now - SignedDuration::from_hours(24);
    if world
        .media
        .iter()
        .filter(|m| m.owner == user && m.timestamp > day_ago)
        .count()
        >= quota
    {
        return Err(GraphError::new(9, "Application request limit reached")
            .subcode(2207042)
            .user("Publishing limit reached", "You reached maximum number of posts that is allowed to be published by Content Publishing API."));
    }
    let image_bytes = c.image_bytes
        + c.children
            .iter()
            .filter_map(|ch| world.containers.get(ch))
            .map(|ch| ch.image_bytes)
            .sum::<usize>();
    let media_id = world.next_id();
    let shortcode = random_token("C", 10);
    world.media.push(Media {
        id: media_id,
        owner: user,
        caption: c.caption.clone(),
        alt_text: c.alt_text.clone(),
        media_type: if c.video {
            "VIDEO"
        } else if c.children.is_empty() {
            "IMAGE"
        } else {
            "CAROUSEL_ALBUM"
        },
        product: c.product,
        share_to_feed: c.share_to_feed,
        thumb_offset: c.thumb_offset,
        cover_bytes: c.cover_bytes,
        children: c.children.clone(),
        permalink: format!("https://www.instagram.com/p/{shortcode}/"),
        shortcode,
        timestamp: now,
        container_id: cid,
        image_bytes,
    });
    if let Some(c) = world.containers.get_mut(&cid) {
        c.status = ContainerStatus::Published;
        c.media_id = Some(media_id);
    }
    for child in &c.children {
        if let Some(item) = world.containers.get_mut(child) {
            item.kept = true;
        }
    }
    Ok(axum::Json(json!({"id": media_id.to_string()})).into_response())
}

fn media_json(m: &Media, username: &str) -> Map<String, Value> {
    json!({
        "id": m.id.to_string(), "caption": m.caption, "alt_text": m.alt_text, "media_type": m.media_type, "media_product_type": m.product.as_str(),
        "permalink": m.permalink, "shortcode": m.shortcode, "timestamp": graph_time(m.timestamp), "username": username,
        "comments_count": 0, "like_count": 0,
    })
    .as_object()
    .expect("object")
    .clone()
}

fn list_media(sb: &Sandbox, p: &Params, id: &str) -> Result<Response, GraphError> {
    let t = authorize(sb, p, BASIC)?;
    let user = owner(&t, id, "get")?;
    let fields = p.fields(&["id"]);
    let world = sb.instagram();
    let username = world
        .account(user)
        .map(|a| a.username.clone())
        .unwrap_or_default();
    let entries = world
        .media
        .iter()
        .rev()
        .filter(|m| m.owner == user && m.product != Product::Story)
        .map(|m| {
            (
                m.id.to_string(),
                crate::graph::select(&media_json(m, &username), &fields),
            )
        });
    let page = crate::graph::paged(entries, p, 25, &format!("{user}/media"))?;
    Ok(axum::Json(page).into_response())
}

/// `GET /{ig-user-id}/stories`: the account's stories of the last 24 hours.
fn list_stories(sb: &Sandbox, p: &Params, id: &str) -> Result<Response, GraphError> {
    let t = authorize(sb, p, BASIC)?;
    let user = owner(&t, id, "get")?;
    let fields = p.fields(&["id"]);
    let day_ago = sb.clock().now() - SignedDuration::from_hours(24);
    let world = sb.instagram();
    let username = world
        .account(user)
        .map(|a| a.username.clone())
        .unwrap_or_default();
    let data: Vec<Value> = world
        .media
        .iter()
        .rev()
        .filter(|m| m.owner == user && m.product == Product::Story && m.timestamp > day_ago)
        .map(|m| {
            let all = media_json(m, &username);
            crate::graph::select(&all, &fields)
        })
        .collect();
    Ok(axum::Json(json!({"data": data})).into_response())
}

fn quota(sb: &Sandbox, p: &Params, id: &str) -> Result<Response, GraphError> {
    let t = authorize(sb, p, BASIC)?;
    let user = owner(&t, id, "get")?;
    let day_ago = sb.clock().now() - SignedDuration::from_hours(24);
    let world = sb.instagram();
    let used = world
        .media
        .iter()
        .filter(|m| m.owner == user && m.timestamp > day_ago)
        .count();
    let config = sb.config();
    let total = config.limits.applied(config.publish_quota);
    Ok(axum::Json(
        json!({"data": [{"quota_usage": used, "config": {"quota_total": total, "quota_duration": 86400}}]}),
    )
    .into_response())
}

/// `GET /{id}`: a container, a media object, or the account itself.
fn node(sb: &Sandbox, p: &Params, id: &str) -> Result<Response, GraphError> {
    let t = authorize(sb, p, BASIC)?;
    let now = sb.clock().now();
    let world = sb.instagram();
    let n: u64 = id.parse().map_err(|_| GraphError::no_object(id, "get"))?;
    if let Some(c) = world.containers.get(&n).filter(|c| c.owner == t.user_id) {
        let status = container_status(c, now);
        let all = json!({"id": c.id.to_string(), "status_code": status, "status": format!("{status}: sandbox container")});
        return Ok(pick(all.as_object().expect("object"), &p.fields(&["id"])));
    }
    if let Some(m) = world.media.iter().find(|m| m.id == n && m.owner == t.user_id) {
        let username = world
            .account(m.owner)
            .map(|a| a.username.clone())
            .unwrap_or_default();
        return Ok(pick(&media_json(m, &username), &p.fields(&["id"])));
    }
    if n == t.user_id {
        drop(world);
        return me(sb, p);
    }
    Err(GraphError::no_object(id, "get"))
}
