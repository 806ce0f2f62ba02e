//! The list methods over channels and videos (`channels.list`, `videos.list`, `playlistItems.list`
//! on a channel's uploads playlist), their resources with only the parts asked for, and list
//! responses paged as Google pages them (`maxResults`, opaque `pageToken`s, `pageInfo`).

use axum::response::Response;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::api::{Refusal, Req, bad, no_filter, ok, refusal, tagged};
use super::world::{Channel, Token, Video, World, google_time};
use crate::Sandbox;

/// The thumbnails YouTube makes of a video (a custom one replaces their images, not their URLs).
pub(super) fn thumbnails(video_id: &str) -> Value {
    let size = |name: &str, width: u32, height: u32| {
        let url = format!("https://i.ytimg.com/vi/{video_id}/{name}.jpg");
        json!({"url": url, "width": width, "height": height})
    };
    json!({"default": size("default", 120, 90), "medium": size("mqdefault", 320, 180),
        "high": size("hqdefault", 480, 360)})
}

/// An opaque page token for the entry at `offset`.
fn page_token(offset: usize) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("CA{offset}"))
}

fn offset_of(token: &str) -> Option<usize> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    String::from_utf8(raw).ok()?.strip_prefix("CA")?.parse().ok()
}

/// One page of `all` as a list response of `kind`: `maxResults` entries (within `min..=max`,
/// `default` when not given) from `pageToken`, each made by `render` from its position and itself.
pub(super) fn paged<T>(
    kind: &str,
    all: &[T],
    req: &Req,
    (min, max, default): (usize, usize, usize),
    render: impl Fn(usize, &T) -> Value,
) -> Result<Value, Refusal> {
    let per_page = match req.param("maxResults") {
        None => default,
        Some(m) => m
            .parse::<usize>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| {
                let message = format!("Invalid value '{m}'. Values must be within the range: [{min}, {max}]");
                bad("invalidParameter", &message)
            })?,
    };
    let offset = match req.param("pageToken") {
        None => 0,
        Some(token) => offset_of(token).filter(|o| *o <= all.len()).ok_or_else(|| {
            let message = "The request specifies an invalid page token.";
            refusal(
                axum::http::StatusCode::BAD_REQUEST,
                "youtube.parameter",
                "invalidPageToken",
                message,
            )
        })?,
    };
    let end = (offset + per_page).min(all.len());
    let items: Vec<Value> = (offset..end).map(|i| render(i, &all[i])).collect();
    let mut v = json!({"kind": kind, "items": items,
        "pageInfo": {"totalResults": all.len(), "resultsPerPage": per_page}});
    if end < all.len() && per_page > 0 {
        v["nextPageToken"] = json!(page_token(end));
    }
    Ok(tagged(v))
}

/// A channel resource with the parts asked for.
fn channel_json(c: &Channel, parts: &[&str], videos: usize) -> Value {
    let mut out = json!({"kind": "youtube#channel", "id": c.id});
    for part in parts {
        let value = match *part {
            "snippet" => {
                let image = |size: u32| {
                    let url = format!(
                        "https://yt3.ggpht.com/sandbox/{}=s{size}-c-k-c0x00ffffff-no-rj",
                        c.id
                    );
                    json!({"url": url, "width": size, "height": size})
                };
                json!({"title": c.title, "description": c.description, "customUrl": c.custom_url,
                    "publishedAt": google_time(c.published_at),
                    "thumbnails": {"default": image(88), "medium": image(240), "high": image(800)},
                    "localized": {"title": c.title, "description": c.description}})
            }
            "contentDetails" => json!({"relatedPlaylists": {"likes": "", "uploads": c.uploads}}),
            "statistics" => json!({"viewCount": (videos * 120).to_string(), "subscriberCount": "1200",
                "hiddenSubscriberCount": false, "videoCount": videos.to_string()}),
            _ => continue,
        };
        out[*part] = value;
    }
    tagged(out)
}

/// `GET /youtube/v3/channels`: the token's channel (`mine=true`), channels by `id`, or by
/// `forHandle`.
pub(super) fn channels(sb: &Sandbox, req: &Req, t: &Token, now: Timestamp) -> Result<Response, Refusal> {
    let mut world = sb.youtube();
    world.settle(now);
    let found: Vec<&Channel> = if req.param("mine") == Some("true") {
        world.channel(&t.channel_id).into_iter().collect()
    } else if let Some(ids) = req.param("id") {
        ids.split(',').filter_map(|id| world.channel(id.trim())).collect()
    } else if let Some(handle) = req.param("forHandle") {
        let handle = handle.trim_start_matches('@');
        let same = |c: &&Channel| c.custom_url.trim_start_matches('@').eq_ignore_ascii_case(handle);
        world.channels.iter().filter(same).collect()
    } else {
        return Err(no_filter("forHandle, id, mine"));
    };
    let parts = req.parts();
    let kind = "youtube#channelListResponse";
    let list = paged(kind, &found, req, (0, 50, 5), |_, c| {
        channel_json(c, &parts, world.processed(&c.id))
    })?;
    Ok(ok(list))
}

/// Whether the token's channel may see the video: its own, or one that is not private.
pub(super) fn visible(v: &Video, t: &Token) -> bool {
    v.channel_id == t.channel_id || v.draft.privacy_status != "private"
}

/// A video resource with the parts asked for.
pub(super) fn video_json(w: &World, v: &Video, parts: &[&str]) -> Value {
    let mut out = json!({"kind": "youtube#video", "id": v.id});
    for part in parts {
        let value = match *part {
            "snippet" => video_snippet(w, v),
            "status" => video_status(v),
            "statistics" => json!({"viewCount": "120", "likeCount": "30", "favoriteCount": "0",
                "commentCount": w.comment_count(&v.id).to_string()}),
            "processingDetails" => match v.upload_status {
                "uploaded" => json!({"processingStatus": "processing"}),
                "failed" => json!({"processingStatus": "failed", "processingFailureReason": "other"}),
                _ => json!({"processingStatus": "succeeded"}),
            },
            _ => continue,
        };
        out[*part] = value;
    }
    tagged(out)
}

fn video_snippet(w: &World, v: &Video) -> Value {
    let d = &v.draft;
    let channel_title = w.channel(&v.channel_id).map_or("", |c| c.title.as_str());
    let mut s = json!({"publishedAt": google_time(v.published_at), "channelId": v.channel_id,
        "title": d.title, "description": d.description, "thumbnails": thumbnails(&v.id),
        "channelTitle": channel_title, "categoryId": d.category_id, "liveBroadcastContent": "none",
        "localized": {"title": d.title, "description": d.description}});
    if !d.tags.is_empty() {
        s["tags"] = json!(d.tags);
    }
    s
}

fn video_status(v: &Video) -> Value {
    let d = &v.draft;
    let mut s = json!({"uploadStatus": v.upload_status, "privacyStatus": d.privacy_status,
        "license": d.license, "embeddable": d.embeddable, "publicStatsViewable": d.public_stats_viewable,
        "madeForKids": d.made_for_kids, "selfDeclaredMadeForKids": d.made_for_kids});
    if let Some(at) = d.publish_at {
        s["publishAt"] = json!(google_time(at));
    }
    if v.upload_status == "failed" {
        s["failureReason"] = json!(v.failure_reason);
    }
    s
}

/// `GET /youtube/v3/videos?id=a,b`: the videos the token's channel may see, in the order asked;
/// unknown ids are left out. (The sandbox has no charts or ratings: those lists are empty.)
pub(super) fn videos(sb: &Sandbox, req: &Req, t: &Token, now: Timestamp) -> Result<Response, Refusal> {
    let kind = "youtube#videoListResponse";
    let Some(ids) = req.param("id") else {
        if req.param("chart").is_some() || req.param("myRating").is_some() {
            return Ok(ok(listed(kind, Vec::new())));
        }
        return Err(no_filter("chart, id, myRating"));
    };
    let mut world = sb.youtube();
    world.settle(now);
    let found: Vec<&Video> = ids
        .split(',')
        .filter_map(|id| world.videos.iter().find(|v| v.id == id.trim()))
        .filter(|v| visible(v, t))
        .collect();
    let parts = req.parts();
    let items = found.iter().map(|v| video_json(&world, v, &parts)).collect();
    Ok(ok(listed(kind, items)))
}

/// A list response of every item at once (`videos.list` by id takes no `maxResults`).
fn listed(kind: &str, items: Vec<Value>) -> Value {
    let n = items.len();
    tagged(json!({"kind": kind, "items": items, "pageInfo": {"totalResults": n, "resultsPerPage": n}}))
}

/// A playlist item of a channel's uploads: the video at `position`, newest first.
fn playlist_item(c: &Channel, v: &Video, position: usize, parts: &[&str]) -> Value {
    use base64::Engine;
    let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}.{}", c.uploads, v.id));
    let mut out = json!({"kind": "youtube#playlistItem", "id": id});
    for part in parts {
        let value = match *part {
            "snippet" => json!({"publishedAt": google_time(v.published_at), "channelId": c.id,
                "title": v.draft.title, "description": v.draft.description, "thumbnails": thumbnails(&v.id),
                "channelTitle": c.title, "playlistId": c.uploads, "position": position,
                "resourceId": {"kind": "youtube#video", "videoId": v.id},
                "videoOwnerChannelTitle": c.title, "videoOwnerChannelId": c.id}),
            "contentDetails" => json!({"videoId": v.id, "videoPublishedAt": google_time(v.published_at)}),
            "status" => json!({"privacyStatus": v.draft.privacy_status}),
            _ => continue,
        };
        out[*part] = value;
    }
    tagged(out)
}

/// `GET /youtube/v3/playlistItems?playlistId=UU…`: a channel's uploads, newest first (its owner
/// sees them all; others the public ones YouTube has processed).
pub(super) fn playlist_items(
    sb: &Sandbox,
    req: &Req,
    t: &Token,
    now: Timestamp,
) -> Result<Response, Refusal> {
    let Some(playlist) = req.param("playlistId") else {
        return Err(no_filter("playlistId"));
    };
    let mut world = sb.youtube();
    world.settle(now);
    let Some(channel) = world.channels.iter().find(|c| c.uploads == playlist) else {
        let message = "The playlist identified with the request's <code>playlistId</code> parameter \
                       cannot be found.";
        let status = axum::http::StatusCode::NOT_FOUND;
        return Err(refusal(
            status,
            "youtube.playlistItem",
            "playlistNotFound",
            message,
        ));
    };
    let uploads: Vec<&Video> = world
        .videos
        .iter()
        .rev()
        // The owner sees every upload, still processing or failed too [3p].
        .filter(|v| v.channel_id == channel.id)
        .filter(|v| {
            v.channel_id == t.channel_id
                || (v.draft.privacy_status == "public" && v.upload_status == "processed")
        })
        .collect();
    let parts = req.parts();
    let kind = "youtube#playlistItemListResponse";
    let list = paged(kind, &uploads, req, (0, 50, 5), |i, v| {
        playlist_item(channel, v, i, &parts)
    })?;
    Ok(ok(list))
}
