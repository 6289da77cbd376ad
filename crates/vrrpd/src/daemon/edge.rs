//! The daemon's adapter over `crate::net`: the few calls the loop makes, in the loop's terms.

use std::net::IpAddr;
use std::sync::Arc;

use anyhow::Context;
use futures::stream::BoxStream;
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::warn;

use crate::net::{Announcer, Mode, Netlink, VrrpSocket};
use crate::spec::{InstanceSpec, VipSpec};

/// The socket type the loop holds.
pub type Socket = VrrpSocket;

/// A received packet, tagged with the socket it came from.
#[derive(Debug)]
pub struct RxEvent {
    /// Id of the socket (the daemon's, never reused).
    pub sock_id: u64,
    /// IP source.
    pub src: IpAddr,
    /// IP destination.
    pub dst: IpAddr,
    /// TTL / hop limit.
    pub ttl: u8,
    /// VRRP payload.
    pub payload: Vec<u8>,
}

/// A link or address change, reduced to what the loop needs: which interface or address to
/// look at again. The loop re-reads the current state instead of trusting event contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEvent {
    /// Something changed about the link called `name` (added, up, down).
    Link { name: String },
    /// The link `name` with index `index` went away.
    LinkGone { name: String, index: u32 },
    /// An address was added, changed or removed on interface `index`.
    Addr {
        index: u32,
        addr: IpAddr,
        added: bool,
    },
    /// Events were lost: re-read everything.
    Resync,
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
    pub async fn monitor(&self) -> anyhow::Result<BoxStream<'static, NetEvent>> {
        use crate::net::NetEvent as N;
        let m = self.nl.monitor().await.context("netlink monitor")?;
        Ok(Box::pin(m.map(|ev| match ev {
            N::LinkAdded { name, .. } | N::LinkUp { name, .. } | N::LinkDown { name, .. } => {
                NetEvent::Link { name }
            }
            N::LinkRemoved { name, index } => NetEvent::LinkGone { name, index },
            N::AddrAdded { index, addr, .. } => NetEvent::Addr {
                index,
                addr,
                added: true,
            },
            N::AddrRemoved { index, addr, .. } => NetEvent::Addr {
                index,
                addr,
                added: false,
            },
            N::Resync => NetEvent::Resync,
        })))
    }

    /// Index and state (admin and carrier up) of interface `name`.
    pub async fn link(&self, name: &str) -> Option<(u32, bool)> {
        match self.nl.link(name).await {
            Ok(l) => l.map(|l| (l.index, l.is_up())),
            Err(e) => {
                warn!(interface = name, error = %e, "link lookup failed");
                None
            }
        }
    }

    /// Index and MAC of interface `name`.
    pub async fn link_info(&self, name: &str) -> Option<(u32, Option<[u8; 6]>)> {
        match self.nl.link(name).await {
            Ok(l) => l.map(|l| (l.index, l.mac)),
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
    ) -> anyhow::Result<Socket> {
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
pub fn spawn_rx(sock_id: u64, sock: Arc<Socket>, tx: mpsc::Sender<RxEvent>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match sock.recv().await {
                Ok(r) => {
                    let ev = RxEvent {
                        sock_id,
                        src: r.src,
                        dst: r.dst,
                        ttl: r.ttl,
                        payload: r.payload,
                    };
                    if tx.send(ev).await.is_err() {
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
