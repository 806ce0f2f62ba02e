//! `graph.facebook.com`: the person (`/me`, permissions, Pages with their tokens), Page photos and
//! posts (text, link, one or several photos through `attached_media`), and reading them back.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::oauth::{access_token, page_token, validate};
use super::world::{Photo, Post, Token, TokenKind, World};
use crate::Sandbox;
use crate::fetch::download;
use crate::graph::{GraphError, Params, pick};
use crate::instagram::api::with_usage;
use crate::meter::{Call, UseCase};

const MAX_PHOTO_BYTES: usize = 10 * 1024 * 1024;

/// Every request under `/graph.facebook.com/`, routed the way Graph routes paths.
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
    crate::graph::record(&sb, "graph.facebook.com", &method, &path, &p);
    let secret = sb.config().facebook_app.client_secret;
    if let Err(e) = p.check_proof(&secret) {
        return e.into_response();
    }
    if let Some(res) = instagram_via_page(&sb, &path, &p) {
        return match res {
            Ok(()) => crate::instagram::api::serve(&sb, &method, &path, &p).await,
            Err(e) => e.into_response(),
        };
    }
    let now = sb.clock().now();
    let page = {
        let mut w = sb.facebook();
        w.settle(now);
        p.token()
            .ok()
            .and_then(|t| w.tokens.get(t))
            .map(|t| t.kind)
            .and_then(|k| match k {
                TokenKind::Page(page) => Some(page.to_string()),
                _ => None,
            })
    };
    let throttled = sb.meter().admit(Call {
        at: now,
        method: method.to_string(),
        path: format!("/{path}"),
        operation: operation(&path),
        use_case: UseCase::Pages,
        object: page.clone(),
    });
    if let Some(left) = throttled {
        let res = GraphError::new(
            80001,
            "There have been too many calls to this Page account. Wait a bit and try again.",
        )
        .user("Too many calls", "Wait a bit and try again.")
        .into_response();
        return with_usage(&sb, res, UseCase::Pages, page.as_deref(), now, left);
    }
    let op = operation(&path);
    let result = async {
        let mut segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if segs.first().is_some_and(|s| crate::graph::is_version(s)) {
            segs.remove(0);
        }
        match (method.as_str(), segs.as_slice()) {
            ("GET" | "POST", ["oauth", "access_token"]) => access_token(&sb, &p),
            ("GET", ["me"]) => me(&sb, &p),
            ("GET", ["me" | _, "permissions"]) => permissions(&sb, &p),
            ("DELETE", [_, "permissions"]) => revoke(&sb, &p),
            ("GET", ["me", "accounts"]) => accounts(&sb, &p),
            ("POST", [page, "photos"]) => photo(&sb, &p, page).await,
            ("POST", [page, "feed"]) => feed_post(&sb, &p, page),
            ("POST", [page, edge @ ("video_reels" | "video_stories" | "photo_stories")]) => {
                let now = sb.clock().now();
                let mut world = sb.facebook();
                let (page_id, _) = publisher(&sb, &world, &p, page)?;
                match *edge {
                    "video_reels" => super::video::phase(&sb, &mut world, page_id, "reel", &p, now),
                    "video_stories" => super::video::phase(&sb, &mut world, page_id, "story", &p, now),
                    _ => super::video::photo_story(&mut world, page_id, &p, now),
                }
            }
            ("GET", [page, "feed" | "published_posts"]) => list_posts(&sb, &p, page),
            ("GET", [id, "comments"]) => engagement(&sb, &p, |w, t, scopes, _| {
                super::engagement::list(w, t, scopes, &p, id)
            }),
            ("POST", [id, "comments"]) => {
                let now = sb.clock().now();
                let mut world = sb.facebook();
                let t = token(&sb, &world, &p)?.clone();
                let granted = scopes(&world, &t);
                super::engagement::reply(&mut world, &t, &granted, &p, id, now)
            }
            ("GET", [id, "insights"]) => engagement(&sb, &p, |w, t, scopes, now| {
                super::engagement::insights(w, t, scopes, &p, id, now)
            }),
            ("POST", [page, "videos"]) => {
                let page_id = {
                    let world = sb.facebook();
                    publisher(&sb, &world, &p, page)?.0
                };
                super::video::page_video(&sb, page_id, &p).await
            }
            ("POST", [id]) => {
                let now = sb.clock().now();
                let mut world = sb.facebook();
                let t = token(&sb, &world, &p)?.clone();
                let (TokenKind::Page(page), Ok(n)) = (t.kind, id.parse::<u64>()) else {
                    return Err(GraphError::no_object(id, "post"));
                };
                let (page_id, _) = publisher(&sb, &world, &p, &page.to_string())?;
                super::video::publish_video(&sb, &mut world, page_id, &p, n, now)
            }
            ("GET", [id]) => node(&sb, &p, id),
            _ => Err(GraphError::new(
                2500,
                format!("Unknown path components: /{}", segs.join("/")),
            )),
        }
    };
    let perform = async {
        let res = result.await.unwrap_or_else(IntoResponse::into_response);
        with_usage(&sb, res, UseCase::Pages, page.as_deref(), now, 0)
    };
    crate::faults::faulted(&sb, UseCase::Pages, method.as_str(), &op, perform).await
}

/// The name faults and the call log use for a request: the edge, `node`, `me` or `access_token`.
fn operation(path: &str) -> String {
    let segs: Vec<&str> = path
        .split('/')
        .filter(|s| !s.is_empty() && !crate::graph::is_version(s))
        .collect();
    match segs.as_slice() {
        ["oauth", "access_token"] => "access_token".into(),
        ["me"] => "me".into(),
        [_] => "node".into(),
        [_, edge, ..] => (*edge).to_owned(),
        [] => "unknown".into(),
    }
}

/// A call on an Instagram object (an account linked to a Page, its containers, media, comments)
/// made on `graph.facebook.com`: `None` when the path names no Instagram object; otherwise the
/// Page token is checked here and admitted to the emulated Instagram, which then answers the call.
fn instagram_via_page(sb: &Sandbox, path: &str, p: &Params) -> Option<Result<(), GraphError>> {
    let first = path
        .split('/')
        .filter(|s| !s.is_empty())
        .find(|s| !crate::graph::is_version(s))?;
    let id: u64 = first.parse().ok()?;
    if !sb.instagram().owns(id) {
        return None;
    }
    Some((|| {
        let raw = p.token()?;
        let world = sb.facebook();
        let t = validate(&world, raw, sb.clock().now())?;
        let account = match t.kind {
            TokenKind::Page(page) => world
                .page(page)
                .and_then(|pg| pg.instagram.as_ref())
                .map(|(ig, _)| *ig),
            _ => None,
        }
        .ok_or_else(|| GraphError::no_object(first, "get"))?;
        let granted = scopes(&world, t);
        let client = t.client_id.clone();
        drop(world);
        sb.instagram()
            .admit_page_token(raw, &client, account, &granted, sb.clock().now());
        Ok(())
    })())
}

/// Runs a read on Page engagement with the caller's token and permissions.
fn engagement(
    sb: &Sandbox,
    p: &Params,
    read: impl FnOnce(&World, &Token, &[String], Timestamp) -> Result<Response, GraphError>,
) -> Result<Response, GraphError> {
    let world = sb.facebook();
    let t = token(sb, &world, p)?;
    let granted = scopes(&world, t);
    read(&world, t, &granted, sb.clock().now())
}

fn token<'w>(sb: &Sandbox, world: &'w World, p: &Params) -> Result<&'w Token, GraphError> {
    validate(world, p.token()?, sb.clock().now())
}

fn scopes(world: &World, t: &Token) -> Vec<String> {
    world
        .grants
        .get(&(t.client_id.clone(), t.user_id))
        .map(|g| g.scopes.clone())
        .unwrap_or_default()
}

fn me(sb: &Sandbox, p: &Params) -> Result<Response, GraphError> {
    let world = sb.facebook();
    let t = token(sb, &world, p)?;
    let all = match t.kind {
        TokenKind::Page(id) => {
            let page = world
                .page(id)
                .ok_or_else(|| GraphError::no_object(&id.to_string(), "get"))?;
            json!({"id": page.id.to_string(), "name": page.name})
        }
        _ => {
            let user = world
                .users
                .iter()
                .find(|u| u.id == t.user_id)
                .ok_or_else(|| GraphError::no_object("me", "get"))?;
            json!({"id": user.id.to_string(), "name": user.name})
        }
    };
    Ok(pick(all.as_object().expect("object"), &p.fields(&["id", "name"])))
}

/// `GET /me/permissions`: each permission the person was asked for, granted or declined.
fn permissions(sb: &Sandbox, p: &Params) -> Result<Response, GraphError> {
    let world = sb.facebook();
    let t = token(sb, &world, p)?;
    let grant = &world.grants[&(t.client_id.clone(), t.user_id)];
    let data: Vec<Value> = grant
        .scopes
        .iter()
        .map(|s| json!({"permission": s, "status": "granted"}))
        .chain(
            grant
                .declined
                .iter()
                .map(|s| json!({"permission": s, "status": "declined"})),
        )
        .collect();
    Ok(axum::Json(json!({ "data": data })).into_response())
}

/// `DELETE /{user-id}/permissions`: the app loses the whole grant, and every token with it.
fn revoke(sb: &Sandbox, p: &Params) -> Result<Response, GraphError> {
    let mut world = sb.facebook();
    let t = token(sb, &world, p)?.clone();
    world.grants.remove(&(t.client_id, t.user_id));
    Ok(axum::Json(json!({"success": true})).into_response())
}

/// `GET /me/accounts`: the Pages the person granted, each with a Page token and its linked
/// Instagram account.
fn accounts(sb: &Sandbox, p: &Params) -> Result<Response, GraphError> {
    let now = sb.clock().now();
    let mut world = sb.facebook();
    let t = token(sb, &world, p)?.clone();
    if !matches!(t.kind, TokenKind::ShortLivedUser | TokenKind::LongLivedUser) {
        return Err(GraphError::new(
            100,
            "(#100) Tried accessing nonexisting field (accounts) on node type (Page)",
        ));
    }
    let granted = scopes(&world, &t);
    if !granted.iter().any(|s| s == "pages_show_list") {
        return Err(GraphError::permission("pages_show_list"));
    }
    let see_instagram = granted.iter().any(|s| s == "instagram_basic");
    let pages: Vec<u64> = world.grants[&(t.client_id.clone(), t.user_id)].pages.clone();
    let fields: Vec<String> = p
        .fields(&["id", "name", "access_token", "category"])
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut data = Vec::new();
    for id in pages {
        let token = page_token(&mut world, &t, id, now);
        let Some(page) = world.page(id) else { continue };
        let mut all = json!({"id": page.id.to_string(), "name": page.name, "category": page.category, "access_token": token, "tasks": ["ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MESSAGING", "MODERATE", "MANAGE"]});
        if let Some((ig, username)) = page.instagram.as_ref().filter(|_| see_instagram) {
            all["instagram_business_account"] = json!({"id": ig.to_string(), "username": username});
        }
        let names: Vec<&str> = fields.iter().map(String::as_str).collect();
        data.push(crate::graph::select(all.as_object().expect("object"), &names));
    }
    Ok(
        axum::Json(json!({"data": data, "paging": {"cursors": {"before": "QVFIU", "after": "QVFIU"}}}))
            .into_response(),
    )
}

/// The Page a Page token may publish to, with the permissions publishing needs.
fn publisher(sb: &Sandbox, world: &World, p: &Params, page: &str) -> Result<(u64, Token), GraphError> {
    let t = token(sb, world, p)?.clone();
    let id: u64 = page.parse().map_err(|_| GraphError::no_object(page, "post"))?;
    if world.page(id).is_none() {
        return Err(GraphError::no_object(page, "post"));
    }
    let granted = scopes(world, &t);
    let allowed = t.kind == TokenKind::Page(id)
        && ["pages_manage_posts", "pages_read_engagement"]
            .iter()
            .all(|s| granted.iter().any(|g| g == s));
    if !allowed {
        return Err(GraphError::new(
            200,
            "(#200) If posting to a page, requires both pages_read_engagement and pages_manage_posts as an admin with sufficient administrative permission",
        ));
    }
    Ok((id, t))
}

fn unfetchable(url: &str) -> GraphError {
    GraphError::new(
        324,
        format!("(#324) Missing or invalid image file: {url} could not be downloaded"),
    )
}

/// `POST /{page-id}/photos`: downloads `url`; published at once as a post of its own, or kept
/// unpublished (`published=false`) for a later `attached_media`.
async fn photo(sb: &Sandbox, p: &Params, page: &str) -> Result<Response, GraphError> {
    let page_id = {
        let world = sb.facebook();
        publisher(sb, &world, p, page)?.0
    };
    let url = p
        .get("url")
        .ok_or_else(|| GraphError::new(324, "(#324) Requires upload file"))?;
    let fetched = download(sb, url, MAX_PHOTO_BYTES, unfetchable, || {
        GraphError::new(100, "(#100) The photo is larger than the 10 MB Facebook accepts")
    })
    .await?;
    if !fetched.image {
        return Err(unfetchable(url));
    }
    let published = match p.get("published") {
        None | Some("true") => true,
        Some("false") => false,
        Some(_) => return Err(GraphError::param("(#100) Param published must be a boolean")),
    };
    let caption = p
        .get("caption")
        .or_else(|| p.get("message"))
        .unwrap_or_default()
        .to_owned();
    let now = sb.clock().now();
    let mut world = sb.facebook();
    let id = world.next_id();
    let post_id = published.then(|| world.new_post(page_id, caption.clone(), None, vec![id], now));
    world.photos.push(Photo {
        id,
        page_id,
        bytes: fetched.len,
        caption,
        alt_text: p.get("alt_text_custom").map(str::to_owned),
        published,
        post_id: post_id.clone(),
        created_time: now,
    });
    let mut out = json!({"id": id.to_string()});
    if let Some(post) = post_id {
        out["post_id"] = json!(post);
    }
    Ok(axum::Json(out).into_response())
}

/// The `media_fbid`s of `attached_media`, sent as a JSON array or as `attached_media[i]` fields.
fn attached(p: &Params) -> Result<Vec<String>, GraphError> {
    let mut raw: Vec<String> = Vec::new();
    if let Some(list) = p.get("attached_media") {
        let v: Value = serde_json::from_str(list)
            .map_err(|_| GraphError::param("(#100) param attached_media must be an array of objects"))?;
        raw.extend(v.as_array().into_iter().flatten().map(Value::to_string));
    }
    raw.extend((0..).map_while(|i| p.get(&format!("attached_media[{i}]")).map(str::to_owned)));
    raw.iter()
        .map(|item| {
            let v: Value = serde_json::from_str(item)
                .map_err(|_| GraphError::param("(#100) attached_media entries must be JSON objects"))?;
            v["media_fbid"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| GraphError::param("(#100) attached_media entries need media_fbid"))
        })
        .collect()
}

/// `POST /{page-id}/feed`: text, a link, and photos uploaded unpublished.
fn feed_post(sb: &Sandbox, p: &Params, page: &str) -> Result<Response, GraphError> {
    let now = sb.clock().now();
    let mut world = sb.facebook();
    let (page_id, _) = publisher(sb, &world, p, page)?;
    let message = p.get("message").unwrap_or_default().to_owned();
    let link = p.get("link").map(str::to_owned);
    if let Some(l) = &link
        && url::Url::parse(l).map_or(true, |u| !matches!(u.scheme(), "http" | "https"))
    {
        return Err(GraphError::param("(#100) link URL is not properly formatted"));
    }
    let media = attached(p)?;
    let mut photos = Vec::new();
    for fbid in &media {
        let photo = fbid
            .parse::<u64>()
            .ok()
            .and_then(|id| {
                world
                    .photos
                    .iter()
                    .find(|ph| ph.id == id && ph.page_id == page_id)
            })
            .ok_or_else(|| GraphError::param(format!("(#100) Invalid media_fbid: {fbid}")))?;
        if photo.published || photo.post_id.is_some() {
            return Err(GraphError::param(format!(
                "(#100) The photo {fbid} is already published; attach only photos uploaded with published=false"
            )));
        }
        photos.push(photo.id);
    }
    if message.is_empty() && link.is_none() && photos.is_empty() {
        return Err(GraphError::param("(#100) Missing message or attachment"));
    }
    let last = world.posts.iter().rev().find(|post| post.page_id == page_id);
    if !message.is_empty()
        && last.is_some_and(|post| {
            post.message == message && post.link == link && post.photos.is_empty() && photos.is_empty()
        })
    {
        return Err(GraphError::new(506, "Duplicate status message").user("Duplicate Post", "This status update is identical to the last one you posted. Try posting something different, or delete your previous update."));
    }
    let id = world.new_post(page_id, message, link, photos.clone(), now);
    for ph in world.photos.iter_mut().filter(|ph| photos.contains(&ph.id)) {
        ph.post_id = Some(id.clone());
    }
    Ok(axum::Json(json!({ "id": id })).into_response())
}

fn post_json(world: &World, post: &Post, now: Timestamp) -> Map<String, Value> {
    let comments = world.comments.iter().filter(|c| c.post_id == post.id).count();
    // As Graph shows them: a shared link, one photo, or an album of several.
    let photo = |id: &u64| json!({"type": "photo", "target": {"id": id.to_string()}});
    let mut attachments: Vec<Value> = match post.photos.as_slice() {
        [] => Vec::new(),
        [one] => vec![photo(one)],
        several => vec![
            json!({"type": "album", "subattachments": {"data": several.iter().map(photo).collect::<Vec<_>>()}}),
        ],
    };
    if let Some(link) = &post.link {
        attachments.push(json!({"type": "share", "unshimmed_url": link, "url": format!("https://l.facebook.com/l.php?u={link}")}));
    }
    json!({
        "id": post.id, "message": post.message, "link": post.link,
        "created_time": crate::graph::graph_time(post.created_time),
        "permalink_url": post.permalink_url, "attachments": {"data": attachments},
        "shares": {"count": super::engagement::shares(post, now)},
        "comments": {"data": [], "summary": {"order": "ranked", "total_count": comments, "can_comment": true}},
    })
    .as_object()
    .expect("object")
    .clone()
}

/// `GET /{page-id}/feed`: the Page's posts, newest first.
fn list_posts(sb: &Sandbox, p: &Params, page: &str) -> Result<Response, GraphError> {
    let world = sb.facebook();
    let t = token(sb, &world, p)?;
    let id: u64 = page.parse().map_err(|_| GraphError::no_object(page, "get"))?;
    if t.kind != TokenKind::Page(id) {
        return Err(GraphError::no_object(page, "get"));
    }
    let fields = p.fields(&["id", "message", "created_time"]);
    let now = sb.clock().now();
    let entries = world
        .posts
        .iter()
        .rev()
        .filter(|post| post.page_id == id)
        .map(|post| {
            (
                post.id.clone(),
                crate::graph::select(&post_json(&world, post, now), &fields),
            )
        });
    let page = crate::graph::paged(entries, p, 25, &format!("{id}/feed"))?;
    Ok(axum::Json(page).into_response())
}

/// `GET /{id}`: a Page, a Page post or a photo the token may see.
fn node(sb: &Sandbox, p: &Params, id: &str) -> Result<Response, GraphError> {
    let world = sb.facebook();
    let t = token(sb, &world, p)?;
    let page_of_token = match t.kind {
        TokenKind::Page(page) => Some(page),
        _ => None,
    };
    if let Some(post) = world.post(id).filter(|post| Some(post.page_id) == page_of_token) {
        return Ok(pick(
            &post_json(&world, post, sb.clock().now()),
            &p.fields(&["id", "message", "created_time"]),
        ));
    }
    let n: u64 = id.parse().map_err(|_| GraphError::no_object(id, "get"))?;
    if let Some(v) = world
        .videos
        .iter()
        .find(|v| v.id == n && Some(v.page_id) == page_of_token)
    {
        return Ok(pick(
            &super::video::video_json(v, sb.clock().now()),
            &p.fields(&["id", "status"]),
        ));
    }
    if let Some(page) = world
        .page(n)
        .filter(|pg| Some(pg.id) == page_of_token || pg.admin == t.user_id)
    {
        let all = json!({"id": page.id.to_string(), "name": page.name, "category": page.category});
        return Ok(pick(all.as_object().expect("object"), &p.fields(&["id", "name"])));
    }
    if let Some(ph) = world
        .photos
        .iter()
        .find(|ph| ph.id == n && Some(ph.page_id) == page_of_token)
    {
        let story = ph
            .post_id
            .as_ref()
            .filter(|id| world.posts.iter().any(|p| &p.id == *id && p.kind == "story"));
        let all = json!({"id": ph.id.to_string(), "name": ph.caption, "alt_text_custom": ph.alt_text, "page_story_id": story, "created_time": crate::graph::graph_time(ph.created_time)});
        return Ok(pick(
            all.as_object().expect("object"),
            &p.fields(&["id", "created_time"]),
        ));
    }
    Err(GraphError::no_object(id, "get"))
}
