//! Crash loop: the master's worker is SIGKILLed and restarted five times (restart delays 0 to
//! 300 ms, like a supervisor) while a client keeps connecting to the VIP (a TCP listener runs
//! on each LB host). After each restart the stale VIP is gone before the worker's first advert,
//! and the VIP is never on both units longer than Master_Down_Interval plus a margin.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{skip, wait_until, Bed, Inst, Kind};

/// MDI of the priority-100 backup at 100 ms (361 ms) plus scheduling margin.
const OVERLAP_BOUND: Duration = Duration::from_millis(361 + 150);
const DELAYS_MS: [u64; 5] = [0, 50, 100, 200, 300];

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Tracks the longest stretch during which both nodes held the VIP.
#[derive(Default)]
struct Overlap {
    start: Option<Instant>,
    longest: Duration,
}

impl Overlap {
    /// Samples both nodes; returns (node 0 holds, node 1 holds).
    fn sample(&mut self, bed: &Bed) -> (bool, bool) {
        let vip = bed.vip();
        let (a, b) = (bed.nodes[0].holds(vip), bed.nodes[1].holds(vip));
        let now = Instant::now();
        match (a && b, self.start) {
            (true, None) => self.start = Some(now),
            (false, Some(s)) => {
                self.longest = self.longest.max(now - s);
                self.start = None;
            }
            _ => {}
        }
        if let Some(s) = self.start {
            self.longest = self.longest.max(now - s);
        }
        (a, b)
    }
}

const LISTEN: &str = "import socket,time\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('0.0.0.0',6443))\ns.listen(256)\nt=time.time()\nwhile time.time()-t<60:\n    c,_=s.accept()\n    c.close()\n";

#[test]
fn sigkill_loop_never_leaves_two_holders_beyond_mdi() {
    if skip() {
        return;
    }
    let w = Kind::Worker;
    let mut bed = Bed::new(
        "crashloop",
        vec![(w, Inst::v3(150)), (w, Inst::v3(100)), (w, Inst::v3(1))],
    );
    let _l0 = bed.nodes[0]
        .host
        .spawn("listen", "python3", &["-c", LISTEN])
        .unwrap();
    let _l1 = bed.nodes[1]
        .host
        .spawn("listen", "python3", &["-c", LISTEN])
        .unwrap();
    bed.nodes[0].start();
    bed.nodes[1].start();
    bed.wait_sole_holder(0, Duration::from_secs(5));
    let cap = bed.capture_adverts(2, "192.0.2.10");
    // The client: connects to the VIP every 20 ms (bounded by a flag and a deadline).
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let target = SocketAddr::new(bed.vip(), 6443);
    let client = bed.nodes[2]
        .host
        .spawn_thread(move || {
            let (mut ok, mut fail) = (0u32, 0u32);
            let t0 = Instant::now();
            while !stop2.load(Ordering::Relaxed) && t0.elapsed() < Duration::from_secs(60) {
                match TcpStream::connect_timeout(&target, Duration::from_millis(200)) {
                    Ok(_) => ok += 1,
                    Err(_) => fail += 1,
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            (ok, fail)
        })
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));

    let mut ov = Overlap::default();
    // (restart time, time the stale VIP was seen gone), unix seconds.
    let mut rounds = Vec::new();
    for delay in DELAYS_MS {
        bed.nodes[0].kill();
        let killed = Instant::now();
        while killed.elapsed() < Duration::from_millis(delay) {
            ov.sample(&bed);
        }
        let restarted = unix_now();
        bed.nodes[0].start();
        let mut gone = None;
        let back = wait_until(Duration::from_secs(5), Duration::from_millis(1), || {
            let (a, b) = ov.sample(&bed);
            if !a && gone.is_none() {
                gone = Some(unix_now());
            }
            gone.is_some() && a && !b
        });
        if back.is_none() {
            bed.dump();
            panic!("round {delay} ms: node 0 not sole holder again");
        }
        rounds.push((delay, restarted, gone.unwrap()));
        // Stay settled for a moment (also samples).
        let t = Instant::now();
        while t.elapsed() < Duration::from_millis(400) {
            ov.sample(&bed);
        }
    }
    stop.store(true, Ordering::Relaxed);
    let (ok, fail) = client.join().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let text = cap.stdout();
    drop(cap);
    let stamps: Vec<f64> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    for (delay, restarted, gone) in &rounds {
        let first = stamps
            .iter()
            .copied()
            .find(|&s| s > *restarted)
            .expect("no advert after restart");
        eprintln!(
            "MEASURE crash loop (restart after {delay} ms): stale VIP gone {:.1} ms after restart, first advert {:.1} ms after restart",
            (gone - restarted) * 1e3,
            (first - restarted) * 1e3
        );
        assert!(gone < &first, "advert before the stale VIP was removed");
    }
    eprintln!(
        "MEASURE crash loop: longest two-holder overlap {:?}; client connects ok {ok}, failed {fail}",
        ov.longest
    );
    assert!(ov.longest <= OVERLAP_BOUND, "overlap {:?}", ov.longest);
    assert!(ok > 0, "client never reached the VIP");
    bed.assert_stable(0, Duration::from_millis(500));
}
