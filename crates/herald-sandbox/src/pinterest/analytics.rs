//! `GET /v5/pins/{pin_id}/analytics`: figures the sandbox makes up from the pin's age (the same
//! every time for the same moment), within Pinterest's 90-day window.

use std::collections::BTreeMap;

use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use jiff::tz::Offset;
use serde_json::{Map, Value, json};

use super::api::{PinError, age, need};
use super::world::Token;
use crate::Sandbox;

/// The spec's metric types, each with how many impressions make one (0: a rate, or a figure the
/// sandbox reports as none); any other is refused as Pinterest refuses unknown ones.
const METRICS: &[(&str, u64)] = &[
    ("IMPRESSION", 1),
    ("SAVE", 20),
    ("PIN_CLICK", 10),
    ("OUTBOUND_CLICK", 25),
    ("TOTAL_REACTIONS", 15),
    ("TOTAL_COMMENTS", 40),
    ("SAVE_RATE", 0),
    ("USER_FOLLOW", 200),
    ("PROFILE_VISIT", 100),
    ("VIDEO_MRC_VIEW", 2),
    ("VIDEO_10S_VIEW", 4),
    ("QUARTILE_95_PERCENT_VIEW", 8),
    ("VIDEO_V50_WATCH_TIME", 1),
    ("VIDEO_START", 2),
    ("VIDEO_AVG_WATCH_TIME", 0),
];

fn bad() -> PinError {
    PinError::new(
        axum::http::StatusCode::BAD_REQUEST,
        400,
        "Invalid pins analytics parameters.",
    )
}

pub(crate) fn pin(
    sb: &Sandbox,
    t: &Token,
    id: &str,
    q: &BTreeMap<String, String>,
) -> Result<Response, PinError> {
    need(t, &["boards:read", "pins:read"])?;
    let now = sb.clock().now();
    let today = Offset::UTC.to_datetime(now).date();
    let date = |k: &str| q.get(k).and_then(|d| d.parse::<Date>().ok()).ok_or_else(bad);
    let (start, end) = (date("start_date")?, date("end_date")?);
    let days = |a: Date, b: Date| a.until(b).map(|s| s.get_days()).unwrap_or(i32::MAX);
    if start > end || days(start, today) > 90 || days(start, end) > 90 {
        return Err(bad());
    }
    if q.get("app_types")
        .is_some_and(|a| !["ALL", "MOBILE", "TABLET", "WEB"].contains(&a.as_str()))
    {
        return Err(bad());
    }
    let asked: Vec<&str> = q
        .get("metric_types")
        .ok_or_else(bad)?
        .split(',')
        .map(str::trim)
        .collect();
    if asked.iter().any(|m| !METRICS.iter().any(|(n, _)| n == m)) {
        return Err(bad());
    }
    let world = sb.pinterest();
    let p = world
        .pins
        .iter()
        .find(|p| p.id == id && p.account == t.account)
        .ok_or_else(|| PinError::new(axum::http::StatusCode::NOT_FOUND, 404, "Pin not found."))?;
    let impressions = u64::try_from(age(p, now).as_secs() / 3600).unwrap_or(0) * 7;
    let figure = |name: &str| {
        let per = METRICS
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |(_, per)| *per);
        match per {
            0 => json!(0.05),
            n => json!(impressions / n),
        }
    };
    let summary: Map<String, Value> = asked.iter().map(|m| ((*m).to_owned(), figure(m))).collect();
    let lifetime: Map<String, Value> = asked
        .iter()
        .filter(|m| m.starts_with("TOTAL_"))
        .map(|m| ((*m).to_owned(), figure(m)))
        .collect();
    Ok(axum::Json(json!({"all": {
        "daily_metrics": [{"data_status": "READY", "date": today.to_string(), "metrics": summary}],
        "summary_metrics": summary,
        "lifetime_metrics": lifetime,
    }}))
    .into_response())
}
