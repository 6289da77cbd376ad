//! The worker's JSON state file (vrrpd → charm), see ARCHITECTURE.md.
use serde::Deserialize;

/// Top level of the state file. Unknown fields are ignored so vrrpd may add more.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct WorkerState {
    /// Format version (1).
    pub version: u32,
    /// The worker's pid.
    #[serde(default)]
    pub pid: u32,
    /// One entry per `vrrp_instance`.
    #[serde(default)]
    pub instances: Vec<InstanceState>,
}

/// One instance's status.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct InstanceState {
    /// Instance name, e.g. `VI_23`.
    pub name: String,
    /// `ipv4` or `ipv6`.
    #[serde(default)]
    pub family: String,
    /// `INIT`, `BACKUP`, `MASTER` or `FAULT`.
    pub role: String,
    /// The configured priority.
    #[serde(default)]
    pub base_priority: u32,
    /// The priority currently advertised.
    #[serde(default)]
    pub effective_priority: u32,
    /// The current master's address, if known.
    #[serde(default)]
    pub master_address: Option<String>,
    /// VIPs this unit holds now.
    #[serde(default)]
    pub vips_held: Vec<String>,
}

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
}

impl WorkerState {
    /// Reads the state file; a missing file is `Ok(None)`.
    pub fn read(path: &std::path::Path) -> Result<Option<Self>, StateFileError> {
        let shown = path.display().to_string();
        match std::fs::read(path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|source| StateFileError::Parse {
                        path: shown,
                        source,
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StateFileError::Read {
                path: shown,
                source,
            }),
        }
    }

    /// A short role summary for the status line: `MASTER`, or `ipv4 MASTER, ipv6 BACKUP`
    /// when instances disagree; `None` with no instances.
    pub fn role_summary(&self) -> Option<String> {
        let first = self.instances.first()?;
        if self.instances.iter().all(|i| i.role == first.role) {
            return Some(first.role.clone());
        }
        let parts: Vec<String> = self
            .instances
            .iter()
            .map(|i| {
                if i.family.is_empty() {
                    format!("{} {}", i.name, i.role)
                } else {
                    format!("{} {}", i.family, i.role)
                }
            })
            .collect();
        Some(parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{"version":1,"pid":123,"updated_unix_ms":0,
 "instances":[{"name":"VI_23","vrid":23,"family":"ipv4","vrrp_version":3,"interface":"eth0",
   "role":"MASTER","base_priority":150,"effective_priority":150,"master_address":"192.0.2.10",
   "vips_held":["10.10.74.250/24"],
   "counters":{"adverts_sent":0,"adverts_received":0,"transitions":0,"drops":{"ttl":0}}}]}"#;

    #[test]
    fn parses_the_architecture_sample() {
        let s: WorkerState = serde_json::from_str(SAMPLE).unwrap();
        assert_eq!(s.pid, 123);
        assert_eq!(s.instances[0].role, "MASTER");
        assert_eq!(s.instances[0].vips_held, ["10.10.74.250/24"]);
        assert_eq!(s.role_summary().as_deref(), Some("MASTER"));
    }

    #[test]
    fn summarises_disagreeing_instances_and_handles_files() {
        let mut s: WorkerState = serde_json::from_str(SAMPLE).unwrap();
        let mut six = s.instances[0].clone();
        six.family = "ipv6".into();
        six.role = "BACKUP".into();
        s.instances.push(six);
        assert_eq!(
            s.role_summary().as_deref(),
            Some("ipv4 MASTER, ipv6 BACKUP")
        );
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state.json");
        assert!(WorkerState::read(&p).unwrap().is_none());
        std::fs::write(&p, "{not json").unwrap();
        assert!(matches!(
            WorkerState::read(&p),
            Err(StateFileError::Parse { .. })
        ));
        std::fs::write(&p, SAMPLE).unwrap();
        assert_eq!(WorkerState::read(&p).unwrap().map(|s| s.pid), Some(123));
    }
}
