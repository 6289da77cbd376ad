//! Self-signed certificates for lab TLS servers, made by `openssl req -x509` (EC P-256), so a
//! test can see exactly what a real load balancer would serve.

use std::path::Path;

use crate::cmd;
use crate::error::{Error, Result};

/// Writes a self-signed certificate (PEM) to `cert` and its key to `key`.
///
/// `cn` is the subject's common name; `san` the `subjectAltName` in openssl's syntax
/// (`IP:192.0.2.250,DNS:api.example.com`), or `None` for none. Valid for `days` days.
pub fn self_signed(cn: &str, san: Option<&str>, days: u32, cert: &Path, key: &Path) -> Result<()> {
    let (cert, key) = (utf8(cert)?, utf8(key)?);
    let (subj, days) = (format!("/CN={cn}"), days.to_string());
    let mut args = vec![
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        &days,
        "-subj",
        &subj,
        "-keyout",
        key,
        "-out",
        cert,
    ];
    let ext = san.map(|s| format!("subjectAltName={s}"));
    if let Some(ext) = &ext {
        args.extend(["-addext", ext.as_str()]);
    }
    cmd::run("openssl", &args).map(drop)
}

/// The DER bytes of the PEM certificate at `pem` (`openssl x509 -outform DER`).
pub fn pem_to_der(pem: &Path, der: &Path) -> Result<Vec<u8>> {
    let (pem_s, der_s) = (utf8(pem)?, utf8(der)?);
    cmd::run(
        "openssl",
        &["x509", "-outform", "DER", "-in", pem_s, "-out", der_s],
    )?;
    std::fs::read(der).map_err(|source| Error::Io {
        what: format!("reading {der_s}"),
        source,
    })
}

/// A path as the UTF-8 argument openssl gets.
fn utf8(p: &Path) -> Result<&str> {
    p.to_str()
        .ok_or_else(|| Error::Invalid(format!("not UTF-8: {}", p.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makes_a_certificate_with_the_sans_asked_for() {
        let d = tempfile::tempdir().unwrap();
        let (c, k) = (d.path().join("c.pem"), d.path().join("k.pem"));
        self_signed("lb", Some("IP:192.0.2.250,DNS:api.example.com"), 1, &c, &k).unwrap();
        let text = cmd::run(
            "openssl",
            &["x509", "-noout", "-text", "-in", c.to_str().unwrap()],
        )
        .unwrap();
        assert!(text.contains("IP Address:192.0.2.250"), "{text}");
        assert!(text.contains("DNS:api.example.com"), "{text}");
        let der = pem_to_der(&c, &d.path().join("c.der")).unwrap();
        assert_eq!(der.first(), Some(&0x30), "a DER SEQUENCE");
    }

    #[test]
    fn openssl_errors_are_reported() {
        let d = tempfile::tempdir().unwrap();
        let (c, k) = (d.path().join("c.pem"), d.path().join("k.pem"));
        let e = self_signed("lb", Some("NOPE:x"), 1, &c, &k).unwrap_err();
        assert!(matches!(e, Error::Command { .. }), "{e}");
    }
}
