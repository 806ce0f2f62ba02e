//! When to try again: exponential back-off with jitter after transient failures, growing waits
//! between processing re-checks, and the limits after which a delivery stops retrying.

use std::time::Duration;

/// How long and how often a delivery is retried after transient failures.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Transient failures after which the delivery stops (`failed`, or `unconfirmed` when the post
    /// may be live).
    pub max_failures: i64,
    /// How long after its scheduled time (or "publish now") a delivery may still be retried.
    pub max_time: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_failures: 8,
            max_time: Duration::from_secs(6 * 3600),
        }
    }
}

/// The first wait after a transient failure; each further failure doubles it.
const BACKOFF_BASE: Duration = Duration::from_secs(5);
/// The longest wait after a transient failure.
const BACKOFF_CAP: Duration = Duration::from_secs(15 * 60);
/// The first wait before re-checking what the platform is processing; each re-check doubles it.
const RECHECK_BASE: Duration = Duration::from_secs(2);
/// The longest wait between processing re-checks.
const RECHECK_CAP: Duration = Duration::from_secs(60);

/// `base · 2ⁿ`, at most `cap`.
fn doubled(base: Duration, n: i64, cap: Duration) -> Duration {
    let n = u32::try_from(n.clamp(0, 20)).unwrap_or(20);
    base.saturating_mul(2u32.saturating_pow(n)).min(cap)
}

/// The wait after the `failures`-th transient failure (counting from 0): exponential, with jitter
/// (between half and all of it) so that deliveries that failed together do not retry together.
pub(crate) fn backoff(failures: i64) -> Duration {
    let full = doubled(BACKOFF_BASE, failures, BACKOFF_CAP);
    let spread = uuid::Uuid::new_v4().as_u128() as u64 % 1000;
    full / 2 + full / 2 * u32::try_from(spread).unwrap_or(0) / 1000
}

/// The wait before re-check number `checks` (counting from 0) of what the platform is processing,
/// and never less than the platform suggested.
pub(crate) fn recheck(checks: i64, suggested: Duration) -> Duration {
    doubled(RECHECK_BASE, checks, RECHECK_CAP).max(suggested)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_stops_growing_at_fifteen_minutes() {
        for n in 0..6 {
            let full = BACKOFF_BASE * 2u32.pow(n as u32);
            let d = backoff(n);
            assert!(d >= full / 2 && d <= full, "{n}: {d:?}");
        }
        assert!(backoff(40) <= BACKOFF_CAP && backoff(40) >= BACKOFF_CAP / 2);
        let spread: std::collections::HashSet<_> = (0..20).map(|_| backoff(3)).collect();
        assert!(spread.len() > 1, "jittered");
    }

    #[test]
    fn processing_rechecks_wait_two_four_eight_seconds_up_to_a_minute() {
        let s = Duration::from_secs;
        assert_eq!(recheck(0, s(1)), s(2));
        assert_eq!(recheck(1, s(1)), s(4));
        assert_eq!(recheck(2, s(1)), s(8));
        assert_eq!(recheck(9, s(1)), s(60));
        assert_eq!(recheck(0, s(30)), s(30), "never sooner than the platform asked");
    }
}
