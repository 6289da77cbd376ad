//! worker×worker scenarios, VRRPv3 at 100 ms over IPv4 multicast (real kernel, netns labs).
//! Root required; skipped otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{skip, wait_until, Bed, Inst, Kind};
use netlab::Signal;

const W: Kind = Kind::Worker;
/// MDI at 100 ms, priority 100: 361 ms. Generous margin for a loaded 2-core host.
const MDI_BOUND: Duration = Duration::from_millis(2000);
const SETTLE: Duration = Duration::from_secs(5);

#[test]
fn election_crash_restart_and_stale_vip_cleanup() {
    if skip() {
        return;
    }
    let mut bed = Bed::new("wwcrash", vec![(W, Inst::v3(150)), (W, Inst::v3(100))]);
    bed.nodes[0].start();
    bed.nodes[1].start();
    bed.wait_sole_holder(0, SETTLE);
    bed.assert_stable(0, Duration::from_millis(600));
    let s0 = bed.nodes[0].state().unwrap();
    assert_eq!(s0["instances"][0]["role"], "MASTER");
    assert_eq!(s0["instances"][0]["effective_priority"], 150);
    assert_eq!(s0["instances"][0]["vips_held"][0], "192.0.2.100/24");
    // The backup follows node 0 (counter-only changes reach the file within about 1 s).
    assert!(
        wait_until(SETTLE, Duration::from_millis(50), || {
            let s = bed.nodes[1].state().unwrap();
            s["instances"][0]["role"] == "BACKUP"
                && s["instances"][0]["master_address"] == "192.0.2.10"
        })
        .is_some(),
        "{:?}",
        bed.nodes[1].state()
    );

    // SIGKILL the master: its VIP stays (nothing cleans up), the backup takes over.
    let t0 = Instant::now();
    bed.nodes[0].kill();
    let vip = bed.vip();
    assert!(
        wait_until(MDI_BOUND, Duration::from_millis(5), || bed.nodes[1]
            .holds(vip))
        .is_some(),
        "backup did not take over"
    );
    let takeover = t0.elapsed();
    eprintln!("MEASURE v3/100ms worker SIGKILL -> backup holds VIP: {takeover:?}");
    assert!(
        bed.nodes[0].holds(vip),
        "a SIGKILLed worker cannot have removed its VIP"
    );

    // Restart the killed higher-priority node: it removes the stale VIP first, then preempts.
    bed.nodes[0].start();
    assert!(
        wait_until(Duration::from_secs(2), Duration::from_millis(2), || !bed
            .nodes[0]
            .holds(vip))
        .is_some(),
        "stale VIP not removed at startup"
    );
    bed.wait_sole_holder(0, SETTLE);
    bed.assert_stable(0, Duration::from_millis(500));
}

#[test]
fn graceful_stop_hands_over_in_skew_time() {
    if skip() {
        return;
    }
    let mut bed = Bed::new("wwterm", vec![(W, Inst::v3(150)), (W, Inst::v3(100))]);
    bed.nodes[0].start();
    bed.nodes[1].start();
    bed.wait_sole_holder(0, SETTLE);
    assert!(
        wait_until(SETTLE, Duration::from_millis(50), || bed.nodes[1]
            .role()
            .as_deref()
            == Some("BACKUP"))
        .is_some()
    );
    let vip = bed.vip();
    let t0 = Instant::now();
    bed.nodes[0].signal(Signal::SIGTERM);
    let p = bed.nodes[0].proc.take().unwrap();
    let status = p
        .wait_timeout(Duration::from_secs(5))
        .expect("worker exits on SIGTERM");
    assert!(status.success(), "exit status {status:?}");
    // The VIP was removed before the process exited.
    assert!(!bed.nodes[0].holds(vip), "VIP still on the stopped master");
    assert!(
        wait_until(Duration::from_secs(1), Duration::from_millis(2), || bed
            .nodes[1]
            .holds(vip))
        .is_some()
    );
    let took = t0.elapsed();
    eprintln!("MEASURE v3/100ms worker SIGTERM -> backup holds VIP: {took:?}");
    // Skew at priority 100 is 61 ms; far below an MDI (361 ms) when priority 0 worked.
    assert!(
        took < Duration::from_millis(340),
        "takeover took {took:?}: priority 0 not honoured?"
    );
    bed.wait_sole_holder(1, SETTLE);
}

#[test]
fn tie_break_higher_address_wins_regardless_of_start_order() {
    if skip() {
        return;
    }
    let mut bed = Bed::new("wwtie", vec![(W, Inst::v3(100)), (W, Inst::v3(100))]);
    // The lower address (192.0.2.10) starts first and becomes master.
    bed.nodes[0].start();
    bed.wait_sole_holder(0, SETTLE);
    // A backup never preempts on a tie (RFC 5798 §6.4.2: equal priority is accepted).
    bed.nodes[1].start();
    bed.assert_stable(0, Duration::from_secs(1));
    // Make both masters: the bridge stops flooding multicast to node 1, so it hears no
    // adverts and times out. Node 0 still hears node 1: a master receiving an equal priority
    // from a higher primary address yields (RFC 5798 §6.4.3), so node 1 wins the tie.
    let port = bed.nodes[1].host.bridge_port().to_string();
    let flood = |on: &str| {
        bed.lab
            .switch_ip(&[
                "link",
                "set",
                "dev",
                &port,
                "type",
                "bridge_slave",
                "mcast_flood",
                on,
            ])
            .unwrap();
    };
    flood("off");
    let t = bed.wait_sole_holder(1, SETTLE);
    eprintln!("MEASURE v3/100ms tie-break: higher address master after {t:?}");
    flood("on");
    bed.assert_stable(1, Duration::from_secs(1));
    assert!(
        wait_until(SETTLE, Duration::from_millis(50), || bed.nodes[0]
            .role()
            .as_deref()
            == Some("BACKUP"))
        .is_some()
    );
}

#[test]
fn preemption_and_nopreempt() {
    if skip() {
        return;
    }
    let mut hi = Inst::v3(150);
    let lo = Inst::v3(100);
    let mut bed = Bed::new("wwpreempt", vec![(W, hi.clone()), (W, lo)]);
    bed.nodes[1].start();
    bed.wait_sole_holder(1, SETTLE);
    // Higher priority joins with preempt on: takes over after its own MDI.
    bed.nodes[0].start();
    let t = bed.wait_sole_holder(0, SETTLE);
    eprintln!("MEASURE v3/100ms preemption by joining higher-priority worker: {t:?}");
    // Now with nopreempt: the higher node rejoins and stays BACKUP while the lower lives.
    bed.nodes[0].signal(Signal::SIGTERM);
    bed.nodes[0]
        .proc
        .take()
        .unwrap()
        .wait_timeout(Duration::from_secs(5));
    bed.wait_sole_holder(1, SETTLE);
    hi.nopreempt = true;
    bed.nodes[0].inst = hi;
    bed.nodes[0].start();
    bed.assert_stable(1, Duration::from_secs(2));
    assert_eq!(bed.nodes[0].role().as_deref(), Some("BACKUP"));
    // ...and takes over when the lower master fails (crash + ExecStopPost cleanup).
    bed.nodes[1].kill();
    bed.nodes[1].cleanup();
    bed.wait_sole_holder(0, SETTLE);
}

#[test]
fn health_check_failure_resigns_with_priority_zero() {
    if skip() {
        return;
    }
    let mut a = Inst::v3(150);
    a.check_port = Some(6443);
    let mut b = Inst::v3(100);
    b.check_port = Some(6443);
    let mut bed = Bed::new("wwcheck", vec![(W, a), (W, b)]);
    // Something listening on 127.0.0.1:6443 in each host.
    let l0 = bed.nodes[0].host.spawn("listen", "python3", &["-c", "import socket,time;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('127.0.0.1',6443));s.listen(64);time.sleep(600)"]).unwrap();
    let _l1 = bed.nodes[1].host.spawn("listen", "python3", &["-c", "import socket,time;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('127.0.0.1',6443));s.listen(64);time.sleep(600)"]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    bed.nodes[0].start();
    bed.nodes[1].start();
    bed.wait_sole_holder(0, SETTLE);
    bed.assert_stable(0, Duration::from_millis(500));
    let t0 = Instant::now();
    drop(l0); // the port stops listening
    let vip = bed.vip();
    assert!(
        wait_until(Duration::from_secs(2), Duration::from_millis(5), || bed
            .nodes[1]
            .holds(vip)
            && !bed.nodes[0].holds(vip))
        .is_some()
    );
    let took = t0.elapsed();
    eprintln!("MEASURE v3/100ms health-check (50 ms TCP) resign -> backup holds VIP: {took:?}");
    assert!(
        wait_until(Duration::from_secs(2), Duration::from_millis(20), || bed
            .nodes[0]
            .role()
            .as_deref()
            == Some("FAULT"))
        .is_some()
    );
    let st = bed.nodes[0].state().unwrap();
    assert!(
        st["instances"][0]["counters"]["priority_zero_sent"]
            .as_u64()
            .unwrap()
            >= 1,
        "{st}"
    );
    bed.wait_sole_holder(1, SETTLE);
}

#[test]
fn link_down_faults_and_recreated_interface_recovers() {
    if skip() {
        return;
    }
    let mut bed = Bed::new("wwlink", vec![(W, Inst::v3(150)), (W, Inst::v3(100))]);
    bed.nodes[0].start();
    bed.nodes[1].start();
    bed.wait_sole_holder(0, SETTLE);
    let vip = bed.vip();
    // Link down on the master: FAULT, VIP removed, backup takes over at MDI.
    let t0 = Instant::now();
    bed.nodes[0].host.set_link(false).unwrap();
    assert!(
        wait_until(MDI_BOUND, Duration::from_millis(5), || bed.nodes[1]
            .holds(vip))
        .is_some()
    );
    eprintln!(
        "MEASURE v3/100ms master link down -> backup holds VIP: {:?}",
        t0.elapsed()
    );
    assert!(
        wait_until(Duration::from_secs(1), Duration::from_millis(10), || !bed
            .nodes[0]
            .holds(vip))
        .is_some()
    );
    assert!(
        wait_until(Duration::from_secs(1), Duration::from_millis(10), || bed
            .nodes[0]
            .role()
            .as_deref()
            == Some("FAULT"))
        .is_some()
    );
    // Link up: back to BACKUP, then preempts (priority 150 > 100).
    bed.nodes[0].host.set_link(true).unwrap();
    bed.wait_sole_holder(0, SETTLE);
    // Delete and re-create the interface (new ifindex); the worker recovers without restart.
    let old = bed.nodes[0].host.ifindex().unwrap();
    let new = bed.nodes[0].host.recreate_interface().unwrap();
    assert_ne!(old, new);
    bed.wait_sole_holder(1, SETTLE);
    bed.nodes[0].host.add_addr("192.0.2.10/24").unwrap();
    bed.wait_sole_holder(0, SETTLE);
    bed.assert_stable(0, Duration::from_millis(500));
    assert!(bed.nodes[0].proc.as_ref().unwrap().is_running());
}

#[test]
fn reload_keeps_unchanged_and_rebuilds_changed() {
    if skip() {
        return;
    }
    let mut bed = Bed::new("wwreload", vec![(W, Inst::v3(150)), (W, Inst::v3(100))]);
    bed.nodes[0].start();
    bed.nodes[1].start();
    bed.wait_sole_holder(0, SETTLE);
    let transitions = |n: &common::Node| {
        n.state().unwrap()["instances"][0]["counters"]["transitions"]
            .as_u64()
            .unwrap()
    };
    // The VIP is added before the state file is rewritten: wait for the file to say MASTER.
    assert!(
        wait_until(SETTLE, Duration::from_millis(20), || bed.nodes[0]
            .role()
            .as_deref()
            == Some("MASTER"))
        .is_some()
    );
    let before = transitions(&bed.nodes[0]);
    // Unchanged file: SIGHUP keeps state and VIP.
    bed.nodes[0].signal(Signal::SIGHUP);
    bed.assert_stable(0, Duration::from_secs(1));
    assert_eq!(transitions(&bed.nodes[0]), before);
    // Invalid file: logged, nothing changes.
    std::fs::write(bed.nodes[0].conf_path(), "vrrp_instance broken {\n").unwrap();
    bed.nodes[0].signal(Signal::SIGHUP);
    bed.assert_stable(0, Duration::from_secs(1));
    assert_eq!(transitions(&bed.nodes[0]), before);
    // Changed priority (now below the peer): the old instance hands over, the new one is BACKUP.
    bed.nodes[0].inst.priority = 50;
    bed.nodes[0].write_conf();
    bed.nodes[0].signal(Signal::SIGHUP);
    bed.wait_sole_holder(1, SETTLE);
    assert!(
        wait_until(SETTLE, Duration::from_millis(50), || bed.nodes[0]
            .role()
            .as_deref()
            == Some("BACKUP"))
        .is_some()
    );
    assert_eq!(
        bed.nodes[0].state().unwrap()["instances"][0]["base_priority"],
        50
    );
}
