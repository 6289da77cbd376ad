//! Reads the worker's state file (vrrpd → charm). The schema is the worker's own
//! ([`vrrp::statefile`]), so writer and reader cannot disagree; this module adds the file
//! access and how the charm words what it finds. The charm reads [`StateView`]: the
//! worker's counters are skipped, not decoded (their decoder cost `dispatch` 28 KiB).
use std::path::Path;

use vrrp::{Fault, InstanceRecord, StateDoc, StateView};

/// Errors reading the state file.
#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    /// The file could not be read.
    #[error("cannot read worker state {path}: {source}")]
    Read {
        /// The path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not valid JSON of the expected shape.
    #[error("malformed worker state {path}: {source}")]
    Parse {
        /// The path.
        path: String,
        /// The decode error.
        source: serde_json::Error,
    },
    /// The file is of a format version this charm does not know.
    #[error(
        "worker state {path} has format version {version}, this charm reads {}",
        vrrp::statefile::VERSION
    )]
    Version {
        /// The path.
        path: String,
        /// The file's version.
        version: u32,
    },
}

/// Reads the state file; a missing file is `Ok(None)`.
pub fn read(path: &Path) -> Result<Option<StateView>, StateFileError> {
    let shown = path.display().to_string();
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StateFileError::Read {
                path: shown,
                source,
            })
        }
    };
    let doc: StateView =
        serde_json::from_slice(&bytes).map_err(|source| StateFileError::Parse {
            path: shown.clone(),
            source,
        })?;
    if !doc.is_supported() {
        return Err(StateFileError::Version {
            path: shown,
            version: doc.version,
        });
    }
    Ok(Some(doc))
}

/// Whether the process that wrote the file still runs (`/proc/<pid>` exists under
/// `proc_root`). A file without a pid (0) is taken as current.
pub fn writer_alive<C>(doc: &StateDoc<C>, proc_root: &Path) -> bool {
    doc.pid == 0 || proc_root.join(doc.pid.to_string()).exists()
}

/// A fault as an operator reads it. The charm's only track is the load balancer check.
pub fn fault_text(f: &Fault) -> &'static str {
    match f {
        Fault::LinkDown => "link down",
        Fault::NoSourceAddress => "no source address",
        Fault::Track(_) => "LB check failing",
    }
}

/// The role as shown in `juju status`: `MASTER`, or `FAULT: LB check failing`.
pub fn role_text<C>(i: &InstanceRecord<C>) -> String {
    let reasons: Vec<&str> = i.faults.iter().map(fault_text).collect();
    if i.role == vrrp::State::Fault && !reasons.is_empty() {
        format!("FAULT: {}", reasons.join(", "))
    } else {
        i.role.as_str().to_string()
    }
}

/// A short role summary for the status line: `MASTER`, or `ipv4 MASTER, ipv6 BACKUP`
/// when instances disagree; `None` with no instances.
pub fn role_summary<C>(doc: &StateDoc<C>) -> Option<String> {
    let first = role_text(doc.instances.first()?);
    if doc.instances.iter().all(|i| role_text(i) == first) {
        return Some(first);
    }
    let parts: Vec<String> = doc
        .instances
        .iter()
        .map(|i| format!("{} {}", i.family.as_str(), role_text(i)))
        .collect();
    Some(parts.join(", "))
}

/// Every instance is up (BACKUP or MASTER), i.e. the worker listens to adverts.
pub fn all_up<C>(doc: &StateDoc<C>) -> bool {
    !doc.instances.is_empty()
        && doc
            .instances
            .iter()
            .all(|i| matches!(i.role, vrrp::State::Backup | vrrp::State::Master))
}

#[cfg(test)]
#[path = "workerstate_tests.rs"]
mod tests;
