//! Platform adapters: OAuth and publishing through each platform's official API, written from the
//! platforms' documentation. Base URLs are configuration, so the same adapter talks to the real API or
//! to the sandbox. Every failure is mapped into one taxonomy, [`PlatformError`].

mod adapter;
mod error;
mod facebook;
mod headroom;
mod instagram;
mod linkedin;
mod meta;
mod oauth2;
mod pinterest;
mod registry;
mod snapchat;
mod tiktok;
mod x;
mod youtube;

use std::time::Duration;

pub use adapter::{
    Account, Authorize, Call, Choice, CodeExchange, Connector, Exchanged, Item, Part, PersonGrant, Progress,
    PublishJob, Publisher, RetryPolicy, Unavailable,
};
pub use error::PlatformError;
pub use headroom::{Headroom, watched};
use jiff::Timestamp;
pub use registry::{App, Hosts, Registry, RegistryConfig};
use secrecy::SecretString;

/// What a completed OAuth exchange gives Herald.
#[derive(Debug)]
pub struct Grant {
    pub access_token: SecretString,
    pub issued_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub scopes: Vec<String>,
    /// The platform's id for the account, stable across reconnects.
    pub account_id: String,
    pub handle: String,
    /// The refresh token, for logins that renew access with one.
    pub renew: Option<RenewBy>,
}

/// A refresh token. Where it lapses unless used (Pinterest: 60 days), each renewal replaces it
/// with a new one, so its own lifetime is not kept: a lapsed one shows as a refused renewal.
#[derive(Debug)]
pub struct RenewBy {
    pub token: SecretString,
}

/// A refreshed access token, and the refresh token that replaces the one used, where the login
/// rotates them (the old one stops working: it is stored before anything else).
#[derive(Debug)]
pub struct Refreshed {
    pub access_token: SecretString,
    pub expires_at: Option<Timestamp>,
    pub renew: Option<RenewBy>,
}

/// Where a published post lives on the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub id: String,
    pub permalink: Option<String>,
}

/// A published post's metrics, under Herald's names (each platform's names are mapped to these).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Metrics {
    pub views: Option<u64>,
    pub reach: Option<u64>,
    pub likes: Option<u64>,
    pub comments: Option<u64>,
    pub shares: Option<u64>,
    pub saves: Option<u64>,
    /// Clicks on the post itself (Pinterest's pin clicks, LinkedIn's clicks).
    pub clicks: Option<u64>,
    /// Clicks through to the post's link (Pinterest's outbound clicks, X's link clicks).
    pub link_clicks: Option<u64>,
    /// Visits to the account's profile from the post (X).
    pub profile_clicks: Option<u64>,
}

/// A comment on a published post, with its replies (one level, as the platforms keep them).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Comment {
    pub id: String,
    pub text: String,
    pub username: String,
    pub timestamp: Option<String>,
    pub hidden: bool,
    pub replies: Vec<Comment>,
}

/// What one publishing step achieved. The dispatcher saves the handle after each step, so a crash
/// or a lost response resumes from the last saved handle instead of starting over.
#[derive(Debug, Clone, PartialEq)]
pub enum Step<H> {
    /// Save the handle, then take the next step at once.
    Continue(H),
    /// Save the handle and take the next step after a while (the platform is processing).
    Park(H, Duration),
    Published(Published),
    /// Published, with something the person should know (a custom thumbnail the platform
    /// refused): recorded on the delivery beside its link.
    PublishedWithNote(Published, Note),
    /// After an interruption, several posts on the platform match what was sent and none can be
    /// told apart: Herald does not guess; the person chooses.
    Ambiguous(Vec<Published>),
}

/// What the person should know about a post that is out: a stable code and a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub code: &'static str,
    pub message: String,
}

/// What a publishing step knows besides its handle.
#[derive(Debug, Clone, Copy)]
pub struct StepContext<'a> {
    pub now: Timestamp,
    /// The handle was saved by an earlier claim after the call that makes the post visible may
    /// have been made: the platform may hold the post, so it is looked for before anything is made.
    pub recovering: bool,
    /// Platform ids recorded for the profile's other deliveries: never this delivery's post.
    pub known: &'a [String],
}

/// What a search for an interrupted attempt's post settled: nothing (make it), the one post, or
/// several that cannot be told apart. Posts already recorded for other deliveries are not counted.
pub(crate) fn settle<H>(found: Vec<Published>, known: &[String]) -> Option<Step<H>> {
    let mut found: Vec<Published> = found.into_iter().filter(|p| !known.contains(&p.id)).collect();
    match found.len() {
        0 => None,
        1 => Some(Step::Published(found.remove(0))),
        _ => Some(Step::Ambiguous(found)),
    }
}

/// How long connecting to a platform may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a platform may take to start answering a request, once connected (the request's own
/// bytes included: every call Herald makes today sends a small body).
pub const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest pause while an answer's bytes flow (the answers Herald reads are small: one that
/// stalls this long is dead).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest one call may take, whatever happens: connecting, then the answer. The dispatcher
/// sizes the lease of the call that makes a post visible from it, so that call always ends before
/// the claim could. (An adapter that uploads large bodies will need a client of its own without
/// this bound, with the first-byte timer started once its body is sent.)
pub const CALL_TIMEOUT: Duration =
    Duration::from_secs(CONNECT_TIMEOUT.as_secs() + FIRST_BYTE_TIMEOUT.as_secs());

/// The HTTP client every adapter uses: a timeout per phase (connect, idle) and [`CALL_TIMEOUT`]
/// in all, no automatic redirects.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(IDLE_TIMEOUT)
        .timeout(CALL_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Herald/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("HTTP client")
}

/// Sends a request whose answer must start within [`FIRST_BYTE_TIMEOUT`] once connected; every
/// adapter call goes through here.
pub(crate) async fn send(request: reqwest::RequestBuilder) -> Result<reqwest::Response, PlatformError> {
    match tokio::time::timeout(CONNECT_TIMEOUT + FIRST_BYTE_TIMEOUT, request.send()).await {
        Ok(answer) => answer.map_err(|e| PlatformError::from_http(&e)),
        Err(_) => Err(PlatformError::Transient {
            message: "the platform did not start answering in time".into(),
        }),
    }
}
