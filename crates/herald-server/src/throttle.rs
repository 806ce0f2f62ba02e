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
    let secs = u64::try_from((until - now + 999_999) / 1_000_000)
        .unwrap_or(1)
        .max(1);
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
        format!("too many failed sign-ins; try again in {secs} second(s)"),
    )
    .retry_after(secs)
}

/// The throttling key of a client address: the address itself for IPv4, its /64 network for IPv6
/// (a single client is commonly given a whole /64, so one address of it identifies nothing).
fn address_key(addr: IpAddr) -> String {
    match addr.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// Claims an attempt, or refuses it (429 with `Retry-After`) while its pair waits. The claim is
/// one atomic statement, so attempts sent at once are counted at once: past the free ones, only
/// one gets through per wait. Under protection (the account failed often from everywhere), every
/// attempt makes its address wait at least [`PROTECTED`] before the next.
pub(crate) async fn check(state: &AppState, email: &str, addr: IpAddr) -> ApiResult<Attempt> {
    let attempt = Attempt {
        pair: key(&[email, &address_key(addr)]),
        account: key(&[email]),
    };
    let now = state.store.clock().now().as_microsecond();
    let since = now - WINDOW.as_micros() as i64;
    let account = state
        .store
        .signin_failures(FailureScope::Account, &attempt.account, since)
        .await?;
    let protected = account.failures >= CEILING;
    if protected {
        // An address that already failed for a protected account waits, however few its failures.
        let pair = state
            .store
            .signin_failures(FailureScope::Pair, &attempt.pair, since)
            .await?;
        let until = (pair.last_at + PROTECTED.as_micros() as i64).max(pair.blocked_until);
        if pair.failures > 0 && until > now {
            return Err(too_many(now, until));
        }
    }
    let floor = if protected {
        now + PROTECTED.as_micros() as i64
    } else {
        0
    };
    let waits: Vec<i64> = (FREE..=FREE + 10).map(delay).collect();
    match state
        .store
        .claim_signin_attempt(&attempt.pair, since, floor, (FREE, &waits))
        .await?
    {
        Ok(_) => Ok(attempt),
        Err(until) => Err(too_many(now, until)),
    }
}

/// Counts a failed attempt against its account (its pair counted it when it was claimed).
pub(crate) async fn failed(state: &AppState, a: &Attempt) -> ApiResult<()> {
    let since = state.store.clock().now().as_microsecond() - WINDOW.as_micros() as i64;
    state
        .store
        .count_signin_failure(FailureScope::Account, &a.account, since)
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
        .count_signup(&key(&["signup", &address_key(addr)]), now - window)
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
    fn an_ipv6_client_is_known_by_its_64_network() {
        let k = |s: &str| address_key(s.parse().unwrap());
        assert_eq!(k("2001:db8:1:2:aaaa::1"), k("2001:db8:1:2:bbbb::9"));
        assert_ne!(k("2001:db8:1:2::1"), k("2001:db8:1:3::1"));
        assert_eq!(k("::ffff:203.0.113.7"), "203.0.113.7");
        assert_ne!(k("203.0.113.7"), k("203.0.113.8"));
    }

    #[test]
    fn the_wait_grows_from_one_second_after_the_free_failures_to_fifteen_minutes() {
        assert_eq!(delay(FREE - 1), 0);
        assert_eq!(delay(FREE), 1_000_000);
        assert_eq!(delay(FREE + 3), 8_000_000);
        assert_eq!(delay(FREE + 40), LONGEST.as_micros() as i64);
    }
}
