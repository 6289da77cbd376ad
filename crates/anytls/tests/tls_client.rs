//! The TLS client of both probes (`anytls::client_config`) against a real OpenSSL server configured
//! as `kubeapi-load-balancer`'s nginx is (`templates/apilb.conf`: `ssl_ciphers
//! HIGH:!aNULL:!eNULL:!EXPORT:!CAMELLIA:!DES:!MD5:!PSK:!RC4`, OpenSSL's default groups), with
//! TLS 1.3 and without it (nginx 1.18 on focal offers TLS 1.2 at most by default), for RSA,
//! P-256 and P-384 server keys (a P-384 certificate over TLS 1.2 needs the P-384 group offered);
//! against OpenSSL's own defaults (any other server a `vrrpd_check http_get https://` may dial);
//! and a server that only accepts what the client does not offer (ChaCha20).
//! `openssl s_server` on 127.0.0.1 (ephemeral port), one connection each; loopback only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};

/// nginx's cipher list in `kubeapi-load-balancer`'s `templates/apilb.conf`.
const APILB_CIPHERS: &str = "HIGH:!aNULL:!eNULL:!EXPORT:!CAMELLIA:!DES:!MD5:!PSK:!RC4";

/// `openssl s_server` serving one connection; killed on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
    _out: BufReader<ChildStdout>,
    _in: ChildStdin,
}

impl Server {
    fn start(dir: &Path, key: &str, extra: &[&str]) -> Server {
        let (crt, keyf) = (
            dir.join(format!("{key}.crt")),
            dir.join(format!("{key}.key")),
        );
        let newkey = match key {
            "rsa" => vec!["-newkey", "rsa:2048"],
            "p256" => vec!["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"],
            "p384" => vec!["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp384r1"],
            other => panic!("key type {other}"),
        };
        let st = Command::new("openssl")
            .args(["req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=lb"])
            .args(newkey)
            .arg("-keyout")
            .arg(&keyf)
            .arg("-out")
            .arg(&crt)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "openssl req");
        let mut child = Command::new("openssl")
            .args(["s_server", "-accept", "127.0.0.1:0", "-naccept", "1"])
            .arg("-cert")
            .arg(&crt)
            .arg("-key")
            .arg(&keyf)
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // It says where it listens (`ACCEPT 127.0.0.1:<port>`) after a line or two of notes.
        // Both pipes stay open (kept in `Server`): its later output must not kill it, and
        // the end of its stdin would close the connection.
        let stdin = child.stdin.take().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut addr = None;
        for _ in 0..5 {
            let mut line = String::new();
            if out.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            if let Some(a) = line.trim().strip_prefix("ACCEPT ") {
                addr = a.parse().ok();
                break;
            }
        }
        let Some(addr) = addr else {
            // Not yet owned by a `Server`: stop it here so a failed start leaves no process.
            let _ = child.kill();
            let _ = child.wait();
            panic!("openssl s_server did not say where it listens");
        };
        Server {
            child,
            addr,
            _out: out,
            _in: stdin,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A complete handshake with `config`: the negotiated suite's name, or the error.
fn handshake(addr: SocketAddr, config: Arc<ClientConfig>) -> Result<String, String> {
    let mut sock = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let name = ServerName::IpAddress(addr.ip().into());
    let mut conn = ClientConnection::new(config, name).unwrap();
    for _ in 0..50 {
        if !conn.is_handshaking() {
            let suite = conn.negotiated_cipher_suite().unwrap();
            return Ok(format!("{:?}", suite.suite()));
        }
        match conn.complete_io(&mut sock) {
            Ok((0, 0)) => return Err("connection closed".into()),
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Err("handshake did not finish".into())
}

fn no_openssl() -> bool {
    Command::new("openssl").arg("version").output().is_err() && netlab::skip("needs openssl")
}

/// A handshake of `client_config` with a server for `key` started with `extra`: it must
/// complete with an AES-GCM suite of the expected version.
fn assert_gcm_handshake(dir: &Path, key: &str, extra: &[&str], tls13: bool) {
    let server = Server::start(dir, key, extra);
    let suite = handshake(server.addr, anytls::client_config().unwrap())
        .unwrap_or_else(|e| panic!("{key}, {extra:?}: {e}"));
    let want = if tls13 { "TLS13_AES_" } else { "TLS_ECDHE_" };
    assert!(suite.starts_with(want), "{key}, {extra:?}: {suite}");
    assert!(suite.contains("GCM"), "{key}, {extra:?}: {suite}");
}

#[test]
fn the_client_completes_a_verified_handshake_with_the_load_balancers_nginx_settings() {
    if no_openssl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for key in ["rsa", "p256", "p384"] {
        assert_gcm_handshake(dir.path(), key, &["-cipher", APILB_CIPHERS], true);
        let tls12 = ["-cipher", APILB_CIPHERS, "-no_tls1_3"];
        assert_gcm_handshake(dir.path(), key, &tls12, false);
    }
}

#[test]
fn the_client_completes_a_handshake_with_openssls_defaults() {
    if no_openssl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for key in ["rsa", "p256"] {
        assert_gcm_handshake(dir.path(), key, &[], true);
        assert_gcm_handshake(dir.path(), key, &["-no_tls1_3"], false);
    }
}

#[test]
fn the_client_offers_no_chacha20() {
    if no_openssl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[&str]); 2] = [
        (
            "TLS 1.3 ChaCha20 only",
            &[
                "-no_tls1_2",
                "-ciphersuites",
                "TLS_CHACHA20_POLY1305_SHA256",
            ],
        ),
        (
            "TLS 1.2 ChaCha20 only",
            &["-no_tls1_3", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"],
        ),
    ];
    for (what, extra) in cases {
        let server = Server::start(dir.path(), "p256", extra);
        let got = handshake(server.addr, anytls::client_config().unwrap());
        assert!(got.is_err(), "{what}: the client negotiated {got:?}");
        // The server itself works: OpenSSL's own client, offering ChaCha20, gets through.
        let server = Server::start(dir.path(), "p256", extra);
        let out = Command::new("openssl")
            .args(["s_client", "-connect"])
            .arg(server.addr.to_string())
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("CHACHA20"), "{what}: s_client: {text}");
    }
}

#[test]
fn the_client_keeps_every_signature_scheme_of_the_ring_provider() {
    let client = anytls::client_config().unwrap();
    let ring = rustls::crypto::ring::default_provider();
    let got = &client.crypto_provider().signature_verification_algorithms;
    let all = &ring.signature_verification_algorithms;
    assert_eq!(
        (got.supported_schemes(), got.all.len()),
        (all.supported_schemes(), all.all.len())
    );
    assert!(
        got.supported_schemes().len() >= 9,
        "{:?}",
        got.supported_schemes()
    );
}
