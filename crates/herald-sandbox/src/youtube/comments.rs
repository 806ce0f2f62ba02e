//! Comments: `commentThreads.list` (the threads on a video, or on every video of a channel, newest
//! first, with some of their replies when `part` asks), `comments.list` (every reply to a comment)
//! and `comments.insert` (a reply, as the token's channel; replies are one level deep), in
//! YouTube's comment and commentThread resources.

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::api::{Refusal, Req, bad, json_body, no_filter, ok, refusal, tagged};
use super::lists::{paged, visible};
use super::world::{Comment, Token, World, google_time};
use crate::Sandbox;

/// The longest comment YouTube takes, in characters [official].
const MAX_TEXT: usize = 10_000;
/// The replies a thread carries: a thread "may not contain all replies"; `comments.list` has
/// them all [official: the commentThreads resource].
const THREAD_REPLIES: usize = 5;

/// A comment resource; `html` writes `textDisplay` as HTML (the default `textFormat`).
fn comment_json(w: &World, c: &Comment, html: bool) -> Value {
    let channel = w
        .videos
        .iter()
        .find(|v| v.id == c.video_id)
        .map(|v| v.channel_id.as_str());
    let display = match html {
        true => crate::html::escape(&c.text).replace('\n', "<br>"),
        false => c.text.clone(),
    };
    let author = &c.author_channel_id;
    let mut snippet = json!({"channelId": channel, "videoId": c.video_id, "textDisplay": display,
        "textOriginal": c.text, "authorDisplayName": c.author,
        "authorProfileImageUrl": format!("https://yt3.ggpht.com/sandbox/{author}=s48-c-k-c0x00ffffff-no-rj"),
        "authorChannelUrl": format!("http://www.youtube.com/channel/{author}"),
        "authorChannelId": {"value": author}, "canRate": true, "viewerRating": "none", "likeCount": 0,
        "publishedAt": google_time(c.published_at), "updatedAt": google_time(c.published_at)});
    if let Some(parent) = &c.parent_id {
        snippet["parentId"] = json!(parent);
    }
    tagged(json!({"kind": "youtube#comment", "id": c.id, "snippet": snippet}))
}

/// A thread: its top-level comment and, when `part` asks, its replies (oldest first).
fn thread_json(w: &World, top: &Comment, parts: &[&str], html: bool) -> Value {
    let replies: Vec<&Comment> = w
        .comments
        .iter()
        .filter(|c| c.parent_id.as_deref() == Some(top.id.as_str()))
        .collect();
    let mut out = json!({"kind": "youtube#commentThread", "id": top.id});
    if parts.contains(&"snippet") {
        let channel = w
            .videos
            .iter()
            .find(|v| v.id == top.video_id)
            .map(|v| v.channel_id.as_str());
        out["snippet"] = json!({"channelId": channel, "videoId": top.video_id,
            "topLevelComment": comment_json(w, top, html), "canReply": true,
            "totalReplyCount": replies.len(), "isPublic": true});
    }
    if parts.contains(&"replies") && !replies.is_empty() {
        let comments: Vec<Value> = replies
            .iter()
            .take(THREAD_REPLIES)
            .map(|r| comment_json(w, r, html))
            .collect();
        out["replies"] = json!({ "comments": comments });
    }
    tagged(out)
}

/// `GET /youtube/v3/commentThreads?videoId=` (or `allThreadsRelatedToChannelId=`): the threads,
/// newest first, 20 a page (at most 100).
pub(super) fn threads(sb: &Sandbox, req: &Req, t: &Token, now: Timestamp) -> Result<Response, Refusal> {
    let invalid = |name: &str, value: &str| {
        bad(
            "invalidParameter",
            &format!("Invalid value '{value}' for parameter {name}"),
        )
    };
    match req.param("order").unwrap_or("time") {
        "time" | "relevance" => {}
        other => return Err(invalid("order", other)),
    }
    let html = match req.param("textFormat").unwrap_or("html") {
        "html" => true,
        "plainText" => false,
        other => return Err(invalid("textFormat", other)),
    };
    let mut world = sb.youtube();
    world.settle(now);
    let on: Vec<String> = if let Some(video) = req.param("videoId") {
        let Some(v) = world.videos.iter().find(|v| v.id == video && visible(v, t)) else {
            let message = "The video identified by the <code><a \
                           href=\"/youtube/v3/docs/commentThreads/list#videoId\">videoId</a></code> \
                           parameter could not be found.";
            return Err(refusal(
                StatusCode::NOT_FOUND,
                "youtube.commentThread",
                "videoNotFound",
                message,
            ));
        };
        vec![v.id.clone()]
    } else if let Some(channel) = req.param("allThreadsRelatedToChannelId") {
        let on_channel = world
            .videos
            .iter()
            .filter(|v| v.channel_id == channel && visible(v, t));
        on_channel.map(|v| v.id.clone()).collect()
    } else {
        return Err(no_filter("allThreadsRelatedToChannelId, videoId"));
    };
    let tops: Vec<&Comment> = world
        .comments
        .iter()
        .rev()
        .filter(|c| c.parent_id.is_none() && on.contains(&c.video_id))
        .collect();
    let parts = req.parts();
    let kind = "youtube#commentThreadListResponse";
    let list = paged(kind, &tops, req, (1, 100, 20), |_, c| {
        thread_json(&world, c, &parts, html)
    })?;
    Ok(ok(list))
}

/// `GET /youtube/v3/comments?parentId=`: every reply to a top-level comment, oldest first, 20 a
/// page (at most 100).
pub(super) fn replies(sb: &Sandbox, req: &Req, now: Timestamp) -> Result<Response, Refusal> {
    let html = match req.param("textFormat").unwrap_or("html") {
        "html" => true,
        "plainText" => false,
        other => {
            return Err(bad(
                "invalidParameter",
                &format!("Invalid value '{other}' for parameter textFormat"),
            ));
        }
    };
    let Some(parent) = req.param("parentId") else {
        return Err(no_filter("id, parentId"));
    };
    let mut world = sb.youtube();
    world.settle(now);
    let all: Vec<&Comment> = world
        .comments
        .iter()
        .filter(|c| c.parent_id.as_deref() == Some(parent))
        .collect();
    let list = paged("youtube#commentListResponse", &all, req, (1, 100, 20), |_, c| {
        comment_json(&world, c, html)
    })?;
    Ok(ok(list))
}

/// `POST /youtube/v3/comments?part=snippet` with `{"snippet":{"parentId","textOriginal"}}`: a reply
/// to a top-level comment, as the token's channel.
pub(super) fn insert(sb: &Sandbox, t: &Token, body: &Bytes, now: Timestamp) -> Result<Response, Refusal> {
    let v = json_body(body)?;
    let snippet = &v["snippet"];
    let comment_error =
        |status: StatusCode, reason: &str, message: &str| refusal(status, "youtube.comment", reason, message);
    let Some(parent) = snippet["parentId"].as_str().filter(|p| !p.is_empty()) else {
        let message = "The request metadata is invalid: snippet.parentId is required (a top-level comment \
                       is a commentThreads.insert).";
        return Err(comment_error(
            StatusCode::BAD_REQUEST,
            "invalidCommentMetadata",
            message,
        ));
    };
    let text = snippet["textOriginal"].as_str().unwrap_or_default();
    if text.trim().is_empty() {
        let message = "The comment resource that is being inserted must specify a value for the \
                       snippet.textOriginal property.";
        return Err(comment_error(
            StatusCode::BAD_REQUEST,
            "commentTextRequired",
            message,
        ));
    }
    if text.chars().count() > MAX_TEXT {
        let message = "The comment resource that is being inserted contains too many characters in the \
                       snippet.textOriginal property.";
        return Err(comment_error(
            StatusCode::BAD_REQUEST,
            "commentTextTooLong",
            message,
        ));
    }
    let mut world = sb.youtube();
    let Some(video_id) = world
        .comments
        .iter()
        .find(|c| c.id == parent && c.parent_id.is_none())
        .map(|c| c.video_id.clone())
    else {
        let message = "The specified parent comment could not be found.";
        return Err(comment_error(StatusCode::NOT_FOUND, "commentNotFound", message));
    };
    let author = world
        .channel(&t.channel_id)
        .map(|c| c.title.clone())
        .unwrap_or_default();
    let c = world.add_comment(
        &video_id,
        Some(parent),
        (author.as_str(), t.channel_id.as_str()),
        text,
        now,
    );
    Ok(ok(comment_json(&world, &c, true)))
}
