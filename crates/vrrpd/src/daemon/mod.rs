//! The event loop: one task owns every `vrrp::Instance` and feeds it inputs from the socket
//! receive tasks, the health-check tasks, the netlink monitor, signals and the earliest
//! `poll_timeout()`; the actions it returns are carried out here, in order, at the edge.
//!
//! Task layout: `run` (this loop, the only owner of instances) ← mpsc ← one receive task per
//! instance socket, one task per health check, the netlink monitor stream, signal streams.

mod checks;
mod edge;
mod instance;
mod reload;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use crate::health::CheckEvent;
use crate::ratelimit::{RateLimiter, DEFAULT_WINDOW};
use crate::spec::TrackSource;
use crate::statefile::{InstanceRecord, StateWriter};

pub use edge::{Edge, NetEvent, RxEvent};
use instance::Running;

/// How long the final forced shutdown (after the handoff phase) may take before we exit anyway.
pub const SHUTDOWN_BOUND: Duration = Duration::from_secs(3);
/// Slack on top of the longest handoff bound before the handoff phase gives up.
pub const HANDOFF_SLACK: Duration = Duration::from_millis(200);

/// Everything the loop owns.
pub(crate) struct Daemon {
    edge: Edge,
    running: Vec<Running>,
    checks: checks::Checks,
    rx_tx: mpsc::Sender<RxEvent>,
    next_sock_id: u64,
    state: StateWriter,
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
}

/// Run the daemon until SIGTERM/SIGINT (and the handoffs that follow).
pub async fn run(
    config: PathBuf,
    state_file: Option<PathBuf>,
    metrics_listen: Option<SocketAddr>,
) -> anyhow::Result<()> {
    let spec = match crate::check::load(&config) {
        Ok((spec, warnings)) => {
            for w in warnings {
                warn!(diagnostic = %w, "configuration warning");
            }
            spec
        }
        Err((errors, _)) => anyhow::bail!("invalid configuration:\n{}", errors.join("\n")),
    };
    let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    let mut hup = signal(SignalKind::hangup()).context("SIGHUP handler")?;
    let edge = Edge::new().await.context("netlink")?;
    let mut monitor = edge.monitor().await?;
    let (rx_tx, mut rx_rx) = mpsc::channel::<RxEvent>(1024);
    let (check_tx, mut check_rx) = mpsc::channel::<CheckEvent>(256);
    let (metrics_tx, mut metrics_rx) = mpsc::channel::<crate::metrics::Request>(4);
    let mut d = Daemon {
        edge,
        running: Vec::new(),
        checks: checks::Checks::new(check_tx),
        rx_tx,
        next_sock_id: 0,
        state: StateWriter::new(state_file),
        state_due: None,
        urgent: true,
        drops_log: RateLimiter::new(DEFAULT_WINDOW),
        links: HashMap::new(),
        metrics_flag: metrics_listen,
        metrics: None,
        metrics_tx,
    };
    d.set_metrics(spec.metrics_listen);
    info!(config = %config.display(), instances = spec.instances.len(), "vrrpd starting");
    d.apply(spec).await;
    d.offer_state();
    loop {
        let wake = d.next_wake();
        let sleep = async {
            match wake {
                Some(t) => tokio::time::sleep_until(t.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = term.recv() => { info!("SIGTERM: shutting down"); break; }
            _ = int.recv() => { info!("SIGINT: shutting down"); break; }
            _ = hup.recv() => d.reload(&config).await,
            Some(ev) = monitor.next() => d.on_net(ev).await,
            Some(ev) = rx_rx.recv() => d.on_packet(ev).await,
            Some(ev) = check_rx.recv() => d.on_check(ev).await,
            () = sleep => d.on_timer().await,
            Some(req) = metrics_rx.recv() => { let _ = req.send(d.render_metrics()); }
        }
        d.reap_retired();
        d.offer_state();
    }
    // Make-before-break: masters send priority 0 but keep their VIPs until a new master
    // advertises (or their handoff bound); the loop keeps receiving meanwhile.
    let deadline = Instant::now() + d.leave_all().await + HANDOFF_SLACK;
    d.offer_state();
    while !d.all_stopped() && Instant::now() < deadline {
        let wake = d.next_wake().map_or(deadline, |t| t.min(deadline));
        tokio::select! {
            _ = term.recv() => { warn!("second SIGTERM: releasing now"); break; }
            _ = int.recv() => { warn!("second SIGINT: releasing now"); break; }
            Some(ev) = monitor.next() => d.on_net(ev).await,
            Some(ev) = rx_rx.recv() => d.on_packet(ev).await,
            Some(ev) = check_rx.recv() => d.on_check(ev).await,
            Some(req) = metrics_rx.recv() => { let _ = req.send(d.render_metrics()); }
            () = tokio::time::sleep_until(wake.into()) => d.on_timer().await,
        }
        d.offer_state();
    }
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
    fn next_wake(&self) -> Option<Instant> {
        self.running
            .iter()
            .filter_map(|r| r.inst.poll_timeout())
            .chain(self.state_due)
            .min()
    }

    /// The instances shown in the state file and metrics: a retiring instance only while no
    /// live instance has its name.
    fn visible(&self) -> impl Iterator<Item = &Running> {
        let live = |name: &str| {
            self.running
                .iter()
                .any(|o| !o.retiring && o.spec.core.name == name)
        };
        self.running
            .iter()
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
        let statuses: Vec<(vrrp::InstanceStatus, &str)> = self
            .visible()
            .map(|r| (r.inst.status(), r.spec.interface.as_str()))
            .collect();
        let samples: Vec<crate::metrics::render::Sample<'_>> = statuses
            .iter()
            .map(|(status, interface)| crate::metrics::render::Sample { status, interface })
            .collect();
        crate::metrics::render::render(&samples, crate::metrics::render::rss_bytes())
    }

    fn offer_state(&mut self) {
        let now = Instant::now();
        if let Some(due) = self.state_due {
            if due > now && !self.urgent {
                return;
            }
        }
        let states: Vec<InstanceRecord> = self
            .visible()
            .map(|r| {
                InstanceRecord::from_status(
                    r.inst.status(),
                    &r.spec.interface,
                    r.conflicts.entries(),
                )
            })
            .collect();
        self.state_due = self.state.offer(now, states, self.urgent);
        self.urgent = false;
    }

    async fn reload(&mut self, config: &std::path::Path) {
        info!("SIGHUP: reloading configuration");
        match crate::check::load(config) {
            Ok((spec, warnings)) => {
                for w in warnings {
                    warn!(diagnostic = %w, "configuration warning");
                }
                self.set_metrics(spec.metrics_listen);
                self.apply(spec).await;
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
        for i in 0..self.running.len() {
            self.running[i].retiring = true;
            if self.running[i].inst.state() == vrrp::State::Master {
                bound = bound.max(self.running[i].inst.config().handoff_bound());
            }
            self.feed(i, vrrp::Input::Leave).await;
        }
        self.urgent = true;
        bound
    }

    /// Every instance has stopped (handoffs finished).
    fn all_stopped(&self) -> bool {
        self.running
            .iter()
            .all(|r| r.inst.state() == vrrp::State::Init)
    }

    /// Drop retiring instances that have finished their handoff.
    fn reap_retired(&mut self) {
        self.running.retain_mut(|r| {
            let done = r.retiring && r.inst.state() == vrrp::State::Init;
            if done {
                r.close_socket();
            }
            !done
        });
    }

    async fn shutdown_all(&mut self) {
        for i in 0..self.running.len() {
            self.stop_instance(i).await;
        }
        self.checks.stop_all();
    }

    async fn on_check(&mut self, ev: CheckEvent) {
        let Some(name) = self.checks.record(ev).map(str::to_string) else {
            return;
        };
        for i in 0..self.running.len() {
            let indices: Vec<usize> = self.running[i]
                .spec
                .track_sources
                .iter()
                .enumerate()
                .filter(|(_, s)| matches!(s, TrackSource::Check(n) if *n == name))
                .map(|(k, _)| k)
                .collect();
            for index in indices {
                self.feed(i, vrrp::Input::Track { index, up: ev.up }).await;
            }
        }
    }

    async fn on_timer(&mut self) {
        let now = Instant::now();
        for i in 0..self.running.len() {
            if self.running[i]
                .inst
                .poll_timeout()
                .is_some_and(|t| t <= now)
            {
                self.feed(i, vrrp::Input::Timer).await;
            }
        }
    }
}
