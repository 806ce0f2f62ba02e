//! Grants from a login that covers several accounts (Facebook Login, LinkedIn): who granted what,
//! the sealed user token the choose-accounts step and reconnects read the accounts with, and the
//! sealed refresh token where the platform gave one (each profile chosen gets its own copy).

use herald_domain::platform::Login;
use herald_domain::profile::SecretKind;
use herald_domain::{GrantId, ProfileId, UserId, WorkspaceId};
use herald_vault::secret_aad;
use secrecy::{ExposeSecret, SecretString};

use crate::{Result, Store, StoreError, on_db, parse_id};

/// The associated-data kind of a grant's user token (the grant id stands where a profile id would).
const USER_TOKEN: &str = "user_token";
/// The associated-data kind of a grant's refresh token.
const REFRESH_TOKEN: &str = "grant_refresh_token";

#[derive(Debug, Clone)]
pub struct GrantRow {
    pub id: GrantId,
    pub workspace: WorkspaceId,
    pub login: Login,
    pub external_user_id: String,
    pub name: String,
    pub granted_scopes: Vec<String>,
    pub token_expires_at: Option<i64>,
    /// The refresh token's end, where the grant has one with a fixed end.
    pub refresh_expires_at: Option<i64>,
    /// Whether the grant holds a refresh token.
    pub renews: bool,
    pub sandbox: bool,
    pub created_at: i64,
}

pub struct NewGrant<'a> {
    pub workspace: WorkspaceId,
    pub user: UserId,
    pub login: Login,
    pub external_user_id: &'a str,
    pub name: &'a str,
    pub granted_scopes: &'a [String],
    pub token: &'a SecretString,
    pub token_issued_at: i64,
    pub token_expires_at: Option<i64>,
    pub refresh: Option<&'a SecretString>,
    pub refresh_expires_at: Option<i64>,
    pub sandbox: bool,
}

type Row = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<i64>,
    Option<i64>,
    bool,
    bool,
    i64,
);

const COLUMNS: &str = "id, workspace_id, login, external_user_id, name, granted_scopes, token_expires_at, refresh_expires_at, refresh_ciphertext IS NOT NULL, sandbox, created_at";

fn from_row(r: Row) -> Result<GrantRow> {
    let (
        id,
        ws,
        login,
        external_user_id,
        name,
        scopes,
        token_expires_at,
        refresh_expires_at,
        renews,
        sandbox,
        created_at,
    ) = r;
    Ok(GrantRow {
        id: parse_id(&id)?,
        workspace: parse_id(&ws)?,
        login: Login::parse(&login).ok_or_else(|| StoreError::Corrupt(format!("grant login {login}")))?,
        external_user_id,
        name,
        granted_scopes: scopes
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        token_expires_at,
        refresh_expires_at,
        renews,
        sandbox,
        created_at,
    })
}

impl Store {
    /// The grant's user token and refresh token (where there is one), sealed to the grant.
    async fn seal_grant_tokens(
        &self,
        ws: WorkspaceId,
        id: GrantId,
        g: &NewGrant<'_>,
    ) -> Result<(Vec<u8>, Option<Vec<u8>>)> {
        let dk = self.data_key(ws).await?;
        let seal = |kind: &str, token: &SecretString| {
            dk.seal(
                &secret_aad(&ws.to_string(), &id.to_string(), kind),
                token.expose_secret().as_bytes(),
            )
        };
        Ok((
            seal(USER_TOKEN, g.token)?,
            g.refresh.map(|r| seal(REFRESH_TOKEN, r)).transpose()?,
        ))
    }

    async fn open_grant_token(
        &self,
        ws: WorkspaceId,
        id: GrantId,
        kind: &str,
        blob: &[u8],
    ) -> Result<SecretString> {
        let dk = self.data_key(ws).await?;
        let plain = dk.open(&secret_aad(&ws.to_string(), &id.to_string(), kind), blob)?;
        let text = std::str::from_utf8(&plain)
            .map_err(|_| StoreError::Corrupt("grant token is not UTF-8".into()))?;
        Ok(SecretString::from(text.to_owned()))
    }

    /// Records a grant, or updates the one the same person gave this workspace before (a reconnect).
    pub async fn upsert_grant(&self, g: NewGrant<'_>) -> Result<GrantId> {
        let now = self.now();
        let existing: Option<(String,)> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT id FROM grants WHERE workspace_id = $1 AND login = $2 AND external_user_id = $3")
            .bind(g.workspace.to_string()).bind(g.login.as_str()).bind(g.external_user_id).fetch_optional(pool).await?);
        let id = match existing {
            Some((id,)) => parse_id(&id)?,
            None => GrantId::new(),
        };
        let (blob, refresh) = self.seal_grant_tokens(g.workspace, id, &g).await?;
        let row: (String,) = on_db!(self.db(), pool => sqlx::query_as(
            "INSERT INTO grants (id, workspace_id, user_id, login, external_user_id, name, granted_scopes, ciphertext, token_issued_at, token_expires_at, sandbox, created_at, updated_at, refresh_ciphertext, refresh_expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14)
             ON CONFLICT (workspace_id, login, external_user_id) DO UPDATE SET user_id = excluded.user_id, name = excluded.name,
               granted_scopes = excluded.granted_scopes, ciphertext = excluded.ciphertext, token_issued_at = excluded.token_issued_at,
               token_expires_at = excluded.token_expires_at, sandbox = excluded.sandbox, updated_at = excluded.updated_at,
               refresh_ciphertext = excluded.refresh_ciphertext, refresh_expires_at = excluded.refresh_expires_at
             RETURNING id")
            .bind(id.to_string()).bind(g.workspace.to_string()).bind(g.user.to_string()).bind(g.login.as_str())
            .bind(g.external_user_id).bind(g.name).bind(g.granted_scopes.join(",")).bind(&blob)
            .bind(g.token_issued_at).bind(g.token_expires_at).bind(g.sandbox).bind(now)
            .bind(&refresh).bind(g.refresh_expires_at).fetch_one(pool).await?);
        let stored: GrantId = parse_id(&row.0)?;
        if stored != id {
            // Another request created the row first: seal again, bound to the row that exists.
            let (blob, refresh) = self.seal_grant_tokens(g.workspace, stored, &g).await?;
            on_db!(self.db(), pool => sqlx::query("UPDATE grants SET ciphertext = $1, refresh_ciphertext = $2 WHERE workspace_id = $3 AND id = $4")
                .bind(blob).bind(refresh).bind(g.workspace.to_string()).bind(stored.to_string()).execute(pool).await?.rows_affected());
        }
        Ok(stored)
    }

    pub async fn get_grant(&self, ws: WorkspaceId, id: GrantId) -> Result<GrantRow> {
        let sql = format!("SELECT {COLUMNS} FROM grants WHERE workspace_id = $1 AND id = $2");
        let row: Option<Row> = on_db!(self.db(), pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(ws.to_string()).bind(id.to_string()).fetch_optional(pool).await?);
        from_row(row.ok_or(StoreError::NotFound)?)
    }

    pub async fn list_grants(&self, ws: WorkspaceId) -> Result<Vec<GrantRow>> {
        let sql = format!("SELECT {COLUMNS} FROM grants WHERE workspace_id = $1 ORDER BY created_at");
        let rows: Vec<Row> = on_db!(self.db(), pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(ws.to_string()).fetch_all(pool).await?);
        rows.into_iter().map(from_row).collect()
    }

    /// Forgets a grant and its sealed token; its profiles stay (disconnect them first) but no
    /// longer point at it.
    pub async fn delete_grant(&self, ws: WorkspaceId, id: GrantId) -> Result<()> {
        on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE profiles SET grant_id = NULL WHERE workspace_id = $1 AND grant_id = $2")
                .bind(ws.to_string()).bind(id.to_string()).execute(&mut *tx).await?;
            let n = sqlx::query("DELETE FROM grants WHERE workspace_id = $1 AND id = $2")
                .bind(ws.to_string()).bind(id.to_string()).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Opens a grant's user token.
    pub async fn grant_token(&self, ws: WorkspaceId, id: GrantId) -> Result<SecretString> {
        let row: Option<(Vec<u8>,)> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT ciphertext FROM grants WHERE workspace_id = $1 AND id = $2")
            .bind(ws.to_string()).bind(id.to_string()).fetch_optional(pool).await?);
        let (blob,) = row.ok_or(StoreError::NotFound)?;
        self.open_grant_token(ws, id, USER_TOKEN, &blob).await
    }

    /// Keeps the user token a renewal gave (and the refresh token that replaces the one used, where
    /// the platform rotates them), with its end.
    pub async fn renew_grant_token(
        &self,
        ws: WorkspaceId,
        id: GrantId,
        token: &SecretString,
        refresh: Option<&SecretString>,
        expires_at: Option<i64>,
    ) -> Result<()> {
        let dk = self.data_key(ws).await?;
        let seal = |kind: &str, token: &SecretString| {
            dk.seal(
                &secret_aad(&ws.to_string(), &id.to_string(), kind),
                token.expose_secret().as_bytes(),
            )
        };
        let (blob, refresh) = (
            seal(USER_TOKEN, token)?,
            refresh.map(|r| seal(REFRESH_TOKEN, r)).transpose()?,
        );
        let now = self.now();
        let n = on_db!(self.db(), pool => sqlx::query(
            "UPDATE grants SET ciphertext = $1, refresh_ciphertext = COALESCE($2, refresh_ciphertext), token_issued_at = $3,
               token_expires_at = $4, updated_at = $3 WHERE workspace_id = $5 AND id = $6")
            .bind(blob).bind(refresh).bind(now).bind(expires_at).bind(ws.to_string()).bind(id.to_string())
            .execute(pool).await?.rows_affected());
        match n {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }

    /// Gives a renewal of a token a grant's profiles share (the grant's own, or `renewed`'s) to the
    /// grant and to every other connected profile of the grant: where refresh tokens rotate, the
    /// one they hold no longer works.
    pub async fn share_renewal(
        &self,
        ws: WorkspaceId,
        grant: GrantId,
        renewed: Option<ProfileId>,
        token: &SecretString,
        refresh: Option<&SecretString>,
        expires_at: Option<i64>,
    ) -> Result<()> {
        self.renew_grant_token(ws, grant, token, refresh, expires_at)
            .await?;
        let siblings: Vec<(String,)> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT id FROM profiles WHERE workspace_id = $1 AND grant_id = $2 AND id <> $3 AND state <> 'disconnected'")
            .bind(ws.to_string()).bind(grant.to_string()).bind(renewed.map(|r| r.to_string()).unwrap_or_default())
            .fetch_all(pool).await?);
        let now = self.now();
        for (id,) in siblings {
            let id: ProfileId = crate::parse_id(&id)?;
            self.put_secret(ws, id, SecretKind::AccessToken, token.expose_secret())
                .await?;
            if let Some(r) = refresh {
                self.put_secret(ws, id, SecretKind::RefreshToken, r.expose_secret())
                    .await?;
            }
            on_db!(self.db(), pool => sqlx::query(
                "UPDATE profiles SET token_issued_at = $1, token_expires_at = $2, updated_at = $1
                 WHERE workspace_id = $3 AND id = $4 AND state <> 'disconnected'")
                .bind(now).bind(expires_at).bind(ws.to_string()).bind(id.to_string()).execute(pool).await?.rows_affected());
        }
        Ok(())
    }

    /// Opens a grant's refresh token, if it has one.
    pub async fn grant_refresh_token(&self, ws: WorkspaceId, id: GrantId) -> Result<Option<SecretString>> {
        let row: Option<(Option<Vec<u8>>,)> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT refresh_ciphertext FROM grants WHERE workspace_id = $1 AND id = $2")
            .bind(ws.to_string()).bind(id.to_string()).fetch_optional(pool).await?);
        match row.ok_or(StoreError::NotFound)? {
            (Some(blob),) => Ok(Some(self.open_grant_token(ws, id, REFRESH_TOKEN, &blob).await?)),
            (None,) => Ok(None),
        }
    }
}
