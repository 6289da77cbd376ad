//! Gratuitous ARP and unsolicited NA on an AF_PACKET socket (keepalived builds whole frames too,
//! so the source MAC is exactly the one given).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;

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

    /// The interface index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
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
        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as libc::c_ushort;
        sll.sll_protocol = proto.to_be();
        sll.sll_ifindex = ifindex;
        sll.sll_halen = 6;
        sll.sll_addr[..6].copy_from_slice(&dst);
        // SAFETY: `frame` and `sll` outlive the call; the length passed is that of `sll`.
        let n = unsafe {
            libc::sendto(
                self.sock.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if n < 0 {
            return Err(NetError::socket(
                op,
                &self.iface,
                std::io::Error::last_os_error(),
            ));
        }
        if n as usize != frame.len() {
            return Err(NetError::socket(
                op,
                &self.iface,
                std::io::Error::from_raw_os_error(libc::EMSGSIZE),
            ));
        }
        Ok(())
    }
}
