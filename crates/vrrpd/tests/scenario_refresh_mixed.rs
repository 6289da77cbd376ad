//! The mixed period of a rolling `juju refresh` from the original Python charm, on the wire
//! with the real keepalived 2.2.7 (root and keepalived required; skipped otherwise).
//!
//! Two hosts start as the old charm leaves them: keepalived with its default group (VRRPv2,
//! 1 s, no auth; the leader `state MASTER` priority 101, the other BACKUP 100). Then one host
//! at a time is refreshed the way the charm does it: vrrpd (VRRPv3, 100 ms, nopreempt, the
//! charm's priorities) starts next to keepalived, then keepalived gets SIGTERM. Without VRRPv2
//! compatibility the refreshed backup and the old master ignore each other (version mismatch)
//! and both hold the VIP until the next unit is refreshed; with `vrrpd_v2_compat` they form one
//! group. Holders are polled every 2 ms.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::{keepalived_available, skip, wait_until, Bed, Inst, Kind, KEEPALIVED, VRRPD};
use netlab::{Proc, Signal};

const VIP: &str = "192.0.2.100";

fn skip_all() -> bool {
    if skip() {
        return true;
    }
    if !keepalived_available() {
        return netlab::skip(&format!("{KEEPALIVED} missing"));
    }
    false
}

/// The old charm's group as keepalived sees it (its template's wire-relevant lines; no
/// health check here: it would only add 2 to both priorities).
fn old_conf(iface: &str, leader: bool) -> String {
    let (state, prio) = if leader {
        ("MASTER", 101)
    } else {
        ("BACKUP", 100)
    };
    format!(
        "vrrp_instance VI_1 {{\n    interface {iface}\n    state {state}\n    priority {prio}\n    virtual_router_id 23\n\n    virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n"
    )
}

/// The charm's worker config for unit `unit` (priority 250 − 10·unit, v3, 100 ms, nopreempt).
fn new_conf(iface: &str, unit: u8, compat: bool) -> String {
    format!(
        "global_defs {{\n    router_id keepalived-{unit}\n}}\nvrrp_instance VI_23 {{\n    state BACKUP\n    interface {iface}\n    virtual_router_id 23\n    priority {}\n    version 3\n    advert_int 0.1\n    higher_prio_send_advert\n    nopreempt\n{}    virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n",
        250 - 10 * u32::from(unit),
        if compat { "    vrrpd_v2_compat\n" } else { "" }
    )
}

/// keepalived and (after its refresh) vrrpd on one host.
struct Host {
    keepalived: Option<Proc>,
    vrrpd: Option<Proc>,
}

fn start_keepalived(bed: &Bed, i: usize, leader: bool) -> Proc {
    let n = &bed.nodes[i];
    let d = n.dir.path();
    let conf = d.join("keepalived.conf");
    std::fs::write(&conf, old_conf(n.host.ifname(), leader)).unwrap();
    let p = |f: &str| d.join(f).to_str().unwrap().to_string();
    n.host
        .spawn(
            "keepalived",
            KEEPALIVED,
            &[
                "-n",
                "-l",
                "-D",
                "-f",
                conf.to_str().unwrap(),
                "-p",
                &p("k.pid"),
                "-r",
                &p("v.pid"),
                "-c",
                &p("c.pid"),
            ],
        )
        .unwrap()
}

/// Holder sets over time, polled every 2 ms for `dur`.
struct Watch {
    /// Longest time two hosts held the VIP at once.
    both: Duration,
    /// Longest time nobody held it.
    none: Duration,
    /// Holders at the end.
    last: Vec<usize>,
}

/// Polls the holders every 2 ms until `step` (called first in each round with the time since
/// the start) returns true, or `dur` passed.
fn watch(bed: &Bed, dur: Duration, mut step: impl FnMut(Duration) -> bool) -> Watch {
    let vip: IpAddr = VIP.parse().unwrap();
    let t0 = Instant::now();
    let (mut both, mut none) = (Duration::ZERO, Duration::ZERO);
    let (mut both_since, mut none_since): (Option<Instant>, Option<Instant>) = (None, None);
    let mut last = Vec::new();
    while t0.elapsed() < dur {
        if step(t0.elapsed()) {
            break;
        }
        let now = Instant::now();
        last = (0..bed.nodes.len())
            .filter(|&i| bed.nodes[i].holds(vip))
            .collect();
        match (last.len() >= 2, both_since) {
            (true, None) => both_since = Some(now),
            (false, Some(s)) => {
                both = both.max(now - s);
                both_since = None;
            }
            _ => {}
        }
        match (last.is_empty(), none_since) {
            (true, None) => none_since = Some(now),
            (false, Some(s)) => {
                none = none.max(now - s);
                none_since = None;
            }
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let end = Instant::now();
    if let Some(s) = both_since {
        both = both.max(end - s);
    }
    if let Some(s) = none_since {
        none = none.max(end - s);
    }
    Watch { both, none, last }
}

/// Refreshes host `i` (unit `unit`) as the charm does — vrrpd first, then (once its state
/// file shows the instance up) SIGTERM to keepalived — while holders are watched every 2 ms
/// from before the first step until 4 s after keepalived has exited.
fn refresh_watched(bed: &Bed, hosts: &mut [Host], i: usize, unit: u8, compat: bool) -> Watch {
    let n = &bed.nodes[i];
    let conf = n.dir.path().join("vrrpd-new.conf");
    let state = n.dir.path().join("vrrpd-new.json");
    std::fs::write(&conf, new_conf(n.host.ifname(), unit, compat)).unwrap();
    let mut keepalived = hosts[i].keepalived.take();
    let mut vrrpd = None;
    let mut stopped_at: Option<Duration> = None;
    // Kept (not dropped) while keepalived shuts down: dropping a Proc waits for its exit
    // (~1 s for keepalived), which would stall the watch right at the handover.
    let mut stopping = None;
    let w = watch(bed, Duration::from_secs(20), |t| {
        if vrrpd.is_none() {
            let args = [
                "--config",
                conf.to_str().unwrap(),
                "--state-file",
                state.to_str().unwrap(),
            ];
            vrrpd = Some(n.host.spawn("vrrpd", VRRPD, &args).unwrap());
            return false;
        }
        if let Some(k) = &keepalived {
            let up = std::fs::read_to_string(&state).is_ok_and(|s| {
                s.contains("\"role\":\"BACKUP\"") || s.contains("\"role\":\"MASTER\"")
            });
            assert!(
                t < Duration::from_secs(3),
                "vrrpd on host {i} did not come up"
            );
            if up {
                k.signal(Signal::SIGTERM).unwrap();
                stopping = keepalived.take();
                stopped_at = Some(t);
            }
            return false;
        }
        stopped_at.is_some_and(|s| t > s + Duration::from_secs(4))
    });
    hosts[i].vrrpd = vrrpd;
    if let Some(k) = stopping {
        assert!(k.wait_timeout(Duration::from_secs(10)).is_some());
    }
    w
}

/// Both hosts on the old charm, host 0 (the leader) holding the VIP.
fn old_group(tag: &str) -> (Bed, Vec<Host>) {
    let bed = Bed::new(
        tag,
        vec![
            (Kind::Keepalived, Inst::v3(1)),
            (Kind::Keepalived, Inst::v3(1)),
        ],
    );
    let mut hosts = Vec::new();
    for i in 0..2 {
        hosts.push(Host {
            keepalived: Some(start_keepalived(&bed, i, i == 0)),
            vrrpd: None,
        });
    }
    // keepalived's MASTER with priority < 255 still waits one Master_Down_Interval (3.6 s).
    let ok = wait_until(Duration::from_secs(10), Duration::from_millis(20), || {
        bed.holders() == vec![0]
    });
    assert!(
        ok.is_some(),
        "old group did not elect host 0: {:?}",
        bed.holders()
    );
    (bed, hosts)
}

fn stop_all(hosts: &mut [Host]) {
    for h in hosts {
        for p in [h.keepalived.take(), h.vrrpd.take()].into_iter().flatten() {
            let _ = p.signal(Signal::SIGTERM);
            let _ = p.wait_timeout(Duration::from_secs(10));
        }
    }
}

/// Without compatibility the first refreshed unit (the old backup) and the old keepalived
/// master ignore each other: two holders for as long as the refresh is half done.
#[test]
fn without_v2_compat_a_half_refreshed_group_has_two_holders() {
    if skip_all() {
        return;
    }
    let (bed, mut hosts) = old_group("rfmx0");
    let w = refresh_watched(&bed, &mut hosts, 1, 1, false);
    eprintln!(
        "MEASURE refresh without VRRPv2 compat, backup host refreshed first: two holders for {:?} without a break, until the end of the watch (holders then {:?})",
        w.both, w.last
    );
    assert_eq!(w.last, vec![0, 1], "both hold the VIP");
    assert!(w.both >= Duration::from_secs(2), "{:?}", w.both);
    stop_all(&mut hosts);
}

/// With compatibility, backup first then master (the order that keeps the old master longest),
/// and master first then backup: never two holders longer than one 100 ms interval, gaps under
/// 1 s, and one holder at the end.
#[test]
fn with_v2_compat_each_refresh_order_keeps_one_holder() {
    if skip_all() {
        return;
    }
    for (tag, order) in [("rfmx1", [1usize, 0]), ("rfmx2", [0, 1])] {
        let (bed, mut hosts) = old_group(tag);
        let mut worst_both = Duration::ZERO;
        let mut worst_none = Duration::ZERO;
        for (step, &i) in order.iter().enumerate() {
            let w = refresh_watched(&bed, &mut hosts, i, i as u8, true);
            eprintln!(
                "MEASURE refresh with VRRPv2 compat, {tag} step {step} (host {i}): two holders at most {:?}, no holder at most {:?}, holders 4 s after keepalived's SIGTERM {:?}",
                w.both, w.none, w.last
            );
            assert_eq!(
                w.last.len(),
                1,
                "one holder after step {step}: {:?}",
                w.last
            );
            worst_both = worst_both.max(w.both);
            worst_none = worst_none.max(w.none);
        }
        assert!(
            worst_both <= Duration::from_millis(100),
            "{tag}: two holders for {worst_both:?}"
        );
        assert!(
            worst_none <= Duration::from_secs(1),
            "{tag}: no holder for {worst_none:?}"
        );
        stop_all(&mut hosts);
    }
}
