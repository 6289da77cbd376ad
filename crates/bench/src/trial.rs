//! One trial: a fresh lab, the intended master then the backup, settle, client running, one
//! fault on the master, measurements.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::Serialize;

use crate::adverts::{self, AdvertCapture};
use crate::client::{self, Client};
use crate::configs::{self, ConfigKind, LB_PORT};
use crate::daemon::{Daemon, DaemonKind};
use crate::topo::{self, Topo};
use crate::vipwatch::{self, VipWatch};

/// The fault injected on the master.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// Cable pull: the master's bridge port goes down (the master loses carrier).
    LinkDown,
    /// SIGKILL of every process of the master daemon; the machine (and its VIP, LB) stay up.
    Sigkill,
    /// SIGTERM of the master daemon: a clean stop.
    Sigterm,
    /// The load balancer on the master dies (its listening socket closes); daemon stays up.
    LbDeath,
}

impl Scenario {
    /// Every scenario, in table order.
    pub const ALL: [Scenario; 4] = [
        Scenario::LinkDown,
        Scenario::Sigkill,
        Scenario::Sigterm,
        Scenario::LbDeath,
    ];

    /// Short label.
    pub fn label(self) -> &'static str {
        match self {
            Scenario::LinkDown => "master link down",
            Scenario::Sigkill => "master daemon SIGKILL",
            Scenario::Sigterm => "master daemon SIGTERM",
            Scenario::LbDeath => "LB death on master",
        }
    }
}

/// One trial to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    /// Configuration.
    pub config: ConfigKind,
    /// Fault.
    pub scenario: Scenario,
    /// Daemon on both hosts.
    pub daemon: DaemonKind,
    /// Repetition index.
    pub rep: u32,
}

/// Client timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Connect period.
    pub period: Duration,
    /// Connect timeout.
    pub connect_timeout: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            period: Duration::from_millis(5),
            connect_timeout: Duration::from_millis(20),
        }
    }
}

/// What one trial measured.
#[derive(Debug, Clone, Serialize)]
pub struct TrialResult {
    /// Configuration.
    pub config: ConfigKind,
    /// Fault.
    pub scenario: Scenario,
    /// Daemon.
    pub daemon: DaemonKind,
    /// Repetition index.
    pub rep: u32,
    /// Fault → the backup holds the VIP (ms); `None` if it never did within the bound.
    pub takeover_ms: Option<f64>,
    /// The master's last advert seen by the backup before the takeover → the backup holds the
    /// VIP (ms): detection time without the advert phase at the fault.
    pub since_last_advert_ms: Option<f64>,
    /// Fault → the old master no longer holds the VIP (ms); `None` if it kept it.
    pub release_ms: Option<f64>,
    /// Client-visible outage (ms): longest run of failed connects after the fault.
    pub outage_ms: f64,
    /// The outage had not ended when the client stopped.
    pub outage_open: bool,
    /// Failed / total connects after the fault.
    pub failures: usize,
    /// Total connects after the fault.
    pub attempts: usize,
    /// Why the trial produced no measurement.
    pub error: Option<String>,
}

impl TrialResult {
    fn failed(cell: &Cell, e: &anyhow::Error) -> Self {
        TrialResult {
            config: cell.config,
            scenario: cell.scenario,
            daemon: cell.daemon,
            rep: cell.rep,
            takeover_ms: None,
            since_last_advert_ms: None,
            release_ms: None,
            outage_ms: 0.0,
            outage_open: false,
            failures: 0,
            attempts: 0,
            error: Some(format!("{e:#}")),
        }
    }

    /// Did the trial measure something?
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }
}

/// How long the client runs before the fault.
const PRE_FAULT: Duration = Duration::from_millis(400);
/// Trials wait at most this long for the phase marker (a health-check connect or an advert) …
const PROBE_WAIT: Duration = Duration::from_secs(3);
/// … then strike this long after it did.
const PROBE_TO_FAULT: Duration = Duration::from_millis(50);
/// Other trials strike this long after a master advert reached the backup.
const ADVERT_TO_FAULT: Duration = Duration::from_millis(20);
/// Faults of successive repetitions are spread over this span after the settle time (the same
/// offset for both daemons), so periodic checks (1 s, 2 s) are hit at different phases instead of
/// always the same one.
pub const PHASE_SPREAD: Duration = Duration::from_secs(2);

/// The extra wait before the fault of repetition `rep` of `reps`.
pub fn phase_offset(rep: u32, reps: u32) -> Duration {
    PHASE_SPREAD * rep.min(reps) / reps.max(1)
}

/// How long the client keeps running after the backup took the VIP.
const TAIL: Duration = Duration::from_millis(700);
/// VIP poll period.
const WATCH_EVERY: Duration = Duration::from_millis(1);

/// Runs one trial; every namespace and process it made is gone when this returns.
/// `reps` is the number of repetitions of the run (it spreads the fault phase, see
/// [`phase_offset`]).
pub fn run_trial(cell: &Cell, reps: u32, timing: &Timing, vrrpd: &Path) -> TrialResult {
    match try_trial(cell, reps, timing, vrrpd) {
        Ok(r) => r,
        Err(e) => TrialResult::failed(cell, &e),
    }
}

fn wait_until(timeout: Duration, every: Duration, mut f: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    loop {
        if f() {
            return true;
        }
        if t0.elapsed() >= timeout {
            return false;
        }
        std::thread::sleep(every);
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn try_trial(cell: &Cell, reps: u32, timing: &Timing, vrrpd: &Path) -> anyhow::Result<TrialResult> {
    let mut topo = Topo::new("bench")?;
    let conf = |unit: u32| {
        configs::render(
            cell.config,
            cell.daemon,
            unit,
            "eth0",
            topo::lb_addr(unit as usize),
        )
    };
    let (conf0, conf1) = (conf(0)?, conf(1)?);
    // Master first, so that nopreempt configurations (ours) elect the intended unit.
    let mut master = Daemon::start(&topo.lbs[0], cell.daemon, &conf0, vrrpd)?;
    if !wait_until(Duration::from_secs(15), Duration::from_millis(10), || {
        topo.holds(0)
    }) {
        bail!(
            "lb0 did not take the VIP within 15 s; its log:\n{}",
            master.log_tail(20)
        );
    }
    let vip = topo::vip_addr();
    let bound = cell.config.settle()
        + PHASE_SPREAD
        + PRE_FAULT
        + PROBE_WAIT
        + PROBE_TO_FAULT
        + cell.config.failover_timeout()
        + TAIL
        + Duration::from_secs(1);
    // From before the backup starts, so the master's last advert before the fault is seen even
    // at v2's 1 s interval.
    let cap = AdvertCapture::start(&topo.lbs[1], topo::lb_addr(0), bound)?;
    let backup = Daemon::start(&topo.lbs[1], cell.daemon, &conf1, vrrpd)?;
    std::thread::sleep(cell.config.settle() + phase_offset(cell.rep, reps));
    let holders = topo.holders();
    if holders != [0] || !backup.is_running() || !master.is_running() {
        bail!(
            "not settled: VIP holders {holders:?} (want [0]), backup running {}; backup log:\n{}",
            backup.is_running(),
            backup.log_tail(20)
        );
    }

    let w0 = VipWatch::start(&topo.lbs[0], vip, WATCH_EVERY, bound)?;
    let w1 = VipWatch::start(&topo.lbs[1], vip, WATCH_EVERY, bound)?;
    let client = Client::start(
        &topo.client,
        SocketAddr::new(vip, LB_PORT),
        timing.period,
        timing.connect_timeout,
        bound,
    )?;
    std::thread::sleep(PRE_FAULT);
    if cell.scenario != Scenario::LbDeath {
        // Strike ADVERT_TO_FAULT after a master advert reached the backup, for every daemon
        // alike, so "fault → takeover" is not decided by where the fault fell in the advert
        // interval (a uniformly random 0 .. interval otherwise).
        if cap.wait_next(Instant::now(), PROBE_WAIT).is_some() {
            std::thread::sleep(ADVERT_TO_FAULT);
        }
    } else {
        // Strike PROBE_TO_FAULT after the master's health check last connected to its load
        // balancer, for every daemon alike: otherwise the detection time is decided by where
        // the fault happens to fall in each daemon's check period (0 .. interval), not by the
        // daemon. A daemon whose check learns of the death by itself (`watch`) is unaffected.
        let lb = topo.listeners.first().context("no listener on lb0")?;
        if lb.wait_local_probe(Instant::now(), PROBE_WAIT).is_some() {
            std::thread::sleep(PROBE_TO_FAULT);
        }
    }

    let fault = Instant::now();
    match cell.scenario {
        Scenario::LinkDown => topo.lbs[0].set_cable(false)?,
        Scenario::Sigkill => master.sigkill()?,
        Scenario::Sigterm => master.sigterm()?,
        Scenario::LbDeath => topo
            .listeners
            .first_mut()
            .context("no listener on lb0")?
            .kill(),
    }
    let took = wait_until(
        cell.config.failover_timeout(),
        Duration::from_millis(1),
        || w1.held_now(),
    );
    std::thread::sleep(TAIL);
    let attempts = client.finish();
    let ch0 = w0.finish();
    let ch1 = w1.finish();
    let adverts = cap.finish()?;

    let out = client::outage(&attempts, fault, timing.period);
    if out.attempts_before == 0 || out.failures_before > 0 {
        bail!(
            "client could not connect steadily before the fault ({} of {} failed)",
            out.failures_before,
            out.attempts_before
        );
    }
    let taken_at = vipwatch::first_held_since(&ch1, fault);
    let takeover = taken_at.map(|t| ms(t - fault));
    let since_last_advert = taken_at.and_then(|t| {
        adverts::last_before(&adverts, t).map(|a| ms(t.saturating_duration_since(a)))
    });
    let release = ch0
        .iter()
        .find(|(t, h)| *t >= fault && !*h)
        .map(|(t, _)| ms(*t - fault));
    let error = (!took).then(|| {
        format!(
            "no takeover within {:?}; backup log:\n{}",
            cell.config.failover_timeout(),
            backup.log_tail(15)
        )
    });
    drop(master);
    drop(backup);
    Ok(TrialResult {
        config: cell.config,
        scenario: cell.scenario,
        daemon: cell.daemon,
        rep: cell.rep,
        takeover_ms: takeover,
        since_last_advert_ms: since_last_advert,
        release_ms: release,
        outage_ms: out.ms,
        outage_open: out.open,
        failures: out.failures,
        attempts: out.attempts,
        error,
    })
}
