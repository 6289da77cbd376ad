//! `garp_burst` (vrrpd extension, issue 13): after becoming master, the keepalived burst at
//! once, then one GARP/NA per VIP at each offset; keepalived's second burst and refresh are
//! unchanged; leaving MASTER cancels what is left.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

mod common;

use common::*;
use vrrp::{Action, ConfigError, Input, Instance, State};

fn announced(acts: &[Action]) -> Vec<u32> {
    acts.iter()
        .filter_map(|a| match a {
            Action::Announce { count, .. } => Some(*count),
            _ => None,
        })
        .collect()
}

/// Run the instance's timers until `until`, collecting (ms since `t0`, GARP count) per call.
fn run(i: &mut Instance, t0: Instant, until: Instant) -> Vec<(u128, u32)> {
    let mut seen = Vec::new();
    for _ in 0..1000 {
        let Some(t) = i.poll_timeout().filter(|t| *t <= until) else {
            break;
        };
        for c in announced(&i.handle(t, Input::Timer)) {
            seen.push(((t - t0).as_millis(), c));
        }
    }
    seen
}

fn burst_cfg() -> vrrp::InstanceConfig {
    let mut c = v3_cfg();
    c.garp_burst = vec![ms(5), ms(20), ms(100)];
    c
}

#[test]
fn repeats_follow_the_first_burst_at_their_offsets() {
    let t0 = Instant::now();
    let (mut i, t) = master(burst_cfg(), t0);
    let seen = run(&mut i, t, t + ms(6000));
    assert_eq!(
        seen,
        vec![(5, 1), (20, 1), (100, 1), (5000, 5)],
        "keepalived's second burst at +5 s stays"
    );
}

#[test]
fn the_first_burst_is_unchanged() {
    let t0 = Instant::now();
    let (mut i, _) = start(burst_cfg(), t0);
    let t = i.poll_timeout().expect("down timer");
    assert_eq!(announced(&i.handle(t, Input::Timer)), vec![5]);
}

#[test]
fn without_offsets_nothing_changes() {
    let t0 = Instant::now();
    let (mut i, t) = master(v3_cfg(), t0);
    assert_eq!(run(&mut i, t, t + ms(6000)), vec![(5000, 5)]);
}

#[test]
fn a_late_loop_sends_one_repeat_not_a_backlog() {
    let t0 = Instant::now();
    let (mut i, t) = master(burst_cfg(), t0);
    // Nothing fed until +150 ms: the three offsets passed; one GARP, then only +5 s.
    assert_eq!(announced(&i.handle(t + ms(150), Input::Timer)), vec![1]);
    let seen = run(&mut i, t, t + ms(6000));
    assert_eq!(seen, vec![(5000, 5)]);
}

#[test]
fn leaving_master_cancels_the_rest() {
    let t0 = Instant::now();
    let (mut i, t) = master(burst_cfg(), t0);
    run(&mut i, t, t + ms(10));
    let p = bytes(&advert(i.config(), 250, 10), "192.0.2.20", GROUP);
    let _ = i.handle(t + ms(12), rx("192.0.2.20", GROUP, 255, &p));
    assert_eq!(i.state(), State::Backup);
    let left: Vec<Action> = (0..3)
        .flat_map(|k| i.handle(t + ms(15 + k * 30), Input::Timer))
        .collect();
    assert!(announced(&left).is_empty(), "{left:?}");
}

#[test]
fn offsets_are_validated() {
    for bad in [
        vec![ms(20), ms(5)],
        vec![ms(5), ms(5)],
        vec![ms(10_001)],
        (1..=9).map(ms).collect(),
    ] {
        let mut c = v3_cfg();
        c.garp_burst = bad.clone();
        assert_eq!(
            Instance::new(c).err(),
            Some(ConfigError::GarpBurst),
            "{bad:?}"
        );
    }
}
