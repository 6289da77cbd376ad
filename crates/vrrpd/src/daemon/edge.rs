//! The daemon's adapter over `crate::net`: the few calls the loop makes, in the loop's terms.

use std::net::IpAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::warn;

use crate::net::{Announcer, LinkInfo, Mode, Monitor, Netlink, Received, VrrpSocket};
use crate::spec::{InstanceSpec, VipSpec};

/// A received packet, tagged with the id of the socket it came from (the daemon's, never
/// reused, so packets from a socket closed meanwhile find no instance).
#[derive(Debug)]
pub struct RxEvent {
    /// Id of the socket.
    pub sock_id: u64,
    /// The packet.
    pub pkt: Received,
}

/// Netlink, sockets and announcements.
pub struct Edge {
    nl: Netlink,
}

fn net_vip(v: &VipSpec) -> crate::net::VipSpec {
    let mut n = crate::net::VipSpec::new(v.vip.addr, v.vip.prefix_len);
    n.label = v.label.clone();
    n.nodad = v.nodad;
    n.noprefixroute = v.noprefixroute;
    n
}

impl Edge {
    /// Connect to rtnetlink in the current network namespace.
    pub async fn new() -> anyhow::Result<Edge> {
        Ok(Edge {
            nl: Netlink::connect().await.context("rtnetlink")?,
        })
    }

    /// Link and address changes.
    pub async fn monitor(&self) -> anyhow::Result<Monitor> {
        self.nl.monitor().await.context("netlink monitor")
    }

    /// Every link (to re-seed the monitor after lost events).
    pub async fn links(&self) -> anyhow::Result<Vec<LinkInfo>> {
        Ok(self.nl.links().await?)
    }

    /// Interface `name`, if it exists (a failed lookup is logged and counts as absent).
    pub async fn link(&self, name: &str) -> Option<LinkInfo> {
        match self.nl.link(name).await {
            Ok(l) => l,
            Err(e) => {
                warn!(interface = name, error = %e, "link lookup failed");
                None
            }
        }
    }

    /// Primary IPv4 or IPv6 link-local of `index`, skipping `exclude` (our VIPs).
    pub async fn source_address(
        &self,
        index: u32,
        family: vrrp::Family,
        exclude: &[IpAddr],
    ) -> Option<IpAddr> {
        self.nl
            .primary_source(index, family, exclude)
            .await
            .ok()
            .flatten()
    }

    /// Open the instance's socket on `index`; unicast mode binds `src`.
    pub fn open_socket(
        &self,
        spec: &InstanceSpec,
        index: u32,
        src: Option<IpAddr>,
    ) -> anyhow::Result<VrrpSocket> {
        let mode = if spec.core.unicast_peers.is_empty() {
            Mode::Multicast
        } else {
            Mode::Unicast {
                src: src.context("unicast mode needs a source address on the interface")?,
            }
        };
        Ok(VrrpSocket::open(
            &spec.interface,
            index,
            spec.core.family,
            mode,
        )?)
    }

    /// Add a VIP on its interface (idempotent).
    pub async fn add_vip(&self, v: &VipSpec) -> anyhow::Result<()> {
        let link = self
            .nl
            .link(&v.dev)
            .await?
            .with_context(|| format!("interface {} not found", v.dev))?;
        Ok(self.nl.add_vip(link.index, &net_vip(v)).await?)
    }

    /// Remove a VIP from its interface (absent VIP or interface: nothing to do).
    pub async fn del_vip(&self, v: &VipSpec) -> anyhow::Result<()> {
        match self.nl.link(&v.dev).await? {
            Some(link) => Ok(self
                .nl
                .del_vip(link.index, v.vip.addr, v.vip.prefix_len)
                .await?),
            None => Ok(()),
        }
    }

    /// `count` gratuitous ARPs (IPv4) or unsolicited NAs (IPv6) for `v`.
    pub async fn announce(&self, v: &VipSpec, count: u32) -> anyhow::Result<()> {
        let link = self
            .nl
            .link(&v.dev)
            .await?
            .with_context(|| format!("interface {} not found", v.dev))?;
        if link.noarp {
            return Ok(());
        }
        let mac = link.mac.context("interface has no MAC")?;
        let a = Announcer::open(link.index)?;
        for _ in 0..count {
            match v.vip.addr {
                IpAddr::V4(ip) => a.garp(mac, ip)?,
                IpAddr::V6(ip) => a.unsolicited_na(mac, ip, false)?,
            }
        }
        Ok(())
    }
}

/// The receive task of one socket: forwards packets until the socket fails or the loop is gone.
pub fn spawn_rx(sock_id: u64, sock: Arc<VrrpSocket>, tx: mpsc::Sender<RxEvent>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match sock.recv().await {
                Ok(pkt) => {
                    if tx.send(RxEvent { sock_id, pkt }).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    warn!(error = %e, "VRRP socket receive failed; closing it");
                    return;
                }
            }
        }
    })
}
