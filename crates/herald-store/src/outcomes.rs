//! The outcomes of claimed deliveries, grouped: outcomes that arrive while a batch is being written
//! go together in the next one, in one transaction (one commit instead of one each), each still
//! fenced by its own claim. Every caller returns only once its own outcome is committed, refused
//! (its claim was lost) or failed; a batch that fails is written again one outcome at a time, so
//! one outcome the database refuses never fails the others.

use std::sync::{Arc, Mutex, PoisonError};

use herald_domain::delivery::DeliveryStatus;
use tokio::sync::oneshot;

use crate::deliveries::{Claimed, Transition, held};
use crate::{Result, Store, StoreError, on_db};

/// The most outcomes one transaction writes.
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

/// One delivery's outcome, waiting for the writer.
struct Outcome {
    claim: Claimed,
    to: DeliveryStatus,
    t: Owned,
}

type Waiting = (Outcome, oneshot::Sender<Result<()>>);

/// The outcomes waiting for the writer: `Some` exactly while a writer task works.
#[derive(Default, Clone)]
pub(crate) struct OutcomeQueue(Arc<Mutex<Option<Vec<Waiting>>>>);

impl OutcomeQueue {
    fn locked(&self) -> std::sync::MutexGuard<'_, Option<Vec<Waiting>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Store {
    /// Moves a claimed delivery to `to`, releasing the lease; changes nothing if the fence moved
    /// on ([`StoreError::LeaseLost`]). Written with the outcomes of other deliveries that arrive
    /// meanwhile, in one transaction; returns once this one is committed.
    pub async fn transition(&self, c: &Claimed, to: DeliveryStatus, t: Transition<'_>) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        let outcome = Outcome {
            claim: c.clone(),
            to,
            t: Owned::of(&t),
        };
        let start_writer = {
            let mut queue = self.outcome_queue.locked();
            match queue.as_mut() {
                Some(waiting) => {
                    waiting.push((outcome, tx));
                    false
                }
                None => {
                    *queue = Some(vec![(outcome, tx)]);
                    true
                }
            }
        };
        if start_writer {
            // Made before the task: should the task never run (its runtime shutting down), the
            // guard it drops still frees the queue for the next writer.
            let guard = Writing {
                queue: self.outcome_queue.clone(),
                done: false,
            };
            tokio::spawn(self.clone().write_outcomes(guard));
        }
        // The writer answers every outcome it takes; it drops the answer only if it panicked.
        rx.await
            .unwrap_or(Err(StoreError::Database(sqlx::Error::WorkerCrashed)))
    }

    /// Writes the queued outcomes, batch after batch, until none is left.
    async fn write_outcomes(self, mut guard: Writing) {
        loop {
            let batch: Vec<Waiting> = {
                let mut queue = self.outcome_queue.locked();
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
            batch.sort_by_key(|(o, _)| o.claim.id.to_string());
            let (outcomes, callers): (Vec<Outcome>, Vec<_>) = batch.into_iter().unzip();
            let results = match self.write_batch(&outcomes).await {
                Ok(results) => results,
                // A statement the database refused (a constraint, a deadlock's victim) fails the
                // whole transaction: each again on its own, so one never fails the others. Any
                // other failure (the connection, the pool, SQLite busy past its timeout) is every
                // outcome's: told at once, never waited out again one by one.
                Err(e) if outcomes.len() == 1 => vec![Err(e)],
                Err(StoreError::Database(sqlx::Error::Database(e))) if refused(e.as_ref()) => {
                    tracing::warn!(error = %e, outcomes = outcomes.len(), "a batch of outcomes failed; writing each on its own");
                    let mut results = Vec::with_capacity(outcomes.len());
                    for o in &outcomes {
                        results.push(
                            self.write_batch(std::slice::from_ref(o))
                                .await
                                .and_then(|mut r| r.remove(0)),
                        );
                    }
                    results
                }
                Err(e) => {
                    tracing::warn!(error = %e, outcomes = outcomes.len(), "a batch of outcomes could not be written");
                    let why = e.to_string();
                    (0..outcomes.len())
                        .map(|_| Err(StoreError::Database(sqlx::Error::Protocol(why.clone()))))
                        .collect()
                }
            };
            for (caller, result) in callers.into_iter().zip(results) {
                // A caller that stopped waiting needs no answer.
                let _ = caller.send(result);
            }
        }
        guard.done = true;
    }

    /// Writes `outcomes` in one transaction: each delivery's fenced update, its history event and,
    /// for a publication, the quota count. `Ok` holds each one's result (`LeaseLost` for a claim
    /// that was lost, which changes nothing); `Err` when the transaction failed as a whole.
    async fn write_batch(&self, outcomes: &[Outcome]) -> Result<Vec<Result<()>>> {
        let now = self.now();
        let sql = format!(
            "UPDATE deliveries SET status = $1, due_at = COALESCE($2, due_at), handle = COALESCE($3, handle),
               platform_post_id = COALESCE($4, platform_post_id), permalink = COALESCE($5, permalink),
               error_code = $6, error_message = $7, candidates = $11, lease_owner = NULL, lease_until = NULL, updated_at = $8,
               may_be_live = CASE WHEN $3 IS NULL THEN may_be_live ELSE $13 END,
               failures = failures + $14, checks = checks + $15
             WHERE id = $9 AND {}",
            held(10, 12, 8)
        );
        let mut results = Vec::with_capacity(outcomes.len());
        // The quota counts go last, in the profiles' order: two processes' batches then take the
        // rows of the profiles they share in the same order, and never wait for each other in a cycle.
        let mut counted = Vec::new();
        on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            for Outcome { claim: c, to, t } in outcomes {
                let n = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(to.as_str()).bind(t.due_at).bind(&t.handle).bind(&t.platform_post_id).bind(&t.permalink)
                    .bind(&t.error_code).bind(&t.error_message).bind(now).bind(c.id.to_string()).bind(c.fence).bind(&t.candidates)
                    .bind(&c.owner).bind(i64::from(t.may_be_live)).bind(i64::from(t.failure)).bind(i64::from(t.check))
                    .execute(&mut *tx).await?.rows_affected();
                if n == 0 {
                    results.push(Err(StoreError::LeaseLost));
                    continue;
                }
                sqlx::query("INSERT INTO delivery_events (workspace_id, delivery_id, at, from_status, to_status, attempt, fence, outcome, detail) SELECT $1, $2, $3, 'publishing', $4, attempts, $5, $6, $7 FROM deliveries WHERE id = $2")
                    .bind(c.workspace.to_string()).bind(c.id.to_string()).bind(now).bind(to.as_str())
                    .bind(c.fence).bind(&t.outcome).bind(t.platform_post_id.as_deref().or(t.error_message.as_deref()))
                    .execute(&mut *tx).await?;
                if t.count_published {
                    counted.push((c.profile.to_string(), c.workspace.to_string()));
                }
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

/// Whether the database refused one statement of a batch (so the others may go through alone):
/// a constraint, or PostgreSQL's deadlock victim (`40P01`); not a lock it waited for in vain.
fn refused(e: &dyn sqlx::error::DatabaseError) -> bool {
    e.kind() != sqlx::error::ErrorKind::Other || e.code().as_deref() == Some("40P01")
}

/// The writer at work: dropped without `done` (a panic), it empties the queue, so each waiting
/// caller hears the writer stopped, and the next outcome starts a new writer.
struct Writing {
    queue: OutcomeQueue,
    done: bool,
}

impl Drop for Writing {
    fn drop(&mut self) {
        if !self.done {
            *self.queue.locked() = None;
        }
    }
}
