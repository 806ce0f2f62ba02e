//! The `herald` command: serve, worker, sandbox, bench, migrate, keys, audit, users, retention.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use herald::config::{DatabaseUrl, KeySetting, SandboxMode, Settings};
use herald_domain::platform::Login;
use herald_platforms::Registry;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

#[derive(Parser)]
#[command(
    name = "herald",
    version,
    about = "Herald: a self-hosted social media scheduler"
)]
struct Cli {
    #[command(flatten)]
    opts: Opts,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API, the OAuth callback and the dispatcher (and the sandbox for unconfigured platforms).
    Serve,
    /// Run only the dispatcher (PostgreSQL only).
    Worker,
    /// Run only the platform sandbox (a development tool: it binds loopback unless told otherwise).
    Sandbox {
        /// Where the sandbox listens (a non-loopback address needs --allow-public-sandbox).
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: SocketAddr,
        /// An origin the sandbox downloads media from, as Meta's fetcher would (repeatable).
        #[arg(long = "trust-origin", default_value = "http://127.0.0.1:8080")]
        trust_origins: Vec<Url>,
        /// An exact OAuth redirect URI the sandbox's apps accept (repeatable): `…/oauth/{login}/callback`
        /// goes to that login's app. A login given none accepts its callback on http://127.0.0.1:8080.
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<Url>,
        /// Multiplies the platforms' documented quotas (50 posts a day on one, 30 reels a day on
        /// another), for a harness or a benchmark.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        limits_scale: u32,
        /// Switches the platforms' quotas off altogether.
        #[arg(long, conflicts_with = "limits_scale")]
        no_limits: bool,
    },
    /// Measure how late and how fast Herald publishes a burst of due posts (or a steady stream) to
    /// the sandbox in its own process, beside the sandbox's own ceiling; prints one JSON line (a
    /// development tool: see docs/PERFORMANCE.md). The global --concurrency, --claim-size,
    /// --per-account and --pool-size go to every Herald process of the run.
    Bench(herald::bench::BenchArgs),
    /// Apply the database migrations and exit.
    Migrate,
    /// Manage the master keyring.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Check the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Recover an account, as an administrator on the server.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Sweep what Herald keeps for 90 days only.
    #[command(subcommand)]
    Retention(RetentionCommand),
}

#[derive(Subcommand)]
enum RetentionCommand {
    /// Delete now the delivery history, notifications, audit entries (leaving a signed checkpoint)
    /// and ended invitations older than 90 days, as a running Herald does every hour; print how
    /// many of each went.
    Run,
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Give the account a new random password, shown once, and sign it out everywhere (audited).
    ResetPassword { email: String },
    /// Turn the account's two-factor sign-in off (key and recovery codes deleted; audited), for a
    /// person who lost their authenticator and their recovery codes.
    #[command(name = "reset-2fa")]
    ResetTwoFactor { email: String },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check every entry of every chain against its MAC, the retention checkpoints and the heads
    /// file; name each place where an entry was changed, removed or reordered (exit 1 if any).
    Verify,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Add a master key version and re-wrap every data key under it (safe while Herald runs).
    Rotate,
    /// Show how many data keys each master key version wraps.
    Status,
    /// Remove a master key version that wraps no data key.
    Retire { version: u32 },
}

#[derive(Args)]
struct Opts {
    /// A TOML file with any of these settings (flags and HERALD_* variables win over it).
    #[arg(long, global = true, env = "HERALD_CONFIG")]
    config: Option<PathBuf>,
    /// Where Herald keeps its SQLite database, media and master keyring.
    #[arg(long, global = true, env = "HERALD_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The address the HTTP server listens on.
    #[arg(long, global = true, env = "HERALD_LISTEN")]
    listen: Option<SocketAddr>,
    /// The URL people and platforms reach Herald at (defaults to http://LISTEN).
    #[arg(long, global = true, env = "HERALD_PUBLIC_URL")]
    public_url: Option<Url>,
    /// `open` (anyone may sign up) or `closed` (invite-only).
    #[arg(long, global = true, env = "HERALD_SIGNUP")]
    signup: Option<String>,
    /// `auto` (the built-in sandbox runs only on a loopback-only Herald), `on` or `off`.
    #[arg(long, global = true, env = "HERALD_SANDBOX")]
    sandbox: Option<String>,
    /// Lets `--sandbox on` (and `herald sandbox`) run where others can reach it: never in production.
    #[arg(long, global = true, env = "HERALD_ALLOW_PUBLIC_SANDBOX")]
    allow_public_sandbox: bool,
    /// The largest upload accepted, in bytes.
    #[arg(long, global = true, env = "HERALD_MAX_UPLOAD_BYTES")]
    max_upload_bytes: Option<u64>,
    /// The longest one upload may take, in seconds.
    #[arg(long, global = true, env = "HERALD_UPLOAD_TIMEOUT_SECS")]
    upload_timeout_secs: Option<u64>,
    /// The longest a request's body may take to arrive, whole, in seconds (uploads aside).
    #[arg(long, global = true, env = "HERALD_BODY_DEADLINE_SECS")]
    body_deadline_secs: Option<u64>,
    /// How long a client has to send a request's headers, in seconds.
    #[arg(long, global = true, env = "HERALD_HEADER_TIMEOUT_SECS")]
    header_timeout_secs: Option<u64>,
    /// The longest pause allowed inside a request body, in seconds.
    #[arg(long, global = true, env = "HERALD_BODY_TIMEOUT_SECS")]
    body_timeout_secs: Option<u64>,
    /// A connection on which nothing moves for this long is closed, in seconds.
    #[arg(long, global = true, env = "HERALD_IDLE_TIMEOUT_SECS")]
    idle_timeout_secs: Option<u64>,
    /// How many connections are served at once (more wait).
    #[arg(long, global = true, env = "HERALD_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For names the client.
    #[arg(long, global = true, env = "HERALD_TRUSTED_PROXIES")]
    trusted_proxies: Option<String>,
    /// Sign-ups allowed per client address per hour.
    #[arg(long, global = true, env = "HERALD_SIGNUPS_PER_HOUR")]
    signups_per_hour: Option<u32>,
    /// A session unused for this many hours ends.
    #[arg(long, global = true, env = "HERALD_SESSION_IDLE_HOURS")]
    session_idle_hours: Option<u64>,
    /// Password hashes computed at once (each takes 19 MiB); default: one per core.
    #[arg(long, global = true, env = "HERALD_PASSWORD_HASHES_AT_ONCE")]
    password_hashes_at_once: Option<usize>,
    /// A profile whose access ends within this many days is `expiring_soon`, with a notification.
    #[arg(long, global = true, env = "HERALD_EXPIRING_SOON_DAYS")]
    expiring_soon_days: Option<u64>,
    /// Transient failures after which a delivery stops retrying (default: each platform's own).
    #[arg(long, global = true, env = "HERALD_RETRY_MAX_FAILURES")]
    retry_max_failures: Option<i64>,
    /// Hours after its time during which a delivery may still be retried (default: each platform's own).
    #[arg(long, global = true, env = "HERALD_RETRY_MAX_HOURS")]
    retry_max_hours: Option<u64>,
    /// How long the built-in sandbox keeps a media container processing, in milliseconds.
    #[arg(long, global = true, env = "HERALD_SANDBOX_PROCESSING_DELAY_MS")]
    sandbox_processing_delay_ms: Option<u64>,
    /// Herald's public address is verified at the platforms that pull media only from verified
    /// domains (TikTok's URL properties): videos are pulled from Herald's links, not sent in chunks.
    #[arg(long, global = true, env = "HERALD_MEDIA_DOMAIN_VERIFIED")]
    media_domain_verified: Option<bool>,
    #[arg(long, global = true, env = "HERALD_MASTER_KEYS_FILE")]
    master_keys_file: Option<PathBuf>,
    /// Deliveries one process works at once (default 128).
    #[arg(long, global = true, env = "HERALD_CONCURRENCY")]
    concurrency: Option<usize>,
    /// The most deliveries one claim takes (default 16).
    #[arg(long, global = true, env = "HERALD_CLAIM_SIZE")]
    claim_size: Option<usize>,
    /// Deliveries of one platform account one process works at once (default 4).
    #[arg(long, global = true, env = "HERALD_PER_ACCOUNT")]
    per_account: Option<usize>,
    /// Database connections each process keeps at most (default 10 on PostgreSQL, 4 on SQLite).
    #[arg(long, global = true, env = "HERALD_DB_POOL_SIZE")]
    pool_size: Option<u32>,
    /// The longest the dispatcher goes without looking at the queue, in seconds (default 5).
    #[arg(long, global = true, env = "HERALD_POLL_SECS")]
    poll_secs: Option<u64>,
    /// How long a claim holds a delivery between heartbeats, in seconds (default 15).
    #[arg(long, global = true, env = "HERALD_LEASE_SECS")]
    lease_secs: Option<u64>,
    /// On shutdown, how long the deliveries in hand may take to finish their step, in seconds (default 30).
    #[arg(long, global = true, env = "HERALD_SHUTDOWN_GRACE_SECS")]
    shutdown_grace_secs: Option<u64>,
    /// `text` (for people) or `json` (one object per line, for a log collector).
    #[arg(
        long,
        global = true,
        env = "HERALD_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    log_format: LogFormat,
    /// Where `herald worker` answers /healthz, /readyz and /metrics (it serves no API otherwise).
    #[arg(long, global = true, env = "HERALD_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
}

/// How log lines are written.
#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    /// A line of text per event, for people.
    Text,
    /// A JSON object per line, for a log collector.
    Json,
}

/// The TOML file's shape: the same settings as the flags, plus the secrets no flag takes
/// (`database_url`, each platform's `client_secret`).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    listen: Option<SocketAddr>,
    public_url: Option<Url>,
    signup: Option<String>,
    sandbox: Option<String>,
    allow_public_sandbox: Option<bool>,
    max_upload_bytes: Option<u64>,
    upload_timeout_secs: Option<u64>,
    body_deadline_secs: Option<u64>,
    header_timeout_secs: Option<u64>,
    body_timeout_secs: Option<u64>,
    idle_timeout_secs: Option<u64>,
    max_connections: Option<usize>,
    trusted_proxies: Option<String>,
    signups_per_hour: Option<u32>,
    session_idle_hours: Option<u64>,
    password_hashes_at_once: Option<usize>,
    expiring_soon_days: Option<u64>,
    retry_max_failures: Option<i64>,
    retry_max_hours: Option<u64>,
    sandbox_processing_delay_ms: Option<u64>,
    media_domain_verified: Option<bool>,
    master_keys_file: Option<PathBuf>,
    concurrency: Option<usize>,
    claim_size: Option<usize>,
    per_account: Option<usize>,
    pool_size: Option<u32>,
    poll_secs: Option<u64>,
    lease_secs: Option<u64>,
    shutdown_grace_secs: Option<u64>,
    metrics_token: Option<String>,
    metrics_listen: Option<SocketAddr>,
}

/// A secret from the environment: `NAME`, or the file `NAME_FILE` names (never both).
fn secret_from_env(name: &str) -> anyhow::Result<Option<String>> {
    let file = format!("{name}_FILE");
    match (std::env::var(name).ok(), std::env::var_os(&file)) {
        (Some(_), Some(_)) => bail!("set {name} or {file}, not both"),
        (Some(v), None) => Ok(Some(v)),
        (None, Some(path)) => herald::apps::read_secret_file(Path::new(&path)).map(Some),
        (None, None) => Ok(None),
    }
}

fn resolve(o: Opts, matches: &ArgMatches) -> anyhow::Result<Settings> {
    let (file, file_apps) = match &o.config {
        Some(p) => {
            let invalid = || format!("the config file {} is invalid", p.display());
            let mut table: toml::Table = toml::from_str(
                &std::fs::read_to_string(p)
                    .with_context(|| format!("reading the config file {}", p.display()))?,
            )
            .with_context(invalid)?;
            let apps = herald::apps::from_file(&mut table).with_context(invalid)?;
            let file: FileConfig = table.try_into().with_context(invalid)?;
            (file, apps)
        }
        None => (FileConfig::default(), Default::default()),
    };
    let data_dir = o
        .data_dir
        .or(file.data_dir)
        .unwrap_or_else(|| PathBuf::from("herald-data"));
    let listen = o
        .listen
        .or(file.listen)
        .unwrap_or_else(|| "127.0.0.1:8080".parse().expect("static address"));
    let mut s = Settings::local(data_dir.clone(), listen);
    // Secrets come from the environment or the file, never from flags (`ps` shows flags).
    if let Some(url) = secret_from_env("HERALD_DATABASE_URL")?.or(file.database_url) {
        s.database_url = DatabaseUrl::new(url);
    }
    s.metrics_token = match secret_from_env("HERALD_METRICS_TOKEN")?.or(file.metrics_token) {
        Some(t) if t.trim().len() < 16 => {
            bail!("HERALD_METRICS_TOKEN must be at least 16 characters: it is a scraper's only proof")
        }
        t => t.map(|t| SecretString::from(t.trim().to_owned())),
    };
    s.metrics_listen = o.metrics_listen.or(file.metrics_listen);
    if let Some(url) = o.public_url.or(file.public_url) {
        s.public_url = url;
    }
    s.signup_open = match o.signup.or(file.signup).as_deref() {
        Some("open") => true,
        None | Some("closed") => false,
        Some(other) => bail!("--signup must be `open` or `closed`, not `{other}`"),
    };
    s.sandbox = match o.sandbox.or(file.sandbox) {
        None => SandboxMode::Auto,
        Some(m) => SandboxMode::parse(&m)
            .with_context(|| format!("--sandbox must be `auto`, `on` or `off`, not `{m}`"))?,
    };
    s.allow_public_sandbox = o.allow_public_sandbox || file.allow_public_sandbox.unwrap_or(false);
    if let Some(n) = o.max_upload_bytes.or(file.max_upload_bytes) {
        s.max_upload_bytes = n;
    }
    let secs = |name: &str, v: Option<u64>| -> anyhow::Result<Option<Duration>> {
        match v {
            Some(0) => bail!("--{name} must be at least 1 second"),
            v => Ok(v.map(Duration::from_secs)),
        }
    };
    if let Some(d) = secs(
        "upload-timeout-secs",
        o.upload_timeout_secs.or(file.upload_timeout_secs),
    )? {
        s.upload_timeout = d;
    }
    if let Some(d) = secs(
        "body-deadline-secs",
        o.body_deadline_secs.or(file.body_deadline_secs),
    )? {
        s.http.body_deadline = d;
    }
    if let Some(d) = secs(
        "header-timeout-secs",
        o.header_timeout_secs.or(file.header_timeout_secs),
    )? {
        s.http.header_timeout = d;
    }
    if let Some(d) = secs(
        "body-timeout-secs",
        o.body_timeout_secs.or(file.body_timeout_secs),
    )? {
        s.http.body_timeout = d;
    }
    if let Some(d) = secs(
        "idle-timeout-secs",
        o.idle_timeout_secs.or(file.idle_timeout_secs),
    )? {
        s.http.idle_timeout = d;
    }
    match o.max_connections.or(file.max_connections) {
        Some(0) => bail!("--max-connections must be at least 1"),
        Some(n) => s.http.max_connections = n,
        None => {}
    }
    if let Some(list) = o.trusted_proxies.or(file.trusted_proxies) {
        s.trusted_proxies = herald_server::TrustedProxies::parse(&list)
            .map_err(|e| anyhow::anyhow!("--trusted-proxies: {e}"))?;
    }
    if let Some(n) = o.signups_per_hour.or(file.signups_per_hour) {
        s.signups_per_hour = n;
    }
    match o.session_idle_hours.or(file.session_idle_hours) {
        Some(0) => bail!("--session-idle-hours must be at least 1"),
        Some(h) => s.session_idle = Duration::from_secs(h * 3600),
        None => {}
    }
    match o.expiring_soon_days.or(file.expiring_soon_days) {
        Some(d @ 1..=90) => s.expiring_soon = Duration::from_secs(d * 24 * 3600),
        Some(_) => bail!("--expiring-soon-days must be between 1 and 90"),
        None => {}
    }
    match o.retry_max_failures.or(file.retry_max_failures) {
        Some(n @ 1..=100) => s.retry.max_failures = Some(n),
        Some(_) => bail!("--retry-max-failures must be between 1 and 100"),
        None => {}
    }
    match o.retry_max_hours.or(file.retry_max_hours) {
        Some(h @ 1..=72) => s.retry.max_time = Some(Duration::from_secs(h * 3600)),
        Some(_) => bail!("--retry-max-hours must be between 1 and 72"),
        None => {}
    }
    match o.password_hashes_at_once.or(file.password_hashes_at_once) {
        Some(0) => bail!("--password-hashes-at-once must be at least 1"),
        n => s.password_hashes_at_once = n.or(s.password_hashes_at_once),
    }
    if let Some(ms) = o.sandbox_processing_delay_ms.or(file.sandbox_processing_delay_ms) {
        s.sandbox_processing_delay = Duration::from_millis(ms);
    }
    if let Some(v) = o.media_domain_verified.or(file.media_domain_verified) {
        s.media_domain_verified = v;
    }
    let concurrency = o.concurrency.or(file.concurrency);
    s.concurrency = within("concurrency", concurrency, 1, 1024)?.unwrap_or(s.concurrency);
    let claim_size = o.claim_size.or(file.claim_size);
    s.claim_size = within("claim-size", claim_size, 1, 1000)?.unwrap_or(s.claim_size);
    let per_account = o.per_account.or(file.per_account);
    s.per_account = within("per-account", per_account, 1, 64)?.unwrap_or(s.per_account);
    s.pool_size = within("pool-size", o.pool_size.or(file.pool_size), 1, 500)?;
    let poll = within("poll-secs", o.poll_secs.or(file.poll_secs), 1, 3600)?;
    s.poll = poll.map_or(s.poll, Duration::from_secs);
    let lease = within("lease-secs", o.lease_secs.or(file.lease_secs), 5, 600)?;
    s.lease = lease.map_or(s.lease, Duration::from_secs);
    let grace = o.shutdown_grace_secs.or(file.shutdown_grace_secs);
    let grace = within("shutdown-grace-secs", grace, 1, 600)?;
    s.shutdown_grace = grace.map_or(s.shutdown_grace, Duration::from_secs);
    s.keys = match (
        std::env::var("HERALD_MASTER_KEYS").ok(),
        o.master_keys_file.or(file.master_keys_file),
    ) {
        (Some(_), Some(_)) => bail!("set HERALD_MASTER_KEYS or HERALD_MASTER_KEYS_FILE, not both"),
        (Some(inline), None) => KeySetting::Inline(SecretString::from(inline)),
        (None, Some(path)) => KeySetting::File(path),
        (None, None) => KeySetting::File(data_dir.join("master.keys")),
    };
    s.apps = herald::apps::resolve(matches, file_apps)?;
    Ok(s)
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info,sqlx=warn`), as text or JSON: only the
/// format changes, the fields (none of which holds a secret) are the same.
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.init(),
        // The event's fields at the top level, and its spans (the request's id) listed.
        LogFormat::Json => logs.json().flatten_event(true).with_span_list(true).init(),
    }
}

/// The process's metrics, unless nobody could read them: a Herald others can reach serves them
/// only to a scraper sending HERALD_METRICS_TOKEN, and keeps none without one.
fn install_metrics(s: &Settings, local: bool) -> anyhow::Result<Option<herald_server::Metrics>> {
    let scrapers = match (&s.metrics_token, local) {
        (Some(token), _) => herald_server::Scrapers::Holding(token.clone()),
        (None, true) => herald_server::Scrapers::Local,
        (None, false) => return Ok(None),
    };
    let metrics = herald_server::Metrics::install(scrapers)
        .map_err(|e| anyhow::anyhow!("installing the metrics recorder: {e}"))?;
    herald_dispatch::metrics::describe();
    Ok(Some(metrics))
}

/// `value` if it lies between `lo` and `hi`; otherwise the one line that says so.
fn within<T: PartialOrd + std::fmt::Display + Copy>(
    flag: &str,
    value: Option<T>,
    lo: T,
    hi: T,
) -> anyhow::Result<Option<T>> {
    match value {
        Some(v) if v < lo || v > hi => bail!("--{flag} must be between {lo} and {hi}, not {v}"),
        v => Ok(v),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

fn banner(app: &herald::RunningApp, s: &Settings) {
    let url = &app.public_url;
    println!("Herald is running.");
    println!("  Web app:    {url}  (open it in a browser: create an account, then your dashboard)");
    println!("  API:        {url}api/v1  (reference: {url}api/docs)");
    println!("  Data:       {}", s.data_dir.display());
    println!("  Database:   {}", s.database_url.redacted());
    if app.sandbox.is_some() {
        println!(
            "  Sandbox:    {url}_sandbox/  (stands in for every platform without credentials: no real account is touched)"
        );
    } else {
        println!("  Sandbox:    {}", app.sandbox_status);
    }
    for login in Login::ALL.into_iter().filter(|l| s.apps.contains_key(l)) {
        println!("  {:<11} real API", format!("{}:", login.display_name()));
    }
    if let Some(code) = &app.setup_code {
        println!(
            "  Setup code: {}  (this Herald has no account yet: the first one, its administrator, needs this code)",
            code.expose_secret()
        );
    }
    println!("Press Ctrl-C to stop.");
}

async fn run(cli: Cli, matches: &ArgMatches) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve => {
            let mut s = resolve(cli.opts, matches)?;
            s.metrics = install_metrics(&s, !s.reachable_by_others())?;
            let app = herald::start(s.clone()).await?;
            banner(&app, &s);
            shutdown_signal().await;
            println!("Shutting down: finishing requests and deliveries in progress…");
            app.stop().await;
        }
        Command::Worker => {
            let mut s = resolve(cli.opts, matches)?;
            if s.is_sqlite() {
                bail!(
                    "`herald worker` needs PostgreSQL (HERALD_DATABASE_URL=postgres://…): on SQLite, `herald serve` is the one process that dispatches"
                );
            }
            s.run_api = false;
            s.metrics = match s.metrics_listen {
                Some(at) => install_metrics(&s, at.ip().is_loopback())?,
                None => None,
            };
            let app = herald::start(s).await?;
            println!("Herald worker is dispatching. Press Ctrl-C to stop.");
            shutdown_signal().await;
            app.stop().await;
        }
        Command::Sandbox {
            listen,
            trust_origins,
            redirect_uris,
            limits_scale,
            no_limits,
        } => {
            if !listen.ip().is_loopback() {
                if !cli.opts.allow_public_sandbox {
                    bail!(
                        "herald sandbox --listen {listen}: others could reach it and read its tokens; listen on 127.0.0.1, or add --allow-public-sandbox for a disposable test machine"
                    );
                }
                eprintln!(
                    "WARNING: the sandbox listens on {listen}, where others may reach it: they can read its tokens and act as its platforms. Never use it with real accounts."
                );
            }
            let sb = herald_sandbox::Sandbox::new(herald_sandbox::SandboxConfig {
                limits: herald_sandbox::Limits {
                    scale: limits_scale,
                    off: no_limits,
                },
                ..herald_sandbox::SandboxConfig::default()
            });
            for origin in &trust_origins {
                sb.trust_origin(origin);
            }
            // Each URI goes to the app of the login its path names; a login given none keeps the
            // callback of a Herald at its default address.
            let mut given = Vec::new();
            for uri in &redirect_uris {
                let login = Login::ALL
                    .into_iter()
                    .find(|l| uri.path().ends_with(&format!("/oauth/{}/callback", l.as_str())))
                    .with_context(|| {
                        format!("--redirect-uri {uri}: Herald's callbacks end in /oauth/LOGIN/callback, LOGIN one of {}", logins())
                    })?;
                sb.allow_redirect(emulator(login)?, uri.as_str());
                given.push(login);
            }
            for login in Login::ALL.into_iter().filter(|l| !given.contains(l)) {
                let uri = format!("http://127.0.0.1:8080/oauth/{}/callback", login.as_str());
                sb.allow_redirect(emulator(login)?, &uri);
            }
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("listening on {listen}"))?;
            // The address it got (with `--listen 127.0.0.1:0`, the port the system chose).
            let listen = listener.local_addr()?;
            println!("Herald sandbox on http://{listen}/_sandbox/");
            for login in Login::ALL {
                let app = sb.app(emulator(login)?);
                let h = Registry::hosts(login);
                let flags: Vec<String> = h
                    .each()
                    .into_iter()
                    .map(|(_, host)| {
                        let word = herald::apps::label(host);
                        format!("--{}-{word}-base http://{listen}/{host}", login.as_str())
                    })
                    .collect();
                println!(
                    "  {} app: client id {} (secret: {}); point Herald at it with {}",
                    login.display_name(),
                    app.client_id,
                    app.client_secret,
                    flags.join(" ")
                );
            }
            println!(
                "  Downloads media only from: {} (add origins with --trust-origin)",
                sb.config().trusted_origins.join(", ")
            );
            let limits = sb.config().limits;
            match limits.off {
                true => println!("  Quotas: off (--no-limits)"),
                false if limits.scale > 1 => {
                    println!("  Quotas: {}× the platforms' (--limits-scale)", limits.scale)
                }
                false => println!("  Quotas: as the platforms document them"),
            }
            herald_sandbox::serve(sb, listener, shutdown_signal()).await?;
        }
        Command::Bench(args) => {
            let o = &cli.opts;
            let tuning = herald::bench::Tuning {
                concurrency: within("concurrency", o.concurrency, 1, 1024)?,
                claim_size: within("claim-size", o.claim_size, 1, 1000)?,
                per_account: within("per-account", o.per_account, 1, 64)?,
                pool_size: within("pool-size", o.pool_size, 1, 500)?,
            };
            herald::bench::run(args, tuning).await?;
        }
        Command::Migrate => {
            let s = resolve(cli.opts, matches)?;
            let db = herald_store::Db::connect(s.database_url.expose())
                .await
                .context("connecting to the database")?;
            db.migrate().await.context("migrating")?;
            println!("Migrations applied to {}", s.database_url.redacted());
        }
        Command::Keys(k) => {
            let s = resolve(cli.opts, matches)?;
            let out = match k {
                KeysCommand::Rotate => herald::keys::rotate(&s).await?,
                KeysCommand::Status => herald::keys::status(&s).await?,
                KeysCommand::Retire { version } => herald::keys::retire(&s, version).await?,
            };
            println!("{}", out.trim_end());
        }
        Command::Users(UsersCommand::ResetPassword { email }) => {
            let s = resolve(cli.opts, matches)?;
            println!("{}", herald::users::reset_password(&s, &email).await?);
        }
        Command::Users(UsersCommand::ResetTwoFactor { email }) => {
            let s = resolve(cli.opts, matches)?;
            println!("{}", herald::users::reset_two_factor(&s, &email).await?);
        }
        Command::Audit(AuditCommand::Verify) => {
            let s = resolve(cli.opts, matches)?;
            println!("{}", herald::audit::verify(&s).await?);
        }
        Command::Retention(RetentionCommand::Run) => {
            let s = resolve(cli.opts, matches)?;
            println!("{}", herald::retention::run(&s).await?);
        }
    }
    Ok(())
}

/// Secrets that have no flag (`ps` would show them), and where they go instead.
fn secret_flags() -> Vec<(String, String)> {
    let mut flags = vec![(
        "--database-url".to_owned(),
        "HERALD_DATABASE_URL (or HERALD_DATABASE_URL_FILE, or database_url in the config file)".to_owned(),
    )];
    flags.push((
        "--metrics-token".to_owned(),
        "HERALD_METRICS_TOKEN (or HERALD_METRICS_TOKEN_FILE, or metrics_token in the config file)".to_owned(),
    ));
    flags.extend(herald::apps::secret_flags());
    flags
}

/// The logins, for messages.
fn logins() -> String {
    Login::ALL.map(Login::as_str).join(", ")
}

/// The sandbox's emulator of a login.
fn emulator(login: Login) -> anyhow::Result<herald_sandbox::Emulator> {
    herald_sandbox::Emulator::for_login(login.as_str())
        .with_context(|| format!("the sandbox does not emulate {} Login", login.display_name()))
}

/// A command line clap refuses: one line saying what to fix (help and version print as usual).
fn usage_error(e: &clap::Error) -> ! {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    let first = e.to_string();
    let first = first
        .lines()
        .next()
        .unwrap_or("error: invalid command line")
        .to_owned();
    let arg = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(a)) => a.split('=').next().unwrap_or_default().to_owned(),
        _ => String::new(),
    };
    match secret_flags().into_iter().find(|(flag, _)| *flag == arg) {
        Some((_, instead)) => {
            eprintln!("{first}: secrets take no flags, as `ps` would show them; set {instead}")
        }
        None => eprintln!("{first} (see `herald --help`)"),
    }
    std::process::exit(2);
}

#[tokio::main]
async fn main() {
    let command = herald::apps::args()
        .into_iter()
        .fold(Cli::command(), clap::Command::arg);
    let matches = command.try_get_matches().unwrap_or_else(|e| usage_error(&e));
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| usage_error(&e));
    init_logging(cli.opts.log_format);
    if let Err(e) = run(cli, &matches).await {
        // One line, whatever the cause's formatting (TOML errors come with a multi-line snippet).
        let message = format!("{e:#}").split_whitespace().collect::<Vec<_>>().join(" ");
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}
