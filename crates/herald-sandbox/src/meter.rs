//! Meta's rate limiting as the sandbox emulates it, for both Graph hosts: every call is logged
//! against its business object (an Instagram account, a Page), answered with
//! `X-Business-Use-Case-Usage` (and `X-App-Usage`), and an injected fault throttles the object
//! until its `estimated_time_to_regain_access` has passed.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use axum::response::Response;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use crate::bounded::Bounded;

/// The longest throttle a fault may ask for (a week).
const MAX_THROTTLE_MINUTES: u64 = 7 * 24 * 60;
/// The most faults that may wait to fire at once.
pub(crate) const MAX_FAULTS: usize = 100;

/// Which business use case a call counts against (`type` in the usage header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum UseCase {
    Instagram,
    Pages,
}

/// One Graph request, as the sandbox saw it (the path only: query strings carry tokens).
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Call {
    pub at: Timestamp,
    pub method: String,
    pub path: String,
    pub operation: String,
    pub use_case: UseCase,
    /// The business object the call counts against.
    pub object: Option<String>,
}

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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
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
}

/// The longest a fault may hold a call (ten minutes).
const MAX_HOLD: Duration = Duration::from_secs(600);
/// How long a hang lasts when the fault does not say: longer than any client waits.
const HANG: Duration = Duration::from_secs(120);

/// Runs a call under the fault queued for it, if any: slowed, hung, refused with a 500, its
/// connection reset before or after it is performed, or its answer lost.
pub(crate) async fn faulted(
    meter: impl Fn(FaultKind) -> Option<Fault>,
    perform: impl Future<Output = Response>,
) -> Response {
    let hold = |f: &Fault| Duration::from_millis(f.millis).min(MAX_HOLD);
    if let Some(f) = meter(FaultKind::Slow) {
        tokio::time::sleep(hold(&f)).await;
    }
    if let Some(f) = meter(FaultKind::Hang) {
        tokio::time::sleep(if f.millis == 0 { HANG } else { hold(&f) }).await;
        return reset();
    }
    if meter(FaultKind::ServerError).is_some() {
        return server_error();
    }
    if meter(FaultKind::Reset).is_some() {
        return reset();
    }
    let res = perform.await;
    if meter(FaultKind::LostResponse).is_some() {
        // Done, and the answer lost on its way back.
        return lost_response();
    }
    if meter(FaultKind::LostConnection).is_some() {
        return reset();
    }
    res
}

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

impl Fault {
    fn matches(&self, use_case: UseCase, u: UseCase, method: &str, operation: &str) -> bool {
        u == use_case
            && (self.operation == operation || self.operation == "any")
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
    }
}

pub(crate) struct Meter {
    /// The newest calls (as many as the journal keeps).
    pub calls: Bounded<Call>,
    faults: Vec<(UseCase, Fault)>,
    throttled_until: HashMap<String, Timestamp>,
}

impl Meter {
    pub fn new(limit: usize) -> Self {
        Self {
            calls: Bounded::new(limit),
            faults: Vec::new(),
            throttled_until: HashMap::new(),
        }
    }

    /// Queues a fault; `None` when [`MAX_FAULTS`] already wait.
    pub fn queue(&mut self, use_case: UseCase, fault: Fault) -> Option<usize> {
        if self.faults.len() >= MAX_FAULTS {
            return None;
        }
        self.faults.push((use_case, fault));
        Some(self.faults.len())
    }

    /// Takes the first waiting fault of `kind` that matches the call, if any.
    pub fn take(
        &mut self,
        kind: FaultKind,
        use_case: UseCase,
        method: &str,
        operation: &str,
    ) -> Option<Fault> {
        let i = self
            .faults
            .iter()
            .position(|(u, f)| f.kind == kind && f.matches(use_case, *u, method, operation))?;
        Some(self.faults.remove(i).1)
    }

    /// (calls logged, faults waiting, objects throttled)
    pub fn sizes(&self) -> (usize, usize, usize) {
        (self.calls.len(), self.faults.len(), self.throttled_until.len())
    }

    /// Logs a call; when its object is (or, by a queued fault, becomes) throttled, the minutes left.
    pub fn admit(&mut self, call: Call) -> Option<i64> {
        let now = call.at;
        let object = call.object.clone();
        let (use_case, operation, method) = (call.use_case, call.operation.clone(), call.method.clone());
        self.calls.push(call);
        self.throttled_until.retain(|_, until| *until > now);
        let object = object?;
        let until = match self.throttled_until.get(&object).filter(|until| **until > now) {
            Some(until) => *until,
            None => {
                let i = self.faults.iter().position(|(u, f)| {
                    f.kind == FaultKind::RateLimit && f.matches(use_case, *u, &method, &operation)
                })?;
                let (_, fault) = self.faults.remove(i);
                let minutes = i64::try_from(fault.minutes.min(MAX_THROTTLE_MINUTES)).unwrap_or(0);
                let until = now + SignedDuration::from_mins(minutes);
                self.throttled_until.insert(object, until);
                until
            }
        };
        Some((until.duration_since(now).as_secs() + 59) / 60)
    }

    /// Adds `X-Business-Use-Case-Usage` for `object` (its share of calls in the last hour) and, on
    /// Facebook's host, `X-App-Usage`.
    pub fn headers(
        &self,
        res: &mut Response,
        use_case: UseCase,
        object: &str,
        now: Timestamp,
        regain_minutes: i64,
    ) {
        let hour_ago = now - SignedDuration::from_hours(1);
        let recent =
            |f: &dyn Fn(&Call) -> bool| self.calls.iter().filter(|c| c.at > hour_ago && f(c)).count();
        // Percent of the object's allowance, one call to a point; full while throttled.
        let count = if regain_minutes > 0 {
            100
        } else {
            recent(&|c| c.object.as_deref() == Some(object)).min(100)
        };
        let usage = json!({ object: [{
            "type": use_case, "call_count": count, "total_cputime": count / 4, "total_time": count / 4,
            "estimated_time_to_regain_access": regain_minutes,
        }]});
        if let Ok(v) = usage.to_string().parse() {
            res.headers_mut().insert("x-business-use-case-usage", v);
        }
        if use_case == UseCase::Pages {
            // Percent of the app's hourly allowance: 200 calls per user per hour, one user here.
            let app = (recent(&|c| c.use_case == UseCase::Pages) / 2).min(100);
            let usage = json!({"call_count": app, "total_cputime": app / 4, "total_time": app / 4});
            if let Ok(v) = usage.to_string().parse() {
                res.headers_mut().insert("x-app-usage", v);
            }
        }
    }
}
