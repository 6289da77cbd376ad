//! Crafted-packet injection from a lab host: an IPv4 packet (header built here) sent as an
//! Ethernet frame to the VRRP multicast MAC via AF_PACKET, so TTL, checksum and length can be
//! anything.

use std::net::Ipv4Addr;

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
    // SAFETY: plain socket(2)/sendto(2)/close(2) with a correctly sized sockaddr_ll.
    #[allow(unsafe_code)]
    unsafe {
        let fd = libc::socket(
            libc::AF_PACKET,
            libc::SOCK_DGRAM,
            (libc::ETH_P_IP as u16).to_be() as i32,
        );
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut sll: libc::sockaddr_ll = std::mem::zeroed();
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = (libc::ETH_P_IP as u16).to_be();
        sll.sll_ifindex = ifindex as i32;
        sll.sll_halen = 6;
        sll.sll_addr[..6].copy_from_slice(&[0x01, 0x00, 0x5e, 0x00, 0x00, 0x12]);
        let r = libc::sendto(
            fd,
            ip_packet.as_ptr().cast(),
            ip_packet.len(),
            0,
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        );
        let err = std::io::Error::last_os_error();
        libc::close(fd);
        if r < 0 {
            return Err(err);
        }
    }
    Ok(())
}
