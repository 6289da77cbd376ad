//! The state file is one contract: what vrrpd's writer puts on disk, the charm reads back,
//! every role, fault and conflict included; and files of older workers (a refresh reads the
//! old worker's file once) still read.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::time::Instant;

use keepalived::charm::workerstate;
use vrrp::{ConflictKind, ConflictRecord, Fault, InstanceRecord, State};

fn record(
    name: &str,
    role: State,
    faults: Vec<Fault>,
    conflicts: &[ConflictRecord],
) -> InstanceRecord {
    let mut cfg = vrrp::InstanceConfig::new(
        name,
        23,
        vrrp::Family::Ipv4,
        vec!["192.0.2.250/24".parse().unwrap()],
    );
    cfg.priority = 150;
    cfg.version = vrrp::Version::V3;
    cfg.advert_interval = std::time::Duration::from_millis(100);
    cfg.adaptive_floor = Some(std::time::Duration::from_millis(30));
    let mut s = vrrp::Instance::new(cfg).unwrap().status();
    s.role = role;
    s.faults = faults;
    if matches!(role, State::Master | State::Leaving) {
        s.vips_held = vec!["192.0.2.250/24".parse().unwrap()];
        s.master_address = Some("192.0.2.10".parse().unwrap());
    }
    s.counters.adverts_sent = 7;
    s.advert_gap_excess.samples = 4;
    s.advert_gap_excess.max_us = 27_000;
    let mut r = InstanceRecord::from_status(s, "eth0", conflicts);
    r.timing.timer_late.p99_us = 1_200;
    r.timing.send_late.max_ever_us = 9_000;
    r
}

/// Writes `instances` with vrrpd's own writer; returns the whole file as the schema reads it
/// and what the charm's reader makes of it.
fn round_trip(instances: Vec<InstanceRecord>) -> (vrrp::StateDoc, vrrp::StateView) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let mut w = vrrpd::statefile::StateWriter::new(Some(path.clone()));
    w.offer(Instant::now(), instances, true);
    w.flush();
    let whole = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let view = workerstate::read(&path)
        .unwrap()
        .expect("the worker wrote the file");
    (whole, view)
}

/// What the charm uses of a record (all but the counters it skips).
fn seen<C>(i: &InstanceRecord<C>) -> String {
    format!(
        "{} {} {:?} {:?} {:?} {:?} {:?} {:?} {}/{}",
        i.name,
        i.vrid,
        i.family,
        i.role,
        i.vips_held,
        i.master_address,
        i.faults,
        i.conflicts,
        i.base_priority,
        i.effective_priority
    )
}

#[test]
fn every_role_fault_and_conflict_written_by_the_worker_reads_back() {
    let conflicts = [
        ConflictRecord {
            source: "192.0.2.77".parse().unwrap(),
            kind: ConflictKind::OtherVips,
            first_seen_unix_ms: 1_000,
            last_seen_unix_ms: 2_000,
            count: 3,
            mac: None,
        },
        ConflictRecord {
            source: "2001:db8::77".parse().unwrap(),
            kind: ConflictKind::UnknownPeer,
            first_seen_unix_ms: 5,
            last_seen_unix_ms: 6,
            count: 1,
            mac: None,
        },
        ConflictRecord {
            source: "192.0.2.100".parse().unwrap(),
            kind: ConflictKind::AddressConflict,
            first_seen_unix_ms: 7,
            last_seen_unix_ms: 8,
            count: 2,
            mac: Some(vrrp::Mac([2, 0, 0, 0, 0, 0xaa])),
        },
    ];
    let written = vec![
        record("VI_INIT", State::Init, vec![], &[]),
        record("VI_BACKUP", State::Backup, vec![], &conflicts),
        record("VI_MASTER", State::Master, vec![], &[]),
        record(
            "VI_FAULT",
            State::Fault,
            vec![Fault::LinkDown, Fault::NoSourceAddress, Fault::Track(0)],
            &[],
        ),
        record("VI_LEAVING", State::Leaving, vec![], &[]),
    ];
    let (whole, doc) = round_trip(written.clone());
    assert_eq!(
        whole.instances, written,
        "the file holds exactly what the worker wrote"
    );
    assert_eq!(doc.version, vrrp::statefile::VERSION);
    assert_eq!(doc.pid, std::process::id());
    assert!(doc.updated_unix_ms > 0);
    let want: Vec<String> = written.iter().map(seen).collect();
    let got: Vec<String> = doc.instances.iter().map(seen).collect();
    assert_eq!(
        got, want,
        "the charm sees what the worker wrote, counters skipped"
    );
    let roles: Vec<String> = doc.instances.iter().map(workerstate::role_text).collect();
    assert_eq!(
        roles,
        [
            "INIT",
            "BACKUP",
            "MASTER",
            "FAULT: link down, no source address, LB check failing",
            "LEAVING"
        ]
    );
    assert_eq!(doc.instances[1].conflicts, conflicts);
    for (got, put) in doc.instances.iter().zip(&written) {
        assert_eq!(got.timing, put.timing, "timing reads back as written");
    }
    assert_eq!(doc.instances[2].timing.advert_gap_excess.max_us, 27_000);
    assert_eq!(doc.instances[2].timing.timer_late.p99_us, 1_200);
    for (got, put) in doc.instances.iter().zip(&written) {
        assert_eq!(got.advert, put.advert, "advert reads back as written");
    }
    let a = &doc.instances[2].advert;
    assert_eq!(
        (a.mode, a.interval_ms, a.floor_ms, a.ceiling_ms, a.changes),
        (vrrp::AdvertMode::Auto, 100, 30, 100, 0),
        "the worker's own adaptive instance, before its first window"
    );
    // The names the team agreed on (issue 13): one object per instance.
    let v = serde_json::to_value(&whole.instances[2]).unwrap();
    assert_eq!(
        v["advert"],
        serde_json::json!({"mode": "auto", "interval_ms": 100, "floor_ms": 30,
            "ceiling_ms": 100, "reason": "start at advert_int", "changes": 0})
    );
    assert!(!workerstate::all_up(&doc));
    assert!(workerstate::writer_alive(
        &doc,
        std::path::Path::new("/proc")
    ));
}

/// A file as the first worker wrote it (vrrpd at da84592: no `faults`, no `conflicts`, no
/// `counters.conflicts` or `v2_compat_received`).
const FIRST_WORKER: &str = r#"{"version":1,"pid":4242,"updated_unix_ms":1700000000000,
"instances":[{"name":"VI_23","vrid":23,"family":"ipv4","vrrp_version":3,"interface":"eth0",
"role":"MASTER","base_priority":250,"effective_priority":250,"master_address":"192.0.2.10",
"vips_held":["192.0.2.250/24"],"counters":{"adverts_sent":10,"adverts_received":0,
"priority_zero_sent":0,"priority_zero_received":0,"message_only_checksum":0,"transitions":2,
"became_master":1,"drops":{"length":0,"vrid":0,"inactive":0,"ttl":0,"version":0,"type":0,
"checksum":0,"family":0,"destination":0,"auth_type":0,"auth":0,"interval":0,"addr_count":0,
"addr_list":0,"own":0}}}]}
"#;

/// A file as the worker wrote it once faults were in (53db4ac), before conflicts.
const FAULTS_WORKER: &str = r#"{"version":1,"pid":4243,"updated_unix_ms":1700000000000,
"instances":[{"name":"VI_23","vrid":23,"family":"ipv4","vrrp_version":3,"interface":"eth0",
"role":"FAULT","base_priority":240,"effective_priority":0,"master_address":null,
"vips_held":[],"faults":[{"track":0}],"counters":{"adverts_sent":10,"adverts_received":3,
"priority_zero_sent":1,"priority_zero_received":0,"message_only_checksum":0,
"v2_compat_received":0,"transitions":3,"became_master":1,"drops":{"length":0,"vrid":0,
"inactive":0,"ttl":0,"version":0,"type":0,"checksum":0,"family":0,"destination":0,
"auth_type":0,"auth":0,"interval":0,"addr_count":0,"addr_list":0,"own":0}}}]}
"#;

#[test]
fn files_of_older_workers_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    std::fs::write(&path, FIRST_WORKER).unwrap();
    let whole: vrrp::StateDoc = serde_json::from_str(FIRST_WORKER).unwrap();
    assert_eq!(whole.instances[0].counters.adverts_sent, 10);
    assert_eq!(
        whole.instances[0].counters.conflicts,
        vrrp::ConflictCounts::default()
    );
    let doc = workerstate::read(&path).unwrap().unwrap();
    let i = &doc.instances[0];
    assert_eq!((i.role, i.vrid, doc.pid), (State::Master, 23, 4242));
    assert!(i.faults.is_empty() && i.conflicts.is_empty());
    assert_eq!(
        i.timing,
        vrrp::Timing::default(),
        "no timing before issue 13"
    );
    assert_eq!(whole.instances[0].timing, vrrp::Timing::default());
    assert_eq!(
        i.advert,
        vrrp::AdvertStatus::default(),
        "no advert interval before issue 13's second half"
    );
    assert_eq!(workerstate::role_summary(&doc).as_deref(), Some("MASTER"));

    std::fs::write(&path, FAULTS_WORKER).unwrap();
    let doc = workerstate::read(&path).unwrap().unwrap();
    assert_eq!(doc.instances[0].faults, [Fault::Track(0)]);
    assert_eq!(
        workerstate::role_summary(&doc).as_deref(),
        Some("FAULT: LB check failing")
    );
}

/// The top-level `scheduling` (issue 13, `vrrp_rt_priority`): written by the worker, read back
/// by the charm; files of older workers read as SCHED_OTHER with nothing requested.
#[test]
fn scheduling_reads_back_and_defaults_in_older_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let mut w = vrrpd::statefile::StateWriter::new(Some(path.clone()));
    let put = vrrp::Scheduling {
        policy: vrrp::SchedPolicy::Rr,
        priority: 50,
        requested: 50,
        rlimit_rttime_us: 10_000,
        error: None,
    };
    w.set_scheduling(put.clone());
    w.offer(
        Instant::now(),
        vec![record("VI_1", State::Master, vec![], &[])],
        true,
    );
    w.flush();
    let raw: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(raw["scheduling"]["policy"], "rr");
    assert_eq!(raw["scheduling"]["priority"], 50);
    assert!(raw["scheduling"]["error"].is_null());
    let view = workerstate::read(&path).unwrap().unwrap();
    assert_eq!(view.scheduling, put);

    std::fs::write(&path, FIRST_WORKER).unwrap();
    let old = workerstate::read(&path).unwrap().unwrap();
    assert_eq!(old.scheduling, vrrp::Scheduling::default());
    assert_eq!(old.scheduling.policy, vrrp::SchedPolicy::Other);
}
