//! An independent judge of a keepalived configuration, written from config.yaml's option
//! descriptions (not from the charm's code): is it invalid (and which options are to blame),
//! empty, or valid, and then what must be published and rendered.
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use keepalived::charm::netinfo::HostFacts;
use serde_json::Value;

use super::ops::OPTIONS;

/// What a valid configuration with VIPs must produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect {
    /// `loadbalancer` `public-address` and `website` `private-address`: the first VIP, bare.
    pub addr: String,
    /// `port`, as a string.
    pub port: String,
    /// `website` `hostname`: `vip_hostname` or the first VIP.
    pub hostname: String,
    /// `vrrpd_metrics_listen` in the worker config (`None`: no line).
    pub metrics: Option<SocketAddr>,
}

/// The judgement of one configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Invalid: the options to blame, in config.yaml order (never empty).
    Invalid(Vec<&'static str>),
    /// Valid but `virtual_ip` is empty.
    NoVip,
    /// Valid with VIPs.
    Valid(Expect),
}

fn s<'a>(cfg: &'a BTreeMap<String, Value>, k: &str) -> &'a str {
    cfg.get(k).and_then(Value::as_str).unwrap_or("")
}

fn i(cfg: &BTreeMap<String, Value>, k: &str) -> i64 {
    cfg.get(k).and_then(Value::as_i64).unwrap_or(i64::MIN)
}

/// One `ADDR[/PREFIX]` token: a unicast, non-loopback, non-link-local, non-mapped address
/// and a prefix of 1..=32 (IPv4) or 1..=128 (IPv6) decimal digits.
fn vip(token: &str) -> Option<IpAddr> {
    let (a, p) = match token.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (token, None),
    };
    let addr: IpAddr = a.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if let Some(p) = p {
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u32 = p.parse().ok()?;
        if n == 0 || n > max {
            return None;
        }
    }
    let usable = match addr {
        IpAddr::V4(v) => {
            !(v.is_unspecified()
                || v.is_loopback()
                || v.is_multicast()
                || v.is_broadcast()
                || v.is_link_local())
        }
        IpAddr::V6(v) => {
            !(v.is_unspecified()
                || v.is_loopback()
                || v.is_multicast()
                || (v.segments()[0] & 0xffc0) == 0xfe80
                || v.to_ipv4_mapped().is_some())
        }
    };
    usable.then_some(addr)
}

/// `virtual_ip`: whitespace-separated VIPs, no address twice, at most 20 per family.
fn vips(raw: &str) -> Option<Vec<IpAddr>> {
    let mut out: Vec<IpAddr> = Vec::new();
    for t in raw.split_whitespace() {
        let a = vip(t)?;
        if out.contains(&a) {
            return None;
        }
        out.push(a);
    }
    let v4 = out.iter().filter(|a| a.is_ipv4()).count();
    (v4 <= 20 && out.len() - v4 <= 20).then_some(out)
}

fn hostname_ok(raw: &str) -> bool {
    if raw.is_empty() {
        return true;
    }
    let name = raw.strip_suffix('.').unwrap_or(raw);
    name.len() <= 253
        && name.split('.').all(|l| {
            (1..=63).contains(&l.len())
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// Linux names (at most 15 bytes, no '/' or whitespace, not "." or "..") minus ':', quotes and
/// the characters special in the worker's config dialect (`#`, `!`, braces, backslash).
fn ifname_ok(raw: &str) -> bool {
    raw.is_empty()
        || (raw.len() <= 15
            && raw != "."
            && raw != ".."
            && raw
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"/:\"'#!{}\\".contains(&b)))
}

/// `advert_interval` for a VRRP version: 0 = automatic; v2 whole seconds 1..=255 (and
/// at most 40.95 when IPv6 VIPs, always v3, share it); v3 0.01..=40.95 in 0.01 steps.
fn advert_ok(a: f64, version: i64, has_v6: bool) -> bool {
    if a == 0.0 {
        return true;
    }
    let hundredths = a * 100.0;
    let whole = hundredths.round();
    if a < 0.0 || (hundredths - whole).abs() > 1e-6 {
        return false;
    }
    let v3 = (1.0..=4095.0).contains(&whole);
    match version {
        2 => whole % 100.0 == 0.0 && (100.0..=25500.0).contains(&whole) && (!has_v6 || v3),
        _ => v3,
    }
}

fn auth_chars_ok(raw: &str) -> bool {
    raw.len() <= 8
        && raw
            .chars()
            .all(|c| c.is_ascii_graphic() && !"\"'#!{}\\".contains(c))
}

/// Judges the effective config (defaults included) on a host with these network facts.
pub fn judge(cfg: &BTreeMap<String, Value>, host: &HostFacts) -> Verdict {
    let mut bad: Vec<&'static str> = Vec::new();
    let vip_list = vips(s(cfg, "virtual_ip"));
    if vip_list.is_none() {
        bad.push("virtual_ip");
    }
    if !hostname_ok(s(cfg, "vip_hostname")) {
        bad.push("vip_hostname");
    }
    let port = i(cfg, "port");
    let port_ok = (1..=65535).contains(&port);
    if !port_ok {
        bad.push("port");
    }
    if !(1..=255).contains(&i(cfg, "router_id")) {
        bad.push("router_id");
    }
    let iface = s(cfg, "network_interface");
    if !ifname_ok(iface) {
        bad.push("network_interface");
    }
    if !(1..=3600).contains(&i(cfg, "healthcheck_interval")) {
        bad.push("healthcheck_interval");
    }
    let version = i(cfg, "vrrp_version");
    let version_ok = version == 2 || version == 3;
    if !version_ok {
        bad.push("vrrp_version");
    }
    let listed = vip_list.clone().unwrap_or_default();
    let has_v4 = listed.iter().any(IpAddr::is_ipv4);
    let has_v6 = listed.iter().any(IpAddr::is_ipv6);
    let advert = cfg
        .get("advert_interval")
        .and_then(Value::as_f64)
        .unwrap_or(f64::NAN);
    let advert_blame = if version_ok {
        !advert_ok(advert, version, has_v6)
    } else {
        !advert_ok(advert, 2, has_v6) && !advert_ok(advert, 3, has_v6)
    };
    if advert_blame {
        bad.push("advert_interval");
    }
    let auth = s(cfg, "auth_pass");
    if !auth.is_empty() && (!auth_chars_ok(auth) || version == 3 || (!listed.is_empty() && !has_v4))
    {
        bad.push("auth_pass");
    }
    let metrics = s(cfg, "metrics_address");
    let metrics_addr = match metrics {
        "" => None,
        m => match m.parse::<SocketAddr>() {
            Ok(a) if a.port() != 0 && !a.ip().is_multicast() && i64::from(a.port()) != port => {
                Some(a)
            }
            _ => {
                bad.push("metrics_address");
                None
            }
        },
    };
    if !bad.is_empty() {
        bad.sort_by_key(|o| OPTIONS.iter().position(|x| x == o));
        return Verdict::Invalid(bad);
    }
    let Some(first) = listed.first().copied() else {
        return Verdict::NoVip;
    };
    if !network_ok(iface, &listed, host) {
        return Verdict::Invalid(vec!["network_interface"]);
    }
    let addr = first.to_string();
    let hostname = match s(cfg, "vip_hostname") {
        "" => addr.clone(),
        h => h.to_string(),
    };
    Verdict::Valid(Expect {
        addr,
        port: port.to_string(),
        hostname,
        metrics: metrics_addr,
    })
}

/// The interface (named, else the default route's, IPv4's first when an IPv4 VIP exists)
/// exists and has a non-VIP source address for every family in use.
fn network_ok(iface: &str, vips: &[IpAddr], host: &HostFacts) -> bool {
    let has_v4 = vips.iter().any(IpAddr::is_ipv4);
    let has_v6 = vips.iter().any(IpAddr::is_ipv6);
    let name = if iface.is_empty() {
        let (a, b) = if has_v4 {
            (&host.default_v4, &host.default_v6)
        } else {
            (&host.default_v6, &host.default_v4)
        };
        match a.as_ref().or(b.as_ref()) {
            Some(n) => n.clone(),
            None => return false,
        }
    } else {
        iface.to_string()
    };
    let Some(link) = host.links.get(&name) else {
        return false;
    };
    let v4_src = link.v4.iter().any(|a| !vips.contains(&IpAddr::V4(*a)));
    let v6_src = link.v6.iter().any(|a| !vips.contains(&IpAddr::V6(a.addr)));
    (!has_v4 || v4_src) && (!has_v6 || v6_src)
}
