//! Token care: one refresh per profile at a time across every process, through a lease on the
//! profile's row; the refreshed token is stored the moment it arrives, then its lifetime, and the
//! lease let go. Also the profiles whose token expired or whose consent ends soon.

use herald_domain::platform::Login;
use herald_domain::profile::{ReconnectReason, SecretKind};
use herald_domain::{ProfileId, WorkspaceId};

use crate::{Result, Store, StoreError, on_db, parse_id};

/// A profile, and when something about it happens (its token's expiry, or its consent's end).
#[derive(Debug, Clone, Copy)]
pub struct ProfileDue {
    pub workspace: WorkspaceId,
    pub profile: ProfileId,
    pub at: i64,
}

type DueRow = (String, String, i64);

fn due(rows: Vec<DueRow>) -> Result<Vec<ProfileDue>> {
    rows.into_iter()
        .map(|(ws, id, at)| {
            Ok(ProfileDue {
                workspace: parse_id(&ws)?,
                profile: parse_id(&id)?,
                at,
            })
        })
        .collect()
}

impl Store {
    /// Claims, for `owner` until `until`, up to `limit` connected profiles of `login` whose token
    /// expires before `before` (and has not expired, unless the login renews with a refresh token)
    /// and was issued no later than `issued_by`, and whose refresh nobody holds. A token that already
    /// ends within a day of the profile's reconnect-by date (a refresh token's fixed end) is not
    /// renewed again until it has ended: a renewal would gain nothing, and its refusal then says
    /// the consent is over.
    pub async fn claim_refreshes(
        &self,
        owner: &str,
        until: i64,
        login: Login,
        before: i64,
        issued_by: i64,
        limit: i64,
    ) -> Result<Vec<ProfileDue>> {
        let now = self.now();
        let lock = match self.db().backend() {
            crate::Backend::Sqlite => "",
            crate::Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let sql = format!(
            "UPDATE profiles SET refresh_owner = $1, refresh_until = $2
             WHERE id IN (SELECT id FROM profiles WHERE state = 'connected' AND login = $3
                 AND (token_expires_at > $4 OR $8) AND token_expires_at < $5 AND token_issued_at <= $6
                 AND (refresh_until IS NULL OR refresh_until < $4)
                 AND (reconnect_by IS NULL OR token_expires_at < reconnect_by - 86400000000 OR token_expires_at <= $4)
               ORDER BY token_expires_at LIMIT $7{lock})
             RETURNING workspace_id, id, token_expires_at"
        );
        let rows: Vec<DueRow> = on_db!(self.db(), pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(owner).bind(until).bind(login.as_str()).bind(now).bind(before).bind(issued_by).bind(limit)
            .bind(login.renews_with_refresh_token())
            .fetch_all(pool).await?);
        due(rows)
    }

    /// Stores a refreshed access token at once (after the refresh token that replaced the one
    /// used, where the login rotates them: the old one no longer works), then its lifetime, and
    /// lets `owner`'s lease go.
    pub async fn finish_refresh(
        &self,
        p: ProfileDue,
        owner: &str,
        token: &str,
        renew: Option<&str>,
        expires_at: Option<i64>,
    ) -> Result<()> {
        if let Some(renew) = renew {
            self.put_secret(p.workspace, p.profile, SecretKind::RefreshToken, renew)
                .await?;
        }
        self.put_secret(p.workspace, p.profile, SecretKind::AccessToken, token)
            .await?;
        let now = self.now();
        // A profile disconnected while its token was renewed keeps no token: the secrets just
        // written go again, in the same transaction that finds it disconnected (a disconnect
        // after this deletes them itself).
        let kept = on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let n = sqlx::query(
                "UPDATE profiles SET token_issued_at = $1, token_expires_at = $2, updated_at = $1,
                   refresh_until = CASE WHEN refresh_owner = $3 THEN NULL ELSE refresh_until END,
                   refresh_owner = CASE WHEN refresh_owner = $3 THEN NULL ELSE refresh_owner END
                 WHERE workspace_id = $4 AND id = $5 AND state <> 'disconnected'")
                .bind(now).bind(expires_at).bind(owner).bind(p.workspace.to_string()).bind(p.profile.to_string())
                .execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                sqlx::query("DELETE FROM profile_secrets WHERE workspace_id = $1 AND profile_id = $2")
                    .bind(p.workspace.to_string()).bind(p.profile.to_string()).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM conversations WHERE workspace_id = $1 AND profile_id = $2")
                    .bind(p.workspace.to_string()).bind(p.profile.to_string()).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            n > 0
        });
        match kept {
            true => Ok(()),
            false => Err(StoreError::Conflict(
                "the profile was disconnected while its token was renewed".into(),
            )),
        }
    }

    /// Keeps `owner`'s claim on a refresh that failed for a passing reason until `until`: its
    /// back-off.
    pub async fn defer_refresh(&self, p: ProfileDue, owner: &str, until: i64) -> Result<()> {
        on_db!(self.db(), pool => sqlx::query(
            "UPDATE profiles SET refresh_until = $1 WHERE workspace_id = $2 AND id = $3 AND refresh_owner = $4")
            .bind(until).bind(p.workspace.to_string()).bind(p.profile.to_string()).bind(owner)
            .execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Connected profiles whose token has expired and cannot be renewed without the person (a
    /// login that renews with a refresh token renews an expired access token too).
    pub async fn expired_tokens(&self) -> Result<Vec<ProfileDue>> {
        let renewing: Vec<&str> = Login::ALL
            .into_iter()
            .filter(|l| l.renews_with_refresh_token())
            .map(Login::as_str)
            .collect();
        // `NOT IN ()` is no SQL PostgreSQL takes: no such login, no clause.
        let except = match renewing.len() {
            0 => String::new(),
            n => format!(
                " AND login NOT IN ({})",
                (2..2 + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
            ),
        };
        let sql = format!(
            "SELECT workspace_id, id, token_expires_at FROM profiles WHERE state = 'connected' AND token_expires_at <= $1{except}"
        );
        let rows: Vec<DueRow> = on_db!(self.db(), pool => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(self.now());
            for l in &renewing {
                q = q.bind(*l);
            }
            q.fetch_all(pool).await?
        });
        due(rows)
    }

    /// Connected profiles whose consent ends before `before`: the grant's end, or the token's
    /// expiry where the login cannot renew it (`refreshable`: the logins that can).
    pub async fn consents_ending(&self, before: i64, refreshable: &[Login]) -> Result<Vec<ProfileDue>> {
        let renews = match refreshable.len() {
            0 => "FALSE".to_owned(),
            n => format!(
                "login IN ({})",
                (3..3 + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
            ),
        };
        let sql = format!(
            "SELECT workspace_id, id, ends FROM (
               SELECT workspace_id, id, COALESCE(reconnect_by, CASE WHEN {renews} THEN NULL ELSE token_expires_at END) AS ends
               FROM profiles WHERE state = 'connected') AS p
             WHERE ends IS NOT NULL AND ends > $1 AND ends < $2"
        );
        let rows: Vec<DueRow> = on_db!(self.db(), pool => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(self.now()).bind(before);
            for l in refreshable {
                q = q.bind(l.as_str());
            }
            q.fetch_all(pool).await?
        });
        due(rows)
    }

    /// The profile needs its person (its grant was refused): it becomes `needs_reconnect` with
    /// `reason`, and its deliveries that nothing has made visible yet wait for the reconnect.
    /// Returns how many deliveries were parked.
    pub async fn hold_for_reconnect(
        &self,
        ws: WorkspaceId,
        profile: ProfileId,
        reason: ReconnectReason,
        message: &str,
    ) -> Result<u64> {
        let now = self.now();
        let filter = "workspace_id = $1 AND profile_id = $2 AND (status = 'scheduled' OR (status = 'retry_wait' AND may_be_live = 0))";
        on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE profiles SET state = 'needs_reconnect', reason = $1, refresh_owner = NULL, refresh_until = NULL, updated_at = $2 WHERE workspace_id = $3 AND id = $4")
                .bind(reason.as_str()).bind(now).bind(ws.to_string()).bind(profile.to_string()).execute(&mut *tx).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO delivery_events (workspace_id, delivery_id, at, from_status, to_status, attempt, fence, outcome, detail)
                 SELECT workspace_id, id, $3, status, 'needs_reconnect', attempts, fence, $4, $5 FROM deliveries WHERE {filter}"
            )))
            .bind(ws.to_string()).bind(profile.to_string()).bind(now).bind(reason.as_str()).bind(message).execute(&mut *tx).await?;
            let n = sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE deliveries SET status = 'needs_reconnect', error_code = $4, error_message = $5, fence = fence + 1, updated_at = $3 WHERE {filter}"
            )))
            .bind(ws.to_string()).bind(profile.to_string()).bind(now).bind(reason.as_str()).bind(message)
            .execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            Ok(n)
        })
    }
}
