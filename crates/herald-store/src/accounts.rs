//! Users, workspaces, memberships, browser sessions and personal API tokens.

use herald_domain::{ApiTokenId, Role, Scope, SessionId, UserId, WorkspaceId};

use crate::{Result, Store, StoreError, on_db, parse_id, parse_role};

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: UserId,
    pub email: String,
    /// The IANA zone the person plans in, once known.
    pub time_zone: Option<String>,
    /// Whether the person administers the instance (its first account).
    pub instance_admin: bool,
    /// Each workspace the person belongs to, with its name and their role: the one they chose
    /// first (their pages act in it), then the oldest first.
    pub workspaces: Vec<(WorkspaceId, String, Role)>,
}

#[derive(Debug, Clone)]
pub struct ApiTokenRow {
    pub id: ApiTokenId,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub expires_at: Option<i64>,
    /// The workspace and scopes it is bound to; `None` for a legacy token (made before scopes
    /// existed), which holds its user's rights in each of their workspaces.
    pub grant: Option<TokenGrant>,
}

/// A browser session as its owner sees it (never its secret).
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: SessionId,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub user_agent: Option<String>,
    pub address: Option<String>,
}

pub struct NewSession<'a> {
    /// The SHA-256 of the cookie's secret.
    pub token_hash: &'a str,
    pub user: UserId,
    pub expires_at: i64,
    pub user_agent: Option<&'a str>,
    pub address: Option<&'a str>,
}

/// An account just made.
#[derive(Debug, Clone, Copy)]
pub struct NewAccount {
    pub user: UserId,
    pub workspace: WorkspaceId,
    /// Whether it claimed the instance, as its first account, and administers it.
    pub instance_admin: bool,
}

/// What a scoped API token may do: its one workspace and its scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    pub workspace: WorkspaceId,
    pub scopes: Vec<Scope>,
}

impl TokenGrant {
    fn stored(&self) -> (String, String) {
        let scopes: Vec<&str> = self.scopes.iter().map(|s| s.as_str()).collect();
        (self.workspace.to_string(), scopes.join(" "))
    }

    /// The grant of a token row's `workspace_id` and `scopes`: none for a legacy token.
    fn read(workspace: Option<String>, scopes: Option<String>) -> Result<Option<TokenGrant>> {
        let (Some(ws), Some(scopes)) = (workspace, scopes) else {
            return Ok(None);
        };
        let scopes = scopes
            .split_whitespace()
            .map(|s| s.parse::<Scope>().map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect::<Result<_>>()?;
        Ok(Some(TokenGrant {
            workspace: parse_id(&ws)?,
            scopes,
        }))
    }
}

/// Who a session cookie belongs to.
#[derive(Debug, Clone, Copy)]
pub struct SessionUser {
    pub user: UserId,
    pub session: SessionId,
}

/// A session's last use is written at most this often (microseconds): enough for the idle timeout.
const LAST_SEEN_EVERY: i64 = 60_000_000;

impl Store {
    /// Creates a user with their own workspace, in one transaction (the instance's administrator
    /// when it is the first account).
    pub async fn create_user(&self, email: &str, password_hash: &str) -> Result<(UserId, WorkspaceId)> {
        let made = self.create_account(email, password_hash, false).await?;
        Ok((made.user, made.workspace))
    }

    /// Creates a user with their own workspace, in one transaction. The first account claims the
    /// instance and becomes its administrator; with `first_only` (the account is let in only
    /// because the instance has none yet), an instance claimed meanwhile refuses it with
    /// `Conflict("instance_claimed")` and nothing is made. `Conflict` for a taken email.
    pub async fn create_account(
        &self,
        email: &str,
        password_hash: &str,
        first_only: bool,
    ) -> Result<NewAccount> {
        let (user, ws, now) = (UserId::new(), WorkspaceId::new(), self.now());
        let name = format!("{}'s workspace", email.split('@').next().unwrap_or(email));
        let admin = on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query("INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (email) DO NOTHING")
                .bind(user.to_string()).bind(email).bind(password_hash).bind(now)
                .execute(&mut *tx).await?.rows_affected();
            if inserted == 0 {
                return Err(StoreError::Conflict("email already registered".into()));
            }
            // One row can exist: the first transaction to insert it claims the instance, and a
            // concurrent one waits for it and then inserts nothing.
            let admin = sqlx::query("INSERT INTO instance (id, claimed_by, claimed_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING")
                .bind(user.to_string()).bind(now).execute(&mut *tx).await?.rows_affected() == 1;
            if admin {
                sqlx::query("UPDATE users SET instance_admin = TRUE WHERE id = $1")
                    .bind(user.to_string()).execute(&mut *tx).await?;
            } else if first_only {
                return Err(StoreError::Conflict("instance_claimed".into()));
            }
            sqlx::query("INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, $3)")
                .bind(ws.to_string()).bind(&name).bind(now).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO memberships (workspace_id, user_id, role) VALUES ($1, $2, 'owner')")
                .bind(ws.to_string()).bind(user.to_string()).execute(&mut *tx).await?;
            tx.commit().await?;
            admin
        });
        Ok(NewAccount {
            user,
            workspace: ws,
            instance_admin: admin,
        })
    }

    /// Whether an account has claimed the instance (its first account was made).
    pub async fn instance_claimed(&self) -> Result<bool> {
        let row: Option<(i64,)> = on_db!(self.db(), pool =>
            sqlx::query_as("SELECT claimed_at FROM instance WHERE id = 1").fetch_optional(pool).await?);
        Ok(row.is_some())
    }

    /// The user's password hash.
    pub async fn password_hash(&self, user: UserId) -> Result<String> {
        let row: Option<(String,)> = on_db!(self.db(), pool =>
            sqlx::query_as("SELECT password_hash FROM users WHERE id = $1").bind(user.to_string()).fetch_optional(pool).await?);
        row.map(|r| r.0).ok_or(StoreError::NotFound)
    }

    /// Replaces the user's password hash.
    pub async fn set_password_hash(&self, user: UserId, hash: &str) -> Result<()> {
        let n = on_db!(self.db(), pool => sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash).bind(user.to_string()).execute(pool).await?.rows_affected());
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// The user's id and password hash, by email.
    pub async fn find_login(&self, email: &str) -> Result<Option<(UserId, String)>> {
        let row: Option<(String, String)> = on_db!(self.db(), pool =>
            sqlx::query_as("SELECT id, password_hash FROM users WHERE email = $1").bind(email).fetch_optional(pool).await?);
        row.map(|(id, h)| Ok((parse_id(&id)?, h))).transpose()
    }

    pub async fn get_user(&self, id: UserId) -> Result<UserRow> {
        let email: Option<(String, Option<String>, bool)> = on_db!(self.db(), pool =>
            sqlx::query_as("SELECT email, time_zone, instance_admin FROM users WHERE id = $1").bind(id.to_string()).fetch_optional(pool).await?);
        let (email, time_zone, instance_admin) = email.ok_or(StoreError::NotFound)?;
        let rows: Vec<(String, String, String)> = on_db!(self.db(), pool =>
            sqlx::query_as("SELECT w.id, w.name, m.role FROM memberships m JOIN workspaces w ON w.id = m.workspace_id WHERE m.user_id = $1
                            ORDER BY CASE WHEN w.id = (SELECT current_workspace_id FROM users WHERE id = $1) THEN 0 ELSE 1 END, w.created_at")
                .bind(id.to_string()).fetch_all(pool).await?);
        let workspaces = rows
            .into_iter()
            .map(|(w, n, r)| Ok((parse_id(&w)?, n, parse_role(&r)?)))
            .collect::<Result<_>>()?;
        Ok(UserRow {
            id,
            email,
            time_zone,
            instance_admin,
            workspaces,
        })
    }

    /// Makes `ws` the workspace the person's pages act in (the first of [`UserRow::workspaces`]);
    /// `NotFound` when they are not a member of it.
    pub async fn set_current_workspace(&self, user: UserId, ws: WorkspaceId) -> Result<()> {
        let n = on_db!(self.db(), pool => sqlx::query(
            "UPDATE users SET current_workspace_id = $1 WHERE id = $2
               AND EXISTS (SELECT 1 FROM memberships WHERE user_id = $2 AND workspace_id = $1)")
            .bind(ws.to_string()).bind(user.to_string()).execute(pool).await?.rows_affected());
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Sets the zone the person plans in; with `only_if_unset`, only when they have none yet.
    pub async fn set_time_zone(&self, id: UserId, zone: &str, only_if_unset: bool) -> Result<()> {
        let sql = if only_if_unset {
            "UPDATE users SET time_zone = $1 WHERE id = $2 AND time_zone IS NULL"
        } else {
            "UPDATE users SET time_zone = $1 WHERE id = $2"
        };
        on_db!(self.db(), pool => sqlx::query(sql).bind(zone).bind(id.to_string()).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// The caller's role in a workspace, or `None` when they are not a member.
    pub async fn membership(&self, user: UserId, ws: WorkspaceId) -> Result<Option<Role>> {
        let row: Option<(String,)> = on_db!(self.db(), pool =>
            sqlx::query_as("SELECT role FROM memberships WHERE user_id = $1 AND workspace_id = $2")
                .bind(user.to_string()).bind(ws.to_string()).fetch_optional(pool).await?);
        row.map(|(r,)| parse_role(&r)).transpose()
    }

    /// Starts a session; it has proved who it is now (see [`Store::session_reauthenticated_at`]).
    pub async fn create_session(&self, s: NewSession<'_>) -> Result<SessionId> {
        let (id, now) = (SessionId::new(), self.now());
        on_db!(self.db(), pool => sqlx::query(
            "INSERT INTO sessions (token_hash, id, user_id, created_at, last_seen_at, expires_at, user_agent, address, reauthenticated_at)
             VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $4)")
            .bind(s.token_hash).bind(id.to_string()).bind(s.user.to_string()).bind(now).bind(s.expires_at)
            .bind(s.user_agent).bind(s.address).execute(pool).await?.rows_affected());
        Ok(id)
    }

    /// The session's user, if it has not expired and was used within `idle` microseconds; using
    /// it counts as activity.
    pub async fn session_user(&self, token_hash: &str, idle: i64) -> Result<Option<SessionUser>> {
        let now = self.now();
        let row: Option<(String, String, i64)> = on_db!(self.db(), pool =>
            sqlx::query_as("SELECT user_id, id, last_seen_at FROM sessions WHERE token_hash = $1 AND expires_at > $2 AND last_seen_at > $3")
                .bind(token_hash).bind(now).bind(now.saturating_sub(idle)).fetch_optional(pool).await?);
        let Some((user, id, last_seen)) = row else {
            return Ok(None);
        };
        if now - last_seen > LAST_SEEN_EVERY {
            on_db!(self.db(), pool => sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
                .bind(now).bind(token_hash).execute(pool).await?.rows_affected());
        }
        Ok(Some(SessionUser {
            user: parse_id(&user)?,
            session: parse_id(&id)?,
        }))
    }

    /// Ends the session whose secret hashes to `token_hash`: whose it was, if it existed.
    pub async fn delete_session(&self, token_hash: &str) -> Result<Option<UserId>> {
        let row: Option<(String,)> = on_db!(self.db(), pool => sqlx::query_as("DELETE FROM sessions WHERE token_hash = $1 RETURNING user_id")
            .bind(token_hash).fetch_optional(pool).await?);
        row.map(|(u,)| parse_id(&u)).transpose()
    }

    /// The user's sessions that are still valid, the most recently used first.
    pub async fn list_sessions(&self, user: UserId, idle: i64) -> Result<Vec<SessionRow>> {
        let now = self.now();
        type Row = (String, i64, i64, i64, Option<String>, Option<String>);
        let rows: Vec<Row> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT id, created_at, last_seen_at, expires_at, user_agent, address FROM sessions
             WHERE user_id = $1 AND expires_at > $2 AND last_seen_at > $3 ORDER BY last_seen_at DESC")
            .bind(user.to_string()).bind(now).bind(now.saturating_sub(idle)).fetch_all(pool).await?);
        rows.into_iter()
            .map(
                |(id, created_at, last_seen_at, expires_at, user_agent, address)| {
                    Ok(SessionRow {
                        id: parse_id(&id)?,
                        created_at,
                        last_seen_at,
                        expires_at,
                        user_agent,
                        address,
                    })
                },
            )
            .collect()
    }

    /// Ends one of the user's sessions; `NotFound` when it is not theirs.
    pub async fn revoke_session(&self, user: UserId, id: SessionId) -> Result<()> {
        let n = on_db!(self.db(), pool => sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
            .bind(id.to_string()).bind(user.to_string()).execute(pool).await?.rows_affected());
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// Ends every session of the user but `keep` (the caller's own); returns how many ended.
    pub async fn revoke_other_sessions(&self, user: UserId, keep: Option<SessionId>) -> Result<u64> {
        let keep = keep.map(|k| k.to_string()).unwrap_or_default();
        Ok(
            on_db!(self.db(), pool => sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
            .bind(user.to_string()).bind(keep).execute(pool).await?.rows_affected()),
        )
    }

    /// Makes a token for `user`, bound to `grant`'s workspace and scopes (`None` only for tests
    /// of the legacy tokens made before scopes existed).
    pub async fn create_api_token(
        &self,
        user: UserId,
        name: &str,
        token_hash: &str,
        expires_at: Option<i64>,
        grant: Option<TokenGrant>,
    ) -> Result<ApiTokenRow> {
        let (id, now) = (ApiTokenId::new(), self.now());
        let (ws, scopes) = grant.as_ref().map(TokenGrant::stored).unzip();
        on_db!(self.db(), pool => sqlx::query("INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, expires_at, workspace_id, scopes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(id.to_string()).bind(user.to_string()).bind(name).bind(token_hash).bind(now).bind(expires_at)
            .bind(ws).bind(scopes).execute(pool).await?.rows_affected());
        Ok(ApiTokenRow {
            id,
            name: name.to_owned(),
            created_at: now,
            last_used_at: None,
            expires_at,
            grant,
        })
    }

    pub async fn list_api_tokens(&self, user: UserId) -> Result<Vec<ApiTokenRow>> {
        type Row = (
            String,
            String,
            i64,
            Option<i64>,
            Option<i64>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = on_db!(self.db(), pool =>
            sqlx::query_as("SELECT id, name, created_at, last_used_at, expires_at, workspace_id, scopes FROM api_tokens WHERE user_id = $1 ORDER BY created_at")
                .bind(user.to_string()).fetch_all(pool).await?);
        rows.into_iter()
            .map(|(id, name, created_at, last_used_at, expires_at, ws, scopes)| {
                Ok(ApiTokenRow {
                    id: parse_id(&id)?,
                    name,
                    created_at,
                    last_used_at,
                    expires_at,
                    grant: TokenGrant::read(ws, scopes)?,
                })
            })
            .collect()
    }

    /// Revokes one of the user's tokens; `NotFound` when it is not theirs.
    pub async fn revoke_api_token(&self, user: UserId, id: ApiTokenId) -> Result<()> {
        let n = on_db!(self.db(), pool => sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND user_id = $2")
            .bind(id.to_string()).bind(user.to_string()).execute(pool).await?.rows_affected());
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// The user of an unexpired token, and its grant (`None`: a legacy token); using it records
    /// its last use.
    pub async fn api_token_user(
        &self,
        token_hash: &str,
    ) -> Result<Option<(ApiTokenId, UserId, Option<TokenGrant>)>> {
        let now = self.now();
        let row: Option<(String, String, Option<String>, Option<String>)> = on_db!(self.db(), pool =>
            sqlx::query_as("UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2 AND (expires_at IS NULL OR expires_at > $1) RETURNING id, user_id, workspace_id, scopes")
                .bind(now).bind(token_hash).fetch_optional(pool).await?);
        row.map(|(t, u, ws, scopes)| Ok((parse_id(&t)?, parse_id(&u)?, TokenGrant::read(ws, scopes)?)))
            .transpose()
    }
}
