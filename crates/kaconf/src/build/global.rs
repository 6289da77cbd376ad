//! `global_defs { … }`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::Ctx;
use crate::keywords::IGNORED_GLOBAL;
use crate::model::{GlobalDefs, ScriptUser, Version};
use crate::tree::Stmt;
use crate::values::{flag, parse_int, parse_ip, parse_time, parse_uint, want_args};

/// Settings whose default depends on others (resolved in [`finish`]).
#[derive(Debug, Default)]
pub(crate) struct Pending {
    lower_prio_delay: Option<Duration>,
    lower_prio_repeat: Option<u32>,
}

/// Whole seconds, as keepalived's integer timer keywords (`garp_master_delay`, …) read them.
pub(crate) fn whole_seconds(st: &Stmt) -> Result<Duration, String> {
    want_args(st, 1, 1)?;
    let v = parse_uint(&st.args()[0], 0, u64::from(u32::MAX) / 1_000_000)
        .map_err(|e| format!("'{}': {e} (whole seconds)", st.keyword()))?;
    Ok(Duration::from_secs(v))
}

/// A repeat count ≥ 1 (0 is raised to 1 with a warning, like keepalived).
pub(crate) fn repeat(ctx: &mut Ctx, st: &Stmt) -> Option<u32> {
    let r = want_args(st, 1, 1).and_then(|_| parse_uint(&st.args()[0], 0, u64::from(u32::MAX)));
    let v = ctx.check(st, r.map_err(|e| format!("'{}': {e}", st.keyword())))?;
    if v == 0 {
        ctx.warn(
            st,
            format!("'{}' must be greater than 0; using 1", st.keyword()),
        );
        return Some(1);
    }
    Some(u32::try_from(v).unwrap_or(u32::MAX))
}

/// `user USER [GROUP]` / `script_user USER [GROUP]`.
pub(crate) fn script_user(st: &Stmt) -> Result<ScriptUser, String> {
    want_args(st, 1, 2)?;
    Ok(ScriptUser {
        user: st.args()[0].clone(),
        group: st.args().get(1).cloned(),
    })
}

pub(crate) fn apply(ctx: &mut Ctx, block: &[Stmt], g: &mut GlobalDefs, p: &mut Pending) {
    for st in block {
        if IGNORED_GLOBAL.contains(&st.keyword()) {
            ctx.ignored(st, "global_defs");
            continue;
        }
        if !ctx.no_block(st) {
            continue;
        }
        let handled = protocol_item(ctx, st, g)
            || garp_item(ctx, st, g, p)
            || advert_item(ctx, st, g)
            || sched_item(ctx, st, g)
            || vrrpd_item(ctx, st, g);
        if !handled {
            ctx.unknown(st, "global_defs");
        }
    }
}

/// The statement's one argument, checked with `parse`.
fn one<T>(st: &Stmt, parse: impl FnOnce(&str) -> Result<T, String>) -> Result<T, String> {
    want_args(st, 1, 1).and_then(|_| parse(&st.args()[0]))
}

/// `router_id`, `vrrp_version`, the multicast groups.
fn protocol_item(ctx: &mut Ctx, st: &Stmt, g: &mut GlobalDefs) -> bool {
    match st.keyword() {
        "router_id" => {
            if let Some(id) = ctx.check(st, one(st, |a| Ok(a.to_string()))) {
                g.router_id = Some(id);
            }
        }
        "vrrp_version" => {
            let r = one(st, |a| match a {
                "2" => Ok(Version::V2),
                "3" => Ok(Version::V3),
                other => Err(format!("vrrp_version must be 2 or 3, not '{other}'")),
            });
            if let Some(v) = ctx.check(st, r) {
                g.vrrp_version = v;
            }
        }
        "vrrp_mcast_group4" => match ctx.check(st, one(st, parse_ip)) {
            Some(IpAddr::V4(a)) if a.is_multicast() => g.mcast_group4 = a,
            Some(_) => ctx.error(st, "vrrp_mcast_group4 must be an IPv4 multicast address"),
            None => {}
        },
        "vrrp_mcast_group6" => match ctx.check(st, one(st, parse_ip)) {
            Some(IpAddr::V6(a)) if a.is_multicast() => g.mcast_group6 = a,
            Some(_) => ctx.error(st, "vrrp_mcast_group6 must be an IPv6 multicast address"),
            None => {}
        },
        _ => return false,
    }
    true
}

/// `vrrp_garp_master_*` and `vrrp_garp_lower_prio_*` (the latter resolved in [`finish`]).
fn garp_item(ctx: &mut Ctx, st: &Stmt, g: &mut GlobalDefs, p: &mut Pending) -> bool {
    let garp = &mut g.garp;
    match st.keyword() {
        "vrrp_garp_master_delay" => set(&mut garp.master_delay, ctx.check(st, whole_seconds(st))),
        "vrrp_garp_master_repeat" => set(&mut garp.master_repeat, repeat(ctx, st)),
        "vrrp_garp_master_refresh" => {
            set(&mut garp.master_refresh, ctx.check(st, whole_seconds(st)));
        }
        "vrrp_garp_master_refresh_repeat" => {
            set(&mut garp.master_refresh_repeat, repeat(ctx, st));
        }
        "vrrp_garp_lower_prio_delay" => {
            if let Some(d) = ctx.check(st, whole_seconds(st)) {
                p.lower_prio_delay = Some(d);
            }
        }
        "vrrp_garp_lower_prio_repeat" => {
            if let Some(v) = ctx.check(st, one(st, |a| parse_uint(a, 0, i32::MAX as u64))) {
                p.lower_prio_repeat = Some(u32::try_from(v).unwrap_or(u32::MAX));
            }
        }
        _ => return false,
    }
    true
}

/// Stores `v` in `slot` when it is `Some`.
fn set<T>(slot: &mut T, v: Option<T>) {
    if let Some(v) = v {
        *slot = v;
    }
}

/// Advert behaviour, scripts and startup.
fn advert_item(ctx: &mut Ctx, st: &Stmt, g: &mut GlobalDefs) -> bool {
    match st.keyword() {
        "vrrp_lower_prio_no_advert" => set(&mut g.lower_prio_no_advert, ctx.check(st, flag(st))),
        "vrrp_higher_prio_send_advert" => {
            set(&mut g.higher_prio_send_advert, ctx.check(st, flag(st)));
        }
        "vrrp_down_timer_adverts" => {
            let r = one(st, |a| parse_uint(a, 1, 100));
            if let Some(v) = ctx.check(st, r.map_err(|e| format!("vrrp_down_timer_adverts: {e}"))) {
                g.down_timer_adverts = u32::try_from(v).unwrap_or(3);
            }
        }
        "script_user" => {
            if let Some(u) = ctx.check(st, script_user(st)) {
                g.script_user = Some(u);
            }
        }
        "enable_script_security" => set(&mut g.enable_script_security, ctx.check(st, flag(st))),
        "vrrp_startup_delay" => {
            let r = one(st, |a| parse_time(a, 6, 0, 1_000_000_000));
            let r = r.map_err(|e| format!("vrrp_startup_delay: {e}"));
            set(&mut g.startup_delay, ctx.check(st, r));
        }
        "vrrp_check_unicast_src" => set(&mut g.check_unicast_src, ctx.check(st, flag(st))),
        _ => return false,
    }
    true
}

/// `vrrp_rt_priority`, `vrrp_rlimit_rttime` (and its deprecated spelling `vrrp_rlimit_rtime`)
/// and `vrrp_priority`, with keepalived 2.2.7's ranges: what it clamps or refuses with a
/// configuration error (`keepalived -t` exits 5) is an error here too.
fn sched_item(ctx: &mut Ctx, st: &Stmt, g: &mut GlobalDefs) -> bool {
    let sched = &mut g.sched;
    match st.keyword() {
        "vrrp_rt_priority" => {
            // sched_get_priority_min/max(SCHED_RR) on Linux.
            let r = one(st, |a| parse_int(a, 1, 99));
            let r =
                r.map_err(|e| format!("vrrp_rt_priority: {e} (SCHED_RR priorities are 1 to 99)"));
            if let Some(v) = ctx.check(st, r) {
                sched.rt_priority = u8::try_from(v).ok();
            }
        }
        k @ ("vrrp_rlimit_rttime" | "vrrp_rlimit_rtime") => {
            if k == "vrrp_rlimit_rtime" {
                ctx.warn(
                    st,
                    "vrrp_rlimit_rtime is deprecated; use vrrp_rlimit_rttime",
                );
            }
            let r = one(st, |a| parse_uint(a, 1, u64::from(u32::MAX)));
            let r = r.map_err(|e| format!("{k}: {e} (microseconds)"));
            if let Some(v) = ctx.check(st, r) {
                sched.rlimit_rttime_us = u32::try_from(v).unwrap_or(u32::MAX);
            }
        }
        "vrrp_priority" => {
            let r = one(st, |a| parse_int(a, -20, 19));
            let r = r.map_err(|e| format!("vrrp_priority: {e} (a nice value)"));
            if let Some(v) = ctx.check(st, r) {
                sched.nice = i8::try_from(v).unwrap_or(0);
            }
        }
        _ => return false,
    }
    true
}

/// vrrpd's own keywords, and `vrrp_strict` (refused).
fn vrrpd_item(ctx: &mut Ctx, st: &Stmt, g: &mut GlobalDefs) -> bool {
    match st.keyword() {
        "vrrpd_metrics_listen" => {
            let r = one(st, |a| {
                a.parse::<SocketAddr>().map_err(|_| {
                    format!("vrrpd_metrics_listen: '{a}' is not ADDR:PORT (IPv6 as [ADDR]:PORT)")
                })
            });
            if let Some(a) = ctx.check(st, r) {
                g.metrics_listen = Some(a);
            }
        }
        "vrrpd_handoff_timeout" => {
            let r = one(st, |a| parse_time(a, 3, 0, 60_000_000))
                .map_err(|e| format!("vrrpd_handoff_timeout: {e}"));
            if let Some(d) = ctx.check(st, r) {
                g.handoff_timeout = Some(d);
            }
        }
        "vrrp_strict" => ctx.error(
            st,
            "vrrp_strict is not supported by vrrpd (accept mode is always on); remove it",
        ),
        _ => return false,
    }
    true
}

/// Applies defaults that depend on other settings.
pub(crate) fn finish(g: &mut GlobalDefs, p: &Pending) {
    g.garp.lower_prio_delay = p.lower_prio_delay.unwrap_or(g.garp.master_delay);
    g.garp.lower_prio_repeat = p.lower_prio_repeat.unwrap_or(g.garp.master_repeat);
}
