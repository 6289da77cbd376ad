//! Stress without failure (issue 13): a healthy master and backup at the charm's 100 ms
//! default under load the worker must ride out. Each case counts false failovers: changes of
//! the VIP holder set (sampled every 10 ms) and transitions in both workers' state files. At
//! today's default every count must be zero.
//!
//! The CPU case also runs at 30 ms adverts with the workers at SCHED_RR (`vrrp_rt_priority`).
//! CI runs short forms; `VRRPD_STRESS_FULL=1` runs issue 13's lengths (both cores busy 60 s,
//! 5,000 pps of unrelated multicast for 30 s, 500 reloads, 5 ms ± 5 ms delay jitter for 30 s at
//! 30 ms adverts through netlab's relay). The cases run one at a time (a
//! lock), so one case's load is not another's. Root required; skipped otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{skip, Bed, Inst, Kind};
use netlab::Signal;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
const SETTLE: Duration = Duration::from_secs(5);

fn full() -> bool {
    std::env::var_os("VRRPD_STRESS_FULL").is_some_and(|v| v == "1")
}

/// A master (node 0, priority 150) and a backup (node 1, 100) at 100 ms, and node 2 (no
/// daemon) for traffic; settled.
fn pair(tag: &str) -> Bed {
    pair_with(tag, "0.1", None)
}

/// [`pair`] at `advert` seconds, the workers at `vrrp_rt_priority rt` if given.
fn pair_with(tag: &str, advert: &'static str, rt: Option<u8>) -> Bed {
    let w = Kind::Worker;
    let inst = |prio: u8| {
        let mut i = Inst::v3(prio);
        i.advert = advert;
        i.global_extra = rt
            .map(|p| format!("vrrp_rt_priority {p}"))
            .into_iter()
            .collect();
        i
    };
    let mut bed = Bed::new(tag, vec![(w, inst(150)), (w, inst(100)), (w, inst(1))]);
    bed.nodes[0].start();
    bed.nodes[1].start();
    bed.wait_sole_holder(0, SETTLE);
    bed.wait_role(0, "MASTER", SETTLE);
    bed.wait_role(1, "BACKUP", SETTLE);
    bed
}

fn counter(bed: &Bed, i: usize, name: &str) -> u64 {
    bed.nodes[i].state().expect("state file")["instances"][0]["counters"][name]
        .as_u64()
        .expect("counter")
}

/// What a case saw.
struct Outcome {
    /// Samples where the holder set was not exactly {master}.
    bad_samples: usize,
    samples: usize,
    /// Transitions of master and backup during the case.
    transitions: (u64, u64),
}

impl Outcome {
    fn false_failovers(&self) -> u64 {
        self.transitions.0 + self.transitions.1
    }
}

/// Run `load` (which returns when its load is over) while sampling the holder set; then let
/// the state files catch up (written at most once a second) and count transitions.
fn observe(bed: &Bed, load: impl FnOnce() + Send) -> Outcome {
    let before = (
        counter(bed, 0, "transitions"),
        counter(bed, 1, "transitions"),
    );
    let done = std::sync::atomic::AtomicBool::new(false);
    let (mut bad, mut samples) = (0, 0);
    std::thread::scope(|s| {
        s.spawn(|| {
            load();
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        // Bounded: the longest load is 60 s; 10 ms samples (each an `ip -j addr` pair).
        let t0 = Instant::now();
        while !done.load(std::sync::atomic::Ordering::SeqCst)
            && t0.elapsed() < Duration::from_secs(120)
        {
            samples += 1;
            if bed.holders() != vec![0] {
                bad += 1;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    std::thread::sleep(Duration::from_millis(1500));
    let after = (
        counter(bed, 0, "transitions"),
        counter(bed, 1, "transitions"),
    );
    Outcome {
        bad_samples: bad,
        samples,
        transitions: (after.0 - before.0, after.1 - before.1),
    }
}

fn report(case: &str, bed: &Bed, o: &Outcome) {
    let gap =
        &bed.nodes[1].state().expect("backup state")["instances"][0]["timing"]["advert_gap_excess"];
    let late = &bed.nodes[0].state().expect("master state")["instances"][0]["timing"]["send_late"];
    eprintln!(
        "MEASURE stress {case}: false failovers {} (transitions master {} backup {}), holder \
         samples off {}/{}; master send late max {} µs (ever {}), backup advert gap excess \
         max {} µs (ever {}); load {}",
        o.false_failovers(),
        o.transitions.0,
        o.transitions.1,
        o.bad_samples,
        o.samples,
        late["max_us"],
        late["max_ever_us"],
        gap["max_us"],
        gap["max_ever_us"],
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
}

fn assert_no_false_failover(case: &str, bed: &Bed, o: &Outcome) {
    report(case, bed, o);
    if o.false_failovers() != 0 || o.bad_samples != 0 {
        bed.dump();
        panic!(
            "{case}: {} false failovers, {} of {} samples with another holder set",
            o.false_failovers(),
            o.bad_samples,
            o.samples
        );
    }
}

#[test]
fn both_cores_busy() {
    if skip() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let secs = if full() { 60 } else { 5 };
    let bed = pair("stcpu");
    let o = burn_both_cores(&bed, secs);
    assert_no_false_failover(&format!("both cores 100 % for {secs} s"), &bed, &o);
}

/// The same at 30 ms adverts (the automatic interval's floor), the workers at SCHED_RR 40
/// (`vrrp_rt_priority 40`: below the kernel's threaded IRQ handlers, SCHED_FIFO 50, which
/// deliver the adverts; the charm renders 50, which measured the same). `VRRPD_STRESS_NO_RT=1`
/// runs it at normal priority instead, for the comparison.
#[test]
fn both_cores_busy_at_30_ms() {
    if skip() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let secs = if full() { 60 } else { 5 };
    let no_rt = std::env::var_os("VRRPD_STRESS_NO_RT").is_some_and(|v| v == "1");
    let rt = (!no_rt).then_some(40);
    let bed = pair_with("stcpu30", "0.03", rt);
    for i in [0, 1] {
        let s = &bed.nodes[i].state().expect("state file")["scheduling"];
        let want = if no_rt { "other" } else { "rr" };
        assert_eq!(s["policy"], want, "node {i}: {s}");
    }
    let o = burn_both_cores(&bed, secs);
    let prio = if no_rt { "SCHED_OTHER" } else { "SCHED_RR 40" };
    assert_no_false_failover(
        &format!("both cores 100 % for {secs} s at 30 ms, {prio}"),
        &bed,
        &o,
    );
}

/// Both cores of each worker's host busy for `secs` s (two busy loops per host, SCHED_OTHER).
fn burn_both_cores(bed: &Bed, secs: u64) -> Outcome {
    observe(bed, || {
        // One busy loop per core on each worker's host, each bounded by `timeout` (and killed
        // with the lab if the test fails).
        let burners: Vec<_> = [0, 0, 1, 1]
            .iter()
            .map(|&i| {
                bed.nodes[i]
                    .host
                    .spawn(
                        "burn",
                        "timeout",
                        &[&secs.to_string(), "sh", "-c", "while :; do :; done"],
                    )
                    .unwrap()
            })
            .collect();
        for b in &burners {
            b.wait_timeout(Duration::from_secs(secs + 10));
        }
    })
}

#[test]
fn unrelated_multicast_5000_pps() {
    if skip() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let secs = if full() { 30 } else { 3 };
    let bed = pair("stmcast");
    let sender = &bed.nodes[2].host;
    let o = observe(&bed, || {
        let t = sender
            .spawn_thread(move || mcast_flood(Duration::from_secs(secs)))
            .unwrap();
        let sent = t.join().unwrap().expect("multicast sender");
        eprintln!("MEASURE stress multicast: {sent} datagrams in {secs} s");
        assert!(sent as f64 >= 4000.0 * secs as f64, "sent only {sent}");
    });
    assert_no_false_failover(
        &format!("5,000 pps unrelated multicast for {secs} s"),
        &bed,
        &o,
    );
}

/// UDP to 239.255.42.1:9 (organisation-local scope) from 192.0.2.12, TTL 1: 50 datagrams
/// every 10 ms for `dur`. Returns the number sent.
fn mcast_flood(dur: Duration) -> std::io::Result<u64> {
    use socket2::{Domain, Protocol, SockAddr, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_multicast_if_v4(&"192.0.2.12".parse().expect("ip"))?;
    s.set_multicast_ttl_v4(1)?;
    let dst = SockAddr::from(std::net::SocketAddr::from(([239, 255, 42, 1], 9)));
    let payload = [0x5au8; 200];
    let t0 = Instant::now();
    let mut sent = 0u64;
    let mut tick = t0;
    while t0.elapsed() < dur {
        for _ in 0..50 {
            if s.send_to(&payload, &dst).is_ok() {
                sent += 1;
            }
        }
        tick += Duration::from_millis(10);
        if let Some(wait) = tick.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    Ok(sent)
}

/// A stopped backup finds Master_Down expired on SIGCONT while the master's adverts of the
/// last second wait unread in its socket: it must read them (fed at their kernel receive
/// times) before deciding, and stay backup. Before that fix: 2 transitions, every run.
#[test]
fn backup_stopped_for_one_second() {
    if skip() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let bed = pair("ststop");
    let o = observe(&bed, || {
        bed.nodes[1].signal(Signal::SIGSTOP);
        std::thread::sleep(Duration::from_secs(1));
        bed.nodes[1].signal(Signal::SIGCONT);
        std::thread::sleep(Duration::from_secs(1));
    });
    assert_no_false_failover("SIGSTOP of the backup for 1 s", &bed, &o);
}

#[test]
fn config_reloads() {
    if skip() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let n = if full() { 500 } else { 100 };
    let bed = pair("streload");
    let o = observe(&bed, || {
        // Both workers, 10 ms apart: faster than a reload takes under load, so SIGHUPs also
        // arrive while one is being applied.
        for _ in 0..n {
            bed.nodes[0].signal(Signal::SIGHUP);
            bed.nodes[1].signal(Signal::SIGHUP);
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    let reloads = bed.nodes[0]
        .logs()
        .matches("configuration reloaded")
        .count();
    eprintln!("MEASURE stress reloads: {n} SIGHUPs each, master logged {reloads} reloads");
    assert!(reloads > 0, "no reload happened");
    assert_no_false_failover(&format!("{n} config reloads (SIGHUP)"), &bed, &o);
}

/// 5 ms ± 5 ms on every frame to and from the backup (netlab's userspace relay: this kernel has
/// no `sch_netem`), at 30 ms adverts: the master's adverts reach the backup 0–10 ms late, far
/// inside its Master_Down_Interval (3 × 30 ms + skew). The jitter must show in the backup's
/// advert gap excess, and nothing may fail over.
#[test]
fn delay_jitter_on_the_segment() {
    if skip() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let secs = if full() { 30 } else { 5 };
    let w = Kind::Worker;
    let inst = |prio: u8| {
        let mut i = Inst::v3(prio);
        i.advert = "0.03";
        i
    };
    let jitter = netlab::Jitter::new(Duration::from_millis(5), Duration::from_millis(5));
    let mut bed = Bed::new_relayed(
        "stjitter",
        vec![(w, inst(150)), (w, inst(100)), (w, inst(1))],
        1,
        jitter,
    );
    bed.nodes[0].start();
    bed.nodes[1].start();
    bed.wait_sole_holder(0, SETTLE);
    bed.wait_role(0, "MASTER", SETTLE);
    bed.wait_role(1, "BACKUP", SETTLE);
    let o = observe(&bed, || std::thread::sleep(Duration::from_secs(secs)));
    let st = bed.relay.as_ref().expect("relay").stats();
    let gap = bed.nodes[1].state().expect("backup state")["instances"][0]["timing"]
        ["advert_gap_excess"]["max_ever_us"]
        .as_u64()
        .expect("gap excess");
    eprintln!(
        "MEASURE stress jitter: relay {} frames, hold mean {:.1} ms, max {:.1} ms, {} dropped; \
         backup advert gap excess max {:.1} ms",
        st.forwarded,
        st.hold_mean_us / 1000.0,
        st.hold_max_us as f64 / 1000.0,
        st.dropped,
        gap as f64 / 1000.0
    );
    assert!(st.forwarded > 100 && st.dropped == 0, "{st:?}");
    assert!(
        gap >= 3_000,
        "the jitter did not reach the backup: {gap} µs"
    );
    assert_no_false_failover(&format!("5 ms ± 5 ms delay jitter for {secs} s"), &bed, &o);
}
