//! Sweeping what has run out: expired and idle sessions, OAuth states, old throttling counts,
//! connections never confirmed (their tokens revoked where the platform allows), and posts not
//! approved by their time (made `missed`). It runs every minute, and whenever the clock is moved
//! (tests move it instead of waiting).

use std::future::Future;
use std::time::Duration;

use crate::AppState;
use crate::auth::micros;

const EVERY: Duration = Duration::from_secs(60);
/// Throttling counts are kept this long after their last failure (their window is an hour).
const COUNTS_KEPT: i64 = 3_600_000_000;

/// Sweeps until `stop` resolves.
pub async fn janitor(state: AppState, stop: impl Future<Output = ()>) {
    tokio::pin!(stop);
    loop {
        // Read before sweeping, so a move made during the sweep still wakes the wait below.
        let seen = state.store.clock().moves();
        sweep(&state).await;
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(EVERY) => {}
            () = state.store.clock().moved_since(seen) => {}
        }
    }
}

async fn sweep(state: &AppState) {
    let now = state.store.clock().now().as_microsecond();
    match state
        .store
        .purge_expired(micros(state.config.session_idle), now - COUNTS_KEPT)
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::debug!(rows = n, "swept expired sessions, states and counts"),
        Err(e) => tracing::warn!(error = %e, "sweeping expired rows failed"),
    }
    crate::pending::expire(state).await;
    crate::approvals::expire(state).await;
}
