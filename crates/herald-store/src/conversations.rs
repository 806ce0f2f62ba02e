//! A profile's conversations login (TikTok's API for Business for a TikTok profile): who it
//! authorized, what it granted, when its token ends, and one renewal at a time across every
//! process through a lease on its row. Its tokens are the profile's conversations secrets.

use herald_domain::platform::Login;
use herald_domain::profile::SecretKind;
use herald_domain::{ProfileId, WorkspaceId};
use herald_vault::secret_aad;
use secrecy::{ExposeSecret, SecretString};

use crate::{Result, Store, StoreError, on_db};

#[derive(Debug, Clone)]
pub struct ConversationsRow {
    pub login: Login,
    /// The platform's id for the account at that login (TikTok's `business_id`).
    pub external_id: String,
    pub handle: String,
    pub granted_scopes: Vec<String>,
    pub token_expires_at: Option<i64>,
    /// Whether the platform refused to renew it: the person must authorize again.
    pub needs_reconnect: bool,
    /// Whether its tokens came from the sandbox.
    pub sandbox: bool,
    pub created_at: i64,
}

/// A conversations login just authorized, with its tokens.
pub struct NewConversations<'a> {
    pub workspace: WorkspaceId,
    pub profile: ProfileId,
    pub login: Login,
    pub external_id: &'a str,
    pub handle: &'a str,
    pub granted_scopes: &'a [String],
    pub token: &'a SecretString,
    pub token_expires_at: Option<i64>,
    pub refresh: Option<&'a SecretString>,
    pub sandbox: bool,
}

type Row = (String, String, String, String, Option<i64>, String, bool, i64);

/// A secret sealed for a profile, ready to be stored with others in one transaction.
struct Sealed {
    kind: &'static str,
    blob: Vec<u8>,
}

impl Store {
    async fn seal(
        &self,
        ws: WorkspaceId,
        profile: ProfileId,
        kind: SecretKind,
        plain: &SecretString,
    ) -> Result<Sealed> {
        let blob = self.data_key(ws).await?.seal(
            &secret_aad(&ws.to_string(), &profile.to_string(), kind.as_str()),
            plain.expose_secret().as_bytes(),
        )?;
        Ok(Sealed {
            kind: kind.as_str(),
            blob,
        })
    }

    /// Adds (or replaces) a profile's conversations login and its tokens, in one transaction, while
    /// the profile is not disconnected; [`StoreError::Conflict`] when it is (nothing is kept).
    pub async fn put_conversations(&self, c: NewConversations<'_>) -> Result<()> {
        let (ws, profile) = (c.workspace, c.profile);
        let mut sealed = vec![
            self.seal(ws, profile, SecretKind::ConversationsToken, c.token)
                .await?,
        ];
        if let Some(r) = c.refresh {
            sealed.push(
                self.seal(ws, profile, SecretKind::ConversationsRefreshToken, r)
                    .await?,
            );
        }
        let now = self.now();
        let kept = on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let n = sqlx::query(
                "INSERT INTO conversations (profile_id, workspace_id, login, external_id, handle, granted_scopes, token_expires_at, state, sandbox, created_at, updated_at)
                 SELECT $1, $2, $3, $4, $5, $6, $7, 'connected', $8, $9, $9
                 WHERE EXISTS (SELECT 1 FROM profiles WHERE id = $1 AND workspace_id = $2 AND state <> 'disconnected')
                 ON CONFLICT (profile_id) DO UPDATE SET login = excluded.login, external_id = excluded.external_id,
                   handle = excluded.handle, granted_scopes = excluded.granted_scopes, token_expires_at = excluded.token_expires_at,
                   state = 'connected', sandbox = excluded.sandbox, refresh_owner = NULL, refresh_until = NULL,
                   updated_at = excluded.updated_at")
                .bind(profile.to_string()).bind(ws.to_string()).bind(c.login.as_str()).bind(c.external_id)
                .bind(c.handle).bind(c.granted_scopes.join(",")).bind(c.token_expires_at).bind(c.sandbox)
                .bind(now).execute(&mut *tx).await?.rows_affected();
            if n == 1 {
                sqlx::query("DELETE FROM profile_secrets WHERE workspace_id = $1 AND profile_id = $2 AND kind = $3")
                    .bind(ws.to_string()).bind(profile.to_string())
                    .bind(SecretKind::ConversationsRefreshToken.as_str()).execute(&mut *tx).await?;
                for s in &sealed {
                    sqlx::query(
                        "INSERT INTO profile_secrets (profile_id, kind, workspace_id, ciphertext, updated_at) VALUES ($1, $2, $3, $4, $5)
                         ON CONFLICT (profile_id, kind) DO UPDATE SET ciphertext = excluded.ciphertext, updated_at = excluded.updated_at")
                        .bind(profile.to_string()).bind(s.kind).bind(ws.to_string()).bind(&s.blob).bind(now)
                        .execute(&mut *tx).await?;
                }
                tx.commit().await?;
            }
            n == 1
        });
        match kept {
            true => Ok(()),
            false => Err(StoreError::Conflict("the profile is disconnected".into())),
        }
    }

    /// A profile's conversations login, if it added one.
    pub async fn get_conversations(
        &self,
        ws: WorkspaceId,
        profile: ProfileId,
    ) -> Result<Option<ConversationsRow>> {
        let row: Option<Row> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT login, external_id, handle, granted_scopes, token_expires_at, state, sandbox, created_at
             FROM conversations WHERE workspace_id = $1 AND profile_id = $2")
            .bind(ws.to_string()).bind(profile.to_string()).fetch_optional(pool).await?);
        let Some((login, external_id, handle, scopes, expires, state, sandbox, created_at)) = row else {
            return Ok(None);
        };
        Ok(Some(ConversationsRow {
            login: Login::parse(&login)
                .ok_or_else(|| StoreError::Corrupt(format!("conversations login {login}")))?,
            external_id,
            handle,
            granted_scopes: scopes
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            token_expires_at: expires,
            needs_reconnect: state == "needs_reconnect",
            sandbox,
            created_at,
        }))
    }

    /// Removes a profile's conversations login and its tokens.
    pub async fn delete_conversations(&self, ws: WorkspaceId, profile: ProfileId) -> Result<()> {
        on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM conversations WHERE workspace_id = $1 AND profile_id = $2")
                .bind(ws.to_string()).bind(profile.to_string()).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM profile_secrets WHERE workspace_id = $1 AND profile_id = $2 AND kind IN ($3, $4)")
                .bind(ws.to_string()).bind(profile.to_string())
                .bind(SecretKind::ConversationsToken.as_str()).bind(SecretKind::ConversationsRefreshToken.as_str())
                .execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Takes the renewal of a profile's conversations token for `owner` until `until`, when its
    /// token ends before `before` and nobody else is renewing it; `false` otherwise.
    pub async fn claim_conversations_refresh(
        &self,
        ws: WorkspaceId,
        profile: ProfileId,
        owner: &str,
        until: i64,
        before: i64,
    ) -> Result<bool> {
        let n = on_db!(self.db(), pool => sqlx::query(
            "UPDATE conversations SET refresh_owner = $1, refresh_until = $2
             WHERE workspace_id = $3 AND profile_id = $4 AND state = 'connected' AND token_expires_at < $5
               AND (refresh_until IS NULL OR refresh_until < $6)")
            .bind(owner).bind(until).bind(ws.to_string()).bind(profile.to_string()).bind(before).bind(self.now())
            .execute(pool).await?.rows_affected());
        Ok(n == 1)
    }

    /// Stores a renewed conversations token (the refresh token with it: the one used may no
    /// longer work) and lets the lease go, in one transaction and only while `owner` still holds
    /// the lease (a renewal that lost it, or whose login was removed meanwhile, keeps nothing:
    /// [`StoreError::Conflict`]); `None` marks the login refused (`needs_reconnect`).
    pub async fn finish_conversations_refresh(
        &self,
        ws: WorkspaceId,
        profile: ProfileId,
        owner: &str,
        renewed: Option<(&SecretString, Option<&SecretString>, Option<i64>)>,
    ) -> Result<()> {
        let now = self.now();
        let Some((token, refresh, expires_at)) = renewed else {
            on_db!(self.db(), pool => sqlx::query(
                "UPDATE conversations SET state = 'needs_reconnect', refresh_owner = NULL, refresh_until = NULL, updated_at = $1
                 WHERE workspace_id = $2 AND profile_id = $3 AND refresh_owner = $4")
                .bind(now).bind(ws.to_string()).bind(profile.to_string()).bind(owner).execute(pool).await?.rows_affected());
            return Ok(());
        };
        let mut sealed = vec![
            self.seal(ws, profile, SecretKind::ConversationsToken, token)
                .await?,
        ];
        if let Some(r) = refresh {
            sealed.push(
                self.seal(ws, profile, SecretKind::ConversationsRefreshToken, r)
                    .await?,
            );
        }
        let kept = on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let n = sqlx::query(
                "UPDATE conversations SET token_expires_at = $1, refresh_owner = NULL, refresh_until = NULL, updated_at = $2
                 WHERE workspace_id = $3 AND profile_id = $4 AND refresh_owner = $5")
                .bind(expires_at).bind(now).bind(ws.to_string()).bind(profile.to_string()).bind(owner)
                .execute(&mut *tx).await?.rows_affected();
            if n == 1 {
                for s in &sealed {
                    sqlx::query(
                        "INSERT INTO profile_secrets (profile_id, kind, workspace_id, ciphertext, updated_at) VALUES ($1, $2, $3, $4, $5)
                         ON CONFLICT (profile_id, kind) DO UPDATE SET ciphertext = excluded.ciphertext, updated_at = excluded.updated_at")
                        .bind(profile.to_string()).bind(s.kind).bind(ws.to_string()).bind(&s.blob).bind(now)
                        .execute(&mut *tx).await?;
                }
                tx.commit().await?;
            }
            n == 1
        });
        match kept {
            true => Ok(()),
            false => Err(StoreError::Conflict(
                "the renewal lost its lease, or the login was removed meanwhile".into(),
            )),
        }
    }
}
