//! `vrrpd_check NAME { … }`: our native TCP / HTTP(S) health checks.

use std::net::SocketAddr;
use std::time::Duration;

use super::script::{count, weight};
use super::Ctx;
use crate::model::{NativeCheck, Probe};
use crate::tree::Stmt;
use crate::values::{parse_ip, parse_time, parse_uint, want_args};

/// Longest accepted interval / timeout (1 hour).
const MAX_US: u64 = 3_600_000_000;

/// `tcp_connect IP PORT [watch]`.
fn tcp_connect(st: &Stmt) -> Result<Probe, String> {
    want_args(st, 2, 3)?;
    let ip = parse_ip(&st.args()[0])?;
    let port = parse_uint(&st.args()[1], 1, 65535).map_err(|e| format!("tcp_connect port: {e}"))?;
    let watch = match st.args().get(2).map(String::as_str) {
        None => false,
        Some("watch") => true,
        Some(other) => {
            return Err(format!(
                "tcp_connect: unknown option '{other}' (usage: tcp_connect IP PORT [watch])"
            ))
        }
    };
    Ok(Probe::TcpConnect {
        addr: SocketAddr::new(ip, u16::try_from(port).unwrap_or(0)),
        watch,
    })
}

fn http_get(st: &Stmt) -> Result<Probe, String> {
    let args = st.args();
    let status = match args {
        [_] => None,
        [_, kw, n] if kw == "status" => Some(
            u16::try_from(parse_uint(n, 100, 599).map_err(|e| format!("http_get status: {e}"))?)
                .unwrap_or(200),
        ),
        _ => return Err("usage: http_get URL [status N]".to_string()),
    };
    let url = &args[0];
    let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(format!(
            "http_get URL '{url}' must start with http:// or https://"
        ));
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_string()
    };
    if authority.contains('@') {
        return Err(format!(
            "http_get URL '{url}': credentials in URLs are not supported"
        ));
    }
    let default_port = if tls { 443 } else { 80 };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let end = v6
            .find(']')
            .ok_or_else(|| format!("http_get URL '{url}': unclosed '['"))?;
        let host = &v6[..end];
        parse_ip(host).map_err(|e| format!("http_get URL '{url}': {e}"))?;
        let port = match &v6[end + 1..] {
            "" => default_port,
            p => port_of(
                p.strip_prefix(':')
                    .ok_or_else(|| format!("http_get URL '{url}': bad port"))?,
                url,
            )?,
        };
        (host.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), port_of(p, url)?),
            None => (authority.to_string(), default_port),
        }
    };
    let bracketed = authority.starts_with('[');
    if host.is_empty()
        || host.contains(|c: char| c.is_whitespace() || c == '/' || (c == ':' && !bracketed))
    {
        return Err(format!("http_get URL '{url}' has no valid host"));
    }
    Ok(Probe::HttpGet {
        url: url.clone(),
        tls,
        host,
        port,
        path,
        status,
    })
}

fn port_of(p: &str, url: &str) -> Result<u16, String> {
    parse_uint(p, 1, 65535)
        .map(|v| u16::try_from(v).unwrap_or(0))
        .map_err(|e| format!("http_get URL '{url}': port {e}"))
}

pub(crate) fn build(ctx: &mut Ctx, st: &Stmt) -> Option<NativeCheck> {
    let name = ctx.name(st)?;
    let block = ctx.block(st)?;
    let mut probe: Option<Probe> = None;
    let mut interval = Duration::from_secs(1);
    let mut timeout: Option<Duration> = None;
    let (mut rise, mut fall, mut w, mut rev) = (1, 1, 0, false);
    let errors_before = ctx.sink.errors.len();
    for item in block {
        if !ctx.no_block(item) {
            continue;
        }
        match item.keyword() {
            "tcp_connect" | "http_get" => {
                if probe.is_some() {
                    ctx.error(
                        item,
                        format!(
                            "vrrpd_check {name} has more than one probe (tcp_connect/http_get)"
                        ),
                    );
                    continue;
                }
                let r = if item.keyword() == "tcp_connect" {
                    tcp_connect(item)
                } else {
                    http_get(item)
                };
                probe = ctx.check(item, r);
            }
            "interval" | "timeout" => {
                let r = want_args(item, 1, 1)
                    .and_then(|_| parse_time(&item.args()[0], 3, 1000, MAX_US))
                    .map_err(|e| format!("vrrpd_check {name} {}: {e}", item.keyword()));
                if let Some(d) = ctx.check(item, r) {
                    if item.keyword() == "interval" {
                        interval = d;
                    } else {
                        timeout = Some(d);
                    }
                }
            }
            "rise" => rise = ctx.check(item, count(item)).unwrap_or(rise),
            "fall" => fall = ctx.check(item, count(item)).unwrap_or(fall),
            "weight" => {
                if let Some((a, b)) = ctx.check(item, weight(item)) {
                    (w, rev) = (a, b);
                }
            }
            _ => ctx.unknown(item, "vrrpd_check"),
        }
    }
    let Some(probe) = probe else {
        if ctx.sink.errors.len() == errors_before {
            ctx.error(
                st,
                format!(
                    "vrrpd_check {name} needs a probe: 'tcp_connect IP PORT' or 'http_get URL'"
                ),
            );
        }
        return None;
    };
    let timeout = timeout.unwrap_or(interval);
    Some(NativeCheck {
        name,
        location: st.loc.clone(),
        probe,
        interval,
        timeout,
        rise,
        fall,
        weight: w,
        weight_reverse: rev,
    })
}
