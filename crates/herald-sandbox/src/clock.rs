//! The sandbox's clock: real time plus an offset that `/_sandbox/clock/advance` or a test can move,
//! within [`SandboxClock::MAX_OFFSET`] of real time either way, so every date it gives is valid.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use jiff::{SignedDuration, Timestamp};

#[derive(Clone, Default, Debug)]
pub struct SandboxClock {
    offset_micros: Arc<AtomicI64>,
}

/// A move that would take the clock further than [`SandboxClock::MAX_OFFSET`] from real time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the sandbox clock stays within 100 years of real time; that move would take it {0} seconds away")]
pub struct ClockError(pub i64);

impl SandboxClock {
    /// How far from real time the clock may be moved, either way (100 years).
    pub const MAX_OFFSET: SignedDuration = SignedDuration::from_hours(100 * 366 * 24);

    pub fn now(&self) -> Timestamp {
        let off = SignedDuration::from_micros(self.offset_micros.load(Ordering::SeqCst));
        let real = Timestamp::now();
        // The offset is bounded, so this cannot fail; real time is the answer if it ever did.
        real.checked_add(off).unwrap_or(real)
    }

    /// Moves the clock by `by`; refuses (and leaves it where it was) a move past the bounds.
    pub fn advance(&self, by: SignedDuration) -> Result<Timestamp, ClockError> {
        let max = i64::try_from(Self::MAX_OFFSET.as_micros()).unwrap_or(i64::MAX);
        let by = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
        self.offset_micros
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |off| {
                off.checked_add(by).filter(|n| n.abs() <= max)
            })
            .map_err(|off| ClockError(off.saturating_add(by) / 1_000_000))?;
        Ok(self.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_moves_up_to_its_bounds_and_refuses_beyond_them() {
        let c = SandboxClock::default();
        assert!(c.advance(SandboxClock::MAX_OFFSET).is_ok());
        let at_bound = c.now();
        assert!(c.advance(SignedDuration::from_secs(86_400)).is_err());
        assert!(
            c.now() >= at_bound,
            "a refused move leaves the clock where it was"
        );
        assert!(c.advance(SignedDuration::MAX).is_err());
        assert!(c.advance(SignedDuration::MIN).is_err());
        let back = SignedDuration::ZERO - SandboxClock::MAX_OFFSET - SandboxClock::MAX_OFFSET;
        assert!(c.advance(back).is_ok(), "all the way to the other bound");
        assert!(c.now() < Timestamp::now());
    }
}
