//! The core's measurement of the master's advert inter-arrival (issue 13): the gap between two
//! accepted adverts of one master beyond the interval it announces.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

mod common;

use common::*;
use vrrp::{Input, Instance, State};

const MASTER: &str = "192.0.2.20";
const OTHER: &str = "192.0.2.30";

fn feed(i: &mut Instance, now: Instant, src: &str, priority: u8, interval_cs: u16) {
    let p = bytes(&advert(i.config(), priority, interval_cs), src, GROUP);
    let _ = i.handle(now, rx(src, GROUP, 255, &p));
}

fn backup(t0: Instant) -> Instance {
    let (i, _) = start(v3_cfg(), t0);
    assert_eq!(i.state(), State::Backup);
    i
}

#[test]
fn gaps_beyond_the_announced_interval_are_recorded() {
    let t0 = Instant::now();
    let mut i = backup(t0);
    // 10 cs = 100 ms. Arrivals at 0, 100, 203, 330, 420 ms: excesses 0, 3, 27, 0 (early).
    for at in [0, 100, 203, 330, 420] {
        feed(&mut i, t0 + ms(at), MASTER, 200, 10);
    }
    let s = i.status().advert_gap_excess;
    assert_eq!(s.samples, 4, "the first advert only starts the clock");
    assert_eq!(s.max_us, 27_000);
    assert_eq!(s.last_us, 0, "an early advert counts as no excess");
    assert_eq!(s.p50_us, 0);
}

#[test]
fn a_new_master_or_interval_starts_over() {
    let t0 = Instant::now();
    let mut i = backup(t0);
    feed(&mut i, t0, MASTER, 200, 10);
    // Another master takes over 500 ms later: not jitter of the first one.
    feed(&mut i, t0 + ms(500), OTHER, 200, 10);
    assert_eq!(i.status().advert_gap_excess.samples, 0);
    // Its interval changes to 50 ms: the 300 ms gap is not measured against either interval.
    feed(&mut i, t0 + ms(800), OTHER, 200, 5);
    assert_eq!(i.status().advert_gap_excess.samples, 0);
    feed(&mut i, t0 + ms(851), OTHER, 200, 5);
    let s = i.status().advert_gap_excess;
    assert_eq!((s.samples, s.max_us), (1, 1_000));
}

#[test]
fn priority_zero_and_state_changes_start_over() {
    let t0 = Instant::now();
    let mut i = backup(t0);
    feed(&mut i, t0, MASTER, 200, 10);
    feed(&mut i, t0 + ms(50), MASTER, 0, 10);
    feed(&mut i, t0 + ms(400), MASTER, 200, 10);
    assert_eq!(i.status().advert_gap_excess.samples, 0);
    // Master_Down fires: we are master; adverts heard there are not measured.
    let t = i.poll_timeout().expect("down timer");
    let _ = i.handle(t, Input::Timer);
    assert_eq!(i.state(), State::Master);
    // Back to backup on a higher priority, then two adverts 130 ms apart.
    let t1 = t + ms(10);
    feed(&mut i, t1, MASTER, 250, 10);
    assert_eq!(i.state(), State::Backup);
    feed(&mut i, t1 + ms(130), MASTER, 250, 10);
    let s = i.status().advert_gap_excess;
    assert_eq!((s.samples, s.max_us, s.max_ever_us), (1, 30_000, 30_000));
}

#[test]
fn lower_priority_adverts_a_preempting_backup_discards_are_not_measured() {
    let t0 = Instant::now();
    let mut i = backup(t0);
    // Ours is 100; these are discarded (the timer keeps running), so not arrivals.
    feed(&mut i, t0, MASTER, 50, 10);
    feed(&mut i, t0 + Duration::from_millis(180), MASTER, 50, 10);
    assert_eq!(i.status().advert_gap_excess.samples, 0);
}
