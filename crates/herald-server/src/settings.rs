//! The settings page (`/settings`): the person's planning time zone, personal API tokens (a new one
//! shown once; revoke), where they are signed in (sign a session out), changing the password, and
//! the way to two-factor sign-in and to the API reference; through the same code as
//! `/api/v1/tokens`, `/api/v1/sessions` and `/api/v1/auth/password` (a token or a new password
//! asks for a recent proof of identity first: `/reauth`).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use herald_domain::clock::from_micros;
use herald_domain::{Role, Scope};
use secrecy::SecretString;

use crate::AppState;
use crate::accounts::{change_password, create_token};
use crate::auth::Caller;
use crate::client::ClientAddr;
use crate::error::ApiError;
use crate::json::FormFields;
use crate::two_factor::REAUTHENTICATION_REQUIRED;
use crate::two_factor_page::to_reauth;
use crate::web::{Me, error_page, render, see_other, sentence, signed_in};

struct TokenLine {
    id: String,
    name: String,
    created: String,
    last_used: String,
    expires: String,
    expired: bool,
    /// Where and what it may do: the workspace and scopes, or that it is a legacy token.
    grant: String,
    legacy: bool,
}

/// A scope the person may give a new token in the workspace their pages act in.
struct ScopeChoice {
    name: &'static str,
    does: &'static str,
    checked: bool,
}

struct SessionLine {
    id: String,
    current: bool,
    browser: String,
    address: String,
    started: String,
    last_seen: String,
}

#[derive(Template, Default)]
#[template(path = "settings.html")]
struct Settings {
    email: String,
    tokens: Vec<TokenLine>,
    sessions: Vec<SessionLine>,
    /// A token just made: its name and secret, shown this once.
    new_token: Option<(String, String)>,
    token_name: String,
    /// The workspace a new token acts in (the one the pages act in), by name.
    workspace: String,
    scopes: Vec<ScopeChoice>,
    /// The scopes ticked in a form that failed, to tick again; `None`: the reading ones.
    ticked: Option<Vec<Scope>>,
    zone: String,
    zones: Vec<String>,
    zone_error: Option<String>,
    token_error: Option<String>,
    current_error: Option<String>,
    new_error: Option<String>,
    notice: Option<String>,
}

fn day(micros: i64) -> String {
    from_micros(micros).strftime("%Y-%m-%d").to_string()
}

async fn page(state: &AppState, me: &Me, mut s: Settings) -> Response {
    let rows = match state.store.list_api_tokens(me.caller.user).await {
        Ok(rows) => rows,
        Err(e) => return error_page(&e.into()),
    };
    let idle = crate::auth::micros(state.config.session_idle);
    let sessions = match state.store.list_sessions(me.caller.user, idle).await {
        Ok(rows) => rows,
        Err(e) => return error_page(&e.into()),
    };
    s.sessions = sessions
        .iter()
        .map(|x| SessionLine {
            id: x.id.to_string(),
            current: me.caller.session == Some(x.id),
            browser: x
                .user_agent
                .clone()
                .unwrap_or_else(|| "an unknown browser".to_owned()),
            address: x.address.clone().unwrap_or_default(),
            started: day(x.created_at),
            last_seen: from_micros(x.last_seen_at)
                .strftime("%Y-%m-%d %H:%M UTC")
                .to_string(),
        })
        .collect();
    let now = state.store.clock().now().as_microsecond();
    s.email = me.email.clone();
    s.zones = crate::compose::zone_names();
    if s.zone.is_empty() {
        s.zone = me.time_zone.clone().unwrap_or_else(|| "UTC".to_owned());
    }
    let (user, role) = match (
        state.store.get_user(me.caller.user).await,
        crate::access::current_workspace(state, me.caller.user).await,
    ) {
        (Ok(user), Ok(Some((_, role)))) => (user, role),
        (Err(e), _) => return error_page(&e.into()),
        (_, Err(e)) => return error_page(&e),
        (_, Ok(None)) => return error_page(&ApiError::not_found("workspace")),
    };
    let workspace_name = |ws| {
        user.workspaces
            .iter()
            .find(|(id, ..)| *id == ws)
            .map_or_else(|| "a workspace you left".to_owned(), |(_, name, _)| name.clone())
    };
    s.tokens = rows
        .iter()
        .map(|t| TokenLine {
            id: t.id.to_string(),
            name: t.name.clone(),
            created: day(t.created_at),
            last_used: t.last_used_at.map_or_else(|| "never".to_owned(), day),
            expires: t.expires_at.map_or_else(|| "never".to_owned(), day),
            expired: t.expires_at.is_some_and(|e| e <= now),
            grant: t.grant.as_ref().map_or_else(
                || {
                    "Legacy: all your rights in each of your workspaces. Replace it with a scoped token."
                        .to_owned()
                },
                |g| {
                    let scopes: Vec<&str> = g.scopes.iter().map(|s| s.as_str()).collect();
                    format!("{}: {}", workspace_name(g.workspace), scopes.join(", "))
                },
            ),
            legacy: t.grant.is_none(),
        })
        .collect();
    s.workspace = me.workspace.clone();
    let ticked = s.ticked.take();
    s.scopes = Scope::allowed_for(role)
        .map(|scope| ScopeChoice {
            name: scope.as_str(),
            does: scope.describe(),
            checked: ticked
                .as_ref()
                .map_or(scope.min_role() == Role::Viewer, |t| t.contains(&scope)),
        })
        .collect();
    let failed = s.token_error.is_some()
        || s.current_error.is_some()
        || s.new_error.is_some()
        || s.zone_error.is_some();
    let status = if failed {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render(status, &s)
}

/// `GET /settings`.
pub(crate) fn show() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, caller: Result<Caller, ApiError>| async move {
            match signed_in(&state, caller, "/settings").await {
                Ok(me) => page(&state, &me, Settings::default()).await,
                Err(page) => page,
            }
        },
    )
}

/// `POST /settings/tokens` (`name`, `days`: a number, or `never`): a new token, shown once.
pub(crate) fn new_token() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>,
         caller: Result<Caller, ApiError>,
         addr: ClientAddr,
         FormFields(f): FormFields| async move {
            let me = match signed_in(&state, caller, "/settings").await {
                Ok(me) => me,
                Err(page) => return page,
            };
            let name = f.get("name").cloned().unwrap_or_default();
            let days = match f.get("days").map(String::as_str) {
                Some("never") => None,
                Some(d) => d.parse().ok().or(Some(0)),
                None => Some(90),
            };
            let mut s = Settings::default();
            let scopes: Vec<String> = f
                .keys()
                .filter_map(|k| k.strip_prefix("scope:"))
                .map(str::to_owned)
                .collect();
            let ws = me.ws.to_string();
            let made = create_token(&state, &me.caller, addr, &name, days, (Some(&ws), Some(&scopes))).await;
            match made {
                Ok((row, secret)) => s.new_token = Some((row.name, secret)),
                Err(e) if e.code == REAUTHENTICATION_REQUIRED => return to_reauth("/settings"),
                Err(e) => {
                    s.token_error = Some(sentence(&e));
                    s.token_name = name;
                    s.ticked = Some(scopes.iter().filter_map(|n| n.parse().ok()).collect());
                }
            }
            page(&state, &me, s).await
        },
    )
}

/// `POST /settings/tokens/{id}/revoke`.
pub(crate) fn revoke_token() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>,
         caller: Result<Caller, ApiError>,
         addr: ClientAddr,
         Path(id): Path<String>| async move {
            let me = match signed_in(&state, caller, "/settings").await {
                Ok(me) => me,
                Err(page) => return page,
            };
            match crate::accounts::revoke_token(&state, &me.caller, addr, &id).await {
                Ok(()) => see_other("/settings", None),
                Err(e) => error_page(&e),
            }
        },
    )
}

/// `POST /settings/password` (`current_password`, `new_password`): every other session ends.
pub(crate) fn password() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>,
         caller: Result<Caller, ApiError>,
         addr: ClientAddr,
         FormFields(f): FormFields| async move {
            let me = match signed_in(&state, caller, "/settings").await {
                Ok(me) => me,
                Err(page) => return page,
            };
            let secret = |k: &str| SecretString::from(f.get(k).cloned().unwrap_or_default());
            let mut s = Settings::default();
            match change_password(
                &state,
                &me.caller,
                addr,
                secret("current_password"),
                secret("new_password"),
            )
            .await
            {
                Ok(ended) => {
                    s.notice = Some(format!(
                        "Your password is changed; {ended} other session(s) were signed out. API tokens keep working: revoke any that may be exposed."
                    ));
                }
                Err(e) if e.code == REAUTHENTICATION_REQUIRED => return to_reauth("/settings"),
                Err(e) if e.code == "wrong_password" => s.current_error = Some(sentence(&e)),
                Err(e) if e.code.starts_with("password_") => s.new_error = Some(sentence(&e)),
                Err(e) => return error_page(&e),
            }
            page(&state, &me, s).await
        },
    )
}

/// `POST /settings/zone` (`zone`): the IANA zone the calendar shows and the composer starts in.
pub(crate) fn zone() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>, caller: Result<Caller, ApiError>, FormFields(f): FormFields| async move {
            let me = match signed_in(&state, caller, "/settings").await {
                Ok(me) => me,
                Err(page) => return page,
            };
            let zone = f.get("zone").map_or("", |z| z.trim()).to_owned();
            let mut s = Settings::default();
            if jiff::tz::TimeZone::get(&zone).is_err() {
                s.zone_error = Some(format!(
                    "“{zone}” is not a time zone Herald knows; pick one from the list."
                ));
                return page(&state, &me, s).await;
            }
            match state.store.set_time_zone(me.caller.user, &zone, false).await {
                Ok(()) => see_other("/settings", None),
                Err(e) => error_page(&e.into()),
            }
        },
    )
}

/// `POST /settings/sessions/{id}/revoke` signs one session out; `…/others/revoke` every one but
/// this browser's (as `/api/v1/sessions…` do).
pub(crate) fn revoke_session() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>,
         caller: Result<Caller, ApiError>,
         addr: ClientAddr,
         Path(id): Path<String>| async move {
            let me = match signed_in(&state, caller, "/settings").await {
                Ok(me) => me,
                Err(page) => return page,
            };
            let done = if id == "others" {
                crate::sessions::end_others(&state, &me.caller, addr)
                    .await
                    .map(drop)
            } else {
                crate::sessions::end_one(&state, &me.caller, addr, &id).await
            };
            match done {
                Ok(()) => see_other("/settings", None),
                Err(e) => error_page(&e),
            }
        },
    )
}
