//! The master under 100 % CPU on both cores (two busy loops, bounded to 8 s) keeps its adverts
//! on time at the default 100 ms interval: the gaps between its adverts, captured with kernel
//! timestamps (tcpdump) in an observer namespace, stay below the backup's Master_Down_Interval,
//! and no failover happens.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{skip, Bed, Inst, Kind};

const LOAD: Duration = Duration::from_secs(8);
/// Master_Down_Interval of the priority-100 backup at 100 ms: 3 × 100 + 61 ms.
const MDI: f64 = 0.361;

#[test]
fn master_adverts_stay_on_time_with_both_cores_busy() {
    if skip() {
        return;
    }
    let w = Kind::Worker;
    let mut bed = Bed::new(
        "cpuload",
        vec![(w, Inst::v3(150)), (w, Inst::v3(100)), (w, Inst::v3(1))],
    );
    bed.nodes[0].start();
    bed.nodes[1].start();
    bed.wait_sole_holder(0, Duration::from_secs(5));
    bed.wait_role(0, "MASTER", Duration::from_secs(5));
    bed.wait_role(1, "BACKUP", Duration::from_secs(5));
    let transitions = |i: usize| {
        bed.nodes[i].state().unwrap()["instances"][0]["counters"]["transitions"]
            .as_u64()
            .unwrap()
    };
    let (t0, t1) = (transitions(0), transitions(1));
    // Observer (node 2): kernel-timestamped capture of the master's adverts.
    let cap = bed.capture_adverts(2, "192.0.2.10");
    std::thread::sleep(Duration::from_millis(500));
    // Two busy loops (one per core), each killed by `timeout` even if the guard failed.
    let secs = LOAD.as_secs().to_string();
    let burners: Vec<_> = (0..2)
        .map(|_| {
            bed.nodes[0]
                .host
                .spawn(
                    "burn",
                    "timeout",
                    &[&secs, "sh", "-c", "while :; do :; done"],
                )
                .unwrap()
        })
        .collect();
    bed.assert_stable(0, LOAD);
    drop(burners);
    std::thread::sleep(Duration::from_millis(300));
    let text = cap.stdout();
    drop(cap);
    let stamps: Vec<f64> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert!(
        stamps.len() as f64 >= 0.9 * (LOAD.as_secs_f64() + 0.8) / 0.1,
        "only {} adverts captured",
        stamps.len()
    );
    let mut gaps: Vec<f64> = stamps.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.sort_by(f64::total_cmp);
    let max = gaps.last().copied().unwrap_or(0.0);
    let p99 = gaps[gaps.len() * 99 / 100];
    let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
    eprintln!(
        "MEASURE cpu load: {} adverts, gap mean {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        stamps.len(),
        mean * 1e3,
        p99 * 1e3,
        max * 1e3
    );
    assert_eq!(transitions(0), t0, "the master changed state under load");
    assert_eq!(transitions(1), t1, "the backup changed state under load");
    assert_eq!(bed.nodes[1].role().as_deref(), Some("BACKUP"));
    assert!(max < MDI, "max advert gap {max} s reaches the backup's MDI");
}
