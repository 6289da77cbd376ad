//! Gratuitous ARP and unsolicited NA on an AF_PACKET socket (keepalived builds whole frames too,
//! so the source MAC is exactly the one given).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;

use nix::sys::socket::{sendto, LinkAddr, MsgFlags, SockaddrLike};
use socket2::{Domain, Socket, Type};

use super::error::NetError;
use super::frames::{self, ETH_P_ARP, ETH_P_IPV6};
use super::sockopt;

/// A send-only AF_PACKET socket on one interface. Opened with protocol 0 (no receive hook) and
/// a drop-all BPF filter, so it never queues incoming frames. Sends are non-blocking and
/// synchronous.
pub struct Announcer {
    sock: Socket,
    ifindex: u32,
    iface: String,
}

impl Announcer {
    /// Opens the socket for interface `ifindex` (needs CAP_NET_RAW, in the interface's netns).
    pub fn open(ifindex: u32) -> Result<Self, NetError> {
        let iface = format!("ifindex {ifindex}");
        let e = |op| {
            let iface = iface.clone();
            move |err| NetError::socket(op, &iface, err)
        };
        let sock = Socket::new(Domain::PACKET, Type::RAW, None)
            .map_err(e("socket(AF_PACKET, SOCK_RAW)"))?;
        sockopt::attach_drop_all(&sock).map_err(e("setsockopt(SO_ATTACH_FILTER)"))?;
        sock.set_nonblocking(true).map_err(e("set O_NONBLOCK"))?;
        Ok(Announcer {
            sock,
            ifindex,
            iface,
        })
    }

    /// Sends one gratuitous ARP for `vip` from `mac` ([`frames::garp_frame`]).
    pub fn garp(&self, mac: [u8; 6], vip: Ipv4Addr) -> Result<(), NetError> {
        self.send_frame(
            "sendto(GARP)",
            &frames::garp_frame(mac, vip),
            ETH_P_ARP,
            [0xff; 6],
        )
    }

    /// Sends one unsolicited NA for `vip` from `mac` ([`frames::unsolicited_na_frame`]); `router`
    /// sets the R flag (keepalived sets it when forwarding is on for the interface).
    pub fn unsolicited_na(
        &self,
        mac: [u8; 6],
        vip: Ipv6Addr,
        router: bool,
    ) -> Result<(), NetError> {
        self.send_frame(
            "sendto(NA)",
            &frames::unsolicited_na_frame(mac, vip, router),
            ETH_P_IPV6,
            frames::ALL_NODES_MAC,
        )
    }

    fn send_frame(
        &self,
        op: &'static str,
        frame: &[u8],
        proto: u16,
        dst: [u8; 6],
    ) -> Result<(), NetError> {
        let ifindex = libc::c_int::try_from(self.ifindex).map_err(|_| {
            NetError::socket(
                op,
                &self.iface,
                std::io::Error::from_raw_os_error(libc::ENODEV),
            )
        })?;
        let sll = libc::sockaddr_ll {
            sll_family: libc::AF_PACKET as libc::c_ushort,
            sll_protocol: proto.to_be(),
            sll_ifindex: ifindex,
            sll_hatype: 0,
            sll_pkttype: 0,
            sll_halen: 6,
            sll_addr: [dst[0], dst[1], dst[2], dst[3], dst[4], dst[5], 0, 0],
        };
        let addr = link_addr(&sll).ok_or_else(|| {
            NetError::socket(
                op,
                &self.iface,
                std::io::Error::from_raw_os_error(libc::EINVAL),
            )
        })?;
        let n = sendto(self.sock.as_raw_fd(), frame, &addr, MsgFlags::empty())
            .map_err(|errno| NetError::socket(op, &self.iface, std::io::Error::from(errno)))?;
        if n != frame.len() {
            return Err(NetError::socket(
                op,
                &self.iface,
                std::io::Error::from_raw_os_error(libc::EMSGSIZE),
            ));
        }
        Ok(())
    }
}

/// `sll` as nix's link-layer address (`None` if it is not an `AF_PACKET` address).
#[allow(unsafe_code)]
fn link_addr(sll: &libc::sockaddr_ll) -> Option<LinkAddr> {
    let len = libc::socklen_t::try_from(std::mem::size_of::<libc::sockaddr_ll>()).ok()?;
    // SAFETY: the pointer comes from a reference to a live, fully initialised `sockaddr_ll`
    // and `len` is exactly its size, so `from_raw` reads only initialised bytes within it (it
    // copies them out; nothing is kept past this call).
    unsafe { LinkAddr::from_raw(std::ptr::from_ref(sll).cast(), Some(len)) }
}
