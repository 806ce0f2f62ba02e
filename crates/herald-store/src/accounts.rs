//! Users, workspaces, memberships, browser sessions and personal API tokens.

use herald_domain::{ApiTokenId, UserId, WorkspaceId};

use crate::{Result, Store, StoreError, on_db, parse_id};

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: UserId,
    pub email: String,
    pub workspaces: Vec<(WorkspaceId, String, String)>,
}

#[derive(Debug, Clone)]
pub struct ApiTokenRow {
    pub id: ApiTokenId,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl Store {
    /// Creates a user with their own workspace, in one transaction.
    pub async fn create_user(&self, email: &str, password_hash: &str) -> Result<(UserId, WorkspaceId)> {
        let (user, ws, now) = (UserId::new(), WorkspaceId::new(), self.now());
        let name = format!("{}'s workspace", email.split('@').next().unwrap_or(email));
        on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query("INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (email) DO NOTHING")
                .bind(user.to_string()).bind(email).bind(password_hash).bind(now)
                .execute(&mut *tx).await?.rows_affected();
            if inserted == 0 {
                return Err(StoreError::Conflict("email already registered".into()));
            }
            sqlx::query("INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, $3)")
                .bind(ws.to_string()).bind(&name).bind(now).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO memberships (workspace_id, user_id, role) VALUES ($1, $2, 'owner')")
                .bind(ws.to_string()).bind(user.to_string()).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok((user, ws))
    }

    /// The user's id and password hash, by email.
    pub async fn find_login(&self, email: &str) -> Result<Option<(UserId, String)>> {
        let row: Option<(String, String)> = on_db!(self.db(), pool =>
            sqlx::query_as("SELECT id, password_hash FROM users WHERE email = $1").bind(email).fetch_optional(pool).await?);
        row.map(|(id, h)| Ok((parse_id(&id)?, h))).transpose()
    }

    pub async fn get_user(&self, id: UserId) -> Result<UserRow> {
        let email: Option<(String,)> = on_db!(self.db(), pool =>
            sqlx::query_as("SELECT email FROM users WHERE id = $1").bind(id.to_string()).fetch_optional(pool).await?);
        let (email,) = email.ok_or(StoreError::NotFound)?;
        let rows: Vec<(String, String, String)> = on_db!(self.db(), pool =>
            sqlx::query_as("SELECT w.id, w.name, m.role FROM memberships m JOIN workspaces w ON w.id = m.workspace_id WHERE m.user_id = $1 ORDER BY w.created_at")
                .bind(id.to_string()).fetch_all(pool).await?);
        let workspaces = rows
            .into_iter()
            .map(|(w, n, r)| Ok((parse_id(&w)?, n, r)))
            .collect::<Result<_>>()?;
        Ok(UserRow {
            id,
            email,
            workspaces,
        })
    }

    /// The caller's role in a workspace, or `None` when they are not a member.
    pub async fn membership(&self, user: UserId, ws: WorkspaceId) -> Result<Option<String>> {
        let row: Option<(String,)> = on_db!(self.db(), pool =>
            sqlx::query_as("SELECT role FROM memberships WHERE user_id = $1 AND workspace_id = $2")
                .bind(user.to_string()).bind(ws.to_string()).fetch_optional(pool).await?);
        Ok(row.map(|r| r.0))
    }

    pub async fn create_session(&self, token_hash: &str, user: UserId, expires_at: i64) -> Result<()> {
        on_db!(self.db(), pool => sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash).bind(user.to_string()).bind(self.now()).bind(expires_at).execute(pool).await?.rows_affected());
        Ok(())
    }

    pub async fn session_user(&self, token_hash: &str) -> Result<Option<UserId>> {
        let row: Option<(String,)> = on_db!(self.db(), pool =>
            sqlx::query_as("SELECT user_id FROM sessions WHERE token_hash = $1 AND expires_at > $2")
                .bind(token_hash).bind(self.now()).fetch_optional(pool).await?);
        row.map(|r| parse_id(&r.0)).transpose()
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        on_db!(self.db(), pool => sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(pool).await?.rows_affected());
        Ok(())
    }

    pub async fn create_api_token(&self, user: UserId, name: &str, token_hash: &str) -> Result<ApiTokenRow> {
        let (id, now) = (ApiTokenId::new(), self.now());
        on_db!(self.db(), pool => sqlx::query("INSERT INTO api_tokens (id, user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id.to_string()).bind(user.to_string()).bind(name).bind(token_hash).bind(now).execute(pool).await?.rows_affected());
        Ok(ApiTokenRow {
            id,
            name: name.to_owned(),
            created_at: now,
            last_used_at: None,
        })
    }

    pub async fn list_api_tokens(&self, user: UserId) -> Result<Vec<ApiTokenRow>> {
        let rows: Vec<(String, String, i64, Option<i64>)> = on_db!(self.db(), pool =>
            sqlx::query_as("SELECT id, name, created_at, last_used_at FROM api_tokens WHERE user_id = $1 ORDER BY created_at")
                .bind(user.to_string()).fetch_all(pool).await?);
        rows.into_iter()
            .map(|(id, name, created_at, last_used_at)| {
                Ok(ApiTokenRow {
                    id: parse_id(&id)?,
                    name,
                    created_at,
                    last_used_at,
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

    pub async fn api_token_user(&self, token_hash: &str) -> Result<Option<UserId>> {
        let row: Option<(String,)> = on_db!(self.db(), pool =>
            sqlx::query_as("UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2 RETURNING user_id")
                .bind(self.now()).bind(token_hash).fetch_optional(pool).await?);
        row.map(|r| parse_id(&r.0)).transpose()
    }
}
