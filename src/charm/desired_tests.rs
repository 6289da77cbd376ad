use super::*;
use crate::charm::config::CharmConfig;
use crate::charm::event::RelationHook;
use crate::charm::hooktools::StatusLevel;
use crate::charm::netinfo::{LinkFacts, V6Addr};
use crate::charm::sanadvice::CertNote;
use crate::charm::status::{ready_status, run_status, MSG_LEGACY, MSG_LEGACY_KEPT};
use crate::charm::tlscheck::{CertCheck, ProbeError, ServedCert};
use crate::charm::world::{HookEnv, LegacyFacts, Peer, Unit, WorkerFacts};
use serde_json::{json, Value};
use std::net::Ipv4Addr;
use vrrp::StateView;

fn host() -> HostFacts {
    let mut h = HostFacts::default();
    h.links.insert(
        "eth0".into(),
        LinkFacts {
            v4: vec![Ipv4Addr::new(192, 0, 2, 11), Ipv4Addr::new(192, 0, 2, 50)],
            v6: vec![
                V6Addr {
                    addr: "fe80::11".parse().unwrap(),
                    link_local: true,
                },
                V6Addr {
                    addr: "2001:db8::11".parse().unwrap(),
                    link_local: false,
                },
            ],
        },
    );
    h.links.insert(
        "lo".into(),
        LinkFacts {
            v4: vec![Ipv4Addr::LOCALHOST],
            v6: vec![],
        },
    );
    h.default_v4 = Some("eth0".into());
    h
}

fn bag(pairs: &[(&str, &str)]) -> Bag {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn seeded(addr: &str) -> Bag {
    bag(&[
        ("private-address", addr),
        ("ingress-address", addr),
        ("egress-subnets", "192.0.2.11/32"),
    ])
}

fn world(cfg: Value, unit: u32, event: Event) -> World {
    let config = match cfg {
        Value::Object(m) => CharmConfig::from_json(&m),
        _ => panic!("object"),
    };
    World {
        env: HookEnv {
            event,
            unit: Unit {
                name: format!("keepalived/{unit}"),
                number: unit,
            },
            charm_dir: "/charm".into(),
            relation_id: None,
        },
        config,
        relations: vec![
            Relation {
                endpoint: "loadbalancer".into(),
                id: "loadbalancer:4".into(),
                local: seeded("192.0.2.11"),
            },
            Relation {
                endpoint: "website".into(),
                id: "website:5".into(),
                local: seeded("192.0.2.11"),
            },
        ],
        peers: Some(PeerRelation {
            id: "peers:1".into(),
            local: Bag::new(),
            peers: vec![
                Peer {
                    unit: Unit {
                        name: "keepalived/1".into(),
                        number: 1,
                    },
                    data: bag(&[("vrrp-ipv4", "192.0.2.12")]),
                },
                Peer {
                    unit: Unit {
                        name: "keepalived/2".into(),
                        number: 2,
                    },
                    data: bag(&[("vrrp-ipv4", "garbage"), ("vrrp-ipv6", "2001:db8::13")]),
                },
                Peer {
                    unit: Unit {
                        name: "keepalived/3".into(),
                        number: 3,
                    },
                    data: bag(&[("vrrp-ipv4", "192.0.2.14")]),
                },
            ],
        }),
        host: host(),
        worker: WorkerFacts::default(),
        legacy: LegacyFacts::default(),
        paused: false,
        is_leader: false,
        principal: None,
        principal_unit: None,
        lb_units: None,
        cert: None,
        published_vip: None,
    }
}

fn paths() -> Paths {
    Paths::new("/r")
}

fn run_plan(w: &World) -> RunPlan {
    match plan(w, &paths()).unwrap() {
        Plan::Run(r) => *r,
        other => panic!("expected Run, got {other:?}"),
    }
}

fn text(f: &FileSpec) -> String {
    String::from_utf8(f.content.clone()).unwrap()
}

#[test]
fn empty_vip_idles_and_clears_only_our_keys() {
    let mut w = world(json!({"virtual_ip": ""}), 0, Event::ConfigChanged);
    let Plan::Idle { status, clear } = plan(&w, &paths()).unwrap() else {
        panic!()
    };
    assert_eq!(
        status,
        Status::new(StatusLevel::Blocked, "Please configure virtual ips")
    );
    // Nothing was published, nothing to clear; only this charm's presence on the peer relation.
    let presence = BagWrite {
        relation_id: "peers:1".into(),
        changes: bag(&[("vrrpd-charm", "1")]),
    };
    assert_eq!(clear, std::slice::from_ref(&presence));
    w.peers.as_mut().unwrap().local = presence.changes.clone();
    let Plan::Idle { clear, .. } = plan(&w, &paths()).unwrap() else {
        panic!()
    };
    assert!(clear.is_empty(), "{clear:?}");
    w.relations[0]
        .local
        .insert("public-address".into(), "10.0.0.1".into());
    w.relations[0].local.insert("port".into(), "443".into());
    w.relations[1].local = bag(&[
        ("hostname", "api"),
        ("private-address", "10.0.0.1"),
        ("ingress-address", "192.0.2.11"),
        ("port", "443"),
    ]);
    let Plan::Idle { clear, .. } = plan(&w, &paths()).unwrap() else {
        panic!()
    };
    assert_eq!(
        clear,
        vec![
            BagWrite {
                relation_id: "loadbalancer:4".into(),
                changes: bag(&[("public-address", ""), ("port", "")])
            },
            BagWrite {
                relation_id: "website:5".into(),
                changes: bag(&[
                    ("hostname", ""),
                    ("port", ""),
                    ("private-address", "192.0.2.11")
                ]),
            },
        ]
    );
}

#[test]
fn invalid_config_holds_everything() {
    let w = world(
        json!({"virtual_ip": "10.0.0.1/40", "port": 0}),
        0,
        Event::ConfigChanged,
    );
    assert_eq!(
        plan(&w, &paths()).unwrap(),
        Plan::Hold(Status::new(
            StatusLevel::Blocked,
            r#"Invalid config: virtual_ip="10.0.0.1/40": prefix length 40 is out of range 1..32 for ipv4; port=0: must be between 1 and 65535"#
        ))
    );
    let w = world(
        json!({"virtual_ip": "10.0.0.1", "network_interface": "eth9"}),
        0,
        Event::ConfigChanged,
    );
    assert_eq!(
        plan(&w, &paths()).unwrap(),
        Plan::Hold(Status::new(
            StatusLevel::Blocked,
            r#"Invalid config: network_interface="eth9": no such interface on this machine"#
        ))
    );
    let mut w = world(json!({"virtual_ip": "10.0.0.1"}), 0, Event::ConfigChanged);
    w.host.default_v4 = None;
    let Plan::Hold(s) = plan(&w, &paths()).unwrap() else {
        panic!()
    };
    assert_eq!(
        s.message,
        r#"Invalid config: network_interface="": no default route to find the interface; set network_interface"#
    );
    let w = world(
        json!({"virtual_ip": "2001:db8::99", "network_interface": "lo"}),
        0,
        Event::ConfigChanged,
    );
    let Plan::Hold(s) = plan(&w, &paths()).unwrap() else {
        panic!()
    };
    assert_eq!(
        s.message,
        r#"Invalid config: network_interface="lo": interface lo has no IPv6 address to send VRRP from"#
    );
}

#[test]
fn valid_config_renders_and_publishes_identical_data_on_every_unit() {
    let cfg = json!({"virtual_ip": "10.1.2.3/16", "vip_hostname": "api.example.com", "port": 6443});
    let a = run_plan(&world(cfg.clone(), 0, Event::ConfigChanged));
    let mut other = world(cfg, 7, Event::LeaderElected);
    other.host.links.get_mut("eth0").unwrap().v4 = vec![Ipv4Addr::new(192, 0, 2, 99)];
    let b = run_plan(&other);
    assert_eq!(
        a.publish, b.publish,
        "publications derive from app config only"
    );
    assert_eq!(
        a.publish,
        vec![
            BagWrite {
                relation_id: "loadbalancer:4".into(),
                changes: bag(&[("public-address", "10.1.2.3"), ("port", "6443")]),
            },
            BagWrite {
                relation_id: "website:5".into(),
                changes: bag(&[
                    ("hostname", "api.example.com"),
                    ("private-address", "10.1.2.3"),
                    ("port", "6443")
                ]),
            },
        ]
    );
    assert_eq!(a.config.mode, 0o600);
    assert_eq!(
        a.config.path,
        std::path::PathBuf::from("/r/etc/vrrpd/vrrpd.conf")
    );
    let conf = text(&a.config);
    assert!(conf.contains("    priority 250\n") && text(&b.config).contains("    priority 180\n"));
    assert!(conf.contains("    nopreempt\n"));
    assert!(conf.contains("    tcp_connect 127.0.0.1 6443 watch\n"));
    assert!(conf.contains("    advert_int 0.1\n") && conf.contains("    version 3\n"));
    assert!(
        conf.contains("    vrrpd_adaptive_interval 0.03\n"),
        "automatic by default"
    );
    assert!(conf.contains("    vrrp_rt_priority 50\n"));
    assert!(!conf.contains("unicast"), "multicast by default");
    assert_eq!(text(&a.sysctl), "# Written by the keepalived charm: let the load balancer bind VIPs this unit does not hold.\nnet.ipv4.ip_nonlocal_bind=1\n");
    assert_eq!(
        a.peer_publish,
        Some(BagWrite {
            relation_id: "peers:1".into(),
            changes: bag(&[
                ("vrrp-ipv4", "192.0.2.11"),
                ("vrrp-ipv6", "2001:db8::11"),
                ("vrrpd-charm", "1")
            ])
        })
    );
    let unit = text(&a.unit);
    assert!(unit.contains("ExecStart=/r/usr/local/sbin/vrrpd --config /r/etc/vrrpd/vrrpd.conf --state-file /r/run/vrrpd/state.json --transitions-file /r/run/vrrpd/transitions\n"), "{unit}");
}

#[test]
fn already_published_data_is_not_rewritten() {
    let mut w = world(json!({"virtual_ip": "10.1.2.3"}), 0, Event::UpdateStatus);
    w.relations[0]
        .local
        .extend(bag(&[("public-address", "10.1.2.3"), ("port", "443")]));
    w.relations[1].local.extend(bag(&[
        ("hostname", "10.1.2.3"),
        ("private-address", "10.1.2.3"),
        ("port", "443"),
    ]));
    w.peers.as_mut().unwrap().local = bag(&[
        ("vrrp-ipv4", "192.0.2.11"),
        ("vrrp-ipv6", "2001:db8::11"),
        ("vrrpd-charm", "1"),
    ]);
    let r = run_plan(&w);
    assert!(r.publish.is_empty(), "{:?}", r.publish);
    assert_eq!(r.peer_publish, None);
}

#[test]
fn teardown_and_series_upgrade() {
    for e in [Event::Stop, Event::Remove] {
        assert_eq!(
            plan(&world(json!({"virtual_ip": "10.1.2.3"}), 0, e), &paths()).unwrap(),
            Plan::Remove
        );
    }
    let pause = Plan::Pause(Status::new(
        StatusLevel::Blocked,
        "Series upgrade in progress",
    ));
    assert_eq!(
        plan(
            &world(
                json!({"virtual_ip": "10.1.2.3"}),
                0,
                Event::PreSeriesUpgrade
            ),
            &paths()
        )
        .unwrap(),
        pause
    );
    let mut w = world(json!({"virtual_ip": "10.1.2.3"}), 0, Event::ConfigChanged);
    w.paused = true;
    assert_eq!(
        plan(&w, &paths()).unwrap(),
        pause,
        "paused until post-series-upgrade"
    );
    // The reboot in the middle of the upgrade runs `start`: still paused.
    w.env.event = Event::Start;
    assert_eq!(plan(&w, &paths()).unwrap(), pause, "start after a reboot");
    w.env.event = Event::PostSeriesUpgrade;
    assert!(matches!(plan(&w, &paths()).unwrap(), Plan::Run(_)));
}

#[test]
fn unicast_uses_peer_addresses_of_the_right_family() {
    let w = world(
        json!({"virtual_ip": "10.1.2.3/24 2001:db8::10/64", "unicast": true}),
        0,
        Event::Relation {
            endpoint: "peers".into(),
            kind: RelationHook::Changed,
        },
    );
    let spec = worker_spec(
        w.config.as_ref().unwrap(),
        &resolve_network(w.config.as_ref().unwrap(), &w.host).unwrap(),
        "keepalived/0",
        0,
        w.peers.as_ref(),
    );
    assert_eq!(spec.instances.len(), 2);
    let (v4, v6) = (&spec.instances[0], &spec.instances[1]);
    assert_eq!((v4.name.as_str(), v6.name.as_str()), ("VI_23", "VI6_23"));
    assert_eq!(v4.unicast_src.as_deref(), Some("192.0.2.11"));
    assert_eq!(v4.unicast_peers, ["192.0.2.12", "192.0.2.14"]);
    assert_eq!(v6.unicast_src.as_deref(), Some("2001:db8::11"));
    assert_eq!(v6.unicast_peers, ["2001:db8::13"]);
    assert_eq!((v4.version, v6.version), (3, 3));
    assert_eq!(v6.vips, ["2001:db8::10/64"]);
    let r = run_plan(&w);
    assert!(text(&r.sysctl).contains("net.ipv6.ip_nonlocal_bind=1\n"));
}

#[test]
fn v2_auth_only_on_the_ipv4_instance_and_ipv6_forced_to_v3() {
    let w = world(
        json!({"virtual_ip": "10.1.2.3 2001:db8::10", "vrrp_version": 2, "auth_pass": "pw", "preempt": true}),
        1,
        Event::ConfigChanged,
    );
    let cfg = w.config.as_ref().unwrap();
    let spec = worker_spec(
        cfg,
        &resolve_network(cfg, &w.host).unwrap(),
        "keepalived/1",
        1,
        None,
    );
    let (v4, v6) = (&spec.instances[0], &spec.instances[1]);
    assert_eq!(
        (v4.version, v4.advert_int.as_str(), v4.auth_pass.as_deref()),
        (2, "1", Some("pw"))
    );
    assert_eq!(
        (v6.version, v6.advert_int.as_str(), v6.auth_pass.as_deref()),
        (3, "0.1", None),
        "automatic interval per version"
    );
    assert!(!v4.nopreempt && !v6.nopreempt);
    assert_eq!(v4.priority, 240);
}

#[test]
fn the_source_address_is_never_a_vip() {
    let w = world(
        json!({"virtual_ip": "192.0.2.11/24"}),
        0,
        Event::ConfigChanged,
    );
    let net = resolve_network(w.config.as_ref().unwrap(), &w.host).unwrap();
    assert_eq!(net.src_v4, Some(Ipv4Addr::new(192, 0, 2, 50)));
}

#[test]
fn priorities_are_stable_spaced_and_distinct_for_25_units() {
    let ps: std::collections::BTreeSet<u8> = (0..25).map(priority).collect();
    assert_eq!(ps.len(), 25);
    assert_eq!((priority(0), priority(1), priority(24)), (250, 240, 10));
    assert_eq!(priority(25), priority(0));
    assert!((0..1000).map(priority).all(|p| (10..=250).contains(&p)));
    // Neighbours are far enough apart that their Skew_Times differ by >= 10/256 interval.
    assert!((0..24).all(|n| priority(n) - priority(n + 1) == 10));
}

#[test]
fn ready_status_shows_the_role() {
    assert_eq!(ready_status(None).message, "VIP ready (worker starting)");
    let s: StateView = serde_json::from_str(
        r#"{"version":1,"instances":[{"name":"VI_23","family":"ipv4","role":"BACKUP"}]}"#,
    )
    .unwrap();
    assert_eq!(
        ready_status(Some(&s)),
        Status::new(StatusLevel::Active, "VIP ready (BACKUP)")
    );
}

#[test]
fn diff_sets_only_changed_keys() {
    let cur = bag(&[("a", "1"), ("b", "2"), ("x", "9")]);
    assert_eq!(
        diff(&cur, &bag(&[("a", "1"), ("b", "3"), ("c", "")])),
        Some(bag(&[("b", "3")]))
    );
    assert_eq!(diff(&cur, &bag(&[("a", "1")])), None);
}

#[test]
fn an_ipv6_first_vip_is_published_bare_and_every_unit_agrees() {
    let cfg = json!({"virtual_ip": "2001:db8::100/64 10.10.74.250/24 2001:db8::101"});
    let a = run_plan(&world(cfg.clone(), 0, Event::ConfigChanged));
    let b = run_plan(&world(cfg, 3, Event::UpdateStatus));
    assert_eq!(a.publish, b.publish);
    assert_eq!(
        a.publish,
        vec![
            BagWrite {
                relation_id: "loadbalancer:4".into(),
                changes: bag(&[("public-address", "2001:db8::100"), ("port", "443")]),
            },
            BagWrite {
                relation_id: "website:5".into(),
                changes: bag(&[
                    ("hostname", "2001:db8::100"),
                    ("private-address", "2001:db8::100"),
                    ("port", "443")
                ]),
            },
        ],
        "no brackets, no prefix: consumers build URLs themselves"
    );
    // Both families run, each VIP in its own family's instance.
    let conf = text(&a.config);
    assert!(conf.contains("vrrp_instance VI_23 {") && conf.contains("vrrp_instance VI6_23 {"));
    assert!(
        conf.contains("        2001:db8::100/64\n        2001:db8::101/128\n"),
        "{conf}"
    );
    assert!(conf.contains("        10.10.74.250/24\n"));
    assert!(text(&a.sysctl).contains("net.ipv6.ip_nonlocal_bind=1"));
}

#[test]
fn metrics_address_reaches_the_worker_config() {
    let w = world(
        json!({"virtual_ip": "10.1.2.3", "metrics_address": "[::1]:9510"}),
        0,
        Event::ConfigChanged,
    );
    let conf = text(&run_plan(&w).config);
    assert!(
        conf.contains("    vrrpd_metrics_listen [::1]:9510\n"),
        "{conf}"
    );
}

#[test]
fn the_certificate_check_becomes_a_note_on_the_ready_status() {
    let cfg = json!({"virtual_ip": "10.10.74.250/24", "vip_hostname": "api.example.com"});
    let mut w = world(cfg.clone(), 0, Event::UpdateStatus);
    assert_eq!(run_plan(&w).cert_note, None, "no check, no note");
    w.cert = Some(CertCheck {
        endpoint: "127.0.0.1:443".parse().unwrap(),
        served: Ok(ServedCert {
            ips: vec!["10.10.74.250".parse().unwrap()],
            dns: vec![],
        }),
    });
    w.principal = Some("my-lb".into());
    let p = run_plan(&w);
    let lacks =
        r#"LB cert lacks SAN(s) api.example.com: juju config my-lb extra_sans="api.example.com""#;
    assert_eq!(
        p.cert_note,
        Some(CertNote {
            text: lacks.into(),
            missing_sans: true
        })
    );
    assert!(!p.strict_san_check);
    let state: StateView = serde_json::from_str(
        r#"{"version":1,"instances":[{"name":"VI_23","family":"ipv4","role":"MASTER"}]}"#,
    )
    .unwrap();
    assert_eq!(
        run_status(Some(&state), false, p.cert_note.as_ref(), false),
        Status::new(StatusLevel::Active, format!("VIP ready (MASTER); {lacks}"))
    );
    assert_eq!(
        run_status(None, false, p.cert_note.as_ref(), true),
        Status::new(
            StatusLevel::Blocked,
            format!("VIP ready (worker starting); {lacks}")
        )
    );
    let down = CertNote {
        text: "LB not answering TLS on 127.0.0.1:443".into(),
        missing_sans: false,
    };
    assert_eq!(
        run_status(Some(&state), false, Some(&down), true),
        Status::new(
            StatusLevel::Active,
            "VIP ready (MASTER); LB not answering TLS on 127.0.0.1:443"
        ),
        "an unreachable LB is never a strict failure"
    );
    let mut strict = world(
        json!({"virtual_ip": "10.10.74.250/24", "strict_san_check": true}),
        0,
        Event::UpdateStatus,
    );
    strict.cert = Some(CertCheck {
        endpoint: "127.0.0.1:443".parse().unwrap(),
        served: Err(ProbeError::Connect("refused".into()).into()),
    });
    let p = run_plan(&strict);
    assert!(p.strict_san_check);
    assert_eq!(p.cert_note, Some(down));
}

#[test]
fn hold_puts_back_the_published_vip_only_where_we_published() {
    let mut w = world(json!({"virtual_ip": "999.1.1.1"}), 0, Event::ConfigChanged);
    assert!(matches!(plan(&w, &paths()).unwrap(), Plan::Hold(_)));
    // This charm's presence on the peer relation, also when holding (with the old daemon left
    // running: peers then keep a fixed interval).
    assert_eq!(
        hold_writes(&w),
        [BagWrite {
            relation_id: "peers:1".into(),
            changes: bag(&[("vrrpd-charm", "1")]),
        }]
    );
    w.legacy = legacy(true, true, false);
    assert_eq!(
        hold_writes(&w)[0].changes,
        bag(&[
            ("vrrpd-charm", "1"),
            ("replaced-keepalived", "1"),
            ("keepalived-service", "1")
        ])
    );
    w.legacy = LegacyFacts::default();
    w.peers.as_mut().unwrap().local = bag(&[("vrrpd-charm", "1")]);
    // Nothing remembered: nothing to put back.
    assert!(hold_writes(&w).is_empty());
    w.published_vip = Some("192.0.2.250".into());
    // A bag we never published on (no hostname) is left alone.
    assert!(hold_writes(&w).is_empty());
    // Juju's config-changed replaced private-address in a bag we published on.
    w.relations[1]
        .local
        .insert("hostname".into(), "192.0.2.250".into());
    let writes = hold_writes(&w);
    assert_eq!(
        writes,
        [BagWrite {
            relation_id: "website:5".into(),
            changes: bag(&[("private-address", "192.0.2.250")]),
        }]
    );
    // Already right: no write.
    w.relations[1]
        .local
        .insert("private-address".into(), "192.0.2.250".into());
    assert!(hold_writes(&w).is_empty());
}

// ===== refresh from the original Python charm (its apt keepalived.service) =====

fn legacy(active: bool, enabled: bool, replaced: bool) -> LegacyFacts {
    LegacyFacts {
        active,
        enabled,
        replaced,
    }
}

#[test]
fn the_old_daemon_is_stopped_and_disabled_in_every_hook_but_hold() {
    let vip = json!({"virtual_ip": "10.1.2.3/16"});
    let both = Some(LegacyStop {
        stop: true,
        disable: true,
    });
    // upgrade-charm, then config-changed (no start), leader, relation and update-status hooks.
    for ev in [
        Event::UpgradeCharm,
        Event::ConfigChanged,
        Event::LeaderSettingsChanged,
        Event::UpdateStatus,
        Event::Stop,
        Event::PreSeriesUpgrade,
    ] {
        let mut w = world(vip.clone(), 1, ev.clone());
        w.legacy = legacy(true, true, false);
        let p = plan(&w, &paths()).unwrap();
        assert_eq!(legacy_stop(&w, &p), both, "{ev:?}");
    }
    // Enabled but not running (no config, ConditionFileNotEmpty): disable only.
    let mut w = world(json!({"virtual_ip": ""}), 1, Event::ConfigChanged);
    w.legacy = legacy(false, true, false);
    let p = plan(&w, &paths()).unwrap();
    assert!(matches!(p, Plan::Idle { .. }));
    assert_eq!(
        legacy_stop(&w, &p),
        Some(LegacyStop {
            stop: false,
            disable: true
        })
    );
    // Gone: nothing to do, even with the marker.
    let mut w = world(vip.clone(), 1, Event::ConfigChanged);
    w.legacy = legacy(false, false, true);
    assert_eq!(legacy_stop(&w, &plan(&w, &paths()).unwrap()), None);
    // Invalid config: the old daemon is what serves the VIP; it stays, and the status says so.
    let mut w = world(json!({"virtual_ip": "10.1.2.3/40"}), 1, Event::UpgradeCharm);
    w.legacy = legacy(true, true, false);
    let p = plan(&w, &paths()).unwrap();
    assert_eq!(legacy_stop(&w, &p), None);
    let Plan::Hold(s) = p else { panic!() };
    assert!(s.message.ends_with(MSG_LEGACY_KEPT), "{}", s.message);
    assert_eq!(s.message.matches("keepalived.service").count(), 1);
}

#[test]
fn after_replacing_the_old_daemon_the_worker_speaks_vrrpv2_too() {
    let vip = json!({"virtual_ip": "10.1.2.3/16 2001:db8::10/64"});
    let w = world(vip.clone(), 1, Event::ConfigChanged);
    let fresh = run_plan(&w);
    assert!(!text(&fresh.config).contains("vrrpd_v2_compat"));
    assert!(!fresh.legacy_note);
    for l in [
        legacy(true, true, false),
        legacy(false, true, false),
        legacy(false, false, true),
    ] {
        let mut w = world(vip.clone(), 1, Event::ConfigChanged);
        w.legacy = l;
        let r = run_plan(&w);
        let conf = text(&r.config);
        // Only the IPv4 (VRRPv3) instance: the old group is IPv4, and v6 has no VRRPv2.
        assert_eq!(conf.matches("\n    vrrpd_v2_compat").count(), 1, "{conf}");
        let v4 = conf.split("vrrp_instance VI6_23").next().unwrap();
        assert!(v4.contains("vrrpd_v2_compat"), "{conf}");
        assert!(r.legacy_note);
        let peer = r.peer_publish.expect("peer write");
        assert_eq!(
            peer.changes.get(PEER_KEY_LEGACY).map(String::as_str),
            Some("1")
        );
        let st = run_status(None, r.legacy_note, None, false);
        assert_eq!(
            st.message,
            format!("VIP ready (worker starting); {MSG_LEGACY}")
        );
        assert_eq!(st.message.matches("keepalived.service").count(), 1);
    }
    // A unit added during the refresh (never ran the old daemon) follows its peers.
    let mut w = world(vip.clone(), 4, Event::ConfigChanged);
    w.peers.as_mut().unwrap().peers[0]
        .data
        .insert(PEER_KEY_LEGACY.into(), "1".into());
    assert!(text(&run_plan(&w).config).contains("vrrpd_v2_compat"));
    // vrrp_version=2 is already VRRPv2: no compat keyword (vrrpd refuses it there).
    let mut w = world(
        json!({"virtual_ip": "10.1.2.3/16", "vrrp_version": 2}),
        1,
        Event::ConfigChanged,
    );
    w.legacy = legacy(false, false, true);
    assert!(!text(&run_plan(&w).config).contains("vrrpd_v2_compat"));
}

/// Issue 11: every running plan carries the status refresh for this unit (the `.path` unit on
/// the worker's transitions file, its oneshot, the executable script), below the root.
#[test]
fn running_plans_carry_the_status_refresh_for_this_unit() {
    let r = run_plan(&world(
        json!({"virtual_ip": "10.1.2.3"}),
        2,
        Event::UpdateStatus,
    ));
    let got: Vec<(String, u32)> = r
        .refresh
        .iter()
        .map(|f| (f.path.display().to_string(), f.mode))
        .collect();
    assert_eq!(
        got,
        [
            (
                "/r/etc/systemd/system/vrrpd-status-refresh.path".to_string(),
                0o644
            ),
            (
                "/r/etc/systemd/system/vrrpd-status-refresh.service".to_string(),
                0o644
            ),
            (
                "/r/usr/local/lib/keepalived-charm/status-refresh".to_string(),
                0o755
            ),
        ]
    );
    assert!(text(&r.refresh[0]).contains("PathChanged=/r/run/vrrpd/transitions\n"));
    assert!(text(&r.refresh[1])
        .contains("ExecStart=/r/usr/local/lib/keepalived-charm/status-refresh\n"));
    let script = text(&r.refresh[2]);
    assert!(script.contains("for c in '/r/usr/bin/juju-exec' '/r/usr/bin/juju-run'; do"));
    assert!(script.contains("\"$exe\" -u 'keepalived/2' hooks/update-status"));
}

/// The decision table: event × paused → phase, plan and prelude; then, in the running phase,
/// worker active × what this hook's writes changed → the service call.
#[test]
fn phase_event_paused_and_changes_decide_the_plan() {
    use Phase::{Paused, Running, Teardown};
    let website = Event::Relation {
        endpoint: "website".into(),
        kind: RelationHook::Changed,
    };
    // (event, phase unpaused, phase paused, clears pause, sets app version)
    let table = [
        (Event::Install, Running, Paused, false, true),
        (Event::Start, Running, Paused, false, false),
        (Event::ConfigChanged, Running, Paused, false, false),
        (Event::UpgradeCharm, Running, Paused, false, true),
        (Event::UpdateStatus, Running, Paused, false, false),
        (Event::LeaderElected, Running, Paused, false, false),
        (website, Running, Paused, false, false),
        (Event::Stop, Teardown, Teardown, false, false),
        (Event::Remove, Teardown, Teardown, false, false),
        (Event::PreSeriesUpgrade, Paused, Paused, false, false),
        (Event::PostSeriesUpgrade, Running, Running, true, false),
    ];
    let cfg = json!({"virtual_ip": "10.10.74.250/24"});
    for (event, unpaused, when_paused, clear, version) in table {
        for (paused, want) in [(false, unpaused), (true, when_paused)] {
            assert_eq!(phase(&event, paused), want, "{event:?} paused={paused}");
            let mut w = world(cfg.clone(), 0, event.clone());
            w.paused = paused;
            let p = plan(&w, &paths()).unwrap();
            let kind_ok = match want {
                Teardown => p == Plan::Remove,
                Paused => p == Plan::Pause(status::series_upgrade()),
                Running => matches!(p, Plan::Run(_)),
            };
            assert!(kind_ok, "{event:?} paused={paused}: {p:?}");
            let pre = prelude(&event);
            assert_eq!(pre.clear_pause, clear, "{event:?}");
            assert_eq!(pre.app_version.is_some(), version, "{event:?}");
        }
    }
    // (active, binary, unit, config) → verb
    use ServiceVerb::{Reload, Restart, Start};
    let calls = [
        (
            (false, false, false, false),
            Some((Start, "worker was not running")),
        ),
        (
            (false, false, false, true),
            Some((Start, "configuration changed")),
        ),
        (
            (false, false, true, false),
            Some((Start, "unit file changed")),
        ),
        (
            (false, true, true, true),
            Some((Start, "new worker binary")),
        ),
        ((true, false, false, false), None),
        (
            (true, false, false, true),
            Some((Reload, "configuration changed")),
        ),
        (
            (true, false, true, false),
            Some((Restart, "unit file changed")),
        ),
        (
            (true, false, true, true),
            Some((Restart, "unit file changed")),
        ),
        (
            (true, true, false, false),
            Some((Restart, "new worker binary")),
        ),
        (
            (true, true, false, true),
            Some((Restart, "new worker binary")),
        ),
        (
            (true, true, true, true),
            Some((Restart, "new worker binary")),
        ),
    ];
    for ((active, binary, unit, config), want) in calls {
        let c = Changed {
            binary,
            unit,
            config,
        };
        assert_eq!(service_action(active, c), want, "active={active} {c:?}");
    }
}

/// The instances' `(advert_int, vrrpd_adaptive_interval floor)` as rendered for `w`.
fn intervals(w: &World) -> Vec<(String, Option<String>)> {
    let conf = text(&run_plan(w).config);
    conf.split("vrrp_instance ")
        .skip(1)
        .map(|inst| {
            let value = |k: &str| {
                inst.lines()
                    .find_map(|l| l.trim().strip_prefix(k))
                    .map(|v| v.trim().to_string())
            };
            (
                value("advert_int ").unwrap(),
                value("vrrpd_adaptive_interval "),
            )
        })
        .collect()
}

fn auto() -> (String, Option<String>) {
    ("0.1".into(), Some("0.03".into()))
}

fn fixed(s: &str) -> (String, Option<String>) {
    (s.into(), None)
}

/// Issue 13: `advert_interval` 0 with VRRPv3 is the adaptive interval between 0.03 and 0.1 s
/// (both families); an explicit value and VRRPv2 stay fixed.
#[test]
fn automatic_interval_is_adaptive_only_with_vrrpv3_and_no_explicit_value() {
    let w = |cfg: Value| world(cfg, 0, Event::ConfigChanged);
    let dual = "10.1.2.3/16 2001:db8::10/64";
    assert_eq!(intervals(&w(json!({"virtual_ip": dual}))), [auto(), auto()]);
    assert_eq!(
        intervals(&w(json!({"virtual_ip": dual, "advert_interval": 0.0}))),
        [auto(), auto()]
    );
    assert_eq!(
        intervals(&w(json!({"virtual_ip": dual, "advert_interval": 0.1}))),
        [fixed("0.1"), fixed("0.1")],
        "an explicit value is a fixed interval, even the ceiling's"
    );
    assert_eq!(
        intervals(&w(
            json!({"virtual_ip": "10.1.2.3", "advert_interval": 0.03})
        )),
        [fixed("0.03")]
    );
    // VRRPv2: whole seconds, fixed; its IPv6 twin instance is VRRPv3 and automatic.
    assert_eq!(
        intervals(&w(json!({"virtual_ip": dual, "vrrp_version": 2}))),
        [fixed("1"), auto()]
    );
    assert_eq!(
        intervals(&w(
            json!({"virtual_ip": dual, "vrrp_version": 2, "advert_interval": 2})
        )),
        [fixed("2"), fixed("2")]
    );
    // Unicast changes nothing about the interval.
    assert_eq!(
        intervals(&w(json!({"virtual_ip": "10.1.2.3", "unicast": true}))),
        [auto()]
    );
}

/// Issue 13: the automatic interval falls back to a fixed 0.1 s while the previous charm's
/// keepalived may be in the group, and is automatic again once every peer is ours.
#[test]
fn keepalived_in_the_group_means_a_fixed_interval() {
    let dual = json!({"virtual_ip": "10.1.2.3/16 2001:db8::10/64"});
    let base = world(dual.clone(), 1, Event::ConfigChanged);
    assert_eq!(keepalived_may_be_in_group(&base), None);
    assert_eq!(intervals(&base), [auto(), auto()]);
    // The old daemon on this host (running, or only enabled), or replaced here: v2-compat, fixed.
    for l in [
        legacy(true, true, false),
        legacy(false, true, false),
        legacy(false, false, true),
    ] {
        let mut w = base.clone();
        w.legacy = l;
        let why = keepalived_may_be_in_group(&w).expect("keepalived may be in the group");
        assert!(why.contains("VRRPv2-compatible"), "{why}");
        assert_eq!(intervals(&w), [fixed("0.1"), fixed("0.1")], "{l:?}");
        let conf = text(&run_plan(&w).config);
        assert!(conf.contains("vrrpd_v2_compat") && !conf.contains("vrrpd_adaptive_interval"));
    }
    // A peer says it replaced the old daemon (this unit was added during the refresh).
    let mut w = base.clone();
    w.peers.as_mut().unwrap().peers[2]
        .data
        .insert(PEER_KEY_LEGACY.into(), "1".into());
    assert_eq!(intervals(&w), [fixed("0.1"), fixed("0.1")]);
    // A peer without our keys (Juju's own only: it may run the old charm, which had no peer
    // endpoint): fixed, for both families; our keys may also be present with empty values.
    for data in [
        seeded("192.0.2.13"),
        bag(&[("vrrp-ipv4", ""), ("vrrp-ipv6", ""), ("vrrp-role", "")]),
    ] {
        let mut w = base.clone();
        w.peers.as_mut().unwrap().peers[1].data = data;
        assert_eq!(
            keepalived_may_be_in_group(&w).as_deref(),
            Some("keepalived/2 may still run the previous charm")
        );
        assert_eq!(intervals(&w), [fixed("0.1"), fixed("0.1")]);
        assert!(!text(&run_plan(&w).config).contains("vrrpd_v2_compat"));
        // ... until it publishes this charm's presence (any hook) or one address (either
        // family, as this charm's earlier versions did): automatic again.
        for (k, v) in [(PEER_KEY_CHARM, "1"), (PEER_KEY_V6, "2001:db8::13")] {
            let mut w = w.clone();
            w.peers.as_mut().unwrap().peers[1]
                .data
                .insert(k.into(), v.into());
            assert_eq!(keepalived_may_be_in_group(&w), None);
            assert_eq!(intervals(&w), [auto(), auto()]);
        }
    }
    // No peer relation yet, or no peers: nothing but this unit, automatic.
    let mut w = base.clone();
    w.peers.as_mut().unwrap().peers.clear();
    assert_eq!(intervals(&w), [auto(), auto()]);
    w.peers = None;
    assert_eq!(intervals(&w), [auto(), auto()]);
    // An explicit interval is fixed either way; VRRPv2 keeps its whole seconds.
    let mut w = world(
        json!({"virtual_ip": "10.1.2.3", "vrrp_version": 2}),
        1,
        Event::ConfigChanged,
    );
    w.legacy = legacy(false, false, true);
    assert_eq!(intervals(&w), [fixed("1")]);
}

/// After a refresh from the previous charm, VRRPv2 compatibility and the fixed interval end once
/// every principal unit on `lb-sink` has a unit of this charm beside it and no host has the old
/// daemon; every missing piece of evidence keeps them on.
#[test]
fn compatibility_ends_once_every_principal_unit_runs_this_charm() {
    use crate::charm::legacy::{refresh_complete, PEER_KEY_LEGACY_PRESENT, PEER_KEY_PRINCIPAL};
    let mut done = world(
        json!({"virtual_ip": "10.1.2.3/16"}),
        0,
        Event::ConfigChanged,
    );
    done.legacy = legacy(false, false, true); // replaced here, stopped and disabled
    done.principal = Some("lb".into());
    done.principal_unit = Some("lb/0".into());
    let mut lb = vec!["lb/0".to_string()];
    for p in &mut done.peers.as_mut().unwrap().peers {
        let beside = format!("lb/{}", p.unit.number);
        p.data = bag(&[
            (PEER_KEY_CHARM, "1"),
            (PEER_KEY_LEGACY, "1"),
            (PEER_KEY_LEGACY_PRESENT, ""),
            (PEER_KEY_PRINCIPAL, &beside),
            ("vrrp-ipv4", "192.0.2.20"),
        ]);
        lb.push(beside);
    }
    done.lb_units = Some(lb);
    assert!(refresh_complete(&done));
    assert!(!v2_compat_needed(&done));
    assert_eq!(keepalived_may_be_in_group(&done), None);
    assert_eq!(intervals(&done), [auto()]);
    let r = run_plan(&done);
    assert!(!text(&r.config).contains("vrrpd_v2_compat"));
    assert!(!r.legacy_note);
    // This unit publishes where it runs and that its host has no old daemon.
    let peer = r.peer_publish.expect("peer write");
    assert_eq!(peer.changes[PEER_KEY_PRINCIPAL], "lb/0");
    assert_eq!(
        peer.changes.get(PEER_KEY_LEGACY_PRESENT),
        None,
        "empty: not written"
    );

    let still_on = |why: &str, w: &World| {
        assert!(!refresh_complete(w), "{why}");
        assert!(v2_compat_needed(w), "{why}");
        assert_eq!(intervals(w), [fixed("0.1")], "{why}");
        assert!(
            text(&run_plan(w).config).contains("vrrpd_v2_compat"),
            "{why}"
        );
    };
    let mut w = done.clone();
    w.legacy = legacy(false, true, true);
    still_on("the old daemon is still enabled here", &w);
    let mut w = done.clone();
    w.lb_units = None;
    still_on("no lb-sink relation names the principal", &w);
    let mut w = done.clone();
    w.lb_units.as_mut().unwrap().push("lb/9".into());
    still_on("a principal unit with no unit of this charm beside it", &w);
    let mut w = done.clone();
    w.lb_units.as_mut().unwrap().retain(|u| u != "lb/0");
    still_on("this unit's principal is not on lb-sink", &w);
    let mut w = done.clone();
    w.principal_unit = None;
    still_on("no principal unit", &w);
    let mut w = done.clone();
    w.peers.as_mut().unwrap().peers[1]
        .data
        .insert(PEER_KEY_LEGACY_PRESENT.into(), "1".into());
    still_on("a peer's host still has the old daemon", &w);
    let mut w = done.clone();
    w.peers.as_mut().unwrap().peers[2]
        .data
        .remove(PEER_KEY_PRINCIPAL);
    still_on("a peer of an earlier revision (no principal-unit)", &w);
    let mut w = done.clone();
    w.peers.as_mut().unwrap().peers[0]
        .data
        .remove(PEER_KEY_CHARM);
    still_on("a peer that has not said it runs this charm", &w);
}
