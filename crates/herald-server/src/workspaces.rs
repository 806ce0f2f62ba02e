//! Which workspace a person's pages act in: `/workspaces` lists those they belong to, with their
//! role, and switches; `GET /api/v1/me` says which is current (API routes name theirs in the path).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{MethodRouter, get, post};
use herald_domain::WorkspaceId;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::web::{error_page, render, see_other, signed_in};

struct Line {
    id: String,
    name: String,
    role: &'static str,
    current: bool,
}

#[derive(Template)]
#[template(path = "workspaces.html")]
struct Workspaces {
    email: String,
    lines: Vec<Line>,
}

/// `GET /workspaces`: the person's workspaces, the current one first.
pub(crate) fn page() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, caller: Result<Caller, ApiError>| async move {
            let me = match signed_in(&state, caller, "/workspaces").await {
                Ok(me) => me,
                Err(page) => return page,
            };
            let user = match state.store.get_user(me.caller.user).await {
                Ok(u) => u,
                Err(e) => return error_page(&e.into()),
            };
            let lines = user
                .workspaces
                .iter()
                .enumerate()
                .map(|(i, (id, name, role))| Line {
                    id: id.to_string(),
                    name: name.clone(),
                    role: role.as_str(),
                    current: i == 0,
                })
                .collect();
            render(
                StatusCode::OK,
                &Workspaces {
                    email: me.email,
                    lines,
                },
            )
        },
    )
}

/// `POST /workspaces/{id}/switch`: the person's pages act in that workspace from now on (one they
/// do not belong to is not found).
pub(crate) fn switch() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>, caller: Result<Caller, ApiError>, Path(id): Path<String>| async move {
            let me = match signed_in(&state, caller, "/workspaces").await {
                Ok(me) => me,
                Err(page) => return page,
            };
            let switched = match id.parse::<WorkspaceId>() {
                Ok(ws) => state
                    .store
                    .set_current_workspace(me.caller.user, ws)
                    .await
                    .map_err(ApiError::missing("workspace")),
                Err(_) => Err(ApiError::not_found("workspace")),
            };
            match switched {
                Ok(()) => see_other("/", None),
                Err(e) => error_page(&e),
            }
        },
    )
}
