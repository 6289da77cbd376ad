//! Interop with the real keepalived 2.2.7 (`/usr/sbin/keepalived`): worker×keepalived and
//! keepalived×worker; v3 at 100 ms (IPv4, IPv6, unicast) and v2 with PASS auth at 1 s.
//! Root and keepalived required; skipped otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{keepalived_available, skip, wait_until, Bed, Inst, Kind};
use netlab::Signal;

const W: Kind = Kind::Worker;
const K: Kind = Kind::Keepalived;
const SETTLE: Duration = Duration::from_secs(8);

fn skip_all() -> bool {
    if skip() {
        return true;
    }
    if !keepalived_available() {
        return netlab::skip(&format!("{} missing", common::KEEPALIVED));
    }
    false
}

/// Master `m` with priority 150 against backup `b` at 100: election, SIGKILL failover, the
/// killed master restarted preempts again (worker restarts remove the stale VIP first).
fn crash_roundtrip(tag: &str, m: Kind, b: Kind, mk: fn(u8) -> Inst, bound: Duration) {
    let mut bed = Bed::new(tag, vec![(m, mk(150)), (b, mk(100))]);
    bed.nodes[1].start();
    bed.nodes[0].start();
    bed.wait_sole_holder(0, SETTLE);
    bed.assert_stable(0, Duration::from_secs(1));
    let vip = bed.vip();
    let t0 = Instant::now();
    bed.nodes[0].kill();
    assert!(
        wait_until(bound, Duration::from_millis(5), || bed.nodes[1].holds(vip)).is_some(),
        "backup did not take over"
    );
    eprintln!(
        "MEASURE {tag}: master {m:?} SIGKILL -> backup {b:?} holds VIP: {:?}",
        t0.elapsed()
    );
    bed.nodes[0].start();
    bed.wait_sole_holder(0, SETTLE);
    bed.assert_stable(0, Duration::from_secs(1));
}

/// Graceful stop of master `m`: the backup `b` takes over in about Skew time.
fn graceful(tag: &str, m: Kind, b: Kind, mk: fn(u8) -> Inst, bound: Duration) {
    let mut bed = Bed::new(tag, vec![(m, mk(150)), (b, mk(100))]);
    bed.nodes[1].start();
    bed.nodes[0].start();
    bed.wait_sole_holder(0, SETTLE);
    bed.assert_stable(0, Duration::from_secs(1));
    let vip = bed.vip();
    let t0 = Instant::now();
    bed.nodes[0].signal(Signal::SIGTERM);
    assert!(
        wait_until(bound, Duration::from_millis(2), || bed.nodes[1].holds(vip)).is_some(),
        "no takeover"
    );
    eprintln!(
        "MEASURE {tag}: master {m:?} SIGTERM -> backup {b:?} holds VIP: {:?}",
        t0.elapsed()
    );
    let p = bed.nodes[0].proc.take().unwrap();
    assert!(p.wait_timeout(Duration::from_secs(5)).is_some());
    assert!(!bed.nodes[0].holds(vip), "VIP left on the stopped master");
    bed.wait_sole_holder(1, SETTLE);
}

#[test]
fn v3_worker_master_keepalived_backup() {
    if skip_all() {
        return;
    }
    crash_roundtrip("kv3wk", W, K, Inst::v3, Duration::from_secs(2));
}

#[test]
fn v3_keepalived_master_worker_backup() {
    if skip_all() {
        return;
    }
    crash_roundtrip("kv3kw", K, W, Inst::v3, Duration::from_secs(2));
}

#[test]
fn v3_graceful_both_directions() {
    if skip_all() {
        return;
    }
    graceful("kv3gwk", W, K, Inst::v3, Duration::from_millis(340));
    graceful("kv3gkw", K, W, Inst::v3, Duration::from_millis(340));
}

#[test]
fn v3_ipv6_both_directions() {
    if skip_all() {
        return;
    }
    crash_roundtrip("kv6wk", W, K, Inst::v6, Duration::from_secs(2));
    crash_roundtrip("kv6kw", K, W, Inst::v6, Duration::from_secs(2));
}

#[test]
fn v2_pass_auth_both_directions() {
    if skip_all() {
        return;
    }
    // v2 at 1 s: MDI for priority 100 is 3.61 s.
    crash_roundtrip("kv2wk", W, K, Inst::v2_pass, Duration::from_secs(6));
    graceful("kv2gkw", K, W, Inst::v2_pass, Duration::from_millis(1500));
}

#[test]
fn v2_wrong_password_is_not_accepted() {
    if skip_all() {
        return;
    }
    // Different passwords: neither accepts the other's adverts, so both become master.
    let a = Inst::v2_pass(150);
    let mut b = Inst::v2_pass(100);
    b.auth = Some("other");
    let mut bed = Bed::new("kv2bad", vec![(K, a), (W, b)]);
    bed.nodes[0].start();
    bed.nodes[1].start();
    assert!(
        wait_until(Duration::from_secs(8), Duration::from_millis(50), || bed
            .holders()
            .len()
            == 2)
        .is_some()
    );
    let st = bed.nodes[1].state().unwrap();
    assert!(
        st["instances"][0]["counters"]["drops"]["auth"]
            .as_u64()
            .unwrap()
            >= 1,
        "{st}"
    );
}

fn unicast(priority: u8, me: usize, peer: usize) -> Inst {
    let mut i = Inst::v3(priority);
    i.unicast = Some((
        format!("192.0.2.{}", 10 + me),
        vec![format!("192.0.2.{}", 10 + peer)],
    ));
    i
}

#[test]
fn v3_unicast_both_directions() {
    if skip_all() {
        return;
    }
    for (tag, m, b) in [("kuniwk", W, K), ("kunikw", K, W)] {
        let mut bed = Bed::new(tag, vec![(m, unicast(150, 0, 1)), (b, unicast(100, 1, 0))]);
        bed.nodes[1].start();
        bed.nodes[0].start();
        bed.wait_sole_holder(0, SETTLE);
        bed.assert_stable(0, Duration::from_secs(1));
        let vip = bed.vip();
        let t0 = Instant::now();
        bed.nodes[0].signal(Signal::SIGTERM);
        assert!(
            wait_until(Duration::from_millis(500), Duration::from_millis(2), || bed
                .nodes[1]
                .holds(vip))
            .is_some()
        );
        eprintln!(
            "MEASURE {tag}: unicast master {m:?} SIGTERM -> backup holds VIP: {:?}",
            t0.elapsed()
        );
        bed.nodes[0]
            .proc
            .take()
            .unwrap()
            .wait_timeout(Duration::from_secs(5));
        bed.wait_sole_holder(1, SETTLE);
        bed.nodes[0].start();
        bed.wait_sole_holder(0, SETTLE);
        let t0 = Instant::now();
        bed.nodes[0].kill();
        assert!(
            wait_until(Duration::from_secs(2), Duration::from_millis(5), || bed
                .nodes[1]
                .holds(vip))
            .is_some()
        );
        eprintln!(
            "MEASURE {tag}: unicast master {m:?} SIGKILL -> backup holds VIP: {:?}",
            t0.elapsed()
        );
        // The crashed node's VIP is left behind; a restart removes it and preempts again.
        bed.nodes[0].start();
        bed.wait_sole_holder(0, SETTLE);
    }
}
