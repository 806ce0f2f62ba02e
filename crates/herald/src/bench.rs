//! `herald bench`: how late and how fast Herald publishes a burst of posts all due at one instant
//! (or a steady stream), to many Facebook Pages of the sandbox running in its own process, on
//! SQLite or on PostgreSQL with one or several dispatching processes; and, in the same run, how
//! many of the same create-post calls the sandbox answers with no Herald in between (the ceiling),
//! since Herald's share of that is what compares across machines. Prints one JSON line; progress
//! goes to standard error.

mod cpu;
mod figures;
mod processes;
mod setup;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use herald_domain::delivery::DeliveryStatus;
use herald_store::Backend;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::config::Settings;
use figures::{Drain, LatenessMs};
use processes::{Fleet, SandboxProcess};

/// The most posts one run publishes.
const MAX_POSTS: u64 = 1_000_000;
/// How often the database is asked how many deliveries are left, and memory is sampled.
const POLL: Duration = Duration::from_millis(200);
/// How often progress is reported while the posts go out.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// Create-post calls the ceiling makes, at least and at most (the run's post count in between).
const CEILING_CALLS: (usize, usize) = (1_000, 20_000);

/// The database a run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendArg {
    Sqlite,
    Postgres,
}

/// `herald bench`: one run, its figures printed as one JSON line.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// The database Herald runs on: a fresh one in a temporary directory (SQLite), or a fresh
    /// database on the --database-url server (PostgreSQL), dropped after the run.
    #[arg(long, value_enum)]
    backend: BackendArg,
    /// The PostgreSQL server to make the run's database on, e.g.
    /// postgres://postgres@127.0.0.1:5432/postgres (a throwaway server: a password here shows in `ps`).
    #[arg(long)]
    database_url: Option<String>,
    /// Herald processes dispatching (`herald serve` on SQLite, where one dispatches; `herald worker`
    /// each on PostgreSQL).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=16))]
    processes: u16,
    /// Posts in the burst, all due at the same instant, each to one Page.
    #[arg(long, default_value_t = 10_000, conflicts_with = "steady", value_parser = clap::value_parser!(u64).range(1..=MAX_POSTS))]
    posts: u64,
    /// Facebook Pages the posts are spread over (a text post is one platform call).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    accounts: u64,
    /// A steady stream instead of a burst: this many posts due every second, for --seconds.
    #[arg(long, requires = "seconds", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    steady: Option<u32>,
    /// How long the steady stream lasts.
    #[arg(long, requires = "steady", value_parser = clap::value_parser!(u64).range(1..=3_600))]
    seconds: Option<u64>,
    /// Give up when the posts are not all published this many seconds after they fell due
    /// (default: a minute, plus the stream's length, plus a second for every 50 posts).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    timeout_secs: Option<u64>,
}

/// The dispatcher's settings a run gives every Herald process: the global flags
/// (`--concurrency`, `--claim-size`, `--per-account`, `--pool-size`) given to `herald bench`; each
/// process's own default where not given.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Tuning {
    pub concurrency: Option<usize>,
    pub claim_size: Option<usize>,
    pub per_account: Option<usize>,
    pub pool_size: Option<u32>,
}

impl Tuning {
    /// The variables that carry the settings given to a Herald process.
    fn env(&self) -> Vec<(&'static str, String)> {
        [
            ("HERALD_CONCURRENCY", self.concurrency.map(|v| v.to_string())),
            ("HERALD_CLAIM_SIZE", self.claim_size.map(|v| v.to_string())),
            ("HERALD_PER_ACCOUNT", self.per_account.map(|v| v.to_string())),
            ("HERALD_DB_POOL_SIZE", self.pool_size.map(|v| v.to_string())),
        ]
        .into_iter()
        .filter_map(|(name, v)| v.map(|v| (name, v)))
        .collect()
    }
}

/// One run, checked: what is published where, and when.
struct Plan {
    backend: Backend,
    /// The PostgreSQL server the run's database is made on.
    server: Option<String>,
    processes: usize,
    accounts: usize,
    posts: usize,
    /// Posts due each second, for a steady stream; `None` for a burst.
    rate: Option<u32>,
    tuning: Tuning,
    timeout: Duration,
}

impl Plan {
    fn new(a: BenchArgs, tuning: Tuning) -> anyhow::Result<Self> {
        let backend = match a.backend {
            BackendArg::Sqlite => Backend::Sqlite,
            BackendArg::Postgres => Backend::Postgres,
        };
        match (backend, &a.database_url) {
            (Backend::Sqlite, Some(_)) => bail!(
                "--database-url is for --backend postgres: a SQLite run makes its database in a temporary directory"
            ),
            (Backend::Postgres, None) => bail!(
                "--backend postgres needs a server to make the run's database on: add --database-url postgres://USER@HOST:PORT/DB"
            ),
            (Backend::Postgres, Some(url)) if crate::config::DatabaseUrl::new(url.as_str()).is_sqlite() => {
                bail!("--database-url must be a postgres:// URL")
            }
            _ => {}
        }
        if backend == Backend::Sqlite && a.processes > 1 {
            bail!(
                "--processes {}: on SQLite one process dispatches (`herald serve`); use --backend postgres for several",
                a.processes
            );
        }
        let (posts, stream) = match (a.steady, a.seconds) {
            (Some(rate), Some(secs)) => (u64::from(rate) * secs, secs),
            _ => (a.posts, 0),
        };
        if posts > MAX_POSTS {
            bail!(
                "--steady {} --seconds {stream} makes {posts} posts; a run publishes at most {MAX_POSTS}",
                a.steady.unwrap_or_default()
            );
        }
        let timeout = a.timeout_secs.unwrap_or(60 + stream + posts / 50);
        Ok(Self {
            backend,
            server: a.database_url,
            processes: usize::from(a.processes),
            accounts: usize::try_from(a.accounts)?,
            posts: usize::try_from(posts)?,
            rate: a.steady,
            tuning,
            timeout: Duration::from_secs(timeout),
        })
    }

    /// How long after the run's time post `i` falls due, in microseconds: at once in a burst, at
    /// its turn in a steady stream.
    fn offset(&self, i: usize) -> i64 {
        self.rate.map_or(0, |rate| i as i64 * 1_000_000 / i64::from(rate))
    }
}

/// The run's directory (Herald's data directory with its SQLite database, and every process's
/// log): removed at the end, kept when the run failed, for the logs.
struct WorkDir {
    path: PathBuf,
    keep: bool,
}

impl WorkDir {
    fn create() -> anyhow::Result<Self> {
        let path = std::env::temp_dir().join(format!("herald-bench-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self { path, keep: false })
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// What one run prints.
#[derive(Serialize)]
struct Report {
    /// `burst` or `steady`.
    bench: &'static str,
    backend: &'static str,
    processes: usize,
    n: usize,
    accounts: usize,
    /// Posts due each second, for a steady stream.
    rate_per_sec: Option<u32>,
    tuning: Tuning,
    durability: BTreeMap<&'static str, String>,
    /// Posts the sandbox holds from the run, each counted once.
    drained: usize,
    /// Copies beyond the first (Herald publishes each post exactly once: never more than 0).
    duplicates: usize,
    drain_per_sec: f64,
    ceiling_per_sec: f64,
    share_of_ceiling: f64,
    lateness_ms: LatenessMs,
    early: usize,
    rss_mb: Vec<processes::MemoryMb>,
    sandbox_peak_rss_mb: Option<f64>,
    /// Where the CPU time went while the posts drained.
    cpu: cpu::Cpu,
    /// The resource that limited the drain, by the rules of [`cpu::limit`].
    limit: String,
}

/// Runs `herald bench` and prints its JSON line; whatever happens, the processes it started are
/// stopped and its database dropped.
pub async fn run(args: BenchArgs, tuning: Tuning) -> anyhow::Result<()> {
    let plan = Plan::new(args, tuning)?;
    let exe = std::env::current_exe().context("finding the herald binary to start")?;
    let mut work = WorkDir::create()?;
    let mut settings = Settings::local(work.path.clone(), processes::LOOPBACK);
    let scratch = setup::Scratch::create(&plan, &mut settings).await?;
    let outcome = tokio::select! {
        r = measure(&plan, &exe, &settings) => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
    };
    scratch.drop_database().await;
    match outcome {
        Ok(report) => {
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }
        Err(e) => {
            work.keep = true;
            Err(anyhow!("{e:#} (logs kept in {})", work.path.display()))
        }
    }
}

/// The run itself: the sandbox and its Pages, the database and the posts, Herald's processes,
/// the wait while the posts go out, then the figures and the ceiling.
async fn measure(plan: &Plan, exe: &Path, settings: &Settings) -> anyhow::Result<Report> {
    let dir = &settings.data_dir;
    let http = reqwest::Client::new();
    eprintln!("bench: starting the sandbox");
    let mut sandbox = SandboxProcess::start(exe, dir, &http).await?;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let tokens: Vec<String> = (0..plan.accounts)
        .map(|_| format!("EAAbench{}", uuid::Uuid::new_v4().simple()))
        .collect();
    let pages = sandbox.seed_pages(&http, &tokens).await?;
    let accounts: Vec<(String, String)> = pages.into_iter().zip(tokens).collect();
    eprintln!(
        "bench: writing {} Pages and {} posts to the database",
        accounts.len(),
        plan.posts
    );
    let prefix = post_prefix(&run);
    let seeded = setup::seed(plan, settings, &accounts, &prefix).await?;
    let (store, ws, due) = (seeded.store, seeded.ws, seeded.due);
    eprintln!(
        "bench: starting {} Herald process(es); the posts fall due at {due}",
        plan.processes
    );
    let mut fleet = Fleet::start(exe, plan, settings, &sandbox.base)?;
    fleet.wait_ready(&mut sandbox, due).await?;
    // Idle: started, nothing due yet.
    sleep_until(due - SignedDuration::from_millis(300)).await;
    fleet.sample_idle();
    sandbox.process.sample_idle();
    let mut watched = vec![cpu::Watched::bench(), sandbox.process.watched()];
    watched.extend(fleet.watched());
    sleep_until(due).await;
    let window = cpu::Window::open(watched, plan.backend == Backend::Postgres);
    wait_published(plan, &store, ws, &mut fleet, &mut sandbox).await?;
    let cpu_time = window.close();
    let rss_mb = fleet.memory();
    eprintln!("bench: every post is published; reading the sandbox's record");
    let publications = sandbox.publications(&http).await?;
    let due_of = |i: usize| due.as_microsecond() + plan.offset(i);
    let drain = Drain::from_publications(&publications, &prefix, plan.posts, due_of)?;
    // The ceiling is measured with no Herald running beside it.
    drop(fleet);
    let calls = plan.posts.clamp(CEILING_CALLS.0, CEILING_CALLS.1);
    eprintln!("bench: measuring the ceiling: {calls} create-post calls straight to the sandbox");
    let graph = sandbox
        .base
        .join(&format!("graph.facebook.com/{}/", settings.graph_version))?;
    let ceiling_prefix = format!("herald bench {run} ceiling ");
    let ceiling = figures::ceiling(&http, &graph, &accounts, calls, &ceiling_prefix).await?;
    let durability = store.db().durability().await?.into_iter().collect();
    store.db().close().await;
    Ok(Report {
        bench: if plan.rate.is_some() { "steady" } else { "burst" },
        backend: match plan.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        },
        processes: plan.processes,
        n: plan.posts,
        accounts: plan.accounts,
        rate_per_sec: plan.rate,
        tuning: plan.tuning,
        durability,
        drained: drain.drained,
        duplicates: drain.duplicates,
        drain_per_sec: figures::round(drain.per_sec, 1),
        ceiling_per_sec: figures::round(ceiling, 1),
        share_of_ceiling: figures::round(drain.per_sec / ceiling, 3),
        lateness_ms: drain.lateness,
        early: drain.early,
        rss_mb,
        sandbox_peak_rss_mb: sandbox.process.memory().peak,
        limit: cpu::limit(&cpu_time),
        cpu: cpu_time,
    })
}

/// Sleeps until `at`; returns at once if it has passed.
async fn sleep_until(at: Timestamp) {
    if let Ok(wait) = Duration::try_from(at.duration_since(Timestamp::now())) {
        tokio::time::sleep(wait).await;
    }
}

/// The text of the run's posts, before each post's number: unique to the run, so the sandbox's
/// record of them is told from anything else it holds.
fn post_prefix(run: &str) -> String {
    format!("herald bench {run} post ")
}

/// Waits until every delivery of the run is published, watching the processes and their memory;
/// fails on a delivery that ended otherwise, a process that exited, or the run's timeout.
async fn wait_published(
    plan: &Plan,
    store: &herald_store::Store,
    ws: herald_domain::WorkspaceId,
    fleet: &mut Fleet,
    sandbox: &mut SandboxProcess,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + plan.timeout;
    let mut reported = Instant::now();
    loop {
        fleet.check()?;
        sandbox.process.check()?;
        fleet.sample();
        sandbox.process.sample();
        let left = store.unpublished(ws).await?;
        let ended: Vec<String> = left
            .iter()
            .filter(|(s, _)| s.is_final() || *s == DeliveryStatus::NeedsReconnect)
            .map(|(s, n)| format!("{n} {}", s.as_str()))
            .collect();
        if !ended.is_empty() {
            bail!(
                "deliveries ended other than published ({}); the Herald processes' logs say why",
                ended.join(", ")
            );
        }
        let waiting: i64 = left.iter().map(|(_, n)| n).sum();
        if waiting == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "{waiting} of {} deliveries were still not published {} s after they fell due (--timeout-secs allows longer)",
                plan.posts,
                plan.timeout.as_secs()
            );
        }
        if reported.elapsed() >= PROGRESS_EVERY {
            eprintln!(
                "bench: {} of {} published",
                plan.posts as i64 - waiting,
                plan.posts
            );
            reported = Instant::now();
        }
        tokio::time::sleep(POLL).await;
    }
}
