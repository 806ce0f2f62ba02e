//! Hearing, on PostgreSQL, that a delivery became due at some time in another process: the
//! `herald_due` notification a trigger on `deliveries` sends (migration 0028).

use sqlx::postgres::{PgListener, PgPoolOptions};

use crate::{Db, Result, Store};

/// The channel the trigger notifies.
pub(crate) const CHANNEL: &str = "herald_due";

/// A connection listening for `herald_due` (it holds one of the pool's connections).
pub struct DueListener(PgListener);

impl DueListener {
    /// Resolves at the next notification, or when the connection was lost and made again (what
    /// was sent meanwhile is lost: look at the queue either way). An error when the database
    /// cannot be reached again.
    pub async fn next(&mut self) -> Result<()> {
        self.0.try_recv().await?;
        Ok(())
    }
}

impl Store {
    /// Listens for deliveries becoming due; `None` on SQLite, where one process dispatches and
    /// is woken in-process.
    pub async fn listen_for_due(&self) -> Result<Option<DueListener>> {
        match self.db() {
            Db::Sqlite(_) => Ok(None),
            Db::Postgres(pool) => {
                // A connection of its own, outside the pool, which it would otherwise hold for good.
                let own = PgPoolOptions::new()
                    .max_connections(1)
                    .max_lifetime(None)
                    .idle_timeout(None)
                    .connect_with((*pool.connect_options()).clone())
                    .await?;
                let mut listener = PgListener::connect_with(&own).await?;
                listener.listen(CHANNEL).await?;
                Ok(Some(DueListener(listener)))
            }
        }
    }
}
