use super::*;
use serde_json::json;

fn parse(v: Value) -> Result<CharmConfig, ConfigErrors> {
    match v {
        Value::Object(m) => CharmConfig::from_json(&m),
        _ => panic!("test input must be an object"),
    }
}

fn err(v: Value) -> String {
    match parse(v) {
        Err(e) => e.to_string(),
        Ok(c) => panic!("expected an error, got {c:?}"),
    }
}

#[test]
fn defaults_of_the_old_charm_parse() {
    let c = parse(
        json!({"healthcheck_interval":2,"network_interface":"","port":443,"router_id":23,
        "vip_hostname":"","virtual_ip":""}),
    )
    .unwrap();
    assert!(c.vips.is_empty());
    assert_eq!((c.port, c.router_id, c.healthcheck_interval), (443, 23, 2));
    assert_eq!(c.vrrp_version, Version::V3);
    assert_eq!(c.advert_cs(Version::V3), 10);
    assert_eq!(c.advert_cs(Version::V2), 100);
    assert!(!c.preempt && !c.unicast && c.auth_pass.is_none());
    assert_eq!(c.network_interface, None);
    assert_eq!(c.vip_hostname, None);
    assert!(!c.strict_san_check && c.metrics_address.is_none());
}

#[test]
fn metrics_address_and_strict_san_check() {
    let c = parse(json!({"metrics_address":"127.0.0.1:9510","strict_san_check":true})).unwrap();
    assert_eq!(c.metrics_address, Some("127.0.0.1:9510".parse().unwrap()));
    assert!(c.strict_san_check);
    let c = parse(json!({"metrics_address":"[::1]:9510"})).unwrap();
    assert_eq!(
        c.metrics_address.map(|a| a.to_string()).as_deref(),
        Some("[::1]:9510")
    );
    assert_eq!(
        err(json!({"metrics_address":"localhost:9510"})),
        r#"metrics_address="localhost:9510": not ADDR:PORT (e.g. 127.0.0.1:9510, IPv6 as [::1]:9510)"#
    );
    assert_eq!(
        err(json!({"metrics_address":"::1:9510"})),
        r#"metrics_address="::1:9510": not ADDR:PORT (e.g. 127.0.0.1:9510, IPv6 as [::1]:9510)"#
    );
    assert_eq!(
        err(json!({"metrics_address":"127.0.0.1:0"})),
        r#"metrics_address="127.0.0.1:0": port must be between 1 and 65535"#
    );
    assert_eq!(
        err(json!({"metrics_address":"224.0.0.18:9510"})),
        r#"metrics_address="224.0.0.18:9510": a multicast address cannot be listened on"#
    );
    assert_eq!(
        err(json!({"metrics_address":"0.0.0.0:6443","port":6443})),
        r#"metrics_address="0.0.0.0:6443": uses the load balancer's port (option port)"#
    );
    assert_eq!(
        err(json!({"strict_san_check":"yes"})),
        r#"strict_san_check="yes": expected a boolean"#
    );
}

#[test]
fn vips_default_prefix_order_and_families() {
    let c = parse(json!({"virtual_ip":" 10.1.2.3/16  2001:db8::5 192.0.2.7 "})).unwrap();
    let shown: Vec<String> = c.vips.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["10.1.2.3/16", "2001:db8::5/128", "192.0.2.7/32"]);
    assert_eq!(c.families(), [Family::Ipv4, Family::Ipv6]);
    assert_eq!(c.vips_of(Family::Ipv6).len(), 1);
}

#[test]
fn vip_errors_name_option_value_and_reason() {
    assert_eq!(
        err(json!({"virtual_ip":"10.1.2.3/33"})),
        r#"virtual_ip="10.1.2.3/33": prefix length 33 is out of range 1..32 for ipv4"#
    );
    assert_eq!(
        err(json!({"virtual_ip":"10.1.2.3/x"})),
        r#"virtual_ip="10.1.2.3/x": prefix length "x" is not a number"#
    );
    assert_eq!(
        err(json!({"virtual_ip":"10.1.2.300"})),
        r#"virtual_ip="10.1.2.300": "10.1.2.300" is not an IP address"#
    );
    assert_eq!(
        err(json!({"virtual_ip":"2001:db8::1/129"})),
        r#"virtual_ip="2001:db8::1/129": prefix length 129 is out of range 1..128 for ipv6"#
    );
    assert_eq!(
        err(json!({"virtual_ip":"10.0.0.1/0"})),
        r#"virtual_ip="10.0.0.1/0": prefix length 0 is out of range 1..32 for ipv4"#
    );
    assert_eq!(
        err(json!({"virtual_ip":"224.0.0.18"})),
        r#"virtual_ip="224.0.0.18": 224.0.0.18 is a multicast address, not a usable VIP"#
    );
    assert_eq!(
        err(json!({"virtual_ip":"127.0.0.1"})),
        r#"virtual_ip="127.0.0.1": 127.0.0.1 is a loopback address, not a usable VIP"#
    );
    assert_eq!(
        err(json!({"virtual_ip":"fe80::1"})),
        r#"virtual_ip="fe80::1": fe80::1 is a link-local address, not a usable VIP"#
    );
    assert_eq!(
        err(json!({"virtual_ip":"0.0.0.0"})),
        r#"virtual_ip="0.0.0.0": 0.0.0.0 is the unspecified address, not a usable VIP"#
    );
    assert_eq!(
        err(json!({"virtual_ip":"10.0.0.1 10.0.0.1/24"})),
        r#"virtual_ip="10.0.0.1 10.0.0.1/24": 10.0.0.1 is listed twice"#
    );
    let many: Vec<String> = (1..=21).map(|i| format!("10.0.0.{i}")).collect();
    let e = err(json!({"virtual_ip": many.join(" ")}));
    assert!(
        e.ends_with(": 21 ipv4 VIPs (at most 20 per address family)"),
        "{e}"
    );
}

#[test]
fn numeric_ranges() {
    assert_eq!(
        err(json!({"port":0})),
        "port=0: must be between 1 and 65535"
    );
    assert_eq!(
        err(json!({"port":65536})),
        "port=65536: must be between 1 and 65535"
    );
    assert_eq!(
        err(json!({"router_id":0})),
        "router_id=0: must be between 1 and 255"
    );
    assert_eq!(
        err(json!({"router_id":256})),
        "router_id=256: must be between 1 and 255"
    );
    assert_eq!(
        err(json!({"healthcheck_interval":0})),
        "healthcheck_interval=0: must be between 1 and 3600"
    );
    assert_eq!(
        err(json!({"vrrp_version":4})),
        "vrrp_version=4: must be 2 or 3"
    );
    assert_eq!(
        parse(json!({"port":1,"router_id":255})).unwrap().router_id,
        255
    );
}

#[test]
fn wrong_json_types_are_reported() {
    assert_eq!(
        err(json!({"port":"443"})),
        r#"port="443": expected an integer"#
    );
    assert_eq!(err(json!({"port":4.5})), "port=4.5: expected an integer");
    assert_eq!(
        err(json!({"preempt":"yes"})),
        r#"preempt="yes": expected a boolean"#
    );
    assert_eq!(
        err(json!({"virtual_ip":5})),
        "virtual_ip=5: expected a string"
    );
    assert_eq!(
        err(json!({"advert_interval":"1"})),
        r#"advert_interval="1": expected a number"#
    );
    assert_eq!(
        err(json!({"auth_pass":7})),
        "auth_pass=<hidden>: expected a string"
    );
}

#[test]
fn several_errors_are_joined() {
    assert_eq!(
        err(json!({"port":0,"router_id":0})),
        "port=0: must be between 1 and 65535; router_id=0: must be between 1 and 255"
    );
}

#[test]
fn hostname_and_interface() {
    assert_eq!(
        parse(json!({"vip_hostname":"api.example.com"}))
            .unwrap()
            .vip_hostname
            .as_deref(),
        Some("api.example.com")
    );
    assert_eq!(
        err(json!({"vip_hostname":"bad_name.example"})),
        r#"vip_hostname="bad_name.example": not a valid DNS name (dot-separated labels of letters, digits and inner hyphens)"#
    );
    assert_eq!(
        err(json!({"vip_hostname":"-a.b"})).split(':').next(),
        Some(r#"vip_hostname="-a.b""#)
    );
    assert_eq!(
        parse(json!({"network_interface":"ens3"}))
            .unwrap()
            .network_interface
            .as_deref(),
        Some("ens3")
    );
    assert_eq!(
        err(json!({"network_interface":"a-very-long-interface"})),
        r#"network_interface="a-very-long-interface": not a valid interface name (at most 15 printable characters, none of / : # ! { } \ or quotes)"#
    );
    // Characters that start comments or blocks in the worker's config dialect.
    for bad in ["eth#0", "eth!0", "eth{0", "eth}0", "eth\\0"] {
        assert!(
            err(json!({ "network_interface": bad })).contains("not a valid interface name"),
            "{bad}"
        );
    }
    assert!(
        err(json!({"network_interface":"eth0:1"})).starts_with(r#"network_interface="eth0:1": "#)
    );
}

#[test]
fn advert_interval_rules() {
    let v2 = |a: Value| json!({"vrrp_version":2,"advert_interval":a,"virtual_ip":"192.0.2.1"});
    let v3 = |a: Value| json!({"vrrp_version":3,"advert_interval":a,"virtual_ip":"192.0.2.1"});
    assert_eq!(parse(v2(json!(3))).unwrap().advert_cs(Version::V2), 300);
    assert_eq!(parse(v2(json!(0))).unwrap().advert_cs(Version::V2), 100);
    assert_eq!(parse(v3(json!(0.05))).unwrap().advert_cs(Version::V3), 5);
    assert_eq!(
        parse(v3(json!(40.95))).unwrap().advert_cs(Version::V3),
        4095
    );
    assert_eq!(
        err(v2(json!(0.5))),
        "advert_interval=0.5: VRRPv2 needs whole seconds between 1 and 255"
    );
    assert_eq!(
        err(v2(json!(256))),
        "advert_interval=256: VRRPv2 needs whole seconds between 1 and 255"
    );
    assert_eq!(
        err(v3(json!(41))),
        "advert_interval=41: VRRPv3 needs 0.01 to 40.95 seconds"
    );
    assert_eq!(
        err(v3(json!(0.005))),
        "advert_interval=0.005: must be a multiple of 0.01 seconds"
    );
    assert_eq!(
        err(v3(json!(-1))),
        "advert_interval=-1: must not be negative (0 means automatic)"
    );
    assert_eq!(
        err(json!({"vrrp_version":2,"advert_interval":60,"virtual_ip":"2001:db8::1"})),
        "advert_interval=60: IPv6 VIPs use VRRPv3, which allows 0.01 to 40.95 seconds"
    );
}

#[test]
fn auth_pass_rules_never_show_the_password() {
    let ok =
        parse(json!({"vrrp_version":2,"auth_pass":"s3cret","virtual_ip":"192.0.2.1"})).unwrap();
    assert_eq!(ok.auth_pass.as_ref().map(AuthPass::expose), Some("s3cret"));
    assert!(!format!("{ok:?}").contains("s3cret"));
    let cases = [
        (json!({"vrrp_version":2,"auth_pass":"toolongpw"}), "auth_pass=<hidden>: must be at most 8 characters (VRRPv2 limit)"),
        (
            json!({"vrrp_version":2,"auth_pass":"a b"}),
            "auth_pass=<hidden>: may contain only printable ASCII without spaces, quotes, '#', '!', braces or backslashes",
        ),
        (json!({"auth_pass":"s3cret"}), "auth_pass=<hidden>: needs vrrp_version=2 (VRRPv3 has no authentication)"),
        (
            json!({"vrrp_version":2,"auth_pass":"s3cret","virtual_ip":"2001:db8::1"}),
            "auth_pass=<hidden>: applies only to IPv4 VIPs (IPv6 uses VRRPv3), and virtual_ip has none",
        ),
    ];
    for (input, want) in cases {
        let got = err(input);
        assert_eq!(got, want);
        assert!(!got.contains("s3cret") && !got.contains("toolongpw"));
    }
}

/// Found by tests/hostile_input.rs: every duplicate or bad token repeated the whole value, so
/// a 165-byte `virtual_ip` made a 2 KB status, and 100 KiB of `192.0.2.1 ` would have made
/// gigabytes (and a status-set argument over the kernel's 128 KiB limit). Now one error per
/// option, values cut after 48 characters, at most three problems named.
#[test]
fn hostile_values_make_short_messages() {
    let dup = "192.0.2.1 ".repeat(10 * 1024);
    let e = err(json!({ "virtual_ip": dup }));
    assert_eq!(
        e,
        r#"virtual_ip="192.0.2.1 192.0.2.1 192.0.2.1 192.0.2.1 192.0.2"…(102400 bytes): 192.0.2.1 is listed twice"#
    );
    let ctrl = "\u{1}".repeat(100 * 1024);
    let e = err(json!({ "vip_hostname": ctrl, "virtual_ip": "x y z w 192.0.2.1/99" }));
    assert!(e.len() < 400, "{} bytes: {e}", e.len());
    assert!(
        e.starts_with(r#"virtual_ip="x y z w 192.0.2.1/99": "x" is not an IP address, "y" is not an IP address, "z" is not an IP address, and 2 more; vip_hostname="\u{1}\u{1}"#),
        "{e}"
    );
    let long_token = "A".repeat(100 * 1024);
    let e = err(json!({ "virtual_ip": long_token }));
    assert!(e.len() < 200, "{e}");
    assert_eq!(quoted("it's \"x\"\n"), r#""it's \"x\"\n""#);
}

#[test]
fn summary_keeps_whole_problems_within_the_budget() {
    let Err(e) = parse(json!({"port": 0, "router_id": 0, "healthcheck_interval": 0})) else {
        panic!("invalid");
    };
    assert_eq!(
        e.summary(1000),
        "port=0: must be between 1 and 65535; router_id=0: must be between 1 and 255; healthcheck_interval=0: must be between 1 and 3600"
    );
    assert_eq!(
        e.summary(60),
        "port=0: must be between 1 and 65535; and 2 more",
        "the first problem is always whole"
    );
    assert_eq!(
        e.summary(0),
        "port=0: must be between 1 and 65535; and 2 more"
    );
}
