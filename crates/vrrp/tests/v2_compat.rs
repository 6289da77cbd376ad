//! RFC 5798 §8.4 VRRPv2 interoperation (`InstanceConfig::v2_compat`): a VRRPv3 instance that
//! also sends and accepts VRRPv2 adverts, so that a keepalived VRRPv2 group (the original
//! charm's) can move to VRRPv3 one router at a time without two masters.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

mod common;

use common::*;
use vrrp::{
    Action, Advert, ConfigError, DropReason, Family, Input, Instance, InstanceConfig, State,
    Version,
};

const OLD: &str = "192.0.2.20"; // a keepalived VRRPv2 router
const NEW: &str = "192.0.2.30"; // a vrrpd router in compat mode

/// v3 at 100 ms, priority 250, nopreempt, compat on: the charm's rendering during a refresh.
fn compat_cfg() -> InstanceConfig {
    let mut c = v3_cfg();
    c.priority = 250;
    c.preempt = false;
    c.v2_compat = true;
    c
}

fn v2_bytes(priority: u8, interval: u8, src: &str) -> Vec<u8> {
    let addrs = vips().iter().map(|v| v.addr).collect();
    bytes(&Advert::v2(23, priority, interval, None, addrs), src, GROUP)
}

fn v3_bytes(priority: u8, src: &str) -> Vec<u8> {
    let addrs = vips().iter().map(|v| v.addr).collect();
    bytes(&Advert::v3(23, priority, 10, addrs), src, GROUP)
}

/// (version, priority, byte 5: v2 Adver Int, v3 low byte of Max Adver Int) of each Send.
fn sends(acts: &[Action]) -> Vec<(u8, u8, u8)> {
    acts.iter()
        .filter_map(|a| match a {
            Action::Send { payload, .. } => Some((payload[0] >> 4, payload[2], payload[5])),
            _ => None,
        })
        .collect()
}

#[test]
fn compat_needs_v3_ipv4() {
    let mut c = compat_cfg();
    c.version = Version::V2;
    c.advert_interval = Duration::from_secs(1);
    assert_eq!(Instance::new(c).err(), Some(ConfigError::V2Compat));
    let mut c6 = InstanceConfig::new(
        "VI6",
        23,
        Family::Ipv6,
        vec!["2001:db8::100/64".parse().expect("vip")],
    );
    c6.v2_compat = true;
    assert_eq!(Instance::new(c6).err(), Some(ConfigError::V2Compat));
    assert!(Instance::new(compat_cfg()).is_ok());
}

/// §8.4.2: a master in interoperation mode sends both versions at its own rate; the v2 twin
/// has no auth and Adver Int 1 (whole seconds, rounded up: what keepalived's default v2 group
/// expects, or it drops the advert as an interval mismatch).
#[test]
fn master_sends_both_versions_at_its_rate() {
    let t0 = Instant::now();
    let (mut i, t) = master(compat_cfg(), t0);
    let acts = i.handle(t + ms(100), Input::Timer);
    assert_eq!(sends(&acts), vec![(3, 250, 10), (2, 250, 1)]);
    let mut slow = compat_cfg();
    slow.advert_interval = Duration::from_millis(1500);
    let (i, _) = master(slow, t0);
    assert_eq!(i.config().v2_interval_wire(), 2);
    // Leaving (Shutdown) resigns in both versions.
    let (mut i, t) = master(compat_cfg(), t0);
    let acts = i.handle(t + ms(1), Input::Shutdown);
    assert_eq!(sends(&acts), vec![(3, 0, 10), (2, 0, 1)]);
}

/// Without compat, a v3 backup drops the keepalived master's v2 adverts (wrong version) and
/// takes over while it is still master: two holders. With compat it follows the v2 master and
/// times out on its 1 s interval (translated), not its own 100 ms.
#[test]
fn backup_follows_a_v2_master_on_its_interval() {
    let t0 = Instant::now();
    let mut plain = compat_cfg();
    plain.v2_compat = false;
    let (mut p, _) = start(plain, t0);
    let _ = p.handle(t0 + ms(10), rx(OLD, GROUP, 255, &v2_bytes(103, 1, OLD)));
    assert_eq!(p.status().counters.drops.get(DropReason::Version), 1);
    let _ = p.handle(t0 + ms(400), Input::Timer);
    assert_eq!(p.state(), State::Master);

    let (mut i, _) = start(compat_cfg(), t0);
    let _ = i.handle(t0 + ms(10), rx(OLD, GROUP, 255, &v2_bytes(103, 1, OLD)));
    assert_eq!(i.status().counters.v2_compat_received, 1);
    assert_eq!(i.status().master_adver_interval_ms, 1000);
    // 3 × 1 s + (256 − 250)/256 × 1 s after the advert.
    let down = t0 + ms(10) + Duration::from_nanos(3_023_437_500);
    assert_eq!(i.poll_timeout(), Some(down));
    let _ = i.handle(down - ms(1), Input::Timer);
    assert_eq!(i.state(), State::Backup);
    let _ = i.handle(down, Input::Timer);
    assert_eq!(i.state(), State::Master);
}

/// keepalived stopping (priority 0, v2) hands over after our Skew_Time: (256 − 250)/256 of
/// its 1 s interval = 23.4 ms, ahead of keepalived backups (priority 102: 0.6 s).
#[test]
fn v2_priority_zero_hands_over_after_skew() {
    let t0 = Instant::now();
    let (mut i, _) = start(compat_cfg(), t0);
    let _ = i.handle(t0 + ms(10), rx(OLD, GROUP, 255, &v2_bytes(103, 1, OLD)));
    let _ = i.handle(t0 + ms(500), rx(OLD, GROUP, 255, &v2_bytes(0, 1, OLD)));
    assert_eq!(
        i.poll_timeout(),
        Some(t0 + ms(500) + Duration::from_nanos(23_437_500))
    );
}

/// A compat master hearing a lower-priority keepalived master (both were master during a
/// partition) answers at once in both versions, so the v2 router yields; a higher one wins.
#[test]
fn master_answers_and_yields_across_versions() {
    let t0 = Instant::now();
    let (mut i, t) = master(compat_cfg(), t0);
    let acts = i.handle(t + ms(5), rx(OLD, GROUP, 255, &v2_bytes(103, 1, OLD)));
    assert_eq!(sends(&acts), vec![(3, 250, 10), (2, 250, 1)]);
    assert_eq!(i.state(), State::Master);
    let acts = i.handle(t + ms(6), rx(OLD, GROUP, 255, &v2_bytes(254, 1, OLD)));
    assert_eq!(i.state(), State::Backup);
    assert!(acts.iter().any(|a| matches!(a, Action::RemoveVips(_))));
}

/// §8.4.2: the v2 twins of a router also heard in v3 are ignored (its v3 adverts carry the
/// timing), so a compat backup keeps the 100 ms interval of a compat master.
#[test]
fn v2_twins_of_a_v3_sender_are_ignored() {
    let t0 = Instant::now();
    let (mut i, _) = start(compat_cfg(), t0);
    let _ = i.handle(t0 + ms(10), rx(NEW, GROUP, 255, &v3_bytes(240, NEW)));
    let _ = i.handle(t0 + ms(10), rx(NEW, GROUP, 255, &v2_bytes(240, 1, NEW)));
    let st = i.status();
    assert_eq!(st.master_adver_interval_ms, 100);
    assert_eq!(st.counters.v2_compat_received, 1);
    assert_eq!(st.counters.adverts_received, 2);
    // 3 × 100 ms + 6/256 × 100 ms after the v3 advert: the twin did not re-arm the timer.
    assert_eq!(
        i.poll_timeout(),
        Some(t0 + ms(10) + Duration::from_nanos(302_343_750))
    );
}

/// The v2 side is the original charm's group: no authentication. A PASS advert is dropped.
#[test]
fn v2_with_auth_is_dropped() {
    let t0 = Instant::now();
    let (mut i, _) = start(compat_cfg(), t0);
    let addrs = vips().iter().map(|v| v.addr).collect();
    let p = bytes(
        &Advert::v2(23, 103, 1, Some(*b"secret\0\0"), addrs),
        OLD,
        GROUP,
    );
    let _ = i.handle(t0 + ms(10), rx(OLD, GROUP, 255, &p));
    assert_eq!(i.status().counters.drops.get(DropReason::AuthType), 1);
}

/// Turning compat off is a soft change (no VIP movement): once every router speaks v3.
#[test]
fn compat_toggles_in_place() {
    let t0 = Instant::now();
    let (mut i, t) = master(compat_cfg(), t0);
    let mut off = compat_cfg();
    off.v2_compat = false;
    let acts = i.reconfigure(t + ms(1), off, &[]).expect("soft change");
    assert!(!acts.iter().any(|a| matches!(a, Action::RemoveVips(_))));
    assert_eq!(i.state(), State::Master);
    let acts = i.handle(t + ms(100), Input::Timer);
    assert_eq!(sends(&acts), vec![(3, 250, 10)]);
}
