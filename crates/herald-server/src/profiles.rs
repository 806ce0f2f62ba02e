//! Profiles: their connection status as a person needs to see it, and disconnecting.

use axum::extract::{Path, State};
use axum::routing::{MethodRouter, get};
use herald_domain::ProfileId;
use herald_domain::platform::Feature;
use herald_domain::profile::{ConnectionState, ReconnectReason};
use herald_store::ProfileRow;
use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::rfc3339;

/// A token this close to expiry makes the profile `expiring_soon`.
const EXPIRING_SOON: SignedDuration = SignedDuration::from_hours(7 * 24);

/// The status a person sees, with the reason when the profile needs them.
pub(crate) fn status(p: &ProfileRow, now: i64) -> (&'static str, Option<&'static str>) {
    match p.state {
        ConnectionState::Disconnected => ("disconnected", None),
        ConnectionState::NeedsReconnect => (
            "needs_reconnect",
            Some(p.reason.unwrap_or(ReconnectReason::Expired).as_str()),
        ),
        ConnectionState::Connected if !p.missing_for(Feature::Publish).is_empty() => (
            "needs_reconnect",
            Some(ReconnectReason::PermissionMissing.as_str()),
        ),
        ConnectionState::Connected => match (p.token_expires_at, p.reconnect_by) {
            (Some(exp), _) if exp <= now => ("needs_reconnect", Some(ReconnectReason::Expired.as_str())),
            (Some(by), _) | (None, Some(by)) if by - now < EXPIRING_SOON.as_micros() as i64 => {
                ("expiring_soon", None)
            }
            _ => ("connected", None),
        },
    }
}

pub(crate) fn to_json(p: &ProfileRow, now: i64) -> Value {
    let (status, reason) = status(p, now);
    let requested: Vec<&str> = p.platform().permissions_via(p.login).map(|x| x.scope).collect();
    let missing: Vec<&str> = requested
        .iter()
        .copied()
        .filter(|s| !p.granted_scopes.iter().any(|g| g == s))
        .collect();
    let unavailable: Vec<Value> = [Feature::Publish, Feature::Comments, Feature::Metrics]
        .into_iter()
        .filter_map(|f| {
            let m = p.missing_for(f);
            (!m.is_empty()).then(|| json!({"feature": f, "missing_permissions": m, "message": format!("{f:?} needs {} which was not granted; reconnect and allow it.", m.join(", "))}))
        })
        .collect();
    json!({
        "id": p.id, "platform": p.platform, "external_id": p.external_id, "handle": p.handle,
        "status": status, "reason": reason, "sandbox": p.sandbox,
        "reason_message": reason.and_then(ReconnectReason::parse).map(ReconnectReason::explain),
        "granted_permissions": p.granted_scopes, "missing_permissions": missing, "unavailable_features": unavailable,
        "login": p.login, "connection_id": p.grant,
        "token_expires_at": p.token_expires_at.map(rfc3339),
        // A Page token does not expire; the grant behind it does, and that is the date to act by.
        "token_never_expires": p.token_expires_at.is_none() && p.state != ConnectionState::Disconnected,
        "reconnect_by": p.token_expires_at.or(p.reconnect_by).map(rfc3339),
        "connected_at": rfc3339(p.created_at),
    })
}

pub(crate) fn list() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, caller: Caller, Path(ws): Path<String>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            let now = state.store.clock().now().as_microsecond();
            let data: Vec<Value> = state
                .store
                .list_profiles(ws)
                .await?
                .iter()
                .map(|p| to_json(p, now))
                .collect();
            Ok::<_, ApiError>(axum::Json(json!({ "data": data })))
        },
    )
}

async fn find(
    state: &AppState,
    caller: &Caller,
    ws: &str,
    id: &str,
) -> Result<(herald_domain::WorkspaceId, ProfileId), ApiError> {
    let ws = caller.workspace(state, ws).await?;
    let id: ProfileId = id.parse().map_err(|_| ApiError::not_found("profile"))?;
    Ok((ws, id))
}

pub(crate) fn one() -> MethodRouter<AppState> {
    get(|State(state): State<AppState>, caller: Caller, Path((ws, id)): Path<(String, String)>| async move {
        let (ws, id) = find(&state, &caller, &ws, &id).await?;
        let p = state.store.get_profile(ws, id).await.map_err(ApiError::missing("profile"))?;
        Ok::<_, ApiError>(axum::Json(to_json(&p, state.store.clock().now().as_microsecond())))
    })
    .delete(|State(state): State<AppState>, caller: Caller, Path((ws, id)): Path<(String, String)>| async move {
        let (ws, id) = find(&state, &caller, &ws, &id).await?;
        let cancelled = state.store.disconnect_profile(ws, id).await.map_err(ApiError::missing("profile"))?;
        // Instagram Login documents no endpoint to revoke a token; the tokens are deleted here.
        Ok::<_, ApiError>(axum::Json(json!({
            "status": "disconnected", "cancelled_deliveries": cancelled,
            "revoked_at_platform": false,
            "note": "Herald deleted its tokens. Instagram offers no revocation endpoint for Instagram Login; remove Herald under Settings → Apps and websites on Instagram to revoke it there too."
        })))
    })
}
