//! Checks across blocks: duplicate instance names, VRID collisions.

use std::collections::HashMap;

use crate::diag::Sink;
use crate::model::{Config, Family, Location};

/// Runs the cross-block checks on a built configuration.
pub(crate) fn run(cfg: &Config, sink: &mut Sink) {
    let mut names: HashMap<&str, &Location> = HashMap::new();
    let mut vrids: HashMap<(Option<&str>, u8, Family), (&str, &Location)> = HashMap::new();
    for inst in &cfg.instances {
        if let Some(prev) = names.get(inst.name.as_str()) {
            sink.error(
                &inst.location,
                format!(
                    "duplicate vrrp_instance name '{}' (first at {}:{})",
                    inst.name, prev.file, prev.line
                ),
            );
        } else {
            names.insert(&inst.name, &inst.location);
        }
        let key = (inst.interface.as_deref(), inst.vrid, inst.family);
        if let Some((other, prev)) = vrids.get(&key) {
            let on = inst
                .interface
                .as_deref()
                .map(|i| format!(" on interface {i}"))
                .unwrap_or_default();
            sink.error(
                &inst.location,
                format!(
                    "vrrp_instance {} uses VRID {} ({:?}){on} like vrrp_instance {other} ({}:{})",
                    inst.name, inst.vrid, inst.family, prev.file, prev.line
                ),
            );
        } else {
            vrids.insert(key, (&inst.name, &inst.location));
        }
    }
}
