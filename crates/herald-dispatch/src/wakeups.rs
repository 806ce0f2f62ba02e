//! Wake-ups from other processes: on PostgreSQL the dispatcher listens for the notification the
//! database sends when a delivery is scheduled, rescheduled or requeued, and looks at the queue at
//! once instead of at its next poll. SQLite has one dispatching process, woken in-process.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::Dispatcher;

/// The longest the listener waits before connecting again after losing the database.
const MAX_RETRY: Duration = Duration::from_secs(5);

impl Dispatcher {
    /// Starts listening (PostgreSQL only); each notification, and each reconnection (what was
    /// sent meanwhile is lost), wakes the dispatcher.
    pub(crate) fn listen_for_wakes(&self) -> Option<JoinHandle<()>> {
        if self.store.db().backend() != herald_store::Backend::Postgres {
            return None;
        }
        let (store, wake) = (self.store.clone(), self.wake.clone());
        Some(tokio::spawn(async move {
            let mut retry = Duration::from_millis(250);
            loop {
                let mut listener = match store.listen_for_due().await {
                    Ok(Some(l)) => l,
                    Ok(None) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen for wake-ups; the poll stands in until the database answers");
                        tokio::time::sleep(retry).await;
                        retry = (retry * 2).min(MAX_RETRY);
                        continue;
                    }
                };
                retry = Duration::from_millis(250);
                // Whatever was scheduled while not listening is looked for now.
                wake.notify_one();
                loop {
                    match listener.next().await {
                        Ok(()) => wake.notify_one(),
                        Err(e) => {
                            tracing::warn!(error = %e, "lost the wake-up listener's connection; listening again");
                            break;
                        }
                    }
                }
            }
        }))
    }
}
