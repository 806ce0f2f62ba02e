//! App-wide holds: a platform that said Herald's app as a whole has spent its allowance (X's daily
//! cap per app, YouTube's project quota, Meta's application limit) holds every account's
//! deliveries until its reset. The hold is kept in the database, so every process honours it;
//! each process reads it again at most every [`REREAD`] and makes no call while it lasts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use herald_domain::platform::Platform;
use herald_store::{Store, StoreError};
use jiff::Timestamp;

/// How stale a process's copy of the holds may be: another process's new hold costs this one at
/// most this long of refused calls.
const REREAD: Duration = Duration::from_secs(2);

/// This process's copy of the holds in the database.
#[derive(Clone, Default)]
pub(crate) struct AppHolds {
    copy: Arc<Mutex<Copy>>,
}

#[derive(Default)]
struct Copy {
    read_at: Option<Instant>,
    until: HashMap<Platform, Timestamp>,
}

impl AppHolds {
    /// When the hold on `platform` ends, if one is in force at `now`.
    pub(crate) async fn until(
        &self,
        store: &Store,
        platform: Platform,
        now: Timestamp,
    ) -> Result<Option<Timestamp>, StoreError> {
        let fresh = {
            let copy = self.copy.lock().unwrap_or_else(PoisonError::into_inner);
            copy.read_at.is_some_and(|at| at.elapsed() < REREAD)
        };
        if !fresh {
            let read: HashMap<Platform, Timestamp> = store
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
        Ok(copy.until.get(&platform).copied().filter(|until| *until > now))
    }

    /// Holds `platform` until `until`: here at once, and in the database for every other process.
    pub(crate) async fn hold(
        &self,
        store: &Store,
        platform: Platform,
        until: Timestamp,
    ) -> Result<(), StoreError> {
        {
            let mut copy = self.copy.lock().unwrap_or_else(PoisonError::into_inner);
            let held = copy.until.entry(platform).or_insert(until);
            *held = (*held).max(until);
        }
        store.hold_app(platform, until.as_microsecond()).await
    }
}
