//! Pure parsing of the frames the address watch receives ([`super::watch`]): who claims which
//! address on the link (ARP senders, Neighbour Advertisement targets) and which MAC sends a
//! VRRP source's adverts. No IO, no allocation.
//!
//! The classic BPF program that lets only these frames through to the socket is here too
//! ([`filter`]), so its offsets sit next to the parser that relies on them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::frames::{ETH_P_ARP, ETH_P_IPV6, IPPROTO_VRRP};

/// EtherType of IPv4.
pub const ETH_P_IP: u16 = 0x0800;
/// ICMPv6 Neighbour Advertisement.
const ND_NEIGHBOR_ADVERT: u8 = 136;
/// Bytes of a frame the filter keeps (an NA with its TLLA option is 86).
pub const SNAP_LEN: u32 = 128;

/// How an address was claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimHow {
    /// ARP request whose sender and target address are the same (gratuitous ARP).
    GratuitousArp,
    /// ARP reply.
    ArpReply,
    /// Any other ARP request: the sender uses the address as its own.
    ArpRequest,
    /// Neighbour Advertisement (solicited or not) for the target address.
    NeighbourAdvert,
}

/// One frame, reduced to what the watch needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// `mac` says it owns `addr`.
    Claim {
        /// The claimed address.
        addr: IpAddr,
        /// The claimant's link-layer address (ARP sender hardware address, NA target
        /// link-layer address option, else the Ethernet source).
        mac: [u8; 6],
        /// Which frame said so.
        how: ClaimHow,
    },
    /// A VRRP packet from IP source `src` left Ethernet source `mac`.
    Vrrp {
        /// IP source.
        src: IpAddr,
        /// Ethernet source.
        mac: [u8; 6],
    },
}

fn mac_at(f: &[u8], o: usize) -> Option<[u8; 6]> {
    f.get(o..o + 6)?.try_into().ok()
}

fn u16_at(f: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_be_bytes(f.get(o..o + 2)?.try_into().ok()?))
}

fn v4_at(f: &[u8], o: usize) -> Option<Ipv4Addr> {
    let b: [u8; 4] = f.get(o..o + 4)?.try_into().ok()?;
    Some(Ipv4Addr::from(b))
}

fn v6_at(f: &[u8], o: usize) -> Option<Ipv6Addr> {
    let b: [u8; 16] = f.get(o..o + 16)?.try_into().ok()?;
    Some(Ipv6Addr::from(b))
}

/// Parses an Ethernet frame (as an AF_PACKET `SOCK_RAW` socket delivers it). `None` for
/// anything that is neither an address claim nor a VRRP packet, or is malformed.
pub fn parse(f: &[u8]) -> Option<Seen> {
    let eth_src = mac_at(f, 6)?;
    match u16_at(f, 12)? {
        ETH_P_ARP => parse_arp(f.get(14..)?),
        ETH_P_IP => {
            let ip = f.get(14..)?;
            let first = *ip.first()?;
            (first >> 4 == 4 && *ip.get(9)? == IPPROTO_VRRP).then_some(())?;
            Some(Seen::Vrrp {
                src: v4_at(ip, 12)?.into(),
                mac: eth_src,
            })
        }
        ETH_P_IPV6 => parse_v6(f.get(14..)?, eth_src),
        _ => None,
    }
}

fn parse_arp(a: &[u8]) -> Option<Seen> {
    // Ethernet/IPv4 ARP only: htype 1, ptype 0x0800, hlen 6, plen 4.
    if u16_at(a, 0)? != 1 || u16_at(a, 2)? != ETH_P_IP || a.get(4..6)? != [6, 4] {
        return None;
    }
    let sha = mac_at(a, 8)?;
    let spa = v4_at(a, 14)?;
    let tpa = v4_at(a, 24)?;
    if spa.is_unspecified() {
        return None; // an ARP probe (RFC 5227) claims nothing yet
    }
    let how = match u16_at(a, 6)? {
        1 if spa == tpa => ClaimHow::GratuitousArp,
        1 => ClaimHow::ArpRequest,
        2 => ClaimHow::ArpReply,
        _ => return None,
    };
    Some(Seen::Claim {
        addr: spa.into(),
        mac: sha,
        how,
    })
}

fn parse_v6(ip: &[u8], eth_src: [u8; 6]) -> Option<Seen> {
    if *ip.first()? >> 4 != 6 {
        return None;
    }
    match *ip.get(6)? {
        IPPROTO_VRRP => Some(Seen::Vrrp {
            src: v6_at(ip, 8)?.into(),
            mac: eth_src,
        }),
        58 => {
            // RFC 4861 §7.1.2: hop limit 255, code 0, at least 24 bytes.
            let icmp = ip.get(40..)?;
            if *ip.get(7)? != 255
                || icmp.len() < 24
                || icmp[0] != ND_NEIGHBOR_ADVERT
                || icmp[1] != 0
            {
                return None;
            }
            let target = v6_at(icmp, 8)?;
            Some(Seen::Claim {
                addr: target.into(),
                mac: tlla(&icmp[24..]).unwrap_or(eth_src),
                how: ClaimHow::NeighbourAdvert,
            })
        }
        _ => None,
    }
}

/// The Target Link-Layer Address option (type 2) among NA options, if any.
fn tlla(mut opts: &[u8]) -> Option<[u8; 6]> {
    // Bounded by the options' own lengths; a zero length is invalid (RFC 4861 §4.6).
    while opts.len() >= 8 {
        let len = usize::from(opts[1]) * 8;
        if len == 0 || len > opts.len() {
            return None;
        }
        if opts[0] == 2 {
            return mac_at(opts, 2);
        }
        opts = &opts[len..];
    }
    None
}

/// Classic BPF: accept (the first [`SNAP_LEN`] bytes of) incoming ARP, IPv4 or IPv6 VRRP
/// (protocol/next header 112), and ICMPv6 Neighbour Advertisements without extension
/// headers; drop everything else, and every frame we send ourselves (`PACKET_OUTGOING`).
/// Entries are (code, jt, jf, k).
pub fn filter() -> [(u16, u8, u8, u32); 15] {
    const LD_B_ABS: u16 = 0x30; // BPF_LD | BPF_B | BPF_ABS
    const LD_H_ABS: u16 = 0x28; // BPF_LD | BPF_H | BPF_ABS
    const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const RET_K: u16 = 0x06; // BPF_RET | BPF_K
                             // SKF_AD_OFF + SKF_AD_PKTTYPE: the packet type as an ancillary load.
    const AD_PKTTYPE: u32 = 0xffff_f000 + 4;
    const PACKET_OUTGOING: u32 = 4;
    [
        /* 0 */ (LD_B_ABS, 0, 0, AD_PKTTYPE),
        /* 1 */ (JEQ_K, 12, 0, PACKET_OUTGOING), // → drop
        /* 2 */ (LD_H_ABS, 0, 0, 12),
        /* 3 */ (JEQ_K, 9, 0, u32::from(ETH_P_ARP)), // → accept
        /* 4 */ (JEQ_K, 0, 2, u32::from(ETH_P_IP)),
        /* 5 */ (LD_B_ABS, 0, 0, 14 + 9),
        /* 6 */ (JEQ_K, 6, 7, u32::from(IPPROTO_VRRP)), // → accept / drop
        /* 7 */ (JEQ_K, 0, 6, u32::from(ETH_P_IPV6)), // else → drop
        /* 8 */ (LD_B_ABS, 0, 0, 14 + 6),
        /* 9 */ (JEQ_K, 3, 0, u32::from(IPPROTO_VRRP)), // → accept
        /* 10 */ (JEQ_K, 0, 3, 58), // else → drop
        /* 11 */ (LD_B_ABS, 0, 0, 14 + 40),
        /* 12 */ (JEQ_K, 0, 1, u32::from(ND_NEIGHBOR_ADVERT)), // else → drop
        /* 13 */ (RET_K, 0, 0, SNAP_LEN),
        /* 14 */ (RET_K, 0, 0, 0),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::frames::{garp_frame, unsolicited_na_frame};
    use super::*;

    const MAC: [u8; 6] = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
    const OTHER: [u8; 6] = [0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee];

    fn arp(op: u16, sha: [u8; 6], spa: [u8; 4], tpa: [u8; 4]) -> Vec<u8> {
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&OTHER);
        f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4]);
        f.extend_from_slice(&op.to_be_bytes());
        f.extend_from_slice(&sha);
        f.extend_from_slice(&spa);
        f.extend_from_slice(&[0; 6]);
        f.extend_from_slice(&tpa);
        f
    }

    #[test]
    fn arp_kinds() {
        let g = garp_frame(MAC, Ipv4Addr::new(192, 0, 2, 100));
        assert_eq!(
            parse(&g),
            Some(Seen::Claim {
                addr: IpAddr::from([192, 0, 2, 100]),
                mac: MAC,
                how: ClaimHow::GratuitousArp
            })
        );
        let vip = [192, 0, 2, 100];
        let reply = arp(2, MAC, vip, [192, 0, 2, 10]);
        assert!(matches!(
            parse(&reply),
            Some(Seen::Claim { mac: MAC, how: ClaimHow::ArpReply, addr }) if addr == IpAddr::from(vip)
        ));
        let req = arp(1, MAC, vip, [192, 0, 2, 1]);
        assert!(matches!(
            parse(&req),
            Some(Seen::Claim {
                how: ClaimHow::ArpRequest,
                ..
            })
        ));
        // Probe (sender 0.0.0.0), other opcodes, other hardware: nothing.
        assert_eq!(parse(&arp(1, MAC, [0; 4], vip)), None);
        assert_eq!(parse(&arp(3, MAC, vip, vip)), None);
        let mut tr = arp(2, MAC, vip, vip);
        tr[15] = 6; // htype IEEE 802
        assert_eq!(parse(&tr), None);
        // Truncated anywhere: nothing, no panic.
        for n in 0..reply.len() {
            assert_eq!(parse(&reply[..n]), None, "{n}");
        }
    }

    #[test]
    fn na_with_and_without_tlla() {
        let vip: Ipv6Addr = "2001:db8::100".parse().unwrap();
        let na = unsolicited_na_frame(MAC, vip, false);
        assert_eq!(
            parse(&na),
            Some(Seen::Claim {
                addr: vip.into(),
                mac: MAC,
                how: ClaimHow::NeighbourAdvert
            })
        );
        // TLLA option differs from the Ethernet source: the option wins.
        let mut f = na;
        f[80..86].copy_from_slice(&OTHER);
        assert!(matches!(parse(&f), Some(Seen::Claim { mac: OTHER, .. })));
        // Without options: the Ethernet source.
        let short = &na[..78];
        assert!(matches!(parse(short), Some(Seen::Claim { mac: MAC, .. })));
        // Zero-length option: ignored, Ethernet source.
        let mut z = na;
        z[79] = 0;
        assert!(matches!(parse(&z), Some(Seen::Claim { mac: MAC, .. })));
        // Hop limit below 255 (forwarded): not a valid NA.
        let mut h = na;
        h[21] = 64;
        assert_eq!(parse(&h), None);
        // A Neighbour Solicitation (135): nothing.
        let mut ns = na;
        ns[54] = 135;
        assert_eq!(parse(&ns), None);
        for n in 0..na.len() {
            let _ = parse(&na[..n]);
        }
    }

    #[test]
    fn vrrp_sources() {
        let mut f = vec![0x01, 0, 0x5e, 0, 0, 0x12];
        f.extend_from_slice(&OTHER);
        f.extend_from_slice(&[0x08, 0x00]);
        let mut ip = [0u8; 20];
        ip[0] = 0x45;
        ip[9] = 112;
        ip[12..16].copy_from_slice(&[192, 0, 2, 11]);
        f.extend_from_slice(&ip);
        assert_eq!(
            parse(&f),
            Some(Seen::Vrrp {
                src: IpAddr::from([192, 0, 2, 11]),
                mac: OTHER
            })
        );
        f[14 + 9] = 6; // TCP
        assert_eq!(parse(&f), None);
        let mut v6 = vec![0x33, 0x33, 0, 0, 0, 0x12];
        v6.extend_from_slice(&OTHER);
        v6.extend_from_slice(&[0x86, 0xdd]);
        let mut h = [0u8; 40];
        h[0] = 0x60;
        h[6] = 112;
        h[8] = 0xfe;
        h[9] = 0x80;
        h[23] = 7;
        v6.extend_from_slice(&h);
        assert!(
            matches!(parse(&v6), Some(Seen::Vrrp { mac: OTHER, src }) if src == "fe80::7".parse::<IpAddr>().unwrap())
        );
    }

    /// Runs the classic BPF program over a frame (ancillary pkttype given), as the kernel
    /// would: what it returns is the snap length (0 = drop).
    fn run_bpf(frame: &[u8], pkttype: u8) -> u32 {
        let prog = filter();
        let (mut pc, mut a) = (0usize, 0u32);
        for _ in 0..prog.len() {
            let (code, jt, jf, k) = prog[pc];
            match code {
                0x30 if k == 0xffff_f004 => a = u32::from(pkttype),
                0x30 => match frame.get(k as usize) {
                    Some(b) => a = u32::from(*b),
                    None => return 0,
                },
                0x28 => match frame.get(k as usize..k as usize + 2) {
                    Some(b) => a = u32::from(u16::from_be_bytes([b[0], b[1]])),
                    None => return 0,
                },
                0x15 => {
                    pc += 1 + usize::from(if a == k { jt } else { jf });
                    continue;
                }
                0x06 => return k,
                _ => panic!("unknown opcode {code:#x}"),
            }
            pc += 1;
        }
        panic!("ran off the program");
    }

    #[test]
    fn bpf_accepts_exactly_what_parse_wants() {
        let vip: Ipv6Addr = "2001:db8::100".parse().unwrap();
        let garp = garp_frame(MAC, Ipv4Addr::new(192, 0, 2, 100));
        let na = unsolicited_na_frame(MAC, vip, false);
        let mut v4 = vec![0u8; 14 + 20 + 8];
        v4[12..14].copy_from_slice(&[0x08, 0x00]);
        v4[14] = 0x45;
        v4[14 + 9] = 112;
        let mut v6 = vec![0u8; 14 + 40 + 8];
        v6[12..14].copy_from_slice(&[0x86, 0xdd]);
        v6[14] = 0x60;
        v6[14 + 6] = 112;
        for f in [&garp[..], &na[..], &v4[..], &v6[..]] {
            assert_eq!(run_bpf(f, 0), SNAP_LEN);
            assert_eq!(run_bpf(f, 4), 0, "outgoing frames are dropped");
        }
        let mut tcp = v4.clone();
        tcp[14 + 9] = 6;
        let mut ns = na;
        ns[54] = 135;
        let mut ping6 = v6.clone();
        ping6[14 + 6] = 58;
        ping6.resize(14 + 40 + 8, 0);
        ping6[54] = 128;
        let mut other = v4.clone();
        other[12..14].copy_from_slice(&[0x88, 0xcc]); // LLDP
        for f in [&tcp[..], &ns[..], &ping6[..], &other[..]] {
            assert_eq!(run_bpf(f, 0), 0);
        }
    }
}
