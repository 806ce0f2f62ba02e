//! Page post comments (listing with replies, replying as the Page) and post insights that grow with
//! sandbox time under the current metric names; the metrics Meta removed are refused.

use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde_json::{Value, json};

use super::world::{Comment, Post, Token, TokenKind, World};
use crate::graph::{GraphError, Params, graph_time};

/// Current Page post metrics (Pages API insights, 2026), with their titles.
const METRICS: &[(&str, &str)] = &[
    ("post_media_view", "Views"),
    ("post_total_media_view_unique", "Viewers"),
    ("post_reactions_by_type_total", "Reactions by type"),
    ("post_clicks", "Clicks"),
];

/// Replaced by the views metrics (2025-06-15 and 2025-11-15): asking for them is an error.
const REMOVED: &[&str] = &[
    "post_impressions",
    "post_impressions_unique",
    "post_impressions_paid",
    "post_impressions_organic",
    "post_engaged_users",
];

/// A metric's value at `now`: grows with whole hours since the post, differently per post.
fn value(post: &Post, metric: &str, now: Timestamp) -> Value {
    let hours = u64::try_from(now.duration_since(post.created_time).as_hours().max(0)).unwrap_or(0);
    let seed = post.id.bytes().map(u64::from).sum::<u64>() % 13;
    let views = hours * 30 + seed;
    match metric {
        "post_media_view" => json!(views),
        "post_total_media_view_unique" => json!(views * 3 / 5),
        "post_reactions_by_type_total" => json!({"like": hours * 2 + seed % 4, "love": hours / 4}),
        "post_clicks" => json!(hours),
        _ => json!(0),
    }
}

/// Shares of a post at `now` (a post field, not an insight).
pub(crate) fn shares(post: &Post, now: Timestamp) -> u64 {
    u64::try_from(now.duration_since(post.created_time).as_hours().max(0)).unwrap_or(0) / 3
}

/// Every current metric of `post` at `now`, by name, with its shares and comment count.
pub(crate) fn insights_now(w: &World, post: &Post, now: Timestamp) -> Value {
    let mut out: serde_json::Map<String, Value> = METRICS
        .iter()
        .map(|(name, _)| ((*name).to_owned(), value(post, name, now)))
        .collect();
    out.insert("shares".into(), json!(shares(post, now)));
    out.insert(
        "comments".into(),
        json!(w.comments.iter().filter(|c| c.post_id == post.id).count()),
    );
    out.into()
}

fn page_of(t: &Token) -> Option<u64> {
    match t.kind {
        TokenKind::Page(id) => Some(id),
        _ => None,
    }
}

/// The post a Page token may read, with the permission the call needs.
fn post<'w>(
    w: &'w World,
    t: &Token,
    scopes: &[String],
    need: &str,
    id: &str,
) -> Result<&'w Post, GraphError> {
    let post = w
        .posts
        .iter()
        .find(|p| p.id == id && Some(p.page_id) == page_of(t))
        .ok_or_else(|| GraphError::no_object(id, "get"))?;
    if !scopes.iter().any(|s| s == need) {
        return Err(GraphError::permission(need));
    }
    Ok(post)
}

/// `GET /{post-id}/insights?metric=…`.
pub(crate) fn insights(
    w: &World,
    t: &Token,
    scopes: &[String],
    p: &Params,
    id: &str,
    now: Timestamp,
) -> Result<Response, GraphError> {
    let post = post(w, t, scopes, "read_insights", id)?;
    let listed = p.list("metric")?;
    let asked: Vec<&str> = listed.iter().map(String::as_str).collect();
    if let Some(bad) = asked
        .iter()
        .find(|m| REMOVED.contains(m) || !METRICS.iter().any(|(n, _)| n == *m))
    {
        return Err(
            GraphError::param(format!("(#100) The value must be a valid insights metric: {bad}"))
                .kind("OAuthException"),
        );
    }
    let data: Vec<Value> = asked
        .iter()
        .map(|m| {
            let title = METRICS.iter().find(|(n, _)| n == m).map_or("", |(_, t)| t);
            json!({"name": m, "period": "lifetime", "values": [{"value": value(post, m, now)}], "title": title,
                   "description": format!("Lifetime: {title}"), "id": format!("{}/insights/{m}/lifetime", post.id)})
        })
        .collect();
    Ok(axum::Json(json!({ "data": data })).into_response())
}

pub(crate) fn comment_json(w: &World, c: &Comment) -> Value {
    let from = match c.from_page {
        Some(page) => json!({"id": page.to_string(), "name": w.page(page).map(|p| p.name.clone())}),
        None => json!({"id": c.from_id, "name": c.from_name}),
    };
    json!({"id": c.id, "message": c.message, "from": from, "created_time": graph_time(c.created_time),
           "is_hidden": c.hidden, "parent": c.parent.as_ref().map(|p| json!({"id": p})),
           "comment_count": w.comments.iter().filter(|r| r.parent.as_ref() == Some(&c.id)).count()})
}

/// `GET /{post-id}/comments`: top-level comments (`filter=toplevel`, the default) or all of them
/// (`filter=stream`); a `comments` field expansion lists each one's replies.
pub(crate) fn list(
    w: &World,
    t: &Token,
    scopes: &[String],
    p: &Params,
    id: &str,
) -> Result<Response, GraphError> {
    let post = post(w, t, scopes, "pages_read_user_content", id)?;
    let stream = p.get("filter") == Some("stream");
    let with_replies = p.fields(&[]).contains(&"comments");
    let mut data: Vec<Value> = w
        .comments
        .iter()
        .filter(|c| c.post_id == post.id && (stream || c.parent.is_none()))
        .map(|c| {
            let mut v = comment_json(w, c);
            if with_replies {
                let replies: Vec<Value> = w
                    .comments
                    .iter()
                    .filter(|r| r.parent.as_ref() == Some(&c.id))
                    .map(|r| comment_json(w, r))
                    .collect();
                v["comments"] = json!({ "data": replies });
            }
            v
        })
        .collect();
    if p.get("order") == Some("reverse_chronological") {
        data.reverse();
    }
    Ok(axum::Json(json!({ "data": data })).into_response())
}

/// `POST /{comment-id}/comments`: the Page replies to a top-level comment on its post.
pub(crate) fn reply(
    w: &mut World,
    t: &Token,
    scopes: &[String],
    p: &Params,
    id: &str,
    now: Timestamp,
) -> Result<Response, GraphError> {
    let message = p.require("message")?.to_owned();
    let target = w
        .comments
        .iter()
        .find(|c| c.id == id)
        .cloned()
        .ok_or_else(|| GraphError::no_object(id, "post"))?;
    let page = page_of(t).filter(|page| {
        w.posts
            .iter()
            .any(|p| p.id == target.post_id && p.page_id == *page)
    });
    let Some(page) = page else {
        return Err(GraphError::no_object(id, "post"));
    };
    if !scopes.iter().any(|s| s == "pages_manage_engagement") {
        return Err(GraphError::permission("pages_manage_engagement"));
    }
    if target.parent.is_some() {
        return Err(
            GraphError::param("(#100) Replies can only be made to top-level comments").kind("OAuthException"),
        );
    }
    let n = w.next_id();
    let reply_id = format!("{}_{n}", target.post_id.split('_').nth(1).unwrap_or_default());
    w.comments.push(Comment {
        id: reply_id.clone(),
        post_id: target.post_id,
        parent: Some(target.id),
        from_page: Some(page),
        from_id: page.to_string(),
        from_name: w.page(page).map(|p| p.name.clone()).unwrap_or_default(),
        message,
        created_time: now,
        hidden: false,
    });
    Ok(axum::Json(json!({ "id": reply_id })).into_response())
}
