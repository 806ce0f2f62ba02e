//! The sandbox's clock: real time plus an offset that `/_sandbox/clock` or a test can move.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use jiff::{SignedDuration, Timestamp};

#[derive(Clone, Default, Debug)]
pub struct SandboxClock {
    offset_micros: Arc<AtomicI64>,
}

impl SandboxClock {
    pub fn now(&self) -> Timestamp {
        let off = SignedDuration::from_micros(self.offset_micros.load(Ordering::SeqCst));
        Timestamp::now()
            .saturating_add(off)
            .expect("sandbox clock in range")
    }

    pub fn advance(&self, by: SignedDuration) {
        self.offset_micros.fetch_add(
            i64::try_from(by.as_micros()).unwrap_or(i64::MAX),
            Ordering::SeqCst,
        );
    }
}
