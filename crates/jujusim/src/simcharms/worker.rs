//! `kubernetes-worker` stand-in (≤ 1.21): consumes `kube-api-endpoint` (http) and shows the URL
//! it would use, `https://<hostname>:<port>` (hostname falls back to private-address).

use super::tools::{self, https_url};
use crate::error::Result;
use std::collections::{BTreeMap, BTreeSet};

/// metadata.yaml
pub const METADATA: &str = "name: kubernetes-worker
summary: Simulator stand-in for kubernetes-worker (shows the API server URL it would use).
description: Built into jujusim. Consumes kube-api-endpoint (http).
requires:
  kube-api-endpoint:
    interface: http
";

/// config.yaml
pub const CONFIG: &str = "options: {}\n";

/// The API servers from http `services()`: `https://{hostname}:{port}` for every unit that
/// published a port, as a sorted set.
pub fn servers(bags: &[BTreeMap<String, String>]) -> Vec<String> {
    let mut set = BTreeSet::new();
    for d in bags {
        let host = d.get("hostname").or_else(|| d.get("private-address"));
        if let (Some(h), Some(p)) = (host, d.get("port")) {
            set.insert(https_url(h, p));
        }
    }
    set.into_iter().collect()
}

/// Runs one hook.
pub fn hook(name: &str) -> Result<()> {
    if name == "stop" || name == "remove" {
        return Ok(());
    }
    let mut bags = Vec::new();
    for rid in tools::relation_ids("kube-api-endpoint")? {
        for u in tools::relation_list(&rid)? {
            bags.push(tools::relation_get(&rid, &u)?);
        }
    }
    let all = servers(&bags);
    let Some(url) = all
        .get((tools::unit_number() as usize) % all.len().max(1))
        .cloned()
    else {
        return tools::status_set("waiting", "Waiting for cluster endpoint.");
    };
    let cfg = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: juju-cluster\n  cluster:\n    server: {url}\n"
    );
    crate::charmpkg::write_atomic(
        &tools::root().join("root/cdk/kubeproxyconfig"),
        cfg.as_bytes(),
    )?;
    if all.len() > 1 {
        tools::status_set(
            "active",
            &format!(
                "Kubernetes worker running; API server {url} (one of {})",
                all.join(" ")
            ),
        )
    } else {
        tools::status_set(
            "active",
            &format!("Kubernetes worker running; API server {url}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostname_falls_back_and_duplicates_collapse() {
        let a = BTreeMap::from([
            ("hostname".to_string(), "test.example.com".to_string()),
            ("private-address".to_string(), "192.0.2.250".to_string()),
            ("port".to_string(), "443".to_string()),
        ]);
        let b = BTreeMap::from([
            ("private-address".to_string(), "192.0.2.10".to_string()),
            ("port".to_string(), "443".to_string()),
        ]);
        let no_port = BTreeMap::from([("private-address".to_string(), "192.0.2.11".to_string())]);
        assert_eq!(
            servers(&[a.clone(), a, b, no_port]),
            ["https://192.0.2.10:443", "https://test.example.com:443"]
        );
    }
}
