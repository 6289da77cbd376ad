//! The configurations under test: (a) one keepalived.conf both daemons accept, (b) each charm's
//! default rendering (the old charm's template for keepalived, our charm's renderer for vrrpd).

use std::net::Ipv4Addr;
use std::time::Duration;

use anyhow::anyhow;
use serde::Serialize;

use crate::daemon::DaemonKind;

/// The VIP of every trial.
pub const VIP: &str = "192.0.2.100/24";
/// The VRID of every trial (the charm default).
pub const VRID: u8 = 23;
/// The load balancer port.
pub const LB_PORT: u16 = 443;

/// Which configuration a trial uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ConfigKind {
    /// (a) The same keepalived.conf for both daemons: v3, advert_int 0.03, `vrrp_script` TCP
    /// check of the LB port (bash /dev/tcp), interval 1, weight 0.
    Same,
    /// (b) Each charm's default rendering: the old charm's template (v2, 1 s, script every 2 s,
    /// weight 2, priorities 101/100, `state MASTER` on the leader) for keepalived; our charm's
    /// `render::worker_config` with default config for vrrpd.
    Charm,
}

impl ConfigKind {
    /// Short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            ConfigKind::Same => "a: same keepalived.conf",
            ConfigKind::Charm => "b: charm defaults",
        }
    }

    /// How long both daemons run together before the fault: long enough for every check to have
    /// run at least twice (keepalived applies script weights only after a result).
    pub fn settle(self) -> Duration {
        match self {
            ConfigKind::Same => Duration::from_millis(2500),
            ConfigKind::Charm => Duration::from_millis(4500),
        }
    }

    /// Upper bound on waiting for the takeover and the client's recovery after the fault.
    pub fn failover_timeout(self) -> Duration {
        match self {
            ConfigKind::Same => Duration::from_secs(6),
            ConfigKind::Charm => Duration::from_secs(15),
        }
    }
}

/// The check command both daemons run in configuration (a) and the old charm runs in (b).
fn bash_check() -> String {
    format!("/bin/bash -c '</dev/tcp/127.0.0.1/{LB_PORT}'")
}

/// The advert interval of configuration (a): the one our master settles on at the charm's
/// defaults (`vrrpd_adaptive_interval 0.03`), so the same-config rows show keepalived at the
/// interval we run.
pub const SAME_ADVERT_INT: &str = "0.03";

/// The `vrrp_rt_priority` of the raised-priority stress case when the charm renders none.
pub const RT_PRIORITY: u8 = 50;

/// The `vrrp_rt_priority` the charm renders at its defaults (the raised-priority stress case
/// runs both daemons at it), [`RT_PRIORITY`] if it renders none.
pub fn rt_priority() -> u8 {
    our_charm(0, "eth0", Ipv4Addr::new(192, 0, 2, 10))
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.trim().strip_prefix("vrrp_rt_priority "))
                .and_then(|p| p.trim().parse().ok())
        })
        .unwrap_or(RT_PRIORITY)
}

/// Configuration (a): identical text for both daemons (`unit` 0 is the intended master).
pub fn same(unit: u32, iface: &str) -> String {
    same_with(unit, iface, None)
}

/// Configuration (a), with `vrrp_rt_priority rt` in `global_defs` if given.
pub fn same_with(unit: u32, iface: &str, rt: Option<u8>) -> String {
    let priority = if unit == 0 { 150 } else { 100 };
    let rt = rt
        .map(|p| format!("    vrrp_rt_priority {p}\n"))
        .unwrap_or_default();
    format!(
        "global_defs {{\n    router_id lb{unit}\n    vrrp_version 3\n    script_user root\n    enable_script_security\n{rt}}}\n\
         vrrp_script chk_lb {{\n    script \"{check}\"\n    interval 1\n    timeout 1\n    rise 1\n    fall 1\n    weight 0\n}}\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface {iface}\n    virtual_router_id {VRID}\n    priority {priority}\n    advert_int {SAME_ADVERT_INT}\n    virtual_ipaddress {{\n        {VIP} dev {iface}\n    }}\n    track_script {{\n        chk_lb\n    }}\n}}\n",
        check = bash_check(),
    )
}

/// The old charm's `keepalived.conf` template (charmed-kubernetes/charm-keepalived
/// `src/templates/keepalived.conf`, reproduced from the project docs) with its defaults; unit 0
/// is the leader at render time.
pub fn old_charm(unit: u32, iface: &str) -> String {
    let leader = unit == 0;
    format!(
        "vrrp_script chk_svc_port {{\n    script \"{check}\"\n    interval 2\n    weight 2\n}}\n\
         vrrp_instance VI_1 {{\n    interface {iface}\n    state {state}\n    priority {priority}\n    virtual_router_id {VRID}\n\n    virtual_ipaddress {{\n        {VIP}\n    }}\n\n    track_script {{\n        chk_svc_port\n    }}\n}}\n",
        check = bash_check(),
        state = if leader { "MASTER" } else { "BACKUP" },
        priority = if leader { 101 } else { 100 },
    )
}

/// Our charm's default rendering for unit `keepalived/<unit>` whose interface `iface` has `addr`:
/// the charm library's own config parser (defaults of config.yaml, `virtual_ip` set), spec
/// builder and template renderer.
pub fn our_charm(unit: u32, iface: &str, addr: Ipv4Addr) -> anyhow::Result<String> {
    use keepalived::charm::config::CharmConfig;
    use keepalived::charm::desired::{worker_spec, Network};
    let mut map = serde_json::Map::new();
    map.insert("virtual_ip".into(), serde_json::Value::String(VIP.into()));
    let cfg = CharmConfig::from_json(&map).map_err(|e| anyhow!("charm config: {e:?}"))?;
    let net = Network {
        interface: iface.to_string(),
        src_v4: Some(addr),
        src_v6: None,
    };
    let spec = worker_spec(&cfg, &net, &format!("keepalived/{unit}"), unit, None);
    Ok(keepalived::charm::render::worker_config(&spec)?)
}

/// The configuration `daemon` runs on unit `unit` (0 = intended master) in `kind`.
pub fn render(
    kind: ConfigKind,
    daemon: DaemonKind,
    unit: u32,
    iface: &str,
    addr: Ipv4Addr,
) -> anyhow::Result<String> {
    Ok(match (kind, daemon) {
        (ConfigKind::Same, _) => same(unit, iface),
        (ConfigKind::Charm, DaemonKind::Keepalived) => old_charm(unit, iface),
        (ConfigKind::Charm, DaemonKind::Vrrpd) => our_charm(unit, iface, addr)?,
    })
}

/// `n` instances (VRIDs 1..=n, one VIP each from 192.0.2.101 up) on one interface, v3 at 100 ms,
/// no checks: the same text for both daemons. `n` ≤ 150.
pub fn many(n: u8, iface: &str) -> String {
    let mut s = "global_defs {\n    router_id many\n    vrrp_version 3\n}\n".to_string();
    for i in 1..=n.min(150) {
        s += &format!(
            "vrrp_instance VI_{i} {{\n    state BACKUP\n    interface {iface}\n    virtual_router_id {i}\n    priority 150\n    advert_int 0.1\n    virtual_ipaddress {{\n        192.0.2.{}/24 dev {iface}\n    }}\n}}\n",
            100 + u32::from(i)
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_charm_renders_vip_and_priorities() {
        let a = our_charm(0, "eth0", Ipv4Addr::new(192, 0, 2, 10)).unwrap();
        let b = our_charm(1, "eth0", Ipv4Addr::new(192, 0, 2, 11)).unwrap();
        assert!(a.contains(VIP), "{a}");
        assert!(a.contains("interface eth0"), "{a}");
        let prio = |s: &str| {
            s.lines()
                .find_map(|l| l.trim().strip_prefix("priority "))
                .and_then(|p| p.trim().parse::<u8>().ok())
                .unwrap()
        };
        assert!(prio(&a) > prio(&b));
    }

    /// Configuration (b) is the charm's own rendering at its defaults (`advert_interval: 0`,
    /// VRRPv3, no peer that may run keepalived): the automatic interval between 0.03 s and
    /// 0.1 s and the raised scheduling priority, which the stress case uses too.
    #[test]
    fn our_charm_is_the_charms_automatic_default() {
        let a = our_charm(0, "eth0", Ipv4Addr::new(192, 0, 2, 10)).unwrap();
        let lines: Vec<&str> = a.lines().map(str::trim).collect();
        assert!(lines.contains(&"advert_int 0.1"), "{a}");
        assert!(lines.contains(&"vrrpd_adaptive_interval 0.03"), "{a}");
        let rt = format!("vrrp_rt_priority {}", rt_priority());
        assert!(lines.contains(&rt.as_str()), "{a}");
        assert!((1..=99).contains(&rt_priority()));
    }

    #[test]
    fn old_charm_matches_the_template_defaults() {
        let m = old_charm(0, "eth0");
        assert!(m.contains("state MASTER") && m.contains("priority 101"));
        assert!(m.contains("interval 2") && m.contains("weight 2"));
        assert!(!m.contains("advert_int"));
        let b = old_charm(1, "eth0");
        assert!(b.contains("state BACKUP") && b.contains("priority 100"));
    }

    #[test]
    fn many_has_n_instances() {
        let s = many(100, "eth0");
        assert_eq!(s.matches("vrrp_instance").count(), 100);
        assert!(s.contains("192.0.2.200/24"));
    }
}
