use super::*;
use crate::charm::tlscheck::ServedCert;
use serde_json::{json, Value};

fn cfg(v: Value) -> CharmConfig {
    match v {
        Value::Object(m) => CharmConfig::from_json(&m).unwrap(),
        _ => panic!("object"),
    }
}

fn check(served: Result<ServedCert, CheckError>) -> CertCheck {
    CertCheck {
        endpoint: "127.0.0.1:443".parse().unwrap(),
        served,
    }
}

fn cert(ips: &[&str], dns: &[&str]) -> Result<ServedCert, CheckError> {
    Ok(ServedCert {
        ips: ips.iter().map(|s| s.parse().unwrap()).collect(),
        dns: dns.iter().map(|s| s.to_string()).collect(),
    })
}

#[test]
fn the_status_note_names_the_missing_sans_and_the_command() {
    let c = cfg(json!({"virtual_ip":"10.10.74.250/24","vip_hostname":"test.example.com"}));
    let req = required(&c);
    let f = Finding::of(&check(cert(&["10.0.0.5"], &["lb-0"])), &req);
    assert_eq!(
        note(&f, DEFAULT_LB_APP),
        Some(CertNote {
            text: r#"LB cert lacks SAN(s) 10.10.74.250 test.example.com: juju config kubeapi-load-balancer extra_sans="10.10.74.250 test.example.com""#.into(),
            missing_sans: true,
        })
    );
    let f = Finding::of(&check(cert(&["10.10.74.250"], &[])), &req);
    assert_eq!(
        note(&f, "my-lb").unwrap().text,
        r#"LB cert lacks SAN(s) test.example.com: juju config my-lb extra_sans="test.example.com""#
    );
    let f = Finding::of(&check(cert(&["10.10.74.250"], &["test.example.com"])), &req);
    assert_eq!(f, Finding::Complete);
    assert_eq!(note(&f, DEFAULT_LB_APP), None);
}

#[test]
fn unreadable_endpoints_are_a_short_note_not_a_san_problem() {
    let c = cfg(json!({"virtual_ip":"10.10.74.250"}));
    let req = required(&c);
    for (err, text) in [
        (
            CheckError::Probe(ProbeError::Connect(
                "Connection refused (os error 111)".into(),
            )),
            "LB not answering TLS on 127.0.0.1:443",
        ),
        (
            CheckError::Probe(ProbeError::Handshake("timed out".into())),
            "LB not answering TLS on 127.0.0.1:443",
        ),
        (
            CheckError::Probe(ProbeError::NoCertificate),
            "LB served no certificate on 127.0.0.1:443",
        ),
        (
            CheckError::Probe(ProbeError::Certificate("bad DER".into())),
            "LB certificate on 127.0.0.1:443 unreadable",
        ),
        (
            CheckError::Unavailable("bin/vrrpd: No such file or directory".into()),
            "LB certificate on 127.0.0.1:443 not checked (probe failed)",
        ),
    ] {
        let n = note(&Finding::of(&check(Err(err)), &req), DEFAULT_LB_APP).unwrap();
        assert_eq!(n.text, text);
        assert!(!n.missing_sans);
    }
}

#[test]
fn commands_cover_every_vip_and_bracket_ipv6_urls_only() {
    let c = cfg(
        json!({"virtual_ip":"2001:db8::10/64 10.10.74.250/24","port":6443,
        "vip_hostname":"api.example.com"}),
    );
    let cmds = commands(&c, DEFAULT_LB_APP);
    assert_eq!(
        cmds.load_balancer,
        [
            r#"juju config kubeapi-load-balancer loadbalancer-ips="2001:db8::10 10.10.74.250""#,
            r#"juju config kubeapi-load-balancer extra_sans="2001:db8::10 10.10.74.250 api.example.com""#,
        ]
    );
    assert_eq!(
        cmds.control_plane,
        [
            r#"juju config kubernetes-control-plane extra_sans="2001:db8::10 10.10.74.250 api.example.com" loadbalancer-ips="2001:db8::10 10.10.74.250""#
        ]
    );
    assert!(cmds.notes.iter().any(|n| n.contains("merge")));
    assert!(cmds.notes.iter().any(|n| n.contains("only extra_sans")));
    assert_eq!(
        cmds.notes.last().map(String::as_str),
        Some("Clients reach the API through the VIP at https://[2001:db8::10]:6443.")
    );
    assert_eq!(
        url("10.10.74.250".parse().unwrap(), 443),
        "https://10.10.74.250:443"
    );
    let plain = commands(&cfg(json!({"virtual_ip":"10.10.74.250"})), "lb");
    assert!(!plain.notes.iter().any(|n| n.contains("only extra_sans")));
}

#[test]
fn action_results_and_report() {
    let c = cfg(json!({"virtual_ip":"10.10.74.250/24","vip_hostname":"test.example.com"}));
    let r = action_results(
        &check(cert(&["10.10.74.250"], &["lb-0"])),
        &c,
        DEFAULT_LB_APP,
    );
    let get = |k: &str| r.get(k).map(String::as_str);
    assert_eq!(get("result"), Some("missing-sans"));
    assert_eq!(get("missing"), Some("test.example.com"));
    assert_eq!(get("required"), Some("10.10.74.250 test.example.com"));
    assert_eq!(get("served.ip-sans"), Some("10.10.74.250"));
    assert_eq!(get("served.dns-sans"), Some("lb-0"));
    assert_eq!(get("endpoint"), Some("127.0.0.1:443"));
    assert_eq!(
        get("commands.load-balancer"),
        Some(
            "juju config kubeapi-load-balancer loadbalancer-ips=\"10.10.74.250\"\n\
             juju config kubeapi-load-balancer extra_sans=\"10.10.74.250 test.example.com\""
        )
    );
    assert!(get("error").is_none());
    // Every key is a valid action-set key.
    for k in r.keys() {
        assert!(
            k.chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "-.".contains(ch)),
            "{k}"
        );
    }
    let ok = action_results(
        &check(cert(&["10.10.74.250"], &["test.example.com"])),
        &c,
        DEFAULT_LB_APP,
    );
    assert_eq!(ok.get("result").map(String::as_str), Some("ok"));
    assert!(!ok.contains_key("missing"));
    let down = action_results(
        &check(Err(ProbeError::Connect("refused".into()).into())),
        &c,
        DEFAULT_LB_APP,
    );
    assert_eq!(down.get("result").map(String::as_str), Some("unreadable"));
    assert_eq!(
        down.get("error").map(String::as_str),
        Some("connect: refused")
    );
    assert!(!down.contains_key("served.ip-sans"));

    let report = action_report(&check(cert(&[], &[])), &c, DEFAULT_LB_APP);
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(
        lines[0],
        "The certificate served on 127.0.0.1:443 lacks SAN(s): 10.10.74.250 test.example.com"
    );
    assert!(
        lines.contains(&"# kubeapi-load-balancer (the certificate clients see through the VIP):")
    );
    assert!(lines.contains(
        &r#"juju config kubernetes-control-plane extra_sans="10.10.74.250 test.example.com" loadbalancer-ips="10.10.74.250""#
    ));
    assert!(lines
        .iter()
        .any(|l| l.starts_with("Note: extra_sans replaces")));
}
