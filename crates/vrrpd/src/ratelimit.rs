//! Per-key log rate limiting, so a flood of bad packets cannot fill the disk.
//!
//! Each key (e.g. instance + drop reason) may log once per window; later events inside the
//! window are counted and the count is reported with the next line that is allowed through.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// Default window: one line per 10 s per key.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(10);

#[derive(Debug)]
struct Entry {
    last: Instant,
    suppressed: u64,
}

/// A rate limiter keyed by `K`.
#[derive(Debug)]
pub struct RateLimiter<K> {
    window: Duration,
    entries: HashMap<K, Entry>,
}

impl<K: Hash + Eq> RateLimiter<K> {
    /// A limiter allowing one event per `window` per key.
    pub fn new(window: Duration) -> Self {
        RateLimiter {
            window,
            entries: HashMap::new(),
        }
    }

    /// Record one event for `key` at `now`. Returns `Some(suppressed)` when the caller should
    /// log (with the number of events suppressed since the last logged one), `None` otherwise.
    pub fn allow(&mut self, key: K, now: Instant) -> Option<u64> {
        match self.entries.get_mut(&key) {
            None => {
                self.entries.insert(
                    key,
                    Entry {
                        last: now,
                        suppressed: 0,
                    },
                );
                Some(0)
            }
            Some(e) if now.saturating_duration_since(e.last) >= self.window => {
                let n = e.suppressed;
                e.last = now;
                e.suppressed = 0;
                Some(n)
            }
            Some(e) => {
                e.suppressed = e.suppressed.saturating_add(1);
                None
            }
        }
    }
}

impl<K: Hash + Eq> RateLimiter<K> {
    /// Drop what is known about `key` (its next event logs at once), so callers whose key
    /// space is unbounded can keep the map bounded.
    pub fn forget(&mut self, key: &K) {
        self.entries.remove(key);
    }

    /// Keys tracked (tests check the map stays bounded).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_per_window_with_suppressed_count() {
        let mut rl = RateLimiter::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(rl.allow("ttl", t0), Some(0));
        for i in 1..=99 {
            assert_eq!(rl.allow("ttl", t0 + Duration::from_millis(i * 50)), None);
        }
        // Another key is independent.
        assert_eq!(rl.allow("checksum", t0), Some(0));
        assert_eq!(rl.allow("ttl", t0 + Duration::from_secs(10)), Some(99));
        assert_eq!(rl.allow("ttl", t0 + Duration::from_secs(11)), None);
    }
}
