//! Injected faults: the ones queued for a next call, and chaos (a fault on a share of all calls,
//! from a seeded generator); what each does to a call; how many of each were injected; and which
//! calls are in flight right now (what a fault harness waits for before it kills a process).

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::Sandbox;
use crate::graph::GraphError;
use crate::meter::UseCase;

/// An injected fault on the next matching call.
#[derive(Debug, Clone, serde::Deserialize)]
pub(crate) struct Fault {
    /// `media`, `media_publish`, `feed`, `photos`, `node`, … or `any`.
    pub operation: String,
    /// Only calls with this method (`POST`, `GET`), when given.
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub kind: FaultKind,
    /// For a rate limit: how long the object stays throttled.
    #[serde(default)]
    pub minutes: u64,
    /// For `slow`: how long the answer is held back; for `hang`: how long before the connection
    /// is dropped unanswered (two minutes when not given: longer than any client waits).
    #[serde(default)]
    pub millis: u64,
}

/// What an injected fault does.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize, serde::Serialize,
)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FaultKind {
    /// A rate-limit error, and the call's object throttled for `minutes`, as Meta does when a
    /// business use case runs out of calls.
    #[default]
    RateLimit,
    /// The platform performs the call, then its answer is lost (a 502 from the edge).
    LostResponse,
    /// A 500 without performing the call.
    ServerError,
    /// The call is performed after `millis`: a slow platform.
    Slow,
    /// No answer, until the client gives up (or `millis` pass); nothing is performed.
    Hang,
    /// The connection is reset before anything is performed.
    Reset,
    /// The call is performed, then the connection is reset before the answer arrives.
    LostConnection,
    /// The content is refused (code 100) without anything performed: a permanent failure.
    Refuse,
}

/// The longest a fault may hold a call (ten minutes).
const MAX_HOLD: Duration = Duration::from_secs(600);
/// How long a hang lasts when the fault does not say: longer than any client waits.
const HANG: Duration = Duration::from_secs(120);

/// A response whose connection breaks before its body: the client sees the connection reset.
fn reset() -> Response {
    Response::new(axum::body::Body::new(Broken))
}

/// A body that fails as soon as it is read, which makes the server abort the connection.
struct Broken;

impl http_body::Body for Broken {
    type Data = axum::body::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Ready(Some(Err(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset,
        ))))
    }
}

/// What a caller sees when the edge lost the platform's answer.
pub(crate) fn lost_response() -> Response {
    axum::response::IntoResponse::into_response((
        axum::http::StatusCode::BAD_GATEWAY,
        "<html><body>502 Bad Gateway</body></html>",
    ))
}

/// What a caller sees when the platform failed before doing anything.
pub(crate) fn server_error() -> Response {
    axum::response::IntoResponse::into_response((
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        axum::Json(
            json!({"error": {"message": "An unexpected error has occurred. Please retry your request later.", "type": "OAuthException", "is_transient": true, "code": 2}}),
        ),
    ))
}

/// A fault on a share of every call (of one method, when given): a rule of
/// `POST /_sandbox/faults/chaos`.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChaosConfig {
    /// The chance, from 0 to 1, that a call gets a fault.
    pub rate: f64,
    /// The kinds drawn from, evenly (default: `server_error`, `lost_response`, `reset`,
    /// `lost_connection` and `slow`: every passing fault).
    #[serde(default = "passing")]
    pub kinds: Vec<FaultKind>,
    /// Only calls with this method, when given (`POST`: only calls that change something).
    #[serde(default)]
    pub method: Option<String>,
    /// The generator's seed: the same seed draws the same faults for the same calls.
    #[serde(default)]
    pub seed: u64,
    /// How long a `slow` fault holds a call.
    #[serde(default = "slow_millis")]
    pub millis: u64,
}

fn passing() -> Vec<FaultKind> {
    vec![
        FaultKind::ServerError,
        FaultKind::LostResponse,
        FaultKind::Reset,
        FaultKind::LostConnection,
        FaultKind::Slow,
    ]
}

fn slow_millis() -> u64 {
    500
}

/// One chaos rule, or several (each call is drawn against each rule its method matches, in order,
/// until one faults it): how `POST /_sandbox/faults/chaos` reads its body.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(untagged)]
pub(crate) enum ChaosRules {
    One(ChaosConfig),
    Many(Vec<ChaosConfig>),
}

/// Chaos, the injected counts and the calls in flight.
#[derive(Default)]
pub(crate) struct Faults {
    chaos: Vec<(ChaosConfig, u64)>,
    injected: BTreeMap<FaultKind, u64>,
    in_flight: HashMap<String, usize>,
    /// Every call that reached an operation (faulted or not), by method and operation.
    calls: BTreeMap<String, u64>,
    /// Every call answered (or abandoned by its client), by method and operation.
    answered: BTreeMap<String, u64>,
}

impl Faults {
    /// Sets chaos (rules with a rate of 0 are dropped, so `{"rate": 0}` ends it).
    pub fn set_chaos(&mut self, rules: ChaosRules) -> Result<(), String> {
        let rules = match rules {
            ChaosRules::One(c) => vec![c],
            ChaosRules::Many(v) => v,
        };
        for c in &rules {
            if !(0.0..=1.0).contains(&c.rate) {
                return Err("`rate` must be between 0 and 1".into());
            }
            if c.kinds.contains(&FaultKind::RateLimit) {
                return Err(
                    "`rate_limit` throttles an object for minutes; queue it as a fault instead".into(),
                );
            }
        }
        self.chaos = rules
            .into_iter()
            .enumerate()
            .filter(|(_, c)| c.rate > 0.0 && !c.kinds.is_empty())
            .map(|(i, c)| {
                let seed = c.seed ^ 0x9E37_79B9_7F4A_7C15 ^ (i as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
                (c, seed)
            })
            .collect();
        Ok(())
    }

    /// A chaos fault for this call, drawn from the generator of each rule its method matches.
    fn draw(&mut self, method: &str, operation: &str) -> Option<Fault> {
        self.chaos.iter_mut().find_map(|(c, state)| {
            if c.method
                .as_deref()
                .is_some_and(|m| !m.eq_ignore_ascii_case(method))
            {
                return None;
            }
            let roll = splitmix(state);
            if (roll >> 11) as f64 / (1u64 << 53) as f64 >= c.rate {
                return None;
            }
            let kind = c.kinds[(splitmix(state) % c.kinds.len() as u64) as usize];
            Some(Fault {
                operation: operation.to_owned(),
                method: None,
                kind,
                minutes: 0,
                millis: c.millis,
            })
        })
    }

    /// Faults injected so far by kind, the chaos rules, and the calls seen, in flight and answered
    /// by method and operation.
    pub fn report(&self) -> serde_json::Value {
        json!({
            "injected": self.injected.iter().map(|(k, n)| (json!(k).as_str().unwrap_or_default().to_owned(), *n)).collect::<BTreeMap<_, _>>(),
            "chaos": self.chaos.iter().map(|(c, _)| c).collect::<Vec<_>>(),
            "in_flight": self.in_flight,
            "calls": self.calls,
            "answered": self.answered,
        })
    }
}

/// The next number of a SplitMix64 sequence.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Counts a call as in flight until dropped (answered, or abandoned by its client).
struct InFlight<'a> {
    sb: &'a Sandbox,
    call: String,
}

impl<'a> InFlight<'a> {
    /// `call` is the method and the operation: `POST feed`.
    fn start(sb: &'a Sandbox, call: String) -> Self {
        let mut f = sb.faults();
        *f.in_flight.entry(call.clone()).or_default() += 1;
        *f.calls.entry(call.clone()).or_default() += 1;
        drop(f);
        Self { sb, call }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut f = self.sb.faults();
        *f.answered.entry(self.call.clone()).or_default() += 1;
        if let Some(n) = f.in_flight.get_mut(&self.call) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                f.in_flight.remove(&self.call);
            }
        }
    }
}

/// Runs a call under its fault, if any (a queued one first, else chaos): slowed, hung, refused
/// with a 500 or as content, its connection reset before or after it is performed, or its answer
/// lost. The call counts as in flight meanwhile.
pub(crate) async fn faulted(
    sb: &Sandbox,
    use_case: UseCase,
    method: &str,
    operation: &str,
    perform: impl Future<Output = Response>,
) -> Response {
    let _flying = InFlight::start(sb, format!("{method} {operation}"));
    let queued = sb.meter().take_any(use_case, method, operation);
    let fault = queued.or_else(|| sb.faults().draw(method, operation));
    let Some(f) = fault else {
        return perform.await;
    };
    *sb.faults().injected.entry(f.kind).or_default() += 1;
    let hold = Duration::from_millis(f.millis).min(MAX_HOLD);
    match f.kind {
        FaultKind::Slow => {
            tokio::time::sleep(hold).await;
            perform.await
        }
        FaultKind::Hang => {
            tokio::time::sleep(if f.millis == 0 { HANG } else { hold }).await;
            reset()
        }
        FaultKind::ServerError if use_case == UseCase::X => crate::x::api::problem(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "Service Unavailable",
            "about:blank",
            "Service Unavailable",
        ),
        FaultKind::Refuse if use_case == UseCase::X => crate::x::api::problem(
            axum::http::StatusCode::BAD_REQUEST,
            "Invalid Request",
            "https://api.twitter.com/2/problems/invalid-request",
            "The content was refused (a permanent fault injected by the sandbox)",
        ),
        FaultKind::ServerError if use_case == UseCase::Pinterest => (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({"code": 500, "message": "Internal server error. Please try again later."})),
        )
            .into_response(),
        FaultKind::ServerError if use_case == UseCase::Linkedin => crate::linkedin::api::error(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            0,
            "INTERNAL_SERVER_ERROR",
            "Internal Server Error",
        ),
        FaultKind::Refuse if use_case == UseCase::Linkedin => crate::linkedin::api::error(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            0,
            "UNPROCESSABLE_ENTITY",
            "The content was refused (a permanent fault injected by the sandbox)",
        ),
        FaultKind::ServerError if use_case == UseCase::Tiktok => crate::tiktok::api::envelope(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            json!({}),
            "internal_error",
            "Something went wrong. Please try again later.",
        ),
        FaultKind::Refuse if use_case == UseCase::Tiktok => crate::tiktok::api::envelope(
            axum::http::StatusCode::BAD_REQUEST,
            json!({}),
            "invalid_params",
            "The content was refused (a permanent fault injected by the sandbox)",
        ),
        FaultKind::ServerError if use_case == UseCase::Youtube => crate::youtube::error(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "global",
            "backendError",
            "Internal error encountered.",
        ),
        FaultKind::Refuse if use_case == UseCase::Youtube => crate::youtube::error(
            axum::http::StatusCode::BAD_REQUEST,
            "global",
            "badRequest",
            "The content was refused (a permanent fault injected by the sandbox)",
        ),
        FaultKind::ServerError if use_case == UseCase::Snapchat => crate::snapchat::error(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "An internal error occurred; please retry the request",
        ),
        FaultKind::Refuse if use_case == UseCase::Snapchat => crate::snapchat::error(
            axum::http::StatusCode::BAD_REQUEST,
            "INVALID_MEDIA",
            "The content was refused (a permanent fault injected by the sandbox)",
        ),
        FaultKind::ServerError => server_error(),
        FaultKind::Reset => reset(),
        FaultKind::Refuse if use_case == UseCase::Pinterest => (
            axum::http::StatusCode::BAD_REQUEST,
            axum::Json(
                json!({"code": 1, "message": "The content was refused (a permanent fault injected by the sandbox)"}),
            ),
        )
            .into_response(),
        FaultKind::Refuse => {
            GraphError::param("(#100) The content was refused (a permanent fault injected by the sandbox)")
                .into_response()
        }
        FaultKind::LostResponse => {
            perform.await;
            lost_response()
        }
        FaultKind::LostConnection => {
            perform.await;
            reset()
        }
        // Rate limits are applied when the call is admitted (the meter throttles its object).
        FaultKind::RateLimit => perform.await,
    }
}
