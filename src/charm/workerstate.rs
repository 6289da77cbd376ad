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
    /// What holds the instance in FAULT, when the worker says (`"link_down"`,
    /// `"no_source_address"`, `{"track": N}`); absent from older state files.
    #[serde(default)]
    pub faults: Vec<serde_json::Value>,
}

impl InstanceState {
    /// The role as shown in `juju status`: `MASTER`, or `FAULT: LB check failing`.
    pub fn role_text(&self) -> String {
        let reasons: Vec<String> = self.faults.iter().map(fault_text).collect();
        if self.role == "FAULT" && !reasons.is_empty() {
            format!("FAULT: {}", reasons.join(", "))
        } else {
            self.role.clone()
        }
    }
}

/// A fault as an operator reads it. The charm's only track is the load balancer check.
fn fault_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) if s == "link_down" => "link down".into(),
        serde_json::Value::String(s) if s == "no_source_address" => "no source address".into(),
        serde_json::Value::String(s) => s.replace('_', " "),
        serde_json::Value::Object(m) if m.contains_key("track") => "LB check failing".into(),
        other => other.to_string(),
    }
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
        let first = self.instances.first()?.role_text();
        if self.instances.iter().all(|i| i.role_text() == first) {
            return Some(first);
        }
        let parts: Vec<String> = self
            .instances
            .iter()
            .map(|i| {
                if i.family.is_empty() {
                    format!("{} {}", i.name, i.role_text())
                } else {
                    format!("{} {}", i.family, i.role_text())
                }
            })
            .collect();
        Some(parts.join(", "))
    }

    /// Whether the process that wrote the file still runs (`/proc/<pid>` exists under
    /// `proc_root`). A file without a pid (0) is taken as current.
    pub fn writer_alive(&self, proc_root: &std::path::Path) -> bool {
        self.pid == 0 || proc_root.join(self.pid.to_string()).exists()
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

    #[test]
    fn fault_reasons_and_writer_liveness() {
        let mut s: WorkerState = serde_json::from_str(SAMPLE).unwrap();
        s.instances[0].role = "FAULT".into();
        assert_eq!(s.role_summary().as_deref(), Some("FAULT"));
        s.instances[0].faults = vec![serde_json::json!({"track": 0}), "link_down".into()];
        assert_eq!(
            s.role_summary().as_deref(),
            Some("FAULT: LB check failing, link down")
        );
        let mut six = s.instances[0].clone();
        six.family = "ipv6".into();
        six.faults = vec!["no_source_address".into()];
        s.instances.push(six);
        assert_eq!(
            s.role_summary().as_deref(),
            Some("ipv4 FAULT: LB check failing, link down, ipv6 FAULT: no source address")
        );
        let procs = tempfile::tempdir().unwrap();
        std::fs::create_dir(procs.path().join("123")).unwrap();
        assert!(s.writer_alive(procs.path()));
        s.pid = 124;
        assert!(!s.writer_alive(procs.path()));
        s.pid = 0;
        assert!(s.writer_alive(procs.path()));
    }
}
