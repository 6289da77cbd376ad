//! Typed, validated charm configuration. Every invalid value yields a [`ConfigError`]
//! naming the option, the value and the reason.
use std::fmt;
use std::net::{IpAddr, SocketAddr};

use serde_json::{Map, Value};
use vrrp::{Family, Version, Vip};

/// At most this many VIPs per address family (one VRRP advert carries them all).
pub const MAX_VIPS_PER_FAMILY: usize = 20;

/// One invalid option value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{option}={value}: {reason}")]
pub struct ConfigError {
    /// The option name, e.g. `virtual_ip`.
    pub option: &'static str,
    /// The offending value as shown to the operator (strings quoted; secrets hidden).
    pub value: String,
    /// Why it is invalid.
    pub reason: String,
}

impl ConfigError {
    fn new(option: &'static str, value: impl fmt::Display, reason: impl Into<String>) -> Self {
        Self {
            option,
            value: value.to_string(),
            reason: reason.into(),
        }
    }
    fn string(option: &'static str, value: &str, reason: impl Into<String>) -> Self {
        Self::new(option, quoted(value), reason)
    }
}

/// At most this many characters of an operator's value are shown in a message.
pub const SHOWN_CHARS: usize = 48;

/// `value` quoted and escaped like `{:?}`, cut after [`SHOWN_CHARS`] characters of escaped
/// text (then `…` and the length in bytes), so a 100 KiB value cannot flood a status.
pub fn quoted(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        let esc: String = if c == '\'' {
            c.to_string()
        } else {
            c.escape_debug().collect()
        };
        if out.chars().count() + esc.chars().count() > SHOWN_CHARS {
            return format!("{out}\"…({} bytes)", value.len());
        }
        out.push_str(&esc);
    }
    out.push('"');
    out
}

/// At most this many problems of one option are named (then `and N more`).
const MAX_PROBLEMS: usize = 3;

/// The problems joined with `, `, at most [`MAX_PROBLEMS`] of them, duplicates dropped.
fn problems(list: Vec<String>) -> String {
    let mut uniq: Vec<String> = Vec::new();
    for p in list {
        if !uniq.contains(&p) {
            uniq.push(p);
        }
    }
    let more = uniq.len().saturating_sub(MAX_PROBLEMS);
    uniq.truncate(MAX_PROBLEMS);
    let mut text = uniq.join(", ");
    if more > 0 {
        text.push_str(&format!(", and {more} more"));
    }
    text
}

/// All problems of one configuration, shown together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// The problems joined with `; `, as many whole ones as fit in `budget` bytes (at least
    /// one), then `; and N more`: a status line stays readable whatever the operator typed.
    pub fn summary(&self, budget: usize) -> String {
        let mut out = String::new();
        for (n, e) in self.0.iter().enumerate() {
            let part = e.to_string();
            if n > 0 && out.len() + 2 + part.len() > budget {
                return format!("{out}; and {} more", self.0.len() - n);
            }
            if n > 0 {
                out.push_str("; ");
            }
            out.push_str(&part);
        }
        out
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join("; "))
    }
}

/// The VRRP simple-authentication password. Never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthPass(String);

impl AuthPass {
    /// The password, for rendering into the 0600 worker config only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AuthPass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthPass(<hidden>)")
    }
}

/// The validated charm configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct CharmConfig {
    /// VIPs in the order the operator wrote them (empty: not configured).
    pub vips: Vec<Vip>,
    /// Hostname for the `website` relation.
    pub vip_hostname: Option<String>,
    /// The load balancer port (published and health-checked).
    pub port: u16,
    /// The VRRP virtual router id.
    pub router_id: u8,
    /// The VRRP interface; `None` = the default route's interface.
    pub network_interface: Option<String>,
    /// Health check interval in seconds.
    pub healthcheck_interval: u32,
    /// VRRP version for IPv4 instances (IPv6 always uses v3).
    pub vrrp_version: Version,
    /// Advert interval in centiseconds; `None` = automatic (1 s for v2; for v3 0.1 s as the
    /// ceiling of an adaptive interval, see [`CharmConfig::adaptive`]).
    pub advert_interval_cs: Option<u16>,
    /// Whether a higher-priority unit takes the VIP back.
    pub preempt: bool,
    /// v2 simple password.
    pub auth_pass: Option<AuthPass>,
    /// Whether to send adverts to the peers' addresses instead of multicast.
    pub unicast: bool,
    /// Whether a load balancer certificate lacking the VIP SANs blocks the unit (else: active
    /// with a hint).
    pub strict_san_check: bool,
    /// Where the worker serves Prometheus metrics; `None` = off.
    pub metrics_address: Option<SocketAddr>,
}

impl CharmConfig {
    /// The VIPs of one family, in configured order.
    pub fn vips_of(&self, family: Family) -> Vec<Vip> {
        self.vips
            .iter()
            .copied()
            .filter(|v| v.family() == family)
            .collect()
    }

    /// The address families in use, IPv4 first.
    pub fn families(&self) -> Vec<Family> {
        [Family::Ipv4, Family::Ipv6]
            .into_iter()
            .filter(|f| self.vips.iter().any(|v| v.family() == *f))
            .collect()
    }

    /// Whether an instance of `version` asks for the adaptive interval: `advert_interval` 0
    /// (automatic) and VRRPv3 (VRRPv2 carries whole seconds and its peers require equal
    /// intervals). [`CharmConfig::advert_cs`] is then the ceiling and the starting interval.
    /// Whether the charm renders it also depends on the group (`desired::keepalived_may_be_in_group`).
    pub fn adaptive(&self, version: Version) -> bool {
        self.advert_interval_cs.is_none() && version == Version::V3
    }

    /// The advert interval in centiseconds for an instance of `version` (fixed, or the ceiling
    /// of the adaptive interval).
    pub fn advert_cs(&self, version: Version) -> u16 {
        match (self.advert_interval_cs, version) {
            (Some(cs), _) => cs,
            (None, Version::V2) => 100,
            (None, Version::V3) => 10,
        }
    }

    /// Parses and validates the JSON map printed by `config-get --format=json`.
    /// Missing keys take the defaults of `config.yaml`.
    pub fn from_json(map: &Map<String, Value>) -> Result<Self, ConfigErrors> {
        let mut errs = Vec::new();
        let raw_vip = get_str(map, "virtual_ip", "", &mut errs);
        let raw_host = get_str(map, "vip_hostname", "", &mut errs);
        let port = get_int(map, "port", 443, &mut errs);
        let router_id = get_int(map, "router_id", 23, &mut errs);
        let raw_iface = get_str(map, "network_interface", "", &mut errs);
        let hc = get_int(map, "healthcheck_interval", 2, &mut errs);
        let version = get_int(map, "vrrp_version", 3, &mut errs);
        let advert = get_float(map, "advert_interval", 0.0, &mut errs);
        let preempt = get_bool(map, "preempt", false, &mut errs);
        let auth = get_str(map, "auth_pass", "", &mut errs);
        let unicast = get_bool(map, "unicast", false, &mut errs);
        let strict = get_bool(map, "strict_san_check", false, &mut errs);
        let raw_metrics = get_str(map, "metrics_address", "", &mut errs);

        let vips = parse_vips(&raw_vip, &mut errs);
        let vip_hostname = check_hostname(&raw_host, &mut errs);
        let port = in_range(port, "port", 1, 65535, &mut errs).map(|p| p as u16);
        let router_id = in_range(router_id, "router_id", 1, 255, &mut errs).map(|r| r as u8);
        let network_interface = check_ifname(&raw_iface, &mut errs);
        let hc = in_range(hc, "healthcheck_interval", 1, 3600, &mut errs).map(|h| h as u32);
        let version = match version {
            Some(2) => Some(Version::V2),
            Some(3) => Some(Version::V3),
            Some(v) => {
                errs.push(ConfigError::new("vrrp_version", v, "must be 2 or 3"));
                None
            }
            None => None,
        };
        let has_v6 = vips.iter().any(|v| v.family() == Family::Ipv6);
        let has_v4 = vips.iter().any(|v| v.family() == Family::Ipv4);
        let advert_cs = match (advert, version) {
            (Some(a), Some(ver)) => check_advert(a, ver, has_v6, &mut errs),
            _ => None,
        };
        let auth_pass = check_auth(&auth, version, has_v4, vips.is_empty(), &mut errs);
        let metrics_address = check_metrics(&raw_metrics, port, &mut errs);

        if !errs.is_empty() {
            return Err(ConfigErrors(errs));
        }
        match (port, router_id, hc, version, preempt, unicast, strict) {
            (
                Some(port),
                Some(router_id),
                Some(hc),
                Some(vrrp_version),
                Some(preempt),
                Some(unicast),
                Some(strict_san_check),
            ) => Ok(CharmConfig {
                vips,
                vip_hostname,
                port,
                router_id,
                network_interface,
                healthcheck_interval: hc,
                vrrp_version,
                advert_interval_cs: advert_cs,
                preempt,
                auth_pass,
                unicast,
                strict_san_check,
                metrics_address,
            }),
            // Every None above pushed an error, so this is unreachable in practice.
            _ => Err(ConfigErrors(vec![ConfigError::new(
                "config",
                "?",
                "incomplete configuration",
            )])),
        }
    }
}

fn type_error(option: &'static str, v: &Value, expected: &str) -> ConfigError {
    let json = v.to_string();
    let shown = if json.chars().count() > SHOWN_CHARS {
        let head: String = json.chars().take(SHOWN_CHARS).collect();
        format!("{head}…({} bytes)", json.len())
    } else {
        json
    };
    ConfigError::new(option, shown, format!("expected {expected}"))
}

fn get_str(
    map: &Map<String, Value>,
    key: &'static str,
    default: &str,
    errs: &mut Vec<ConfigError>,
) -> String {
    match map.get(key) {
        None | Some(Value::Null) => default.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(v) if key == "auth_pass" => {
            errs.push(ConfigError::new(key, "<hidden>", "expected a string"));
            let _ = v;
            default.to_string()
        }
        Some(v) => {
            errs.push(type_error(key, v, "a string"));
            default.to_string()
        }
    }
}

fn get_int(
    map: &Map<String, Value>,
    key: &'static str,
    default: i64,
    errs: &mut Vec<ConfigError>,
) -> Option<i64> {
    match map.get(key) {
        None | Some(Value::Null) => Some(default),
        Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64(),
        Some(v) => {
            errs.push(type_error(key, v, "an integer"));
            None
        }
    }
}

fn get_float(
    map: &Map<String, Value>,
    key: &'static str,
    default: f64,
    errs: &mut Vec<ConfigError>,
) -> Option<f64> {
    match map.get(key) {
        None | Some(Value::Null) => Some(default),
        Some(Value::Number(n)) if n.as_f64().is_some_and(f64::is_finite) => n.as_f64(),
        Some(v) => {
            errs.push(type_error(key, v, "a number"));
            None
        }
    }
}

fn get_bool(
    map: &Map<String, Value>,
    key: &'static str,
    default: bool,
    errs: &mut Vec<ConfigError>,
) -> Option<bool> {
    match map.get(key) {
        None | Some(Value::Null) => Some(default),
        Some(Value::Bool(b)) => Some(*b),
        Some(v) => {
            errs.push(type_error(key, v, "a boolean"));
            None
        }
    }
}

fn in_range(
    v: Option<i64>,
    key: &'static str,
    lo: i64,
    hi: i64,
    errs: &mut Vec<ConfigError>,
) -> Option<i64> {
    let v = v?;
    if (lo..=hi).contains(&v) {
        Some(v)
    } else {
        errs.push(ConfigError::new(
            key,
            v,
            format!("must be between {lo} and {hi}"),
        ));
        None
    }
}

/// Parses one `ADDR[/PREFIX]` token.
fn parse_vip(token: &str) -> Result<Vip, String> {
    let (addr_s, prefix_s) = match token.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (token, None),
    };
    let addr: IpAddr = addr_s
        .parse()
        .map_err(|_| format!("{} is not an IP address", quoted(addr_s)))?;
    let fam = Family::of(&addr);
    let max = fam.max_prefix();
    let prefix = match prefix_s {
        None => max,
        Some(p) => {
            let n: u8 = p
                .parse()
                .map_err(|_| format!("prefix length {} is not a number", quoted(p)))?;
            if n == 0 || n > max {
                return Err(format!(
                    "prefix length {n} is out of range 1..{max} for {}",
                    fam.as_str()
                ));
            }
            n
        }
    };
    let bad = match addr {
        IpAddr::V4(a) if a.is_unspecified() => Some("the unspecified address"),
        IpAddr::V4(a) if a.is_loopback() => Some("a loopback address"),
        IpAddr::V4(a) if a.is_multicast() => Some("a multicast address"),
        IpAddr::V4(a) if a.is_broadcast() => Some("the broadcast address"),
        IpAddr::V4(a) if a.is_link_local() => Some("a link-local address"),
        IpAddr::V6(a) if a.is_unspecified() => Some("the unspecified address"),
        IpAddr::V6(a) if a.is_loopback() => Some("a loopback address"),
        IpAddr::V6(a) if a.is_multicast() => Some("a multicast address"),
        IpAddr::V6(a) if a.is_unicast_link_local() => Some("a link-local address"),
        IpAddr::V6(a) if a.to_ipv4_mapped().is_some() => Some("an IPv4-mapped address"),
        _ => None,
    };
    if let Some(what) = bad {
        return Err(format!("{addr} is {what}, not a usable VIP"));
    }
    Ok(Vip::new(addr, prefix))
}

fn parse_vips(raw: &str, errs: &mut Vec<ConfigError>) -> Vec<Vip> {
    let mut vips: Vec<Vip> = Vec::new();
    let mut bad: Vec<String> = Vec::new();
    for token in raw.split_whitespace() {
        match parse_vip(token) {
            Ok(v) if vips.iter().any(|o| o.addr == v.addr) => {
                bad.push(format!("{} is listed twice", v.addr))
            }
            Ok(v) => vips.push(v),
            Err(reason) => bad.push(reason),
        }
    }
    for fam in [Family::Ipv4, Family::Ipv6] {
        let n = vips.iter().filter(|v| v.family() == fam).count();
        if n > MAX_VIPS_PER_FAMILY {
            bad.push(format!(
                "{n} {} VIPs (at most {MAX_VIPS_PER_FAMILY} per address family)",
                fam.as_str()
            ));
        }
    }
    if !bad.is_empty() {
        errs.push(ConfigError::string("virtual_ip", raw, problems(bad)));
    }
    vips
}

fn check_hostname(raw: &str, errs: &mut Vec<ConfigError>) -> Option<String> {
    if raw.is_empty() {
        return None;
    }
    let name = raw.strip_suffix('.').unwrap_or(raw);
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if ok {
        Some(raw.to_string())
    } else {
        errs.push(ConfigError::string(
            "vip_hostname",
            raw,
            "not a valid DNS name (dot-separated labels of letters, digits and inner hyphens)",
        ));
        None
    }
}

fn check_ifname(raw: &str, errs: &mut Vec<ConfigError>) -> Option<String> {
    if raw.is_empty() {
        return None;
    }
    let ok = raw.len() <= 15
        && raw != "."
        && raw != ".."
        && raw
            .chars()
            .all(|c| c.is_ascii_graphic() && !"/:\"'#!{}\\".contains(c));
    if ok {
        Some(raw.to_string())
    } else {
        errs.push(ConfigError::string(
            "network_interface",
            raw,
            "not a valid interface name (at most 15 printable characters, none of / : # ! { } \\ or quotes)",
        ));
        None
    }
}

fn check_advert(a: f64, ver: Version, has_v6: bool, errs: &mut Vec<ConfigError>) -> Option<u16> {
    if a == 0.0 {
        return None;
    }
    let cs = (a * 100.0).round();
    let push = |errs: &mut Vec<ConfigError>, reason: &str| {
        errs.push(ConfigError::new("advert_interval", a, reason.to_string()));
    };
    if a < 0.0 {
        push(errs, "must not be negative (0 means automatic)");
        return None;
    }
    if (a * 100.0 - cs).abs() > 1e-6 {
        push(errs, "must be a multiple of 0.01 seconds");
        return None;
    }
    let in_v3 = (1.0..=4095.0).contains(&cs);
    match ver {
        Version::V2 => {
            if cs % 100.0 != 0.0 || !(100.0..=25500.0).contains(&cs) {
                push(errs, "VRRPv2 needs whole seconds between 1 and 255");
                return None;
            }
            if has_v6 && !in_v3 {
                push(
                    errs,
                    "IPv6 VIPs use VRRPv3, which allows 0.01 to 40.95 seconds",
                );
                return None;
            }
        }
        Version::V3 => {
            if !in_v3 {
                push(errs, "VRRPv3 needs 0.01 to 40.95 seconds");
                return None;
            }
        }
    }
    Some(cs as u16)
}

/// `metrics_address`: `ADDR:PORT` (IPv6 as `[ADDR]:PORT`), a usable port that is not the
/// load balancer's own port.
fn check_metrics(
    raw: &str,
    lb_port: Option<u16>,
    errs: &mut Vec<ConfigError>,
) -> Option<SocketAddr> {
    if raw.is_empty() {
        return None;
    }
    let bad = |errs: &mut Vec<ConfigError>, reason: &str| {
        errs.push(ConfigError::string(
            "metrics_address",
            raw,
            reason.to_string(),
        ));
        None
    };
    let Ok(addr) = raw.parse::<SocketAddr>() else {
        return bad(
            errs,
            "not ADDR:PORT (e.g. 127.0.0.1:9510, IPv6 as [::1]:9510)",
        );
    };
    if addr.port() == 0 {
        return bad(errs, "port must be between 1 and 65535");
    }
    if addr.ip().is_multicast() {
        return bad(errs, "a multicast address cannot be listened on");
    }
    if lb_port == Some(addr.port()) {
        return bad(errs, "uses the load balancer's port (option port)");
    }
    Some(addr)
}

fn check_auth(
    raw: &str,
    ver: Option<Version>,
    has_v4: bool,
    no_vips: bool,
    errs: &mut Vec<ConfigError>,
) -> Option<AuthPass> {
    if raw.is_empty() {
        return None;
    }
    let hidden = "<hidden>";
    let ok_chars = raw
        .chars()
        .all(|c| c.is_ascii_graphic() && !"\"'#!{}\\".contains(c));
    if raw.len() > 8 {
        errs.push(ConfigError::new(
            "auth_pass",
            hidden,
            "must be at most 8 characters (VRRPv2 limit)",
        ));
        return None;
    }
    if !ok_chars {
        errs.push(ConfigError::new(
            "auth_pass",
            hidden,
            "may contain only printable ASCII without spaces, quotes, '#', '!', braces or backslashes",
        ));
        return None;
    }
    if ver == Some(Version::V3) {
        errs.push(ConfigError::new(
            "auth_pass",
            hidden,
            "needs vrrp_version=2 (VRRPv3 has no authentication)",
        ));
        return None;
    }
    if !has_v4 && !no_vips {
        errs.push(ConfigError::new(
            "auth_pass",
            hidden,
            "applies only to IPv4 VIPs (IPv6 uses VRRPv3), and virtual_ip has none",
        ));
        return None;
    }
    Some(AuthPass(raw.to_string()))
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
