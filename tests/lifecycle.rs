//! The real dispatcher under the Juju emulator: full hook sequences, asserting status,
//! relation data, rendered files (and modes) and service calls.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::*;

/// The unit is active, `VIP ready (<role>)`, plus the certificate check's note (nothing
/// serves TLS on the port in these tests, see tests/certificate.rs for that).
fn assert_ready(lab: &Lab, unit: &str, role: &str) {
    let (level, msg) = lab.status(unit);
    assert_eq!(level, "active", "{msg}");
    let want = format!("VIP ready ({role})");
    assert!(
        msg == want || msg.starts_with(&format!("{want}; LB not answering TLS on 127.0.0.1:")),
        "{msg}"
    );
}

const VIP: [(&str, &str); 2] = [
    ("virtual_ip", "192.0.2.250/24"),
    ("network_interface", "lo"),
];

#[test]
fn install_to_active_publish_and_idempotence() {
    let mut lab = Lab::new(2);
    // The new-unit sequence ran for each subordinate and nothing is configured yet.
    let (_, units) = lab.settle_new_units();
    assert_eq!(units, ["keepalived/0", "keepalived/1"]);

    lab.config(&VIP);
    lab.settle();
    for (i, u) in units.iter().enumerate() {
        assert_ready(&lab, u, "worker starting");
        assert_eq!(lab.mode(u, CONF), 0o600);
        assert_eq!(lab.mode(u, UNIT), 0o644);
        assert_eq!(lab.mode(u, SYSCTL), 0o644);
        assert_eq!(lab.mode(u, BIN), 0o755);
        assert_eq!(lab.read(u, BIN), WORKER_V1);
        let conf = lab.read(u, CONF);
        assert!(conf.contains("        192.0.2.250/24\n"), "{conf}");
        assert!(conf.contains("    interface lo\n"));
        assert!(
            conf.contains(&format!("    priority {}\n", 250 - 10 * i)),
            "priority from the unit number: {conf}"
        );
        assert!(conf.contains("    nopreempt\n") && conf.contains("tcp_connect 127.0.0.1 443"));
        // Issue 13: both units are this charm's (each published it in its first peer hook), so
        // the first rendering is already the automatic interval: no reload follows.
        assert!(
            conf.contains("    advert_int 0.1\n")
                && conf.contains("    vrrpd_adaptive_interval 0.03\n")
                && conf.contains("    vrrp_rt_priority 50\n"),
            "{conf}"
        );
        assert_eq!(
            lab.read(u, SYSCTL).lines().last(),
            Some("net.ipv4.ip_nonlocal_bind=1")
        );
        let unit = lab.read(u, UNIT);
        let root = lab.root(u);
        assert!(
            unit.contains(&format!(
                "ExecStartPre={0}/usr/local/sbin/vrrpd --check-config {0}/etc/vrrpd/vrrpd.conf",
                root.display()
            )),
            "{unit}"
        );
        assert_eq!(
            lab.service_calls(u),
            [
                "daemon-reload",
                "enable vrrpd.service",
                "enable vrrpd-status-refresh.path",
                "start vrrpd-status-refresh.path",
                "start vrrpd.service"
            ]
        );
        assert_eq!(
            lab.sysctl_calls(u),
            [format!("-p {}", lab.file(u, SYSCTL).display())]
        );
        assert!(lab.active(u));
    }

    // Publish on the legacy relations: byte-identical from every unit.
    let (lb, web) = lab.relate_consumers();
    let lb0 = lab.data(lb, "keepalived/0");
    let web0 = lab.data(web, "keepalived/0");
    assert_eq!(
        lb0.get("public-address").map(String::as_str),
        Some("192.0.2.250")
    );
    assert_eq!(lb0.get("port").map(String::as_str), Some("443"));
    assert_eq!(
        web0.get("hostname").map(String::as_str),
        Some("192.0.2.250")
    );
    assert_eq!(
        web0.get("private-address").map(String::as_str),
        Some("192.0.2.250")
    );
    assert_eq!(web0.get("port").map(String::as_str), Some("443"));
    let pick = |b: &std::collections::BTreeMap<String, String>,
                keys: &[&str]|
     -> Vec<Option<String>> { keys.iter().map(|k| b.get(*k).cloned()).collect() };
    assert_eq!(
        pick(&lb0, &["public-address", "port"]),
        pick(&lab.data(lb, "keepalived/1"), &["public-address", "port"])
    );
    let wk = ["hostname", "private-address", "port"];
    assert_eq!(pick(&web0, &wk), pick(&lab.data(web, "keepalived/1"), &wk));

    // Peers: each unit publishes its VRRP source address.
    let m = lab.juju.model().unwrap();
    let peer_id = *m
        .relations
        .iter()
        .find(|(_, r)| r.peer)
        .map(|(id, _)| id)
        .unwrap();
    assert_eq!(
        lab.data(peer_id, "keepalived/1")
            .get("vrrp-ipv4")
            .map(String::as_str),
        Some("127.0.0.1")
    );

    // Nothing changed: update-status and a leader change neither re-render nor restart.
    let conf_before = lab.read("keepalived/0", CONF);
    let mtime = std::fs::metadata(lab.file("keepalived/0", CONF))
        .unwrap()
        .modified()
        .unwrap();
    lab.juju.request_update_status(None).unwrap();
    lab.settle();
    lab.juju.set_leader("keepalived", "keepalived/1").unwrap();
    let recs = lab.settle();
    assert!(
        recs.iter()
            .any(|r| r.hook == "leader-elected" && r.unit == "keepalived/1"),
        "{:?}",
        recs.iter().map(|r| &r.hook).collect::<Vec<_>>()
    );
    for u in &units {
        assert_eq!(
            lab.service_calls(u),
            [
                "daemon-reload",
                "enable vrrpd.service",
                "enable vrrpd-status-refresh.path",
                "start vrrpd-status-refresh.path",
                "start vrrpd.service"
            ],
            "{u}"
        );
        assert_eq!(lab.status(u).0, "active");
    }
    assert_eq!(lab.read("keepalived/0", CONF), conf_before);
    assert_eq!(
        std::fs::metadata(lab.file("keepalived/0", CONF))
            .unwrap()
            .modified()
            .unwrap(),
        mtime
    );
}

/// A lab with the VIP configured, both legacy relations related and everything settled.
fn configured() -> (Lab, u64, u64) {
    let mut lab = Lab::new(2);
    lab.config(&VIP);
    let (lb, web) = lab.relate_consumers();
    (lab, lb, web)
}

#[test]
fn invalid_config_changes_nothing_then_changes_apply_and_emptying_clears() {
    let (mut lab, lb, web) = configured();
    let u = "keepalived/0";
    let conf = lab.read(u, CONF);
    let calls = lab.service_calls(u);
    let (lbd, webd) = (lab.data(lb, u), lab.data(web, u));

    lab.config(&[("virtual_ip", "192.0.2.250/33")]);
    lab.settle();
    assert_eq!(
        lab.status(u),
        ("blocked".into(), r#"Invalid config: virtual_ip="192.0.2.250/33": prefix length 33 is out of range 1..32 for ipv4"#.into())
    );
    // Juju's config-changed commit put the unit's own address into website's private-address
    // (it does that on every config-changed); nothing else moved.
    let mut juju_rewrite = webd.clone();
    juju_rewrite.insert("private-address".into(), webd["ingress-address"].clone());
    assert_eq!(
        (lab.data(lb, u), lab.data(web, u)),
        (lbd.clone(), juju_rewrite)
    );
    lab.config(&[
        ("virtual_ip", "192.0.2.250/24"),
        ("network_interface", "nosuchif0"),
    ]);
    lab.settle();
    assert_eq!(
        lab.status(u),
        (
            "blocked".into(),
            r#"Invalid config: network_interface="nosuchif0": no such interface on this machine"#
                .into()
        )
    );
    assert_eq!(lab.read(u, CONF), conf, "the running config stays");
    assert_eq!(lab.service_calls(u), calls, "no service calls");
    assert!(lab.active(u));
    // The next hook, still holding, put the VIP back (a changed value wins over Juju's).
    assert_eq!(
        (lab.data(lb, u), lab.data(web, u)),
        (lbd, webd),
        "relation data stays"
    );

    // A real change: one reload (the worker applies it in place, make-before-break where an
    // instance must be replaced; no restart that would move the VIP), republish.
    lab.config(&[
        ("network_interface", "lo"),
        ("port", "6443"),
        ("vip_hostname", "api.example.com"),
    ]);
    lab.settle();
    assert_ready(&lab, u, "worker starting");
    assert_eq!(
        lab.service_calls(u).last().map(String::as_str),
        Some("reload vrrpd.service")
    );
    assert_eq!(lab.service_calls(u).len(), calls.len() + 1);
    assert!(lab.active(u));
    assert!(lab.read(u, CONF).contains("tcp_connect 127.0.0.1 6443"));
    assert_eq!(
        lab.data(lb, u).get("port").map(String::as_str),
        Some("6443")
    );
    assert_eq!(
        lab.data(web, u).get("hostname").map(String::as_str),
        Some("api.example.com")
    );

    // Emptied: blocked, stopped and disabled, our keys cleared (Juju's own keys stay).
    lab.config(&[("virtual_ip", "")]);
    lab.settle();
    for u in lab.units() {
        assert_eq!(
            lab.status(&u),
            ("blocked".into(), "Please configure virtual ips".into())
        );
        assert!(!lab.active(&u));
        let tail: Vec<String> = lab.service_calls(&u).into_iter().rev().take(2).collect();
        assert_eq!(tail, ["disable vrrpd.service", "stop vrrpd.service"]);
        let l = lab.data(lb, &u);
        assert!(
            !l.contains_key("public-address") && !l.contains_key("port"),
            "{l:?}"
        );
        let w = lab.data(web, &u);
        assert!(
            !w.contains_key("hostname") && !w.contains_key("port"),
            "{w:?}"
        );
        assert_eq!(
            w.get("private-address"),
            w.get("ingress-address"),
            "private-address back to Juju's"
        );
    }
}

#[test]
fn relation_hooks_and_unit_teardown() {
    let (mut lab, lb, web) = configured();
    // lb-sink: related, written nothing.
    let sink = lab
        .juju
        .relate("keepalived:lb-sink", "kubeapi-load-balancer:website")
        .unwrap();
    let recs = lab.settle();
    assert!(recs.iter().any(|r| r.hook == "lb-sink-relation-joined"));
    let s = lab.data(sink, "keepalived/0");
    assert!(s.keys().all(|k| ["private-address", "ingress-address", "egress-subnets"].contains(&k.as_str())), "{s:?}");
    // departed/broken on every endpoint.
    for id in [lb, web, sink] {
        lab.juju.remove_relation(id).unwrap();
    }
    let recs = lab.settle();
    for hook in [
        "loadbalancer-relation-departed",
        "loadbalancer-relation-broken",
        "website-relation-broken",
        "lb-sink-relation-broken",
    ] {
        assert!(recs.iter().any(|r| r.hook == hook), "{hook} did not run");
    }
    assert_eq!(lab.status("keepalived/0").0, "active");
    // Removing a principal unit tears its subordinate down: departed, broken, stop, remove.
    let calls_before = lab.service_calls("keepalived/1");
    lab.juju.remove_unit("kubeapi-load-balancer/1").unwrap();
    let recs = lab.settle();
    let seq = juju_emu::hooks_of(&recs, "keepalived/1");
    assert_eq!(seq.last(), Some(&"remove"), "{seq:?}");
    assert!(seq.contains(&"stop"));
    let u = "keepalived/1";
    assert!(!lab.active(u));
    for f in [
        CONF,
        UNIT,
        SYSCTL,
        BIN,
        "run/vrrpd/state.json",
        "etc/systemd/system/vrrpd-status-refresh.path",
        "etc/systemd/system/vrrpd-status-refresh.service",
        "usr/local/lib/keepalived-charm/status-refresh",
    ] {
        assert!(!lab.file(u, f).exists(), "{f} left behind");
    }
    let new_calls: Vec<String> = lab
        .service_calls(u)
        .into_iter()
        .skip(calls_before.len())
        .collect();
    assert_eq!(
        new_calls,
        [
            "stop vrrpd-status-refresh.path",
            "disable vrrpd-status-refresh.path",
            "stop vrrpd.service",
            "disable vrrpd.service",
            "daemon-reload"
        ]
    );
    // The other unit keeps running, its peer-relation-departed changed nothing.
    assert!(lab.active("keepalived/0"));
    assert_eq!(lab.status("keepalived/0").0, "active");
}

#[test]
fn upgrade_charm_restarts_only_for_a_new_worker_binary() {
    let (mut lab, _, _) = configured();
    let u = "keepalived/0";
    let n = lab.service_calls(u).len();
    let same = lab.dir.path().join("charm");
    lab.juju.upgrade_charm("keepalived", &same).unwrap();
    let recs = lab.settle();
    assert!(recs
        .iter()
        .any(|r| r.hook == "upgrade-charm" && r.unit == u));
    assert_eq!(lab.service_calls(u).len(), n, "same binary: no restart");
    let v2 = make_charm(&lab.dir.path().join("charm-v2"), WORKER_V2);
    lab.juju.upgrade_charm("keepalived", &v2).unwrap();
    lab.settle();
    assert_eq!(lab.read(u, BIN), WORKER_V2);
    assert_eq!(
        lab.service_calls(u)[n..],
        ["restart vrrpd.service".to_string()]
    );
    assert_ready(&lab, u, "worker starting");
    let m = lab.juju.model().unwrap();
    assert_eq!(m.units[u].workload_version, env!("CARGO_PKG_VERSION"));
}

#[test]
fn series_upgrade_pauses_and_resumes() {
    let (mut lab, lb, _) = configured();
    let u = "keepalived/0";
    let machine = lab.juju.model().unwrap().units[u].machine.clone();
    let published = lab.data(lb, u);
    lab.juju
        .pre_series_upgrade(&machine, "ubuntu@22.04")
        .unwrap();
    lab.settle();
    assert_eq!(
        lab.status(u),
        ("blocked".into(), "Series upgrade in progress".into())
    );
    assert!(!lab.active(u));
    assert!(
        !lab.enabled(u),
        "disabled: the upgrade's reboot must not start it"
    );
    let tail: Vec<String> = lab.service_calls(u).into_iter().rev().take(2).collect();
    assert_eq!(tail, ["disable vrrpd.service", "stop vrrpd.service"]);
    assert!(lab
        .file(u, "var/lib/keepalived-charm/series-upgrade-paused")
        .exists());
    assert_eq!(lab.data(lb, u), published);
    assert!(lab.active("keepalived/1"), "other machines keep the VIP");

    // do-release-upgrade reboots the machine: systemd starts nothing of ours, and the `start`
    // hook Juju runs after a reboot leaves the worker stopped and the unit paused.
    let calls = lab.service_calls(u);
    lab.boot(u);
    assert!(!lab.active(u), "a plain boot does not start the worker");
    lab.run_start_hook(u);
    assert!(!lab.active(u) && !lab.enabled(u), "start while paused");
    assert_eq!(lab.service_calls(u), calls, "no service calls while paused");
    assert_eq!(
        lab.status(u),
        ("blocked".into(), "Series upgrade in progress".into())
    );

    lab.juju.complete_series_upgrade(&machine).unwrap();
    let recs = lab.settle();
    assert!(recs
        .iter()
        .any(|r| r.hook == "post-series-upgrade" && r.unit == u));
    assert_ready(&lab, u, "worker starting");
    assert!(lab.active(u));
    assert!(!lab
        .file(u, "var/lib/keepalived-charm/series-upgrade-paused")
        .exists());
    assert!(lab.enabled(u), "enabled again: the next reboot starts it");
    assert_eq!(
        lab.service_calls(u)[calls.len()..],
        ["enable vrrpd.service", "start vrrpd.service"]
    );
    lab.boot(u);
    assert!(lab.active(u), "after the upgrade a boot starts the worker");
}

#[test]
fn auth_pass_stays_secret_and_state_file_shows_the_role() {
    let mut lab = Lab::new(1);
    lab.config(&VIP);
    lab.config(&[
        ("vrrp_version", "2"),
        ("auth_pass", "pw8chars"),
        ("unicast", "true"),
    ]);
    let recs = lab.settle();
    let u = "keepalived/0";
    assert_eq!(lab.mode(u, CONF), 0o600);
    let conf = lab.read(u, CONF);
    assert!(
        conf.contains("        auth_pass pw8chars\n") && conf.contains("    version 2\n"),
        "{conf}"
    );
    assert!(conf.contains("    unicast_src_ip 127.0.0.1\n"));
    for r in &recs {
        assert!(!r.stdout.contains("pw8chars") && !r.stderr.contains("pw8chars"));
        assert!(r
            .logs
            .iter()
            .all(|l| !format!("{l:?}").contains("pw8chars")));
    }
    assert!(!lab.status(u).1.contains("pw8chars"));
    let bad =
        "Invalid config: auth_pass=<hidden>: needs vrrp_version=2 (VRRPv3 has no authentication)";
    lab.config(&[("vrrp_version", "3")]);
    lab.settle();
    assert_eq!(lab.status(u), ("blocked".into(), bad.into()));
    lab.config(&[("vrrp_version", "2")]);
    lab.settle();

    // The worker's state file adds the role to the status and feeds the action.
    let state = r#"{"version":1,"pid":1,"instances":[{"name":"VI_23","family":"ipv4","role":"MASTER",
        "base_priority":250,"effective_priority":250,"master_address":"127.0.0.1","vips_held":["192.0.2.250/24"]}]}"#;
    std::fs::write(lab.file(u, "run/vrrpd/state.json"), state).unwrap();
    lab.juju.request_update_status(Some(u)).unwrap();
    lab.settle();
    assert_ready(&lab, u, "MASTER");
    let res = lab
        .juju
        .run_action(u, "vrrp-status", serde_json::Value::Null)
        .unwrap();
    assert!(!res.failed, "{res:?}");
    assert_eq!(res.results["vi-23"]["role"], "MASTER", "{:?}", res.results);
    assert_eq!(res.results["worker-active"], "true");
    assert_eq!(res.results["state-current"], "true", "pid 1 is alive");
}

/// Juju rewrites the unit's `private-address`, `ingress-address` and `egress-subnets` in every
/// joined relation when it commits a `config-changed` hook, before the charm's own changes, and a
/// value the charm re-sets unchanged is no change (juju/juju `doFlush` → `UpdateNetworkInfo`,
/// `commitHookChangesForOneUnit`, state `Settings.changes`). So `website`'s `private-address`
/// reads as the unit's address right after a `config-changed` that did not change the VIP, and
/// the charm must put the VIP back in the next hook it runs, whatever that hook is. Checked
/// after every single hook through config changes, an invalid config, an upgrade, a leadership
/// change, a new unit and a reboot; `hostname` and `port` (what consumers connect to) are right
/// throughout.
#[test]
fn website_private_address_after_every_hook() {
    let (mut lab, _, web) = configured();
    let vip = "192.0.2.250";
    let mut last_hook: std::collections::BTreeMap<String, String> = Default::default();
    let mut steps = 0;
    let mut run = |lab: &mut Lab, port: &str| {
        for _ in 0..200 {
            let Some(rec) = lab.juju.step().unwrap() else {
                return;
            };
            steps += 1;
            assert!(rec.ok(), "{} on {}: {}", rec.hook, rec.unit, rec.stderr);
            last_hook.insert(rec.unit.clone(), rec.hook.clone());
            let m = lab.juju.model().unwrap();
            for u in m.relations[&web]
                .in_scope
                .iter()
                .filter(|u| u.starts_with("keepalived/"))
            {
                let b = lab.data(web, u);
                let after_config_changed =
                    last_hook.get(u).map(String::as_str) == Some("config-changed");
                let want = if after_config_changed {
                    b["ingress-address"].clone()
                } else {
                    vip.to_string()
                };
                let got = (b.get("hostname"), b.get("private-address"));
                assert_eq!(
                    got,
                    (Some(&vip.to_string()), Some(&want)),
                    "{u} after {} on {}",
                    rec.hook,
                    rec.unit
                );
                if rec.unit == *u {
                    assert_eq!(
                        b.get("port"),
                        Some(&port.to_string()),
                        "{u} after {}",
                        rec.hook
                    );
                }
            }
        }
        panic!("no settle");
    };
    // Settle what configured() left (nothing), then change something unrelated to the VIP.
    run(&mut lab, "443");
    lab.config(&[("port", "6443")]);
    run(&mut lab, "6443");
    lab.juju.request_update_status(None).unwrap();
    run(&mut lab, "6443");
    lab.config(&[("virtual_ip", "192.0.2.250/40")]);
    run(&mut lab, "6443");
    lab.juju.request_update_status(None).unwrap();
    run(&mut lab, "6443");
    lab.config(&[("virtual_ip", "192.0.2.250/24")]);
    run(&mut lab, "6443");
    let same = lab.dir.path().join("charm");
    lab.juju.upgrade_charm("keepalived", &same).unwrap();
    run(&mut lab, "6443");
    lab.juju.set_leader("keepalived", "keepalived/1").unwrap();
    run(&mut lab, "6443");
    lab.juju.add_unit("kubeapi-load-balancer").unwrap();
    run(&mut lab, "6443");
    let machine = lab.juju.model().unwrap().units["keepalived/0"]
        .machine
        .clone();
    lab.juju.reboot_machine(&machine).unwrap();
    run(&mut lab, "6443");
    lab.juju.request_update_status(None).unwrap();
    run(&mut lab, "6443");
    assert!(steps > 20, "{steps} hooks");
    for u in lab.units() {
        assert_eq!(lab.data(web, &u)["private-address"], vip, "{u} at the end");
    }
}
