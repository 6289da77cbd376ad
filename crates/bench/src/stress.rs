//! Stress without failure (issue 13), for both daemons on the same configuration (a) at its
//! short interval: a settled master and backup under a load they must ride out, counting false
//! failovers. Nothing fails in these cases, so every failover is a false one.
//!
//! Per case and daemon: the backup entering MASTER (from its log), every state change of both
//! (logs), and VIP acquisitions by either host (each host's addresses polled every 5 ms); for
//! vrrpd also its own timing maxima from the state files (how late the master sent, how far
//! beyond the interval the backup saw adverts arrive).

use std::net::UdpSocket;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use netlab::{Jitter, Signal};
use serde::Serialize;

use crate::configs;
use crate::daemon::{Daemon, DaemonKind};
use crate::topo::{self, Topo};
use crate::vipwatch::VipWatch;

/// A stress case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum StressCase {
    /// Both cores 100 %: two busy loops per load-balancer host (four on two cores), nice 0.
    Cpu,
    /// The same with `vrrp_rt_priority` in both daemons' global_defs (the charm's value,
    /// [`configs::rt_priority`]).
    CpuRt,
    /// 5 ms ± 5 ms delay on every frame between master and backup (userspace relay).
    Jitter,
    /// 5,000 datagrams/s of unrelated multicast (239.255.42.1:9) from the client host.
    Multicast,
    /// SIGSTOP of the backup (all its processes) for 1 s.
    StopBackup,
    /// SIGHUPs to both daemons, 10 ms apart.
    Reloads,
}

impl StressCase {
    /// Every case, in table order.
    pub const ALL: [StressCase; 6] = [
        StressCase::Cpu,
        StressCase::CpuRt,
        StressCase::Jitter,
        StressCase::Multicast,
        StressCase::StopBackup,
        StressCase::Reloads,
    ];

    /// The case's length: seconds of load, or for [`StressCase::Reloads`] the number of
    /// SIGHUPs to each daemon. `quick`: a short form.
    pub fn amount(self, quick: bool) -> u64 {
        match (self, quick) {
            (StressCase::Cpu | StressCase::CpuRt, false) => 60,
            (StressCase::Cpu | StressCase::CpuRt, true) => 10,
            (StressCase::Jitter | StressCase::Multicast, false) => 30,
            (StressCase::Jitter | StressCase::Multicast, true) => 5,
            (StressCase::StopBackup, _) => 1,
            (StressCase::Reloads, false) => 500,
            (StressCase::Reloads, true) => 100,
        }
    }

    /// Table label.
    pub fn label(self, quick: bool) -> String {
        let n = self.amount(quick);
        match self {
            StressCase::Cpu => format!("both cores 100 % for {n} s"),
            StressCase::CpuRt => {
                format!(
                    "both cores 100 % for {n} s, vrrp_rt_priority {}",
                    configs::rt_priority()
                )
            }
            StressCase::Jitter => format!("5 ms ± 5 ms delay jitter for {n} s"),
            StressCase::Multicast => format!("5,000 pps unrelated multicast for {n} s"),
            StressCase::StopBackup => "SIGSTOP of the backup for 1 s".into(),
            StressCase::Reloads => format!("{n} reloads (SIGHUP) of both"),
        }
    }
}

/// What one stress case measured for one daemon.
#[derive(Debug, Clone, Serialize)]
pub struct StressResult {
    /// The case.
    pub case: StressCase,
    /// The daemon (on both hosts).
    pub daemon: DaemonKind,
    /// The case's length (seconds, or SIGHUPs for reloads).
    pub amount: u64,
    /// Times the backup entered MASTER during the case (its log).
    pub failovers: usize,
    /// State changes of master and backup during the case (their logs).
    pub transitions: usize,
    /// VIP acquisitions by either host during the case (5 ms polling).
    pub vip_moves: usize,
    /// vrrpd: the master's worst advert send lateness since start (µs, state file `timing`).
    pub send_late_max_us: Option<u64>,
    /// vrrpd: the backup's worst advert gap beyond the interval since start (µs).
    pub gap_excess_max_us: Option<u64>,
    /// What the load did (datagrams sent, reloads logged, relay statistics).
    pub detail: String,
    /// When not clean: the state-change lines both daemons logged during the case.
    pub changes: Vec<String>,
    /// Why the case produced no measurement.
    pub error: Option<String>,
}

impl StressResult {
    /// No false failover of any kind.
    pub fn clean(&self) -> bool {
        self.error.is_none() && self.failovers == 0 && self.transitions == 0 && self.vip_moves == 0
    }
}

/// Holder polling period during a case.
const POLL: Duration = Duration::from_millis(5);
/// How long the pair runs together before the case.
const SETTLE: Duration = Duration::from_secs(3);
/// After the load: late transitions still count.
const AFTER: Duration = Duration::from_millis(1500);

/// Runs `case` for `daemon`; every namespace and process it made is gone when this returns.
pub fn run_case(case: StressCase, daemon: DaemonKind, quick: bool, vrrpd: &Path) -> StressResult {
    let amount = case.amount(quick);
    let mut r = StressResult {
        case,
        daemon,
        amount,
        failovers: 0,
        transitions: 0,
        vip_moves: 0,
        send_late_max_us: None,
        gap_excess_max_us: None,
        detail: String::new(),
        changes: Vec::new(),
        error: None,
    };
    if let Err(e) = try_case(&mut r, quick, vrrpd) {
        r.error = Some(format!("{e:#}"));
    }
    r
}

fn try_case(r: &mut StressResult, quick: bool, vrrpd: &Path) -> anyhow::Result<()> {
    let (case, daemon) = (r.case, r.daemon);
    let bound = Duration::from_secs(r.amount.max(10) * 2 + 60);
    let topo = if case == StressCase::Jitter {
        let j = Jitter::new(Duration::from_millis(5), Duration::from_millis(5));
        Topo::with_jitter("stress", j, bound)?
    } else {
        Topo::new("stress")?
    };
    let rt = (case == StressCase::CpuRt).then(configs::rt_priority);
    let master = Daemon::start(
        &topo.lbs[0],
        daemon,
        &configs::same_with(0, "eth0", rt),
        vrrpd,
    )?;
    let ok = crate::trial::wait_until(Duration::from_secs(15), Duration::from_millis(10), || {
        topo.holds(0)
    });
    if !ok {
        bail!("lb0 did not take the VIP: {}", master.log_tail(20));
    }
    let backup = Daemon::start(
        &topo.lbs[1],
        daemon,
        &configs::same_with(1, "eth0", rt),
        vrrpd,
    )?;
    std::thread::sleep(SETTLE);
    if topo.holders() != [0] || !backup.is_running() {
        bail!(
            "not settled: holders {:?}; backup log:\n{}",
            topo.holders(),
            backup.log_tail(20)
        );
    }
    let before = (master.state_changes(), backup.state_changes());
    let log_len = (master.log().len(), backup.log().len());
    let vip = topo::vip_addr();
    let w0 = VipWatch::start(&topo.lbs[0], vip, POLL, bound)?;
    let w1 = VipWatch::start(&topo.lbs[1], vip, POLL, bound)?;
    r.detail = load(case, r.amount, &topo, &master, &backup)?;
    std::thread::sleep(AFTER);
    // Each watcher's first entry is the state it found (lb0 holding, lb1 not): not a move.
    let (ch0, ch1) = (w0.finish(), w1.finish());
    if ch0.first().is_some_and(|c| !c.1) || ch1.first().is_some_and(|c| c.1) {
        bail!(
            "not settled when the case started: {:?} {:?}",
            ch0.first(),
            ch1.first()
        );
    }
    let moves = [ch0, ch1]
        .iter()
        .map(|ch| ch.iter().skip(1).filter(|(_, h)| *h).count())
        .sum();
    let after = (master.state_changes(), backup.state_changes());
    r.vip_moves = moves;
    r.failovers = after.1 .0 - before.1 .0;
    r.transitions = (after.0 .1 - before.0 .1) + (after.1 .1 - before.1 .1);
    if r.transitions > 0 {
        for (who, d, from) in [
            ("master", &master, log_len.0),
            ("backup", &backup, log_len.1),
        ] {
            let log = d.log();
            let during = log.get(from..).unwrap_or("");
            r.changes.extend(
                during
                    .lines()
                    .filter(|l| l.contains("state change") || l.contains("Entering"))
                    .map(|l| format!("{who}: {}", l.trim())),
            );
        }
    }
    if let Some(relay) = &topo.relay {
        let st = relay.stats();
        r.detail = format!(
            "relay: {} frames, hold mean {:.1} ms, max {:.1} ms, {} dropped",
            st.forwarded,
            st.hold_mean_us / 1000.0,
            st.hold_max_us as f64 / 1000.0,
            st.dropped
        );
    }
    let timing =
        |d: &Daemon, key: &str| d.state()?["instances"][0]["timing"][key]["max_ever_us"].as_u64();
    r.send_late_max_us = timing(&master, "send_late");
    r.gap_excess_max_us = timing(&backup, "advert_gap_excess");
    if !quick && r.send_late_max_us.is_none() && daemon == DaemonKind::Vrrpd {
        eprintln!("    (no timing in vrrpd's state file yet)");
    }
    Ok(())
}

/// Applies the case's load; returns once it is over (bounded), with a line on what it did.
fn load(
    case: StressCase,
    amount: u64,
    topo: &Topo,
    master: &Daemon,
    backup: &Daemon,
) -> anyhow::Result<String> {
    Ok(match case {
        StressCase::Cpu | StressCase::CpuRt => {
            let secs = amount.to_string();
            let mut burners = Vec::new();
            for i in [0, 0, 1, 1] {
                let loop_ = ["sh", "-c", "while :; do :; done"];
                let args: Vec<&str> = [secs.as_str()].into_iter().chain(loop_).collect();
                burners.push(topo.lbs[i].spawn("burn", "timeout", &args)?);
            }
            for b in &burners {
                b.wait_timeout(Duration::from_secs(amount + 10));
            }
            format!("{} busy loops, load average {}", burners.len(), loadavg())
        }
        StressCase::Jitter => {
            std::thread::sleep(Duration::from_secs(amount));
            String::new()
        }
        StressCase::Multicast => {
            topo.client
                .ip(&["route", "add", "224.0.0.0/4", "dev", "eth0"])?;
            let dur = Duration::from_secs(amount);
            let sent = topo
                .client
                .spawn_thread(move || mcast_flood(dur))?
                .join()?
                .context("multicast sender")?;
            format!("{sent} datagrams sent")
        }
        StressCase::StopBackup => {
            backup.signal_group(Signal::SIGSTOP)?;
            std::thread::sleep(Duration::from_secs(1));
            backup.signal_group(Signal::SIGCONT)?;
            std::thread::sleep(Duration::from_secs(1));
            String::new()
        }
        StressCase::Reloads => {
            let logged = |d: &Daemon| d.log().to_lowercase().matches("reload").count();
            let l0 = logged(master);
            for _ in 0..amount {
                master.sighup()?;
                backup.sighup()?;
                std::thread::sleep(Duration::from_millis(10));
            }
            std::thread::sleep(Duration::from_secs(1));
            format!("master logged {} reload lines", logged(master) - l0)
        }
    })
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .to_string()
}

/// UDP to 239.255.42.1:9 (organisation-local scope), TTL 1: 50 datagrams every 10 ms for `dur`.
/// Returns the number sent.
fn mcast_flood(dur: Duration) -> std::io::Result<u64> {
    let s = UdpSocket::bind(("0.0.0.0", 0))?;
    s.set_multicast_ttl_v4(1)?;
    let payload = [0x5au8; 200];
    let t0 = Instant::now();
    let mut sent = 0u64;
    let mut tick = t0;
    while t0.elapsed() < dur {
        for _ in 0..50 {
            if s.send_to(&payload, ("239.255.42.1", 9)).is_ok() {
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
