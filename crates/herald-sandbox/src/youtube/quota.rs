//! YouTube's daily quota: a project has so many units a day (10,000 unless Google raised it), every
//! method costs some (a list 1, a comment or a thumbnail 50, a video upload 1,600 in the classic
//! model), and the count starts again at midnight Pacific time [official].

use jiff::Timestamp;
use jiff::civil::Date;

/// Units a project gets a day, and what `videos.insert` costs, in the classic model [official].
const DAILY_UNITS: u32 = 10_000;
const INSERT_COST: u32 = 1_600;

/// The app's quota: its allocation, what an upload costs, and the units spent on one Pacific day.
#[derive(Debug, Clone)]
pub(crate) struct Quota {
    pub daily_units: u32,
    pub insert_cost: u32,
    spent: u32,
    day: Option<Date>,
}

impl Default for Quota {
    fn default() -> Self {
        Self {
            daily_units: DAILY_UNITS,
            insert_cost: INSERT_COST,
            spent: 0,
            day: None,
        }
    }
}

/// The day it is in California, where the quota's day runs from midnight to midnight.
fn pacific_day(now: Timestamp) -> Date {
    let tz = jiff::tz::TimeZone::get("America/Los_Angeles")
        .unwrap_or_else(|_| jiff::tz::TimeZone::fixed(jiff::tz::offset(-8)));
    now.to_zoned_datetime(tz).date()
}

impl Quota {
    /// The units spent today.
    pub fn spent(&self, now: Timestamp) -> u32 {
        match self.day == Some(pacific_day(now)) {
            true => self.spent,
            false => 0,
        }
    }

    /// Spends `units` of today's `budget`; `false`, spending nothing, when they would go past it.
    pub fn spend(&mut self, units: u32, budget: u32, now: Timestamp) -> bool {
        let today = pacific_day(now);
        if self.day != Some(today) {
            (self.day, self.spent) = (Some(today), 0);
        }
        let after = self.spent.saturating_add(units);
        if after > budget {
            return false;
        }
        self.spent = after;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn the_quota_starts_again_at_midnight_pacific_time_not_at_midnight_utc() {
        let mut q = Quota::default();
        // Noon on 29 November in California (PST, UTC-8).
        assert!(q.spend(10_000, 10_000, at("2026-11-29T20:00:00Z")));
        assert!(
            !q.spend(1, 10_000, at("2026-11-29T20:00:01Z")),
            "the day's units are spent"
        );
        let after_utc_midnight = at("2026-11-30T00:30:00Z");
        assert!(
            !q.spend(1, 10_000, after_utc_midnight),
            "still the 29th in California"
        );
        assert_eq!(q.spent(after_utc_midnight), 10_000);
        let pacific_midnight = at("2026-11-30T08:00:00Z");
        assert_eq!(q.spent(pacific_midnight), 0);
        assert!(q.spend(1_600, 10_000, pacific_midnight));
        assert_eq!(q.spent(pacific_midnight), 1_600);
    }

    #[test]
    fn in_summer_the_pacific_day_ends_an_hour_earlier_in_utc() {
        let mut q = Quota::default();
        assert!(q.spend(10_000, 10_000, at("2026-06-30T20:00:00Z")));
        assert!(!q.spend(1, 10_000, at("2026-07-01T06:59:59Z")), "23:59:59 PDT");
        assert!(q.spend(1, 10_000, at("2026-07-01T07:00:00Z")), "midnight PDT");
    }

    #[test]
    fn a_call_that_would_go_past_the_budget_spends_nothing() {
        let mut q = Quota::default();
        let now = at("2026-11-29T20:00:00Z");
        assert!(q.spend(9_000, 10_000, now));
        assert!(!q.spend(1_600, 10_000, now), "an upload no longer fits");
        assert!(
            q.spend(1_000, 10_000, now),
            "but the rest of the day's units are there"
        );
    }
}
