//! Holding a claim while the platform is called: the lease is confirmed (and extended to cover the
//! call) before each call starts, kept alive while it runs, and a call whose claim was lost is
//! abandoned, so a worker that lost its lease makes no further platform call.

use std::future::Future;
use std::time::Duration;

use herald_store::{Claimed, StoreError};

use crate::Dispatcher;

/// Lease kept beyond a call's timeout, so the call always ends before the claim could.
const CALL_MARGIN: Duration = Duration::from_secs(10);

impl Dispatcher {
    /// The instant a lease of `d` from now ends, as stored.
    pub(crate) fn lease_until(&self, d: Duration) -> i64 {
        self.clock
            .now()
            .as_microsecond()
            .saturating_add(i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
    }

    /// Runs `call` while holding `c`: first makes sure the lease lasts long enough, then extends
    /// it every third of a lease until `call` ends; if the claim is lost meanwhile, `call` is
    /// dropped (its request abandoned) and [`StoreError::LeaseLost`] returned. The call that may
    /// make the post visible (`visible`) starts only with its whole budget ahead (the call's
    /// timeout and a margin, whatever the configured lease): without a round trip when the
    /// handle's save just before it extended the lease already. Any other call goes ahead
    /// without one while at least half a lease is left: the heartbeat extends it before it could end.
    pub(crate) async fn guarded<T>(
        &self,
        c: &Claimed,
        visible: bool,
        call: impl Future<Output = T>,
    ) -> Result<T, StoreError> {
        let budget = self.budget(visible);
        let left = c.lease_ends() - self.clock.now().as_microsecond();
        // A second of slack: the lease written with the handle a moment ago counts.
        let needed = match visible {
            true => budget.saturating_sub(Duration::from_secs(1)),
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

    /// The lease a step's call needs: the call that makes the post visible gets one that outlasts
    /// its timeout.
    pub(crate) fn budget(&self, visible_call: bool) -> Duration {
        match visible_call {
            true => self
                .settings
                .lease
                .max(herald_platforms::CALL_TIMEOUT + CALL_MARGIN),
            false => self.settings.lease,
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
