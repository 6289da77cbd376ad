//! Issue 11, conflict detection in the worker: a real keepalived 2.2.7 on a third host
//! advertises *other* VIPs on our VRID 23 (another cluster with the same `router_id`). Both
//! workers list it in their state file (`conflicts`: source, kind `other_vips`, first/last
//! seen, count) and metrics (`vrrpd_conflicts_total{kind}`), log it once per source per
//! minute, and neither changes role. A second test injects crafted adverts into a unicast
//! pair: an unknown peer, a VRRPv2 speaker and other VIPs, all from one source. Root (and
//! keepalived for the first) required; skipped otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use common::inject::{csum, ipv4, send_frame, v3_advert};
use common::{keepalived_available, metric_value, scrape, skip, wait_until, Bed, Inst, Kind};

const METRICS: &str = "127.0.0.1:9652";
const STRANGER: &str = "192.0.2.12";

fn conflict_count(st: &serde_json::Value) -> u64 {
    st["instances"][0]["conflicts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["source"] == STRANGER && c["kind"] == "other_vips")
        .filter_map(|c| c["count"].as_u64())
        .sum()
}

fn transitions(bed: &Bed, i: usize) -> u64 {
    bed.nodes[i].state().unwrap()["instances"][0]["counters"]["transitions"]
        .as_u64()
        .unwrap()
}

#[test]
fn foreign_keepalived_on_our_vrid_is_listed_and_changes_nothing() {
    if skip() {
        return;
    }
    if !keepalived_available() {
        netlab::skip(&format!("{} missing", common::KEEPALIVED));
        return;
    }
    let w = Kind::Worker;
    // Our cluster advertises every second, the other every 100 ms: keepalived 2.2.7 as
    // master re-arms its advert timer on each lower-priority advert it receives, so with
    // equal intervals it would hardly ever send (measured: 3 adverts in 10 s).
    let ours = |priority| Inst {
        advert: "1",
        ..Inst::v3(priority)
    };
    let mut backup = ours(100);
    backup.global_extra = vec![format!("vrrpd_metrics_listen {METRICS}")];
    let other = Inst {
        vip: "192.0.2.177/24",
        ..Inst::v3(200)
    };
    let mut bed = Bed::new(
        "conflict",
        vec![(w, ours(150)), (w, backup), (Kind::Keepalived, other)],
    );
    bed.nodes[0].start();
    bed.nodes[1].start();
    bed.wait_sole_holder(0, Duration::from_secs(10));
    bed.wait_role(0, "MASTER", Duration::from_secs(10));
    bed.wait_role(1, "BACKUP", Duration::from_secs(10));
    let before = (transitions(&bed, 0), transitions(&bed, 1));
    assert_eq!(conflict_count(&bed.nodes[1].state().unwrap()), 0);

    // The other cluster's keepalived (priority 200, advert_int 0.1, VIP 192.0.2.177).
    let t_start = Instant::now();
    bed.nodes[2].start();
    let seen = wait_until(Duration::from_secs(10), Duration::from_millis(20), || {
        bed.nodes[1]
            .state()
            .is_some_and(|st| conflict_count(&st) >= 1)
    });
    if seen.is_none() {
        bed.dump();
        panic!("conflict never listed");
    }
    eprintln!(
        "MEASURE keepalived start to conflict in the backup's state file: {} ms",
        t_start.elapsed().as_millis()
    );
    // Foreign adverts keep coming: nobody else ever holds our VIP, both workers count.
    bed.assert_stable(0, Duration::from_secs(2));
    let ok = wait_until(Duration::from_secs(8), Duration::from_millis(50), || {
        [0, 1].iter().all(|&i| {
            bed.nodes[i]
                .state()
                .is_some_and(|st| conflict_count(&st) >= 4)
        })
    });
    if ok.is_none() {
        bed.dump();
        panic!("conflict counts did not grow");
    }
    assert!(bed.nodes[2].proc.as_ref().is_some_and(|p| p.is_running()));

    // No state change on either worker.
    assert_eq!((transitions(&bed, 0), transitions(&bed, 1)), before);
    let st = bed.nodes[1].state().unwrap();
    let inst = &st["instances"][0];
    assert_eq!(inst["role"], "BACKUP", "{st}");
    assert_eq!(inst["master_address"], "192.0.2.10", "{st}");
    assert_eq!(bed.nodes[0].role().as_deref(), Some("MASTER"));

    // The record: one entry for the stranger, kind other_vips, times ordered.
    let list = inst["conflicts"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{st}");
    let c = &list[0];
    assert_eq!(c["source"], STRANGER);
    assert_eq!(c["kind"], "other_vips");
    let (first, last) = (
        c["first_seen_unix_ms"].as_u64().unwrap(),
        c["last_seen_unix_ms"].as_u64().unwrap(),
    );
    assert!(first > 0 && first < last, "{c}");
    let count = c["count"].as_u64().unwrap();
    // Counted by kind in the counters too, and still counted as drops by reason.
    let counters = &inst["counters"];
    assert_eq!(counters["conflicts"]["other_vips"].as_u64(), Some(count));
    assert!(counters["drops"]["addr_list"].as_u64().unwrap() >= count);
    eprintln!(
        "MEASURE backup: {count} conflicting adverts over {} ms",
        last - first
    );

    // Metrics: the kind's counter at least what the (≤ 1 s old) state file says.
    let iface = bed.nodes[1].host.ifname().to_string();
    let l = format!("instance=\"VI_1\",vrid=\"23\",interface=\"{iface}\",family=\"ipv4\"");
    let text = scrape(&bed.nodes[1].host, METRICS, "/metrics").expect("scrape");
    let got = metric_value(
        &text,
        &format!("vrrpd_conflicts_total{{{l},kind=\"other_vips\"}}"),
    );
    assert!(got.is_some_and(|v| v >= count), "{got:?} < {count}\n{text}");
    for k in ["version", "interval", "auth", "unknown_peer"] {
        let v = metric_value(&text, &format!("vrrpd_conflicts_total{{{l},kind=\"{k}\"}}"));
        assert_eq!(v, Some(0), "{k}");
    }

    // One log line per source per minute (the test is far shorter than a minute).
    for i in [0, 1] {
        let logs = bed.nodes[i].logs();
        let lines: Vec<&str> = logs
            .lines()
            .filter(|l| l.contains("VRRP conflict"))
            .collect();
        assert_eq!(lines.len(), 1, "node {i}: {lines:#?}");
        assert!(
            lines[0].contains(STRANGER) && lines[0].contains("other_vips"),
            "{}",
            lines[0]
        );
    }
}

#[test]
fn injected_unknown_peer_version_and_other_vips_on_a_unicast_pair() {
    if skip() {
        return;
    }
    let uni = |p: u8, me: &str, peer: &str| Inst {
        unicast: Some((me.to_string(), vec![peer.to_string()])),
        ..Inst::v3(p)
    };
    let w = Kind::Worker;
    let mut bed = Bed::new(
        "conflictu",
        vec![
            (w, uni(150, "192.0.2.10", "192.0.2.11")),
            (w, uni(100, "192.0.2.11", "192.0.2.10")),
            (w, Inst::v3(1)),
        ],
    );
    // Node 2 only injects; it runs no daemon.
    bed.nodes[0].start();
    bed.nodes[1].start();
    bed.wait_sole_holder(0, Duration::from_secs(5));
    bed.wait_role(0, "MASTER", Duration::from_secs(5));
    bed.wait_role(1, "BACKUP", Duration::from_secs(5));
    let before = transitions(&bed, 1);

    let src = Ipv4Addr::new(192, 0, 2, 12);
    let dst = Ipv4Addr::new(192, 0, 2, 11);
    let vip = Ipv4Addr::new(192, 0, 2, 100);
    // Valid but from outside unicast_peer (priority 1: a backup with preempt ignores it).
    let stranger = v3_advert(src, dst, 23, 1, 10, &[vip]);
    // Another cluster's VIP, priority 254 (accepted, it would take over).
    let other = v3_advert(src, dst, 23, 254, 10, &[Ipv4Addr::new(192, 0, 2, 177)]);
    // VRRPv2 (RFC 3768 layout, auth none, its own checksum), priority 254.
    let mut v2 = vec![0x21, 23, 254, 1, 0, 1, 0, 0];
    v2.extend_from_slice(&vip.octets());
    v2.extend_from_slice(&[0; 8]);
    let c = csum(&v2);
    v2[6..8].copy_from_slice(&c.to_be_bytes());
    let pkts: Vec<Vec<u8>> = [stranger, other, v2]
        .iter()
        .map(|p| ipv4(src, dst, 255, p))
        .collect();
    let ifindex = bed.nodes[2].host.ifindex().unwrap();
    let sender = bed.nodes[2]
        .host
        .spawn_thread(move || {
            for _ in 0..40 {
                for p in &pkts {
                    send_frame(ifindex, p).unwrap();
                }
                std::thread::sleep(Duration::from_millis(25));
            }
        })
        .unwrap();
    bed.assert_stable(0, Duration::from_millis(800));
    sender.join().unwrap();
    let kinds = ["unknown_peer", "other_vips", "version"];
    let count = |st: &serde_json::Value, kind: &str| -> u64 {
        st["instances"][0]["conflicts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["source"] == "192.0.2.12" && c["kind"] == kind)
            .filter_map(|c| c["count"].as_u64())
            .sum()
    };
    // All 40 of each are in the file within its 1 s refresh.
    let all = wait_until(Duration::from_secs(3), Duration::from_millis(50), || {
        bed.nodes[1]
            .state()
            .is_some_and(|st| kinds.iter().all(|k| count(&st, k) == 40))
    });
    let st = bed.nodes[1].state().unwrap();
    assert!(all.is_some(), "{st}");
    let inst = &st["instances"][0];
    assert_eq!(inst["conflicts"].as_array().unwrap().len(), 3, "{st}");
    for k in kinds {
        assert_eq!(inst["counters"]["conflicts"][k], 40, "{k}: {st}");
    }
    assert_eq!(inst["counters"]["drops"]["version"], 40, "{st}");
    assert_eq!(inst["counters"]["drops"]["addr_list"], 40, "{st}");
    assert_eq!(inst["role"], "BACKUP", "{st}");
    assert_eq!(inst["master_address"], "192.0.2.10", "{st}");
    assert_eq!(transitions(&bed, 1), before);
    // One source: one log line for all three kinds.
    let logs = bed.nodes[1].logs();
    let lines = logs.lines().filter(|l| l.contains("VRRP conflict")).count();
    assert_eq!(lines, 1, "{logs}");
}
