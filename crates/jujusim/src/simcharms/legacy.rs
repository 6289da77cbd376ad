//! `charm-keepalived`: the original Python (reactive) charm, charmed-kubernetes/charm-keepalived
//! at 768128c, as far as its host sees it, so a model can `juju refresh` from it to the packed
//! charm. What it does there, handler by handler (`src/reactive/keepalived.py`):
//!
//! - `install_keepalived_package` (when not installed): `apt install keepalived net-tools`,
//!   which installs Debian's `keepalived.service` and enables it (its start is skipped by
//!   `ConditionFileNotEmpty` until a config exists). Status `maintenance` "Installing keepalived".
//! - `configure_keepalived_service` (installed, not started; the flag is cleared by
//!   `config.changed` and `upgrade-charm`): `blocked` "Please configure virtual ips" without a
//!   VIP; else renders `templates/keepalived.conf` to `/etc/keepalived/keepalived.conf` (0644)
//!   with `is_leader` *at render time*, the VIP verbatim, `router_id`, `port`,
//!   `healthcheck_interval` and the default route's interface (`route`, last column of the
//!   `default` line), `service_restart("keepalived")`, writes
//!   `/etc/sysctl.d/50-keepalived.conf` (`net.ipv4.ip_nonlocal_bind=1`), `active` "VIP ready".
//!
//! In the simulator `/` is the machine root (`KEEPALIVED_CHARM_ROOT`), and the unit is Debian's
//! `keepalived.service` with the daemon pointed at that root's config and pid files (several
//! machines share one file system). Not simulated: relation publication (`website`,
//! `loadbalancer`), `procps` restart, series upgrade.

use super::tools;
use crate::error::{Error, Result};

/// metadata.yaml (the original charm's endpoints: no peer relation).
pub const METADATA: &str = "name: keepalived
summary: Simulator stand-in for the original Python charm-keepalived (apt keepalived 2.2.7).
description: Built into jujusim, to refresh from. Runs the distribution's keepalived daemon.
subordinate: true
requires:
  juju-info:
    scope: container
    interface: juju-info
  lb-sink:
    interface: http
provides:
  loadbalancer:
    interface: public-address
  website:
    interface: http
";

/// config.yaml (the original six options and defaults).
pub const CONFIG: &str = "options:
  virtual_ip:
    type: string
    default: \"\"
    description: Virtual IP/netmask that will be moved between instances, e.g. 10.1.2.3/16
  vip_hostname:
    type: string
    default: \"\"
    description: A VIP hostname to pass to clients.
  port:
    type: int
    default: 443
    description: A port to pass to clients.
  router_id:
    type: int
    default: 23
    description: Virtual router identifier (1-255), unique within the network segment.
  network_interface:
    type: string
    default: \"\"
    description: Network interface name for the VIP; empty means the default route's.
  healthcheck_interval:
    type: int
    default: 2
    description: vrrp_script-based health-check interval, in seconds.
";

/// The distribution's daemon.
pub const KEEPALIVED: &str = "/usr/sbin/keepalived";
/// Its systemd unit.
pub const SERVICE: &str = "keepalived.service";

/// What the original template renders for this context (the template's text and layout; its
/// comment lines left out).
pub fn render_config(
    is_leader: bool,
    virtual_ip: &str,
    network_interface: &str,
    router_id: i64,
    service_port: i64,
    healthcheck_interval: i64,
) -> String {
    let (state, priority) = if is_leader {
        ("MASTER", 101)
    } else {
        ("BACKUP", 100)
    };
    format!(
        "vrrp_script chk_svc_port {{\n    script \"/bin/bash -c '</dev/tcp/127.0.0.1/{service_port}'\"\n    interval {healthcheck_interval}\n    weight 2\n}}\n\
         vrrp_instance VI_1 {{\n    interface {network_interface}\n    state {state}\n    priority {priority}\n    virtual_router_id {router_id}\n\n    virtual_ipaddress {{\n        {virtual_ip}\n    }}\n\n    track_script {{\n        chk_svc_port\n    }}\n}}"
    )
}

/// Debian 12's `keepalived.service` (keepalived 1:2.2.7-1) with the paths below `root`.
pub fn service_unit(root: &std::path::Path) -> String {
    let r = root.display();
    format!(
        "[Unit]\nDescription=Keepalive Daemon (LVS and VRRP)\nAfter=network-online.target\nWants=network-online.target\n\
         ConditionFileNotEmpty={r}/etc/keepalived/keepalived.conf\n\n[Service]\nType=notify\n\
         ExecStart={KEEPALIVED} --dont-fork --log-console --log-detail -f {r}/etc/keepalived/keepalived.conf -p {r}/run/keepalived.pid -r {r}/run/keepalived_vrrp.pid -c {r}/run/keepalived_checkers.pid\n\
         ExecReload=/bin/kill -HUP $MAINPID\n\n[Install]\nWantedBy=multi-user.target\n"
    )
}

/// The interface of the default route (what `route` prints in the `default` line), from
/// `/proc/net/route` of the hook's namespace.
fn default_route_interface() -> Option<String> {
    let table = std::fs::read_to_string("/proc/net/route").ok()?;
    table.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.len() > 2 && f[1] == "00000000").then(|| f[0].to_string())
    })
}

fn systemctl(args: &[&str]) -> Result<std::process::Output> {
    std::process::Command::new("systemctl")
        .args(args)
        .output()
        .map_err(|e| Error::Invalid(format!("systemctl: {e}")))
}

fn flag(name: &str) -> std::path::PathBuf {
    tools::root()
        .join("var/lib/charm-keepalived/flags")
        .join(name)
}

fn set_flag(name: &str) -> Result<()> {
    crate::charmpkg::write_atomic(&flag(name), b"")
}

fn clear_flag(name: &str) {
    let _ = std::fs::remove_file(flag(name));
}

/// Runs one hook: the hook's own handlers, then the flag-driven ones, like charms.reactive.
pub fn hook(name: &str) -> Result<()> {
    if matches!(name, "config-changed" | "upgrade-charm") {
        clear_flag("keepalived.started");
    }
    let root = tools::root();
    if !flag("keepalived.package.installed").exists() {
        tools::status_set("maintenance", "Installing keepalived")?;
        if !std::path::Path::new(KEEPALIVED).exists() {
            return Err(Error::Invalid(format!(
                "{KEEPALIVED} is missing (apt-get install keepalived)"
            )));
        }
        // A real host has /run (keepalived writes its pid files there).
        let run = root.join("run");
        std::fs::create_dir_all(&run).map_err(|e| Error::io(&run, e))?;
        let unit = root.join("etc/systemd/system").join(SERVICE);
        crate::charmpkg::write_atomic(&unit, service_unit(&root).as_bytes())?;
        let _ = systemctl(&["daemon-reload"]);
        let _ = systemctl(&["enable", SERVICE]);
        set_flag("keepalived.package.installed")?;
    }
    if flag("keepalived.started").exists() || name == "stop" || name == "remove" {
        return Ok(());
    }
    let cfg = tools::config()?;
    let vip = tools::config_str(&cfg, "virtual_ip");
    if vip.is_empty() {
        return tools::status_set("blocked", "Please configure virtual ips");
    }
    let mut iface = tools::config_str(&cfg, "network_interface");
    if iface.is_empty() {
        iface = default_route_interface().unwrap_or_default();
    }
    let int = |k: &str, d: i64| cfg.get(k).and_then(|v| v.as_i64()).unwrap_or(d);
    let leader = tools::tool("is-leader", &["--format=json"], None)?.trim() == "true";
    let text = render_config(
        leader,
        &vip,
        &iface,
        int("router_id", 23),
        int("port", 443),
        int("healthcheck_interval", 2),
    );
    crate::charmpkg::write_atomic(
        &root.join("etc/keepalived/keepalived.conf"),
        text.as_bytes(),
    )?;
    let o = systemctl(&["restart", SERVICE])?;
    if !o.status.success() {
        return Err(Error::Invalid(format!(
            "service_restart(keepalived): {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )));
    }
    crate::charmpkg::write_atomic(
        &root.join("etc/sysctl.d/50-keepalived.conf"),
        b"\nnet.ipv4.ip_nonlocal_bind=1\n",
    )?;
    tools::status_set("active", "VIP ready")?;
    set_flag("keepalived.started")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rendering matches the template for a leader and a non-leader with the defaults.
    #[test]
    fn renders_like_the_template() {
        let m = render_config(true, "192.0.2.250/24", "eth0", 23, 443, 2);
        assert!(m.starts_with("vrrp_script chk_svc_port {\n    script \"/bin/bash -c '</dev/tcp/127.0.0.1/443'\"\n    interval 2\n    weight 2\n}\n"));
        assert!(m.contains("    interface eth0\n    state MASTER\n    priority 101\n    virtual_router_id 23\n\n    virtual_ipaddress {\n        192.0.2.250/24\n    }\n"));
        let b = render_config(false, "192.0.2.250/24", "eth0", 23, 443, 2);
        assert!(b.contains("    state BACKUP\n    priority 100\n"));
        assert!(!b.contains("vrrp_version") && !b.contains("advert_int") && !b.contains("auth"));
    }

    #[test]
    fn the_unit_is_debians_with_rooted_paths() {
        let u = service_unit(std::path::Path::new("/m/0/root"));
        assert!(u.contains("ExecStart=/usr/sbin/keepalived --dont-fork "));
        assert!(u.contains(" -f /m/0/root/etc/keepalived/keepalived.conf "));
        assert!(u.contains("ExecReload=/bin/kill -HUP $MAINPID\n"));
        crate::unitfile::parse(&u).unwrap();
    }
}
