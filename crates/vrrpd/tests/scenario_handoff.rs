//! Planned changes without a client-visible gap (issue 5), worker×worker and worker×keepalived
//! at VRRPv3/100 ms in netns labs: the make-before-break handoff on SIGTERM, its bound when
//! no backup exists, and a unicast peer added by SIGHUP without moving the VIP.
//! Root required; skipped otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{skip, wait_until, Bed, Inst, Kind};
use netlab::Signal;

const W: Kind = Kind::Worker;
const SETTLE: Duration = Duration::from_secs(5);

/// One sample of who holds the VIP.
struct Sample {
    at: Duration,
    old: bool,
    new: bool,
}

/// SIGTERM node 0 (master) and sample both nodes until node 0 exited and node 1 is the
/// sole holder. Returns the samples and node 0's exit status.
fn stop_and_sample(bed: &mut Bed) -> (Vec<Sample>, std::process::ExitStatus) {
    let vip = bed.vip();
    let t0 = Instant::now();
    bed.nodes[0].signal(Signal::SIGTERM);
    let mut samples = Vec::new();
    let mut status = None;
    while t0.elapsed() < SETTLE {
        let old = bed.nodes[0].holds(vip);
        let new = bed.nodes[1].holds(vip);
        samples.push(Sample {
            at: t0.elapsed(),
            old,
            new,
        });
        if status.is_none() {
            status = bed.nodes[0]
                .proc
                .as_ref()
                .and_then(|p| p.wait_timeout(Duration::ZERO));
        }
        if status.is_some() && new && !old {
            break;
        }
    }
    let status = status.unwrap_or_else(|| {
        bed.dump();
        panic!("node 0 did not exit within {SETTLE:?}")
    });
    (samples, status)
}

/// No sample without a holder; returns the overlap window (first sample with both holders to
/// the first sample after it where the old master no longer holds).
fn check_no_gap(bed: &Bed, samples: &[Sample]) -> Duration {
    if let Some(s) = samples.iter().find(|s| !s.old && !s.new) {
        bed.dump();
        panic!("nobody held the VIP at {:?} after SIGTERM", s.at);
    }
    let first_both = samples.iter().position(|s| s.old && s.new);
    let Some(b) = first_both else {
        // Never seen together at this sampling rate: the overlap was shorter than a sample.
        return Duration::ZERO;
    };
    let released = samples[b..].iter().find(|s| !s.old).map(|s| s.at);
    released.map_or(Duration::MAX, |r| r - samples[b].at)
}

#[test]
fn sigterm_hands_over_without_a_gap() {
    if skip() {
        return;
    }
    let mut bed = Bed::new("hoff", vec![(W, Inst::v3(150)), (W, Inst::v3(100))]);
    bed.nodes[0].start();
    bed.nodes[1].start();
    bed.wait_sole_holder(0, SETTLE);
    bed.wait_role(1, "BACKUP", SETTLE);
    let (samples, status) = stop_and_sample(&mut bed);
    assert!(status.success(), "exit status {status:?}");
    let overlap = check_no_gap(&bed, &samples);
    let takeover = samples
        .iter()
        .find(|s| s.new)
        .map(|s| s.at)
        .unwrap_or_default();
    eprintln!(
        "MEASURE v3/100ms worker SIGTERM handoff: backup holds after {takeover:?}, overlap {overlap:?}, {} samples",
        samples.len()
    );
    // Bounded by about one advert interval after the new master's first advert; generous for
    // a loaded 2-core host and ~10 ms sampling.
    assert!(overlap < Duration::from_millis(400), "overlap {overlap:?}");
    let logs = bed.nodes[0].logs();
    assert!(logs.contains("HandedOver"), "{logs}");
    bed.wait_sole_holder(1, SETTLE);
}

#[test]
fn sigterm_hands_over_to_keepalived_without_a_gap() {
    if skip() || !common::keepalived_available() {
        return;
    }
    let mut bed = Bed::new(
        "hoffka",
        vec![(W, Inst::v3(150)), (Kind::Keepalived, Inst::v3(100))],
    );
    bed.nodes[0].start();
    bed.nodes[1].start();
    bed.wait_sole_holder(0, SETTLE);
    bed.assert_stable(0, Duration::from_millis(800));
    let (samples, status) = stop_and_sample(&mut bed);
    assert!(status.success(), "exit status {status:?}");
    let overlap = check_no_gap(&bed, &samples);
    eprintln!("MEASURE v3/100ms worker SIGTERM handoff to keepalived: overlap {overlap:?}");
    assert!(overlap < Duration::from_millis(400), "overlap {overlap:?}");
    assert!(bed.nodes[0].logs().contains("HandedOver"));
    bed.wait_sole_holder(1, SETTLE);
}

#[test]
fn lone_master_releases_at_the_handoff_bound() {
    if skip() {
        return;
    }
    let mut bed = Bed::new("hofflone", vec![(W, Inst::v3(150))]);
    bed.nodes[0].start();
    bed.wait_sole_holder(0, SETTLE);
    let vip = bed.vip();
    let t0 = Instant::now();
    bed.nodes[0].signal(Signal::SIGTERM);
    let p = bed.nodes[0].proc.take().unwrap();
    // It keeps serving while it waits for a new master that never comes.
    std::thread::sleep(Duration::from_millis(250));
    assert!(bed.nodes[0].holds(vip), "VIP released before the bound");
    let status = p
        .wait_timeout(Duration::from_secs(5))
        .expect("worker exits after the bound");
    let took = t0.elapsed();
    eprintln!("MEASURE v3/100ms lone master SIGTERM -> exit {took:?} (bound 0.5 s + slack)");
    assert!(status.success());
    assert!(!bed.nodes[0].holds(vip), "VIP left behind");
    assert!(p.stderr().contains("HandoffTimeout") || p.stdout().contains("HandoffTimeout"));
}

#[test]
fn sighup_adds_a_unicast_peer_without_moving_the_vip() {
    if skip() {
        return;
    }
    let uni = |p: u8, me: &str, peers: &[&str]| Inst {
        unicast: Some((
            me.to_string(),
            peers.iter().map(|s| s.to_string()).collect(),
        )),
        ..Inst::v3(p)
    };
    let mut bed = Bed::new(
        "hoffpeer",
        vec![
            (W, uni(150, "192.0.2.10", &["192.0.2.11"])),
            (W, uni(100, "192.0.2.11", &["192.0.2.10"])),
            (W, uni(50, "192.0.2.12", &["192.0.2.10", "192.0.2.11"])),
        ],
    );
    bed.nodes[0].start();
    bed.nodes[1].start();
    bed.wait_sole_holder(0, SETTLE);
    bed.assert_stable(0, Duration::from_millis(500));
    let counters = |n: &common::Node| n.state().unwrap()["instances"][0]["counters"].clone();
    let before = counters(&bed.nodes[0]);
    // Node 0 learns about node 2 and reloads.
    bed.nodes[0].inst = uni(150, "192.0.2.10", &["192.0.2.11", "192.0.2.12"]);
    bed.nodes[0].write_conf();
    bed.nodes[0].signal(Signal::SIGHUP);
    bed.assert_stable(0, Duration::from_millis(1500));
    assert!(bed.nodes[0]
        .logs()
        .contains("instance reconfigured in place"));
    // Node 2 now hears node 0: started as a backup, it never takes the VIP.
    bed.nodes[2].start();
    bed.assert_stable(0, Duration::from_secs(2));
    assert!(
        wait_until(SETTLE, Duration::from_millis(50), || {
            let s = bed.nodes[2].state().unwrap();
            s["instances"][0]["role"] == "BACKUP"
                && s["instances"][0]["master_address"] == "192.0.2.10"
                && s["instances"][0]["counters"]["adverts_received"]
                    .as_u64()
                    .unwrap_or(0)
                    > 3
        })
        .is_some(),
        "{:?}",
        bed.nodes[2].state()
    );
    let after = counters(&bed.nodes[0]);
    assert_eq!(after["transitions"], before["transitions"]);
    assert_eq!(after["priority_zero_sent"], 0);
    assert_eq!(bed.nodes[0].role().as_deref(), Some("MASTER"));
    assert_eq!(bed.nodes[1].role().as_deref(), Some("BACKUP"));
}
