//! Wiring: the store, the vault, the platform registry (real or sandboxed apps), the API and the dispatcher.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, bail};
use std::collections::HashMap;

use herald_dispatch::Dispatcher;
use herald_domain::platform::Login;
use herald_domain::profile::{Backend, Backends};
use herald_platforms::{App, Registry, RegistryConfig};
use herald_sandbox::{Emulator, Sandbox, SandboxConfig};
use herald_server::{AppState, Hashing, ServerConfig};
use herald_store::{Db, Store};
use herald_vault::UrlSigner;
use secrecy::SecretString;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use url::Url;

use crate::config::{KeySetting, Settings};

/// A started Herald: where it listens, its store, its sandbox (if any), and how to stop it.
pub struct RunningApp {
    /// Where the API listens (a worker, which listens on nothing, reports its configured address).
    pub addr: SocketAddr,
    pub public_url: Url,
    pub store: Store,
    pub sandbox: Option<Sandbox>,
    /// Why the built-in sandbox runs or not, for the start-up banner.
    pub sandbox_status: String,
    /// The code the instance's first account needs, for the start-up banner: made when the
    /// public URL is not loopback and no account exists yet.
    pub setup_code: Option<Arc<SecretString>>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    _dispatch_lock: Option<std::fs::File>,
}

impl RunningApp {
    /// Stops accepting work, lets in-flight requests and deliveries finish, and waits for both.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        self.store.db().close().await;
    }

    /// A future that resolves when shutdown is requested.
    fn signal(rx: &watch::Receiver<bool>) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = rx.clone();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    }
}

fn url_under(base: &Url, prefix: &str) -> Url {
    let mut u = base.clone();
    let path = u.path().trim_end_matches('/').to_owned();
    u.set_path(&format!("{path}/{prefix}"));
    u
}

/// On SQLite only one process may dispatch: an exclusive lock on a file in the data directory.
fn dispatch_lock(settings: &Settings) -> anyhow::Result<std::fs::File> {
    let path = settings.data_dir.join("dispatcher.lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(_) => bail!(
            "another Herald process is already dispatching from {} (on SQLite only one process may dispatch); stop it, or use PostgreSQL to run several workers",
            settings.data_dir.display()
        ),
    }
}

/// Starts the configured parts and returns once they listen.
pub async fn start(settings: Settings) -> anyhow::Result<RunningApp> {
    let (sandbox_on, sandbox_status) = settings.sandbox_allowed()?;
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("creating the data directory {}", settings.data_dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&settings.data_dir, std::fs::Permissions::from_mode(0o700));
    }
    let db = Db::connect_sized(settings.database_url.expose(), settings.pool_size)
        .await
        .with_context(|| {
            format!(
                "connecting to the database ({})",
                settings.database_url.redacted()
            )
        })?;
    db.migrate().await.context("migrating the database")?;
    if let KeySetting::File(path) = &settings.keys
        && !path.exists()
        && db.data_key_count().await? > 0
    {
        bail!(
            "refusing to start: the master keyring {} is missing but the database holds encrypted tokens; restore the file from your backup",
            path.display()
        );
    }
    let vault = crate::keys::load_or_create(&settings.keys).context("refusing to start")?;
    let ring = vault.ring();
    let store =
        Store::new(db, Arc::new(vault), settings.clock.clone()).with_audit_heads(settings.audit_heads());
    if let Err(why) = store.verify_data_keys(&ring).await {
        bail!(
            "refusing to start: {why}. Restore the keyring that wrapped them (HERALD_MASTER_KEYS or the master.keys file)."
        );
    }
    let dispatch_lock = if settings.run_dispatcher && settings.is_sqlite() {
        Some(dispatch_lock(&settings)?)
    } else {
        None
    };

    // Only a process that serves the API listens: workers on one host never compete for a port.
    let listener = match settings.run_api {
        true => Some(
            tokio::net::TcpListener::bind(settings.listen)
                .await
                .with_context(|| format!("listening on {}", settings.listen))?,
        ),
        false => None,
    };
    let addr = match &listener {
        Some(l) => l.local_addr()?,
        None => settings.listen,
    };
    let mut public_url = settings.public_url.clone();
    if public_url.port() == Some(0) {
        let _ = public_url.set_port(Some(addr.port()));
    }

    // The built-in sandbox stands in for every platform that has no real credentials, where
    // nobody else can reach it.
    let backend = |real: bool| match (real, sandbox_on) {
        (true, _) => Backend::Real,
        (false, true) => Backend::Sandbox,
        (false, false) => Backend::Unconfigured,
    };
    let backends = Backends::new(Login::ALL.map(|l| (l, backend(settings.apps.contains_key(&l)))));
    let emulated: Vec<Emulator> = Login::ALL
        .into_iter()
        .filter(|l| backends.get(*l) == Backend::Sandbox)
        .filter_map(|l| Emulator::for_login(l.as_str()))
        .collect();
    let exposed = sandbox_on && settings.reachable_by_others();
    if !sandbox_on || exposed {
        tracing::warn!("built-in sandbox {sandbox_status}");
    }
    if exposed {
        eprintln!("WARNING: the built-in sandbox is {sandbox_status}.");
    }
    let sandbox = (!emulated.is_empty()).then(|| {
        let sb = Sandbox::new(SandboxConfig {
            processing_delay: settings.sandbox_processing_delay,
            ..SandboxConfig::default()
        });
        // It downloads media from Herald itself, as Meta's fetcher would, and from nowhere else.
        sb.trust_origin(&public_url);
        sb
    });
    // The process that serves the API owns the profiles' state; a worker only refuses, through
    // its own backends, to send a token elsewhere.
    if settings.run_api {
        let (held, restored) = store.reconcile_backends(&backends).await?;
        if held > 0 {
            tracing::warn!(
                profiles = held,
                "profiles whose tokens came from another backend (the sandbox, or a platform app no longer configured) need reconnecting; nothing is sent for them"
            );
        }
        for (ws, profile) in restored {
            store.requeue_after_reconnect(ws, profile).await?;
        }
    }
    // Each login's app: the real one where credentials are configured, else the sandbox's (or,
    // with no sandbox, an app nothing calls: the login is unconfigured, and connecting is refused).
    let mut apps = HashMap::new();
    for login in Login::ALL {
        let app = match (settings.apps.get(&login), &sandbox) {
            (Some(real), _) => real.clone(),
            (None, sb) => {
                let emulator = Emulator::for_login(login.as_str()).expect("the sandbox emulates every login");
                let app = match sb {
                    Some(sb) => {
                        let callback = url_under(&public_url, &format!("oauth/{}/callback", login.as_str()));
                        sb.allow_redirect(emulator, callback.as_str());
                        sb.app(emulator)
                    }
                    None => SandboxConfig::default().app(emulator),
                };
                App::under(
                    login,
                    app.client_id,
                    SecretString::from(app.client_secret),
                    Some(&public_url),
                )
            }
        };
        apps.insert(login, app);
    }
    let platforms = Registry::new(&RegistryConfig {
        apps,
        graph_version: settings.graph_version.clone(),
        media_domain_verified: settings.media_domain_verified,
    })
    .map_err(|e| anyhow::anyhow!("refusing to start: {e}"))?;
    let signer = UrlSigner::new(store.vault_handle());
    let (shutdown, rx) = watch::channel(false);
    let mut tasks = Vec::new();
    let wake = Arc::new(Notify::new());
    // A worker serves no API; where asked, it answers its health, readiness and metrics alone.
    if !settings.run_api
        && let Some(at) = settings.metrics_listen
    {
        let listener = tokio::net::TcpListener::bind(at)
            .await
            .with_context(|| format!("listening on {at} for /metrics"))?;
        let ops = herald_server::ops_router(store.clone(), settings.metrics.clone());
        tasks.push(tokio::spawn(herald_server::serve(
            listener,
            ops,
            settings.http,
            RunningApp::signal(&rx),
        )));
    }
    // Every process sweeps what is kept for 90 days only (several at once only repeat deletes).
    tasks.push(tokio::spawn(crate::retention::sweeper(
        store.clone(),
        RunningApp::signal(&rx),
    )));

    if settings.run_dispatcher {
        if dispatch_lock.is_some() {
            // The only dispatcher on this database: the deliveries in flight were this process's
            // before it stopped, so they resume now instead of when their leases would lapse.
            let n = store.resume_in_flight().await?;
            if n > 0 {
                tracing::info!(
                    deliveries = n,
                    "resuming deliveries that were in flight when Herald stopped"
                );
            }
        }
        let settings_d = herald_dispatch::Settings {
            lease: settings.lease,
            retry: settings.retry,
            expiring_soon: settings.expiring_soon,
            backstop: settings.poll,
            backends: backends.clone(),
            concurrency: settings.concurrency,
            claim_size: settings.claim_size,
            per_account: settings.per_account,
            shutdown_grace: settings.shutdown_grace,
            ..Default::default()
        };
        let d = Dispatcher::new(
            store.clone(),
            platforms.clone(),
            signer.clone(),
            public_url.clone(),
            wake.clone(),
            settings_d,
        );
        tasks.push(tokio::spawn(d.clone().care_for_tokens(RunningApp::signal(&rx))));
        tasks.push(tokio::spawn(d.run(RunningApp::signal(&rx))));
    }
    let mut setup_code = None;
    if let Some(listener) = listener {
        let hashing = settings
            .password_hashes_at_once
            .map_or_else(Hashing::per_core, Hashing::new);
        hashing
            .warm()
            .await
            .map_err(|e| anyhow::anyhow!("preparing password checks: {e}"))?;
        if settings.setup_code_needed() && !store.instance_claimed().await? {
            setup_code = Some(Arc::new(herald_server::new_setup_code()));
        }
        let config = ServerConfig {
            setup_code: setup_code.clone(),
            public_url: public_url.clone(),
            media_dir: settings.data_dir.join("media"),
            signup_open: settings.signup_open,
            max_upload_bytes: settings.max_upload_bytes,
            upload_timeout: settings.upload_timeout,
            trusted_proxies: settings.trusted_proxies.clone(),
            signups_per_hour: settings.signups_per_hour,
            session_idle: settings.session_idle,
            expiring_soon: settings.expiring_soon,
            session_lifetime: std::time::Duration::from_secs(30 * 24 * 3600),
            backends,
        };
        let state = AppState {
            store: store.clone(),
            config: Arc::new(config),
            platforms,
            signer,
            wake,
            hashing,
            choices: herald_server::ChoiceCache::default(),
            metrics: settings.metrics.clone(),
        };
        tasks.push(tokio::spawn(herald_server::janitor(
            state.clone(),
            RunningApp::signal(&rx),
        )));
        let router = herald_server::router(state, sandbox.as_ref().map(|sb| sb.router_for(&emulated)));
        let stop = RunningApp::signal(&rx);
        tasks.push(tokio::spawn(herald_server::serve(
            listener,
            router,
            settings.http,
            stop,
        )));
    }
    Ok(RunningApp {
        addr,
        public_url,
        store,
        sandbox,
        sandbox_status,
        setup_code,
        shutdown,
        tasks,
        _dispatch_lock: dispatch_lock,
    })
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}
