//! Raw IP protocol-112 sockets: one [`VrrpSocket`] per (interface, family, mode).
//!
//! IPv4 uses two sockets like keepalived: a receive socket (`IP_MULTICAST_ALL=0`, joined to
//! 224.0.0.18 on the interface, bound to the group or to the unicast source, `SO_BINDTODEVICE`)
//! and a send socket with `IP_HDRINCL` (we write TTL 255, TOS 0xc0, an incrementing ID, DF clear),
//! `IP_MULTICAST_IF`, `IP_MULTICAST_LOOP=0`, a drop-all BPF filter and a minimal receive buffer.
//! IPv6 uses one socket for both directions (`IPV6_CHECKSUM=6`, hop limits 255, traffic class
//! 0xc0, `IPV6_RECVHOPLIMIT`, `IPV6_RECVPKTINFO`, sends with an `IPV6_PKTINFO` cmsg).

use std::io::IoSlice;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};

use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, SockaddrIn6};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use super::error::NetError;
use super::frames::{self, Ipv4Header, IPPROTO_VRRP, TOS_INTERNETCONTROL};
use super::sockopt;
use super::Family;

/// 224.0.0.18, the VRRP IPv4 multicast group.
pub const VRRP_GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// ff02::12, the VRRP IPv6 multicast group.
pub const VRRP_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// Largest packet we read; anything longer is dropped as malformed (a VRRP advert with 255
/// IPv6 addresses is 4088 bytes).
const RECV_BUF: usize = 9216;

/// How a socket receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Joined to the VRRP group on the interface and bound to it: receives only multicast adverts.
    Multicast,
    /// Bound to `src` (keepalived `unicast_src_ip`): receives only adverts addressed to it. The
    /// address must already be on the interface (and, for IPv6, not tentative).
    Unicast {
        /// Our unicast source address.
        src: IpAddr,
    },
}

/// One received VRRP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// IP source address.
    pub src: IpAddr,
    /// IP destination address (IPv4 header / IPv6 `IPV6_PKTINFO`).
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// The VRRP message only (IP header and options removed).
    pub payload: Vec<u8>,
    /// When the kernel received it (`SO_TIMESTAMPNS`, wall clock), if it said: after a stall
    /// of the worker, the adverts queued meanwhile are fed to the core at their arrival.
    pub rx_time: Option<std::time::SystemTime>,
}

/// The wall-clock time in an `SCM_TIMESTAMPNS` control message.
fn kernel_time(ts: &nix::sys::time::TimeSpec) -> Option<std::time::SystemTime> {
    let secs = u64::try_from(ts.tv_sec()).ok()?;
    let nanos = u32::try_from(ts.tv_nsec()).ok()?;
    std::time::UNIX_EPOCH.checked_add(std::time::Duration::new(secs, nanos))
}

impl Received {
    /// The packet as the `vrrp` core takes it.
    pub fn as_rx(&self) -> vrrp::RxPacket<'_> {
        vrrp::RxPacket {
            src: self.src,
            dst: self.dst,
            ttl: self.ttl,
            payload: &self.payload,
        }
    }
}

/// A raw VRRP socket bound to one interface, family and mode. Must be opened inside a tokio
/// runtime (it registers with the reactor) and in the network namespace of the interface.
pub struct VrrpSocket {
    ifname: String,
    ifindex: u32,
    family: Family,
    mode: Mode,
    rx: AsyncFd<Socket>,
    /// IPv4 only: the `IP_HDRINCL` send socket (non-blocking, not in the reactor: it receives
    /// nothing, and registered it would wake the loop with an EPOLLOUT edge after every send).
    /// IPv6 sends on `rx`.
    tx: Option<Socket>,
    next_id: AtomicU16,
    malformed: AtomicU64,
}

fn raw_socket(domain: Domain, ifname: &str) -> Result<Socket, NetError> {
    let s = Socket::new(
        domain,
        Type::RAW,
        Some(Protocol::from(i32::from(IPPROTO_VRRP))),
    )
    .map_err(|e| NetError::socket("socket(SOCK_RAW, 112)", ifname, e))?;
    s.set_nonblocking(true)
        .map_err(|e| NetError::socket("set O_NONBLOCK", ifname, e))?;
    s.bind_device(Some(ifname.as_bytes()))
        .map_err(|e| NetError::socket("setsockopt(SO_BINDTODEVICE)", ifname, e))?;
    Ok(s)
}

#[allow(unsafe_code)]
fn register(s: Socket, ifname: &str) -> Result<AsyncFd<Socket>, NetError> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(NetError::socket(
            "register with the tokio reactor",
            ifname,
            std::io::Error::other("VrrpSocket::open must be called inside a tokio runtime"),
        ));
    }
    // SAFETY: `AsyncFd::register` needs the fd to stay open and the same for the AsyncFd's
    // life. The `Socket` is moved in and owns its fd; the AsyncFd owns the `Socket`, and
    // nothing here closes, replaces or `into_inner`s it, so the fd lives exactly as long.
    unsafe { AsyncFd::register(s) }
        .map_err(|e| NetError::socket("register with the tokio reactor", ifname, e.into_parts().1))
}

/// Scope id for a link-scoped IPv6 address on `ifindex`, 0 otherwise.
fn scope_for(addr: &Ipv6Addr, ifindex: u32) -> u32 {
    let link_local = (addr.segments()[0] & 0xffc0) == 0xfe80;
    let link_mcast = addr.is_multicast() && (addr.segments()[0] & 0x000f) <= 2;
    if link_local || link_mcast {
        ifindex
    } else {
        0
    }
}

impl VrrpSocket {
    /// Opens the socket(s) for `ifname`/`ifindex`. See the module docs for every option set.
    pub fn open(ifname: &str, ifindex: u32, family: Family, mode: Mode) -> Result<Self, NetError> {
        let bad = |addr| NetError::BadAddress {
            op: "open",
            iface: ifname.to_string(),
            addr,
            why: "the unicast source must be a unicast address of the socket's family",
        };
        if let Mode::Unicast { src } = mode {
            if src.is_multicast() || src.is_unspecified() {
                return Err(bad(src));
            }
        }
        let (rx, tx) = match (family, mode) {
            (Family::Ipv4, Mode::Multicast) => Self::open_v4(ifname, ifindex, None)?,
            (
                Family::Ipv4,
                Mode::Unicast {
                    src: IpAddr::V4(src),
                },
            ) => Self::open_v4(ifname, ifindex, Some(src))?,
            (Family::Ipv6, Mode::Multicast) => (Self::open_v6(ifname, ifindex, None)?, None),
            (
                Family::Ipv6,
                Mode::Unicast {
                    src: IpAddr::V6(src),
                },
            ) => (Self::open_v6(ifname, ifindex, Some(src))?, None),
            (_, Mode::Unicast { src }) => return Err(bad(src)),
        };
        Ok(VrrpSocket {
            ifname: ifname.to_string(),
            ifindex,
            family,
            mode,
            rx: register(rx, ifname)?,
            tx,
            next_id: AtomicU16::new(1),
            malformed: AtomicU64::new(0),
        })
    }

    fn open_v4(
        ifname: &str,
        ifindex: u32,
        unicast: Option<Ipv4Addr>,
    ) -> Result<(Socket, Option<Socket>), NetError> {
        let e = |op| move |err| NetError::socket(op, ifname, err);
        let rx = raw_socket(Domain::IPV4, ifname)?;
        rx.set_multicast_all_v4(false)
            .map_err(e("setsockopt(IP_MULTICAST_ALL)"))?;
        sockopt::set_int(rx.as_fd(), libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1)
            .map_err(e("setsockopt(SO_TIMESTAMPNS)"))?;
        let bind_to = match unicast {
            None => {
                rx.join_multicast_v4_n(&VRRP_GROUP_V4, &InterfaceIndexOrAddress::Index(ifindex))
                    .map_err(e("setsockopt(IP_ADD_MEMBERSHIP)"))?;
                VRRP_GROUP_V4
            }
            Some(src) => src,
        };
        rx.bind(&SockAddr::from(SocketAddrV4::new(bind_to, 0)))
            .map_err(e("bind"))?;

        let tx = raw_socket(Domain::IPV4, ifname)?;
        tx.set_header_included_v4(true)
            .map_err(e("setsockopt(IP_HDRINCL)"))?;
        sockopt::set_multicast_if_index_v4(tx.as_fd(), ifindex)
            .map_err(e("setsockopt(IP_MULTICAST_IF)"))?;
        tx.set_multicast_loop_v4(false)
            .map_err(e("setsockopt(IP_MULTICAST_LOOP)"))?;
        tx.set_tos_v4(u32::from(TOS_INTERNETCONTROL))
            .map_err(e("setsockopt(IP_TOS)"))?;
        sockopt::attach_drop_all(&tx).map_err(e("setsockopt(SO_ATTACH_FILTER)"))?;
        tx.set_recv_buffer_size(0)
            .map_err(e("setsockopt(SO_RCVBUF)"))?;
        Ok((rx, Some(tx)))
    }

    fn open_v6(ifname: &str, ifindex: u32, unicast: Option<Ipv6Addr>) -> Result<Socket, NetError> {
        let e = |op| move |err| NetError::socket(op, ifname, err);
        let s = raw_socket(Domain::IPV6, ifname)?;
        sockopt::set_int(s.as_fd(), libc::IPPROTO_IPV6, sockopt::IPV6_CHECKSUM, 6)
            .map_err(e("setsockopt(IPV6_CHECKSUM)"))?;
        s.set_multicast_all_v6(false)
            .map_err(e("setsockopt(IPV6_MULTICAST_ALL)"))?;
        s.set_recv_hoplimit_v6(true)
            .map_err(e("setsockopt(IPV6_RECVHOPLIMIT)"))?;
        sockopt::set_int(s.as_fd(), libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)
            .map_err(e("setsockopt(IPV6_RECVPKTINFO)"))?;
        sockopt::set_int(s.as_fd(), libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1)
            .map_err(e("setsockopt(SO_TIMESTAMPNS)"))?;
        s.set_multicast_hops_v6(255)
            .map_err(e("setsockopt(IPV6_MULTICAST_HOPS)"))?;
        s.set_unicast_hops_v6(255)
            .map_err(e("setsockopt(IPV6_UNICAST_HOPS)"))?;
        s.set_multicast_if_v6(ifindex)
            .map_err(e("setsockopt(IPV6_MULTICAST_IF)"))?;
        s.set_multicast_loop_v6(false)
            .map_err(e("setsockopt(IPV6_MULTICAST_LOOP)"))?;
        s.set_tclass_v6(u32::from(TOS_INTERNETCONTROL))
            .map_err(e("setsockopt(IPV6_TCLASS)"))?;
        let bind_to = match unicast {
            None => {
                s.join_multicast_v6(&VRRP_GROUP_V6, ifindex)
                    .map_err(e("setsockopt(IPV6_ADD_MEMBERSHIP)"))?;
                VRRP_GROUP_V6
            }
            Some(src) => src,
        };
        let sa = SocketAddrV6::new(bind_to, 0, 0, scope_for(&bind_to, ifindex));
        s.bind(&SockAddr::from(sa)).map_err(e("bind"))?;
        Ok(s)
    }

    /// The interface name.
    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// The interface index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The address family.
    pub fn family(&self) -> Family {
        self.family
    }

    /// The receive mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Packets dropped by [`VrrpSocket::recv`] because their IP layer was malformed or truncated.
    pub fn malformed_count(&self) -> u64 {
        self.malformed.load(Ordering::Relaxed)
    }

    fn drop_malformed(&self, why: &dyn std::fmt::Display) {
        self.malformed.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(iface = %self.ifname, "dropped malformed VRRP packet: {why}");
    }

    /// Waits for the next well-formed packet. Malformed ones (bad IPv4 header, truncated, missing
    /// IPv6 cmsgs) are dropped and counted ([`VrrpSocket::malformed_count`]); the VRRP payload
    /// itself is not checked here (the core does that). Errors are socket errors only.
    /// Cancel-safe.
    pub async fn recv(&self) -> Result<Received, NetError> {
        let mut buf = vec![0u8; RECV_BUF];
        loop {
            let got = match self.family {
                Family::Ipv4 => self.recv_v4(&mut buf).await?,
                Family::Ipv6 => self.recv_v6(&mut buf).await?,
            };
            if let Some(r) = got {
                return Ok(r);
            }
        }
    }

    async fn recv_v4(&self, buf: &mut [u8]) -> Result<Option<Received>, NetError> {
        let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec);
        let (n, rx_time) = self
            .rx
            .async_io(Interest::READABLE, |s| {
                let mut iov = [std::io::IoSliceMut::new(buf)];
                // MSG_TRUNC: the real length, so a packet larger than the buffer is seen.
                let m = nix::sys::socket::recvmsg::<()>(
                    s.as_raw_fd(),
                    &mut iov,
                    Some(&mut cmsg),
                    MsgFlags::MSG_TRUNC,
                )
                .map_err(std::io::Error::from)?;
                let mut at = None;
                if let Ok(cmsgs) = m.cmsgs() {
                    for c in cmsgs {
                        if let ControlMessageOwned::ScmTimestampns(ts) = c {
                            at = kernel_time(&ts);
                        }
                    }
                }
                Ok((m.bytes, at))
            })
            .await
            .map_err(|e| NetError::socket("recvmsg", &self.ifname, e))?;
        let Some(pkt) = buf.get(..n) else {
            self.drop_malformed(&format_args!("truncated: {n} bytes > {RECV_BUF}"));
            return Ok(None);
        };
        match frames::parse_ipv4(pkt) {
            Ok(p) if p.protocol == IPPROTO_VRRP => Ok(Some(Received {
                src: p.src.into(),
                dst: p.dst.into(),
                ttl: p.ttl,
                payload: p.payload.to_vec(),
                rx_time,
            })),
            Ok(p) => {
                self.drop_malformed(&format_args!("protocol {}", p.protocol));
                Ok(None)
            }
            Err(e) => {
                self.drop_malformed(&e);
                Ok(None)
            }
        }
    }

    async fn recv_v6(&self, buf: &mut [u8]) -> Result<Option<Received>, NetError> {
        let mut cmsg = nix::cmsg_space!(libc::in6_pktinfo, libc::c_int, nix::sys::time::TimeSpec);
        let (n, flags, src, dst, hops, rx_time) = self
            .rx
            .async_io(Interest::READABLE, |s| {
                let mut iov = [std::io::IoSliceMut::new(buf)];
                let m = nix::sys::socket::recvmsg::<SockaddrIn6>(
                    s.as_raw_fd(),
                    &mut iov,
                    Some(&mut cmsg),
                    MsgFlags::empty(),
                )
                .map_err(std::io::Error::from)?;
                let mut dst = None;
                let mut hops = None;
                let mut at = None;
                if let Ok(cmsgs) = m.cmsgs() {
                    for c in cmsgs {
                        match c {
                            ControlMessageOwned::Ipv6PacketInfo(pi) => {
                                dst = Some(Ipv6Addr::from(pi.ipi6_addr.s6_addr))
                            }
                            ControlMessageOwned::Ipv6HopLimit(h) => hops = u8::try_from(h).ok(),
                            ControlMessageOwned::ScmTimestampns(ts) => at = kernel_time(&ts),
                            _ => {}
                        }
                    }
                }
                Ok((m.bytes, m.flags, m.address.map(|a| a.ip()), dst, hops, at))
            })
            .await
            .map_err(|e| NetError::socket("recvmsg", &self.ifname, e))?;
        if flags.intersects(MsgFlags::MSG_TRUNC | MsgFlags::MSG_CTRUNC) {
            self.drop_malformed(&"truncated IPv6 packet or control data");
            return Ok(None);
        }
        let (Some(src), Some(dst), Some(ttl), Some(payload)) = (src, dst, hops, buf.get(..n))
        else {
            self.drop_malformed(&"IPv6 packet without source, PKTINFO or HOPLIMIT");
            return Ok(None);
        };
        Ok(Some(Received {
            src: src.into(),
            dst: dst.into(),
            ttl,
            payload: payload.to_vec(),
            rx_time,
        }))
    }

    fn check_addr(
        &self,
        op: &'static str,
        addr: IpAddr,
        may_be_multicast: bool,
    ) -> Result<(), NetError> {
        let why = if Family::of(&addr) != self.family {
            "wrong address family"
        } else if addr.is_multicast() && !may_be_multicast {
            "a source cannot be multicast"
        } else {
            return Ok(());
        };
        Err(NetError::BadAddress {
            op,
            iface: self.ifname.clone(),
            addr,
            why,
        })
    }

    /// Sends one VRRP message from `src` to `dst` (224.0.0.18 / ff02::12 or a unicast peer) with
    /// TTL / hop limit 255 and TOS / traffic class 0xc0. IPv4 multicast goes out with
    /// `MSG_DONTROUTE`. For IPv6 the kernel fills in the VRRP checksum (offset 6).
    pub async fn send(&self, src: IpAddr, dst: IpAddr, payload: &[u8]) -> Result<(), NetError> {
        self.send_now(src, dst, payload)
    }

    /// [`VrrpSocket::send`] from any thread, without the reactor (the advert pacer's path):
    /// one non-blocking `sendmsg`. A full send buffer (EAGAIN) fails this advert at once
    /// instead of holding anything up; the next one goes out on time.
    pub fn send_now(&self, src: IpAddr, dst: IpAddr, payload: &[u8]) -> Result<(), NetError> {
        self.check_addr("send", src, false)?;
        self.check_addr("send", dst, true)?;
        let n = match (src, dst, &self.tx) {
            (IpAddr::V4(s), IpAddr::V4(d), Some(tx)) => self.send_v4(tx, s, d, payload)?,
            (IpAddr::V6(s), IpAddr::V6(d), None) => self.send_v6(s, d, payload)?,
            _ => {
                return Err(NetError::BadAddress {
                    op: "send",
                    iface: self.ifname.clone(),
                    addr: dst,
                    why: "wrong address family",
                })
            }
        };
        if n.0 != n.1 {
            return Err(NetError::socket(
                "sendmsg (short write)",
                &self.ifname,
                std::io::Error::from_raw_os_error(libc::EMSGSIZE),
            ));
        }
        Ok(())
    }

    /// (bytes sent, bytes meant).
    fn send_v4(
        &self,
        tx: &Socket,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        payload: &[u8],
    ) -> Result<(usize, usize), NetError> {
        let mut id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if id == 0 {
            // 0 would let the kernel choose; keep keepalived's plain counter.
            id = self.next_id.fetch_add(1, Ordering::Relaxed);
        }
        let header = Ipv4Header::vrrp(src, dst, id)
            .encode(payload.len())
            .ok_or_else(|| NetError::TooLarge {
                iface: self.ifname.clone(),
                len: payload.len(),
            })?;
        let flags = if dst.is_multicast() {
            libc::MSG_DONTROUTE
        } else {
            0
        };
        let to = SockAddr::from(SocketAddrV4::new(dst, 0));
        // Header and payload as two slices of one sendmsg: nothing is copied or allocated per
        // advert (the kernel gathers them into one datagram).
        let bufs = [IoSlice::new(&header), IoSlice::new(payload)];
        let n = tx
            .send_to_vectored_with_flags(&bufs, &to, flags)
            .map_err(|e| NetError::socket("sendmsg", &self.ifname, e))?;
        Ok((n, header.len() + payload.len()))
    }

    /// (bytes sent, bytes meant). On the receive socket (non-blocking): a plain `sendmsg`, not
    /// through the reactor, so that any thread may send.
    fn send_v6(
        &self,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        payload: &[u8],
    ) -> Result<(usize, usize), NetError> {
        let pktinfo = libc::in6_pktinfo {
            ipi6_addr: libc::in6_addr {
                s6_addr: src.octets(),
            },
            ipi6_ifindex: self.ifindex,
        };
        let to = SockaddrIn6::from(SocketAddrV6::new(dst, 0, 0, scope_for(&dst, self.ifindex)));
        let iov = [IoSlice::new(payload)];
        let cmsgs = [ControlMessage::Ipv6PacketInfo(&pktinfo)];
        let fd = self.rx.get_ref().as_raw_fd();
        let n = nix::sys::socket::sendmsg(fd, &iov, &cmsgs, MsgFlags::empty(), Some(&to))
            .map_err(|e| NetError::socket("sendmsg", &self.ifname, std::io::Error::from(e)))?;
        Ok((n, payload.len()))
    }
}
