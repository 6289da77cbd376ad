//! Memory and CPU of a worker with 1 and with 100 instances (all MASTER at v3/100 ms,
//! multicast) in a netns lab, over its first 20 s: VmHWM (the peak resident size, start-up
//! included), VmRSS and VmLck from /proc/PID/status, CPU from /proc/PID/stat (utime + stime)
//! over the last 3 s. The worker locks itself in memory (mlockall), so VmLck must cover its
//! resident pages. A ceiling on VmHWM (one instance) is asserted for optimised, statically
//! linked binaries only (what the charm ships): `VRRPD_FOOTPRINT_BIN=/path/to/release/vrrpd
//! cargo test …`; a debug build, or a dynamically linked one (mlockall then pins all of
//! libc.so too), only prints its numbers.
//! Root required; skipped otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

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

/// The binary measured and whether it is an optimised build.
fn binary() -> (String, bool) {
    match std::env::var("VRRPD_FOOTPRINT_BIN") {
        Ok(b) => (b, true),
        Err(_) => (VRRPD.to_string(), !cfg!(debug_assertions)),
    }
}

/// What one worker used over its first 20 s.
struct Footprint {
    hwm_kib: u64,
    rss_kib: u64,
    locked_kib: u64,
    /// No shared C library is mapped (a static build).
    is_static: bool,
}

/// Issue 10 asks for a 4 MiB peak; the static musl build (opt-level "z", fat LTO, DT_RELR,
/// no regex-based log filter) measures 3440-3512 KiB, locked (README, performance). The ceiling
/// leaves about 10 % for growth and stays under the 4 MiB.
const HWM_CEILING_KIB: u64 = 3840;

/// Starts a worker with `n` instances, waits until all are MASTER, and reads its figures
/// 20 s after the start.
fn measure(tag: &str, n: u8) -> Footprint {
    let lab = netlab::Lab::new(tag).unwrap();
    let host = lab.add_host("n0").unwrap();
    host.add_addr("192.0.2.10/24").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("vrrpd.conf");
    let state = dir.path().join("state.json");
    std::fs::write(&conf, config(host.ifname(), n)).unwrap();
    let started = std::time::Instant::now();
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
    let window = Duration::from_secs(20);
    std::thread::sleep(window.saturating_sub(started.elapsed() + Duration::from_secs(3)));
    let t0 = cpu_ticks(p.pid()).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let t1 = cpu_ticks(p.pid()).unwrap();
    // Clock ticks are 100 Hz on Linux builds of this kind.
    let cpu = (t1 - t0) as f64 / 3.0;
    let f = Footprint {
        hwm_kib: status_kib(p.pid(), "VmHWM:").unwrap(),
        rss_kib: status_kib(p.pid(), "VmRSS:").unwrap(),
        locked_kib: status_kib(p.pid(), "VmLck:").unwrap(),
        is_static: !std::fs::read_to_string(format!("/proc/{}/maps", p.pid()))
            .unwrap()
            .contains("/libc"),
    };
    eprintln!(
        "MEASURE worker footprint, {n} instance(s) MASTER at v3/100 ms, first {}s: VmHWM {} KiB, VmRSS {} KiB, VmLck {} KiB, CPU {cpu:.1}% (optimised build: {}, static: {})",
        window.as_secs(),
        f.hwm_kib,
        f.rss_kib,
        f.locked_kib,
        binary().1,
        f.is_static
    );
    f
}

#[test]
fn footprint_one_and_hundred_instances() {
    if skip() {
        return;
    }
    let one = measure("rss1", 1);
    let hundred = measure("rss100", 100);
    for f in [&one, &hundred] {
        // mlockall(MCL_CURRENT | MCL_FUTURE): every resident page is locked.
        assert!(
            f.locked_kib >= f.rss_kib,
            "VmLck {} KiB < VmRSS {} KiB: not locked in memory",
            f.locked_kib,
            f.rss_kib
        );
    }
    if binary().1 && one.is_static {
        assert!(
            one.hwm_kib <= HWM_CEILING_KIB,
            "1 instance: VmHWM {} KiB > {HWM_CEILING_KIB} KiB",
            one.hwm_kib
        );
    }
    assert!(hundred.hwm_kib >= one.hwm_kib);
}
