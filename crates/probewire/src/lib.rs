//! The certificate probe's answer: the one contract from `vrrpd --probe-certificate` (writer)
//! to the charm's certificate check (reader).
//!
//! The worker (crates/vrrpd/src/probe.rs, with `anytls::probe`) reads the certificate the load
//! balancer serves and prints one JSON line with [`encode`]; the charm's hook binary
//! (src/charm/tlscheck.rs) reads it back with [`decode`]. The lines:
//!
//! ```text
//! {"served":{"ips":["192.0.2.250"],"dns":["lb.example.com"]}}
//! {"error":{"kind":"connect","text":"Connection refused (os error 111)"}}
//! ```
//!
//! `kind` is [`ProbeError::kind`], `text` [`ProbeError::detail`]. Only serde is
//! involved, as in `vrrp::statefile`: the hook binary links this and no TLS.
//!
//! Compatibility: a charm reads the answer of its own revision's worker (`$CHARM_DIR/bin/vrrpd`),
//! so both ends are always built from the same source; still, a kind string never changes
//! meaning, and a kind this version does not know is a [`DecodeError::UnknownKind`], not a
//! guess.
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// The SANs of the leaf certificate the load balancer served.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Served {
    /// `iPAddress` SANs, in certificate order.
    pub ips: Vec<IpAddr>,
    /// `dNSName` SANs, lower-case, without a trailing dot, wildcards kept as `*.example.com`.
    pub dns: Vec<String>,
}

/// Why the served certificate could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeError {
    /// The TCP connection failed (nothing listens, or it did not answer in time).
    Connect(String),
    /// The TLS handshake failed or timed out (for example a plain-text listener).
    Handshake(String),
    /// The handshake ended without a server certificate.
    NoCertificate,
    /// The served certificate could not be parsed.
    Certificate(String),
}

impl ProbeError {
    /// A stable name of the kind: `connect`, `handshake`, `no_certificate`, `certificate`
    /// (read back by [`decode`]).
    pub fn kind(&self) -> &'static str {
        match self {
            ProbeError::Connect(_) => "connect",
            ProbeError::Handshake(_) => "handshake",
            ProbeError::NoCertificate => "no_certificate",
            ProbeError::Certificate(_) => "certificate",
        }
    }

    /// The detail the kind carries (empty for [`ProbeError::NoCertificate`]), without the
    /// kind's prefix that `Display` adds.
    pub fn detail(&self) -> &str {
        match self {
            ProbeError::Connect(t) | ProbeError::Handshake(t) | ProbeError::Certificate(t) => t,
            ProbeError::NoCertificate => "",
        }
    }

    /// The error of [`ProbeError::kind`] `kind` with [`ProbeError::detail`] `text` (dropped
    /// for `no_certificate`).
    fn of_kind(kind: String, text: String) -> Result<Self, DecodeError> {
        Ok(match kind.as_str() {
            "connect" => ProbeError::Connect(text),
            "handshake" => ProbeError::Handshake(text),
            "no_certificate" => ProbeError::NoCertificate,
            "certificate" => ProbeError::Certificate(text),
            _ => return Err(DecodeError::UnknownKind { kind, text }),
        })
    }
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeError::Connect(t) => write!(f, "connect: {t}"),
            ProbeError::Handshake(t) => write!(f, "TLS handshake: {t}"),
            ProbeError::NoCertificate => f.write_str("no certificate served"),
            ProbeError::Certificate(t) => write!(f, "unreadable certificate: {t}"),
        }
    }
}

impl std::error::Error for ProbeError {}

/// The line as serde sees it (externally tagged: `{"served":{…}}` or `{"error":{…}}`):
/// borrowed when encoding, owned when decoding.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Report<'a> {
    Served {
        ips: Cow<'a, [IpAddr]>,
        dns: Cow<'a, [String]>,
    },
    Error {
        kind: Cow<'a, str>,
        text: Cow<'a, str>,
    },
}

/// The answer line for one probe's result, without the trailing newline.
pub fn encode(outcome: &Result<Served, ProbeError>) -> Result<String, serde_json::Error> {
    serde_json::to_string(&match outcome {
        Ok(s) => Report::Served {
            ips: Cow::Borrowed(&s.ips),
            dns: Cow::Borrowed(&s.dns),
        },
        Err(e) => Report::Error {
            kind: Cow::Borrowed(e.kind()),
            text: Cow::Borrowed(e.detail()),
        },
    })
}

/// Why an answer could not be read.
#[derive(Debug)]
pub enum DecodeError {
    /// Not one answer line: not JSON, or not of its shape (an IP that is no IP, …).
    Json {
        /// The answer, lossily decoded and trimmed.
        answer: String,
        /// What serde_json said.
        source: serde_json::Error,
    },
    /// An error kind this version does not know.
    UnknownKind {
        /// The kind.
        kind: String,
        /// Its detail.
        text: String,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Json { answer, source } => {
                write!(f, "unreadable answer {answer:?}: {source}")
            }
            DecodeError::UnknownKind { kind, text } => {
                write!(f, "unknown error kind {kind:?}: {text}")
            }
        }
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DecodeError::Json { source, .. } => Some(source),
            DecodeError::UnknownKind { .. } => None,
        }
    }
}

/// Reads one answer (surrounding white space allowed) back into the probe's result. DNS names
/// are normalised again (lower-case, no trailing dot), as [`Served::dns`] promises.
pub fn decode(answer: &[u8]) -> Result<Result<Served, ProbeError>, DecodeError> {
    let report: Report = serde_json::from_slice(answer).map_err(|source| DecodeError::Json {
        answer: String::from_utf8_lossy(answer).trim().to_string(),
        source,
    })?;
    Ok(match report {
        Report::Served { ips, dns } => Ok(Served {
            ips: ips.into_owned(),
            dns: dns
                .iter()
                .map(|n| n.trim_end_matches('.').to_ascii_lowercase())
                .collect(),
        }),
        Report::Error { kind, text } => {
            Err(ProbeError::of_kind(kind.into_owned(), text.into_owned())?)
        }
    })
}

#[cfg(test)]
mod tests;
