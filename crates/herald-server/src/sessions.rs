//! A person's browser sessions: list them, sign one out, or sign out every one but this.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{MethodRouter, delete, get, post};
use herald_domain::SessionId;
use serde_json::json;

use crate::AppState;
use crate::audit;
use crate::auth::{Caller, micros};
use crate::client::ClientAddr;
use crate::error::{ApiError, ApiResult};
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

/// Signs out one of the caller's sessions (the API's and the settings page's; another person's
/// is 404), audited as `session.revoked`.
pub(crate) async fn end_one(state: &AppState, caller: &Caller, addr: ClientAddr, id: &str) -> ApiResult<()> {
    let id: SessionId = id.parse().map_err(|_| ApiError::not_found("session"))?;
    state
        .store
        .revoke_session(caller.user, id)
        .await
        .map_err(ApiError::missing("session"))?;
    let by = audit::actor(caller);
    audit::record(
        state,
        None,
        by,
        "session.revoked",
        format!("session:{id}"),
        Some(addr),
        "",
    )
    .await;
    Ok(())
}

/// Signs out every session of the caller's but the one they use (the API's and the settings
/// page's), audited as `session.revoked_others`: how many ended.
pub(crate) async fn end_others(state: &AppState, caller: &Caller, addr: ClientAddr) -> ApiResult<u64> {
    let ended = state
        .store
        .revoke_other_sessions(caller.user, caller.session)
        .await?;
    let (by, target) = (audit::actor(caller), format!("user:{}", caller.user));
    let detail = format!("ended={ended}");
    audit::record(
        state,
        None,
        by,
        "session.revoked_others",
        target,
        Some(addr),
        &detail,
    )
    .await;
    Ok(ended)
}

pub(crate) fn one() -> MethodRouter<AppState> {
    delete(
        |State(state): State<AppState>, caller: Caller, addr: ClientAddr, Path(id): Path<String>| async move {
            end_one(&state, &caller, addr, &id).await?;
            Ok::<_, ApiError>(StatusCode::NO_CONTENT)
        },
    )
}

pub(crate) fn revoke_others() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>, caller: Caller, addr: ClientAddr| async move {
            let ended = end_others(&state, &caller, addr).await?;
            Ok::<_, ApiError>(axum::Json(json!({ "ended": ended })))
        },
    )
}
