//! The load balancer's workload: a real TLS listener (rustls) serving a one-line HTTP answer, and
//! certificate generation with `openssl` (SANs from addresses and config).

use crate::error::{Error, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Most connections served at once; more are closed at once.
const MAX_CONNS: usize = 256;

/// `subjectAltName` text for openssl: `IP:a,DNS:b,…` (IP for address literals).
pub fn san_ext(sans: &[String]) -> String {
    sans.iter()
        .map(|s| {
            if s.parse::<std::net::IpAddr>().is_ok() {
                format!("IP:{s}")
            } else {
                format!("DNS:{s}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Checks a SAN entry: an address literal or a DNS name of `[A-Za-z0-9.-*]`.
pub fn valid_san(s: &str) -> bool {
    s.parse::<std::net::IpAddr>().is_ok()
        || (!s.is_empty()
            && s.len() <= 253
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.*".contains(&b)))
}

/// Generates a self-signed certificate and key with `openssl req` (EC P-256, [`netlab::cert`]), CN `cn`, the given
/// SANs, written atomically to `cert`/`key` (key 0600).
pub fn generate_cert(cn: &str, sans: &[String], cert: &Path, key: &Path) -> Result<()> {
    let dir = cert
        .parent()
        .ok_or_else(|| Error::Invalid("certificate path has no parent".into()))?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let tc = dir.join(".server.crt.tmp");
    let tk = dir.join(".server.key.tmp");
    netlab::cert::self_signed(cn, Some(&san_ext(sans)), 365, &tc, &tk)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tk, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io(&tk, e))?;
    std::fs::rename(&tk, key).map_err(|e| Error::io(key, e))?;
    std::fs::rename(&tc, cert).map_err(|e| Error::io(cert, e))
}

fn load_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| Error::Invalid(format!("{}: {e}", cert.display())))?
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::Invalid(format!("{}: {e}", cert.display())))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| Error::Invalid(format!("{}: {e}", key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Invalid(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| Error::Invalid(format!("certificate/key: {e}")))?;
    Ok(Arc::new(cfg))
}

fn serve_one(cfg: Arc<rustls::ServerConfig>, sock: TcpStream, name: &str) {
    let _ = sock.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = sock.set_write_timeout(Some(Duration::from_secs(5)));
    let Ok(conn) = rustls::ServerConnection::new(cfg) else {
        return;
    };
    let mut tls = rustls::StreamOwned::new(conn, sock);
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while req.len() < 8192 && !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match tls.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    if req.is_empty() {
        return;
    }
    let body = format!("{name}\n");
    let resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tls.write_all(resp.as_bytes());
    tls.conn.send_close_notify();
    let _ = tls.flush();
}

/// Serves TLS on `port` (all addresses, IPv6 and IPv4) forever; answers every HTTP request with
/// `name`. Returns only on a setup error.
pub fn serve(cert: &Path, key: &Path, port: u16, name: &str) -> Result<()> {
    let cfg = load_config(cert, key)?;
    let listener = TcpListener::bind(SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)))
        .or_else(|_| TcpListener::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port))))
        .map_err(|e| Error::Invalid(format!("cannot listen on port {port}: {e}")))?;
    eprintln!("{name}: serving TLS on port {port}");
    let active = Arc::new(AtomicUsize::new(0));
    for conn in listener.incoming() {
        let Ok(sock) = conn else { continue };
        if active.load(Ordering::SeqCst) >= MAX_CONNS {
            continue;
        }
        active.fetch_add(1, Ordering::SeqCst);
        let (cfg, active, name) = (cfg.clone(), active.clone(), name.to_string());
        std::thread::spawn(move || {
            serve_one(cfg, sock, &name);
            active.fetch_sub(1, Ordering::SeqCst);
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn san_text_marks_addresses_and_names() {
        let s = vec![
            "192.0.2.10".to_string(),
            "test.example.com".into(),
            "2001:db8::1".into(),
        ];
        assert_eq!(
            san_ext(&s),
            "IP:192.0.2.10,DNS:test.example.com,IP:2001:db8::1"
        );
    }

    #[test]
    fn san_validation_rejects_injection() {
        assert!(valid_san("test.example.com"));
        assert!(valid_san("192.0.2.250"));
        assert!(!valid_san("a,DNS:evil"));
        assert!(!valid_san("a b"));
        assert!(!valid_san(""));
    }

    #[test]
    fn generated_certificates_load_and_name_their_sans() {
        let d = tempfile::tempdir().unwrap();
        let (c, k) = (d.path().join("server.crt"), d.path().join("server.key"));
        let sans = vec!["192.0.2.10".to_string(), "test.example.com".into()];
        generate_cert("192.0.2.10", &sans, &c, &k).unwrap();
        load_config(&c, &k).unwrap();
        let out = std::process::Command::new("openssl")
            .args(["x509", "-noout", "-ext", "subjectAltName", "-in"])
            .arg(&c)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("IP Address:192.0.2.10"), "{text}");
        assert!(text.contains("DNS:test.example.com"), "{text}");
    }
}
