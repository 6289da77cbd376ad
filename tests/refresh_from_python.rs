//! `juju refresh` from the original Python charm (charmed-kubernetes/charm-keepalived) under the
//! Juju emulator, with the fake systemctl: its apt `keepalived.service` is stopped and disabled
//! (not removed, /etc/keepalived kept) once the worker runs, logged, named once in the
//! status, and the worker speaks VRRPv2 too. The real daemons and the VIP: see
//! crates/jujusim/tests/refresh_e2e.rs.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::*;
use std::path::{Path, PathBuf};

/// What the original charm leaves on a host, as far as this charm can see it: the apt
/// package's `keepalived.service` (enabled by the package, restarted by the charm once
/// `virtual_ip` is set) and `/etc/keepalived/keepalived.conf`. Its reactive handlers in shell:
/// install → `apt install keepalived` (the unit, enabled); config → render, restart.
const OLD_DISPATCH: &str = r#"#!/bin/sh
set -e
r=${KEEPALIVED_CHARM_ROOT:?}
case ${JUJU_DISPATCH_PATH##*/} in
  install)
    mkdir -p "$r/etc/systemd/system" "$r/etc/keepalived"
    printf '[Service]\nType=notify\nExecStart=/usr/sbin/keepalived --dont-fork\n' > "$r/etc/systemd/system/keepalived.service"
    systemctl enable keepalived.service ;;
  config-changed|leader-elected|leader-settings-changed)
    vip=$(config-get virtual_ip)
    if [ -z "$vip" ]; then status-set blocked "Please configure virtual ips"; exit 0; fi
    printf 'vrrp_instance VI_1 {\n    virtual_ipaddress {\n        %s\n    }\n}\n' "$vip" > "$r/etc/keepalived/keepalived.conf"
    systemctl restart keepalived.service
    status-set active "VIP ready" ;;
esac
"#;

/// The original charm's metadata (no peer endpoint) and its six options.
fn old_charm(lab_dir: &Path) -> PathBuf {
    let dir = lab_dir.join("old-charm");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("metadata.yaml"),
        "name: keepalived\nsummary: s\ndescription: d\nsubordinate: true\nrequires:\n  juju-info:\n    scope: container\n    interface: juju-info\n  lb-sink:\n    interface: http\nprovides:\n  loadbalancer:\n    interface: public-address\n  website:\n    interface: http\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("config.yaml"),
        "options:\n  virtual_ip: {type: string, default: \"\"}\n  vip_hostname: {type: string, default: \"\"}\n  port: {type: int, default: 443}\n  router_id: {type: int, default: 23}\n  network_interface: {type: string, default: \"\"}\n  healthcheck_interval: {type: int, default: 2}\n",
    )
    .unwrap();
    write_exe(&dir.join("dispatch"), OLD_DISPATCH);
    dir
}

const OLD_CONF: &str = "etc/keepalived/keepalived.conf";
const LEGACY_ACTIVE: &str = "fake-systemd/keepalived.service.active";
const LEGACY_ENABLED: &str = "fake-systemd/keepalived.service.enabled";
const NOTE: &str =
    "replaced keepalived.service of the previous charm (stopped, disabled; VRRPv2-compatible)";

#[test]
fn refresh_starts_the_worker_then_stops_and_disables_the_old_daemon() {
    let mut lab = Lab::with_keepalived(2, old_charm);
    lab.settle();
    lab.config(&[
        ("virtual_ip", "192.0.2.250/24"),
        ("network_interface", "lo"),
    ]);
    lab.settle();
    let units = lab.units();
    assert_eq!(units.len(), 2);
    let mut old_conf = Vec::new();
    for u in &units {
        assert!(lab.file(u, LEGACY_ACTIVE).exists() && lab.file(u, LEGACY_ENABLED).exists());
        assert_eq!(lab.status(u), ("active".into(), "VIP ready".into()));
        old_conf.push(lab.read(u, OLD_CONF));
    }
    let before: Vec<usize> = units.iter().map(|u| lab.service_calls(u).len()).collect();

    let new = make_charm(&lab.dir.path().join("charm"), WORKER_V1);
    lab.juju.upgrade_charm("keepalived", &new).unwrap();
    let recs = lab.settle();
    for (i, u) in units.iter().enumerate() {
        let hooks: Vec<&str> = recs
            .iter()
            .filter(|r| &r.unit == u)
            .map(|r| r.hook.as_str())
            .collect();
        assert_eq!(hooks.first(), Some(&"upgrade-charm"), "{hooks:?}");
        // Stopped and disabled once, in the first hook, right after the worker started.
        assert_eq!(
            lab.service_calls(u)[before[i]..],
            [
                "daemon-reload",
                "enable vrrpd.service",
                "enable vrrpd-status-refresh.path",
                "start vrrpd-status-refresh.path",
                "start vrrpd.service",
                "stop keepalived.service",
                "disable keepalived.service",
            ],
            "{u}"
        );
        assert!(!lab.file(u, LEGACY_ACTIVE).exists() && !lab.file(u, LEGACY_ENABLED).exists());
        // Not removed: its unit file and /etc/keepalived stay as they were.
        assert!(lab
            .file(u, "etc/systemd/system/keepalived.service")
            .exists());
        assert_eq!(lab.read(u, OLD_CONF), old_conf[i]);
        // Logged (in the hook that did it), named once in the status.
        let logged: Vec<&str> = recs
            .iter()
            .filter(|r| &r.unit == u)
            .flat_map(|r| r.logs.iter())
            .map(|l| l.message.as_str())
            .filter(|m| m.contains("keepalived.service"))
            .collect();
        assert_eq!(
            logged,
            ["stopped and disabled keepalived.service (the previous charm's keepalived daemon, replaced by vrrpd); not removed, /etc/keepalived left as it is"],
            "{u}"
        );
        let (level, msg) = lab.status(u);
        assert_eq!(level, "active");
        assert!(
            msg.starts_with(&format!("VIP ready (worker starting); {NOTE}")),
            "{msg}"
        );
        assert_eq!(msg.matches("keepalived.service").count(), 1, "{msg}");
        // The worker speaks VRRPv2 too while old keepalived units may remain.
        let conf = lab.read(u, CONF);
        assert!(conf.contains("    version 3\n") && conf.contains("    vrrpd_v2_compat\n"));
        // ... on a fixed interval: keepalived (VRRPv2) members need the same one in every
        // advert, and the worker refuses an adaptive v2-compatible instance (issue 13).
        assert!(
            conf.contains("    advert_int 0.1\n") && !conf.contains("vrrpd_adaptive_interval"),
            "{conf}"
        );
        assert!(lab
            .file(u, "var/lib/keepalived-charm/replaced-keepalived-service")
            .exists());
    }
    // Juju added the peer relation the old charm did not have; each unit says it replaced
    // the old daemon there.
    let m = lab.juju.model().unwrap();
    let peer = m
        .relations
        .values()
        .find(|r| r.peer && r.ends[0].app == "keepalived")
        .expect("peer relation created by the refresh")
        .id;
    for u in &units {
        assert_eq!(
            lab.data(peer, u)
                .get("replaced-keepalived")
                .map(String::as_str),
            Some("1")
        );
    }

    // Later hooks find nothing to stop; the note stays while VRRPv2 compatibility is on, and
    // so does the fixed interval (a subordinate cannot tell when the last keepalived is gone).
    let n = lab.service_calls(&units[0]).len();
    lab.config(&[("port", "6443")]);
    lab.settle();
    assert_eq!(lab.service_calls(&units[0])[n..], ["reload vrrpd.service"]);
    assert!(lab.status(&units[0]).1.contains(NOTE));
    let conf = lab.read(&units[0], CONF);
    assert!(conf.contains("    advert_int 0.1\n") && !conf.contains("vrrpd_adaptive_interval"));
}

#[test]
fn an_invalid_config_after_refresh_leaves_the_old_daemon_serving() {
    let mut lab = Lab::with_keepalived(1, old_charm);
    lab.settle();
    lab.config(&[
        ("virtual_ip", "192.0.2.250/24"),
        ("network_interface", "eth-missing"),
    ]);
    lab.settle();
    let u = &lab.units()[0];
    assert!(lab.file(u, LEGACY_ACTIVE).exists());
    let new = make_charm(&lab.dir.path().join("charm"), WORKER_V1);
    lab.juju.upgrade_charm("keepalived", &new).unwrap();
    lab.settle();
    let (level, msg) = lab.status(u);
    assert_eq!(level, "blocked");
    assert_eq!(
        msg,
        "Invalid config: network_interface=\"eth-missing\": no such interface on this machine; keepalived.service of the previous charm left running"
    );
    assert!(lab.file(u, LEGACY_ACTIVE).exists() && lab.file(u, LEGACY_ENABLED).exists());
    assert!(!lab.active(u));
    // Its peers learn that keepalived still runs here (they keep a fixed advert interval).
    let m = lab.juju.model().unwrap();
    let peer = m
        .relations
        .values()
        .find(|r| r.peer && r.ends[0].app == "keepalived")
        .expect("peer relation created by the refresh")
        .id;
    let data = lab.data(peer, u);
    assert_eq!(
        (data.get("vrrpd-charm"), data.get("replaced-keepalived")),
        (Some(&"1".to_string()), Some(&"1".to_string()))
    );
    // Fixed config: replaced, worker started.
    lab.config(&[("network_interface", "lo")]);
    lab.settle();
    assert!(!lab.file(u, LEGACY_ACTIVE).exists());
    assert!(lab.active(u));
    let calls = lab.service_calls(u);
    let stop = calls.iter().position(|c| c == "stop keepalived.service");
    let start = calls.iter().position(|c| c == "start vrrpd.service");
    assert!(start.is_some() && start < stop, "{calls:?}");
}
