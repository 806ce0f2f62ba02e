//! `GET /v1/public_profiles/{id}/stats` [official S5: the parameters]: `assetType` (`PROFILE` by
//! default; another type gives every asset of that type, which is also how a client finds what it
//! posted), `fields` (comma-separated; all by default; a field the type lacks is refused),
//! `granularity` (`DAY`, `TOTAL`, or `LIFETIME` by default), `startTime` and `endTime` (UTC
//! midnights within the past 90 days, required unless `LIFETIME`), and `breakdownDimensions`
//! (taken, not broken down). Per asset: `.../{stories|saved_stories|spotlights}/{id}/stats` [3p:
//! C4, C8; unconfirmed]. Figures grow with the asset's time live, the same for the same moment;
//! the answer is `timeseries_stats` (DAY) or `total_stats` [assumption: the Ads API's stats shape;
//! the metric names 3p, which type has which an assumption].

use std::collections::BTreeMap;

use axum::response::Response;
use jiff::civil::{DateTime, Time};
use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};
use sha2::Digest;

use super::api::{Refusal, invalid, item, managed, not_found, ok, time};
use super::world::{Token, World};
use crate::Sandbox;

/// How a metric adds up over a span: a count, a level at its end, or an average.
#[derive(Debug, Clone, Copy)]
enum How {
    Sum,
    Level,
    Average,
}

/// A metric: its name, its figure per day (an average's value), and how it adds up.
type Metric = (&'static str, u64, How);

const PROFILE: &[Metric] = &[
    ("SUBSCRIBERS", 48, How::Level),
    ("SUBSCRIBERS_GAINED", 48, How::Sum),
    ("VIEWS", 2880, How::Sum),
    ("VIEWERS", 2000, How::Sum),
    ("STORY_VIEWS", 960, How::Sum),
    ("STORY_FAVORITES", 20, How::Sum),
    ("SPOTLIGHT_VIEWS", 1200, How::Sum),
    ("INTERACTIONS", 150, How::Sum),
];
const STORY: &[Metric] = &[
    ("VIEWS", 960, How::Sum),
    ("VIEWERS", 720, How::Sum),
    ("SCREENSHOTS", 12, How::Sum),
    ("SHARES", 24, How::Sum),
    ("REPLIES", 8, How::Sum),
    ("SWIPE_UPS", 30, How::Sum),
    ("INTERACTIONS", 74, How::Sum),
    ("AVG_VIEW_TIME_MILLIS", 3400, How::Average),
];
const SPOTLIGHT: &[Metric] = &[
    ("VIEWS", 2400, How::Sum),
    ("VIEWERS", 1900, How::Sum),
    ("SHARES", 40, How::Sum),
    ("FAVORITES", 30, How::Sum),
    ("REPLIES", 10, How::Sum),
    ("INTERACTIONS", 80, How::Sum),
    ("AVG_VIEW_TIME_MILLIS", 5100, How::Average),
];
const LENS: &[Metric] = &[("VIEWS", 500, How::Sum), ("SHARES", 10, How::Sum)];

fn metrics(asset_type: &str) -> Option<&'static [Metric]> {
    match asset_type {
        "PROFILE" => Some(PROFILE),
        "STORY" | "SAVED_STORY" => Some(STORY),
        "SPOTLIGHT" => Some(SPOTLIGHT),
        "LENS" => Some(LENS),
        _ => None,
    }
}

/// One asset: its id, when it starts and stops gathering figures, and a level's starting point.
struct Asset {
    id: String,
    from: Timestamp,
    until: Option<Timestamp>,
    base: u64,
}

impl Asset {
    /// Whole hours live within [a, b).
    fn hours(&self, a: Timestamp, b: Timestamp) -> u64 {
        let start = a.max(self.from);
        let end = self.until.map_or(b, |u| b.min(u));
        u64::try_from(end.duration_since(start).as_hours()).unwrap_or(0)
    }

    /// The metric's figure over [a, b).
    fn figure(&self, (_, per_day, how): Metric, a: Timestamp, b: Timestamp) -> u64 {
        let seed = u64::from(sha2::Sha256::digest(self.id.as_bytes())[0] % 17);
        let rate = per_day + per_day * seed / 20;
        match how {
            How::Sum => self.hours(a, b) * rate / 24,
            How::Level => self.base + self.hours(self.from, b) * rate / 24,
            How::Average => rate,
        }
    }
}

/// The profile's assets of a type.
fn assets(world: &World, profile_id: &str, asset_type: &str) -> Vec<Asset> {
    let asset = |id: &str, from, until| Asset {
        id: id.to_owned(),
        from,
        until,
        base: 0,
    };
    match asset_type {
        "PROFILE" => world
            .profile(profile_id)
            .map(|p| Asset {
                base: p.subscriber_count,
                ..asset(&p.id, p.created_at, None)
            })
            .into_iter()
            .collect(),
        "STORY" => world
            .stories
            .iter()
            .filter(|s| s.profile_id == profile_id)
            .map(|s| asset(&s.id, s.created_at, Some(s.expires_at)))
            .collect(),
        "SAVED_STORY" => world
            .saved_stories
            .iter()
            .filter(|s| s.profile_id == profile_id)
            .map(|s| asset(&s.id, s.created_at, None))
            .collect(),
        // A Spotlight gathers views once live; a rejected one never does.
        "SPOTLIGHT" => world
            .spotlights
            .iter()
            .filter(|s| s.profile_id == profile_id)
            .map(|s| asset(&s.id, s.review_until, s.rejected.then_some(s.review_until)))
            .collect(),
        _ => Vec::new(),
    }
}

/// `startTime` and `endTime`: UTC midnights, the end after the start, within the past 90 days.
fn span(query: &BTreeMap<String, String>, now: Timestamp) -> Result<(Timestamp, Timestamp), Refusal> {
    let at = |k: &str| -> Result<Timestamp, Refusal> {
        let raw = query
            .get(k)
            .ok_or_else(|| invalid(&format!("{k} is required unless granularity is LIFETIME")))?;
        let bad = || invalid(&format!("{k} must be a UTC time such as 2026-11-01T00:00:00"));
        let dt = raw
            .parse::<Timestamp>()
            .map(|t| Offset::UTC.to_datetime(t))
            .or_else(|_| raw.parse::<DateTime>())
            .map_err(|_| bad())?;
        if dt.time() != Time::midnight() {
            return Err(invalid(&format!("{k} must be at midnight (UTC)")));
        }
        Offset::UTC.to_timestamp(dt).map_err(|_| bad())
    };
    let (start, end) = (at("startTime")?, at("endTime")?);
    let secs = now.as_second();
    let today = Timestamp::from_second(secs - secs.rem_euclid(86_400)).unwrap_or(now);
    if end <= start {
        return Err(invalid("endTime must be after startTime"));
    }
    if start < today - SignedDuration::from_hours(90 * 24) {
        return Err(invalid("startTime must be within the past 90 days"));
    }
    if end > today + SignedDuration::from_hours(24) {
        return Err(invalid("endTime must not be in the future"));
    }
    Ok((start, end))
}

/// The asset type a per-asset path names.
fn type_of(kind: &str) -> &'static str {
    match kind {
        "stories" => "STORY",
        "saved_stories" => "SAVED_STORY",
        _ => "SPOTLIGHT",
    }
}

/// `GET .../stats`, for the profile's assets of a type, or for one asset (`kind`, `id`).
pub(super) fn stats(
    sb: &Sandbox,
    t: &Token,
    profile_id: &str,
    one: Option<(&str, &str)>,
    query: &BTreeMap<String, String>,
    now: Timestamp,
) -> Result<Response, Refusal> {
    let given = query.get("assetType").map(String::as_str);
    let asset_type = match (one, given) {
        (Some((kind, _)), Some(g)) if g != type_of(kind) => {
            return Err(invalid("assetType does not match the asset in the path"));
        }
        (Some((kind, _)), _) => type_of(kind),
        (None, Some(g)) => g,
        (None, None) => "PROFILE",
    };
    let table = metrics(asset_type)
        .ok_or_else(|| invalid("assetType must be PROFILE, STORY, SAVED_STORY, LENS or SPOTLIGHT"))?;
    let asked: Vec<&str> = query
        .get("fields")
        .map(|f| f.split(',').map(str::trim).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    let fields: Vec<Metric> = match asked.is_empty() {
        true => table.to_vec(),
        false => asked
            .iter()
            .map(|name| {
                table
                    .iter()
                    .copied()
                    .find(|(n, _, _)| n == name)
                    .ok_or_else(|| invalid(&format!("{name} is not a field of assetType {asset_type}")))
            })
            .collect::<Result<_, _>>()?,
    };
    let granularity = query.get("granularity").map_or("LIFETIME", String::as_str);
    let range = match granularity {
        "LIFETIME" => None,
        "DAY" | "TOTAL" => Some(span(query, now)?),
        _ => return Err(invalid("granularity must be DAY, TOTAL or LIFETIME")),
    };
    let world = sb.snapchat();
    managed(&world, t, profile_id)?;
    let mut assets = assets(&world, profile_id, asset_type);
    if let Some((_, id)) = one {
        assets.retain(|a| a.id == id);
        if assets.is_empty() {
            return Err(not_found("No such asset of this Public Profile"));
        }
    }
    drop(world);
    let figures = |a: &Asset, from: Timestamp, to: Timestamp| -> Value {
        let stats: Map<String, Value> = fields
            .iter()
            .map(|m| (m.0.to_owned(), json!(a.figure(*m, from, to))))
            .collect();
        Value::Object(stats)
    };
    let entity = |a: &Asset| json!({"id": a.id, "type": asset_type, "granularity": granularity});
    let items: Vec<Value> = assets
        .iter()
        .map(|a| match range {
            Some((start, end)) if granularity == "DAY" => {
                let mut v = entity(a);
                let (mut day, mut series) = (start, Vec::new());
                while day < end {
                    let next = day + SignedDuration::from_hours(24);
                    series.push(json!({"start_time": time(day), "end_time": time(next),
                        "stats": figures(a, day, next)}));
                    day = next;
                }
                v["start_time"] = json!(time(start));
                v["end_time"] = json!(time(end));
                v["timeseries"] = json!(series);
                item("timeseries_stat", v)
            }
            Some((start, end)) => {
                let mut v = entity(a);
                v["start_time"] = json!(time(start));
                v["end_time"] = json!(time(end));
                v["stats"] = figures(a, start, end);
                item("total_stat", v)
            }
            None => {
                let mut v = entity(a);
                v["stats"] = figures(a, a.from, now);
                item("total_stat", v)
            }
        })
        .collect();
    let key = if granularity == "DAY" {
        "timeseries_stats"
    } else {
        "total_stats"
    };
    Ok(ok(json!({ key: items })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn figures_grow_with_time_live_and_stop_when_an_asset_ends() {
        let a = Asset {
            id: "x".into(),
            from: at("2026-11-01T00:00:00Z"),
            until: Some(at("2026-11-02T00:00:00Z")),
            base: 0,
        };
        let views = STORY[0];
        let day = a.figure(views, at("2026-11-01T00:00:00Z"), at("2026-11-02T00:00:00Z"));
        assert!(day >= 960);
        assert_eq!(
            a.figure(views, at("2026-11-02T00:00:00Z"), at("2026-11-05T00:00:00Z")),
            0
        );
        assert_eq!(
            a.figure(views, at("2026-10-01T00:00:00Z"), at("2026-11-09T00:00:00Z")),
            day
        );
    }

    #[test]
    fn the_span_is_midnights_within_ninety_days() {
        let now = at("2026-11-20T15:00:00Z");
        let q = |s: &str, e: &str| {
            BTreeMap::from([
                ("startTime".to_owned(), s.to_owned()),
                ("endTime".to_owned(), e.to_owned()),
            ])
        };
        assert!(span(&q("2026-11-01T00:00:00", "2026-11-08T00:00:00"), now).is_ok());
        assert!(span(&q("2026-11-01T00:00:00Z", "2026-11-21T00:00:00Z"), now).is_ok());
        assert!(span(&q("2026-11-01T01:00:00", "2026-11-08T00:00:00"), now).is_err());
        assert!(span(&q("2026-11-08T00:00:00", "2026-11-01T00:00:00"), now).is_err());
        assert!(span(&q("2026-07-01T00:00:00", "2026-07-08T00:00:00"), now).is_err());
        assert!(span(&q("2026-11-01T00:00:00", "2026-11-23T00:00:00"), now).is_err());
    }
}
