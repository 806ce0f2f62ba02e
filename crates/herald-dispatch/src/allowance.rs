//! Each account's posts left in the platform's window, as its answers said (X's
//! `x-rate-limit-remaining` on `POST /2/tweets`), less the posting calls this process has under
//! way: an account the platform said has none left makes no call it would refuse, and one whose
//! last posts are under way waits for their answers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use herald_domain::ProfileId;
use jiff::Timestamp;
use tokio::sync::Notify;

/// The accounts' windows, as this process reckons them.
#[derive(Clone, Default)]
pub(crate) struct Allowances {
    windows: Arc<Mutex<HashMap<ProfileId, Window>>>,
    /// Told whenever a posting call ends (answered or abandoned): a take waiting for the calls
    /// under way looks again.
    ended: Arc<Notify>,
}

/// One account's window.
#[derive(Debug, Default)]
struct Window {
    /// The fewest posts left the platform has said for its current window, and when that window
    /// resets.
    said: Option<(u32, Timestamp)>,
    /// Posting calls started and not yet answered.
    calling: u32,
}

impl Window {
    /// What the platform last said is left in the current window, and when it resets.
    fn said(&self, now: Timestamp) -> Option<(u32, Timestamp)> {
        self.said.filter(|(_, resets)| *resets > now)
    }
}

impl Allowances {
    /// When the account's posts come back, if the platform said none is left.
    pub(crate) fn spent(&self, profile: ProfileId, now: Timestamp) -> Option<Timestamp> {
        let windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        match windows.get(&profile)?.said(now)? {
            (0, resets) => Some(resets),
            _ => None,
        }
    }

    /// Takes one of the account's posts left for a call that may make a post visible. While every
    /// post left is taken by a call under way, waits for one of those to end (its answer says
    /// whether one is left); once the platform said none is left, the instant they come back.
    pub(crate) async fn take(
        &self,
        profile: ProfileId,
        now: impl Fn() -> Timestamp,
    ) -> Result<Calling, Timestamp> {
        loop {
            // Listening before looking: a call that ends in between still wakes this take.
            let ended = self.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            {
                let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
                let window = windows.entry(profile).or_default();
                match window.said(now()) {
                    Some((0, resets)) => return Err(resets),
                    Some((said, _)) if said <= window.calling => {}
                    _ => {
                        window.calling += 1;
                        return Ok(Calling {
                            allowances: self.clone(),
                            profile,
                            ended: false,
                        });
                    }
                }
            }
            ended.await;
        }
    }

    /// Takes in what an answer said of the account's posts left (`left` after the answered call)
    /// and ends the call it answered, if this process counted it.
    pub(crate) fn answered(
        &self,
        profile: ProfileId,
        left: u32,
        resets: Timestamp,
        now: Timestamp,
        call: Option<Calling>,
    ) {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        // Removed, not written back, while the rest of the map is pruned below.
        let mut window = windows.remove(&profile).unwrap_or_default();
        if let Some(mut call) = call {
            // Ended here, under the same lock as the answer (its drop then takes no lock).
            window.calling = window.calling.saturating_sub(1);
            call.ended = true;
        }
        // Answers can arrive out of order: within a window the fewest left is the latest; an
        // earlier window's answer says nothing now.
        window.said = match window.said {
            Some((said, at)) if at == resets => Some((said.min(left), resets)),
            Some((said, at)) if at > resets => Some((said, at)),
            _ => Some((left, resets)),
        };
        windows.insert(profile, window);
        windows.retain(|_, w| w.calling > 0 || w.said(now).is_some());
        drop(windows);
        self.ended.notify_waiters();
    }
}

/// A posting call under way, counted against its account's posts left until it is answered or
/// abandoned (a call without an answer gives its post back: the next answer says the truth).
pub(crate) struct Calling {
    allowances: Allowances,
    profile: ProfileId,
    ended: bool,
}

impl Drop for Calling {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        let mut windows = self
            .allowances
            .windows
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(w) = windows.get_mut(&self.profile) {
            w.calling = w.calling.saturating_sub(1);
            // An account whose answers never said anything keeps no window.
            if w.calling == 0 && w.said.is_none() {
                windows.remove(&self.profile);
            }
        }
        drop(windows);
        self.allowances.ended.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;

    use super::*;

    #[tokio::test]
    async fn posts_left_count_the_calls_under_way_and_answers_out_of_order_settle_on_the_platforms_figure() {
        let allowances = Allowances::default();
        let p = ProfileId::new();
        let now = Timestamp::now();
        let at = || now;
        let resets = now + SignedDuration::from_mins(15);
        let first = allowances
            .take(p, at)
            .await
            .expect("nothing known: the call goes");
        allowances.answered(p, 3, resets, now, Some(first));
        let a = allowances.take(p, at).await.unwrap();
        let b = allowances.take(p, at).await.unwrap();
        let c = allowances.take(p, at).await.unwrap();
        // The platform took A then B; B's answer arrives first, then A's (older, one more left).
        allowances.answered(p, 1, resets, now, Some(b));
        allowances.answered(p, 2, resets, now, Some(a));
        assert_eq!(allowances.spent(p, now), None, "the last one is C's, under way");
        // A take waits for C: C's call lost without an answer gives its post back.
        let waiting = tokio::spawn({
            let allowances = allowances.clone();
            async move { allowances.take(p, || now).await.map(drop) }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "the only post left is under way");
        drop(c);
        assert_eq!(waiting.await.unwrap(), Ok(()));
        // The next take waits for D's answer, which says none is left: it waits for the reset.
        let d = allowances.take(p, at).await.unwrap();
        let waiting = tokio::spawn({
            let allowances = allowances.clone();
            async move { allowances.take(p, || now).await.map(drop) }
        });
        tokio::task::yield_now().await;
        allowances.answered(p, 0, resets, now, Some(d));
        assert_eq!(waiting.await.unwrap(), Err(resets));
        assert_eq!(allowances.spent(p, now), Some(resets));
        // An earlier window's answer changes nothing; after the reset the account posts again.
        allowances.answered(p, 9, now, now, None);
        assert_eq!(allowances.spent(p, now), Some(resets));
        let after = resets + SignedDuration::from_secs(1);
        assert_eq!(allowances.spent(p, after), None, "the window reset");
        drop(allowances.take(p, || after).await.unwrap());
        allowances.answered(p, 99, after + SignedDuration::from_mins(15), after, None);
        assert_eq!(allowances.windows.lock().unwrap()[&p].calling, 0);
        allowances.answered(ProfileId::new(), 5, after, after, None);
        assert_eq!(
            allowances.windows.lock().unwrap().len(),
            1,
            "a window that has reset, with nothing under way, is forgotten"
        );
    }
}
