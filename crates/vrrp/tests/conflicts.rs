//! Conflict detection in the core: adverts on our VRID from another configuration (or, in
//! unicast mode, from a source outside the peer list) are counted by kind and reported as
//! `Action::Conflict`, and never change the role, the master followed or the timers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Instant;

use common::*;
use vrrp::{Action, Advert, ConflictKind, DropReason, Instance, State};

fn conflicts(acts: &[Action]) -> Vec<(std::net::IpAddr, ConflictKind)> {
    acts.iter()
        .filter_map(|a| match a {
            Action::Conflict { src, kind } => Some((*src, *kind)),
            _ => None,
        })
        .collect()
}

const OTHER: &str = "192.0.2.77";

/// What must not change when a conflicting advert arrives.
fn snapshot(i: &Instance) -> (State, Option<std::net::IpAddr>, Option<Instant>, u64) {
    let st = i.status();
    (
        i.state(),
        st.master_address,
        i.poll_timeout(),
        st.counters.transitions,
    )
}

/// "Another cluster with router_id 23": same VRID, higher priority, other VIPs. Neither a
/// backup nor a master reacts; both report `other_vips` and keep counting drops by reason.
#[test]
fn other_vips_on_our_vrid_is_a_conflict_and_changes_nothing() {
    let t0 = Instant::now();
    let cfg = v3_cfg();
    let mut other = advert(&cfg, 254, 10);
    other.addrs = vec![ip("198.51.100.23")];
    let p = bytes(&other, OTHER, GROUP);

    // BACKUP following nobody yet, then MASTER.
    let (mut b, _) = start(cfg.clone(), t0);
    let (mut m, tm) = master(cfg.clone(), t0);
    for (inst, t) in [(&mut b, t0 + ms(50)), (&mut m, tm + ms(50))] {
        let before = snapshot(inst);
        for n in 1..=5u64 {
            let acts = inst.handle(t, rx(OTHER, GROUP, 255, &p));
            assert_eq!(conflicts(&acts), vec![(ip(OTHER), ConflictKind::OtherVips)]);
            assert!(sent(&acts).is_empty(), "{acts:?}");
            assert_eq!(snapshot(inst), before);
            let c = inst.status().counters;
            assert_eq!(c.conflicts.other_vips, n);
            assert_eq!(c.conflicts.total(), n);
            assert_eq!(c.drops.addr_list, n);
            assert_eq!(c.adverts_received, 0);
        }
    }
    // Another VIP count is the same kind.
    let mut more = advert(&cfg, 100, 10);
    more.addrs.push(ip("198.51.100.24"));
    let acts = b.handle(
        t0 + ms(60),
        rx(OTHER, GROUP, 255, &bytes(&more, OTHER, GROUP)),
    );
    assert_eq!(conflicts(&acts), vec![(ip(OTHER), ConflictKind::OtherVips)]);
    assert_eq!(b.status().counters.drops.addr_count, 1);
}

/// Multicast mode: any source whose adverts match our configuration is a legitimate peer.
#[test]
fn matching_multicast_peer_is_not_a_conflict() {
    let t0 = Instant::now();
    let cfg = v3_cfg();
    let (mut b, _) = start(cfg.clone(), t0);
    let acts = b.handle(
        t0 + ms(10),
        rx(
            OTHER,
            GROUP,
            255,
            &bytes(&advert(&cfg, 200, 10), OTHER, GROUP),
        ),
    );
    assert!(conflicts(&acts).is_empty(), "{acts:?}");
    let st = b.status();
    assert_eq!(st.counters.conflicts.total(), 0);
    assert_eq!(st.master_address, Some(ip(OTHER)));
}

/// A v2 speaker on a v3 instance's VRID: `version`; damaged packets are no conflict.
#[test]
fn version_conflict_but_damage_is_not() {
    let t0 = Instant::now();
    let cfg = v3_cfg();
    let (mut b, _) = start(cfg.clone(), t0);
    let before = snapshot(&b);
    let v2 = Advert::v2(23, 254, 1, None, vec![ip("192.0.2.100")]);
    let acts = b.handle(t0, rx(OTHER, GROUP, 255, &bytes(&v2, OTHER, GROUP)));
    assert_eq!(conflicts(&acts), vec![(ip(OTHER), ConflictKind::Version)]);
    assert_eq!(snapshot(&b), before);

    let good = bytes(&advert(&cfg, 254, 10), OTHER, GROUP);
    let mut garbage = good.clone();
    garbage[0] = 0x71; // version 7: not a VRRP speaker
    let mut bad_sum = good.clone();
    bad_sum[7] ^= 1;
    let mut a = advert(&cfg, 254, 10);
    a.vrid = 24; // not our VRID: foreign, not ours to judge
    let other_vrid = bytes(&a, OTHER, GROUP);
    for (ttl, p) in [
        (255, &garbage[..]),
        (255, &bad_sum[..]),
        (64, &good[..]),
        (255, &good[..5]),
        (255, &other_vrid[..]),
    ] {
        let acts = b.handle(t0, rx(OTHER, GROUP, ttl, p));
        assert!(conflicts(&acts).is_empty(), "{acts:?}");
    }
    let c = b.status().counters;
    assert_eq!(c.conflicts.total(), 1);
    assert_eq!(c.drops.version, 2);
    assert_eq!(snapshot(&b), before);
}

/// VRRPv2: another password or auth type is `auth`, another Adver Int is `interval`.
#[test]
fn v2_auth_and_interval_conflicts() {
    let t0 = Instant::now();
    let mut cfg = v2_cfg();
    cfg.auth_pass = Some(*b"secret\0\0");
    let (mut m, tm) = master(cfg.clone(), t0);
    let before = snapshot(&m);
    let addrs = vec![ip("192.0.2.100")];
    let cases = [
        (
            Advert::v2(23, 254, 1, Some(*b"other\0\0\0"), addrs.clone()),
            ConflictKind::Auth,
            DropReason::Auth,
        ),
        (
            Advert::v2(23, 254, 1, None, addrs.clone()),
            ConflictKind::Auth,
            DropReason::AuthType,
        ),
        (
            Advert::v2(23, 254, 3, cfg.auth_pass, addrs.clone()),
            ConflictKind::Interval,
            DropReason::Interval,
        ),
    ];
    for (a, kind, reason) in cases {
        let acts = m.handle(tm, rx(OTHER, GROUP, 255, &bytes(&a, OTHER, GROUP)));
        assert_eq!(conflicts(&acts), vec![(ip(OTHER), kind)], "{kind:?}");
        assert!(acts.contains(&Action::Dropped {
            src: ip(OTHER),
            reason
        }));
        assert_eq!(snapshot(&m), before, "{kind:?}");
    }
    let c = m.status().counters.conflicts;
    assert_eq!((c.auth, c.interval, c.total()), (2, 1, 3));
}

/// Unicast mode: a valid advert from a source outside `unicast_peer` is processed as in
/// keepalived 2.2.7 without `check_unicast_src`, and reported as `unknown_peer`; configured
/// peers are not. Conflicts are not looked for while INIT/FAULT (packets are not validated).
#[test]
fn unicast_unknown_peer() {
    let t0 = Instant::now();
    let mut cfg = v3_cfg();
    cfg.unicast_peers = vec![ip("192.0.2.20")];
    let (mut b, _) = start(cfg.clone(), t0);
    let known = bytes(&advert(&cfg, 200, 10), "192.0.2.20", ME);
    let acts = b.handle(t0, rx("192.0.2.20", ME, 255, &known));
    assert!(conflicts(&acts).is_empty(), "{acts:?}");
    let stranger = bytes(&advert(&cfg, 100, 10), OTHER, ME);
    let acts = b.handle(t0 + ms(10), rx(OTHER, ME, 255, &stranger));
    assert_eq!(
        conflicts(&acts),
        vec![(ip(OTHER), ConflictKind::UnknownPeer)]
    );
    let st = b.status();
    assert_eq!(st.counters.conflicts.unknown_peer, 1);
    assert_eq!(st.counters.adverts_received, 2);
    assert_eq!(st.counters.drops.total(), 0);
    // The stranger's other-VIP advert: one conflict, of the drop's kind.
    let mut a = advert(&cfg, 100, 10);
    a.addrs = vec![ip("198.51.100.23")];
    let acts = b.handle(t0 + ms(20), rx(OTHER, ME, 255, &bytes(&a, OTHER, ME)));
    assert_eq!(conflicts(&acts), vec![(ip(OTHER), ConflictKind::OtherVips)]);

    // INIT: nothing validated, nothing reported.
    let mut idle = Instance::new(cfg).expect("config");
    let acts = idle.handle(t0, rx(OTHER, ME, 255, &stranger));
    assert!(acts.is_empty(), "{acts:?}");
    assert_eq!(idle.status().counters.conflicts.total(), 0);
}
