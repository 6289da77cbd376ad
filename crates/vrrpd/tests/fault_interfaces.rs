//! Interface faults under a running worker, each recovered without a restart and ending with
//! exactly one holder: quick link flaps, the source (primary) address removed and re-added, a
//! VIP deleted behind the master's back (as `netplan apply`/networkd do: back within 100 ms,
//! no failover) and `ip addr flush` on the master's interface.
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

/// Seconds since midnight of an `ip -ts monitor` line (`[2026-11-30T07:23:15.123456] …`).
fn monitor_secs(line: &str) -> Option<f64> {
    let ts = line.strip_prefix('[')?.split(']').next()?;
    let hms = ts.split('T').nth(1)?;
    let mut p = hms.split(':');
    let h: f64 = p.next()?.parse().ok()?;
    let m: f64 = p.next()?.parse().ok()?;
    let s: f64 = p.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

fn transitions(bed: &Bed, i: usize) -> u64 {
    bed.nodes[i].state().unwrap()["instances"][0]["counters"]["transitions"]
        .as_u64()
        .unwrap()
}

#[test]
fn vip_deleted_behind_the_masters_back_is_back_within_100ms_without_failover() {
    if skip() {
        return;
    }
    // Adverts every second: a takeover could only come from the deletion, not from a loaded
    // machine delaying 100 ms adverts (seen once with three labs running at a time).
    let slow = |p| Inst {
        advert: "1",
        ..Inst::v3(p)
    };
    let w = Kind::Worker;
    let mut bed = Bed::new("viprm", vec![(w, slow(150)), (w, slow(100))]);
    bed.nodes[0].start();
    bed.nodes[1].start();
    bed.wait_sole_holder(0, SETTLE);
    // The state file follows the VIP by a moment: read the counts once it says MASTER.
    bed.wait_role(0, "MASTER", SETTLE);
    bed.wait_role(1, "BACKUP", SETTLE);
    let before = (transitions(&bed, 0), transitions(&bed, 1));
    let host = &bed.nodes[0].host;
    let dev = host.ifname().to_string();
    // The kernel's own account: `ip -ts monitor address` in the master's namespace.
    let mon = host
        .spawn("ipmon", "ip", &["-ts", "monitor", "address", "dev", &dev])
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..5 {
        host.del_addr("192.0.2.100/24").unwrap();
        let back = wait_until(Duration::from_secs(2), Duration::from_millis(2), || {
            bed.nodes[0].holds(bed.vip())
        });
        assert!(
            back.is_some(),
            "VIP not re-added: {:?}",
            bed.nodes[0].state()
        );
        assert!(!bed.nodes[1].holds(bed.vip()), "the backup took it");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(200));
    mon.signal(Signal::SIGTERM).unwrap();
    mon.wait_timeout(Duration::from_secs(2));
    let out = mon.stdout();
    // Pair each deletion of the VIP with the next addition of it.
    let mut gaps = Vec::new();
    let mut deleted: Option<f64> = None;
    for l in out.lines().filter(|l| l.contains(" 192.0.2.100/24 ")) {
        let Some(t) = monitor_secs(l) else { continue };
        if l.contains("Deleted") {
            deleted = Some(t);
        } else if let Some(d) = deleted.take() {
            gaps.push(((t - d) * 1000.0).round() as u64);
        }
    }
    eprintln!("MEASURE VIP deleted behind the master's back, back after (ms): {gaps:?}");
    assert_eq!(gaps.len(), 5, "{out}");
    assert!(gaps.iter().all(|&g| g <= 100), "{gaps:?}\n{out}");
    // No failover: roles and transition counts as before, node 0 the only holder.
    bed.assert_stable(0, Duration::from_millis(500));
    assert_eq!((transitions(&bed, 0), transitions(&bed, 1)), before);
    assert_eq!(bed.nodes[0].role().as_deref(), Some("MASTER"));
    assert_eq!(bed.nodes[1].role().as_deref(), Some("BACKUP"));
}

#[test]
fn addr_flush_on_the_master_leaves_exactly_one_holder() {
    if skip() {
        return;
    }
    let bed = bed("flush");
    let dev = bed.nodes[0].host.ifname().to_string();
    bed.nodes[0]
        .host
        .ip(&["addr", "flush", "dev", &dev])
        .unwrap();
    // The master lost its source address with the VIP: FAULT; the backup takes over, and no
    // moment after settling shows two holders or none.
    let t0 = Instant::now();
    bed.wait_sole_holder(1, SETTLE);
    eprintln!(
        "MEASURE ip addr flush on the master: node 1 sole holder after {:?}",
        t0.elapsed()
    );
    bed.assert_stable(1, Duration::from_secs(1));
    assert_eq!(bed.nodes[0].role().as_deref(), Some("FAULT"));
    // Addresses back (as networkd would): node 0 preempts, still one holder.
    bed.nodes[0].host.add_addr("192.0.2.10/24").unwrap();
    bed.wait_sole_holder(0, SETTLE);
    bed.assert_stable(0, Duration::from_secs(1));
    assert!(bed.nodes[0].proc.as_ref().unwrap().is_running());
    assert!(bed.nodes[1].proc.as_ref().unwrap().is_running());
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
