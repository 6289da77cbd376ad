//! Interface faults under a running worker, each recovered without a restart and ending with
//! exactly one holder: quick link flaps, and the source (primary) address removed and re-added.
//! (Delete and re-create with a new ifindex: `scenario_worker::link_down_faults_and_recreated_interface_recovers`.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{skip, wait_until, Bed, Inst, Kind};
use netlab::Signal;

const SETTLE: Duration = Duration::from_secs(5);

fn bed(tag: &str) -> Bed {
    let w = Kind::Worker;
    let mut bed = Bed::new(tag, vec![(w, Inst::v3(150)), (w, Inst::v3(100))]);
    bed.nodes[0].start();
    bed.nodes[1].start();
    bed.wait_sole_holder(0, SETTLE);
    bed
}

#[test]
fn quick_link_flaps_recover_to_one_holder() {
    if skip() {
        return;
    }
    let bed = bed("flaps");
    for _ in 0..10 {
        bed.nodes[0].host.set_link(false).unwrap();
        std::thread::sleep(Duration::from_millis(30));
        bed.nodes[0].host.set_link(true).unwrap();
        std::thread::sleep(Duration::from_millis(30));
    }
    let t0 = Instant::now();
    bed.wait_sole_holder(0, SETTLE);
    eprintln!(
        "MEASURE 10 link flaps: node 0 sole holder {:?} after the last",
        t0.elapsed()
    );
    bed.assert_stable(0, Duration::from_secs(1));
    assert!(
        wait_until(SETTLE, Duration::from_millis(50), || bed.nodes[0]
            .role()
            .as_deref()
            == Some("MASTER")
            && bed.nodes[1].role().as_deref() == Some("BACKUP"))
        .is_some()
    );
    for n in &bed.nodes {
        assert!(n.proc.as_ref().unwrap().is_running());
    }
}

#[test]
fn source_address_removed_faults_and_readded_recovers() {
    if skip() {
        return;
    }
    let bed = bed("nosrc");
    let vip = bed.vip();
    bed.nodes[0].host.del_addr("192.0.2.10/24").unwrap();
    // No source address: FAULT, VIP released, the backup takes over.
    let t0 = Instant::now();
    assert!(
        wait_until(SETTLE, Duration::from_millis(20), || bed.nodes[0]
            .role()
            .as_deref()
            == Some("FAULT"))
        .is_some(),
        "{:?}",
        bed.nodes[0].state()
    );
    // Deleting the primary may take the VIP (a secondary in the same subnet) with it, or the
    // worker removes it; either way node 1 ends up the only holder.
    bed.wait_sole_holder(1, SETTLE);
    eprintln!(
        "MEASURE source address removed: node 1 sole holder after {:?}",
        t0.elapsed()
    );
    assert!(!bed.nodes[0].holds(vip));
    bed.assert_stable(1, Duration::from_millis(500));
    // Re-added: back to BACKUP, then preempts.
    let t1 = Instant::now();
    bed.nodes[0].host.add_addr("192.0.2.10/24").unwrap();
    bed.wait_sole_holder(0, SETTLE);
    eprintln!(
        "MEASURE source address re-added: node 0 sole holder after {:?}",
        t1.elapsed()
    );
    bed.assert_stable(0, Duration::from_secs(1));
    assert!(
        wait_until(SETTLE, Duration::from_millis(50), || bed.nodes[0]
            .role()
            .as_deref()
            == Some("MASTER"))
        .is_some()
    );
    assert!(bed.nodes[0].proc.as_ref().unwrap().is_running());
}

/// A link change lost in a netlink overrun (the worker's socket buffer full: ENOBUFS) must not
/// blind the worker to the next change. The worker is frozen while its namespace floods it
/// with link messages (MTU changes on `lo`) and its interface comes up: that change is dropped.
/// After the resync it is master again; the monitor's link table must be re-read too, or it
/// still says "down" and the next real link-down is not a transition: the instance would stay
/// MASTER on a dead link.
#[test]
fn link_change_lost_in_a_netlink_overrun_does_not_hide_the_next() {
    if skip() {
        return;
    }
    let mut bed = Bed::new("ovrun", vec![(Kind::Worker, Inst::v3(150))]);
    bed.nodes[0].start();
    bed.wait_role(0, "MASTER", SETTLE);
    let n = &bed.nodes[0];
    n.host.set_link(false).unwrap();
    bed.wait_role(0, "FAULT", SETTLE);

    n.signal(Signal::SIGSTOP);
    let batch = n.dir.path().join("flood.batch");
    let lines: String = (0..2000)
        .map(|i| format!("link set dev lo mtu {}\n", 65000 + i % 2))
        .collect();
    std::fs::write(&batch, lines).unwrap();
    n.host.ip(&["-batch", batch.to_str().unwrap()]).unwrap();
    n.host.set_link(true).unwrap();
    // The oper-state messages linkwatch sends later must be dropped as well.
    std::thread::sleep(Duration::from_millis(1500));
    n.signal(Signal::SIGCONT);

    bed.wait_role(0, "MASTER", SETTLE);
    assert!(
        n.logs().contains("netlink events were lost"),
        "no overrun happened; the test proves nothing:\n{}",
        n.logs()
    );
    let t0 = Instant::now();
    n.host.set_link(false).unwrap();
    bed.wait_role(0, "FAULT", SETTLE);
    eprintln!(
        "MEASURE link down after an overrun: FAULT after {:?}",
        t0.elapsed()
    );
}
