//! Planned changes driven by scripted inputs: the make-before-break handoff (`Input::Leave`,
//! `State::Leaving`, a vrrpd extension beside RFC 5798 §6.4.3 Shutdown) and in-place
//! reconfiguration (`Instance::reconfigure`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

mod common;

use common::*;
use vrrp::{
    Action, Fault, Input, Instance, InstanceConfig, Reason, ReconfigureError, State, Track, Version,
};

const PEER: &str = "192.0.2.20";
const NEW_PEER: &str = "192.0.2.30";

/// v3 at 100 ms, priority 150.
fn v3_cfg() -> InstanceConfig {
    let mut c = common::v3_cfg();
    c.priority = 150;
    c
}

/// An advert (interval 10 cs) from `src` to `dst` with the instance's VIPs.
fn feed_to(i: &mut Instance, now: Instant, src: &str, dst: &str, priority: u8) -> Vec<Action> {
    let p = bytes(&advert(i.config(), priority, 10), src, dst);
    i.handle(now, rx(src, dst, 255, &p))
}

fn feed(i: &mut Instance, now: Instant, src: &str, priority: u8) -> Vec<Action> {
    feed_to(i, now, src, GROUP, priority)
}

fn removes(acts: &[Action]) -> bool {
    acts.iter().any(|a| matches!(a, Action::RemoveVips(_)))
}

// ===== make-before-break handoff =====

/// Leave from MASTER: priority 0 goes out (so backups take over after Skew_Time, RFC 5798
/// §6.4.2), but the VIPs stay; the first advert with priority > 0 (the new master) releases
/// them and the instance ends in INIT.
#[test]
fn leave_keeps_vips_until_new_master_advertises() {
    let t0 = Instant::now();
    let (mut i, t) = master(v3_cfg(), t0);
    let acts = i.handle(t + ms(10), Input::Leave);
    assert_eq!(sent(&acts), vec![(ip(GROUP), 0)]);
    assert!(
        !removes(&acts),
        "VIPs released before the handoff: {acts:?}"
    );
    assert_eq!(
        acts.last(),
        Some(&changed(State::Master, State::Leaving, Reason::Leave))
    );
    assert_eq!(i.state(), State::Leaving);
    assert_eq!(i.status().vips_held, vips());
    assert_eq!(i.status().master_address, None);
    // No advert timer while leaving: only the handoff bound.
    let bound = i.poll_timeout().expect("handoff bound armed");
    assert_eq!(bound, t + ms(10) + i.config().handoff_bound());
    // Another router leaving (priority 0) is no new master.
    assert!(feed(&mut i, t + ms(20), PEER, 0).is_empty());
    assert_eq!(i.state(), State::Leaving);
    // The backup took over: its first advert releases the VIPs.
    let acts = feed(&mut i, t + ms(70), PEER, 100);
    assert_eq!(
        acts,
        vec![
            Action::RemoveVips(vips()),
            changed(State::Leaving, State::Init, Reason::HandedOver)
        ]
    );
    assert_eq!(i.poll_timeout(), None);
    assert!(i.status().vips_held.is_empty());
    assert_eq!(i.status().counters.priority_zero_sent, 1);
}

/// While leaving the instance never fights the new master: a lower-priority advert (which a
/// master answers, keepalived / RFC 9568) and timer ticks send nothing; a lower-priority new
/// master still counts as the new master.
#[test]
fn leaving_sends_nothing_and_accepts_any_new_master() {
    let t0 = Instant::now();
    let (mut i, t) = master(v3_cfg(), t0);
    let _ = i.handle(t, Input::Leave);
    for k in 1..5 {
        let acts = i.handle(t + ms(k * 10), Input::Timer);
        assert!(acts.is_empty(), "{acts:?}");
    }
    let acts = feed(&mut i, t + ms(60), PEER, 1);
    assert!(sent(&acts).is_empty(), "answered while leaving: {acts:?}");
    assert_eq!(i.state(), State::Init);
}

/// No backup: the VIPs are released when the bound expires. The automatic bound is
/// Master_Down_Interval of a priority-1 backup plus one interval: 3×100 + 99.6 + 100 ms.
#[test]
fn leave_without_backup_ends_at_the_bound() {
    let t0 = Instant::now();
    let (mut i, t) = master(v3_cfg(), t0);
    let bound = i.config().handoff_bound();
    assert!(bound > ms(499) && bound < ms(500), "{bound:?}");
    let _ = i.handle(t, Input::Leave);
    assert!(i.handle(t + bound - ms(1), Input::Timer).is_empty());
    let acts = i.handle(t + bound, Input::Timer);
    assert_eq!(
        acts,
        vec![
            Action::RemoveVips(vips()),
            changed(State::Leaving, State::Init, Reason::HandoffTimeout)
        ]
    );
}

/// A configured bound replaces the automatic one; zero disables the handoff (the RFC
/// Shutdown: priority 0 and VIPs released at once).
#[test]
fn configured_handoff_timeout() {
    let t0 = Instant::now();
    let mut cfg = v3_cfg();
    cfg.handoff_timeout = Some(ms(250));
    let (mut i, t) = master(cfg, t0);
    let _ = i.handle(t, Input::Leave);
    assert_eq!(i.poll_timeout(), Some(t + ms(250)));

    let mut cfg = v3_cfg();
    cfg.handoff_timeout = Some(Duration::ZERO);
    let (mut i, t) = master(cfg, t0);
    let acts = i.handle(t, Input::Leave);
    assert_eq!(sent(&acts), vec![(ip(GROUP), 0)]);
    assert!(removes(&acts));
    assert_eq!(i.state(), State::Init);

    let mut cfg = v3_cfg();
    cfg.handoff_timeout = Some(Duration::from_secs(61));
    assert!(Instance::new(cfg).is_err());
}

/// Leave from BACKUP or FAULT is a plain shutdown; Shutdown while leaving releases at once.
#[test]
fn leave_from_other_states_and_forced_shutdown() {
    let t0 = Instant::now();
    let mut b = Instance::new(v3_cfg()).expect("cfg");
    let _ = b.handle(t0, Input::SourceAddress(Some(ip(ME))));
    let _ = b.handle(t0, Input::Startup);
    assert_eq!(
        b.handle(t0, Input::Leave),
        vec![changed(State::Backup, State::Init, Reason::Shutdown)]
    );
    let (mut i, t) = master(v3_cfg(), t0);
    let _ = i.handle(t, Input::Leave);
    assert_eq!(
        i.handle(t + ms(5), Input::Shutdown),
        vec![
            Action::RemoveVips(vips()),
            changed(State::Leaving, State::Init, Reason::Shutdown)
        ]
    );
}

/// A fault while leaving (link down, the load balancer dying too) releases at once.
#[test]
fn fault_while_leaving_releases() {
    let t0 = Instant::now();
    let mut cfg = v3_cfg();
    cfg.tracks = vec![Track {
        weight: 0,
        reverse: false,
    }];
    let (mut i, t) = master(cfg, t0);
    let _ = i.handle(t, Input::Leave);
    let acts = i.handle(
        t + ms(3),
        Input::Track {
            index: 0,
            up: false,
        },
    );
    assert_eq!(
        acts,
        vec![
            Action::RemoveVips(vips()),
            changed(State::Leaving, State::Init, Reason::Fault(Fault::Track(0)))
        ]
    );
    let v = serde_json::to_value(State::Leaving).expect("json");
    assert_eq!(v, "LEAVING");
}

// ===== in-place reconfiguration =====

/// A master gets one more unicast peer: role, VIPs and Adver_Timer are kept, no priority 0 is
/// sent, and the next advert goes to every peer including the new one.
#[test]
fn reconfigure_adds_a_unicast_peer_in_place() {
    let t0 = Instant::now();
    let mut cfg = v3_cfg();
    cfg.unicast_peers = vec![ip(PEER)];
    let (mut i, t) = master(cfg.clone(), t0);
    let next = i.poll_timeout().expect("adver timer");
    cfg.unicast_peers.push(ip(NEW_PEER));
    let acts = i
        .reconfigure(t + ms(30), cfg, &[])
        .expect("soft change applies in place");
    assert!(acts.is_empty(), "{acts:?}");
    assert_eq!(i.state(), State::Master);
    assert_eq!(i.status().vips_held, vips());
    assert_eq!(i.poll_timeout(), Some(next));
    let acts = i.handle(next, Input::Timer);
    assert_eq!(sent(&acts), vec![(ip(PEER), 150), (ip(NEW_PEER), 150)]);
    assert_eq!(i.status().counters.transitions, 2);
    // A backup with the new peer list accepts adverts from the new peer.
    let mut cfg = v3_cfg();
    cfg.priority = 100;
    cfg.unicast_peers = vec![ip(PEER)];
    let mut b = Instance::new(cfg.clone()).expect("cfg");
    let _ = b.handle(t0, Input::SourceAddress(Some(ip(ME))));
    let _ = b.handle(t0, Input::Startup);
    cfg.unicast_peers = vec![ip(PEER), ip(NEW_PEER)];
    b.reconfigure(t0 + ms(10), cfg, &[]).expect("in place");
    assert!(feed_to(&mut b, t0 + ms(20), NEW_PEER, ME, 200).is_empty());
    assert_eq!(b.status().master_address, Some(ip(NEW_PEER)));
}

/// A lower priority on a master is advertised at once (like a track change); a higher-
/// priority backup then preempts by the usual rules.
#[test]
fn reconfigure_priority_is_advertised() {
    let t0 = Instant::now();
    let (mut i, t) = master(v3_cfg(), t0);
    let mut cfg = v3_cfg();
    cfg.priority = 50;
    let acts = i.reconfigure(t + ms(10), cfg, &[]).expect("in place");
    assert_eq!(sent(&acts), vec![(ip(GROUP), 50)]);
    assert_eq!(i.state(), State::Master);
    assert_eq!(i.status().base_priority, 50);
    let acts = feed(&mut i, t + ms(20), PEER, 100);
    assert!(removes(&acts));
    assert_eq!(i.state(), State::Backup);
}

/// New tracks take the health the caller reports: a failing weight-0 track faults.
#[test]
fn reconfigure_tracks_use_reported_health() {
    let t0 = Instant::now();
    let (mut i, t) = master(v3_cfg(), t0);
    let mut cfg = v3_cfg();
    cfg.tracks = vec![
        Track {
            weight: -20,
            reverse: false,
        },
        Track {
            weight: 0,
            reverse: false,
        },
    ];
    let acts = i
        .reconfigure(t + ms(5), cfg.clone(), &[false, true])
        .expect("in place");
    assert_eq!(sent(&acts), vec![(ip(GROUP), 130)]);
    assert_eq!(i.state(), State::Master);
    let acts = i.reconfigure(t + ms(6), cfg, &[true, false]).expect("ok");
    assert_eq!(sent(&acts), vec![(ip(GROUP), 150), (ip(GROUP), 0)]);
    assert_eq!(i.state(), State::Fault);
}

/// Identity changes (VRID, family, version, VIP set, name) and invalid configs are refused
/// and change nothing; VIP order alone is not an identity change.
#[test]
fn reconfigure_refuses_identity_changes() {
    let t0 = Instant::now();
    let (mut i, t) = master(v3_cfg(), t0);
    let before = i.status();
    let mut c = v3_cfg();
    c.vrid = 24;
    assert_eq!(
        i.reconfigure(t, c, &[]),
        Err(ReconfigureError::Identity("vrid"))
    );
    let mut c = v3_cfg();
    c.version = Version::V2;
    c.advert_interval = Duration::from_secs(1);
    assert_eq!(
        i.reconfigure(t, c, &[]),
        Err(ReconfigureError::Identity("version"))
    );
    let mut c = v3_cfg();
    c.vips.push("192.0.2.101/24".parse().expect("vip"));
    assert_eq!(
        i.reconfigure(t, c, &[]),
        Err(ReconfigureError::Identity("vips"))
    );
    let mut c = v3_cfg();
    c.advert_interval = ms(5);
    assert!(matches!(
        i.reconfigure(t, c, &[]),
        Err(ReconfigureError::Invalid(_))
    ));
    assert_eq!(i.status(), before);
    // Same VIPs in another order apply in place.
    let mut a = v3_cfg();
    a.vips = vec![
        "192.0.2.100/24".parse().expect("vip"),
        "192.0.2.101/24".parse().expect("vip"),
    ];
    let (mut j, t) = master(a.clone(), t0);
    a.vips.reverse();
    assert!(j.reconfigure(t, a, &[]).is_ok());
}

/// A shorter interval on a master takes effect by the next advert at the latest.
#[test]
fn reconfigure_interval_reschedules_adverts() {
    let t0 = Instant::now();
    let mut cfg = v3_cfg();
    cfg.advert_interval = Duration::from_secs(1);
    let (mut i, t) = master(cfg.clone(), t0);
    cfg.advert_interval = ms(50);
    i.reconfigure(t + ms(10), cfg, &[]).expect("in place");
    assert_eq!(i.poll_timeout(), Some(t + ms(60)));
}
