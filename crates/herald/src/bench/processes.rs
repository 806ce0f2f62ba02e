//! The run's processes, started from this very binary: the sandbox standing in for Facebook
//! (`herald sandbox`, quotas off), and Herald's dispatching processes, pointed at it as at Graph's
//! real hosts. Each logs to a file in the run's directory, has its memory watched
//! (`/proc/PID/status`), and is killed when dropped.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use herald_domain::platform::Login;
use herald_platforms::Registry;
use herald_sandbox::{Emulator, SandboxConfig};
use herald_store::Backend;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use url::Url;

use super::Plan;
use super::cpu::Watched;
use super::figures::{Publication, Publications};
use crate::config::Settings;

/// The loopback address, on a port the system picks.
pub(super) const LOOPBACK: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
/// How long a process may take to start.
const STARTUP: Duration = Duration::from_secs(30);
/// How long before the posts fall due every Herald process must be waiting for them.
const READY_BEFORE: SignedDuration = SignedDuration::from_millis(500);
/// What a dispatcher logs as it starts (the integration tests' fleet waits for it too).
const STARTED: &str = "dispatcher started";

/// A loopback address on a port free now (the process given it binds it a moment later).
fn free_port() -> anyhow::Result<SocketAddr> {
    let l = std::net::TcpListener::bind(LOOPBACK).context("finding a free port")?;
    Ok(l.local_addr()?)
}

/// `herald` itself, without the shell's `HERALD_*` settings (a config file or a database named
/// there would change what is measured), at the default log level, whose start-up line says when
/// a dispatcher is waiting.
fn herald(exe: &Path) -> Command {
    let mut cmd = Command::new(exe);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("HERALD_") {
            cmd.env_remove(&name);
        }
    }
    cmd.env("RUST_LOG", "info,sqlx=warn").stdin(Stdio::null());
    cmd
}

/// A process's resident memory, now and at its peak so far, in KiB.
#[derive(Debug, Clone, Copy)]
struct Memory {
    rss_kib: u64,
    peak_kib: u64,
}

/// `VmRSS` and `VmHWM` of `/proc/PID/status`; `None` once the process is gone, or off Linux.
fn read_memory(pid: u32) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    };
    Some(Memory {
        rss_kib: field("VmRSS:")?,
        peak_kib: field("VmHWM:")?,
    })
}

fn mb(kib: u64) -> f64 {
    super::figures::round(kib as f64 / 1024.0, 1)
}

/// A process's memory as the report gives it, in MiB: while it waited for the posts, and at its
/// peak.
#[derive(Debug, Clone, Copy, Serialize)]
pub(super) struct MemoryMb {
    pub role: &'static str,
    pub idle: Option<f64>,
    pub peak: Option<f64>,
}

/// One started process: what it is, its log, and its memory as sampled.
pub(super) struct Process {
    /// The `herald` command it runs: `sandbox`, `serve` or `worker`.
    role: &'static str,
    child: Child,
    log: PathBuf,
    idle: Option<Memory>,
    peak_kib: Option<u64>,
}

impl Process {
    fn start(mut cmd: Command, role: &'static str, log: PathBuf) -> anyhow::Result<Self> {
        let file = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let child = cmd
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("starting `herald {role}`"))?;
        Ok(Self {
            role,
            child,
            log,
            idle: None,
            peak_kib: None,
        })
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Fails, with the end of its log, if the process has exited.
    pub(super) fn check(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            let log = self.log();
            let mut tail: Vec<&str> = log.lines().rev().take(3).collect();
            tail.reverse();
            bail!(
                "`herald {}` exited ({status}); the end of its log: {}",
                self.role,
                tail.join(" / ")
            );
        }
        Ok(())
    }

    /// Reads the process's peak memory so far.
    pub(super) fn sample(&mut self) {
        if let Some(m) = read_memory(self.child.id()) {
            self.peak_kib = Some(self.peak_kib.unwrap_or(0).max(m.peak_kib));
        }
    }

    /// Reads the process's memory while it waits for work.
    pub(super) fn sample_idle(&mut self) {
        self.idle = read_memory(self.child.id());
        self.sample();
    }

    /// The process for the account of CPU time, under the name of its command.
    pub(super) fn watched(&self) -> Watched {
        Watched {
            role: self.role.to_owned(),
            pid: self.child.id(),
        }
    }

    pub(super) fn memory(&mut self) -> MemoryMb {
        self.sample();
        MemoryMb {
            role: self.role,
            idle: self.idle.map(|m| mb(m.rss_kib)),
            peak: self.peak_kib.map(mb),
        }
    }
}

impl Drop for Process {
    /// Nothing the run started outlives it.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The sandbox in a process of its own.
pub(super) struct SandboxProcess {
    pub process: Process,
    /// Where it answers: `http://127.0.0.1:PORT/`.
    pub base: Url,
}

impl SandboxProcess {
    /// Starts `herald sandbox` with the platforms' quotas off, and waits until it answers.
    pub(super) async fn start(exe: &Path, dir: &Path, http: &reqwest::Client) -> anyhow::Result<Self> {
        let addr = free_port()?;
        let mut cmd = herald(exe);
        cmd.args(["sandbox", "--listen", &addr.to_string(), "--no-limits"]);
        let mut process = Process::start(cmd, "sandbox", dir.join("sandbox.log"))?;
        let base = Url::parse(&format!("http://{addr}/"))?;
        let probe = base.join("_sandbox/limits")?;
        let deadline = Instant::now() + STARTUP;
        while !http
            .get(probe.clone())
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            process.check()?;
            if Instant::now() > deadline {
                bail!("the sandbox did not answer within {} s", STARTUP.as_secs());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Self { process, base })
    }

    /// Adds one Facebook Page per token, granted to the Facebook app with that token as its Page
    /// token; returns their ids, in the tokens' order.
    pub(super) async fn seed_pages(
        &self,
        http: &reqwest::Client,
        tokens: &[String],
    ) -> anyhow::Result<Vec<String>> {
        #[derive(Serialize)]
        struct Seed<'a> {
            count: usize,
            tokens: &'a [String],
        }
        #[derive(Deserialize)]
        struct Seeded {
            data: Vec<String>,
        }
        let r = http
            .post(self.base.join("_sandbox/facebook/pages")?)
            .json(&Seed {
                count: tokens.len(),
                tokens,
            })
            .send()
            .await?;
        if !r.status().is_success() {
            bail!(
                "the sandbox did not add {} Pages: {}",
                tokens.len(),
                r.text().await.unwrap_or_default()
            );
        }
        Ok(r.json::<Seeded>().await?.data)
    }

    /// Every publication the sandbox holds.
    pub(super) async fn publications(&self, http: &reqwest::Client) -> anyhow::Result<Vec<Publication>> {
        let r = http
            .get(self.base.join("_sandbox/publications")?)
            .send()
            .await?
            .error_for_status()?;
        Ok(r.json::<Publications>().await?.data)
    }
}

/// Herald's dispatching processes: one `herald serve` on SQLite, a `herald worker` each on
/// PostgreSQL.
pub(super) struct Fleet {
    processes: Vec<Process>,
}

impl Fleet {
    /// Starts the processes on the run's directory and database. Facebook's app is the sandbox's,
    /// reached where Graph's real hosts would be; every other login is left unconfigured and no
    /// built-in sandbox runs beside the dispatcher, so each process holds what production would.
    pub(super) fn start(exe: &Path, plan: &Plan, settings: &Settings, sandbox: &Url) -> anyhow::Result<Self> {
        let login = Login::Facebook;
        let app = SandboxConfig::default().app(Emulator::Facebook);
        let word = crate::apps::flag_word(login);
        let mut processes = Vec::with_capacity(plan.processes);
        for i in 0..plan.processes {
            let mut cmd = herald(exe);
            let role = match plan.backend {
                Backend::Sqlite => {
                    cmd.args(["serve", "--listen", &free_port()?.to_string()]);
                    "serve"
                }
                Backend::Postgres => {
                    cmd.arg("worker");
                    "worker"
                }
            };
            cmd.arg("--data-dir")
                .arg(&settings.data_dir)
                .args(["--sandbox", "off"])
                .arg(format!("--{word}-client-id"))
                .arg(&app.client_id)
                .env(
                    format!("HERALD_{}_CLIENT_SECRET", login.as_str().to_uppercase()),
                    &app.client_secret,
                )
                .env("HERALD_DATABASE_URL", settings.database_url.expose())
                .envs(plan.tuning.env());
            for (_, host) in Registry::hosts(login).each() {
                cmd.arg(format!("--{word}-{}-base", crate::apps::label(host)))
                    .arg(sandbox.join(host)?.as_str());
            }
            let log = settings.data_dir.join(format!("herald-{i}.log"));
            processes.push(Process::start(cmd, role, log)?);
        }
        Ok(Self { processes })
    }

    /// Waits until every process's dispatcher has started, half a second before `due` at the
    /// latest: a process that exits instead fails the run, and so does a start so slow that the
    /// first posts would be late for a reason that is no part of dispatching.
    pub(super) async fn wait_ready(
        &mut self,
        sandbox: &mut SandboxProcess,
        due: Timestamp,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + STARTUP;
        while !self.processes.iter().all(|p| p.log().contains(STARTED)) {
            self.check()?;
            sandbox.process.check()?;
            if Instant::now() > deadline {
                bail!(
                    "Herald's processes did not all start dispatching within {} s",
                    STARTUP.as_secs()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if Timestamp::now() > due - READY_BEFORE {
            bail!(
                "Herald's processes were not all waiting half a second before the posts fell due: the machine was too busy to start them in time; run again"
            );
        }
        Ok(())
    }

    /// Fails, with the end of its log, if a process has exited.
    pub(super) fn check(&mut self) -> anyhow::Result<()> {
        self.processes.iter_mut().try_for_each(Process::check)
    }

    pub(super) fn sample(&mut self) {
        self.processes.iter_mut().for_each(Process::sample);
    }

    pub(super) fn sample_idle(&mut self) {
        self.processes.iter_mut().for_each(Process::sample_idle);
    }

    pub(super) fn memory(&mut self) -> Vec<MemoryMb> {
        self.processes.iter_mut().map(Process::memory).collect()
    }

    /// The processes for the account of CPU time; several are told apart by the number of their
    /// log (`herald-N.log`).
    pub(super) fn watched(&self) -> Vec<Watched> {
        let several = self.processes.len() > 1;
        self.processes
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut w = p.watched();
                if several {
                    w.role = format!("{} {i}", w.role);
                }
                w
            })
            .collect()
    }
}
