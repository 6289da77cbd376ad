use super::*;
use std::os::unix::fs::PermissionsExt;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn served(ips: &[&str], dns: &[&str]) -> ServedCert {
    ServedCert {
        ips: ips.iter().map(|s| ip(s)).collect(),
        dns: dns.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn required_names_are_every_vip_then_the_hostname() {
    assert_eq!(
        required_names(
            &[ip("10.10.74.250"), ip("2001:db8::10")],
            Some("API.Example.com.")
        ),
        [
            SanName::Ip(ip("10.10.74.250")),
            SanName::Ip(ip("2001:db8::10")),
            SanName::Dns("api.example.com".into())
        ]
    );
    assert_eq!(required_names(&[ip("10.0.0.1")], Some("")).len(), 1);
    assert_eq!(required_names(&[], None), []);
}

#[test]
fn missing_compares_ip_sans_as_ips_and_dns_sans_as_names() {
    let req = required_names(
        &[ip("10.10.74.250"), ip("2001:db8::10")],
        Some("test.example.com"),
    );
    // Everything present (IPv6 written differently, DNS in another case).
    let all = served(
        &["10.10.74.250", "2001:0db8:0:0::10"],
        &["Test.Example.COM", "other"],
    );
    assert_eq!(missing(&req, &all), []);
    // The VIP as a DNS SAN does not count: clients dialling an IP check IP SANs.
    let wrong_kind = served(&["2001:db8::10"], &["10.10.74.250", "test.example.com"]);
    assert_eq!(
        missing(&req, &wrong_kind),
        [SanName::Ip(ip("10.10.74.250"))]
    );
    // Nothing at all: everything missing, in the required order.
    assert_eq!(missing(&req, &ServedCert::default()), req);
    // An IPv4-mapped IPv6 SAN covers the IPv4 VIP.
    let mapped = served(&["::ffff:10.10.74.250"], &[]);
    assert!(mapped.covers(&SanName::Ip(ip("10.10.74.250"))));
}

#[test]
fn wildcards_match_exactly_one_leftmost_label() {
    assert!(dns_matches("*.example.com", "api.example.com"));
    assert!(dns_matches("*.Example.com.", "API.example.com"));
    assert!(!dns_matches("*.example.com", "example.com"));
    assert!(!dns_matches("*.example.com", "a.b.example.com"));
    assert!(
        !dns_matches("*.com", "example.com"),
        "no public-suffix wildcards"
    );
    assert!(!dns_matches("api.*.com", "api.example.com"));
    assert!(dns_matches("api.example.com", "api.example.com."));
    assert!(!dns_matches("api.example.co", "api.example.com"));
    let w = served(&[], &["*.example.com"]);
    assert!(w.covers(&SanName::dns("lb.example.com")));
}

#[test]
fn display_is_what_operators_type() {
    assert_eq!(SanName::Ip(ip("2001:db8::10")).to_string(), "2001:db8::10");
    assert_eq!(SanName::dns("A.example.com").to_string(), "a.example.com");
}

/// The exact lines `vrrpd --probe-certificate` prints (crates/vrrpd/src/probe.rs `wire_format`).
#[test]
fn the_workers_answer_maps_to_each_probe_result() {
    let ok = parse_report(
        br#"{"served":{"ips":["192.0.2.250","2001:db8::250"],"dns":["lb.example.com"]}}"#,
    );
    assert_eq!(
        ok,
        Ok(served(
            &["192.0.2.250", "2001:db8::250"],
            &["lb.example.com"]
        ))
    );
    let cases = [
        (
            r#"{"error":{"kind":"connect","text":"Connection refused (os error 111)"}}"#,
            ProbeError::Connect("Connection refused (os error 111)".into()),
        ),
        (
            r#"{"error":{"kind":"handshake","text":"timed out"}}"#,
            ProbeError::Handshake("timed out".into()),
        ),
        (
            r#"{"error":{"kind":"no_certificate","text":""}}"#,
            ProbeError::NoCertificate,
        ),
        (
            r#"{"error":{"kind":"certificate","text":"bad DER"}}"#,
            ProbeError::Certificate("bad DER".into()),
        ),
    ];
    for (line, want) in cases {
        assert_eq!(
            parse_report(format!("{line}\n").as_bytes()),
            Err(CheckError::Probe(want)),
            "{line}"
        );
    }
    for garbage in [
        &b""[..],
        b"not json",
        br#"{"error":{"kind":"exploded","text":"x"}}"#,
        br#"{"served":{"ips":["not an ip"],"dns":[]}}"#,
    ] {
        assert!(
            matches!(parse_report(garbage), Err(CheckError::Unavailable(_))),
            "{}",
            String::from_utf8_lossy(garbage)
        );
    }
}

/// Every kind, encoded as the worker encodes it (`probewire::encode`, what `vrrpd
/// --probe-certificate` prints) and read by the charm (`parse_report`), under the kind name
/// the charm has always read: a kind renamed on either side fails here. The match has no
/// wildcard, so a new kind does not compile until it is listed.
#[test]
fn every_kind_the_worker_encodes_is_the_kind_the_charm_reads() {
    let every = [
        (ProbeError::Connect("refused".into()), "connect"),
        (ProbeError::Handshake("timed out".into()), "handshake"),
        (ProbeError::NoCertificate, "no_certificate"),
        (ProbeError::Certificate("bad DER".into()), "certificate"),
    ];
    for (e, kind) in &every {
        match e {
            ProbeError::Connect(_)
            | ProbeError::Handshake(_)
            | ProbeError::NoCertificate
            | ProbeError::Certificate(_) => {}
        }
        let line = probewire::encode(&Err(e.clone())).unwrap();
        let text = e.detail();
        assert_eq!(
            line,
            format!(r#"{{"error":{{"kind":"{kind}","text":"{text}"}}}}"#)
        );
        assert_eq!(
            parse_report(format!("{line}\n").as_bytes()),
            Err(CheckError::Probe(e.clone()))
        );
    }
    let served = served(&["192.0.2.250", "2001:db8::250"], &["*.example.com"]);
    let line = probewire::encode(&Ok(served.clone())).unwrap();
    assert_eq!(parse_report(line.as_bytes()), Ok(served));
}

fn script(dir: &std::path::Path, body: &str) -> std::path::PathBuf {
    let p = dir.join(format!("w{}", body.len()));
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

#[test]
fn a_worker_that_cannot_answer_is_a_probe_error_not_a_crash() {
    let d = tempfile::tempdir().unwrap();
    let ep: SocketAddr = "127.0.0.1:443".parse().unwrap();
    let t = Duration::from_millis(200);
    // The argv the worker gets, echoed back as its DNS names: the answer is what it printed.
    let echo = script(
        d.path(),
        r#"printf '{"served":{"ips":[],"dns":["%s","%s","%s","%s","%s","%s"]}}' "$@""#,
    );
    assert_eq!(
        probe(&echo, ep, Some("LB.example.com"), t).unwrap().dns,
        [
            "--probe-certificate",
            "127.0.0.1:443",
            "--timeout-ms",
            "200",
            "--sni",
            "lb.example.com"
        ]
    );
    let unavailable = |r: Result<ServedCert, CheckError>, want: &str| match r {
        Err(CheckError::Unavailable(text)) => assert!(text.contains(want), "{text}"),
        other => panic!("{other:?}"),
    };
    unavailable(
        probe(&d.path().join("missing"), ep, None, t),
        "No such file",
    );
    let fails = script(d.path(), "echo 'error: unexpected argument' >&2; exit 2");
    unavailable(probe(&fails, ep, None, t), "unexpected argument");
    unavailable(
        probe(&script(d.path(), "echo garbage"), ep, None, t),
        "garbage",
    );
    let start = Instant::now();
    unavailable(
        probe(&script(d.path(), "exec sleep 30"), ep, None, t),
        "no answer within 3200 ms",
    );
    assert!(start.elapsed() < Duration::from_secs(10), "bounded");
}
