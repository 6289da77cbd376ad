//! Writes the JSON state file the charm reads (schema: [`vrrp::statefile`], format in
//! ARCHITECTURE.md), atomically, on every state change and at most once a second otherwise.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
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

/// What a transition is, for the transitions file: any instance's role, master or holding
/// changed, or a conflict from a new source or of a new kind was recorded (what `juju status`
/// shows: the unit's status names the first conflict). Repeats of a known conflict (its count,
/// last seen) are not transitions; the worker keeps at most 16 conflict records, so this stays
/// bounded however many foreign adverts arrive.
type Roles = Vec<(String, vrrp::State, Option<IpAddr>, bool, Vec<Clash>)>;

/// One conflict as the status names it: its source and kind.
type Clash = (IpAddr, vrrp::ConflictKind);

fn roles(instances: &[InstanceRecord]) -> Roles {
    instances
        .iter()
        .map(|i| {
            let holds = !i.vips_held.is_empty();
            let clashes = i.conflicts.iter().map(|c| (c.source, c.kind)).collect();
            (i.name.clone(), i.role, i.master_address, holds, clashes)
        })
        .collect()
}

/// The transitions file: rewritten (after the state file) only when [`Roles`] change, so a
/// systemd `.path` unit watching it starts the unit's status refresh on transitions only.
#[derive(Debug, Serialize)]
struct TransitionsDoc<'a> {
    /// Transitions written since the worker started (1 = the first roles).
    seq: u64,
    updated_unix_ms: u64,
    /// `[name, role]` per instance.
    roles: Vec<(&'a str, vrrp::State)>,
}

/// Decides when to write and writes.
#[derive(Debug)]
pub struct StateWriter {
    /// Writes off the event loop (see `filesink`); `None` when there is no path.
    sink: Option<crate::filesink::FileSink>,
    last_write: Option<Instant>,
    last_doc: Option<Vec<InstanceRecord>>,
    /// Whether a transitions file is kept (companion of the state file).
    transitions: bool,
    last_roles: Option<Roles>,
    seq: u64,
    /// The event loop's scheduling, written at the top of every file.
    scheduling: vrrp::Scheduling,
}

impl StateWriter {
    /// A writer for `path`; `None` writes nothing.
    pub fn new(path: Option<PathBuf>) -> Self {
        StateWriter::with_transitions(path, None)
    }

    /// A writer for `path` that also rewrites `transitions` (right after the state file) on
    /// every role, master or holding change. Without a state file, neither is written.
    pub fn with_transitions(path: Option<PathBuf>, transitions: Option<PathBuf>) -> Self {
        let has = transitions.is_some();
        StateWriter {
            sink: path.map(|p| crate::filesink::FileSink::with_companion(p, transitions, 0o644)),
            last_write: None,
            last_doc: None,
            transitions: has,
            last_roles: None,
            seq: 0,
            scheduling: vrrp::Scheduling::default(),
        }
    }

    /// The transitions file's content when the roles changed since the last one.
    fn transition(&mut self, instances: &[InstanceRecord]) -> Option<Vec<u8>> {
        if !self.transitions {
            return None;
        }
        let now = roles(instances);
        if self.last_roles.as_ref() == Some(&now) {
            return None;
        }
        self.seq += 1;
        let doc = TransitionsDoc {
            seq: self.seq,
            updated_unix_ms: unix_ms_now(),
            roles: instances
                .iter()
                .map(|i| (i.name.as_str(), i.role))
                .collect(),
        };
        self.last_roles = Some(now);
        let mut bytes = serde_json::to_vec(&doc).ok()?;
        bytes.push(b'\n');
        Some(bytes)
    }

    /// The scheduling written from the next write on (the caller offers urgently to have it
    /// written at once).
    pub fn set_scheduling(&mut self, s: vrrp::Scheduling) {
        self.scheduling = s;
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
        self.sink.as_ref()?;
        if self.last_doc.as_ref() == Some(&instances) && !urgent {
            return None;
        }
        if let Some(last) = self.last_write {
            if !urgent && now.saturating_duration_since(last) < MIN_INTERVAL {
                return Some(last + MIN_INTERVAL);
            }
        }
        let transition = self.transition(&instances);
        let sink = self.sink.as_ref()?;
        let doc = StateDoc {
            version: VERSION,
            pid: std::process::id(),
            updated_unix_ms: unix_ms_now(),
            instances,
            scheduling: self.scheduling.clone(),
        };
        match serde_json::to_vec(&doc) {
            Ok(mut bytes) => {
                bytes.push(b'\n');
                sink.write_with(bytes, transition);
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
            mac: None,
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
    fn transitions_file_changes_on_role_changes_and_new_conflicts_only() {
        let dir = tempfile::tempdir().unwrap();
        let (p, t) = (
            dir.path().join("state.json"),
            dir.path().join("transitions"),
        );
        let mut w = StateWriter::with_transitions(Some(p.clone()), Some(t.clone()));
        let read = |w: &StateWriter| -> serde_json::Value {
            w.flush();
            serde_json::from_slice(&std::fs::read(&t).unwrap()).unwrap()
        };
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        w.offer(t0, vec![inst(vrrp::State::Backup, 0)], true);
        assert_eq!(read(&w)["seq"], 1);
        assert_eq!(read(&w)["roles"], serde_json::json!([["VI_23", "BACKUP"]]));
        // Counters only (urgent or not): the state file moves, the transitions file does not.
        w.offer(at(1_100), vec![inst(vrrp::State::Backup, 5)], false);
        w.offer(at(1_200), vec![inst(vrrp::State::Backup, 6)], true);
        assert_eq!(read(&w)["seq"], 1);
        let mut m = inst(vrrp::State::Master, 7);
        m.vips_held = vec!["10.10.74.250/24".parse().unwrap()];
        w.offer(at(1_300), vec![m.clone()], true);
        let v = read(&w);
        assert_eq!(
            (v["seq"].as_u64(), &v["roles"][0][1]),
            (Some(2), &serde_json::json!("MASTER"))
        );
        // A new master followed by a backup is a transition too (status shows the holder).
        let mut b = inst(vrrp::State::Backup, 8);
        b.master_address = Some("192.0.2.11".parse().unwrap());
        w.offer(at(1_400), vec![b.clone()], true);
        b.master_address = Some("192.0.2.12".parse().unwrap());
        let b_last = b.clone();
        w.offer(at(1_500), vec![b], true);
        assert_eq!(read(&w)["seq"], 4);
        // A conflict from a new source is a transition (the status names it); its repeats
        // (count, last seen) are not.
        let mut c = b_last.clone();
        c.conflicts = vec![vrrp::statefile::ConflictRecord {
            source: "192.0.2.77".parse().unwrap(),
            kind: vrrp::ConflictKind::OtherVips,
            first_seen_unix_ms: 1,
            last_seen_unix_ms: 1,
            count: 1,
            mac: None,
        }];
        w.offer(at(1_600), vec![c.clone()], true);
        assert_eq!(read(&w)["seq"], 5);
        c.conflicts[0].count = 9;
        c.conflicts[0].last_seen_unix_ms = 9;
        w.offer(at(1_700), vec![c], true);
        assert_eq!(read(&w)["seq"], 5);
        // Without a transitions path, nothing but the state file.
        let q = dir.path().join("other.json");
        let mut plain = StateWriter::new(Some(q.clone()));
        plain.offer(t0, vec![m], true);
        plain.flush();
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["other.json", "state.json", "transitions"]);
    }

    #[test]
    fn no_path_writes_nothing() {
        let mut w = StateWriter::new(None);
        assert_eq!(w.offer(Instant::now(), vec![], true), None);
    }
}
