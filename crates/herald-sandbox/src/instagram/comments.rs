//! Comments on Instagram media: listing (top-level, with replies) and replying as the account.
//! Only top-level comments take replies (a reply to a reply joins its top-level comment); hidden
//! comments take none (IG Comment replies reference).

use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::api::authorize;
use super::world::Comment;
use crate::Sandbox;
use crate::graph::graph_time;
use crate::graph::{GraphError, Params};

const COMMENTS: &str = "instagram_business_manage_comments";

fn comment_json(c: &Comment) -> Value {
    json!({"id": c.id.to_string(), "text": c.text, "timestamp": graph_time(c.timestamp), "username": c.username,
           "from": {"id": c.from_id.to_string(), "username": c.username}, "hidden": c.hidden, "like_count": 0,
           "parent_id": c.parent_id.map(|p| p.to_string()), "media": {"id": c.media_id.to_string()}})
}

/// `GET /{ig-media-id}/comments`: top-level comments, newest first, each with its replies.
pub(crate) fn list(sb: &Sandbox, p: &Params, media_id: &str) -> Result<Response, GraphError> {
    let t = authorize(sb, p, COMMENTS)?;
    let w = sb.instagram();
    let id: u64 = media_id
        .parse()
        .map_err(|_| GraphError::no_object(media_id, "get"))?;
    if !w.media.iter().any(|m| m.id == id && m.owner == t.user_id) {
        return Err(GraphError::no_object(media_id, "get"));
    }
    let data: Vec<Value> = w
        .comments
        .iter()
        .rev()
        .filter(|c| c.media_id == id && c.parent_id.is_none())
        .map(|c| {
            let mut v = comment_json(c);
            let replies: Vec<Value> = w
                .comments
                .iter()
                .filter(|r| r.parent_id == Some(c.id))
                .map(comment_json)
                .collect();
            v["replies"] = json!({ "data": replies });
            v
        })
        .collect();
    Ok(axum::Json(json!({ "data": data })).into_response())
}

/// `POST /{ig-comment-id}/replies?message=`: a reply written by the account that owns the media.
pub(crate) fn reply(sb: &Sandbox, p: &Params, comment_id: &str) -> Result<Response, GraphError> {
    let t = authorize(sb, p, COMMENTS)?;
    let message = p.require("message")?.to_owned();
    let now = sb.clock().now();
    let mut w = sb.instagram();
    let id: u64 = comment_id
        .parse()
        .map_err(|_| GraphError::no_object(comment_id, "post"))?;
    let target = w
        .comments
        .iter()
        .find(|c| c.id == id)
        .cloned()
        .ok_or_else(|| GraphError::no_object(comment_id, "post"))?;
    if !w
        .media
        .iter()
        .any(|m| m.id == target.media_id && m.owner == t.user_id)
    {
        return Err(GraphError::no_object(comment_id, "post"));
    }
    if target.hidden {
        return Err(GraphError::param("(#100) Cannot reply to a hidden comment"));
    }
    let username = w
        .account(t.user_id)
        .map(|a| a.username.clone())
        .unwrap_or_default();
    let reply_id = w.next_id();
    w.comments.push(Comment {
        id: reply_id,
        media_id: target.media_id,
        parent_id: Some(target.parent_id.unwrap_or(target.id)),
        from_id: t.user_id,
        username,
        text: message,
        timestamp: now,
        hidden: false,
    });
    Ok(axum::Json(json!({"id": reply_id.to_string()})).into_response())
}
