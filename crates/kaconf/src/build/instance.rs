//! `vrrp_instance NAME { … }`: parsing and resolution of keepalived 2.2.7 defaults.

use std::net::IpAddr;
use std::time::Duration;

use super::global::{repeat, whole_seconds};
use super::script::Lookup;
use super::Ctx;
use crate::keywords::IGNORED_INSTANCE;
use crate::model::{
    Auth, Family, GlobalDefs, InitialState, Location, TrackInterface, TrackScript, UnicastPeer,
    Version, VirtualAddress, VrrpInstance,
};
use crate::tree::Stmt;
use crate::values::{flag, parse_int, parse_ip, parse_prefixed, parse_time, parse_uint, want_args};

const SCOPES: &[&str] = &["global", "site", "link", "host", "nowhere"];

/// Values as written, before defaults are resolved.
#[derive(Default)]
struct Raw {
    state: Option<InitialState>,
    interface: Option<String>,
    vrid: Option<u8>,
    priority: Option<u8>,
    advert: Option<(Duration, Location)>,
    version: Option<(Version, Location)>,
    nopreempt: Option<Location>,
    preempt_delay: Option<(Duration, Location)>,
    auth: Option<Auth>,
    vips: Vec<VirtualAddress>,
    evips: Vec<VirtualAddress>,
    unicast_src: Option<(IpAddr, Location)>,
    mcast_src: Option<(IpAddr, Location)>,
    peers: Vec<(UnicastPeer, Location)>,
    ttl: Option<u8>,
    check_unicast_src: Option<bool>,
    tracks: Vec<TrackScript>,
    track_ifs: Vec<TrackInterface>,
    dont_track_primary: bool,
    garp_delay: Option<Duration>,
    garp_repeat: Option<u32>,
    garp_refresh: Option<Duration>,
    garp_refresh_repeat: Option<u32>,
    lp_delay: Option<Duration>,
    lp_repeat: Option<u32>,
    lower_prio_no_advert: Option<bool>,
    higher_prio_send_advert: Option<bool>,
    down_timer_adverts: Option<u32>,
    accept: Option<bool>,
    v2_compat: Option<bool>,
    garp_burst: Option<Vec<Duration>>,
    adaptive: Option<(Duration, Location)>,
}

fn one_arg(st: &Stmt) -> Result<&str, String> {
    want_args(st, 1, 1)?;
    Ok(&st.args()[0])
}

/// One `virtual_ipaddress` line.
fn vip_line(ctx: &mut Ctx, st: &Stmt) -> Option<VirtualAddress> {
    let words = &st.words;
    let (addr, prefix_len) = ctx.check(st, parse_prefixed(&words[0]))?;
    let mut v = VirtualAddress {
        addr,
        prefix_len,
        broadcast: None,
        dev: None,
        scope: None,
        label: None,
        dad: false,
        noprefixroute: false,
        no_track: false,
        location: st.loc.clone(),
    };
    let mut i = 1;
    while let Some(opt) = words.get(i) {
        let needs_value = matches!(
            opt.as_str(),
            "dev" | "scope" | "brd" | "broadcast" | "label" | "peer" | "preferred_lft"
        );
        let value = words.get(i + 1);
        if needs_value && value.is_none() {
            ctx.error(st, format!("'{opt}' needs a value for {}", words[0]));
            return None;
        }
        let value = value.map(String::as_str).unwrap_or("");
        if !vip_option(ctx, st, &mut v, opt, value) {
            return None;
        }
        i += if needs_value { 2 } else { 1 };
    }
    Some(v)
}

/// Applies option `opt` (with `value`, or "") of a `virtual_ipaddress` line to `v`; false for
/// an unknown option (reported), which drops the line.
fn vip_option(ctx: &mut Ctx, st: &Stmt, v: &mut VirtualAddress, opt: &str, value: &str) -> bool {
    let addr = &st.words[0];
    let v6 = v.addr.is_ipv6();
    match opt {
        "dev" => v.dev = Some(value.to_string()),
        "scope" if v6 => ctx.error(st, format!("cannot specify scope for IPv6 address {addr}")),
        "scope" if SCOPES.contains(&value) || parse_uint(value, 0, 255).is_ok() => {
            v.scope = Some(value.to_string());
        }
        "scope" => ctx.error(st, format!("invalid scope '{value}' for {addr}")),
        "brd" | "broadcast" if v6 => ctx.error(
            st,
            format!("cannot specify a broadcast address for IPv6 address {addr}"),
        ),
        "brd" | "broadcast" => match value.parse::<std::net::Ipv4Addr>() {
            Ok(b) => v.broadcast = Some(b),
            Err(_) => ctx.error(st, format!("invalid broadcast address '{value}'")),
        },
        "label" if v6 => ctx.error(st, format!("cannot specify label for IPv6 address {addr}")),
        "label" if value.len() > 15 => ctx.error(
            st,
            format!("address label '{value}' is longer than 15 characters"),
        ),
        "label" => v.label = Some(value.to_string()),
        "-nodad" => v.dad = true,
        "noprefixroute" => v.noprefixroute = true,
        "no_track" => v.no_track = true,
        "home" | "mngtmpaddr" | "autojoin" | "use_vmac" => ctx.warn(
            st,
            format!("address option '{opt}' is not implemented by vrrpd; ignored"),
        ),
        "peer" | "preferred_lft" => ctx.warn(
            st,
            format!("address option '{opt} {value}' is not implemented by vrrpd; ignored"),
        ),
        other => {
            ctx.error(
                st,
                format!("unknown option '{other}' for virtual address {addr}"),
            );
            return false;
        }
    }
    true
}

fn vip_block(ctx: &mut Ctx, st: &Stmt, out: &mut Vec<VirtualAddress>, one_family: bool) {
    let Some(block) = ctx.block(st) else { return };
    if !st.args().is_empty() {
        ctx.error(st, format!("'{}' takes no arguments", st.keyword()));
    }
    for line in block {
        if !ctx.no_block(line) {
            continue;
        }
        let Some(v) = vip_line(ctx, line) else {
            continue;
        };
        if one_family {
            if let Some(first) = out.first() {
                if first.family() != v.family() {
                    ctx.error(
                        line,
                        format!(
                            "{} is not the same address family as {} (line {}); one instance advertises one family",
                            line.words[0], first.addr, first.location.line
                        ),
                    );
                    continue;
                }
            }
        }
        if out.iter().any(|o| o.addr == v.addr) {
            ctx.error(line, format!("duplicate virtual address {}", v.addr));
            continue;
        }
        out.push(v);
    }
}

fn peers_block(ctx: &mut Ctx, st: &Stmt, raw: &mut Raw) {
    let Some(block) = ctx.block(st) else { return };
    for line in block {
        if !ctx.no_block(line) {
            continue;
        }
        let Some(addr) = ctx.check(line, parse_ip(&line.words[0])) else {
            continue;
        };
        let mut peer = UnicastPeer {
            addr,
            min_ttl: None,
            max_ttl: None,
        };
        let mut ok = true;
        for pair in line.args().chunks(2) {
            let (key, val) = match pair {
                [k, v] => (k.as_str(), v.as_str()),
                [k] => {
                    ctx.error(
                        line,
                        format!("unicast_peer option '{k}' is missing a value"),
                    );
                    ok = false;
                    break;
                }
                _ => break,
            };
            let ttl = match parse_uint(val, 0, 255) {
                Ok(t) => u8::try_from(t).unwrap_or(255),
                Err(e) => {
                    ctx.error(line, format!("{key}: {e}"));
                    ok = false;
                    continue;
                }
            };
            match key {
                "min_ttl" => peer.min_ttl = Some(ttl),
                "max_ttl" => peer.max_ttl = Some(ttl),
                other => {
                    ctx.error(line, format!("unknown unicast_peer option '{other}'"));
                    ok = false;
                }
            }
        }
        if let (Some(lo), Some(hi)) = (peer.min_ttl, peer.max_ttl) {
            if lo > hi {
                ctx.error(
                    line,
                    format!(
                        "min_ttl {lo} > max_ttl {hi}: every advert from {addr} would be dropped"
                    ),
                );
                ok = false;
            }
        }
        if raw.peers.iter().any(|(p, _)| p.addr == addr) {
            ctx.error(line, format!("duplicate unicast peer {addr}"));
            ok = false;
        }
        if ok {
            raw.peers.push((peer, line.loc.clone()));
        }
    }
}

fn track_script_block(ctx: &mut Ctx, st: &Stmt, raw: &mut Raw, lookup: &Lookup) {
    let Some(block) = ctx.block(st) else { return };
    for line in block {
        if !ctx.no_block(line) {
            continue;
        }
        let name = &line.words[0];
        let Some(target) = lookup.get(name) else {
            ctx.error(
                line,
                format!("track_script '{name}' is not a defined vrrp_script or vrrpd_check"),
            );
            continue;
        };
        let mut t = TrackScript {
            name: name.clone(),
            kind: target.kind,
            weight: target.weight,
            reverse: target.reverse,
        };
        match line.args() {
            [] => {}
            [kw, w, rest @ ..] if kw == "weight" && rest.len() <= 1 => {
                match parse_int(w, -253, 253) {
                    Ok(w) => t.weight = i32::try_from(w).unwrap_or(0),
                    Err(e) => {
                        ctx.error(line, format!("track_script {name} weight: {e}"));
                        continue;
                    }
                }
                t.reverse = match rest.first().map(String::as_str) {
                    None => t.reverse,
                    Some("reverse") => true,
                    Some("no_reverse") => false,
                    Some(other) => {
                        ctx.error(line, format!("track_script {name}: unknown option '{other}' (reverse|no_reverse)"));
                        continue;
                    }
                };
            }
            _ => {
                ctx.error(
                    line,
                    format!("usage: NAME [weight W [reverse|no_reverse]] (track_script {name})"),
                );
                continue;
            }
        }
        if raw.tracks.iter().any(|x| x.name == t.name) {
            ctx.warn(
                line,
                format!("track_script '{name}' listed twice; the second entry is ignored"),
            );
            continue;
        }
        raw.tracks.push(t);
    }
}

fn track_interface_block(ctx: &mut Ctx, st: &Stmt, raw: &mut Raw) {
    let Some(block) = ctx.block(st) else { return };
    for line in block {
        if !ctx.no_block(line) {
            continue;
        }
        let name = &line.words[0];
        let mut t = TrackInterface {
            name: name.clone(),
            weight: 0,
            reverse: false,
        };
        match line.args() {
            [] => {}
            [kw, w, rest @ ..] if kw == "weight" && rest.len() <= 1 => {
                match parse_int(w, -253, 253) {
                    Ok(w) => t.weight = i32::try_from(w).unwrap_or(0),
                    Err(e) => {
                        ctx.error(line, format!("track_interface {name} weight: {e}"));
                        continue;
                    }
                }
                match rest.first().map(String::as_str) {
                    None => {}
                    Some("reverse") => t.reverse = true,
                    Some(other) => {
                        ctx.error(
                            line,
                            format!("track_interface {name}: unknown option '{other}' (reverse)"),
                        );
                        continue;
                    }
                }
            }
            _ => {
                ctx.error(
                    line,
                    format!("usage: IFNAME [weight W [reverse]] (track_interface {name})"),
                );
                continue;
            }
        }
        raw.track_ifs.push(t);
    }
}

fn auth_block(ctx: &mut Ctx, st: &Stmt, raw: &mut Raw) {
    let Some(block) = ctx.block(st) else { return };
    let mut kind: Option<&str> = None;
    let mut pass: Option<String> = None;
    for line in block {
        if !ctx.no_block(line) {
            continue;
        }
        match line.keyword() {
            "auth_type" => match ctx.check(line, one_arg(line)) {
                Some("PASS") => kind = Some("PASS"),
                Some("AH") => ctx.error(
                    line,
                    "auth_type AH is not supported by vrrpd (use PASS, or no authentication)",
                ),
                Some(other) => ctx.error(
                    line,
                    format!("unknown authentication type '{other}' (PASS|AH)"),
                ),
                None => {}
            },
            "auth_pass" => {
                if let Some(p) = ctx.check(line, one_arg(line)) {
                    let mut p = p.to_string();
                    if p.len() > 8 {
                        ctx.warn(
                            line,
                            "auth_pass is longer than 8 characters; only the first 8 are used",
                        );
                        let mut cut = 8;
                        while !p.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        p.truncate(cut);
                    }
                    pass = Some(p);
                }
            }
            _ => ctx.unknown(line, "authentication"),
        }
    }
    match (kind, pass) {
        (Some(_), Some(password)) => raw.auth = Some(Auth { password }),
        (Some(_), None) => ctx.error(st, "authentication specified but no auth_pass given"),
        (None, Some(_)) => ctx.error(st, "authentication block without auth_type"),
        (None, None) => {}
    }
}

/// Parses one statement of the instance block into `raw`.
fn item(ctx: &mut Ctx, st: &Stmt, raw: &mut Raw, lookup: &Lookup, iname: &str) {
    let kw = st.keyword();
    if IGNORED_INSTANCE.contains(&kw) {
        ctx.ignored(st, "vrrp_instance");
        return;
    }
    match kw {
        "virtual_ipaddress" => return vip_block(ctx, st, &mut raw.vips, true),
        "virtual_ipaddress_excluded" => return vip_block(ctx, st, &mut raw.evips, false),
        "unicast_peer" => return peers_block(ctx, st, raw),
        "track_script" => return track_script_block(ctx, st, raw, lookup),
        "track_interface" => return track_interface_block(ctx, st, raw),
        "authentication" => return auth_block(ctx, st, raw),
        _ => {}
    }
    if !ctx.no_block(st) {
        return;
    }
    let handled = identity_item(ctx, st, raw)
        || preempt_item(ctx, st, raw)
        || addressing_item(ctx, st, raw)
        || garp_item(ctx, st, raw)
        || behaviour_item(ctx, st, raw);
    if !handled {
        ctx.unknown(st, &format!("vrrp_instance {iname}"));
    }
}

/// The statement's one argument as an integer in `lo..=hi` converted to `T`; errors are
/// prefixed with the keyword.
fn uint_arg<T: TryFrom<u64>>(ctx: &mut Ctx, st: &Stmt, lo: u64, hi: u64) -> Option<T> {
    let r = one_arg(st)
        .and_then(|a| parse_uint(a, lo, hi))
        .map_err(|e| format!("{}: {e}", st.keyword()));
    ctx.check(st, r).and_then(|v| T::try_from(v).ok())
}

/// The statement's one argument as a time (`parse_time(a, 6, lo, hi)`), with its location;
/// errors are prefixed with the keyword.
fn time_arg(ctx: &mut Ctx, st: &Stmt, lo: u64, hi: u64) -> Option<(Duration, Location)> {
    let r = one_arg(st)
        .and_then(|a| parse_time(a, 6, lo, hi))
        .map_err(|e| format!("{}: {e}", st.keyword()));
    ctx.check(st, r).map(|d| (d, st.loc.clone()))
}

/// True when the statement has no arguments (else reported).
fn no_args(ctx: &mut Ctx, st: &Stmt) -> bool {
    ctx.check(st, want_args(st, 0, 0)).is_some()
}

/// `state`, `interface`, `virtual_router_id`, `priority`, `advert_int`, `version`.
fn identity_item(ctx: &mut Ctx, st: &Stmt, raw: &mut Raw) -> bool {
    match st.keyword() {
        "state" => match ctx.check(st, one_arg(st)) {
            Some("MASTER") => raw.state = Some(InitialState::Master),
            Some("BACKUP") => {
                if raw.state == Some(InitialState::Master) {
                    ctx.warn(st, "state previously set as MASTER; ignoring BACKUP");
                } else {
                    raw.state = Some(InitialState::Backup);
                }
            }
            Some(other) => ctx.error(st, format!("unknown state '{other}' (MASTER|BACKUP)")),
            None => {}
        },
        "interface" => {
            raw.interface = ctx
                .check(st, one_arg(st))
                .map(str::to_string)
                .or(raw.interface.take())
        }
        "virtual_router_id" => raw.vrid = uint_arg(ctx, st, 1, 255).or(raw.vrid),
        "priority" => raw.priority = uint_arg(ctx, st, 1, 255).or(raw.priority),
        "advert_int" => {
            if let Some(a) = time_arg(ctx, st, 10_000, 255_000_000) {
                raw.advert = Some(a);
            }
        }
        "version" => {
            let r = one_arg(st).and_then(|a| match a {
                "2" => Ok(Version::V2),
                "3" => Ok(Version::V3),
                other => Err(format!("version must be 2 or 3, not '{other}'")),
            });
            if let Some(v) = ctx.check(st, r) {
                raw.version = Some((v, st.loc.clone()));
            }
        }
        _ => return false,
    }
    true
}

/// `nopreempt`, `preempt`, `preempt_delay`.
fn preempt_item(ctx: &mut Ctx, st: &Stmt, raw: &mut Raw) -> bool {
    match st.keyword() {
        "nopreempt" => {
            if no_args(ctx, st) {
                raw.nopreempt = Some(st.loc.clone());
            }
        }
        "preempt" => {
            if no_args(ctx, st) {
                raw.nopreempt = None;
            }
        }
        "preempt_delay" => {
            if let Some(d) = time_arg(ctx, st, 0, 1_000_000_000) {
                raw.preempt_delay = Some(d);
            }
        }
        _ => return false,
    }
    true
}

/// Sources, unicast and the own interface's tracking.
fn addressing_item(ctx: &mut Ctx, st: &Stmt, raw: &mut Raw) -> bool {
    match st.keyword() {
        kw @ ("unicast_src_ip" | "mcast_src_ip") => {
            if let Some(a) = ctx.check(st, one_arg(st).and_then(parse_ip)) {
                if kw == "unicast_src_ip" {
                    raw.unicast_src = Some((a, st.loc.clone()));
                } else {
                    raw.mcast_src = Some((a, st.loc.clone()));
                }
            }
        }
        "unicast_ttl" => raw.ttl = uint_arg(ctx, st, 0, 255).or(raw.ttl),
        "check_unicast_src" => {
            raw.check_unicast_src = ctx.check(st, flag(st)).or(raw.check_unicast_src)
        }
        "dont_track_primary" => {
            if no_args(ctx, st) {
                raw.dont_track_primary = true;
            }
        }
        _ => return false,
    }
    true
}

/// `garp_master_*` and `garp_lower_prio_*`.
fn garp_item(ctx: &mut Ctx, st: &Stmt, raw: &mut Raw) -> bool {
    match st.keyword() {
        "garp_master_delay" => raw.garp_delay = ctx.check(st, whole_seconds(st)).or(raw.garp_delay),
        "garp_master_repeat" => raw.garp_repeat = repeat(ctx, st).or(raw.garp_repeat),
        "garp_master_refresh" => {
            raw.garp_refresh = ctx.check(st, whole_seconds(st)).or(raw.garp_refresh)
        }
        "garp_master_refresh_repeat" => {
            raw.garp_refresh_repeat = repeat(ctx, st).or(raw.garp_refresh_repeat)
        }
        "vrrpd_garp_burst" => {
            raw.garp_burst = ctx.check(st, garp_burst(st)).or(raw.garp_burst.take())
        }
        "garp_lower_prio_delay" => raw.lp_delay = ctx.check(st, whole_seconds(st)).or(raw.lp_delay),
        "garp_lower_prio_repeat" => {
            raw.lp_repeat = uint_arg(ctx, st, 0, i32::MAX as u64).or(raw.lp_repeat)
        }
        _ => return false,
    }
    true
}

/// `vrrpd_garp_burst 0.005 0.02 0.1`: offsets in decimal seconds (ms resolution), strictly
/// ascending, at most `vrrp::config::MAX_GARP_BURST`, each ≤ 10 s.
fn garp_burst(st: &Stmt) -> Result<Vec<Duration>, String> {
    want_args(st, 1, vrrp::config::MAX_GARP_BURST)?;
    let max_us = u64::try_from(vrrp::config::MAX_GARP_BURST_OFFSET.as_micros()).unwrap_or(u64::MAX);
    let mut out: Vec<Duration> = Vec::new();
    for a in st.args() {
        let d = parse_time(a, 3, 0, max_us).map_err(|e| format!("vrrpd_garp_burst: {e}"))?;
        if out.last().is_some_and(|p| *p >= d) {
            return Err(format!(
                "vrrpd_garp_burst: offsets must be strictly ascending ('{a}')"
            ));
        }
        out.push(d);
    }
    Ok(out)
}

/// Advert behaviour, accept mode and refused keywords.
fn behaviour_item(ctx: &mut Ctx, st: &Stmt, raw: &mut Raw) -> bool {
    match st.keyword() {
        "lower_prio_no_advert" => {
            raw.lower_prio_no_advert = ctx.check(st, flag(st)).or(raw.lower_prio_no_advert)
        }
        "higher_prio_send_advert" => {
            raw.higher_prio_send_advert = ctx.check(st, flag(st)).or(raw.higher_prio_send_advert)
        }
        "vrrpd_v2_compat" => raw.v2_compat = ctx.check(st, flag(st)).or(raw.v2_compat),
        "vrrpd_adaptive_interval" => {
            // Whole centiseconds (VRRPv3's unit), 0.01..=40.95 s.
            let r = one_arg(st)
                .and_then(|a| parse_time(a, 2, 10_000, 40_950_000))
                .map_err(|e| format!("vrrpd_adaptive_interval: {e}"));
            if let Some(d) = ctx.check(st, r) {
                raw.adaptive = Some((d, st.loc.clone()));
            }
        }
        "down_timer_adverts" => {
            raw.down_timer_adverts = uint_arg(ctx, st, 1, 100).or(raw.down_timer_adverts)
        }
        "accept" => {
            if no_args(ctx, st) {
                raw.accept = Some(true);
            }
        }
        "no_accept" => {
            if no_args(ctx, st) {
                ctx.warn(st, "no_accept: vrrpd never installs firewall rules; packets to the VIPs are accepted anyway");
                raw.accept = Some(false);
            }
        }
        "strict_mode" => ctx.error(st, "strict_mode is not supported by vrrpd; remove it"),
        _ => return false,
    }
    true
}

fn version_name(v: Version) -> &'static str {
    match v {
        Version::V2 => "VRRPv2",
        Version::V3 => "VRRPv3",
    }
}

/// keepalived's advert_int rounding (vrrp.c `vrrp_complete_instance`).
fn round_advert(ctx: &mut Ctx, d: Duration, version: Version, loc: &Location) -> Duration {
    let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    let (unit, max_units, what) = match version {
        Version::V2 => (
            1_000_000u64,
            255u64,
            "VRRPv2 advert_int must be whole seconds",
        ),
        Version::V3 => (
            10_000u64,
            4095u64,
            "VRRPv3 advert_int must be in units of 10 ms",
        ),
    };
    if us > max_units * unit {
        let max = Duration::from_micros(max_units * unit).as_secs_f64();
        ctx.sink.error(
            loc,
            format!(
                "advert_int {}s is out of range for {}: at most {max}s",
                d.as_secs_f64(),
                version_name(version)
            ),
        );
        return d;
    }
    if us % unit == 0 {
        return d;
    }
    let rounded = (((us + unit / 2) / unit).max(1)) * unit;
    ctx.sink.warn(
        loc,
        format!(
            "{what}; {}s rounded to {}s",
            d.as_secs_f64(),
            Duration::from_micros(rounded).as_secs_f64()
        ),
    );
    Duration::from_micros(rounded)
}

pub(crate) fn build(
    ctx: &mut Ctx,
    st: &Stmt,
    g: &GlobalDefs,
    lookup: &Lookup,
) -> Option<VrrpInstance> {
    let name = ctx.name(st)?;
    let block = ctx.block(st)?;
    let mut raw = Raw::default();
    for s in block {
        item(ctx, s, &mut raw, lookup, &name);
    }
    let Some(vrid) = raw.vrid else {
        ctx.error(
            st,
            format!("vrrp_instance {name}: virtual_router_id must be set"),
        );
        return None;
    };
    let family = family_of(&raw);
    let version = resolve_version(ctx, st, &raw, family, g, &name);
    let (priority, initial_state) = resolve_role(&raw);
    let (preempt, preempt_delay) = resolve_preempt(ctx, &raw, priority, initial_state, &name);
    let advert_int = match &raw.advert {
        Some((d, loc)) => round_advert(ctx, *d, version, loc),
        None => Duration::from_secs(1),
    };
    let v2_compat = raw.v2_compat.unwrap_or(false);
    check_version_features(ctx, st, &raw, version, family, &name);
    let adaptive_interval = check_adaptive(ctx, &raw, version, advert_int, &name);
    check_addressing(ctx, st, &mut raw, &name);
    let garp = resolve_garp(&raw, g);
    Some(VrrpInstance {
        name,
        location: st.loc.clone(),
        initial_state,
        interface: raw.interface,
        vrid,
        priority,
        advert_int,
        version,
        family,
        preempt,
        preempt_delay,
        auth: raw.auth,
        vips: raw.vips,
        excluded_vips: raw.evips,
        unicast_src_ip: raw.unicast_src.map(|(a, _)| a),
        mcast_src_ip: raw.mcast_src.map(|(a, _)| a),
        unicast_peers: raw.peers.into_iter().map(|(p, _)| p).collect(),
        unicast_ttl: raw.ttl.unwrap_or(255),
        check_unicast_src: raw.check_unicast_src.unwrap_or(g.check_unicast_src),
        track_scripts: raw.tracks,
        track_interfaces: raw.track_ifs,
        dont_track_primary: raw.dont_track_primary,
        garp,
        lower_prio_no_advert: raw.lower_prio_no_advert.unwrap_or(g.lower_prio_no_advert),
        higher_prio_send_advert: raw
            .higher_prio_send_advert
            .unwrap_or(g.higher_prio_send_advert),
        down_timer_adverts: raw.down_timer_adverts.unwrap_or(g.down_timer_adverts),
        accept: raw.accept.unwrap_or(true),
        v2_compat,
        garp_burst: raw.garp_burst.unwrap_or_default(),
        adaptive_interval,
    })
}

/// The family of the first VIP, else of the first peer, else of `unicast_src_ip`; IPv4.
fn family_of(raw: &Raw) -> Family {
    raw.vips
        .first()
        .map(|v| v.family())
        .or_else(|| raw.peers.first().map(|(p, _)| Family::of(&p.addr)))
        .or_else(|| raw.unicast_src.as_ref().map(|(a, _)| Family::of(a)))
        .unwrap_or(Family::Ipv4)
}

/// The VRRP version (IPv6 forces 3, else `version`, else the global one); reports an empty
/// VIP list (an error with version 3, a warning with 2).
fn resolve_version(
    ctx: &mut Ctx,
    st: &Stmt,
    raw: &Raw,
    family: Family,
    g: &GlobalDefs,
    name: &str,
) -> Version {
    let version = match (raw.version.as_ref(), family) {
        (Some((Version::V2, loc)), Family::Ipv6) => {
            ctx.sink.error(
                loc,
                format!("vrrp_instance {name}: IPv6 requires VRRP version 3"),
            );
            Version::V3
        }
        (Some((v, _)), _) => *v,
        (None, Family::Ipv6) => Version::V3,
        (None, Family::Ipv4) => g.vrrp_version,
    };
    if raw.vips.is_empty() {
        if version == Version::V3 {
            ctx.error(
                st,
                format!("vrrp_instance {name}: no virtual_ipaddress; at least one is required"),
            );
        } else {
            ctx.warn(
                st,
                format!("vrrp_instance {name}: no virtual_ipaddress; at least one is sensible"),
            );
        }
    }
    version
}

/// Priority (255 for `state MASTER` without one, else 100) and initial state (MASTER for
/// priority 255, else BACKUP).
fn resolve_role(raw: &Raw) -> (u8, InitialState) {
    let priority = raw
        .priority
        .unwrap_or(if raw.state == Some(InitialState::Master) {
            255
        } else {
            100
        });
    let initial_state = raw.state.unwrap_or(if priority == 255 {
        InitialState::Master
    } else {
        InitialState::Backup
    });
    (priority, initial_state)
}

/// Preemption and its delay, with keepalived's warnings for combinations it ignores.
fn resolve_preempt(
    ctx: &mut Ctx,
    raw: &Raw,
    priority: u8,
    initial_state: InitialState,
    name: &str,
) -> (bool, Duration) {
    let master = initial_state == InitialState::Master;
    let mut preempt = true;
    if let Some(loc) = &raw.nopreempt {
        if priority == 255 {
            ctx.sink.warn(
                loc,
                format!(
                    "vrrp_instance {name}: nopreempt is incompatible with priority 255; ignored"
                ),
            );
        } else if master {
            ctx.sink.warn(
                loc,
                format!("vrrp_instance {name}: nopreempt does not work with state MASTER; ignored"),
            );
        } else {
            preempt = false;
        }
    }
    let Some((d, loc)) = raw.preempt_delay.as_ref().filter(|(d, _)| !d.is_zero()) else {
        return (preempt, Duration::ZERO);
    };
    let ignored = if master {
        "does not work with state MASTER"
    } else if !preempt {
        "is incompatible with nopreempt"
    } else {
        return (preempt, *d);
    };
    ctx.sink.warn(
        loc,
        format!("vrrp_instance {name}: preempt_delay {ignored}; ignored"),
    );
    (preempt, Duration::ZERO)
}

/// Features tied to a version or family: `vrrpd_v2_compat`, authentication, the family of
/// peers and source addresses.
fn check_version_features(
    ctx: &mut Ctx,
    st: &Stmt,
    raw: &Raw,
    version: Version,
    family: Family,
    name: &str,
) {
    if raw.v2_compat.unwrap_or(false) && (version != Version::V3 || family != Family::Ipv4) {
        ctx.error(
            st,
            format!("vrrp_instance {name}: vrrpd_v2_compat needs a VRRP version 3 IPv4 instance"),
        );
    }
    if raw.auth.is_some() && version == Version::V3 {
        ctx.error(
            st,
            format!("vrrp_instance {name}: authentication is only possible with VRRP version 2"),
        );
    }
    for (p, loc) in &raw.peers {
        if Family::of(&p.addr) != family {
            ctx.sink.error(
                loc,
                format!(
                    "unicast peer {} is not of the instance's address family ({family:?})",
                    p.addr
                ),
            );
        }
    }
    for (label, src) in [
        ("unicast_src_ip", &raw.unicast_src),
        ("mcast_src_ip", &raw.mcast_src),
    ] {
        if let Some((a, loc)) = src {
            if Family::of(a) != family {
                ctx.sink.error(
                    loc,
                    format!("{label} {a} is not of the instance's address family ({family:?})"),
                );
            }
        }
    }
}

/// `vrrpd_adaptive_interval FLOOR`: VRRPv3 only, never with `vrrpd_v2_compat` (VRRPv2 peers
/// drop adverts whose interval differs from theirs, RFC 3768 §7.1), at most `advert_int` (the
/// ceiling). Reported and dropped otherwise.
fn check_adaptive(
    ctx: &mut Ctx,
    raw: &Raw,
    version: Version,
    advert_int: Duration,
    name: &str,
) -> Option<Duration> {
    let (floor, loc) = raw.adaptive.as_ref()?;
    let why = if version != Version::V3 {
        "needs VRRP version 3 (VRRPv2 routers require equal intervals)"
    } else if raw.v2_compat.unwrap_or(false) {
        "cannot be used with vrrpd_v2_compat (VRRPv2 peers require equal intervals)"
    } else if *floor > advert_int {
        "is above advert_int (the ceiling and starting interval)"
    } else {
        return Some(*floor);
    };
    ctx.sink.error(
        loc,
        format!("vrrp_instance {name}: vrrpd_adaptive_interval {why}"),
    );
    None
}

/// Interface, unicast and tracking combinations; drops a `track_interface` entry for the
/// instance's own interface.
fn check_addressing(ctx: &mut Ctx, st: &Stmt, raw: &mut Raw, name: &str) {
    let unicast = !raw.peers.is_empty();
    if raw.interface.is_none() {
        if !unicast {
            ctx.error(
                st,
                format!(
                    "vrrp_instance {name}: 'interface' is required unless unicast_peer is used"
                ),
            );
        } else if raw.unicast_src.is_none() {
            ctx.error(
                st,
                format!("vrrp_instance {name}: unicast instances need unicast_src_ip or interface"),
            );
        }
    }
    if !unicast && raw.unicast_src.is_some() {
        ctx.warn(
            st,
            format!("vrrp_instance {name}: unicast_src_ip without unicast_peer; using multicast"),
        );
    }
    if raw.dont_track_primary && raw.interface.is_none() {
        ctx.warn(
            st,
            format!("vrrp_instance {name}: dont_track_primary without an interface has no effect"),
        );
    }
    if let Some(ifname) = raw.interface.as_deref() {
        if raw.track_ifs.iter().any(|t| t.name == ifname) {
            ctx.warn(st, format!("vrrp_instance {name}: track_interface {ifname} is the instance's own interface (always tracked); entry ignored"));
            raw.track_ifs.retain(|t| t.name != ifname);
        }
    }
}

/// The instance's GARP settings: its own, else the global ones.
fn resolve_garp(raw: &Raw, g: &GlobalDefs) -> crate::model::GarpSettings {
    let gg = &g.garp;
    crate::model::GarpSettings {
        master_delay: raw.garp_delay.unwrap_or(gg.master_delay),
        master_repeat: raw.garp_repeat.unwrap_or(gg.master_repeat),
        master_refresh: raw.garp_refresh.unwrap_or(gg.master_refresh),
        master_refresh_repeat: raw.garp_refresh_repeat.unwrap_or(gg.master_refresh_repeat),
        lower_prio_delay: raw.lp_delay.unwrap_or(gg.lower_prio_delay),
        lower_prio_repeat: raw.lp_repeat.unwrap_or(gg.lower_prio_repeat),
    }
}
