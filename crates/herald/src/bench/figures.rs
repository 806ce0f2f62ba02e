//! A run's figures: lateness and the drain rate from the sandbox's own record of when it accepted
//! each post (not from Herald's word), and the ceiling, measured with a plain client.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::bail;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use url::Url;

/// Create-post calls the ceiling's client keeps in flight.
const IN_FLIGHT: usize = 64;

/// `GET /_sandbox/publications`.
#[derive(Deserialize)]
pub(super) struct Publications {
    pub data: Vec<Publication>,
}

/// One piece of content on one account: how many times it was published, and when first.
#[derive(Deserialize)]
pub(super) struct Publication {
    message: String,
    count: usize,
    first_at: Option<Timestamp>,
}

/// `v` to `places` decimal places, for a report read by people.
pub(super) fn round(v: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (v * scale).round() / scale
}

/// The value below which a share `p` of `sorted` lies (nearest rank).
fn percentile(sorted: &[i64], p: f64) -> i64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// How late the posts reached the platform, in milliseconds (to the microsecond): the first one
/// to reach it, the median, the 99th percentile and the latest.
#[derive(Debug, Clone, Copy, Serialize)]
pub(super) struct LatenessMs {
    first: f64,
    p50: f64,
    p99: f64,
    max: f64,
}

/// How the run's posts went out, as the platform saw them.
pub(super) struct Drain {
    /// Posts the platform holds, each counted once.
    pub drained: usize,
    /// Copies beyond the first of any post.
    pub duplicates: usize,
    pub lateness: LatenessMs,
    /// Posts the platform accepted before their time.
    pub early: usize,
    /// Posts accepted per second, from the first one's time to the last acceptance.
    pub per_sec: f64,
}

impl Drain {
    /// Reads the run's posts among the sandbox's publications: post `i` is the one whose text is
    /// `prefix` then `i`, due at `due(i)` (microseconds; the first is due first). Lateness is when
    /// the platform accepted the post minus its time. Fails when a post is missing: Herald marked
    /// every one published.
    pub(super) fn from_publications(
        publications: &[Publication],
        prefix: &str,
        posts: usize,
        due: impl Fn(usize) -> i64,
    ) -> anyhow::Result<Self> {
        // When the platform first accepted each post, in microseconds.
        let mut accepted: Vec<Option<i64>> = vec![None; posts];
        let mut duplicates = 0;
        for p in publications {
            let Some(i) = p
                .message
                .strip_prefix(prefix)
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|i| *i < posts)
            else {
                continue;
            };
            let Some(at) = p.first_at.map(Timestamp::as_microsecond) else {
                continue;
            };
            // The same text twice (on two Pages, say) is a copy too.
            duplicates += p.count.saturating_sub(1) + usize::from(accepted[i].is_some());
            accepted[i] = Some(accepted[i].map_or(at, |earlier| earlier.min(at)));
        }
        let found: Vec<(usize, i64)> = accepted
            .iter()
            .enumerate()
            .filter_map(|(i, at)| at.map(|at| (i, at)))
            .collect();
        if found.len() != posts {
            bail!(
                "Herald marked all {posts} posts published, but the sandbox holds {} of them",
                found.len()
            );
        }
        let mut late: Vec<i64> = found.iter().map(|&(i, at)| at - due(i)).collect();
        let (first_i, first_at) = found
            .iter()
            .copied()
            .min_by_key(|&(_, at)| at)
            .unwrap_or_default();
        let last_at = found.iter().map(|&(_, at)| at).max().unwrap_or_default();
        late.sort_unstable();
        let ms = |us: i64| round(us as f64 / 1000.0, 3);
        let span_secs = (last_at - due(0)).max(1) as f64 / 1_000_000.0;
        Ok(Self {
            drained: found.len(),
            duplicates,
            lateness: LatenessMs {
                first: ms(first_at - due(first_i)),
                p50: ms(percentile(&late, 0.5)),
                p99: ms(percentile(&late, 0.99)),
                max: ms(late[late.len() - 1]),
            },
            early: late.iter().filter(|&&l| l < 0).count(),
            per_sec: posts as f64 / span_secs,
        })
    }
}

/// What the ceiling's clients share: where Graph is, the accounts with their tokens, and the
/// text their posts start with.
struct Calls {
    graph: Url,
    accounts: Vec<(String, String)>,
    prefix: String,
}

/// How many create-post calls a second the sandbox answers from a plain client keeping
/// [`IN_FLIGHT`] in flight, with no Herald in between: the call Herald makes for a text post
/// (`POST /{page-id}/feed`, the Page's token, the text as a form), `calls` times over the accounts
/// in turn. `graph` is the sandbox's Graph API, version included.
pub(super) async fn ceiling(
    http: &reqwest::Client,
    graph: &Url,
    accounts: &[(String, String)],
    calls: usize,
    prefix: &str,
) -> anyhow::Result<f64> {
    let shared = Arc::new(Calls {
        graph: graph.clone(),
        accounts: accounts.to_vec(),
        prefix: prefix.to_owned(),
    });
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..IN_FLIGHT.min(calls) {
        clients.spawn(call_until_done(http.clone(), shared.clone(), next.clone(), calls));
    }
    while let Some(done) = clients.join_next().await {
        done??;
    }
    Ok(calls as f64 / started.elapsed().as_secs_f64())
}

/// One client of the ceiling: makes the next call until `calls` have been made.
async fn call_until_done(
    http: reqwest::Client,
    c: Arc<Calls>,
    next: Arc<AtomicUsize>,
    calls: usize,
) -> anyhow::Result<()> {
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= calls {
            return Ok(());
        }
        let (page, token) = &c.accounts[i % c.accounts.len()];
        let r = http
            .post(c.graph.join(&format!("{page}/feed"))?)
            .bearer_auth(token)
            .form(&[("message", format!("{}{i}", c.prefix))])
            .send()
            .await?;
        let status = r.status();
        // Read to the end, so the connection is kept for the next call.
        let body = r.bytes().await?;
        if !status.is_success() {
            bail!(
                "the sandbox answered a create-post call with {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
    }
}
