//! One running instance: the core state machine plus its Linux attachments (interface
//! index, socket, receive task), and the loop's handlers that touch instances.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use super::edge::RxEvent;
use super::table::InstanceId;
use super::Daemon;
use crate::net::{LinkInfo, NetEvent, VrrpSocket};
use crate::spec::{InstanceSpec, TrackSource, VipSpec};

/// What the loop and the advert pacer share of an instance (`pacer.rs`).
pub(crate) struct CoreState {
    pub inst: vrrp::Instance,
    /// Timer and send lateness (issue 13).
    pub lateness: super::timing::Lateness,
    /// The instance's socket, for the pacer's adverts.
    pub sock: Option<Arc<VrrpSocket>>,
}

impl CoreState {
    /// When the pacer must next feed this core a `Timer`: its timer deadline while it is
    /// MASTER; `None` otherwise (the loop runs every other role's timers).
    pub fn paced_deadline(&self) -> Option<Instant> {
        (self.inst.state() == vrrp::State::Master)
            .then(|| self.inst.poll_timeout())
            .flatten()
    }
}

/// An instance's shared core.
pub(crate) type Core = Arc<Mutex<CoreState>>;

/// A live instance.
pub(crate) struct Running {
    pub spec: InstanceSpec,
    /// The core state machine and its measurements, shared with the pacer.
    pub core: Core,
    /// Index of `spec.interface`, when it exists.
    pub ifindex: Option<u32>,
    /// Last link state fed to the core.
    pub link_up: bool,
    /// Last source address fed to the core.
    pub source: Option<IpAddr>,
    /// Socket id (for matching receive events), socket and receive task.
    pub sock: Option<(u64, Arc<VrrpSocket>, JoinHandle<()>)>,
    /// Removed or rebuilt by a reload (or stopping): handing over, then dropped.
    pub retiring: bool,
    /// Who advertises on our VRID with another configuration (state file, logs).
    pub conflicts: crate::conflicts::ConflictLog,
    /// When the instance last became MASTER (while it is; for the address watch's handover).
    pub mastered_at: Option<Instant>,
}

impl Running {
    pub fn new(spec: InstanceSpec) -> Result<Running, vrrp::ConfigError> {
        let inst = vrrp::Instance::new(spec.core.clone())?;
        Ok(Running {
            spec,
            core: Arc::new(Mutex::new(CoreState {
                inst,
                lateness: super::timing::Lateness::default(),
                sock: None,
            })),
            ifindex: None,
            link_up: true,
            source: None,
            sock: None,
            retiring: false,
            conflicts: crate::conflicts::ConflictLog::default(),
            mastered_at: None,
        })
    }

    /// The core, locked (briefly: never across an `.await`).
    pub fn core(&self) -> MutexGuard<'_, CoreState> {
        super::pacer::lock(&self.core)
    }

    /// The core's role.
    pub fn state(&self) -> vrrp::State {
        self.core().inst.state()
    }

    /// A MASTER's earliest timer (the pacer runs it); `None` in any other role.
    pub fn paced_deadline(&self) -> Option<Instant> {
        self.core().paced_deadline()
    }

    pub(super) fn close_socket(&mut self) {
        self.core().sock = None;
        if let Some((_, _, task)) = self.sock.take() {
            task.abort();
        }
    }
}

/// The specs of `listed` (the core's VIPs) plus every excluded address.
fn all_vips<'a>(r: &'a Running, listed: &'a [vrrp::Vip]) -> impl Iterator<Item = &'a VipSpec> {
    r.spec
        .vips
        .iter()
        .filter(move |v| listed.contains(&v.vip))
        .chain(r.spec.excluded.iter())
}

/// Every address `r` is configured to hold: VIPs and excluded addresses.
fn all_configured(r: &Running) -> impl Iterator<Item = &VipSpec> {
    r.spec.vips.iter().chain(r.spec.excluded.iter())
}

impl Daemon {
    /// Every VIP address of every running instance (never an advert source).
    fn vip_addrs(&self) -> Vec<IpAddr> {
        self.running
            .values()
            .flat_map(|r| r.spec.vips.iter().chain(r.spec.excluded.iter()))
            .map(|v| v.vip.addr)
            .collect()
    }

    /// Addresses another running instance than `id` holds (a retiring one handing over).
    fn held_by_others(&self, id: InstanceId) -> Vec<IpAddr> {
        self.running
            .iter()
            .filter(|(k, _)| *k != id)
            .flat_map(|(_, r)| {
                let held = r.core().inst.vips_held().to_vec();
                r.spec
                    .vips
                    .iter()
                    .chain(r.spec.excluded.iter())
                    .filter(move |_| !held.is_empty())
                    .map(|v| v.vip.addr)
            })
            .collect()
    }

    /// Bring instance `id` up: stale VIPs removed, socket opened, link/source/track state fed,
    /// then `Startup`.
    pub(super) async fn start_instance(&mut self, id: InstanceId) {
        // Stale VIPs of our own config (e.g. after SIGKILL) go before anything is sent; not
        // those a retiring instance of a reload still holds during its handoff.
        let busy = self.held_by_others(id);
        let Some(r) = self.running.get(id) else {
            return;
        };
        let (name, iface) = (r.spec.core.name.clone(), r.spec.interface.clone());
        let stale: Vec<VipSpec> = all_configured(r)
            .filter(|v| !busy.contains(&v.vip.addr))
            .cloned()
            .collect();
        for v in &stale {
            self.del_vip(v).await;
        }
        let link = self.edge.link(&iface).await;
        if link.is_none() {
            warn!(instance = %name, interface = %iface, "interface not found");
        }
        if let Some(r) = self.running.get_mut(id) {
            r.ifindex = link.as_ref().map(|l| l.index);
            r.link_up = link.as_ref().is_some_and(LinkInfo::is_up);
        }
        let src = self.compute_source(id).await;
        if let Some(r) = self.running.get_mut(id) {
            r.source = src;
        }
        self.open_socket(id);
        let Some(r) = self.running.get_mut(id) else {
            return;
        };
        let mut inputs = vec![vrrp::Input::SourceAddress(src)];
        // Never master without a working receive socket: no socket counts as link down.
        r.link_up = r.link_up && r.sock.is_some();
        if r.spec.track_primary && !r.link_up {
            inputs.push(vrrp::Input::LinkDown);
        }
        let (vrid, sources) = (r.spec.core.vrid, r.spec.track_sources.clone());
        for (index, t) in sources.iter().enumerate() {
            if let Some(up) = self.initial_track(t).await {
                inputs.push(vrrp::Input::Track { index, up });
            }
        }
        for input in inputs {
            self.feed(id, input).await;
        }
        info!(instance = %name, vrid, source = ?src, "instance starting");
        self.feed(id, vrrp::Input::Startup).await;
    }

    /// The state of track source `t` at an instance's start (`None`: a check without a result
    /// yet); an interface not followed yet is looked up and followed from now on.
    async fn initial_track(&mut self, t: &TrackSource) -> Option<bool> {
        match t {
            TrackSource::Check(n) => self.checks.state(n),
            TrackSource::Interface(n) => match self.links.get(n) {
                Some(up) => Some(*up),
                None => {
                    let up = self.edge.link(n).await.is_some_and(|l| l.is_up());
                    self.links.insert(n.clone(), up);
                    Some(up)
                }
            },
        }
    }

    /// Health of the tracks following `sources`, as currently known (unknown = up).
    pub(super) fn track_states(&self, sources: &[TrackSource]) -> Vec<bool> {
        sources
            .iter()
            .map(|t| match t {
                TrackSource::Check(n) => self.checks.state(n).unwrap_or(true),
                TrackSource::Interface(n) => self.links.get(n).copied().unwrap_or(true),
            })
            .collect()
    }

    /// Graceful stop of instance `id`: priority 0 if master, VIPs removed, socket closed.
    pub(super) async fn stop_instance(&mut self, id: InstanceId) {
        self.feed(id, vrrp::Input::Shutdown).await;
        if let Some(r) = self.running.get_mut(id) {
            r.close_socket();
        }
    }

    /// (Re)open instance `id`'s socket on its interface.
    pub(super) fn open_socket(&mut self, id: InstanceId) {
        let Some(r) = self.running.get_mut(id) else {
            return;
        };
        r.close_socket();
        let Some(index) = r.ifindex else { return };
        match self.edge.open_socket(&r.spec, index, r.source) {
            Ok(sock) => {
                let sock_id = self.next_sock_id;
                self.next_sock_id += 1;
                let sock = Arc::new(sock);
                let task = super::edge::spawn_rx(sock_id, sock.clone(), self.rx_tx.clone());
                r.core().sock = Some(sock.clone());
                r.sock = Some((sock_id, sock, task));
            }
            Err(e) => warn!(instance = %r.spec.core.name, error = %e, "cannot open VRRP socket"),
        }
    }

    async fn compute_source(&self, id: InstanceId) -> Option<IpAddr> {
        let r = self.running.get(id)?;
        let index = r.ifindex?;
        if let Some(s) = r.spec.source {
            return Some(s);
        }
        self.edge
            .source_address(index, r.spec.core.family, &self.vip_addrs())
            .await
    }

    /// Feed one input to instance `id` and carry out the actions.
    pub(super) async fn feed(&mut self, id: InstanceId, input: vrrp::Input<'_>) {
        self.feed_at(id, input, Instant::now()).await;
    }

    /// Feed one input that happened at `at` (≤ now; a queued packet's arrival) to instance
    /// `id`: timers due by then run first, later ones at the next input.
    async fn feed_at(&mut self, id: InstanceId, input: vrrp::Input<'_>, at: Instant) {
        let Some(r) = self.running.get_mut(id) else {
            return;
        };
        let actions = {
            let mut c = r.core();
            let c = &mut *c;
            let now = c.lateness.feed_time(at, Instant::now());
            c.lateness.before_handle(&c.inst, now);
            c.inst.handle(now, input)
        };
        // A master's timers are the pacer's: it may have to wake earlier (a new master).
        if let Some(t) = r.paced_deadline() {
            self.pacer.kick(t);
        }
        self.execute(id, actions).await;
    }

    /// Feed `Track { index, up }` to every instance, for each of its track indices whose
    /// source satisfies `follows`.
    pub(super) async fn feed_tracks(&mut self, follows: impl Fn(&TrackSource) -> bool, up: bool) {
        for id in self.running.ids() {
            let Some(r) = self.running.get(id) else {
                continue;
            };
            let indices: Vec<usize> = r
                .spec
                .track_sources
                .iter()
                .enumerate()
                .filter(|(_, s)| follows(s))
                .map(|(k, _)| k)
                .collect();
            for index in indices {
                self.feed(id, vrrp::Input::Track { index, up }).await;
            }
        }
    }

    /// Carry out the actions of instance `id`, in order.
    pub(super) async fn execute(&mut self, id: InstanceId, actions: Vec<vrrp::Action>) {
        for a in actions {
            // Adverts first and without the name (no copy of it per advert).
            let a = match a {
                vrrp::Action::Send { src, dst, payload } => {
                    self.send_advert(id, src, dst, &payload).await;
                    continue;
                }
                other => other,
            };
            let Some(name) = self.running.get(id).map(|r| r.spec.core.name.clone()) else {
                return;
            };
            match a {
                vrrp::Action::Send { .. } => {}
                vrrp::Action::AddVips(vips) => {
                    for v in self.listed_vips(id, &vips, false) {
                        self.add_vip(&v).await;
                    }
                }
                vrrp::Action::RemoveVips(vips) => {
                    // Never take away an address another instance holds (reload handoffs).
                    for v in self.listed_vips(id, &vips, true) {
                        self.del_vip(&v).await;
                    }
                }
                vrrp::Action::Announce { vips, count } => {
                    for v in self.listed_vips(id, &vips, false) {
                        if let Err(e) = self.edge.announce(&v, count).await {
                            warn!(instance = %name, vip = %v.vip, error = %e, "GARP/NA failed");
                        }
                    }
                }
                vrrp::Action::StateChanged { from, to, reason } => {
                    info!(instance = %name, from = ?from, to = ?to, reason = ?reason, "state change");
                    if let Some(r) = self.running.get_mut(id) {
                        r.mastered_at = (to == vrrp::State::Master).then(Instant::now);
                    }
                    self.urgent = true;
                }
                vrrp::Action::Dropped { src, reason } => self.log_drop(&name, src, reason),
                vrrp::Action::Conflict { src, kind } => self.record_conflict(id, src, kind),
                // The state file shows it at its next (≤ 1 s) write.
                vrrp::Action::AdvertInterval(change) => info!(instance = %name, "{change}"),
            }
        }
    }

    /// The VIP specs of instance `id` behind the core's `listed` VIPs, plus its excluded
    /// addresses; with `skip_busy`, none another instance holds.
    fn listed_vips(&self, id: InstanceId, listed: &[vrrp::Vip], skip_busy: bool) -> Vec<VipSpec> {
        let Some(r) = self.running.get(id) else {
            return Vec::new();
        };
        let busy = if skip_busy {
            self.held_by_others(id)
        } else {
            Vec::new()
        };
        all_vips(r, listed)
            .filter(|v| !busy.contains(&v.vip.addr))
            .cloned()
            .collect()
    }

    async fn send_advert(&mut self, id: InstanceId, src: IpAddr, dst: IpAddr, payload: &[u8]) {
        let Some(r) = self.running.get(id) else {
            return;
        };
        let Some(sock) = r.sock.as_ref().map(|(_, s, _)| s.clone()) else {
            debug!(instance = %r.spec.core.name, "no socket; advert not sent");
            return;
        };
        let result = sock.send(src, dst, payload).await;
        if result.is_ok() {
            if let Some(r) = self.running.get_mut(id) {
                r.core().lateness.sent(Instant::now());
            }
        }
        if let Err(e) = result {
            let Some(name) = self.running.get(id).map(|r| r.spec.core.name.clone()) else {
                return;
            };
            if self
                .drops_log
                .allow((name.clone(), "send_error"), Instant::now())
                .is_some()
            {
                warn!(instance = %name, %dst, error = %e, "advert send failed");
            }
        }
    }

    fn log_drop(&mut self, name: &str, src: IpAddr, reason: vrrp::DropReason) {
        let Some(suppressed) = self
            .drops_log
            .allow((name.to_string(), reason.as_str()), Instant::now())
        else {
            return;
        };
        if matches!(reason, vrrp::DropReason::Vrid | vrrp::DropReason::Inactive) {
            debug!(instance = %name, %src, reason = reason.as_str(), suppressed, "packet dropped");
        } else {
            warn!(instance = %name, %src, reason = reason.as_str(), suppressed, "packet dropped");
        }
    }

    fn record_conflict(&mut self, id: InstanceId, src: IpAddr, kind: vrrp::ConflictKind) {
        let Some(r) = self.running.get_mut(id) else {
            return;
        };
        let unix_ms = crate::statefile::unix_ms_now();
        if let Some(line) = r.conflicts.record(src, kind, Instant::now(), unix_ms) {
            warn!(
                instance = %r.spec.core.name,
                vrid = r.spec.core.vrid,
                %src,
                kind = kind.as_str(),
                count = line.count,
                suppressed = line.suppressed,
                "VRRP conflict: another speaker on our VRID (state unchanged)"
            );
        }
    }

    async fn add_vip(&mut self, v: &VipSpec) {
        if let Err(e) = self.edge.add_vip(v).await {
            warn!(vip = %v.vip, dev = %v.dev, error = %e, "cannot add VIP");
        }
    }

    async fn del_vip(&mut self, v: &VipSpec) {
        if let Err(e) = self.edge.del_vip(v).await {
            warn!(vip = %v.vip, dev = %v.dev, error = %e, "cannot remove VIP");
        }
    }

    /// A packet from a receive task.
    pub(super) async fn on_packet(&mut self, ev: RxEvent) {
        let Some(id) = self
            .running
            .find(|r| r.sock.as_ref().is_some_and(|(s, _, _)| *s == ev.sock_id))
        else {
            return;
        };
        // Adverts for another local instance on the same link are not foreign traffic.
        let vrid = vrrp::packet::peek_vrid(&ev.pkt.payload);
        let Some(me) = self.running.get(id) else {
            return;
        };
        if vrid != Some(me.spec.core.vrid)
            && self.running.values().any(|o| {
                Some(o.spec.core.vrid) == vrid
                    && o.spec.interface == me.spec.interface
                    && o.spec.core.family == me.spec.core.family
            })
        {
            return;
        }
        let now = Instant::now();
        let at = ev
            .pkt
            .rx_time
            .and_then(|rx| super::timing::arrival(now, std::time::SystemTime::now(), rx))
            .unwrap_or(now);
        self.feed_at(id, vrrp::Input::Packet(ev.pkt.as_rx()), at)
            .await;
    }

    /// A link or address event from the netlink monitor.
    pub(super) async fn on_net(&mut self, ev: NetEvent) {
        match ev {
            NetEvent::LinkAdded { name, .. }
            | NetEvent::LinkUp { name, .. }
            | NetEvent::LinkDown { name, .. } => {
                self.sync_watches().await;
                self.refresh_track_interface(&name).await;
                for id in self.running.ids_where(|r| r.spec.interface == name) {
                    self.refresh_link(id).await;
                }
            }
            NetEvent::LinkRemoved { name, index } => {
                self.sync_watches().await;
                self.on_track_interface(&name, false).await;
                for id in self.running.ids_where(|r| r.ifindex == Some(index)) {
                    if let Some(r) = self.running.get(id) {
                        info!(instance = %r.spec.core.name, interface = %name, "interface deleted");
                    }
                    self.refresh_link(id).await;
                }
            }
            NetEvent::AddrAdded { index, .. } => self.on_addr_changed(index).await,
            NetEvent::AddrRemoved { index, addr, .. } => {
                self.on_addr_changed(index).await;
                self.on_vip_removed(index, addr).await;
            }
            NetEvent::Resync => {
                warn!("netlink events were lost (socket overrun): re-reading links and addresses");
                self.sync_watches().await;
                let names: Vec<String> = self.links.keys().cloned().collect();
                for n in names {
                    self.refresh_track_interface(&n).await;
                }
                for id in self.running.ids() {
                    self.refresh_link(id).await;
                }
            }
        }
    }

    /// An address on interface `index` was added, changed or removed.
    async fn on_addr_changed(&mut self, index: u32) {
        for id in self.running.ids_where(|r| r.ifindex == Some(index)) {
            self.update_source(id).await;
            if self.running.get(id).is_some_and(|r| r.sock.is_none()) {
                // e.g. the unicast source address just appeared.
                self.refresh_link(id).await;
            }
        }
    }

    /// Re-read instance `id`'s interface: follow a new index (re-created interface) with a new
    /// socket, refresh the source address, and feed the link state (no socket = down).
    pub(super) async fn refresh_link(&mut self, id: InstanceId) {
        let Some(r) = self.running.get(id) else {
            return;
        };
        let iface = r.spec.interface.clone();
        let link = self.edge.link(&iface).await;
        let Some(r) = self.running.get_mut(id) else {
            return;
        };
        let Some(link) = link else {
            r.close_socket();
            r.ifindex = None;
            self.set_link(id, false).await;
            self.update_source(id).await;
            return;
        };
        if r.ifindex != Some(link.index) {
            info!(instance = %r.spec.core.name, interface = %iface, index = link.index, "interface (re)appeared; opening socket");
            r.close_socket();
            r.ifindex = Some(link.index);
        }
        self.update_source(id).await;
        if self.running.get(id).is_some_and(|r| r.sock.is_none()) {
            self.open_socket(id);
        }
        let usable = link.is_up() && self.running.get(id).is_some_and(|r| r.sock.is_some());
        self.set_link(id, usable).await;
    }

    async fn refresh_track_interface(&mut self, name: &str) {
        let tracked = self.running.values().any(|r| {
            r.spec
                .track_sources
                .iter()
                .any(|t| matches!(t, TrackSource::Interface(n) if n == name))
        });
        if tracked {
            let up = self.edge.link(name).await.is_some_and(|l| l.is_up());
            self.on_track_interface(name, up).await;
        }
    }

    async fn set_link(&mut self, id: InstanceId, up: bool) {
        let Some(r) = self.running.get_mut(id) else {
            return;
        };
        let changed = r.spec.track_primary && r.link_up != up;
        r.link_up = up;
        if changed {
            let input = if up {
                vrrp::Input::LinkUp
            } else {
                vrrp::Input::LinkDown
            };
            self.feed(id, input).await;
        }
    }

    async fn update_source(&mut self, id: InstanceId) {
        let src = self.compute_source(id).await;
        let Some(r) = self.running.get_mut(id) else {
            return;
        };
        if src != r.source {
            info!(instance = %r.spec.core.name, source = ?src, "advert source address changed");
            r.source = src;
            self.feed(id, vrrp::Input::SourceAddress(src)).await;
        }
    }

    async fn on_track_interface(&mut self, name: &str, up: bool) {
        if self.links.get(name) == Some(&up) {
            return;
        }
        self.links.insert(name.to_string(), up);
        self.feed_tracks(|s| matches!(s, TrackSource::Interface(n) if n == name), up)
            .await;
    }

    /// Someone removed an address. If it is a VIP a master holds (and not `no_track`), put
    /// it back: the VIP must stay reachable while we are master (we do not leave MASTER the
    /// way keepalived does; the peer would only have to take it over again).
    async fn on_vip_removed(&mut self, index: u32, addr: IpAddr) {
        let mut readd = Vec::new();
        for r in self.running.values() {
            if !r.core().inst.vips_held().iter().any(|v| v.addr == addr) {
                continue;
            }
            for v in all_configured(r) {
                if v.vip.addr == addr && !v.no_track {
                    readd.push((r.spec.core.name.clone(), v.clone()));
                }
            }
        }
        for (name, v) in readd {
            if self
                .edge
                .link(&v.dev)
                .await
                .is_some_and(|l| l.index == index)
            {
                warn!(instance = %name, vip = %v.vip, "VIP removed externally while master; re-adding");
                self.add_vip(&v).await;
            }
        }
    }
}
