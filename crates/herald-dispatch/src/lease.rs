//! Holding a claim while the platform is called: the lease is confirmed (and extended to cover the
//! call) before each call starts, kept alive while it runs, and a call whose claim was lost is
//! abandoned, so a worker that lost its lease makes no further platform call.

use std::future::Future;
use std::time::Duration;

use herald_store::{Claimed, StoreError};

use crate::Dispatcher;

impl Dispatcher {
    /// The instant a lease of `d` from now ends, as stored.
    pub(crate) fn lease_until(&self, d: Duration) -> i64 {
        self.clock
            .now()
            .as_microsecond()
            .saturating_add(i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
    }

    /// Runs `call` while holding `c`: first makes sure the lease lasts at least `budget`, then
    /// extends it every third of a lease until `call` ends; if the claim is lost meanwhile, `call`
    /// is dropped (its request abandoned) and [`StoreError::LeaseLost`] returned. A call within a
    /// lease's budget (none that makes the post visible) goes ahead without a round trip while at
    /// least half a lease is left: the heartbeat extends it before it could end. The visible call
    /// goes ahead without one when the handle's save before it extended the lease already.
    pub(crate) async fn guarded<T>(
        &self,
        c: &Claimed,
        budget: Duration,
        call: impl Future<Output = T>,
    ) -> Result<T, StoreError> {
        let left = c.lease_ends() - self.clock.now().as_microsecond();
        // A call beyond a lease's budget (the visible one) needs its budget ahead, less half its
        // margin beyond the call's timeout (the lease may have been written with the handle a
        // moment ago); any other goes ahead while half a lease is left.
        let needed = match budget > self.settings.lease {
            true => budget.saturating_sub(crate::process::CALL_MARGIN / 2),
            false => self.settings.lease / 2,
        };
        if left < i64::try_from(needed.as_micros()).unwrap_or(i64::MAX) {
            self.store.extend_lease(c, self.lease_until(budget)).await?;
        }
        tokio::select! {
            biased;
            r = call => Ok(r),
            e = self.keep(c) => Err(e),
        }
    }

    /// Extends the lease every third of a lease (and whenever the clock moves) until an extension
    /// is refused; returns why.
    pub(crate) async fn keep(&self, c: &Claimed) -> StoreError {
        let beat = self.settings.lease / 3;
        loop {
            tokio::select! {
                () = tokio::time::sleep(beat) => {}
                () = self.clock.moved() => {}
            }
            match self
                .store
                .extend_lease(c, self.lease_until(self.settings.lease))
                .await
            {
                Ok(()) => {}
                Err(StoreError::LeaseLost) => return StoreError::LeaseLost,
                // The database may come back before the lease lapses; if not, the next extension says so.
                Err(e) => tracing::warn!(delivery = %c.id, error = %e, "could not extend the lease"),
            }
        }
    }
}
