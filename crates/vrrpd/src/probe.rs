//! `vrrpd --probe-certificate ADDR:PORT`: the charm's certificate check, run in the worker
//! binary the charm ships (it links the TLS stack anyway; the hook binary then links none).
//!
//! Prints one JSON object on stdout and exits 0 whenever it could report, a failed probe
//! included (a probe error is data, not a crash):
//!
//! ```text
//! {"served":{"ips":["192.0.2.250"],"dns":["lb.example.com"]}}
//! {"error":{"kind":"connect","text":"Connection refused (os error 111)"}}
//! ```
//!
//! `kind` is one of `connect`, `handshake`, `no_certificate`, `certificate`
//! ([`probewire::ProbeError::kind`]). The line is `probewire`'s, the crate the charm reads it with. The
//! mode opens one TCP connection and nothing else: no memory lock, no priority, no state file,
//! no logging set-up.
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anytls::probe;

/// Probes `endpoint` (SNI `sni`, at most `timeout`), prints the answer line
/// ([`probewire::encode`]) and returns 0; 1 only when stdout cannot be written.
pub fn run(endpoint: SocketAddr, sni: Option<&str>, timeout: Duration) -> ExitCode {
    let line = match probewire::encode(&probe::probe(endpoint, sni, timeout)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("vrrpd: cannot encode the probe report: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{line}").and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vrrpd: cannot write the probe report: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use anytls::probe::{ProbeError, Served};

    fn json(r: Result<Served, ProbeError>) -> String {
        probewire::encode(&r).unwrap()
    }

    /// The exact lines the charm parses (src/charm/tlscheck.rs has the same ones).
    #[test]
    fn wire_format() {
        let served = Served {
            ips: vec![
                "192.0.2.250".parse().unwrap(),
                "2001:db8::250".parse().unwrap(),
            ],
            dns: vec!["lb.example.com".into()],
        };
        assert_eq!(
            json(Ok(served)),
            r#"{"served":{"ips":["192.0.2.250","2001:db8::250"],"dns":["lb.example.com"]}}"#
        );
        assert_eq!(
            json(Err(ProbeError::Connect(
                "Connection refused (os error 111)".into()
            ))),
            r#"{"error":{"kind":"connect","text":"Connection refused (os error 111)"}}"#
        );
        assert_eq!(
            json(Err(ProbeError::Handshake("timed out".into()))),
            r#"{"error":{"kind":"handshake","text":"timed out"}}"#
        );
        assert_eq!(
            json(Err(ProbeError::NoCertificate)),
            r#"{"error":{"kind":"no_certificate","text":""}}"#
        );
        assert_eq!(
            json(Err(ProbeError::Certificate("bad DER".into()))),
            r#"{"error":{"kind":"certificate","text":"bad DER"}}"#
        );
    }
}
