//! The delivery queue: claims under a lease with a fencing counter, and fenced transitions.
//!
//! Every write after a claim names the fence it claimed with; a worker whose lease lapsed and was
//! claimed again changes nothing and is told [`StoreError::LeaseLost`].

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use herald_domain::{DeliveryId, PostId, ProfileId, WorkspaceId};

use crate::{Result, Store, StoreError, on_db, parse_id};

/// Deliveries that may be cancelled: not in a worker's hands, and with nothing that can be on the
/// platform yet (a container waiting to be published is invisible).
pub(crate) const CANCELLABLE: &str = "(status IN ('pending_approval', 'scheduled', 'needs_reconnect', 'missed') OR (status IN ('retry_wait', 'processing') AND may_be_live = 0))";

/// Cancels the workspace's cancellable deliveries where `column = value`, with an event each.
macro_rules! cancel_pending {
    ($tx:expr, $ws:expr, $column:literal, $value:expr, $now:expr, $detail:expr) => {{
        let filter = format!("workspace_id = $1 AND {} = $2 AND {}", $column, $crate::deliveries::CANCELLABLE);
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO delivery_events (workspace_id, delivery_id, at, from_status, to_status, attempt, fence, outcome, detail)
             SELECT workspace_id, id, $3, status, 'cancelled', attempts, fence, 'cancelled', $4 FROM deliveries WHERE {filter}"
        )))
        .bind($ws.to_string()).bind($value).bind($now).bind($detail).execute(&mut *$tx).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE deliveries SET status = 'cancelled', fence = fence + 1, lease_owner = NULL, lease_until = NULL, updated_at = $3 WHERE {filter}"
        )))
        .bind($ws.to_string()).bind($value).bind($now).execute(&mut *$tx).await?.rows_affected()
    }};
}
pub(crate) use cancel_pending;

/// A delivery claimed by a worker.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: DeliveryId,
    pub workspace: WorkspaceId,
    pub post: PostId,
    pub profile: ProfileId,
    pub fence: i64,
    pub attempts: i64,
    pub handle: Option<String>,
    /// Transient failures so far (retries back off with them, and end at the policy's maximum).
    pub failures: i64,
    /// Processing re-checks so far (each waits longer, up to a minute).
    pub checks: i64,
    /// When the person asked to publish now, the instant the catch-up window counts from.
    pub window_from: Option<i64>,
    /// The saved handle says the call that makes the post visible may have been made.
    pub may_be_live: bool,
    /// The worker holding the lease: every write names it, with the fence.
    pub owner: String,
    /// When this process claimed it (publishing's latency counts from here).
    pub claimed_at: std::time::Instant,
    /// The claim took it over from a worker whose lease had lapsed.
    pub taken_over: bool,
    /// The workspace's catch-up window in minutes as the claim found it (read with the claim, so
    /// the attempt needs no query of its own); `None` when the workspace is gone.
    pub catch_up_minutes: Option<i64>,
    /// When the lease ends as this worker last set it (the claim, then each extension).
    pub lease_until: Arc<AtomicI64>,
}

impl Claimed {
    /// When the lease ends as this worker last set it.
    pub fn lease_ends(&self) -> i64 {
        self.lease_until.load(Ordering::SeqCst)
    }
}

/// The state a fenced write moves a delivery to.
#[derive(Debug, Clone, Default)]
pub struct Transition<'a> {
    pub due_at: Option<i64>,
    pub handle: Option<&'a str>,
    pub platform_post_id: Option<&'a str>,
    pub permalink: Option<&'a str>,
    pub error_code: Option<&'a str>,
    pub error_message: Option<&'a str>,
    /// The posts that may be this delivery's (JSON), when it cannot tell which.
    pub candidates: Option<&'a str>,
    /// With `handle`: whether the call that makes the post visible may have been made.
    pub may_be_live: bool,
    /// Counts a transient failure.
    pub failure: bool,
    /// Counts a processing re-check.
    pub check: bool,
    /// Counts the publication against the profile's cached quota, in the same transaction.
    pub count_published: bool,
    /// What happened, for the delivery's history.
    pub outcome: &'a str,
}

#[derive(Debug, Clone)]
pub struct DeliveryEventRow {
    pub delivery: DeliveryId,
    pub at: i64,
    pub from_status: Option<String>,
    pub to_status: String,
    pub attempt: i64,
    pub outcome: String,
    pub detail: Option<String>,
}

type ClaimTuple = (
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<String>,
    i64,
    i64,
    Option<i64>,
    i64,
    i64,
    Option<i64>,
);
/// A `delivery_events` row as read: delivery, at, from, to, attempt, outcome, detail.
pub(crate) type EventTuple = (String, i64, Option<String>, String, i64, String, Option<String>);

/// The history events of rows read as [`EventTuple`]s.
pub(crate) fn events_of(rows: Vec<EventTuple>) -> Result<Vec<DeliveryEventRow>> {
    rows.into_iter()
        .map(|(d, at, from_status, to_status, attempt, outcome, detail)| {
            Ok(DeliveryEventRow {
                delivery: parse_id(&d)?,
                at,
                from_status,
                to_status,
                attempt,
                outcome,
                detail,
            })
        })
        .collect()
}

/// The condition of every write under a claim: the fence and the owner unchanged and the lease not
/// lapsed (the numbers are the statement's parameters holding the fence, the owner and now).
pub(crate) fn held(fence: u8, owner: u8, now: u8) -> String {
    format!("fence = ${fence} AND lease_owner = ${owner} AND lease_until > ${now} AND status = 'publishing'")
}

/// The statuses of deliveries that wait for their `due_at`: written exactly as in the partial index
/// `deliveries_waiting` (migration 0031), which a query uses only when its condition says the same.
const WAITING: &str = "status IN ('scheduled', 'retry_wait', 'processing')";

/// What a claim takes at the instant held by parameter `$now`: due deliveries, and ones whose
/// lease lapsed.
pub(crate) fn claimable(now: u8) -> String {
    format!("(({WAITING} AND due_at <= ${now}) OR (status = 'publishing' AND lease_until < ${now}))")
}

impl Store {
    /// Claims up to `limit` due deliveries (and ones whose lease lapsed) for `owner` until `lease_until`.
    pub async fn claim_due(&self, owner: &str, lease_until: i64, limit: i64) -> Result<Vec<Claimed>> {
        self.claim_due_except(owner, lease_until, limit, &[]).await
    }

    /// As [`Store::claim_due`], leaving the deliveries of the profiles in `busy` (the accounts a
    /// worker already works as much as it may) to later claims or other workers.
    pub async fn claim_due_except(
        &self,
        owner: &str,
        lease_until: i64,
        limit: i64,
        busy: &[ProfileId],
    ) -> Result<Vec<Claimed>> {
        let now = self.now();
        let lock = match self.db().backend() {
            crate::Backend::Sqlite => "",
            crate::Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let except = if busy.is_empty() {
            String::new()
        } else {
            // On PostgreSQL as many as the next power of two, the first repeated (see `tuples::padded`).
            let params: Vec<String> = (0..crate::tuples::padded(busy.len(), self.db().backend()))
                .map(|i| format!("${}", i + 5))
                .collect();
            format!(" AND profile_id NOT IN ({})", params.join(", "))
        };
        // The due ones in `due_at` order straight from the partial index, and the lapsed leases
        // (as few as deliveries in flight) apart, both in `due_at` order, so a delivery handed back
        // or taken over keeps its place: one condition joining both with OR would sort every due
        // delivery at each claim (52 ms a claim with 100,000 due, against 0.1 ms).
        // SET reads the row as it was: a claim of a delivery still `publishing` is a takeover.
        let sql = format!(
            "UPDATE deliveries SET status = 'publishing', lease_owner = $1, lease_until = $2, fence = fence + 1, updated_at = $3,
               taken_over = CASE WHEN status = 'publishing' THEN 1 ELSE 0 END
             WHERE id IN (SELECT id FROM (
                 SELECT id, t FROM (SELECT id, due_at AS t FROM deliveries WHERE {WAITING} AND due_at <= $3{except}
                   ORDER BY due_at LIMIT $4{lock}) AS due
                 UNION ALL
                 SELECT id, t FROM (SELECT id, due_at AS t FROM deliveries WHERE status = 'publishing' AND lease_until < $3{except}
                   ORDER BY due_at LIMIT $4{lock}) AS lapsed
               ) AS claimable ORDER BY t LIMIT $4)
             RETURNING id, workspace_id, post_id, profile_id, fence, attempts, handle, failures, checks, window_from, may_be_live, taken_over,
               (SELECT catch_up_minutes FROM workspaces w WHERE w.id = deliveries.workspace_id)"
        );
        let claimed_at = std::time::Instant::now();
        let mut busy: Vec<String> = busy.iter().map(ToString::to_string).collect();
        if let Some(first) = busy.first().cloned() {
            busy.resize(crate::tuples::padded(busy.len(), self.db().backend()), first);
        }
        let rows: Vec<ClaimTuple> = on_db!(self.db(), pool => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(owner).bind(lease_until).bind(now).bind(limit);
            for p in &busy {
                q = q.bind(p);
            }
            q.fetch_all(pool).await?
        });
        rows.into_iter()
            .map(
                |(
                    id,
                    ws,
                    post,
                    profile,
                    fence,
                    attempts,
                    handle,
                    failures,
                    checks,
                    window_from,
                    live,
                    took,
                    catch_up_minutes,
                )| {
                    Ok(Claimed {
                        id: parse_id(&id)?,
                        workspace: parse_id(&ws)?,
                        post: parse_id(&post)?,
                        profile: parse_id(&profile)?,
                        fence,
                        attempts,
                        handle,
                        failures,
                        checks,
                        window_from,
                        may_be_live: live != 0,
                        owner: owner.to_owned(),
                        claimed_at,
                        taken_over: took != 0,
                        catch_up_minutes,
                        lease_until: Arc::new(AtomicI64::new(lease_until)),
                    })
                },
            )
            .collect()
    }

    /// When the next delivery falls due (or a lease lapses), if any.
    pub async fn next_due_at(&self) -> Result<Option<i64>> {
        let row: (Option<i64>,) = on_db!(self.db(), pool => sqlx::query_as(
            sqlx::AssertSqlSafe(format!("SELECT MIN(t) FROM (SELECT MIN(due_at) AS t FROM deliveries WHERE {WAITING}
             UNION ALL SELECT MIN(lease_until) AS t FROM deliveries WHERE status = 'publishing') AS x")))
            .fetch_one(pool).await?);
        Ok(row.0)
    }

    /// The platform ids recorded for the profile's deliveries other than `except`: posts that are
    /// never another delivery's.
    pub async fn platform_ids_of_profile(
        &self,
        ws: WorkspaceId,
        profile: ProfileId,
        except: DeliveryId,
    ) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT platform_post_id FROM deliveries WHERE workspace_id = $1 AND profile_id = $2 AND id <> $3 AND platform_post_id IS NOT NULL")
            .bind(ws.to_string()).bind(profile.to_string()).bind(except.to_string()).fetch_all(pool).await?);
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Saves the handle while keeping the claim (a container id as soon as it exists); `may_be_live`:
    /// the call that makes the post visible may be made from here on. `lease_until`, when given,
    /// extends the lease in the same write (as [`Store::extend_lease`]: for the next call's budget).
    pub async fn save_handle(
        &self,
        c: &Claimed,
        handle: &str,
        may_be_live: bool,
        lease_until: Option<i64>,
    ) -> Result<()> {
        let sql = format!(
            "UPDATE deliveries SET handle = $1, may_be_live = $6, updated_at = $2,
               lease_until = CASE WHEN $7 > lease_until THEN $7 ELSE lease_until END
             WHERE id = $3 AND {}",
            held(4, 5, 2)
        );
        let n = on_db!(self.db(), pool => sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(handle).bind(self.now()).bind(c.id.to_string()).bind(c.fence).bind(&c.owner).bind(i64::from(may_be_live))
            .bind(lease_until)
            .execute(pool).await?.rows_affected());
        if n == 0 {
            return Err(StoreError::LeaseLost);
        }
        if let Some(until) = lease_until {
            c.lease_until.fetch_max(until, Ordering::SeqCst);
        }
        Ok(())
    }

    /// Keeps the claim until at least `until` (a lease never shortens); [`StoreError::LeaseLost`]
    /// when the claim is no longer held, so the worker stops before calling the platform again.
    pub async fn extend_lease(&self, c: &Claimed, until: i64) -> Result<()> {
        let sql = format!(
            "UPDATE deliveries SET lease_until = CASE WHEN lease_until > $1 THEN lease_until ELSE $1 END
             WHERE id = $2 AND {}",
            held(3, 4, 5)
        );
        let n = on_db!(self.db(), pool => sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(until).bind(c.id.to_string()).bind(c.fence).bind(&c.owner).bind(self.now()).execute(pool).await?.rows_affected());
        if n == 0 {
            Err(StoreError::LeaseLost)
        } else {
            c.lease_until.fetch_max(until, Ordering::SeqCst);
            Ok(())
        }
    }

    /// Makes in-flight deliveries claimable now. Only for the one process that dispatches from a
    /// database (SQLite): the claims it finds are its own previous life's. One whose visible call
    /// may still be running at the platform keeps its lease (that call's budget), so the search for
    /// an earlier attempt's post starts only once the cut-off call can no longer be performed.
    pub async fn resume_in_flight(&self) -> Result<u64> {
        let now = self.now();
        let n = on_db!(self.db(), pool => sqlx::query(
            "UPDATE deliveries SET lease_until = $1 WHERE status = 'publishing' AND lease_until > $1 AND may_be_live = 0")
            .bind(now - 1).execute(pool).await?.rows_affected());
        Ok(n)
    }

    /// Hands a claimed delivery back between two steps (its worker is stopping): the lease ends
    /// now, so any dispatcher takes it over at once and goes on from the saved handle. Only for a
    /// worker with no platform call in flight. `LeaseLost` if the claim was lost meanwhile.
    pub async fn release(&self, c: &Claimed) -> Result<()> {
        let now = self.now();
        let sql = format!(
            "UPDATE deliveries SET lease_until = $1 WHERE id = $2 AND {}",
            held(3, 4, 5)
        );
        let n = on_db!(self.db(), pool => sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(now - 1).bind(c.id.to_string()).bind(c.fence).bind(&c.owner).bind(now)
            .execute(pool).await?.rows_affected());
        if n == 0 {
            return Err(StoreError::LeaseLost);
        }
        // Other processes' dispatchers take it at once, not at their next poll.
        if let crate::Db::Postgres(pool) = self.db() {
            sqlx::query("SELECT pg_notify($1, '')")
                .bind(crate::due::CHANNEL)
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    /// After a reconnect: deliveries of the profile that stopped at `needs_reconnect` go back to
    /// `scheduled`; the dispatcher publishes those still inside their catch-up window and makes
    /// the others `missed`, for the person to decide.
    pub async fn requeue_after_reconnect(&self, ws: WorkspaceId, profile: ProfileId) -> Result<u64> {
        let now = self.now();
        let filter = "workspace_id = $1 AND profile_id = $2 AND status = 'needs_reconnect'";
        on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO delivery_events (workspace_id, delivery_id, at, from_status, to_status, attempt, fence, outcome, detail)
                 SELECT workspace_id, id, $3, status, 'scheduled', attempts, fence, 'reconnected', 'the profile was reconnected' FROM deliveries WHERE {filter}"
            )))
            .bind(ws.to_string()).bind(profile.to_string()).bind(now).execute(&mut *tx).await?;
            let n = sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE deliveries SET status = 'scheduled', error_code = NULL, error_message = NULL, updated_at = $3 WHERE {filter}"
            )))
            .bind(ws.to_string()).bind(profile.to_string()).bind(now).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            Ok(n)
        })
    }

    /// The history of every delivery of a post, oldest first.
    pub async fn delivery_events(&self, ws: WorkspaceId, post: PostId) -> Result<Vec<DeliveryEventRow>> {
        let rows: Vec<EventTuple> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT e.delivery_id, e.at, e.from_status, e.to_status, e.attempt, e.outcome, e.detail FROM delivery_events e
             JOIN deliveries d ON d.id = e.delivery_id WHERE e.workspace_id = $1 AND d.post_id = $2 ORDER BY e.id")
            .bind(ws.to_string()).bind(post.to_string()).fetch_all(pool).await?);
        events_of(rows)
    }
}
