//! Connecting to SQLite or PostgreSQL and running the matching migrations.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A PostgreSQL connection idle in the pool for longer than this is tested (a round trip) before
/// it is handed out. One in steady use is not, so a statement costs one round trip, not two (sqlx
/// tests every connection on its way out by default): a connection that died meanwhile (the
/// server restarted) fails its statement as any database failure does (a batch of writes fails
/// whole; its deliveries are taken over when their leases lapse), and sqlx drops it as it goes
/// back (it tests each connection on its way back).
const TEST_IF_IDLE_FOR: Duration = Duration::from_secs(5);

/// Tests a connection about to be handed out when it was idle for longer than [`TEST_IF_IDLE_FOR`].
fn test_if_idle(
    conn: &mut sqlx::PgConnection,
    meta: sqlx::pool::PoolConnectionMetadata,
) -> std::pin::Pin<Box<dyn Future<Output = sqlx::Result<bool>> + Send + '_>> {
    Box::pin(async move {
        if meta.idle_for > TEST_IF_IDLE_FOR {
            sqlx::Connection::ping(conn).await?;
        }
        Ok(true)
    })
}

/// A pool on one of the two backends.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Db {
    /// Connects by URL: `postgres://…` or `sqlite://path` (created if missing), with the
    /// default pool size (10 connections on PostgreSQL, 4 on SQLite).
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_sized(url, None).await
    }

    /// As [`Db::connect`], with at most `pool_size` connections when given.
    pub async fn connect_sized(url: &str, pool_size: Option<u32>) -> Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(pool_size.unwrap_or(10))
                .acquire_timeout(Duration::from_secs(10))
                .test_before_acquire(false)
                .before_acquire(test_if_idle)
                .connect(url)
                .await?;
            Ok(Self::Postgres(pool))
        } else {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            // A file the process opened itself cannot be cut off: no test on the way out of
            // the pool (a hand-off to the connection's thread and back, for each statement).
            let pool = SqlitePoolOptions::new()
                .max_connections(pool_size.unwrap_or(4))
                .test_before_acquire(false)
                .connect_with(opts)
                .await?;
            Ok(Self::Sqlite(pool))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn migrate(&self) -> Result<()> {
        match self {
            Self::Sqlite(p) => sqlx::migrate!("./migrations/sqlite").run(p).await?,
            Self::Postgres(p) => sqlx::migrate!("./migrations/postgres").run(p).await?,
        }
        Ok(())
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        crate::on_db!(self, p => sqlx::query("SELECT 1").execute(p).await.is_ok())
    }

    /// How many workspace data keys are stored (each needs the master keyring to open).
    pub async fn data_key_count(&self) -> Result<i64> {
        let (n,): (i64,) =
            crate::on_db!(self, p => sqlx::query_as("SELECT COUNT(*) FROM data_keys").fetch_one(p).await?);
        Ok(n)
    }

    pub async fn close(&self) {
        crate::on_db!(self, p => p.close().await);
    }
}
