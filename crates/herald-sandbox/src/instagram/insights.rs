//! `GET /{ig-media-id}/insights`: media metrics that grow with (sandbox) time since publishing, under
//! the current metric names; the metrics Meta removed in 2025 are refused.

use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde_json::{Value, json};

use super::world::Media;
use crate::Sandbox;
use crate::graph::{GraphError, Params};

const INSIGHTS: &str = "instagram_business_manage_insights";

/// The current media metrics (IG Media Insights, 2026) and their titles.
const METRICS: &[(&str, &str)] = &[
    ("views", "Views"),
    ("reach", "Accounts reached"),
    ("likes", "Likes"),
    ("comments", "Comments"),
    ("shares", "Shares"),
    ("saved", "Saved"),
    ("total_interactions", "Interactions"),
];

/// Removed on 2025-04-21 (or deprecated): asking for them is an error.
const REMOVED: &[&str] = &[
    "impressions",
    "plays",
    "clips_replays_count",
    "ig_reels_aggregated_all_plays_count",
    "video_views",
];

/// A metric's value: grows with whole hours since publishing, differently per media.
fn value(m: &Media, comments: u64, metric: &str, now: Timestamp) -> u64 {
    let hours = u64::try_from(now.duration_since(m.timestamp).as_hours().max(0)).unwrap_or(0);
    let seed = m.id % 17;
    let views = hours * 40 + seed;
    let likes = hours * 3 + seed % 5;
    let shares = hours / 2;
    let saved = hours / 3;
    match metric {
        "views" => views,
        "reach" => views * 3 / 5,
        "likes" => likes,
        "comments" => comments,
        "shares" => shares,
        "saved" => saved,
        "total_interactions" => likes + comments + shares + saved,
        _ => 0,
    }
}

/// Every current metric of `m` at `now`, by name.
pub(crate) fn insights_now(m: &Media, comments: u64, now: Timestamp) -> Value {
    METRICS
        .iter()
        .map(|(name, _)| ((*name).to_owned(), json!(value(m, comments, name, now))))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

pub(crate) fn insights(sb: &Sandbox, p: &Params, media_id: &str) -> Result<Response, GraphError> {
    let t = super::api::authorize(sb, p, INSIGHTS)?;
    let listed = p.list("metric")?;
    let wanted: Vec<&str> = listed.iter().map(String::as_str).collect();
    if let Some(bad) = wanted.iter().find(|w| !METRICS.iter().any(|(n, _)| n == *w)) {
        let valid: Vec<&str> = METRICS.iter().map(|(n, _)| *n).collect();
        let why = if REMOVED.contains(bad) {
            " (this metric is no longer supported)"
        } else {
            ""
        };
        return Err(GraphError::param(format!(
            "(#100) metric[0] must be one of the following values: {}{why}",
            valid.join(", ")
        )));
    }
    let now = sb.clock().now();
    let w = sb.instagram();
    let id: u64 = media_id
        .parse()
        .map_err(|_| GraphError::no_object(media_id, "get"))?;
    let m = w
        .media
        .iter()
        .find(|m| m.id == id && m.owner == t.user_id)
        .ok_or_else(|| GraphError::no_object(media_id, "get"))?;
    let comments = w
        .comments
        .iter()
        .filter(|c| c.media_id == id && !c.hidden)
        .count() as u64;
    let data: Vec<Value> = wanted
        .iter()
        .map(|name| {
            let title = METRICS.iter().find(|(n, _)| n == name).map_or("", |(_, t)| t);
            json!({
                "name": name, "period": "lifetime", "values": [{"value": value(m, comments, name, now)}],
                "title": title, "description": format!("The number of {}", title.to_lowercase()),
                "id": format!("{id}/insights/{name}/lifetime"),
            })
        })
        .collect();
    Ok(axum::Json(json!({ "data": data })).into_response())
}
