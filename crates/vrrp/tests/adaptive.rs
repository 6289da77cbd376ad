//! `adaptive_floor` (vrrpd `vrrpd_adaptive_interval`, issue 13) through two real instances: an
//! adapting master whose every advert goes to a backup. The backup follows the announced
//! interval (RFC 5798 §6.4.2), a punctual master settles at the floor, a late one steps up at
//! once, and no lateness the floor tolerates makes the backup fail over.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use proptest::prelude::*;

mod common;

use common::*;
use vrrp::{Action, AdvertMode, ConfigError, Input, Instance, InstanceConfig, State, Version};

const PEER: &str = "192.0.2.11";

fn auto_cfg(priority: u8) -> InstanceConfig {
    let mut c = v3_cfg();
    c.priority = priority;
    c.adaptive_floor = Some(ms(30));
    c
}

/// A master (priority 250, source ME) and a backup (240, source PEER), both started at `t0`.
struct Pair {
    m: Instance,
    b: Instance,
    /// Intervals the master announced, in order.
    announced: Vec<Duration>,
    /// Send times of the master's adverts.
    sends: Vec<Instant>,
    /// How late each of them was fired.
    lates: Vec<Duration>,
    changes: Vec<vrrp::AdvertChange>,
}

impl Pair {
    fn new(t0: Instant) -> Pair {
        let mut m = Instance::new(auto_cfg(250)).unwrap();
        let mut b = Instance::new(auto_cfg(240)).unwrap();
        let _ = m.handle(t0, Input::SourceAddress(Some(ip(ME))));
        let _ = b.handle(t0, Input::SourceAddress(Some(ip(PEER))));
        let _ = m.handle(t0, Input::Startup);
        let _ = b.handle(t0, Input::Startup);
        Pair {
            m,
            b,
            announced: Vec::new(),
            sends: Vec::new(),
            lates: Vec::new(),
            changes: Vec::new(),
        }
    }

    /// Fire the master's next timer `late` after it was due, deliver what it sent to the backup
    /// 0.1 ms later (running the backup's timers first). Returns when the master fired.
    fn step(&mut self, late: Duration) -> Instant {
        let due = self.m.poll_timeout().expect("master timer");
        let at = due + late;
        let acts = self.m.handle(at, Input::Timer);
        for a in acts {
            match a {
                Action::Send { src, dst, payload } => {
                    self.sends.push(at);
                    self.lates.push(late);
                    let adv = vrrp::Advert::decode(&payload, vrrp::Family::Ipv4, Some((src, dst)))
                        .unwrap()
                        .advert;
                    self.announced
                        .push(Duration::from_millis(u64::from(adv.interval) * 10));
                    let input = Input::Packet(vrrp::RxPacket {
                        src,
                        dst,
                        ttl: 255,
                        payload: &payload,
                    });
                    let out = self.b.handle(at + Duration::from_micros(100), input);
                    assert!(
                        !out.iter().any(|a| matches!(a, Action::StateChanged { .. })),
                        "backup changed state at {:?}: {out:?}",
                        at
                    );
                    assert_eq!(
                        self.b.status().master_adver_interval_ms,
                        u64::from(adv.interval) * 10,
                        "the backup follows the announced interval"
                    );
                }
                Action::AdvertInterval(c) => self.changes.push(c),
                _ => {}
            }
        }
        at
    }
}

/// The master takes over (its down timer fires first), the backup stays BACKUP.
fn settled(t0: Instant) -> Pair {
    let mut p = Pair::new(t0);
    p.step(Duration::ZERO);
    assert_eq!(p.m.state(), State::Master);
    assert_eq!(p.b.state(), State::Backup);
    p
}

#[test]
fn a_punctual_master_settles_at_the_floor_and_the_backup_follows() {
    let t0 = Instant::now();
    let mut p = settled(t0);
    let start = *p.sends.last().unwrap();
    let mut at = start;
    for _ in 0..2000 {
        at = p.step(Duration::from_micros(1200));
        if at - start > ms(30_000) {
            break;
        }
    }
    let tos: Vec<u128> = p.changes.iter().map(|c| c.to.as_millis()).collect();
    assert_eq!(tos, [80, 60, 40, 30]);
    let st = p.m.status();
    assert_eq!(
        (st.advert.mode, st.advert.interval_ms, st.advert.floor_ms),
        (AdvertMode::Auto, 30, 30)
    );
    assert_eq!(st.master_adver_interval_ms, 30);
    assert_eq!(p.b.status().master_adver_interval_ms, 30);
    // The backup's Master_Down_Interval is now 3 × 30 + 16/256 × 30 ms: a dead master is
    // noticed within ~92 ms instead of ~306 ms.
    let down = p.b.poll_timeout().unwrap();
    assert!(
        down - (at + Duration::from_micros(100)) < ms(93),
        "{:?}",
        down - at
    );
    // The backup exports the interval it follows, and why.
    let a = p.b.status().advert;
    assert_eq!(
        (a.interval_ms, a.reason.as_str()),
        (30, "following the master's adverts")
    );
    assert_eq!(p.b.status().advert_reason.code(), "following");
    assert_eq!(p.m.status().advert_reason.code(), "floor");
}

#[test]
fn a_late_master_steps_up_at_once_announcing_before_lengthening() {
    let t0 = Instant::now();
    let mut p = settled(t0);
    for _ in 0..1000 {
        p.step(Duration::from_micros(1200));
        if p.m.status().advert.interval_ms == 30 {
            break;
        }
    }
    assert_eq!(p.m.status().advert.interval_ms, 30);
    p.step(Duration::ZERO);
    let n = p.sends.len();
    // A 40 ms stall: gap 70 ms < Master_Down (92 ms) at 30 ms, and the interval goes to
    // 2 × (40 + 2) → 90 ms with this very advert.
    p.step(ms(40));
    let c = *p.changes.last().unwrap();
    assert_eq!((c.from, c.to), (ms(30), ms(90)));
    assert_eq!(
        c.to_string(),
        "advert interval 30 ms -> 90 ms: send lateness 40.0 ms"
    );
    p.step(Duration::ZERO);
    p.step(Duration::ZERO);
    let gaps: Vec<Duration> = p.sends[n - 1..].windows(2).map(|w| w[1] - w[0]).collect();
    let said: Vec<Duration> = p.announced[n - 1..].to_vec();
    assert_eq!(
        gaps,
        [ms(70), ms(30), ms(90)],
        "the old pace once more, then the longer gap"
    );
    assert_eq!(said, [ms(30), ms(90), ms(90), ms(90)]);
    assert_eq!(p.b.state(), State::Backup);
}

#[test]
fn becoming_master_again_starts_at_the_ceiling() {
    let t0 = Instant::now();
    let mut p = settled(t0);
    for _ in 0..1000 {
        p.step(Duration::ZERO);
        if p.m.status().advert.interval_ms < 100 {
            break;
        }
    }
    let now = *p.sends.last().unwrap() + ms(1);
    let _ = p.m.handle(now, Input::LinkDown);
    let _ = p.m.handle(now + ms(1), Input::LinkUp);
    assert_eq!(p.m.state(), State::Backup);
    // Let its down timer fire (the backup is not advertising in this harness).
    let t = p.m.poll_timeout().unwrap();
    let acts = p.m.handle(t, Input::Timer);
    assert_eq!(p.m.state(), State::Master);
    assert!(acts
        .iter()
        .any(|a| matches!(a, Action::AdvertInterval(c) if c.to == ms(100))));
    assert_eq!(p.m.status().advert.interval_ms, 100);
}

#[test]
fn reconfigure_changes_floor_and_ceiling_in_place() {
    let t0 = Instant::now();
    let mut p = settled(t0);
    for _ in 0..2000 {
        p.step(Duration::ZERO);
        if p.m.status().advert.interval_ms == 30 {
            break;
        }
    }
    let now = *p.sends.last().unwrap() + ms(5);
    let due = p.m.poll_timeout().unwrap();
    let mut cfg = auto_cfg(250);
    cfg.adaptive_floor = Some(ms(50));
    let acts = p.m.reconfigure(now, cfg, &[]).unwrap();
    assert!(acts
        .iter()
        .any(|a| matches!(a, Action::AdvertInterval(c) if c.to == ms(50))));
    assert_eq!(p.m.state(), State::Master);
    assert_eq!(
        p.m.poll_timeout(),
        Some(due),
        "the advert already due announces it"
    );
    // Fixed again: the configured advert_int.
    let acts = p.m.reconfigure(now, v3_with_priority(250), &[]).unwrap();
    assert!(acts
        .iter()
        .any(|a| matches!(a, Action::AdvertInterval(c) if c.to == ms(100))));
    assert_eq!(p.m.status().advert.mode, AdvertMode::Fixed);
}

fn v3_with_priority(p: u8) -> InstanceConfig {
    let mut c = v3_cfg();
    c.priority = p;
    c
}

#[test]
fn refused_where_peers_require_equal_intervals() {
    let mut c = auto_cfg(100);
    c.v2_compat = true;
    assert_eq!(
        Instance::new(c).err(),
        Some(ConfigError::AdaptiveInterval(ms(30)))
    );
    let mut c = auto_cfg(100);
    c.version = Version::V2;
    c.advert_interval = ms(1000);
    assert!(matches!(
        Instance::new(c),
        Err(ConfigError::AdaptiveInterval(_))
    ));
    for floor in [ms(0), ms(5), ms(35), ms(110)] {
        let mut c = auto_cfg(100);
        c.adaptive_floor = Some(floor);
        assert_eq!(
            Instance::new(c).err(),
            Some(ConfigError::AdaptiveInterval(floor)),
            "{floor:?}"
        );
    }
    let mut c = auto_cfg(100);
    c.adaptive_floor = Some(ms(100));
    assert!(
        Instance::new(c).is_ok(),
        "floor = ceiling is a fixed interval, allowed"
    );
}

fn lateness() -> impl Strategy<Value = Vec<u32>> {
    // Mostly punctual (µs), now and then a stall of up to 55 ms: less than 2 × the floor, the
    // most a backup at the floor survives (its Master_Down is 3 × 30 ms + skew).
    let one = prop_oneof![20 => 0u32..3_000, 1 => 0u32..55_000];
    prop::collection::vec(one, 100..1500)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the lateness (within what the floor tolerates): no failover, the backup's
    /// Master_Adver_Interval always equals the last announced interval (checked in `step`),
    /// the interval stays within [floor, ceiling] in whole centiseconds, and no gap is longer
    /// than the interval announced by either of the two adverts before it plus the lateness of
    /// the advert that ends it (announce twice before lengthening).
    #[test]
    fn no_false_failover_and_announce_before_lengthen(lates in lateness()) {
        let t0 = Instant::now();
        let mut p = settled(t0);
        for l in &lates {
            p.step(Duration::from_micros(u64::from(*l)));
            let iv = p.m.status().advert.interval_ms;
            prop_assert!((30..=100).contains(&iv) && iv % 10 == 0, "{iv}");
        }
        prop_assert_eq!(p.m.state(), State::Master);
        prop_assert_eq!(p.b.state(), State::Backup);
        for k in 2..p.sends.len() {
            let gap = p.sends[k] - p.sends[k - 1];
            let bound = p.announced[k - 1].min(p.announced[k - 2]) + p.lates[k];
            prop_assert!(gap <= bound, "gap {:?} after announcing {:?}", gap, &p.announced[k - 2..k]);
        }
        for c in &p.changes {
            if c.to > c.from {
                let late = matches!(c.reason, vrrp::AdvertReason::Late { .. });
                prop_assert!(late, "a step up for {:?}", c.reason);
            } else {
                prop_assert!(c.to >= vrrp::adaptive::step_down(c.from));
            }
        }
    }
}
