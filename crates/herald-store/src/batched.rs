//! The writes that begin and end claimed deliveries' attempts, grouped: those that arrive while a
//! batch is being written go together in the next one, in one transaction (one commit instead of
//! one each), each still fenced by its own claim. Every caller returns only once its own write is
//! committed (an attempt's start is durable before its platform call), refused (its claim was
//! lost) or failed; a batch the database refuses is written again one write at a time, so one
//! write it refuses never fails the others.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

use herald_domain::delivery::DeliveryStatus;
use tokio::sync::oneshot;

use crate::deliveries::{Claimed, Transition, held};
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
                let n = waiting.len().min(MAX_BATCH);
                waiting.drain(..n).collect()
            };
            // In the deliveries' order: two batches (or a batch and another statement) that lock
            // some of the same rows take them in the same order.
            let mut batch = batch;
            batch.sort_by_key(|(w, _)| w.claim.id.to_string());
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

    /// Writes `writes` in one transaction: each delivery's fenced update and its history event
    /// and, for a publication, the quota count. `Ok` holds each one's result (`LeaseLost` for a
    /// claim that was lost, which changes nothing); `Err` when the transaction failed as a whole.
    async fn write_batch(&self, writes: &[Write]) -> Result<Vec<Result<()>>> {
        let now = self.now();
        let begin = format!(
            "UPDATE deliveries SET attempts = attempts + 1, handle = $1, may_be_live = $6, checks = 0, updated_at = $2,
               lease_until = CASE WHEN $7 > lease_until THEN $7 ELSE lease_until END
             WHERE id = $3 AND {}",
            held(4, 5, 2)
        );
        let end = format!(
            "UPDATE deliveries SET status = $1, due_at = COALESCE($2, due_at), handle = COALESCE($3, handle),
               platform_post_id = COALESCE($4, platform_post_id), permalink = COALESCE($5, permalink),
               error_code = $6, error_message = $7, candidates = $11, lease_owner = NULL, lease_until = NULL, updated_at = $8,
               may_be_live = CASE WHEN $3 IS NULL THEN may_be_live ELSE $13 END,
               failures = failures + $14, checks = checks + $15
             WHERE id = $9 AND {}",
            held(10, 12, 8)
        );
        let event = "INSERT INTO delivery_events (workspace_id, delivery_id, at, from_status, to_status, attempt, fence, outcome, detail) SELECT $1, $2, $3, 'publishing', $4, attempts, $5, $6, $7 FROM deliveries WHERE id = $2";
        let mut results = Vec::with_capacity(writes.len());
        // The quota counts go last, in the profiles' order: two processes' batches then take the
        // rows of the profiles they share in the same order, and never wait for each other in a cycle.
        let mut counted = Vec::new();
        on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            for Write { claim: c, what } in writes {
                let (n, to, outcome, detail) = match what {
                    What::Begin { handle, may_be_live, lease_until, detail } => {
                        let n = sqlx::query(sqlx::AssertSqlSafe(begin.as_str()))
                            .bind(handle).bind(now).bind(c.id.to_string()).bind(c.fence).bind(&c.owner)
                            .bind(i64::from(*may_be_live)).bind(lease_until)
                            .execute(&mut *tx).await?.rows_affected();
                        (n, DeliveryStatus::Publishing, "attempt_started", Some(detail.as_str()))
                    }
                    What::Outcome { to, t } => {
                        let n = sqlx::query(sqlx::AssertSqlSafe(end.as_str()))
                            .bind(to.as_str()).bind(t.due_at).bind(&t.handle).bind(&t.platform_post_id).bind(&t.permalink)
                            .bind(&t.error_code).bind(&t.error_message).bind(now).bind(c.id.to_string()).bind(c.fence).bind(&t.candidates)
                            .bind(&c.owner).bind(i64::from(t.may_be_live)).bind(i64::from(t.failure)).bind(i64::from(t.check))
                            .execute(&mut *tx).await?.rows_affected();
                        if n > 0 && t.count_published {
                            counted.push((c.profile.to_string(), c.workspace.to_string()));
                        }
                        (n, *to, t.outcome.as_str(), t.platform_post_id.as_deref().or(t.error_message.as_deref()))
                    }
                };
                if n == 0 {
                    results.push(Err(StoreError::LeaseLost));
                    continue;
                }
                sqlx::query(event)
                    .bind(c.workspace.to_string()).bind(c.id.to_string()).bind(now).bind(to.as_str())
                    .bind(c.fence).bind(outcome).bind(detail)
                    .execute(&mut *tx).await?;
                results.push(Ok(()));
            }
            counted.sort();
            for (profile, workspace) in &counted {
                sqlx::query(crate::profiles::COUNT_PUBLISHED)
                    .bind(workspace).bind(profile)
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(results)
    }
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
