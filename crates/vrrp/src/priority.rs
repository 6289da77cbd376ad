//! Effective priority and FAULT from tracked checks, keepalived 2.2.7 semantics
//! (`vrrp_track.c` `process_script_update_priority`, `vrrp_set_effective_priority`;
//! docs/keepalived-interop.md §6).

use crate::config::Track;

/// Whether a track counts as healthy: its state, flipped when `reverse` is set.
fn healthy(track: &Track, up: bool) -> bool {
    up != track.reverse
}

/// Effective priority = clamp(base + Σ adjustments, 1, 254); a base of 255 never changes.
///
/// Weight > 0 adds W while healthy; weight < 0 subtracts |W| while unhealthy; weight 0
/// changes nothing (it causes FAULT instead, see [`track_faults`]). `up[i]` is the state of
/// `tracks[i]`; missing entries count as up.
pub fn effective_priority(base: u8, tracks: &[Track], up: &[bool]) -> u8 {
    if base == 255 {
        return 255;
    }
    let mut sum = i64::from(base);
    for (i, t) in tracks.iter().enumerate() {
        let ok = healthy(t, up.get(i).copied().unwrap_or(true));
        // +W while healthy (W > 0), -|W| while unhealthy (W < 0).
        if (t.weight > 0) == ok && t.weight != 0 {
            sum += i64::from(t.weight);
        }
    }
    // Clamped to 1..=254, so the cast is lossless.
    sum.clamp(1, 254) as u8
}

/// Indices of weight-0 tracks that are unhealthy: each one holds the instance in FAULT.
pub fn track_faults(tracks: &[Track], up: &[bool]) -> Vec<usize> {
    tracks
        .iter()
        .enumerate()
        .filter(|(i, t)| t.weight == 0 && !healthy(t, up.get(*i).copied().unwrap_or(true)))
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(weight: i32, reverse: bool) -> Track {
        Track { weight, reverse }
    }

    /// docs/keepalived-interop.md §6 table: weight +2 → 103 healthy, 101 failing; weight −2 → 101 /
    /// 99.
    #[test]
    fn keepalived_weight_table() {
        assert_eq!(effective_priority(101, &[t(2, false)], &[true]), 103);
        assert_eq!(effective_priority(101, &[t(2, false)], &[false]), 101);
        assert_eq!(effective_priority(101, &[t(-2, false)], &[true]), 101);
        assert_eq!(effective_priority(101, &[t(-2, false)], &[false]), 99);
    }

    /// keepalived `reverse`: the direction flips.
    #[test]
    fn reverse_flips() {
        assert_eq!(effective_priority(100, &[t(5, true)], &[false]), 105);
        assert_eq!(effective_priority(100, &[t(5, true)], &[true]), 100);
        assert_eq!(effective_priority(100, &[t(-5, true)], &[true]), 95);
        assert_eq!(track_faults(&[t(0, true)], &[true]), vec![0]);
    }

    /// keepalived: clamp to 1..=254, and 255 (owner) is immune.
    #[test]
    fn clamp_and_owner() {
        assert_eq!(effective_priority(250, &[t(100, false)], &[true]), 254);
        assert_eq!(effective_priority(10, &[t(-200, false)], &[false]), 1);
        assert_eq!(effective_priority(255, &[t(-200, false)], &[false]), 255);
    }

    /// keepalived: weight 0 means failure → FAULT, no priority change.
    #[test]
    fn weight_zero_faults() {
        let tr = [t(0, false), t(-10, false), t(0, false)];
        assert_eq!(track_faults(&tr, &[false, false, true]), vec![0]);
        assert_eq!(effective_priority(100, &tr, &[false, false, true]), 90);
    }
}
