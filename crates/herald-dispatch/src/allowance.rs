//! Each account's posts left in the platform's window, as its answers said (X's
//! `x-rate-limit-remaining` on `POST /2/tweets`), less the posting calls this process has under
//! way: an account with none left makes no call the platform would refuse.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use herald_domain::ProfileId;
use jiff::Timestamp;

/// The accounts' windows, as this process reckons them.
#[derive(Clone, Default)]
pub(crate) struct Allowances {
    windows: Arc<Mutex<HashMap<ProfileId, Window>>>,
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
    /// Posts left once the calls under way are counted, and when more come.
    fn left(&self, now: Timestamp) -> Option<(u32, Timestamp)> {
        let (said, resets) = self.said.filter(|(_, resets)| *resets > now)?;
        Some((said.saturating_sub(self.calling), resets))
    }
}

impl Allowances {
    /// When the account's posts come back, if this process knows none is left.
    pub(crate) fn spent(&self, profile: ProfileId, now: Timestamp) -> Option<Timestamp> {
        let windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let (left, resets) = windows.get(&profile)?.left(now)?;
        (left == 0).then_some(resets)
    }

    /// Takes one of the account's posts left for a call that may make a post visible; when none
    /// is left, the instant they come back.
    pub(crate) fn call(&self, profile: ProfileId, now: Timestamp) -> Result<Calling, Timestamp> {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let window = windows.entry(profile).or_default();
        if let Some((0, resets)) = window.left(now) {
            return Err(resets);
        }
        window.calling += 1;
        Ok(Calling {
            allowances: self.clone(),
            profile,
            ended: false,
        })
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
        windows.retain(|_, w| w.calling > 0 || w.said.is_some_and(|(_, resets)| resets > now));
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
    }
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;

    use super::*;

    #[test]
    fn posts_left_count_the_calls_under_way_and_answers_out_of_order_settle_on_the_platforms_figure() {
        let allowances = Allowances::default();
        let p = ProfileId::new();
        let now = Timestamp::now();
        let resets = now + SignedDuration::from_mins(15);
        let first = allowances.call(p, now).expect("nothing known: the call goes");
        allowances.answered(p, 3, resets, now, Some(first));
        let a = allowances.call(p, now).unwrap();
        let b = allowances.call(p, now).unwrap();
        let c = allowances.call(p, now).unwrap();
        assert_eq!(
            allowances.call(p, now).err(),
            Some(resets),
            "all three left are under way"
        );
        assert_eq!(allowances.spent(p, now), Some(resets));
        // The platform took A then B; B's answer arrives first, then A's (older, one more left).
        allowances.answered(p, 1, resets, now, Some(b));
        allowances.answered(p, 2, resets, now, Some(a));
        assert_eq!(allowances.spent(p, now), Some(resets), "C may take the last one");
        // C's call is lost without an answer: its post is given back until an answer says more.
        drop(c);
        assert_eq!(allowances.spent(p, now), None);
        let d = allowances.call(p, now).unwrap();
        allowances.answered(p, 0, resets, now, Some(d));
        assert_eq!(allowances.spent(p, now), Some(resets));
        // An earlier window's answer changes nothing; after the reset the account posts again.
        allowances.answered(p, 9, now, now, None);
        assert_eq!(allowances.spent(p, now), Some(resets));
        let after = resets + SignedDuration::from_secs(1);
        assert_eq!(allowances.spent(p, after), None, "the window reset");
        drop(allowances.call(p, after).unwrap());
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
