//! The choose-accounts step of a login that covers several accounts (Facebook Login: Pages and the
//! Instagram accounts linked to them; LinkedIn: the member and their Pages). The callback records
//! the grant and reconnects the accounts already chosen from it; the person then lists the grant's
//! accounts and chooses which become profiles. Choosing an account again updates its profile, so
//! reconnecting never makes twins.

use std::collections::HashSet;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{MethodRouter, get};
use herald_domain::platform::{Feature, Login};
use herald_domain::profile::{Backend, ConnectionState, ReconnectReason, SecretKind};
use herald_domain::{GrantId, UserId, WorkspaceId};
use herald_platforms::{Account, PersonGrant, PlatformError};
use herald_store::{Actor, GrantRow, NewGrant, NewProfile, ProfileRow};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Caller;
use crate::connections::{exchange_failed, page, save_profile, store_failed};
use crate::error::{ApiError, ApiResult};
use crate::json::{Body, rfc3339};

/// The id the API uses for an account a grant covers: `{platform}:{external id}`.
pub(crate) fn key(c: &Account) -> String {
    format!("{}:{}", c.platform.as_str(), c.external_id)
}

/// Makes (or updates) the profile of a chosen account.
///
/// Where the grant holds a refresh token (LinkedIn's approved apps), the profile gets its own copy
/// and the access token's end, so the token care renews it; the person reconnects by the refresh
/// token's end. Otherwise the profile's token lasts as long as the grant, whose end is the date to
/// reconnect by.
pub(crate) async fn connect(
    state: &AppState,
    grant: &GrantRow,
    c: &Account,
    by: herald_store::Actor,
) -> Result<(herald_domain::ProfileId, u64), herald_store::StoreError> {
    let now = state.store.clock().now().as_microsecond();
    let renew = match grant.renews {
        true => state.store.grant_refresh_token(grant.workspace, grant.id).await?,
        false => None,
    };
    let (token_expires_at, reconnect_by) = match renew {
        Some(_) => (grant.token_expires_at, grant.refresh_expires_at),
        None => (None, grant.token_expires_at),
    };
    save_profile(
        state,
        NewProfile {
            workspace: grant.workspace,
            platform: c.platform.as_str(),
            external_id: &c.external_id,
            handle: &c.handle,
            granted_scopes: &grant.granted_scopes,
            token_issued_at: now,
            token_expires_at,
            sandbox: grant.sandbox,
            login: grant.login,
            grant: Some(grant.id),
            reconnect_by,
        },
        &c.token,
        renew.as_ref(),
        by,
    )
    .await
}

pub(crate) fn chosen(profiles: &[ProfileRow], c: &Account) -> Option<herald_domain::ProfileId> {
    profiles
        .iter()
        .find(|p| p.platform == c.platform && p.external_id == c.external_id)
        .map(|p| p.id)
}

/// A person's login for `ws`, by `user`: the grant recorded, then what was chosen before reconnected.
pub(crate) async fn complete_person(
    state: &AppState,
    ws: WorkspaceId,
    user: UserId,
    login: Login,
    g: PersonGrant,
) -> Result<Response, Response> {
    let now = state.store.clock().now();
    let grant_id = state
        .store
        .upsert_grant(NewGrant {
            workspace: ws,
            user,
            login,
            external_user_id: &g.user_id,
            name: &g.name,
            granted_scopes: &g.scopes,
            token: &g.access_token,
            token_issued_at: now.as_microsecond(),
            token_expires_at: g.expires_at.map(|t| t.as_microsecond()),
            refresh: g.renew.as_ref().map(|r| &r.token),
            refresh_expires_at: g.renew_until.map(|t| t.as_microsecond()),
            sandbox: state.config.backends.get(login) == Backend::Sandbox,
        })
        .await
        .map_err(store_failed)?;
    let grant = state.store.get_grant(ws, grant_id).await.map_err(store_failed)?;
    let accounts = state
        .platforms
        .connector(login)
        .accounts(&g.access_token)
        .await
        .map_err(|e| exchange_failed(login.display_name(), &e))?;
    let before = state
        .store
        .profiles_of_grant(ws, grant_id)
        .await
        .map_err(store_failed)?;
    let mut reconnected = Vec::new();
    for c in accounts.iter().filter(|c| chosen(&before, c).is_some()) {
        connect(state, &grant, c, Actor::User(user))
            .await
            .map_err(store_failed)?;
        reconnected.push(format!("{} ({})", c.handle, c.platform.display_name()));
    }
    if before.is_empty()
        && let [only] = accounts.as_slice()
    {
        connect(state, &grant, only, Actor::User(user))
            .await
            .map_err(store_failed)?;
        reconnected.push(format!("{} ({})", only.handle, only.platform.display_name()));
    }
    // Profiles chosen before whose account this login no longer covers (its Page was unticked in
    // the dialog): their Page tokens stop working, so they need the person now, not at publish time.
    let mut dropped = Vec::new();
    for p in before.iter().filter(|p| {
        p.state == ConnectionState::Connected
            && !accounts
                .iter()
                .any(|c| c.platform == p.platform && c.external_id == p.external_id)
    }) {
        state
            .store
            .set_profile_state(
                ws,
                p.id,
                ConnectionState::NeedsReconnect,
                Some(ReconnectReason::RevokedOnPlatform),
            )
            .await
            .map_err(store_failed)?;
        dropped.push(p.handle.clone());
    }
    let open = accounts.len() - reconnected.len();
    let mut message = format!("{} is connected for {}.", login.display_name(), g.name);
    if !reconnected.is_empty() {
        message.push_str(&format!(" Connected: {}.", reconnected.join(", ")));
    }
    if !dropped.is_empty() {
        message.push_str(&format!(
            " This login did not include {}: choose it in {}'s dialog again to keep publishing there.",
            dropped.join(", "),
            login.display_name()
        ));
    }
    if open > 0 {
        message.push_str(&format!(
            " {open} more account(s) can be added: choose them under Profiles in Herald (or with GET, then POST, /api/v1/workspaces/{}/connections/{grant_id}/accounts).",
            ws
        ));
    }
    if accounts.is_empty() {
        message.push_str(" The grant covers no account: log in again and choose at least one.");
    }
    Ok(page(StatusCode::OK, "Connected", &message))
}

fn platform_error(login: Login, e: &PlatformError) -> ApiError {
    let name = login.display_name();
    match e {
        PlatformError::TokenExpired | PlatformError::TokenRevoked(_) => ApiError::new(
            StatusCode::CONFLICT,
            "needs_reconnect",
            format!("{name} no longer accepts this connection's token; log in with {name} again."),
        ),
        PlatformError::PermissionMissing(m) => {
            ApiError::new(StatusCode::CONFLICT, "permission_missing", m.clone())
        }
        other => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "platform_error",
            format!("{name} did not list the accounts: {other}"),
        ),
    }
}

pub(crate) async fn load(
    state: &AppState,
    caller: &Caller,
    ws: &str,
    id: &str,
) -> ApiResult<(WorkspaceId, GrantRow, Vec<Account>)> {
    let ws = caller.workspace(state, ws).await?;
    let id: GrantId = id.parse().map_err(|_| ApiError::not_found("connection"))?;
    let grant = state
        .store
        .get_grant(ws, id)
        .await
        .map_err(ApiError::missing("connection"))?;
    if let Some(reason) = state.config.backends.mismatch(grant.login, grant.sandbox) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            reason.as_str(),
            reason.explain(),
        ));
    }
    let (grant, token) = renewed(state, grant).await?;
    let accounts = state
        .platforms
        .connector(grant.login)
        .accounts(&token)
        .await
        .map_err(|e| platform_error(grant.login, &e))?;
    Ok((ws, grant, accounts))
}

/// The grant and its user token, renewed first where the grant holds a refresh token (LinkedIn's
/// approved apps) and its token has ended or ends within a day: its accounts can then be listed
/// and chosen until the refresh token's end, the date the connection shows.
async fn renewed(state: &AppState, grant: GrantRow) -> ApiResult<(GrantRow, SecretString)> {
    let (ws, id) = (grant.workspace, grant.id);
    let token = state.store.grant_token(ws, id).await?;
    let now = state.store.clock().now();
    let soon = (now + jiff::SignedDuration::from_hours(24)).as_microsecond();
    if !grant.renews || grant.token_expires_at.is_none_or(|end| end > soon) {
        return Ok((grant, token));
    }
    let Some(renew) = state.store.grant_refresh_token(ws, id).await? else {
        return Ok((grant, token));
    };
    let r = state
        .platforms
        .connector(grant.login)
        .refresh(&token, Some(&renew), now)
        .await
        .map_err(|e| platform_error(grant.login, &e))?;
    let expires_at = r.expires_at.map(|t| t.as_microsecond());
    let rotated = r.renew.as_ref().map(|r| &r.token);
    // Where refresh tokens rotate, the grant's profiles (which share its user token: Snap's Public
    // Profiles) get the renewal too, since theirs no longer works.
    match grant.login.rotates_refresh_tokens() {
        true => {
            state
                .store
                .share_renewal(ws, id, None, &r.access_token, rotated, expires_at)
                .await?
        }
        false => {
            state
                .store
                .renew_grant_token(ws, id, &r.access_token, rotated, expires_at)
                .await?
        }
    }
    Ok((state.store.get_grant(ws, id).await?, r.access_token))
}

fn account_json(c: &Account, grant: &GrantRow, profiles: &[ProfileRow]) -> Value {
    let missing = c
        .platform
        .missing_for(grant.login, Feature::Publish, &grant.granted_scopes);
    json!({
        "id": key(c), "platform": c.platform.as_str(), "external_id": c.external_id, "handle": c.handle,
        "page": c.group, "profile_id": chosen(profiles, c),
        "can_publish": missing.is_empty(), "missing_permissions": missing,
    })
}

fn grant_json(g: &GrantRow) -> Value {
    json!({
        "id": g.id, "login": g.login, "name": g.name, "granted_permissions": g.granted_scopes,
        "reconnect_by": g.refresh_expires_at.or(g.token_expires_at).map(rfc3339), "created_at": rfc3339(g.created_at),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Choice {
    accounts: Vec<String>,
}

/// `GET` lists the accounts a connection covers; `POST {"accounts": [...]}` makes the chosen ones profiles.
pub(crate) fn accounts() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, caller: Caller, Path((ws, id)): Path<(String, String)>| async move {
            let (ws, grant, accounts) = load(&state, &caller, &ws, &id).await?;
            let profiles = state.store.list_profiles(ws).await?;
            let data: Vec<Value> = accounts
                .iter()
                .map(|c| account_json(c, &grant, &profiles))
                .collect();
            Ok::<_, ApiError>(axum::Json(
                json!({"connection": grant_json(&grant), "data": data}),
            ))
        },
    )
    .post(
        |State(state): State<AppState>,
         caller: Caller,
         Path((ws, id)): Path<(String, String)>,
         Body(choice): Body<Choice>| async move {
            if choice.accounts.is_empty() {
                return Err(ApiError::unprocessable(
                    "no_accounts",
                    "`accounts` must name at least one account; list them with GET",
                ));
            }
            let (ws, grant, accounts) = load(&state, &caller, &ws, &id).await?;
            let wanted: HashSet<&str> = choice.accounts.iter().map(String::as_str).collect();
            let unknown: Vec<&str> = wanted
                .iter()
                .copied()
                .filter(|k| !accounts.iter().any(|c| key(c) == *k))
                .collect();
            if !unknown.is_empty() {
                return Err(ApiError::unprocessable(
                    "unknown_account",
                    format!(
                        "this connection does not cover {}; GET the list of accounts it covers",
                        unknown.join(", ")
                    ),
                ));
            }
            for c in accounts.iter().filter(|c| wanted.contains(key(c).as_str())) {
                connect(&state, &grant, c, crate::audit::actor(&caller)).await?;
            }
            let now = crate::profiles::Moment::of(&state);
            let profiles = state.store.profiles_of_grant(ws, grant.id).await?;
            let data: Vec<Value> = profiles
                .iter()
                .filter(|p| {
                    accounts.iter().any(|c| {
                        wanted.contains(key(c).as_str()) && chosen(std::slice::from_ref(p), c).is_some()
                    })
                })
                .map(|p| crate::profiles::to_json(p, now))
                .collect();
            Ok((StatusCode::CREATED, axum::Json(json!({ "data": data }))))
        },
    )
}

/// `DELETE /connections/{id}`: removes Herald from the person's account at the platform (every
/// token of the grant stops working), disconnects the profiles chosen from it and forgets the grant.
pub(crate) fn one() -> MethodRouter<AppState> {
    axum::routing::delete(
        |State(state): State<AppState>, caller: Caller, Path((ws, id)): Path<(String, String)>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            let id: GrantId = id.parse().map_err(|_| ApiError::not_found("connection"))?;
            let grant = state
                .store
                .get_grant(ws, id)
                .await
                .map_err(ApiError::missing("connection"))?;
            let token = state.store.grant_token(ws, id).await?;
            let renew = state.store.grant_refresh_token(ws, id).await?;
            // A token the platform no longer accepts means the app is already gone there; a token
            // of another backend (the sandbox, now off) is never sent to this one.
            let revoked = match state.config.backends.mismatch(grant.login, grant.sandbox) {
                Some(_) => Err(PlatformError::Platform {
                    message: "issued by another backend".into(),
                }),
                None => {
                    state
                        .platforms
                        .connector(grant.login)
                        .revoke(&token, renew.as_ref())
                        .await
                }
            };
            let mut revoked = match revoked {
                Ok(()) | Err(PlatformError::TokenExpired | PlatformError::TokenRevoked(_)) => true,
                Err(e) => {
                    tracing::warn!(connection = %id, error = %e, "revoking at the platform failed");
                    false
                }
            };
            let mut profiles = 0;
            let mut cancelled = 0;
            for p in state.store.profiles_of_grant(ws, id).await? {
                // A profile whose token the care renewed (a login that renews with a refresh
                // token: LinkedIn's approved apps) holds one of its own: it goes too.
                if revoked
                    && grant.login.renews_with_refresh_token()
                    && let Some(own) = state.store.get_secret(ws, p.id, SecretKind::AccessToken).await?
                    && own.expose_secret() != token.expose_secret()
                {
                    match state.platforms.connector(grant.login).revoke(&own, None).await {
                        Ok(()) | Err(PlatformError::TokenExpired | PlatformError::TokenRevoked(_)) => {}
                        Err(e) => {
                            tracing::warn!(profile = %p.id, error = %e, "revoking a profile's token failed");
                            revoked = false;
                        }
                    }
                }
                cancelled += state.store.disconnect_profile(ws, p.id).await?;
                profiles += 1;
            }
            state.store.delete_grant(ws, id).await?;
            let detail = format!("disconnected_profiles={profiles} revoked_at_platform={revoked}");
            let (by, target) = (crate::audit::actor(&caller), format!("connection:{id}"));
            crate::audit::record(&state, Some(ws), by, "connection.deleted", target, None, &detail).await;
            Ok::<_, ApiError>(axum::Json(json!({
                "status": "deleted", "disconnected_profiles": profiles, "cancelled_deliveries": cancelled,
                "revoked_at_platform": revoked,
            })))
        },
    )
}

/// `GET /connections`: the workspace's multi-account grants.
pub(crate) async fn list(state: &AppState, caller: &Caller, ws: &str) -> ApiResult<Value> {
    let ws = caller.workspace(state, ws).await?;
    let data: Vec<Value> = state
        .store
        .list_grants(ws)
        .await?
        .iter()
        .map(grant_json)
        .collect();
    Ok(json!({ "data": data }))
}
