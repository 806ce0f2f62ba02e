//! Posts: scheduling to several profiles with per-target overrides, validation against each platform's
//! rules, listing, fenced edits and cancels, and each delivery's history. Where the workspace
//! requires approval, what an editor schedules or edits waits for one (`approvals`).

use std::collections::HashSet;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{MethodRouter, get, post};
use herald_domain::delivery::DeliveryStatus;
use herald_domain::rules::{self, Draft, LiveFacts, MediaFacts};
use herald_domain::schedule::{self, ScheduleError};
use herald_domain::{MediaId, PostId, ProfileId, UserId, WorkspaceId};
use herald_store::{
    DeliveryEventRow, MediaRow, NewPost, NewTarget, PostChange, PostFilter, PostRow, ProfileRow, ThreadPart,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::json::{Body, rfc3339};

#[derive(Deserialize, serde::Serialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct TargetInput {
    pub profile_id: String,
    pub text: Option<String>,
    pub media_ids: Option<Vec<String>>,
    pub options: Option<serde_json::Map<String, Value>>,
}

/// A part of a thread after the first, as the API and the composer send it.
#[derive(Deserialize, serde::Serialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct PartInput {
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub media_ids: Vec<String>,
}

/// A post as the API and the composer send it.
#[derive(Deserialize, serde::Serialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct PostInput {
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub media_ids: Vec<String>,
    /// The parts that follow the first, in order: the post is a thread (only platforms that
    /// publish threads take one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thread: Vec<PartInput>,
    #[serde(default)]
    pub targets: Vec<TargetInput>,
    pub scheduled_at: Option<String>,
    pub time_zone: Option<String>,
}

/// An edit of a post before publishing starts: what is absent stays.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct PostPatch {
    pub text: Option<String>,
    pub media_ids: Option<Vec<String>>,
    /// Replaces the thread (`[]` removes it).
    pub thread: Option<Vec<PartInput>>,
    pub scheduled_at: Option<String>,
    pub time_zone: Option<String>,
}

/// One target whose ids all resolved inside the workspace.
struct Target {
    profile: ProfileRow,
    text: Option<String>,
    media: Option<Vec<MediaRow>>,
    options: Option<serde_json::Map<String, Value>>,
    /// The platform's cached facts about the profile (Instagram's publishing quota).
    live: Option<LiveFacts>,
}

/// A draft whose ids all resolved inside the workspace.
struct Resolved {
    targets: Vec<Target>,
    media: Vec<MediaRow>,
    /// The thread's parts after the first: text and media.
    thread: Vec<(String, Vec<MediaRow>)>,
}

impl Resolved {
    /// The thread as stored.
    fn thread_parts(&self) -> Vec<ThreadPart> {
        self.thread
            .iter()
            .map(|(text, media)| ThreadPart {
                text: text.clone(),
                media_ids: ids(media),
            })
            .collect()
    }
}

async fn resolve_media(state: &AppState, ws: WorkspaceId, ids: &[String]) -> ApiResult<Vec<MediaRow>> {
    let mut out = Vec::with_capacity(ids.len());
    for raw in ids {
        let id: MediaId = raw
            .parse()
            .map_err(|_| ApiError::not_found(&format!("media {raw}")))?;
        out.push(
            state
                .store
                .get_media(ws, id)
                .await
                .map_err(ApiError::missing(&format!("media {raw}")))?,
        );
    }
    Ok(out)
}

async fn resolve(state: &AppState, ws: WorkspaceId, input: &PostInput) -> ApiResult<Resolved> {
    if input.targets.is_empty() {
        return Err(ApiError::unprocessable(
            "no_targets",
            "`targets` must name at least one profile",
        ));
    }
    let media = resolve_media(state, ws, &input.media_ids).await?;
    let mut thread = Vec::with_capacity(input.thread.len());
    for (i, part) in input.thread.iter().enumerate() {
        if part.text.trim().is_empty() && part.media_ids.is_empty() {
            return Err(ApiError::unprocessable(
                "empty_part",
                format!("part {} of the thread has neither text nor media", i + 2),
            ));
        }
        thread.push((
            part.text.clone(),
            resolve_media(state, ws, &part.media_ids).await?,
        ));
    }
    let mut seen = HashSet::new();
    let mut targets = Vec::new();
    for t in &input.targets {
        let id: ProfileId = t
            .profile_id
            .parse()
            .map_err(|_| ApiError::not_found(&format!("profile {}", t.profile_id)))?;
        if !seen.insert(id) {
            return Err(ApiError::unprocessable(
                "duplicate_target",
                format!("profile {id} is targeted twice"),
            ));
        }
        let profile = state
            .store
            .get_profile(ws, id)
            .await
            .map_err(ApiError::missing(&format!("profile {id}")))?;
        let own_media = match &t.media_ids {
            Some(ids) => Some(resolve_media(state, ws, ids).await?),
            None => None,
        };
        // A media-typed option (a reel's cover) names an uploaded file of this workspace, of a
        // type the platform takes there.
        for spec in rules::limits(profile.platform).options {
            let rules::OptionType::Media { types, max_bytes } = spec.ty else {
                continue;
            };
            let Some(chosen) = t
                .options
                .as_ref()
                .and_then(|o| o.get(spec.name))
                .and_then(Value::as_str)
            else {
                continue;
            };
            let found = resolve_media(state, ws, &[chosen.to_owned()]).await?;
            if found.iter().any(|m| !types.contains(&m.media_type)) {
                let allowed: Vec<&str> = types.iter().map(|t| t.mime()).collect();
                return Err(ApiError::unprocessable(
                    "option_media_type",
                    format!(
                        "`{}` must be a file of type {}; {} takes no other there",
                        spec.name,
                        allowed.join(" or "),
                        profile.platform.display_name()
                    ),
                ));
            }
            if let Some(big) = found
                .iter()
                .find(|m| u64::try_from(m.bytes).unwrap_or(0) > max_bytes)
            {
                return Err(ApiError::unprocessable(
                    "option_media_too_large",
                    format!(
                        "`{}` must be at most {} MB; this file is {:.1} MB ({} takes no larger there)",
                        spec.name,
                        max_bytes / (1024 * 1024),
                        big.bytes as f64 / (1024.0 * 1024.0),
                        profile.platform.display_name()
                    ),
                ));
            }
        }
        let live = crate::engagement::live_facts_for_rules(state, ws, &profile).await?;
        targets.push(Target {
            profile,
            text: t.text.clone(),
            media: own_media,
            options: t.options.clone(),
            live,
        });
    }
    Ok(Resolved {
        targets,
        media,
        thread,
    })
}

fn facts(media: &[MediaRow]) -> Vec<MediaFacts> {
    media.iter().map(MediaRow::facts).collect()
}

/// One violation per broken rule per target; empty when every target can take the post. What the
/// account allows a post (the platforms' cached creator facts) always counts; with `live`, the
/// publishing quota too (the composer's check: a post that waits for a publishing slot is still
/// accepted when scheduled).
fn violations(state: &AppState, text: &str, media: &[MediaRow], r: &Resolved, live: bool) -> Vec<Value> {
    let now = crate::profiles::Moment::of(state);
    // The thread's parts as the rules read them: the same for every target.
    let part_facts: Vec<(&str, Vec<MediaFacts>)> =
        r.thread.iter().map(|(t, m)| (t.as_str(), facts(m))).collect();
    let parts: Vec<rules::Part> = part_facts
        .iter()
        .map(|(text, media)| rules::Part { text, media })
        .collect();
    let mut out = Vec::new();
    for Target {
        profile,
        text: own_text,
        media: own_media,
        options,
        live: cached,
    } in &r.targets
    {
        let (status, reason) = crate::profiles::status(profile, now);
        if status == "disconnected" || status == "needs_reconnect" {
            let rule = reason.unwrap_or("disconnected");
            let message = match rule {
                "permission_missing" => format!(
                    "@{} has not granted the permission to publish; reconnect it and allow publishing.",
                    profile.handle
                ),
                "expired" => format!("@{}'s connection expired; reconnect it.", profile.handle),
                "revoked_on_platform" => format!(
                    "@{} removed Herald's access on the platform; reconnect it.",
                    profile.handle
                ),
                other => match herald_domain::profile::ReconnectReason::parse(other) {
                    Some(r) if r.is_configuration() => format!("@{}: {}", profile.handle, r.explain()),
                    _ => format!(
                        "@{} is disconnected; connect it again to publish to it.",
                        profile.handle
                    ),
                },
            };
            out.push(json!({"profile_id": profile.id, "rule": rule, "message": message}));
            continue;
        }
        let platform = profile.platform;
        let text = own_text.as_deref().unwrap_or(text);
        let media = own_media.as_deref().unwrap_or(media);
        let options = options.clone().unwrap_or_default();
        let facts = facts(media);
        let held = cached.as_ref().map(|c| match live {
            true => c.clone(),
            false => LiveFacts {
                creator: c.creator.clone(),
                ..LiveFacts::default()
            },
        });
        let draft = Draft {
            text,
            media: &facts,
            options: &options,
            live: held.as_ref(),
            thread: &parts,
        };
        for v in rules::check(platform, &draft) {
            let mut j = json!({"profile_id": profile.id, "rule": v.rule, "message": v.message});
            if let Some(part) = v.part {
                j["part"] = json!(part);
            }
            out.push(j);
        }
    }
    out
}

/// A digest of the request as parsed, so the same `Idempotency-Key` with other content is caught.
fn request_hash(input: &PostInput) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(serde_json::to_vec(input).unwrap_or_default()))
}

fn schedule_error(e: ScheduleError) -> ApiError {
    let err = ApiError::unprocessable("invalid_time", e.to_string());
    match e {
        ScheduleError::InGap { earlier, later, .. } | ScheduleError::InFold { earlier, later, .. } => {
            err.with("candidates", json!([earlier.to_string(), later.to_string()]))
        }
        _ => err,
    }
}

fn when(state: &AppState, at: &str, tz: Option<&str>) -> ApiResult<schedule::ScheduledAt> {
    let s = schedule::resolve(at, tz).map_err(schedule_error)?;
    if s.at < state.store.clock().now() {
        return Err(ApiError::unprocessable(
            "scheduled_in_past",
            format!("`scheduled_at` {} is in the past; choose a later time", s.at),
        ));
    }
    Ok(s)
}

fn reject(v: Vec<Value>) -> ApiError {
    ApiError::unprocessable(
        "validation_failed",
        "the post breaks the rules of at least one target; see `violations`",
    )
    .with("violations", json!(v))
}

fn event_json(e: &DeliveryEventRow) -> Value {
    json!({"at": rfc3339(e.at), "from": e.from_status, "to": e.to_status, "outcome": e.outcome, "attempt": e.attempt, "detail": e.detail})
}

/// A post as the API shows it, each delivery with its history from `events`.
pub(crate) fn post_json(p: &PostRow, events: &[DeliveryEventRow]) -> Value {
    let deliveries: Vec<Value> = p
        .deliveries
        .iter()
        .map(|d| {
            let history: Vec<Value> = events.iter().filter(|e| e.delivery == d.id).map(event_json).collect();
            json!({
                "id": d.id, "profile_id": d.profile, "status": d.status, "due_at": rfc3339(d.due_at), "attempts": d.attempts,
                "platform_post_id": d.platform_post_id, "permalink": d.permalink,
                "error": d.error_code.as_ref().map(|c| json!({"code": c, "message": d.error_message})),
                "candidates": d.candidates.as_deref().and_then(|c| serde_json::from_str::<Value>(c).ok()),
                "text": d.text_override, "media_ids": d.media_override, "history": history,
                "options": d.options.as_deref().and_then(|o| serde_json::from_str::<Value>(o).ok()),
                "updated_at": rfc3339(d.updated_at),
            })
        })
        .collect();
    json!({
        "id": p.id, "text": p.text, "media_ids": p.media_ids, "thread": p.thread, "scheduled_at": rfc3339(p.scheduled_at), "time_zone": p.time_zone,
        "created_at": rfc3339(p.created_at), "deliveries": deliveries,
    })
}

/// One post as the API answers it: its deliveries with their history, and its approval.
pub(crate) async fn load(state: &AppState, ws: WorkspaceId, id: PostId) -> ApiResult<Value> {
    let p = state
        .store
        .get_post(ws, id)
        .await
        .map_err(ApiError::missing("post"))?;
    let events = state.store.delivery_events(ws, id).await?;
    let mut post = post_json(&p, &events);
    post["approval"] = crate::approvals::approval_json(&state.store.approvals(ws, id).await?);
    Ok(post)
}

fn ids(v: &[MediaRow]) -> Vec<MediaId> {
    v.iter().map(|m| m.id).collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
    profile: Option<String>,
}

fn parse_instant(name: &str, v: Option<&str>) -> ApiResult<Option<i64>> {
    v.map(|s| {
        s.parse::<jiff::Timestamp>()
            .map(|t| t.as_microsecond())
            .map_err(|_| ApiError::bad_request(format!("`{name}` must be RFC 3339 with an offset")))
    })
    .transpose()
}

pub(crate) fn collection() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>,
         caller: Caller,
         Path(ws): Path<String>,
         Query(q): Query<ListQuery>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            let status = q
                .status
                .as_deref()
                .map(|s| {
                    DeliveryStatus::parse(s)
                        .ok_or_else(|| ApiError::bad_request(format!("unknown status `{s}`")))
                })
                .transpose()?;
            let limit = q.limit.unwrap_or(50).clamp(1, 200);
            let after = q
                .cursor
                .as_deref()
                .map(|c| {
                    c.split_once('_')
                        .and_then(|(at, id)| Some((at.parse().ok()?, id.parse().ok()?)))
                        .ok_or_else(|| ApiError::bad_request("`cursor` is not one Herald gave out"))
                })
                .transpose()?;
            let filter = PostFilter {
                status,
                from: parse_instant("from", q.from.as_deref())?,
                to: parse_instant("to", q.to.as_deref())?,
                after,
                profile: q
                    .profile
                    .as_deref()
                    .map(|p| p.parse().map_err(|_| ApiError::not_found("profile")))
                    .transpose()?,
                limit,
            };
            let posts = state.store.list_posts(ws, &filter).await?;
            let next = (posts.len() as i64 == limit)
                .then(|| posts.last().map(|p| format!("{}_{}", p.scheduled_at, p.id)))
                .flatten();
            let data: Vec<Value> = posts.iter().map(|p| post_json(p, &[])).collect();
            Ok::<_, ApiError>(axum::Json(json!({"data": data, "next_cursor": next})))
        },
    )
    .post(
        |State(state): State<AppState>,
         caller: Caller,
         Path(ws): Path<String>,
         headers: HeaderMap,
         Body(input): Body<PostInput>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            let key = headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            if key.as_ref().is_some_and(|k| k.is_empty() || k.len() > 255) {
                return Err(ApiError::bad_request(
                    "`Idempotency-Key` must be 1 to 255 characters",
                ));
            }
            let (id, created) = create(&state, caller.user, ws, &input, key.as_deref()).await?;
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok((status, axum::Json(load(&state, ws, id).await?)))
        },
    )
}

/// Schedules a post (the API's `POST …/posts` and the composer's form): every target's rules are
/// checked first; the same `key` with the same content answers the post it made, with `false`.
pub(crate) async fn create(
    state: &AppState,
    user: UserId,
    ws: WorkspaceId,
    input: &PostInput,
    key: Option<&str>,
) -> ApiResult<(PostId, bool)> {
    let at = input
        .scheduled_at
        .as_deref()
        .ok_or_else(|| ApiError::unprocessable("missing_time", "`scheduled_at` is required"))?;
    let resolved = resolve(state, ws, input).await?;
    let when = when(state, at, input.time_zone.as_deref())?;
    let hash = key.map(|_| request_hash(input));
    let v = violations(state, &input.text, &resolved.media, &resolved, false);
    if !v.is_empty() {
        return Err(reject(v));
    }
    let targets = resolved
        .targets
        .iter()
        .map(|t| NewTarget {
            profile: t.profile.id,
            text: t.text.clone(),
            media_ids: t.media.as_deref().map(ids),
            options: t.options.as_ref().map(|o| Value::Object(o.clone()).to_string()),
        })
        .collect();
    let awaits_approval = crate::approvals::held_for(state, ws, user).await?;
    let (id, created) = state
        .store
        .create_post(NewPost {
            workspace: ws,
            user,
            text: &input.text,
            media_ids: &ids(&resolved.media),
            thread: &resolved.thread_parts(),
            scheduled_at: when.at.as_microsecond(),
            time_zone: &when.time_zone,
            idempotency_key: key,
            request_hash: hash.as_deref(),
            targets,
            awaits_approval,
        })
        .await
        .map_err(|e| match e {
            herald_store::StoreError::Conflict(m) => ApiError::unprocessable("idempotency_key_reused", m),
            other => other.into(),
        })?;
    state.wake.notify_one();
    Ok((id, created))
}

/// Every rule the draft breaks now (the platforms' cached live facts count too), and a time that
/// cannot be scheduled: what the composer shows as the person types.
pub(crate) async fn check(state: &AppState, ws: WorkspaceId, input: &PostInput) -> ApiResult<Vec<Value>> {
    let resolved = resolve(state, ws, input).await?;
    let mut v = violations(state, &input.text, &resolved.media, &resolved, true);
    if let Some(at) = input.scheduled_at.as_deref()
        && let Err(e) = when(state, at, input.time_zone.as_deref())
    {
        v.push(json!({"profile_id": null, "rule": e.code, "message": e.message}));
    }
    Ok(v)
}

pub(crate) fn validate() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>,
         caller: Caller,
         Path(ws): Path<String>,
         Body(input): Body<PostInput>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            let v = check(&state, ws, &input).await?;
            Ok::<_, ApiError>(axum::Json(json!({"valid": v.is_empty(), "violations": v})))
        },
    )
}

async fn post_id(state: &AppState, caller: &Caller, ws: &str, id: &str) -> ApiResult<(WorkspaceId, PostId)> {
    let ws = caller.workspace(state, ws).await?;
    Ok((ws, id.parse().map_err(|_| ApiError::not_found("post"))?))
}

pub(crate) fn one() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, caller: Caller, Path((ws, id)): Path<(String, String)>| async move {
            let (ws, id) = post_id(&state, &caller, &ws, &id).await?;
            Ok::<_, ApiError>(axum::Json(load(&state, ws, id).await?))
        },
    )
    .patch(
        |State(state): State<AppState>,
         caller: Caller,
         Path((ws, id)): Path<(String, String)>,
         Body(patch): Body<PostPatch>| async move {
            let (ws, id) = post_id(&state, &caller, &ws, &id).await?;
            edit(&state, ws, id, &patch, caller.user).await?;
            Ok::<_, ApiError>(axum::Json(load(&state, ws, id).await?))
        },
    )
}

/// Edits a post's text, media or time (the API's `PATCH` and the edit page), fenced: refused once
/// publishing has started for any of its targets. An edit `by` a member whose posts wait for
/// approval makes this one wait again; an approver's edit keeps it as it was.
pub(crate) async fn edit(
    state: &AppState,
    ws: WorkspaceId,
    id: PostId,
    patch: &PostPatch,
    by: UserId,
) -> ApiResult<()> {
    let current = state
        .store
        .get_post(ws, id)
        .await
        .map_err(ApiError::missing("post"))?;
    let text = patch.text.clone().unwrap_or_else(|| current.text.clone());
    let media_ids: Vec<String> = match &patch.media_ids {
        Some(m) => m.clone(),
        None => current.media_ids.iter().map(ToString::to_string).collect(),
    };
    let targets = current
        .deliveries
        .iter()
        .map(|d| TargetInput {
            profile_id: d.profile.to_string(),
            text: d.text_override.clone(),
            media_ids: d
                .media_override
                .as_ref()
                .map(|m| m.iter().map(ToString::to_string).collect()),
            options: d.options.as_deref().and_then(|o| serde_json::from_str(o).ok()),
        })
        .collect();
    let thread = match &patch.thread {
        Some(t) => t.clone(),
        None => current
            .thread
            .iter()
            .map(|p| PartInput {
                text: p.text.clone(),
                media_ids: p.media_ids.iter().map(ToString::to_string).collect(),
            })
            .collect(),
    };
    let input = PostInput {
        text,
        media_ids,
        thread,
        targets,
        scheduled_at: None,
        time_zone: None,
    };
    let resolved = resolve(state, ws, &input).await?;
    let v = violations(state, &input.text, &resolved.media, &resolved, false);
    if !v.is_empty() {
        return Err(reject(v));
    }
    let at = match (&patch.scheduled_at, &patch.time_zone) {
        (Some(at), tz) => Some(when(
            state,
            at,
            tz.as_deref().or(Some(current.time_zone.as_str())),
        )?),
        (None, Some(_)) => {
            return Err(ApiError::unprocessable(
                "missing_time",
                "send `scheduled_at` with `time_zone`",
            ));
        }
        (None, None) => None,
    };
    let media = patch.media_ids.as_ref().map(|_| ids(&resolved.media));
    let thread = patch.thread.as_ref().map(|_| resolved.thread_parts());
    let held = crate::approvals::held_for(state, ws, by).await?;
    let change = PostChange {
        text: patch.text.as_deref(),
        media: media.as_deref(),
        thread: thread.as_deref(),
        at: at.as_ref().map(|a| (a.at.as_microsecond(), a.time_zone.as_str())),
        resubmitted_by: held.then_some(by),
    };
    state
        .store
        .update_post(ws, id, change)
        .await
        .map_err(ApiError::missing("post"))?;
    state.wake.notify_one();
    Ok(())
}

pub(crate) fn cancel() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>, caller: Caller, Path((ws, id)): Path<(String, String)>| async move {
            let (ws, id) = post_id(&state, &caller, &ws, &id).await?;
            let o = state
                .store
                .cancel_post(ws, id)
                .await
                .map_err(ApiError::missing("post"))?;
            let mut notes = vec![
                "Published posts stay on the platform: Herald cannot and does not delete them.".to_owned(),
            ];
            if o.in_flight > 0 {
                notes.push(format!(
                    "{} deliveries were already being published and could not be cancelled.",
                    o.in_flight
                ));
            }
            let mut post = load(&state, ws, id).await?;
            post["cancel"] = json!({"cancelled": o.cancelled, "published": o.published, "in_flight": o.in_flight, "notes": notes});
            Ok::<_, ApiError>(axum::Json(post))
        },
    )
}
