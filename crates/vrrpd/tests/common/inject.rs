//! Crafted-packet injection from a lab host: an IPv4 packet (header built here) sent as an
//! Ethernet frame to the VRRP multicast MAC via AF_PACKET, so TTL, checksum and length can be
//! anything.

use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;

use nix::sys::socket::{sendto, LinkAddr, MsgFlags, SockaddrLike};
use socket2::{Domain, Protocol, Socket, Type};

/// Internet checksum.
pub fn csum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in data.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from(c[0]) << 8
        };
        sum += u32::from(w);
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An IPv4 header + payload with protocol 112 and the given TTL.
pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, ttl: u8, payload: &[u8]) -> Vec<u8> {
    let total = 20 + payload.len();
    let mut h = vec![0x45, 0xc0];
    h.extend_from_slice(&(total as u16).to_be_bytes());
    h.extend_from_slice(&[0, 1, 0, 0, ttl, 112, 0, 0]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    let c = csum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

/// A v3/IPv4 advert with the keepalived pseudo-header checksum.
pub fn v3_advert(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    vrid: u8,
    prio: u8,
    interval_cs: u16,
    vips: &[Ipv4Addr],
) -> Vec<u8> {
    let mut p = vec![0x31, vrid, prio, vips.len() as u8];
    p.extend_from_slice(&(interval_cs & 0x0fff).to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    for v in vips {
        p.extend_from_slice(&v.octets());
    }
    let mut ph = Vec::new();
    ph.extend_from_slice(&src.octets());
    ph.extend_from_slice(&dst.octets());
    ph.extend_from_slice(&[0, 112]);
    ph.extend_from_slice(&(p.len() as u16).to_be_bytes());
    ph.extend_from_slice(&p);
    let c = csum(&ph);
    p[6..8].copy_from_slice(&c.to_be_bytes());
    p
}

/// Send `ip_packet` out of interface `ifindex` to 01:00:5e:00:00:12. Call inside the host's
/// namespace.
pub fn send_frame(ifindex: u32, ip_packet: &[u8]) -> std::io::Result<()> {
    FrameSender::new(ifindex)?.send(ip_packet).map(drop)
}

/// An AF_PACKET (SOCK_DGRAM) socket sending IPv4 packets out of one interface to the VRRP
/// multicast MAC 01:00:5e:00:00:12 (the kernel adds the Ethernet header). Open it inside the
/// host's namespace.
pub struct FrameSender {
    sock: Socket,
    to: LinkAddr,
}

impl FrameSender {
    pub fn new(ifindex: u32) -> std::io::Result<FrameSender> {
        let proto = (libc::ETH_P_IP as u16).to_be();
        let sock = Socket::new(
            Domain::PACKET,
            Type::DGRAM,
            Some(Protocol::from(i32::from(proto))),
        )?;
        let sll = libc::sockaddr_ll {
            sll_family: libc::AF_PACKET as u16,
            sll_protocol: proto,
            sll_ifindex: i32::try_from(ifindex).map_err(std::io::Error::other)?,
            sll_hatype: 0,
            sll_pkttype: 0,
            sll_halen: 6,
            sll_addr: [0x01, 0x00, 0x5e, 0x00, 0x00, 0x12, 0, 0],
        };
        let to = link_addr(&sll).ok_or_else(|| std::io::Error::other("not a sockaddr_ll"))?;
        Ok(FrameSender { sock, to })
    }

    /// Sends one packet; the number of bytes the kernel took.
    pub fn send(&self, ip_packet: &[u8]) -> std::io::Result<usize> {
        sendto(
            self.sock.as_raw_fd(),
            ip_packet,
            &self.to,
            MsgFlags::empty(),
        )
        .map_err(std::io::Error::from)
    }
}

/// `sll` as nix's link-layer address.
#[allow(unsafe_code)]
fn link_addr(sll: &libc::sockaddr_ll) -> Option<LinkAddr> {
    let len = libc::socklen_t::try_from(std::mem::size_of::<libc::sockaddr_ll>()).ok()?;
    // SAFETY: the pointer comes from a reference to a live, fully initialised `sockaddr_ll`
    // and `len` is its exact size; `from_raw` only copies those bytes out.
    unsafe { LinkAddr::from_raw(std::ptr::from_ref(sll).cast(), Some(len)) }
}
