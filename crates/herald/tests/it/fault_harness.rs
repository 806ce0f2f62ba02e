//! The fault harness: many posts due at once on many Facebook Pages, chaos on every call (server
//! errors, lost answers, connections broken before and after the call, slow answers, and for the
//! calls that change something refused content), and Herald's processes killed with SIGKILL while
//! a publish call is in flight or just after one was answered; then each delivery is checked
//! against what the sandbox holds, not against Herald's word: published exactly once under its
//! platform id and not before its time, or failed with nothing published.
//!
//! The run CI makes is small; `HERALD_FAULT_DELIVERIES`, `HERALD_FAULT_KILLS`, `HERALD_FAULT_PAGES`
//! and `HERALD_FAULT_SEED` size another (docs/PERFORMANCE.md has the large one and its command).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use herald_sandbox::SandboxConfig;
use herald_store::Backend;
use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fleet::{Fleet, Role};
use crate::harness::{TestApp, backends};

/// The size of a run.
struct Plan {
    deliveries: usize,
    kills: usize,
    pages: usize,
    seed: u64,
}

impl Plan {
    fn from_env() -> Self {
        let var = |name: &str, default: u64| -> u64 {
            std::env::var(name).map_or(default, |v| {
                v.parse()
                    .unwrap_or_else(|_| panic!("{name} must be a whole number, not {v:?}"))
            })
        };
        let deliveries = var("HERALD_FAULT_DELIVERIES", 200) as usize;
        Self {
            deliveries,
            kills: var("HERALD_FAULT_KILLS", 5) as usize,
            pages: var("HERALD_FAULT_PAGES", (deliveries as u64 / 10).clamp(1, 100)) as usize,
            seed: var("HERALD_FAULT_SEED", 1),
        }
    }
}

/// Pages a post goes to at most (each of its deliveries is one Page's).
const PAGES_PER_POST: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_chaos_and_sigkills_every_delivery_is_published_exactly_once_or_failed_with_nothing_published()
{
    let plan = Plan::from_env();
    for backend in backends().await {
        let roles: &[Role] = match backend {
            // On SQLite one process dispatches.
            Backend::Sqlite => &[Role::Serve],
            Backend::Postgres => &[Role::Serve, Role::Serve, Role::Worker, Role::Worker],
        };
        run(backend, roles, &plan).await;
    }
}

async fn run(backend: Backend, roles: &[Role], plan: &Plan) {
    let started = Instant::now();
    let sandbox = SandboxConfig {
        processing_delay: Duration::from_millis(300),
        ..SandboxConfig::default()
    };
    let mut fleet = Fleet::start(backend, sandbox, roles).await;
    let app = &mut fleet.app;
    app.signup("faults@example.com").await;
    // Late is allowed here: the run checks copies, not lateness, and a killed process's posts
    // wait for its lease.
    assert_eq!(app.set_catch_up(10_080).await.0, StatusCode::OK);
    let pages = page_profiles(app, plan.pages).await;
    // Writes: every passing fault and refusals; reads (the searches after a lost answer, the
    // permalinks): every passing fault.
    control(
        app,
        "_sandbox/faults/chaos",
        json!([{
            "rate": 0.25, "method": "POST", "seed": plan.seed, "millis": 300,
            "kinds": ["server_error", "lost_response", "reset", "lost_connection", "slow", "refuse"],
        }, {
            "rate": 0.1, "method": "GET", "seed": plan.seed, "millis": 300,
        }]),
    )
    .await;
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let due = schedule(app, &pages, plan.deliveries, &run_id).await;
    let kills = kill_while_in_flight(&mut fleet, plan).await;
    let app = &fleet.app;
    let deadline =
        Instant::now() + Duration::from_secs(300) + Duration::from_millis(150) * plan.deliveries as u32;
    loop {
        let moving = moving(app).await;
        if moving == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{moving} deliveries still moving; logs in {}",
            app.dir.display()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let faults = app.sandbox_json("_sandbox/faults").await;
    let report = verify(app, &pages, &run_id, due).await;
    let refused = faults["injected"]["refuse"].as_u64().unwrap_or(0);
    eprintln!(
        "fault harness on {backend:?} with {} processes: {} deliveries to {} Pages, {} published exactly once, {} failed with nothing published ({refused} refusals injected), {kills} SIGKILLs, faults injected {}, calls {}, {:.0} s",
        roles.len(),
        report.published + report.failed,
        pages.len(),
        report.published,
        report.failed,
        faults["injected"],
        faults["calls"],
        started.elapsed().as_secs_f64(),
    );
    assert!(
        report.failed as u64 <= refused,
        "only refused content fails: {} failed, {refused} refusals injected",
        report.failed
    );
    assert_eq!(report.published + report.failed, plan.deliveries);
    assert_eq!(kills, plan.kills, "every kill was made before the run settled");
    for i in 0..fleet.len() {
        fleet.assert_running(i);
    }
    fleet.stop().await;
}

/// Adds `count` Pages to the sandbox's person, connects Facebook with all of them ticked, and
/// makes each a profile; returns profile id → Page id.
pub(crate) async fn page_profiles(app: &TestApp, count: usize) -> BTreeMap<String, String> {
    let seeded = control(app, "_sandbox/facebook/pages", json!({ "count": count })).await;
    let (s, page) = app.connect_facebook(&[]).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let (_, list) = app.get(app.ws_url("connections")).await;
    let connection = list["data"][0]["id"].as_str().unwrap().to_owned();
    let accounts: Vec<String> = seeded["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| format!("facebook:{}", id.as_str().unwrap()))
        .collect();
    let (s, chosen) = app
        .post(
            app.ws_url(&format!("connections/{connection}/accounts")),
            json!({ "accounts": accounts }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{chosen}");
    let profiles: BTreeMap<String, String> = chosen["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_owned(),
                p["external_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(profiles.len(), count, "{chosen}");
    profiles
}

/// Posts to the sandbox's control API and returns its answer, which must be a success.
pub(crate) async fn control(app: &TestApp, path: &str, body: Value) -> Value {
    let r = reqwest::Client::new()
        .post(app.sandbox_base.join(path).unwrap())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.json().await.unwrap()
}

/// Schedules posts with unique texts, up to [`PAGES_PER_POST`] Pages each, `deliveries` in all,
/// every one due at the same instant; returns that instant.
pub(crate) async fn schedule(
    app: &TestApp,
    pages: &BTreeMap<String, String>,
    deliveries: usize,
    run_id: &str,
) -> Timestamp {
    let profiles: Vec<&String> = pages.keys().collect();
    let per_post = PAGES_PER_POST.min(profiles.len());
    let posts = deliveries.div_ceil(per_post);
    // Time enough to schedule them all before any is due.
    let due =
        Timestamp::now() + SignedDuration::from_secs(5) + SignedDuration::from_millis(40 * posts as i64);
    let mut next = 0;
    for i in 0..posts {
        let n = per_post.min(deliveries - next);
        let targets: Vec<Value> = (next..next + n)
            .map(|d| json!({ "profile_id": profiles[d % profiles.len()] }))
            .collect();
        next += n;
        let (s, post) = app
            .schedule(json!({ "text": format!("fault run {run_id} post {i}"), "targets": targets, "scheduled_at": due.to_string() }))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{post}");
    }
    assert!(Timestamp::now() < due, "scheduling took longer than planned");
    due
}

/// SIGKILLs Herald `plan.kills` times, spread over the run (each once enough publish calls have
/// reached the sandbox), then starts what it killed again. Kills go in turn: every process while a
/// publish call is in flight (the next call is held two seconds, and the kill comes as soon as it
/// has started); one process, each in turn, at such a moment while the others go on; every process
/// just after a publish call was answered, before Herald can have recorded the answer. Returns how
/// many kills were made before everything settled.
async fn kill_while_in_flight(fleet: &mut Fleet, plan: &Plan) -> usize {
    let feed = |f: &Value, what: &str| f[what]["POST feed"].as_u64().unwrap_or(0);
    for k in 0..plan.kills {
        let target = ((k + 1) * plan.deliveries / (plan.kills + 1)) as u64;
        if !wait_until(&fleet.app, |f| feed(f, "calls") >= target).await {
            return k;
        }
        let all: Vec<usize> = (0..fleet.len()).collect();
        let victims = match k % 3 {
            0 | 1 => {
                control(
                    &fleet.app,
                    "_sandbox/facebook/faults",
                    json!({"operation": "feed", "method": "POST", "kind": "slow", "millis": 2000}),
                )
                .await;
                if !wait_until(&fleet.app, |f| f["queued"] == 0).await {
                    return k;
                }
                if k % 3 == 0 {
                    all
                } else {
                    vec![(k / 3) % fleet.len()]
                }
            }
            _ => {
                let answered = feed(&fleet.app.sandbox_json("_sandbox/faults").await, "answered");
                if !wait_until(&fleet.app, |f| feed(f, "answered") > answered).await {
                    return k;
                }
                all
            }
        };
        for &i in &victims {
            fleet.kill(i);
        }
        for &i in &victims {
            fleet.restart(i).await;
        }
    }
    plan.kills
}

/// Polls the sandbox's fault report until `ready` holds (true), or every delivery has settled
/// (false).
pub(crate) async fn wait_until(app: &TestApp, ready: impl Fn(&Value) -> bool) -> bool {
    let mut settled_checked = Instant::now();
    loop {
        if ready(&app.sandbox_json("_sandbox/faults").await) {
            return true;
        }
        if settled_checked.elapsed() > Duration::from_secs(1) {
            if moving(app).await == 0 {
                return false;
            }
            settled_checked = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// How many deliveries are still on their way.
pub(crate) async fn moving(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) FROM deliveries WHERE status IN ('scheduled','publishing','processing','retry_wait')")
        .await
}

#[derive(Default)]
pub(crate) struct Report {
    pub(crate) published: usize,
    pub(crate) failed: usize,
}

/// Checks every delivery of the run against the sandbox's publications.
pub(crate) async fn verify(
    app: &TestApp,
    pages: &BTreeMap<String, String>,
    run_id: &str,
    due: Timestamp,
) -> Report {
    let publications = app.sandbox_json("_sandbox/publications").await;
    // Every publication of a post's text on a Page, whatever its kind, link or photos: a second
    // copy of another shape is still a second copy.
    let mut copies: HashMap<(String, String), Vec<&Value>> = HashMap::new();
    for p in publications["data"].as_array().unwrap() {
        let message = p["message"].as_str().unwrap();
        if message.contains(run_id) {
            let page = p["object"].as_str().unwrap().to_owned();
            copies.entry((page, message.to_owned())).or_default().push(p);
        }
    }
    let mut report = Report::default();
    let mut wrong = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = app.ws_url("posts");
        url.query_pairs_mut().append_pair("limit", "200");
        if let Some(c) = &cursor {
            url.query_pairs_mut().append_pair("cursor", c);
        }
        let (s, list) = app.get(url).await;
        assert_eq!(s, StatusCode::OK, "{list}");
        for post in list["data"].as_array().unwrap() {
            let text = post["text"].as_str().unwrap();
            for d in post["deliveries"].as_array().unwrap() {
                let page = &pages[d["profile_id"].as_str().unwrap()];
                let copy = copies
                    .remove(&(page.clone(), text.to_owned()))
                    .unwrap_or_default();
                let count: u64 = copy.iter().map(|c| c["count"].as_u64().unwrap()).sum();
                match d["status"].as_str().unwrap() {
                    "published" => {
                        report.published += 1;
                        let ok = count == 1
                            && copy[0]["ids"][0] == d["platform_post_id"]
                            && copy[0]["first_at"]
                                .as_str()
                                .unwrap()
                                .parse::<Timestamp>()
                                .unwrap()
                                >= due;
                        if !ok {
                            wrong.push(format!(
                                "{text} on {page}: published with {count} copies: {d} / {copy:?}"
                            ));
                        }
                    }
                    "failed" => {
                        report.failed += 1;
                        if count != 0 || d["error"]["code"] != "content_rejected" {
                            wrong.push(format!("{text} on {page}: failed with {count} copies: {d}"));
                        }
                    }
                    other => wrong.push(format!("{text} on {page}: ended {other}: {d}")),
                }
            }
        }
        match list["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    wrong.extend(
        copies
            .values()
            .map(|c| format!("published with no delivery: {c:?}")),
    );
    assert!(
        wrong.is_empty(),
        "{} wrong of {}; the first: {:#?}; logs in {}",
        wrong.len(),
        report.published + report.failed,
        &wrong[..wrong.len().min(20)],
        app.dir.display()
    );
    report
}
