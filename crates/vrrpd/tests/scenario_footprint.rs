//! Resident memory and CPU of an idle worker with 1 and with 100 instances (all MASTER at
//! v3/100 ms, multicast) in a netns lab, read from /proc/PID/status (VmRSS, and VmHWM for the
//! start-up peak) and
//! /proc/PID/stat (utime + stime). The 5 MiB target is asserted for optimised binaries only:
//! `cargo test --release`, or `VRRPD_FOOTPRINT_BIN=/path/to/release/vrrpd cargo test …`;
//! with the debug binary the numbers are only printed.
//! Root required; skipped otherwise.

mod common;

use std::time::Duration;

use common::{skip, wait_until, VRRPD};

fn config(ifname: &str, n: u8) -> String {
    let mut s =
        String::from("global_defs {\n    vrrp_version 3\n    vrrp_garp_master_delay 0\n}\n");
    for k in 1..=n {
        s += &format!(
            "vrrp_instance VI_{k} {{\n    interface {ifname}\n    virtual_router_id {k}\n    priority 150\n    advert_int 0.1\n    virtual_ipaddress {{\n        198.51.100.{k}/24\n    }}\n}}\n"
        );
    }
    s
}

fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// utime + stime in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = s.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After ")": state is field 3; utime and stime are fields 14 and 15.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Start a worker with `n` instances, wait until all are MASTER, idle 2 s; (RSS KiB, CPU %).
/// The binary measured and whether it is an optimised build.
fn binary() -> (String, bool) {
    match std::env::var("VRRPD_FOOTPRINT_BIN") {
        Ok(b) => (b, true),
        Err(_) => (VRRPD.to_string(), !cfg!(debug_assertions)),
    }
}

fn measure(tag: &str, n: u8) -> (u64, f64) {
    let lab = netlab::Lab::new(tag).unwrap();
    let host = lab.add_host("n0").unwrap();
    host.add_addr("192.0.2.10/24").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("vrrpd.conf");
    let state = dir.path().join("state.json");
    std::fs::write(&conf, config(host.ifname(), n)).unwrap();
    let p = host
        .spawn(
            "vrrpd",
            &binary().0,
            &[
                "--config",
                conf.to_str().unwrap(),
                "--state-file",
                state.to_str().unwrap(),
            ],
        )
        .unwrap();
    let all_master = wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        std::fs::read(&state)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| {
                v["instances"]
                    .as_array()
                    .map(|a| a.len() == usize::from(n) && a.iter().all(|i| i["role"] == "MASTER"))
            })
            .unwrap_or(false)
    });
    assert!(all_master.is_some(), "not all MASTER: {}", p.stderr());
    // The worker trims its resident code pages once things have been quiet for a while.
    std::thread::sleep(vrrpd::footprint::SETTLE + Duration::from_secs(1));
    let t0 = cpu_ticks(p.pid()).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let t1 = cpu_ticks(p.pid()).unwrap();
    // Clock ticks are 100 Hz on Linux builds of this kind.
    let cpu = (t1 - t0) as f64 / 3.0;
    let rss = status_kib(p.pid(), "VmRSS:").unwrap();
    let hwm = status_kib(p.pid(), "VmHWM:").unwrap();
    eprintln!(
        "MEASURE worker footprint, {n} instance(s) MASTER at v3/100 ms: VmRSS {rss} KiB, VmHWM {hwm} KiB, CPU {cpu:.1}% (optimised build: {})",
        binary().1
    );
    (rss, cpu)
}

#[test]
fn idle_footprint_one_and_hundred_instances() {
    if skip() {
        return;
    }
    let (one, _) = measure("rss1", 1);
    let (hundred, _) = measure("rss100", 100);
    if binary().1 {
        assert!(one <= 5 * 1024, "1 instance: {one} KiB > 5 MiB");
    }
    assert!(hundred >= one);
}
