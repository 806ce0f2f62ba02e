//! When to try again: exponential back-off with jitter after transient failures, growing waits
//! between processing re-checks, and the limits after which a delivery stops retrying.

use std::time::Duration;

pub use herald_platforms::RetryPolicy;

/// An operator's retry limits for every platform, over each platform's own defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct RetryOverride {
    pub max_failures: Option<i64>,
    pub max_time: Option<Duration>,
}

impl RetryOverride {
    /// The limits for a platform whose defaults are `platform`.
    pub fn over(self, platform: RetryPolicy) -> RetryPolicy {
        RetryPolicy {
            max_failures: self.max_failures.unwrap_or(platform.max_failures),
            max_time: self.max_time.unwrap_or(platform.max_time),
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
    fn an_operators_limit_wins_over_the_platforms_and_the_rest_stay_the_platforms() {
        let platform = RetryPolicy {
            max_failures: 8,
            max_time: Duration::from_secs(3600),
        };
        let mine = RetryOverride {
            max_failures: Some(3),
            max_time: None,
        }
        .over(platform);
        assert_eq!((mine.max_failures, mine.max_time), (3, Duration::from_secs(3600)));
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
