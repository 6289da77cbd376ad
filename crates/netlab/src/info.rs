//! Typed views of `ip -j addr` / `ip -j link` output.

use std::net::IpAddr;

use serde_json::Value;

use crate::error::{Error, Result};

/// One address of an interface, from `ip -j addr show dev IF`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrEntry {
    /// The address (`local`).
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix: u8,
    /// IPv4 label (`eth0`, `eth0:vip`); `None` for IPv6.
    pub label: Option<String>,
    /// Scope (`global`, `link`, `host`).
    pub scope: String,
    /// DAD still running.
    pub tentative: bool,
    /// Added with `nodad`.
    pub nodad: bool,
    /// Added with `noprefixroute`.
    pub noprefixroute: bool,
    /// Not the primary address of its subnet.
    pub secondary: bool,
    /// Preferred lifetime in seconds (`u32::MAX` = forever), if printed.
    pub preferred_life_time: Option<u64>,
}

/// State of a link, from `ip -j link show dev IF`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkEntry {
    /// Interface index.
    pub ifindex: u32,
    /// Interface name.
    pub ifname: String,
    /// MAC address.
    pub mac: [u8; 6],
    /// Flags as printed (`UP`, `LOWER_UP`, `NO-CARRIER`, `BROADCAST`, …).
    pub flags: Vec<String>,
    /// `operstate` (`UP`, `DOWN`, `LOWERLAYERDOWN`, …).
    pub operstate: String,
}

impl LinkEntry {
    /// Administratively up.
    pub fn admin_up(&self) -> bool {
        self.flags.iter().any(|f| f == "UP")
    }

    /// Carrier present.
    pub fn lower_up(&self) -> bool {
        self.flags.iter().any(|f| f == "LOWER_UP")
    }
}

fn bad(cmd: &str, reason: impl Into<String>) -> Error {
    Error::Parse {
        cmd: cmd.to_string(),
        reason: reason.into(),
    }
}

/// Parses a MAC like `02:ab:…`.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for byte in mac.iter_mut() {
        *byte = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

fn first_object<'a>(cmd: &str, v: &'a Value) -> Result<&'a Value> {
    v.as_array()
        .and_then(|a| a.first())
        .ok_or_else(|| bad(cmd, "expected a non-empty JSON array"))
}

/// Parses `ip -j addr show dev IF`.
pub(crate) fn parse_addrs(cmd: &str, v: &Value) -> Result<Vec<AddrEntry>> {
    let link = first_object(cmd, v)?;
    let Some(infos) = link.get("addr_info").and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for ai in infos {
        let Some(local) = ai.get("local").and_then(Value::as_str) else {
            continue;
        };
        let addr: IpAddr = local
            .parse()
            .map_err(|_| bad(cmd, format!("bad address {local:?}")))?;
        let prefix = ai
            .get("prefixlen")
            .and_then(Value::as_u64)
            .and_then(|p| u8::try_from(p).ok())
            .ok_or_else(|| bad(cmd, "missing prefixlen"))?;
        let flag = |k: &str| ai.get(k).and_then(Value::as_bool).unwrap_or(false);
        out.push(AddrEntry {
            addr,
            prefix,
            label: ai.get("label").and_then(Value::as_str).map(str::to_string),
            scope: ai
                .get("scope")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            tentative: flag("tentative"),
            nodad: flag("nodad"),
            noprefixroute: flag("noprefixroute"),
            secondary: flag("secondary"),
            preferred_life_time: ai.get("preferred_life_time").and_then(Value::as_u64),
        });
    }
    Ok(out)
}

/// Parses `ip -j link show dev IF`.
pub(crate) fn parse_link(cmd: &str, v: &Value) -> Result<LinkEntry> {
    let link = first_object(cmd, v)?;
    let ifindex = link
        .get("ifindex")
        .and_then(Value::as_u64)
        .and_then(|i| u32::try_from(i).ok())
        .ok_or_else(|| bad(cmd, "missing ifindex"))?;
    let ifname = link
        .get("ifname")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mac_s = link.get("address").and_then(Value::as_str).unwrap_or("");
    let mac = parse_mac(mac_s).ok_or_else(|| bad(cmd, format!("bad MAC {mac_s:?}")))?;
    let flags = link
        .get("flags")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let operstate = link
        .get("operstate")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    Ok(LinkEntry {
        ifindex,
        ifname,
        mac,
        flags,
        operstate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ip_json() {
        let text = r#"[{"ifindex":2,"ifname":"eth0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],
          "operstate":"UP","address":"02:00:00:00:00:0a","addr_info":[
          {"family":"inet","local":"192.0.2.1","prefixlen":24,"scope":"global","label":"eth0:vip",
           "valid_life_time":4294967295,"preferred_life_time":4294967295},
          {"family":"inet6","local":"fe80::1","prefixlen":64,"scope":"link","tentative":true,"nodad":false}]}]"#;
        let v: Value = serde_json::from_str(text).unwrap();
        let a = parse_addrs("t", &v).unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].label.as_deref(), Some("eth0:vip"));
        assert_eq!(a[0].prefix, 24);
        assert!(a[1].tentative);
        let l = parse_link("t", &v).unwrap();
        assert_eq!(l.ifindex, 2);
        assert_eq!(l.mac, [2, 0, 0, 0, 0, 10]);
        assert!(l.admin_up() && l.lower_up());
        assert_eq!(parse_mac("1:2:3"), None);
    }
}
