//! The certificate check: what the local load balancer serves, and which names it lacks.
//!
//! Clients reach the load balancer through the VIP and verify its certificate against the
//! address or name they dialled, so every VIP must be an **IP** SAN and `vip_hostname` a **DNS**
//! SAN of the certificate the load balancer serves (see docs/charmed-kubernetes.md §2).
//! [`probe`] runs this charm revision's own worker binary, `$CHARM_DIR/bin/vrrpd
//! --probe-certificate 127.0.0.1:<port>` (the same listener the VIP reaches; `anytls::probe`:
//! any chain accepted, the handshake signature verified), which prints the leaf's SANs as one
//! JSON object: the worker links the TLS stack anyway, so the hook binary links none. That
//! answer's types and its encoding are crate `probewire`'s, the worker's own: [`ServedCert`]
//! and [`ProbeError`] come from there, and [`CheckError`] adds only "the probe did not run".
//! [`missing`] is the pure comparison.
use std::fmt;
use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub use probewire::{ProbeError, Served as ServedCert};

/// How long one probe may take in total (connect plus handshake), in the worker.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// How much longer the hook waits for the worker's answer before it kills it (process start;
/// under emulation, as in the arm64 tests, that takes a few hundred ms).
pub const PROBE_GRACE: Duration = Duration::from_secs(3);

/// A name a client may dial: an IP SAN or a DNS SAN.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SanName {
    /// An `iPAddress` SAN.
    Ip(IpAddr),
    /// A `dNSName` SAN (stored lower-case, without a trailing dot).
    Dns(String),
}

impl SanName {
    /// A DNS name, normalised (lower-case, no trailing dot).
    pub fn dns(name: &str) -> Self {
        SanName::Dns(name.trim_end_matches('.').to_ascii_lowercase())
    }
}

impl fmt::Display for SanName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SanName::Ip(a) => write!(f, "{a}"),
            SanName::Dns(n) => f.write_str(n),
        }
    }
}

/// Whether a served certificate covers a name ([`ServedCert`] is `probewire`'s type, so this
/// comparison of the charm's is a trait).
pub trait Covers {
    /// Whether the certificate covers `name` the way a TLS client checks it.
    fn covers(&self, name: &SanName) -> bool;
}

impl Covers for ServedCert {
    fn covers(&self, name: &SanName) -> bool {
        match name {
            SanName::Ip(a) => self.ips.iter().any(|i| same_ip(*i, *a)),
            SanName::Dns(n) => self.dns.iter().any(|pattern| dns_matches(pattern, n)),
        }
    }
}

/// IP equality that also treats an IPv4-mapped IPv6 SAN as its IPv4 address.
fn same_ip(san: IpAddr, want: IpAddr) -> bool {
    san == want || san.to_canonical() == want.to_canonical()
}

/// RFC 6125 matching: exact (case-insensitive), or a `*.` wildcard standing for exactly one
/// leftmost label.
pub fn dns_matches(pattern: &str, name: &str) -> bool {
    let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if pattern == name {
        return true;
    }
    match (pattern.strip_prefix("*."), name.split_once('.')) {
        (Some(suffix), Some((first, rest))) => {
            !first.is_empty() && !suffix.is_empty() && suffix.contains('.') && rest == suffix
        }
        _ => false,
    }
}

/// The names the served certificate must carry: every VIP as an IP SAN, then the hostname.
pub fn required_names(vips: &[IpAddr], hostname: Option<&str>) -> Vec<SanName> {
    let mut out: Vec<SanName> = vips.iter().copied().map(SanName::Ip).collect();
    if let Some(h) = hostname.filter(|h| !h.is_empty()) {
        out.push(SanName::dns(h));
    }
    out
}

/// The required names the certificate lacks, in the order required (pure).
pub fn missing(required: &[SanName], served: &ServedCert) -> Vec<SanName> {
    required
        .iter()
        .filter(|n| !served.covers(n))
        .cloned()
        .collect()
}

/// Why the load balancer's certificate is not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// The worker probed the load balancer and says why it could not read the certificate.
    #[error(transparent)]
    Probe(#[from] ProbeError),
    /// The probe itself did not run or gave no answer (the worker binary is missing, cannot
    /// be executed, failed or timed out): nothing is known about the certificate.
    #[error("certificate probe failed: {0}")]
    Unavailable(String),
}

/// The outcome of one probe of the local load balancer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertCheck {
    /// Where we connected.
    pub endpoint: SocketAddr,
    /// The SANs served, or why none could be read.
    pub served: Result<ServedCert, CheckError>,
}

impl CertCheck {
    /// Probes `endpoint` now with the worker binary of `charm_dir` (blocking, at most about
    /// `timeout` + [`PROBE_GRACE`]).
    pub fn run(
        charm_dir: &Path,
        endpoint: SocketAddr,
        sni: Option<&str>,
        timeout: Duration,
    ) -> Self {
        let worker = super::paths::charm_worker_binary(charm_dir);
        Self {
            endpoint,
            served: probe(&worker, endpoint, sni, timeout),
        }
    }
}

/// Maps the worker's answer (one JSON line, [`probewire::decode`]) to the probe's result; an
/// answer that is not one is [`CheckError::Unavailable`].
pub fn parse_report(stdout: &[u8]) -> Result<ServedCert, CheckError> {
    match probewire::decode(stdout) {
        Ok(outcome) => Ok(outcome?),
        Err(e) => Err(CheckError::Unavailable(e.to_string())),
    }
}

/// The most read from the worker's stdout and stderr (the answer is a few hundred bytes).
const ANSWER_LIMIT: u64 = 1 << 20;

/// Waits for `child` until `deadline`; kills and reaps it when it has not exited by then.
/// Bounded: one `try_wait` every 2 ms.
fn wait_until(child: &mut Child, deadline: Instant) -> std::io::Result<Option<ExitStatus>> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Runs `worker --probe-certificate endpoint [--sni sni] --timeout-ms …` and returns the served
/// leaf's SANs. A worker that cannot be run, fails, answers garbage or overruns its time is
/// [`CheckError::Unavailable`].
pub fn probe(
    worker: &Path,
    endpoint: SocketAddr,
    sni: Option<&str>,
    timeout: Duration,
) -> Result<ServedCert, CheckError> {
    let unavailable =
        |what: String| CheckError::Unavailable(format!("{}: {what}", worker.display()));
    let mut cmd = Command::new(worker);
    cmd.arg("--probe-certificate")
        .arg(endpoint.to_string())
        .arg("--timeout-ms")
        .arg(timeout.as_millis().max(1).to_string());
    if let Some(name) = sni.filter(|n| !n.is_empty()) {
        cmd.arg("--sni").arg(name);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| unavailable(e.to_string()))?;
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    // The pipes are drained while we wait, so a chatty child cannot block on a full pipe.
    let reader = std::thread::spawn(move || {
        let mut out = (Vec::new(), Vec::new());
        if let Some(s) = stdout {
            let _ = s.take(ANSWER_LIMIT).read_to_end(&mut out.0);
        }
        if let Some(s) = stderr {
            let _ = s.take(ANSWER_LIMIT).read_to_end(&mut out.1);
        }
        out
    });
    let status = wait_until(&mut child, Instant::now() + timeout + PROBE_GRACE)
        .map_err(|e| unavailable(format!("wait: {e}")))?;
    let (out, err) = reader.join().unwrap_or_default();
    match status {
        None => Err(unavailable(format!(
            "no answer within {} ms",
            (timeout + PROBE_GRACE).as_millis()
        ))),
        Some(s) if !s.success() => {
            let err = String::from_utf8_lossy(&err);
            let first = err.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            Err(unavailable(format!("{s}: {}", first.trim())))
        }
        Some(_) => parse_report(&out),
    }
}

#[cfg(test)]
#[path = "tlscheck_tests.rs"]
mod tests;
