//! Drafts on the API (`/workspaces/{ws}/drafts`): a post being written, saved whatever rules it
//! breaks, with no time and no deliveries; reading one answers the rules it breaks now (the same
//! check as the composer's). Scheduling goes through `POST …/posts` with the draft's content.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{MethodRouter, get};
use herald_domain::{DraftId, WorkspaceId};
use herald_store::DraftRow;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::json::{Body, rfc3339};
use crate::posts::PostInput;

/// The most drafts one list shows.
const LIST_MAX: i64 = 200;

/// A draft's content as it was saved.
pub(crate) fn content(d: &DraftRow) -> PostInput {
    serde_json::from_str(&d.body).unwrap_or_default()
}

/// The rules a draft breaks now: every target's, and its time; a target or file that no longer
/// resolves is one more problem, not an error.
pub(crate) async fn problems(state: &AppState, ws: WorkspaceId, input: &PostInput) -> Vec<Value> {
    if input.targets.is_empty() {
        return vec![
            json!({"profile_id": null, "rule": "no_targets", "message": "pick at least one profile"}),
        ];
    }
    match crate::posts::check(state, ws, input).await {
        Ok(v) => v,
        Err(e) => vec![json!({"profile_id": null, "rule": e.code, "message": e.message})],
    }
}

fn to_json(d: &DraftRow, violations: Option<Vec<Value>>) -> Value {
    let mut v = json!({
        "id": d.id, "created_by": d.created_by, "created_at": rfc3339(d.created_at),
        "updated_at": rfc3339(d.updated_at), "draft": serde_json::to_value(content(d)).unwrap_or_default(),
    });
    if let Some(problems) = violations {
        v["violations"] = json!(problems);
    }
    v
}

fn draft_id(id: &str) -> ApiResult<DraftId> {
    id.parse().map_err(|_| ApiError::not_found("draft"))
}

pub(crate) fn collection() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, caller: Caller, Path(ws): Path<String>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            let data: Vec<Value> = state
                .store
                .list_drafts(ws, LIST_MAX)
                .await?
                .iter()
                .map(|d| to_json(d, None))
                .collect();
            Ok::<_, ApiError>(axum::Json(json!({ "data": data })))
        },
    )
    .post(
        |State(state): State<AppState>,
         caller: Caller,
         Path(ws): Path<String>,
         Body(input): Body<PostInput>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            let body = serde_json::to_string(&input).map_err(|e| ApiError::internal(&e))?;
            let id = state.store.save_draft(ws, caller.user, None, &body).await?;
            let d = state.store.get_draft(ws, id).await?;
            let problems = problems(&state, ws, &input).await;
            Ok::<_, ApiError>((StatusCode::CREATED, axum::Json(to_json(&d, Some(problems)))))
        },
    )
}

pub(crate) fn one() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, caller: Caller, Path((ws, id)): Path<(String, String)>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            let d = state
                .store
                .get_draft(ws, draft_id(&id)?)
                .await
                .map_err(ApiError::missing("draft"))?;
            let problems = problems(&state, ws, &content(&d)).await;
            Ok::<_, ApiError>(axum::Json(to_json(&d, Some(problems))))
        },
    )
    .put(
        |State(state): State<AppState>,
         caller: Caller,
         Path((ws, id)): Path<(String, String)>,
         Body(input): Body<PostInput>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            let body = serde_json::to_string(&input).map_err(|e| ApiError::internal(&e))?;
            let id = state
                .store
                .save_draft(ws, caller.user, Some(draft_id(&id)?), &body)
                .await
                .map_err(ApiError::missing("draft"))?;
            let d = state.store.get_draft(ws, id).await?;
            let problems = problems(&state, ws, &input).await;
            Ok::<_, ApiError>(axum::Json(to_json(&d, Some(problems))))
        },
    )
    .delete(
        |State(state): State<AppState>, caller: Caller, Path((ws, id)): Path<(String, String)>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            state
                .store
                .delete_draft(ws, draft_id(&id)?)
                .await
                .map_err(ApiError::missing("draft"))?;
            Ok::<_, ApiError>(StatusCode::NO_CONTENT)
        },
    )
}
