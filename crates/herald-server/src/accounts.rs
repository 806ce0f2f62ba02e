//! Sign-up, login (argon2id), logout, `/me`, and personal API tokens.

use argon2::{PasswordHash, PasswordHasher, PasswordVerifier};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post};
use herald_domain::{ApiTokenId, UserId};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::auth::{Caller, SESSION_COOKIE, cookie, hash_secret, random_secret};
use crate::error::{ApiError, ApiResult};
use crate::json::{Body, rfc3339};

const SESSION_DAYS: i64 = 30;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    email: String,
    password: SecretString,
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

async fn hash_password(password: SecretString) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || {
        PasswordHasher::<PasswordHash>::hash_password(
            &argon2::Argon2::default(),
            password.expose_secret().as_bytes(),
        )
        .map(|h| h.to_string())
    })
    .await
    .map_err(|e| ApiError::internal(&e))?
    .map_err(|e| ApiError::internal(&e))
}

async fn verify_password(password: SecretString, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordVerifier::<str>::verify_password(
            &argon2::Argon2::default(),
            password.expose_secret().as_bytes(),
            &hash,
        )
        .is_ok()
    })
    .await
    .unwrap_or(false)
}

/// Starts a session and returns the `Set-Cookie` value.
async fn start_session(state: &AppState, user: UserId) -> ApiResult<HeaderValue> {
    let secret = random_secret();
    let expires = state.store.clock().now() + jiff::SignedDuration::from_hours(24 * SESSION_DAYS);
    state
        .store
        .create_session(&hash_secret(&secret), user, expires.as_microsecond())
        .await?;
    let secure = if state.config.public_url.scheme() == "https" {
        "; Secure"
    } else {
        ""
    };
    let max_age = SESSION_DAYS * 24 * 3600;
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .map_err(|e| ApiError::internal(&e))
}

/// A real hash of nothing in particular, so an unknown email costs the same as a wrong password.
async fn dummy_hash() -> ApiResult<String> {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_try_init(|| hash_password(SecretString::from(random_secret())))
        .await
        .cloned()
}

pub(crate) fn signup() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>, Body(c): Body<Credentials>| async move {
            if !state.config.signup_open {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "signup_closed",
                    "sign-up is closed on this Herald; ask an administrator for an invitation",
                ));
            }
            let email = c.email.trim().to_lowercase();
            if !valid_email(&email) {
                return Err(ApiError::unprocessable(
                    "invalid_email",
                    "`email` must be an address like name@example.com",
                ));
            }
            if c.password.expose_secret().chars().count() < 10 {
                return Err(ApiError::unprocessable(
                    "weak_password",
                    "`password` must have at least 10 characters",
                ));
            }
            let hash = hash_password(c.password).await?;
            let (user, ws) = state
                .store
                .create_user(&email, &hash)
                .await
                .map_err(|e| match e {
                    herald_store::StoreError::Conflict(_) => ApiError::new(
                        StatusCode::CONFLICT,
                        "email_taken",
                        "an account with this email exists; log in instead",
                    ),
                    other => other.into(),
                })?;
            let cookie = start_session(&state, user).await?;
            let body = json!({"user": {"id": user, "email": email}, "workspace_id": ws});
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

pub(crate) fn login() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>, Body(c): Body<Credentials>| async move {
            let email = c.email.trim().to_lowercase();
            let found = state.store.find_login(&email).await?;
            // Verify against a dummy hash when the user is unknown, so timing does not reveal accounts.
            let (user, hash) = match found {
                Some((u, h)) => (Some(u), h),
                None => (None, dummy_hash().await?),
            };
            let ok = verify_password(c.password, hash).await;
            let Some(user) = user.filter(|_| ok) else {
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_credentials",
                    "email or password is wrong",
                ));
            };
            let cookie = start_session(&state, user).await?;
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

pub(crate) fn logout() -> MethodRouter<AppState> {
    post(|State(state): State<AppState>, headers: HeaderMap| async move {
        if let Some(s) = cookie(&headers, SESSION_COOKIE) {
            state.store.delete_session(&hash_secret(&s)).await?;
        }
        let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
        Ok::<Response, ApiError>((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
    })
}

pub(crate) fn me() -> MethodRouter<AppState> {
    get(|State(state): State<AppState>, caller: Caller| async move {
        let u = state.store.get_user(caller.user).await?;
        let workspaces: Vec<_> = u
            .workspaces
            .iter()
            .map(|(id, name, role)| json!({"id": id, "name": name, "role": role}))
            .collect();
        Ok::<_, ApiError>(axum::Json(
            json!({"user": {"id": u.id, "email": u.email}, "workspaces": workspaces}),
        ))
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
}

pub(crate) fn tokens() -> MethodRouter<AppState> {
    get(|State(state): State<AppState>, caller: Caller| async move {
        let rows = state.store.list_api_tokens(caller.user).await?;
        let data: Vec<_> = rows
            .iter()
            .map(|t| json!({"id": t.id, "name": t.name, "created_at": rfc3339(t.created_at), "last_used_at": t.last_used_at.map(rfc3339)}))
            .collect();
        Ok::<_, ApiError>(axum::Json(json!({ "data": data })))
    })
    .post(|State(state): State<AppState>, caller: Caller, Body(t): Body<NewToken>| async move {
        let name = t.name.trim();
        if name.is_empty() || name.len() > 100 {
            return Err(ApiError::unprocessable("invalid_name", "`name` must be 1 to 100 characters"));
        }
        let secret = format!("hrld_{}", random_secret());
        let row = state.store.create_api_token(caller.user, name, &hash_secret(&secret)).await?;
        let body = json!({"id": row.id, "name": row.name, "token": secret, "created_at": rfc3339(row.created_at),
            "note": "This is the only time the token is shown; store it now."});
        Ok((StatusCode::CREATED, axum::Json(body)))
    })
}

pub(crate) fn token() -> MethodRouter<AppState> {
    delete(
        |State(state): State<AppState>, caller: Caller, Path(id): Path<String>| async move {
            let id: ApiTokenId = id.parse().map_err(|_| ApiError::not_found("token"))?;
            state
                .store
                .revoke_api_token(caller.user, id)
                .await
                .map_err(ApiError::missing("token"))?;
            Ok::<_, ApiError>(StatusCode::NO_CONTENT)
        },
    )
}
