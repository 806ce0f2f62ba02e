//! The dispatcher: claims due deliveries under a lease, checks the connection, the token, the grant and
//! the platform's rules, then drives the platform adapter step by step, saving the handle after each step.
//!
//! A timer wakes it at the next due time; scheduling a post wakes it at once; a slow poll is the backstop
//! for posts scheduled by other processes.

mod care;
mod lease;
mod notify;
mod process;
mod retry;

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
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a claim holds a delivery without a heartbeat (kept alive while the worker works it;
    /// a dead worker's deliveries are taken over this long after its last heartbeat).
    pub lease: Duration,
    /// How many deliveries one claim takes.
    pub batch: i64,
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
    /// When transient failures stop being retried.
    /// Limits on retries after transient failures, over each platform's defaults.
    pub retry: RetryOverride,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(15),
            batch: 16,
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
        Self {
            store,
            platforms,
            signer,
            public_url,
            clock,
            owner,
            wake,
            settings,
        }
    }

    /// Claims and processes due deliveries until none is due; returns how many it processed.
    pub async fn run_due(&self) -> usize {
        let mut total = 0;
        loop {
            let lease_until = self.lease_until(self.settings.lease);
            let claimed = match self
                .store
                .claim_due(&self.owner, lease_until, self.settings.batch)
                .await
            {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "claiming due deliveries failed");
                    return total;
                }
            };
            if claimed.is_empty() {
                return total;
            }
            total += claimed.len();
            let mut set = tokio::task::JoinSet::new();
            for c in claimed {
                let me = self.clone();
                set.spawn(async move { me.process(c).await });
            }
            while set.join_next().await.is_some() {}
        }
    }

    /// Runs until `shutdown` resolves, finishing the deliveries in hand before returning.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        tracing::info!(owner = %self.owner, "dispatcher started");
        loop {
            let seen = self.clock.moves();
            self.run_due().await;
            let wait = match self.store.next_due_at().await {
                Ok(Some(at)) => {
                    let now = self.clock.now().as_microsecond();
                    Duration::from_micros(u64::try_from(at.saturating_sub(now)).unwrap_or(0))
                        .min(self.settings.backstop)
                }
                Ok(None) => self.settings.backstop,
                Err(e) => {
                    tracing::error!(error = %e, "reading the next due time failed");
                    self.settings.backstop
                }
            };
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(wait) => {}
                () = self.wake.notified() => {}
                () = self.clock.moved_since(seen) => {}
            }
        }
        tracing::info!("dispatcher stopped");
    }
}
