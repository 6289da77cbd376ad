//! VRRP advertisement codec (the VRRP payload, without the IP header).
//!
//! ```text
//! VRRPv2 (RFC 3768 §5.1)                    VRRPv3 (RFC 5798 / RFC 9568 §5.1)
//!  0       4       8               16              24             31
//! +-------+-------+---------------+---------------+---------------+
//! |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
//! +-------+-------+---------------+---------------+---------------+
//! v2: | Auth Type | Adver Int (s)  |          Checksum             |
//! v3: |(rsvd)| Max Adver Int (cs, 12 bits)   |     Checksum        |
//! +---------------------------------------------------------------+
//! |                  IPvX Address(es) (4 or 16 bytes each)         |
//! +---------------------------------------------------------------+
//! v2 only: |             Authentication Data (8 bytes)            |
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::checksum;
use crate::config::{Family, V3Checksum, Version};
use crate::error::{DecodeError, EncodeError};

/// Length of the fixed header (both versions).
pub const HEADER_LEN: usize = 8;
/// Length of the v2 authentication data.
pub const AUTH_LEN: usize = 8;
/// Type 1: ADVERTISEMENT (RFC 5798 §5.2.2), the only type.
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// v2 Auth Type 0: none (RFC 2338 §5.3.6).
pub const AUTH_NONE: u8 = 0;
/// v2 Auth Type 1: simple text password (keepalived `auth_type PASS`).
pub const AUTH_PASS: u8 = 1;
/// v2 Auth Type 2: IPsec AH (keepalived `auth_type AH`; not implemented here).
pub const AUTH_AH: u8 = 2;
/// Largest v3 Max Adver Int (12 bits, centiseconds).
pub const V3_MAX_INTERVAL: u16 = 0x0fff;

/// One VRRP advertisement.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Advert {
    /// Protocol version.
    pub version: Version,
    /// Virtual router id.
    pub vrid: u8,
    /// Sender priority (0 = master stopping, 255 = owner).
    pub priority: u8,
    /// v2: Adver Int in seconds. v3: Max Adver Int in centiseconds (12 bits).
    pub interval: u16,
    /// v2 Auth Type; always 0 for v3.
    pub auth_type: u8,
    /// v2 Authentication Data; all zero for v3.
    pub auth_data: [u8; AUTH_LEN],
    /// The virtual addresses, all of one family.
    pub addrs: Vec<IpAddr>,
}

/// Which checksum form a received advert matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecksumForm {
    /// Over the VRRP message only (v2; v3/IPv4 per RFC 9568).
    MessageOnly,
    /// Over an IP pseudo-header plus the message (v3/IPv4 keepalived 2.2.7; v3/IPv6).
    PseudoHeader,
    /// Not verified: v3/IPv6 decoded without IP addresses (the kernel checked it with
    /// `IPV6_CHECKSUM`).
    NotVerified,
}

/// A successfully decoded advert and the checksum form it matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decoded {
    /// The advert.
    pub advert: Advert,
    /// The checksum form that matched.
    pub checksum: ChecksumForm,
}

/// Read the VRID of a payload without decoding it (for demultiplexing); `None` if too short.
pub fn peek_vrid(payload: &[u8]) -> Option<u8> {
    payload.get(1).copied()
}

/// Length a payload must have for `count` addresses.
pub fn expected_len(version: Version, family: Family, count: u8) -> usize {
    let auth = if version == Version::V2 { AUTH_LEN } else { 0 };
    HEADER_LEN + usize::from(count) * family.addr_len() + auth
}

impl Advert {
    /// A v3 advert with no auth fields.
    pub fn v3(vrid: u8, priority: u8, interval_cs: u16, addrs: Vec<IpAddr>) -> Advert {
        Advert {
            version: Version::V3,
            vrid,
            priority,
            interval: interval_cs,
            auth_type: AUTH_NONE,
            auth_data: [0; AUTH_LEN],
            addrs,
        }
    }

    /// A v2 advert; `pass` = `Some(password)` gives Auth Type 1 (PASS).
    pub fn v2(
        vrid: u8,
        priority: u8,
        interval_s: u8,
        pass: Option<[u8; AUTH_LEN]>,
        addrs: Vec<IpAddr>,
    ) -> Advert {
        Advert {
            version: Version::V2,
            vrid,
            priority,
            interval: u16::from(interval_s),
            auth_type: if pass.is_some() { AUTH_PASS } else { AUTH_NONE },
            auth_data: pass.unwrap_or([0; AUTH_LEN]),
            addrs,
        }
    }

    /// The family of the advert, from its version and addresses (and `ip` as a fallback
    /// for an address-less v3 advert).
    fn family(&self, ip: Option<(IpAddr, IpAddr)>) -> Result<Family, EncodeError> {
        let fam = match (self.version, self.addrs.first(), ip) {
            (Version::V2, _, _) => Family::Ipv4,
            (Version::V3, Some(a), _) => Family::of(a),
            (Version::V3, None, Some((s, _))) => Family::of(&s),
            (Version::V3, None, None) => return Err(EncodeError::UnknownFamily),
        };
        if self.addrs.iter().any(|a| Family::of(a) != fam) {
            return Err(EncodeError::Family);
        }
        Ok(fam)
    }

    /// Encode to wire bytes.
    ///
    /// `ip` is the (source, destination) of the IP packet that will carry the advert;
    /// it is needed for v3/IPv6 and for v3/IPv4 with `form = PseudoHeader`. `form` is
    /// ignored for v2 (always message only) and for IPv6 (always pseudo-header).
    pub fn encode(
        &self,
        ip: Option<(IpAddr, IpAddr)>,
        form: V3Checksum,
    ) -> Result<Vec<u8>, EncodeError> {
        let family = self.family(ip)?;
        let count = u8::try_from(self.addrs.len()).map_err(|_| EncodeError::TooManyAddresses)?;
        let mut out = Vec::with_capacity(expected_len(self.version, family, count));
        out.push(self.version.number() << 4 | TYPE_ADVERTISEMENT);
        out.push(self.vrid);
        out.push(self.priority);
        out.push(count);
        match self.version {
            // RFC 3768 §5.3.6-5.3.7: Auth Type, Adver Int in seconds.
            Version::V2 => {
                let iv = u8::try_from(self.interval)
                    .map_err(|_| EncodeError::Interval(self.interval))?;
                out.push(self.auth_type);
                out.push(iv);
            }
            // RFC 5798 §5.2.7: 4 reserved bits sent as 0, 12-bit Max Adver Int.
            Version::V3 => {
                if self.interval > V3_MAX_INTERVAL {
                    return Err(EncodeError::Interval(self.interval));
                }
                if self.auth_type != 0 || self.auth_data != [0; AUTH_LEN] {
                    return Err(EncodeError::AuthV3);
                }
                out.extend_from_slice(&self.interval.to_be_bytes());
            }
        }
        out.extend_from_slice(&[0, 0]);
        for a in &self.addrs {
            match a {
                IpAddr::V4(v4) => out.extend_from_slice(&v4.octets()),
                IpAddr::V6(v6) => out.extend_from_slice(&v6.octets()),
            }
        }
        if self.version == Version::V2 {
            out.extend_from_slice(&self.auth_data);
        }
        let sum = match (self.version, family, form, ip) {
            (Version::V2, _, _, _) | (Version::V3, Family::Ipv4, V3Checksum::MessageOnly, _) => {
                checksum::message(&out)
            }
            (
                Version::V3,
                Family::Ipv4,
                V3Checksum::PseudoHeader,
                Some((IpAddr::V4(s), IpAddr::V4(d))),
            ) => checksum::ipv4_pseudo(s, d, &out),
            (Version::V3, Family::Ipv6, _, Some((IpAddr::V6(s), IpAddr::V6(d)))) => {
                checksum::ipv6_pseudo(s, d, &out)
            }
            _ => return Err(EncodeError::NeedAddresses),
        };
        out[6..8].copy_from_slice(&sum.to_be_bytes());
        Ok(out)
    }

    /// Decode a VRRP payload received over `family`. Never panics.
    ///
    /// `ip` is the (source, destination) of the carrying IP packet. With it, v3/IPv4
    /// accepts both the pseudo-header and the message-only checksum and reports which one
    /// matched, and v3/IPv6 is verified against the IPv6 pseudo-header. Without it, v3/IPv4
    /// accepts only the message-only form and v3/IPv6 is returned `NotVerified`.
    ///
    /// Checks, in keepalived's order where they overlap (docs/keepalived-interop.md §3): header
    /// length, version, type, family, length for the count, checksum.
    pub fn decode(
        payload: &[u8],
        family: Family,
        ip: Option<(IpAddr, IpAddr)>,
    ) -> Result<Decoded, DecodeError> {
        let header: &[u8; HEADER_LEN] = payload
            .first_chunk::<HEADER_LEN>()
            .ok_or(DecodeError::TooShort { len: payload.len() })?;
        // RFC 5798 §5.2.1: version 3 (2 for RFC 3768).
        let version = match header[0] >> 4 {
            2 => Version::V2,
            3 => Version::V3,
            v => return Err(DecodeError::Version(v)),
        };
        // RFC 5798 §5.2.2: a packet with unknown type MUST be discarded.
        let typ = header[0] & 0x0f;
        if typ != TYPE_ADVERTISEMENT {
            return Err(DecodeError::Type(typ));
        }
        if version == Version::V2 && family == Family::Ipv6 {
            return Err(DecodeError::Family);
        }
        if let Some((s, d)) = ip {
            if Family::of(&s) != family || Family::of(&d) != family {
                return Err(DecodeError::AddressFamily);
            }
        }
        // RFC 5798 §7.1: MUST verify the length is at least the fixed fields plus the
        // addresses; keepalived requires it to be exact (docs/keepalived-interop.md §3 item 5).
        let count = header[3];
        let expected = expected_len(version, family, count);
        if payload.len() != expected {
            return Err(DecodeError::Length {
                count,
                expected,
                got: payload.len(),
            });
        }
        let found = u16::from_be_bytes([header[6], header[7]]);
        let checksum =
            verify_checksum(version, family, payload, ip).ok_or(DecodeError::Checksum { found })?;

        let (interval, auth_type) = match version {
            Version::V2 => (u16::from(header[5]), header[4]),
            // RFC 5798 §5.2.7: reserved bits MUST be ignored on receive.
            Version::V3 => (
                u16::from_be_bytes([header[4], header[5]]) & V3_MAX_INTERVAL,
                0,
            ),
        };
        let addr_bytes = &payload[HEADER_LEN..HEADER_LEN + usize::from(count) * family.addr_len()];
        let addrs = match family {
            Family::Ipv4 => addr_bytes
                .chunks_exact(4)
                .filter_map(|c| <[u8; 4]>::try_from(c).ok())
                .map(|o| IpAddr::V4(Ipv4Addr::from(o)))
                .collect(),
            Family::Ipv6 => addr_bytes
                .chunks_exact(16)
                .filter_map(|c| <[u8; 16]>::try_from(c).ok())
                .map(|o| IpAddr::V6(Ipv6Addr::from(o)))
                .collect(),
        };
        let mut auth_data = [0u8; AUTH_LEN];
        if version == Version::V2 {
            if let Some(tail) = payload.last_chunk::<AUTH_LEN>() {
                auth_data = *tail;
            }
        }
        Ok(Decoded {
            advert: Advert {
                version,
                vrid: header[1],
                priority: header[2],
                interval,
                auth_type,
                auth_data,
                addrs,
            },
            checksum,
        })
    }
}

/// Which accepted checksum form `payload` (checksum field included) matches, if any.
fn verify_checksum(
    version: Version,
    family: Family,
    payload: &[u8],
    ip: Option<(IpAddr, IpAddr)>,
) -> Option<ChecksumForm> {
    match (version, family, ip) {
        // RFC 3768 §5.3.8: over the VRRP message only.
        (Version::V2, _, _) => {
            (checksum::message(payload) == 0).then_some(ChecksumForm::MessageOnly)
        }
        // keepalived 2.2.7 pseudo-header form first, then the RFC 9568 §5.2.8 form.
        (Version::V3, Family::Ipv4, Some((IpAddr::V4(s), IpAddr::V4(d)))) => {
            if checksum::ipv4_pseudo(s, d, payload) == 0 {
                Some(ChecksumForm::PseudoHeader)
            } else if checksum::message(payload) == 0 {
                Some(ChecksumForm::MessageOnly)
            } else {
                None
            }
        }
        (Version::V3, Family::Ipv4, _) => {
            (checksum::message(payload) == 0).then_some(ChecksumForm::MessageOnly)
        }
        // RFC 5798 §5.2.8: IPv6 pseudo-header (RFC 8200 §8.1).
        (Version::V3, Family::Ipv6, Some((IpAddr::V6(s), IpAddr::V6(d)))) => {
            (checksum::ipv6_pseudo(s, d, payload) == 0).then_some(ChecksumForm::PseudoHeader)
        }
        (Version::V3, Family::Ipv6, _) => Some(ChecksumForm::NotVerified),
    }
}
