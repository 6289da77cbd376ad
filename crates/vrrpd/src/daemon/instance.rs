//! One running instance: the core state machine plus its Linux attachments (interface
//! index, socket, receive task), and the loop's handlers that touch instances.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use super::edge::{NetEvent, RxEvent, Socket};
use super::Daemon;
use crate::spec::{InstanceSpec, TrackSource, VipSpec};

/// A live instance.
pub(crate) struct Running {
    pub spec: InstanceSpec,
    pub inst: vrrp::Instance,
    /// Index of `spec.interface`, when it exists.
    pub ifindex: Option<u32>,
    /// Last link state fed to the core.
    pub link_up: bool,
    /// Last source address fed to the core.
    pub source: Option<IpAddr>,
    /// Socket id (for matching receive events), socket and receive task.
    pub sock: Option<(u64, Arc<Socket>, JoinHandle<()>)>,
    /// Removed or rebuilt by a reload (or stopping): handing over, then dropped.
    pub retiring: bool,
    /// Who advertises on our VRID with another configuration (state file, logs).
    pub conflicts: crate::conflicts::ConflictLog,
}

impl Running {
    pub fn new(spec: InstanceSpec) -> Result<Running, vrrp::ConfigError> {
        let inst = vrrp::Instance::new(spec.core.clone())?;
        Ok(Running {
            spec,
            inst,
            ifindex: None,
            link_up: true,
            source: None,
            sock: None,
            retiring: false,
            conflicts: crate::conflicts::ConflictLog::default(),
        })
    }

    pub(super) fn close_socket(&mut self) {
        if let Some((_, _, task)) = self.sock.take() {
            task.abort();
        }
    }
}

fn all_vips<'a>(r: &'a Running, listed: &'a [vrrp::Vip]) -> impl Iterator<Item = &'a VipSpec> {
    r.spec
        .vips
        .iter()
        .filter(move |v| listed.contains(&v.vip))
        .chain(r.spec.excluded.iter())
}

impl Daemon {
    /// Every VIP address of every running instance (never an advert source).
    fn vip_addrs(&self) -> Vec<IpAddr> {
        self.running
            .iter()
            .flat_map(|r| r.spec.vips.iter().chain(r.spec.excluded.iter()))
            .map(|v| v.vip.addr)
            .collect()
    }

    /// Addresses another running instance than `i` holds (a retiring one handing over).
    fn held_by_others(&self, i: usize) -> Vec<IpAddr> {
        self.running
            .iter()
            .enumerate()
            .filter(|(k, _)| *k != i)
            .flat_map(|(_, r)| {
                let held = r.inst.vips_held();
                r.spec
                    .vips
                    .iter()
                    .chain(r.spec.excluded.iter())
                    .filter(move |_| !held.is_empty())
                    .map(|v| v.vip.addr)
            })
            .collect()
    }

    /// Bring instance `i` up: stale VIPs removed, socket opened, link/source/track state fed,
    /// then `Startup`.
    pub(super) async fn start_instance(&mut self, i: usize) {
        let name = self.running[i].spec.core.name.clone();
        // Stale VIPs of our own config (e.g. after SIGKILL) go before anything is sent; not
        // those a retiring instance of a reload still holds during its handoff.
        let busy = self.held_by_others(i);
        let stale: Vec<VipSpec> = self.running[i]
            .spec
            .vips
            .iter()
            .chain(self.running[i].spec.excluded.iter())
            .filter(|v| !busy.contains(&v.vip.addr))
            .cloned()
            .collect();
        for v in &stale {
            self.del_vip(v).await;
        }
        let link = self.edge.link(&self.running[i].spec.interface).await;
        match link {
            Some((index, up)) => {
                self.running[i].ifindex = Some(index);
                self.running[i].link_up = up;
            }
            None => {
                warn!(instance = %name, interface = %self.running[i].spec.interface, "interface not found");
                self.running[i].ifindex = None;
                self.running[i].link_up = false;
            }
        }
        let src = self.compute_source(i).await;
        self.running[i].source = src;
        self.open_socket(i);
        let mut inputs = vec![vrrp::Input::SourceAddress(src)];
        // Never master without a working receive socket: no socket counts as link down.
        let usable = self.running[i].link_up && self.running[i].sock.is_some();
        self.running[i].link_up = usable;
        if self.running[i].spec.track_primary && !usable {
            inputs.push(vrrp::Input::LinkDown);
        }
        for (index, t) in self.running[i]
            .spec
            .track_sources
            .clone()
            .iter()
            .enumerate()
        {
            let up = match t {
                TrackSource::Check(n) => self.checks.state(n),
                TrackSource::Interface(n) => match self.links.get(n) {
                    Some(up) => Some(*up),
                    None => {
                        let up = self.edge.link(n).await.is_some_and(|(_, up)| up);
                        self.links.insert(n.clone(), up);
                        Some(up)
                    }
                },
            };
            if let Some(up) = up {
                inputs.push(vrrp::Input::Track { index, up });
            }
        }
        for input in inputs {
            self.feed(i, input).await;
        }
        info!(instance = %name, vrid = self.running[i].spec.core.vrid, source = ?src, "instance starting");
        self.feed(i, vrrp::Input::Startup).await;
    }

    /// Track health of instance `i`'s tracks as currently known (unknown = up).
    pub(super) fn track_states(&self, i: usize) -> Vec<bool> {
        self.running[i]
            .spec
            .track_sources
            .iter()
            .map(|t| match t {
                TrackSource::Check(n) => self.checks.state(n).unwrap_or(true),
                TrackSource::Interface(n) => self.links.get(n).copied().unwrap_or(true),
            })
            .collect()
    }

    /// Graceful stop of instance `i`: priority 0 if master, VIPs removed, socket closed.
    pub(super) async fn stop_instance(&mut self, i: usize) {
        self.feed(i, vrrp::Input::Shutdown).await;
        if let Some(r) = self.running.get_mut(i) {
            r.close_socket();
        }
    }

    pub(super) fn open_socket(&mut self, i: usize) {
        let r = &mut self.running[i];
        r.close_socket();
        let Some(index) = r.ifindex else { return };
        match self.edge.open_socket(&r.spec, index, r.source) {
            Ok(sock) => {
                let id = self.next_sock_id;
                self.next_sock_id += 1;
                let sock = Arc::new(sock);
                let task = super::edge::spawn_rx(id, sock.clone(), self.rx_tx.clone());
                r.sock = Some((id, sock, task));
            }
            Err(e) => warn!(instance = %r.spec.core.name, error = %e, "cannot open VRRP socket"),
        }
    }

    async fn compute_source(&self, i: usize) -> Option<IpAddr> {
        let r = &self.running[i];
        let index = r.ifindex?;
        if let Some(s) = r.spec.source {
            return Some(s);
        }
        self.edge
            .source_address(index, r.spec.core.family, &self.vip_addrs())
            .await
    }

    /// Feed one input to instance `i` and carry out the actions.
    pub(super) async fn feed(&mut self, i: usize, input: vrrp::Input<'_>) {
        let Some(r) = self.running.get_mut(i) else {
            return;
        };
        let actions = r.inst.handle(Instant::now(), input);
        self.execute(i, actions).await;
    }

    /// Carry out the actions of instance `i`, in order.
    pub(super) async fn execute(&mut self, i: usize, actions: Vec<vrrp::Action>) {
        let Some(r) = self.running.get(i) else { return };
        let name = r.spec.core.name.clone();
        for a in actions {
            match a {
                vrrp::Action::Send { src, dst, payload } => {
                    match self.running[i].sock.as_ref().map(|(_, s, _)| s.clone()) {
                        Some(sock) => {
                            if let Err(e) = sock.send(src, dst, &payload).await {
                                if self
                                    .drops_log
                                    .allow((name.clone(), "send_error"), Instant::now())
                                    .is_some()
                                {
                                    warn!(instance = %name, %dst, error = %e, "advert send failed");
                                }
                            }
                        }
                        None => debug!(instance = %name, "no socket; advert not sent"),
                    }
                }
                vrrp::Action::AddVips(vips) => {
                    for v in all_vips(&self.running[i], &vips)
                        .cloned()
                        .collect::<Vec<_>>()
                    {
                        self.add_vip(&v).await;
                    }
                }
                vrrp::Action::RemoveVips(vips) => {
                    // Never take away an address another instance holds (reload handoffs).
                    let busy = self.held_by_others(i);
                    for v in all_vips(&self.running[i], &vips)
                        .filter(|v| !busy.contains(&v.vip.addr))
                        .cloned()
                        .collect::<Vec<_>>()
                    {
                        self.del_vip(&v).await;
                    }
                }
                vrrp::Action::Announce { vips, count } => {
                    for v in all_vips(&self.running[i], &vips)
                        .cloned()
                        .collect::<Vec<_>>()
                    {
                        if let Err(e) = self.edge.announce(&v, count).await {
                            warn!(instance = %name, vip = %v.vip, error = %e, "GARP/NA failed");
                        }
                    }
                }
                vrrp::Action::StateChanged { from, to, reason } => {
                    info!(instance = %name, from = ?from, to = ?to, reason = ?reason, "state change");
                    self.urgent = true;
                }
                vrrp::Action::Dropped { src, reason } => {
                    if let Some(suppressed) = self
                        .drops_log
                        .allow((name.clone(), reason.as_str()), Instant::now())
                    {
                        if matches!(reason, vrrp::DropReason::Vrid | vrrp::DropReason::Inactive) {
                            debug!(instance = %name, %src, reason = reason.as_str(), suppressed, "packet dropped");
                        } else {
                            warn!(instance = %name, %src, reason = reason.as_str(), suppressed, "packet dropped");
                        }
                    }
                }
                vrrp::Action::Conflict { src, kind } => {
                    let unix_ms = crate::statefile::unix_ms_now();
                    let rec = self.running[i]
                        .conflicts
                        .record(src, kind, Instant::now(), unix_ms);
                    if let Some(line) = rec {
                        let vrid = self.running[i].spec.core.vrid;
                        warn!(
                            instance = %name,
                            vrid,
                            %src,
                            kind = kind.as_str(),
                            count = line.count,
                            suppressed = line.suppressed,
                            "VRRP conflict: another speaker on our VRID (state unchanged)"
                        );
                    }
                }
            }
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
        let Some(i) = self
            .running
            .iter()
            .position(|r| r.sock.as_ref().is_some_and(|(id, _, _)| *id == ev.sock_id))
        else {
            return;
        };
        // Adverts for another local instance on the same link are not foreign traffic.
        let vrid = vrrp::packet::peek_vrid(&ev.payload);
        let me = &self.running[i];
        if vrid != Some(me.spec.core.vrid)
            && self.running.iter().any(|o| {
                Some(o.spec.core.vrid) == vrid
                    && o.spec.interface == me.spec.interface
                    && o.spec.core.family == me.spec.core.family
            })
        {
            return;
        }
        let pkt = vrrp::RxPacket {
            src: ev.src,
            dst: ev.dst,
            ttl: ev.ttl,
            payload: &ev.payload,
        };
        self.feed(i, vrrp::Input::Packet(pkt)).await;
    }

    /// A link or address event from the netlink monitor.
    pub(super) async fn on_net(&mut self, ev: NetEvent) {
        match ev {
            NetEvent::Link { name } => {
                self.sync_watches().await;
                self.refresh_track_interface(&name).await;
                for i in 0..self.running.len() {
                    if self.running[i].spec.interface == name {
                        self.refresh_link(i).await;
                    }
                }
            }
            NetEvent::LinkGone { name, index } => {
                self.sync_watches().await;
                self.on_track_interface(&name, false).await;
                for i in 0..self.running.len() {
                    if self.running[i].ifindex == Some(index) {
                        info!(instance = %self.running[i].spec.core.name, interface = %name, "interface deleted");
                        self.refresh_link(i).await;
                    }
                }
            }
            NetEvent::Addr { index, addr, added } => {
                for i in 0..self.running.len() {
                    if self.running[i].ifindex == Some(index) {
                        self.update_source(i).await;
                        if self.running[i].sock.is_none() {
                            // e.g. the unicast source address just appeared.
                            self.refresh_link(i).await;
                        }
                    }
                }
                if !added {
                    self.on_vip_removed(index, addr).await;
                }
            }
            NetEvent::Resync => {
                self.sync_watches().await;
                let names: Vec<String> = self.links.keys().cloned().collect();
                for n in names {
                    self.refresh_track_interface(&n).await;
                }
                for i in 0..self.running.len() {
                    self.refresh_link(i).await;
                }
            }
        }
    }

    /// Re-read instance `i`'s interface: follow a new index (re-created interface) with a new
    /// socket, refresh the source address, and feed the link state (no socket = down).
    pub(super) async fn refresh_link(&mut self, i: usize) {
        let iface = self.running[i].spec.interface.clone();
        match self.edge.link(&iface).await {
            Some((index, up)) => {
                if self.running[i].ifindex != Some(index) {
                    info!(instance = %self.running[i].spec.core.name, interface = %iface, index, "interface (re)appeared; opening socket");
                    self.running[i].close_socket();
                    self.running[i].ifindex = Some(index);
                }
                self.update_source(i).await;
                if self.running[i].sock.is_none() {
                    self.open_socket(i);
                }
                let usable = up && self.running[i].sock.is_some();
                self.set_link(i, usable).await;
            }
            None => {
                self.running[i].close_socket();
                self.running[i].ifindex = None;
                self.set_link(i, false).await;
                self.update_source(i).await;
            }
        }
    }

    async fn refresh_track_interface(&mut self, name: &str) {
        let tracked = self.running.iter().any(|r| {
            r.spec
                .track_sources
                .iter()
                .any(|t| matches!(t, TrackSource::Interface(n) if n == name))
        });
        if tracked {
            let up = self.edge.link(name).await.is_some_and(|(_, up)| up);
            self.on_track_interface(name, up).await;
        }
    }

    async fn set_link(&mut self, i: usize, up: bool) {
        if !self.running[i].spec.track_primary || self.running[i].link_up == up {
            self.running[i].link_up = up;
            return;
        }
        self.running[i].link_up = up;
        let input = if up {
            vrrp::Input::LinkUp
        } else {
            vrrp::Input::LinkDown
        };
        self.feed(i, input).await;
    }

    async fn update_source(&mut self, i: usize) {
        let src = self.compute_source(i).await;
        if src != self.running[i].source {
            info!(instance = %self.running[i].spec.core.name, source = ?src, "advert source address changed");
            self.running[i].source = src;
            self.feed(i, vrrp::Input::SourceAddress(src)).await;
        }
    }

    async fn on_track_interface(&mut self, name: &str, up: bool) {
        if self.links.get(name) == Some(&up) {
            return;
        }
        self.links.insert(name.to_string(), up);
        for i in 0..self.running.len() {
            let indices: Vec<usize> = self.running[i]
                .spec
                .track_sources
                .iter()
                .enumerate()
                .filter(|(_, s)| matches!(s, TrackSource::Interface(n) if n == name))
                .map(|(k, _)| k)
                .collect();
            for index in indices {
                self.feed(i, vrrp::Input::Track { index, up }).await;
            }
        }
    }

    /// Someone removed an address. If it is a VIP a master holds (and not `no_track`), put
    /// it back: the VIP must stay reachable while we are master (we do not leave MASTER the
    /// way keepalived does; the peer would only have to take it over again).
    async fn on_vip_removed(&mut self, index: u32, addr: IpAddr) {
        let mut readd = Vec::new();
        for r in &self.running {
            if !r.inst.status().vips_held.iter().any(|v| v.addr == addr) {
                continue;
            }
            for v in r.spec.vips.iter().chain(r.spec.excluded.iter()) {
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
                .is_some_and(|(i, _)| i == index)
            {
                warn!(instance = %name, vip = %v.vip, "VIP removed externally while master; re-adding");
                self.add_vip(&v).await;
            }
        }
    }
}
