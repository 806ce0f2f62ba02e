//! Approvals: where a workspace requires them, an editor's post waits (`pending_approval`) until an
//! admin or owner approves it, or rejects it saying why; an editor's later edit submits it again,
//! a post not approved by its time becomes `missed`, and only an approver publishes a missed post
//! now. The API's `…/approve` and `…/reject` and the post page's forms, through the same functions.

use std::collections::HashSet;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{MethodRouter, post};
use herald_domain::delivery::DeliveryStatus;
use herald_domain::{DeliveryId, PostId, Role, UserId, WorkspaceId};
use herald_store::{ApprovalRow, Approved, Decision, DeliveryAction, NewNotification, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::audit;
use crate::auth::Caller;
use crate::client::ClientAddr;
use crate::error::{ApiError, ApiResult};
use crate::json::{Body, FormFields, rfc3339};
use crate::web::{Me, error_page, see_other, signed_in};

/// The longest comment an approver may leave, in characters.
const MAX_COMMENT: usize = 2_000;

/// Whether a member with `role` approves posts: admins and owners.
pub(crate) fn approves(role: Role) -> bool {
    role >= Role::Admin
}

/// The caller's role in `ws`: the one the access check read for a page, else their membership;
/// 404 when they are not a member.
pub(crate) async fn role_of(state: &AppState, caller: &Caller, ws: WorkspaceId) -> ApiResult<Role> {
    if let Some((acting, role)) = caller.acting
        && acting == ws
    {
        return Ok(role);
    }
    state
        .store
        .membership(caller.user, ws)
        .await?
        .ok_or_else(|| ApiError::not_found("workspace"))
}

/// Whether what `user` schedules or edits in `ws` waits for an approval: the workspace requires
/// one and they do not approve.
pub(crate) async fn held_for(state: &AppState, ws: WorkspaceId, user: UserId) -> ApiResult<bool> {
    if !state.store.require_approval(ws).await? {
        return Ok(false);
    }
    let role = state
        .store
        .membership(user, ws)
        .await?
        .ok_or_else(|| ApiError::not_found("workspace"))?;
    Ok(!approves(role))
}

/// 403 for what only an approver may do where the workspace requires approval.
fn approvers_only(what: &str, held: Role) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "role_required",
        format!(
            "this workspace requires approval, so only an admin or owner can {what}; you are {}",
            held.with_article()
        ),
    )
    .with("needed_role", Role::Admin.as_str().into())
}

/// A comment as sent: trimmed, `None` when empty; 422 naming the `comment` field when too long.
fn comment_of(raw: Option<&str>) -> ApiResult<Option<String>> {
    let comment = raw.map(str::trim).filter(|c| !c.is_empty());
    if comment.is_some_and(|c| c.chars().count() > MAX_COMMENT) {
        return Err(ApiError::unprocessable(
            "comment_too_long",
            format!("`comment` must be at most {MAX_COMMENT} characters"),
        )
        .with("field", "comment".into()));
    }
    Ok(comment.map(str::to_owned))
}

/// A decision the store refused: the post is not the workspace's (404), or waits for no approval
/// (409 `not_pending_approval`).
fn refused(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::not_found("post"),
        StoreError::Conflict(why) => ApiError::new(StatusCode::CONFLICT, "not_pending_approval", why),
        other => other.into(),
    }
}

/// Approves a post that waits for it, with an optional comment (admins and owners, as the route
/// table declares): its deliveries are scheduled, or `missed` if its time already came.
pub(crate) async fn approve_post(
    state: &AppState,
    caller: &Caller,
    addr: ClientAddr,
    ws: WorkspaceId,
    post: PostId,
    comment: Option<&str>,
) -> ApiResult<Approved> {
    let comment = comment_of(comment)?;
    let done = state
        .store
        .approve_post(ws, post, caller.user, comment.as_deref())
        .await
        .map_err(refused)?;
    // The comment is the approver's words: the log keeps only what happened.
    let detail = format!("scheduled={},missed={}", done.scheduled, done.missed);
    audit::record(
        state,
        Some(ws),
        audit::actor(caller),
        "post.approved",
        format!("post:{post}"),
        Some(addr),
        &detail,
    )
    .await;
    if done.scheduled > 0 {
        state.wake.notify_one();
    }
    Ok(done)
}

/// Rejects a post that waits for approval, saying why (admins and owners, as the route table
/// declares; 422 `comment_required` without a comment): it keeps waiting, for an edit that
/// submits it again. The workspace is told, with the comment.
pub(crate) async fn reject_post(
    state: &AppState,
    caller: &Caller,
    addr: ClientAddr,
    ws: WorkspaceId,
    post: PostId,
    comment: Option<&str>,
) -> ApiResult<()> {
    let Some(comment) = comment_of(comment)? else {
        return Err(ApiError::unprocessable(
            "comment_required",
            "say why the post is rejected in `comment`: its author reads it to fix the post",
        )
        .with("field", "comment".into()));
    };
    state
        .store
        .reject_post(ws, post, caller.user, &comment)
        .await
        .map_err(refused)?;
    audit::record(
        state,
        Some(ws),
        audit::actor(caller),
        "post.rejected",
        format!("post:{post}"),
        Some(addr),
        "",
    )
    .await;
    let message = format!("A post was rejected: {comment}");
    let at = state.store.clock().now().as_microsecond();
    let told = state
        .store
        .notify(NewNotification {
            workspace: ws,
            kind: "post_rejected",
            subject: ("post", post.to_string()),
            link: format!("/api/v1/workspaces/{ws}/posts/{post}"),
            message: &message,
            dedupe_key: format!("post:{post}:rejected:{at}"),
        })
        .await;
    if let Err(e) = told {
        tracing::warn!(error = %e, "the rejection could not be notified");
    }
    Ok(())
}

/// What "publish now" may do for `caller` where the workspace requires approval: a member who
/// does not approve is refused a missed delivery (403) and publishes only a failed or unconfirmed
/// one; an approver publishing a missed one approves its post (`true`). Other actions, and
/// workspaces without approval, are unchanged.
pub(crate) async fn publishing_now<'a>(
    state: &AppState,
    caller: &Caller,
    ws: WorkspaceId,
    post: PostId,
    delivery: DeliveryId,
    action: DeliveryAction<'a>,
) -> ApiResult<(DeliveryAction<'a>, bool)> {
    if !matches!(action, DeliveryAction::PublishNow) || !state.store.require_approval(ws).await? {
        return Ok((action, false));
    }
    let role = role_of(state, caller, ws).await?;
    let missed = state
        .store
        .get_post(ws, post)
        .await
        .map_err(ApiError::missing("delivery"))?
        .deliveries
        .iter()
        .any(|d| d.id == delivery && d.status == DeliveryStatus::Missed);
    if approves(role) {
        return Ok((action, missed));
    }
    if missed {
        return Err(approvers_only("publish a missed post now", role));
    }
    // Checked again where the delivery changes, should it become missed meanwhile.
    Ok((DeliveryAction::PublishNowNotMissed, false))
}

/// An approver published a missed post now: unless its latest decision approved it, that is its
/// approval (kept, and audited). A failure is logged; the delivery goes out either way.
pub(crate) async fn approved_by_publishing(state: &AppState, caller: &Caller, ws: WorkspaceId, post: PostId) {
    let latest = match state.store.approvals(ws, post).await {
        Ok(decisions) => decisions.last().map(|d| d.decision),
        Err(e) => {
            tracing::warn!(error = %e, "the post's approvals could not be read");
            return;
        }
    };
    if matches!(latest, None | Some(Decision::Approved)) {
        return;
    }
    if let Err(e) = state
        .store
        .record_approval(ws, post, Decision::Approved, Some(caller.user))
        .await
    {
        tracing::warn!(error = %e, "the approval by publishing could not be kept");
        return;
    }
    audit::record(
        state,
        Some(ws),
        audit::actor(caller),
        "post.approved",
        format!("post:{post}"),
        None,
        "publish_now",
    )
    .await;
}

/// Makes `missed` the deliveries whose post was not approved by its time, and tells each
/// workspace, once per post and occurrence (the janitor runs it every minute and whenever the
/// clock moves).
pub(crate) async fn expire(state: &AppState) {
    let missed = match state.store.miss_unapproved().await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "posts not approved by their time could not be made missed");
            return;
        }
    };
    if missed.is_empty() {
        return;
    }
    tracing::info!(
        deliveries = missed.len(),
        "posts not approved by their time are missed"
    );
    let mut told = HashSet::new();
    for m in &missed {
        if !told.insert(m.post) {
            continue;
        }
        let n = NewNotification {
            workspace: m.workspace,
            kind: "delivery_missed",
            subject: ("post", m.post.to_string()),
            link: format!("/api/v1/workspaces/{}/posts/{}", m.workspace, m.post),
            message: "A post was not approved before its time, so Herald did not publish it; an admin or owner can publish it now.",
            dedupe_key: format!("post:{}:not_approved:{}", m.post, m.fence),
        };
        if let Err(e) = state.store.notify(n).await {
            tracing::warn!(error = %e, "a post not approved in time could not be notified");
        }
    }
}

/// Where a post's approval stands, by its latest decision: `pending`, `approved`, `rejected` or
/// `expired`.
pub(crate) fn state_of(decisions: &[ApprovalRow]) -> Option<&'static str> {
    decisions.last().map(|d| match d.decision {
        Decision::Submitted => "pending",
        Decision::Approved => "approved",
        Decision::Rejected => "rejected",
        Decision::Expired => "expired",
    })
}

/// A post's approval as the API shows it: `null` for a post that never needed one.
pub(crate) fn approval_json(decisions: &[ApprovalRow]) -> Value {
    let Some(state) = state_of(decisions) else {
        return Value::Null;
    };
    let decisions: Vec<Value> = decisions
        .iter()
        .map(|d| {
            json!({"decision": d.decision.as_str(), "by": d.by, "comment": d.comment, "at": rfc3339(d.at)})
        })
        .collect();
    json!({"state": state, "decisions": decisions})
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    comment: Option<String>,
}

async fn ids(state: &AppState, caller: &Caller, ws: &str, id: &str) -> ApiResult<(WorkspaceId, PostId)> {
    let ws = caller.workspace(state, ws).await?;
    Ok((ws, post_id(id)?))
}

fn post_id(id: &str) -> ApiResult<PostId> {
    id.parse().map_err(|_| ApiError::not_found("post"))
}

/// `POST /workspaces/{ws}/posts/{id}/approve` (`comment`, optional): the post as it is now.
pub(crate) fn approve() -> MethodRouter<AppState> {
    decision_api(Verdict::Approve)
}

/// `POST /workspaces/{ws}/posts/{id}/reject` (`comment`, required): the post as it is now.
pub(crate) fn reject() -> MethodRouter<AppState> {
    decision_api(Verdict::Reject)
}

fn decision_api(verdict: Verdict) -> MethodRouter<AppState> {
    post(
        move |State(state): State<AppState>,
              caller: Caller,
              addr: ClientAddr,
              Path((ws, id)): Path<(String, String)>,
              Body(b): Body<DecisionBody>| async move {
            let (ws, post) = ids(&state, &caller, &ws, &id).await?;
            let comment = b.comment.as_deref();
            verdict.make(&state, &caller, addr, ws, post, comment).await?;
            Ok::<_, ApiError>(axum::Json(crate::posts::load(&state, ws, post).await?))
        },
    )
}

/// Back to the post page after a decision, or the page again saying why it was refused (a
/// comment's problem beside the form's field).
async fn after(
    state: &AppState,
    me: &Me,
    id: &str,
    form: &'static str,
    typed: &str,
    done: ApiResult<()>,
) -> Response {
    match done {
        Ok(()) => see_other(&format!("/posts/{id}"), None),
        Err(e) if e.status == StatusCode::NOT_FOUND => error_page(&e),
        Err(e) => crate::post_page::with_decision_error(state, me, id, form, typed, e).await,
    }
}

/// The decision a page form makes.
#[derive(Clone, Copy)]
enum Verdict {
    Approve,
    Reject,
}

impl Verdict {
    /// Approves or rejects the post, as the API and the page both do.
    async fn make(
        self,
        state: &AppState,
        caller: &Caller,
        addr: ClientAddr,
        ws: WorkspaceId,
        post: PostId,
        comment: Option<&str>,
    ) -> ApiResult<()> {
        match self {
            Verdict::Approve => approve_post(state, caller, addr, ws, post, comment)
                .await
                .map(|_| ()),
            Verdict::Reject => reject_post(state, caller, addr, ws, post, comment).await,
        }
    }

    /// The page form's name, which a refusal's page shows again.
    fn form(self) -> &'static str {
        match self {
            Verdict::Approve => "approve",
            Verdict::Reject => "reject",
        }
    }
}

/// `POST /posts/{id}/approve` (`comment`, optional): back to the post page.
pub(crate) fn approve_form() -> MethodRouter<AppState> {
    decision_form(Verdict::Approve)
}

/// `POST /posts/{id}/reject` (`comment`, required): back to the post page.
pub(crate) fn reject_form() -> MethodRouter<AppState> {
    decision_form(Verdict::Reject)
}

fn decision_form(verdict: Verdict) -> MethodRouter<AppState> {
    post(
        move |State(state): State<AppState>,
              caller: Result<Caller, ApiError>,
              addr: ClientAddr,
              Path(id): Path<String>,
              FormFields(f): FormFields| async move {
            let me = match signed_in(&state, caller, &format!("/posts/{id}")).await {
                Ok(me) => me,
                Err(page) => return page,
            };
            let comment = f.get("comment").map_or("", String::as_str);
            let done = match post_id(&id) {
                // Decided on the post as the page showed it, or not at all (409 `stale_edit`).
                Ok(post) => match crate::post_page::unchanged_since(&state, me.ws, post, f.get("seen")).await
                {
                    Ok(()) => {
                        verdict
                            .make(&state, &me.caller, addr, me.ws, post, Some(comment))
                            .await
                    }
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            };
            after(&state, &me, &id, verdict.form(), comment, done).await
        },
    )
}
