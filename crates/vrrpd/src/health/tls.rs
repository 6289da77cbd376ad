//! TLS for `http_get https://…` checks (rustls with the `ring` provider).
//!
//! The client configuration is the one the charm's certificate probe uses (crate `anytls`):
//! AES-GCM suites only, so a server that offers nothing but ChaCha20 fails the check.
//! The server certificate is **not** verified: the check asks "does the local load balancer
//! complete a TLS handshake and answer HTTP", not "is it who it claims to be" (it is on
//! 127.0.0.1, usually with a certificate for the VIP and cluster names, not for the address
//! we dial). The handshake signature is still checked against the presented certificate, so
//! a broken TLS stack does fail the check.

use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// TLS handshake over `tcp` with `host` as SNI (none for an address literal).
pub async fn connect(host: &str, tcp: TcpStream) -> Result<TlsStream<TcpStream>, String> {
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| format!("TLS server name {host:?}: {e}"))?;
    let config = anytls::client_config().map_err(|e| format!("TLS setup: {e}"))?;
    TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS handshake: {e}"))
}
