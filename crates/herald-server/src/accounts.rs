//! Sign-up, sign-in (argon2id, throttled), sign-out, password changes, `/me`, and personal API tokens.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post};
use herald_domain::{ApiTokenId, Role, UserId, WorkspaceId};
use herald_store::{Actor, NewSession};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::auth::{Caller, cookie, hash_secret, micros, normal_setup_code, random_secret};
use crate::client::ClientAddr;
use crate::error::{ApiError, ApiResult};
use crate::json::{Body, rfc3339};
use crate::{audit, members, password, scopes, throttle};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    email: String,
    password: SecretString,
    /// The code of an account with two-factor sign-in (or, instead, one of its recovery codes).
    code: Option<SecretString>,
    recovery_code: Option<SecretString>,
}

/// `POST /auth/signup`'s body: the credentials, and the secret of an invitation to accept with them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignUpBody {
    email: String,
    password: SecretString,
    invitation: Option<String>,
    /// The one-time code Herald printed at start, which the first account of an instance whose
    /// public URL is not loopback needs.
    setup_code: Option<SecretString>,
}

fn valid_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e.contains(char::is_whitespace)
        && e.len() <= 254
}

/// An email as Herald keeps it (trimmed, lower-cased) if it looks like an address; 422 naming the
/// `email` field otherwise.
pub(crate) fn checked_email(raw: &str) -> ApiResult<String> {
    let email = raw.trim().to_lowercase();
    if valid_email(&email) {
        Ok(email)
    } else {
        Err(ApiError::unprocessable(
            "invalid_email",
            "`email` must be an address like name@example.com",
        )
        .with("field", "email".into()))
    }
}

/// The session cookie's attributes: `Secure` over https (where its name is `__Host-` prefixed).
pub(crate) fn cookie_attributes(state: &AppState) -> &'static str {
    if state.config.https() {
        "Path=/; HttpOnly; SameSite=Lax; Secure"
    } else {
        "Path=/; HttpOnly; SameSite=Lax"
    }
}

/// Starts a session for `user` in this browser and returns the `Set-Cookie` value.
pub(crate) async fn start_session(
    state: &AppState,
    user: UserId,
    headers: &HeaderMap,
    addr: ClientAddr,
) -> ApiResult<HeaderValue> {
    let secret = random_secret();
    let lifetime = state.config.session_lifetime;
    let expires = state.store.clock().now().as_microsecond() + micros(lifetime);
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(256).collect::<String>());
    state
        .store
        .create_session(NewSession {
            token_hash: &hash_secret(&secret),
            user,
            expires_at: expires,
            user_agent: user_agent.as_deref(),
            address: Some(&addr.0.to_string()),
        })
        .await?;
    HeaderValue::from_str(&format!(
        "{}={secret}; {}; Max-Age={}",
        state.config.session_cookie(),
        cookie_attributes(state),
        lifetime.as_secs()
    ))
    .map_err(|e| ApiError::internal(&e))
}

/// Creates an account with its first workspace and signs it in: the API's sign-up and the page's
/// share it. With an invitation's secret the person joins its workspace too, once their own is
/// made (which stays their first); where sign-up is closed, only a pending invitation for this
/// very email lets them in. The instance's first account is let in either way and administers
/// it; where Herald printed a setup code at start, that account needs it. Returns the user, the
/// email as stored, their workspace, the workspace and role the invitation gave, and the
/// session's `Set-Cookie`.
pub(crate) async fn sign_up(
    state: &AppState,
    email: &str,
    password: SecretString,
    invitation: Option<&str>,
    setup_code: Option<&SecretString>,
    headers: &HeaderMap,
    addr: ClientAddr,
) -> ApiResult<(
    UserId,
    String,
    WorkspaceId,
    Option<(WorkspaceId, Role)>,
    HeaderValue,
)> {
    let email = checked_email(email)?;
    // An unknown, used, expired or revoked invitation is refused before the account is made.
    let invited = match invitation {
        Some(secret) => Some(members::pending(state, secret).await?),
        None => None,
    };
    let first = !state.store.instance_claimed().await?;
    let admitted = state.config.signup_open || invited.is_some_and(|i| i.email == email);
    // Admitted only as the first account: a claim made meanwhile by someone else refuses it.
    let first_only = first && (state.config.setup_code.is_some() || !admitted);
    if first {
        if let Some(expected) = &state.config.setup_code {
            check_setup_code(expected, setup_code)?;
        }
    } else if !admitted {
        return Err(signup_closed());
    }
    password::check(&password, &email)?;
    throttle::signup(state, addr.0).await?;
    let hash = state.hashing.hash(password).await?;
    let made = state
        .store
        .create_account(&email, &hash, first_only)
        .await
        .map_err(|e| match e {
            herald_store::StoreError::Conflict(why) if why == "instance_claimed" => signup_closed(),
            herald_store::StoreError::Conflict(_) => ApiError::new(
                StatusCode::CONFLICT,
                "email_taken",
                "an account with this email exists; sign in instead",
            ),
            other => other.into(),
        })?;
    let (user, ws) = (made.user, made.workspace);
    let cookie = start_session(state, user, headers, addr).await?;
    let by = Actor::User(user);
    audit::record(
        state,
        None,
        by,
        "auth.signup",
        format!("user:{user}"),
        Some(addr),
        "",
    )
    .await;
    if made.instance_admin {
        audit::record(
            state,
            None,
            by,
            "instance.claimed",
            format!("user:{user}"),
            Some(addr),
            "",
        )
        .await;
    }
    audit::record(
        state,
        Some(ws),
        by,
        "workspace.created",
        format!("workspace:{ws}"),
        Some(addr),
        "",
    )
    .await;
    let joined = match invitation {
        Some(secret) => Some(members::join(state, user, by, addr, secret).await?),
        None => None,
    };
    Ok((user, email, ws, joined, cookie))
}

fn signup_closed() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "signup_closed",
        "sign-up is closed on this Herald; ask an administrator for an invitation",
    )
}

/// Refuses the first account without the setup code Herald printed at start (403
/// `setup_code_required`, or `setup_code_invalid` for another code). The codes are compared by
/// their hashes, so the time the comparison takes says nothing about the expected one.
fn check_setup_code(expected: &SecretString, given: Option<&SecretString>) -> ApiResult<()> {
    let given = given
        .map(|g| normal_setup_code(g.expose_secret()))
        .filter(|g| !g.is_empty());
    let Some(given) = given else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "setup_code_required",
            "this Herald has no account yet: enter the setup code it printed when it started",
        )
        .with("field", "setup_code".into()));
    };
    if hash_secret(&given) == hash_secret(&normal_setup_code(expected.expose_secret())) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "setup_code_invalid",
            "this is not the setup code Herald printed when it started; copy it again from its output",
        )
        .with("field", "setup_code".into()))
    }
}

pub(crate) fn signup() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>, addr: ClientAddr, headers: HeaderMap, Body(c): Body<SignUpBody>| async move {
            let (user, email, ws, joined, cookie) = sign_up(
                &state,
                &c.email,
                c.password,
                c.invitation.as_deref(),
                c.setup_code.as_ref(),
                &headers,
                addr,
            )
            .await?;
            let joined = joined.map(|(ws, role)| json!({"workspace_id": ws, "role": role.as_str()}));
            let body = json!({"user": {"id": user, "email": email}, "workspace_id": ws, "joined": joined});
            Ok::<Response, ApiError>(
                (
                    StatusCode::CREATED,
                    [(header::SET_COOKIE, cookie)],
                    axum::Json(body),
                )
                    .into_response(),
            )
        },
    )
}

/// What a right password leads to.
pub(crate) enum SignedIn {
    /// A session: the user, the email as stored, and the session's `Set-Cookie`.
    Session(UserId, String, HeaderValue),
    /// No session yet: the account has a second factor and none was sent with the password.
    SecondFactor(UserId),
}

/// Signs in: throttled per (email, address); an unknown email costs and answers what a wrong
/// password does. An account with two-factor sign-in needs `factor` too (checked inside the same
/// throttled attempt: a wrong one counts as a failure); without it, nothing is counted and no
/// session starts ([`SignedIn::SecondFactor`]).
pub(crate) async fn sign_in(
    state: &AppState,
    email: &str,
    password: SecretString,
    factor: Option<crate::two_factor::Factor>,
    headers: &HeaderMap,
    addr: ClientAddr,
) -> ApiResult<SignedIn> {
    let email = email.trim().to_lowercase();
    let found = state.store.find_login(&email).await?;
    // An unknown email is checked against a dummy hash: the same work, the same answer.
    let (user, hash) = match found {
        Some((u, h)) => (Some(u), h),
        None => (None, state.hashing.dummy().await?),
    };
    // A hashing slot first: an attempt is counted only when its password will be checked.
    let slot = state.hashing.reserve().await?;
    let attempt = throttle::check(state, &email, addr.0).await?;
    let ok = state.hashing.verify(slot, password, hash).await?;
    let Some(user) = user.filter(|_| ok) else {
        throttle::failed(state, &attempt).await?;
        let (target, detail) = match user {
            Some(u) => (format!("user:{u}"), "wrong_password"),
            None => (String::new(), "unknown_account"),
        };
        audit::record(
            state,
            None,
            Actor::Anonymous,
            "auth.signin_failed",
            target,
            Some(addr),
            detail,
        )
        .await;
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "email or password is wrong",
        ));
    };
    let proved =
        crate::two_factor::second_factor(state, user, &attempt, factor, Actor::Anonymous, addr).await?;
    let Some(method) = proved else {
        return Ok(SignedIn::SecondFactor(user));
    };
    throttle::succeeded(state, &attempt).await?;
    let cookie = start_session(state, user, headers, addr).await?;
    let target = format!("user:{user}");
    audit::record(
        state,
        None,
        Actor::User(user),
        "auth.signin",
        target,
        Some(addr),
        method,
    )
    .await;
    Ok(SignedIn::Session(user, email, cookie))
}

pub(crate) fn login() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>, addr: ClientAddr, headers: HeaderMap, Body(c): Body<Credentials>| async move {
            let factor = crate::two_factor::Factor::from_fields(c.code, c.recovery_code);
            let SignedIn::Session(user, email, cookie) =
                sign_in(&state, &c.email, c.password, factor, &headers, addr).await?
            else {
                return Err(crate::two_factor::second_factor_required());
            };
            Ok::<Response, ApiError>(
                (
                    [(header::SET_COOKIE, cookie)],
                    axum::Json(json!({"user": {"id": user, "email": email}})),
                )
                    .into_response(),
            )
        },
    )
}

/// Ends the browser's session; returns the `Set-Cookie` that clears it.
pub(crate) async fn sign_out(state: &AppState, headers: &HeaderMap, addr: ClientAddr) -> ApiResult<String> {
    let name = state.config.session_cookie();
    if let Some(s) = cookie(headers, name)
        && let Some(user) = state.store.delete_session(&hash_secret(&s)).await?
    {
        let (by, target) = (Actor::User(user), format!("user:{user}"));
        audit::record(state, None, by, "auth.signout", target, Some(addr), "").await;
    }
    Ok(format!("{name}=; {}; Max-Age=0", cookie_attributes(state)))
}

pub(crate) fn logout() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>, addr: ClientAddr, headers: HeaderMap| async move {
            let clear = sign_out(&state, &headers, addr).await?;
            Ok::<Response, ApiError>((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
        },
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current_password: SecretString,
    new_password: SecretString,
}

/// Changes the caller's password (the API's and the settings page's): from a browser session
/// that proved who it is in the last ten minutes, the current one first (its guesses throttled
/// like signing in), the new one checked; every other session ends. Returns how many ended.
pub(crate) async fn change_password(
    state: &AppState,
    caller: &Caller,
    addr: ClientAddr,
    current: SecretString,
    new: SecretString,
) -> ApiResult<u64> {
    crate::two_factor::require_fresh(state, caller, "changing the password").await?;
    let email = state.store.get_user(caller.user).await?.email;
    let hash = state.store.password_hash(caller.user).await?;
    // Guessing the current password here is throttled like signing in.
    let slot = state.hashing.reserve().await?;
    let attempt = throttle::check(state, &email, addr.0).await?;
    if !state.hashing.verify(slot, current, hash).await? {
        throttle::failed(state, &attempt).await?;
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_password",
            "`current_password` is not your current password",
        )
        .with("field", "current_password".into()));
    }
    throttle::succeeded(state, &attempt).await?;
    password::check(&new, &email).map_err(|e| e.with("field", "new_password".into()))?;
    let hash = state.hashing.hash(new).await?;
    state.store.set_password_hash(caller.user, &hash).await?;
    let ended = state
        .store
        .revoke_other_sessions(caller.user, caller.session)
        .await?;
    tracing::info!(user = %caller.user, sessions_ended = ended, "password changed");
    let (target, detail) = (
        format!("user:{}", caller.user),
        format!("other_sessions_ended={ended}"),
    );
    audit::record(
        state,
        None,
        audit::actor(caller),
        "auth.password_changed",
        target,
        Some(addr),
        &detail,
    )
    .await;
    Ok(ended)
}

/// `POST /auth/password`: the current password, then the new one; every other session ends.
pub(crate) fn password() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>, caller: Caller, addr: ClientAddr, Body(p): Body<PasswordChange>| async move {
            let ended = change_password(&state, &caller, addr, p.current_password, p.new_password).await?;
            Ok::<_, ApiError>(axum::Json(json!({
                "status": "changed", "other_sessions_ended": ended,
                "note": "Personal API tokens keep working; revoke them under /api/v1/tokens if they may be exposed."
            })))
        },
    )
}

pub(crate) fn me() -> MethodRouter<AppState> {
    get(|State(state): State<AppState>, caller: Caller| async move {
        let u = state.store.get_user(caller.user).await?;
        // A scoped token sees only its own workspace.
        let bound = caller.grant.as_ref().map(|g| g.workspace);
        let workspaces: Vec<_> = u
            .workspaces
            .iter()
            .filter(|(id, ..)| bound.is_none_or(|b| b == *id))
            .enumerate()
            .map(|(i, (id, name, role))| json!({"id": id, "name": name, "role": role.as_str(), "current": i == 0}))
            .collect();
        Ok::<_, ApiError>(axum::Json(
            json!({"user": {"id": u.id, "email": u.email, "instance_admin": u.instance_admin}, "workspaces": workspaces}),
        ))
    })
}

fn default_days() -> Option<u32> {
    Some(90)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    /// Days until the token stops working: 90 when left out; `null` for a token that never expires.
    #[serde(default = "default_days")]
    expires_in_days: Option<u32>,
    /// The one workspace the token acts in: by default the one the caller's pages act in.
    workspace_id: Option<String>,
    /// What it may do there (`posts:read`, …): by default every scope the caller's role allows.
    scopes: Option<Vec<String>>,
}

/// The longest a token may be made to last, in days.
const MAX_TOKEN_DAYS: u32 = 5 * 366;

/// Makes a personal API token for the caller (the API's and the settings page's): from a browser
/// session only, one that proved who it is in the last ten minutes, named, lasting `days` (never
/// expiring for `None`), bound to the workspace and scopes asked for ([`scopes::grant_for`]).
/// Returns it with its secret, which is shown this once.
pub(crate) async fn create_token(
    state: &AppState,
    caller: &Caller,
    addr: ClientAddr,
    name: &str,
    days: Option<u32>,
    (workspace, scopes): (Option<&str>, Option<&[String]>),
) -> ApiResult<(herald_store::ApiTokenRow, String)> {
    // A token cannot make tokens: whoever holds one could otherwise keep access for ever.
    caller.require_session("creating an API token")?;
    crate::two_factor::require_fresh(state, caller, "creating an API token").await?;
    let grant = scopes::grant_for(state, caller, workspace, scopes).await?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(
            ApiError::unprocessable("invalid_name", "`name` must be 1 to 100 characters")
                .with("field", "name".into()),
        );
    }
    let expires_at = match days {
        None => None,
        Some(d) if (1..=MAX_TOKEN_DAYS).contains(&d) => {
            Some(state.store.clock().now().as_microsecond() + i64::from(d) * 86_400_000_000)
        }
        Some(_) => {
            return Err(ApiError::unprocessable(
                "invalid_expiry",
                format!(
                    "`expires_in_days` must be 1 to {MAX_TOKEN_DAYS}, or null for a token that never expires"
                ),
            )
            .with("field", "expires_in_days".into()));
        }
    };
    let secret = format!("hrld_{}", random_secret());
    let row = state
        .store
        .create_api_token(
            caller.user,
            name,
            &hash_secret(&secret),
            expires_at,
            Some(grant.clone()),
        )
        .await?;
    let scopes: Vec<&str> = grant.scopes.iter().map(|s| s.as_str()).collect();
    let lasts = format!(
        "{} workspace={} scopes={}",
        days.map_or("never_expires".to_owned(), |d| format!("expires_in_days={d}")),
        grant.workspace,
        scopes.join(",")
    );
    audit::record(
        state,
        None,
        audit::actor(caller),
        "token.created",
        format!("token:{}", row.id),
        Some(addr),
        &lasts,
    )
    .await;
    Ok((row, secret))
}

pub(crate) fn tokens() -> MethodRouter<AppState> {
    get(|State(state): State<AppState>, caller: Caller| async move {
        let rows = state.store.list_api_tokens(caller.user).await?;
        let now = state.store.clock().now().as_microsecond();
        let data: Vec<_> = rows
            .iter()
            .map(|t| json!({"id": t.id, "name": t.name, "created_at": rfc3339(t.created_at),
                "last_used_at": t.last_used_at.map(rfc3339), "expires_at": t.expires_at.map(rfc3339),
                "expired": t.expires_at.is_some_and(|e| e <= now),
                "workspace_id": t.grant.as_ref().map(|g| g.workspace),
                "scopes": t.grant.as_ref().map(|g| g.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
                "legacy": t.grant.is_none()}))
            .collect();
        Ok::<_, ApiError>(axum::Json(json!({ "data": data })))
    })
    .post(|State(state): State<AppState>, caller: Caller, addr: ClientAddr, Body(t): Body<NewToken>| async move {
        let asked = (t.workspace_id.as_deref(), t.scopes.as_deref());
        let (row, secret) = create_token(&state, &caller, addr, &t.name, t.expires_in_days, asked).await?;
        let grant = row.grant.as_ref().ok_or_else(|| ApiError::internal(&"a new token without its grant"))?;
        let (ws, scopes) = (grant.workspace, grant.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>());
        let body = json!({"id": row.id, "name": row.name, "token": secret, "created_at": rfc3339(row.created_at),
            "expires_at": row.expires_at.map(rfc3339), "workspace_id": ws, "scopes": scopes,
            "note": "This is the only time the token is shown; store it now."});
        Ok::<_, ApiError>((StatusCode::CREATED, axum::Json(body)))
    })
}

pub(crate) fn token() -> MethodRouter<AppState> {
    delete(
        |State(state): State<AppState>, caller: Caller, addr: ClientAddr, Path(id): Path<String>| async move {
            revoke_token(&state, &caller, addr, &id).await?;
            Ok::<_, ApiError>(StatusCode::NO_CONTENT)
        },
    )
}

/// Revokes one of the caller's tokens (the API's and the settings page's); another's is 404.
pub(crate) async fn revoke_token(
    state: &AppState,
    caller: &Caller,
    addr: ClientAddr,
    id: &str,
) -> ApiResult<()> {
    let id: ApiTokenId = id.parse().map_err(|_| ApiError::not_found("token"))?;
    state
        .store
        .revoke_api_token(caller.user, id)
        .await
        .map_err(ApiError::missing("token"))?;
    audit::record(
        state,
        None,
        audit::actor(caller),
        "token.revoked",
        format!("token:{id}"),
        Some(addr),
        "",
    )
    .await;
    Ok(())
}
