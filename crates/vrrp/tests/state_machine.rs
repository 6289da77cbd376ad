//! The state machine driven by scripted inputs; each test names the RFC section or keepalived
//! behaviour it checks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::time::{Duration, Instant};

mod common;

use common::*;
use vrrp::{
    Action, Advert, ConflictKind, DropReason, Family, Fault, Input, Instance, InstanceConfig,
    Reason, RxPacket, State, Track, V3Checksum, Version,
};

const PEER_HI: &str = "192.0.2.20"; // greater than ME
const PEER_LO: &str = "192.0.2.5"; // smaller than ME

/// Feed a well-formed advert from `src` to the multicast group.
fn feed(i: &mut Instance, now: Instant, src: &str, priority: u8, interval: u16) -> Vec<Action> {
    let p = bytes(&advert(i.config(), priority, interval), src, GROUP);
    i.handle(now, rx(src, GROUP, 255, &p))
}

fn announce(count: u32) -> Action {
    Action::Announce {
        vips: vips(),
        count,
    }
}

fn drops(i: &Instance, r: DropReason) -> u64 {
    i.status().counters.drops.get(r)
}

// ===== startup =====

/// RFC 5798 §6.4.1: the owner (priority 255) sends an advert, takes the VIPs, announces them
/// and becomes Master at once.
#[test]
fn owner_startup_is_master_at_once() {
    let t0 = Instant::now();
    let mut cfg = v2_cfg();
    cfg.priority = 255;
    let (i, acts) = start(cfg, t0);
    assert_eq!(acts[0], changed(State::Init, State::Master, Reason::Owner));
    assert_eq!(sent(&acts[1..2]), vec![(ip(GROUP), 255)]);
    assert_eq!(acts[2], Action::AddVips(vips()));
    assert_eq!(acts[3], announce(5));
    assert_eq!(acts.len(), 4);
    assert_eq!(i.poll_timeout(), Some(t0 + Duration::from_secs(1)));
    assert_eq!(i.status().vips_held, vips());
}

/// RFC 5798 §6.4.1: otherwise Backup with Master_Down_Timer = Master_Down_Interval; keepalived
/// first removes stale VIPs (docs/keepalived-interop.md §5). v2/1 s/priority 100: 3.609375 s
/// (docs/keepalived-interop.md §4).
#[test]
fn startup_is_backup_after_stale_vip_removal() {
    let t0 = Instant::now();
    let (i, acts) = start(v2_cfg(), t0);
    assert_eq!(
        acts,
        vec![
            Action::RemoveVips(vips()),
            changed(State::Init, State::Backup, Reason::Startup)
        ]
    );
    assert_eq!(
        i.poll_timeout(),
        Some(t0 + Duration::from_micros(3_609_375))
    );
    assert!(i.status().vips_held.is_empty());
}

/// keepalived: without a usable source address the instance is in FAULT.
#[test]
fn startup_without_source_address_is_fault() {
    let t0 = Instant::now();
    let mut i = Instance::new(v2_cfg()).expect("cfg");
    let acts = i.handle(t0, Input::Startup);
    assert_eq!(
        acts[1],
        changed(
            State::Init,
            State::Fault,
            Reason::Fault(Fault::NoSourceAddress)
        )
    );
    assert_eq!(i.poll_timeout(), None);
    let acts = i.handle(t0, Input::SourceAddress(Some(ip(ME))));
    assert_eq!(
        acts,
        vec![changed(State::Fault, State::Backup, Reason::FaultCleared)]
    );
}

/// Config validation: v2 needs whole seconds, v3 centiseconds; v2 is IPv4 only.
#[test]
fn invalid_configs_are_refused() {
    let mut c = v2_cfg();
    c.advert_interval = ms(500);
    assert!(Instance::new(c).is_err());
    let mut c = v3_cfg();
    c.advert_interval = ms(5);
    assert!(Instance::new(c).is_err());
    let mut c = InstanceConfig::new(
        "x",
        1,
        Family::Ipv6,
        vec!["2001:db8::1/64".parse().expect("vip")],
    );
    c.version = Version::V2;
    assert!(Instance::new(c).is_err());
    let mut c = v2_cfg();
    c.vips = vec!["2001:db8::1/64".parse().expect("vip")];
    assert!(Instance::new(c).is_err());
}

// ===== backup =====

/// RFC 5798 §6.4.2: Master_Down_Timer fires → send an advert, add VIPs, announce, Master;
/// keepalived: second burst after garp_master_delay, refresh every garp_master_refresh.
#[test]
fn master_down_timer_takes_over_with_garp_bursts() {
    let t0 = Instant::now();
    let mut cfg = v3_cfg();
    cfg.garp_master_refresh = Duration::from_secs(60);
    cfg.garp_master_refresh_repeat = 2;
    let (mut i, _) = start(cfg, t0);
    let due = t0 + Duration::from_micros(360_937) + Duration::from_nanos(500);
    assert_eq!(i.poll_timeout(), Some(due));
    assert!(i.handle(due - ms(1), Input::Timer).is_empty());
    let acts = i.handle(due, Input::Timer);
    assert_eq!(
        acts[0],
        changed(State::Backup, State::Master, Reason::MasterDown)
    );
    assert_eq!(sent(&acts[1..2]), vec![(ip(GROUP), 100)]);
    assert_eq!(&acts[2..], &[Action::AddVips(vips()), announce(5)]);
    // Adverts every 100 ms; the second GARP burst at +5 s; the refresh at +60 s.
    let acts = i.handle(due + ms(100), Input::Timer);
    assert_eq!(sent(&acts), vec![(ip(GROUP), 100)]);
    assert_eq!(acts.len(), 1);
    let acts = i.handle(due + Duration::from_secs(5), Input::Timer);
    assert!(acts.contains(&announce(5)));
    let acts = i.handle(due + Duration::from_secs(6), Input::Timer);
    assert!(!acts.iter().any(|a| matches!(a, Action::Announce { .. })));
    let acts = i.handle(due + Duration::from_secs(60), Input::Timer);
    assert!(acts.contains(&announce(2)));
    assert_eq!(i.status().counters.became_master, 1);
}

/// keepalived `garp_master_delay 0`: no second burst.
#[test]
fn garp_master_delay_zero_means_one_burst() {
    let t0 = Instant::now();
    let mut cfg = v3_cfg();
    cfg.garp_master_delay = Duration::ZERO;
    let (mut i, t) = master(cfg, t0);
    for k in 1..=100 {
        let acts = i.handle(t + ms(100 * k), Input::Timer);
        assert!(!acts.iter().any(|a| matches!(a, Action::Announce { .. })));
    }
}

/// RFC 5798 §6.4.2: priority-0 advert → Master_Down_Timer = Skew_Time.
#[test]
fn backup_priority_zero_sets_skew() {
    let t0 = Instant::now();
    let (mut i, _) = start(v2_cfg(), t0);
    let t = t0 + ms(500);
    assert!(feed(&mut i, t, PEER_HI, 0, 1).is_empty());
    assert_eq!(i.poll_timeout(), Some(t + Duration::from_micros(609_375)));
    assert_eq!(i.status().counters.priority_zero_received, 1);
}

/// RFC 5798 §6.4.2: priority ≥ ours → accept, reset Master_Down_Timer; v3 learns
/// Master_Adver_Interval, so skew and MDI follow the master's interval
/// (docs/keepalived-interop.md §4).
#[test]
fn v3_backup_learns_master_interval() {
    let t0 = Instant::now();
    let (mut i, _) = start(v3_cfg(), t0);
    let t = t0 + ms(50);
    assert!(feed(&mut i, t, PEER_HI, 200, 200).is_empty());
    // 3 × 2 s + (156 × 2 s)/256 = 7.21875 s
    assert_eq!(i.poll_timeout(), Some(t + Duration::from_micros(7_218_750)));
    assert_eq!(i.status().master_adver_interval_ms, 2000);
    assert_eq!(i.status().master_address, Some(ip(PEER_HI)));
    // Priority 0 now gives the skew of the learned 2 s: 1.21875 s.
    let t2 = t + ms(10);
    feed(&mut i, t2, PEER_HI, 0, 200);
    assert_eq!(
        i.poll_timeout(),
        Some(t2 + Duration::from_micros(1_218_750))
    );
}

/// RFC 3768 §7.1: v2 drops adverts whose Adver Int differs; the timer keeps running.
#[test]
fn v2_interval_mismatch_is_dropped() {
    let t0 = Instant::now();
    let (mut i, _) = start(v2_cfg(), t0);
    let before = i.poll_timeout();
    let acts = feed(&mut i, t0 + ms(100), PEER_HI, 200, 2);
    assert_eq!(
        acts,
        vec![
            Action::Dropped {
                src: ip(PEER_HI),
                reason: DropReason::Interval
            },
            Action::Conflict {
                src: ip(PEER_HI),
                kind: ConflictKind::Interval
            }
        ]
    );
    assert_eq!(i.poll_timeout(), before);
    assert_eq!(drops(&i, DropReason::Interval), 1);
    assert_eq!(i.status().counters.conflicts.interval, 1);
}

/// RFC 5798 §6.4.2: with preempt, a lower priority advert is discarded and the timer keeps
/// running (keepalived "received lower priority advert, discarding"); an equal one resets it.
#[test]
fn backup_preempt_discards_lower_accepts_equal() {
    let t0 = Instant::now();
    let (mut i, _) = start(v2_cfg(), t0);
    let before = i.poll_timeout();
    feed(&mut i, t0 + ms(100), PEER_HI, 99, 1);
    assert_eq!(i.poll_timeout(), before);
    assert_eq!(i.status().counters.adverts_received, 1);
    let t = t0 + ms(200);
    feed(&mut i, t, PEER_LO, 100, 1);
    assert_eq!(i.poll_timeout(), Some(t + Duration::from_micros(3_609_375)));
}

/// RFC 5798 §6.4.2: with Preempt_Mode False every advert resets the timer (keepalived nopreempt).
#[test]
fn backup_nopreempt_accepts_lower() {
    let t0 = Instant::now();
    let mut cfg = v2_cfg();
    cfg.preempt = false;
    let (mut i, _) = start(cfg, t0);
    let t = t0 + ms(100);
    feed(&mut i, t, PEER_HI, 1, 1);
    assert_eq!(i.poll_timeout(), Some(t + Duration::from_micros(3_609_375)));
}

/// keepalived `preempt_delay`: the first lower-priority advert starts the delay, and such
/// adverts are accepted until it expires; then they are discarded and the backup takes over.
#[test]
fn preempt_delay_is_honoured() {
    let t0 = Instant::now();
    let mut cfg = v3_cfg();
    cfg.priority = 200;
    cfg.preempt_delay = Duration::from_secs(2);
    let (mut i, _) = start(cfg, t0);
    let mut t = t0;
    // Lower-priority master advertising every 100 ms for 1.9 s: held back.
    for _ in 0..19 {
        t += ms(100);
        feed(&mut i, t, PEER_LO, 100, 10);
        assert_eq!(i.state(), State::Backup);
    }
    let accepted = i.poll_timeout().expect("timer");
    // After the 2 s delay, the adverts no longer reset the timer.
    for _ in 0..3 {
        t += ms(100);
        feed(&mut i, t, PEER_LO, 100, 10);
    }
    let deadline = i.poll_timeout().expect("timer");
    assert!(
        deadline <= t0 + Duration::from_millis(2000) + ms(400),
        "{deadline:?}"
    );
    assert!(deadline >= accepted);
    let _ = i.handle(deadline, Input::Timer);
    assert_eq!(i.state(), State::Master);
}

// ===== master =====

/// RFC 5798 §6.4.3: priority-0 advert → send an advert at once and reset the Adver_Timer.
#[test]
fn master_answers_priority_zero_at_once() {
    let t0 = Instant::now();
    let (mut i, t) = master(v3_cfg(), t0);
    let now = t + ms(30);
    let acts = feed(&mut i, now, PEER_HI, 0, 10);
    assert_eq!(sent(&acts), vec![(ip(GROUP), 100)]);
    assert_eq!(i.poll_timeout(), Some(now + ms(100)));
}

/// RFC 5798 §6.4.3: higher priority → Backup, VIPs removed (keepalived), down timer from the
/// new master's interval; `higher_prio_send_advert` sends one advert first.
#[test]
fn master_yields_to_higher_priority() {
    for send_first in [false, true] {
        let t0 = Instant::now();
        let mut cfg = v3_cfg();
        cfg.higher_prio_send_advert = send_first;
        let (mut i, t) = master(cfg, t0);
        let now = t + ms(30);
        let acts = feed(&mut i, now, PEER_LO, 150, 100);
        let mut want = Vec::new();
        if send_first {
            assert_eq!(sent(&acts[..1]), vec![(ip(GROUP), 100)]);
            want.push(acts[0].clone());
        }
        want.push(Action::RemoveVips(vips()));
        want.push(changed(
            State::Master,
            State::Backup,
            Reason::HigherPriority,
        ));
        assert_eq!(acts, want);
        // 3 × 1 s + 156/256 s (learned 1 s interval)
        assert_eq!(
            i.poll_timeout(),
            Some(now + Duration::from_micros(3_609_375))
        );
        assert_eq!(i.status().master_address, Some(ip(PEER_LO)));
    }
}

/// RFC 5798 §6.4.3: equal priority and greater sender address → Backup; smaller address → stay
/// Master (and keepalived answers it like a lower priority).
#[test]
fn master_tie_break_by_address() {
    let t0 = Instant::now();
    let (mut i, t) = master(v3_cfg(), t0);
    let acts = feed(&mut i, t + ms(10), PEER_LO, 100, 10);
    assert_eq!(i.state(), State::Master);
    assert_eq!(sent(&acts), vec![(ip(GROUP), 100)]);
    let acts = feed(&mut i, t + ms(20), PEER_HI, 100, 10);
    assert_eq!(i.state(), State::Backup);
    assert!(acts.contains(&changed(
        State::Master,
        State::Backup,
        Reason::HigherAddress
    )));
}

/// keepalived default (RFC 9568 per its man page): a master hearing a lower priority sends an
/// advert at once plus `garp_lower_prio_repeat` GARPs; `lower_prio_no_advert` keeps quiet.
#[test]
fn master_answers_lower_priority() {
    let t0 = Instant::now();
    let mut cfg = v3_cfg();
    cfg.garp_lower_prio_repeat = 3;
    let (mut i, t) = master(cfg.clone(), t0);
    let acts = feed(&mut i, t + ms(10), PEER_HI, 50, 10);
    assert_eq!(sent(&acts), vec![(ip(GROUP), 100)]);
    assert!(acts.contains(&announce(3)));
    assert_eq!(i.state(), State::Master);

    cfg.lower_prio_no_advert = true;
    let (mut i, t) = master(cfg, t0);
    assert!(feed(&mut i, t + ms(10), PEER_HI, 50, 10).is_empty());
}

/// RFC 5798 §6.4.3 Shutdown: a master sends priority 0 (keepalived too), removes the VIPs and
/// goes to Initialize.
#[test]
fn master_shutdown_resigns_with_priority_zero() {
    let t0 = Instant::now();
    let (mut i, t) = master(v3_cfg(), t0);
    let acts = i.handle(t + ms(10), Input::Shutdown);
    assert_eq!(sent(&acts[..1]), vec![(ip(GROUP), 0)]);
    assert_eq!(
        &acts[1..],
        &[
            Action::RemoveVips(vips()),
            changed(State::Master, State::Init, Reason::Shutdown)
        ]
    );
    assert_eq!(i.poll_timeout(), None);
    assert_eq!(i.status().counters.priority_zero_sent, 1);
    // A backup shuts down silently.
    let (mut b, _) = start(v3_cfg(), t0);
    assert_eq!(
        b.handle(t0, Input::Shutdown),
        vec![changed(State::Backup, State::Init, Reason::Shutdown)]
    );
}

// ===== fault =====

/// keepalived FAULT on link down: a master sends priority 0 and removes the VIPs; no adverts and
/// packets are ignored in FAULT; link up → Backup.
#[test]
fn link_down_faults_and_recovers() {
    let t0 = Instant::now();
    let (mut i, t) = master(v3_cfg(), t0);
    let acts = i.handle(t + ms(10), Input::LinkDown);
    assert_eq!(sent(&acts[..1]), vec![(ip(GROUP), 0)]);
    assert_eq!(
        &acts[1..],
        &[
            Action::RemoveVips(vips()),
            changed(State::Master, State::Fault, Reason::Fault(Fault::LinkDown))
        ]
    );
    assert_eq!(i.poll_timeout(), None);
    assert!(i
        .handle(t + Duration::from_secs(10), Input::Timer)
        .is_empty());
    assert!(feed(&mut i, t + ms(20), PEER_HI, 0, 10).is_empty());
    assert_eq!(drops(&i, DropReason::Inactive), 1);
    assert_eq!(i.status().faults, vec![Fault::LinkDown]);
    let now = t + ms(30);
    let acts = i.handle(now, Input::LinkUp);
    assert_eq!(
        acts,
        vec![changed(State::Fault, State::Backup, Reason::FaultCleared)]
    );
    assert!(i.poll_timeout().is_some_and(|d| d > now));
}

/// keepalived: losing the source address is a FAULT; a master still resigns from the old one.
#[test]
fn losing_source_address_resigns() {
    let t0 = Instant::now();
    let (mut i, t) = master(v3_cfg(), t0);
    let acts = i.handle(t, Input::SourceAddress(None));
    let resign: Vec<(IpAddr, IpAddr, u8)> = acts
        .iter()
        .filter_map(|a| match a {
            Action::Send { src, dst, payload } => Some((*src, *dst, payload[2])),
            _ => None,
        })
        .collect();
    assert_eq!(resign, vec![(ip(ME), ip(GROUP), 0)]);
    assert!(acts.contains(&Action::RemoveVips(vips())));
    assert_eq!(i.state(), State::Fault);
    assert_eq!(i.status().faults, vec![Fault::NoSourceAddress]);
    // An address of the wrong family counts as none.
    let acts = i.handle(t, Input::SourceAddress(Some(ip("2001:db8::1"))));
    assert!(acts.is_empty());
    let acts = i.handle(t, Input::SourceAddress(Some(ip(ME))));
    assert_eq!(
        acts,
        vec![changed(State::Fault, State::Backup, Reason::FaultCleared)]
    );
}

/// keepalived: a weight-0 track failing means FAULT; when it clears an owner returns to Master.
#[test]
fn weight_zero_track_faults_owner_returns_master() {
    let t0 = Instant::now();
    let mut cfg = v2_cfg();
    cfg.priority = 255;
    cfg.tracks = vec![
        Track {
            weight: -50,
            reverse: false,
        },
        Track {
            weight: 0,
            reverse: false,
        },
    ];
    let (mut i, _) = start(cfg, t0);
    assert_eq!(i.state(), State::Master);
    // The weighted track does not move an owner (docs/keepalived-interop.md §6) and sends nothing.
    assert!(i
        .handle(
            t0,
            Input::Track {
                index: 0,
                up: false
            }
        )
        .is_empty());
    assert_eq!(i.effective_priority(), 255);
    let acts = i.handle(
        t0,
        Input::Track {
            index: 1,
            up: false,
        },
    );
    assert_eq!(sent(&acts), vec![(ip(GROUP), 0)]);
    assert_eq!(i.state(), State::Fault);
    assert_eq!(i.status().faults, vec![Fault::Track(1)]);
    let acts = i.handle(t0, Input::Track { index: 1, up: true });
    assert_eq!(
        acts[0],
        changed(State::Fault, State::Master, Reason::FaultCleared)
    );
    assert!(acts.contains(&Action::AddVips(vips())));
    // Out-of-range index: ignored.
    assert!(i
        .handle(
            t0,
            Input::Track {
                index: 9,
                up: false
            }
        )
        .is_empty());
}

// ===== effective priority =====

/// keepalived `vrrp_set_effective_priority`: a master advertises its new priority at once; a
/// backup re-derives its down timer from the new skew (docs/keepalived-interop.md §6).
#[test]
fn effective_priority_changes() {
    let t0 = Instant::now();
    let mut cfg = v2_cfg();
    cfg.tracks = vec![Track {
        weight: 2,
        reverse: false,
    }];
    let (mut i, t) = master(cfg.clone(), t0);
    assert_eq!(i.effective_priority(), 102);
    let acts = i.handle(
        t + ms(10),
        Input::Track {
            index: 0,
            up: false,
        },
    );
    assert_eq!(sent(&acts), vec![(ip(GROUP), 100)]);
    assert_eq!(i.status().effective_priority, 100);

    cfg.tracks = vec![Track {
        weight: -56,
        reverse: false,
    }];
    let (mut b, _) = start(cfg, t0);
    let d100 = b.poll_timeout().expect("timer");
    assert_eq!(d100, t0 + Duration::from_micros(3_609_375));
    let _ = b.handle(
        t0,
        Input::Track {
            index: 0,
            up: false,
        },
    );
    assert_eq!(b.effective_priority(), 44);
    // Skew for 44: 212/256 s.
    assert_eq!(
        b.poll_timeout(),
        Some(t0 + Duration::from_micros(3_828_125))
    );
}

// ===== unicast =====

/// keepalived `unicast_peer`: one advert per peer, the v3/IPv4 pseudo-header with that
/// destination; TTL is not checked on receive in unicast mode (docs/keepalived-interop.md §2).
#[test]
fn unicast_sends_per_peer_and_skips_ttl() {
    let t0 = Instant::now();
    let mut cfg = v3_cfg();
    cfg.unicast_peers = vec![ip(PEER_HI), ip(PEER_LO)];
    let (mut i, t) = master(cfg.clone(), t0);
    let acts = i.handle(t + ms(100), Input::Timer);
    assert_eq!(sent(&acts), vec![(ip(PEER_HI), 100), (ip(PEER_LO), 100)]);
    for a in &acts {
        if let Action::Send { src, dst, payload } = a {
            let d = Advert::decode(payload, Family::Ipv4, Some((*src, *dst))).expect("decode");
            assert_eq!(d.checksum, vrrp::ChecksumForm::PseudoHeader);
        }
    }
    // A backup in unicast mode accepts TTL 64, but not a multicast destination.
    let (mut b, _) = start(cfg.clone(), t0);
    let p = bytes(&advert(&cfg, 200, 10), PEER_HI, ME);
    let _ = b.handle(t0, rx(PEER_HI, ME, 64, &p));
    assert_eq!(b.status().counters.adverts_received, 1);
    let p = bytes(&advert(&cfg, 200, 10), PEER_HI, GROUP);
    let _ = b.handle(t0, rx(PEER_HI, GROUP, 255, &p));
    assert_eq!(drops(&b, DropReason::Destination), 1);
}

// ===== receive validation =====

/// RFC 5798 §7.1 / keepalived `vrrp_check_packet`: each malformed advert is dropped and counted
/// by reason, and changes nothing.
#[test]
fn receive_validation_drops_by_reason() {
    let t0 = Instant::now();
    let mut cfg = v3_cfg();
    cfg.priority = 200;
    let (mut i, _) = start(cfg.clone(), t0);
    let deadline = i.poll_timeout();
    let good = bytes(&advert(&cfg, 250, 10), PEER_HI, GROUP);
    let mut check = |reason: DropReason, src: &str, dst: &str, ttl: u8, p: &[u8]| {
        let acts = i.handle(t0, rx(src, dst, ttl, p));
        let mut want = vec![Action::Dropped {
            src: ip(src),
            reason,
        }];
        // Well-formed adverts of another configuration are also conflicts (never damage).
        let conflict = match reason {
            DropReason::Version => Some(ConflictKind::Version),
            DropReason::AddrCount | DropReason::AddrList => Some(ConflictKind::OtherVips),
            _ => None,
        };
        if let Some(kind) = conflict {
            want.push(Action::Conflict { src: ip(src), kind });
        }
        assert_eq!(acts, want, "{reason:?}");
        assert_eq!(i.poll_timeout(), deadline, "{reason:?}");
        assert_eq!(drops(&i, reason), 1, "{reason:?}");
    };
    // RFC 5798 §7.1: TTL must be 255 (multicast).
    check(DropReason::Ttl, PEER_HI, GROUP, 64, &good);
    // Version.
    let mut p = good.clone();
    p[0] = 0x21;
    check(DropReason::Version, PEER_HI, GROUP, 255, &p);
    // RFC 5798 §5.2.2: type must be 1.
    let mut p = good.clone();
    p[0] = 0x32;
    check(DropReason::Type, PEER_HI, GROUP, 255, &p);
    // Length: truncated and over-long.
    check(
        DropReason::Length,
        PEER_HI,
        GROUP,
        255,
        &good[..good.len() - 1],
    );
    // Checksum.
    let mut p = good.clone();
    p[7] ^= 1;
    check(DropReason::Checksum, PEER_HI, GROUP, 255, &p);
    // VRID not ours.
    let mut a = advert(&cfg, 250, 10);
    a.vrid = 24;
    check(
        DropReason::Vrid,
        PEER_HI,
        GROUP,
        255,
        &bytes(&a, PEER_HI, GROUP),
    );
    // Address count and list (sender priority < 255).
    let mut a = advert(&cfg, 250, 10);
    a.addrs.push(ip("192.0.2.101"));
    check(
        DropReason::AddrCount,
        PEER_HI,
        GROUP,
        255,
        &bytes(&a, PEER_HI, GROUP),
    );
    let mut a = advert(&cfg, 250, 10);
    a.addrs = vec![ip("192.0.2.99")];
    check(
        DropReason::AddrList,
        PEER_HI,
        GROUP,
        255,
        &bytes(&a, PEER_HI, GROUP),
    );
    // Our own advert looped back.
    check(
        DropReason::Own,
        ME,
        GROUP,
        255,
        &bytes(&advert(&cfg, 200, 10), ME, GROUP),
    );
    // Wrong family of the IP header.
    check(DropReason::Family, "2001:db8::1", "ff02::12", 255, &good);
    // Unicast destination on a multicast instance.
    check(
        DropReason::Destination,
        PEER_HI,
        ME,
        255,
        &bytes(&advert(&cfg, 250, 10), PEER_HI, ME),
    );
    // Runt.
    let acts = i.handle(t0, rx(PEER_HI, GROUP, 255, &[0x31]));
    assert_eq!(acts.len(), 1);
    assert_eq!(drops(&i, DropReason::Length), 2);
    assert_eq!(i.status().counters.adverts_received, 0);
    assert_eq!(i.state(), State::Backup);
}

/// RFC 5798 §7.1: the address list is not enforced when the sender is the owner (255).
#[test]
fn owner_adverts_skip_address_check() {
    let t0 = Instant::now();
    let (mut i, _) = start(v3_cfg(), t0);
    let mut a = advert(i.config(), 255, 10);
    a.addrs = vec![ip("192.0.2.99"), ip("192.0.2.98")];
    let p = bytes(&a, PEER_HI, GROUP);
    assert!(i.handle(t0, rx(PEER_HI, GROUP, 255, &p)).is_empty());
    assert_eq!(i.status().counters.adverts_received, 1);
}

/// docs/keepalived-interop.md §1: v3/IPv4 adverts in the RFC 9568 message-only form are accepted
/// too and counted.
#[test]
fn v3_message_only_checksum_accepted_and_counted() {
    let t0 = Instant::now();
    let (mut i, _) = start(v3_cfg(), t0);
    let p = advert(i.config(), 200, 10)
        .encode(Some((ip(PEER_HI), ip(GROUP))), V3Checksum::MessageOnly)
        .expect("encode");
    assert!(i.handle(t0, rx(PEER_HI, GROUP, 255, &p)).is_empty());
    let c = i.status().counters;
    assert_eq!((c.adverts_received, c.message_only_checksum), (1, 1));
    feed(&mut i, t0, PEER_HI, 200, 10);
    assert_eq!(i.status().counters.message_only_checksum, 1);
}

/// keepalived v2 `auth_type PASS`: type and password must match (constant-time compare).
#[test]
fn v2_pass_auth() {
    let t0 = Instant::now();
    let mut cfg = v2_cfg();
    cfg.auth_pass = Some(*b"secret\0\0");
    let (mut i, _) = start(cfg.clone(), t0);
    let addrs = vec![ip("192.0.2.100")];
    let wrong = Advert::v2(23, 200, 1, Some(*b"secreT\0\0"), addrs.clone());
    let p = bytes(&wrong, PEER_HI, GROUP);
    let _ = i.handle(t0, rx(PEER_HI, GROUP, 255, &p));
    assert_eq!(drops(&i, DropReason::Auth), 1);
    let none = Advert::v2(23, 200, 1, None, addrs.clone());
    let p = bytes(&none, PEER_HI, GROUP);
    let _ = i.handle(t0, rx(PEER_HI, GROUP, 255, &p));
    assert_eq!(drops(&i, DropReason::AuthType), 1);
    feed(&mut i, t0, PEER_HI, 200, 1);
    assert_eq!(i.status().counters.adverts_received, 1);
    // And the other way round: an instance without auth rejects PASS adverts.
    let (mut j, _) = start(v2_cfg(), t0);
    let p = bytes(
        &Advert::v2(23, 200, 1, Some(*b"secret\0\0"), addrs),
        PEER_HI,
        GROUP,
    );
    let _ = j.handle(t0, rx(PEER_HI, GROUP, 255, &p));
    assert_eq!(drops(&j, DropReason::AuthType), 1);
}

/// IPv6 (RFC 5798 §5.1.2): adverts to ff02::12 from a link-local, IPv6 pseudo-header checksum.
#[test]
fn ipv6_instance_round_trip() {
    let t0 = Instant::now();
    let cfg = InstanceConfig::new(
        "v6",
        7,
        Family::Ipv6,
        vec!["2001:db8::100/64".parse().expect("vip")],
    );
    let mut i = Instance::new(cfg.clone()).expect("cfg");
    let _ = i.handle(t0, Input::SourceAddress(Some(ip("fe80::1"))));
    let _ = i.handle(t0, Input::Startup);
    let t = i.poll_timeout().expect("timer");
    let acts = i.handle(t, Input::Timer);
    let (src, dst, payload) = acts
        .iter()
        .find_map(|a| match a {
            Action::Send { src, dst, payload } => Some((*src, *dst, payload.clone())),
            _ => None,
        })
        .expect("advert");
    assert_eq!(dst, ip("ff02::12"));
    let d = Advert::decode(&payload, Family::Ipv6, Some((src, dst))).expect("decode");
    assert_eq!(d.checksum, vrrp::ChecksumForm::PseudoHeader);
    // A peer backup accepts it; hop limit 64 is dropped.
    let mut b = Instance::new(cfg).expect("cfg");
    let _ = b.handle(t0, Input::SourceAddress(Some(ip("fe80::2"))));
    let _ = b.handle(t0, Input::Startup);
    let _ = b.handle(
        t0,
        Input::Packet(RxPacket {
            src,
            dst,
            ttl: 64,
            payload: &payload,
        }),
    );
    assert_eq!(drops(&b, DropReason::Ttl), 1);
    let _ = b.handle(
        t0,
        Input::Packet(RxPacket {
            src,
            dst,
            ttl: 255,
            payload: &payload,
        }),
    );
    assert_eq!(b.status().counters.adverts_received, 1);
}

/// The status serialises in the state-file shape (ARCHITECTURE.md).
#[test]
fn status_json_shape() {
    let t0 = Instant::now();
    let (i, _) = master(v3_cfg(), t0);
    let v = serde_json::to_value(i.status()).expect("json");
    assert_eq!(v["role"], "MASTER");
    assert_eq!(v["family"], "ipv4");
    assert_eq!(v["vrrp_version"], 3);
    assert_eq!(v["vips_held"][0], "192.0.2.100/24");
    assert_eq!(v["master_address"], ME);
    assert_eq!(v["counters"]["drops"]["ttl"], 0);
    assert_eq!(v["counters"]["drops"]["type"], 0);
    assert_eq!(v["counters"]["adverts_sent"], 1);
    let back: vrrp::InstanceStatus = serde_json::from_value(v).expect("round trip");
    assert_eq!(back, i.status());
}

/// Clock jumps. The core only ever sees the monotonic `Instant` the caller passes, so a
/// wall-clock step (NTP, `date -s`) cannot move it. What can happen is a monotonic jump forward
/// (the host suspended, the VM paused, the process stopped): the master must send ONE advert
/// and re-arm from the new now — no burst of catch-up adverts, no flapping — and a backup whose
/// down timer expired during the pause takes over once.
#[test]
fn a_long_monotonic_jump_sends_one_advert_and_rearms() {
    let t0 = Instant::now();
    let (mut m, t) = master(v3_cfg(), t0);
    let later = t + Duration::from_secs(3600);
    let acts = m.handle(later, Input::Timer);
    assert_eq!(sent(&acts).len(), 1, "one advert after the jump: {acts:?}");
    assert_eq!(m.state(), State::Master);
    let next = m.poll_timeout().expect("advert timer re-armed");
    assert!(
        next > later && next <= later + ms(100),
        "next advert one interval after now"
    );

    let (mut b, _) = start(v3_cfg(), t0);
    let acts = b.handle(t0 + Duration::from_secs(3600), Input::Timer);
    assert_eq!(
        b.state(),
        State::Master,
        "the expired down timer fires once"
    );
    assert_eq!(sent(&acts).len(), 1, "{acts:?}");
}
