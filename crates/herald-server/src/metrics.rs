//! `/metrics` in Prometheus's text format: the process's counters and histograms (the recorder the
//! binary installs), the queue read from the database at each scrape, who may read them, and how
//! long each HTTP request took, labelled by its route's template (never its raw path: ids would
//! make a series per post).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{FromRef, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use herald_store::Store;
use metrics::{Unit, describe_histogram, histogram};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use secrecy::{ExposeSecret, SecretString};

use crate::AppState;
use crate::auth::hash_secret;
use crate::error::ApiError;

const HTTP_DURATION: &str = "herald_http_request_duration_seconds";

/// The buckets of every `*_seconds` histogram: 1 ms to a minute, then five minutes, a quarter of
/// an hour and an hour, so that a large burst's tail and a platform's long waits are told apart
/// rather than all counted `+Inf`.
const SECONDS: [f64; 18] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0,
    3600.0,
];

/// How often histogram samples are folded into their buckets when nobody scrapes (a scrape folds
/// them too): they would otherwise pile up in memory.
const UPKEEP: Duration = Duration::from_secs(5);

/// Who may read `/metrics`.
pub enum Scrapers {
    /// Whoever reaches Herald: it listens on loopback only and its public URL is loopback, so
    /// that is this machine alone.
    Local,
    /// Whoever sends this token as `Authorization: Bearer …` (`HERALD_METRICS_TOKEN`).
    Holding(SecretString),
}

/// The process's metrics and who may read them.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
    /// The SHA-256 of the token a scraper must send; `None`: anyone who reaches Herald (loopback).
    token_hash: Option<String>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let to = match self.token_hash {
            Some(_) => "a scraper holding the metrics token",
            None => "this machine",
        };
        write!(f, "Metrics(served to {to})")
    }
}

impl Metrics {
    /// Installs the process's recorder, which every `metrics` macro of every crate then feeds.
    /// Once per process (the recorder is global: a second install fails), inside the Tokio runtime.
    pub fn install(scrapers: Scrapers) -> Result<Self, BuildError> {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS)?
            .install_recorder()?;
        describe_histogram!(
            HTTP_DURATION,
            Unit::Seconds,
            "HTTP requests by method, route template and status class, until the response's head was ready"
        );
        let kept = handle.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(UPKEEP).await;
                kept.run_upkeep();
            }
        });
        let token_hash = match scrapers {
            Scrapers::Local => None,
            Scrapers::Holding(token) => Some(hash_secret(token.expose_secret())),
        };
        Ok(Self { handle, token_hash })
    }

    /// Whether the request may read the metrics.
    fn admits(&self, headers: &HeaderMap) -> bool {
        let Some(expected) = &self.token_hash else {
            return true;
        };
        // Digests are compared, so the time the comparison takes says nothing about the token.
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| hash_secret(given.trim()) == *expected)
    }
}

/// What the operations routes need: the store, and the metrics of a process that keeps them. A
/// process that serves no API (`herald worker`) answers them alone (see [`crate::ops_router`]).
#[derive(Clone)]
pub(crate) struct Ops {
    pub store: Store,
    pub metrics: Option<Metrics>,
}

impl FromRef<AppState> for Ops {
    fn from_ref(state: &AppState) -> Self {
        Self {
            store: state.store.clone(),
            metrics: state.metrics.clone(),
        }
    }
}

pub(crate) fn route<S>() -> MethodRouter<S>
where
    Ops: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    get(scrape)
}

async fn scrape(State(ops): State<Ops>, headers: HeaderMap) -> Response {
    let Some(exported) = &ops.metrics else {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "metrics_off",
            "this Herald serves no metrics: where others can reach it, set HERALD_METRICS_TOKEN and have the scraper send it as a bearer token",
        )
        .into_response();
    };
    if !exported.admits(&headers) {
        let mut res = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "send the metrics token (HERALD_METRICS_TOKEN) as `Authorization: Bearer …`",
        )
        .into_response();
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return res;
    }
    let mut text = exported.handle.render();
    queue(&ops.store, &mut text).await;
    (
        [
            (header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response()
}

/// Appends what the database holds now. Written at each scrape rather than kept in the recorder:
/// when the database does not answer, the figures are left out (Prometheus marks them stale)
/// instead of repeating the last ones read.
async fn queue(store: &Store, out: &mut String) {
    fn family(out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    }
    let up = match store.queue_stats().await {
        Ok(q) => {
            family(
                out,
                "herald_deliveries",
                "Deliveries in each status, read from the database at this scrape (every process reports the same figures)",
            );
            for (status, n) in &q.by_status {
                let _ = writeln!(out, "herald_deliveries{{status=\"{}\"}} {n}", status.as_str());
            }
            family(
                out,
                "herald_queue_due",
                "Deliveries a claim would take now: due, or held by a lease that lapsed",
            );
            let _ = writeln!(out, "herald_queue_due {}", q.due);
            family(
                out,
                "herald_queue_longest_wait_seconds",
                "How long the delivery due longest has been waiting for a claim (0 when none is due)",
            );
            let _ = writeln!(
                out,
                "herald_queue_longest_wait_seconds {}",
                q.longest_wait.as_secs_f64()
            );
            1
        }
        Err(e) => {
            tracing::warn!(error = %e, "reading the queue for /metrics failed");
            0
        }
    };
    family(
        out,
        "herald_database_up",
        "Whether the database answered this scrape's queries",
    );
    let _ = writeln!(out, "herald_database_up {up}");
}

/// `r`, each of its requests timed when `on` (the process keeps metrics). Laid outermost, so a
/// request's time includes every other layer and its status is the one sent.
pub(crate) fn timed(r: Router, on: bool) -> Router {
    match on {
        true => r.layer(axum::middleware::from_fn(time_requests)),
        false => r,
    }
}

/// Records how long each request took, by method, route template and status class.
async fn time_requests(req: Request, next: Next) -> Response {
    let method = method_label(req.method());
    // The fallback (no route matched) has no template: all such requests are one series.
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = Instant::now();
    let res = next.run(req).await;
    let status = status_class(res.status());
    histogram!(HTTP_DURATION, "method" => method, "path" => path, "status" => status)
        .record(started.elapsed());
    res
}

/// The method as a label: the standard ones by name, anything else as one `other` (a client may
/// send any token as a method).
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn status_class(s: StatusCode) -> &'static str {
    match s.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_auth(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn a_token_admits_only_a_scraper_that_sends_it_and_loopback_admits_anyone() {
        let handle = PrometheusBuilder::new().build_recorder().handle();
        let guarded = Metrics {
            handle: handle.clone(),
            token_hash: Some(hash_secret("a long random metrics token")),
        };
        assert!(guarded.admits(&with_auth("Bearer a long random metrics token")));
        assert!(!guarded.admits(&with_auth("Bearer another token")));
        assert!(!guarded.admits(&with_auth("Basic a long random metrics token")));
        assert!(!guarded.admits(&HeaderMap::new()));
        let local = Metrics {
            handle,
            token_hash: None,
        };
        assert!(local.admits(&HeaderMap::new()));
    }

    #[test]
    fn labels_stay_few_whatever_the_client_sends() {
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        assert_eq!(status_class(StatusCode::SERVICE_UNAVAILABLE), "5xx");
        assert_eq!(status_class(StatusCode::NOT_MODIFIED), "3xx");
    }
}
