//! `kubeapi-load-balancer` stand-in: a TLS listener on `port` whose certificate names the unit's
//! address, `loadbalancer-ips` and `extra_sans` (regenerated when they change); provides
//! `website` (http) and `loadbalancer` (public-address) like the reactive charm (≤ 1.28).

use super::tls;
use super::tools::{self, config_str, words};
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// metadata.yaml
pub const METADATA: &str = "name: kubeapi-load-balancer
summary: Simulator stand-in for kubeapi-load-balancer (TLS listener with configurable SANs).
description: Built into jujusim. Serves TLS on its port; provides website and loadbalancer.
provides:
  website:
    interface: http
  loadbalancer:
    interface: public-address
";

/// config.yaml
pub const CONFIG: &str = "options:
  port:
    type: int
    default: 443
    description: Port the load balancer listens on.
  extra_sans:
    type: string
    default: \"\"
    description: Space-separated extra names and addresses for the server certificate.
  loadbalancer-ips:
    type: string
    default: \"\"
    description: Space-separated addresses clients use to reach the load balancer (also SANs).
";

const SERVICE: &str = "kubeapi-lb";

fn service_unit(exe: &str, cert: &str, key: &str, port: i64, unit: &str) -> String {
    format!(
        "[Unit]\nDescription=kubeapi-load-balancer stand-in TLS listener\n\n[Service]\nType=simple\nExecStart={exe} sim-tls-server --cert {cert} --key {key} --port {port} --name {unit}\nRestart=always\nRestartSec=1\n\n[Install]\nWantedBy=multi-user.target\n"
    )
}

fn systemctl(args: &[&str]) -> Result<std::process::Output> {
    std::process::Command::new("systemctl")
        .args(args)
        .output()
        .map_err(|e| Error::Invalid(format!("systemctl: {e}")))
}

fn listening(port: u16, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs one hook.
pub fn hook(name: &str) -> Result<()> {
    if name == "stop" || name == "remove" {
        let _ = systemctl(&["disable", "--now", SERVICE]);
        return Ok(());
    }
    let cfg = tools::config()?;
    let port = cfg.get("port").and_then(|v| v.as_i64()).unwrap_or(443);
    if !(1..=65535).contains(&port) {
        return tools::status_set("blocked", &format!("port {port} is outside 1-65535"));
    }
    let addr = tools::private_address()?;
    let lb_ips = words(&config_str(&cfg, "loadbalancer-ips"));
    let extra = words(&config_str(&cfg, "extra_sans"));
    let mut sans: Vec<String> = Vec::new();
    for s in std::iter::once(addr.clone())
        .chain(lb_ips.clone())
        .chain(extra)
    {
        if !tls::valid_san(&s) {
            return tools::status_set("blocked", &format!("invalid SAN {s:?} in config"));
        }
        if !sans.contains(&s) {
            sans.push(s);
        }
    }
    let root = tools::root();
    let dir = root.join("srv/kubernetes");
    let (cert, key, record) = (
        dir.join("server.crt"),
        dir.join("server.key"),
        dir.join("sans.txt"),
    );
    let wanted = sans.join(" ");
    let mut changed = false;
    if std::fs::read_to_string(&record).ok().as_deref() != Some(wanted.as_str()) || !cert.exists() {
        tools::status_set("maintenance", "Generating the server certificate")?;
        tls::generate_cert(&addr, &sans, &cert, &key)?;
        crate::charmpkg::write_atomic(&record, wanted.as_bytes())?;
        tools::log(&format!("server certificate SANs: {wanted}"));
        changed = true;
    }
    let exe = std::env::var("JUJUSIM_BIN").unwrap_or_else(|_| "/usr/local/bin/juju".into());
    let unit = std::env::var("JUJU_UNIT_NAME").unwrap_or_default();
    let text = service_unit(
        &exe,
        &cert.display().to_string(),
        &key.display().to_string(),
        port,
        &unit,
    );
    let upath = root
        .join("etc/systemd/system")
        .join(format!("{SERVICE}.service"));
    if std::fs::read_to_string(&upath).ok().as_deref() != Some(text.as_str()) {
        crate::charmpkg::write_atomic(&upath, text.as_bytes())?;
        let _ = systemctl(&["daemon-reload"]);
        changed = true;
    }
    let active = systemctl(&["is-active", SERVICE])
        .map(|o| o.status.success())
        .unwrap_or(false);
    if changed || !active {
        let o = systemctl(&["enable", SERVICE]).and_then(|_| systemctl(&["restart", SERVICE]))?;
        if !o.status.success() {
            return tools::status_set(
                "blocked",
                &format!(
                    "cannot start the listener: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                ),
            );
        }
    }
    let _ = tools::tool("open-port", &[&format!("{port}/tcp")], None);
    let published = lb_ips.first().cloned().unwrap_or_else(|| addr.clone());
    let port_s = port.to_string();
    for rid in tools::relation_ids("website")? {
        let data = BTreeMap::from([
            ("hostname", published.clone()),
            ("private-address", published.clone()),
            ("port", port_s.clone()),
        ]);
        tools::relation_set(&rid, &data)?;
    }
    for rid in tools::relation_ids("loadbalancer")? {
        let data = BTreeMap::from([
            ("public-address", published.clone()),
            ("port", port_s.clone()),
        ]);
        tools::relation_set(&rid, &data)?;
    }
    if listening(port as u16, Duration::from_secs(5)) {
        tools::status_set("active", "Loadbalancer ready.")
    } else {
        tools::status_set(
            "waiting",
            &format!("Waiting for the listener on port {port}"),
        )
    }
}
