//! The one error taxonomy every adapter maps into; the dispatcher decides from it alone.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlatformError {
    #[error("the access token has expired")]
    TokenExpired,
    #[error("access was revoked on the platform: {0}")]
    TokenRevoked(String),
    #[error("the grant lacks a permission: {0}")]
    PermissionMissing(String),
    /// The platform asked for a pause: `until` the instant it named (X's `x-rate-limit-reset`),
    /// else for `retry_after`, when it advertised either.
    #[error("rate limited by the platform")]
    RateLimited {
        retry_after: Option<Duration>,
        until: Option<jiff::Timestamp>,
        /// Herald's app's allowance as a whole is spent (X's daily cap per app, YouTube's
        /// project quota, Meta's application limit), not the account's: every account on the
        /// platform waits, in every process.
        app_wide: bool,
    },
    #[error("the platform refused the content: {message}")]
    ContentRejected { message: String },
    #[error("the platform could not fetch the media: {message}")]
    MediaUnreachable { message: String },
    #[error("temporary failure: {message}")]
    Transient { message: String },
    #[error("the platform failed: {message}")]
    Platform { message: String },
    /// The platform (or Herald's adapter for it) offers no way to do this; the reason is for people.
    #[error("{0}")]
    Unsupported(String),
}

impl PlatformError {
    /// A stable code for the API and the delivery's history.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TokenExpired => "token_expired",
            Self::TokenRevoked(_) => "token_revoked",
            Self::PermissionMissing(_) => "permission_missing",
            Self::RateLimited { .. } => "rate_limited",
            Self::ContentRejected { .. } => "content_rejected",
            Self::MediaUnreachable { .. } => "media_unreachable",
            Self::Transient { .. } => "transient",
            Self::Platform { .. } => "platform_error",
            Self::Unsupported(_) => "unsupported",
        }
    }

    /// Network-level failures: nothing is known, so the step is retried (every step re-reads state first).
    pub fn from_http(e: &reqwest::Error) -> Self {
        let what = if e.is_timeout() {
            "the platform did not answer in time"
        } else if e.is_connect() {
            "could not connect to the platform"
        } else {
            "the connection to the platform failed"
        };
        Self::Transient { message: what.into() }
    }
}
