//! Writes the JSON state file the charm reads (schema: [`vrrp::statefile`], format in
//! ARCHITECTURE.md), atomically, on every state change and at most once a second otherwise.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tracing::warn;

pub use vrrp::statefile::{InstanceRecord, StateDoc, VERSION};

/// Minimum spacing of writes that are not caused by a state change.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// The wall clock in ms since the Unix epoch (0 if the clock is before it).
pub fn unix_ms_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Decides when to write and writes.
#[derive(Debug)]
pub struct StateWriter {
    /// Writes off the event loop (see `filesink`); `None` when there is no path.
    sink: Option<crate::filesink::FileSink>,
    last_write: Option<Instant>,
    last_doc: Option<Vec<InstanceRecord>>,
}

impl StateWriter {
    /// A writer for `path`; `None` writes nothing.
    pub fn new(path: Option<PathBuf>) -> Self {
        StateWriter {
            sink: path.map(|p| crate::filesink::FileSink::new(p, 0o644)),
            last_write: None,
            last_doc: None,
        }
    }

    /// Waits until every state handed over is in the file (tests; shutdown drops the writer,
    /// which does the same).
    pub fn flush(&self) {
        if let Some(sink) = &self.sink {
            sink.flush();
        }
    }

    /// Offer the current state. `urgent` (a role change) writes at once; otherwise the
    /// file is written when the content changed and the last write is ≥ 1 s old.
    /// Returns the time the caller should offer again for a pending write, if any.
    pub fn offer(
        &mut self,
        now: Instant,
        instances: Vec<InstanceRecord>,
        urgent: bool,
    ) -> Option<Instant> {
        let sink = self.sink.as_ref()?;
        if self.last_doc.as_ref() == Some(&instances) && !urgent {
            return None;
        }
        if let Some(last) = self.last_write {
            if !urgent && now.saturating_duration_since(last) < MIN_INTERVAL {
                return Some(last + MIN_INTERVAL);
            }
        }
        let doc = StateDoc {
            version: VERSION,
            pid: std::process::id(),
            updated_unix_ms: unix_ms_now(),
            instances,
        };
        match serde_json::to_vec(&doc) {
            Ok(mut bytes) => {
                bytes.push(b'\n');
                sink.write(bytes);
            }
            Err(e) => warn!(error = %e, "cannot serialise state"),
        }
        self.last_write = Some(now);
        self.last_doc = Some(doc.instances);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst(role: vrrp::State, sent: u64) -> InstanceRecord {
        let mut cfg = vrrp::InstanceConfig::new(
            "VI_23",
            23,
            vrrp::Family::Ipv4,
            vec!["10.10.74.250/24".parse().unwrap()],
        );
        cfg.version = vrrp::Version::V3;
        cfg.priority = 150;
        let mut s = vrrp::Instance::new(cfg).unwrap().status();
        s.role = role;
        s.counters.adverts_sent = sent;
        s.vips_held = vec!["10.10.74.250/24".parse().unwrap()];
        InstanceRecord::from_status(s, "eth0", &[])
    }

    #[test]
    fn format_matches_architecture_md() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        let mut w = StateWriter::new(Some(p.clone()));
        w.offer(Instant::now(), vec![inst(vrrp::State::Master, 0)], true);
        w.flush();
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        assert_eq!(v["version"], 1);
        assert_eq!(v["pid"], std::process::id());
        assert!(v["updated_unix_ms"].as_u64().unwrap() > 0);
        let i = &v["instances"][0];
        assert_eq!(i["name"], "VI_23");
        assert_eq!(i["vrid"], 23);
        assert_eq!(i["family"], "ipv4");
        assert_eq!(i["vrrp_version"], 3);
        assert_eq!(i["interface"], "eth0");
        assert_eq!(i["role"], "MASTER");
        assert_eq!(i["base_priority"], 150);
        assert_eq!(i["effective_priority"], 150);
        assert_eq!(i["vips_held"][0], "10.10.74.250/24");
        assert_eq!(i["counters"]["adverts_sent"], 0);
        assert!(i["faults"].is_array());
        assert_eq!(i["counters"]["drops"]["ttl"], 0);
        assert!(i["counters"]["transitions"].is_u64());
        assert_eq!(i["counters"]["conflicts"]["other_vips"], 0);
        assert_eq!(i["conflicts"], serde_json::json!([]));
    }

    #[test]
    fn conflicts_are_listed() {
        let mut s = inst(vrrp::State::Backup, 0);
        s.conflicts = vec![vrrp::ConflictRecord {
            source: "192.0.2.77".parse().unwrap(),
            kind: vrrp::ConflictKind::OtherVips,
            first_seen_unix_ms: 1_000,
            last_seen_unix_ms: 2_000,
            count: 3,
        }];
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(
            v["conflicts"],
            serde_json::json!([{"source":"192.0.2.77","kind":"other_vips",
                "first_seen_unix_ms":1000,"last_seen_unix_ms":2000,"count":3}])
        );
        // Files written before the field existed still read.
        let mut old = v.clone();
        old.as_object_mut().unwrap().remove("conflicts");
        old["counters"].as_object_mut().unwrap().remove("conflicts");
        let back: InstanceRecord = serde_json::from_value(old).unwrap();
        assert!(back.conflicts.is_empty());
    }

    #[test]
    fn counter_updates_are_throttled_but_role_changes_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        let mut w = StateWriter::new(Some(p.clone()));
        let t0 = Instant::now();
        assert_eq!(w.offer(t0, vec![inst(vrrp::State::Backup, 0)], true), None);
        let due = w.offer(
            t0 + Duration::from_millis(100),
            vec![inst(vrrp::State::Backup, 1)],
            false,
        );
        assert_eq!(due, Some(t0 + MIN_INTERVAL));
        let read = |w: &StateWriter| -> serde_json::Value {
            w.flush();
            serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap()
        };
        assert_eq!(read(&w)["instances"][0]["counters"]["adverts_sent"], 0);
        w.offer(
            t0 + Duration::from_millis(200),
            vec![inst(vrrp::State::Master, 1)],
            true,
        );
        assert_eq!(read(&w)["instances"][0]["role"], "MASTER");
        assert_eq!(
            w.offer(
                t0 + Duration::from_millis(1300),
                vec![inst(vrrp::State::Master, 2)],
                false
            ),
            None
        );
        assert_eq!(read(&w)["instances"][0]["counters"]["adverts_sent"], 2);
    }

    #[test]
    fn no_path_writes_nothing() {
        let mut w = StateWriter::new(None);
        assert_eq!(w.offer(Instant::now(), vec![], true), None);
    }
}
