//! What an operator watches, read at each scrape of `/metrics`: deliveries by status, the queue a
//! claim would take now, and whether the database answers at all (`/readyz`).

use std::time::Duration;

use herald_domain::delivery::DeliveryStatus;

use crate::{Result, Store, on_db};

/// The deliveries by status, and the queue the dispatchers have before them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStats {
    /// Every status (in [`DeliveryStatus::ALL`]'s order) with how many deliveries are in it, zero
    /// included: a status that empties reads 0 rather than vanishing from the scrape.
    pub by_status: Vec<(DeliveryStatus, i64)>,
    /// Deliveries a claim would take now: due, or held by a lease that lapsed.
    pub due: i64,
    /// How long the one due longest has been waiting (zero when none is due).
    pub longest_wait: Duration,
}

/// Per status: its name, how many, how many of them are due, and the earliest instant one fell due.
type StatusRow = (String, i64, i64, Option<i64>);

impl Store {
    /// Counts the deliveries by status and the due ones in one pass over the table.
    pub async fn queue_stats(&self) -> Result<QueueStats> {
        let now = self.now();
        // The claim's own condition, so "due" means exactly what a dispatcher would take now.
        let claimable = crate::deliveries::claimable(1);
        // A lapsed lease has been waiting since it lapsed, not since its delivery first fell due.
        let sql = format!(
            "SELECT status, COUNT(*), SUM(CASE WHEN {claimable} THEN 1 ELSE 0 END),
               MIN(CASE WHEN {claimable} THEN (CASE WHEN status = 'publishing' THEN lease_until ELSE due_at END) END)
             FROM deliveries GROUP BY status"
        );
        let rows: Vec<StatusRow> = on_db!(self.db(), pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(now).fetch_all(pool).await?);
        let by_status = DeliveryStatus::ALL
            .into_iter()
            .map(|s| {
                let n = rows.iter().find(|r| r.0 == s.as_str()).map_or(0, |r| r.1);
                (s, n)
            })
            .collect();
        let due: i64 = rows.iter().map(|r| r.2).sum();
        let since = rows.iter().filter_map(|r| r.3).min();
        let waited = since.map_or(0, |at| now.saturating_sub(at).max(0));
        Ok(QueueStats {
            by_status,
            due,
            longest_wait: Duration::from_micros(u64::try_from(waited).unwrap_or(0)),
        })
    }

    /// Whether the database answers a trivial query within `within`: a pool that waits for a
    /// connection the server will never give (it is down, or unreachable) counts as no answer.
    pub async fn ping(&self, within: Duration) -> bool {
        tokio::time::timeout(within, self.db().ping())
            .await
            .unwrap_or(false)
    }
}
