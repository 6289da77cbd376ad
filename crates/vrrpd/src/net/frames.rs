//! Pure frame and header builders/parsers: the IPv4 header of adverts (`IP_HDRINCL`), gratuitous
//! ARP and unsolicited Neighbour Advertisement frames, and the Internet checksum. No IO here.

use std::net::{Ipv4Addr, Ipv6Addr};

/// IP protocol number of VRRP.
pub const IPPROTO_VRRP: u8 = 112;
/// IPv4 TOS / IPv6 traffic class keepalived uses (IPTOS_PREC_INTERNETCONTROL).
pub const TOS_INTERNETCONTROL: u8 = 0xc0;
/// EtherType of ARP.
pub const ETH_P_ARP: u16 = 0x0806;
/// EtherType of IPv6.
pub const ETH_P_IPV6: u16 = 0x86dd;
/// Length of a GARP frame (Ethernet 14 + ARP 28).
pub const GARP_LEN: usize = 42;
/// Length of an unsolicited NA frame (Ethernet 14 + IPv6 40 + NA 24 + TLLA option 8).
pub const NA_LEN: usize = 86;
/// All-nodes multicast MAC that carries NAs to ff02::1.
pub const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];
/// ff02::1.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// 16-bit ones' complement sum of `data` (odd length padded with a zero byte), not yet folded
/// or complemented; chain calls to cover a pseudo-header and a message.
pub fn sum16(mut acc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc = acc.wrapping_add(u32::from(u16::from_be_bytes([c[0], c[1]])));
    }
    if let [last] = chunks.remainder() {
        acc = acc.wrapping_add(u32::from(*last) << 8);
    }
    acc
}

/// Folds a [`sum16`] accumulator and complements it: the Internet checksum.
pub fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// The Internet checksum (RFC 1071) of `data`.
pub fn internet_checksum(data: &[u8]) -> u16 {
    fold(sum16(0, data))
}

/// Fields of an IPv4 header we build for `IP_HDRINCL` sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Header {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Identification.
    pub id: u16,
    /// Time to live (255 for VRRP).
    pub ttl: u8,
    /// Type of service (0xc0 for VRRP).
    pub tos: u8,
    /// Protocol (112 for VRRP).
    pub protocol: u8,
}

impl Ipv4Header {
    /// The header keepalived sends: TTL 255, TOS 0xc0, protocol 112.
    pub fn vrrp(src: Ipv4Addr, dst: Ipv4Addr, id: u16) -> Self {
        Ipv4Header {
            src,
            dst,
            id,
            ttl: 255,
            tos: TOS_INTERNETCONTROL,
            protocol: IPPROTO_VRRP,
        }
    }

    /// Serialises a 20-byte header (IHL 5, DF clear, no options) for a payload of
    /// `payload_len` bytes, with its checksum. `None` if the total would exceed 65535.
    pub fn encode(&self, payload_len: usize) -> Option<[u8; 20]> {
        let total = u16::try_from(payload_len.checked_add(20)?).ok()?;
        let mut h = [0u8; 20];
        h[0] = 0x45;
        h[1] = self.tos;
        h[2..4].copy_from_slice(&total.to_be_bytes());
        h[4..6].copy_from_slice(&self.id.to_be_bytes());
        // h[6..8] flags + fragment offset: 0 (DF clear, like keepalived).
        h[8] = self.ttl;
        h[9] = self.protocol;
        h[12..16].copy_from_slice(&self.src.octets());
        h[16..20].copy_from_slice(&self.dst.octets());
        let c = internet_checksum(&h);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        Some(h)
    }
}

/// What an IPv4 packet read from a raw socket carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Parsed<'a> {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// TTL.
    pub ttl: u8,
    /// Protocol.
    pub protocol: u8,
    /// The bytes after the header (options skipped), `tot_len` bounded.
    pub payload: &'a [u8],
}

/// Why a received IPv4 packet was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Ipv4ParseError {
    /// Shorter than a minimal header.
    #[error("runt packet: {0} bytes")]
    Runt(usize),
    /// Version nibble is not 4.
    #[error("IP version {0}, expected 4")]
    Version(u8),
    /// IHL below 5 or beyond the packet.
    #[error("bad IHL {ihl} for a {len}-byte packet")]
    Ihl {
        /// IHL in 32-bit words.
        ihl: u8,
        /// Bytes received.
        len: usize,
    },
    /// `tot_len` differs from the bytes received (or is shorter than the header).
    #[error("IP total length {tot_len} but {len} bytes received")]
    TotalLength {
        /// The header's total length.
        tot_len: u16,
        /// Bytes received.
        len: usize,
    },
}

/// Parses an IPv4 packet as delivered by a raw socket: respects IHL (options), requires
/// `tot_len` to equal the bytes received.
pub fn parse_ipv4(pkt: &[u8]) -> Result<Ipv4Parsed<'_>, Ipv4ParseError> {
    let Some(first) = pkt.first() else {
        return Err(Ipv4ParseError::Runt(0));
    };
    if pkt.len() < 20 {
        return Err(Ipv4ParseError::Runt(pkt.len()));
    }
    let version = first >> 4;
    if version != 4 {
        return Err(Ipv4ParseError::Version(version));
    }
    let ihl = first & 0x0f;
    let hlen = usize::from(ihl) * 4;
    if ihl < 5 || hlen > pkt.len() {
        return Err(Ipv4ParseError::Ihl {
            ihl,
            len: pkt.len(),
        });
    }
    let tot_len = u16::from_be_bytes([pkt[2], pkt[3]]);
    if usize::from(tot_len) != pkt.len() {
        return Err(Ipv4ParseError::TotalLength {
            tot_len,
            len: pkt.len(),
        });
    }
    let ip4 = |o: usize| Ipv4Addr::new(pkt[o], pkt[o + 1], pkt[o + 2], pkt[o + 3]);
    Ok(Ipv4Parsed {
        src: ip4(12),
        dst: ip4(16),
        ttl: pkt[8],
        protocol: pkt[9],
        payload: &pkt[hlen..],
    })
}

/// A gratuitous ARP as keepalived sends it: Ethernet broadcast from `mac`, ARP request (op 1),
/// sender `mac`/`vip`, target IP `vip`, target MAC ff:ff:ff:ff:ff:ff.
pub fn garp_frame(mac: [u8; 6], vip: Ipv4Addr) -> [u8; GARP_LEN] {
    let mut f = [0u8; GARP_LEN];
    f[0..6].copy_from_slice(&[0xff; 6]);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&ETH_P_ARP.to_be_bytes());
    let a = &mut f[14..];
    a[0..2].copy_from_slice(&1u16.to_be_bytes()); // htype Ethernet
    a[2..4].copy_from_slice(&0x0800u16.to_be_bytes()); // ptype IPv4
    a[4] = 6; // hlen
    a[5] = 4; // plen
    a[6..8].copy_from_slice(&1u16.to_be_bytes()); // op request
    a[8..14].copy_from_slice(&mac);
    a[14..18].copy_from_slice(&vip.octets());
    a[18..24].copy_from_slice(&[0xff; 6]);
    a[24..28].copy_from_slice(&vip.octets());
    f
}

/// An unsolicited Neighbour Advertisement for `vip` from `mac`: Ethernet to 33:33:00:00:00:01,
/// IPv6 from `vip` to ff02::1 with hop limit 255, ICMPv6 136 with the Override flag (and Router
/// if `router`), target `vip`, and a Target Link-Layer Address option carrying `mac`.
pub fn unsolicited_na_frame(mac: [u8; 6], vip: Ipv6Addr, router: bool) -> [u8; NA_LEN] {
    const ICMP_LEN: u16 = 32;
    let mut f = [0u8; NA_LEN];
    f[0..6].copy_from_slice(&ALL_NODES_MAC);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&ETH_P_IPV6.to_be_bytes());
    {
        let ip = &mut f[14..54];
        ip[0] = 0x60; // version 6, traffic class 0, flow label 0
        ip[4..6].copy_from_slice(&ICMP_LEN.to_be_bytes());
        ip[6] = 58; // ICMPv6
        ip[7] = 255; // hop limit
        ip[8..24].copy_from_slice(&vip.octets());
        ip[24..40].copy_from_slice(&ALL_NODES.octets());
    }
    {
        let icmp = &mut f[54..86];
        icmp[0] = 136; // Neighbour Advertisement
        icmp[1] = 0;
        icmp[4] = 0x20 | if router { 0x80 } else { 0 }; // O (and R); S clear: unsolicited
        icmp[8..24].copy_from_slice(&vip.octets());
        icmp[24] = 2; // Target Link-Layer Address
        icmp[25] = 1; // length in units of 8 bytes
        icmp[26..32].copy_from_slice(&mac);
    }
    let c = icmpv6_checksum(vip, ALL_NODES, &f[54..86]);
    f[56..58].copy_from_slice(&c.to_be_bytes());
    f
}

/// ICMPv6 checksum over the IPv6 pseudo-header and `msg` (whose checksum field must be zero).
pub fn icmpv6_checksum(src: Ipv6Addr, dst: Ipv6Addr, msg: &[u8]) -> u16 {
    let mut acc = sum16(0, &src.octets());
    acc = sum16(acc, &dst.octets());
    let len = u32::try_from(msg.len()).unwrap_or(u32::MAX);
    acc = sum16(acc, &len.to_be_bytes());
    acc = sum16(acc, &[0, 0, 0, 58]);
    fold(sum16(acc, msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];

    #[test]
    fn checksum_known_vector() {
        // RFC 1071-style example header (192.168.0.1 -> 192.168.0.199), checksum 0xb861.
        let h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(internet_checksum(&h), 0xb861);
        assert_eq!(internet_checksum(&[0x01]), !0x0100);
    }

    #[test]
    fn ipv4_header_layout() {
        let h = Ipv4Header::vrrp(Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(224, 0, 0, 18), 1)
            .encode(20)
            .unwrap();
        assert_eq!(h[0], 0x45);
        assert_eq!(h[1], 0xc0);
        assert_eq!(u16::from_be_bytes([h[2], h[3]]), 40);
        assert_eq!(u16::from_be_bytes([h[4], h[5]]), 1);
        assert_eq!(&h[6..8], &[0, 0], "DF clear, no fragment offset");
        assert_eq!(h[8], 255);
        assert_eq!(h[9], 112);
        assert_eq!(&h[12..16], &[192, 0, 2, 1]);
        assert_eq!(&h[16..20], &[224, 0, 0, 18]);
        assert_eq!(internet_checksum(&h), 0, "a valid header sums to zero");
        assert!(
            Ipv4Header::vrrp(Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST, 0)
                .encode(65516)
                .is_none()
        );
    }

    #[test]
    fn ipv4_parse_roundtrip_and_options() {
        let payload = [0x31, 7, 100, 1, 0, 100, 0xab, 0xcd, 192, 0, 2, 100];
        let h = Ipv4Header::vrrp(Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(224, 0, 0, 18), 9)
            .encode(payload.len())
            .unwrap();
        let pkt = [&h[..], &payload[..]].concat();
        let p = parse_ipv4(&pkt).unwrap();
        assert_eq!(
            (p.src, p.dst, p.ttl, p.protocol),
            (
                Ipv4Addr::new(192, 0, 2, 1),
                Ipv4Addr::new(224, 0, 0, 18),
                255,
                112
            )
        );
        assert_eq!(p.payload, &payload);

        // IHL 6: 4 bytes of options (router alert) before the payload.
        let mut opt = pkt[..20].to_vec();
        opt[0] = 0x46;
        opt.extend_from_slice(&[0x94, 0x04, 0, 0]);
        opt.extend_from_slice(&payload);
        let tot = u16::try_from(opt.len()).unwrap();
        opt[2..4].copy_from_slice(&tot.to_be_bytes());
        assert_eq!(parse_ipv4(&opt).unwrap().payload, &payload);
    }

    #[test]
    fn ipv4_parse_rejects_malformed() {
        let h = Ipv4Header::vrrp(Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(224, 0, 0, 18), 9)
            .encode(8)
            .unwrap();
        let good = [&h[..], &[0u8; 8][..]].concat();
        assert_eq!(parse_ipv4(&good[..10]), Err(Ipv4ParseError::Runt(10)));
        assert_eq!(parse_ipv4(&[]), Err(Ipv4ParseError::Runt(0)));
        let mut v6 = good.clone();
        v6[0] = 0x65;
        assert_eq!(parse_ipv4(&v6), Err(Ipv4ParseError::Version(6)));
        let mut ihl = good.clone();
        ihl[0] = 0x44;
        assert!(matches!(parse_ipv4(&ihl), Err(Ipv4ParseError::Ihl { .. })));
        ihl[0] = 0x4f; // 60 bytes of header in a 28-byte packet
        assert!(matches!(parse_ipv4(&ihl), Err(Ipv4ParseError::Ihl { .. })));
        assert!(matches!(
            parse_ipv4(&good[..27]),
            Err(Ipv4ParseError::TotalLength {
                tot_len: 28,
                len: 27
            })
        ));
        let mut long = good.clone();
        long.push(0);
        assert!(matches!(
            parse_ipv4(&long),
            Err(Ipv4ParseError::TotalLength { .. })
        ));
    }

    #[test]
    fn garp_layout() {
        let f = garp_frame(MAC, Ipv4Addr::new(192, 0, 2, 100));
        assert_eq!(&f[0..6], &[0xff; 6]);
        assert_eq!(&f[6..12], &MAC);
        assert_eq!(&f[12..14], &[0x08, 0x06]);
        assert_eq!(&f[14..22], &[0, 1, 0x08, 0, 6, 4, 0, 1]);
        assert_eq!(&f[22..28], &MAC);
        assert_eq!(&f[28..32], &[192, 0, 2, 100]);
        assert_eq!(&f[32..38], &[0xff; 6]);
        assert_eq!(&f[38..42], &[192, 0, 2, 100]);
    }

    #[test]
    fn na_layout_and_checksum() {
        let vip: Ipv6Addr = "2001:db8::100".parse().unwrap();
        let f = unsolicited_na_frame(MAC, vip, false);
        assert_eq!(&f[0..6], &ALL_NODES_MAC);
        assert_eq!(&f[6..12], &MAC);
        assert_eq!(&f[12..14], &[0x86, 0xdd]);
        assert_eq!(&f[14..18], &[0x60, 0, 0, 0]);
        assert_eq!(u16::from_be_bytes([f[18], f[19]]), 32);
        assert_eq!((f[20], f[21]), (58, 255));
        assert_eq!(&f[22..38], &vip.octets());
        assert_eq!(&f[38..54], &ALL_NODES.octets());
        assert_eq!((f[54], f[55]), (136, 0));
        assert_eq!(&f[58..62], &[0x20, 0, 0, 0], "O flag only");
        assert_eq!(&f[62..78], &vip.octets());
        assert_eq!(&f[78..80], &[2, 1]);
        assert_eq!(&f[80..86], &MAC);
        // The checksum verifies: summing pseudo-header + message with the checksum gives 0.
        let mut acc = sum16(0, &vip.octets());
        acc = sum16(acc, &ALL_NODES.octets());
        acc = sum16(acc, &32u32.to_be_bytes());
        acc = sum16(acc, &[0, 0, 0, 58]);
        assert_eq!(fold(sum16(acc, &f[54..86])), 0);
        assert_ne!(&f[56..58], &[0, 0]);
        let r = unsolicited_na_frame(MAC, vip, true);
        assert_eq!(r[58], 0xa0, "R and O");
        assert_ne!(&r[56..58], &f[56..58]);
    }
}
