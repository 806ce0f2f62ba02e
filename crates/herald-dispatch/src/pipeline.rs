//! The dispatch pipeline: claims due deliveries as slots free up (never waiting for the slowest of
//! a batch), works each in a task of its own behind the platform account's gate, pauses while the
//! database is unreachable, and on shutdown stops claiming, lets the steps in flight finish up to
//! a deadline and hands the rest back.

use std::sync::Arc;
use std::time::Duration;

use herald_store::Claimed;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use crate::Dispatcher;
use crate::gates::Gate;

/// The longest the dispatcher waits before asking an unreachable database again.
const MAX_PAUSE: Duration = Duration::from_secs(5);
/// When a claim got all it asked for and few slots are left, the next waits for this many free
/// slots (at most a claim's size)…
const GATHER_SLOTS: usize = 8;
/// …or this long (from the claim, or from when the first slot frees if none was left): in a
/// burst, one claim then takes several deliveries instead of one per finished task (each claim
/// is a statement and a commit).
const GATHER_FOR: Duration = Duration::from_millis(5);

/// What the loop does next.
enum Next {
    /// Claim as many as there are free slots.
    Claim,
    /// More is due but few slots are free: claim once enough are, or at the instant given (set
    /// when the first slot frees, if none was free).
    Gather(Option<tokio::time::Instant>),
    /// Nothing is due now (the last claim came back short): wait for the next due time, a
    /// wake-up or the backstop, reaping finished tasks meanwhile.
    Wait,
    /// What is due belongs to accounts this process already works as much as it may: claim
    /// again when one of its deliveries finishes (or a wake-up, or the backstop), not at once.
    Blocked,
    /// The database did not answer: wait this long before claiming again.
    Pause(Duration),
}

/// How a claim went.
enum Claim {
    /// It got all it asked for, or no slot was free: more may be due.
    More,
    /// It got fewer: nothing more is due now.
    Done,
    /// It got fewer while leaving the busiest accounts' deliveries out: what is left may be theirs.
    Blocked,
}

impl Dispatcher {
    /// Runs until `shutdown` resolves, then stops claiming, lets the deliveries in hand finish
    /// their current step (for up to the shutdown grace) and hands the rest back.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        tracing::info!(
            owner = %self.owner,
            concurrency = self.settings.concurrency,
            claim_size = self.settings.claim_size,
            per_account = self.settings.per_account,
            "dispatcher started"
        );
        let listener = self.listen_for_wakes();
        let slots = Arc::new(Semaphore::new(self.settings.concurrency.max(1)));
        let mut working = JoinSet::new();
        let mut next = Next::Claim;
        let mut pause = Duration::from_millis(250);
        loop {
            let seen = self.clock.moves();
            reap(&mut working);
            if let Next::Gather(until) = &mut next
                && slots.available_permits() > 0
            {
                let now = tokio::time::Instant::now();
                let until = *until.get_or_insert(now + GATHER_FOR);
                if slots.available_permits() >= self.gather_slots() || now >= until {
                    next = Next::Claim;
                }
            }
            if matches!(next, Next::Claim) {
                next = match self.claim_into(&slots, &mut working).await {
                    Ok(Claim::More) => Next::Claim,
                    Ok(Claim::Done) => Next::Wait,
                    Ok(Claim::Blocked) => Next::Blocked,
                    Err(()) => Next::Pause(pause),
                };
                if matches!(next, Next::Pause(_)) {
                    pause = (pause * 2).min(MAX_PAUSE);
                } else {
                    pause = Duration::from_millis(250);
                }
                // Few slots left after a full claim: gather a few more, for at most a moment
                // from now when some are free (or from when the first frees).
                if matches!(next, Next::Claim) && slots.available_permits() < self.gather_slots() {
                    let free = slots.available_permits() > 0;
                    next = Next::Gather(free.then(|| tokio::time::Instant::now() + GATHER_FOR));
                }
            }
            let wait = match next {
                Next::Claim => continue,
                Next::Gather(None) => None,
                Next::Gather(Some(until)) => {
                    Some(until.saturating_duration_since(tokio::time::Instant::now()))
                }
                Next::Blocked => Some(self.settings.backstop),
                Next::Wait => Some(self.until_next_due().await),
                Next::Pause(d) => Some(d),
            };
            tokio::select! {
                () = &mut shutdown => break,
                // A slot freed: claim again if slots or accounts were the limit; otherwise wait
                // on, looking again at the next due time (the finished task may have set a retry).
                Some(done) = working.join_next(), if !working.is_empty() => {
                    reaped(done);
                    if matches!(next, Next::Blocked) {
                        next = Next::Claim;
                    }
                }
                () = sleep_for(wait) => next = Next::Claim,
                () = self.wake.notified() => next = Next::Claim,
                () = self.clock.moved_since(seen) => next = Next::Claim,
            }
        }
        self.wind_down(working).await;
        if let Some(l) = listener {
            l.abort();
        }
        tracing::info!("dispatcher stopped");
    }

    /// How many free slots a claim waits for in a burst (see [`GATHER_SLOTS`]).
    fn gather_slots(&self) -> usize {
        GATHER_SLOTS
            .min(self.settings.claim_size)
            .min(self.settings.concurrency)
            .max(1)
    }

    /// Claims up to as many deliveries as there are free slots (at most a claim's size) and
    /// starts a task for each; `Err` when the database failed (logged).
    async fn claim_into(&self, slots: &Arc<Semaphore>, working: &mut JoinSet<()>) -> Result<Claim, ()> {
        let free = slots.available_permits().min(self.settings.claim_size.max(1));
        let Some(mut permits) = u32::try_from(free)
            .ok()
            .filter(|n| *n > 0)
            .and_then(|n| Arc::clone(slots).try_acquire_many_owned(n).ok())
        else {
            return Ok(Claim::More);
        };
        let lease_until = self.lease_until(self.settings.lease);
        let busy = self.accounts.saturated(self.clock.now());
        let claimed = match self
            .store
            .claim_due_except(&self.owner, lease_until, i64::try_from(free).unwrap_or(1), &busy)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "claiming due deliveries failed; the dispatcher pauses until the database answers");
                return Err(());
            }
        };
        let got = claimed.len();
        for c in claimed {
            let slot = permits.split(1).expect("one permit per claimed delivery");
            // Taken now, so the next claim already counts it against its account.
            let gate = self.accounts.gate(c.profile);
            let me = self.clone();
            working.spawn(async move { me.work(c, slot, gate).await });
        }
        Ok(match (got == free, busy.is_empty()) {
            (true, _) => Claim::More,
            (false, true) => Claim::Done,
            (false, false) => Claim::Blocked,
        })
    }

    /// Works one claimed delivery once its platform account has room, holding its slot until
    /// done; a stopping dispatcher hands it back instead.
    async fn work(self, c: Claimed, _slot: OwnedSemaphorePermit, gate: Gate) {
        let _turn = tokio::select! {
            biased;
            () = self.stopping.stopped() => None,
            turn = gate.turn(self.clock.now()) => Some(turn),
            e = self.keep(&c) => {
                tracing::warn!(delivery = %c.id, error = %e, "lost the claim while waiting for the account's turn");
                return;
            }
        };
        if self.stopping.is_stopping() {
            self.hand_back(&c).await;
            return;
        }
        self.process(c).await;
    }

    /// Hands a delivery back at shutdown, before its next platform call: claimable at once.
    pub(crate) async fn hand_back(&self, c: &Claimed) {
        match self.store.release(c).await {
            Ok(()) => tracing::info!(delivery = %c.id, "handed back at shutdown"),
            Err(e) => {
                tracing::warn!(delivery = %c.id, error = %e, "could not hand back at shutdown; taken over when its lease lapses")
            }
        }
    }

    /// Stops claiming and gives the deliveries in hand the shutdown grace to finish their step;
    /// what is still running then is abandoned, its lease left to lapse.
    async fn wind_down(&self, mut working: JoinSet<()>) {
        self.stopping.stop();
        if working.is_empty() {
            return;
        }
        tracing::info!(
            deliveries = working.len(),
            grace_secs = self.settings.shutdown_grace.as_secs(),
            "stopping: letting the deliveries in hand finish their current step"
        );
        let drained = tokio::time::timeout(self.settings.shutdown_grace, async {
            while working.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                deliveries = working.len(),
                "the shutdown grace ran out: these deliveries are taken over when their leases lapse"
            );
            working.abort_all();
            while working.join_next().await.is_some() {}
        }
    }

    /// How long to sleep before the next delivery falls due (at most the backstop).
    async fn until_next_due(&self) -> Duration {
        match self.store.next_due_at().await {
            Ok(Some(at)) => {
                let now = self.clock.now().as_microsecond();
                Duration::from_micros(u64::try_from(at.saturating_sub(now)).unwrap_or(0))
                    .min(self.settings.backstop)
            }
            Ok(None) => self.settings.backstop,
            Err(e) => {
                tracing::error!(error = %e, "reading the next due time failed");
                self.settings.backstop.min(MAX_PAUSE)
            }
        }
    }
}

/// Collects the tasks that finished (each holds memory until collected).
fn reap(working: &mut JoinSet<()>) {
    while let Some(done) = working.try_join_next() {
        reaped(done);
    }
}

/// Logs a task that panicked instead of finishing (its delivery's lease lapses, and another
/// claim takes it over).
fn reaped(done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done
        && e.is_panic()
    {
        tracing::error!(error = %e, "a delivery's task panicked; its lease lapses and it is taken over");
    }
}

/// Sleeps for `d`, or forever when there is nothing to wait for.
async fn sleep_for(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}
