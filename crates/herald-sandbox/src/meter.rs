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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
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
    /// How many of them are younger than an hour, per object and per use case.
    recent: Recent,
    faults: Vec<(UseCase, Fault)>,
    throttled_until: HashMap<String, Timestamp>,
}

/// How much older than the last a horizon may be and still count as the last (see [`Recent::age`]).
const SETTLING: SignedDuration = SignedDuration::from_mins(1);

/// The calls of the log younger than an hour, counted per object and per use case as calls come
/// in, age past the hour or leave the log (counting the log at every answer was a scan of up to
/// the journal's 10,000 calls, twice, for every request). A call ages out with the calls logged
/// before it: one logged a moment after a later one (two answered at once), or after the clock
/// was moved back, counts until those before it are an hour old too.
#[derive(Default)]
struct Recent {
    per_object: HashMap<String, usize>,
    per_use_case: HashMap<UseCase, usize>,
    /// How many calls at the front of the log are past the hour (no longer counted).
    aged: usize,
    /// The instant the counts were last aged to.
    horizon: Option<Timestamp>,
}

impl Recent {
    fn count(&mut self, c: &Call) {
        if let Some(o) = &c.object {
            *self.per_object.entry(o.clone()).or_default() += 1;
        }
        *self.per_use_case.entry(c.use_case).or_default() += 1;
    }

    fn uncount(&mut self, c: &Call) {
        if let Some(o) = &c.object
            && let Some(n) = self.per_object.get_mut(o)
        {
            *n -= 1;
            if *n == 0 {
                self.per_object.remove(o);
            }
        }
        if let Some(n) = self.per_use_case.get_mut(&c.use_case) {
            *n -= 1;
            if *n == 0 {
                self.per_use_case.remove(&c.use_case);
            }
        }
    }

    /// A call left the front of the log.
    fn dropped(&mut self, c: &Call) {
        match self.aged.checked_sub(1) {
            Some(aged) => self.aged = aged,
            None => self.uncount(c),
        }
    }

    /// Stops counting the calls at the front of the log as long as they are at or before
    /// `horizon`. A horizon up to [`SETTLING`] older than the last is the last (a call that began
    /// before another answered after it); one older still means the clock was moved back: the log
    /// is counted again.
    fn age(&mut self, calls: &Bounded<Call>, horizon: Timestamp) {
        let horizon = match self.horizon {
            Some(h) if horizon < h - SETTLING => {
                *self = Self::default();
                calls.iter().for_each(|c| self.count(c));
                horizon
            }
            Some(h) => h.max(horizon),
            None => horizon,
        };
        self.horizon = Some(horizon);
        while let Some(c) = calls.get(self.aged).filter(|c| c.at <= horizon) {
            self.uncount(c);
            self.aged += 1;
        }
    }

    fn of_object(&self, object: &str) -> usize {
        self.per_object.get(object).copied().unwrap_or(0)
    }

    fn of_use_case(&self, u: UseCase) -> usize {
        self.per_use_case.get(&u).copied().unwrap_or(0)
    }
}

impl Meter {
    pub fn new(limit: usize) -> Self {
        Self {
            calls: Bounded::new(limit),
            recent: Recent::default(),
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
        self.recent.count(&call);
        if let Some(dropped) = self.calls.push(call) {
            self.recent.dropped(&dropped);
        }
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
        &mut self,
        res: &mut Response,
        use_case: UseCase,
        object: &str,
        now: Timestamp,
        regain_minutes: i64,
        limits: crate::Limits,
    ) {
        self.recent.age(&self.calls, now - SignedDuration::from_hours(1));
        // Percent of the object's allowance, one call to a point; full while throttled.
        let count = if regain_minutes > 0 {
            100
        } else {
            limits.usage(self.recent.of_object(object)).min(100)
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
            let app = limits.usage(self.recent.of_use_case(UseCase::Pages) / 2).min(100);
            let usage = json!({"call_count": app, "total_cputime": app / 4, "total_time": app / 4});
            if let Ok(v) = usage.to_string().parse() {
                res.headers_mut().insert("x-app-usage", v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(at: Timestamp, object: &str, use_case: UseCase) -> Call {
        Call {
            at,
            method: "POST".into(),
            path: "/x".into(),
            operation: "feed".into(),
            use_case,
            object: Some(object.into()),
        }
    }

    /// What the counts stand for, as a scan of the log: the calls that are, or follow one that
    /// is, younger than the hour.
    fn scanned(m: &Meter, horizon: Timestamp, f: impl Fn(&Call) -> bool) -> usize {
        m.calls
            .iter()
            .scan(None, |newest: &mut Option<Timestamp>, c| {
                *newest = (*newest).max(Some(c.at));
                Some((*newest > Some(horizon)).then_some(c))
            })
            .flatten()
            .filter(|c| f(c))
            .count()
    }

    #[test]
    fn the_recent_counts_match_a_scan_of_the_log_as_calls_age_leave_it_and_the_clock_moves_back() {
        // Each step is where the clock stands for one call; the whole list repeats, later.
        let mut m = Meter::new(50);
        let start = Timestamp::from_second(1_800_000_000).unwrap();
        // Minutes that go forward, jump an hour and more, and back twice.
        let steps = [0, 7, 7, 20, 41, 59, 60, 61, 95, 30, 140, 141, 10, 200, 260, 261];
        for (i, minute) in steps.iter().cycle().take(400).enumerate() {
            let now = start + SignedDuration::from_mins(*minute + i64::try_from(i / 16).unwrap() * 3);
            let object = ["page-1", "page-2", "ig-9"][i % 3];
            let u = if object == "ig-9" {
                UseCase::Instagram
            } else {
                UseCase::Pages
            };
            m.admit(call(now, object, u));
            let mut res = Response::default();
            m.headers(&mut res, u, object, now, 0, crate::Limits::default());
            let horizon = now - SignedDuration::from_hours(1);
            for o in ["page-1", "page-2", "ig-9", "none"] {
                assert_eq!(
                    m.recent.of_object(o),
                    scanned(&m, horizon, |c| c.object.as_deref() == Some(o)),
                    "object {o} after call {i}"
                );
            }
            assert_eq!(
                m.recent.of_use_case(UseCase::Pages),
                scanned(&m, horizon, |c| c.use_case == UseCase::Pages),
                "Pages after call {i}"
            );
        }
    }
}
