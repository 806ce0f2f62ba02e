//! Scoped API tokens: the scope each operation needs of a token (read off the route table's
//! paths, in one function a reviewer can read), the check the access middleware makes, and the
//! grant a new token gets (one workspace, scopes within the person's role there).

use axum::http::StatusCode;
use herald_domain::{Role, Scope};
use herald_store::TokenGrant;

use crate::AppState;
use crate::access::Need;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};

/// What an operation asks of a scoped token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenUse {
    /// Any token (the caller's own account, the platforms' list, public routes).
    Open,
    /// A token of the path's workspace holding this scope.
    Scope(Scope),
    /// No scoped token: pages, the instance, a person's sessions, tokens and password, deleting
    /// a workspace. A browser session (or a legacy token, with its owner's rights) does it.
    Refused,
}

impl TokenUse {
    /// The scope, for the OpenAPI document's `x-herald-scope`.
    pub(crate) fn scope(self) -> Option<Scope> {
        match self {
            TokenUse::Scope(s) => Some(s),
            TokenUse::Open | TokenUse::Refused => None,
        }
    }
}

/// What `method` on the route table's `path`, declared `need`, asks of a scoped token.
pub(crate) fn token_use(path: &str, method: &str, need: Need) -> TokenUse {
    let read = method.eq_ignore_ascii_case("get");
    match need {
        Need::Anyone => return TokenUse::Open,
        Need::Instance => return TokenUse::Refused,
        Need::Account => {
            return if read && matches!(path, "/api/v1/me" | "/api/v1/platforms") {
                TokenUse::Open
            } else {
                TokenUse::Refused
            };
        }
        Need::Role(_) => {}
    }
    let Some(rest) = path.strip_prefix("/api/v1/workspaces/{ws}/") else {
        return TokenUse::Refused;
    };
    let either = |r, w| if read { r } else { w };
    let scope = match rest.split('/').next().unwrap_or_default() {
        "audit" => Scope::AuditRead,
        "connections" => either(Scope::ProfilesRead, Scope::ProfilesWrite),
        "profiles" if rest.contains("/choices/") => Scope::ProfilesRead,
        "profiles" => either(Scope::ProfilesRead, Scope::ProfilesWrite),
        "media" => either(Scope::PostsRead, Scope::MediaWrite),
        "members" | "invitations" => Scope::MembersWrite,
        // Marking notifications read is the reader's own business.
        "notifications" => Scope::PostsRead,
        "settings" => either(Scope::PostsRead, Scope::SettingsWrite),
        "export" => Scope::Export,
        "drafts" => either(Scope::PostsRead, Scope::PostsWrite),
        "posts" if rest.ends_with("/metrics") => Scope::AnalyticsRead,
        "posts" if rest.contains("/comments") => either(Scope::EngagementRead, Scope::EngagementWrite),
        "posts" if rest.ends_with("/approve") || rest.ends_with("/reject") => Scope::PostsApprove,
        "posts" if rest.ends_with("/validate") => Scope::PostsRead,
        "posts" => either(Scope::PostsRead, Scope::PostsWrite),
        _ => return TokenUse::Refused,
    };
    TokenUse::Scope(scope)
}

/// Whether a scoped token may make this call: a path naming another workspace than the token's
/// is 404 (as for anyone outside it), a missing scope 403 `scope_required` naming it, and an
/// operation no scoped token may call 403 `token_not_allowed`.
pub(crate) fn check(grant: &TokenGrant, used: TokenUse, named_ws: Option<&str>) -> ApiResult<()> {
    if let Some(ws) = named_ws
        && ws != grant.workspace.to_string()
    {
        return Err(ApiError::not_found("workspace"));
    }
    match used {
        TokenUse::Open => Ok(()),
        TokenUse::Scope(s) if grant.scopes.contains(&s) => Ok(()),
        TokenUse::Scope(s) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "scope_required",
            format!("this token lacks the `{s}` scope this needs; make a token with it"),
        )
        .with("needed_scope", s.as_str().into())),
        TokenUse::Refused => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "token_not_allowed",
            "a scoped API token cannot do this; do it signed in, in the browser",
        )),
    }
}

/// The grant of a token `caller` makes: the workspace named (by default the one their pages act
/// in), and the scopes named (by default every scope their role there allows). 404 for a
/// workspace they are not in; 422 for an unknown scope, none, or one beyond their role.
pub(crate) async fn grant_for(
    state: &AppState,
    caller: &Caller,
    workspace: Option<&str>,
    scopes: Option<&[String]>,
) -> ApiResult<TokenGrant> {
    let (ws, role) = match workspace {
        Some(ws) => caller.workspace_role(state, ws).await?,
        None => crate::access::current_workspace(state, caller.user)
            .await?
            .ok_or_else(|| ApiError::not_found("workspace"))?,
    };
    let scopes = match scopes {
        None => Scope::allowed_for(role).collect(),
        Some(names) => chosen(names, role)?,
    };
    Ok(TokenGrant {
        workspace: ws,
        scopes,
    })
}

/// The scopes named, each checked against `role`.
fn chosen(names: &[String], role: Role) -> ApiResult<Vec<Scope>> {
    let invalid = |m: String| ApiError::unprocessable("invalid_scopes", m).with("field", "scopes".into());
    let mut scopes = Vec::new();
    for name in names {
        let scope: Scope = name
            .trim()
            .parse()
            .map_err(|e: herald_domain::scope::UnknownScope| invalid(e.to_string()))?;
        if scope.min_role() > role {
            return Err(invalid(format!(
                "`{scope}` needs the {} role in the workspace; you are {}",
                scope.min_role(),
                role.with_article()
            )));
        }
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    if scopes.is_empty() {
        return Err(invalid("a token needs at least one scope".to_owned()));
    }
    scopes.sort();
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{ACCOUNT, ADMIN, EDITOR, VIEWER};

    #[test]
    fn each_workspace_api_operation_of_the_route_table_asks_a_scope_and_pages_refuse_tokens() {
        for (path, _, ops) in crate::routes() {
            for op in ops {
                let used = token_use(path, op.method, op.need);
                if path.starts_with("/api/v1/workspaces/{ws}/") {
                    assert!(
                        matches!(used, TokenUse::Scope(_)),
                        "{} {path} asks no scope of a token",
                        op.method
                    );
                } else if !path.starts_with("/api/") && op.need != Need::Anyone {
                    assert_eq!(used, TokenUse::Refused, "{} {path}", op.method);
                }
            }
        }
        let posts = "/api/v1/workspaces/{ws}/posts/{id}";
        assert_eq!(token_use(posts, "get", VIEWER), TokenUse::Scope(Scope::PostsRead));
        assert_eq!(
            token_use(posts, "patch", EDITOR),
            TokenUse::Scope(Scope::PostsWrite)
        );
        let approve = "/api/v1/workspaces/{ws}/posts/{id}/approve";
        assert_eq!(
            token_use(approve, "post", ADMIN),
            TokenUse::Scope(Scope::PostsApprove)
        );
        assert_eq!(token_use("/api/v1/tokens", "post", ACCOUNT), TokenUse::Refused);
        assert_eq!(token_use("/api/v1/me", "get", ACCOUNT), TokenUse::Open);
    }

    #[test]
    fn a_token_cannot_be_given_a_scope_beyond_its_makers_role() {
        let names = |n: &[&str]| n.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            chosen(&names(&["posts:write", "posts:read", "posts:read"]), Role::Editor).unwrap(),
            vec![Scope::PostsRead, Scope::PostsWrite]
        );
        let e = chosen(&names(&["members:write"]), Role::Editor).unwrap_err();
        assert_eq!(e.code, "invalid_scopes");
        assert!(chosen(&names(&["posts:delete"]), Role::Owner).is_err());
        assert!(chosen(&[], Role::Owner).is_err());
    }
}
