//! Throttling what costs a password hash: failed sign-ins per (email, client address) with growing
//! delays, a per-account ceiling that slows every address that has failed for the account without
//! ever refusing one that has not (so the owner is never locked out), and sign-ups per address.
//!
//! An unknown email is throttled exactly as a known one: the keys are the email as typed, whether
//! or not an account has it, and a throttled attempt computes no hash either way.

use std::net::IpAddr;

use axum::http::StatusCode;
use herald_store::FailureScope;
use jiff::SignedDuration;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::{ApiError, ApiResult};

/// Failures older than this are forgotten.
const WINDOW: SignedDuration = SignedDuration::from_hours(1);
/// Failed sign-ins an (email, address) pair may make before each further one waits.
const FREE: i64 = 5;
/// The longest a pair waits after a failure.
const LONGEST: SignedDuration = SignedDuration::from_mins(15);
/// Failures on one account, from every address, that put it under protection.
const CEILING: i64 = 20;
/// Under protection, how long an address that failed for the account waits after each failure.
const PROTECTED: SignedDuration = SignedDuration::from_mins(1);

/// The throttling keys of one sign-in attempt.
pub(crate) struct Attempt {
    pair: String,
    account: String,
}

fn key(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

/// The wait before `failures` (counted against a pair) may try again, in microseconds.
fn delay(failures: i64) -> i64 {
    if failures < FREE {
        return 0;
    }
    let secs = 1i64 << (failures - FREE).min(20);
    (secs * 1_000_000).min(LONGEST.as_micros() as i64)
}

fn too_many(now: i64, until: i64) -> ApiError {
    let secs = u64::try_from((until - now + 999_999) / 1_000_000).unwrap_or(1);
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
        format!("too many failed sign-ins; try again in {secs} second(s)"),
    )
    .retry_after(secs)
}

/// Refuses the attempt (429 with `Retry-After`) while its pair is blocked, or while its account is
/// under protection and this address failed for it within [`PROTECTED`].
pub(crate) async fn check(state: &AppState, email: &str, addr: IpAddr) -> ApiResult<Attempt> {
    let attempt = Attempt {
        pair: key(&[email, &addr.to_string()]),
        account: key(&[email]),
    };
    let now = state.store.clock().now().as_microsecond();
    let since = now - WINDOW.as_micros() as i64;
    let pair = state
        .store
        .signin_failures(FailureScope::Pair, &attempt.pair, since)
        .await?;
    if pair.blocked_until > now {
        return Err(too_many(now, pair.blocked_until));
    }
    let account = state
        .store
        .signin_failures(FailureScope::Account, &attempt.account, since)
        .await?;
    let protected_until = pair.last_at + PROTECTED.as_micros() as i64;
    if account.failures >= CEILING && pair.failures > 0 && protected_until > now {
        return Err(too_many(now, protected_until));
    }
    Ok(attempt)
}

/// Counts a failed attempt against its pair and its account.
pub(crate) async fn failed(state: &AppState, a: &Attempt) -> ApiResult<()> {
    let now = state.store.clock().now().as_microsecond();
    let since = now - WINDOW.as_micros() as i64;
    let on_account = state
        .store
        .record_signin_failure(FailureScope::Account, &a.account, since, |_| 0)
        .await?;
    let protected = on_account >= CEILING;
    state
        .store
        .record_signin_failure(FailureScope::Pair, &a.pair, since, |n| {
            let mut wait = delay(n);
            if protected {
                wait = wait.max(PROTECTED.as_micros() as i64);
            }
            if wait > 0 { now + wait } else { 0 }
        })
        .await?;
    Ok(())
}

/// A successful sign-in clears its pair (the account's count stays: others may still be guessing).
pub(crate) async fn succeeded(state: &AppState, a: &Attempt) -> ApiResult<()> {
    Ok(state
        .store
        .clear_signin_failures(FailureScope::Pair, &a.pair)
        .await?)
}

/// Counts a sign-up from `addr`; refuses it (429) past the configured number per hour.
pub(crate) async fn signup(state: &AppState, addr: IpAddr) -> ApiResult<()> {
    let now = state.store.clock().now().as_microsecond();
    let window = WINDOW.as_micros() as i64;
    let n = state
        .store
        .count_signup(&key(&["signup", &addr.to_string()]), now - window)
        .await?;
    if n > i64::from(state.config.signups_per_hour) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_signups",
            "too many sign-ups from this address in the last hour; try again later",
        )
        .retry_after(3600));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_grows_from_one_second_after_the_free_failures_to_fifteen_minutes() {
        assert_eq!(delay(FREE - 1), 0);
        assert_eq!(delay(FREE), 1_000_000);
        assert_eq!(delay(FREE + 3), 8_000_000);
        assert_eq!(delay(FREE + 40), LONGEST.as_micros() as i64);
    }
}
