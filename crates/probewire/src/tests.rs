use super::*;

/// One error of every kind with its wire name (src/charm/tlscheck_tests.rs holds the list
/// the compiler checks for completeness, through the charm's decoder).
fn every_kind() -> [(ProbeError, &'static str); 4] {
    [
        (
            ProbeError::Connect("Connection refused (os error 111)".into()),
            "connect",
        ),
        (ProbeError::Handshake("timed out".into()), "handshake"),
        (ProbeError::NoCertificate, "no_certificate"),
        (ProbeError::Certificate("bad DER".into()), "certificate"),
    ]
}

#[test]
fn every_kind_round_trips_under_its_stable_name() {
    for (e, kind) in every_kind() {
        let line = encode(&Err(e.clone())).unwrap();
        let detail = serde_json::to_string(e.detail()).unwrap();
        assert_eq!(
            line,
            format!(r#"{{"error":{{"kind":"{kind}","text":{detail}}}}}"#)
        );
        assert_eq!(e.kind(), kind);
        assert_eq!(decode(format!("{line}\n").as_bytes()).unwrap(), Err(e));
    }
}

#[test]
fn served_names_round_trip_and_dns_names_are_normalised() {
    let served = Served {
        ips: vec![
            "192.0.2.250".parse().unwrap(),
            "2001:db8::250".parse().unwrap(),
        ],
        dns: vec!["lb.example.com".into(), "*.example.com".into()],
    };
    let line = encode(&Ok(served.clone())).unwrap();
    assert_eq!(
        line,
        r#"{"served":{"ips":["192.0.2.250","2001:db8::250"],"dns":["lb.example.com","*.example.com"]}}"#
    );
    assert_eq!(decode(line.as_bytes()).unwrap(), Ok(served));
    let shouting = br#"{"served":{"ips":[],"dns":["LB.Example.com."]}}"#;
    assert_eq!(decode(shouting).unwrap().unwrap().dns, ["lb.example.com"]);
}

#[test]
fn messages_are_the_ones_operators_and_logs_see() {
    let shown: Vec<String> = every_kind().iter().map(|(e, _)| e.to_string()).collect();
    assert_eq!(
        shown,
        [
            "connect: Connection refused (os error 111)",
            "TLS handshake: timed out",
            "no certificate served",
            "unreadable certificate: bad DER",
        ]
    );
    // A detail sent with no_certificate is dropped (the worker never sends one).
    let e = decode(br#"{"error":{"kind":"no_certificate","text":"x"}}"#).unwrap();
    assert_eq!(e, Err(ProbeError::NoCertificate));
}

#[test]
fn answers_that_are_not_a_report_are_decode_errors() {
    let unknown = decode(br#"{"error":{"kind":"exploded","text":"x"}}"#).unwrap_err();
    assert!(
        matches!(unknown, DecodeError::UnknownKind { .. }),
        "{unknown:?}"
    );
    assert_eq!(unknown.to_string(), r#"unknown error kind "exploded": x"#);
    for junk in [
        &b""[..],
        b"not json\n",
        br#"{"served":{"ips":["not an ip"],"dns":[]}}"#,
        br#"{"served":{"ips":[]}}"#,
        br#"{"error":{"kind":"connect"}}"#,
    ] {
        let e = decode(junk).unwrap_err();
        let answer = String::from_utf8_lossy(junk).trim().to_string();
        assert!(
            e.to_string()
                .starts_with(&format!("unreadable answer {answer:?}: ")),
            "{e}"
        );
        assert!(std::error::Error::source(&e).is_some());
    }
}
