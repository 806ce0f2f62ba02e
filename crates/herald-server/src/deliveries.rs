//! What a person does with a delivery that waits for them: publish it now (missed, failed or
//! unconfirmed), choose which candidate is the post, or dismiss it; and the workspace's catch-up
//! window, which decides when a late delivery waits for them instead of going out.

use axum::extract::{Path, State};
use axum::routing::{MethodRouter, get, post};
use herald_domain::{DeliveryId, PostId, WorkspaceId};
use herald_store::DeliveryAction;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::json::Body;

/// The longest catch-up window a workspace may set: a week.
const MAX_CATCH_UP_MINUTES: i64 = 7 * 24 * 60;

type Ids = Path<(String, String, String)>;

async fn act(
    state: &AppState,
    caller: &Caller,
    (ws, post, delivery): (String, String, String),
    action: DeliveryAction<'_>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let ws = caller.workspace(state, &ws).await?;
    let post = post.parse().map_err(|_| ApiError::not_found("post"))?;
    act_on(state, ws, post, &delivery, action).await?;
    Ok(axum::Json(crate::posts::load(state, ws, post).await?))
}

/// Does what the person asked with one delivery of one post of the workspace (the API's routes
/// and the post page's buttons).
pub(crate) async fn act_on(
    state: &AppState,
    ws: WorkspaceId,
    post: PostId,
    delivery: &str,
    action: DeliveryAction<'_>,
) -> ApiResult<()> {
    let delivery: DeliveryId = delivery.parse().map_err(|_| ApiError::not_found("delivery"))?;
    state
        .store
        .act_on_delivery(ws, post, delivery, action)
        .await
        .map_err(ApiError::missing("delivery"))?;
    if matches!(action, DeliveryAction::PublishNow) {
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsPatch {
    catch_up_minutes: Option<i64>,
}

/// `GET`/`PATCH /workspaces/{ws}/settings`: the workspace's catch-up window.
pub(crate) fn settings() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, caller: Caller, Path(ws): Path<String>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            let minutes = state.store.catch_up_minutes(ws).await?;
            Ok::<_, ApiError>(axum::Json(json!({ "catch_up_minutes": minutes })))
        },
    )
    .patch(
        |State(state): State<AppState>,
         caller: Caller,
         Path(ws): Path<String>,
         Body(p): Body<SettingsPatch>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            if let Some(m) = p.catch_up_minutes {
                if !(0..=MAX_CATCH_UP_MINUTES).contains(&m) {
                    return Err(ApiError::unprocessable(
                        "invalid_catch_up_minutes",
                        format!("`catch_up_minutes` must be between 0 and {MAX_CATCH_UP_MINUTES} (a week)"),
                    ));
                }
                state.store.set_catch_up_minutes(ws, m).await?;
                let (by, detail) = (crate::audit::actor(&caller), format!("catch_up_minutes={m}"));
                crate::audit::record(
                    &state,
                    Some(ws),
                    by,
                    "settings.changed",
                    format!("workspace:{ws}"),
                    None,
                    &detail,
                )
                .await;
            }
            let minutes = state.store.catch_up_minutes(ws).await?;
            Ok(axum::Json(json!({ "catch_up_minutes": minutes })))
        },
    )
}
