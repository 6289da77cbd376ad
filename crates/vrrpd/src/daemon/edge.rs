//! The daemon's adapter over `crate::net`: the few calls the loop makes, in the loop's terms.

use std::net::IpAddr;
use std::sync::Arc;

use futures::stream::BoxStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::spec::{InstanceSpec, VipSpec};

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

/// A link or address change.
#[derive(Debug, Clone)]
pub enum NetEvent {
    /// A link exists (new or changed) with this index and operational state.
    Link { name: String, index: u32, up: bool },
    /// A link was deleted.
    LinkGone { name: String, index: u32 },
    /// An address was added or removed on interface `index`.
    Addr {
        index: u32,
        addr: IpAddr,
        added: bool,
    },
}

/// An open VRRP socket.
pub struct Socket {}

impl Socket {
    pub async fn send(&self, _src: IpAddr, _dst: IpAddr, _payload: &[u8]) -> std::io::Result<()> {
        Err(std::io::Error::other("net edge not available"))
    }
}

/// Netlink, sockets and announcements.
pub struct Edge {}

impl Edge {
    pub async fn new() -> anyhow::Result<Edge> {
        anyhow::bail!("net edge not available")
    }
    pub fn monitor(&self) -> anyhow::Result<BoxStream<'static, NetEvent>> {
        anyhow::bail!("net edge not available")
    }
    /// Index and operational state of interface `name`.
    pub async fn link(&self, _name: &str) -> Option<(u32, bool)> {
        None
    }
    /// Primary IPv4 or IPv6 link-local of `index`, skipping `exclude`.
    pub async fn source_address(
        &self,
        _index: u32,
        _family: vrrp::Family,
        _exclude: &[IpAddr],
    ) -> Option<IpAddr> {
        None
    }
    pub fn open_socket(&self, _spec: &InstanceSpec, _index: u32) -> anyhow::Result<Socket> {
        anyhow::bail!("net edge not available")
    }
    pub async fn add_vip(&self, _v: &VipSpec) -> anyhow::Result<()> {
        anyhow::bail!("net edge not available")
    }
    pub async fn del_vip(&self, _v: &VipSpec) -> anyhow::Result<()> {
        anyhow::bail!("net edge not available")
    }
    pub async fn announce(&self, _v: &VipSpec, _count: u32) -> anyhow::Result<()> {
        anyhow::bail!("net edge not available")
    }
}

/// The receive task of one socket.
pub fn spawn_rx(_sock_id: u64, _sock: Arc<Socket>, _tx: mpsc::Sender<RxEvent>) -> JoinHandle<()> {
    tokio::spawn(async {})
}
