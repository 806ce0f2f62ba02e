//! What a dispatcher's tasks share: each platform account's gate (how many of its deliveries are
//! worked at once in this process) and the flag that says the dispatcher is stopping.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use herald_domain::ProfileId;
use tokio::sync::{Semaphore, SemaphorePermit, watch};

/// Each platform account's gate, made when a delivery of it is first worked and dropped when the
/// last one is done, so the map holds only the accounts in flight.
#[derive(Clone)]
pub(crate) struct Accounts {
    per_account: usize,
    gates: Arc<Mutex<HashMap<ProfileId, Arc<Semaphore>>>>,
}

impl Accounts {
    pub(crate) fn new(per_account: usize) -> Self {
        Self {
            per_account: per_account.max(1),
            gates: Arc::default(),
        }
    }

    /// The account's gate (shared with its other deliveries in flight here).
    pub(crate) fn gate(&self, profile: ProfileId) -> Gate {
        let mut gates = self.gates.lock().unwrap_or_else(PoisonError::into_inner);
        let semaphore = gates
            .entry(profile)
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_account)))
            .clone();
        Gate {
            accounts: self.clone(),
            profile,
            semaphore,
        }
    }
}

impl Accounts {
    /// The accounts this process already works (or waits to work) as many deliveries of as it
    /// may: a claim leaves theirs to later.
    pub(crate) fn saturated(&self) -> Vec<ProfileId> {
        let gates = self.gates.lock().unwrap_or_else(PoisonError::into_inner);
        gates
            .iter()
            // Every holder of the gate but the map is a delivery in hand.
            .filter(|(_, g)| Arc::strong_count(g) > self.per_account)
            .map(|(p, _)| *p)
            .collect()
    }
}

/// One delivery's hold on its account's gate.
pub(crate) struct Gate {
    accounts: Accounts,
    profile: ProfileId,
    semaphore: Arc<Semaphore>,
}

impl Gate {
    /// Waits for the account's turn: one of its `per_account` places.
    pub(crate) async fn turn(&self) -> SemaphorePermit<'_> {
        self.semaphore
            .acquire()
            .await
            .expect("an account's gate is never closed")
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        let mut gates = self.accounts.gates.lock().unwrap_or_else(PoisonError::into_inner);
        // The map's and this one: nobody else is at this account's gate.
        if Arc::strong_count(&self.semaphore) == 2 {
            gates.remove(&self.profile);
        }
    }
}

/// Set once the dispatcher stops: tasks hand their deliveries back before their next call.
#[derive(Clone)]
pub(crate) struct Stopping(Arc<watch::Sender<bool>>);

impl Stopping {
    pub(crate) fn new() -> Self {
        Self(Arc::new(watch::Sender::new(false)))
    }

    pub(crate) fn stop(&self) {
        self.0.send_replace(true);
    }

    pub(crate) fn is_stopping(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once the dispatcher is stopping.
    pub(crate) async fn stopped(&self) {
        let mut rx = self.0.subscribe();
        // The sender lives as long as `self`: waiting cannot fail.
        let _ = rx.wait_for(|stopping| *stopping).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_account_takes_its_places_and_its_gate_goes_with_the_last_delivery() {
        let accounts = Accounts::new(2);
        let p = ProfileId::new();
        {
            let (a, b, c) = (accounts.gate(p), accounts.gate(p), accounts.gate(p));
            let first = a.turn().await;
            let _second = b.turn().await;
            assert!(c.semaphore.try_acquire().is_err(), "a third waits");
            drop(first);
            assert!(c.semaphore.try_acquire().is_ok(), "a place freed");
            let other = accounts.gate(ProfileId::new());
            assert!(
                other.semaphore.try_acquire().is_ok(),
                "another account has its own places"
            );
        }
        assert!(
            accounts.gates.lock().unwrap().is_empty(),
            "no gate is kept for an idle account"
        );
    }
}
