//! The dispatcher's metrics, through the `metrics` facade (nothing is kept until the binary
//! installs a recorder): how late and how fast posts go out, retries, the waits platforms ask for,
//! token renewals, reconnect requests, and claims taken over from a worker whose lease lapsed.

use std::time::Duration;

use herald_domain::platform::{Login, Platform};
use herald_domain::profile::ReconnectReason;
use metrics::{Unit, counter, describe_counter, describe_histogram, histogram};

const LATENESS: &str = "herald_publish_lateness_seconds";
const LATENCY: &str = "herald_publish_latency_seconds";
const RETRIES: &str = "herald_retries_total";
const RATE_LIMIT_WAIT: &str = "herald_rate_limit_wait_seconds";
const REFRESHES: &str = "herald_token_refreshes_total";
const RECONNECTS: &str = "herald_reconnect_requests_total";
const TAKEOVERS: &str = "herald_lease_takeovers_total";
const EARLY: &str = "herald_published_early_total";

/// Gives every metric its help text; called once, after the recorder is installed (a description
/// given before goes nowhere).
pub fn describe() {
    describe_histogram!(
        LATENESS,
        Unit::Seconds,
        "How late each published delivery went out: the platform's acceptance minus when it was due (its scheduled time, or when a person said publish now)"
    );
    describe_histogram!(
        LATENCY,
        Unit::Seconds,
        "From the claim that published a delivery to the platform's acceptance"
    );
    describe_counter!(
        RETRIES,
        "Deliveries sent back to wait for another try, by platform and the code they waited with (transient, rate_limited, token_expired)"
    );
    describe_histogram!(
        RATE_LIMIT_WAIT,
        Unit::Seconds,
        "Waits a platform's rate limit or quota imposed on a delivery, by platform"
    );
    describe_counter!(
        REFRESHES,
        "Token renewals by login and outcome: renewed, refused (the profile needs reconnecting) or failed (tried again later)"
    );
    describe_counter!(
        RECONNECTS,
        "Times a profile was found needing its person to reconnect it, by platform and reason"
    );
    describe_counter!(
        EARLY,
        "Deliveries the platform accepted before their time (never expected: each is a bug), by platform"
    );
    describe_counter!(
        TAKEOVERS,
        "Deliveries claimed from another worker whose lease had lapsed (it stopped, or lost the database)"
    );
}

/// A delivery was published, `lateness` after it was due and `latency` after it was claimed.
pub(crate) fn published(platform: Platform, lateness: Duration, latency: Duration) {
    histogram!(LATENESS, "platform" => platform.as_str()).record(lateness);
    histogram!(LATENCY, "platform" => platform.as_str()).record(latency);
}

/// A delivery was published before its time (counted apart: the lateness histogram holds 0 for it).
pub(crate) fn published_early(platform: Platform) {
    counter!(EARLY, "platform" => platform.as_str()).increment(1);
}

/// A delivery goes back to wait, with the code it waits with.
pub(crate) fn retried(platform: Platform, code: &'static str) {
    counter!(RETRIES, "platform" => platform.as_str(), "code" => code).increment(1);
}

/// The platform (its rate limit, or a quota Herald read from it) makes a delivery wait `wait`.
pub(crate) fn rate_limited(platform: Platform, wait: Duration) {
    histogram!(RATE_LIMIT_WAIT, "platform" => platform.as_str()).record(wait);
}

/// How a token renewal ended.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Renewal {
    Renewed,
    /// The platform refused it for good: the profile needs its person.
    Refused,
    /// It failed for a passing reason and is tried again later.
    Failed,
}

pub(crate) fn refreshed(login: Login, outcome: Renewal) {
    let outcome = match outcome {
        Renewal::Renewed => "renewed",
        Renewal::Refused => "refused",
        Renewal::Failed => "failed",
    };
    counter!(REFRESHES, "login" => login.as_str(), "outcome" => outcome).increment(1);
}

/// A profile was found needing its person to reconnect it.
pub(crate) fn reconnect_requested(platform: Platform, reason: ReconnectReason) {
    counter!(RECONNECTS, "platform" => platform.as_str(), "reason" => reason.as_str()).increment(1);
}

/// A claim took a delivery whose previous worker's lease had lapsed.
pub(crate) fn lease_taken_over() {
    counter!(TAKEOVERS).increment(1);
}
