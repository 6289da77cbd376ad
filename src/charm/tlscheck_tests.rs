use super::*;
use std::net::TcpListener;

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

fn openssl_cert_der(san: &str) -> Vec<u8> {
    let d = tempfile::tempdir().unwrap();
    let (key, pem) = (d.path().join("k.pem"), d.path().join("c.pem"));
    netlab::cert::self_signed("lb", Some(san), 2, &pem, &key).unwrap();
    netlab::cert::pem_to_der(&pem, &d.path().join("c.der")).unwrap()
}

#[test]
fn sans_are_read_from_a_real_certificate() {
    let der = openssl_cert_der("IP:10.10.74.250,IP:2001:db8::10,DNS:Test.Example.com,email:a@b.c");
    let c = ServedCert::from_der(&der).unwrap();
    assert_eq!(c.ips, [ip("10.10.74.250"), ip("2001:db8::10")]);
    assert_eq!(c.dns, ["test.example.com"]);
    assert!(matches!(
        ServedCert::from_der(b"not a certificate"),
        Err(ProbeError::Certificate(_))
    ));
}

#[test]
fn probe_errors_say_what_failed() {
    // Nothing listens on a port we just released.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = l.local_addr().unwrap();
    drop(l);
    assert!(matches!(
        probe(closed, None, PROBE_TIMEOUT),
        Err(ProbeError::Connect(_))
    ));

    // A listener that accepts and closes at once: the handshake fails, quickly.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let t = std::thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        drop(s);
    });
    assert!(matches!(
        probe(addr, Some("a.example.com"), PROBE_TIMEOUT),
        Err(ProbeError::Handshake(_))
    ));
    t.join().unwrap();

    // A listener that accepts and never answers: the probe gives up at its deadline.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let t = std::thread::spawn(move || {
        let (_s, _) = l.accept().unwrap();
        let _ = rx.recv_timeout(Duration::from_secs(10));
    });
    let start = Instant::now();
    let r = probe(addr, None, Duration::from_millis(300));
    assert_eq!(r, Err(ProbeError::Handshake("timed out".into())));
    assert!(start.elapsed() < Duration::from_secs(5), "bounded");
    tx.send(()).unwrap();
    t.join().unwrap();
}

#[test]
fn certificates_without_sans_and_truncated_ones() {
    let d = tempfile::tempdir().unwrap();
    let (key, pem) = (d.path().join("k.pem"), d.path().join("c.pem"));
    netlab::cert::self_signed("lb", None, 2, &pem, &key).unwrap();
    let bare = netlab::cert::pem_to_der(&pem, &d.path().join("c.der")).unwrap();
    assert_eq!(ServedCert::from_der(&bare).unwrap(), ServedCert::default());

    // Every prefix of a real certificate is refused (or read) without a panic.
    let der = openssl_cert_der("IP:10.10.74.250,DNS:a.example.com");
    for n in 0..der.len() {
        assert!(
            ServedCert::from_der(&der[..n]).is_err(),
            "a {n}-byte prefix"
        );
        let _ = ip_sans(&der[..n]);
    }
    assert_eq!(ip_sans(&der), Some(vec![ip("10.10.74.250")]));
}
