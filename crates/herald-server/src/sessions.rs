//! A person's browser sessions: list them, sign one out, or sign out every one but this.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{MethodRouter, delete, get, post};
use herald_domain::SessionId;
use serde_json::json;

use crate::AppState;
use crate::auth::{Caller, micros};
use crate::error::ApiError;
use crate::json::rfc3339;

pub(crate) fn list() -> MethodRouter<AppState> {
    get(|State(state): State<AppState>, caller: Caller| async move {
        let idle = micros(state.config.session_idle);
        let rows = state.store.list_sessions(caller.user, idle).await?;
        let data: Vec<_> = rows
            .iter()
            .map(|s| {
                json!({
                    "id": s.id, "current": caller.session == Some(s.id),
                    "created_at": rfc3339(s.created_at), "last_seen_at": rfc3339(s.last_seen_at),
                    "expires_at": rfc3339(s.expires_at.min(s.last_seen_at.saturating_add(idle))),
                    "user_agent": s.user_agent, "address": s.address,
                })
            })
            .collect();
        Ok::<_, ApiError>(axum::Json(json!({ "data": data })))
    })
}

pub(crate) fn one() -> MethodRouter<AppState> {
    delete(
        |State(state): State<AppState>, caller: Caller, Path(id): Path<String>| async move {
            let id: SessionId = id.parse().map_err(|_| ApiError::not_found("session"))?;
            state
                .store
                .revoke_session(caller.user, id)
                .await
                .map_err(ApiError::missing("session"))?;
            Ok::<_, ApiError>(StatusCode::NO_CONTENT)
        },
    )
}

pub(crate) fn revoke_others() -> MethodRouter<AppState> {
    post(|State(state): State<AppState>, caller: Caller| async move {
        let ended = state
            .store
            .revoke_other_sessions(caller.user, caller.session)
            .await?;
        Ok::<_, ApiError>(axum::Json(json!({ "ended": ended })))
    })
}
