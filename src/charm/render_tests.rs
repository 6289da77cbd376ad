use super::*;

fn spec(unicast: bool, auth: bool, v6: bool) -> WorkerConfigSpec {
    let v4 = InstanceSpec {
        name: "VI_23".into(),
        interface: "eth0".into(),
        vrid: 23,
        priority: 250,
        version: if auth { 2 } else { 3 },
        advert_int: if auth { "1".into() } else { "0.1".into() },
        nopreempt: true,
        auth_pass: auth.then(|| "s3cret".into()),
        unicast,
        unicast_src: unicast.then(|| "192.0.2.11".into()),
        unicast_peers: if unicast {
            vec!["192.0.2.12".into(), "192.0.2.13".into()]
        } else {
            vec![]
        },
        vips: vec!["10.1.2.3/16".into(), "10.1.2.4/32".into()],
        v2_compat: false,
    };
    let mut instances = vec![v4];
    if v6 {
        instances.push(InstanceSpec {
            name: "VI6_23".into(),
            version: 3,
            advert_int: "0.1".into(),
            auth_pass: None,
            unicast_src: unicast.then(|| "2001:db8::11".into()),
            unicast_peers: if unicast {
                vec!["2001:db8::12".into()]
            } else {
                vec![]
            },
            vips: vec!["2001:db8::10/64".into()],
            ..instances[0].clone()
        });
    }
    WorkerConfigSpec {
        unit: "keepalived/0".into(),
        router_name: "keepalived-0".into(),
        check: CheckSpec {
            name: "chk_lb_port".into(),
            port: 443,
            interval: "2".into(),
        },
        metrics_listen: None,
        instances,
    }
}

/// Compares with a golden file; `UPDATE_GOLDEN=1` rewrites it.
fn golden(name: &str, got: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/charm/testdata")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        got, want,
        "golden {name} differs (UPDATE_GOLDEN=1 to accept)"
    );
}

#[test]
fn worker_config_matches_golden_files() {
    golden(
        "vrrpd-multicast.conf",
        &worker_config(&spec(false, false, false)).unwrap(),
    );
    golden(
        "vrrpd-unicast-dual.conf",
        &worker_config(&spec(true, false, true)).unwrap(),
    );
    golden(
        "vrrpd-v2-auth.conf",
        &worker_config(&spec(false, true, false)).unwrap(),
    );
}

#[test]
fn rendered_configs_parse_cleanly_with_the_workers_parser() {
    for (u, a, v6) in [
        (false, false, false),
        (true, false, true),
        (false, true, false),
        (true, true, true),
    ] {
        let text = worker_config(&spec(u, a, v6)).unwrap();
        let loaded =
            kaconf::parse_str(&text, "vrrpd.conf").unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert!(loaded.warnings.is_empty(), "{:?}\n{text}", loaded.warnings);
        let c = &loaded.config;
        assert_eq!(c.instances.len(), if v6 { 2 } else { 1 });
        let i = &c.instances[0];
        assert_eq!((i.vrid, i.priority, i.preempt), (23, 250, false));
        assert_eq!(i.interface.as_deref(), Some("eth0"));
        assert_eq!(i.vips.len(), 2);
        assert_eq!(
            i.auth.as_ref().map(|x| x.password.as_str()),
            a.then_some("s3cret")
        );
        assert_eq!(i.is_unicast(), u);
        assert_eq!(i.unicast_peers.len(), if u { 2 } else { 0 });
        assert_eq!(i.track_scripts.len(), 1);
        assert_eq!(c.checks.len(), 1);
        assert_eq!(c.checks[0].weight, 0);
        assert_eq!(c.checks[0].interval, std::time::Duration::from_secs(2));
        // The default check holds a connection to the load balancer: its death is seen at once.
        assert_eq!(
            c.checks[0].probe,
            kaconf::model::Probe::TcpConnect {
                addr: "127.0.0.1:443".parse().unwrap(),
                watch: true
            }
        );
        assert_eq!(c.global.metrics_listen, None);
    }
}

#[test]
fn metrics_listener_is_rendered_only_when_set() {
    for addr in ["127.0.0.1:9510", "[::1]:9510"] {
        let mut s = spec(false, false, false);
        s.metrics_listen = Some(addr.to_string());
        let text = worker_config(&s).unwrap();
        assert!(
            text.contains(&format!(
                "    router_id keepalived-0\n    vrrpd_metrics_listen {addr}\n}}"
            )),
            "{text}"
        );
        let loaded =
            kaconf::parse_str(&text, "vrrpd.conf").unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        assert_eq!(
            loaded.config.global.metrics_listen,
            Some(addr.parse().unwrap())
        );
    }
    let off = worker_config(&spec(false, false, false)).unwrap();
    assert!(!off.contains("metrics"), "{off}");
}

#[test]
fn unit_and_sysctl_files() {
    let unit = unit_file(&UnitSpec {
        binary: "/usr/local/sbin/vrrpd".into(),
        config: "/etc/vrrpd/vrrpd.conf".into(),
        state: "/run/vrrpd/state.json".into(),
        state_dir: "/run/vrrpd".into(),
    })
    .unwrap();
    golden("vrrpd.service", &unit);
    for line in [
        "ExecStartPre=/usr/local/sbin/vrrpd --check-config /etc/vrrpd/vrrpd.conf\n",
        "ExecStart=/usr/local/sbin/vrrpd --config /etc/vrrpd/vrrpd.conf --state-file /run/vrrpd/state.json\n",
        "ExecReload=/bin/kill -HUP $MAINPID\n",
        "ExecStopPost=/usr/local/sbin/vrrpd --cleanup --config /etc/vrrpd/vrrpd.conf\n",
        "Restart=always\n",
        "AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN CAP_IPC_LOCK\n",
        "LimitMEMLOCK=infinity\n",
    ] {
        assert!(unit.contains(line), "missing {line}");
    }
    assert_eq!(
        sysctl_file(true).unwrap(),
        "# Written by the keepalived charm: let the load balancer bind VIPs this unit does not hold.\n\
         net.ipv4.ip_nonlocal_bind=1\nnet.ipv6.ip_nonlocal_bind=1\n"
    );
}

#[test]
fn seconds_are_decimal_without_trailing_zeros() {
    assert_eq!(
        [
            seconds(100),
            seconds(10),
            seconds(5),
            seconds(4095),
            seconds(250)
        ],
        ["1", "0.1", "0.05", "40.95", "2.5"]
    );
}
