//! App-wide holds: a platform that said the app Herald reaches it through has spent its allowance
//! as a whole (X's daily cap per app, YouTube's project quota, Meta's application limit) holds the
//! deliveries of every profile connected through that login until its reset. The hold is kept in
//! the database, so every process honours it; each process reads it again at most every
//! [`REREAD`] and makes no call while it lasts. No hold lasts longer than [`LONGEST`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use herald_domain::platform::Login;
use herald_store::{Store, StoreError};
use jiff::Timestamp;

/// How stale a process's copy of the holds may be: another process's new hold costs this one at
/// most this long of refused calls.
const REREAD: Duration = Duration::from_secs(2);
/// The longest hold: the platforms' app allowances reset daily at the latest, so an instant
/// further away is an error that must not silence a platform for longer.
const LONGEST: jiff::SignedDuration = jiff::SignedDuration::from_hours(25);

/// This process's copy of the holds in the database.
#[derive(Clone, Default)]
pub(crate) struct AppHolds {
    copy: Arc<Mutex<Copy>>,
}

#[derive(Default)]
struct Copy {
    read_at: Option<Instant>,
    until: HashMap<Login, Timestamp>,
}

impl AppHolds {
    /// When the hold on `login` ends, if one is in force at `now`.
    pub(crate) async fn until(
        &self,
        store: &Store,
        login: Login,
        now: Timestamp,
    ) -> Result<Option<Timestamp>, StoreError> {
        let fresh = {
            let copy = self.copy.lock().unwrap_or_else(PoisonError::into_inner);
            copy.read_at.is_some_and(|at| at.elapsed() < REREAD)
        };
        if !fresh {
            let read: HashMap<Login, Timestamp> = store
                .app_holds()
                .await?
                .into_iter()
                .map(|(p, until)| (p, herald_domain::clock::from_micros(until)))
                .collect();
            let mut copy = self.copy.lock().unwrap_or_else(PoisonError::into_inner);
            copy.until = read;
            copy.read_at = Some(Instant::now());
        }
        let copy = self.copy.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(copy.until.get(&login).copied().filter(|until| *until > now))
    }

    /// Holds `login` until `until` (at most [`LONGEST`] after `now`): in the database for every
    /// other process, then here.
    pub(crate) async fn hold(
        &self,
        store: &Store,
        login: Login,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let until = until.min(now + LONGEST);
        store.hold_app(login, until.as_microsecond()).await?;
        let mut copy = self.copy.lock().unwrap_or_else(PoisonError::into_inner);
        let held = copy.until.entry(login).or_insert(until);
        *held = (*held).max(until);
        Ok(())
    }
}
