//! The `herald` command: serve, worker, sandbox, migrate, keys.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use herald::config::{Credentials, DatabaseUrl, KeySetting, SandboxMode, Settings};
use secrecy::SecretString;
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
        /// An exact OAuth redirect URI the sandbox's Instagram app accepts (repeatable).
        #[arg(
            long = "redirect-uri",
            default_value = "http://127.0.0.1:8080/oauth/instagram/callback"
        )]
        redirect_uris: Vec<String>,
        /// An exact OAuth redirect URI the sandbox's Facebook app accepts (repeatable).
        #[arg(
            long = "facebook-redirect-uri",
            default_value = "http://127.0.0.1:8080/oauth/facebook/callback"
        )]
        facebook_redirect_uris: Vec<String>,
        /// Multiplies the platforms' documented quotas (Instagram's 50 posts a day, a Page's 30
        /// reels a day), for a harness or a benchmark.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        limits_scale: u32,
        /// Switches the platforms' quotas off altogether.
        #[arg(long, conflicts_with = "limits_scale")]
        no_limits: bool,
    },
    /// Apply the database migrations and exit.
    Migrate,
    /// Manage the master keyring.
    #[command(subcommand)]
    Keys(KeysCommand),
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
    /// Instagram app id; with the secret (HERALD_INSTAGRAM_CLIENT_SECRET or its _FILE), switches
    /// Instagram from the sandbox to the real API.
    #[arg(long, global = true, env = "HERALD_INSTAGRAM_CLIENT_ID")]
    instagram_client_id: Option<String>,
    /// A file holding the Instagram app secret.
    #[arg(long, global = true, env = "HERALD_INSTAGRAM_CLIENT_SECRET_FILE")]
    instagram_client_secret_file: Option<PathBuf>,
    #[arg(long, global = true, env = "HERALD_INSTAGRAM_WWW_BASE")]
    instagram_www_base: Option<Url>,
    #[arg(long, global = true, env = "HERALD_INSTAGRAM_API_BASE")]
    instagram_api_base: Option<Url>,
    #[arg(long, global = true, env = "HERALD_INSTAGRAM_GRAPH_BASE")]
    instagram_graph_base: Option<Url>,
    /// Facebook app id; with the secret (HERALD_FACEBOOK_CLIENT_SECRET or its _FILE), switches
    /// Facebook Login and Pages to the real API.
    #[arg(long, global = true, env = "HERALD_FACEBOOK_CLIENT_ID")]
    facebook_client_id: Option<String>,
    /// A file holding the Facebook app secret.
    #[arg(long, global = true, env = "HERALD_FACEBOOK_CLIENT_SECRET_FILE")]
    facebook_client_secret_file: Option<PathBuf>,
    #[arg(long, global = true, env = "HERALD_FACEBOOK_WWW_BASE")]
    facebook_www_base: Option<Url>,
    #[arg(long, global = true, env = "HERALD_FACEBOOK_GRAPH_BASE")]
    facebook_graph_base: Option<Url>,
    #[arg(long, global = true, env = "HERALD_FACEBOOK_RUPLOAD_BASE")]
    facebook_rupload_base: Option<Url>,
    /// How long the built-in sandbox keeps an Instagram container processing, in milliseconds.
    #[arg(long, global = true, env = "HERALD_SANDBOX_PROCESSING_DELAY_MS")]
    sandbox_processing_delay_ms: Option<u64>,
    #[arg(long, global = true, env = "HERALD_MASTER_KEYS_FILE")]
    master_keys_file: Option<PathBuf>,
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
    sandbox_processing_delay_ms: Option<u64>,
    master_keys_file: Option<PathBuf>,
    #[serde(default)]
    instagram: FilePlatform,
    #[serde(default)]
    facebook: FilePlatform,
}

/// A platform app's credentials and hosts, from flags, `HERALD_*` or the file's `[instagram]` /
/// `[facebook]` table.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FilePlatform {
    client_id: Option<String>,
    client_secret: Option<String>,
    client_secret_file: Option<PathBuf>,
    www_base: Option<Url>,
    api_base: Option<Url>,
    graph_base: Option<Url>,
}

/// A secret from the environment: `NAME`, or the file `NAME_FILE` names (never both).
fn secret_from_env(name: &str) -> anyhow::Result<Option<String>> {
    let file = format!("{name}_FILE");
    match (std::env::var(name).ok(), std::env::var_os(&file)) {
        (Some(_), Some(_)) => bail!("set {name} or {file}, not both"),
        (Some(v), None) => Ok(Some(v)),
        (None, Some(path)) => read_secret_file(Path::new(&path)).map(Some),
        (None, None) => Ok(None),
    }
}

fn read_secret_file(path: &Path) -> anyhow::Result<String> {
    Ok(std::fs::read_to_string(path)
        .with_context(|| format!("reading {}", path.display()))?
        .trim()
        .to_owned())
}

/// A platform's real credentials, `None` for the sandbox; `hosts` are the default www, api and graph hosts.
fn credentials(env: &str, p: FilePlatform, hosts: [&str; 3]) -> anyhow::Result<Option<Credentials>> {
    let secret = match (p.client_secret, p.client_secret_file) {
        (Some(_), Some(_)) => {
            bail!("set HERALD_{env}_CLIENT_SECRET or HERALD_{env}_CLIENT_SECRET_FILE, not both")
        }
        (Some(s), None) => Some(s),
        (None, Some(path)) => Some(read_secret_file(&path)?),
        (None, None) => None,
    };
    let host = |u: Option<Url>, h: &str| {
        u.unwrap_or_else(|| Url::parse(&format!("https://{h}")).expect("static URL"))
    };
    let any_base = p.www_base.is_some() || p.api_base.is_some() || p.graph_base.is_some();
    match (p.client_id, secret) {
        (Some(client_id), Some(secret)) => Ok(Some(Credentials {
            client_id,
            client_secret: SecretString::from(secret),
            www_base: host(p.www_base, hosts[0]),
            api_base: host(p.api_base, hosts[1]),
            graph_base: host(p.graph_base, hosts[2]),
        })),
        (None, None) if !any_base => Ok(None),
        (None, None) => bail!(
            "{env} base URLs are set but no client id and secret: set HERALD_{env}_CLIENT_ID and HERALD_{env}_CLIENT_SECRET"
        ),
        _ => bail!(
            "set both HERALD_{env}_CLIENT_ID and HERALD_{env}_CLIENT_SECRET (or neither, to use the sandbox)"
        ),
    }
}

fn resolve(o: Opts) -> anyhow::Result<Settings> {
    let file: FileConfig = match &o.config {
        Some(p) => toml::from_str(
            &std::fs::read_to_string(p)
                .with_context(|| format!("reading the config file {}", p.display()))?,
        )
        .with_context(|| format!("the config file {} is invalid", p.display()))?,
        None => FileConfig::default(),
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
    if let Some(url) = o.public_url.or(file.public_url) {
        s.public_url = url;
    }
    s.signup_open = match o.signup.or(file.signup).as_deref() {
        None | Some("open") => true,
        Some("closed") => false,
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
    match o.password_hashes_at_once.or(file.password_hashes_at_once) {
        Some(0) => bail!("--password-hashes-at-once must be at least 1"),
        n => s.password_hashes_at_once = n.or(s.password_hashes_at_once),
    }
    if let Some(ms) = o.sandbox_processing_delay_ms.or(file.sandbox_processing_delay_ms) {
        s.sandbox_processing_delay = Duration::from_millis(ms);
    }
    s.keys = match (
        std::env::var("HERALD_MASTER_KEYS").ok(),
        o.master_keys_file.or(file.master_keys_file),
    ) {
        (Some(_), Some(_)) => bail!("set HERALD_MASTER_KEYS or HERALD_MASTER_KEYS_FILE, not both"),
        (Some(inline), None) => KeySetting::Inline(SecretString::from(inline)),
        (None, Some(path)) => KeySetting::File(path),
        (None, None) => KeySetting::File(data_dir.join("master.keys")),
    };
    let instagram = FilePlatform {
        client_id: o.instagram_client_id.or(file.instagram.client_id),
        client_secret: std::env::var("HERALD_INSTAGRAM_CLIENT_SECRET")
            .ok()
            .or(file.instagram.client_secret),
        client_secret_file: o
            .instagram_client_secret_file
            .or(file.instagram.client_secret_file),
        www_base: o.instagram_www_base.or(file.instagram.www_base),
        api_base: o.instagram_api_base.or(file.instagram.api_base),
        graph_base: o.instagram_graph_base.or(file.instagram.graph_base),
    };
    s.instagram = credentials(
        "INSTAGRAM",
        instagram,
        ["www.instagram.com", "api.instagram.com", "graph.instagram.com"],
    )?;
    let facebook = FilePlatform {
        client_id: o.facebook_client_id.or(file.facebook.client_id),
        client_secret: std::env::var("HERALD_FACEBOOK_CLIENT_SECRET")
            .ok()
            .or(file.facebook.client_secret),
        client_secret_file: o.facebook_client_secret_file.or(file.facebook.client_secret_file),
        www_base: o.facebook_www_base.or(file.facebook.www_base),
        api_base: o.facebook_rupload_base.or(file.facebook.api_base),
        graph_base: o.facebook_graph_base.or(file.facebook.graph_base),
    };
    s.facebook = credentials(
        "FACEBOOK",
        facebook,
        ["www.facebook.com", "rupload.facebook.com", "graph.facebook.com"],
    )?;
    Ok(s)
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
    if s.instagram.is_some() {
        println!("  Instagram:  real API");
    }
    if s.facebook.is_some() {
        println!("  Facebook:   real API");
    }
    println!("Press Ctrl-C to stop.");
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve => {
            let s = resolve(cli.opts)?;
            let app = herald::start(s.clone()).await?;
            banner(&app, &s);
            shutdown_signal().await;
            println!("Shutting down: finishing requests and deliveries in progress…");
            app.stop().await;
        }
        Command::Worker => {
            let mut s = resolve(cli.opts)?;
            if s.is_sqlite() {
                bail!(
                    "`herald worker` needs PostgreSQL (HERALD_DATABASE_URL=postgres://…): on SQLite, `herald serve` is the one process that dispatches"
                );
            }
            s.run_api = false;
            let app = herald::start(s).await?;
            println!("Herald worker is dispatching. Press Ctrl-C to stop.");
            shutdown_signal().await;
            app.stop().await;
        }
        Command::Sandbox {
            listen,
            trust_origins,
            redirect_uris,
            facebook_redirect_uris,
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
            for uri in &redirect_uris {
                sb.allow_instagram_redirect(uri);
            }
            for uri in &facebook_redirect_uris {
                sb.allow_facebook_redirect(uri);
            }
            let app = sb.config().instagram_app;
            let fb = sb.config().facebook_app;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("listening on {listen}"))?;
            // The address it got (with `--listen 127.0.0.1:0`, the port the system chose).
            let listen = listener.local_addr()?;
            println!("Herald sandbox on http://{listen}/_sandbox/");
            println!(
                "  Instagram app: client id {} (secret: {})",
                app.client_id, app.client_secret
            );
            println!(
                "  Point Herald at it with --instagram-{{www,api,graph}}-base http://{listen}/{{www,api,graph}}.instagram.com"
            );
            println!(
                "  Facebook app: client id {} (secret: {}); --facebook-{{www,graph}}-base http://{listen}/{{www,graph}}.facebook.com",
                fb.client_id, fb.client_secret
            );
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
        Command::Migrate => {
            let s = resolve(cli.opts)?;
            let db = herald_store::Db::connect(s.database_url.expose())
                .await
                .context("connecting to the database")?;
            db.migrate().await.context("migrating")?;
            println!("Migrations applied to {}", s.database_url.redacted());
        }
        Command::Keys(k) => {
            let s = resolve(cli.opts)?;
            let out = match k {
                KeysCommand::Rotate => herald::keys::rotate(&s).await?,
                KeysCommand::Status => herald::keys::status(&s).await?,
                KeysCommand::Retire { version } => herald::keys::retire(&s, version).await?,
            };
            println!("{}", out.trim_end());
        }
    }
    Ok(())
}

/// Secrets that have no flag (`ps` would show them), and where they go instead.
const SECRET_FLAGS: &[(&str, &str)] = &[
    (
        "--database-url",
        "HERALD_DATABASE_URL (or HERALD_DATABASE_URL_FILE, or database_url in the config file)",
    ),
    (
        "--instagram-client-secret",
        "HERALD_INSTAGRAM_CLIENT_SECRET (or its _FILE, or [instagram] client_secret in the config file)",
    ),
    (
        "--facebook-client-secret",
        "HERALD_FACEBOOK_CLIENT_SECRET (or its _FILE, or [facebook] client_secret in the config file)",
    ),
];

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
    match SECRET_FLAGS.iter().find(|(flag, _)| *flag == arg) {
        Some((_, instead)) => {
            eprintln!("{first}: secrets take no flags, as `ps` would show them; set {instead}")
        }
        None => eprintln!("{first} (see `herald --help`)"),
    }
    std::process::exit(2);
}

#[tokio::main]
async fn main() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::try_parse().unwrap_or_else(|e| usage_error(&e));
    if let Err(e) = run(cli).await {
        // One line, whatever the cause's formatting (TOML errors come with a multi-line snippet).
        let message = format!("{e:#}").split_whitespace().collect::<Vec<_>>().join(" ");
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}
