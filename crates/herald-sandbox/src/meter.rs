//! Meta's rate limiting as the sandbox emulates it, for both Graph hosts: every call is logged
//! against its business object (an Instagram account, a Page), answered with
//! `X-Business-Use-Case-Usage` (and `X-App-Usage`), and an injected fault throttles the object
//! until its `estimated_time_to_regain_access` has passed. Other queued faults wait here too, for
//! [`crate::faults`] to apply.

use std::collections::HashMap;

use axum::response::Response;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use crate::bounded::Bounded;
use crate::faults::{Fault, FaultKind};

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
    /// Not Meta's: Pinterest's calls, counted per user account.
    Pinterest,
    /// Not Meta's: X's calls, counted per user.
    X,
    /// Not Meta's: LinkedIn's calls, counted per member.
    Linkedin,
    /// Not Meta's: TikTok's calls, counted per account.
    Tiktok,
    /// Not Meta's: YouTube's calls, counted per channel.
    Youtube,
    /// Not Meta's: Snapchat's calls, counted per Snapchat user.
    Snapchat,
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

    /// How many faults wait to fire.
    pub fn queued(&self) -> usize {
        self.faults.len()
    }

    /// Takes the first waiting fault (other than a rate limit) that matches the call, if any.
    pub fn take_any(&mut self, use_case: UseCase, method: &str, operation: &str) -> Option<Fault> {
        let i = self.faults.iter().position(|(u, f)| {
            f.kind != FaultKind::RateLimit && f.matches(use_case, *u, method, operation)
        })?;
        Some(self.faults.remove(i).1)
    }

    /// Until when `object` is throttled, if it is.
    pub fn throttled_until(&self, object: &str) -> Option<Timestamp> {
        self.throttled_until.get(object).copied()
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
    /// Facebook's host, `X-App-Usage`, each share as `limits` scale it.
    pub fn headers(
        &self,
        res: &mut Response,
        use_case: UseCase,
        object: &str,
        now: Timestamp,
        regain_minutes: i64,
        limits: crate::Limits,
    ) {
        let hour_ago = now - SignedDuration::from_hours(1);
        let recent =
            |f: &dyn Fn(&Call) -> bool| self.calls.iter().filter(|c| c.at > hour_ago && f(c)).count();
        // Percent of the object's allowance, one call to a point; full while throttled.
        let count = if regain_minutes > 0 {
            100
        } else {
            limits
                .usage(recent(&|c| c.object.as_deref() == Some(object)))
                .min(100)
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
            let app = limits
                .usage(recent(&|c| c.use_case == UseCase::Pages) / 2)
                .min(100);
            let usage = json!({"call_count": app, "total_cputime": app / 4, "total_time": app / 4});
            if let Ok(v) = usage.to_string().parse() {
                res.headers_mut().insert("x-app-usage", v);
            }
        }
    }
}
