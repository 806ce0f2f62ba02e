//! Profiles: their connection status as a person needs to see it, and disconnecting.

use axum::extract::{Path, State};
use axum::routing::{MethodRouter, get};
use herald_domain::ProfileId;
use herald_domain::platform::Feature;
use herald_domain::profile::{ConnectionState, ReconnectReason, SecretKind};
use herald_platforms::PlatformError;
use herald_store::ProfileRow;
use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::rfc3339;

/// A token the token care renews this close to expiry has evidently failed to renew.
const RENEWAL_FAILING: SignedDuration = SignedDuration::from_hours(24);

/// The instant a profile's status is judged at, and how soon an end counts as soon.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Moment {
    now: i64,
    soon: i64,
}

impl Moment {
    pub(crate) fn of(state: &AppState) -> Self {
        Self {
            now: state.store.clock().now().as_microsecond(),
            soon: i64::try_from(state.config.expiring_soon.as_micros()).unwrap_or(i64::MAX),
        }
    }
}

/// The status a person sees, with the reason when the profile needs them. A profile whose access
/// ends soon (its grant's end, or its token's expiry where the login cannot renew it) is
/// `expiring_soon`; a renewable token is renewed by the token care ahead of time.
pub(crate) fn status(p: &ProfileRow, at: Moment) -> (&'static str, Option<&'static str>) {
    let now = at.now;
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
        ConnectionState::Connected => {
            let renews = p.login.refreshes_tokens();
            let ends = p.reconnect_by.or(p.token_expires_at.filter(|_| !renews));
            let failing = RENEWAL_FAILING.as_micros() as i64;
            // An access token renewed with a refresh token (X's last two hours) ending, or even
            // ended, is the token care's work, not the person's: a refused renewal says so.
            let short = p.login.renews_with_refresh_token();
            match (p.token_expires_at.filter(|_| !short), ends) {
                (Some(exp), _) if exp <= now => ("needs_reconnect", Some(ReconnectReason::Expired.as_str())),
                (_, Some(by)) if by - now < at.soon => ("expiring_soon", None),
                (Some(exp), _) if renews && exp - now < failing.min(at.soon) => ("expiring_soon", None),
                _ => ("connected", None),
            }
        }
    }
}

pub(crate) fn to_json(p: &ProfileRow, at: Moment) -> Value {
    let (status, reason) = status(p, at);
    let requested: Vec<&str> = p.platform.permissions_via(p.login).map(|x| x.scope).collect();
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
        "reconnect_by": p.reconnect_by().map(rfc3339),
        "connected_at": rfc3339(p.created_at),
    })
}

/// A profile as the API shows it, with the login it added for comments where its platform needs one.
async fn with_conversations(state: &AppState, p: &ProfileRow, at: Moment) -> Result<Value, ApiError> {
    let mut v = to_json(p, at);
    v["conversations"] = crate::conversations::to_json(state, p).await?;
    Ok(v)
}

pub(crate) fn list() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, caller: Caller, Path(ws): Path<String>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            let now = Moment::of(&state);
            let mut data = Vec::new();
            for p in state.store.list_profiles(ws).await? {
                data.push(with_conversations(&state, &p, now).await?);
            }
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
    get(
        |State(state): State<AppState>, caller: Caller, Path((ws, id)): Path<(String, String)>| async move {
            let (ws, id) = find(&state, &caller, &ws, &id).await?;
            let p = state
                .store
                .get_profile(ws, id)
                .await
                .map_err(ApiError::missing("profile"))?;
            Ok::<_, ApiError>(axum::Json(
                with_conversations(&state, &p, Moment::of(&state)).await?,
            ))
        },
    )
    .delete(
        |State(state): State<AppState>, caller: Caller, Path((ws, id)): Path<(String, String)>| async move {
            let (ws, id) = find(&state, &caller, &ws, &id).await?;
            let Disconnected {
                cancelled,
                revoked,
                note,
            } = disconnect(&state, ws, id, crate::audit::actor(&caller)).await?;
            Ok::<_, ApiError>(axum::Json(json!({
                "status": "disconnected", "cancelled_deliveries": cancelled,
                "revoked_at_platform": revoked, "note": note,
            })))
        },
    )
}

/// What disconnecting did.
pub(crate) struct Disconnected {
    pub cancelled: u64,
    pub revoked: bool,
    /// What happened to Herald's access, in a sentence.
    pub note: String,
}

/// Disconnects a profile (the API's `DELETE` and the profiles page's confirmation): its tokens are
/// deleted, its pending deliveries cancelled, and its access revoked at the platform where its
/// login offers a way. Published posts stay.
pub(crate) async fn disconnect(
    state: &AppState,
    ws: herald_domain::WorkspaceId,
    id: ProfileId,
    by: herald_store::Actor,
) -> Result<Disconnected, ApiError> {
    // A profile of its own login is revoked at the platform where the login offers a way; one
    // chosen from a grant shares the grant's access, which deleting the connection revokes.
    // Revoking is best effort: a profile whose record or token cannot be read is still
    // disconnected.
    let profile = match state.store.get_profile(ws, id).await {
        Ok(p) => Some(p),
        Err(herald_store::StoreError::NotFound) => return Err(ApiError::not_found("profile")),
        Err(e) => {
            tracing::warn!(profile = %id, error = %e, "disconnecting a profile whose record cannot be read");
            None
        }
    };
    // What to revoke: the token of a profile of its own login, at that login's platform.
    let target = match &profile {
        Some(p) if p.grant.is_none() && state.config.backends.mismatch(p.login, p.sandbox).is_none() => {
            let secret = |kind| state.store.get_secret(ws, id, kind);
            let tokens = match secret(SecretKind::AccessToken).await {
                Ok(token) => secret(SecretKind::RefreshToken).await.map(|renew| (token, renew)),
                Err(e) => Err(e),
            };
            match tokens {
                Ok((token, renew)) => token.map(|t| (t, renew, p.login, p.platform.display_name())),
                Err(e) => {
                    tracing::warn!(profile = %id, error = %e, "the token to revoke cannot be read");
                    None
                }
            }
        }
        _ => None,
    };
    let from_grant = profile.as_ref().is_some_and(|p| p.grant.is_some());
    // The login it added for comments goes with it (its access revoked there, best effort).
    if profile
        .as_ref()
        .is_some_and(|p| p.platform.conversations().is_some())
        && let Err(e) = crate::conversations::remove(state, ws, id).await
        && e.status != axum::http::StatusCode::NOT_FOUND
    {
        tracing::warn!(profile = %id, error = %e.message, "removing the conversations login failed");
    }
    let cancelled = state
        .store
        .disconnect_profile(ws, id)
        .await
        .map_err(ApiError::missing("profile"))?;
    let (revoked, note) = match target {
        None if from_grant => (false, "Herald deleted its tokens. The profile came through a connection that covers several accounts: delete that connection to remove Herald's access at the platform.".to_owned()),
        None => (false, "Herald deleted its tokens.".to_owned()),
        Some((token, renew, login, name)) => match state
            .platforms
            .connector(login)
            .revoke(&token, renew.as_ref())
            .await
        {
            Ok(()) => (true, format!("Herald deleted its tokens and removed its access at {name}.")),
            Err(PlatformError::Unsupported(why)) => (false, format!("Herald deleted its tokens. {why}")),
            Err(e) => {
                tracing::warn!(profile = %id, error = %e, "revoking at the platform failed");
                (false, format!("Herald deleted its tokens, but {name} did not confirm the revocation ({e}); remove Herald in {name}'s settings too."))
            }
        },
    };
    let detail = format!("revoked_at_platform={revoked}");
    crate::audit::record(
        state,
        Some(ws),
        by,
        "profile.disconnected",
        format!("profile:{id}"),
        None,
        &detail,
    )
    .await;
    Ok(Disconnected {
        cancelled,
        revoked,
        note,
    })
}
