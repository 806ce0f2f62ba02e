//! A profile's conversations login (TikTok for Business for a TikTok profile, whose publishing
//! login has no comments): adding it through the platform's consent page, the callback that keeps
//! its tokens, the token comments are read and answered with (renewed when it ends within the
//! hour, one renewal at a time across every process), and removing it. The API's routes and the
//! profiles page share all of it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{MethodRouter, post};
use herald_domain::platform::{Feature, Login};
use herald_domain::profile::SecretKind;
use herald_domain::{ProfileId, WorkspaceId};
use herald_platforms::{CodeExchange, Exchanged, PlatformError};
use herald_store::{NewConversations, OAuthStateRow, ProfileRow};
use jiff::SignedDuration;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::{Caller, random_secret};
use crate::connections::{Authorization, authorize, page};
use crate::engagement::Unavailable;
use crate::error::ApiError;
use crate::json::rfc3339;

/// A conversations token is renewed once it ends within this.
const RENEW_WITHIN: SignedDuration = SignedDuration::from_hours(1);
/// How long one renewal may hold the row: longer than the call.
const RENEW_LEASE: SignedDuration = SignedDuration::from_mins(1);

/// The profile and the conversations login it can add, or why it has none.
async fn addable(state: &AppState, ws: WorkspaceId, id: ProfileId) -> Result<(ProfileRow, Login), ApiError> {
    let p = state
        .store
        .get_profile(ws, id)
        .await
        .map_err(ApiError::missing("profile"))?;
    if p.state == herald_domain::profile::ConnectionState::Disconnected {
        return Err(ApiError::unprocessable(
            "profile_disconnected",
            "The profile is disconnected: connect it again first.",
        ));
    }
    let login = p.platform.conversations().ok_or_else(|| {
        ApiError::unprocessable(
            "no_conversations_login",
            format!(
                "{} answers comments through the profile's own connection: there is nothing to add.",
                p.platform.display_name()
            ),
        )
    })?;
    if state.config.backends.get(login) == herald_domain::profile::Backend::Unconfigured {
        let upper = login.as_str().to_uppercase();
        return Err(ApiError::unprocessable(
            "platform_not_configured",
            format!(
                "{} has no app credentials on this Herald and the sandbox is off: set HERALD_{upper}_CLIENT_ID and HERALD_{upper}_CLIENT_SECRET (docs/PLATFORMS.md)",
                login.display_name()
            ),
        ));
    }
    // Its tokens would go to a backend (the sandbox, or the real platform) the profile's do not.
    if let Some(reason) = state.config.backends.mismatch(login, p.sandbox) {
        return Err(ApiError::unprocessable(reason.as_str(), reason.explain()));
    }
    Ok((p, login))
}

/// Starts adding the profile's conversations login: the consent page's URL. Only from a browser
/// session: the account authorized there is tied to the person who started it.
pub(crate) async fn begin(
    state: &AppState,
    caller: &Caller,
    ws: WorkspaceId,
    id: ProfileId,
) -> Result<(Login, url::Url, i64), ApiError> {
    let (_, login) = addable(state, ws, id).await?;
    if caller.session_hash.is_none() {
        return Err(ApiError::unprocessable(
            "browser_required",
            format!(
                "Adding {} must start in a signed-in browser (the profiles page), so the account authorized is tied to your session.",
                login.display_name()
            ),
        ));
    }
    let (url, _, expires) = authorize(
        state,
        caller,
        ws,
        Authorization {
            login,
            segment: login.as_str(),
            scopes: login.permissions(),
            pkce: login.pkce(),
            profile: Some(id),
        },
    )
    .await?;
    Ok((login, url, expires))
}

/// The callback of a conversations login: the code exchanged, the account kept as the profile's
/// conversations login. A page for the person either way.
pub(crate) async fn finish(
    state: &AppState,
    login: Login,
    row: &OAuthStateRow,
    code: &str,
) -> Result<Response, Response> {
    let name = login.display_name();
    let failed = |m: &str| page(StatusCode::BAD_REQUEST, "Comments not added", m);
    let (Some(profile), Some(_)) = (row.profile, &row.session_hash) else {
        return Err(failed(
            "This callback does not match what the connection was started for.",
        ));
    };
    let requested: Vec<&str> = row.scopes.split(',').collect();
    let exchanged = state
        .platforms
        .connector(login)
        .exchange(CodeExchange {
            code,
            redirect_uri: &row.redirect_uri,
            requested: &requested,
            pkce_verifier: row.pkce_verifier.as_ref(),
            now: state.store.clock().now(),
        })
        .await;
    let grant = match exchanged {
        Ok(Exchanged::Account(g)) => g,
        Ok(Exchanged::Person(_)) => {
            return Err(failed(&format!("{name} answered with a person, not an account.")));
        }
        Err(PlatformError::Unsupported(why)) => return Err(failed(&why)),
        Err(e) => return Err(crate::connections::exchange_failed(name, &e)),
    };
    let p = state
        .store
        .get_profile(row.workspace, profile)
        .await
        .map_err(crate::connections::store_failed)?;
    let saved = state
        .store
        .put_conversations(NewConversations {
            workspace: row.workspace,
            profile,
            login,
            external_id: &grant.account_id,
            handle: &grant.handle,
            granted_scopes: &grant.scopes,
            token: &grant.access_token,
            token_expires_at: grant.expires_at.map(|t| t.as_microsecond()),
            refresh: grant.renew.as_ref().map(|r| &r.token),
            sandbox: state.config.backends.get(login) == herald_domain::profile::Backend::Sandbox,
        })
        .await;
    match saved {
        Ok(()) => {}
        Err(herald_store::StoreError::Conflict(_)) => {
            // Nothing is kept of an authorization for a profile that is gone.
            let _ = state
                .platforms
                .connector(login)
                .revoke(&grant.access_token, None)
                .await;
            return Err(failed(
                "The profile was disconnected meanwhile; connect it again first.",
            ));
        }
        Err(e) => return Err(crate::connections::store_failed(e)),
    }
    tracing::info!(profile = %profile, login = login.as_str(), "conversations login added");
    let missing = p.platform.missing_for(login, Feature::Comments, &grant.scopes);
    let message = match missing.is_empty() {
        true => format!(
            "Herald now reads and answers the comments on {}'s posts as @{} through {name}.",
            p.handle, grant.handle
        ),
        false => format!(
            "@{} was added through {name}, but comments stay off: {} was not granted. Add comments again and allow it.",
            grant.handle,
            missing.join(", ")
        ),
    };
    Ok(page(StatusCode::OK, "Comments added", &message))
}

/// The login, the account's id there and the token comments on the profile are read and answered
/// with; a token ending within the hour is renewed first.
pub(crate) async fn token(
    state: &AppState,
    p: &ProfileRow,
    login: Login,
) -> Result<(String, SecretString), Unavailable> {
    let internal = |e: herald_store::StoreError| ("internal", ApiError::internal(&e).message);
    let name = login.display_name();
    let ws = p.workspace;
    let c = state
        .store
        .get_conversations(ws, p.id)
        .await
        .map_err(internal)?
        .ok_or_else(|| {
            (
                "conversations_missing",
                format!(
                    "{}'s publishing API has no comments: add {name} to this profile on the profiles page to read and answer them (Business accounts only).",
                    p.platform.display_name()
                ),
            )
        })?;
    let again = || {
        (
            "needs_reconnect",
            format!(
                "{name} no longer accepts Herald's authorization for @{}: add comments again on the profiles page.",
                c.handle
            ),
        )
    };
    if c.needs_reconnect {
        return Err(again());
    }
    if let Some(reason) = state.config.backends.mismatch(login, c.sandbox) {
        return Err((reason.as_str(), reason.explain().to_owned()));
    }
    let missing = p
        .platform
        .missing_for(login, Feature::Comments, &c.granted_scopes);
    if !missing.is_empty() {
        return Err((
            "permission_missing",
            format!(
                "Comments need {}; add comments again and allow it.",
                missing.join(", ")
            ),
        ));
    }
    let secret = |kind| state.store.get_secret(ws, p.id, kind);
    let now = state.store.clock().now();
    let ends = c.token_expires_at.unwrap_or(i64::MAX);
    if ends < (now + RENEW_WITHIN).as_microsecond() {
        let owner = random_secret();
        let claimed = state
            .store
            .claim_conversations_refresh(
                ws,
                p.id,
                &owner,
                (now + RENEW_LEASE).as_microsecond(),
                (now + RENEW_WITHIN).as_microsecond(),
            )
            .await
            .map_err(internal)?;
        if claimed {
            let token = secret(SecretKind::ConversationsToken).await.map_err(internal)?;
            let renew = secret(SecretKind::ConversationsRefreshToken)
                .await
                .map_err(internal)?;
            let renewed = match token {
                Some(t) => {
                    state
                        .platforms
                        .connector(login)
                        .refresh(&t, renew.as_ref(), now)
                        .await
                }
                None => Err(PlatformError::TokenRevoked("no token is held".into())),
            };
            match renewed {
                Ok(r) => {
                    let kept = state
                        .store
                        .finish_conversations_refresh(
                            ws,
                            p.id,
                            &owner,
                            Some((
                                &r.access_token,
                                r.renew.as_ref().map(|r| &r.token),
                                r.expires_at.map(|t| t.as_microsecond()),
                            )),
                        )
                        .await;
                    match kept {
                        // Another renewal (or a removal) came first: what is stored now stands.
                        Ok(()) | Err(herald_store::StoreError::Conflict(_)) => {}
                        Err(e) => return Err(internal(e)),
                    }
                }
                Err(PlatformError::TokenRevoked(why)) => {
                    tracing::warn!(profile = %p.id, login = login.as_str(), why, "conversations login refused its renewal");
                    state
                        .store
                        .finish_conversations_refresh(ws, p.id, &owner, None)
                        .await
                        .map_err(internal)?;
                    return Err(again());
                }
                // A passing failure: the lease lapses in a minute; a token still valid serves.
                Err(e) if ends > now.as_microsecond() => {
                    tracing::warn!(profile = %p.id, error = %e, "renewing a conversations token failed; using the current one");
                }
                Err(e) => {
                    return Err((
                        "renewal_failed",
                        format!("{name} did not renew Herald's token ({e}); try again in a moment."),
                    ));
                }
            }
        } else if ends <= now.as_microsecond() {
            return Err((
                "renewing",
                format!("Herald is renewing its {name} token; try again in a moment."),
            ));
        }
    }
    let token = secret(SecretKind::ConversationsToken)
        .await
        .map_err(internal)?
        .ok_or_else(again)?;
    Ok((c.external_id, token))
}

/// Removes the profile's conversations login: its access revoked at the platform (best effort,
/// and only where its tokens came from), its tokens deleted. A sentence on what happened.
pub(crate) async fn remove(state: &AppState, ws: WorkspaceId, id: ProfileId) -> Result<String, ApiError> {
    let p = state
        .store
        .get_profile(ws, id)
        .await
        .map_err(ApiError::missing("profile"))?;
    let (Some(login), Some(c)) = (
        p.platform.conversations(),
        state.store.get_conversations(ws, id).await?,
    ) else {
        return Err(ApiError::not_found("conversations login"));
    };
    let token = state
        .store
        .get_secret(ws, id, SecretKind::ConversationsToken)
        .await?;
    state.store.delete_conversations(ws, id).await?;
    let name = login.display_name();
    let revoked = match token {
        Some(t) if state.config.backends.mismatch(login, c.sandbox).is_none() => {
            state.platforms.connector(login).revoke(&t, None).await
        }
        _ => Ok(()),
    };
    Ok(match revoked {
        Ok(()) => format!(
            "Herald deleted its {name} tokens for @{} and removed its access there.",
            c.handle
        ),
        Err(e) => {
            tracing::warn!(profile = %id, error = %e, "revoking a conversations login failed");
            format!(
                "Herald deleted its {name} tokens for @{}, but {name} did not confirm the revocation ({e}); remove Herald in its settings too.",
                c.handle
            )
        }
    })
}

/// Where a profile's conversations login stands, as the API codes it (`None`: not added) and as
/// the profiles page says it: one reading for both.
pub(crate) fn status(
    p: &ProfileRow,
    login: Login,
    c: Option<&herald_store::ConversationsRow>,
) -> (Option<&'static str>, String) {
    let name = login.display_name();
    let Some(c) = c else {
        return (
            None,
            format!(
                "Comments: off. {} has no comments in its publishing API; add {name} to read and answer them (Business accounts only).",
                p.platform.display_name()
            ),
        );
    };
    let missing = p
        .platform
        .missing_for(login, Feature::Comments, &c.granted_scopes);
    match (c.needs_reconnect, missing.is_empty()) {
        (true, _) => (
            Some("needs_reconnect"),
            format!(
                "Comments: {name} no longer accepts Herald's authorization for @{}; add it again.",
                c.handle
            ),
        ),
        (false, false) => (
            Some("permission_missing"),
            format!(
                "Comments: off. @{} was added through {name} without {}; add it again and allow it.",
                c.handle,
                missing.join(", ")
            ),
        ),
        (false, true) => (
            Some("connected"),
            format!("Comments: read and answered as @{} through {name}.", c.handle),
        ),
    }
}

/// The profile's conversations login as the API shows it: `null` where the platform has none.
pub(crate) async fn to_json(state: &AppState, p: &ProfileRow) -> Result<Value, ApiError> {
    let Some(login) = p.platform.conversations() else {
        return Ok(Value::Null);
    };
    let c = state.store.get_conversations(p.workspace, p.id).await?;
    let (code, _) = status(p, login, c.as_ref());
    Ok(json!({
        "login": login, "name": login.display_name(),
        "added": c.is_some(),
        "handle": c.as_ref().map(|c| &c.handle),
        "status": code,
        "granted_permissions": c.as_ref().map(|c| &c.granted_scopes),
        "added_at": c.as_ref().map(|c| rfc3339(c.created_at)),
    }))
}

fn parse(id: &str) -> Result<ProfileId, ApiError> {
    id.parse().map_err(|_| ApiError::not_found("profile"))
}

/// `POST …/profiles/{id}/conversations` starts adding the conversations login (the consent URL);
/// `DELETE` removes it.
pub(crate) fn route() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>, caller: Caller, Path((ws, id)): Path<(String, String)>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            let (login, url, expires) = begin(&state, &caller, ws, parse(&id)?).await?;
            let body = json!({"login": login, "authorize_url": url.as_str(), "expires_at": rfc3339(expires)});
            Ok::<_, ApiError>((StatusCode::CREATED, axum::Json(body)))
        },
    )
    .delete(
        |State(state): State<AppState>, caller: Caller, Path((ws, id)): Path<(String, String)>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            let note = remove(&state, ws, parse(&id)?).await?;
            Ok::<_, ApiError>(axum::Json(json!({"status": "removed", "note": note})))
        },
    )
}
