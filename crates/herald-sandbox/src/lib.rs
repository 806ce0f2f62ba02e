//! The platform sandbox: a local emulator of each platform's OAuth server and API, on the platforms'
//! real paths (each real host is a path prefix, `/graph.instagram.com/v24.0/...`,
//! `/www.googleapis.com/youtube/v3/...`), with their real JSON, errors, multi-step flows, token
//! lifetimes and quotas, plus `/_sandbox/` to inspect and control it.
//!
//! It is written from the platforms' documentation and shares no types with Herald's adapters.

mod bounded;
mod clock;
mod control;
mod facebook;
mod faults;
mod fetch;
mod graph;
mod html;
mod inspect;
mod instagram;
mod linkedin;
mod meter;
mod pinterest;
mod snapchat;
mod tiktok;
mod x;
mod youtube;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;

pub use clock::{ClockError, SandboxClock};

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
    /// The Pinterest app Herald uses.
    pub pinterest_app: App,
    /// The X app Herald uses (a confidential client).
    pub x_app: App,
    /// The LinkedIn app Herald uses.
    pub linkedin_app: App,
    /// The TikTok app Herald uses (its client key and secret).
    pub tiktok_app: App,
    /// The TikTok API for Business app Herald uses for comments (its app id and secret).
    pub tiktok_business_app: App,
    /// The Google Cloud OAuth client Herald uses for YouTube.
    pub youtube_app: App,
    /// The Snap OAuth app (Business Manager → Business Details → OAuth Apps) Herald uses for
    /// Snapchat Public Profiles.
    pub snapchat_app: App,
    /// API-published posts per account per rolling 24 hours (Instagram documents 50).
    pub publish_quota: u32,
    /// The platforms' quotas, as they are or scaled up or switched off for a run.
    pub limits: Limits,
    /// How many entries the request journal and the call log keep (the oldest are dropped).
    pub journal_limit: usize,
    /// How many comments each platform keeps (the oldest are dropped; published posts never are).
    pub comments_limit: usize,
    /// The origins (`scheme://host:port`) media may be downloaded from, as Meta's fetcher would
    /// download `image_url` and the like. Anything else is refused before any connection is made.
    pub trusted_origins: Vec<String>,
}

/// How the emulated quotas (Instagram's posts per day, a Page's reels per day) apply: as the
/// platforms document them, multiplied by `scale`, or not at all (`off`), so a harness or a
/// benchmark can publish thousands of posts. Herald is never told: it reads the quotas the
/// sandbox reports, as it would read the platform's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    #[serde(default = "one")]
    pub scale: u32,
    #[serde(default)]
    pub off: bool,
}

fn one() -> u32 {
    1
}

impl Default for Limits {
    fn default() -> Self {
        Self { scale: 1, off: false }
    }
}

impl Limits {
    /// A documented quota as it applies now.
    pub fn applied(self, documented: u32) -> u32 {
        match self.off {
            true => u32::MAX,
            false => documented.saturating_mul(self.scale),
        }
    }

    /// A share of a documented allowance, in percent, as it applies now: scaled down with the
    /// quotas, none when they are off (the usage headers then never tell a client to slow down).
    pub fn usage(self, percent: usize) -> usize {
        match self.off {
            true => 0,
            false => percent / self.scale.max(1) as usize,
        }
    }
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
            pinterest_app: App {
                client_id: "1500001".into(),
                client_secret: "sandbox-pinterest-app-secret".into(),
                redirect_uris: Vec::new(),
            },
            x_app: App {
                client_id: "c2FuZGJveC14LWNsaWVudA".into(),
                client_secret: "sandbox-x-client-secret".into(),
                redirect_uris: Vec::new(),
            },
            linkedin_app: App {
                client_id: "86sandboxlinkedin".into(),
                client_secret: "sandbox-linkedin-client-secret".into(),
                redirect_uris: Vec::new(),
            },
            tiktok_app: App {
                client_id: "awsandboxtiktokkey".into(),
                client_secret: "sandbox-tiktok-client-secret".into(),
                redirect_uris: Vec::new(),
            },
            tiktok_business_app: App {
                client_id: "7100000000000000001".into(),
                client_secret: "sandbox-tiktok-business-secret".into(),
                redirect_uris: Vec::new(),
            },
            youtube_app: App {
                client_id: "1000000000001-sandbox.apps.googleusercontent.com".into(),
                client_secret: "GOCSPX-sandbox-youtube-secret".into(),
                redirect_uris: Vec::new(),
            },
            snapchat_app: App {
                client_id: "3f1b7c2e-9a4d-4c6b-8e2f-5a0d9c1b7e01".into(),
                client_secret: "sandbox-snapchat-client-secret".into(),
                redirect_uris: Vec::new(),
            },
            publish_quota: 50,
            limits: Limits::default(),
            journal_limit: 10_000,
            comments_limit: 10_000,
            trusted_origins: Vec::new(),
        }
    }
}

/// A platform the sandbox can emulate; Herald mounts only those it has no real credentials for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emulator {
    /// Instagram Login: `www.instagram.com`, `api.instagram.com`, `graph.instagram.com`.
    Instagram,
    /// Facebook Login and Pages (and Instagram through Pages): `www.facebook.com`,
    /// `graph.facebook.com`, `rupload.facebook.com`.
    Facebook,
    /// Pinterest: `www.pinterest.com`, `api.pinterest.com` and the S3 upload host.
    Pinterest,
    /// X: `x.com` and `twitter.com` (consent), `api.x.com`.
    X,
    /// LinkedIn: `www.linkedin.com` (consent, tokens, uploads), `api.linkedin.com`.
    Linkedin,
    /// TikTok: `www.tiktok.com` (consent), `open.tiktokapis.com` and its upload host.
    Tiktok,
    /// YouTube: `accounts.google.com` (consent), `oauth2.googleapis.com` (tokens, revocation), and
    /// the Data API on both `www.googleapis.com` and `youtube.googleapis.com` (uploads under
    /// `/upload/` and `/resumable/upload/`).
    Youtube,
    /// TikTok's API for Business (comments): `www.tiktok.com` (consent, shared with TikTok) and
    /// `business-api.tiktok.com`.
    TiktokBusiness,
    /// Snapchat's Public Profile API: `accounts.snapchat.com` (consent, tokens, revocation) and
    /// `businessapi.snapchat.com` (`/v1/`, `/us/v1/`, `/public/v1/`).
    Snapchat,
}

impl Emulator {
    /// The emulator of the OAuth login Herald names `login` (`instagram`, `facebook`).
    pub fn for_login(login: &str) -> Option<Self> {
        match login {
            "instagram" => Some(Self::Instagram),
            "facebook" => Some(Self::Facebook),
            "pinterest" => Some(Self::Pinterest),
            "x" => Some(Self::X),
            "linkedin" => Some(Self::Linkedin),
            "tiktok" => Some(Self::Tiktok),
            "youtube" => Some(Self::Youtube),
            "tiktok_business" => Some(Self::TiktokBusiness),
            "snapchat" => Some(Self::Snapchat),
            _ => None,
        }
    }
}

impl SandboxConfig {
    /// The app an emulator's login is used through.
    pub fn app(&self, emulator: Emulator) -> App {
        match emulator {
            Emulator::Instagram => self.instagram_app.clone(),
            Emulator::Facebook => self.facebook_app.clone(),
            Emulator::Pinterest => self.pinterest_app.clone(),
            Emulator::X => self.x_app.clone(),
            Emulator::Linkedin => self.linkedin_app.clone(),
            Emulator::Tiktok => self.tiktok_app.clone(),
            Emulator::Youtube => self.youtube_app.clone(),
            Emulator::TiktokBusiness => self.tiktok_business_app.clone(),
            Emulator::Snapchat => self.snapchat_app.clone(),
        }
    }
}

/// How many entries each of the sandbox's growing collections holds: what a test reads to prove
/// that junk requests leave its memory bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Footprint {
    pub journal: usize,
    pub calls: usize,
    pub faults: usize,
    pub throttled: usize,
    pub instagram_codes: usize,
    pub instagram_tokens: usize,
    pub instagram_containers: usize,
    pub instagram_comments: usize,
    pub facebook_codes: usize,
    pub facebook_tokens: usize,
    pub facebook_comments: usize,
    pub pinterest_codes: usize,
    pub pinterest_tokens: usize,
    pub pinterest_media: usize,
    pub x_codes: usize,
    pub x_tokens: usize,
    pub linkedin_codes: usize,
    pub linkedin_tokens: usize,
    pub linkedin_comments: usize,
    pub linkedin_assets: usize,
    pub linkedin_uploads: usize,
    pub tiktok_codes: usize,
    pub tiktok_tokens: usize,
    pub tiktok_publications: usize,
    pub youtube_codes: usize,
    pub youtube_tokens: usize,
    pub youtube_videos: usize,
    pub snapchat_codes: usize,
    pub snapchat_tokens: usize,
    pub snapchat_media: usize,
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
    pinterest: Mutex<pinterest::World>,
    x: Mutex<x::World>,
    linkedin: Mutex<linkedin::World>,
    tiktok: Mutex<tiktok::World>,
    youtube: Mutex<youtube::World>,
    snapchat: Mutex<snapchat::World>,
    /// Rate limiting across both Graph hosts: the call log, faults and throttles.
    meter: Mutex<meter::Meter>,
    /// Chaos, the injected counts and the calls in flight.
    faults: Mutex<faults::Faults>,
    /// Every Graph request, as [`graph::Recorded`], the newest `journal_limit` of them.
    journal: Mutex<bounded::Bounded<graph::Recorded>>,
    http: reqwest::Client,
}

/// Takes a lock even when a thread panicked while holding it: every critical section leaves its
/// data consistent between statements, so one failed request never fails the requests after it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Sandbox {
    pub fn new(config: SandboxConfig) -> Self {
        let limit = config.journal_limit;
        let comments = config.comments_limit;
        Self {
            inner: Arc::new(Inner {
                config: Mutex::new(config),
                clock: SandboxClock::default(),
                instagram: Mutex::new(instagram::World::seeded(comments)),
                facebook: Mutex::new(facebook::World::seeded(instagram::LINKED_ACCOUNT, comments)),
                pinterest: Mutex::new(pinterest::World::seeded()),
                x: Mutex::new(x::World::seeded()),
                linkedin: Mutex::new(linkedin::World::seeded(comments)),
                tiktok: Mutex::new(tiktok::World::seeded(comments)),
                youtube: Mutex::new(youtube::World::seeded(comments)),
                snapchat: Mutex::new(snapchat::World::seeded()),
                meter: Mutex::new(meter::Meter::new(limit)),
                faults: Mutex::new(faults::Faults::default()),
                journal: Mutex::new(bounded::Bounded::new(limit)),
                http: fetch::client(),
            }),
        }
    }

    pub fn clock(&self) -> &SandboxClock {
        &self.inner.clock
    }

    pub fn config(&self) -> SandboxConfig {
        lock(&self.inner.config).clone()
    }

    pub(crate) fn instagram(&self) -> MutexGuard<'_, instagram::World> {
        lock(&self.inner.instagram)
    }

    pub(crate) fn facebook(&self) -> MutexGuard<'_, facebook::World> {
        lock(&self.inner.facebook)
    }

    pub(crate) fn pinterest(&self) -> MutexGuard<'_, pinterest::World> {
        lock(&self.inner.pinterest)
    }

    pub(crate) fn x(&self) -> MutexGuard<'_, x::World> {
        lock(&self.inner.x)
    }

    pub(crate) fn linkedin(&self) -> MutexGuard<'_, linkedin::World> {
        lock(&self.inner.linkedin)
    }

    pub(crate) fn tiktok(&self) -> MutexGuard<'_, tiktok::World> {
        lock(&self.inner.tiktok)
    }

    pub(crate) fn youtube(&self) -> MutexGuard<'_, youtube::World> {
        lock(&self.inner.youtube)
    }

    pub(crate) fn snapchat(&self) -> MutexGuard<'_, snapchat::World> {
        lock(&self.inner.snapchat)
    }

    pub(crate) fn meter(&self) -> MutexGuard<'_, meter::Meter> {
        lock(&self.inner.meter)
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, faults::Faults> {
        lock(&self.inner.faults)
    }

    pub(crate) fn journal(&self) -> MutexGuard<'_, bounded::Bounded<graph::Recorded>> {
        lock(&self.inner.journal)
    }

    /// The app an emulator's login is used through, with the redirect URIs it accepts now.
    pub fn app(&self, emulator: Emulator) -> App {
        lock(&self.inner.config).app(emulator)
    }

    /// Adds an exact redirect URI to an emulator's app (as a developer would in the app dashboard).
    pub fn allow_redirect(&self, emulator: Emulator, uri: &str) {
        let mut config = lock(&self.inner.config);
        match emulator {
            Emulator::Instagram => config.instagram_app.allow(uri),
            Emulator::Facebook => config.facebook_app.allow(uri),
            Emulator::Pinterest => config.pinterest_app.allow(uri),
            Emulator::X => config.x_app.allow(uri),
            Emulator::Linkedin => config.linkedin_app.allow(uri),
            Emulator::Tiktok => config.tiktok_app.allow(uri),
            Emulator::Youtube => config.youtube_app.allow(uri),
            Emulator::TiktokBusiness => config.tiktok_business_app.allow(uri),
            Emulator::Snapchat => config.snapchat_app.allow(uri),
        }
    }

    /// Adds an exact redirect URI to the Instagram app (as a developer would in the app dashboard).
    pub fn allow_instagram_redirect(&self, uri: &str) {
        lock(&self.inner.config).instagram_app.allow(uri);
    }

    /// Adds an exact redirect URI to the Facebook app's Valid OAuth Redirect URIs.
    pub fn allow_facebook_redirect(&self, uri: &str) {
        lock(&self.inner.config).facebook_app.allow(uri);
    }

    /// Lets the sandbox download media from `url`'s origin (Herald's public URL, say).
    pub fn trust_origin(&self, url: &url::Url) {
        let origin = url.origin().ascii_serialization();
        let mut c = lock(&self.inner.config);
        if !c.trusted_origins.contains(&origin) {
            c.trusted_origins.push(origin);
        }
    }

    /// Every token the sandbox has issued and still knows. This is for a test that owns the
    /// sandbox in its own process, to look for the tokens where they must never be; no HTTP route
    /// shows a token (the control API shows fingerprints).
    pub fn issued_tokens(&self) -> Vec<String> {
        let mut all: Vec<String> = self.instagram().tokens.keys().cloned().collect();
        all.extend(self.facebook().tokens.keys().cloned());
        all.extend(self.pinterest().tokens.keys().cloned());
        all.extend(self.x().tokens.keys().cloned());
        let li = self.linkedin();
        all.extend(li.tokens.keys().chain(li.refresh_tokens.keys()).cloned());
        drop(li);
        all.extend(self.tiktok().tokens.keys().cloned());
        all.extend(self.youtube().tokens.keys().cloned());
        all.extend(self.snapchat().tokens.keys().cloned());
        all
    }

    /// How many entries each growing collection holds now.
    pub fn footprint(&self) -> Footprint {
        let (journal, (calls, faults, throttled)) = (self.journal().len(), self.meter().sizes());
        let ig = self.instagram();
        let (instagram_codes, instagram_tokens) = (ig.codes.len(), ig.tokens.len());
        let (instagram_containers, instagram_comments) = (ig.containers.len(), ig.comments.len());
        drop(ig);
        let fb = self.facebook();
        let pin = self.pinterest();
        let x = self.x();
        let li = self.linkedin();
        let tt = self.tiktok();
        let yt = self.youtube();
        let sc = self.snapchat();
        Footprint {
            journal,
            calls,
            faults,
            throttled,
            instagram_codes,
            instagram_tokens,
            instagram_containers,
            instagram_comments,
            facebook_codes: fb.codes.len(),
            facebook_tokens: fb.tokens.len(),
            facebook_comments: fb.comments.len(),
            pinterest_codes: pin.codes.len(),
            pinterest_tokens: pin.tokens.len(),
            pinterest_media: pin.media.len(),
            x_codes: x.codes.len(),
            x_tokens: x.tokens.len(),
            linkedin_codes: li.codes.len(),
            linkedin_tokens: li.tokens.len() + li.refresh_tokens.len(),
            linkedin_comments: li.comments.len(),
            linkedin_assets: li.assets.len(),
            linkedin_uploads: li.uploads.len(),
            tiktok_codes: tt.codes.len(),
            tiktok_tokens: tt.tokens.len(),
            tiktok_publications: tt.publications.len(),
            youtube_codes: yt.codes.len(),
            youtube_tokens: yt.tokens.len(),
            youtube_videos: yt.videos.len(),
            snapchat_codes: sc.codes.len(),
            snapchat_tokens: sc.tokens.len(),
            snapchat_media: sc.media.len(),
        }
    }

    /// Every route of every emulated platform, plus `/_sandbox/`.
    pub fn router(&self) -> Router {
        self.router_for(&[
            Emulator::Instagram,
            Emulator::Facebook,
            Emulator::Pinterest,
            Emulator::X,
            Emulator::Linkedin,
            Emulator::Tiktok,
            Emulator::Youtube,
            Emulator::TiktokBusiness,
            Emulator::Snapchat,
        ])
    }

    /// The routes of the `emulated` platforms only, plus `/_sandbox/` for them.
    pub fn router_for(&self, emulated: &[Emulator]) -> Router {
        let mut r = control::routes();
        // TikTok's consent page serves both of its apps: mounted once.
        if emulated.contains(&Emulator::Tiktok) || emulated.contains(&Emulator::TiktokBusiness) {
            r = r.merge(tiktok::consent_routes()).merge(control::tiktok_routes());
        }
        for e in emulated {
            r = match e {
                Emulator::Instagram => r.merge(instagram::routes()).merge(control::instagram_routes()),
                Emulator::Facebook => r.merge(facebook::routes()).merge(control::facebook_routes()),
                Emulator::Pinterest => r.merge(pinterest::routes()).merge(control::pinterest_routes()),
                Emulator::X => r.merge(x::routes()).merge(control::x_routes()),
                Emulator::Linkedin => r.merge(linkedin::routes()).merge(control::linkedin_routes()),
                Emulator::Tiktok => r.merge(tiktok::routes()),
                Emulator::TiktokBusiness => r.merge(tiktok::business_routes()),
                Emulator::Snapchat => r.merge(snapchat::routes()).merge(snapchat::control_routes()),
                Emulator::Youtube => r.merge(youtube::routes()).merge(control::youtube_routes()),
            };
        }
        r.with_state(self.clone())
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

/// An OAuth 2.0 token endpoint's error (RFC 6749 §5.2): `error` and `error_description`.
pub(crate) fn oauth_error(
    status: axum::http::StatusCode,
    error: &str,
    description: &str,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        status,
        axum::Json(serde_json::json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// Whether a PKCE verifier answers the challenge a code was bound to (RFC 7636: `S256` is the
/// base64url SHA-256 of the verifier; `plain` is the verifier itself).
pub(crate) fn pkce_matches(challenge: &str, method: &str, verifier: &str) -> bool {
    use base64::Engine;
    use sha2::Digest;
    match method {
        "S256" => {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
                == challenge
        }
        _ => verifier == challenge,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_while_a_lock_is_held_does_not_fail_the_requests_after_it() {
        let m = Arc::new(Mutex::new(vec![1]));
        let held = m.clone();
        let _ = std::thread::spawn(move || {
            let mut v = held.lock().unwrap();
            v.push(2);
            panic!("a handler failed while holding the lock");
        })
        .join();
        assert!(m.is_poisoned());
        assert_eq!(*lock(&m), vec![1, 2], "the next request still gets the data");
    }
}
