//! The netlink event stream: link and address changes (RTMGRP_LINK, RTMGRP_IPV4_IFADDR,
//! RTMGRP_IPV6_IFADDR), turned into [`NetEvent`]s.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::channel::mpsc::UnboundedReceiver;
use futures::Stream;
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::sys::SocketAddr;
use rtnetlink::MulticastGroup;
use tokio::task::JoinHandle;

use super::error::NetError;
use super::netlink::{AddrInfo, LinkInfo, Netlink};

/// A change of links or addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEvent {
    /// A link appeared (created, moved in, or renamed to `name`). Followed by [`NetEvent::LinkUp`]
    /// if it is already up.
    LinkAdded {
        /// Interface index.
        index: u32,
        /// Interface name.
        name: String,
    },
    /// A link became usable (admin up and running).
    LinkUp {
        /// Interface index.
        index: u32,
        /// Interface name.
        name: String,
    },
    /// A link stopped being usable (admin down or lost carrier).
    LinkDown {
        /// Interface index.
        index: u32,
        /// Interface name.
        name: String,
    },
    /// A link went away (deleted, moved out, or renamed from `name`).
    LinkRemoved {
        /// Interface index.
        index: u32,
        /// Interface name.
        name: String,
    },
    /// An address was added or changed (e.g. DAD finished: `flags` lost `IFA_F_TENTATIVE`).
    AddrAdded {
        /// Interface index.
        index: u32,
        /// The address.
        addr: IpAddr,
        /// Prefix length.
        prefix: u8,
        /// `IFA_F_*` flags (see [`super::netlink::ifa`]).
        flags: u32,
    },
    /// An address was removed.
    AddrRemoved {
        /// Interface index.
        index: u32,
        /// The address.
        addr: IpAddr,
        /// Prefix length.
        prefix: u8,
    },
    /// The kernel dropped events (socket overrun): re-read links and addresses, then call
    /// [`Monitor::seed`] with the fresh link list.
    Resync,
}

/// A stream of [`NetEvent`]s. Owns its netlink connection task (aborted on drop). Created by
/// [`Netlink::monitor`].
pub struct Monitor {
    rx: UnboundedReceiver<(NetlinkMessage<RouteNetlinkMessage>, SocketAddr)>,
    conn: JoinHandle<()>,
    /// index → (name, usable), to turn link messages into transitions.
    links: HashMap<u32, (String, bool)>,
    pending: VecDeque<NetEvent>,
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.conn.abort();
    }
}

impl Netlink {
    /// Subscribes to link and address events, then seeds the link table from a dump (so events
    /// are transitions relative to the state at subscription). Call inside a tokio runtime, in
    /// the namespace to watch. Needs no capability.
    pub async fn monitor(&self) -> Result<Monitor, NetError> {
        let groups = [
            MulticastGroup::Link,
            MulticastGroup::Ipv4Ifaddr,
            MulticastGroup::Ipv6Ifaddr,
        ];
        let (conn, _handle, rx) =
            rtnetlink::new_multicast_connection(&groups).map_err(|source| {
                NetError::NetlinkSocket {
                    op: "subscribe",
                    source,
                }
            })?;
        let conn = tokio::spawn(conn);
        let mut m = Monitor {
            rx,
            conn,
            links: HashMap::new(),
            pending: VecDeque::new(),
        };
        m.seed(&self.links().await?);
        Ok(m)
    }
}

impl Monitor {
    /// Replaces the link table (after [`NetEvent::Resync`]) without emitting events.
    pub fn seed(&mut self, links: &[LinkInfo]) {
        self.links = links
            .iter()
            .map(|l| (l.index, (l.name.clone(), l.is_up())))
            .collect();
    }

    fn on_message(&mut self, msg: NetlinkMessage<RouteNetlinkMessage>) {
        match msg.payload {
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(m)) => {
                let l = LinkInfo::from_message(&m);
                let up = l.is_up();
                let (index, name) = (l.index, l.name);
                match self.links.insert(index, (name.clone(), up)) {
                    None => {
                        self.pending.push_back(NetEvent::LinkAdded {
                            index,
                            name: name.clone(),
                        });
                        if up {
                            self.pending.push_back(NetEvent::LinkUp { index, name });
                        }
                    }
                    Some((old_name, was_up)) => {
                        if old_name != name {
                            self.pending.push_back(NetEvent::LinkRemoved {
                                index,
                                name: old_name,
                            });
                            self.pending.push_back(NetEvent::LinkAdded {
                                index,
                                name: name.clone(),
                            });
                        }
                        match (was_up, up) {
                            (false, true) => {
                                self.pending.push_back(NetEvent::LinkUp { index, name })
                            }
                            (true, false) => {
                                self.pending.push_back(NetEvent::LinkDown { index, name })
                            }
                            _ => {}
                        }
                    }
                }
            }
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(m)) => {
                let l = LinkInfo::from_message(&m);
                let name = self
                    .links
                    .remove(&l.index)
                    .map(|(n, _)| n)
                    .unwrap_or(l.name);
                self.pending.push_back(NetEvent::LinkRemoved {
                    index: l.index,
                    name,
                });
            }
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewAddress(m)) => {
                if let Some(a) = AddrInfo::from_message(&m) {
                    self.pending.push_back(NetEvent::AddrAdded {
                        index: a.index,
                        addr: a.addr,
                        prefix: a.prefix,
                        flags: a.flags,
                    });
                }
            }
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelAddress(m)) => {
                if let Some(a) = AddrInfo::from_message(&m) {
                    self.pending.push_back(NetEvent::AddrRemoved {
                        index: a.index,
                        addr: a.addr,
                        prefix: a.prefix,
                    });
                }
            }
            NetlinkPayload::Overrun(_) => self.pending.push_back(NetEvent::Resync),
            _ => {}
        }
    }
}

impl Stream for Monitor {
    type Item = NetEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<NetEvent>> {
        loop {
            if let Some(ev) = self.pending.pop_front() {
                return Poll::Ready(Some(ev));
            }
            match Pin::new(&mut self.rx).poll_next(cx) {
                Poll::Ready(Some((msg, _))) => self.on_message(msg),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
