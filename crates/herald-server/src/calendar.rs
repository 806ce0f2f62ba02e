//! The calendar (`/calendar`: a month or a week in a named zone, reading only the range it shows),
//! the list of posts (`/posts`: filters by status, profile and dates, paged), and rescheduling a post
//! from either (a chip dragged to another day, or the post page's form: the fenced `posts::edit`).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{MethodRouter, get, post};
use herald_domain::ProfileId;
use herald_domain::clock::from_micros;
use herald_domain::delivery::DeliveryStatus;
use herald_store::{PostFilter, ProfileRow};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, ZonedDateTime};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::json::FormFields;
use crate::web::{Me, error_page, excerpt, render, see_other, signed_in};

/// The most posts one calendar page reads; a busier range says that some are left out.
const CALENDAR_MAX: i64 = 2000;
/// Posts per page of the list.
const PAGE: i64 = 50;
/// Chips a cell shows (a month's day, a week's hour); the rest are a link to that day in the list.
const CHIPS_PER_DAY: usize = 6;

/// A post as a calendar chip: its time of day, platforms and their statuses, the start of its text.
struct Chip {
    id: String,
    time: String,
    targets: String,
    text: String,
    movable: bool,
}

struct Day {
    date: String,
    /// In the week view, the hour this cell is (`09`); empty in the month view.
    hour: String,
    label: String,
    in_range: bool,
    today: bool,
    chips: Vec<Chip>,
    /// Posts of the day beyond the chips shown.
    more: usize,
}

#[derive(Template)]
#[template(path = "calendar.html")]
struct Calendar {
    email: String,
    title: String,
    view: &'static str,
    zone: String,
    zones: Vec<String>,
    /// The grid's rows: a month's weeks, or a week's 24 hours.
    weeks: Vec<Vec<Day>>,
    prev: String,
    next: String,
    other_view: String,
    /// The zone, encoded for a query string.
    zone_q: String,
    count: usize,
    capped: bool,
}

/// The zone the person plans in, when known: theirs, else that of the post last created in their
/// workspace.
pub(crate) async fn planning_zone(state: &AppState, me: &Me) -> ApiResult<Option<String>> {
    match &me.time_zone {
        Some(z) => Ok(Some(z.clone())),
        None => Ok(state.store.latest_post_zone(me.ws).await?),
    }
}

/// The zone a page shows times in: the one asked for, else the one the person plans in, else UTC.
async fn zone_of(state: &AppState, me: &Me, asked: Option<&String>) -> ApiResult<(String, TimeZone)> {
    if let Some(z) = asked
        && let Ok(tz) = TimeZone::get(z)
    {
        return Ok((z.clone(), tz));
    }
    let name = planning_zone(state, me)
        .await?
        .unwrap_or_else(|| "UTC".to_owned());
    let tz = TimeZone::get(&name).unwrap_or(TimeZone::UTC);
    Ok((name, tz))
}

/// Where a post goes, in words: each target's platform and status.
fn targets(
    targets: impl Iterator<Item = (ProfileId, DeliveryStatus)>,
    profiles: &HashMap<ProfileId, &ProfileRow>,
) -> String {
    targets
        .map(|(profile, status)| {
            let platform = profiles.get(&profile).map_or("?", |x| x.platform.display_name());
            format!("{platform}: {}", status.as_str().replace('_', " "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn start_of(d: Date, tz: &TimeZone) -> Timestamp {
    d.to_zoned_datetime(tz.clone())
        .map_or(Timestamp::MIN, |z| z.timestamp())
}

async fn calendar(state: &AppState, me: &Me, q: &HashMap<String, String>) -> ApiResult<Calendar> {
    let (zone, tz) = zone_of(state, me, q.get("zone")).await?;
    let today = state.store.clock().now().to_zoned_datetime(tz.clone()).date();
    let week_view = q.get("view").is_some_and(|v| v == "week");
    let anchor = q
        .get("date")
        .and_then(|d| d.parse::<Date>().ok())
        .unwrap_or(today);
    let monday = |d: Date| d - (d.weekday().to_monday_zero_offset() as i64).days();
    let (first, last, title, prev, next) = if week_view {
        let first = monday(anchor);
        let last = first + 7.days();
        (
            first,
            last,
            format!("Week of {}", first.strftime("%-d %B %Y")),
            first - 7.days(),
            last,
        )
    } else {
        let month = anchor.first_of_month();
        let first = monday(month);
        let end = month.last_of_month() + 1.days();
        let mut last = first;
        while last < end {
            last += 7.days();
        }
        (
            first,
            last,
            month.strftime("%B %Y").to_string(),
            month - 1.month(),
            month + 1.month(),
        )
    };
    let (from, to) = (start_of(first, &tz), start_of(last, &tz));
    let posts = state
        .store
        .calendar_posts(me.ws, from.as_microsecond(), to.as_microsecond(), CALENDAR_MAX)
        .await?;
    let rows = state.store.list_profiles(me.ws).await?;
    let profiles: HashMap<ProfileId, &ProfileRow> = rows.iter().map(|p| (p.id, p)).collect();
    // A month groups posts by day; a week by day and hour.
    let mut by_cell: HashMap<(Date, Option<i8>), (Vec<Chip>, usize)> = HashMap::new();
    for p in &posts {
        let at: ZonedDateTime = from_micros(p.scheduled_at).to_zoned_datetime(tz.clone());
        let hour = week_view.then(|| at.hour());
        let (chips, more) = by_cell.entry((at.date(), hour)).or_default();
        if chips.len() == CHIPS_PER_DAY {
            *more += 1;
            continue;
        }
        chips.push(Chip {
            id: p.id.to_string(),
            time: at.strftime("%H:%M").to_string(),
            targets: targets(p.targets.iter().copied(), &profiles),
            text: excerpt(&p.text, 40),
            movable: p.targets.iter().all(|(_, s)| s.is_untouched()),
        });
    }
    let month = anchor.month();
    let mut cell = |day: Date, hour: Option<i8>| {
        let (chips, more) = by_cell.remove(&(day, hour)).unwrap_or_default();
        Day {
            date: day.to_string(),
            hour: hour.map(|h| format!("{h:02}")).unwrap_or_default(),
            label: if week_view {
                day.strftime("%a %-d %b").to_string()
            } else {
                day.strftime("%-d").to_string()
            },
            in_range: week_view || day.month() == month,
            today: day == today,
            chips,
            more,
        }
    };
    // Rows: a month's weeks, or a week's hours.
    let mut weeks = Vec::new();
    if week_view {
        for hour in 0..24 {
            weeks.push((0..7).map(|i| cell(first + i.days(), Some(hour))).collect());
        }
    } else {
        let mut day = first;
        while day < last {
            weeks.push((0..7).map(|i| cell(day + i.days(), None)).collect());
            day += 7.days();
        }
    }
    let view = if week_view { "week" } else { "month" };
    let zone_q: String = url::form_urlencoded::byte_serialize(zone.as_bytes()).collect();
    let link = |d: Date, v: &str| format!("/calendar?view={v}&date={d}&zone={zone_q}");
    Ok(Calendar {
        email: me.email.clone(),
        title,
        view,
        prev: link(prev, view),
        next: link(next, view),
        other_view: link(anchor, if week_view { "month" } else { "week" }),
        zones: crate::compose::zone_names(),
        count: posts.len(),
        zone_q: zone_q.clone(),
        capped: posts.len() as i64 == CALENDAR_MAX,
        weeks,
        zone,
    })
}

/// `GET /calendar?view=month|week&date=YYYY-MM-DD&zone=Area/City`.
pub(crate) fn page() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>,
         caller: Result<Caller, ApiError>,
         Query(q): Query<HashMap<String, String>>| async move {
            let me = match signed_in(&state, caller, "/calendar").await {
                Ok(me) => me,
                Err(page) => return page,
            };
            match calendar(&state, &me, &q).await {
                Ok(c) => render(StatusCode::OK, &c),
                Err(e) => error_page(&e),
            }
        },
    )
}

struct Line {
    id: String,
    when: String,
    text: String,
    targets: String,
}

struct Named {
    value: String,
    label: String,
    selected: bool,
}

/// A draft as the list shows it.
struct DraftLine {
    id: String,
    text: String,
    updated: String,
}

/// The most drafts the list shows.
const DRAFTS_SHOWN: i64 = 20;

#[derive(Template)]
#[template(path = "posts.html")]
struct List {
    email: String,
    drafts: Vec<DraftLine>,
    zone: String,
    lines: Vec<Line>,
    statuses: Vec<Named>,
    profiles: Vec<Named>,
    from: String,
    to: String,
    next: Option<String>,
    filtered: bool,
    error: Option<String>,
}

/// Where the day `raw` (plus `days_after`) starts in `tz`, for a filter.
fn day_start(raw: Option<&String>, tz: &TimeZone, what: &str, days_after: i64) -> ApiResult<Option<i64>> {
    match raw.map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse::<Date>()
            .map(|d| Some(start_of(d + days_after.days(), tz).as_microsecond()))
            .map_err(|_| ApiError::bad_request(format!("the {what} date must look like 2026-12-01"))),
    }
}

async fn list(state: &AppState, me: &Me, q: &HashMap<String, String>) -> ApiResult<List> {
    let (zone, tz) = zone_of(state, me, q.get("zone")).await?;
    let rows = state.store.list_profiles(me.ws).await?;
    let status = q.get("status").filter(|s| !s.is_empty());
    let profile = q.get("profile").filter(|s| !s.is_empty());
    let mut error = None;
    let from = day_start(q.get("from"), &tz, "from", 0).unwrap_or_else(|e| {
        error = Some(crate::web::sentence(&e));
        None
    });
    // The "to" day is included: the range ends where the next day starts (23 or 25 hours later
    // on a day the clocks change).
    let to = day_start(q.get("to"), &tz, "to", 1).unwrap_or_else(|e| {
        error = Some(crate::web::sentence(&e));
        None
    });
    let after = q
        .get("cursor")
        .and_then(|c| c.split_once('_'))
        .and_then(|(at, id)| Some((at.parse().ok()?, id.parse().ok()?)));
    if status.is_some_and(|s| DeliveryStatus::parse(s).is_none()) {
        error = Some("That status is not one Herald knows; showing every status.".to_owned());
    }
    if profile.is_some_and(|p| p.parse::<ProfileId>().is_err()) {
        error = Some("That profile is not one of this workspace's; showing every profile.".to_owned());
    }
    let filter = PostFilter {
        status: status.and_then(|s| DeliveryStatus::parse(s)),
        from,
        to,
        after,
        profile: profile.and_then(|p| p.parse().ok()),
        limit: PAGE,
    };
    let posts = state.store.list_posts(me.ws, &filter).await?;
    let profiles: HashMap<ProfileId, &ProfileRow> = rows.iter().map(|p| (p.id, p)).collect();
    let keep: Vec<(&str, &String)> = ["status", "profile", "from", "to", "zone"]
        .into_iter()
        .filter_map(|k| q.get(k).map(|v| (k, v)))
        .collect();
    let next = (posts.len() as i64 == PAGE)
        .then(|| posts.last())
        .flatten()
        .map(|p| {
            let mut url = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in &keep {
                url.append_pair(k, v);
            }
            url.append_pair("cursor", &format!("{}_{}", p.scheduled_at, p.id));
            format!("/posts?{}", url.finish())
        });
    let drafts = state
        .store
        .list_drafts(me.ws, DRAFTS_SHOWN)
        .await?
        .iter()
        .map(|d| {
            let text = crate::drafts::content(d).text;
            DraftLine {
                id: d.id.to_string(),
                text: if text.trim().is_empty() {
                    "(no text yet)".to_owned()
                } else {
                    excerpt(&text, 80)
                },
                updated: crate::post_page::local(d.updated_at, &zone),
            }
        })
        .collect();
    Ok(List {
        email: me.email.clone(),
        drafts,
        lines: posts
            .iter()
            .map(|p| Line {
                id: p.id.to_string(),
                when: crate::post_page::local(p.scheduled_at, &zone),
                text: excerpt(&p.text, 80),
                targets: targets(p.deliveries.iter().map(|d| (d.profile, d.status)), &profiles),
            })
            .collect(),
        statuses: DeliveryStatus::ALL
            .into_iter()
            .map(|s| Named {
                value: s.as_str().to_owned(),
                label: s.as_str().replace('_', " "),
                selected: status.is_some_and(|x| x == s.as_str()),
            })
            .collect(),
        profiles: rows
            .iter()
            .map(|p| Named {
                value: p.id.to_string(),
                label: format!("@{} ({})", p.handle, p.platform.display_name()),
                selected: profile.is_some_and(|x| *x == p.id.to_string()),
            })
            .collect(),
        from: q.get("from").cloned().unwrap_or_default(),
        to: q.get("to").cloned().unwrap_or_default(),
        filtered: !keep.is_empty(),
        next,
        error,
        zone,
    })
}

/// `GET /posts?status=&profile=&from=&to=&cursor=`: the workspace's posts in time order.
pub(crate) fn list_page() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>,
         caller: Result<Caller, ApiError>,
         Query(q): Query<HashMap<String, String>>| async move {
            let me = match signed_in(&state, caller, "/posts").await {
                Ok(me) => me,
                Err(page) => return page,
            };
            match list(&state, &me, &q).await {
                Ok(l) => render(StatusCode::OK, &l),
                Err(e) => error_page(&e),
            }
        },
    )
}

/// Where to go after rescheduling: back to a page of this Herald, else the post.
fn back_to(f: &HashMap<String, String>, id: &str) -> String {
    match f.get("back") {
        Some(_) => crate::pages::next_path(f.get("back")),
        None => format!("/posts/{id}"),
    }
}

/// `POST /posts/{id}/reschedule` (`date`, `time`, `zone`, `back`, `seen`; `keep_zone` from a drag):
/// every target moves to the new time, through `posts::edit` (refused once any target started
/// publishing, as `PATCH` is, or when the page that sent it was stale).
pub(crate) fn reschedule() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>,
         caller: Result<Caller, ApiError>,
         Path(id): Path<String>,
         FormFields(f): FormFields| async move {
            let me = match signed_in(&state, caller, &format!("/posts/{id}")).await {
                Ok(me) => me,
                Err(page) => return page,
            };
            let field = |k: &str| f.get(k).map_or("", |v| v.trim()).to_owned();
            let local = format!("{}T{}", field("date"), field("time"));
            let zone = Some(field("zone")).filter(|z| !z.is_empty());
            let patch = if f.contains_key("keep_zone") {
                // A drag on the calendar: the day and time are read in the calendar's zone, and
                // the post keeps the zone it was planned in.
                match herald_domain::schedule::resolve(&local, zone.as_deref()) {
                    Ok(at) => crate::posts::PostPatch {
                        scheduled_at: Some(at.at.to_string()),
                        ..Default::default()
                    },
                    Err(e) => {
                        let e = ApiError::unprocessable("invalid_time", e.to_string());
                        return crate::post_page::with_error(&state, &me, &id, e).await;
                    }
                }
            } else {
                crate::posts::PostPatch {
                    scheduled_at: Some(local),
                    time_zone: zone,
                    ..Default::default()
                }
            };
            let by = me.caller.user;
            match crate::post_page::edit_from_page(&state, me.ws, &id, f.get("seen"), &patch, by).await {
                Ok(()) => see_other(&back_to(&f, &id), None),
                Err(e) if e.status == StatusCode::NOT_FOUND => error_page(&e),
                Err(e) => crate::post_page::with_error(&state, &me, &id, e).await,
            }
        },
    )
}
