//! Who may call what: each operation of the route table declares what it needs (anyone, a
//! signed-in account, or a role in the workspace), and one middleware enforces it before the
//! handler runs, so a refusal writes nothing.

use axum::extract::{FromRequestParts, RawPathParams, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use herald_domain::{Role, UserId, WorkspaceId};
use std::sync::Arc;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::scopes::{self, TokenUse};

/// What an operation needs of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Nobody in particular: public pages, health, signed media URLs, OAuth redirects (their
    /// single-use state names who started them).
    Anyone,
    /// A signed-in person, about their own account (sessions, password, personal tokens).
    Account,
    /// At least this role in the workspace: the one the path names (`{ws}`), or for a page the
    /// person's current workspace.
    Role(Role),
    /// The instance's administrator (its first account): the instance's own audit log.
    Instance,
}

pub const ANYONE: Need = Need::Anyone;
pub const ACCOUNT: Need = Need::Account;
pub const VIEWER: Need = Need::Role(Role::Viewer);
pub const EDITOR: Need = Need::Role(Role::Editor);
pub const ADMIN: Need = Need::Role(Role::Admin);
pub const OWNER: Need = Need::Role(Role::Owner);
pub const INSTANCE_ADMIN: Need = Need::Instance;

impl Need {
    /// `anyone`, `account`, or the role's name: the route table's declaration, in one word.
    pub fn as_str(self) -> &'static str {
        match self {
            Need::Anyone => "anyone",
            Need::Account => "account",
            Need::Role(r) => r.as_str(),
            Need::Instance => "instance_admin",
        }
    }
}

/// The needs of one path's methods, and what each asks of a scoped token.
pub(crate) type Needs = Arc<[(Method, Need, TokenUse)]>;

/// The workspace a page acts in: the person's first (their current one).
pub(crate) async fn current_workspace(
    state: &AppState,
    user: UserId,
) -> Result<Option<(WorkspaceId, Role)>, ApiError> {
    let user = state.store.get_user(user).await?;
    Ok(user.workspaces.into_iter().next().map(|(ws, _, role)| (ws, role)))
}

/// Enforces the route table's declaration for the request's method. An undeclared method is
/// refused; a caller without the role gets 403, a workspace they are not in 404. A caller who is
/// not signed in gets 401 from the API; on a page, the handler leads to the sign-in page.
pub(crate) async fn enforce(
    State((state, needs)): State<(AppState, Needs)>,
    req: Request,
    next: Next,
) -> Response {
    let method = match *req.method() {
        Method::HEAD => Method::GET,
        ref m => m.clone(),
    };
    let (uri, headers) = (req.uri().clone(), req.headers().clone());
    let Some((need, used)) = needs
        .iter()
        .find(|(m, ..)| *m == method)
        .map(|(_, n, u)| (*n, *u))
    else {
        let e = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{method} is not allowed here"),
        );
        return respond(&uri, &headers, e);
    };
    if need == Need::Anyone {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let caller = match Caller::from_request_parts(&mut parts, &state).await {
        Ok(caller) => caller,
        // Not signed in: the API answers 401 here, whatever the handler would do; a page's
        // handler leads to the sign-in page (and returns there after).
        Err(e) if e.status == StatusCode::UNAUTHORIZED => {
            if uri.path().starts_with("/api/") {
                return e.into_response();
            }
            return next.run(Request::from_parts(parts, body)).await;
        }
        // An owner or admin who must set up two-factor sign-in first: nothing runs.
        Err(e) if e.code == crate::two_factor::ENROLMENT_REQUIRED => {
            return crate::two_factor::enrolment_response(&uri, e);
        }
        // Who is calling is unknown (the database did not answer): nothing runs unchecked.
        Err(e) => return respond(&uri, &headers, e),
    };
    let named = RawPathParams::from_request_parts(&mut parts, &())
        .await
        .ok()
        .and_then(|p| p.iter().find(|(k, _)| *k == "ws").map(|(_, v)| v.to_owned()));
    if let Some(grant) = &caller.grant
        && let Err(e) = scopes::check(grant, used, named.as_deref())
    {
        return respond(&uri, &headers, e);
    }
    if need == Need::Account {
        parts.extensions.insert(caller);
        return next.run(Request::from_parts(parts, body)).await;
    }
    let Need::Role(needed) = need else {
        return match state.store.get_user(caller.user).await {
            Ok(user) if user.instance_admin => {
                parts.extensions.insert(caller);
                next.run(Request::from_parts(parts, body)).await
            }
            Ok(_) => {
                let e = ApiError::new(
                    StatusCode::FORBIDDEN,
                    "instance_admin_required",
                    "this is for the instance's administrator, the account made first on this Herald",
                );
                respond(&uri, &headers, e)
            }
            Err(e) => respond(&uri, &headers, e.into()),
        };
    };
    let mut caller = caller;
    let role = match named {
        Some(ws) => match caller.workspace_role(&state, &ws).await {
            Ok((_, role)) => role,
            Err(e) => return respond(&uri, &headers, e),
        },
        // A page acts in the person's current workspace, read once here for the handler too.
        None => match current_workspace(&state, caller.user).await {
            Ok(Some((ws, role))) => {
                caller.acting = Some((ws, role));
                role
            }
            Ok(None) => return respond(&uri, &headers, ApiError::not_found("workspace")),
            Err(e) => return respond(&uri, &headers, e),
        },
    };
    if role < needed {
        let e = ApiError::new(
            StatusCode::FORBIDDEN,
            "role_required",
            format!(
                "this needs the {needed} role in the workspace; you are {}",
                role.with_article()
            ),
        )
        .with("needed_role", needed.as_str().into());
        return respond(&uri, &headers, e);
    }
    parts.extensions.insert(caller);
    next.run(Request::from_parts(parts, body)).await
}

/// An error as a page for a browser's page address, as the API's JSON everywhere else.
pub(crate) fn respond(uri: &Uri, headers: &HeaderMap, e: ApiError) -> Response {
    let wants_page = !uri.path().starts_with("/api/")
        && headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
    if wants_page {
        crate::web::error_page(&e)
    } else {
        e.into_response()
    }
}
