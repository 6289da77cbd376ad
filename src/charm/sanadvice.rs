//! What the certificate check tells the operator (pure): the status note and the exact
//! `juju config` commands for the load balancer and the control plane (publish + verify + tell,
//! docs/charmed-kubernetes.md §2; a subordinate cannot configure other applications).
use std::net::{IpAddr, SocketAddr};

use super::config::CharmConfig;
use super::hooktools::Bag;
use super::tlscheck::{self, CertCheck, CheckError, ProbeError, SanName};

/// The principal we assume when the `juju-info` relation does not name one.
pub const DEFAULT_LB_APP: &str = "kubeapi-load-balancer";
/// The control-plane application of Charmed Kubernetes.
pub const CONTROL_PLANE_APP: &str = "kubernetes-control-plane";

/// What the check found, reduced to what the operator must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Every VIP and the hostname are SANs of the served certificate.
    Complete,
    /// These required names are missing.
    Missing(Vec<SanName>),
    /// No certificate could be read from the endpoint.
    Unreadable {
        /// Where we connected.
        endpoint: SocketAddr,
        /// Why it failed.
        error: CheckError,
    },
}

impl Finding {
    /// Compares a check with the names the config requires.
    pub fn of(check: &CertCheck, required: &[SanName]) -> Self {
        match &check.served {
            Ok(served) => {
                let missing = tlscheck::missing(required, served);
                if missing.is_empty() {
                    Finding::Complete
                } else {
                    Finding::Missing(missing)
                }
            }
            Err(error) => Finding::Unreadable {
                endpoint: check.endpoint,
                error: error.clone(),
            },
        }
    }
}

/// The names the config requires of the served certificate.
pub fn required(cfg: &CharmConfig) -> Vec<SanName> {
    let vips: Vec<IpAddr> = cfg.vips.iter().map(|v| v.addr).collect();
    tlscheck::required_names(&vips, cfg.vip_hostname.as_deref())
}

/// The status suffix for a finding (after `VIP ready (…); `).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertNote {
    /// One line, e.g. `LB cert lacks SAN(s) 10.0.0.1: juju config … extra_sans="10.0.0.1"`.
    pub text: String,
    /// True when SANs are missing (the case `strict_san_check` turns into `blocked`).
    pub missing_sans: bool,
}

fn joined(names: &[SanName]) -> String {
    names
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The note for the status line; `None` when the certificate is complete.
pub fn note(finding: &Finding, lb_app: &str) -> Option<CertNote> {
    match finding {
        Finding::Complete => None,
        Finding::Missing(names) => {
            let n = joined(names);
            Some(CertNote {
                text: format!("LB cert lacks SAN(s) {n}: juju config {lb_app} extra_sans=\"{n}\""),
                missing_sans: true,
            })
        }
        Finding::Unreadable { endpoint, error } => {
            let text = match error {
                CheckError::Probe(ProbeError::Connect(_) | ProbeError::Handshake(_)) => {
                    format!("LB not answering TLS on {endpoint}")
                }
                CheckError::Probe(ProbeError::NoCertificate) => {
                    format!("LB served no certificate on {endpoint}")
                }
                CheckError::Probe(ProbeError::Certificate(_)) => {
                    format!("LB certificate on {endpoint} unreadable")
                }
                CheckError::Unavailable(_) => {
                    format!("LB certificate on {endpoint} not checked (probe failed)")
                }
            };
            Some(CertNote {
                text,
                missing_sans: false,
            })
        }
    }
}

/// `https://ADDR:PORT`, IPv6 bracketed.
pub fn url(addr: IpAddr, port: u16) -> String {
    format!("https://{}", SocketAddr::new(addr, port))
}

/// The commands and notes the `check-certificate` action prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commands {
    /// For the load balancer (the principal), preferred first.
    pub load_balancer: Vec<String>,
    /// For the control plane.
    pub control_plane: Vec<String>,
    /// Caveats, one per line.
    pub notes: Vec<String>,
}

/// The exact commands that make the served certificates deterministic (pure).
pub fn commands(cfg: &CharmConfig, lb_app: &str) -> Commands {
    let ips = cfg
        .vips
        .iter()
        .map(|v| v.addr.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    let names = joined(&required(cfg));
    let mut notes = vec![
        format!(
            "loadbalancer-ips is the preferred knob: it puts the VIP(s) into {lb_app}'s certificate \
             and makes lb-consumers answers and the control plane's endpoints use them."
        ),
        "extra_sans replaces the current value: merge it with what `juju config APP extra_sans` \
         shows now (this charm cannot read it)."
            .to_string(),
        format!(
            "loadbalancer-ips on {CONTROL_PLANE_APP} makes clients use https://VIP:6443, which needs \
             the load balancer to listen on 6443 (loadbalancer-internal related)."
        ),
    ];
    if cfg.vip_hostname.is_some() {
        notes.insert(
            1,
            "vip_hostname is a DNS name, which only extra_sans can add.".to_string(),
        );
    }
    if let Some(first) = cfg.vips.first() {
        notes.push(format!(
            "Clients reach the API through the VIP at {}.",
            url(first.addr, cfg.port)
        ));
    }
    Commands {
        load_balancer: vec![
            format!("juju config {lb_app} loadbalancer-ips=\"{ips}\""),
            format!("juju config {lb_app} extra_sans=\"{names}\""),
        ],
        control_plane: vec![format!(
            "juju config {CONTROL_PLANE_APP} extra_sans=\"{names}\" loadbalancer-ips=\"{ips}\""
        )],
        notes,
    }
}

/// The `action-set` results of `check-certificate` (pure). Keys: `endpoint`, `result`
/// (`ok`, `missing-sans`, `unreadable`), `required`, `missing`, `served.ip-sans`,
/// `served.dns-sans`, `error`, `commands.load-balancer`, `commands.control-plane`, `notes`.
pub fn action_results(check: &CertCheck, cfg: &CharmConfig, lb_app: &str) -> Bag {
    let req = required(cfg);
    let finding = Finding::of(check, &req);
    let mut out = Bag::new();
    out.insert("endpoint".into(), check.endpoint.to_string());
    out.insert("required".into(), joined(&req));
    let result = match &finding {
        Finding::Complete => "ok",
        Finding::Missing(m) => {
            out.insert("missing".into(), joined(m));
            "missing-sans"
        }
        Finding::Unreadable { error, .. } => {
            out.insert("error".into(), error.to_string());
            "unreadable"
        }
    };
    out.insert("result".into(), result.into());
    if let Ok(served) = &check.served {
        let ips: Vec<String> = served.ips.iter().map(ToString::to_string).collect();
        out.insert("served.ip-sans".into(), ips.join(" "));
        out.insert("served.dns-sans".into(), served.dns.join(" "));
    }
    let c = commands(cfg, lb_app);
    out.insert("commands.load-balancer".into(), c.load_balancer.join("\n"));
    out.insert("commands.control-plane".into(), c.control_plane.join("\n"));
    out.insert("notes".into(), c.notes.join("\n"));
    out
}

/// The human-readable report the action prints on stdout (pure).
pub fn action_report(check: &CertCheck, cfg: &CharmConfig, lb_app: &str) -> String {
    let req = required(cfg);
    let mut out = String::new();
    let line = |out: &mut String, s: &str| {
        out.push_str(s);
        out.push('\n');
    };
    match Finding::of(check, &req) {
        Finding::Complete => line(
            &mut out,
            &format!(
                "The certificate served on {} carries every required SAN: {}",
                check.endpoint,
                joined(&req)
            ),
        ),
        Finding::Missing(m) => line(
            &mut out,
            &format!(
                "The certificate served on {} lacks SAN(s): {}",
                check.endpoint,
                joined(&m)
            ),
        ),
        Finding::Unreadable { endpoint, error } => line(
            &mut out,
            &format!("No certificate could be read from {endpoint}: {error}"),
        ),
    }
    let c = commands(cfg, lb_app);
    line(&mut out, "");
    line(
        &mut out,
        &format!("# {lb_app} (the certificate clients see through the VIP):"),
    );
    for cmd in &c.load_balancer {
        line(&mut out, cmd);
    }
    line(&mut out, "");
    line(&mut out, &format!("# {CONTROL_PLANE_APP}:"));
    for cmd in &c.control_plane {
        line(&mut out, cmd);
    }
    line(&mut out, "");
    for n in &c.notes {
        line(&mut out, &format!("Note: {n}"));
    }
    out
}

#[cfg(test)]
#[path = "sanadvice_tests.rs"]
mod tests;
