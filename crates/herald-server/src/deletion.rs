//! Deleting a workspace (its owners) or an account (the person themself), through the API
//! (`DELETE /api/v1/workspaces/{ws}` with the workspace's name, `DELETE /api/v1/me` with the
//! password) and the pages that say first what goes (`/workspace/delete`, `/account/delete`).
//! The store deletes every row at once and scrubs the database's files; here the media files go
//! from disk, the tokens Herald held are revoked at the platforms that allow it, and the deletion
//! is audited in the instance's chain with ids alone (no email, no address).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get};
use herald_domain::platform::Login;
use herald_domain::profile::{ConnectionState, SecretKind};
use herald_domain::{Role, WorkspaceId};
use herald_platforms::PlatformError;
use herald_store::{Deleted, StoreError, UserRow};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::auth::Caller;
use crate::client::ClientAddr;
use crate::error::{ApiError, ApiResult};
use crate::json::{Body, FormFields};
use crate::web::{Me, error_page, render, see_other, sentence, signed_in};
use crate::{audit, throttle};

/// The body of `DELETE /api/v1/workspaces/{ws}`, for the OpenAPI document.
pub(crate) const CONFIRM_EXAMPLE: &str = r#"{"confirm":"Acme's workspace"}"#;
/// The body of `DELETE /api/v1/me`, for the OpenAPI document.
pub(crate) const PASSWORD_EXAMPLE: &str = r#"{"password":"a long passphrase"}"#;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Confirmation {
    /// The workspace's name, typed again: a guard against deleting the wrong one.
    confirm: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Password {
    password: SecretString,
}

/// A token Herald holds at a platform, read before its workspace goes and revoked once it has.
struct Held {
    workspace: WorkspaceId,
    login: Login,
    token: SecretString,
    renew: Option<SecretString>,
}

/// The tokens of `ws` that can go back to the backend that issued them: each connection's (a
/// grant's, with its refresh token), each profile's of its own login (with its refresh token), a
/// profile's own renewed copy of its connection's, and each comments login's. Reading is best
/// effort: what cannot be read is logged and not revoked (it is deleted all the same).
async fn held_tokens(state: &AppState, ws: WorkspaceId) -> Vec<Held> {
    let (store, backends) = (&state.store, &state.config.backends);
    let unreadable =
        |e: StoreError| tracing::warn!(workspace = %ws, error = %e, "a token to revoke cannot be read");
    let mut held = Vec::new();
    let grants = store.list_grants(ws).await.unwrap_or_else(|e| {
        unreadable(e);
        Vec::new()
    });
    for g in grants
        .iter()
        .filter(|g| backends.mismatch(g.login, g.sandbox).is_none())
    {
        match (
            store.grant_token(ws, g.id).await,
            store.grant_refresh_token(ws, g.id).await,
        ) {
            (Ok(token), Ok(renew)) => held.push(Held {
                workspace: ws,
                login: g.login,
                token,
                renew,
            }),
            (Err(e), _) | (_, Err(e)) => unreadable(e),
        }
    }
    let profiles = store.list_profiles(ws).await.unwrap_or_else(|e| {
        unreadable(e);
        Vec::new()
    });
    for p in profiles
        .iter()
        .filter(|p| p.state != ConnectionState::Disconnected)
    {
        // A profile chosen from a connection shares its access, which the connection's revocation
        // ends; one whose token the care renewed holds a token of its own.
        let own = p.grant.is_none() || p.login.renews_with_refresh_token();
        if own && backends.mismatch(p.login, p.sandbox).is_none() {
            let renew = match p.grant {
                None => store.get_secret(ws, p.id, SecretKind::RefreshToken).await,
                Some(_) => Ok(None),
            };
            match (store.get_secret(ws, p.id, SecretKind::AccessToken).await, renew) {
                (Ok(Some(token)), Ok(renew)) => held.push(Held {
                    workspace: ws,
                    login: p.login,
                    token,
                    renew,
                }),
                (Ok(None), Ok(_)) => {}
                (Err(e), _) | (_, Err(e)) => unreadable(e),
            }
        }
        if p.platform.conversations().is_none() {
            continue;
        }
        match store.get_conversations(ws, p.id).await {
            Ok(Some(c)) if backends.mismatch(c.login, c.sandbox).is_none() => {
                match store.get_secret(ws, p.id, SecretKind::ConversationsToken).await {
                    Ok(Some(token)) => held.push(Held {
                        workspace: ws,
                        login: c.login,
                        token,
                        renew: None,
                    }),
                    Ok(None) => {}
                    Err(e) => unreadable(e),
                }
            }
            Ok(_) => {}
            Err(e) => unreadable(e),
        }
    }
    held
}

/// Revokes, at the platform that issued it, each token of a workspace that was deleted (`gone`;
/// the others stay in use). Returns how many the platforms confirmed (a token they no longer
/// accept counts), and how many they did not or cannot (Instagram Login offers no way).
async fn revoke(state: &AppState, held: Vec<Held>, gone: &[WorkspaceId]) -> (u64, u64) {
    let (mut confirmed, mut not) = (0, 0);
    for h in held.iter().filter(|h| gone.contains(&h.workspace)) {
        match state
            .platforms
            .connector(h.login)
            .revoke(&h.token, h.renew.as_ref())
            .await
        {
            Ok(()) | Err(PlatformError::TokenExpired | PlatformError::TokenRevoked(_)) => confirmed += 1,
            Err(PlatformError::Unsupported(_)) => not += 1,
            Err(e) => {
                tracing::warn!(workspace = %h.workspace, login = h.login.as_str(), error = %e,
                    "revoking a deleted workspace's token at the platform failed");
                not += 1;
            }
        }
    }
    (confirmed, not)
}

/// Removes the media files the deleted rows named, and each deleted workspace's media folder
/// (with an upload cut short in it); returns how many files went. What cannot be removed is logged.
async fn remove_files(state: &AppState, d: &Deleted) -> u64 {
    let mut removed = 0;
    for path in &d.media_files {
        match tokio::fs::remove_file(path).await {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(path = %path, error = %e, "a deleted workspace's media file could not be removed")
            }
        }
    }
    for ws in &d.workspaces {
        let dir = state.config.media_dir.join(ws.to_string());
        match tokio::fs::remove_dir_all(&dir).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(workspace = %ws, error = %e, "a deleted workspace's media folder could not be removed")
            }
        }
    }
    removed
}

/// What deleting a workspace did.
pub(crate) struct WorkspaceGone {
    pub name: String,
    /// Media files removed from disk.
    pub files: u64,
    /// Tokens the platforms confirmed revoked, and those they did not.
    pub revoked: u64,
    pub not_revoked: u64,
    /// The workspace the person's pages act in now: another of theirs, or a new, empty one.
    pub current_id: WorkspaceId,
    pub current_name: String,
}

/// How many workspaces one person may delete in an hour.
const DELETIONS_PER_HOUR: i64 = 3;

/// Deletes the workspace `ws` (its owners only, as the route table declares) once `confirm` is
/// its name (422 `confirmation_mismatch` otherwise): every row at once, its media files, its
/// tokens revoked where the platforms allow; audited in the instance's chain. A person left in
/// no workspace gets a new, empty one, as at sign-up, so their pages have one to act in.
pub(crate) async fn delete_workspace(
    state: &AppState,
    caller: &Caller,
    ws: WorkspaceId,
    confirm: &str,
) -> ApiResult<WorkspaceGone> {
    let name = state
        .store
        .workspace_name(ws)
        .await
        .map_err(ApiError::missing("workspace"))?;
    if confirm.trim() != name.trim() {
        return Err(ApiError::unprocessable(
            "confirmation_mismatch",
            format!("to delete it, type the workspace's name exactly as it is: {name}"),
        )
        .with("field", "confirm".into()));
    }
    // Each deletion rewrites the tables it emptied (PostgreSQL) or checkpoints (SQLite), which
    // everyone waits on for a moment: a person deletes a few workspaces an hour at most.
    let hour_ago = state.store.clock().now().as_microsecond() - 3_600_000_000;
    if state
        .store
        .instance_actions_by("workspace.deleted", caller.user, hour_ago)
        .await?
        >= DELETIONS_PER_HOUR
    {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_deletions",
            format!("you deleted {DELETIONS_PER_HOUR} workspaces in the last hour; try again later"),
        )
        .retry_after(3600));
    }
    let held = held_tokens(state, ws).await;
    let deleted = state
        .store
        .delete_workspace(ws)
        .await
        .map_err(ApiError::missing("workspace"))?;
    // Ids alone: who, and which workspace.
    let (by, target) = (audit::actor(caller), format!("workspace:{ws}"));
    audit::record(state, None, by, "workspace.deleted", target, None, "").await;
    let files = remove_files(state, &deleted).await;
    let (revoked, not_revoked) = revoke(state, held, &deleted.workspaces).await;
    state.store.ensure_workspace(caller.user).await?;
    let (current_id, current_name, _) = state
        .store
        .get_user(caller.user)
        .await?
        .workspaces
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal(&"a person has no workspace after one was ensured"))?;
    Ok(WorkspaceGone {
        name,
        files,
        revoked,
        not_revoked,
        current_id,
        current_name,
    })
}

/// What deleting an account did.
pub(crate) struct AccountGone {
    /// The workspaces deleted with it (those the person alone belonged to).
    pub workspaces: usize,
    pub files: u64,
    pub revoked: u64,
    pub not_revoked: u64,
}

/// Deletes the caller's account, from a browser session (403 `session_required` for an API
/// token), once `password` is theirs (403 `wrong_password`, its guesses throttled like signing in): the workspaces they alone belong to, with everything in them,
/// their memberships, sessions, tokens and invitations, and their email. 409 `last_owner` when a
/// workspace others belong to would be left without an owner: nothing is deleted. Audited in the
/// instance's chain.
pub(crate) async fn delete_account(
    state: &AppState,
    caller: &Caller,
    addr: ClientAddr,
    password: SecretString,
) -> ApiResult<AccountGone> {
    // A token is never a person at their browser: it cannot end the account it acts for.
    caller.require_session("deleting your account")?;
    let user = state.store.get_user(caller.user).await?;
    let hash = state.store.password_hash(caller.user).await?;
    let slot = state.hashing.reserve().await?;
    let attempt = throttle::check(state, &user.email, addr.0).await?;
    if !state.hashing.verify(slot, password, hash).await? {
        throttle::failed(state, &attempt).await?;
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_password",
            "`password` is not your current password",
        )
        .with("field", "password".into()));
    }
    throttle::succeeded(state, &attempt).await?;
    // The tokens of the workspaces that go with it, read now, revoked once they went.
    let mut held = Vec::new();
    for (ws, ..) in &user.workspaces {
        if state.store.members(*ws).await?.len() == 1 {
            held.extend(held_tokens(state, *ws).await);
        }
    }
    let deleted = state
        .store
        .delete_account(caller.user)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(why) => ApiError::new(StatusCode::CONFLICT, "last_owner", why),
            other => other.into(),
        })?;
    let by = audit::actor(caller);
    for ws in &deleted.workspaces {
        let target = format!("workspace:{ws}");
        audit::record(state, None, by, "workspace.deleted", target, None, "with_account").await;
    }
    let detail = format!("workspaces_deleted={}", deleted.workspaces.len());
    let target = format!("user:{}", caller.user);
    audit::record(state, None, by, "account.deleted", target, None, &detail).await;
    let files = remove_files(state, &deleted).await;
    let (revoked, not_revoked) = revoke(state, held, &deleted.workspaces).await;
    Ok(AccountGone {
        workspaces: deleted.workspaces.len(),
        files,
        revoked,
        not_revoked,
    })
}

/// `DELETE /workspaces/{ws}` (`confirm`: its name): the workspace and everything in it.
pub(crate) fn workspace() -> MethodRouter<AppState> {
    delete(
        |State(state): State<AppState>,
         caller: Caller,
         Path(ws): Path<String>,
         Body(b): Body<Confirmation>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            let gone = delete_workspace(&state, &caller, ws, &b.confirm).await?;
            Ok::<_, ApiError>(axum::Json(json!({
                "status": "deleted", "media_files_removed": gone.files,
                "revoked_at_platforms": gone.revoked, "not_revoked": gone.not_revoked,
                "current_workspace_id": gone.current_id,
            })))
        },
    )
}

/// `DELETE /me` (`password`): the caller's account; signs this browser out.
pub(crate) fn me() -> MethodRouter<AppState> {
    delete(
        |State(state): State<AppState>,
         caller: Caller,
         addr: ClientAddr,
         headers: HeaderMap,
         Body(b): Body<Password>| async move {
            let gone = delete_account(&state, &caller, addr, b.password).await?;
            let clear = crate::accounts::sign_out(&state, &headers, addr).await?;
            let body = json!({
                "status": "deleted", "workspaces_deleted": gone.workspaces,
                "media_files_removed": gone.files, "revoked_at_platforms": gone.revoked,
                "not_revoked": gone.not_revoked,
            });
            Ok::<Response, ApiError>(([(header::SET_COOKIE, clear)], axum::Json(body)).into_response())
        },
    )
}

#[derive(Template)]
#[template(path = "workspace_delete.html")]
struct WorkspacePage {
    email: String,
    name: String,
    profiles: usize,
    /// The members besides the person.
    others: usize,
    confirm: String,
    error: Option<String>,
    done: Option<WorkspaceGone>,
}

/// The page asking to confirm deleting the person's current workspace, with what was typed and
/// why it was refused.
async fn workspace_form(state: &AppState, me: &Me, confirm: String, error: Option<ApiError>) -> Response {
    let counts = async {
        let profiles = state.store.list_profiles(me.ws).await?.len();
        let members = state.store.members(me.ws).await?.len();
        Ok::<_, StoreError>((profiles, members))
    };
    let (profiles, members) = match counts.await {
        Ok(c) => c,
        Err(e) => return error_page(&e.into()),
    };
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    let page = WorkspacePage {
        email: me.email.clone(),
        name: me.workspace.clone(),
        profiles,
        others: members.saturating_sub(1),
        confirm,
        error: error.as_ref().map(sentence),
        done: None,
    };
    render(status, &page)
}

/// `GET /workspace/delete` says what deleting the current workspace does and asks for its name;
/// `POST` (`confirm`) deletes it (as `DELETE /api/v1/workspaces/{ws}` does) and says what happened.
pub(crate) fn workspace_page() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, caller: Result<Caller, ApiError>| async move {
            match signed_in(&state, caller, "/workspace/delete").await {
                Ok(me) => workspace_form(&state, &me, String::new(), None).await,
                Err(page) => page,
            }
        },
    )
    .post(
        |State(state): State<AppState>, caller: Result<Caller, ApiError>, FormFields(f): FormFields| async move {
            let me = match signed_in(&state, caller, "/workspace/delete").await {
                Ok(me) => me,
                Err(page) => return page,
            };
            let confirm = f.get("confirm").cloned().unwrap_or_default();
            match delete_workspace(&state, &me.caller, me.ws, &confirm).await {
                Ok(gone) => {
                    let page = WorkspacePage {
                        email: me.email,
                        name: gone.name.clone(),
                        profiles: 0,
                        others: 0,
                        confirm: String::new(),
                        error: None,
                        done: Some(gone),
                    };
                    render(StatusCode::OK, &page)
                }
                Err(e) if e.code == "confirmation_mismatch" => workspace_form(&state, &me, confirm, Some(e)).await,
                Err(e) => error_page(&e),
            }
        },
    )
}

#[derive(Template)]
#[template(path = "account_delete.html")]
struct AccountPage {
    email: String,
    /// The workspaces that go with the account: the person is their only member.
    alone: Vec<String>,
    /// The workspaces that keep it from going: the person is their last owner, beside others.
    blocking: Vec<String>,
    /// Why the password was refused, beside its field.
    error: Option<String>,
    /// Why the account cannot go yet.
    refused: Option<String>,
    done: Option<AccountGone>,
}

/// The signed-in person (with a browser session), in a workspace or none; or the way to sign in.
async fn person(state: &AppState, caller: Result<Caller, ApiError>) -> Result<(Caller, UserRow), Response> {
    let Some(caller) = caller.ok().filter(|c| c.session.is_some()) else {
        return Err(see_other("/login?next=/account/delete", None));
    };
    let user = state
        .store
        .get_user(caller.user)
        .await
        .map_err(|e| error_page(&e.into()))?;
    Ok((caller, user))
}

/// The page asking to confirm deleting the account: which workspaces go with it and which keep
/// it from going, with why the last attempt was refused.
async fn account_form(state: &AppState, user: &UserRow, refusal: Option<ApiError>) -> Response {
    let mut page = AccountPage {
        email: user.email.clone(),
        alone: Vec::new(),
        blocking: Vec::new(),
        error: None,
        refused: None,
        done: None,
    };
    for (ws, name, role) in &user.workspaces {
        let members = match state.store.members(*ws).await {
            Ok(m) => m,
            Err(e) => return error_page(&e.into()),
        };
        let owners = members.iter().filter(|m| m.role == Role::Owner).count();
        if members.len() == 1 {
            page.alone.push(name.clone());
        } else if *role == Role::Owner && owners == 1 {
            page.blocking.push(name.clone());
        }
    }
    let status = refusal.as_ref().map_or(StatusCode::OK, |e| e.status);
    match refusal {
        Some(e) if e.code == "last_owner" => page.refused = Some(sentence(&e)),
        Some(e) => page.error = Some(sentence(&e)),
        None => {}
    }
    render(status, &page)
}

/// `GET /account/delete` says what deleting the account does; `POST` (`password`) deletes it (as
/// `DELETE /api/v1/me` does), signs the browser out and says so.
pub(crate) fn account_page() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, caller: Result<Caller, ApiError>| async move {
            match person(&state, caller).await {
                Ok((_, user)) => account_form(&state, &user, None).await,
                Err(page) => page,
            }
        },
    )
    .post(
        |State(state): State<AppState>,
         caller: Result<Caller, ApiError>,
         addr: ClientAddr,
         headers: HeaderMap,
         FormFields(f): FormFields| async move {
            let (caller, user) = match person(&state, caller).await {
                Ok(p) => p,
                Err(page) => return page,
            };
            let password = SecretString::from(f.get("password").cloned().unwrap_or_default());
            match delete_account(&state, &caller, addr, password).await {
                Ok(gone) => {
                    let page = AccountPage {
                        email: String::new(),
                        alone: Vec::new(),
                        blocking: Vec::new(),
                        error: None,
                        refused: None,
                        done: Some(gone),
                    };
                    let mut res = render(StatusCode::OK, &page);
                    // The session went with the account; the browser forgets its cookie too.
                    if let Ok(clear) = crate::accounts::sign_out(&state, &headers, addr).await
                        && let Ok(v) = HeaderValue::from_str(&clear)
                    {
                        res.headers_mut().insert(header::SET_COOKIE, v);
                    }
                    res
                }
                Err(e) if matches!(e.code, "wrong_password" | "last_owner" | "too_many_attempts") => {
                    let retry = e.retry_after;
                    let mut res = account_form(&state, &user, Some(e)).await;
                    if let Some(s) = retry {
                        res.headers_mut().insert(header::RETRY_AFTER, s.into());
                    }
                    res
                }
                Err(e) => error_page(&e),
            }
        },
    )
}
