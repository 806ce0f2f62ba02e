//! A workspace's members and invitations: the members list, roles changed by owners, members
//! removed by admins (an owner only by an owner, and never the last owner), invitations by link
//! (its secret shown once, stored hashed), revoked, and accepted once; the API's routes and the
//! `/members` and `/invitations/…` pages, through the same functions.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{MethodRouter, delete, get, patch, post};
use herald_domain::role::UnknownRole;
use herald_domain::{InvitationId, Role, UserId, WorkspaceId};
use herald_store::{Actor, InvitationRow, MemberRow, StoreError};
use jiff::SignedDuration;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::accounts::checked_email;
use crate::audit;
use crate::auth::{Caller, hash_secret, random_secret};
use crate::client::ClientAddr;
use crate::connections::public_link;
use crate::error::{ApiError, ApiResult};
use crate::json::{Body, FormFields, rfc3339};
use crate::web::{Me, error_page, render, see_other, sentence, signed_in};

/// How long an invitation's link works.
const INVITATION_DAYS: i64 = 7;

/// The caller's role in `ws`; 404 when they are not a member.
async fn role_in(state: &AppState, caller: &Caller, ws: WorkspaceId) -> ApiResult<Role> {
    state
        .store
        .membership(caller.user, ws)
        .await?
        .ok_or_else(|| ApiError::not_found("workspace"))
}

/// A role as a body or a form names it; 422 naming the `role` field otherwise.
fn role_named(role: &str) -> ApiResult<Role> {
    role.trim().parse().map_err(|e: UnknownRole| {
        ApiError::unprocessable("invalid_role", e.to_string()).with("field", "role".into())
    })
}

fn member_id(user: &str) -> ApiResult<UserId> {
    user.parse().map_err(|_| ApiError::not_found("member"))
}

/// 403 for what only an owner may do.
fn owners_only(what: &str, held: Role) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "role_required",
        format!("only an owner can {what}; you are {}", held.with_article()),
    )
    .with("needed_role", Role::Owner.as_str().into())
}

/// A change to a member the store refused: it would leave no owner (409 `last_owner`), or they
/// are not a member (404).
fn refused(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(why) => ApiError::new(StatusCode::CONFLICT, "last_owner", why),
        StoreError::NotFound => ApiError::not_found("member"),
        other => other.into(),
    }
}

/// An invitation's secret Herald does not know.
fn unknown() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "this invitation is not one Herald knows; check that the whole link was copied, or ask for a new one",
    )
}

/// An invitation that can no longer be accepted, by [`InvitationRow::spent`]'s word.
fn gone(why: &str) -> ApiError {
    let (code, message) = match why {
        "used" => (
            "invitation_used",
            "this invitation was accepted already, and each is used once; ask for a new one",
        ),
        "revoked" => (
            "invitation_revoked",
            "this invitation was revoked; ask for a new one",
        ),
        _ => (
            "invitation_expired",
            "this invitation has expired; ask for a new one",
        ),
    };
    ApiError::new(StatusCode::GONE, code, message)
}

/// Gives a member another role (owners only, as the route table declares); 409 `last_owner` when
/// the workspace would be left without an owner. Returns the member as they are now.
pub(crate) async fn change_role(
    state: &AppState,
    caller: &Caller,
    addr: ClientAddr,
    ws: WorkspaceId,
    user: &str,
    role: &str,
) -> ApiResult<MemberRow> {
    let user = member_id(user)?;
    let role = role_named(role)?;
    state.store.set_member(ws, user, role).await.map_err(refused)?;
    // What they invited with a role they may no longer hold does not outlive the change.
    state.store.revoke_invitations_by(ws, user).await?;
    audit::record(
        state,
        Some(ws),
        audit::actor(caller),
        "member.role_changed",
        format!("user:{user}"),
        Some(addr),
        &format!("role={role}"),
    )
    .await;
    let email = state.store.get_user(user).await?.email;
    Ok(MemberRow { user, email, role })
}

/// Removes a member: an admin anyone but an owner, an owner anyone, never the last owner (409
/// `last_owner`). With the membership go their sessions' and tokens' access to the workspace.
pub(crate) async fn remove(
    state: &AppState,
    caller: &Caller,
    addr: ClientAddr,
    ws: WorkspaceId,
    user: &str,
) -> ApiResult<()> {
    let user = member_id(user)?;
    let held = role_in(state, caller, ws).await?;
    let theirs = state
        .store
        .membership(user, ws)
        .await?
        .ok_or_else(|| ApiError::not_found("member"))?;
    if theirs == Role::Owner && held < Role::Owner {
        return Err(owners_only("remove an owner", held));
    }
    state.store.remove_member(ws, user).await.map_err(refused)?;
    state.store.revoke_invitations_by(ws, user).await?;
    audit::record(
        state,
        Some(ws),
        audit::actor(caller),
        "member.removed",
        format!("user:{user}"),
        Some(addr),
        "",
    )
    .await;
    Ok(())
}

/// Invites `email` with `role` for a week (an admin any role but owner, an owner any). Returns the
/// invitation and its link, whose secret is stored hashed and shown this once.
pub(crate) async fn invite(
    state: &AppState,
    caller: &Caller,
    addr: ClientAddr,
    ws: WorkspaceId,
    email: &str,
    role: &str,
) -> ApiResult<(InvitationRow, String)> {
    let email = checked_email(email)?;
    let role = role_named(role)?;
    let held = role_in(state, caller, ws).await?;
    if role == Role::Owner && held < Role::Owner {
        return Err(owners_only("invite an owner", held));
    }
    let secret = random_secret();
    let expires =
        (state.store.clock().now() + SignedDuration::from_hours(24 * INVITATION_DAYS)).as_microsecond();
    let row = state
        .store
        .create_invitation(ws, &email, role, &hash_secret(&secret), caller.user, expires)
        .await?;
    audit::record(
        state,
        Some(ws),
        audit::actor(caller),
        "invitation.created",
        format!("invitation:{}", row.id),
        Some(addr),
        &format!("role={role}"),
    )
    .await;
    Ok((row, public_link(state, &format!("invitations/{secret}"))))
}

/// Revokes one of the workspace's pending invitations; 404 for any other.
pub(crate) async fn revoke(
    state: &AppState,
    caller: &Caller,
    addr: ClientAddr,
    ws: WorkspaceId,
    id: &str,
) -> ApiResult<()> {
    let id: InvitationId = id.parse().map_err(|_| ApiError::not_found("invitation"))?;
    state
        .store
        .revoke_invitation(ws, id)
        .await
        .map_err(ApiError::missing("invitation"))?;
    audit::record(
        state,
        Some(ws),
        audit::actor(caller),
        "invitation.revoked",
        format!("invitation:{id}"),
        Some(addr),
        "",
    )
    .await;
    Ok(())
}

/// The pending invitation a link's secret names: 404 for an unknown secret, 410 for an invitation
/// used, expired or revoked.
pub(crate) async fn pending(state: &AppState, secret: &str) -> ApiResult<InvitationRow> {
    let row = state
        .store
        .invitation_by_token(&hash_secret(secret.trim()))
        .await?
        .ok_or_else(unknown)?;
    match row.spent(state.store.clock().now().as_microsecond()) {
        Some(why) => Err(gone(why)),
        None => Ok(row),
    }
}

/// Accepts an invitation for `user` (acting as `by`): they join its workspace, keeping a higher
/// role they hold there already. Returns the workspace and the role they hold there now; 404 for
/// an unknown secret, 410 for an invitation used, expired or revoked.
pub(crate) async fn join(
    state: &AppState,
    user: UserId,
    by: Actor,
    addr: ClientAddr,
    secret: &str,
) -> ApiResult<(WorkspaceId, Role)> {
    let hash = hash_secret(secret.trim());
    // An invitation is for the person it names: another account holding its link cannot use it.
    if let Some(invited) = state.store.invitation_by_token(&hash).await?
        && invited.email != state.store.get_user(user).await?.email
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "invitation_for_another_email",
            "this invitation is for another email address: sign in as the person it was sent to",
        ));
    }
    let (ws, role) = state
        .store
        .accept_invitation(&hash, user)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => unknown(),
            StoreError::Conflict(why) => gone(&why),
            other => other.into(),
        })?;
    // The person's pages act in the workspace they just joined.
    state.store.set_current_workspace(user, ws).await?;
    audit::record(
        state,
        Some(ws),
        by,
        "member.joined",
        format!("user:{user}"),
        Some(addr),
        &format!("role={role}"),
    )
    .await;
    Ok((ws, role))
}

fn member_json(m: &MemberRow) -> Value {
    json!({"user_id": m.user, "email": m.email, "role": m.role.as_str()})
}

fn invitation_json(i: &InvitationRow) -> Value {
    json!({
        "id": i.id, "email": i.email, "role": i.role.as_str(), "invited_by": i.invited_by,
        "created_at": rfc3339(i.created_at), "expires_at": rfc3339(i.expires_at),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleChange {
    role: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewInvitation {
    email: String,
    role: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Acceptance {
    /// The secret at the end of the invitation's link.
    token: String,
}

/// `GET /workspaces/{ws}/members`: the members, the highest role first.
pub(crate) fn list() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, caller: Caller, Path(ws): Path<String>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            let data: Vec<Value> = state.store.members(ws).await?.iter().map(member_json).collect();
            Ok::<_, ApiError>(axum::Json(json!({ "data": data })))
        },
    )
}

/// `PATCH /workspaces/{ws}/members/{user}` (`role`) and `DELETE` (204).
pub(crate) fn one() -> MethodRouter<AppState> {
    patch(
        |State(state): State<AppState>,
         caller: Caller,
         addr: ClientAddr,
         Path((ws, user)): Path<(String, String)>,
         Body(b): Body<RoleChange>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            let m = change_role(&state, &caller, addr, ws, &user, &b.role).await?;
            Ok::<_, ApiError>(axum::Json(member_json(&m)))
        },
    )
    .delete(
        |State(state): State<AppState>,
         caller: Caller,
         addr: ClientAddr,
         Path((ws, user)): Path<(String, String)>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            remove(&state, &caller, addr, ws, &user).await?;
            Ok::<_, ApiError>(StatusCode::NO_CONTENT)
        },
    )
}

/// `GET /workspaces/{ws}/invitations` (the pending ones) and `POST` (`email`, `role`): a new
/// invitation and its link, shown once.
pub(crate) fn invitations() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, caller: Caller, Path(ws): Path<String>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            let data: Vec<Value> = state
                .store
                .invitations(ws)
                .await?
                .iter()
                .map(invitation_json)
                .collect();
            Ok::<_, ApiError>(axum::Json(json!({ "data": data })))
        },
    )
    .post(
        |State(state): State<AppState>,
         caller: Caller,
         addr: ClientAddr,
         Path(ws): Path<String>,
         Body(b): Body<NewInvitation>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            let (row, url) = invite(&state, &caller, addr, ws, &b.email, &b.role).await?;
            let mut body = invitation_json(&row);
            body["url"] = json!(url);
            body["note"] = json!("This is the only time the link is shown; send it to the person now.");
            Ok::<_, ApiError>((StatusCode::CREATED, axum::Json(body)))
        },
    )
}

/// `DELETE /workspaces/{ws}/invitations/{id}`: revokes a pending invitation (204).
pub(crate) fn invitation() -> MethodRouter<AppState> {
    delete(
        |State(state): State<AppState>,
         caller: Caller,
         addr: ClientAddr,
         Path((ws, id)): Path<(String, String)>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            revoke(&state, &caller, addr, ws, &id).await?;
            Ok::<_, ApiError>(StatusCode::NO_CONTENT)
        },
    )
}

/// `POST /invitations/accept` (`token`): the caller joins the invitation's workspace.
pub(crate) fn accept() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>, caller: Caller, addr: ClientAddr, Body(a): Body<Acceptance>| async move {
            let (ws, role) = join(&state, caller.user, audit::actor(&caller), addr, &a.token).await?;
            Ok::<_, ApiError>(axum::Json(json!({"workspace_id": ws, "role": role.as_str()})))
        },
    )
}

/// A member as the page lists them.
struct MemberLine {
    id: String,
    email: String,
    role: &'static str,
    you: bool,
    /// The person may remove them: an admin any member but an owner, an owner anyone.
    removable: bool,
}

/// A pending invitation as the page lists it.
struct InvitationLine {
    id: String,
    email: String,
    role: &'static str,
    expires: String,
}

#[derive(Template, Default)]
#[template(path = "members.html")]
struct MembersPage {
    email: String,
    workspace: String,
    members: Vec<MemberLine>,
    invitations: Vec<InvitationLine>,
    /// The person is an owner: each member's role can be changed.
    change_roles: bool,
    /// The person is an admin or an owner: members are removed, invitations made and revoked.
    manage: bool,
    /// Every role, for the role selects.
    roles: Vec<&'static str>,
    /// The roles the person may invite with.
    invite_roles: Vec<&'static str>,
    /// An invitation just made: its email and link, shown this once.
    new_link: Option<(String, String)>,
    invite_email: String,
    invite_role: String,
    email_error: Option<String>,
    role_error: Option<String>,
    /// Why a change to a member was refused.
    member_error: Option<String>,
}

/// The members page of the person's current workspace, with `p`'s form state, answered `status`.
async fn show(state: &AppState, me: &Me, mut p: MembersPage, status: StatusCode) -> Response {
    match fill(state, me, &mut p).await {
        Ok(()) => render(status, &p),
        Err(e) => error_page(&e),
    }
}

async fn fill(state: &AppState, me: &Me, p: &mut MembersPage) -> ApiResult<()> {
    let held = role_in(state, &me.caller, me.ws).await?;
    let (owner, manage) = (held == Role::Owner, held >= Role::Admin);
    p.email = me.email.clone();
    p.workspace = me.workspace.clone();
    p.change_roles = owner;
    p.manage = manage;
    p.roles = Role::ALL.into_iter().map(Role::as_str).collect();
    p.invite_roles = Role::ALL
        .into_iter()
        .filter(|r| owner || *r < Role::Owner)
        .map(Role::as_str)
        .collect();
    if p.invite_role.is_empty() {
        p.invite_role = Role::Editor.as_str().to_owned();
    }
    p.members = state
        .store
        .members(me.ws)
        .await?
        .into_iter()
        .map(|m| MemberLine {
            id: m.user.to_string(),
            you: m.user == me.caller.user,
            removable: manage && (owner || m.role < Role::Owner),
            role: m.role.as_str(),
            email: m.email,
        })
        .collect();
    if manage {
        let zone = me.time_zone.as_deref().unwrap_or("UTC");
        p.invitations = state
            .store
            .invitations(me.ws)
            .await?
            .into_iter()
            .map(|i| InvitationLine {
                id: i.id.to_string(),
                role: i.role.as_str(),
                expires: crate::post_page::local(i.expires_at, zone),
                email: i.email,
            })
            .collect();
    }
    Ok(())
}

/// `GET /members`: the current workspace's members, and the forms the person's role allows.
pub(crate) fn page() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, caller: Result<Caller, ApiError>| async move {
            match signed_in(&state, caller, "/members").await {
                Ok(me) => show(&state, &me, MembersPage::default(), StatusCode::OK).await,
                Err(page) => page,
            }
        },
    )
}

/// `POST /members/invite` (`email`, `role`): a new invitation, its link shown this once; or the
/// form again, each error beside its field.
pub(crate) fn invite_form() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>,
         caller: Result<Caller, ApiError>,
         addr: ClientAddr,
         FormFields(f): FormFields| async move {
            let me = match signed_in(&state, caller, "/members").await {
                Ok(me) => me,
                Err(page) => return page,
            };
            let email = f.get("email").cloned().unwrap_or_default();
            let role = f.get("role").cloned().unwrap_or_default();
            let mut p = MembersPage::default();
            match invite(&state, &me.caller, addr, me.ws, &email, &role).await {
                Ok((row, link)) => {
                    p.new_link = Some((row.email, link));
                    show(&state, &me, p, StatusCode::OK).await
                }
                Err(e) => {
                    let said = Some(sentence(&e));
                    match e.code {
                        "invalid_email" => p.email_error = said,
                        "invalid_role" | "role_required" => p.role_error = said,
                        _ => return error_page(&e),
                    }
                    p.invite_email = email;
                    p.invite_role = role;
                    show(&state, &me, p, e.status).await
                }
            }
        },
    )
}

/// Back to the members page after a change to a member, or the page again saying why it was
/// refused.
async fn after_change(state: &AppState, me: &Me, done: ApiResult<()>) -> Response {
    match done {
        Ok(()) => see_other("/members", None),
        Err(e) if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND => {
            let p = MembersPage {
                member_error: Some(sentence(&e)),
                ..MembersPage::default()
            };
            show(state, me, p, e.status).await
        }
        Err(e) => error_page(&e),
    }
}

/// `POST /members/{user}/role` (`role`): the member's new role.
pub(crate) fn role_form() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>,
         caller: Result<Caller, ApiError>,
         addr: ClientAddr,
         Path(user): Path<String>,
         FormFields(f): FormFields| async move {
            let me = match signed_in(&state, caller, "/members").await {
                Ok(me) => me,
                Err(page) => return page,
            };
            let role = f.get("role").map_or("", String::as_str);
            let done = change_role(&state, &me.caller, addr, me.ws, &user, role).await;
            after_change(&state, &me, done.map(drop)).await
        },
    )
}

/// `POST /members/{user}/remove`.
pub(crate) fn remove_form() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>,
         caller: Result<Caller, ApiError>,
         addr: ClientAddr,
         Path(user): Path<String>| async move {
            let me = match signed_in(&state, caller, "/members").await {
                Ok(me) => me,
                Err(page) => return page,
            };
            let done = remove(&state, &me.caller, addr, me.ws, &user).await;
            after_change(&state, &me, done).await
        },
    )
}

/// `POST /invitations/{id}/revoke`: back to the members page.
pub(crate) fn revoke_form() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>,
         caller: Result<Caller, ApiError>,
         addr: ClientAddr,
         Path(id): Path<String>| async move {
            let me = match signed_in(&state, caller, "/members").await {
                Ok(me) => me,
                Err(page) => return page,
            };
            match revoke(&state, &me.caller, addr, me.ws, &id).await {
                Ok(()) => see_other("/members", None),
                Err(e) => error_page(&e),
            }
        },
    )
}

#[derive(Template)]
#[template(path = "invitation.html")]
struct InvitationPage {
    /// The signed-in person's email; empty for someone not signed in.
    email: String,
    secret: String,
    /// While the invitation is pending: the workspace's name, the role (with its article) and the
    /// email invited.
    invited: Option<(String, &'static str, String)>,
    /// Why it cannot be accepted.
    problem: Option<String>,
}

/// The invitation's page for `me` (if signed in): what it invites to, or why it cannot be
/// accepted (`refusal`, or found now).
async fn invitation_view(
    state: &AppState,
    me: Option<&Me>,
    secret: &str,
    refusal: Option<ApiError>,
) -> Response {
    let mut page = InvitationPage {
        email: me.map(|m| m.email.clone()).unwrap_or_default(),
        secret: secret.to_owned(),
        invited: None,
        problem: None,
    };
    let found = match refusal {
        Some(e) => Err(e),
        None => pending(state, secret).await,
    };
    match found {
        Ok(i) => match state.store.workspace_name(i.workspace).await {
            Ok(name) => {
                page.invited = Some((name, i.role.with_article(), i.email));
                render(StatusCode::OK, &page)
            }
            Err(e) => error_page(&e.into()),
        },
        Err(e) if e.status == StatusCode::NOT_FOUND || e.status == StatusCode::GONE => {
            page.problem = Some(sentence(&e));
            render(e.status, &page)
        }
        Err(e) => error_page(&e),
    }
}

/// `GET /invitations/{secret}` names the workspace and the role, with the way to sign in or sign
/// up first for someone not signed in; `POST` accepts it for the signed-in person and goes to the
/// dashboard.
pub(crate) fn invitation_page() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, caller: Result<Caller, ApiError>, Path(secret): Path<String>| async move {
            let me = signed_in(&state, caller, "/").await.ok();
            invitation_view(&state, me.as_ref(), &secret, None).await
        },
    )
    .post(
        |State(state): State<AppState>,
         caller: Result<Caller, ApiError>,
         addr: ClientAddr,
         Path(secret): Path<String>| async move {
            let me = match signed_in(&state, caller, &format!("/invitations/{secret}")).await {
                Ok(me) => me,
                Err(page) => return page,
            };
            match join(&state, me.caller.user, audit::actor(&me.caller), addr, &secret).await {
                Ok(_) => see_other("/", None),
                Err(e) => invitation_view(&state, Some(&me), &secret, Some(e)).await,
            }
        },
    )
}
