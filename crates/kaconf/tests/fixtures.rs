//! Loads every fixture under tests/fixtures: valid ones must load (with the expected
//! values), invalid ones must fail with the expected line and reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use kaconf::{Family, InitialState, Probe, TrackKind, Version};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

fn load_ok(rel: &str) -> kaconf::Loaded {
    match kaconf::load(&fixture(rel)) {
        Ok(l) => l,
        Err(e) => panic!("{rel} should load:\n{e}"),
    }
}

#[test]
fn charm_classic_rendering() {
    let l = load_ok("valid/charm-classic.conf");
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    let c = &l.config;
    let s = &c.scripts[0];
    assert_eq!(s.name, "chk_svc_port");
    assert_eq!(s.argv, vec!["/bin/bash", "-c", "</dev/tcp/127.0.0.1/443"]);
    assert_eq!(s.interval, Duration::from_secs(2));
    assert_eq!(s.timeout, Duration::from_secs(2));
    assert_eq!((s.weight, s.rise, s.fall), (2, 1, 1));
    let i = &c.instances[0];
    assert_eq!(i.name, "VI_23");
    assert_eq!(i.location.line, 8);
    assert_eq!(i.initial_state, InitialState::Master);
    assert_eq!((i.vrid, i.priority), (23, 101));
    assert_eq!(i.version, Version::V2);
    assert_eq!(i.family, Family::Ipv4);
    assert_eq!(i.advert_int, Duration::from_secs(1));
    assert!(i.preempt);
    assert_eq!(i.vips.len(), 1);
    assert_eq!(i.vips[0].addr, "10.10.74.250".parse::<IpAddr>().unwrap());
    assert_eq!(i.vips[0].prefix_len, 24);
    assert_eq!(i.track_scripts[0].kind, TrackKind::Script);
    assert_eq!(i.track_scripts[0].weight, 2);
    assert_eq!(i.garp.master_repeat, 5);
    assert_eq!(i.garp.lower_prio_delay, Duration::from_secs(5));
    assert_eq!(i.down_timer_adverts, 3);
    assert!(i.accept);
    assert_eq!(i.unicast_ttl, 255);
}

#[test]
fn auth_pass() {
    let l = load_ok("valid/auth-pass.conf");
    let i = &l.config.instances[0];
    assert_eq!(l.config.global.router_id.as_deref(), Some("lb-1"));
    assert_eq!(i.auth.as_ref().unwrap().password, "s3cret");
    assert!(!i.preempt);
    assert_eq!(i.priority, 100);
    assert_eq!(i.initial_state, InitialState::Backup);
    let v = &i.vips[0];
    assert_eq!(
        (v.dev.as_deref(), v.label.as_deref(), v.prefix_len),
        (Some("eth0"), Some("eth0:vip"), 24)
    );
}

#[test]
fn unicast_v3() {
    let l = load_ok("valid/unicast-v3.conf");
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    let g = &l.config.global;
    assert_eq!(g.vrrp_version, Version::V3);
    assert_eq!(g.garp.master_delay, Duration::from_secs(1));
    assert_eq!(
        g.garp.lower_prio_delay,
        Duration::from_secs(1),
        "defaults to the master value"
    );
    assert_eq!(g.garp.lower_prio_repeat, 3);
    let i = &l.config.instances[0];
    assert!(i.is_unicast());
    assert_eq!(i.version, Version::V3);
    assert_eq!(i.advert_int, Duration::from_millis(100));
    assert_eq!(i.preempt_delay, Duration::from_millis(2500));
    assert_eq!(i.unicast_src_ip, Some("192.0.2.10".parse().unwrap()));
    assert_eq!(i.unicast_peers.len(), 2);
    assert_eq!(
        (i.unicast_peers[1].min_ttl, i.unicast_peers[1].max_ttl),
        (Some(250), Some(255))
    );
    assert_eq!(i.unicast_ttl, 64);
    assert_eq!(i.excluded_vips[0].family(), Family::Ipv6);
    assert_eq!(i.garp.master_refresh, Duration::from_secs(60));
    assert_eq!(i.garp.lower_prio_repeat, 2);
    assert_eq!(i.garp.lower_prio_delay, Duration::from_secs(1));
    assert_eq!(i.down_timer_adverts, 5);
    assert!(i.higher_prio_send_advert);
    assert!(!i.lower_prio_no_advert);
}

#[test]
fn ipv6_forces_v3_and_128() {
    let l = load_ok("valid/ipv6.conf");
    let i = &l.config.instances[0];
    assert_eq!((i.family, i.version), (Family::Ipv6, Version::V3));
    assert_eq!(i.advert_int, Duration::from_millis(500));
    assert_eq!(i.vips[1].prefix_len, 128);
    assert!(i.vips[1].dad && i.vips[1].no_track);
    assert!(!i.vips[0].dad);
}

#[test]
fn tracking_and_script_options() {
    let l = load_ok("valid/tracking.conf");
    let g = &l.config.global;
    assert!(g.enable_script_security);
    assert_eq!(g.script_user.as_ref().unwrap().user, "root");
    assert_eq!(g.startup_delay, Duration::from_millis(1500));
    let s = &l.config.scripts[0];
    assert_eq!(
        (s.weight, s.weight_reverse, s.rise, s.fall, s.init_fail),
        (-20, true, 2, 3, true)
    );
    assert_eq!(s.timeout, Duration::from_secs(3));
    let i = &l.config.instances[0];
    assert_eq!(i.track_scripts[0].weight, 30);
    assert!(i.track_scripts[0].reverse);
    assert_eq!(i.track_interfaces[0].name, "eth1");
    assert_eq!(i.track_interfaces[0].weight, 10);
    assert!(i.dont_track_primary && i.lower_prio_no_advert && i.higher_prio_send_advert);
    assert_eq!(i.vips[0].broadcast, Some("192.0.2.255".parse().unwrap()));
    assert_eq!(i.vips[0].scope.as_deref(), Some("global"));
}

#[test]
fn include_tree_relative_glob() {
    let l = load_ok("valid/include-tree/main.conf");
    assert_eq!(l.config.global.router_id.as_deref(), Some("inc-test"));
    let i = &l.config.instances[0];
    assert!(
        i.location.file.ends_with("conf.d/20-instance.conf"),
        "{}",
        i.location.file
    );
    assert_eq!(i.location.line, 1);
    assert_eq!(
        i.garp.master_repeat, 2,
        "global_defs from another included file applies"
    );
}

#[test]
fn native_checks() {
    let l = load_ok("valid/vrrpd-check.conf");
    let c = &l.config.checks;
    assert_eq!(
        c[0].probe,
        Probe::TcpConnect {
            addr: "127.0.0.1:443".parse::<SocketAddr>().unwrap(),
            watch: false,
        }
    );
    assert_eq!(
        (c[0].interval, c[0].timeout),
        (Duration::from_millis(100), Duration::from_millis(50))
    );
    assert_eq!((c[0].rise, c[0].fall, c[0].weight), (2, 1, 0));
    match &c[1].probe {
        Probe::HttpGet {
            tls,
            host,
            port,
            path,
            status,
            ..
        } => {
            assert!(*tls);
            assert_eq!(
                (host.as_str(), *port, path.as_str(), *status),
                ("127.0.0.1", 6443, "/readyz", Some(200))
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c[1].timeout, Duration::from_millis(250));
    let i = &l.config.instances[0];
    assert_eq!(i.track_scripts[0].kind, TrackKind::Check);
    assert_eq!(i.track_scripts[1].weight, -50);
    assert_eq!(i.advert_int, Duration::from_millis(50));
}

#[test]
fn ignored_keywords_warn_and_skip_blocks() {
    let l = load_ok("valid/ignored-keywords.conf");
    let lines: Vec<u32> = l.warnings.iter().map(|w| w.location.line).collect();
    // notification_email (2), smtp_server (5), max_auto_priority (6), vrrp_sync_group (8),
    // notify_master (17), virtual_server (29): nothing inside skipped blocks is reported.
    assert_eq!(lines, vec![2, 5, 6, 8, 17, 29], "{:#?}", l.warnings);
    assert!(l.warnings[3]
        .to_string()
        .contains("warning: block 'vrrp_sync_group'"));
    assert_eq!(l.config.instances.len(), 2);
}

/// (fixture, line, message fragment)
const INVALID: &[(&str, u32, &str)] = &[
    (
        "vrid-range.conf",
        3,
        "virtual_router_id: '300' is outside the range [1, 255]",
    ),
    (
        "unknown-keyword.conf",
        4,
        "unknown keyword 'bogus_keyword' in vrrp_instance VI_1",
    ),
    ("missing-vrid.conf", 1, "virtual_router_id must be set"),
    (
        "auth-v3.conf",
        1,
        "authentication is only possible with VRRP version 2",
    ),
    ("mixed-family.conf", 6, "is not the same address family"),
    (
        "unknown-track-script.conf",
        8,
        "track_script 'no_such_script' is not a defined vrrp_script or vrrpd_check",
    ),
    (
        "duplicate-vrid.conf",
        8,
        "uses VRID 9 (Ipv4) on interface eth0 like vrrp_instance VI_1",
    ),
    (
        "bad-address.conf",
        5,
        "'192.0.2.300' is not a valid IP address",
    ),
    (
        "unclosed-block.conf",
        1,
        "block 'vrrp_instance' is not closed",
    ),
    (
        "priority-range.conf",
        4,
        "priority: '0' is outside the range [1, 255]",
    ),
    (
        "rt-priority-range.conf",
        2,
        "vrrp_rt_priority: '150' is outside the range [1, 99]",
    ),
    (
        "rlimit-rttime-zero.conf",
        2,
        "vrrp_rlimit_rttime: '0' is outside the range [1, 4294967295]",
    ),
    (
        "unicast-peer-family.conf",
        5,
        "unicast peer 2001:db8::2 is not of the instance's address family",
    ),
];

#[test]
fn invalid_fixtures_fail_with_line_and_reason() {
    for (name, line, fragment) in INVALID {
        let path = fixture(&format!("invalid/{name}"));
        let err = match kaconf::load(&path) {
            Ok(l) => panic!("{name} should fail, got {:?}", l.config),
            Err(e) => e,
        };
        let text = err.to_string();
        let want = format!("{}:{line}: error: ", path.display());
        assert!(
            err.errors
                .iter()
                .any(|d| d.to_string().starts_with(&want) && d.message.contains(fragment)),
            "{name}: expected '{want}…{fragment}' in:\n{text}"
        );
    }
}

#[test]
fn every_fixture_is_covered() {
    let dir = fixture("invalid");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = INVALID.iter().map(|(n, _, _)| n.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

#[test]
fn scheduling_keywords() {
    let l = load_ok("valid/scheduling.conf");
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    let s = l.config.global.sched;
    assert_eq!(s.rt_priority, Some(50));
    assert_eq!(s.rlimit_rttime_us, 20_000);
    assert_eq!(s.nice, -5);
    // keepalived's defaults: no real-time priority, RLIMIT_RTTIME 10000 µs, nice unchanged.
    let d = load_ok("valid/charm-classic.conf").config.global.sched;
    assert_eq!(
        (d.rt_priority, d.rlimit_rttime_us, d.nice),
        (None, 10_000, 0)
    );
}

#[test]
fn model_serializes_for_snapshots() {
    let l = load_ok("valid/unicast-v3.conf");
    let json = serde_json::to_value(&l.config.instances[0]).unwrap();
    assert_eq!(json["vrid"], 51);
    assert_eq!(json["family"], "ipv4");
    assert_eq!(json["version"], "V3");
    assert_eq!(json["unicast_peers"][0]["addr"], "192.0.2.11");
}
