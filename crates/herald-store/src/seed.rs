//! What `herald bench` asks of the store: a run's posts written at once (the rows
//! [`Store::create_post`] writes, many to a statement), their times moved together, the deliveries
//! not yet published, a throwaway PostgreSQL database, and the durability settings in force.

use herald_domain::delivery::DeliveryStatus;
use herald_domain::{DeliveryId, PostId, ProfileId, UserId, WorkspaceId};

use crate::{Db, Result, Store, StoreError, on_db};

/// One post of a seeded run: its text, its time, and the one profile it goes to.
#[derive(Debug, Clone)]
pub struct SeedPost {
    pub text: String,
    pub scheduled_at: i64,
    pub profile: ProfileId,
}

/// Posts per statement: at four parameters a delivery, well under SQLite's 32,766.
const PER_STATEMENT: usize = 500;
/// Posts per transaction: few commits, and no transaction holding a whole run.
const PER_TRANSACTION: usize = 10_000;
/// What a scratch database's name starts with (and what dropping one checks).
const SCRATCH_PREFIX: &str = "herald_bench_";

/// `n` rows of `row(b)`, where `b` numbers the row's first parameter: `first` for the first row,
/// then `per_row` more for each row after it.
fn rows(n: usize, first: usize, per_row: usize, row: impl Fn(usize) -> String) -> String {
    (0..n)
        .map(|k| row(first + k * per_row))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Posts: `$1` workspace, `$2` author, `$3` zone, `$4` now; then id, text, time per row.
fn posts_sql(n: usize) -> String {
    let values = rows(n, 5, 3, |b| {
        format!("(${b}, $1, $2, ${}, '[]', ${}, $3, $4, $4)", b + 1, b + 2)
    });
    format!(
        "INSERT INTO posts (id, workspace_id, created_by, text, media_ids, scheduled_at, time_zone, created_at, updated_at) VALUES {values}"
    )
}

/// Deliveries: `$1` workspace, `$2` status, `$3` now; then id, post, profile, due time per row.
fn deliveries_sql(n: usize) -> String {
    let values = rows(n, 4, 4, |b| {
        format!("(${b}, $1, ${}, ${}, $2, ${}, $3)", b + 1, b + 2, b + 3)
    });
    format!(
        "INSERT INTO deliveries (id, workspace_id, post_id, profile_id, status, due_at, updated_at) VALUES {values}"
    )
}

/// Each delivery's first event: `$1` workspace, `$2` now, `$3` status, `$4` outcome; then the
/// delivery per row.
fn events_sql(n: usize) -> String {
    let values = rows(n, 5, 1, |b| format!("($1, ${b}, $2, $3, 0, 0, $4)"));
    format!(
        "INSERT INTO delivery_events (workspace_id, delivery_id, at, to_status, attempt, fence, outcome) VALUES {values}"
    )
}

impl Store {
    /// Writes `posts`, each to its one profile, as `scheduled`: the post, its delivery and the
    /// delivery's first event, as [`Store::create_post`] writes them, but hundreds to a statement,
    /// so a benchmark's 100,000 posts take seconds. Nothing is woken: the run starts its
    /// dispatchers afterwards, and they find the posts as they start.
    pub async fn seed_posts(
        &self,
        ws: WorkspaceId,
        user: UserId,
        time_zone: &str,
        posts: &[SeedPost],
    ) -> Result<()> {
        let (ws, user, now) = (ws.to_string(), user.to_string(), self.now());
        let status = DeliveryStatus::Scheduled.as_str();
        for batch in posts.chunks(PER_TRANSACTION) {
            on_db!(self.db(), pool => {
                let mut tx = pool.begin().await?;
                for chunk in batch.chunks(PER_STATEMENT) {
                    let ids: Vec<(String, String)> = chunk
                        .iter()
                        .map(|_| (PostId::new().to_string(), DeliveryId::new().to_string()))
                        .collect();
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(posts_sql(chunk.len())))
                        .bind(&ws).bind(&user).bind(time_zone).bind(now);
                    for (p, (post, _)) in chunk.iter().zip(&ids) {
                        q = q.bind(post).bind(&p.text).bind(p.scheduled_at);
                    }
                    q.execute(&mut *tx).await?;
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(deliveries_sql(chunk.len())))
                        .bind(&ws).bind(status).bind(now);
                    for (p, (post, delivery)) in chunk.iter().zip(&ids) {
                        q = q.bind(delivery).bind(post).bind(p.profile.to_string()).bind(p.scheduled_at);
                    }
                    q.execute(&mut *tx).await?;
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(events_sql(chunk.len())))
                        .bind(&ws).bind(now).bind(status).bind("scheduled");
                    for (_, delivery) in &ids {
                        q = q.bind(delivery);
                    }
                    q.execute(&mut *tx).await?;
                }
                tx.commit().await?;
            });
        }
        Ok(())
    }

    /// Moves every post of the workspace, and its deliveries still `scheduled`, by `by`
    /// microseconds, in one transaction; returns how many deliveries moved. A run is written first
    /// and given its time after, so however long writing took, its posts fall due when it says.
    pub async fn move_schedule(&self, ws: WorkspaceId, by: i64) -> Result<u64> {
        let (ws, now) = (ws.to_string(), self.now());
        let status = DeliveryStatus::Scheduled.as_str();
        let moved = on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE posts SET scheduled_at = scheduled_at + $1, updated_at = $2 WHERE workspace_id = $3")
                .bind(by).bind(now).bind(&ws).execute(&mut *tx).await?;
            let moved = sqlx::query("UPDATE deliveries SET due_at = due_at + $1, updated_at = $2 WHERE workspace_id = $3 AND status = $4")
                .bind(by).bind(now).bind(&ws).bind(status).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            moved
        });
        Ok(moved)
    }

    /// The workspace's deliveries not (yet) published, by status. It reads through the index led
    /// by the status, so it costs what is left: cheap to ask often while a run drains.
    pub async fn unpublished(&self, ws: WorkspaceId) -> Result<Vec<(DeliveryStatus, i64)>> {
        let others: Vec<String> = DeliveryStatus::ALL
            .into_iter()
            .filter(|s| *s != DeliveryStatus::Published)
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        let sql = format!(
            "SELECT status, COUNT(*) FROM deliveries WHERE status IN ({}) AND workspace_id = $1 GROUP BY status",
            others.join(", ")
        );
        let rows: Vec<(String, i64)> = on_db!(self.db(), pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(ws.to_string()).fetch_all(pool).await?);
        rows.into_iter()
            .map(|(s, n)| {
                DeliveryStatus::parse(&s)
                    .map(|status| (status, n))
                    .ok_or_else(|| StoreError::Corrupt(format!("delivery status {s}")))
            })
            .collect()
    }
}

impl Db {
    /// The settings that decide what a commit survives: SQLite's journal mode and `synchronous`
    /// (as this pool's connections have them, which is how every Herald process opens its own),
    /// PostgreSQL's `synchronous_commit`, `fsync` and `wal_sync_method`.
    pub async fn durability(&self) -> Result<Vec<(&'static str, String)>> {
        match self {
            Self::Sqlite(p) => {
                let (journal,): (String,) = sqlx::query_as("PRAGMA journal_mode").fetch_one(p).await?;
                let (sync,): (i64,) = sqlx::query_as("PRAGMA synchronous").fetch_one(p).await?;
                let sync = match sync {
                    0 => "off".to_owned(),
                    1 => "normal".to_owned(),
                    2 => "full".to_owned(),
                    3 => "extra".to_owned(),
                    other => other.to_string(),
                };
                Ok(vec![("journal_mode", journal), ("synchronous", sync)])
            }
            Self::Postgres(p) => {
                let mut out = Vec::new();
                for name in ["synchronous_commit", "fsync", "wal_sync_method"] {
                    let (value,): (String,) = sqlx::query_as("SELECT current_setting($1)")
                        .bind(name)
                        .fetch_one(p)
                        .await?;
                    out.push((name, value));
                }
                Ok(out)
            }
        }
    }

    /// Makes a database of its own on this PostgreSQL server, for one benchmark run; returns its
    /// name, for [`Db::drop_scratch_database`].
    pub async fn create_scratch_database(&self) -> Result<String> {
        let Self::Postgres(p) = self else {
            return Err(StoreError::Conflict(
                "a scratch database is made on PostgreSQL".into(),
            ));
        };
        let name = format!("{SCRATCH_PREFIX}{}", uuid::Uuid::new_v4().simple());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(p)
            .await?;
        Ok(name)
    }

    /// Drops a database [`Db::create_scratch_database`] made, whoever is still connected to it.
    pub async fn drop_scratch_database(&self, name: &str) -> Result<()> {
        let Self::Postgres(p) = self else {
            return Err(StoreError::Conflict(
                "a scratch database is made on PostgreSQL".into(),
            ));
        };
        // The name goes into the statement as it is: only one this module made.
        let scratch = name
            .strip_prefix(SCRATCH_PREFIX)
            .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()));
        if !scratch {
            return Err(StoreError::Conflict(format!("{name} is not a scratch database")));
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(p)
        .await?;
        Ok(())
    }
}
