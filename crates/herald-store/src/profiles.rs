//! Connected platform profiles and their connection state.

use herald_domain::platform::{Feature, Login, Platform};
use herald_domain::profile::{Backends, ConnectionState, ReconnectReason};
use herald_domain::rules::LiveFacts;
use herald_domain::{GrantId, ProfileId, WorkspaceId};

use crate::{Result, Store, StoreError, on_db, parse_id};

#[derive(Debug, Clone)]
pub struct ProfileRow {
    pub id: ProfileId,
    pub workspace: WorkspaceId,
    pub platform: Platform,
    pub external_id: String,
    pub handle: String,
    pub state: ConnectionState,
    pub reason: Option<ReconnectReason>,
    pub granted_scopes: Vec<String>,
    pub token_issued_at: Option<i64>,
    pub token_expires_at: Option<i64>,
    pub sandbox: bool,
    pub created_at: i64,
    pub login: Login,
    /// The multi-account grant the profile was chosen from (Facebook Login).
    pub grant: Option<GrantId>,
    /// When the person must log in again even though the profile's own token does not expire.
    pub reconnect_by: Option<i64>,
}

impl ProfileRow {
    /// The date to reconnect by: the grant's end, else the token's, except where a refresh token
    /// renews the token (an access token's end then is no date for the person).
    pub fn reconnect_by(&self) -> Option<i64> {
        let renewed = self.login.renews_with_refresh_token();
        self.reconnect_by.or(self.token_expires_at.filter(|_| !renewed))
    }

    /// Permissions `feature` needs on this profile that were not granted.
    pub fn missing_for(&self, feature: Feature) -> Vec<&'static str> {
        self.platform
            .missing_for(self.login, feature, &self.granted_scopes)
    }
}

pub struct NewProfile<'a> {
    pub workspace: WorkspaceId,
    pub platform: &'a str,
    pub external_id: &'a str,
    pub handle: &'a str,
    pub granted_scopes: &'a [String],
    pub token_issued_at: i64,
    pub token_expires_at: Option<i64>,
    pub sandbox: bool,
    pub login: Login,
    pub grant: Option<GrantId>,
    pub reconnect_by: Option<i64>,
}

pub(crate) type Row = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    Option<i64>,
    Option<i64>,
    bool,
    i64,
    String,
    Option<String>,
    Option<i64>,
);

pub(crate) const COLUMNS: &str = "id, workspace_id, platform, external_id, handle, state, reason, granted_scopes, token_issued_at, token_expires_at, sandbox, created_at, login, grant_id, reconnect_by";

pub(crate) fn from_row(r: Row) -> Result<ProfileRow> {
    let (
        id,
        ws,
        platform,
        external_id,
        handle,
        state,
        reason,
        scopes,
        issued,
        expires,
        sandbox,
        created_at,
        login,
        grant,
        reconnect_by,
    ) = r;
    Ok(ProfileRow {
        id: parse_id(&id)?,
        workspace: parse_id(&ws)?,
        // A platform Herald does not know is damage, never a guess.
        platform: Platform::parse(&platform)
            .ok_or_else(|| StoreError::Corrupt(format!("profile platform {platform}")))?,
        external_id,
        handle,
        state: ConnectionState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("profile state {state}")))?,
        reason: reason.as_deref().and_then(ReconnectReason::parse),
        granted_scopes: scopes
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        token_issued_at: issued,
        token_expires_at: expires,
        sandbox,
        created_at,
        login: Login::parse(&login).ok_or_else(|| StoreError::Corrupt(format!("profile login {login}")))?,
        grant: grant.as_deref().map(parse_id).transpose()?,
        reconnect_by,
    })
}

impl Store {
    /// Creates the profile, or updates the one already connected for the same platform account.
    pub async fn upsert_profile(&self, p: NewProfile<'_>) -> Result<ProfileId> {
        let now = self.now();
        let row: (String,) = on_db!(self.db(), pool => sqlx::query_as(
            "INSERT INTO profiles (id, workspace_id, platform, external_id, handle, state, reason, granted_scopes, token_issued_at, token_expires_at, sandbox, created_at, updated_at, login, grant_id, reconnect_by)
             VALUES ($1, $2, $3, $4, $5, 'connected', NULL, $6, $7, $8, $9, $10, $10, $11, $12, $13)
             ON CONFLICT (workspace_id, platform, external_id) DO UPDATE SET handle = excluded.handle, state = 'connected', reason = NULL,
               granted_scopes = excluded.granted_scopes, token_issued_at = excluded.token_issued_at,
               token_expires_at = excluded.token_expires_at, sandbox = excluded.sandbox, updated_at = excluded.updated_at,
               login = excluded.login, grant_id = excluded.grant_id, reconnect_by = excluded.reconnect_by
             RETURNING id")
            .bind(ProfileId::new().to_string()).bind(p.workspace.to_string()).bind(p.platform).bind(p.external_id)
            .bind(p.handle).bind(p.granted_scopes.join(",")).bind(p.token_issued_at).bind(p.token_expires_at)
            .bind(p.sandbox).bind(now).bind(p.login.as_str()).bind(p.grant.map(|g| g.to_string())).bind(p.reconnect_by)
            .fetch_one(pool).await?);
        parse_id(&row.0)
    }

    pub async fn list_profiles(&self, ws: WorkspaceId) -> Result<Vec<ProfileRow>> {
        let sql = format!("SELECT {COLUMNS} FROM profiles WHERE workspace_id = $1 ORDER BY created_at");
        let rows: Vec<Row> = on_db!(self.db(), pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(ws.to_string()).fetch_all(pool).await?);
        rows.into_iter().map(from_row).collect()
    }

    pub async fn get_profile(&self, ws: WorkspaceId, id: ProfileId) -> Result<ProfileRow> {
        let sql = format!("SELECT {COLUMNS} FROM profiles WHERE workspace_id = $1 AND id = $2");
        let row: Option<Row> = on_db!(self.db(), pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(ws.to_string()).bind(id.to_string()).fetch_optional(pool).await?);
        from_row(row.ok_or(StoreError::NotFound)?)
    }

    /// The platform's live facts about a profile, and when they were read.
    pub async fn live_facts(&self, ws: WorkspaceId, id: ProfileId) -> Result<Option<(LiveFacts, i64)>> {
        // The quota used and allowed, what the account allows (JSON), and when they were read.
        type FactsRow = (Option<i64>, Option<i64>, Option<String>, i64);
        let row: Option<FactsRow> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT quota_used, quota_total, creator, fetched_at FROM profile_facts WHERE workspace_id = $1 AND profile_id = $2")
            .bind(ws.to_string()).bind(id.to_string()).fetch_optional(pool).await?);
        row.map(|(used, total, creator, at)| facts_from(used, total, creator, at))
            .transpose()
    }

    pub async fn put_live_facts(&self, ws: WorkspaceId, id: ProfileId, facts: &LiveFacts) -> Result<()> {
        on_db!(self.db(), pool => sqlx::query(
            "INSERT INTO profile_facts (profile_id, workspace_id, quota_used, quota_total, fetched_at, creator) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (profile_id) DO UPDATE SET quota_used = excluded.quota_used, quota_total = excluded.quota_total,
               fetched_at = excluded.fetched_at, creator = excluded.creator")
            .bind(id.to_string()).bind(ws.to_string()).bind(facts.quota_used.map(i64::from))
            .bind(facts.quota_total.map(i64::from)).bind(self.now())
            .bind(facts.creator.as_ref().map(|c| serde_json::to_string(c).expect("creator facts serialise")))
            .execute(pool).await?.rows_affected());
        Ok(())
    }

    /// The profiles chosen from a grant.
    pub async fn profiles_of_grant(&self, ws: WorkspaceId, grant: GrantId) -> Result<Vec<ProfileRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM profiles WHERE workspace_id = $1 AND grant_id = $2 ORDER BY created_at"
        );
        let rows: Vec<Row> = on_db!(self.db(), pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(ws.to_string()).bind(grant.to_string()).fetch_all(pool).await?);
        rows.into_iter().map(from_row).collect()
    }

    /// Records that the profile needs the user (or that it is connected again).
    pub async fn set_profile_state(
        &self,
        ws: WorkspaceId,
        id: ProfileId,
        state: ConnectionState,
        reason: Option<ReconnectReason>,
    ) -> Result<()> {
        on_db!(self.db(), pool => sqlx::query("UPDATE profiles SET state = $1, reason = $2, updated_at = $3 WHERE workspace_id = $4 AND id = $5")
            .bind(state.as_str()).bind(reason.map(ReconnectReason::as_str)).bind(self.now()).bind(ws.to_string()).bind(id.to_string())
            .execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Holds every profile to the backend that issued its tokens: profiles whose login now has
    /// another backend (the sandbox turned off, credentials removed) become `needs_reconnect` with
    /// the reason, and profiles held back that way whose backend matches again are connected
    /// again. Returns how many were held back, and the profiles connected again (for their
    /// waiting posts to be requeued).
    pub async fn reconcile_backends(
        &self,
        backends: &Backends,
    ) -> Result<(u64, Vec<(WorkspaceId, ProfileId)>)> {
        let now = self.now();
        let (mut held, mut restored) = (0, Vec::new());
        for login in Login::ALL {
            for sandbox in [true, false] {
                match backends.mismatch(login, sandbox) {
                    Some(reason) => {
                        held += on_db!(self.db(), pool => sqlx::query(
                            "UPDATE profiles SET state = 'needs_reconnect', reason = $1, updated_at = $2
                             WHERE login = $3 AND sandbox = $4 AND state = 'connected'")
                            .bind(reason.as_str()).bind(now).bind(login.as_str()).bind(sandbox)
                            .execute(pool).await?.rows_affected());
                    }
                    None => {
                        let rows: Vec<(String, String)> = on_db!(self.db(), pool => sqlx::query_as(
                            "UPDATE profiles SET state = 'connected', reason = NULL, updated_at = $1
                             WHERE login = $2 AND sandbox = $3 AND state = 'needs_reconnect' AND reason IN ('sandbox_off', 'app_not_configured')
                             RETURNING workspace_id, id")
                            .bind(now).bind(login.as_str()).bind(sandbox).fetch_all(pool).await?);
                        for (ws, id) in rows {
                            restored.push((parse_id(&ws)?, parse_id(&id)?));
                        }
                    }
                }
            }
        }
        Ok((held, restored))
    }

    /// Records a refreshed token's lifetime.
    pub async fn set_token_times(
        &self,
        ws: WorkspaceId,
        id: ProfileId,
        issued_at: i64,
        expires_at: Option<i64>,
    ) -> Result<()> {
        on_db!(self.db(), pool => sqlx::query("UPDATE profiles SET token_issued_at = $1, token_expires_at = $2, updated_at = $3 WHERE workspace_id = $4 AND id = $5")
            .bind(issued_at).bind(expires_at).bind(self.now()).bind(ws.to_string()).bind(id.to_string()).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Disconnects: deletes the secrets, keeps the row as `disconnected`, cancels pending deliveries.
    /// Returns how many deliveries were cancelled.
    pub async fn disconnect_profile(&self, ws: WorkspaceId, id: ProfileId) -> Result<u64> {
        let now = self.now();
        on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let n = sqlx::query("UPDATE profiles SET state = 'disconnected', reason = NULL, token_expires_at = NULL, updated_at = $1 WHERE workspace_id = $2 AND id = $3")
                .bind(now).bind(ws.to_string()).bind(id.to_string()).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            sqlx::query("DELETE FROM profile_secrets WHERE workspace_id = $1 AND profile_id = $2")
                .bind(ws.to_string()).bind(id.to_string()).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM conversations WHERE workspace_id = $1 AND profile_id = $2")
                .bind(ws.to_string()).bind(id.to_string()).execute(&mut *tx).await?;
            let cancelled = crate::deliveries::cancel_pending!(tx, ws, "profile_id", id.to_string(), now, "profile disconnected");
            tx.commit().await?;
            Ok(cancelled)
        })
    }
}

/// Live facts as stored: the quota used and allowed, what the account allows (JSON), and when
/// they were read.
pub(crate) fn facts_from(
    used: Option<i64>,
    total: Option<i64>,
    creator: Option<String>,
    at: i64,
) -> Result<(LiveFacts, i64)> {
    let count = |n: Option<i64>| n.and_then(|n| u32::try_from(n).ok());
    let creator = creator
        .map(|c| serde_json::from_str(&c))
        .transpose()
        .map_err(|e| StoreError::Corrupt(format!("a profile's creator facts: {e}")))?;
    let facts = LiveFacts {
        quota_used: count(used),
        quota_total: count(total),
        creator,
    };
    Ok((facts, at))
}
