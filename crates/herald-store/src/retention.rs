//! Retention: the logs Herald keeps — each delivery's history, notifications, the audit log, and
//! invitations once they ended (each names an email) — go once they are older than the period
//! kept, 90 days. The audit log is cut by [`Store::audit_cut`], which leaves a signed checkpoint
//! where each chain now starts, so what remains still verifies; a deleted workspace's chain, kept
//! as its signed end meanwhile, goes whole.

use std::time::Duration;

use crate::{Result, Store, audit_heads, on_db};

/// How long Herald keeps its logs: 90 days.
pub const RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);

/// How many rows of each kind a sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Events of deliveries' histories.
    pub delivery_events: u64,
    /// Notifications (who read each goes with it).
    pub notifications: u64,
    /// Audit entries (each chain keeps at least its newest).
    pub audit_entries: u64,
    /// Invitations that expired before the period kept (accepted, revoked or not).
    pub invitations: u64,
    /// The rows left of workspaces deleted before the period kept: each one's audit chain
    /// (its id and signed end, kept meanwhile so the log verifies and nothing appends to it).
    pub deleted_workspaces: u64,
}

impl RetentionReport {
    /// Every row removed, of every kind.
    pub fn total(&self) -> u64 {
        self.delivery_events
            + self.notifications
            + self.audit_entries
            + self.invitations
            + self.deleted_workspaces
    }
}

impl Store {
    /// Deletes what Herald keeps for `keep` only and is older than that at `now` (microseconds):
    /// delivery events, notifications (and their reads), audit entries (each chain cut at its
    /// first entry recent enough, never past its newest, with a signed checkpoint) and ended
    /// invitations. Each kind is removed in a transaction of its own; running it again, or in
    /// several processes at once, removes nothing more.
    pub async fn retention_sweep(&self, now: i64, keep: Duration) -> Result<RetentionReport> {
        let before = now.saturating_sub(i64::try_from(keep.as_micros()).unwrap_or(i64::MAX));
        let delivery_events = on_db!(self.db(), pool => sqlx::query("DELETE FROM delivery_events WHERE at < $1")
            .bind(before).execute(pool).await?.rows_affected());
        let notifications = on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "DELETE FROM notification_reads WHERE notification_id IN (SELECT id FROM notifications WHERE created_at < $1)")
                .bind(before).execute(&mut *tx).await?;
            let n = sqlx::query("DELETE FROM notifications WHERE created_at < $1")
                .bind(before).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            n
        });
        let invitations = on_db!(self.db(), pool => sqlx::query("DELETE FROM invitations WHERE expires_at < $1")
            .bind(before).execute(pool).await?.rows_affected());
        // Cutting takes each chain's head in turn: only worth it when some entry is old enough.
        let (old,): (i64,) = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT COUNT(*) FROM (SELECT 1 FROM audit_entries WHERE at < $1 LIMIT 1) AS old")
            .bind(before).fetch_one(pool).await?);
        let audit_entries = if old > 0 { self.audit_cut(before).await? } else { 0 };
        let deleted_workspaces = self.sweep_deleted_chains(before).await?;
        Ok(RetentionReport {
            delivery_events,
            notifications,
            audit_entries,
            invitations,
            deleted_workspaces,
        })
    }

    /// Removes the audit chains of workspaces deleted before `before`, the last row that named
    /// them: first from the heads file (so the check never misses a chain the database still
    /// holds), then from the database. Only a chain whose workspace is gone is touched.
    async fn sweep_deleted_chains(&self, before: i64) -> Result<u64> {
        let chains: Vec<(String,)> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT chain FROM audit_chains WHERE deleted_at IS NOT NULL AND deleted_at < $1
               AND chain NOT IN (SELECT id FROM workspaces) ORDER BY chain")
            .bind(before).fetch_all(pool).await?);
        let mut removed = 0;
        for (chain,) in chains {
            if let Some(path) = &self.audit_heads {
                let (file, owned) = (path.to_path_buf(), chain.clone());
                let forgotten = tokio::task::spawn_blocking(move || audit_heads::forget(&file, &owned)).await;
                if let Err(e) = forgotten.map_err(std::io::Error::other).and_then(|f| f) {
                    tracing::warn!(chain, error = %e, "the audit heads file could not be updated: the deleted workspace's chain stays until the next sweep");
                    continue;
                }
            }
            removed += on_db!(self.db(), pool => sqlx::query(
                "DELETE FROM audit_chains WHERE chain = $1 AND deleted_at IS NOT NULL")
                .bind(&chain).execute(pool).await?.rows_affected());
        }
        Ok(removed)
    }
}
