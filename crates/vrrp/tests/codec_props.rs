//! Property tests of the codec: decode(encode(x)) == x for valid adverts of every version and
//! family, and decode never panics on arbitrary input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use vrrp::{Advert, ChecksumForm, Family, V3Checksum, Version};

fn v4() -> impl Strategy<Value = IpAddr> {
    any::<[u8; 4]>().prop_map(|o| IpAddr::V4(Ipv4Addr::from(o)))
}

fn v6() -> impl Strategy<Value = IpAddr> {
    any::<[u8; 16]>().prop_map(|o| IpAddr::V6(Ipv6Addr::from(o)))
}

/// (advert, family, ip src/dst) for valid adverts of v2/IPv4, v3/IPv4, v3/IPv6.
fn valid() -> impl Strategy<Value = (Advert, Family, (IpAddr, IpAddr))> {
    let v2 = (
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        prop_oneof![Just(0u8), Just(1u8), Just(2u8)],
        any::<[u8; 8]>(),
        prop::collection::vec(v4(), 0..20),
        v4(),
        v4(),
    )
        .prop_map(|(vrid, prio, iv, at, ad, addrs, s, d)| {
            let a = Advert {
                version: Version::V2,
                vrid,
                priority: prio,
                interval: u16::from(iv),
                auth_type: at,
                auth_data: ad,
                addrs,
            };
            (a, Family::Ipv4, (s, d))
        });
    let v3_4 = (
        any::<u8>(),
        any::<u8>(),
        0u16..=4095,
        prop::collection::vec(v4(), 0..20),
        v4(),
        v4(),
    )
        .prop_map(|(vrid, prio, iv, addrs, s, d)| {
            (Advert::v3(vrid, prio, iv, addrs), Family::Ipv4, (s, d))
        });
    let v3_6 = (
        any::<u8>(),
        any::<u8>(),
        0u16..=4095,
        prop::collection::vec(v6(), 0..20),
        v6(),
        v6(),
    )
        .prop_map(|(vrid, prio, iv, addrs, s, d)| {
            (Advert::v3(vrid, prio, iv, addrs), Family::Ipv6, (s, d))
        });
    prop_oneof![v2, v3_4, v3_6]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn round_trip((advert, family, ip) in valid()) {
        for form in [V3Checksum::PseudoHeader, V3Checksum::MessageOnly] {
            let bytes = advert.encode(Some(ip), form).expect("valid advert encodes");
            let d = Advert::decode(&bytes, family, Some(ip)).expect("decodes");
            prop_assert_eq!(&d.advert, &advert);
            let want = match (advert.version, family, form) {
                (Version::V3, Family::Ipv4, V3Checksum::PseudoHeader) | (Version::V3, Family::Ipv6, _) => ChecksumForm::PseudoHeader,
                _ => ChecksumForm::MessageOnly,
            };
            // A pseudo-header sum can coincide with the message-only one; then either is right.
            if d.checksum != want {
                prop_assert_eq!(vrrp::checksum::message(&bytes), 0);
            }
            // A flipped bit outside the checksum field is detected or changes the advert.
            let mut bad = bytes.clone();
            bad[2] ^= 0x10;
            if let Ok(x) = Advert::decode(&bad, family, Some(ip)) {
                prop_assert_ne!(x.advert, advert.clone());
            }
        }
    }

    #[test]
    fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400), s4 in v4(), d4 in v4(), s6 in v6(), d6 in v6()) {
        let _ = Advert::decode(&bytes, Family::Ipv4, None);
        let _ = Advert::decode(&bytes, Family::Ipv6, None);
        let _ = Advert::decode(&bytes, Family::Ipv4, Some((s4, d4)));
        let _ = Advert::decode(&bytes, Family::Ipv6, Some((s6, d6)));
        let _ = Advert::decode(&bytes, Family::Ipv4, Some((s6, d6)));
    }

    /// Mostly-valid headers reach deeper paths than random bytes.
    #[test]
    fn decode_never_panics_on_near_valid(ver in 0u8..16, typ in 0u8..16, count in any::<u8>(), tail in prop::collection::vec(any::<u8>(), 0..300)) {
        let mut p = vec![ver << 4 | typ, 1, 100, count, 0, 100, 0, 0];
        p.extend(tail);
        for fam in [Family::Ipv4, Family::Ipv6] {
            if let Ok(d) = Advert::decode(&p, fam, None) {
                prop_assert_eq!(d.advert.addrs.len(), usize::from(count));
            }
        }
    }
}

/// Encode refuses what cannot be put on the wire.
#[test]
fn encode_errors() {
    let s = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let d = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));
    let six = IpAddr::V6(Ipv6Addr::LOCALHOST);
    let mut a = Advert::v3(1, 100, 4096, vec![s]);
    assert!(a.encode(Some((s, d)), V3Checksum::PseudoHeader).is_err());
    a.interval = 100;
    a.addrs.push(six);
    assert!(a.encode(Some((s, d)), V3Checksum::PseudoHeader).is_err());
    let a = Advert::v2(1, 100, 1, None, vec![six]);
    assert!(a.encode(None, V3Checksum::PseudoHeader).is_err());
    let a = Advert::v3(1, 100, 100, vec![s]);
    assert!(a.encode(None, V3Checksum::PseudoHeader).is_err());
    assert!(a.encode(None, V3Checksum::MessageOnly).is_ok());
    let mut a = Advert::v3(1, 100, 100, vec![s]);
    a.auth_type = 1;
    assert!(a.encode(Some((s, d)), V3Checksum::PseudoHeader).is_err());
}

/// RFC 5798 §5.2.7: the reserved nibble is sent as 0 and ignored on receive.
#[test]
fn v3_reserved_bits_ignored() {
    let s = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let a = Advert::v3(1, 100, 100, vec![s]);
    let mut b = a.encode(None, V3Checksum::MessageOnly).expect("encode");
    assert_eq!(b[4] & 0xf0, 0);
    b[4] |= 0xf0;
    b[6] = 0;
    b[7] = 0;
    let c = vrrp::checksum::message(&b);
    b[6..8].copy_from_slice(&c.to_be_bytes());
    let d = Advert::decode(&b, Family::Ipv4, None).expect("decode");
    assert_eq!(d.advert, a);
}
