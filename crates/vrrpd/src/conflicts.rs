//! The operator-facing record of VRRP conflicts of one instance: who advertises on our VRID
//! with another configuration, what differs, since when, how often.
//!
//! The core ([`vrrp::conflicts`]) classifies and counts by kind and emits
//! [`vrrp::Action::Conflict`]; this edge keeps the per-source table with wall-clock times for
//! the state file, bounded to [`MAX_ENTRIES`] (the entry seen least recently is evicted), and
//! decides when to log: once per source per [`LOG_WINDOW`].

use std::net::IpAddr;
use std::time::{Duration, Instant};

use vrrp::ConflictRecord;

use crate::ratelimit::RateLimiter;

/// Most (source, kind) entries kept per instance.
pub const MAX_ENTRIES: usize = 16;
/// One log line per source per window.
pub const LOG_WINDOW: Duration = Duration::from_secs(60);

/// What the caller should log for one recorded conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLine {
    /// Adverts of this entry so far.
    pub count: u64,
    /// Conflicting adverts from this source not logged since its last line.
    pub suppressed: u64,
}

/// The bounded table of one instance plus its log limiter.
#[derive(Debug)]
pub struct ConflictLog {
    entries: Vec<ConflictRecord>,
    log: RateLimiter<IpAddr>,
}

impl Default for ConflictLog {
    fn default() -> Self {
        ConflictLog::new(LOG_WINDOW)
    }
}

impl ConflictLog {
    /// An empty table logging once per source per `window`.
    pub fn new(window: Duration) -> Self {
        ConflictLog {
            entries: Vec::new(),
            log: RateLimiter::new(window),
        }
    }

    /// Record one conflicting advert from `src` at `now` (`unix_ms` is the same instant on
    /// the wall clock). Returns what to log when this source may log again.
    pub fn record(
        &mut self,
        src: IpAddr,
        kind: vrrp::ConflictKind,
        now: Instant,
        unix_ms: u64,
    ) -> Option<LogLine> {
        let count = match self
            .entries
            .iter_mut()
            .find(|e| e.source == src && e.kind == kind)
        {
            Some(e) => {
                e.count = e.count.saturating_add(1);
                e.last_seen_unix_ms = unix_ms;
                e.count
            }
            None => {
                if self.entries.len() >= MAX_ENTRIES {
                    self.evict_stalest();
                }
                self.entries.push(ConflictRecord {
                    source: src,
                    kind,
                    first_seen_unix_ms: unix_ms,
                    last_seen_unix_ms: unix_ms,
                    count: 1,
                });
                1
            }
        };
        self.log
            .allow(src, now)
            .map(|suppressed| LogLine { count, suppressed })
    }

    /// The entries, oldest first.
    pub fn entries(&self) -> &[ConflictRecord] {
        &self.entries
    }

    fn evict_stalest(&mut self) {
        let Some(k) = self
            .entries
            .iter()
            .enumerate()
            .min_by_key(|(_, e)| e.last_seen_unix_ms)
            .map(|(k, _)| k)
        else {
            return;
        };
        let gone = self.entries.remove(k);
        // The limiter holds only sources still in the table, so it is bounded too.
        if !self.entries.iter().any(|e| e.source == gone.source) {
            self.log.forget(&gone.source);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vrrp::ConflictKind::{OtherVips, Version};

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, n])
    }

    #[test]
    fn counts_by_source_and_kind_and_logs_once_per_source_per_window() {
        let mut log = ConflictLog::default();
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        assert_eq!(
            log.record(ip(77), OtherVips, t0, 1_000),
            Some(LogLine {
                count: 1,
                suppressed: 0
            })
        );
        // Same source, another kind: counted apart, but the source already logged.
        assert_eq!(log.record(ip(77), Version, at(1), 2_000), None);
        for s in 2..60 {
            assert_eq!(log.record(ip(77), OtherVips, at(s), s * 1_000), None);
        }
        // Another source logs at once.
        assert!(log.record(ip(78), OtherVips, at(30), 30_000).is_some());
        assert_eq!(
            log.record(ip(77), OtherVips, at(60), 60_000),
            Some(LogLine {
                count: 60,
                suppressed: 59
            })
        );
        let e = log.entries();
        assert_eq!(e.len(), 3);
        assert_eq!(
            (e[0].source, e[0].kind, e[0].count),
            (ip(77), OtherVips, 60)
        );
        assert_eq!(
            (e[0].first_seen_unix_ms, e[0].last_seen_unix_ms),
            (1_000, 60_000)
        );
        assert_eq!((e[1].kind, e[1].count), (Version, 1));
        assert_eq!((e[2].source, e[2].count), (ip(78), 1));
    }

    #[test]
    fn bounded_and_the_stalest_entry_is_evicted() {
        let mut log = ConflictLog::default();
        let t0 = Instant::now();
        for n in 0..MAX_ENTRIES as u8 {
            log.record(ip(n), OtherVips, t0, 100 + u64::from(n));
        }
        // Source 0 is refreshed: source 1 is now the stalest.
        log.record(ip(0), OtherVips, t0, 500);
        log.record(ip(200), OtherVips, t0, 600);
        let srcs: Vec<IpAddr> = log.entries().iter().map(|e| e.source).collect();
        assert_eq!(srcs.len(), MAX_ENTRIES);
        assert!(srcs.contains(&ip(0)) && srcs.contains(&ip(200)));
        assert!(!srcs.contains(&ip(1)));
        // The evicted source was forgotten by the limiter: inside the window, it logs again.
        assert!(log.record(ip(1), OtherVips, t0, 700).is_some());
        // Many sources: table and limiter stay bounded.
        for n in 0..300u16 {
            log.record(ip((n % 250) as u8), OtherVips, t0, 1_000 + u64::from(n));
        }
        assert_eq!(log.entries().len(), MAX_ENTRIES);
        assert!(log.log.len() <= MAX_ENTRIES, "{}", log.log.len());
    }
}
