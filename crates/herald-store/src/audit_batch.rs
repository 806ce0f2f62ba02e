//! Appends to one audit chain, grouped: entries that arrive while a batch of their chain is being
//! written go together in the next one, in one transaction (one head update, one commit), so a
//! burst of publications in one workspace takes its chain's lock once per batch instead of once
//! per entry. Each caller still returns only once its own entry is committed (or has failed).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::oneshot;

use crate::audit::Record;
use crate::{Result, Store, StoreError};

/// The most entries one transaction appends.
const MAX_BATCH: usize = 256;

/// What a waiting caller hears: committed, or why not (the cause, as text, shared by the batch).
type Outcome = std::result::Result<(), String>;

/// An entry waiting for its chain's writer, and who waits for it.
type Waiting = (Record, oneshot::Sender<Outcome>);

/// Entries waiting for their chain's writer, per chain; a chain has an entry here exactly while
/// a writer task works on it.
#[derive(Default, Clone)]
pub(crate) struct AuditQueues(Arc<Mutex<HashMap<String, Vec<Waiting>>>>);

impl Store {
    /// Queues `entry` for its chain's writer (starting one if none works on the chain) and waits
    /// until the batch holding it is committed.
    pub(crate) async fn append_queued(&self, entry: Record) -> Result<()> {
        let chain = entry.chain.clone();
        let (tx, rx) = oneshot::channel();
        let start_writer = {
            let mut queues = self.audit_queues.0.lock().unwrap_or_else(PoisonError::into_inner);
            match queues.get_mut(&chain) {
                Some(waiting) => {
                    waiting.push((entry, tx));
                    false
                }
                None => {
                    queues.insert(chain.clone(), vec![(entry, tx)]);
                    true
                }
            }
        };
        if start_writer {
            tokio::spawn(self.clone().write_chain(chain));
        }
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(StoreError::Audit(why)),
            Err(_) => Err(StoreError::Audit(
                "the audit writer stopped before writing the entry".into(),
            )),
        }
    }

    /// Writes `chain`'s queued entries, batch after batch, until none is left; then leaves the
    /// chain to the next caller's writer.
    async fn write_chain(self, chain: String) {
        // Should this task end another way (a panic), the callers waiting are told, and the
        // chain is free for a new writer.
        let mut guard = Writing {
            queues: self.audit_queues.clone(),
            chain: chain.clone(),
            done: false,
        };
        loop {
            let batch = {
                let mut queues = self.audit_queues.0.lock().unwrap_or_else(PoisonError::into_inner);
                let waiting = queues.get_mut(&chain).expect("the writer's chain is queued");
                if waiting.is_empty() {
                    queues.remove(&chain);
                    break;
                }
                let n = waiting.len().min(MAX_BATCH);
                waiting.drain(..n).collect::<Vec<_>>()
            };
            let (mut entries, callers): (Vec<Record>, Vec<_>) = batch.into_iter().unzip();
            let outcome = match self.append_batch(&chain, &mut entries).await {
                Ok(Some(_)) => Ok(()),
                Ok(None) => {
                    tracing::warn!(target: "herald::audit", chain, entries = entries.len(),
                        "not recorded: the workspace of these audit entries was deleted");
                    Ok(())
                }
                Err(e) => Err(e.to_string()),
            };
            for caller in callers {
                // A caller that stopped waiting needs no answer.
                let _ = caller.send(outcome.clone());
            }
        }
        guard.done = true;
    }
}

/// A chain's writer at work: dropped without `done` (a panic), it frees the chain.
struct Writing {
    queues: AuditQueues,
    chain: String,
    done: bool,
}

impl Drop for Writing {
    fn drop(&mut self) {
        if !self.done {
            let mut queues = self.queues.0.lock().unwrap_or_else(PoisonError::into_inner);
            // Their senders go with them: each waiting caller hears the writer stopped.
            queues.remove(&self.chain);
        }
    }
}
