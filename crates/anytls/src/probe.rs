//! The load balancer probe: which names the certificate served on an endpoint carries.
//!
//! [`probe`] opens TLS to the endpoint (the charm asks for `127.0.0.1:<port>`, the listener the
//! VIP reaches) with [`crate::client_config`], so any chain is accepted (we read the
//! certificate, we do not trust it) while the handshake signature is verified, and returns the
//! leaf's SANs. The charm runs it through `vrrpd --probe-certificate` (the worker binary it
//! ships already links this TLS stack), so the hook binary links none. [`Served`] and
//! [`ProbeError`] are the answer's types, shared with the charm through `probewire`.
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::ClientConnection;

pub use probewire::{ProbeError, Served};

/// Reading [`Served`] (the probe's answer, crate `probewire`, which links no TLS) from a
/// certificate.
pub trait FromDer: Sized {
    /// Reads the SANs of a DER certificate. A certificate without the SAN extension has none.
    fn from_der(der: &[u8]) -> Result<Self, ProbeError>;
}

impl FromDer for Served {
    /// rustls-webpki (linked for TLS anyway) parses and checks the certificate and yields its
    /// valid DNS names; it has no public iterator over `iPAddress` names, so those are read
    /// from the extension it accepted by [`ip_sans`].
    fn from_der(der: &[u8]) -> Result<Self, ProbeError> {
        let bytes = CertificateDer::from(der);
        let cert = webpki::EndEntityCert::try_from(&bytes)
            .map_err(|e| ProbeError::Certificate(e.to_string()))?;
        let dns = cert
            .valid_dns_names()
            .map(|n| n.trim_end_matches('.').to_ascii_lowercase())
            .collect();
        let ips = ip_sans(der)
            .ok_or_else(|| ProbeError::Certificate("malformed subjectAltName extension".into()))?;
        Ok(Served { ips, dns })
    }
}

/// One DER TLV at the start of `b`: (tag, value, rest). Single-byte tags only (all X.509
/// needs up to the extensions); `None` when truncated or longer than 4 GiB.
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, b) = b.split_first()?;
    let (&first, mut b) = b.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || b.len() < n {
            return None;
        }
        let len = b[..n]
            .iter()
            .fold(0usize, |a, &d| (a << 8) | usize::from(d));
        b = &b[n..];
        len
    };
    (b.len() >= len).then(|| (tag, &b[..len], &b[len..]))
}

/// The `iPAddress` names of the certificate's subjectAltName extension (RFC 5280 §4.2.1.6):
/// Certificate → tbsCertificate → `[3]` extensions → the extension with OID 2.5.29.17 →
/// GeneralNames → `[7]` entries. `None` when the structure is malformed.
pub fn ip_sans(der: &[u8]) -> Option<Vec<IpAddr>> {
    const SEQUENCE: u8 = 0x30;
    const EXTENSIONS: u8 = 0xa3;
    let (SEQUENCE, cert, _) = tlv(der)? else {
        return None;
    };
    let (SEQUENCE, mut tbs, _) = tlv(cert)? else {
        return None;
    };
    let mut out = Vec::new();
    while !tbs.is_empty() {
        let (tag, value, rest) = tlv(tbs)?;
        tbs = rest;
        if tag != EXTENSIONS {
            continue;
        }
        let (SEQUENCE, exts, _) = tlv(value)? else {
            return None;
        };
        extension_ips(exts, &mut out)?;
    }
    Some(out)
}

/// The `iPAddress` names of the subjectAltName among `exts` (the Extensions SEQUENCE's body).
fn extension_ips(mut exts: &[u8], out: &mut Vec<IpAddr>) -> Option<()> {
    const SEQUENCE: u8 = 0x30;
    const OID: u8 = 0x06;
    const OCTET_STRING: u8 = 0x04;
    const IP_ADDRESS: u8 = 0x87;
    const SUBJECT_ALT_NAME: [u8; 3] = [0x55, 0x1d, 0x11];
    while !exts.is_empty() {
        let (SEQUENCE, ext, rest) = tlv(exts)? else {
            return None;
        };
        exts = rest;
        let (OID, oid, mut fields) = tlv(ext)? else {
            return None;
        };
        if oid != SUBJECT_ALT_NAME {
            continue;
        }
        // Skip the optional `critical` BOOLEAN; the value is the OCTET STRING.
        let names = loop {
            let (tag, v, rest) = tlv(fields)?;
            fields = rest;
            if tag == OCTET_STRING {
                break v;
            }
        };
        let (SEQUENCE, mut names, _) = tlv(names)? else {
            return None;
        };
        while !names.is_empty() {
            let (tag, v, rest) = tlv(names)?;
            names = rest;
            if tag == IP_ADDRESS {
                out.extend(ip_from_san(v));
            }
        }
    }
    Some(())
}

/// An `iPAddress` SAN is 4 or 16 octets; anything else is malformed and ignored.
fn ip_from_san(bytes: &[u8]) -> Option<IpAddr> {
    if let Ok(b) = <[u8; 4]>::try_from(bytes) {
        return Some(IpAddr::from(b));
    }
    <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from)
}

/// The server name to send: SNI `hostname` when it is a valid DNS name, else the IP (which
/// rustls does not send as SNI).
fn server_name(endpoint: SocketAddr, sni: Option<&str>) -> ServerName<'static> {
    sni.and_then(|h| ServerName::try_from(h.trim_end_matches('.').to_string()).ok())
        .filter(|n| matches!(n, ServerName::DnsName(_)))
        .unwrap_or_else(|| ServerName::IpAddress(endpoint.ip().into()))
}

fn io_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => "timed out".into(),
        _ => e.to_string(),
    }
}

/// A socket whose every read and write gives up at a fixed deadline.
struct Deadlined {
    sock: TcpStream,
    deadline: Instant,
}

impl Deadlined {
    fn arm(&self) -> std::io::Result<()> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        self.sock.set_read_timeout(Some(left))?;
        self.sock.set_write_timeout(Some(left))
    }
}

impl Read for Deadlined {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.arm()?;
        self.sock.read(buf)
    }
}

impl Write for Deadlined {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.arm()?;
        self.sock.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.sock.flush()
    }
}

/// Opens TLS to `endpoint`, sending SNI `sni` when given, and returns the served leaf's SANs.
/// Connect and handshake together take at most about `timeout`; one TCP connection, nothing
/// else.
pub fn probe(
    endpoint: SocketAddr,
    sni: Option<&str>,
    timeout: Duration,
) -> Result<Served, ProbeError> {
    let deadline = Instant::now() + timeout;
    let sock = TcpStream::connect_timeout(&endpoint, timeout)
        .map_err(|e| ProbeError::Connect(io_text(&e)))?;
    let _ = sock.set_nodelay(true);
    let mut io = Deadlined { sock, deadline };
    let config = crate::client_config().map_err(|e| ProbeError::Handshake(e.to_string()))?;
    let mut conn = ClientConnection::new(config, server_name(endpoint, sni))
        .map_err(|e| ProbeError::Handshake(e.to_string()))?;
    while conn.is_handshaking() {
        match conn.complete_io(&mut io) {
            Ok((0, 0)) if conn.is_handshaking() => {
                return Err(ProbeError::Handshake("connection closed".into()))
            }
            Ok(_) => {}
            Err(e) => return Err(ProbeError::Handshake(io_text(&e))),
        }
    }
    let leaf = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.as_ref().to_vec())
        .ok_or(ProbeError::NoCertificate)?;
    // Be polite: close the session; failures here do not matter.
    conn.send_close_notify();
    let _ = conn.complete_io(&mut io);
    Served::from_der(&leaf)
}
