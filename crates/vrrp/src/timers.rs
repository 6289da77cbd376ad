//! Protocol timer arithmetic (RFC 3768 §6.1, RFC 5798/9568 §6.1; docs/keepalived-interop.md §4).
//!
//! All values are `Duration`s with nanosecond precision: v3 intervals are centiseconds
//! on the wire, and the skew keeps its fraction (unlike holo-vrrp, which truncated it).

use std::time::Duration;

use crate::config::Version;

/// Skew_Time for a router of `priority`.
///
/// - v2 (RFC 3768 §6.1): `(256 - Priority) / 256` seconds, independent of the interval.
/// - v3 (RFC 5798 §6.1): `((256 - Priority) * Master_Adver_Interval) / 256`.
pub fn skew(version: Version, priority: u8, master_adver_interval: Duration) -> Duration {
    let factor = 256 - u128::from(priority);
    let base = match version {
        Version::V2 => Duration::from_secs(1),
        Version::V3 => master_adver_interval,
    };
    nanos(base.as_nanos() * factor / 256)
}

/// Master_Down_Interval = `down_timer_adverts` × Master_Adver_Interval + Skew_Time
/// (RFC: 3 adverts; keepalived `down_timer_adverts`).
pub fn master_down_interval(
    version: Version,
    down_timer_adverts: u8,
    priority: u8,
    master_adver_interval: Duration,
) -> Duration {
    master_adver_interval * u32::from(down_timer_adverts)
        + skew(version, priority, master_adver_interval)
}

/// The interval a wire value means: seconds (v2) or centiseconds (v3).
pub fn interval_from_wire(version: Version, value: u16) -> Duration {
    match version {
        Version::V2 => Duration::from_secs(u64::from(value)),
        Version::V3 => Duration::from_millis(u64::from(value) * 10),
    }
}

fn nanos(n: u128) -> Duration {
    Duration::from_nanos(u64::try_from(n).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(d: Duration) -> f64 {
        d.as_secs_f64() * 1000.0
    }

    /// docs/keepalived-interop.md §4 table: v2 1 s priority 100 → skew 0.609 s, MDI 3.609 s (RFC
    /// 3768 §6.1).
    #[test]
    fn v2_skew_ignores_interval() {
        let s = skew(Version::V2, 100, Duration::from_secs(5));
        assert!((ms(s) - 609.375).abs() < 1e-6);
        let mdi = master_down_interval(Version::V2, 3, 100, Duration::from_secs(1));
        assert!((ms(mdi) - 3609.375).abs() < 1e-6);
        let mdi = master_down_interval(Version::V2, 3, 254, Duration::from_secs(1));
        assert!((ms(mdi) - 3007.8125).abs() < 1e-6);
    }

    /// docs/keepalived-interop.md §4 table: v3 100 ms priority 100 → 60.9 ms / 360.9 ms; 10 ms →
    /// 36.1 ms (RFC 5798 §6.1, skew scales with Master_Adver_Interval).
    #[test]
    fn v3_skew_scales_with_interval() {
        let s = skew(Version::V3, 100, Duration::from_millis(100));
        assert!((ms(s) - 60.9375).abs() < 1e-6);
        let mdi = master_down_interval(Version::V3, 3, 100, Duration::from_millis(100));
        assert!((ms(mdi) - 360.9375).abs() < 1e-6);
        let mdi = master_down_interval(Version::V3, 3, 100, Duration::from_millis(10));
        assert!((ms(mdi) - 36.09375).abs() < 1e-6);
        // down_timer_adverts replaces the 3.
        let mdi = master_down_interval(Version::V3, 1, 100, Duration::from_millis(100));
        assert!((ms(mdi) - 160.9375).abs() < 1e-6);
    }

    #[test]
    fn wire_units() {
        assert_eq!(interval_from_wire(Version::V3, 100), Duration::from_secs(1));
        assert_eq!(
            interval_from_wire(Version::V3, 4095),
            Duration::from_millis(40950)
        );
        assert_eq!(interval_from_wire(Version::V2, 1), Duration::from_secs(1));
    }
}
