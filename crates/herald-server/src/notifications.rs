//! In-app notifications: what needs a person in the workspace (a delivery failed, unconfirmed,
//! missed or waiting for a reconnect; a profile expiring soon or needing a reconnect), newest
//! first, each linking to what it is about, with read state per user.

use axum::extract::{Path, Query, State};
use axum::routing::{MethodRouter, get, post};
use herald_domain::NotificationId;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::rfc3339;

/// The most notifications one page shows.
const MAX_LIMIT: i64 = 200;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Only those this user has not read.
    #[serde(default)]
    unread: bool,
    limit: Option<i64>,
}

/// `GET /workspaces/{ws}/notifications`.
pub(crate) fn list() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>,
         caller: Caller,
         Path(ws): Path<String>,
         Query(q): Query<ListQuery>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            let limit = q.limit.unwrap_or(50);
            if !(1..=MAX_LIMIT).contains(&limit) {
                return Err(ApiError::bad_request(format!(
                    "`limit` must be between 1 and {MAX_LIMIT}"
                )));
            }
            let rows = state
                .store
                .notifications(ws, caller.user, q.unread, limit)
                .await?;
            let data: Vec<Value> = rows
                .iter()
                .map(|n| {
                    json!({
                        "id": n.id, "kind": n.kind, "message": n.message, "link": n.link,
                        "subject": {"type": n.subject_type, "id": n.subject_id},
                        "created_at": rfc3339(n.created_at), "read": n.read,
                    })
                })
                .collect();
            Ok::<_, ApiError>(axum::Json(json!({ "data": data })))
        },
    )
}

/// `POST /workspaces/{ws}/notifications/{id}/read`: this user has read it.
pub(crate) fn read_one() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>, caller: Caller, Path((ws, id)): Path<(String, String)>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            let id: NotificationId = id.parse().map_err(|_| ApiError::not_found("notification"))?;
            state
                .store
                .mark_read(ws, caller.user, Some(id))
                .await
                .map_err(ApiError::missing("notification"))?;
            Ok::<_, ApiError>(axum::Json(json!({ "read": true })))
        },
    )
}

/// `POST /workspaces/{ws}/notifications/read`: this user has read them all.
pub(crate) fn read_all() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>, caller: Caller, Path(ws): Path<String>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            let n = state.store.mark_read(ws, caller.user, None).await?;
            Ok::<_, ApiError>(axum::Json(json!({ "marked": n })))
        },
    )
}
