//! The writes that begin and end claimed deliveries' attempts, grouped: those that arrive while a
//! batch is being written go together in the next one, in one transaction (one commit instead of
//! one each), each still fenced by its own claim. Every caller returns only once its own write is
//! committed (an attempt's start is durable before its platform call), refused (its claim was
//! lost) or failed; a batch the database refuses is written again one write at a time, so one
//! write it refuses never fails the others.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

use herald_domain::delivery::DeliveryStatus;
use tokio::sync::oneshot;

use crate::deliveries::{Claimed, Transition};
use crate::tuples::{PER_VALUE, runs, tuples};
use crate::{Result, Store, StoreError, on_db};

/// The most writes one transaction holds.
const MAX_BATCH: usize = 64;

/// A [`Transition`] as queued: owned, since its writer runs apart from the caller.
struct Owned {
    due_at: Option<i64>,
    handle: Option<String>,
    platform_post_id: Option<String>,
    permalink: Option<String>,
    error_code: Option<String>,
    error_message: Option<String>,
    candidates: Option<String>,
    may_be_live: bool,
    failure: bool,
    check: bool,
    count_published: bool,
    outcome: String,
}

impl Owned {
    fn of(t: &Transition<'_>) -> Self {
        let own = |s: Option<&str>| s.map(str::to_owned);
        Self {
            due_at: t.due_at,
            handle: own(t.handle),
            platform_post_id: own(t.platform_post_id),
            permalink: own(t.permalink),
            error_code: own(t.error_code),
            error_message: own(t.error_message),
            candidates: own(t.candidates),
            may_be_live: t.may_be_live,
            failure: t.failure,
            check: t.check,
            count_published: t.count_published,
            outcome: t.outcome.to_owned(),
        }
    }
}

/// One delivery's write, waiting for the writer.
struct Write {
    claim: Claimed,
    what: What,
}

enum What {
    /// An attempt begins ([`Store::begin_attempt`]).
    Begin {
        handle: String,
        may_be_live: bool,
        lease_until: Option<i64>,
        detail: String,
    },
    /// The claim ends in `to` ([`Store::transition`]).
    Outcome { to: DeliveryStatus, t: Owned },
}

type Waiting = (Write, oneshot::Sender<Result<()>>);

/// The writes waiting for the writer: `Some` exactly while a writer task works.
#[derive(Default, Clone)]
pub(crate) struct WriteQueue(Arc<Mutex<Option<Vec<Waiting>>>>);

impl WriteQueue {
    fn locked(&self) -> std::sync::MutexGuard<'_, Option<Vec<Waiting>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Store {
    /// Records, before the platform is called, that an attempt starts, and saves the handle it will
    /// use; `may_be_live` and `lease_until` as for [`Store::save_handle`], when the handle's first
    /// call is the one that makes the post visible. Written with the other deliveries' attempt
    /// starts and outcomes that arrive meanwhile; returns once this one is committed.
    pub async fn begin_attempt(
        &self,
        c: &Claimed,
        handle: &str,
        may_be_live: bool,
        lease_until: Option<i64>,
        detail: &str,
    ) -> Result<()> {
        let what = What::Begin {
            handle: handle.to_owned(),
            may_be_live,
            lease_until,
            detail: detail.to_owned(),
        };
        self.written(c, what).await?;
        if let Some(until) = lease_until {
            c.lease_until.fetch_max(until, Ordering::SeqCst);
        }
        Ok(())
    }

    /// Moves a claimed delivery to `to`, releasing the lease; changes nothing if the fence moved
    /// on ([`StoreError::LeaseLost`]). Written with the other deliveries' attempt starts and
    /// outcomes that arrive meanwhile, in one transaction; returns once this one is committed.
    pub async fn transition(&self, c: &Claimed, to: DeliveryStatus, t: Transition<'_>) -> Result<()> {
        self.written(c, What::Outcome { to, t: Owned::of(&t) }).await
    }

    /// Queues a write for the writer (starting one if none works) and waits for its result.
    async fn written(&self, c: &Claimed, what: What) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        let write = Write {
            claim: c.clone(),
            what,
        };
        let start_writer = {
            let mut queue = self.write_queue.locked();
            match queue.as_mut() {
                Some(waiting) => {
                    waiting.push((write, tx));
                    false
                }
                None => {
                    *queue = Some(vec![(write, tx)]);
                    true
                }
            }
        };
        if start_writer {
            // Made before the task: should the task never run (its runtime shutting down), the
            // guard it drops still frees the queue for the next writer.
            let guard = Writing {
                queue: self.write_queue.clone(),
                done: false,
            };
            tokio::spawn(self.clone().write_queued(guard));
        }
        // The writer answers every write it takes; it drops the answer only if it panicked.
        rx.await
            .unwrap_or(Err(StoreError::Database(sqlx::Error::WorkerCrashed)))
    }

    /// Writes the queued writes, batch after batch, until none is left.
    async fn write_queued(self, mut guard: Writing) {
        loop {
            let batch: Vec<Waiting> = {
                let mut queue = self.write_queue.locked();
                let waiting = queue.as_mut().expect("the writer's queue is there");
                if waiting.is_empty() {
                    *queue = None;
                    break;
                }
                // One write per delivery in a batch (a delivery's takeover by this same process
                // can queue two): a second waits for the next batch, in its place.
                let mut ids = HashSet::new();
                let (batch, later): (Vec<Waiting>, Vec<Waiting>) = waiting
                    .drain(..)
                    .partition(|(w, _)| ids.len() < MAX_BATCH && ids.insert(w.claim.id));
                *waiting = later;
                batch
            };
            let (writes, callers): (Vec<Write>, Vec<_>) = batch.into_iter().unzip();
            match self.write_batch(&writes).await {
                Ok(results) => answer(callers, results),
                // A statement the database refused (a constraint, a deadlock's victim) fails the
                // whole transaction: each again on its own, so one never fails the others, each
                // caller told as soon as its own is written. Any other failure (the connection,
                // the pool, SQLite busy past its timeout) is every write's: told at once, never
                // waited out again one by one.
                Err(StoreError::Database(sqlx::Error::Database(e)))
                    if writes.len() > 1 && refused(e.as_ref()) =>
                {
                    tracing::warn!(error = %e, writes = writes.len(), "a batch of writes failed; writing each on its own");
                    for (w, caller) in writes.iter().zip(callers) {
                        let result = self
                            .write_batch(std::slice::from_ref(w))
                            .await
                            .and_then(|mut r| r.remove(0));
                        answer(vec![caller], vec![result]);
                    }
                }
                Err(e) if writes.len() == 1 => answer(callers, vec![Err(e)]),
                Err(e) => {
                    tracing::warn!(error = %e, writes = writes.len(), "a batch of writes could not be written");
                    let why = e.to_string();
                    let results = (0..writes.len())
                        .map(|_| Err(StoreError::Database(sqlx::Error::Protocol(why.clone()))))
                        .collect();
                    answer(callers, results);
                }
            }
        }
        guard.done = true;
    }

    /// Writes `writes` in one transaction of a few set-based statements, whatever their number:
    /// the attempts begun, the outcomes (each row fenced by its own claim), the history events
    /// of those written, and the publications' quota counts (each a multi-row statement, cut
    /// where its rows grow large). `Ok` holds each one's result
    /// (`LeaseLost` for a claim that was lost, which changes nothing); `Err` when the transaction
    /// failed as a whole. No two writes are for the same delivery (see [`Store::write_queued`]),
    /// and two processes' batches never hold the same delivery (a row matches only its current
    /// claim's fence), so the deliveries' rows are taken in whatever order the statements go; a
    /// deadlock all the same is refused and written one write at a time.
    async fn write_batch(&self, writes: &[Write]) -> Result<Vec<Result<()>>> {
        let now = self.now();
        let mut begins = Vec::new();
        let mut ends = Vec::new();
        for w in writes {
            match &w.what {
                What::Begin {
                    handle,
                    may_be_live,
                    lease_until,
                    ..
                } => begins.push((&w.claim, handle, *may_be_live, *lease_until)),
                What::Outcome { to, t } => ends.push((&w.claim, *to, t)),
            }
        }
        // Publications per profile (and its workspace), in the profiles' order.
        let mut counted: BTreeMap<(String, String), i64> = BTreeMap::new();
        // The deliveries written, with their attempt's number as written.
        let mut written: HashMap<String, i64> = HashMap::with_capacity(writes.len());
        // Each statement's rows kept small enough for one write to the socket (see `tuples.rs`).
        let len = |s: &Option<String>| s.as_deref().map_or(0, str::len);
        let claim_bytes = |c: &Claimed| c.owner.len() + 3 * PER_VALUE + 32;
        let begin_runs = runs(&begins, |(c, handle, ..)| {
            claim_bytes(c) + handle.len() + 3 * PER_VALUE
        });
        let end_runs = runs(&ends, |(c, _, t)| {
            claim_bytes(c)
                + [
                    &t.handle,
                    &t.platform_post_id,
                    &t.permalink,
                    &t.error_code,
                    &t.error_message,
                    &t.candidates,
                ]
                .into_iter()
                .map(len)
                .sum::<usize>()
                + 11 * PER_VALUE
                + 16
        });
        // The rows of the profiles whose quota counts change are taken in the profiles' order
        // first, on PostgreSQL (its `UPDATE … FROM` takes them in its plan's order; SQLite has one
        // writer at a time): two processes' batches never wait for each other in a cycle.
        let backend = self.db().backend();
        let lock_counted = backend == crate::Backend::Postgres;
        // The rows each statement is written with (see `tuples::padded`).
        let pad_to = |rows: usize| crate::tuples::padded(rows, backend);
        on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            for run in &begin_runs {
                let sql = begin_sql(pad_to(run.len()));
                let mut q = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(sql)).bind(now);
                for (c, handle, live, lease) in *run {
                    q = q.bind(c.id.to_string()).bind(c.fence).bind(&c.owner).bind(*handle).bind(i64::from(*live)).bind(*lease);
                }
                for _ in run.len()..pad_to(run.len()) {
                    q = q.bind(NO_TEXT).bind(NO_NUMBER).bind(NO_TEXT).bind(NO_TEXT).bind(NO_NUMBER).bind(NO_NUMBER);
                }
                written.extend(q.fetch_all(&mut *tx).await?);
            }
            for run in &end_runs {
                let sql = end_sql(pad_to(run.len()));
                let mut q = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(sql)).bind(now);
                for (c, to, t) in *run {
                    q = q.bind(c.id.to_string()).bind(c.fence).bind(&c.owner).bind(to.as_str()).bind(t.due_at)
                        .bind(&t.handle).bind(&t.platform_post_id).bind(&t.permalink).bind(&t.error_code)
                        .bind(&t.error_message).bind(&t.candidates).bind(i64::from(t.may_be_live))
                        .bind(i64::from(t.failure)).bind(i64::from(t.check));
                }
                for _ in run.len()..pad_to(run.len()) {
                    q = q.bind(NO_TEXT).bind(NO_NUMBER).bind(NO_TEXT).bind(NO_TEXT).bind(NO_NUMBER)
                        .bind(NO_TEXT).bind(NO_TEXT).bind(NO_TEXT).bind(NO_TEXT)
                        .bind(NO_TEXT).bind(NO_TEXT).bind(NO_NUMBER)
                        .bind(NO_NUMBER).bind(NO_NUMBER);
                }
                written.extend(q.fetch_all(&mut *tx).await?);
            }
            for (c, _, t) in &ends {
                if t.count_published && written.contains_key(&c.id.to_string()) {
                    *counted.entry((c.profile.to_string(), c.workspace.to_string())).or_default() += 1;
                }
            }
            let events: Vec<(&Write, i64)> = writes
                .iter()
                .filter_map(|w| written.get(&w.claim.id.to_string()).map(|n| (w, *n)))
                .collect();
            let event_runs = runs(&events, |(w, _)| {
                let detail = match &w.what {
                    What::Begin { detail, .. } => detail.len(),
                    What::Outcome { t, .. } => len(&t.platform_post_id).max(len(&t.error_message)),
                };
                claim_bytes(&w.claim) + detail + 6 * PER_VALUE + 48
            });
            for run in &event_runs {
                let sql = format!(
                    "WITH v(v_ws, v_id, v_at, v_from, v_to, v_attempt, v_fence, v_outcome, v_detail) AS (VALUES {})
                     INSERT INTO delivery_events (workspace_id, delivery_id, at, from_status, to_status, attempt, fence, outcome, detail)
                     SELECT v_ws, v_id, v_at, v_from, v_to, v_attempt, v_fence, v_outcome, v_detail FROM v WHERE v_id IS NOT NULL",
                    tuples(pad_to(run.len()), 9, 1)
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (Write { claim: c, what }, attempt) in *run {
                    let (to, outcome, detail) = match what {
                        What::Begin { detail, .. } => (DeliveryStatus::Publishing, "attempt_started", Some(detail.as_str())),
                        What::Outcome { to, t } => (*to, t.outcome.as_str(), t.platform_post_id.as_deref().or(t.error_message.as_deref())),
                    };
                    q = q.bind(c.workspace.to_string()).bind(c.id.to_string()).bind(now).bind("publishing")
                        .bind(to.as_str()).bind(*attempt).bind(c.fence).bind(outcome).bind(detail);
                }
                for _ in run.len()..pad_to(run.len()) {
                    q = q.bind(NO_TEXT).bind(NO_TEXT).bind(NO_NUMBER).bind(NO_TEXT).bind(NO_TEXT)
                        .bind(NO_NUMBER).bind(NO_NUMBER).bind(NO_TEXT).bind(NO_TEXT);
                }
                q.execute(&mut *tx).await?;
            }
            // At most a batch's 64 profiles, each row about 130 bytes as `runs` counts: one run.
            if !counted.is_empty() {
                let v = format!("WITH v(v_profile, v_workspace, v_count) AS (VALUES {})", tuples(pad_to(counted.len()), 3, 1));
                let pad = counted.len()..pad_to(counted.len());
                let counts = counted
                    .iter()
                    .map(|((profile, workspace), n)| (Some(profile), Some(workspace), Some(*n)))
                    .chain(pad.map(|_| (None, None, None)));
                if lock_counted {
                    let sql = format!(
                        "{v} SELECT 1 FROM profile_facts f JOIN v ON f.profile_id = v.v_profile AND f.workspace_id = v.v_workspace
                         ORDER BY f.profile_id, f.workspace_id FOR UPDATE OF f"
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for (profile, workspace, n) in counts.clone() {
                        q = q.bind(profile).bind(workspace).bind(n);
                    }
                    q.fetch_all(&mut *tx).await?;
                }
                let sql = format!(
                    "{v} UPDATE profile_facts SET quota_used = profile_facts.quota_used + v.v_count FROM v
                     WHERE profile_facts.profile_id = v.v_profile AND profile_facts.workspace_id = v.v_workspace"
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (profile, workspace, n) in counts {
                    q = q.bind(profile).bind(workspace).bind(n);
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(writes
            .iter()
            .map(|w| match written.contains_key(&w.claim.id.to_string()) {
                true => Ok(()),
                false => Err(StoreError::LeaseLost),
            })
            .collect())
    }
}

/// What a padding row binds (see [`crate::tuples::padded`]): a text column's NULL, and a number
/// column's.
const NO_TEXT: Option<&str> = None;
const NO_NUMBER: Option<i64> = None;

/// The fence every write of a batch meets, on its own row `v`: its claim still holds the
/// delivery (`$1` is now).
const HELD: &str =
    "deliveries.id = v.v_id AND deliveries.fence = v.v_fence AND deliveries.lease_owner = v.v_owner
   AND deliveries.lease_until > $1 AND deliveries.status = 'publishing'";

/// `rows` attempts beginning: each row the claim (id, fence, owner), the handle, whether its
/// first call may make the post visible and that call's lease; returns each delivery written
/// with its attempt's number.
fn begin_sql(rows: usize) -> String {
    format!(
        "WITH v(v_id, v_fence, v_owner, v_handle, v_live, v_lease) AS (VALUES {})
         UPDATE deliveries SET attempts = deliveries.attempts + 1, handle = v.v_handle, may_be_live = v.v_live, checks = 0,
           updated_at = $1,
           lease_until = CASE WHEN v.v_lease > deliveries.lease_until THEN v.v_lease ELSE deliveries.lease_until END
         FROM v WHERE {HELD}
         RETURNING deliveries.id, deliveries.attempts",
        tuples(rows, 6, 2)
    )
}

/// `rows` claims ending: each row the claim (id, fence, owner), the status it ends in and what
/// of [`Owned`] the delivery's row takes, in the order [`Store::write_batch`] binds them; returns each delivery written with its
/// attempt's number.
fn end_sql(rows: usize) -> String {
    format!(
        "WITH v(v_id, v_fence, v_owner, v_status, v_due, v_handle, v_post, v_link, v_code, v_message, v_candidates,
                v_live, v_failure, v_check) AS (VALUES {})
         UPDATE deliveries SET status = v.v_status, due_at = COALESCE(v.v_due, deliveries.due_at),
           handle = COALESCE(v.v_handle, deliveries.handle),
           platform_post_id = COALESCE(v.v_post, deliveries.platform_post_id),
           permalink = COALESCE(v.v_link, deliveries.permalink),
           error_code = v.v_code, error_message = v.v_message, candidates = v.v_candidates,
           lease_owner = NULL, lease_until = NULL, updated_at = $1,
           may_be_live = CASE WHEN v.v_handle IS NULL THEN deliveries.may_be_live ELSE v.v_live END,
           failures = deliveries.failures + v.v_failure, checks = deliveries.checks + v.v_check
         FROM v WHERE {HELD}
         RETURNING deliveries.id, deliveries.attempts",
        tuples(rows, 14, 2)
    )
}

/// Tells each caller its write's result (a caller that stopped waiting needs no answer).
fn answer(callers: Vec<oneshot::Sender<Result<()>>>, results: Vec<Result<()>>) {
    for (caller, result) in callers.into_iter().zip(results) {
        let _ = caller.send(result);
    }
}

/// Whether the database refused one statement of a batch (so the others may go through alone):
/// a constraint, or PostgreSQL's deadlock victim (`40P01`); not a lock it waited for in vain.
fn refused(e: &dyn sqlx::error::DatabaseError) -> bool {
    e.kind() != sqlx::error::ErrorKind::Other || e.code().as_deref() == Some("40P01")
}

/// The writer at work: dropped without `done` (a panic), it empties the queue, so each waiting
/// caller hears the writer stopped, and the next write starts a new writer.
struct Writing {
    queue: WriteQueue,
    done: bool,
}

impl Drop for Writing {
    fn drop(&mut self) {
        if !self.done {
            *self.queue.locked() = None;
        }
    }
}
