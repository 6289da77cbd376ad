use super::*;
use vrrp::State;

const SAMPLE: &str = r#"{"version":1,"pid":123,"updated_unix_ms":0,
 "instances":[{"name":"VI_23","vrid":23,"family":"ipv4","vrrp_version":3,"interface":"eth0",
   "role":"MASTER","base_priority":150,"effective_priority":150,"master_address":"192.0.2.10",
   "vips_held":["10.10.74.250/24"],
   "counters":{"adverts_sent":0,"adverts_received":0,"priority_zero_sent":0,
     "priority_zero_received":0,"message_only_checksum":0,"transitions":0,"became_master":0,
     "drops":{"length":0,"vrid":0,"inactive":0,"ttl":0,"version":0,"type":0,"checksum":0,
       "family":0,"destination":0,"auth_type":0,"auth":0,"interval":0,"addr_count":0,
       "addr_list":0,"own":0}}}]}"#;

fn sample() -> StateView {
    serde_json::from_str(SAMPLE).unwrap()
}

#[test]
fn parses_the_architecture_sample() {
    let s = sample();
    assert_eq!(s.pid, 123);
    assert_eq!(s.instances[0].role, State::Master);
    assert_eq!(s.instances[0].vips_held[0].to_string(), "10.10.74.250/24");
    assert_eq!(role_summary(&s).as_deref(), Some("MASTER"));
    assert!(all_up(&s));
}

#[test]
fn summarises_disagreeing_instances_and_handles_files() {
    let mut s = sample();
    let mut six = s.instances[0].clone();
    six.family = vrrp::Family::Ipv6;
    six.role = State::Backup;
    s.instances.push(six);
    assert_eq!(
        role_summary(&s).as_deref(),
        Some("ipv4 MASTER, ipv6 BACKUP")
    );
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("state.json");
    assert!(read(&p).unwrap().is_none());
    std::fs::write(&p, "{not json").unwrap();
    assert!(matches!(read(&p), Err(StateFileError::Parse { .. })));
    std::fs::write(&p, SAMPLE).unwrap();
    assert_eq!(read(&p).unwrap().map(|s| s.pid), Some(123));
    std::fs::write(&p, SAMPLE.replace(r#""version":1"#, r#""version":2"#)).unwrap();
    let e = read(&p).unwrap_err();
    assert!(
        matches!(e, StateFileError::Version { version: 2, .. }),
        "{e}"
    );
}

#[test]
fn fault_reasons_and_writer_liveness() {
    let mut s = sample();
    s.instances[0].role = State::Fault;
    assert_eq!(role_summary(&s).as_deref(), Some("FAULT"));
    assert!(!all_up(&s));
    s.instances[0].faults = vec![Fault::Track(0), Fault::LinkDown];
    assert_eq!(
        role_summary(&s).as_deref(),
        Some("FAULT: LB check failing, link down")
    );
    let mut six = s.instances[0].clone();
    six.family = vrrp::Family::Ipv6;
    six.faults = vec![Fault::NoSourceAddress];
    s.instances.push(six);
    assert_eq!(
        role_summary(&s).as_deref(),
        Some("ipv4 FAULT: LB check failing, link down, ipv6 FAULT: no source address")
    );
    let procs = tempfile::tempdir().unwrap();
    std::fs::create_dir(procs.path().join("123")).unwrap();
    assert!(writer_alive(&s, procs.path()));
    s.pid = 124;
    assert!(!writer_alive(&s, procs.path()));
    s.pid = 0;
    assert!(writer_alive(&s, procs.path()));
}
