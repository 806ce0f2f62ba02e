//! Pending OAuth authorizations: `state` is stored hashed and can be taken exactly once.

use herald_domain::{ProfileId, UserId, WorkspaceId};
use herald_vault::secret_aad;
use secrecy::{ExposeSecret, SecretString};

use crate::{Result, Store, StoreError, on_db, parse_id};

/// The PKCE verifier is sealed like a token, bound to its workspace and state.
fn verifier_aad(ws: WorkspaceId, state_hash: &str) -> String {
    secret_aad(&ws.to_string(), state_hash, "pkce_verifier")
}

pub struct NewOAuthState<'a> {
    pub state_hash: &'a str,
    pub workspace: WorkspaceId,
    pub user: UserId,
    pub session_hash: Option<&'a str>,
    pub platform: &'a str,
    pub redirect_uri: &'a str,
    /// The PKCE verifier, when the platform uses PKCE; sealed before it is stored.
    pub pkce_verifier: Option<&'a SecretString>,
    pub scopes: &'a str,
    pub expires_at: i64,
    /// The profile the authorization adds its conversations login to (none: it connects profiles).
    pub profile: Option<ProfileId>,
}

#[derive(Debug)]
pub struct OAuthStateRow {
    pub workspace: WorkspaceId,
    pub user: UserId,
    pub session_hash: Option<String>,
    pub platform: String,
    pub redirect_uri: String,
    pub pkce_verifier: Option<SecretString>,
    pub scopes: String,
    pub expires_at: i64,
    pub profile: Option<ProfileId>,
}

type Row = (
    String,
    String,
    Option<String>,
    String,
    String,
    Option<Vec<u8>>,
    String,
    i64,
    Option<String>,
);

impl Store {
    pub async fn insert_oauth_state(&self, s: NewOAuthState<'_>) -> Result<()> {
        let sealed = match s.pkce_verifier {
            Some(v) => Some(self.data_key(s.workspace).await?.seal(
                &verifier_aad(s.workspace, s.state_hash),
                v.expose_secret().as_bytes(),
            )?),
            None => None,
        };
        on_db!(self.db(), pool => sqlx::query(
            "INSERT INTO oauth_states (state_hash, workspace_id, user_id, session_hash, platform, redirect_uri, pkce_verifier, scopes, created_at, expires_at, profile_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
            .bind(s.state_hash).bind(s.workspace.to_string()).bind(s.user.to_string()).bind(s.session_hash)
            .bind(s.platform).bind(s.redirect_uri).bind(sealed).bind(s.scopes).bind(self.now()).bind(s.expires_at)
            .bind(s.profile.map(|p| p.to_string()))
            .execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Deletes and returns the state: a second call with the same state finds nothing.
    pub async fn take_oauth_state(&self, state_hash: &str) -> Result<Option<OAuthStateRow>> {
        let row: Option<Row> = on_db!(self.db(), pool => sqlx::query_as(
            "DELETE FROM oauth_states WHERE state_hash = $1
             RETURNING workspace_id, user_id, session_hash, platform, redirect_uri, pkce_verifier, scopes, expires_at, profile_id")
            .bind(state_hash).fetch_optional(pool).await?);
        let Some((ws, user, session_hash, platform, redirect_uri, sealed, scopes, expires_at, profile)) = row
        else {
            return Ok(None);
        };
        let workspace: WorkspaceId = parse_id(&ws)?;
        let pkce_verifier = match sealed {
            Some(blob) => {
                let plain = self
                    .data_key(workspace)
                    .await?
                    .open(&verifier_aad(workspace, state_hash), &blob)?;
                let text = String::from_utf8(plain.to_vec())
                    .map_err(|_| StoreError::Corrupt("PKCE verifier is not UTF-8".into()))?;
                Some(SecretString::from(text))
            }
            None => None,
        };
        Ok(Some(OAuthStateRow {
            workspace,
            user: parse_id(&user)?,
            session_hash,
            platform,
            redirect_uri,
            pkce_verifier,
            scopes,
            expires_at,
            profile: profile.as_deref().map(parse_id).transpose()?,
        }))
    }
}
