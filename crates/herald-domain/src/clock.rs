//! A clock that tests can move: Herald and the sandbox never read the system time directly.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use jiff::{SignedDuration, Timestamp};
use tokio::sync::Notify;

/// The system clock plus an offset that tests can advance. Cloning shares the offset.
#[derive(Clone, Default)]
pub struct Clock {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    offset_micros: AtomicI64,
    /// How many times the clock was moved.
    moves: AtomicU64,
    moved: Notify,
}

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    pub fn now(&self) -> Timestamp {
        let offset = SignedDuration::from_micros(self.inner.offset_micros.load(Ordering::SeqCst));
        Timestamp::now()
            .saturating_add(offset)
            .expect("clock offset within range")
    }

    /// Moves this clock (and every clone of it) forward and wakes whoever waits on [`Clock::moved`].
    pub fn advance(&self, by: SignedDuration) {
        let micros = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
        self.inner.offset_micros.fetch_add(micros, Ordering::SeqCst);
        self.inner.moves.fetch_add(1, Ordering::SeqCst);
        self.inner.moved.notify_waiters();
    }

    /// How many times the clock has been moved: pass it to [`Clock::moved_since`] to miss no move
    /// that happens in between.
    pub fn moves(&self) -> u64 {
        self.inner.moves.load(Ordering::SeqCst)
    }

    /// Resolves once the clock has been moved more than `seen` times (at once if it already was).
    pub async fn moved_since(&self, seen: u64) {
        loop {
            let mut notified = std::pin::pin!(self.inner.moved.notified());
            notified.as_mut().enable();
            if self.moves() != seen {
                return;
            }
            notified.await;
        }
    }

    /// Resolves the next time the clock is moved.
    pub async fn moved(&self) {
        self.moved_since(self.moves()).await;
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Clock(offset={}us)",
            self.inner.offset_micros.load(Ordering::SeqCst)
        )
    }
}

/// Microseconds since the Unix epoch, the way instants are stored.
pub fn to_micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

pub fn from_micros(us: i64) -> Timestamp {
    Timestamp::from_microsecond(us).unwrap_or(Timestamp::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_move_made_before_waiting_is_not_missed() {
        let clock = Clock::system();
        let seen = clock.moves();
        clock.advance(SignedDuration::from_secs(1));
        clock.moved_since(seen).await;
    }

    #[test]
    fn advancing_a_clone_moves_the_original() {
        let clock = Clock::system();
        let before = clock.now();
        clock.clone().advance(SignedDuration::from_hours(25));
        assert!(clock.now().duration_since(before) >= SignedDuration::from_hours(25));
    }
}
