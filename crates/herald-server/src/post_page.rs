//! The post page (`/posts/{id}`): each delivery's status and timeline in plain words, its permalink
//! once published, and what a waiting delivery offers (publish now, choose the right candidate,
//! dismiss), with cancelling the post; where it waits for approval, who decided what and, for an
//! admin or owner, the forms to approve or reject it. The same store queries and actions as the
//! API's routes, so another workspace's post is a 404 here as there.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use herald_domain::clock::from_micros;
use herald_domain::delivery::DeliveryStatus;
use herald_domain::{PostId, UserId, WorkspaceId};
use herald_store::{ApprovalRow, Decision, DeliveryAction, DeliveryEventRow, PostRow};
use jiff::tz::TimeZone;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::json::FormFields;
use crate::web::{Me, error_page, render, see_other, sentence, signed_in};

/// An instant as the person reads it: in the post's zone, which is named.
pub(crate) fn local(micros: i64, zone: &str) -> String {
    let at = from_micros(micros);
    match TimeZone::get(zone) {
        Ok(tz) => format!(
            "{} ({zone})",
            at.to_zoned_datetime(tz).strftime("%a %-d %b %Y, %H:%M")
        ),
        Err(_) => at.to_string(),
    }
}

fn in_zone(micros: i64, zone: &str, format: &str) -> String {
    let tz = TimeZone::get(zone).unwrap_or(TimeZone::UTC);
    from_micros(micros)
        .to_zoned_datetime(tz)
        .strftime(format)
        .to_string()
}

/// A digest of what a person saw of the post when a page showed it: text, media, time, and each
/// delivery's state. A form sends it back, so an edit made on a stale page is refused.
pub(crate) fn version(p: &PostRow) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(p.text.as_bytes());
    for m in &p.media_ids {
        h.update(m.to_string().as_bytes());
    }
    h.update(format!("|{}|{}", p.scheduled_at, p.time_zone).as_bytes());
    for d in &p.deliveries {
        h.update(format!("|{}:{}:{}", d.id, d.status.as_str(), d.updated_at).as_bytes());
    }
    hex::encode(&h.finalize()[..8])
}

/// Refuses an edit or a decision sent from a page that showed the post as it no longer is
/// (`seen` is the page's [`version`]; a form without one, the calendar's drag, is fenced by the
/// edit alone).
pub(crate) async fn unchanged_since(
    state: &AppState,
    ws: WorkspaceId,
    id: PostId,
    seen: Option<&String>,
) -> ApiResult<()> {
    let Some(seen) = seen.filter(|s| !s.is_empty()) else {
        return Ok(());
    };
    let now = state
        .store
        .get_post(ws, id)
        .await
        .map_err(ApiError::missing("post"))?;
    if version(&now) == *seen {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "stale_edit",
        "this post changed after this page showed it (an edit elsewhere, or publishing started); it is shown as it is now, so look again and make your change again",
    ))
}

/// Edits the post `id` from a page's form (the API's fenced edit, `by` the person), unless the
/// page was stale.
pub(crate) async fn edit_from_page(
    state: &AppState,
    ws: WorkspaceId,
    id: &str,
    seen: Option<&String>,
    patch: &crate::posts::PostPatch,
    by: UserId,
) -> ApiResult<()> {
    let post = post_of(id)?;
    unchanged_since(state, ws, post, seen).await?;
    crate::posts::edit(state, ws, post, patch, by).await
}

/// What a status means, for a person.
pub(crate) fn status_words(s: DeliveryStatus) -> &'static str {
    match s {
        DeliveryStatus::PendingApproval => "Waiting for an admin or owner to approve it",
        DeliveryStatus::Scheduled => "Scheduled",
        DeliveryStatus::Publishing => "Publishing now",
        DeliveryStatus::Processing => "The platform is processing it",
        DeliveryStatus::RetryWait => "Waiting to try again",
        DeliveryStatus::Published => "Published",
        DeliveryStatus::Unconfirmed => "Unconfirmed: the platform did not say whether it was published",
        DeliveryStatus::NeedsReconnect => "Waiting for the profile to be reconnected",
        DeliveryStatus::Missed => "Missed: it was not published at its time and waits for you",
        DeliveryStatus::Failed => "Failed",
        DeliveryStatus::Cancelled => "Cancelled",
    }
}

/// One event of a delivery's timeline.
struct Event {
    at: String,
    what: String,
}

/// A post the platform shows that may be this delivery's.
struct Candidate {
    id: String,
    permalink: Option<String>,
}

struct DeliveryView {
    id: String,
    handle: String,
    platform: &'static str,
    sandbox: bool,
    status: &'static str,
    words: &'static str,
    permalink: Option<String>,
    error: Option<String>,
    events: Vec<Event>,
    can_publish_now: bool,
    /// Missed, in a workspace that requires approval, seen by someone who does not approve: only
    /// an admin or owner can publish it now.
    publish_needs_approver: bool,
    can_dismiss: bool,
    candidates: Vec<Candidate>,
}

/// One decision about the post's approval, in words.
struct DecisionLine {
    at: String,
    what: String,
    comment: Option<String>,
}

/// Where the post's approval stands, and its decisions, oldest first.
struct ApprovalView {
    /// `pending`, `approved`, `rejected` or `expired`.
    state: &'static str,
    words: &'static str,
    decisions: Vec<DecisionLine>,
}

#[derive(Template)]
#[template(path = "post.html")]
struct PostPage {
    email: String,
    id: String,
    text: String,
    /// The texts of a thread's later parts, in order.
    thread: Vec<String>,
    when: String,
    deliveries: Vec<DeliveryView>,
    /// For a post that waits, or waited, for approval.
    approval: Option<ApprovalView>,
    /// The post waits for approval and the person approves: the approve and reject forms show.
    can_decide: bool,
    /// What was typed in the approve and reject forms, and why it was refused, beside them.
    approve_comment: String,
    approve_error: Option<String>,
    reject_comment: String,
    reject_error: Option<String>,
    cancellable: bool,
    /// Every target is still waiting: the text and time may change.
    editable: bool,
    version: String,
    date: String,
    time: String,
    zone: String,
    zones: Vec<String>,
    error: Option<String>,
    notice: Option<String>,
}

fn event_words(e: &DeliveryEventRow) -> String {
    let mut out = match (&e.from_status, e.outcome.as_str()) {
        (None, _) if e.to_status == DeliveryStatus::PendingApproval.as_str() => {
            "Submitted for approval".to_owned()
        }
        (None, _) => "Scheduled".to_owned(),
        (_, "attempt_started") => format!("Attempt {} started", e.attempt),
        (Some(from), outcome) => format!(
            "{} → {}: {}",
            from.replace('_', " "),
            e.to_status.replace('_', " "),
            outcome.replace('_', " ")
        ),
    };
    if let Some(d) = e.detail.as_deref().filter(|d| !d.is_empty()) {
        out.push_str(" (");
        out.push_str(d);
        out.push(')');
    }
    out
}

/// A decision about the post, in words, naming who made it by their email.
async fn decision_lines(
    state: &AppState,
    me: &Me,
    zone: &str,
    decisions: &[ApprovalRow],
) -> ApiResult<Vec<DecisionLine>> {
    let members = state.store.members(me.ws).await?;
    let who = |by: Option<UserId>| match by {
        None => "no one".to_owned(),
        Some(u) => members
            .iter()
            .find(|m| m.user == u)
            .map_or_else(|| "a former member".to_owned(), |m| m.email.clone()),
    };
    Ok(decisions
        .iter()
        .map(|d| DecisionLine {
            at: local(d.at, zone),
            what: match d.decision {
                Decision::Submitted => format!("Submitted for approval by {}", who(d.by)),
                Decision::Approved => format!("Approved by {}", who(d.by)),
                Decision::Rejected => format!("Rejected by {}", who(d.by)),
                Decision::Expired => "Not approved before its time: missed".to_owned(),
            },
            comment: d.comment.clone(),
        })
        .collect())
}

async fn view(state: &AppState, me: &Me, id: PostId) -> ApiResult<PostPage> {
    let p: PostRow = state
        .store
        .get_post(me.ws, id)
        .await
        .map_err(ApiError::missing("post"))?;
    let events = state.store.delivery_events(me.ws, id).await?;
    let profiles = state.store.list_profiles(me.ws).await?;
    let decisions = state.store.approvals(me.ws, id).await?;
    let approver = crate::approvals::approves(crate::approvals::role_of(state, &me.caller, me.ws).await?);
    // Where posts need approval, a missed one goes out only when an approver says so.
    let missed_needs_approver = !approver && state.store.require_approval(me.ws).await?;
    let waiting = p
        .deliveries
        .iter()
        .any(|d| d.status == DeliveryStatus::PendingApproval);
    let state_word = crate::approvals::state_of(&decisions).or(waiting.then_some("pending"));
    let approval = match state_word {
        Some(word) => Some(ApprovalView {
            state: word,
            words: match word {
                "approved" => "Approved",
                "rejected" => "Rejected: it waits for an edit, or an approval",
                "expired" => "Not approved before its time",
                _ => "Waiting for an admin or owner to approve it",
            },
            decisions: decision_lines(state, me, &p.time_zone, &decisions).await?,
        }),
        None => None,
    };
    let deliveries = p
        .deliveries
        .iter()
        .map(|d| {
            let profile = profiles.iter().find(|x| x.id == d.profile);
            let candidates: Vec<serde_json::Value> = d
                .candidates
                .as_deref()
                .and_then(|c| serde_json::from_str(c).ok())
                .unwrap_or_default();
            DeliveryView {
                id: d.id.to_string(),
                handle: profile.map_or_else(
                    || "a disconnected profile".to_owned(),
                    |x| format!("@{}", x.handle),
                ),
                platform: profile.map_or("", |x| x.platform.display_name()),
                sandbox: profile.is_some_and(|x| x.sandbox),
                status: d.status.as_str(),
                words: status_words(d.status),
                permalink: d.permalink.clone(),
                error: d.error_message.clone(),
                events: events
                    .iter()
                    .filter(|e| e.delivery == d.id)
                    .map(|e| Event {
                        at: local(e.at, &p.time_zone),
                        what: event_words(e),
                    })
                    .collect(),
                can_publish_now: match d.status {
                    DeliveryStatus::Missed => !missed_needs_approver,
                    DeliveryStatus::Failed | DeliveryStatus::Unconfirmed => true,
                    _ => false,
                },
                publish_needs_approver: d.status == DeliveryStatus::Missed && missed_needs_approver,
                can_dismiss: d.status == DeliveryStatus::Unconfirmed,
                candidates: candidates
                    .iter()
                    .filter_map(|c| {
                        Some(Candidate {
                            id: c["id"].as_str()?.to_owned(),
                            permalink: c["permalink"].as_str().map(str::to_owned),
                        })
                    })
                    .collect(),
            }
        })
        .collect();
    Ok(PostPage {
        email: me.email.clone(),
        id: p.id.to_string(),
        text: p.text.clone(),
        thread: p.thread.iter().map(|part| part.text.clone()).collect(),
        when: local(p.scheduled_at, &p.time_zone),
        cancellable: p.deliveries.iter().any(|d| d.status.is_untouched()),
        editable: p.deliveries.iter().all(|d| d.status.is_untouched()),
        version: version(&p),
        date: in_zone(p.scheduled_at, &p.time_zone, "%Y-%m-%d"),
        time: in_zone(p.scheduled_at, &p.time_zone, "%H:%M"),
        zone: p.time_zone.clone(),
        zones: crate::compose::zone_names(),
        deliveries,
        approval,
        can_decide: waiting && approver,
        approve_comment: String::new(),
        approve_error: None,
        reject_comment: String::new(),
        reject_error: None,
        error: None,
        notice: None,
    })
}

async fn show(
    state: &AppState,
    me: &Me,
    id: &str,
    error: Option<ApiError>,
    notice: Option<String>,
) -> Response {
    let Ok(id) = id.parse::<PostId>() else {
        return error_page(&ApiError::not_found("post"));
    };
    match view(state, me, id).await {
        Ok(mut page) => {
            let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
            page.error = error.as_ref().map(sentence);
            page.notice = notice;
            render(status, &page)
        }
        Err(e) => error_page(&e),
    }
}

/// The post page with `e` said at its top (a refused reschedule).
pub(crate) async fn with_error(state: &AppState, me: &Me, id: &str, e: ApiError) -> Response {
    show(state, me, id, Some(e), None).await
}

/// The post page after its `approve` or `reject` form was refused: a problem with the comment
/// beside that form's field (what was `typed` kept), anything else at the top.
pub(crate) async fn with_decision_error(
    state: &AppState,
    me: &Me,
    id: &str,
    form: &'static str,
    typed: &str,
    e: ApiError,
) -> Response {
    let Ok(post) = id.parse::<PostId>() else {
        return error_page(&ApiError::not_found("post"));
    };
    let mut page = match view(state, me, post).await {
        Ok(page) => page,
        Err(e) => return error_page(&e),
    };
    let said = Some(sentence(&e));
    let about_comment = matches!(&e.details, Some(("field", v)) if v.as_str() == Some("comment"));
    match (about_comment, form) {
        (true, "approve") => (page.approve_comment, page.approve_error) = (typed.to_owned(), said),
        (true, _) => (page.reject_comment, page.reject_error) = (typed.to_owned(), said),
        (false, _) => page.error = said,
    }
    render(e.status, &page)
}

/// `GET /posts/{id}`: the post and each delivery's story.
pub(crate) fn page() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, caller: Result<Caller, ApiError>, Path(id): Path<String>| async move {
            match signed_in(&state, caller, &format!("/posts/{id}")).await {
                Ok(me) => show(&state, &me, &id, None, None).await,
                Err(page) => page,
            }
        },
    )
}

fn post_of(id: &str) -> ApiResult<PostId> {
    id.parse().map_err(|_| ApiError::not_found("post"))
}

async fn cancel(state: &AppState, ws: WorkspaceId, id: &str) -> ApiResult<String> {
    let o = state
        .store
        .cancel_post(ws, post_of(id)?)
        .await
        .map_err(ApiError::missing("post"))?;
    let mut said = format!(
        "Cancelled {} delivery(ies). Published posts stay on the platform.",
        o.cancelled
    );
    if o.in_flight > 0 {
        said.push_str(&format!(
            " {} were already being published and could not be cancelled.",
            o.in_flight
        ));
    }
    Ok(said)
}

/// `POST /posts/{id}/cancel`: cancels what has not started (as the API's cancel does).
pub(crate) fn cancel_form() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>, caller: Result<Caller, ApiError>, Path(id): Path<String>| async move {
            let me = match signed_in(&state, caller, &format!("/posts/{id}")).await {
                Ok(me) => me,
                Err(page) => return page,
            };
            match cancel(&state, me.ws, &id).await {
                Ok(said) => show(&state, &me, &id, None, Some(said)).await,
                Err(e) if e.status == StatusCode::NOT_FOUND => error_page(&e),
                Err(e) => show(&state, &me, &id, Some(e), None).await,
            }
        },
    )
}

/// `POST /posts/{id}/deliveries/{d}/{action}`: `publish-now`, `dismiss`, or `choose` with the
/// form's `candidate`, through the same code as the API's routes; back to the post page.
pub(crate) fn act() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>,
         caller: Result<Caller, ApiError>,
         Path((id, delivery, action)): Path<(String, String, String)>,
         FormFields(f): FormFields| async move {
            let me = match signed_in(&state, caller, &format!("/posts/{id}")).await {
                Ok(me) => me,
                Err(page) => return page,
            };
            let candidate = f.get("candidate").cloned().unwrap_or_default();
            let action = match action.as_str() {
                "publish-now" => DeliveryAction::PublishNow,
                "dismiss" => DeliveryAction::Dismiss,
                "choose" => DeliveryAction::Choose(&candidate),
                _ => return error_page(&ApiError::not_found("action")),
            };
            let done = match post_of(&id) {
                Ok(post) => {
                    crate::deliveries::act_on(&state, &me.caller, me.ws, post, &delivery, action).await
                }
                Err(e) => Err(e),
            };
            match done {
                Ok(()) => see_other(&format!("/posts/{id}"), None),
                Err(e) if e.status == StatusCode::NOT_FOUND => error_page(&e),
                Err(e) => show(&state, &me, &id, Some(e), None).await,
            }
        },
    )
}

/// `POST /posts/{id}/edit` (`text`, `seen`): the post's shared text changes (through the API's
/// fenced edit), unless the page that sent it was stale.
pub(crate) fn edit() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>,
         caller: Result<Caller, ApiError>,
         Path(id): Path<String>,
         FormFields(f): FormFields| async move {
            let me = match signed_in(&state, caller, &format!("/posts/{id}")).await {
                Ok(me) => me,
                Err(page) => return page,
            };
            let patch = crate::posts::PostPatch {
                text: f.get("text").cloned(),
                ..Default::default()
            };
            match edit_from_page(&state, me.ws, &id, f.get("seen"), &patch, me.caller.user).await {
                Ok(()) => show(&state, &me, &id, None, Some("Saved.".to_owned())).await,
                Err(e) if e.status == StatusCode::NOT_FOUND => error_page(&e),
                Err(e) => show(&state, &me, &id, Some(e), None).await,
            }
        },
    )
}
