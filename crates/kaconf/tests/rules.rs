//! One test per syntax feature and validation rule, through the public API, each checking
//! the exact line and a fragment of the message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use kaconf::{parse_str, ConfigError, InitialState, Loaded, Version};

fn ok(text: &str) -> Loaded {
    parse_str(text, "t.conf").unwrap_or_else(|e| panic!("should parse:\n{e}"))
}

fn err(text: &str) -> ConfigError {
    match parse_str(text, "t.conf") {
        Ok(l) => panic!("should fail: {:#?}", l.config),
        Err(e) => e,
    }
}

fn has_error(e: &ConfigError, line: u32, frag: &str) {
    let want = format!("t.conf:{line}: error: ");
    assert!(
        e.errors
            .iter()
            .any(|d| d.to_string().starts_with(&want) && d.message.contains(frag)),
        "expected {want}…{frag} in:\n{e}"
    );
}

fn has_warning(l: &Loaded, line: u32, frag: &str) {
    let want = format!("t.conf:{line}: warning: ");
    assert!(
        l.warnings
            .iter()
            .any(|d| d.to_string().starts_with(&want) && d.message.contains(frag)),
        "expected {want}…{frag} in {:#?}",
        l.warnings
    );
}

/// An instance with the given extra lines (line 1 is `vrrp_instance V {`, extras start at line 5).
fn inst(extra: &str) -> String {
    format!("vrrp_instance V {{\n    interface eth0\n    virtual_router_id 5\n    virtual_ipaddress {{ 192.0.2.1 }}\n{extra}}}\n")
}

#[test]
fn defaults_resolved() {
    let l = ok(&inst(""));
    let i = &l.config.instances[0];
    assert_eq!(
        (i.priority, i.initial_state, i.version),
        (100, InitialState::Backup, Version::V2)
    );
    assert_eq!(i.vips[0].prefix_len, 32);
    assert!(l.warnings.is_empty());
}

#[test]
fn state_master_without_priority_means_255() {
    let i = &ok(&inst("state MASTER\n")).config.instances[0];
    assert_eq!(i.priority, 255);
    let i = &ok(&inst("priority 255\n")).config.instances[0];
    assert_eq!(i.initial_state, InitialState::Master);
}

#[test]
fn vrid_required_and_in_range() {
    has_error(
        &err("vrrp_instance V {\n interface eth0\n}\n"),
        1,
        "virtual_router_id must be set",
    );
    has_error(
        &err(&inst("virtual_router_id 0\n")),
        5,
        "outside the range [1, 255]",
    );
}

#[test]
fn priority_range() {
    has_error(
        &err(&inst("priority 256\n")),
        5,
        "priority: '256' is outside the range [1, 255]",
    );
}

#[test]
fn nopreempt_with_priority_255_warns() {
    let l = ok(&inst("priority 255\nnopreempt\n"));
    has_warning(&l, 6, "nopreempt is incompatible with priority 255");
    assert!(l.config.instances[0].preempt);
}

#[test]
fn preempt_delay_with_nopreempt_warns() {
    let l = ok(&inst("nopreempt\npreempt_delay 3\n"));
    has_warning(&l, 6, "preempt_delay is incompatible with nopreempt");
    assert_eq!(l.config.instances[0].preempt_delay, Duration::ZERO);
}

#[test]
fn advert_int_v2_rounds_with_warning() {
    let l = ok(&inst("advert_int 0.4\n"));
    has_warning(
        &l,
        5,
        "VRRPv2 advert_int must be whole seconds; 0.4s rounded to 1s",
    );
    assert_eq!(l.config.instances[0].advert_int, Duration::from_secs(1));
    let l = ok(&inst("advert_int 2.5\n"));
    assert_eq!(l.config.instances[0].advert_int, Duration::from_secs(3));
}

#[test]
fn advert_int_v3_rounds_to_centiseconds_and_has_a_range() {
    let l = ok(&inst("version 3\nadvert_int 0.015\n"));
    has_warning(&l, 6, "units of 10 ms");
    assert_eq!(l.config.instances[0].advert_int, Duration::from_millis(20));
    has_error(
        &err(&inst("version 3\nadvert_int 41\n")),
        6,
        "at most 40.95s",
    );
    has_error(
        &err(&inst("advert_int 0.001\n")),
        5,
        "advert_int: '0.001' is outside the range",
    );
    has_error(
        &err(&inst("advert_int 256\n")),
        5,
        "outside the range [0.01, 255]",
    );
}

#[test]
fn version_from_global_and_ipv6() {
    let l = ok(&format!(
        "global_defs {{\n vrrp_version 3\n}}\n{}",
        inst("")
    ));
    assert_eq!(l.config.instances[0].version, Version::V3);
    let text = "vrrp_instance V {\n interface eth0\n virtual_router_id 5\n version 2\n virtual_ipaddress {\n 2001:db8::1\n }\n}\n";
    has_error(&err(text), 4, "IPv6 requires VRRP version 3");
}

#[test]
fn mixed_families_in_one_block() {
    let text = "vrrp_instance V {\n interface eth0\n virtual_router_id 5\n virtual_ipaddress {\n 192.0.2.1\n 2001:db8::1\n }\n}\n";
    has_error(
        &err(text),
        6,
        "not the same address family as 192.0.2.1 (line 5)",
    );
}

#[test]
fn excluded_vips_may_mix_families() {
    let l = ok(&inst(
        "virtual_ipaddress_excluded {\n 2001:db8::1/64\n 192.0.2.9/24\n}\n",
    ));
    assert_eq!(l.config.instances[0].excluded_vips.len(), 2);
}

#[test]
fn invalid_prefix_and_options() {
    has_error(
        &err(&inst("virtual_ipaddress {\n 192.0.2.2/40\n}\n")),
        6,
        "invalid prefix length",
    );
    has_error(
        &err(&inst("virtual_ipaddress {\n 192.0.2.2 frob\n}\n")),
        6,
        "unknown option 'frob'",
    );
    has_error(
        &err(&inst("virtual_ipaddress {\n 192.0.2.2 dev\n}\n")),
        6,
        "'dev' needs a value",
    );
    has_error(
        &err(&inst("virtual_ipaddress {\n 192.0.2.1\n}\n")),
        6,
        "duplicate virtual address 192.0.2.1",
    );
}

#[test]
fn auth_rules() {
    has_error(
        &err(&inst(
            "version 3\nauthentication {\n auth_type PASS\n auth_pass x\n}\n",
        )),
        1,
        "only possible with VRRP version 2",
    );
    has_error(
        &err(&inst("authentication {\n auth_type AH\n auth_pass x\n}\n")),
        6,
        "AH is not supported",
    );
    has_error(
        &err(&inst("authentication {\n auth_type PASS\n}\n")),
        5,
        "no auth_pass",
    );
    let l = ok(&inst(
        "authentication {\n auth_type PASS\n auth_pass 0123456789\n}\n",
    ));
    has_warning(&l, 7, "only the first 8 are used");
    assert_eq!(
        l.config.instances[0].auth.as_ref().unwrap().password,
        "01234567"
    );
}

#[test]
fn interface_required_unless_unicast() {
    let text = "vrrp_instance V {\n virtual_router_id 5\n virtual_ipaddress { 192.0.2.1 }\n}\n";
    has_error(
        &err(text),
        1,
        "'interface' is required unless unicast_peer is used",
    );
    let text = "vrrp_instance V {\n virtual_router_id 5\n unicast_src_ip 192.0.2.3\n unicast_peer {\n 192.0.2.4\n }\n virtual_ipaddress { 192.0.2.1 }\n}\n";
    assert!(ok(text).config.instances[0].interface.is_none());
    let text = "vrrp_instance V {\n virtual_router_id 5\n unicast_peer {\n 192.0.2.4\n }\n virtual_ipaddress { 192.0.2.1 }\n}\n";
    has_error(&err(text), 1, "need unicast_src_ip or interface");
}

#[test]
fn unicast_family_and_ttl_options() {
    has_error(
        &err(&inst("unicast_peer {\n 2001:db8::4\n}\n")),
        6,
        "unicast peer 2001:db8::4 is not of the instance's address family",
    );
    has_error(
        &err(&inst("unicast_src_ip 2001:db8::4\n")),
        5,
        "unicast_src_ip 2001:db8::4 is not of the instance's address family",
    );
    has_error(
        &err(&inst("unicast_peer {\n 192.0.2.4 min_ttl 9 max_ttl 3\n}\n")),
        6,
        "min_ttl 9 > max_ttl 3",
    );
    has_error(
        &err(&inst("unicast_peer {\n 192.0.2.4 ttl 9\n}\n")),
        6,
        "unknown unicast_peer option 'ttl'",
    );
}

#[test]
fn duplicate_instance_names_and_vrids() {
    let two = format!(
        "{}{}",
        inst(""),
        inst("").replace("virtual_router_id 5", "virtual_router_id 6")
    );
    has_error(
        &err(&two),
        6,
        "duplicate vrrp_instance name 'V' (first at t.conf:1)",
    );
    let two = format!(
        "{}{}",
        inst(""),
        inst("").replace("vrrp_instance V", "vrrp_instance W")
    );
    has_error(
        &err(&two),
        6,
        "uses VRID 5 (Ipv4) on interface eth0 like vrrp_instance V",
    );
    // Same VRID on another interface, or in the other family, is fine.
    let other_if = format!(
        "{}{}",
        inst(""),
        inst("")
            .replace("vrrp_instance V", "vrrp_instance W")
            .replace("eth0", "eth1")
    );
    ok(&other_if);
    let v6 = inst("")
        .replace("vrrp_instance V", "vrrp_instance W")
        .replace("192.0.2.1", "2001:db8::1");
    ok(&format!("{}{}", inst(""), v6));
}

#[test]
fn track_script_resolution() {
    let text = format!(
        "vrrp_script s {{\n script /bin/true\n weight 5\n}}\nvrrpd_check c {{\n tcp_connect 127.0.0.1 80\n}}\n{}",
        inst("track_script {\n s weight -7 reverse\n c\n nope\n}\n")
    );
    // The instance starts at line 8, so its extra lines start at 12.
    let e = err(&text);
    has_error(
        &e,
        15,
        "track_script 'nope' is not a defined vrrp_script or vrrpd_check",
    );
    assert_eq!(e.errors.len(), 1, "{e}");
    let l = ok(&text.replace(" nope\n", ""));
    let t = &l.config.instances[0].track_scripts;
    assert_eq!((t[0].weight, t[0].reverse, t[1].weight), (-7, true, 0));
}

#[test]
fn script_and_check_share_one_namespace() {
    let text =
        "vrrp_script x {\n script /bin/true\n}\nvrrpd_check x {\n tcp_connect 127.0.0.1 80\n}\n";
    has_error(
        &err(text),
        4,
        "duplicate check name 'x' (first defined at t.conf:1)",
    );
}

#[test]
fn script_argv_is_split_without_a_shell() {
    // keepalived splits twice: the line, then the command word. So a backslash-escaped
    // blank inside the double quotes needs doubling to survive.
    let l = ok("vrrp_script s {\n script \"/usr/bin/check --name 'a b' c\\ d e\\\\ f\"\n}\n");
    assert_eq!(
        l.config.scripts[0].argv,
        vec!["/usr/bin/check", "--name", "a b", "c", "d", "e f"]
    );
    has_error(
        &err("vrrp_script s {\n interval 2\n}\n"),
        1,
        "has no 'script'",
    );
    has_error(
        &err("vrrp_script s {\n script /bin/true\n interval 0.5\n}\n"),
        3,
        "not an unsigned integer",
    );
    has_error(
        &err("vrrp_script s {\n script /bin/true\n weight 254\n}\n"),
        3,
        "weight: '254' is outside the range [-253, 253]",
    );
}

#[test]
fn native_check_rules() {
    let l = ok("vrrpd_check c {\n http_get http://[2001:db8::1]/healthz\n interval 0.2\n}\n");
    let c = &l.config.checks[0];
    assert_eq!(c.timeout, Duration::from_millis(200));
    match &c.probe {
        kaconf::Probe::HttpGet {
            tls,
            host,
            port,
            path,
            status,
            ..
        } => {
            assert_eq!(
                (*tls, host.as_str(), *port, path.as_str(), *status),
                (false, "2001:db8::1", 80, "/healthz", None)
            );
        }
        other => panic!("{other:?}"),
    }
    has_error(
        &err("vrrpd_check c {\n http_get ftp://x/\n}\n"),
        2,
        "must start with http:// or https://",
    );
    has_error(
        &err("vrrpd_check c {\n tcp_connect 127.0.0.1 443\n interval 0\n}\n"),
        3,
        "outside the range [0.001, 3600]",
    );
    has_error(
        &err("vrrpd_check c {\n tcp_connect 127.0.0.1 443\n interval 0.0005\n}\n"),
        3,
        "more precision than milliseconds",
    );
    has_error(
        &err("vrrpd_check c {\n interval 1\n}\n"),
        1,
        "needs a probe",
    );
    has_error(
        &err("vrrpd_check c {\n tcp_connect localhost 443\n}\n"),
        2,
        "'localhost' is not a valid IP address",
    );
    let l = ok("vrrpd_check c {\n tcp_connect 127.0.0.1 443 watch\n interval 2\n}\n");
    assert_eq!(
        l.config.checks[0].probe,
        kaconf::Probe::TcpConnect {
            addr: "127.0.0.1:443".parse().unwrap(),
            watch: true
        }
    );
    has_error(
        &err("vrrpd_check c {\n tcp_connect 127.0.0.1 443 hold\n}\n"),
        2,
        "unknown option 'hold'",
    );
    has_error(
        &err("vrrpd_check c {\n tcp_connect 127.0.0.1 443\n http_get http://x/\n}\n"),
        3,
        "more than one probe",
    );
}

#[test]
fn strict_mode_is_rejected() {
    has_error(
        &err("global_defs {\n vrrp_strict\n}\n"),
        2,
        "vrrp_strict is not supported",
    );
}

#[test]
fn ignored_and_unknown_keywords() {
    let l = ok(&inst(
        "use_vmac\nnotify_master /bin/true\nvirtual_routes {\n 10.0.0.0/8 via 192.0.2.254\n}\n",
    ));
    has_warning(
        &l,
        5,
        "keyword 'use_vmac' in vrrp_instance is not implemented by vrrpd; ignored",
    );
    has_warning(&l, 7, "block 'virtual_routes'");
    assert_eq!(l.warnings.len(), 3);
    has_error(
        &err("frobnicate {\n x\n}\n"),
        1,
        "unknown keyword 'frobnicate' in the top level",
    );
    has_error(
        &err("global_defs {\n frob 1\n}\n"),
        2,
        "unknown keyword 'frob' in global_defs",
    );
}

#[test]
fn bool_values() {
    let l = ok(&inst(
        "lower_prio_no_advert off\nhigher_prio_send_advert yes\n",
    ));
    let i = &l.config.instances[0];
    assert!(!i.lower_prio_no_advert && i.higher_prio_send_advert);
    has_error(
        &err(&inst("lower_prio_no_advert maybe\n")),
        5,
        "'maybe' is not a boolean",
    );
}

#[test]
fn global_garp_inheritance() {
    let g = "global_defs {\n vrrp_garp_master_delay 2\n vrrp_garp_master_repeat 4\n vrrp_garp_lower_prio_repeat 1\n vrrp_down_timer_adverts 4\n}\n";
    let l = ok(&format!("{g}{}", inst("garp_master_repeat 7\n")));
    let i = &l.config.instances[0];
    assert_eq!(i.garp.master_delay, Duration::from_secs(2));
    assert_eq!(i.garp.master_repeat, 7);
    assert_eq!(i.garp.lower_prio_delay, Duration::from_secs(2));
    assert_eq!(i.garp.lower_prio_repeat, 1);
    assert_eq!(i.down_timer_adverts, 4);
    has_error(&err(&inst("garp_master_delay 1.5\n")), 5, "whole seconds");
    has_error(&err(&inst("down_timer_adverts 101\n")), 5, "[1, 100]");
}

#[test]
fn definitions_expand() {
    let l = ok("$VRID=42\n$IF=eth3\nvrrp_instance V {\n interface $IF\n virtual_router_id ${VRID}\n virtual_ipaddress { 192.0.2.1 }\n}\n");
    let i = &l.config.instances[0];
    assert_eq!((i.vrid, i.interface.as_deref()), (42, Some("eth3")));
}

#[test]
fn includes_cycles_depth_and_missing_files() {
    let d = tempfile::tempdir().unwrap();
    let a = d.path().join("a.conf");
    std::fs::write(&a, "include b.conf\n").unwrap();
    std::fs::write(d.path().join("b.conf"), "\ninclude a.conf\n").unwrap();
    let e = kaconf::load(&a).unwrap_err();
    assert!(
        e.errors[0]
            .to_string()
            .contains("b.conf:2: error: include cycle"),
        "{e}"
    );

    std::fs::write(&a, "include missing.conf\ninclude none-*.conf\n").unwrap();
    let e = kaconf::load(&a).unwrap_err();
    assert!(
        e.errors[0]
            .to_string()
            .ends_with("a.conf:1: error: include 'missing.conf': file not found"),
        "{e}"
    );
    assert!(
        e.warnings[0]
            .to_string()
            .contains("a.conf:2: warning: include 'none-*.conf' matches no file"),
        "{e:?}"
    );

    // A chain deeper than the bound stops with an error instead of recursing forever.
    for n in 0..20 {
        std::fs::write(
            d.path().join(format!("d{n}.conf")),
            format!("include d{}.conf\n", n + 1),
        )
        .unwrap();
    }
    std::fs::write(d.path().join("d20.conf"), "").unwrap();
    let e = kaconf::load(&d.path().join("d0.conf")).unwrap_err();
    assert!(
        e.to_string().contains("include nesting deeper than 16"),
        "{e}"
    );
}

#[test]
fn config_error_display_is_one_line_per_error() {
    let e = err("vrrp_instance A {\n interface eth0\n}\nvrrp_instance B {\n}\n");
    let text = e.to_string();
    assert_eq!(text.lines().count(), e.errors.len());
    assert!(e.errors.len() >= 2);
    assert!(
        text.lines()
            .all(|l| l.starts_with("t.conf:") && l.contains(": error: ")),
        "{text}"
    );
}

#[test]
fn braces_on_one_line_and_comments() {
    let l = ok("vrrp_instance V { # comment\n interface eth0 ! another\n virtual_router_id 5\n virtual_ipaddress { 192.0.2.1/24 } }\n");
    assert_eq!(l.config.instances[0].vips[0].prefix_len, 24);
}

/// Our own global keywords: `vrrpd_metrics_listen ADDR:PORT` and `vrrpd_handoff_timeout S`.
#[test]
fn vrrpd_global_keywords() {
    let l =
        ok("global_defs {\n vrrpd_metrics_listen 127.0.0.1:9650\n vrrpd_handoff_timeout 0.75\n}\n");
    assert_eq!(
        l.config.global.metrics_listen,
        Some("127.0.0.1:9650".parse().unwrap())
    );
    assert_eq!(
        l.config.global.handoff_timeout,
        Some(Duration::from_millis(750))
    );
    let l = ok("global_defs {\n vrrpd_metrics_listen [::1]:9650\n vrrpd_handoff_timeout 0\n}\n");
    assert_eq!(
        l.config.global.metrics_listen,
        Some("[::1]:9650".parse().unwrap())
    );
    assert_eq!(l.config.global.handoff_timeout, Some(Duration::ZERO));
    let d = ok("global_defs {\n router_id x\n}\n");
    assert_eq!(d.config.global.metrics_listen, None);
    assert_eq!(d.config.global.handoff_timeout, None);
    has_error(
        &err("global_defs {\n vrrpd_metrics_listen 127.0.0.1\n}\n"),
        2,
        "is not ADDR:PORT",
    );
    has_error(
        &err("global_defs {\n vrrpd_handoff_timeout 61\n}\n"),
        2,
        "vrrpd_handoff_timeout",
    );
}

/// Our instance flag `vrrpd_v2_compat` (RFC 5798 §8.4): only on a VRRPv3 IPv4 instance.
#[test]
fn vrrpd_v2_compat_flag() {
    let inst = |extra: &str, vip: &str| {
        format!("vrrp_instance V {{\n interface eth0\n virtual_router_id 5\n{extra} virtual_ipaddress {{ {vip} }}\n}}\n")
    };
    let l = ok(&inst(" version 3\n vrrpd_v2_compat\n", "192.0.2.1/24"));
    assert!(l.config.instances[0].v2_compat);
    let l = ok(&inst(" version 3\n", "192.0.2.1/24"));
    assert!(!l.config.instances[0].v2_compat);
    let l = ok(&inst(
        " version 3\n vrrpd_v2_compat false\n",
        "192.0.2.1/24",
    ));
    assert!(!l.config.instances[0].v2_compat);
    has_error(
        &err(&inst(" vrrpd_v2_compat\n", "192.0.2.1/24")),
        1,
        "vrrpd_v2_compat needs a VRRP version 3 IPv4 instance",
    );
    has_error(
        &err(&inst(" vrrpd_v2_compat\n", "2001:db8::1/64")),
        1,
        "vrrpd_v2_compat needs a VRRP version 3 IPv4 instance",
    );
}

/// Our instance keyword `vrrpd_garp_burst` (issue 13): decimal seconds, ms resolution,
/// strictly ascending, 1..=8 offsets, each ≤ 10 s; absent = none (keepalived's behaviour).
#[test]
fn vrrpd_garp_burst_offsets() {
    let inst = |extra: &str| {
        format!("vrrp_instance V {{\n interface eth0\n virtual_router_id 5\n version 3\n{extra} virtual_ipaddress {{ 192.0.2.1/24 }}\n}}\n")
    };
    let ms = std::time::Duration::from_millis;
    let l = ok(&inst(" vrrpd_garp_burst 0.005 0.02 0.1\n"));
    assert_eq!(l.config.instances[0].garp_burst, [ms(5), ms(20), ms(100)]);
    assert!(ok(&inst("")).config.instances[0].garp_burst.is_empty());
    for (bad, why) in [
        (" vrrpd_garp_burst 0.02 0.005\n", "strictly ascending"),
        (" vrrpd_garp_burst 0.005 0.005\n", "strictly ascending"),
        (
            " vrrpd_garp_burst 0.0005\n",
            "more precision than milliseconds",
        ),
        (" vrrpd_garp_burst 11\n", "vrrpd_garp_burst"),
        (" vrrpd_garp_burst 1 2 3 4 5 6 7 8 9\n", "vrrpd_garp_burst"),
        (" vrrpd_garp_burst\n", "vrrpd_garp_burst"),
    ] {
        has_error(&err(&inst(bad)), 5, why);
    }
}

/// Our instance keyword `vrrpd_adaptive_interval FLOOR` (issue 13): whole centiseconds, VRRPv3
/// only, not with `vrrpd_v2_compat` (VRRPv2 peers require equal intervals), at most
/// `advert_int`; absent = a fixed interval.
#[test]
fn vrrpd_adaptive_interval_floor() {
    let inst = |extra: &str| {
        format!("vrrp_instance V {{\n interface eth0\n virtual_router_id 5\n{extra} virtual_ipaddress {{ 192.0.2.1/24 }}\n}}\n")
    };
    let ms = std::time::Duration::from_millis;
    let l = ok(&inst(
        " version 3\n advert_int 0.1\n vrrpd_adaptive_interval 0.03\n",
    ));
    assert_eq!(l.config.instances[0].adaptive_interval, Some(ms(30)));
    assert_eq!(
        ok(&inst(" version 3\n")).config.instances[0].adaptive_interval,
        None
    );
    for (bad, line, why) in [
        (
            " version 3\n vrrpd_adaptive_interval 0.035\n",
            5,
            "more precision than centiseconds",
        ),
        (
            " version 3\n vrrpd_adaptive_interval 0\n",
            5,
            "vrrpd_adaptive_interval",
        ),
        (
            " version 3\n vrrpd_adaptive_interval\n",
            5,
            "vrrpd_adaptive_interval",
        ),
        (
            " version 3\n advert_int 0.1\n vrrpd_adaptive_interval 0.2\n",
            6,
            "vrrpd_adaptive_interval is above advert_int",
        ),
        (
            " version 2\n vrrpd_adaptive_interval 0.03\n",
            5,
            "vrrpd_adaptive_interval needs VRRP version 3",
        ),
        (
            " version 3\n vrrpd_v2_compat\n advert_int 0.1\n vrrpd_adaptive_interval 0.03\n",
            7,
            "cannot be used with vrrpd_v2_compat",
        ),
    ] {
        has_error(&err(&inst(bad)), line, why);
    }
}
