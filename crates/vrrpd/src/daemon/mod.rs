//! The event loop: one task owns every `vrrp::Instance` and feeds it inputs from the socket
//! receive tasks, the health-check tasks, the netlink monitor, signals and the earliest
//! `poll_timeout()`; the actions it returns are carried out here, in order, at the edge.
//!
//! Task layout: `run` (this loop) ← mpsc ← one receive task per instance socket, one task per
//! health check, the netlink monitor stream, one signal task, the advert pacer; its deadlines
//! are one timerfd (`timer.rs`), re-armed only when the earliest one changes. The timers of
//! MASTER instances (their periodic adverts) run on the pacer's thread (`pacer.rs`), which
//! shares each instance's core with this loop and hands back what only the loop can do.

mod checks;
mod edge;
mod instance;
mod pacer;
mod reload;
mod table;
#[cfg(test)]
mod testing;
mod timer;
mod timing;
mod watch;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use crate::health::CheckEvent;
use crate::ratelimit::{RateLimiter, DEFAULT_WINDOW};
use crate::spec::TrackSource;
use crate::statefile::{InstanceRecord, StateWriter};

use crate::net::{Monitor, NetEvent};
pub(crate) use edge::Edge;
use edge::RxEvent;
use instance::Running;
use table::Instances;

/// How long the final forced shutdown (after the handoff phase) may take before we exit anyway.
const SHUTDOWN_BOUND: Duration = Duration::from_secs(3);
/// A Master_Down timer this late means the worker itself did not run (see
/// `Daemon::stalled`): several times the ~1 ms tokio timers are late on an idle machine and
/// 5 ms at p99 under load (README, issue 13), below every Master_Down_Interval (≥ 30 ms). A
/// backup that was not stalled fails over exactly as before.
const STALL: Duration = Duration::from_millis(25);
/// How long timers wait after a stall for the queued packets to be read.
const STALL_GRACE: Duration = Duration::from_millis(5);
/// Slack on top of the longest handoff bound before the handoff phase gives up.
const HANDOFF_SLACK: Duration = Duration::from_millis(200);

/// Everything the loop owns.
pub(crate) struct Daemon {
    edge: Edge,
    running: Instances,
    checks: checks::Checks,
    rx_tx: mpsc::Sender<RxEvent>,
    next_sock_id: u64,
    state: StateWriter,
    /// `--state-file` was given: without it no snapshot is built at all.
    state_on: bool,
    state_due: Option<Instant>,
    /// A role changed since the state file was last offered.
    urgent: bool,
    drops_log: RateLimiter<(String, &'static str)>,
    /// Link state of interfaces followed by `track_interface`, by name.
    links: HashMap<String, bool>,
    /// `--metrics-listen` (wins over the configuration).
    metrics_flag: Option<SocketAddr>,
    /// The running metrics endpoint, if any.
    metrics: Option<crate::metrics::Endpoint>,
    metrics_tx: mpsc::Sender<crate::metrics::Request>,
    /// ARP/NA address-conflict watches (`watch.rs`).
    watches: watch::Watches,
    /// After a stall: timers wait until then (see `stalled`).
    stall_grace: Option<Instant>,
    /// The loop thread's scheduling (`vrrp_rt_priority`, see `crate::sched`); the pacer's
    /// thread follows it.
    sched: crate::sched::Sched,
    /// The thread that runs masters' timers (`pacer.rs`).
    pacer: pacer::Pacer,
}

/// The signals the loop handles.
struct Signals {
    term: Signal,
    int: Signal,
    hup: Signal,
    /// RLIMIT_RTTIME's soft limit (only while SCHED_RR); without a handler it would kill.
    xcpu: Signal,
}

impl Signals {
    fn new() -> anyhow::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate()).context("SIGTERM handler")?,
            int: signal(SignalKind::interrupt()).context("SIGINT handler")?,
            hup: signal(SignalKind::hangup()).context("SIGHUP handler")?,
            xcpu: signal(SignalKind::from_raw(libc::SIGXCPU)).context("SIGXCPU handler")?,
        })
    }

    /// One task waits for all four and forwards them on one channel: the loop polls one
    /// receiver per wake-up instead of four signal streams (each re-building its future).
    fn spawn(mut self) -> mpsc::Receiver<Wake> {
        let (tx, rx) = mpsc::channel(8);
        tokio::spawn(async move {
            loop {
                let w = tokio::select! {
                    _ = self.term.recv() => Wake::Stop("SIGTERM"),
                    _ = self.int.recv() => Wake::Stop("SIGINT"),
                    _ = self.hup.recv() => Wake::Reload,
                    _ = self.xcpu.recv() => Wake::CpuLimit,
                };
                if tx.send(w).await.is_err() {
                    return;
                }
            }
        });
        rx
    }
}

/// Where the loop's inputs come from.
struct Sources {
    /// From the signal task: `Stop`, `Reload` or `CpuLimit` only.
    signals: mpsc::Receiver<Wake>,
    timer: timer::LoopTimer,
    monitor: Monitor,
    rx: mpsc::Receiver<RxEvent>,
    checks: mpsc::Receiver<CheckEvent>,
    metrics: mpsc::Receiver<crate::metrics::Request>,
    watch: mpsc::Receiver<crate::net::watch::WatchEvent>,
}

/// One thing that woke the loop.
enum Wake {
    /// SIGTERM or SIGINT (its name).
    Stop(&'static str),
    Reload,
    /// SIGXCPU: the loop ran half its `vrrp_rlimit_rttime` without blocking.
    CpuLimit,
    Net(NetEvent),
    Packet(RxEvent),
    Check(CheckEvent),
    Metrics(crate::metrics::Request),
    Watch(crate::net::watch::WatchEvent),
    /// The advert pacer left actions for the loop.
    Paced,
    Timer,
}

/// Running normally, or leaving: handoffs under way until every instance stopped or `deadline`.
#[derive(Clone, Copy)]
enum Phase {
    Running,
    Leaving { deadline: Instant },
}

impl Sources {
    /// Wait for the next input, or for `wake`.
    async fn next(&mut self, wake: Option<Instant>, pacer: &pacer::Pacer) -> Wake {
        // A deadline already due (it came due while the loop was busy, e.g. the next of many
        // instances) is not put on the timerfd: a 1 ns timer still sleeps in epoll until the
        // hrtimer fires, a context switch per instance (100 instances: ~170 a second where
        // tokio's timer had ~31). Yield instead (the reactor is polled without sleeping), then
        // take it unless another input is ready.
        let due = wake.is_some_and(|t| t <= Instant::now());
        if due {
            self.timer.set(None);
            tokio::task::yield_now().await;
        } else {
            self.timer.set(wake);
        }
        // In this order, each branch polled only when those before it are pending: a master's
        // timer wake polls two, a backup's advert three. No source starves the later ones:
        // all are fed on this thread, so a channel refills only while the loop waits, and
        // tokio's cooperative budget makes a long-ready receiver pending after 128 items.
        tokio::select! {
            biased;
            Some(w) = self.signals.recv() => w,
            () = self.timer.wait(), if wake.is_some() && !due => Wake::Timer,
            () = pacer.handed_off() => Wake::Paced,
            Some(ev) = self.rx.recv() => Wake::Packet(ev),
            Some(ev) = self.monitor.next() => Wake::Net(ev),
            Some(ev) = self.checks.recv() => Wake::Check(ev),
            Some(req) = self.metrics.recv() => Wake::Metrics(req),
            Some(ev) = self.watch.recv() => Wake::Watch(ev),
            () = std::future::ready(()), if due => Wake::Timer,
        }
    }
}

fn load_spec(config: &std::path::Path) -> anyhow::Result<crate::spec::DaemonSpec> {
    match crate::check::load(config) {
        Ok((spec, warnings)) => {
            for w in warnings {
                warn!(diagnostic = %w, "configuration warning");
            }
            Ok(spec)
        }
        Err((errors, _)) => anyhow::bail!("invalid configuration:\n{}", errors.join("\n")),
    }
}

/// Run the daemon until SIGTERM/SIGINT (and the handoffs that follow).
pub async fn run(
    config: PathBuf,
    state_file: Option<PathBuf>,
    transitions_file: Option<PathBuf>,
    metrics_listen: Option<SocketAddr>,
) -> anyhow::Result<()> {
    let spec = load_spec(&config)?;
    let edge = Edge::new().await.context("netlink")?;
    let (rx_tx, rx) = mpsc::channel::<RxEvent>(1024);
    let (check_tx, checks) = mpsc::channel::<CheckEvent>(256);
    let (metrics_tx, metrics) = mpsc::channel::<crate::metrics::Request>(4);
    let (watch_tx, watch) = mpsc::channel(256);
    let mut sources = Sources {
        signals: Signals::new()?.spawn(),
        timer: timer::LoopTimer::new().context("timerfd")?,
        monitor: edge.monitor().await?,
        rx,
        checks,
        metrics,
        watch,
    };
    let mut d = Daemon {
        edge,
        running: Instances::default(),
        checks: checks::Checks::new(check_tx),
        rx_tx,
        next_sock_id: 0,
        state_on: state_file.is_some(),
        state: StateWriter::with_transitions(state_file, transitions_file),
        state_due: None,
        urgent: true,
        drops_log: RateLimiter::new(DEFAULT_WINDOW),
        links: HashMap::new(),
        metrics_flag: metrics_listen,
        metrics: None,
        metrics_tx,
        watches: watch::Watches::new(watch_tx),
        stall_grace: None,
        sched: crate::sched::Sched::default(),
        pacer: pacer::Pacer::start().context("advert pacer thread")?,
    };
    d.set_metrics(spec.metrics_listen);
    info!(config = %config.display(), instances = spec.instances.len(), "vrrpd starting");
    let sched = spec.sched;
    d.apply(spec).await;
    d.sync_watches().await;
    // Like keepalived: raised once started (start-up work runs at normal priority).
    d.set_sched(&sched);
    d.offer_state();
    d.event_loop(&mut sources, &config).await;
    if tokio::time::timeout(SHUTDOWN_BOUND, d.shutdown_all())
        .await
        .is_err()
    {
        error!("graceful shutdown took longer than {SHUTDOWN_BOUND:?}; exiting anyway");
    }
    d.urgent = true;
    d.offer_state();
    info!("vrrpd stopped");
    Ok(())
}

impl Daemon {
    /// The loop: until SIGTERM/SIGINT, then (make-before-break) masters send priority 0 but
    /// keep their VIPs until a new master advertises (or their handoff bound) while the loop
    /// keeps receiving, until every instance stopped, the deadline, or a second signal.
    async fn event_loop(&mut self, sources: &mut Sources, config: &std::path::Path) {
        let mut phase = Phase::Running;
        loop {
            let wake = match phase {
                Phase::Running => self.next_wake(),
                Phase::Leaving { deadline } => {
                    Some(self.next_wake().map_or(deadline, |t| t.min(deadline)))
                }
            };
            let woke = sources.next(wake, &self.pacer).await;
            match (woke, phase) {
                (Wake::Stop(sig), Phase::Running) => {
                    info!("{sig}: shutting down");
                    let deadline = Instant::now() + self.leave_all().await + HANDOFF_SLACK;
                    phase = Phase::Leaving { deadline };
                }
                (Wake::Stop(sig), Phase::Leaving { .. }) => {
                    warn!("second {sig}: releasing now");
                    return;
                }
                (Wake::Reload, Phase::Running) => self.reload(config).await,
                (Wake::Reload, Phase::Leaving { .. }) => info!("SIGHUP while stopping: ignored"),
                (Wake::CpuLimit, _) => warn!(
                    rlimit_rttime_us = self.sched.state().rlimit_rttime_us,
                    "SIGXCPU: the event loop ran half its vrrp_rlimit_rttime at real-time \
                     priority without blocking; at the full limit the kernel kills it"
                ),
                (Wake::Net(ev), _) => {
                    if ev == NetEvent::Resync {
                        self.reseed(&mut sources.monitor).await;
                    }
                    self.on_net(ev).await;
                }
                (Wake::Packet(ev), _) => self.on_packet(ev).await,
                (Wake::Check(ev), _) => self.on_check(ev).await,
                (Wake::Metrics(req), _) => {
                    let _ = req.send(self.render_metrics());
                }
                (Wake::Watch(ev), _) => self.on_watch(ev),
                (Wake::Paced, _) => {
                    for p in self.pacer.take_handoffs() {
                        self.on_paced(p).await;
                    }
                }
                (Wake::Timer, _) => {
                    if !self.stalled() {
                        if self.watches.next_due().is_some_and(|t| t <= Instant::now()) {
                            self.read_before_judging(sources).await;
                        }
                        // Packets already received go first, at their arrival times.
                        while let Ok(ev) = sources.rx.try_recv() {
                            self.on_packet(ev).await;
                        }
                        self.on_timer().await;
                    }
                }
            }
            match phase {
                Phase::Running => {
                    self.reap_retired();
                    self.offer_state();
                }
                Phase::Leaving { deadline } => {
                    self.offer_state();
                    if self.all_stopped() || Instant::now() >= deadline {
                        return;
                    }
                }
            }
        }
    }

    /// A deferred address claim is due: it is judged on everything that reached the host
    /// before, so the sockets are read first. After the loop could not run (stopped, starved,
    /// blocked), the due timer and the queued frames are ready together, and the timer branch
    /// wins before the reader tasks have run: a new master's own GARP, judged against the
    /// stale MASTER role while its adverts sat unread, became a false `address_conflict`
    /// (tests/scenario_addr_conflict.rs). Yielding once lets the reactor poll the sockets and
    /// the readers queue what they hold; the watch's events (VRRP source MACs) are taken here,
    /// the adverts by the caller. Only when a claim is due: a claim from a foreign MAC is rare.
    async fn read_before_judging(&mut self, sources: &mut Sources) {
        tokio::task::yield_now().await;
        while let Ok(ev) = sources.watch.try_recv() {
            self.on_watch(ev);
        }
    }

    /// Whether this timer wake comes after a stall of the worker (SIGSTOP, a paused VM,
    /// starvation): a BACKUP's due Master_Down timer more than [`STALL`] late (a master's
    /// adverts are never held back). Then the timers wait [`STALL_GRACE`]
    /// more while the loop reads what the sockets queued meanwhile, fed at the kernel's
    /// receive times: a master that kept advertising re-arms Master_Down before it is checked
    /// (the adverts are there, only unread). Measured (tests/stress.rs): without it a backup
    /// stopped for 1 s took over on SIGCONT and yielded on the next advert.
    fn stalled(&mut self) -> bool {
        let now = Instant::now();
        if let Some(g) = self.stall_grace {
            if now < g {
                return true;
            }
            self.stall_grace = None;
            return false;
        }
        let late = self
            .running
            .values()
            .filter_map(|r| {
                let c = r.core();
                (c.inst.state() == vrrp::State::Backup)
                    .then(|| c.inst.poll_timeout())
                    .flatten()
            })
            .filter(|t| *t <= now)
            .map(|t| now - t)
            .max();
        if late.is_some_and(|l| l > STALL) {
            self.stall_grace = Some(now + STALL_GRACE);
            return true;
        }
        false
    }

    /// After lost events the monitor's link table is stale (a lost "up" leaves it saying
    /// "down", so the next real "down" would be no transition): refill it from a fresh dump.
    async fn reseed(&self, monitor: &mut Monitor) {
        match self.edge.links().await {
            Ok(links) => monitor.seed(&links),
            Err(e) => warn!(error = %e, "cannot re-read links after lost netlink events"),
        }
    }

    fn next_wake(&self) -> Option<Instant> {
        if self.stall_grace.is_some() {
            return self.stall_grace;
        }
        // A master's timers are the pacer's.
        self.running
            .values()
            .filter_map(|r| {
                let c = r.core();
                (c.inst.state() != vrrp::State::Master)
                    .then(|| c.inst.poll_timeout())
                    .flatten()
            })
            .chain(self.state_due)
            .chain(self.watches.next_due())
            .min()
    }

    /// The instances shown in the state file and metrics: a retiring instance only while no
    /// live instance has its name.
    fn visible(&self) -> impl Iterator<Item = &Running> {
        let live = |name: &str| {
            self.running
                .values()
                .any(|o| !o.retiring && o.spec.core.name == name)
        };
        self.running
            .values()
            .filter(move |r| !r.retiring || !live(&r.spec.core.name))
    }

    /// (Re)start or stop the metrics endpoint: the flag wins over the configuration.
    fn set_metrics(&mut self, configured: Option<SocketAddr>) {
        let want = self.metrics_flag.or(configured);
        if self.metrics.as_ref().map(|m| m.addr) == want && want.is_some_and(|w| w.port() != 0) {
            return;
        }
        self.metrics = None;
        if let Some(addr) = want {
            match crate::metrics::Endpoint::start(addr, self.metrics_tx.clone()) {
                Ok(m) => {
                    info!(listen = %m.addr, "serving Prometheus metrics at /metrics");
                    self.metrics = Some(m);
                }
                Err(e) => error!(listen = %addr, error = %e, "cannot serve metrics"),
            }
        }
    }

    fn render_metrics(&self) -> String {
        let statuses: Vec<(vrrp::InstanceStatus, &str, vrrp::Timing)> = self
            .visible()
            .map(|r| {
                let c = r.core();
                let status = c.inst.status();
                let timing = c.lateness.export(&status);
                (status, r.spec.interface.as_str(), timing)
            })
            .collect();
        let samples: Vec<crate::metrics::render::Sample<'_>> = statuses
            .iter()
            .map(
                |(status, interface, timing)| crate::metrics::render::Sample {
                    status,
                    interface,
                    timing: *timing,
                },
            )
            .collect();
        let mut out = crate::metrics::render::render(&samples, crate::metrics::render::rss_bytes());
        crate::metrics::render::scheduling(&mut out, self.sched.state());
        out
    }

    fn offer_state(&mut self) {
        if !self.state_on {
            // The writer would drop it; and with no write pending `state_due` stays `None`,
            // so the snapshot was built at every wake-up (every advert) for nothing.
            self.urgent = false;
            return;
        }
        let now = Instant::now();
        if let Some(due) = self.state_due {
            if due > now && !self.urgent {
                return;
            }
        }
        let states: Vec<InstanceRecord> = self
            .visible()
            .map(|r| {
                let c = r.core();
                let status = c.inst.status();
                let timing = c.lateness.export(&status);
                let mut rec =
                    InstanceRecord::from_status(status, &r.spec.interface, r.conflicts.entries());
                rec.timing = timing;
                rec
            })
            .collect();
        let due = self.state.offer(now, states, self.urgent);
        // A master's adverts (the pacer's) change its counters and timing without waking the
        // loop: look again after the writer's minimum interval, as when the loop sent them.
        let paced = self
            .running
            .values()
            .any(|r| r.state() == vrrp::State::Master);
        self.state_due = due.or_else(|| paced.then(|| now + crate::statefile::MIN_INTERVAL));
        self.urgent = false;
    }

    /// Applies the scheduling keywords to this (the loop's) thread and the pacer's; the state
    /// file follows.
    fn set_sched(&mut self, want: &kaconf::SchedDefs) {
        self.sched.apply(want);
        self.mirror_sched();
        self.state.set_scheduling(self.sched.state().clone());
        self.urgent = true;
    }

    async fn reload(&mut self, config: &std::path::Path) {
        info!("SIGHUP: reloading configuration");
        match crate::check::load(config) {
            Ok((spec, warnings)) => {
                for w in warnings {
                    warn!(diagnostic = %w, "configuration warning");
                }
                self.set_metrics(spec.metrics_listen);
                let sched = spec.sched;
                // keepalived reloads at standard scheduling, then raises it again.
                self.sched.reset();
                self.mirror_sched();
                self.apply(spec).await;
                self.sync_watches().await;
                self.set_sched(&sched);
                self.urgent = true;
                info!(instances = self.running.len(), "configuration reloaded");
            }
            Err((errors, _)) => {
                for e in errors {
                    error!(diagnostic = %e, "reload refused, keeping the running configuration");
                }
            }
        }
    }

    /// Planned stop of every instance (`Input::Leave`); returns the longest handoff bound.
    async fn leave_all(&mut self) -> Duration {
        let mut bound = Duration::ZERO;
        for id in self.running.ids() {
            let Some(r) = self.running.get_mut(id) else {
                continue;
            };
            r.retiring = true;
            {
                let c = r.core();
                if c.inst.state() == vrrp::State::Master {
                    bound = bound.max(c.inst.config().handoff_bound());
                }
            }
            self.feed(id, vrrp::Input::Leave).await;
        }
        self.urgent = true;
        bound
    }

    /// Every instance has stopped (handoffs finished).
    fn all_stopped(&self) -> bool {
        self.running
            .values()
            .all(|r| r.state() == vrrp::State::Init)
    }

    /// Drop retiring instances that have finished their handoff.
    fn reap_retired(&mut self) {
        let before = self.running.len();
        self.running.retain(|r| {
            let done = r.retiring && r.state() == vrrp::State::Init;
            if done {
                r.close_socket();
            }
            !done
        });
        if self.running.len() != before {
            self.pace_cores();
        }
    }

    /// Tells the pacer which cores exist (after the table changed).
    fn pace_cores(&self) {
        let cores = self.running.iter().map(|(id, r)| (id, r.core.clone()));
        self.pacer.set_cores(cores.collect());
    }

    /// The pacer's thread runs as the loop's does (it sends the adverts).
    fn mirror_sched(&mut self) {
        self.sched.mirror_to(self.pacer.tid());
    }

    /// What a master's paced timer left for the loop: carried out only while the instance is
    /// still master (a GARP for VIPs it has since released would mislead clients).
    async fn on_paced(&mut self, p: pacer::Paced) {
        if self
            .running
            .get(p.id)
            .is_some_and(|r| r.state() == vrrp::State::Master)
        {
            self.execute(p.id, p.actions).await;
        }
    }

    async fn shutdown_all(&mut self) {
        for id in self.running.ids() {
            self.stop_instance(id).await;
        }
        self.checks.stop_all();
    }

    async fn on_check(&mut self, ev: CheckEvent) {
        let Some(name) = self.checks.record(ev).map(str::to_string) else {
            return;
        };
        self.feed_tracks(|s| matches!(s, TrackSource::Check(n) if *n == name), ev.up)
            .await;
    }

    async fn on_timer(&mut self) {
        self.on_watch_due();
        let now = Instant::now();
        let due = self.running.ids_where(|r| {
            let c = r.core();
            c.inst.state() != vrrp::State::Master && c.inst.poll_timeout().is_some_and(|t| t <= now)
        });
        for id in due {
            self.feed(id, vrrp::Input::Timer).await;
        }
    }
}
