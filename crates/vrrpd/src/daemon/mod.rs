//! The event loop: one task owns every `vrrp::Instance` and feeds it inputs from the socket
//! receive tasks, the health-check tasks, the netlink monitor, signals and the earliest
//! `poll_timeout()`; the actions it returns are carried out here, in order, at the edge.
//!
//! Task layout: `run` (this loop, the only owner of instances) ← mpsc ← one receive task per
//! instance socket, one task per health check, the netlink monitor stream, signal streams.

mod checks;
mod edge;
mod instance;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use crate::health::CheckEvent;
use crate::ratelimit::{RateLimiter, DEFAULT_WINDOW};
use crate::spec::{DaemonSpec, TrackSource};
use crate::statefile::{InstanceState, StateWriter};

pub use edge::{Edge, NetEvent, RxEvent};
use instance::Running;

/// How long a graceful shutdown may take before we exit anyway.
pub const SHUTDOWN_BOUND: Duration = Duration::from_secs(3);

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
}

/// Run the daemon until SIGTERM/SIGINT.
pub async fn run(config: PathBuf, state_file: Option<PathBuf>) -> anyhow::Result<()> {
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
    };
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

    fn offer_state(&mut self) {
        let now = Instant::now();
        if let Some(due) = self.state_due {
            if due > now && !self.urgent {
                return;
            }
        }
        let states: Vec<InstanceState> = self
            .running
            .iter()
            .map(|r| InstanceState::from_status(r.inst.status(), &r.spec.interface))
            .collect();
        self.state_due = self.state.offer(now, states, self.urgent);
        self.urgent = false;
    }

    /// Start, keep, rebuild or stop instances so that the running set matches `spec`.
    async fn apply(&mut self, spec: DaemonSpec) {
        // Stop instances that are gone or changed (a master hands over with priority 0).
        for i in 0..self.running.len() {
            if !spec.instances.contains(&self.running[i].spec) {
                info!(instance = %self.running[i].spec.core.name, "stopping instance (removed or changed)");
                self.stop_instance(i).await;
            }
        }
        let mut kept: Vec<Running> = std::mem::take(&mut self.running)
            .into_iter()
            .filter(|r| spec.instances.contains(&r.spec))
            .collect();
        self.checks.apply(&spec.checks);
        for s in spec.instances {
            if let Some(pos) = kept.iter().position(|r| r.spec == s) {
                self.running.push(kept.remove(pos));
                continue;
            }
            match Running::new(s) {
                Ok(r) => {
                    self.running.push(r);
                    let i = self.running.len() - 1;
                    self.start_instance(i).await;
                }
                Err(e) => error!(error = %e, "instance refused by the core"),
            }
        }
    }

    async fn reload(&mut self, config: &std::path::Path) {
        info!("SIGHUP: reloading configuration");
        match crate::check::load(config) {
            Ok((spec, warnings)) => {
                for w in warnings {
                    warn!(diagnostic = %w, "configuration warning");
                }
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
