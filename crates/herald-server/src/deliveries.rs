//! What a person does with a delivery that waits for them: publish it now (missed, failed or
//! unconfirmed; a missed one only by an approver where the workspace requires approval), choose
//! which candidate is the post, or dismiss it; and the workspace's settings: the catch-up window,
//! which decides when a late delivery waits for them instead of going out, and whether editors'
//! posts wait for an approval.

use axum::extract::{Path, State};
use axum::routing::{MethodRouter, get, post};
use herald_domain::{DeliveryId, PostId, WorkspaceId};
use herald_store::DeliveryAction;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::auth::Caller;
use crate::client::ClientAddr;
use crate::error::{ApiError, ApiResult};
use crate::json::Body;

/// The longest catch-up window a workspace may set: a week.
pub(crate) const MAX_CATCH_UP_MINUTES: i64 = 7 * 24 * 60;

type Ids = Path<(String, String, String)>;

async fn act(
    state: &AppState,
    caller: &Caller,
    (ws, post, delivery): (String, String, String),
    action: DeliveryAction<'_>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let ws = caller.workspace(state, &ws).await?;
    let post = post.parse().map_err(|_| ApiError::not_found("post"))?;
    act_on(state, caller, ws, post, &delivery, action).await?;
    Ok(axum::Json(crate::posts::load(state, ws, post).await?))
}

/// Does what the `caller` asked with one delivery of one post of the workspace (the API's routes
/// and the post page's buttons).
pub(crate) async fn act_on(
    state: &AppState,
    caller: &Caller,
    ws: WorkspaceId,
    post: PostId,
    delivery: &str,
    action: DeliveryAction<'_>,
) -> ApiResult<()> {
    let delivery: DeliveryId = delivery.parse().map_err(|_| ApiError::not_found("delivery"))?;
    let (action, approving) =
        crate::approvals::publishing_now(state, caller, ws, post, delivery, action).await?;
    state
        .store
        .act_on_delivery(ws, post, delivery, action)
        .await
        .map_err(ApiError::missing("delivery"))?;
    if approving {
        crate::approvals::approved_by_publishing(state, caller, ws, post).await;
    }
    if matches!(
        action,
        DeliveryAction::PublishNow | DeliveryAction::PublishNowNotMissed
    ) {
        state.wake.notify_one();
    }
    Ok(())
}

/// `POST …/deliveries/{d}/publish-now`: a missed, failed or unconfirmed delivery starts again now.
pub(crate) fn publish_now() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>, caller: Caller, Path(ids): Ids| async move {
            act(&state, &caller, ids, DeliveryAction::PublishNow).await
        },
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Choice {
    platform_post_id: String,
}

/// `POST …/deliveries/{d}/choose`: this candidate is the post; the delivery is `published`.
pub(crate) fn choose() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>, caller: Caller, Path(ids): Ids, Body(c): Body<Choice>| async move {
            act(&state, &caller, ids, DeliveryAction::Choose(&c.platform_post_id)).await
        },
    )
}

/// `POST …/deliveries/{d}/dismiss`: the person has looked; Herald stops asking.
pub(crate) fn dismiss() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>, caller: Caller, Path(ids): Ids| async move {
            act(&state, &caller, ids, DeliveryAction::Dismiss).await
        },
    )
}

/// A change to the workspace's settings: what is absent stays.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct SettingsPatch {
    pub catch_up_minutes: Option<i64>,
    /// Editors' posts wait for an admin's or owner's approval before they are published.
    pub require_approval: Option<bool>,
    /// Every member signs in with a second factor (those without one are led to enrol).
    pub require_two_factor: Option<bool>,
}

/// The workspace's settings as the API answers them.
async fn settings_json(state: &AppState, ws: WorkspaceId) -> ApiResult<serde_json::Value> {
    Ok(json!({
        "catch_up_minutes": state.store.catch_up_minutes(ws).await?,
        "require_approval": state.store.require_approval(ws).await?,
        "require_two_factor": state.store.require_two_factor(ws).await?,
    }))
}

/// Changes what `p` gives (admins and owners, as the route table declares), each setting audited
/// as `settings.changed`; nothing changes when a value is refused (422).
pub(crate) async fn change_settings(
    state: &AppState,
    caller: &Caller,
    addr: ClientAddr,
    ws: WorkspaceId,
    p: &SettingsPatch,
) -> ApiResult<()> {
    // Two-factor sign-in is changed only from a browser session that proved itself lately.
    if p.require_two_factor.is_some() {
        crate::two_factor::require_fresh(
            state,
            caller,
            "changing whether the workspace requires two-factor sign-in",
        )
        .await?;
    }
    if let Some(m) = p.catch_up_minutes
        && !(0..=MAX_CATCH_UP_MINUTES).contains(&m)
    {
        return Err(ApiError::unprocessable(
            "invalid_catch_up_minutes",
            format!("`catch_up_minutes` must be between 0 and {MAX_CATCH_UP_MINUTES} (a week)"),
        ));
    }
    if let Some(m) = p.catch_up_minutes {
        state.store.set_catch_up_minutes(ws, m).await?;
        changed(state, caller, addr, ws, &format!("catch_up_minutes={m}")).await;
    }
    if let Some(on) = p.require_approval {
        state.store.set_require_approval(ws, on).await?;
        changed(state, caller, addr, ws, &format!("require_approval={on}")).await;
    }
    if let Some(on) = p.require_two_factor {
        state.store.set_require_two_factor(ws, on).await?;
        changed(state, caller, addr, ws, &format!("require_two_factor={on}")).await;
    }
    Ok(())
}

async fn changed(state: &AppState, caller: &Caller, addr: ClientAddr, ws: WorkspaceId, detail: &str) {
    crate::audit::record(
        state,
        Some(ws),
        crate::audit::actor(caller),
        "settings.changed",
        format!("workspace:{ws}"),
        Some(addr),
        detail,
    )
    .await;
}

/// `GET`/`PATCH /workspaces/{ws}/settings`: the workspace's catch-up window, and whether editors'
/// posts wait for an approval.
pub(crate) fn settings() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, caller: Caller, Path(ws): Path<String>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            Ok::<_, ApiError>(axum::Json(settings_json(&state, ws).await?))
        },
    )
    .patch(
        |State(state): State<AppState>,
         caller: Caller,
         addr: ClientAddr,
         Path(ws): Path<String>,
         Body(p): Body<SettingsPatch>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            change_settings(&state, &caller, addr, ws, &p).await?;
            Ok::<_, ApiError>(axum::Json(settings_json(&state, ws).await?))
        },
    )
}
