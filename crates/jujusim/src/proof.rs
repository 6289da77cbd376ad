//! Observing the lab from outside the model: who holds an address, what certificate a client
//! gets, a TCP prober, and address-change monitors. Used by the demo and the tests.

use crate::error::{Error, Result};
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Does `eth0` in namespace `ns` carry `ip`?
pub fn holds(ns: &str, ip: &str) -> bool {
    Command::new("ip")
        .args(["-n", ns, "-br", "addr", "show", "dev", "eth0"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .any(|w| w.split('/').next() == Some(ip))
        })
        .unwrap_or(false)
}

/// What `openssl s_client` shows of the certificate served at `ip:port` (SNI `sni`), seen from
/// namespace `ns`: subject and subjectAltName, plus the HTTP answer's body (who served it).
#[derive(Debug, Clone)]
pub struct ServedCert {
    /// `openssl x509 -noout -subject -ext subjectAltName` output.
    pub text: String,
    /// The server's one-line answer (the serving unit's name).
    pub served_by: String,
}

/// Connects with `openssl s_client` from `ns` and reads the served certificate (bounded).
pub fn served_cert(ns: &str, ip: &str, port: u16, sni: &str) -> Result<ServedCert> {
    let target = match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(_)) => format!("[{ip}]:{port}"),
        _ => format!("{ip}:{port}"),
    };
    let script = format!(
        "printf 'GET / HTTP/1.0\\r\\nHost: {sni}\\r\\n\\r\\n' | timeout 10 openssl s_client -ign_eof -connect {target} -servername {sni} -showcerts 2>/dev/null"
    );
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "sh", "-c", &script])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Invalid(format!("openssl s_client: {e}")))?;
    let transcript = String::from_utf8_lossy(&out.stdout).into_owned();
    let begin = transcript.find("-----BEGIN CERTIFICATE-----");
    let end = transcript.find("-----END CERTIFICATE-----");
    let (Some(b), Some(e)) = (begin, end) else {
        return Err(Error::Invalid(format!(
            "no certificate from {target} (seen from {ns})"
        )));
    };
    let pem = &transcript[b..e + "-----END CERTIFICATE-----".len()];
    let mut x = Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-ext", "subjectAltName"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Invalid(format!("openssl x509: {e}")))?;
    if let Some(mut w) = x.stdin.take() {
        use std::io::Write;
        let _ = w.write_all(pem.as_bytes());
    }
    let text = x
        .wait_with_output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .map_err(|e| Error::Invalid(format!("openssl x509: {e}")))?;
    let served_by = transcript
        .split("\r\n\r\n")
        .nth(1)
        .and_then(|body| body.lines().next())
        .unwrap_or("")
        .trim()
        .to_string();
    Ok(ServedCert { text, served_by })
}

/// One probe result.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    /// When it started.
    pub at: Instant,
    /// Did the TCP connect succeed?
    pub ok: bool,
}

/// Results of a prober run.
#[derive(Debug, Clone, Default)]
pub struct ProbeLog {
    /// Every probe, in order.
    pub probes: Vec<Probe>,
}

impl ProbeLog {
    /// The longest run of failed probes after `from`: (first failure, first success after it,
    /// number of failures). `None` if nothing failed.
    pub fn longest_outage(&self, from: Instant) -> Option<(Instant, Option<Instant>, usize)> {
        let mut best: Option<(Instant, Option<Instant>, usize)> = None;
        let mut cur: Option<(Instant, usize)> = None;
        for p in self.probes.iter().filter(|p| p.at >= from) {
            match (p.ok, cur) {
                (false, None) => cur = Some((p.at, 1)),
                (false, Some((s, n))) => cur = Some((s, n + 1)),
                (true, Some((s, n))) => {
                    let span = p.at.duration_since(s);
                    if best.is_none_or(|(bs, be, _)| be.map(|e| e.duration_since(bs)) < Some(span))
                    {
                        best = Some((s, Some(p.at), n));
                    }
                    cur = None;
                }
                (true, None) => {}
            }
        }
        if let Some((s, n)) = cur {
            best = Some((s, None, n));
        }
        best
    }
}

/// TCP-connects to `addr` from namespace `ns` every `every` (timeout `every * 4`, at least
/// 20 ms) until `stop` says so or `limit` passed. Runs on a thread inside the namespace.
pub fn spawn_prober(
    ns: &str,
    addr: SocketAddr,
    every: Duration,
    limit: Duration,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> Result<netlab::NetnsThread<ProbeLog>> {
    let timeout = (every * 4).max(Duration::from_millis(20));
    Ok(netlab::spawn_in_netns(ns, move || {
        let start = Instant::now();
        let mut log = ProbeLog::default();
        while start.elapsed() < limit && !stop.load(std::sync::atomic::Ordering::SeqCst) {
            let at = Instant::now();
            let ok = TcpStream::connect_timeout(&addr, timeout).is_ok();
            log.probes.push(Probe { at, ok });
            let next = at + every;
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            }
        }
        log
    })?)
}

/// An address event seen by `ip monitor address` in a machine.
#[derive(Debug, Clone)]
pub struct AddrEvent {
    /// When the line was read.
    pub at: Instant,
    /// Machine id.
    pub machine: String,
    /// Added (true) or deleted.
    pub added: bool,
}

/// `ip -n NS monitor address` processes watching for one address; killed on drop.
pub struct AddrMonitor {
    children: Vec<std::process::Child>,
    events: Arc<Mutex<Vec<AddrEvent>>>,
}

impl AddrMonitor {
    /// Starts one monitor per `(machine id, namespace)` watching `ip`.
    pub fn start(machines: &[(String, String)], ip: &str) -> Result<AddrMonitor> {
        let events = Arc::new(Mutex::new(Vec::new()));
        let mut children = Vec::new();
        for (id, ns) in machines {
            let mut c = Command::new("ip")
                .args(["-n", ns, "monitor", "address"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| Error::Invalid(format!("ip monitor: {e}")))?;
            let Some(out) = c.stdout.take() else { continue };
            let (ev, id, needle) = (events.clone(), id.clone(), format!(" {ip}/"));
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(|l| l.ok()) {
                    if line.contains(&needle) {
                        let e = AddrEvent {
                            at: Instant::now(),
                            machine: id.clone(),
                            added: !line.starts_with("Deleted"),
                        };
                        ev.lock().unwrap_or_else(|p| p.into_inner()).push(e);
                    }
                }
            });
            children.push(c);
        }
        // Give the monitors a moment to subscribe.
        std::thread::sleep(Duration::from_millis(200));
        Ok(AddrMonitor { children, events })
    }

    /// The events so far.
    pub fn events(&self) -> Vec<AddrEvent> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Drop for AddrMonitor {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_outage_finds_the_gap() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let log = ProbeLog {
            probes: vec![
                Probe {
                    at: ms(0),
                    ok: true,
                },
                Probe {
                    at: ms(5),
                    ok: false,
                },
                Probe {
                    at: ms(10),
                    ok: true,
                },
                Probe {
                    at: ms(15),
                    ok: false,
                },
                Probe {
                    at: ms(20),
                    ok: false,
                },
                Probe {
                    at: ms(25),
                    ok: false,
                },
                Probe {
                    at: ms(30),
                    ok: true,
                },
            ],
        };
        let (s, e, n) = log.longest_outage(t0).unwrap();
        assert_eq!((s, e, n), (ms(15), Some(ms(30)), 3));
        assert!(ProbeLog::default().longest_outage(t0).is_none());
    }
}
