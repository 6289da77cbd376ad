//! The real dispatcher under the Juju emulator: full hook sequences, asserting status,
//! relation data, rendered files (and modes) and service calls.
mod common;

use common::*;

const VIP: [(&str, &str); 2] = [("virtual_ip", "192.0.2.250/24"), ("network_interface", "lo")];

#[test]
fn install_to_active_publish_and_idempotence() {
    let mut lab = Lab::new(2);
    let first = lab.settle();
    let units = lab.units();
    assert_eq!(units, ["keepalived/0", "keepalived/1"]);
    // The new-unit sequence ran for each subordinate and nothing is configured yet.
    let seq: Vec<&str> = first.iter().filter(|r| r.unit == "keepalived/0").map(|r| r.hook.as_str()).collect();
    assert_eq!(seq.first(), Some(&"install"), "{seq:?}");
    assert!(seq.contains(&"juju-info-relation-created") && seq.contains(&"leader-elected") && seq.contains(&"config-changed") && seq.contains(&"start"), "{seq:?}");
    for u in &units {
        assert_eq!(lab.status(u), ("blocked".into(), "Please configure virtual ips".into()));
        assert!(!lab.file(u, CONF).exists());
        assert!(!lab.active(u));
    }

    lab.config(&VIP);
    lab.settle();
    for (i, u) in units.iter().enumerate() {
        assert_eq!(lab.status(u), ("active".into(), "VIP ready".into()));
        assert_eq!(lab.mode(u, CONF), 0o600);
        assert_eq!(lab.mode(u, UNIT), 0o644);
        assert_eq!(lab.mode(u, SYSCTL), 0o644);
        assert_eq!(lab.mode(u, BIN), 0o755);
        assert_eq!(lab.read(u, BIN), WORKER_V1);
        let conf = lab.read(u, CONF);
        assert!(conf.contains("        192.0.2.250/24\n"), "{conf}");
        assert!(conf.contains("    interface lo\n"));
        assert!(conf.contains(&format!("    priority {}\n", 250 - i)), "priority from the unit number: {conf}");
        assert!(conf.contains("    nopreempt\n") && conf.contains("tcp_connect 127.0.0.1 443"));
        assert_eq!(lab.read(u, SYSCTL).lines().last(), Some("net.ipv4.ip_nonlocal_bind=1"));
        let unit = lab.read(u, UNIT);
        let root = lab.root(u);
        assert!(unit.contains(&format!("ExecStartPre={0}/usr/local/sbin/vrrpd --check-config {0}/etc/vrrpd/vrrpd.conf", root.display())), "{unit}");
        assert_eq!(lab.service_calls(u), ["daemon-reload", "enable vrrpd.service", "start vrrpd.service"]);
        assert_eq!(lab.sysctl_calls(u), [format!("-p {}", lab.file(u, SYSCTL).display())]);
        assert!(lab.active(u));
    }

    // Publish on the legacy relations: byte-identical from every unit.
    let lb = lab.juju.relate("keepalived:loadbalancer", "kubernetes-control-plane").unwrap();
    let web = lab.juju.relate("keepalived:website", "kubernetes-worker").unwrap();
    lab.settle();
    let lb0 = lab.data(lb, "keepalived/0");
    let web0 = lab.data(web, "keepalived/0");
    assert_eq!(lb0.get("public-address").map(String::as_str), Some("192.0.2.250"));
    assert_eq!(lb0.get("port").map(String::as_str), Some("443"));
    assert_eq!(web0.get("hostname").map(String::as_str), Some("192.0.2.250"));
    assert_eq!(web0.get("private-address").map(String::as_str), Some("192.0.2.250"));
    assert_eq!(web0.get("port").map(String::as_str), Some("443"));
    let pick = |b: &std::collections::BTreeMap<String, String>, keys: &[&str]| -> Vec<Option<String>> {
        keys.iter().map(|k| b.get(*k).cloned()).collect()
    };
    assert_eq!(
        pick(&lb0, &["public-address", "port"]),
        pick(&lab.data(lb, "keepalived/1"), &["public-address", "port"])
    );
    let wk = ["hostname", "private-address", "port"];
    assert_eq!(pick(&web0, &wk), pick(&lab.data(web, "keepalived/1"), &wk));

    // Peers: each unit publishes its VRRP source address.
    let m = lab.juju.model().unwrap();
    let peer_id = *m.relations.iter().find(|(_, r)| r.peer).map(|(id, _)| id).unwrap();
    assert_eq!(lab.data(peer_id, "keepalived/1").get("vrrp-ipv4").map(String::as_str), Some("127.0.0.1"));

    // Nothing changed: update-status and a leader change neither re-render nor restart.
    let conf_before = lab.read("keepalived/0", CONF);
    let mtime = std::fs::metadata(lab.file("keepalived/0", CONF)).unwrap().modified().unwrap();
    lab.juju.request_update_status(None).unwrap();
    lab.settle();
    lab.juju.set_leader("keepalived", "keepalived/1").unwrap();
    let recs = lab.settle();
    assert!(recs.iter().any(|r| r.hook == "leader-elected" && r.unit == "keepalived/1"), "{:?}", recs.iter().map(|r| &r.hook).collect::<Vec<_>>());
    for u in &units {
        assert_eq!(lab.service_calls(u), ["daemon-reload", "enable vrrpd.service", "start vrrpd.service"], "{u}");
        assert_eq!(lab.status(u).0, "active");
    }
    assert_eq!(lab.read("keepalived/0", CONF), conf_before);
    assert_eq!(std::fs::metadata(lab.file("keepalived/0", CONF)).unwrap().modified().unwrap(), mtime);
}
