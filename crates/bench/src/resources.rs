//! Resident memory and CPU time of a daemon at idle, from `/proc` (all processes of its
//! process group: keepalived runs a parent and a VRRP child, plus check scripts).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;
use serde::Serialize;

use crate::configs::{self, ConfigKind, LB_PORT};
use crate::daemon::{Daemon, DaemonKind};
use crate::listener::Listener;
use crate::opts::Opts;
use crate::topo;

/// One resource measurement.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceRow {
    /// Daemon.
    pub daemon: DaemonKind,
    /// What ran (configuration and instance count).
    pub setup: String,
    /// Number of VRRP instances.
    pub instances: u32,
    /// Processes of the daemon at the end of the window.
    pub processes: usize,
    /// Summed VmRSS at the end of the window, KiB.
    pub rss_kib: u64,
    /// Summed VmHWM (each process's peak resident size since its start), KiB.
    pub hwm_kib: u64,
    /// CPU time (threads' run time from schedstat, plus reaped children such as check scripts)
    /// per second of wall time over the idle window, in milliseconds.
    pub cpu_ms_per_s: f64,
    /// vrrpd: the advert interval its first instance ran at the end of the window (state file
    /// `instances[0].advert.interval_ms`; `None` for keepalived or a vrrpd without it).
    pub advert_interval_ms: Option<f64>,
    /// vrrpd: `fixed` or `auto` (`instances[0].advert.mode`).
    pub advert_mode: Option<String>,
    /// Why there is no measurement.
    pub error: Option<String>,
}

/// The process group `pgid`'s live members.
pub fn group_members(pgid: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| stat_fields(pid).is_some_and(|f| f.pgrp == pgid))
        .collect()
}

/// The fields of `/proc/PID/stat` used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Process group.
    pub pgrp: i32,
    /// utime + stime + cutime + cstime, in clock ticks.
    pub ticks: u64,
    /// cutime + cstime (reaped children), in clock ticks.
    pub children_ticks: u64,
}

/// Parses `/proc/PID/stat` text (the command name may hold spaces and parentheses).
pub fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| f.get(i)?.parse::<u64>().ok();
    Some(Stat {
        pgrp: f.get(2)?.parse().ok()?,
        ticks: num(11)? + num(12)? + num(13)? + num(14)?,
        children_ticks: num(13)? + num(14)?,
    })
}

fn stat_fields(pid: i32) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// VmRSS of `/proc/PID/status` text, KiB.
pub fn parse_rss_kib(status: &str) -> Option<u64> {
    parse_status_kib(status, "VmRSS:")
}

/// A `kB` field (`VmRSS:`, `VmHWM:`) of `/proc/PID/status` text, KiB.
pub fn parse_status_kib(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn status_kib(pid: i32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| parse_status_kib(&s, key))
        .unwrap_or(0)
}

/// Nanoseconds on CPU of every thread of `pid` (`/proc/PID/task/*/schedstat`, first field).
fn thread_ns(pid: i32) -> u64 {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    dir.filter_map(|e| {
        let text = std::fs::read_to_string(e.ok()?.path().join("schedstat")).ok()?;
        text.split_whitespace().next()?.parse::<u64>().ok()
    })
    .sum()
}

/// CPU time of `pids` in nanoseconds: their live threads' run time (schedstat, ns resolution)
/// plus their reaped children's user + system time (check scripts; clock-tick resolution).
fn cpu_ns(pids: &[i32]) -> u64 {
    let per_tick = 1e9 / clock_ticks_per_s();
    pids.iter()
        .map(|&p| {
            let children = stat_fields(p).map_or(0, |s| s.children_ticks);
            thread_ns(p) + (children as f64 * per_tick) as u64
        })
        .sum()
}

fn clock_ticks_per_s() -> f64 {
    // SAFETY: sysconf has no preconditions.
    #[allow(unsafe_code)]
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// How long a daemon runs before the idle window starts (v2 at 1 s needs 3.6 s to be master).
const SETTLE: Duration = Duration::from_secs(5);

/// Measures `daemon` running `conf` alone in a one-host lab (with the LB listener).
pub fn measure(
    daemon: DaemonKind,
    setup: &str,
    instances: u32,
    conf: &str,
    vrrpd: &Path,
    window: Duration,
) -> ResourceRow {
    let mut row = ResourceRow {
        daemon,
        setup: setup.to_string(),
        instances,
        processes: 0,
        rss_kib: 0,
        hwm_kib: 0,
        cpu_ms_per_s: 0.0,
        advert_interval_ms: None,
        advert_mode: None,
        error: None,
    };
    match try_measure(daemon, conf, vrrpd, window) {
        Ok((procs, (rss, hwm), cpu, advert)) => {
            row.processes = procs;
            row.rss_kib = rss;
            row.hwm_kib = hwm;
            row.cpu_ms_per_s = cpu;
            if let Some(a) = advert {
                row.advert_interval_ms = a["interval_ms"].as_f64();
                row.advert_mode = a["mode"].as_str().map(str::to_string);
            }
        }
        Err(e) => row.error = Some(format!("{e:#}")),
    }
    row
}

/// Processes, (RSS, HWM) KiB, CPU ms/s, vrrpd's `advert` object.
type Measured = (usize, (u64, u64), f64, Option<serde_json::Value>);

fn try_measure(
    daemon: DaemonKind,
    conf: &str,
    vrrpd: &Path,
    window: Duration,
) -> anyhow::Result<Measured> {
    let lab = netlab::Lab::new("benchres")?;
    let host = lab.add_host("lb0")?;
    host.add_addr(&format!("{}/24", topo::lb_addr(0)))?;
    let _lb = Listener::start(&host, LB_PORT)?;
    let d = Daemon::start(&host, daemon, conf, vrrpd)?;
    std::thread::sleep(SETTLE);
    // An adaptive master: measure at the interval it settles on, not on its way down.
    d.wait_interval_settled(Duration::from_secs(35));
    if !d.is_running() {
        bail!("{} exited: {}", daemon.label(), d.log_tail(10));
    }
    let pgid = d.pid()? as i32;
    let t0 = Instant::now();
    let c0 = cpu_ns(&group_members(pgid));
    std::thread::sleep(window);
    let pids = group_members(pgid);
    let c1 = cpu_ns(&pids);
    let wall = t0.elapsed().as_secs_f64();
    let rss = pids.iter().map(|&p| status_kib(p, "VmRSS:")).sum();
    let hwm = pids.iter().map(|&p| status_kib(p, "VmHWM:")).sum();
    let cpu_ms = c1.saturating_sub(c0) as f64 / 1e6;
    let advert = d.advert();
    Ok((pids.len(), (rss, hwm), cpu_ms / wall, advert))
}

/// Every resource row of the run: per daemon, one instance on configuration (a), one instance
/// on each charm's default, and 100 instances (v3, 100 ms, no checks).
pub fn measure_all(opts: &Opts, vrrpd: &Path) -> Vec<ResourceRow> {
    let window = opts.idle_window();
    let addr = topo::lb_addr(0);
    let mut rows = Vec::new();
    for &daemon in &opts.daemons {
        let setups: Vec<(String, u32, anyhow::Result<String>)> = vec![
            (
                "1 instance, conf (a)".into(),
                1,
                configs::render(ConfigKind::Same, daemon, 0, "eth0", addr),
            ),
            (
                "1 instance, charm default (b)".into(),
                1,
                configs::render(ConfigKind::Charm, daemon, 0, "eth0", addr),
            ),
            (
                "100 instances, v3 0.1 s".into(),
                100,
                Ok(configs::many(100, "eth0")),
            ),
        ];
        for (setup, n, conf) in setups {
            eprintln!("bench resources: {} {setup}", daemon.label());
            let row = match conf {
                Ok(c) => measure(daemon, &setup, n, &c, vrrpd, window),
                Err(e) => ResourceRow {
                    daemon,
                    setup,
                    instances: n,
                    processes: 0,
                    rss_kib: 0,
                    hwm_kib: 0,
                    cpu_ms_per_s: 0.0,
                    advert_interval_ms: None,
                    advert_mode: None,
                    error: Some(format!("{e:#}")),
                },
            };
            rows.push(row);
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_command_name() {
        let s = "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 2 1 20 0 1 0 5 1000 200";
        let st = parse_stat(s).unwrap();
        assert_eq!(st.pgrp, 42);
        assert_eq!(st.ticks, 13);
        assert_eq!(st.children_ticks, 3);
    }

    #[test]
    fn rss_from_status() {
        assert_eq!(
            parse_rss_kib("Name:\tx\nVmRSS:\t  3328 kB\nThreads: 1\n"),
            Some(3328)
        );
        assert_eq!(parse_rss_kib("Name:\tx\n"), None);
    }

    #[test]
    fn own_group_is_found() {
        let me = std::process::id() as i32;
        let pgid = nix::unistd::getpgrp().as_raw();
        assert!(group_members(pgid).contains(&me));
    }
}
