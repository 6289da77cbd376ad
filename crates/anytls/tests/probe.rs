//! `anytls::probe`: the served certificate's SANs (moved from the charm's tlscheck with the
//! probe) and its typed errors. The handshake against real servers is in tls_client.rs and, end
//! to end through `vrrpd --probe-certificate`, in the root crate's tests/certificate.rs.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::net::{IpAddr, TcpListener};
use std::time::{Duration, Instant};

use anytls::probe::{ip_sans, probe, FromDer, ProbeError, Served};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn openssl_cert_der(san: Option<&str>) -> Vec<u8> {
    let d = tempfile::tempdir().unwrap();
    let (key, pem) = (d.path().join("k.pem"), d.path().join("c.pem"));
    netlab::cert::self_signed("lb", san, 2, &pem, &key).unwrap();
    netlab::cert::pem_to_der(&pem, &d.path().join("c.der")).unwrap()
}

#[test]
fn sans_are_read_from_a_real_certificate() {
    let der = openssl_cert_der(Some(
        "IP:10.10.74.250,IP:2001:db8::10,DNS:Test.Example.com,email:a@b.c",
    ));
    let c = Served::from_der(&der).unwrap();
    assert_eq!(c.ips, [ip("10.10.74.250"), ip("2001:db8::10")]);
    assert_eq!(c.dns, ["test.example.com"]);
    assert!(matches!(
        Served::from_der(b"not a certificate"),
        Err(ProbeError::Certificate(_))
    ));
}

#[test]
fn certificates_without_sans_and_truncated_ones() {
    let bare = openssl_cert_der(None);
    assert_eq!(Served::from_der(&bare).unwrap(), Served::default());

    // Every prefix of a real certificate is refused (or read) without a panic.
    let der = openssl_cert_der(Some("IP:10.10.74.250,DNS:a.example.com"));
    for n in 0..der.len() {
        assert!(Served::from_der(&der[..n]).is_err(), "a {n}-byte prefix");
        let _ = ip_sans(&der[..n]);
    }
    assert_eq!(ip_sans(&der), Some(vec![ip("10.10.74.250")]));
}

#[test]
fn probe_errors_say_what_failed() {
    let timeout = Duration::from_secs(2);
    // Nothing listens on a port we just released.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = l.local_addr().unwrap();
    drop(l);
    let e = probe(closed, None, timeout).unwrap_err();
    assert!(matches!(e, ProbeError::Connect(_)), "{e:?}");
    assert_eq!(e.kind(), "connect");

    // A listener that accepts and closes at once: the handshake fails, quickly.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let t = std::thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        drop(s);
    });
    let e = probe(addr, Some("a.example.com"), timeout).unwrap_err();
    assert!(matches!(e, ProbeError::Handshake(_)), "{e:?}");
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
    let e = probe(addr, None, Duration::from_millis(300)).unwrap_err();
    assert_eq!(e, ProbeError::Handshake("timed out".into()));
    assert_eq!((e.kind(), e.detail()), ("handshake", "timed out"));
    assert!(start.elapsed() < Duration::from_secs(5), "bounded");
    tx.send(()).unwrap();
    t.join().unwrap();

    assert_eq!(
        (
            ProbeError::NoCertificate.kind(),
            ProbeError::NoCertificate.detail()
        ),
        ("no_certificate", "")
    );
    assert_eq!(ProbeError::Certificate("x".into()).kind(), "certificate");
}
