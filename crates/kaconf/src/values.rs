//! Value parsers shared by the block builders: booleans, integers, decimal times,
//! addresses. Each returns `Err(reason)`; the caller adds the location.

use std::net::IpAddr;
use std::time::Duration;

use crate::tree::Stmt;

/// keepalived's `check_true_false`.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "true" | "on" | "yes" => Some(true),
        "false" | "off" | "no" => Some(false),
        _ => None,
    }
}

/// An unsigned integer in `min..=max`.
pub(crate) fn parse_uint(s: &str, min: u64, max: u64) -> Result<u64, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("'{s}' is not an unsigned integer"));
    }
    match s.parse::<u64>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(format!("'{s}' is outside the range [{min}, {max}]")),
    }
}

/// A signed integer in `min..=max`.
pub(crate) fn parse_int(s: &str, min: i64, max: i64) -> Result<i64, String> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("'{s}' is not an integer"));
    }
    match s.parse::<i64>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(format!("'{s}' is outside the range [{min}, {max}]")),
    }
}

/// Decimal seconds with at most `digits` fractional digits (6 = microseconds), like
/// keepalived's `read_decimal_unsigned`. Bounds are inclusive, in microseconds.
pub(crate) fn parse_time(
    s: &str,
    digits: usize,
    min_us: u64,
    max_us: u64,
) -> Result<Duration, String> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let ok_int = !int.is_empty() && int.bytes().all(|b| b.is_ascii_digit());
    let ok_frac = frac.bytes().all(|b| b.is_ascii_digit()) && !(s.contains('.') && frac.is_empty());
    if !ok_int || !ok_frac {
        return Err(format!("'{s}' is not a decimal number of seconds"));
    }
    if frac.len() > digits {
        let unit = match digits {
            0 => "whole seconds",
            2 => "centiseconds",
            3 => "milliseconds",
            6 => "microseconds",
            _ => "the supported resolution",
        };
        return Err(format!("'{s}' has more precision than {unit}"));
    }
    let secs: u64 = int.parse().map_err(|_| format!("'{s}' is too large"))?;
    let mut frac_us: u64 = 0;
    for (i, b) in frac.bytes().enumerate() {
        frac_us += u64::from(b - b'0') * 10u64.pow(5 - u32::try_from(i).unwrap_or(5));
    }
    let us = secs
        .checked_mul(1_000_000)
        .and_then(|v| v.checked_add(frac_us))
        .ok_or_else(|| format!("'{s}' is too large"))?;
    if us < min_us || us > max_us {
        return Err(format!(
            "'{s}' is outside the range [{}, {}] seconds",
            show_us(min_us),
            show_us(max_us)
        ));
    }
    Ok(Duration::from_micros(us))
}

fn show_us(us: u64) -> String {
    if us % 1_000_000 == 0 {
        format!("{}", us / 1_000_000)
    } else {
        let s = format!("{}.{:06}", us / 1_000_000, us % 1_000_000);
        s.trim_end_matches('0').to_string()
    }
}

/// An IP address (no prefix).
pub(crate) fn parse_ip(s: &str) -> Result<IpAddr, String> {
    s.parse::<IpAddr>()
        .map_err(|_| format!("'{s}' is not a valid IP address"))
}

/// `ADDR[/PREFIX]`, prefix defaulting to the host length.
pub(crate) fn parse_prefixed(s: &str) -> Result<(IpAddr, u8), String> {
    let (a, p) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let addr = parse_ip(a)?;
    let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match p {
        None => max,
        Some(p) => match parse_uint(p, 0, u64::from(max)) {
            Ok(v) => u8::try_from(v).unwrap_or(max),
            Err(_) => return Err(format!("'{s}' has an invalid prefix length (0..={max})")),
        },
    };
    Ok((addr, prefix))
}

/// Checks the number of arguments; `Err` names the keyword.
pub(crate) fn want_args(st: &Stmt, min: usize, max: usize) -> Result<(), String> {
    let n = st.args().len();
    if n < min {
        Err(format!(
            "'{}' needs {} argument{}",
            st.keyword(),
            min,
            if min == 1 { "" } else { "s" }
        ))
    } else if n > max {
        Err(format!(
            "'{}' takes at most {} argument{}",
            st.keyword(),
            max,
            if max == 1 { "" } else { "s" }
        ))
    } else {
        Ok(())
    }
}

/// A keyword with an optional `<BOOL>` argument (absent means true).
pub(crate) fn flag(st: &Stmt) -> Result<bool, String> {
    want_args(st, 0, 1)?;
    match st.args().first() {
        None => Ok(true),
        Some(a) => parse_bool(a).ok_or_else(|| {
            format!(
                "'{}': '{a}' is not a boolean (on/off/true/false/yes/no)",
                st.keyword()
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bools() {
        for t in ["on", "true", "yes"] {
            assert_eq!(parse_bool(t), Some(true));
        }
        for f in ["off", "false", "no"] {
            assert_eq!(parse_bool(f), Some(false));
        }
        assert_eq!(parse_bool("1"), None);
        assert_eq!(parse_bool("TRUE"), None);
    }

    #[test]
    fn times() {
        assert_eq!(
            parse_time("1", 6, 0, u64::MAX).unwrap(),
            Duration::from_secs(1)
        );
        assert_eq!(
            parse_time("0.000001", 6, 0, u64::MAX).unwrap(),
            Duration::from_micros(1)
        );
        assert_eq!(
            parse_time("2.5", 6, 0, u64::MAX).unwrap(),
            Duration::from_millis(2500)
        );
        assert!(parse_time("0.0000001", 6, 0, u64::MAX)
            .unwrap_err()
            .contains("microseconds"));
        assert!(parse_time("0.0001", 3, 0, u64::MAX)
            .unwrap_err()
            .contains("milliseconds"));
        assert!(parse_time("1.", 6, 0, u64::MAX).is_err());
        assert!(parse_time("-1", 6, 0, u64::MAX).is_err());
        assert!(parse_time("0", 6, 1, 10)
            .unwrap_err()
            .contains("outside the range [0.000001, 0.00001]"));
    }

    #[test]
    fn ints_and_prefixes() {
        assert_eq!(parse_uint("255", 1, 255), Ok(255));
        assert!(parse_uint("256", 1, 255).unwrap_err().contains("[1, 255]"));
        assert!(parse_uint("x", 1, 255)
            .unwrap_err()
            .contains("not an unsigned integer"));
        assert_eq!(parse_int("-253", -253, 253), Ok(-253));
        assert_eq!(parse_prefixed("10.0.0.1").unwrap().1, 32);
        assert_eq!(parse_prefixed("2001:db8::1").unwrap().1, 128);
        assert_eq!(parse_prefixed("10.0.0.1/24").unwrap().1, 24);
        assert!(parse_prefixed("10.0.0.1/33")
            .unwrap_err()
            .contains("prefix"));
        assert!(parse_prefixed("10.0.0.256")
            .unwrap_err()
            .contains("not a valid IP"));
    }
}
