//! The dispatcher: claims due deliveries under a lease as its slots free up, checks the connection,
//! the token, the grant and the platform's rules, then drives the platform adapter step by step,
//! saving the handle after each step.
//!
//! A timer wakes it at the next due time; scheduling a post wakes it at once (in this process
//! directly, in others through PostgreSQL's notifications); a slow poll is the backstop.

mod allowance;
mod care;
mod gates;
mod holds;
mod lease;
pub mod metrics;
mod notify;
mod pipeline;
mod process;
mod retry;
mod wakeups;

pub use retry::{RetryOverride, RetryPolicy};

use std::sync::Arc;
use std::time::Duration;

use herald_domain::Clock;
use herald_domain::profile::Backends;
use herald_platforms::Registry;
use herald_store::Store;
use herald_vault::UrlSigner;
use tokio::sync::Notify;
use url::Url;

/// What the dispatcher needs from the outside.
#[derive(Clone)]
pub struct Dispatcher {
    store: Store,
    platforms: Registry,
    signer: UrlSigner,
    public_url: Url,
    clock: Clock,
    owner: String,
    wake: Arc<Notify>,
    settings: Settings,
    accounts: gates::Accounts,
    allowances: allowance::Allowances,
    stopping: gates::Stopping,
    holds: holds::AppHolds,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a claim holds a delivery without a heartbeat (kept alive while the worker works it;
    /// a dead worker's deliveries are taken over this long after its last heartbeat).
    pub lease: Duration,
    /// How many deliveries one process works at once (each holds a slot until it stops). Most of
    /// a delivery's time is waiting on the platform and the database, so a burst drains faster
    /// with more at once until the machine's cores are busy (docs/PERFORMANCE.md).
    pub concurrency: usize,
    /// The most deliveries one claim takes (a claim takes at most the free slots).
    pub claim_size: usize,
    /// How many deliveries of one platform account one process works at once.
    pub per_account: usize,
    /// How long a stopping dispatcher lets the deliveries in hand finish their step.
    pub shutdown_grace: Duration,
    /// The longest the dispatcher sleeps without looking at the queue.
    pub backstop: Duration,
    /// How long media URLs handed to platforms stay valid.
    pub media_url_ttl: Duration,
    /// Tokens closer than this to expiry are renewed (by the token care, for every profile).
    pub refresh_within: Duration,
    /// A profile whose consent ends sooner than this is `expiring_soon`, with a notification.
    pub expiring_soon: Duration,
    /// Each login's backend: a profile's token goes only to the backend that issued it.
    pub backends: Backends,
    /// Limits on retries after transient failures, over each platform's defaults.
    pub retry: RetryOverride,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(15),
            concurrency: 128,
            claim_size: 16,
            per_account: 4,
            shutdown_grace: Duration::from_secs(30),
            backstop: Duration::from_secs(5),
            media_url_ttl: Duration::from_secs(3600),
            refresh_within: Duration::from_secs(7 * 24 * 3600),
            expiring_soon: Duration::from_secs(7 * 24 * 3600),
            backends: Backends::default(),
            retry: RetryOverride::default(),
        }
    }
}

impl Dispatcher {
    /// `wake` is notified whenever a post is scheduled or edited, so the dispatcher looks at once.
    pub fn new(
        store: Store,
        platforms: Registry,
        signer: UrlSigner,
        public_url: Url,
        wake: Arc<Notify>,
        settings: Settings,
    ) -> Self {
        let clock = store.clock().clone();
        let owner = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
        let accounts = gates::Accounts::new(settings.per_account);
        Self {
            store,
            platforms,
            signer,
            public_url,
            clock,
            owner,
            wake,
            settings,
            accounts,
            allowances: allowance::Allowances::default(),
            stopping: gates::Stopping::new(),
            holds: holds::AppHolds::default(),
        }
    }
}
