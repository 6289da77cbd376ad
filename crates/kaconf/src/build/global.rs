//! `global_defs { … }`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::Ctx;
use crate::keywords::IGNORED_GLOBAL;
use crate::model::{GlobalDefs, ScriptUser, Version};
use crate::tree::Stmt;
use crate::values::{flag, parse_ip, parse_time, parse_uint, want_args};

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
        let kw = st.keyword();
        if IGNORED_GLOBAL.contains(&kw) {
            ctx.ignored(st, "global_defs");
            continue;
        }
        if !ctx.no_block(st) {
            continue;
        }
        match kw {
            "router_id" => {
                if let Some(()) = ctx.check(st, want_args(st, 1, 1)) {
                    g.router_id = Some(st.args()[0].clone());
                }
            }
            "vrrp_version" => {
                let r = want_args(st, 1, 1).and_then(|_| match st.args()[0].as_str() {
                    "2" => Ok(Version::V2),
                    "3" => Ok(Version::V3),
                    other => Err(format!("vrrp_version must be 2 or 3, not '{other}'")),
                });
                if let Some(v) = ctx.check(st, r) {
                    g.vrrp_version = v;
                }
            }
            "vrrp_mcast_group4" => {
                let r = want_args(st, 1, 1).and_then(|_| parse_ip(&st.args()[0]));
                match ctx.check(st, r) {
                    Some(IpAddr::V4(a)) if a.is_multicast() => g.mcast_group4 = a,
                    Some(_) => ctx.error(st, "vrrp_mcast_group4 must be an IPv4 multicast address"),
                    None => {}
                }
            }
            "vrrp_mcast_group6" => {
                let r = want_args(st, 1, 1).and_then(|_| parse_ip(&st.args()[0]));
                match ctx.check(st, r) {
                    Some(IpAddr::V6(a)) if a.is_multicast() => g.mcast_group6 = a,
                    Some(_) => ctx.error(st, "vrrp_mcast_group6 must be an IPv6 multicast address"),
                    None => {}
                }
            }
            "vrrp_garp_master_delay" => {
                if let Some(d) = ctx.check(st, whole_seconds(st)) {
                    g.garp.master_delay = d;
                }
            }
            "vrrp_garp_master_repeat" => {
                if let Some(v) = repeat(ctx, st) {
                    g.garp.master_repeat = v;
                }
            }
            "vrrp_garp_master_refresh" => {
                if let Some(d) = ctx.check(st, whole_seconds(st)) {
                    g.garp.master_refresh = d;
                }
            }
            "vrrp_garp_master_refresh_repeat" => {
                if let Some(v) = repeat(ctx, st) {
                    g.garp.master_refresh_repeat = v;
                }
            }
            "vrrp_garp_lower_prio_delay" => {
                if let Some(d) = ctx.check(st, whole_seconds(st)) {
                    p.lower_prio_delay = Some(d);
                }
            }
            "vrrp_garp_lower_prio_repeat" => {
                let r =
                    want_args(st, 1, 1).and_then(|_| parse_uint(&st.args()[0], 0, i32::MAX as u64));
                if let Some(v) = ctx.check(st, r) {
                    p.lower_prio_repeat = Some(u32::try_from(v).unwrap_or(u32::MAX));
                }
            }
            "vrrp_lower_prio_no_advert" => {
                if let Some(b) = ctx.check(st, flag(st)) {
                    g.lower_prio_no_advert = b;
                }
            }
            "vrrp_higher_prio_send_advert" => {
                if let Some(b) = ctx.check(st, flag(st)) {
                    g.higher_prio_send_advert = b;
                }
            }
            "vrrp_down_timer_adverts" => {
                let r = want_args(st, 1, 1).and_then(|_| parse_uint(&st.args()[0], 1, 100));
                if let Some(v) =
                    ctx.check(st, r.map_err(|e| format!("vrrp_down_timer_adverts: {e}")))
                {
                    g.down_timer_adverts = u32::try_from(v).unwrap_or(3);
                }
            }
            "script_user" => {
                if let Some(u) = ctx.check(st, script_user(st)) {
                    g.script_user = Some(u);
                }
            }
            "enable_script_security" => {
                if let Some(b) = ctx.check(st, flag(st)) {
                    g.enable_script_security = b;
                }
            }
            "vrrp_startup_delay" => {
                let r = want_args(st, 1, 1)
                    .and_then(|_| parse_time(&st.args()[0], 6, 0, 1_000_000_000));
                if let Some(d) = ctx.check(st, r.map_err(|e| format!("vrrp_startup_delay: {e}"))) {
                    g.startup_delay = d;
                }
            }
            "vrrp_check_unicast_src" => {
                if let Some(b) = ctx.check(st, flag(st)) {
                    g.check_unicast_src = b;
                }
            }
            "vrrpd_metrics_listen" => {
                let r = want_args(st, 1, 1).and_then(|_| {
                    st.args()[0].parse::<SocketAddr>().map_err(|_| {
                        format!(
                            "vrrpd_metrics_listen: '{}' is not ADDR:PORT (IPv6 as [ADDR]:PORT)",
                            st.args()[0]
                        )
                    })
                });
                if let Some(a) = ctx.check(st, r) {
                    g.metrics_listen = Some(a);
                }
            }
            "vrrpd_handoff_timeout" => {
                let r = want_args(st, 1, 1)
                    .and_then(|_| parse_time(&st.args()[0], 3, 0, 60_000_000))
                    .map_err(|e| format!("vrrpd_handoff_timeout: {e}"));
                if let Some(d) = ctx.check(st, r) {
                    g.handoff_timeout = Some(d);
                }
            }
            "vrrp_strict" => ctx.error(
                st,
                "vrrp_strict is not supported by vrrpd (accept mode is always on); remove it",
            ),
            _ => ctx.unknown(st, "global_defs"),
        }
    }
}

/// Applies defaults that depend on other settings.
pub(crate) fn finish(g: &mut GlobalDefs, p: &Pending) {
    g.garp.lower_prio_delay = p.lower_prio_delay.unwrap_or(g.garp.master_delay);
    g.garp.lower_prio_repeat = p.lower_prio_repeat.unwrap_or(g.garp.master_repeat);
}
