//! Settings: defaults, then a TOML file, then `HERALD_*` environment, then flags (the CLI resolves them).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use herald_domain::platform::Login;
use herald_platforms::App;
use secrecy::SecretString;
use url::Url;

/// `--sandbox`: whether the built-in sandbox stands in for platforms without credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxMode {
    /// On only when Herald listens on loopback and its public URL is loopback.
    Auto,
    On,
    Off,
}

impl SandboxMode {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auto" => Some(Self::Auto),
            "on" => Some(Self::On),
            "off" => Some(Self::Off),
            _ => None,
        }
    }
}

/// A database URL: it may carry a password, so `Debug` shows it without one.
#[derive(Clone)]
pub struct DatabaseUrl(SecretString);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(SecretString::from(url.into()))
    }

    /// The URL itself, for connecting.
    pub fn expose(&self) -> &str {
        secrecy::ExposeSecret::expose_secret(&self.0)
    }

    /// The URL without its password, for messages.
    pub fn redacted(&self) -> String {
        crate::app::redact(self.expose())
    }

    pub fn is_sqlite(&self) -> bool {
        let u = self.expose();
        !(u.starts_with("postgres://") || u.starts_with("postgresql://"))
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

/// Whether `url` names this machine only (`localhost` or a loopback address).
fn is_loopback_url(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Where the master keyring comes from.
#[derive(Debug, Clone)]
pub enum KeySetting {
    /// `HERALD_MASTER_KEYS`: `VERSION:BASE64,...`.
    Inline(SecretString),
    /// `HERALD_MASTER_KEYS_FILE`, or `master.keys` in the data directory (created on first start).
    File(PathBuf),
}

/// Everything a Herald process needs, fully resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: DatabaseUrl,
    pub public_url: Url,
    pub signup_open: bool,
    pub max_upload_bytes: u64,
    /// The longest one upload may take.
    pub upload_timeout: Duration,
    /// Timeouts and the connection limit of the HTTP listener.
    pub http: herald_server::Limits,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: herald_server::TrustedProxies,
    /// Sign-ups allowed per client address per hour.
    pub signups_per_hour: u32,
    /// A session unused this long ends.
    pub session_idle: Duration,
    /// Password hashes computed at once (`None`: one per core).
    pub password_hashes_at_once: Option<usize>,
    /// Each login's real app; the built-in sandbox stands in for a login without one.
    pub apps: HashMap<Login, App>,
    pub graph_version: String,
    /// Whether Herald's public address is verified at the platforms that pull media only from a
    /// verified domain (TikTok's URL properties): they then pull videos from Herald's links
    /// instead of receiving them in chunks.
    pub media_domain_verified: bool,
    /// Whether the built-in sandbox stands in for platforms without credentials.
    pub sandbox: SandboxMode,
    /// Lets `--sandbox on` run on a listener or public URL others can reach (never in production).
    pub allow_public_sandbox: bool,
    pub sandbox_processing_delay: Duration,
    pub keys: KeySetting,
    pub run_api: bool,
    pub run_dispatcher: bool,
    /// The dispatcher's backstop poll.
    pub poll: Duration,
    /// When transient failures stop being retried.
    pub retry: herald_dispatch::RetryOverride,
    /// A profile whose access ends sooner than this is `expiring_soon`, with a notification.
    pub expiring_soon: Duration,
    /// The clock Herald reads (the system's; tests move it, and keep it across a restart).
    pub clock: herald_domain::Clock,
    /// How long a dispatcher's claim lasts between heartbeats: a stopped worker's deliveries are
    /// taken over this long after its last one.
    pub lease: Duration,
    /// Deliveries one process works at once.
    pub concurrency: usize,
    /// The most deliveries one claim takes.
    pub claim_size: usize,
    /// Deliveries of one platform account one process works at once.
    pub per_account: usize,
    /// Database connections at most (the backend's default when `None`).
    pub pool_size: Option<u32>,
    /// How long a stopping dispatcher lets the deliveries in hand finish their step.
    pub shutdown_grace: Duration,
    /// The process's metrics (`/metrics`), installed by `herald serve` / `herald worker` (the
    /// recorder is global to a process: never by `start`, which tests call many times).
    pub metrics: Option<herald_server::Metrics>,
    /// The token a scraper sends (`HERALD_METRICS_TOKEN`): needed wherever others can reach Herald.
    pub metrics_token: Option<SecretString>,
    /// Where `herald worker`, which serves no API, answers /healthz, /readyz and /metrics.
    pub metrics_listen: Option<SocketAddr>,
}

/// `http://LISTEN`, with a wildcard address replaced by loopback (browsers cannot be sent to 0.0.0.0).
fn default_public_url(listen: SocketAddr) -> Url {
    let host = if listen.ip().is_unspecified() {
        SocketAddr::new([127, 0, 0, 1].into(), listen.port())
    } else {
        listen
    };
    Url::parse(&format!("http://{host}")).expect("socket addresses make URLs")
}

impl Settings {
    /// Defaults for a data directory: SQLite inside it, listening on `listen`, every platform sandboxed.
    pub fn local(data_dir: PathBuf, listen: SocketAddr) -> Self {
        let database_url = DatabaseUrl::new(format!("sqlite://{}", data_dir.join("herald.db").display()));
        let dispatch = herald_dispatch::Settings::default();
        Self {
            listen,
            database_url,
            public_url: default_public_url(listen),
            signup_open: true,
            max_upload_bytes: 256 * 1024 * 1024,
            upload_timeout: Duration::from_secs(15 * 60),
            http: herald_server::Limits::default(),
            trusted_proxies: herald_server::TrustedProxies::default(),
            signups_per_hour: 10,
            session_idle: Duration::from_secs(24 * 3600),
            password_hashes_at_once: None,
            apps: HashMap::new(),
            graph_version: "v24.0".into(),
            media_domain_verified: false,
            sandbox: SandboxMode::Auto,
            allow_public_sandbox: false,
            sandbox_processing_delay: Duration::from_secs(3),
            keys: KeySetting::File(data_dir.join("master.keys")),
            data_dir,
            run_api: true,
            run_dispatcher: true,
            poll: dispatch.backstop,
            lease: dispatch.lease,
            concurrency: dispatch.concurrency,
            claim_size: dispatch.claim_size,
            per_account: dispatch.per_account,
            pool_size: None,
            shutdown_grace: dispatch.shutdown_grace,
            metrics: None,
            metrics_token: None,
            metrics_listen: None,
            clock: herald_domain::Clock::system(),
            retry: herald_dispatch::RetryOverride::default(),
            expiring_soon: Duration::from_secs(7 * 24 * 3600),
        }
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.is_sqlite()
    }

    /// Where each audit chain's newest entry is also written, outside the database
    /// (`herald audit verify` reads it to find removed newest entries).
    pub fn audit_heads(&self) -> std::path::PathBuf {
        self.data_dir.join("audit-heads.json")
    }

    /// Whether the built-in sandbox may run here, and the start-up line that says why. The sandbox
    /// hands tokens to whoever asks, so it runs only where nobody else can reach it, unless the
    /// person insists twice (`--sandbox on --allow-public-sandbox`).
    /// Whether a sandbox here could be reached by others: a listener that is not loopback, or a
    /// public URL that is not loopback or is https (served through something else).
    pub fn reachable_by_others(&self) -> bool {
        !(self.listen.ip().is_loopback()
            && is_loopback_url(&self.public_url)
            && self.public_url.scheme() == "http")
    }

    /// Whether the first account needs the setup code printed at start: a stranger could reach
    /// a fresh instance whose public URL is not loopback and claim it first.
    pub fn setup_code_needed(&self) -> bool {
        !is_loopback_url(&self.public_url)
    }

    pub fn sandbox_allowed(&self) -> anyhow::Result<(bool, String)> {
        let private = self.listen.ip().is_loopback() && is_loopback_url(&self.public_url);
        let where_ = format!(
            "Herald listens on {} with the public URL {}",
            self.listen, self.public_url
        );
        match self.sandbox {
            SandboxMode::Off => Ok((false, "off (--sandbox off)".into())),
            SandboxMode::Auto if private => {
                Ok((true, "on (Herald is reachable from this machine only)".into()))
            }
            SandboxMode::Auto => Ok((
                false,
                format!(
                    "off: {where_}, which others may reach, and the sandbox would hand them its tokens. It runs by itself only on a loopback-only Herald; for a disposable test instance use --sandbox on --allow-public-sandbox"
                ),
            )),
            SandboxMode::On if !self.reachable_by_others() => Ok((true, "on (--sandbox on)".into())),
            SandboxMode::On if self.allow_public_sandbox => Ok((
                true,
                format!(
                    "ON WHERE OTHERS CAN REACH IT ({where_}): anyone who reaches Herald can read the sandbox's tokens and act as its platforms. Never do this with real users"
                ),
            )),
            SandboxMode::On => bail!(
                "--sandbox on: {where_}; a sandbox others can reach hands them its tokens. Add --allow-public-sandbox to run it anyway on a disposable test instance, or use --sandbox auto"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_on_every_interface_defaults_the_public_url_to_loopback() {
        let s = Settings::local(PathBuf::from("d"), "0.0.0.0:9000".parse().unwrap());
        assert_eq!(s.public_url.as_str(), "http://127.0.0.1:9000/");
        assert_eq!(s.database_url.expose(), "sqlite://d/herald.db");
        assert!(s.is_sqlite() && s.apps.is_empty());
    }

    #[test]
    fn the_sandbox_runs_by_itself_only_where_nobody_else_can_reach_it_and_debug_shows_no_secret() {
        let at = |listen: &str, public: Option<&str>, mode, allow| {
            let mut s = Settings::local(PathBuf::from("d"), listen.parse().unwrap());
            if let Some(p) = public {
                s.public_url = Url::parse(p).unwrap();
            }
            s.sandbox = mode;
            s.allow_public_sandbox = allow;
            s.sandbox_allowed().map(|(on, _)| on).map_err(|e| e.to_string())
        };
        use SandboxMode::*;
        assert_eq!(at("127.0.0.1:8080", None, Auto, false), Ok(true));
        assert_eq!(
            at("[::1]:8080", Some("http://localhost:8080"), Auto, false),
            Ok(true)
        );
        assert_eq!(at("0.0.0.0:8080", None, Auto, false), Ok(false));
        assert_eq!(
            at("127.0.0.1:8080", Some("https://herald.example"), Auto, false),
            Ok(false)
        );
        assert_eq!(at("127.0.0.1:8080", None, Off, false), Ok(false));
        assert_eq!(at("127.0.0.1:8080", None, On, false), Ok(true));
        let refused = at("0.0.0.0:8080", None, On, false).unwrap_err();
        assert!(refused.contains("--allow-public-sandbox"), "{refused}");
        assert!(at("127.0.0.1:8080", Some("https://localhost:8443"), On, false).is_err());
        assert_eq!(
            at("0.0.0.0:8080", Some("https://herald.example"), On, true),
            Ok(true)
        );
        let mut s = Settings::local(PathBuf::from("d"), "127.0.0.1:1".parse().unwrap());
        s.database_url = DatabaseUrl::new("postgres://u:hunter2hunter2@db/herald");
        for login in Login::ALL {
            s.apps.insert(
                login,
                App::real(login, "1".into(), SecretString::from("app-secret-xyzzy")),
            );
        }
        s.keys = KeySetting::Inline(SecretString::from("1:inline-master-key-plugh"));
        let shown = format!("{s:?}");
        for secret in ["hunter2hunter2", "app-secret-xyzzy", "inline-master-key-plugh"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }
}
