//! The platform sandbox: a local emulator of each platform's OAuth server and API, on the platforms'
//! real paths (each real host is a path prefix, `/graph.instagram.com/v24.0/...`), with their real
//! JSON, errors, multi-step flows and token lifetimes, plus `/_sandbox/` to inspect and control it.
//!
//! It is written from the platforms' documentation and shares no types with Herald's adapters.

mod clock;
mod control;
mod facebook;
mod graph;
mod html;
mod instagram;
mod meter;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;

pub use clock::SandboxClock;

/// How the sandbox behaves. Every delay and lifetime is configurable so tests need not wait.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// How long a media container stays `IN_PROGRESS` before it is `FINISHED`.
    pub processing_delay: Duration,
    /// Lifetime of a short-lived Instagram token (Instagram: 1 hour).
    pub short_token_ttl: Duration,
    /// Lifetime of a long-lived Instagram token (Instagram: 60 days).
    pub long_token_ttl: Duration,
    /// The Instagram app Herald uses: client id, secret and its exact redirect URIs.
    pub instagram_app: App,
    /// The Facebook app Herald uses for Facebook Login (Pages, and Instagram through Pages).
    pub facebook_app: App,
    /// API-published posts per account per rolling 24 hours (Instagram documents 50).
    pub publish_quota: u32,
}

#[derive(Debug, Clone)]
pub struct App {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
}

impl App {
    fn allow(&mut self, uri: &str) {
        if !self.redirect_uris.iter().any(|u| u == uri) {
            self.redirect_uris.push(uri.to_owned());
        }
    }
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            processing_delay: Duration::from_secs(3),
            short_token_ttl: Duration::from_secs(3600),
            long_token_ttl: Duration::from_secs(60 * 24 * 3600),
            instagram_app: App {
                client_id: "990000000000001".into(),
                client_secret: "sandbox-instagram-app-secret".into(),
                redirect_uris: Vec::new(),
            },
            facebook_app: App {
                client_id: "990000000000002".into(),
                client_secret: "sandbox-facebook-app-secret".into(),
                redirect_uris: Vec::new(),
            },
            publish_quota: 50,
        }
    }
}

/// The sandbox: its configuration, clock and every platform's state.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

struct Inner {
    config: Mutex<SandboxConfig>,
    clock: SandboxClock,
    instagram: Mutex<instagram::World>,
    facebook: Mutex<facebook::World>,
    /// Rate limiting across both Graph hosts: the call log, faults and throttles.
    meter: Mutex<meter::Meter>,
    /// Every Graph request, as [`graph::Recorded`].
    journal: Mutex<Vec<graph::Recorded>>,
    http: reqwest::Client,
}

impl Sandbox {
    pub fn new(config: SandboxConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .expect("HTTP client");
        Self {
            inner: Arc::new(Inner {
                config: Mutex::new(config),
                clock: SandboxClock::default(),
                instagram: Mutex::new(instagram::World::seeded()),
                facebook: Mutex::new(facebook::World::seeded(instagram::LINKED_ACCOUNT)),
                meter: Mutex::new(meter::Meter::default()),
                journal: Mutex::new(Vec::new()),
                http,
            }),
        }
    }

    pub fn clock(&self) -> &SandboxClock {
        &self.inner.clock
    }

    pub fn config(&self) -> SandboxConfig {
        self.inner.config.lock().expect("config lock").clone()
    }

    /// Adds an exact redirect URI to the Instagram app (as a developer would in the app dashboard).
    pub fn allow_instagram_redirect(&self, uri: &str) {
        let mut c = self.inner.config.lock().expect("config lock");
        c.instagram_app.allow(uri);
    }

    /// Adds an exact redirect URI to the Facebook app's Valid OAuth Redirect URIs.
    pub fn allow_facebook_redirect(&self, uri: &str) {
        let mut c = self.inner.config.lock().expect("config lock");
        c.facebook_app.allow(uri);
    }

    /// Every route of every emulated platform, plus `/_sandbox/`.
    pub fn router(&self) -> Router {
        Router::new()
            .merge(instagram::routes())
            .merge(facebook::routes())
            .merge(control::routes())
            .with_state(self.clone())
    }
}

/// Serves the sandbox alone on `listener` until `shutdown` resolves.
pub async fn serve(
    sandbox: Sandbox,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, sandbox.router())
        .with_graceful_shutdown(shutdown)
        .await
}

/// A random opaque string of `n` URL-safe characters.
pub(crate) fn random_token(prefix: &str, n: usize) -> String {
    use base64::Engine;
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).expect("randomness");
    let mut s = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    s.truncate(n);
    format!("{prefix}{s}")
}
