//! Where a run's CPU time went while the posts drained, read from `/proc` at the window's two ends:
//! each process the run started and the bench itself (`/proc/PID/stat`), every PostgreSQL process
//! on the machine, and the machine's cores (`/proc/stat`); and, from those, which resource limited
//! the drain. A figure that cannot be read (a process gone, or not Linux) is left out, not an error.

use std::num::NonZeroUsize;
use std::time::Instant;

use serde::Serialize;

use super::figures::round;

/// Clock ticks per second of `/proc`'s CPU times: `USER_HZ`, 100 on every Linux, whatever the
/// kernel's own tick rate. Assumed rather than asked with `sysconf(_SC_CLK_TCK)`: that needs the
/// `libc` crate, which this crate does not depend on, and `unsafe`, which the workspace forbids.
const TICKS_PER_SEC: f64 = 100.0;
/// The command name every PostgreSQL server process has (its backends retitle only their
/// command line, not this name).
const DATABASE: &str = "postgres";
/// The machine's cores are saturated from this share of their time busy, in percent (on two
/// cores, the scheduler's own gaps keep a CPU-bound run just under 90%).
const SATURATED_PCT: f64 = 85.0;
/// One process is the bottleneck from this share of one core, in percent: near all a single
/// thread (or a lock every thread waits on) can give.
const ONE_CORE_PCT: f64 = 90.0;
/// Beyond this share of one core a process is using several threads at once: not one thread's
/// bottleneck.
const ONE_CORE_MAX_PCT: f64 = 110.0;
/// The disk limits from this share of the cores' time spent waiting on it, in percent.
const IOWAIT_PCT: f64 = 20.0;
/// The shortest window divided by, in seconds, so a window too short to measure gives no infinity.
const MIN_WINDOW_S: f64 = 0.001;

/// A process whose CPU time the run accounts for: the name the report gives it, and its id.
pub(super) struct Watched {
    pub role: String,
    pub pid: u32,
}

impl Watched {
    /// The bench's own process: its plain HTTP client is idle while the posts drain, but it asks
    /// the database how many are left every poll.
    pub(super) fn bench() -> Self {
        Self {
            role: "bench".to_owned(),
            pid: std::process::id(),
        }
    }
}

/// The machine's CPU time so far, over all its cores, in ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MachineTicks {
    /// user, nice, system, irq, softirq and steal (time the hypervisor gave someone else is
    /// time the run could not have).
    busy: u64,
    iowait: u64,
    /// busy, idle and iowait.
    total: u64,
}

impl MachineTicks {
    /// The busy and iowait shares of all the cores' time from `start` to `self`, in percent;
    /// `None` when no time passed.
    fn shares_since(self, start: Self) -> Option<(f64, f64)> {
        let total = self.total.checked_sub(start.total).filter(|t| *t > 0)? as f64;
        // iowait may step back on some kernels: a step back counts as none.
        let pct = |now: u64, then: u64| round(100.0 * now.saturating_sub(then) as f64 / total, 1);
        Some((pct(self.busy, start.busy), pct(self.iowait, start.iowait)))
    }
}

/// The first line of `/proc/stat`: `cpu user nice system idle iowait irq softirq steal` (`guest`
/// and `guest_nice`, after them, are counted in `user` and `nice` already).
fn parse_machine(stat: &str) -> Option<MachineTicks> {
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let &[user, nice, system, idle, iowait, irq, softirq, steal, ..] = ticks.as_slice() else {
        return None;
    };
    let busy = user + nice + system + irq + softirq + steal;
    Some(MachineTicks {
        busy,
        iowait,
        total: busy + idle + iowait,
    })
}

fn read_machine() -> Option<MachineTicks> {
    parse_machine(&std::fs::read_to_string("/proc/stat").ok()?)
}

/// The command name and the CPU time in ticks of one `/proc/PID/stat`: utime, stime, cutime and
/// cstime (fields 14 to 17), so children that ended and were waited for count with their parent
/// (a PostgreSQL backend that exits during the window still counts, in the postmaster's). The
/// name is in parentheses and may hold spaces and parentheses itself: the fields after it start
/// after the last `)`.
fn parse_process(stat: &str) -> Option<(&str, u64)> {
    let (head, rest) = stat.rsplit_once(')')?;
    let (_, comm) = head.split_once('(')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (the state), so field n is at n - 3.
    let ticks = fields
        .get(11..15)?
        .iter()
        .map(|f| f.parse::<u64>().ok())
        .sum::<Option<u64>>()?;
    Some((comm, ticks))
}

/// A process's CPU time so far, in ticks; `None` once it is gone.
fn read_process(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_process(&stat).map(|(_, ticks)| ticks)
}

/// The CPU time so far of every PostgreSQL process on the machine, in ticks; `None` when there is
/// none (a server elsewhere is not measured).
fn read_database() -> Option<u64> {
    let mut found = false;
    let mut ticks = 0;
    for entry in std::fs::read_dir("/proc").ok()?.filter_map(Result::ok) {
        if !entry
            .file_name()
            .to_string_lossy()
            .bytes()
            .all(|b| b.is_ascii_digit())
        {
            continue;
        }
        // A process that ended since the directory was listed is skipped.
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if let Some((DATABASE, t)) = parse_process(&stat) {
            found = true;
            ticks += t;
        }
    }
    found.then_some(ticks)
}

/// The counters at one end of the window.
struct Snapshot {
    at: Instant,
    machine: Option<MachineTicks>,
    /// Each watched process's ticks, in the watched order.
    processes: Vec<Option<u64>>,
    database: Option<u64>,
}

impl Snapshot {
    fn take(watched: &[Watched], database: bool) -> Self {
        Self {
            at: Instant::now(),
            machine: read_machine(),
            processes: watched.iter().map(|w| read_process(w.pid)).collect(),
            database: if database { read_database() } else { None },
        }
    }
}

/// CPU seconds between two readings of a counter in ticks; `None` if either is missing.
fn spent(start: Option<u64>, end: Option<u64>) -> Option<f64> {
    Some(end?.saturating_sub(start?) as f64 / TICKS_PER_SEC)
}

/// A share of one core over a window, in percent.
fn pct_of_core(cpu_s: f64, window_s: f64) -> f64 {
    round(100.0 * cpu_s / window_s, 1)
}

/// The drain's window, opened when the posts fall due, closed when the last is published.
pub(super) struct Window {
    watched: Vec<Watched>,
    /// Whether PostgreSQL's processes are accounted for too.
    database: bool,
    start: Snapshot,
}

impl Window {
    /// Reads the counters now: the window's start.
    pub(super) fn open(watched: Vec<Watched>, database: bool) -> Self {
        let start = Snapshot::take(&watched, database);
        Self {
            watched,
            database,
            start,
        }
    }

    /// Reads the counters again, and gives what each used since [`Window::open`].
    pub(super) fn close(self) -> Cpu {
        let end = Snapshot::take(&self.watched, self.database);
        let window_s = end
            .at
            .duration_since(self.start.at)
            .as_secs_f64()
            .max(MIN_WINDOW_S);
        let shares = self
            .start
            .machine
            .zip(end.machine)
            .and_then(|(start, end)| end.shares_since(start));
        let processes = self
            .watched
            .into_iter()
            .zip(self.start.processes.iter().zip(&end.processes))
            .map(|(w, (&start, &end))| {
                let cpu_s = spent(start, end);
                ProcessCpu {
                    role: w.role,
                    cpu_s: cpu_s.map(|s| round(s, 2)),
                    cpu_pct_of_core: cpu_s.map(|s| pct_of_core(s, window_s)),
                }
            })
            .collect();
        let database_cpu_s = spent(self.start.database, end.database);
        Cpu {
            window_s: round(window_s, 3),
            cores: std::thread::available_parallelism().ok().map(NonZeroUsize::get),
            machine_busy_pct: shares.map(|(busy, _)| busy),
            iowait_pct: shares.map(|(_, iowait)| iowait),
            processes,
            database_cpu_s: database_cpu_s.map(|s| round(s, 2)),
            database_cpu_pct_of_core: database_cpu_s.map(|s| pct_of_core(s, window_s)),
        }
    }
}

/// One process's CPU time over the window, as the report gives it.
#[derive(Debug, Clone, Serialize)]
pub(super) struct ProcessCpu {
    role: String,
    cpu_s: Option<f64>,
    /// `cpu_s` over the window's length: 100 is one core busy all the window.
    cpu_pct_of_core: Option<f64>,
}

/// Where the CPU time went while the posts drained, as the report gives it.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Cpu {
    /// From when the posts fell due to when the bench saw the last one published (within one poll
    /// of it).
    window_s: f64,
    /// The cores this process may run on.
    cores: Option<usize>,
    /// The machine's cores' time spent busy, in percent of all of it (100: every core busy all
    /// the window).
    machine_busy_pct: Option<f64>,
    /// The machine's cores' time spent idle waiting on the disk, in percent of all of it.
    iowait_pct: Option<f64>,
    /// The bench, the sandbox and each Herald process.
    processes: Vec<ProcessCpu>,
    /// Every PostgreSQL process on the machine together (a SQLite run has none: SQLite runs
    /// inside Herald's process).
    database_cpu_s: Option<f64>,
    database_cpu_pct_of_core: Option<f64>,
}

/// The role using the most CPU among `users`, with its share of a core.
fn busiest<'a>(users: impl Iterator<Item = (&'a str, f64)>) -> Option<(&'a str, f64)> {
    users.max_by(|a, b| a.1.total_cmp(&b.1))
}

/// The resource that limited the drain, in a sentence, by these rules, the first that holds:
/// 1. the machine's cores are busy at least 85% of the window: the CPU, all of it (naming the
///    largest user, PostgreSQL's processes together counting as one);
/// 2. one process uses 90% to 110% of one core: that process's CPU, a single-threaded
///    bottleneck (one thread, or a lock its threads take turns on; PostgreSQL's processes
///    together are not one process and do not count here);
/// 3. the cores wait on the disk at least 20% of their time: the disk;
/// 4. otherwise latency: the cores are mostly idle, so each delivery waits on its round trips
///    between the processes and the database, not on a resource.
///
/// Without the machine's figures the rules that need them are skipped, and the last says unknown.
/// The machine's figures cover the whole host (`/proc/stat`), whatever else runs on it, and
/// ignore a container's CPU quota: run the bench on a machine otherwise idle.
pub(super) fn limit(cpu: &Cpu) -> String {
    let processes: Vec<(&str, f64)> = cpu
        .processes
        .iter()
        .filter_map(|p| Some((p.role.as_str(), p.cpu_pct_of_core?)))
        .collect();
    let database = cpu.database_cpu_pct_of_core.map(|pct| (DATABASE, pct));
    if let Some(busy) = cpu.machine_busy_pct.filter(|&busy| busy >= SATURATED_PCT) {
        let user = busiest(processes.iter().copied().chain(database)).map_or_else(
            || "unknown".to_owned(),
            |(role, pct)| format!("{role} at {pct}% of a core"),
        );
        return format!("cpu: the machine's cores are saturated ({busy}% busy; largest user: {user})");
    }
    if let Some((role, pct)) = busiest(processes.iter().copied())
        .filter(|&(_, pct)| (ONE_CORE_PCT..=ONE_CORE_MAX_PCT).contains(&pct))
    {
        return format!(
            "cpu of {role}: {pct}% of one core, a single-threaded bottleneck (one thread, or a lock its threads take turns on)"
        );
    }
    if let Some(iowait) = cpu.iowait_pct.filter(|&iowait| iowait >= IOWAIT_PCT) {
        return format!("disk (iowait): the cores waited on the disk {iowait}% of their time");
    }
    match cpu.machine_busy_pct {
        Some(busy) => format!(
            "latency: the cores are {}% idle, so the drain waits on round trips between the processes and the database (sequential statements per delivery), not on a resource",
            round(100.0 - busy, 1)
        ),
        None => "unknown: the machine's CPU time (/proc/stat) could not be read".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A window's figures, made up: each process's share of a core by role.
    fn cpu(busy: Option<f64>, iowait: Option<f64>, processes: &[(&str, f64)], database: Option<f64>) -> Cpu {
        Cpu {
            window_s: 10.0,
            cores: Some(2),
            machine_busy_pct: busy,
            iowait_pct: iowait,
            processes: processes
                .iter()
                .map(|&(role, pct)| ProcessCpu {
                    role: role.to_owned(),
                    cpu_s: Some(pct / 10.0),
                    cpu_pct_of_core: Some(pct),
                })
                .collect(),
            database_cpu_s: database.map(|pct| pct / 10.0),
            database_cpu_pct_of_core: database,
        }
    }

    #[test]
    fn the_limit_is_the_first_rule_that_holds() {
        let fleet = [("bench", 1.5), ("sandbox", 40.0), ("worker 0", 60.0)];
        // Saturated: the largest user may be PostgreSQL's processes together.
        let saturated = limit(&cpu(Some(95.0), Some(30.0), &fleet, Some(85.0)));
        assert_eq!(
            saturated,
            "cpu: the machine's cores are saturated (95% busy; largest user: postgres at 85% of a core)"
        );
        // One process near a whole core, the machine not saturated; PostgreSQL's processes
        // together are not one process.
        let single = [("bench", 1.0), ("sandbox", 97.5), ("serve", 30.0)];
        let pegged = limit(&cpu(Some(70.0), Some(30.0), &single, Some(99.0)));
        assert!(
            pegged.starts_with("cpu of sandbox: 97.5% of one core"),
            "{pegged}"
        );
        assert!(!limit(&cpu(Some(70.0), None, &fleet, Some(99.0))).starts_with("cpu of"));
        // The disk.
        assert_eq!(
            limit(&cpu(Some(40.0), Some(25.0), &fleet, None)),
            "disk (iowait): the cores waited on the disk 25% of their time"
        );
        // Nothing busy: latency.
        let idle = limit(&cpu(Some(66.7), Some(2.0), &fleet, Some(50.0)));
        assert!(idle.starts_with("latency: the cores are 33.3% idle"), "{idle}");
        // No machine figures: only the one-process rule can hold.
        assert!(limit(&cpu(None, None, &single, None)).starts_with("cpu of sandbox"));
        assert!(limit(&cpu(None, None, &fleet, None)).starts_with("unknown"));
    }

    #[test]
    fn proc_stat_lines_are_read_as_the_kernel_writes_them() {
        let machine = parse_machine("cpu  30077 5 3673 15266 400 7 62 23 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n");
        assert_eq!(
            machine,
            Some(MachineTicks {
                busy: 30077 + 5 + 3673 + 7 + 62 + 23,
                iowait: 400,
                total: 30077 + 5 + 3673 + 7 + 62 + 23 + 15266 + 400,
            })
        );
        assert_eq!(parse_machine("intr 1 2 3"), None);
        let postmaster =
            "2240 (postgres) S 1 2240 2240 0 -1 4194304 3955 12333 0 0 1 0 3 3 20 0 1 0 3482 222543872 7642";
        assert_eq!(parse_process(postmaster), Some(("postgres", 7)));
        // A name holding spaces and parentheses.
        let odd = "77 (a (b) c) R 1 77 77 0 -1 0 0 0 0 0 120 30 0 0 20 0 4 0 1";
        assert_eq!(parse_process(odd), Some(("a (b) c", 150)));
        assert_eq!(parse_process("77 (gone) R 1"), None);
        let start = MachineTicks {
            busy: 100,
            iowait: 10,
            total: 300,
        };
        let end = MachineTicks {
            busy: 250,
            iowait: 30,
            total: 500,
        };
        assert_eq!(end.shares_since(start), Some((75.0, 10.0)));
        assert_eq!(start.shares_since(start), None);
    }
}
