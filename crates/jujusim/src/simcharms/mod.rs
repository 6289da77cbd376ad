//! Built-in simulator charms that honour the Charmed Kubernetes wire contracts
//! (docs/charmed-kubernetes.md §1, CK ≤ 1.21 wiring): `kubeapi-load-balancer`,
//! `kubernetes-master` and `kubernetes-worker`; and `charm-keepalived`, the original Python
//! keepalived charm's effect on its host (to `juju refresh` from). Each is a `dispatch` script
//! that runs `juju sim-charm NAME`, which reads the hook from `JUJU_HOOK_NAME` and reconciles.

pub mod lb;
pub mod legacy;
pub mod master;
pub mod tls;
pub mod tools;
pub mod worker;

use crate::error::Result;

/// A built-in charm's static files.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// Charm name.
    pub name: &'static str,
    /// metadata.yaml
    pub metadata: &'static str,
    /// config.yaml
    pub config: &'static str,
}

/// The built-in charms.
pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "kubeapi-load-balancer",
        metadata: lb::METADATA,
        config: lb::CONFIG,
    },
    Builtin {
        name: "kubernetes-master",
        metadata: master::METADATA,
        config: master::CONFIG,
    },
    Builtin {
        name: "kubernetes-worker",
        metadata: worker::METADATA,
        config: worker::CONFIG,
    },
    Builtin {
        name: "charm-keepalived",
        metadata: legacy::METADATA,
        config: legacy::CONFIG,
    },
];

/// Looks up a built-in charm by name.
pub fn builtin(name: &str) -> Option<Builtin> {
    BUILTINS.iter().copied().find(|b| b.name == name)
}

/// Runs the current hook of built-in charm `name` (called by its `dispatch`).
pub fn dispatch(name: &str) -> Result<()> {
    let hook = std::env::var("JUJU_HOOK_NAME").unwrap_or_default();
    match name {
        "kubeapi-load-balancer" => lb::hook(&hook),
        "kubernetes-master" => master::hook(&hook),
        "kubernetes-worker" => worker::hook(&hook),
        "charm-keepalived" => legacy::hook(&hook),
        other => Err(crate::Error::Invalid(format!(
            "no built-in charm {other:?}"
        ))),
    }
}
