//! Connections waiting for their owner's confirmation: what a callback got from the platform for a
//! connection started without a browser session, sealed, for ten minutes.

use herald_domain::{PendingConnectionId, UserId, WorkspaceId};
use herald_vault::secret_aad;
use secrecy::{ExposeSecret, SecretString};

use crate::{Result, Store, StoreError, on_db, parse_id};

/// The associated-data kind of a pending connection's sealed payload.
const PAYLOAD: &str = "pending_connection";

pub struct NewPending<'a> {
    pub workspace: WorkspaceId,
    pub user: UserId,
    pub platform: &'a str,
    /// Whether the built-in sandbox issued the tokens (they go to no other backend).
    pub sandbox: bool,
    /// The hash of the secret in the cookie of the browser that came back from the platform.
    pub browser_hash: &'a str,
    /// The account, as the confirmation page names it.
    pub account: &'a str,
    /// What the platform gave (tokens included), sealed before it is stored.
    pub payload: &'a SecretString,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
pub struct PendingRow {
    pub id: PendingConnectionId,
    pub workspace: WorkspaceId,
    pub user: UserId,
    pub platform: String,
    pub sandbox: bool,
    pub browser_hash: String,
    pub account: String,
    pub expires_at: i64,
}

type Row = (String, String, String, String, bool, String, String, Vec<u8>, i64);

const COLUMNS: &str =
    "id, workspace_id, user_id, platform, sandbox, browser_hash, account, ciphertext, expires_at";

/// A row's fields, and its sealed payload apart.
fn split(r: Row) -> Result<(PendingRow, Vec<u8>)> {
    let (id, ws, user, platform, sandbox, browser_hash, account, sealed, expires_at) = r;
    let row = PendingRow {
        id: parse_id(&id)?,
        workspace: parse_id(&ws)?,
        user: parse_id(&user)?,
        platform,
        sandbox,
        browser_hash,
        account,
        expires_at,
    };
    Ok((row, sealed))
}

fn aad(ws: WorkspaceId, id: PendingConnectionId) -> String {
    secret_aad(&ws.to_string(), &id.to_string(), PAYLOAD)
}

impl Store {
    pub async fn insert_pending(&self, p: NewPending<'_>) -> Result<PendingConnectionId> {
        let id = PendingConnectionId::new();
        let sealed = self
            .data_key(p.workspace)
            .await?
            .seal(&aad(p.workspace, id), p.payload.expose_secret().as_bytes())?;
        on_db!(self.db(), pool => sqlx::query(
            "INSERT INTO pending_connections (id, workspace_id, user_id, platform, sandbox, browser_hash, account, ciphertext, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
            .bind(id.to_string()).bind(p.workspace.to_string()).bind(p.user.to_string()).bind(p.platform)
            .bind(p.sandbox).bind(p.browser_hash).bind(p.account).bind(sealed).bind(self.now()).bind(p.expires_at)
            .execute(pool).await?.rows_affected());
        Ok(id)
    }

    async fn open_pending(&self, row: Row) -> Result<(PendingRow, SecretString)> {
        let (row, sealed) = split(row)?;
        let plain = self
            .data_key(row.workspace)
            .await?
            .open(&aad(row.workspace, row.id), &sealed)?;
        let text = String::from_utf8(plain.to_vec())
            .map_err(|_| StoreError::Corrupt("pending connection is not UTF-8".into()))?;
        Ok((row, SecretString::from(text)))
    }

    /// A pending connection that has not expired, without its payload.
    pub async fn get_pending(&self, id: PendingConnectionId) -> Result<Option<PendingRow>> {
        let sql = format!("SELECT {COLUMNS} FROM pending_connections WHERE id = $1 AND expires_at > $2");
        let row: Option<Row> = on_db!(self.db(), pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(id.to_string()).bind(self.now()).fetch_optional(pool).await?);
        row.map(|r| split(r).map(|(row, _)| row)).transpose()
    }

    /// Deletes a pending connection and returns it with its payload: a second call finds nothing.
    pub async fn take_pending(&self, id: PendingConnectionId) -> Result<Option<(PendingRow, SecretString)>> {
        let sql = format!("DELETE FROM pending_connections WHERE id = $1 RETURNING {COLUMNS}");
        let row: Option<Row> = on_db!(self.db(), pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(id.to_string()).fetch_optional(pool).await?);
        match row {
            Some(r) => Ok(Some(self.open_pending(r).await?)),
            None => Ok(None),
        }
    }

    /// Deletes the pending connections that expired unconfirmed and returns each with its
    /// payload, so their tokens can be revoked where the platform allows (a payload that does not
    /// open is an error for that row alone).
    pub async fn take_expired_pending(&self) -> Result<Vec<Result<(PendingRow, SecretString)>>> {
        let sql = format!("DELETE FROM pending_connections WHERE expires_at <= $1 RETURNING {COLUMNS}");
        let rows: Vec<Row> = on_db!(self.db(), pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(self.now()).fetch_all(pool).await?);
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(self.open_pending(r).await);
        }
        Ok(out)
    }
}
