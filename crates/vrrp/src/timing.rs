//! Timing measurements: how late timers fire, adverts leave and the master's adverts arrive.
//!
//! Issue 13 ("measure before trusting a timer"): before any interval is shortened, the worker
//! measures on the machine it runs on
//! - its scheduling lateness: timer fire vs the deadline the core asked for
//!   ([`crate::Instance::poll_timeout`]),
//! - its send lateness: an advert handed to the kernel vs when it was due,
//! - as a backup, the master's advert inter-arrival excess: gap between two accepted adverts
//!   minus the Master_Adver_Interval they announce (what eats into Master_Down_Interval),
//!
//! each into a [`Window`]: the last [`WINDOW`] samples in a fixed ring (no allocation per
//! sample or per summary) plus lifetime counters. Samples are microseconds, saturating at
//! `u32::MAX` (71 minutes). Percentiles use the nearest-rank method over the window.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Samples kept per window: 256 adverts = 25.6 s at the 100 ms default interval, 2.56 s at
/// 10 ms; enough for a p99 that is not just the maximum (it is the 3rd largest of 256).
pub const WINDOW: usize = 256;

/// A duration as whole microseconds, saturating.
pub fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// The last [`WINDOW`] samples (µs) and lifetime totals. Fixed size; `record` is O(1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    ring: [u32; WINDOW],
    /// Next slot to write.
    next: usize,
    /// Samples in the ring (≤ WINDOW).
    len: usize,
    /// Samples ever recorded.
    count: u64,
    /// Largest sample ever recorded.
    max_ever: u32,
    /// Latest sample.
    last: u32,
}

impl Default for Window {
    fn default() -> Self {
        Window {
            ring: [0; WINDOW],
            next: 0,
            len: 0,
            count: 0,
            max_ever: 0,
            last: 0,
        }
    }
}

impl Window {
    /// Record one sample.
    pub fn record(&mut self, d: Duration) {
        let us = micros(d);
        if let Some(slot) = self.ring.get_mut(self.next) {
            *slot = us;
        }
        self.next = (self.next + 1) % WINDOW;
        self.len = (self.len + 1).min(WINDOW);
        self.count = self.count.saturating_add(1);
        self.max_ever = self.max_ever.max(us);
        self.last = us;
    }

    /// Samples ever recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Summary of the window (sorted on a stack copy; no allocation).
    pub fn stats(&self) -> TimingStats {
        let mut sorted = [0u32; WINDOW];
        let n = self.len;
        let (Some(dst), Some(src)) = (sorted.get_mut(..n), self.ring.get(..n)) else {
            return TimingStats::default();
        };
        dst.copy_from_slice(src);
        dst.sort_unstable();
        let rank = |p: usize| -> u32 {
            // Nearest rank: the smallest sample with at least p % of the window at or below it.
            let r = (p * n).div_ceil(100).max(1);
            dst.get(r - 1).copied().unwrap_or(0)
        };
        TimingStats {
            samples: self.count,
            last_us: self.last,
            p50_us: if n == 0 { 0 } else { rank(50) },
            p99_us: if n == 0 { 0 } else { rank(99) },
            max_us: dst.last().copied().unwrap_or(0),
            max_ever_us: self.max_ever,
        }
    }
}

/// Summary of one [`Window`] (state file, metrics, `vrrp-status`). All zero until a sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TimingStats {
    /// Samples ever recorded.
    pub samples: u64,
    /// Latest sample, µs.
    pub last_us: u32,
    /// Median of the window, µs.
    pub p50_us: u32,
    /// 99th percentile of the window (nearest rank), µs.
    pub p99_us: u32,
    /// Largest sample in the window, µs.
    pub max_us: u32,
    /// Largest sample ever, µs.
    pub max_ever_us: u32,
}

/// The three measurements of one instance, as exported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Timing {
    /// Timer fire vs deadline (the worker's scheduling lateness).
    pub timer_late: TimingStats,
    /// Advert handed to the kernel vs when it was due (as master).
    pub send_late: TimingStats,
    /// Accepted master adverts: gap minus the announced interval, early counted as 0 (as
    /// backup).
    pub advert_gap_excess: TimingStats,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn empty_window_is_all_zero() {
        assert_eq!(Window::default().stats(), TimingStats::default());
    }

    #[test]
    fn one_sample_is_every_percentile() {
        let mut w = Window::default();
        w.record(Duration::from_micros(1234));
        let s = w.stats();
        assert_eq!(
            (s.samples, s.last_us, s.p50_us, s.p99_us),
            (1, 1234, 1234, 1234)
        );
        assert_eq!((s.max_us, s.max_ever_us), (1234, 1234));
    }

    #[test]
    fn nearest_rank_percentiles_of_1_to_100() {
        let mut w = Window::default();
        // Recorded out of order: the summary sorts.
        for v in (1..=100u64).rev() {
            w.record(ms(v));
        }
        let s = w.stats();
        assert_eq!(s.p50_us, 50_000);
        assert_eq!(s.p99_us, 99_000);
        assert_eq!(s.max_us, 100_000);
        assert_eq!(s.last_us, 1_000);
        assert_eq!(s.samples, 100);
    }

    #[test]
    fn window_forgets_old_samples_but_lifetime_max_stays() {
        let mut w = Window::default();
        w.record(ms(500));
        for _ in 0..WINDOW {
            w.record(ms(1));
        }
        let s = w.stats();
        assert_eq!(s.max_us, 1_000, "the 500 ms sample left the window");
        assert_eq!(s.max_ever_us, 500_000);
        assert_eq!(s.samples, WINDOW as u64 + 1);
        // One late sample among 256: p99 (3rd largest) ignores it, max shows it.
        w.record(ms(40));
        let s = w.stats();
        assert_eq!((s.p99_us, s.max_us), (1_000, 40_000));
    }

    #[test]
    fn p99_sees_three_outliers_in_a_full_window() {
        let mut w = Window::default();
        for k in 0..WINDOW {
            w.record(ms(if k % 100 == 7 { 30 } else { 2 }));
        }
        let s = w.stats();
        assert_eq!(s.p50_us, 2_000);
        assert_eq!(s.p99_us, 30_000);
    }

    #[test]
    fn samples_saturate() {
        let mut w = Window::default();
        w.record(Duration::from_secs(1 << 40));
        assert_eq!(w.stats().max_us, u32::MAX);
    }

    #[test]
    fn timing_reads_from_empty_and_partial_json() {
        let t: Timing = serde_json::from_str("{}").unwrap();
        assert_eq!(t, Timing::default());
        let t: Timing = serde_json::from_str(r#"{"send_late":{"max_us":7}}"#).unwrap();
        assert_eq!(t.send_late.max_us, 7);
    }
}
