//! The address watch: an AF_PACKET socket on one interface that receives only ARP, VRRP and
//! ICMPv6 Neighbour Advertisement frames (classic BPF, [`claims::filter`]), never our own
//! outgoing frames, and reports who claims which address and which MAC sends which VRRP
//! source's adverts. Parsing is the pure [`claims`] module; this is the socket.

use std::net::IpAddr;
use std::os::fd::AsRawFd;

use socket2::{Domain, SockFilter, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use super::claims::{self, Seen};
use super::error::NetError;

/// `ETH_P_ALL`, every protocol (the filter narrows it).
const ETH_P_ALL: u16 = 0x0003;
/// `PACKET_IGNORE_OUTGOING` (Linux ≥ 4.20, `include/uapi/linux/if_packet.h`).
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;

/// A receive-only AF_PACKET socket on one interface.
pub struct AddrWatch {
    rx: AsyncFd<Socket>,
    iface: String,
}

impl AddrWatch {
    /// Opens the watch on `ifindex` (needs CAP_NET_RAW, in the interface's netns, inside a
    /// tokio runtime). The socket is created with protocol 0 (no frames queued), gets its
    /// filter, and only then is bound to `ETH_P_ALL` on the interface, so no unfiltered frame
    /// is ever queued.
    pub fn open(ifindex: u32, iface: &str) -> Result<Self, NetError> {
        let e = |op: &'static str| move |err| NetError::socket(op, iface, err);
        let sock = Socket::new(Domain::PACKET, Type::RAW, None)
            .map_err(e("socket(AF_PACKET, SOCK_RAW)"))?;
        let prog: Vec<SockFilter> = claims::filter()
            .iter()
            .map(|&(code, jt, jf, k)| SockFilter::new(code, jt, jf, k))
            .collect();
        sock.attach_filter(&prog)
            .map_err(e("setsockopt(SO_ATTACH_FILTER)"))?;
        sock.set_nonblocking(true).map_err(e("set O_NONBLOCK"))?;
        ignore_outgoing(&sock, iface);
        bind_all(&sock, ifindex).map_err(e("bind(AF_PACKET, ETH_P_ALL)"))?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(NetError::socket(
                "register with the tokio reactor",
                iface,
                std::io::Error::other("AddrWatch::open must be called inside a tokio runtime"),
            ));
        }
        // SAFETY: the `Socket` owns its fd; it stays open and unchanged until the AsyncFd
        // drops it.
        #[allow(unsafe_code)]
        let rx = unsafe { AsyncFd::register(sock) }.map_err(|err| {
            NetError::socket("register with the tokio reactor", iface, err.into_parts().1)
        })?;
        Ok(AddrWatch {
            rx,
            iface: iface.to_string(),
        })
    }

    /// Waits for the next frame that parses ([`claims::parse`]) into `buf` (the caller's
    /// buffer, reused: no allocation per frame). Cancel-safe.
    pub async fn next(&self, buf: &mut [u8; claims::SNAP_LEN as usize]) -> Result<Seen, NetError> {
        loop {
            let n = self
                .rx
                .async_io(Interest::READABLE, |s| {
                    nix::sys::socket::recv(s.as_raw_fd(), buf, nix::sys::socket::MsgFlags::empty())
                        .map_err(std::io::Error::from)
                })
                .await
                .map_err(|e| NetError::socket("recv(AF_PACKET)", &self.iface, e))?;
            if let Some(seen) = buf.get(..n).and_then(claims::parse) {
                return Ok(seen);
            }
        }
    }
}

/// Frames this host sends are never even copied to the socket: the kernel's
/// `dev_queue_xmit_nit` skips a packet socket with `ignore_outgoing` before it clones the frame
/// (`net/core/dev.c`), where without it every advert a master sends was cloned into the queue
/// only for the filter to drop it. An older kernel refuses the option (`ENOPROTOOPT`); then the
/// filter's `PACKET_OUTGOING` test still drops them, as before.
fn ignore_outgoing(sock: &Socket, iface: &str) {
    use std::os::fd::AsFd;
    let r = super::sockopt::set_int(sock.as_fd(), libc::SOL_PACKET, PACKET_IGNORE_OUTGOING, 1);
    if let Err(err) = r {
        tracing::debug!(interface = iface, error = %err, "PACKET_IGNORE_OUTGOING unsupported; the filter drops our own frames");
    }
}

fn bind_all(sock: &Socket, ifindex: u32) -> std::io::Result<()> {
    let index = libc::c_int::try_from(ifindex)
        .map_err(|_| std::io::Error::from_raw_os_error(libc::ENODEV))?;
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    #[allow(unsafe_code)]
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as libc::c_ushort;
    sll.sll_protocol = ETH_P_ALL.to_be();
    sll.sll_ifindex = index;
    // SAFETY: `sll` outlives the call; the length passed is that of `sll`.
    #[allow(unsafe_code)]
    let rc = unsafe {
        libc::bind(
            sock.as_raw_fd(),
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// What a watch task reports to the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchEvent {
    /// `mac` claimed `addr` (one of the addresses the task was told to watch) on `ifindex`.
    Claim {
        /// Interface index of the watch.
        ifindex: u32,
        /// The claimed address.
        addr: IpAddr,
        /// The claimant's MAC.
        mac: [u8; 6],
    },
    /// VRRP source `src` was first seen, or seen from another MAC, on `ifindex`.
    VrrpMac {
        /// Interface index of the watch.
        ifindex: u32,
        /// IP source of the adverts.
        src: IpAddr,
        /// Its Ethernet source.
        mac: [u8; 6],
    },
}

/// Most VRRP sources a task remembers (to report only changes); beyond that it forgets all
/// and reports again.
const MAX_SOURCES: usize = 32;

/// The task of one watch: forwards claims on the addresses in `watched` (read per frame,
/// updated by the loop) and changes of VRRP source MACs, until the socket fails or the loop
/// is gone. Allocation-free per frame once its source table is warm.
pub fn spawn(
    w: AddrWatch,
    ifindex: u32,
    watched: tokio::sync::watch::Receiver<Vec<IpAddr>>,
    tx: tokio::sync::mpsc::Sender<WatchEvent>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut buf = [0u8; claims::SNAP_LEN as usize];
        let mut sources: Vec<(IpAddr, [u8; 6])> = Vec::with_capacity(MAX_SOURCES);
        loop {
            let seen = match w.next(&mut buf).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "address watch receive failed; closing it");
                    return;
                }
            };
            let ev = match seen {
                Seen::Claim { addr, mac, .. } => {
                    if !watched.borrow().contains(&addr) {
                        continue;
                    }
                    WatchEvent::Claim { ifindex, addr, mac }
                }
                Seen::Vrrp { src, mac } => {
                    if sources.contains(&(src, mac)) {
                        continue;
                    }
                    sources.retain(|(s, _)| *s != src);
                    if sources.len() >= MAX_SOURCES {
                        sources.clear();
                    }
                    sources.push((src, mac));
                    WatchEvent::VrrpMac { ifindex, src, mac }
                }
            };
            // A full channel drops the event rather than stall the socket (the loop is busy;
            // claims repeat, and a VRRP source is reported again when its MAC changes).
            use tokio::sync::mpsc::error::TrySendError;
            match tx.try_send(ev) {
                Ok(()) => {}
                Err(TrySendError::Full(WatchEvent::VrrpMac { src, .. })) => {
                    sources.retain(|(s, _)| *s != src);
                }
                Err(TrySendError::Full(_)) => {}
                Err(TrySendError::Closed(_)) => return,
            }
        }
    })
}
