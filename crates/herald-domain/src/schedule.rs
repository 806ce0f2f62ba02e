//! Turning what a person typed into the instant a post is due, DST-correct.

use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{Timestamp, ZonedDateTime};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "`scheduled_at` must be RFC 3339 with an offset (2026-03-08T09:00:00-05:00), or a local time with `time_zone`"
    )]
    Unparseable,
    #[error("unknown time zone `{0}`: use an IANA name such as Europe/Paris")]
    UnknownZone(String),
    #[error("{local} does not exist in {zone} (the clocks jump forward); did you mean {earlier} or {later}?")]
    InGap {
        local: String,
        zone: String,
        earlier: Timestamp,
        later: Timestamp,
    },
    #[error(
        "{local} happens twice in {zone} (the clocks go back); send {earlier} or {later} with its offset"
    )]
    InFold {
        local: String,
        zone: String,
        earlier: Timestamp,
        later: Timestamp,
    },
}

/// When a post is due: the instant, and the zone the person planned it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledAt {
    pub at: Timestamp,
    pub time_zone: String,
}

/// Parses `scheduled_at`: an RFC 3339 instant with an offset, or a local time with an IANA `time_zone`.
pub fn resolve(scheduled_at: &str, time_zone: Option<&str>) -> Result<ScheduledAt, ScheduleError> {
    let zone_name = time_zone.unwrap_or("UTC");
    let tz = TimeZone::get(zone_name).map_err(|_| ScheduleError::UnknownZone(zone_name.to_owned()))?;
    if let Ok(at) = scheduled_at.parse::<Timestamp>() {
        return Ok(ScheduledAt {
            at,
            time_zone: zone_name.to_owned(),
        });
    }
    if let Ok(z) = scheduled_at.parse::<ZonedDateTime>() {
        return Ok(ScheduledAt {
            at: z.timestamp(),
            time_zone: z.time_zone().iana_name().unwrap_or(zone_name).to_owned(),
        });
    }
    if time_zone.is_none() {
        return Err(ScheduleError::Unparseable);
    }
    let local: DateTime = scheduled_at.parse().map_err(|_| ScheduleError::Unparseable)?;
    let ambiguous = tz.to_ambiguous_timestamp(local);
    match ambiguous.offset() {
        AmbiguousOffset::Unambiguous { offset } => Ok(ScheduledAt {
            at: offset
                .to_timestamp(local)
                .map_err(|_| ScheduleError::Unparseable)?,
            time_zone: zone_name.to_owned(),
        }),
        AmbiguousOffset::Gap { before, after } => Err(ScheduleError::InGap {
            local: local.to_string(),
            zone: zone_name.to_owned(),
            earlier: after
                .to_timestamp(local)
                .map_err(|_| ScheduleError::Unparseable)?,
            later: before
                .to_timestamp(local)
                .map_err(|_| ScheduleError::Unparseable)?,
        }),
        AmbiguousOffset::Fold { before, after } => Err(ScheduleError::InFold {
            local: local.to_string(),
            zone: zone_name.to_owned(),
            earlier: before
                .to_timestamp(local)
                .map_err(|_| ScheduleError::Unparseable)?,
            later: after
                .to_timestamp(local)
                .map_err(|_| ScheduleError::Unparseable)?,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_time_in_new_york_follows_daylight_saving() {
        let winter = resolve("2026-03-07T09:00:00", Some("America/New_York")).unwrap();
        let summer = resolve("2026-03-09T09:00:00", Some("America/New_York")).unwrap();
        assert_eq!(winter.at.to_string(), "2026-03-07T14:00:00Z");
        assert_eq!(summer.at.to_string(), "2026-03-09T13:00:00Z");
    }

    #[test]
    fn a_local_time_in_the_spring_gap_is_refused_naming_both_instants() {
        let err = resolve("2026-03-08T02:30:00", Some("America/New_York")).unwrap_err();
        let ScheduleError::InGap { earlier, later, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(earlier.to_string(), "2026-03-08T06:30:00Z");
        assert_eq!(later.to_string(), "2026-03-08T07:30:00Z");
        assert!(err.to_string().contains("does not exist"));
    }

    #[test]
    fn a_local_time_in_the_autumn_fold_is_refused_naming_both_instants() {
        let err = resolve("2026-11-01T01:30:00", Some("America/New_York")).unwrap_err();
        let ScheduleError::InFold { earlier, later, .. } = err else {
            panic!()
        };
        assert_eq!(earlier.to_string(), "2026-11-01T05:30:00Z");
        assert_eq!(later.to_string(), "2026-11-01T06:30:00Z");
    }

    #[test]
    fn an_offset_instant_keeps_the_given_zone_and_a_bad_zone_is_named() {
        let s = resolve("2026-06-01T10:00:00+02:00", Some("Europe/Paris")).unwrap();
        assert_eq!(s.at.to_string(), "2026-06-01T08:00:00Z");
        assert_eq!(s.time_zone, "Europe/Paris");
        assert_eq!(
            resolve("2026-06-01T10:00:00", Some("Mars/Olympus")).unwrap_err(),
            ScheduleError::UnknownZone("Mars/Olympus".into())
        );
        assert_eq!(resolve("tomorrow", None).unwrap_err(), ScheduleError::Unparseable);
    }
}
