//! Internet checksum (RFC 1071) and the IPv4/IPv6 pseudo-headers VRRP uses.
//!
//! - VRRPv2: message only (RFC 3768 §5.3.8).
//! - VRRPv3/IPv4: pseudo-header with the actual IP destination (keepalived 2.2.7,
//!   RFC 5798 §5.2.8 as read by keepalived and FRR) or message only (RFC 9568 §5.2.8).
//! - VRRPv3/IPv6: the IPv6 pseudo-header (RFC 8200 §8.1).

use std::net::{Ipv4Addr, Ipv6Addr};

/// VRRP's IP protocol number.
pub const IPPROTO_VRRP: u8 = 112;

/// Add `data` as big-endian 16-bit words to a 32-bit accumulator (odd tail zero padded).
fn add_words(mut acc: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u64::from(u16::from_be_bytes([*last, 0]));
    }
    acc
}

/// Fold the carries and take the ones' complement.
fn finish(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    // acc <= 0xffff after folding.
    !(acc as u16)
}

/// Checksum over the message only. Over a message whose checksum field holds a correct
/// value the result is 0.
pub fn message(data: &[u8]) -> u16 {
    finish(add_words(0, data))
}

/// Checksum over an IPv4 pseudo-header (src, dst, zero, protocol 112, length) plus `data`.
pub fn ipv4_pseudo(src: Ipv4Addr, dst: Ipv4Addr, data: &[u8]) -> u16 {
    let mut acc = add_words(0, &src.octets());
    acc = add_words(acc, &dst.octets());
    acc += u64::from(IPPROTO_VRRP);
    acc += data.len() as u64 & 0xffff;
    finish(add_words(acc, data))
}

/// Checksum over an IPv6 pseudo-header (src, dst, 32-bit length, next header 112) plus `data`.
pub fn ipv6_pseudo(src: Ipv6Addr, dst: Ipv6Addr, data: &[u8]) -> u16 {
    let mut acc = add_words(0, &src.octets());
    acc = add_words(acc, &dst.octets());
    let len = data.len() as u64 & 0xffff_ffff;
    acc += (len >> 16) + (len & 0xffff);
    acc += u64::from(IPPROTO_VRRP);
    finish(add_words(acc, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3 example words: 0001 f203 f4f5 f6f7 sum to 0xddf2 (before complement).
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(message(&data), !0xddf2);
    }

    #[test]
    fn verifying_a_filled_checksum_gives_zero() {
        let mut data = vec![0x31, 23, 100, 1, 0, 100, 0, 0, 192, 0, 2, 100];
        let c = message(&data);
        data[6..8].copy_from_slice(&c.to_be_bytes());
        assert_eq!(message(&data), 0);
        let (s, d) = (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(224, 0, 0, 18));
        data[6..8].copy_from_slice(&[0, 0]);
        let c = ipv4_pseudo(s, d, &data);
        data[6..8].copy_from_slice(&c.to_be_bytes());
        assert_eq!(ipv4_pseudo(s, d, &data), 0);
        assert_ne!(message(&data), 0);
    }

    #[test]
    fn odd_length_is_zero_padded() {
        assert_eq!(message(&[0xab]), message(&[0xab, 0x00]));
    }
}
