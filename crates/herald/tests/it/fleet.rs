//! Herald as real processes (`herald serve`, `herald worker`) on one database, against a sandbox
//! in this test process that outlives them: what the crash tests and the fault harness kill with
//! SIGKILL and start again.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use herald_domain::platform::{Login, Platform};
use herald_platforms::Registry;
use herald_sandbox::{Sandbox, SandboxConfig};
use herald_store::Backend;
use herald_store::testing::TestDatabase;
use url::Url;

use crate::harness::{TestApp, client};

/// What a process of the fleet runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Role {
    /// `herald serve` on a port of its own: the API and a dispatcher.
    Serve,
    /// `herald worker`: a dispatcher alone (PostgreSQL only).
    Worker,
}

struct Process {
    role: Role,
    /// The port a `serve` listens on (kept across restarts).
    port: u16,
    child: Option<Child>,
}

/// Herald processes sharing a database and a data directory, the first one a `serve` that
/// [`Fleet::app`] talks to.
pub struct Fleet {
    pub app: TestApp,
    processes: Vec<Process>,
    db_url: String,
    /// Flags every process is started with, beyond the fleet's own.
    flags: Vec<String>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Fleet {
    /// Starts the sandbox, then one process per role (the first must be [`Role::Serve`]), each
    /// logging to `herald-{i}.log` in the data directory.
    pub async fn start(backend: Backend, sandbox: SandboxConfig, roles: &[Role]) -> Self {
        Self::start_with(backend, sandbox, roles, &[]).await
    }

    /// As [`Fleet::start`], every process also given `flags` (`--concurrency 4`, say).
    pub async fn start_with(
        backend: Backend,
        sandbox: SandboxConfig,
        roles: &[Role],
        flags: &[&str],
    ) -> Self {
        assert_eq!(
            roles.first(),
            Some(&Role::Serve),
            "the first process serves the API"
        );
        let sandbox = Sandbox::new(sandbox);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sandbox_base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let served = herald_sandbox::serve(sandbox.clone(), listener, std::future::pending());
        let sandbox_task = tokio::spawn(async move {
            let _ = served.await;
        });
        let processes: Vec<Process> = roles
            .iter()
            .map(|&role| Process {
                role,
                port: free_port(),
                child: None,
            })
            .collect();
        let base = Url::parse(&format!("http://127.0.0.1:{}/", processes[0].port)).unwrap();
        for p in processes.iter().filter(|p| p.role == Role::Serve) {
            let url = Url::parse(&format!("http://127.0.0.1:{}/", p.port)).unwrap();
            // Every platform's callback, as a developer registers it with each app.
            for platform in Platform::ALL.into_iter().filter(|p| p.is_available()) {
                let login = platform.login().unwrap();
                let emulator = herald_sandbox::Emulator::for_login(login.as_str()).unwrap();
                let callback = url
                    .join(&format!("oauth/{}/callback", platform.as_str()))
                    .unwrap();
                sandbox.allow_redirect(emulator, callback.as_str());
            }
            sandbox.trust_origin(&url);
        }
        let db = TestDatabase::create(backend).await;
        let dir = std::env::temp_dir().join(format!("herald-fleet-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut settings = herald::Settings::local(
            dir.clone(),
            format!("127.0.0.1:{}", processes[0].port).parse().unwrap(),
        );
        // What the test reads behind Herald's back is the processes' database.
        settings.database_url = herald::config::DatabaseUrl::new(db.url.clone());
        let mut fleet = Self {
            db_url: db.url.clone(),
            app: TestApp {
                base,
                sandbox_base,
                sandbox,
                app: None,
                settings,
                db: Some(db),
                dir,
                client: client(),
                ws: String::new(),
                sandbox_task: Some(sandbox_task),
            },
            processes,
            flags: flags.iter().map(|f| (*f).to_owned()).collect(),
        };
        // The first start writes the data directory's keyring, which the others then read.
        for i in 0..roles.len() {
            fleet.restart(i).await;
        }
        fleet
    }

    /// How many processes the fleet has.
    pub fn len(&self) -> usize {
        self.processes.len()
    }

    /// Kills process `i` with SIGKILL (nothing it holds is handed back) and reaps it.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.processes[i].child.take() {
            child.kill().expect("SIGKILL");
            child.wait().unwrap();
        }
    }

    /// Interrupts process `i` as Ctrl-C does (SIGINT) and waits for it to exit by itself (a
    /// minute at most); returns how it exited.
    pub async fn interrupt(&mut self, i: usize) -> std::process::ExitStatus {
        let mut child = self.processes[i].child.take().expect("process {i} runs");
        let sent = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGINT was sent");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if tokio::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!(
                    "process {i} did not exit within a minute of SIGINT: {}",
                    self.log(i)
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts process `i` (again), and waits until its dispatcher has started (and a `serve`
    /// answers): a process that exits instead fails the test with the end of its log.
    pub async fn restart(&mut self, i: usize) {
        self.kill(i);
        let started = self.dispatchers_started(i);
        let child = self.spawn(i);
        self.processes[i].child = Some(child);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while self.dispatchers_started(i) == started {
            self.assert_running(i);
            assert!(
                tokio::time::Instant::now() < deadline,
                "process {i} never started dispatching"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if self.processes[i].role == Role::Serve {
            wait_healthy(&Url::parse(&format!("http://127.0.0.1:{}/", self.processes[i].port)).unwrap())
                .await;
        }
    }

    /// Fails the test, with the end of its log, if process `i` has exited.
    pub fn assert_running(&mut self, i: usize) {
        let exited = self.processes[i]
            .child
            .as_mut()
            .and_then(|c| c.try_wait().unwrap());
        if let Some(status) = exited {
            let log = self.log(i);
            let tail: Vec<&str> = log.lines().rev().take(5).collect();
            panic!("process {i} exited ({status}): {tail:#?}");
        }
    }

    fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.app.dir.join(format!("herald-{i}.log"))).unwrap_or_default()
    }

    /// How many times process `i` has logged that its dispatcher started.
    fn dispatchers_started(&self, i: usize) -> usize {
        self.log(i).matches("dispatcher started").count()
    }

    fn spawn(&self, i: usize) -> Child {
        let Process { role, port, .. } = self.processes[i];
        let sb = &self.app.sandbox;
        let host = |h: &str| self.app.sandbox_base.join(h).unwrap().to_string();
        let dir = &self.app.dir;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("herald-{i}.log")))
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_herald"));
        match role {
            Role::Serve => cmd.arg("serve").args(["--listen", &format!("127.0.0.1:{port}")]),
            Role::Worker => cmd.arg("worker").args(["--public-url", self.app.base.as_str()]),
        };
        // Every login's app is "real" here, reached at the test's own sandbox, which outlives the
        // processes (a process's built-in sandbox would forget what was published when it is killed).
        for login in Login::ALL {
            let app = sb
                .config()
                .app(herald_sandbox::Emulator::for_login(login.as_str()).unwrap());
            let l = herald::apps::flag_word(login);
            cmd.arg(format!("--{l}-client-id")).arg(&app.client_id).env(
                format!("HERALD_{}_CLIENT_SECRET", login.as_str().to_uppercase()),
                &app.client_secret,
            );
            for (_, h) in Registry::hosts(login).each() {
                let word = herald::apps::label(h);
                cmd.arg(format!("--{l}-{word}-base")).arg(host(h));
            }
        }
        cmd.args(&self.flags)
            .arg("--data-dir")
            .arg(dir)
            .env("HERALD_DATABASE_URL", &self.db_url)
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("herald starts")
    }

    /// Kills every process, then drops the database and the data directory.
    pub async fn stop(self) {
        let Self { app, processes, .. } = self;
        drop(processes);
        app.stop().await;
    }
}

impl Drop for Process {
    /// A failed test leaves no process behind (its data directory stays, for the logs).
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

async fn wait_healthy(base: &Url) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while reqwest::get(base.join("healthz").unwrap()).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "herald never became healthy at {base}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
