//! The composer page (`/compose`): one post to several profiles, a shared text with a section per
//! profile that can override text, media and options (rendered from each platform's registered
//! options, so a new platform needs no template change), the media library with uploads, a counter
//! and a preview per profile, and the time in a named zone. Checking and scheduling go through
//! `posts::check` and `posts::create`, as the API's do; a server-side form token makes a double
//! submit schedule one post.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use herald_domain::MediaId;
use herald_domain::media::MediaType;
use herald_domain::rules::{self, OptionSpec, OptionType};
use herald_platforms::Choice;
use herald_store::{MediaRow, ProfileRow};
use serde_json::Value;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::FormFields;
use crate::posts::{PartInput, PostInput, TargetInput};
use crate::web::{Me, error_page, render, see_other, sentence, signed_in};

/// An option's form control, made from the platform's description of it.
pub(crate) struct OptionField {
    /// The form field's name and the control's id.
    pub name: String,
    pub id: String,
    pub label: &'static str,
    pub about: &'static str,
    /// `text`, `url`, `number`, `select` or `lines` (one value per media item).
    pub control: &'static str,
    pub value: String,
    /// A select's options: (value, what people read).
    pub choices: Vec<(String, String)>,
    /// The platform needs it (a pin's board): the select has no "platform default".
    pub required: bool,
    pub error: Option<String>,
}

/// A file of the library as the composer offers it.
pub(crate) struct Pick {
    pub id: String,
    pub name: String,
    pub what: &'static str,
    pub picked: bool,
    /// The name of the field giving its place among the picked files.
    pub order_name: String,
    pub order: String,
}

/// One profile's section: whether it is a target, its overrides, its counter, its problems and
/// its preview.
pub(crate) struct Section {
    pub id: String,
    pub handle: String,
    pub platform: &'static str,
    pub slug: &'static str,
    pub sandbox: bool,
    pub checked: bool,
    pub text: String,
    pub counter: String,
    pub over: bool,
    pub text_error: Vec<String>,
    pub media_error: Vec<String>,
    pub error: Vec<String>,
    pub options: Vec<OptionField>,
    pub own_media: bool,
    pub media: Vec<Pick>,
    pub preview: Preview,
}

/// One part of a thread after the first, as the form shows it.
pub(crate) struct PartField {
    /// Its place after the first part, from 0 (`part:{n}`, `pmedia:{n}:{id}`).
    pub n: usize,
    pub text: String,
    pub media: Vec<Pick>,
}

/// The thread's parts in the form, in order: `part:0`, `part:1`, … while they are there.
fn part_numbers(f: &Fields) -> std::ops::Range<usize> {
    0..(0..).take_while(|n| f.contains_key(&format!("part:{n}"))).count()
}

/// The form with its blank parts dropped (but the last, which "Add a part" just made) and the
/// others numbered again from 0, so the parts shown are numbered as the checks number them.
fn compact_parts(f: &Fields) -> Fields {
    let numbers = part_numbers(f);
    let last = numbers.end.checked_sub(1);
    let blank = |n: usize| {
        let prefix = format!("pmedia:{n}:");
        field(f, &format!("part:{n}")).trim().is_empty()
            && !f.iter().any(|(k, v)| k.starts_with(&prefix) && v == "on")
    };
    let ours = |k: &str| k.starts_with("part:") || k.starts_with("pmedia:") || k.starts_with("order:pmedia:");
    let mut out: Fields = f
        .iter()
        .filter(|(k, _)| !ours(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (i, n) in numbers.filter(|&n| !blank(n) || Some(n) == last).enumerate() {
        out.insert(format!("part:{i}"), field(f, &format!("part:{n}")).to_owned());
        for prefix in ["pmedia:", "order:pmedia:"] {
            let (old, new) = (format!("{prefix}{n}:"), format!("{prefix}{i}:"));
            for (k, v) in f.iter().filter(|(k, _)| k.starts_with(&old)) {
                out.insert(format!("{new}{}", &k[old.len()..]), v.clone());
            }
        }
    }
    out
}

/// A post as it would look on the platform: the caption cut where the platform folds it, the first
/// image cropped to the shape the platform shows.
pub(crate) struct Preview {
    pub shown: String,
    pub folded: bool,
    pub image: Option<String>,
    pub shape: &'static str,
    pub more: usize,
}

#[derive(Template)]
#[template(path = "compose.html")]
pub(crate) struct Composer {
    pub email: String,
    pub token: String,
    pub text: String,
    pub sections: Vec<Section>,
    pub library: Vec<Pick>,
    pub date: String,
    pub time: String,
    pub zone: String,
    pub zone_known: bool,
    pub zones: Vec<String>,
    pub targets_error: Option<String>,
    pub text_error: Vec<String>,
    pub media_error: Vec<String>,
    pub time_error: Option<String>,
    pub upload_error: Option<String>,
    pub error: Option<String>,
    pub problems: Vec<String>,
    /// The thread's parts after the first (and the blank one "Add a part" made).
    pub parts: Vec<PartField>,
    pub thread_error: Vec<String>,
    pub checked: bool,
    /// The draft this composer edits, if it came from one.
    pub draft: String,
    pub notice: Option<String>,
}

/// The form's fields, however they came (urlencoded, or multipart with an upload).
type Fields = HashMap<String, String>;

fn field<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.get(name).map_or("", String::as_str)
}

fn ticked(f: &Fields, name: &str) -> bool {
    !field(f, name).is_empty()
}

/// The name of the field giving a picked file's place: `order:media:{id}` for the post's media,
/// `order:tmedia:{profile}:{id}` for one profile's own.
fn order_name(prefix: &str, media: &str) -> String {
    format!("order:{prefix}{media}")
}

/// The media ids ticked under `prefix`, in the order the person gave (then the library's).
fn picked_media(f: &Fields, prefix: &str, library: &[MediaRow]) -> Vec<String> {
    let mut chosen: Vec<(i64, usize, String)> = library
        .iter()
        .enumerate()
        .filter(|(_, m)| ticked(f, &format!("{prefix}{}", m.id)))
        .map(|(i, m)| {
            let order = field(f, &order_name(prefix, &m.id.to_string()))
                .trim()
                .parse()
                .unwrap_or(i64::MAX);
            (order, i, m.id.to_string())
        })
        .collect();
    chosen.sort();
    chosen.into_iter().map(|(.., id)| id).collect()
}

/// An option's value as the API takes it, from its form control; empty means unset.
fn option_value(spec: &OptionSpec, raw: &str) -> Option<Value> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    if spec.per_item {
        return Some(Value::Array(
            raw.lines().map(|l| Value::String(l.trim().to_owned())).collect(),
        ));
    }
    Some(match spec.ty {
        OptionType::Bool => Value::Bool(raw == "yes"),
        OptionType::Integer { .. } => raw
            .parse::<i64>()
            .map_or_else(|_| Value::String(raw.to_owned()), Value::from),
        _ => Value::String(raw.to_owned()),
    })
}

/// The post the form describes, as `posts::create` takes it.
fn input_of(f: &Fields, profiles: &[ProfileRow], library: &[MediaRow]) -> PostInput {
    let targets = profiles
        .iter()
        .filter(|p| ticked(f, &format!("target:{}", p.id)))
        .map(|p| {
            let options: serde_json::Map<String, Value> = rules::limits(p.platform)
                .options
                .iter()
                .filter_map(|spec| {
                    option_value(spec, field(f, &format!("opt:{}:{}", p.id, spec.name)))
                        .map(|v| (spec.name.to_owned(), v))
                })
                .collect();
            let own_text = field(f, &format!("text:{}", p.id));
            TargetInput {
                profile_id: p.id.to_string(),
                text: (!own_text.trim().is_empty()).then(|| own_text.to_owned()),
                media_ids: ticked(f, &format!("own_media:{}", p.id))
                    .then(|| picked_media(f, &format!("tmedia:{}:", p.id), library)),
                options: (!options.is_empty()).then_some(options),
            }
        })
        .collect();
    let (date, time) = (field(f, "date").trim(), field(f, "time").trim());
    // A part left empty (no text, no media) is no part.
    let thread = part_numbers(f)
        .map(|n| PartInput {
            text: field(f, &format!("part:{n}")).to_owned(),
            media_ids: picked_media(f, &format!("pmedia:{n}:"), library),
        })
        .filter(|p| !p.text.trim().is_empty() || !p.media_ids.is_empty())
        .collect();
    PostInput {
        text: field(f, "text").to_owned(),
        media_ids: picked_media(f, "media:", library),
        thread,
        targets,
        scheduled_at: (!date.is_empty() || !time.is_empty()).then(|| format!("{date}T{time}")),
        time_zone: Some(field(f, "zone").to_owned()).filter(|z| !z.is_empty()),
    }
}

fn what(m: &MediaRow) -> &'static str {
    match m.media_type {
        MediaType::Mp4 => "video",
        MediaType::Pdf => "document",
        _ => "image",
    }
}

fn picks(f: &Fields, prefix: &str, library: &[MediaRow]) -> Vec<Pick> {
    library
        .iter()
        .map(|m| Pick {
            id: m.id.to_string(),
            name: m.original_name.clone().unwrap_or_else(|| m.id.to_string()),
            what: what(m),
            picked: ticked(f, &format!("{prefix}{}", m.id)),
            order_name: order_name(prefix, &m.id.to_string()),
            order: field(f, &order_name(prefix, &m.id.to_string())).to_owned(),
        })
        .collect()
}

/// The shape the platform shows an image in: its own ratio, brought inside what the platform takes.
fn shape(platform: herald_domain::platform::Platform, m: &MediaRow) -> &'static str {
    let ratio = match (m.width, m.height) {
        (Some(w), Some(h)) if h > 0 => w as f64 / h as f64,
        _ => 1.0,
    };
    let (lo, hi) = rules::limits(platform)
        .image
        .as_ref()
        .and_then(|i| i.aspect_ratio)
        .unwrap_or((0.0, f64::MAX));
    let r = ratio.clamp(lo, hi);
    if r < 0.7 {
        "tall"
    } else if r < 0.9 {
        "portrait"
    } else if r <= 1.1 {
        "square"
    } else {
        "wide"
    }
}

fn preview(platform: herald_domain::platform::Platform, text: &str, media: &[&MediaRow]) -> Preview {
    let fold = rules::limits(platform).preview_fold;
    let count = text.chars().count();
    let (shown, folded) = match fold {
        Some(n) if count > n => (text.chars().take(n).collect::<String>(), true),
        _ => (text.to_owned(), false),
    };
    let first = media.first();
    Preview {
        shown,
        folded,
        image: first
            .filter(|m| m.media_type.is_image())
            .map(|m| format!("/library/{}", m.id)),
        shape: first.map_or("square", |m| shape(platform, m)),
        more: media.len().saturating_sub(1),
    }
}

/// Where a violation belongs on the page.
enum Place {
    /// A part of the thread after the first, or the thread itself.
    Thread,
    Text,
    Media,
    Option(String),
    Profile,
}

fn place(rule: &str, message: &str, part: Option<u64>, options: &[OptionSpec]) -> Place {
    if rule.starts_with("thread.") || part.is_some() {
        Place::Thread
    } else if rule.starts_with("caption.") {
        Place::Text
    } else if rule.starts_with("media.") {
        Place::Media
    } else if rule.starts_with("options.") {
        options
            .iter()
            .find(|o| message.contains(&format!("`{}`", o.name)))
            .map_or(Place::Profile, |o| Place::Option(o.name.to_owned()))
    } else {
        Place::Profile
    }
}

/// The composer for `f` (empty for a fresh page), with `violations` placed beside what they concern.
async fn page(state: &AppState, me: &Me, f: &Fields, violations: &[Value]) -> Result<Composer, ApiError> {
    let f = &compact_parts(f);
    let profiles = state.store.list_profiles(me.ws).await?;
    let library = state.store.list_media(me.ws).await?;
    let fresh = f.is_empty();
    let mut problems = Vec::new();
    let (mut text_error, mut media_error, mut time_error) = (Vec::new(), Vec::new(), None);
    let mut thread_error = Vec::new();
    let shared_text = field(f, "text");
    let by_id: HashMap<String, &MediaRow> = library.iter().map(|m| (m.id.to_string(), m)).collect();
    let shared_media = picked_media(f, "media:", &library);
    let mut sections = Vec::new();
    for p in &profiles {
        let id = p.id.to_string();
        let limits = rules::limits(p.platform);
        let own_text = field(f, &format!("text:{id}")).to_owned();
        let own_media = ticked(f, &format!("own_media:{id}"));
        let text = if own_text.trim().is_empty() {
            shared_text
        } else {
            own_text.as_str()
        };
        let media_ids = if own_media {
            picked_media(f, &format!("tmedia:{id}:"), &library)
        } else {
            shared_media.clone()
        };
        let media: Vec<&MediaRow> = media_ids.iter().filter_map(|m| by_id.get(m).copied()).collect();
        let len = limits.text_counting.length(text);
        let mut s = Section {
            id: id.clone(),
            handle: p.handle.clone(),
            platform: p.platform.display_name(),
            slug: p.platform.as_str(),
            sandbox: p.sandbox,
            checked: ticked(f, &format!("target:{id}")) || (fresh && profiles.len() == 1),
            counter: match limits.text_max {
                Some(max) => format!("{len} / {max} {}", limits.text_counting.unit()),
                None => format!("{len} {}", limits.text_counting.unit()),
            },
            over: limits.text_max.is_some_and(|max| len > max),
            text: own_text.clone(),
            text_error: Vec::new(),
            media_error: Vec::new(),
            error: Vec::new(),
            options: Vec::new(),
            own_media,
            media: picks(f, &format!("tmedia:{id}:"), &library),
            preview: preview(p.platform, text, &media),
        };
        // Every list first: a choice under another (a board's section) is named with its parent.
        let mut lists: Vec<(&str, Result<Vec<Choice>, String>)> = Vec::new();
        for spec in limits.options {
            if let OptionType::Choice { list } = spec.ty {
                let read = crate::choices::live(state, me.ws, p, list, true).await;
                lists.push((list, read.map_err(|e| e.message)));
            }
        }
        let every: Vec<Choice> = lists
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok())
            .flatten()
            .cloned()
            .collect();
        // What the account offers (TikTok's privacy levels), as the rules hold the post to it.
        let live = crate::engagement::live_facts_for_rules(state, me.ws, p)
            .await
            .ok()
            .flatten();
        for spec in limits.options {
            let listed = match spec.ty {
                OptionType::Choice { list } => lists
                    .iter()
                    .find(|(l, _)| *l == list)
                    .map(|(_, r)| r.as_deref().map_err(String::as_str)),
                _ => None,
            };
            let listed = listed.map(|r| r.map(|c| (c, every.as_slice())));
            let mut field = option_field(&id, spec, f, &library, listed);
            if let Some(offered) = live.as_ref().and_then(|l| l.offered(spec.name)) {
                field
                    .choices
                    .retain(|(v, _)| v.is_empty() || offered.contains(&v.as_str()));
            }
            s.options.push(field);
        }
        for v in violations
            .iter()
            .filter(|v| v["profile_id"].as_str() == Some(&id))
        {
            let rule = v["rule"].as_str().unwrap_or_default();
            let message = v["message"].as_str().unwrap_or_default().to_owned();
            let said = format!("@{} ({}): {message}", p.handle, s.platform);
            problems.push(said.clone());
            match place(rule, &message, v["part"].as_u64(), limits.options) {
                Place::Text if own_text.trim().is_empty() => text_error.push(said),
                Place::Text => s.text_error.push(message),
                Place::Media if !own_media => media_error.push(said),
                Place::Media => s.media_error.push(message),
                Place::Option(name) => {
                    if let Some(o) = s.options.iter_mut().find(|o| o.label == name) {
                        o.error = Some(message);
                    }
                }
                Place::Profile => s.error.push(message),
                Place::Thread => thread_error.push(said),
            }
        }
        sections.push(s);
    }
    let mut targets_error = None;
    for v in violations.iter().filter(|v| v["profile_id"].is_null()) {
        let message = v["message"].as_str().unwrap_or_default();
        let said = sentence(&ApiError::unprocessable("invalid_time", message));
        problems.push(said.clone());
        if v["rule"] == "no_targets" {
            targets_error = Some(said);
        } else {
            time_error = Some(said);
        }
    }
    let last_zone = crate::calendar::planning_zone(state, me).await?;
    let zone = match field(f, "zone") {
        "" => last_zone.clone().unwrap_or_else(|| "UTC".to_owned()),
        z => z.to_owned(),
    };
    let (date, time) = if fresh {
        default_time(state, &zone)
    } else {
        (field(f, "date").to_owned(), field(f, "time").to_owned())
    };
    Ok(Composer {
        email: me.email.clone(),
        token: match field(f, "form_token") {
            "" => uuid::Uuid::new_v4().simple().to_string(),
            t => t.to_owned(),
        },
        text: shared_text.to_owned(),
        sections,
        library: picks(f, "media:", &library),
        date,
        time,
        zone_known: !fresh || last_zone.is_some(),
        zone,
        zones: zone_names(),
        targets_error,
        text_error,
        media_error,
        time_error,
        upload_error: None,
        error: None,
        problems,
        parts: part_numbers(f)
            .map(|n| PartField {
                n,
                text: field(f, &format!("part:{n}")).to_owned(),
                media: picks(f, &format!("pmedia:{n}:"), &library),
            })
            .collect(),
        thread_error,
        checked: !fresh,
        draft: field(f, "draft").to_owned(),
        notice: None,
    })
}

/// Every IANA zone name Herald knows, for a zone picker.
pub(crate) fn zone_names() -> Vec<String> {
    jiff::tz::db().available().map(|n| n.to_string()).collect()
}

/// The next full hour after an hour from now, in `zone`: a time that can be scheduled as it is.
fn default_time(state: &AppState, zone: &str) -> (String, String) {
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let at = (state.store.clock().now() + jiff::SignedDuration::from_hours(2)).to_zoned_datetime(tz);
    (
        at.strftime("%Y-%m-%d").to_string(),
        at.strftime("%H:00").to_string(),
    )
}

/// A `Choice` option's list as read (with every list read for the profile), or why it was not.
type Listed<'a> = Result<(&'a [Choice], &'a [Choice]), &'a str>;

/// An option's control: its platform's list (`Choice`) comes read in `listed`, with every list read
/// for the profile (to name a choice's parent), or the reason it could not be read, and then the
/// option takes a typed id.
fn option_field(
    profile: &str,
    spec: &OptionSpec,
    f: &Fields,
    library: &[MediaRow],
    listed: Option<Listed<'_>>,
) -> OptionField {
    let name = format!("opt:{profile}:{}", spec.name);
    let same = |v: &str| (v.to_owned(), v.to_owned());
    let mut error = None;
    let (control, choices) = match (&spec.ty, listed) {
        _ if spec.per_item => ("lines", Vec::new()),
        (OptionType::Choice { .. }, Some(Ok((listed, every)))) => ("select", choice_labels(listed, every)),
        (OptionType::Choice { .. }, Some(Err(why))) => {
            error = Some(why.to_owned());
            ("text", Vec::new())
        }
        (OptionType::Text { .. } | OptionType::Choice { .. }, _) => ("text", Vec::new()),
        (OptionType::Url, _) => ("url", Vec::new()),
        (OptionType::Integer { .. }, _) => ("number", Vec::new()),
        (OptionType::Bool, _) => ("select", vec![same("yes"), same("no")]),
        (OptionType::OneOf { values }, _) => ("select", values.iter().map(|v| same(v)).collect()),
        (OptionType::Media { types, .. }, _) => (
            "select",
            library
                .iter()
                .filter(|m| types.contains(&m.media_type))
                .map(|m| {
                    let id = m.id.to_string();
                    let label = m.original_name.clone().unwrap_or_else(|| id.clone());
                    (id, label)
                })
                .collect(),
        ),
    };
    OptionField {
        id: format!("opt-{profile}-{}", spec.name),
        value: field(f, &name).to_owned(),
        name,
        label: spec.name,
        about: spec.about,
        control,
        choices,
        required: spec.required,
        error,
    }
}

/// A platform's list as a select offers it: a choice under another (a board's section) is named
/// with it ("Product launches › Spring"), found among `every` choice read.
fn choice_labels(listed: &[Choice], every: &[Choice]) -> Vec<(String, String)> {
    listed
        .iter()
        .map(|c| {
            let parent = c
                .parent
                .as_ref()
                .and_then(|p| every.iter().find(|o| &o.id == p && o.parent.is_none()))
                .map(|p| format!("{} › ", p.name));
            (c.id.clone(), format!("{}{}", parent.unwrap_or_default(), c.name))
        })
        .collect()
}

fn said_again(c: &Composer) -> String {
    [&c.error, &c.time_error, &c.targets_error]
        .into_iter()
        .flatten()
        .next()
        .cloned()
        .unwrap_or_default()
}

/// A failure of `posts::create` said beside the field it concerns.
fn place_error(c: &mut Composer, e: &ApiError) {
    let said = sentence(e);
    match e.code {
        "no_targets" | "duplicate_target" => c.targets_error = Some(said),
        "invalid_time" | "scheduled_in_past" | "missing_time" => c.time_error = Some(said),
        "idempotency_key_reused" => {
            c.error = Some(
                "This form already scheduled a post with other content; open a new composer to schedule another."
                    .to_owned(),
            );
        }
        _ => c.error = Some(said),
    }
    c.problems.push(said_again(c));
}

async fn show(state: &AppState, me: &Me, f: &Fields, violations: &[Value], status: StatusCode) -> Response {
    match page(state, me, f, violations).await {
        Ok(c) => render(status, &c),
        Err(e) => error_page(&e),
    }
}

/// `GET /compose` shows an empty composer; `POST /compose` schedules the post (as `POST
/// /api/v1/workspaces/{ws}/posts` does, with the form's token as its idempotency key) and goes to
/// its page, or shows the form again with each problem beside its cause.
pub(crate) fn route() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>,
         caller: Result<Caller, ApiError>,
         axum::extract::Query(q): axum::extract::Query<Fields>| async move {
            let me = match signed_in(&state, caller, "/compose").await {
                Ok(me) => me,
                Err(page) => return page,
            };
            match q.get("draft") {
                Some(id) => open_draft(&state, &me, id).await,
                None => show(&state, &me, &Fields::new(), &[], StatusCode::OK).await,
            }
        },
    )
    .post(
        |State(state): State<AppState>, caller: Result<Caller, ApiError>, FormFields(f): FormFields| async move {
            let me = match signed_in(&state, caller, "/compose").await {
                Ok(me) => me,
                Err(page) => return page,
            };
            schedule(&state, &me, &f).await
        },
    )
}

/// The form's fields for a saved post input: the inverse of [`input_of`].
fn fields_of(input: &PostInput) -> Fields {
    let mut f = Fields::new();
    f.insert("text".into(), input.text.clone());
    for (i, m) in input.media_ids.iter().enumerate() {
        f.insert(format!("media:{m}"), "on".into());
        f.insert(order_name("media:", m), (i + 1).to_string());
    }
    for (n, part) in input.thread.iter().enumerate() {
        f.insert(format!("part:{n}"), part.text.clone());
        let prefix = format!("pmedia:{n}:");
        for (i, m) in part.media_ids.iter().enumerate() {
            f.insert(format!("{prefix}{m}"), "on".into());
            f.insert(order_name(&prefix, m), (i + 1).to_string());
        }
    }
    for t in &input.targets {
        let id = &t.profile_id;
        f.insert(format!("target:{id}"), "on".into());
        if let Some(text) = &t.text {
            f.insert(format!("text:{id}"), text.clone());
        }
        if let Some(media) = &t.media_ids {
            f.insert(format!("own_media:{id}"), "on".into());
            for (i, m) in media.iter().enumerate() {
                let prefix = format!("tmedia:{id}:");
                f.insert(format!("{prefix}{m}"), "on".into());
                f.insert(order_name(&prefix, m), (i + 1).to_string());
            }
        }
        for (name, v) in t.options.iter().flatten() {
            let raw = match v {
                Value::Bool(b) => if *b { "yes" } else { "no" }.to_owned(),
                Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join("\n"),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            f.insert(format!("opt:{id}:{name}"), raw);
        }
    }
    if let Some((date, time)) = input.scheduled_at.as_deref().and_then(|a| a.split_once('T')) {
        f.insert("date".into(), date.to_owned());
        f.insert("time".into(), time.to_owned());
    }
    if let Some(z) = &input.time_zone {
        f.insert("zone".into(), z.clone());
    }
    f
}

/// The composer for a saved draft, with the rules it breaks now beside their causes.
async fn open_draft(state: &AppState, me: &Me, id: &str) -> Response {
    let found = match id.parse::<herald_domain::DraftId>() {
        Ok(id) => state
            .store
            .get_draft(me.ws, id)
            .await
            .map_err(ApiError::missing("draft")),
        Err(_) => Err(ApiError::not_found("draft")),
    };
    let d = match found {
        Ok(d) => d,
        Err(e) => return error_page(&e),
    };
    let input = crate::drafts::content(&d);
    let mut f = fields_of(&input);
    f.insert("draft".into(), d.id.to_string());
    f.insert("form_token".into(), uuid::Uuid::new_v4().simple().to_string());
    let violations = crate::drafts::problems(state, me.ws, &input).await;
    match page(state, me, &f, &violations).await {
        Ok(mut c) => {
            c.notice = Some(format!(
                "Draft saved {}. It is kept as it is, problems and all, until you schedule it.",
                herald_domain::clock::from_micros(d.updated_at).strftime("%Y-%m-%d %H:%M UTC")
            ));
            render(StatusCode::OK, &c)
        }
        Err(e) => error_page(&e),
    }
}

/// `POST /compose/draft`: the composer's form saved as a draft (new, or the one it edits), whatever
/// rules it breaks; then the composer for it.
pub(crate) fn save_draft() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>, caller: Result<Caller, ApiError>, FormFields(f): FormFields| async move {
            let me = match signed_in(&state, caller, "/compose").await {
                Ok(me) => me,
                Err(page) => return page,
            };
            let input = match form_input(&state, &me, &f).await {
                Ok(input) => input,
                Err(e) => return error_page(&e),
            };
            let existing = f.get("draft").and_then(|d| d.parse().ok());
            let saved = match serde_json::to_string(&input) {
                Ok(body) => state
                    .store
                    .save_draft(me.ws, me.caller.user, existing, &body)
                    .await
                    .map_err(ApiError::missing("draft")),
                Err(e) => Err(ApiError::internal(&e)),
            };
            match saved {
                Ok(id) => see_other(&format!("/compose?draft={id}"), None),
                Err(e) => error_page(&e),
            }
        },
    )
}

/// The post the composer's form describes, its ids read against the workspace's profiles and library.
async fn form_input(state: &AppState, me: &Me, f: &Fields) -> Result<PostInput, ApiError> {
    let profiles = state.store.list_profiles(me.ws).await?;
    let library = state.store.list_media(me.ws).await?;
    Ok(input_of(f, &profiles, &library))
}

async fn schedule(state: &AppState, me: &Me, f: &Fields) -> Response {
    let input = match form_input(state, me, f).await {
        Ok(input) => input,
        Err(e) => return error_page(&e),
    };
    let token = field(f, "form_token");
    let key = (!token.is_empty()).then(|| format!("form:{token}"));
    match crate::posts::create(state, me.caller.user, me.ws, &input, key.as_deref()).await {
        Ok((id, _)) => {
            // The zone of a person's first post (their browser's, unless they chose) becomes theirs.
            if let Some(zone) = &input.time_zone
                && let Err(e) = state.store.set_time_zone(me.caller.user, zone, true).await
            {
                tracing::warn!(error = %e, "the planning zone could not be kept");
            }
            // A draft that became a post is done with.
            if let Some(draft) = f.get("draft").and_then(|d| d.parse().ok())
                && let Err(e) = state.store.delete_draft(me.ws, draft).await
            {
                tracing::warn!(error = %e, "the scheduled draft could not be deleted");
            }
            see_other(&format!("/posts/{id}"), None)
        }
        Err(e) => {
            let violations = match &e.details {
                Some(("violations", Value::Array(v))) => v.clone(),
                _ => Vec::new(),
            };
            match page(state, me, f, &violations).await {
                Ok(mut c) => {
                    if violations.is_empty() {
                        place_error(&mut c, &e);
                    }
                    render(e.status, &c)
                }
                Err(e) => error_page(&e),
            }
        }
    }
}

/// `POST /compose/check`: the composer for the form as it stands, with every problem in place
/// (what the page's script swaps in as the person types; the same checks as scheduling).
pub(crate) fn check() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>, caller: Result<Caller, ApiError>, FormFields(f): FormFields| async move {
            let me = match signed_in(&state, caller, "/compose").await {
                Ok(me) => me,
                Err(page) => return page,
            };
            let input = match form_input(&state, &me, &f).await {
                Ok(input) => input,
                Err(e) => return error_page(&e),
            };
            let violations = if input.targets.is_empty() {
                Vec::new()
            } else {
                match crate::posts::check(&state, me.ws, &input).await {
                    Ok(v) => v,
                    Err(e) => return error_page(&e),
                }
            };
            show(&state, &me, &f, &violations, StatusCode::OK).await
        },
    )
}

/// `POST /compose/part`: the composer again with one more, empty, part of the thread, everything
/// typed kept (the "Add a part" button's `formaction`).
pub(crate) fn add_part() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>, caller: Result<Caller, ApiError>, FormFields(mut f): FormFields| async move {
            let me = match signed_in(&state, caller, "/compose").await {
                Ok(me) => me,
                Err(page) => return page,
            };
            let next = part_numbers(&f).end;
            f.insert(format!("part:{next}"), String::new());
            show(&state, &me, &f, &[], StatusCode::OK).await
        },
    )
}

/// `POST /compose/upload`: the composer's form sent with a file (multipart, the upload button's
/// `formaction`): the file joins the library (as `POST …/media` does) and is ticked, and the
/// composer comes back with everything typed kept.
pub(crate) fn upload() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>, caller: Result<Caller, ApiError>, mut form: Multipart| async move {
            let me = match signed_in(&state, caller, "/compose").await {
                Ok(me) => me,
                Err(page) => return page,
            };
            let mut f = Fields::new();
            let mut failed = None;
            let mut budget = MAX_TEXT;
            loop {
                let next = match form.next_field().await {
                    Ok(Some(field)) => field,
                    Ok(None) => break,
                    Err(_) => {
                        failed = Some(ApiError::bad_request("the form did not arrive whole; try again"));
                        break;
                    }
                };
                if next.name() == Some("file") {
                    if next.file_name().is_none_or(str::is_empty) {
                        failed = Some(ApiError::unprocessable(
                            "no_file",
                            "choose a file to upload first",
                        ));
                        continue;
                    }
                    match crate::media::store_field(&state, me.ws, next).await {
                        Ok(row) => {
                            f.insert(format!("media:{}", row.id), "on".to_owned());
                        }
                        Err(e) => failed = Some(e),
                    }
                } else if let Some(name) = next.name().map(str::to_owned) {
                    match field_text(next, &mut budget).await {
                        Ok(value) => {
                            f.insert(name, value);
                        }
                        Err(e) => {
                            failed = Some(e);
                            break;
                        }
                    }
                }
            }
            f.entry("form_token".to_owned()).or_default();
            match page(&state, &me, &f, &[]).await {
                Ok(mut c) => {
                    let status = failed.as_ref().map_or(StatusCode::OK, |e| e.status);
                    c.upload_error = failed.as_ref().map(sentence);
                    c.checked = false;
                    render(status, &c)
                }
                Err(e) => error_page(&e),
            }
        },
    )
    .layer(axum::extract::DefaultBodyLimit::disable())
}

/// The most the composer's text fields may hold together when they come with an upload, as any
/// other form (the body limit is lifted for the file alone).
const MAX_TEXT: usize = 1024 * 1024;

/// A text field of a multipart form, taken from what is left of `budget` and refused beyond it
/// instead of read whole.
async fn field_text(
    mut field: axum::extract::multipart::Field<'_>,
    budget: &mut usize,
) -> Result<String, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|_| ApiError::bad_request("the form did not arrive whole; try again"))?
    {
        if chunk.len() > *budget {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "the form's text is larger than 1 MiB",
            ));
        }
        *budget -= chunk.len();
        bytes.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `GET /library/{id}`: a library file for the signed-in person's own pages (previews, thumbnails).
pub(crate) fn library_file() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>,
         caller: Result<Caller, ApiError>,
         axum::extract::Path(id): axum::extract::Path<String>| async move {
            let me = match signed_in(&state, caller, "/compose").await {
                Ok(me) => me,
                Err(page) => return page,
            };
            let found = match id.parse::<MediaId>() {
                Ok(id) => state
                    .store
                    .get_media(me.ws, id)
                    .await
                    .map_err(ApiError::missing("media")),
                Err(_) => Err(ApiError::not_found("media")),
            };
            match found {
                Ok(m) => crate::media::serve(&m, "inline", None).await.into_response(),
                Err(e) => error_page(&e),
            }
        },
    )
}
