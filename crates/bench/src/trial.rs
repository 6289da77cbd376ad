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
    /// The machine vanishes: every process of the master's namespace SIGKILLed at once (daemon,
    /// its checks) and the load balancer with them, then its interface deleted. (`ip netns del`
    /// would not do it: it only unmounts the name; the namespace, its interfaces and processes
    /// live on while a process is in it.)
    MachineGone,
    /// SIGKILL of every process of the master daemon; the machine (and its VIP, LB) stay up.
    Sigkill,
    /// SIGTERM of the master daemon: a clean stop.
    Sigterm,
    /// The load balancer on the master dies (its listening socket closes); daemon stays up.
    LbDeath,
    /// The master machine paused for [`PAUSE`] (a VM paused): every process of its namespace
    /// SIGSTOPped and its bridge port forwarding nothing (carrier stays up, no link event), then
    /// both resumed at once. The backup should take over; at resume the old master, with the
    /// higher priority, takes the VIP back (a second move, counted).
    Sigstop,
}

impl Scenario {
    /// Every scenario, in table order.
    pub const ALL: [Scenario; 6] = [
        Scenario::LinkDown,
        Scenario::MachineGone,
        Scenario::Sigkill,
        Scenario::Sigterm,
        Scenario::LbDeath,
        Scenario::Sigstop,
    ];

    /// Short label.
    pub fn label(self) -> &'static str {
        match self {
            Scenario::LinkDown => "master link down",
            Scenario::MachineGone => "master machine gone",
            Scenario::Sigkill => "master daemon SIGKILL",
            Scenario::Sigterm => "master daemon SIGTERM",
            Scenario::LbDeath => "LB death on master",
            Scenario::Sigstop => "master paused 1 s (SIGSTOP)",
        }
    }
}

/// How long the [`Scenario::Sigstop`] master stays paused.
pub const PAUSE: Duration = Duration::from_secs(1);

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
    /// [`Scenario::Sigstop`]: changes of the VIP holder set after the resume (a host taking or
    /// dropping it); 1 when the backup simply dropped it again.
    pub resume_moves: Option<usize>,
    /// [`Scenario::Sigstop`]: who held the VIP when the trial ended (`lb0` = the old master).
    pub resume_holder: Option<String>,
    /// [`Scenario::Sigstop`]: the longest run of failed connects starting after the resume (ms).
    pub resume_outage_ms: Option<f64>,
    /// vrrpd with an adaptive interval: the master's interval when the fault struck (ms).
    pub interval_ms: Option<u64>,
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
            resume_moves: None,
            resume_holder: None,
            resume_outage_ms: None,
            interval_ms: None,
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
/// At most this long for an adaptive master to reach its floor (100 → 30 ms takes 20 s).
const ADAPT_WAIT: Duration = Duration::from_secs(35);
/// After a pause, how long to wait for the old master to hold the VIP alone again.
const RESUME_WAIT: Duration = Duration::from_secs(2);
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

/// Polls `f` every `every` until it holds or `timeout` passed; whether it held.
pub(crate) fn wait_until(timeout: Duration, every: Duration, mut f: impl FnMut() -> bool) -> bool {
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

/// A settled pair in a fresh lab, the advert capture and the trial's time bound.
struct Setup {
    // Field order is drop order: daemons before the lab.
    master: Daemon,
    backup: Daemon,
    cap: AdvertCapture,
    bound: Duration,
    /// The adaptive master's interval when the fault struck (ms), `None` if fixed.
    interval_ms: Option<u64>,
    topo: Topo,
}

/// Builds the lab, starts the intended master, then (capture running) the backup; settles.
fn setup(cell: &Cell, reps: u32, vrrpd: &Path) -> anyhow::Result<Setup> {
    let topo = Topo::new("bench")?;
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
    let master = Daemon::start(&topo.lbs[0], cell.daemon, &conf0, vrrpd)?;
    if !wait_until(Duration::from_secs(15), Duration::from_millis(10), || {
        topo.holds(0)
    }) {
        bail!(
            "lb0 did not take the VIP within 15 s; its log:\n{}",
            master.log_tail(20)
        );
    }
    let bound = cell.config.settle()
        + ADAPT_WAIT
        + PHASE_SPREAD
        + PRE_FAULT
        + PROBE_WAIT
        + PROBE_TO_FAULT
        + cell.config.failover_timeout()
        + PAUSE
        + RESUME_WAIT
        + TAIL
        + Duration::from_secs(1);
    // From before the backup starts, so the master's last advert before the fault is seen even
    // at v2's 1 s interval.
    let cap = AdvertCapture::start(&topo.lbs[1], topo::lb_addr(0), bound)?;
    let backup = Daemon::start(&topo.lbs[1], cell.daemon, &conf1, vrrpd)?;
    let t0 = Instant::now();
    // An adaptive master starts at its ceiling and steps down once per clean window: strike at
    // the interval it settles on (the charm's defaults), then the usual settle and phase.
    let interval_ms = master.wait_interval_settled(ADAPT_WAIT);
    let rest = cell.config.settle().saturating_sub(t0.elapsed());
    std::thread::sleep(rest + phase_offset(cell.rep, reps));
    let holders = topo.holders();
    if holders != [0] || !backup.is_running() || !master.is_running() {
        bail!(
            "not settled: VIP holders {holders:?} (want [0]), backup running {}; backup log:\n{}",
            backup.is_running(),
            backup.log_tail(20)
        );
    }
    Ok(Setup {
        master,
        backup,
        cap,
        bound,
        interval_ms,
        topo,
    })
}

/// Waits for the phase marker of `scenario` so every daemon is struck at the same phase.
fn strike_phase(scenario: Scenario, s: &Setup) -> anyhow::Result<()> {
    if scenario != Scenario::LbDeath {
        // Strike ADVERT_TO_FAULT after a master advert reached the backup, for every daemon
        // alike, so "fault → takeover" is not decided by where the fault fell in the advert
        // interval (a uniformly random 0 .. interval otherwise).
        if s.cap.wait_next(Instant::now(), PROBE_WAIT).is_some() {
            std::thread::sleep(ADVERT_TO_FAULT);
        }
    } else {
        // Strike PROBE_TO_FAULT after the master's health check last connected to its load
        // balancer, for every daemon alike: otherwise the detection time is decided by where
        // the fault happens to fall in each daemon's check period (0 .. interval), not by the
        // daemon. A daemon whose check learns of the death by itself (`watch`) is unaffected.
        let lb = s.topo.listeners.first().context("no listener on lb0")?;
        if lb.wait_local_probe(Instant::now(), PROBE_WAIT).is_some() {
            std::thread::sleep(PROBE_TO_FAULT);
        }
    }
    Ok(())
}

/// Resumes a paused host on drop (also when a trial fails half-way).
struct Paused<'a>(&'a netlab::Host);

impl Drop for Paused<'_> {
    fn drop(&mut self) {
        let _ = self.0.set_forwarding(true);
        self.0.signal_all(netlab::Signal::SIGCONT);
    }
}

/// Injects the fault (every scenario but [`Scenario::Sigstop`]).
fn inject(scenario: Scenario, s: &mut Setup) -> anyhow::Result<()> {
    let lb0 = &s.topo.lbs[0];
    match scenario {
        Scenario::LinkDown => lb0.set_cable(false)?,
        Scenario::MachineGone => {
            // The daemon first (keepalived's VRRP child before its parent: see `sigkill`), then
            // whatever else runs there, the link, and the load balancer (a thread of ours in
            // that namespace: closing its sockets after the link is gone sends nothing).
            s.master.sigkill()?;
            lb0.kill_all();
            lb0.delete_interface()?;
            s.topo
                .listeners
                .first_mut()
                .context("no listener on lb0")?
                .kill();
        }
        Scenario::Sigkill => s.master.sigkill()?,
        Scenario::Sigterm => s.master.sigterm()?,
        Scenario::LbDeath => s
            .topo
            .listeners
            .first_mut()
            .context("no listener on lb0")?
            .kill(),
        Scenario::Sigstop => bail!("Sigstop is not a one-shot fault"),
    }
    Ok(())
}

/// What the watchers and the client saw, with the fault (and resume) times.
struct Seen {
    took: bool,
    fault: Instant,
    resume: Option<Instant>,
    attempts: Vec<client::Attempt>,
    ch0: Vec<(Instant, bool)>,
    ch1: Vec<(Instant, bool)>,
    adverts: Vec<Instant>,
}

fn try_trial(cell: &Cell, reps: u32, timing: &Timing, vrrpd: &Path) -> anyhow::Result<TrialResult> {
    let mut s = setup(cell, reps, vrrpd)?;
    let vip = topo::vip_addr();
    let w0 = VipWatch::start(&s.topo.lbs[0], vip, WATCH_EVERY, s.bound)?;
    let w1 = VipWatch::start(&s.topo.lbs[1], vip, WATCH_EVERY, s.bound)?;
    let client = Client::start(
        &s.topo.client,
        SocketAddr::new(vip, LB_PORT),
        timing.period,
        timing.connect_timeout,
        s.bound,
    )?;
    std::thread::sleep(PRE_FAULT);
    strike_phase(cell.scenario, &s)?;
    let fault = Instant::now();
    let failover_timeout = cell.config.failover_timeout();
    let (took, resume) = if cell.scenario == Scenario::Sigstop {
        let lb0 = s.topo.lbs[0].clone();
        lb0.signal_all(netlab::Signal::SIGSTOP);
        let paused = Paused(&lb0);
        lb0.set_forwarding(false)?;
        let took = wait_until(
            PAUSE.min(failover_timeout),
            Duration::from_millis(1),
            || w1.held_now(),
        );
        std::thread::sleep(PAUSE.saturating_sub(fault.elapsed()));
        let resume = Instant::now();
        drop(paused);
        wait_until(RESUME_WAIT, Duration::from_millis(1), || {
            w0.held_now() && !w1.held_now()
        });
        (took, Some(resume))
    } else {
        inject(cell.scenario, &mut s)?;
        let took = wait_until(failover_timeout, Duration::from_millis(1), || w1.held_now());
        (took, None)
    };
    std::thread::sleep(TAIL);
    let backup_log = s.backup.log_tail(15);
    let Setup {
        master,
        backup,
        cap,
        topo,
        interval_ms,
        ..
    } = s;
    let seen = Seen {
        took,
        fault,
        resume,
        attempts: client.finish(),
        ch0: w0.finish(),
        ch1: w1.finish(),
        adverts: cap.finish()?,
    };
    drop((master, backup));
    drop(topo);
    let mut r = result(cell, timing, &seen, failover_timeout, &backup_log)?;
    r.interval_ms = interval_ms;
    Ok(r)
}

/// The trial's numbers from what was seen.
fn result(
    cell: &Cell,
    timing: &Timing,
    seen: &Seen,
    failover_timeout: Duration,
    backup_log: &str,
) -> anyhow::Result<TrialResult> {
    let fault = seen.fault;
    let out = client::outage_between(&seen.attempts, fault, seen.resume, timing.period);
    if out.attempts_before == 0 || out.failures_before > 0 {
        bail!(
            "client could not connect steadily before the fault ({} of {} failed)",
            out.failures_before,
            out.attempts_before
        );
    }
    let taken_at = vipwatch::first_held_since(&seen.ch1, fault);
    let takeover = taken_at.map(|t| ms(t - fault));
    let since_last_advert = taken_at.and_then(|t| {
        adverts::last_before(&seen.adverts, t).map(|a| ms(t.saturating_duration_since(a)))
    });
    let release = seen
        .ch0
        .iter()
        .find(|(t, h)| *t >= fault && !*h)
        .map(|(t, _)| ms(*t - fault));
    // A paused master that no backup replaced within the pause is a result, not a failure.
    let error = (!seen.took && cell.scenario != Scenario::Sigstop)
        .then(|| format!("no takeover within {failover_timeout:?}; backup log:\n{backup_log}"));
    let resume_holder = seen.resume.map(|_| {
        let end = Instant::now();
        let held = |ch: &[(Instant, bool)]| vipwatch::held_at(ch, end);
        match (held(&seen.ch0), held(&seen.ch1)) {
            (true, false) => "lb0",
            (false, true) => "lb1",
            (true, true) => "both",
            (false, false) => "none",
        }
        .to_string()
    });
    let (resume_moves, resume_outage_ms) = match seen.resume {
        Some(r) => {
            let moves = [&seen.ch0, &seen.ch1]
                .iter()
                .map(|ch| ch.iter().filter(|(t, _)| *t > r).count())
                .sum();
            let after = client::outage_between(&seen.attempts, r, None, Duration::ZERO);
            (Some(moves), Some(after.ms))
        }
        None => (None, None),
    };
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
        resume_moves,
        resume_holder,
        resume_outage_ms,
        interval_ms: None,
        error,
    })
}
