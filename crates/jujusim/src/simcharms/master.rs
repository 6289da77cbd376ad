//! `kubernetes-master` stand-in (≤ 1.21): consumes `loadbalancer` (public-address) and shows the
//! API server URL it would put in kubeconfig, `https://<public-address>:<port>`.

use super::tools::{self, config_str, https_url, words};
use crate::error::Result;
use std::collections::BTreeSet;

/// metadata.yaml
pub const METADATA: &str = "name: kubernetes-master
summary: Simulator stand-in for kubernetes-master (shows its kubeconfig server URL).
description: Built into jujusim. Consumes loadbalancer (public-address).
requires:
  loadbalancer:
    interface: public-address
";

/// config.yaml
pub const CONFIG: &str = "options:
  extra_sans:
    type: string
    default: \"\"
    description: Space-separated extra names and addresses for the API server certificate.
  loadbalancer-ips:
    type: string
    default: \"\"
    description: Space-separated load balancer addresses; override the loadbalancer relation.
";

/// The API endpoints the master would use, as in `get_lb_endpoints()`: `loadbalancer-ips`
/// (port 6443) first, else the set of `(public-address, port)` over the relation.
pub fn endpoints(lb_ips: &[String], relation: &[(String, String)]) -> Vec<(String, String)> {
    if !lb_ips.is_empty() {
        return lb_ips
            .iter()
            .map(|ip| (ip.clone(), "6443".to_string()))
            .collect();
    }
    let set: BTreeSet<(String, String)> = relation.iter().cloned().collect();
    set.into_iter().collect()
}

/// Runs one hook.
pub fn hook(name: &str) -> Result<()> {
    if name == "stop" || name == "remove" {
        return Ok(());
    }
    let cfg = tools::config()?;
    let mut rel = Vec::new();
    for rid in tools::relation_ids("loadbalancer")? {
        for u in tools::relation_list(&rid)? {
            let d = tools::relation_get(&rid, &u)?;
            if let (Some(a), Some(p)) = (d.get("public-address"), d.get("port")) {
                rel.push((a.clone(), p.clone()));
            }
        }
    }
    let eps = endpoints(&words(&config_str(&cfg, "loadbalancer-ips")), &rel);
    let root = tools::root();
    let Some((host, port)) = eps
        .get((tools::unit_number() as usize) % eps.len().max(1))
        .cloned()
    else {
        return tools::status_set("waiting", "Waiting for loadbalancer");
    };
    let url = https_url(&host, &port);
    let mut sans = vec![tools::private_address()?];
    sans.extend(eps.iter().map(|e| e.0.clone()));
    sans.extend(words(&config_str(&cfg, "extra_sans")));
    sans.dedup();
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: juju-cluster\n  cluster:\n    server: {url}\n"
    );
    crate::charmpkg::write_atomic(&root.join("root/cdk/kubeconfig"), kubeconfig.as_bytes())?;
    crate::charmpkg::write_atomic(
        &root.join("root/cdk/server-sans.txt"),
        sans.join(" ").as_bytes(),
    )?;
    if eps.len() > 1 {
        let all: Vec<String> = eps.iter().map(|(h, p)| https_url(h, p)).collect();
        tools::status_set(
            "active",
            &format!(
                "Kubernetes master running; kubeconfig server {url} (one of {})",
                all.join(" ")
            ),
        )
    } else {
        tools::status_set(
            "active",
            &format!("Kubernetes master running; kubeconfig server {url}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_wins_and_relation_entries_collapse() {
        let rel = vec![
            ("192.0.2.250".to_string(), "443".to_string()),
            ("192.0.2.250".to_string(), "443".to_string()),
        ];
        assert_eq!(
            endpoints(&[], &rel),
            vec![("192.0.2.250".into(), "443".into())]
        );
        assert_eq!(
            endpoints(&["192.0.2.9".into()], &rel),
            vec![("192.0.2.9".into(), "6443".into())]
        );
        assert!(endpoints(&[], &[]).is_empty());
    }
}
