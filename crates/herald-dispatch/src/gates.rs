//! What a dispatcher's tasks share: each platform account's gate (how many of its deliveries are
//! worked at once in this process, narrowed while the platform's usage headers say the account is
//! near its allowance) and the flag that says the dispatcher is stopping.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use herald_domain::ProfileId;
use jiff::{SignedDuration, Timestamp};
use tokio::sync::{Semaphore, SemaphorePermit, watch};

/// How long a narrowing by a usage share holds without a newer answer (the share is over the
/// platform's rolling hour, and every answer brings it again).
const SHARE_HOLDS: SignedDuration = SignedDuration::from_secs(60);
/// From this share of its allowance used, an account's deliveries are worked half as many at once.
const BUSY: u32 = 75;
/// From this share, one at a time.
const NEARLY_SPENT: u32 = 90;

/// Each platform account's gate, made when a delivery of it is first worked and dropped when the
/// last one is done, so the map holds only the accounts in flight; and the accounts narrowed by
/// their usage share, each until its narrowing lapses.
#[derive(Clone)]
pub(crate) struct Accounts {
    per_account: usize,
    gates: Arc<Mutex<HashMap<ProfileId, Arc<Semaphore>>>>,
    /// How many of the gate's permits one delivery takes, and until when.
    narrowed: Arc<Mutex<HashMap<ProfileId, (usize, Timestamp)>>>,
}

impl Accounts {
    pub(crate) fn new(per_account: usize) -> Self {
        Self {
            per_account: per_account.max(1),
            gates: Arc::default(),
            narrowed: Arc::default(),
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

    /// The accounts this process already works (or waits to work) as many deliveries of as it
    /// may: a claim leaves theirs to later.
    pub(crate) fn saturated(&self, now: Timestamp) -> Vec<ProfileId> {
        let weights: HashMap<ProfileId, usize> = {
            let mut narrowed = self.narrowed.lock().unwrap_or_else(PoisonError::into_inner);
            narrowed.retain(|_, (_, until)| *until > now);
            narrowed.iter().map(|(p, (w, _))| (*p, *w)).collect()
        };
        let gates = self.gates.lock().unwrap_or_else(PoisonError::into_inner);
        gates
            .iter()
            // Every holder of the gate but the map is a delivery in hand.
            .filter(|(p, g)| {
                let places = self.per_account / weights.get(p).copied().unwrap_or(1);
                Arc::strong_count(g) > places
            })
            .map(|(p, _)| *p)
            .collect()
    }

    /// Takes in the share of its allowance the account's latest answer said it has used.
    pub(crate) fn used(&self, profile: ProfileId, percent: u32, now: Timestamp) {
        let weight = match percent {
            p if p >= NEARLY_SPENT => self.per_account,
            p if p >= BUSY => 2.min(self.per_account),
            _ => 1,
        };
        let mut narrowed = self.narrowed.lock().unwrap_or_else(PoisonError::into_inner);
        match weight {
            1 => narrowed.remove(&profile),
            _ => narrowed.insert(profile, (weight, now + SHARE_HOLDS)),
        };
    }

    /// How many of the gate's permits one of the account's deliveries takes now.
    fn weight(&self, profile: ProfileId, now: Timestamp) -> usize {
        let narrowed = self.narrowed.lock().unwrap_or_else(PoisonError::into_inner);
        narrowed
            .get(&profile)
            .filter(|(_, until)| *until > now)
            .map_or(1, |(w, _)| *w)
    }
}

/// One delivery's hold on its account's gate.
pub(crate) struct Gate {
    accounts: Accounts,
    profile: ProfileId,
    semaphore: Arc<Semaphore>,
}

impl Gate {
    /// Waits for the account's turn: one of its places. A narrowed account's delivery takes
    /// several of the gate's `per_account` permits, so fewer go at once.
    pub(crate) async fn turn(&self, now: Timestamp) -> SemaphorePermit<'_> {
        let weight = u32::try_from(self.accounts.weight(self.profile, now)).unwrap_or(u32::MAX);
        self.semaphore
            .acquire_many(weight)
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
            let now = Timestamp::now();
            let first = a.turn(now).await;
            let _second = b.turn(now).await;
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

    #[tokio::test]
    async fn an_account_near_its_usage_share_is_worked_fewer_at_once_until_the_share_lapses() {
        let accounts = Accounts::new(5);
        let p = ProfileId::new();
        let now = Timestamp::now();
        accounts.used(p, 80, now);
        assert_eq!(
            accounts.weight(p, now),
            2,
            "busy: two of five permits each, two at once"
        );
        accounts.used(p, 95, now);
        let (a, b) = (accounts.gate(p), accounts.gate(p));
        let _turn = a.turn(now).await;
        assert_eq!(a.semaphore.available_permits(), 0, "nearly spent: one at a time");
        assert_eq!(
            accounts.saturated(now),
            vec![p],
            "a claim leaves the account's others"
        );
        let later = now + SHARE_HOLDS + SignedDuration::from_secs(1);
        assert_eq!(
            accounts.weight(p, later),
            1,
            "the narrowing lapses without a newer answer"
        );
        assert!(accounts.saturated(later).is_empty());
        assert!(
            accounts.narrowed.lock().unwrap().is_empty(),
            "a lapsed narrowing is forgotten"
        );
        accounts.used(p, 95, now);
        accounts.used(p, 10, now);
        assert_eq!(accounts.weight(p, now), 1, "a low share widens the gate again");
        drop(b);
    }
}
