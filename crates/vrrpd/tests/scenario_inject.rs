//! Malformed and foreign adverts, injected from a third host with AF_PACKET, are ignored by a
//! worker backup (it keeps following the real master) and counted by reason in its state file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use common::inject::{ipv4, send_frame, v3_advert};
use common::{skip, wait_until, Bed, Inst, Kind};

#[test]
fn malformed_and_foreign_adverts_are_dropped_and_counted() {
    if skip() {
        return;
    }
    let w = Kind::Worker;
    let mut bed = Bed::new(
        "inject",
        vec![(w, Inst::v3(150)), (w, Inst::v3(100)), (w, Inst::v3(1))],
    );
    // Node 2 only injects; it runs no daemon.
    bed.nodes[0].start();
    bed.nodes[1].start();
    bed.wait_sole_holder(0, Duration::from_secs(5));
    bed.wait_role(1, "BACKUP", Duration::from_secs(5));

    let src = Ipv4Addr::new(192, 0, 2, 12);
    let grp = Ipv4Addr::new(224, 0, 0, 18);
    let vip = Ipv4Addr::new(192, 0, 2, 100);
    // Priority 254 everywhere: accepted, any of these would make node 1 follow the injector
    // (and, with priority 0 tricks, take over); dropped, nothing changes.
    let good = v3_advert(src, grp, 23, 254, 10, &[vip]);
    let mut bad_sum = good.clone();
    bad_sum[6] ^= 0x55;
    let mut wrong_type = v3_advert(src, grp, 23, 254, 10, &[vip]);
    wrong_type[0] = 0x32;
    let other_vrid = v3_advert(src, grp, 99, 254, 10, &[vip]);
    let wrong_vip = v3_advert(src, grp, 23, 254, 10, &[Ipv4Addr::new(192, 0, 2, 99)]);
    let truncated = good[..10].to_vec();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("ttl", ipv4(src, grp, 64, &good)),
        ("checksum", ipv4(src, grp, 255, &bad_sum)),
        ("type", ipv4(src, grp, 255, &wrong_type)),
        ("vrid", ipv4(src, grp, 255, &other_vrid)),
        ("addr_list", ipv4(src, grp, 255, &wrong_vip)),
        ("length", ipv4(src, grp, 255, &truncated)),
    ];
    let ifindex = bed.nodes[2].host.ifindex().unwrap();
    bed.nodes[2]
        .host
        .run_in(move || {
            for round in 0..20 {
                for (_, pkt) in &cases {
                    send_frame(ifindex, pkt).unwrap();
                }
                if round % 5 == 0 {
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        })
        .unwrap();
    bed.assert_stable(0, Duration::from_millis(800));
    let reasons = ["ttl", "checksum", "type", "vrid", "addr_list", "length"];
    // The state file is refreshed at most once a second for counter changes.
    wait_until(Duration::from_secs(3), Duration::from_millis(50), || {
        let st = bed.nodes[1].state().unwrap();
        reasons.iter().all(|r| {
            st["instances"][0]["counters"]["drops"][r]
                .as_u64()
                .unwrap_or(0)
                >= 1
        })
    });
    let st = bed.nodes[1].state().unwrap();
    let inst = &st["instances"][0];
    assert_eq!(inst["role"], "BACKUP", "{st}");
    assert_eq!(inst["master_address"], "192.0.2.10", "{st}");
    let drops = &inst["counters"]["drops"];
    for reason in reasons {
        assert!(
            drops[reason].as_u64().unwrap_or(0) >= 1,
            "no {reason} drop counted: {drops}"
        );
    }
    // Drops are logged rate-limited: far fewer lines than the 120 bad packets.
    let logs = bed.nodes[1].logs();
    let lines = logs
        .lines()
        .filter(|l| l.contains("packet dropped"))
        .count();
    assert!(lines <= 12, "{lines} drop log lines");

    // Control: the same injector's valid adverts (priority 254, every 50 ms for 1.5 s) are
    // accepted: the master yields and both nodes follow the injector.
    let valid = ipv4(src, grp, 255, &v3_advert(src, grp, 23, 254, 10, &[vip]));
    let sender = bed.nodes[2]
        .host
        .spawn_thread(move || {
            for _ in 0..30 {
                send_frame(ifindex, &valid).unwrap();
                std::thread::sleep(Duration::from_millis(50));
            }
        })
        .unwrap();
    let followed = wait_until(
        Duration::from_millis(1500),
        Duration::from_millis(20),
        || {
            bed.holders().is_empty()
                && bed.nodes[1].state().unwrap()["instances"][0]["master_address"] == "192.0.2.12"
        },
    );
    sender.join().unwrap();
    assert!(
        followed.is_some(),
        "valid injected adverts not accepted: {:?}",
        bed.nodes[1].state()
    );
    // Once the injector falls silent, the real nodes elect node 0 again.
    bed.wait_sole_holder(0, Duration::from_secs(5));
}
