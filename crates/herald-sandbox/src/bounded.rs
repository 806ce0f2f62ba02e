//! A list that keeps only its newest entries: the journal, the call log and comments use it so
//! that no stream of requests can grow the sandbox's memory without limit.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// The most authorization codes one platform keeps.
pub(crate) const MAX_CODES: usize = 10_000;
/// The most tokens one platform keeps.
pub(crate) const MAX_TOKENS: usize = 100_000;

/// Inserts into a map of things that expire (codes, tokens): now and then forgets the entries
/// `keep` refuses, then, at `limit`, those `rank` puts first (the soonest to expire).
pub(crate) fn insert_expiring<K: Clone + Eq + Hash, V, O: Ord>(
    map: &mut HashMap<K, V>,
    (key, value): (K, V),
    limit: usize,
    keep: impl Fn(&V) -> bool,
    rank: impl Fn(&V) -> O,
) {
    // Sweeping is a scan: done once every 256 entries, or when the map is full.
    if map.len() % 256 == 255 || map.len() >= limit {
        map.retain(|_, v| keep(v));
    }
    while map.len() >= limit {
        let Some(k) = map.iter().min_by_key(|(_, v)| rank(v)).map(|(k, _)| k.clone()) else {
            break;
        };
        map.remove(&k);
    }
    map.insert(key, value);
}

/// Records a code, forgetting expired codes (and the soonest to expire beyond [`MAX_CODES`]).
pub(crate) fn add_code<K: Clone + Eq + Hash, V>(
    map: &mut HashMap<K, V>,
    entry: (K, V),
    now: jiff::Timestamp,
    expires: impl Fn(&V) -> jiff::Timestamp,
) {
    insert_expiring(map, entry, MAX_CODES, |v| expires(v) > now, &expires);
}

/// Records a token, forgetting tokens that expired more than a week ago (a token that expired
/// recently still answers "expired" rather than "unknown", as the platforms' do).
pub(crate) fn add_token<K: Clone + Eq + Hash, V>(
    map: &mut HashMap<K, V>,
    entry: (K, V),
    now: jiff::Timestamp,
    expires: impl Fn(&V) -> jiff::Timestamp,
) {
    let week_ago = now - jiff::SignedDuration::from_hours(24 * 7);
    insert_expiring(map, entry, MAX_TOKENS, |v| expires(v) > week_ago, &expires);
}

#[derive(Debug)]
pub(crate) struct Bounded<T> {
    items: VecDeque<T>,
    limit: usize,
}

impl<T> Bounded<T> {
    pub fn new(limit: usize) -> Self {
        Self {
            items: VecDeque::new(),
            limit: limit.max(1),
        }
    }

    /// Appends `item`, dropping the oldest entry when the list is full; returns the one dropped.
    pub fn push(&mut self, item: T) -> Option<T> {
        let dropped = (self.items.len() >= self.limit)
            .then(|| self.items.pop_front())
            .flatten();
        self.items.push_back(item);
        dropped
    }

    /// The `i`th entry, oldest first.
    pub fn get(&self, i: usize) -> Option<&T> {
        self.items.get(i)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> {
        self.items.iter()
    }
}

impl<T: serde::Serialize> serde::Serialize for Bounded<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.items.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::Bounded;

    #[test]
    fn only_the_newest_entries_are_kept() {
        let mut b = Bounded::new(3);
        for i in 0..10 {
            b.push(i);
        }
        assert_eq!(b.iter().copied().collect::<Vec<_>>(), vec![7, 8, 9]);
    }
}
