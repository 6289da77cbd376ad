//! A rustls client configuration that accepts **any** server certificate.
//!
//! Both programs open TLS to the local load balancer on 127.0.0.1: the worker's `http_get
//! https://…` health check asks "does it complete a handshake and answer", and the charm's
//! certificate check reads which names the served certificate carries. Neither can verify the
//! chain (the load balancer's CA is not known here, and the certificate names the VIP and the
//! cluster, not the address dialled), and neither trusts what it learns for anything but that
//! question. The handshake signature *is* still verified against the presented certificate, so
//! a server that cannot prove it holds the key, or a broken TLS stack, fails the handshake.
//!
//! The `ring` provider is used (aws-lc-rs needs cmake and a C toolchain at build time), and
//! only the part of it these questions need: [`client_config`] offers the AES-GCM suites of
//! TLS 1.3 and TLS 1.2 and loads no client key (see its docs). [`probe`] is the load balancer
//! probe itself (connect, handshake with a deadline, the leaf's SANs), which
//! `vrrpd --probe-certificate` runs for the charm.
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use std::sync::{Arc, OnceLock};

pub mod probe;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::ring::{cipher_suite, kx_group};
use rustls::crypto::{
    verify_tls12_signature, verify_tls13_signature, CryptoProvider, KeyProvider, SupportedKxGroup,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::sign::SigningKey;
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme, SupportedCipherSuite};

/// Accepts any server certificate; verifies handshake signatures (see the crate docs).
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The client configuration of both probes (built once per process).
///
/// Both dial the load balancer: nginx on `kubeapi-load-balancer` (`templates/apilb.conf`:
/// `ssl_ciphers HIGH:!aNULL:…`, no `ssl_protocols` and no `ssl_ecdh_curve`, so OpenSSL's
/// defaults) always accepts ECDHE with AES-GCM in TLS 1.2 and AES-GCM in TLS 1.3, and any
/// TLS 1.3 server must implement `TLS_AES_128_GCM_SHA256` (RFC 8446 §9.1). So this offers no
/// ChaCha20-Poly1305 suite (a server that accepts nothing else fails the handshake, and so the
/// check) and loads no client key (neither probe sends a client certificate). Every key
/// exchange group and signature scheme of the provider stays, so the handshake is verified
/// whatever key the served certificate has.
pub fn client_config() -> Result<Arc<ClientConfig>, rustls::Error> {
    static CONFIG: OnceLock<Result<Arc<ClientConfig>, rustls::Error>> = OnceLock::new();
    CONFIG.get_or_init(|| config_for(provider())).clone()
}

/// TLS 1.3 and TLS 1.2 (nginx on focal offers no TLS 1.3 unless configured) AES-GCM suites.
static SUITES: [SupportedCipherSuite; 6] = [
    cipher_suite::TLS13_AES_256_GCM_SHA384,
    cipher_suite::TLS13_AES_128_GCM_SHA256,
    cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
];

/// All three of the full provider, in its order. P-384 stays although nginx never needs it for
/// the key exchange: in TLS 1.2 the groups a client offers also bound the curve of an ECDSA
/// server certificate (RFC 8422 §5.1), so without it OpenSSL refuses to serve a P-384
/// certificate over TLS 1.2 (tests/tls_client.rs), and its arithmetic is linked anyway to verify
/// P-384 signatures.
static KX: [&dyn SupportedKxGroup; 3] =
    [kx_group::X25519, kx_group::SECP256R1, kx_group::SECP384R1];

fn provider() -> CryptoProvider {
    let ring = rustls::crypto::ring::default_provider();
    CryptoProvider {
        cipher_suites: SUITES.to_vec(),
        kx_groups: KX.to_vec(),
        signature_verification_algorithms: ring.signature_verification_algorithms,
        secure_random: ring.secure_random,
        key_provider: &NoClientKey,
    }
}

/// Neither probe authenticates as a client, so no private key is loaded.
#[derive(Debug)]
struct NoClientKey;

impl KeyProvider for NoClientKey {
    fn load_private_key(
        &self,
        _key_der: PrivateKeyDer<'static>,
    ) -> Result<Arc<dyn SigningKey>, rustls::Error> {
        Err(rustls::Error::General(
            "this TLS client loads no private key".into(),
        ))
    }
}

fn config_for(provider: CryptoProvider) -> Result<Arc<ClientConfig>, rustls::Error> {
    let provider = Arc::new(provider);
    let cfg = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}
