//! A workspace's members and invitations: roles changed and members removed (never leaving the
//! workspace without an owner), invitations made, listed, revoked, and accepted once.

use herald_domain::{InvitationId, Role, UserId, WorkspaceId};

use crate::{Result, Store, StoreError, on_db, parse_id, parse_role};

/// A member as the members list shows them.
#[derive(Debug, Clone)]
pub struct MemberRow {
    pub user: UserId,
    pub email: String,
    pub role: Role,
}

/// An invitation (never its secret).
#[derive(Debug, Clone)]
pub struct InvitationRow {
    pub id: InvitationId,
    pub workspace: WorkspaceId,
    /// Lower-cased.
    pub email: String,
    pub role: Role,
    pub invited_by: UserId,
    pub created_at: i64,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl InvitationRow {
    /// Why it can no longer be accepted at `now`: `used`, `revoked` or `expired` (the word
    /// [`Store::accept_invitation`]'s `Conflict` carries); `None` while it is pending.
    pub fn spent(&self, now: i64) -> Option<&'static str> {
        if self.accepted_at.is_some() {
            Some("used")
        } else if self.revoked_at.is_some() {
            Some("revoked")
        } else if self.expires_at <= now {
            Some("expired")
        } else {
            None
        }
    }
}

/// What becomes of a membership.
#[derive(Debug, Clone, Copy)]
enum Change {
    /// A member gets this role.
    To(Role),
    /// A member or not, the person holds at least this role: a higher one is kept.
    AtLeast(Role),
    /// A member is a member no more.
    Remove,
}

impl Change {
    /// The role held after the change, from the one held now (`None`: not a member);
    /// `NotFound` when the change is for a member and the person is none.
    fn after(self, held: Option<Role>) -> Result<Option<Role>> {
        match (self, held) {
            (Change::AtLeast(role), _) => Ok(held.max(Some(role))),
            (_, None) => Err(StoreError::NotFound),
            (Change::To(role), Some(_)) => Ok(Some(role)),
            (Change::Remove, Some(_)) => Ok(None),
        }
    }
}

/// What a refused change that would leave no owner says.
const LAST_OWNER: &str =
    "the workspace's last owner cannot stop being one; make another member an owner first";

/// Applies a [`Change`] to a person's membership of a workspace inside the transaction `$tx`, and
/// evaluates to the role they hold after it. The workspace's row is taken first, so changes to its
/// members happen one at a time (two owners demoting each other cannot both count the other as
/// the owner who stays). `Conflict` when no owner would be left; `NotFound` when the workspace is
/// gone, or the change is for a member and the person is none.
macro_rules! change_member {
    ($tx:expr, $ws:expr, $user:expr, $change:expr) => {{
        let (ws, user, change): (String, String, Change) = ($ws.to_string(), $user.to_string(), $change);
        let locked = sqlx::query("UPDATE workspaces SET name = name WHERE id = $1")
            .bind(&ws)
            .execute(&mut *$tx)
            .await?
            .rows_affected();
        if locked == 0 {
            return Err(StoreError::NotFound);
        }
        let held: Option<(String,)> =
            sqlx::query_as("SELECT role FROM memberships WHERE workspace_id = $1 AND user_id = $2")
                .bind(&ws)
                .bind(&user)
                .fetch_optional(&mut *$tx)
                .await?;
        let held = held.map(|(r,)| parse_role(&r)).transpose()?;
        let after = change.after(held)?;
        if held == Some(Role::Owner) && after != Some(Role::Owner) {
            let (owners,): (i64,) =
                sqlx::query_as("SELECT COUNT(*) FROM memberships WHERE workspace_id = $1 AND role = $2")
                    .bind(&ws)
                    .bind(Role::Owner.as_str())
                    .fetch_one(&mut *$tx)
                    .await?;
            if owners < 2 {
                return Err(StoreError::Conflict(LAST_OWNER.into()));
            }
        }
        match after {
            None => {
                sqlx::query("DELETE FROM memberships WHERE workspace_id = $1 AND user_id = $2")
                    .bind(&ws)
                    .bind(&user)
                    .execute(&mut *$tx)
                    .await?;
                // Their tokens bound to the workspace go with the membership.
                sqlx::query("DELETE FROM api_tokens WHERE workspace_id = $1 AND user_id = $2")
                    .bind(&ws)
                    .bind(&user)
                    .execute(&mut *$tx)
                    .await?;
            }
            Some(role) if after != held => {
                sqlx::query(
                    "INSERT INTO memberships (workspace_id, user_id, role) VALUES ($1, $2, $3)
                     ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = excluded.role",
                )
                .bind(&ws)
                .bind(&user)
                .bind(role.as_str())
                .execute(&mut *$tx)
                .await?;
            }
            Some(_) => {}
        }
        after
    }};
}

/// An invitation's columns, in [`Record`]'s order.
const COLUMNS: &str =
    "id, workspace_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at";

type Record = (
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
);

fn invitation(r: Record) -> Result<InvitationRow> {
    let (id, ws, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at) = r;
    Ok(InvitationRow {
        id: parse_id(&id)?,
        workspace: parse_id(&ws)?,
        email,
        role: parse_role(&role)?,
        invited_by: parse_id(&invited_by)?,
        created_at,
        expires_at,
        accepted_at,
        revoked_at,
    })
}

impl Store {
    /// The workspace's members, the highest role first, then by email.
    pub async fn members(&self, ws: WorkspaceId) -> Result<Vec<MemberRow>> {
        let rows: Vec<(String, String, String)> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT m.user_id, u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1")
            .bind(ws.to_string()).fetch_all(pool).await?);
        let mut members = rows
            .into_iter()
            .map(|(user, email, role)| {
                Ok(MemberRow {
                    user: parse_id(&user)?,
                    email,
                    role: parse_role(&role)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        members.sort_by(|a, b| b.role.cmp(&a.role).then_with(|| a.email.cmp(&b.email)));
        Ok(members)
    }

    /// The workspace's name.
    pub async fn workspace_name(&self, ws: WorkspaceId) -> Result<String> {
        let row: Option<(String,)> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT name FROM workspaces WHERE id = $1").bind(ws.to_string()).fetch_optional(pool).await?);
        row.map(|r| r.0).ok_or(StoreError::NotFound)
    }

    /// Gives a member of `ws` the role `role`. `NotFound` when `user` is not a member; `Conflict`
    /// when they are the last owner and `role` is not owner.
    pub async fn set_member(&self, ws: WorkspaceId, user: UserId, role: Role) -> Result<()> {
        self.change_membership(ws, user, Change::To(role)).await
    }

    /// Removes `user` from `ws`: their sessions and tokens lose the workspace with the membership.
    /// `NotFound` when they are not a member; `Conflict` when they are its last owner.
    pub async fn remove_member(&self, ws: WorkspaceId, user: UserId) -> Result<()> {
        self.change_membership(ws, user, Change::Remove).await
    }

    async fn change_membership(&self, ws: WorkspaceId, user: UserId, change: Change) -> Result<()> {
        on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            change_member!(tx, ws, user, change);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Invites `email` into `ws` with `role`, by a link whose secret hashes to `token_hash`.
    pub async fn create_invitation(
        &self,
        ws: WorkspaceId,
        email: &str,
        role: Role,
        token_hash: &str,
        invited_by: UserId,
        expires_at: i64,
    ) -> Result<InvitationRow> {
        let (id, now) = (InvitationId::new(), self.now());
        on_db!(self.db(), pool => sqlx::query(
            "INSERT INTO invitations (id, workspace_id, email, role, token_hash, invited_by, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(id.to_string()).bind(ws.to_string()).bind(email).bind(role.as_str()).bind(token_hash)
            .bind(invited_by.to_string()).bind(now).bind(expires_at).execute(pool).await?.rows_affected());
        Ok(InvitationRow {
            id,
            workspace: ws,
            email: email.to_owned(),
            role,
            invited_by,
            created_at: now,
            expires_at,
            accepted_at: None,
            revoked_at: None,
        })
    }

    /// The workspace's pending invitations (not accepted, revoked or expired), the oldest first.
    pub async fn invitations(&self, ws: WorkspaceId) -> Result<Vec<InvitationRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM invitations
             WHERE workspace_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2
             ORDER BY created_at"
        );
        let rows: Vec<Record> = on_db!(self.db(), pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(ws.to_string()).bind(self.now()).fetch_all(pool).await?);
        rows.into_iter().map(invitation).collect()
    }

    /// The invitation whose secret hashes to `token_hash`, whatever its state.
    pub async fn invitation_by_token(&self, token_hash: &str) -> Result<Option<InvitationRow>> {
        let sql = format!("SELECT {COLUMNS} FROM invitations WHERE token_hash = $1");
        let row: Option<Record> = on_db!(self.db(), pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(token_hash).fetch_optional(pool).await?);
        row.map(invitation).transpose()
    }

    /// Revokes a pending invitation of `ws`; `NotFound` when there is none by that id (or it was
    /// accepted or revoked already).
    pub async fn revoke_invitation(&self, ws: WorkspaceId, id: InvitationId) -> Result<()> {
        let n = on_db!(self.db(), pool => sqlx::query(
            "UPDATE invitations SET revoked_at = $1
             WHERE id = $2 AND workspace_id = $3 AND accepted_at IS NULL AND revoked_at IS NULL")
            .bind(self.now()).bind(id.to_string()).bind(ws.to_string()).execute(pool).await?.rows_affected());
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// Revokes the pending invitations `user` made in `ws`: an invitation never outlives the
    /// authority of the member who made it. Returns how many.
    pub async fn revoke_invitations_by(&self, ws: WorkspaceId, user: UserId) -> Result<u64> {
        Ok(on_db!(self.db(), pool => sqlx::query(
            "UPDATE invitations SET revoked_at = $1
             WHERE workspace_id = $2 AND invited_by = $3 AND accepted_at IS NULL AND revoked_at IS NULL")
            .bind(self.now()).bind(ws.to_string()).bind(user.to_string()).execute(pool).await?.rows_affected()))
    }

    /// Accepts the invitation whose secret hashes to `token_hash` for `user`, once: marking it
    /// accepted and making them a member happen in one transaction, and a member who holds a
    /// higher role keeps it. Returns the workspace and the role they hold there now. `NotFound`
    /// for an unknown secret; `Conflict` with `used`, `expired` or `revoked` for one that can no
    /// longer be accepted.
    pub async fn accept_invitation(&self, token_hash: &str, user: UserId) -> Result<(WorkspaceId, Role)> {
        let now = self.now();
        let joined: Option<(WorkspaceId, Role)> = on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let claimed: Option<(String, String)> = sqlx::query_as(
                "UPDATE invitations SET accepted_at = $1, accepted_by = $2
                 WHERE token_hash = $3 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $1
                 RETURNING workspace_id, role")
                .bind(now).bind(user.to_string()).bind(token_hash).fetch_optional(&mut *tx).await?;
            match claimed {
                Some((ws, role)) => {
                    let (ws, invited): (WorkspaceId, Role) = (parse_id(&ws)?, parse_role(&role)?);
                    let held = change_member!(tx, ws, user, Change::AtLeast(invited));
                    tx.commit().await?;
                    Some((ws, held.unwrap_or(invited)))
                }
                None => None,
            }
        });
        if let Some(joined) = joined {
            return Ok(joined);
        }
        // Nothing was pending: an invitation never becomes pending again, so reading it now
        // tells why.
        Err(match self.invitation_by_token(token_hash).await? {
            None => StoreError::NotFound,
            Some(i) => StoreError::Conflict(i.spent(now).unwrap_or("used").to_owned()),
        })
    }
}
