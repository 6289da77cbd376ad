//! The adaptive advert interval (issue 13, `vrrpd_adaptive_interval 0.03` with `advert_int 0.1`)
//! on live pairs in a netns lab, priorities 250/240 as the charm renders them: the master
//! settles at the 30 ms floor and the backup follows (state files); a cable pull then fails
//! over in about 3 × 30 ms; a stalled master steps its interval up at once, announcing it
//! before the first longer gap (tcpdump on the backup), without a failover; a keepalived 2.2.7
//! backup follows the adapting master too.
//!
//! The workers run at SCHED_RR 10 (`chrt`), as the charm's `vrrp_rt_priority` will run them:
//! how low the interval goes is what the measured lateness allows, and this machine is shared
//! with other builds; at nice 0 the rule may rightly hold a longer interval. Root required.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{keepalived_available, skip, wait_until, Bed, Inst, Kind};

const W: Kind = Kind::Worker;
const K: Kind = Kind::Keepalived;
const SETTLE: Duration = Duration::from_secs(8);
/// 100 → 80 → 60 → 40 → 30 ms is four clean 5 s windows; allow a few held ones.
const TO_FLOOR: Duration = Duration::from_secs(60);
const MASTER_IP: &str = "192.0.2.10";

/// The rendered config plus our keyword (workers only: keepalived rejects it).
fn adaptive_conf(bed: &Bed, i: usize) -> String {
    let n = &bed.nodes[i];
    n.inst.render(n.kind, n.host.ifname()).replace(
        "    advert_int 0.1\n",
        "    advert_int 0.1\n    vrrpd_adaptive_interval 0.03\n",
    )
}

/// Every thread of node `i`'s worker at SCHED_RR `prio`.
fn realtime(bed: &Bed, i: usize, prio: u32) {
    let pid = bed.nodes[i].proc.as_ref().unwrap().pid().to_string();
    let st = std::process::Command::new("chrt")
        .args(["-a", "-r", "-p", &prio.to_string(), &pid])
        .status()
        .unwrap();
    assert!(st.success(), "chrt failed");
}

fn advert(bed: &Bed, i: usize) -> serde_json::Value {
    bed.nodes[i]
        .state()
        .map(|s| s["instances"][0]["advert"].clone())
        .unwrap_or_default()
}

fn transitions(bed: &Bed, i: usize) -> u64 {
    let s = bed.nodes[i].state().expect("state");
    s["instances"][0]["counters"]["transitions"]
        .as_u64()
        .unwrap()
}

/// Worker master (node 0, adaptive) and `backup` (node 1; adaptive too if a worker), settled.
fn pair(tag: &str, backup: Kind) -> Bed {
    let mut bed = Bed::new(tag, vec![(W, Inst::v3(250)), (backup, Inst::v3(240))]);
    let conf = adaptive_conf(&bed, 0);
    bed.nodes[0].args = vec!["--metrics-listen".into(), "127.0.0.1:9650".into()];
    bed.nodes[0].start_with_conf(&conf);
    realtime(&bed, 0, 10);
    // The backup starts once the master holds the VIP: it never is master itself, so its
    // transition count stays 1 (INIT → BACKUP) unless it fails over.
    bed.wait_sole_holder(0, SETTLE);
    if backup == W {
        let conf = adaptive_conf(&bed, 1);
        bed.nodes[1].start_with_conf(&conf);
        realtime(&bed, 1, 10);
    } else {
        bed.nodes[1].start();
    }
    bed.wait_sole_holder(0, SETTLE);
    bed
}

/// Wait until the master runs at the floor (and a worker backup follows); the holder set is
/// checked all along. Returns the time it took.
fn wait_floor(bed: &Bed, backup_is_worker: bool) -> Duration {
    let t0 = Instant::now();
    let r = wait_until(TO_FLOOR, Duration::from_millis(20), || {
        assert_eq!(bed.holders(), vec![0], "holders moved while adapting");
        let m = advert(bed, 0);
        let b_ok = !backup_is_worker || advert(bed, 1)["interval_ms"] == 30;
        m["interval_ms"] == 30 && b_ok
    });
    if r.is_none() {
        bed.dump();
        panic!(
            "no floor within {TO_FLOOR:?}: master {} backup {}",
            advert(bed, 0),
            advert(bed, 1)
        );
    }
    eprintln!(
        "MEASURE adaptive: master at 30 ms {:?} after settling; master advert {}; load {}",
        t0.elapsed(),
        advert(bed, 0),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    t0.elapsed()
}

/// Time node `i`'s worker spent on a CPU over `dur` (`/proc/PID/schedstat`, ns), in ms/s.
fn cpu_ms_per_s(bed: &Bed, i: usize, dur: Duration) -> f64 {
    let pid = bed.nodes[i].proc.as_ref().unwrap().pid();
    let ns = || -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).unwrap();
        s.split_whitespace().next().unwrap().parse().unwrap()
    };
    let (t0, n0) = (Instant::now(), ns());
    std::thread::sleep(dur);
    (ns() - n0) as f64 / 1e6 / t0.elapsed().as_secs_f64()
}

/// Pull the master's cable; the time until node 1 holds the VIP.
fn cable_pull(bed: &Bed) -> Duration {
    let vip = bed.vip();
    let t0 = Instant::now();
    bed.nodes[0].host.set_cable(false).unwrap();
    let r = wait_until(Duration::from_secs(2), Duration::from_millis(1), || {
        bed.nodes[1].holds(vip)
    });
    let took = r.map(|_| t0.elapsed());
    bed.nodes[0].host.set_cable(true).unwrap();
    took.unwrap_or_else(|| {
        bed.dump();
        panic!("no takeover after the cable pull")
    })
}

#[test]
fn settles_at_the_floor_and_a_cable_pull_fails_over_in_three_intervals() {
    if skip() {
        return;
    }
    let bed = pair("adfloor", W);
    bed.wait_role(1, "BACKUP", SETTLE);
    // CPU of the master at the start and at 30 ms: a measurement only (a shared machine's CPU
    // figures are too noisy for a bound here).
    let at_start = cpu_ms_per_s(&bed, 0, Duration::from_secs(2));
    let then = advert(&bed, 0)["interval_ms"].clone();
    wait_floor(&bed, true);
    let at_floor = cpu_ms_per_s(&bed, 0, Duration::from_secs(3));
    eprintln!(
        "MEASURE adaptive: master CPU (debug build) {at_start:.2} ms/s at the start (interval {then} ms), {at_floor:.2} ms/s at 30 ms"
    );
    let m = advert(&bed, 0);
    assert_eq!(m["mode"], "auto");
    assert_eq!(
        (m["floor_ms"].as_u64(), m["ceiling_ms"].as_u64()),
        (Some(30), Some(100))
    );
    assert!(m["changes"].as_u64() >= Some(4), "{m}");
    let b = advert(&bed, 1);
    assert_eq!(b["reason"], "following the master's adverts", "{b}");
    let text = common::scrape(&bed.nodes[0].host, "127.0.0.1:9650", "/metrics").expect("scrape");
    let l = r#"{instance="VI_1",vrid="23",interface="eth0",family="ipv4""#;
    for want in [
        format!("vrrpd_advert_interval_seconds{l},mode=\"auto\"}} 0.03"),
        format!("vrrpd_advert_interval_floor_seconds{l}}} 0.03"),
        format!("vrrpd_advert_interval_ceiling_seconds{l}}} 0.1"),
    ] {
        assert!(text.lines().any(|x| x == want), "{want} missing in\n{text}");
    }
    let why = ["clean", "floor"].iter().any(|r| {
        let line = format!("vrrpd_advert_interval_reason{l},reason=\"{r}\"}} 1");
        text.lines().any(|x| x == line)
    });
    assert!(why, "reason neither clean nor floor:\n{text}");
    assert_eq!(transitions(&bed, 1), 1, "the backup never left BACKUP");
    let logs = bed.nodes[0].logs();
    assert!(
        logs.contains("advert interval 100 ms -> 80 ms: worst send lateness"),
        "{logs}"
    );
    // 3 × 30 + 16/256 × 30 ≈ 92 ms at most after the last advert (at 100 ms: up to 306 ms).
    let took = cable_pull(&bed);
    eprintln!("MEASURE adaptive: cable pull -> backup holds VIP {took:?}");
    assert!(took < Duration::from_millis(200), "{took:?}");
}

/// `(kernel time s, announced interval cs)` of each captured advert.
fn adverts(text: &str) -> Vec<(f64, u64)> {
    text.lines()
        .filter_map(|l| {
            let t: f64 = l.split_whitespace().next()?.parse().ok()?;
            let cs = l.split("intvl ").nth(1)?.split("cs").next()?.parse().ok()?;
            Some((t, cs))
        })
        .collect()
}

/// Stop the master for 45 ms from a SCHED_RR 20 shell (so the stall is 45 ms even on a loaded
/// machine). At 30 ms the gap is then at most 30 + 45 = 75 ms, inside the backup's 92 ms; the
/// late advert needs 2 × (15…45 + 2) ms ≥ 40 ms.
fn stall_master(bed: &Bed) {
    let pid = bed.nodes[0].proc.as_ref().unwrap().pid();
    let script = format!("kill -STOP {pid}; sleep 0.045; kill -CONT {pid}");
    let st = std::process::Command::new("chrt")
        .args(["-r", "20", "sh", "-c", &script])
        .status()
        .unwrap();
    assert!(st.success());
}

#[test]
fn a_stalled_master_steps_up_at_once_without_a_failover() {
    if skip() {
        return;
    }
    let bed = pair("adstall", W);
    bed.wait_role(1, "BACKUP", SETTLE);
    wait_floor(&bed, true);
    let cap = bed.capture_adverts(1, MASTER_IP);
    std::thread::sleep(Duration::from_millis(500));
    let before = advert(&bed, 0)["changes"].as_u64().unwrap();
    stall_master(&bed);
    bed.assert_stable(0, Duration::from_millis(1500));
    let after = advert(&bed, 0);
    assert!(after["changes"].as_u64() > Some(before), "{after}");
    let logs = bed.nodes[0].logs();
    let line = logs
        .lines()
        .find(|l| l.contains("advert interval 30 ms -> ") && l.contains(": send lateness"))
        .unwrap_or_else(|| panic!("no step up logged:\n{logs}"));
    eprintln!("MEASURE adaptive stall: {line}");
    // Two more stalls, now at the longer interval: still no failover.
    for _ in 0..2 {
        stall_master(&bed);
        bed.assert_stable(0, Duration::from_millis(700));
    }
    assert_eq!(transitions(&bed, 1), 1, "the backup never left BACKUP");
    std::thread::sleep(Duration::from_millis(200));
    let text = cap.stdout();
    drop(cap);
    let seen = adverts(&text);
    let k = seen
        .iter()
        .position(|(_, cs)| *cs > 3)
        .unwrap_or_else(|| panic!("no longer interval announced:\n{text}"));
    assert!(k >= 1 && seen.len() > k + 2, "{seen:?}");
    let gap = |i: usize| (seen[i + 1].0 - seen[i].0) * 1000.0;
    let (longer, stalled, paced, first_long) = (seen[k].1, gap(k - 1), gap(k), gap(k + 1));
    eprintln!(
        "MEASURE adaptive stall on the wire: 3 cs adverts, then a gap of {stalled:.1} ms, an advert \
         announcing {longer} cs, {paced:.1} ms (old pace), another announcing {} cs, then {first_long:.1} ms",
        seen[k + 1].1
    );
    assert_eq!(seen[k - 1].1, 3, "{seen:?}");
    assert!(
        stalled < 92.0,
        "the stall itself exceeded Master_Down: {stalled}"
    );
    assert!(
        paced < 45.0,
        "the advert after the change keeps the old pace: {paced} ms"
    );
    assert_eq!(
        seen[k + 1].1,
        longer,
        "announced twice before the longer gap"
    );
    assert!(
        first_long > 35.0,
        "then the longer interval: {first_long} ms"
    );
    // SIGHUP with a higher floor applies in place: no transition, the interval within the new
    // bounds at once.
    let conf = adaptive_conf(&bed, 0).replace(
        "vrrpd_adaptive_interval 0.03",
        "vrrpd_adaptive_interval 0.06",
    );
    std::fs::write(bed.nodes[0].conf_path(), conf).unwrap();
    let master_transitions = transitions(&bed, 0);
    bed.nodes[0].signal(netlab::Signal::SIGHUP);
    let r = wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
        advert(&bed, 0)["floor_ms"] == 60
    });
    assert!(r.is_some(), "floor not reloaded: {}", advert(&bed, 0));
    let a = advert(&bed, 0);
    assert!(a["interval_ms"].as_u64() >= Some(60), "{a}");
    assert_eq!(
        transitions(&bed, 0),
        master_transitions,
        "reconfigured in place"
    );
    bed.assert_stable(0, Duration::from_secs(1));
    assert_eq!(transitions(&bed, 1), 1, "the backup never left BACKUP");
    let b = advert(&bed, 1);
    assert!(
        b["interval_ms"].as_u64() >= Some(60),
        "the backup follows: {b}"
    );
    eprintln!("MEASURE adaptive SIGHUP floor 0.06: master {a}");
}

#[test]
fn a_keepalived_backup_follows_an_adapting_master() {
    if skip() {
        return;
    }
    if !keepalived_available() {
        netlab::skip(&format!("{} missing", common::KEEPALIVED));
        return;
    }
    let bed = pair("adka", K);
    std::thread::sleep(Duration::from_millis(500));
    wait_floor(&bed, false);
    bed.assert_stable(0, Duration::from_secs(2));
    let klog = bed.nodes[1].logs();
    // keepalived 2.2.7 vrrp.c update_master_adver_int (logged with -D).
    for (from, to) in [(100, 80), (40, 30)] {
        let want = format!("advertisement interval updated from {from}ms to {to}ms by master");
        assert!(klog.contains(&want), "{want} missing:\n{klog}");
    }
    let took = cable_pull(&bed);
    eprintln!("MEASURE adaptive: cable pull -> keepalived backup holds VIP {took:?}");
    assert!(took < Duration::from_millis(200), "{took:?}");
}
