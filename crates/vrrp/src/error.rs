//! Typed errors of the core: configuration, decoding and encoding.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why an [`InstanceConfig`](crate::InstanceConfig) was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// VRID 0 is not valid (RFC 5798 §5.2.3: 1..=255).
    #[error("virtual_router_id must be 1..=255")]
    Vrid,
    /// Priority 0 is reserved for "master stopping" (RFC 5798 §5.2.4).
    #[error("priority must be 1..=255")]
    Priority,
    /// VRRPv2 carries IPv4 only (RFC 3768 §1).
    #[error("VRRPv2 is IPv4 only; use version 3 for IPv6")]
    V2Ipv6,
    /// Interval out of range or finer than the version's unit.
    #[error("advert interval {0:?} invalid: v2 needs whole seconds 1..=255, v3 centiseconds 0.01..=40.95 s")]
    Interval(Duration),
    /// Authentication exists only in VRRPv2.
    #[error("authentication is VRRPv2 only")]
    AuthV3,
    /// VRRPv2 interoperation is for VRRPv3 IPv4 instances only (RFC 5798 §8.4).
    #[error("VRRPv2 compatibility needs a VRRPv3 IPv4 instance")]
    V2Compat,
    /// `garp_burst` offsets not strictly ascending, more than [`crate::config::MAX_GARP_BURST`]
    /// of them, or one beyond [`crate::config::MAX_GARP_BURST_OFFSET`].
    #[error("GARP burst offsets must be strictly ascending, at most 8, each at most 10 s")]
    GarpBurst,
    /// `adaptive_floor` on VRRPv2 or with `v2_compat`, not whole centiseconds, or above the
    /// advert interval.
    #[error("adaptive interval floor {0:?} invalid: VRRPv3 only, not with VRRPv2 compatibility (v2 peers require equal intervals), centiseconds from 0.01 s up to advert_int")]
    AdaptiveInterval(Duration),
    /// More VIPs than the 8-bit count field holds.
    #[error("{0} VIPs: at most 255 fit in an advert")]
    TooManyVips(usize),
    /// A VIP of the wrong family, bad prefix or unparsable text.
    #[error("bad virtual IP {0:?} (wrong family, bad prefix or syntax)")]
    BadVip(String),
    /// A unicast peer or multicast destination of the wrong family.
    #[error("address {0} is not of the instance's family")]
    PeerFamily(IpAddr),
    /// `down_timer_adverts` outside 1..=100.
    #[error("down_timer_adverts {0} outside 1..=100")]
    DownTimerAdverts(u8),
    /// `preempt_delay` above 1000 s.
    #[error("preempt_delay {0:?} above 1000 s")]
    PreemptDelay(Duration),
    /// `handoff_timeout` above [`MAX_HANDOFF`](crate::config::MAX_HANDOFF).
    #[error("handoff timeout {0:?} above 60 s")]
    HandoffTimeout(Duration),
    /// A track weight outside −253..=253.
    #[error("track {index}: weight {weight} outside -253..=253")]
    TrackWeight {
        /// Index of the track.
        index: usize,
        /// The refused weight.
        weight: i32,
    },
}

/// Why [`Instance::reconfigure`](crate::Instance::reconfigure) refused a configuration
/// (the instance is unchanged).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReconfigureError {
    /// The new configuration is invalid.
    #[error(transparent)]
    Invalid(#[from] ConfigError),
    /// An identity field differs: the instance must be rebuilt instead.
    #[error("{0} changed: the instance must be rebuilt")]
    Identity(&'static str),
}

/// Why a received VRRP payload could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecodeError {
    /// Shorter than the 8-byte fixed header.
    #[error("packet too short: {len} bytes")]
    TooShort {
        /// Bytes received.
        len: usize,
    },
    /// Version nibble is neither 2 nor 3.
    #[error("unsupported VRRP version {0}")]
    Version(u8),
    /// Type nibble is not 1 (ADVERTISEMENT).
    #[error("unsupported VRRP type {0}")]
    Type(u8),
    /// VRRPv2 received over IPv6.
    #[error("VRRPv2 over IPv6")]
    Family,
    /// Length does not match the address count (and v2 auth data).
    #[error("length {got} does not match {count} addresses (expected {expected})")]
    Length {
        /// Address count field.
        count: u8,
        /// Length the count implies.
        expected: usize,
        /// Length received.
        got: usize,
    },
    /// Checksum matched no accepted form.
    #[error("bad checksum {found:#06x}")]
    Checksum {
        /// The checksum field as received.
        found: u16,
    },
    /// The IP addresses given for the pseudo-header are of another family.
    #[error("IP source/destination family does not match the payload family")]
    AddressFamily,
}

/// Why an [`Advert`](crate::Advert) could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// VRRPv2 with IPv6 addresses, or v3 with mixed families.
    #[error("advert addresses are not all of one family valid for this version")]
    Family,
    /// More than 255 addresses.
    #[error("more than 255 addresses")]
    TooManyAddresses,
    /// Interval does not fit (v2: 8 bits of seconds; v3: 12 bits of centiseconds).
    #[error("interval {0} does not fit the version's field")]
    Interval(u16),
    /// Auth fields set on a v3 advert.
    #[error("VRRPv3 has no authentication")]
    AuthV3,
    /// A pseudo-header checksum needs the IP source and destination.
    #[error("pseudo-header checksum needs IP source and destination of the advert's family")]
    NeedAddresses,
    /// Version 3 advert without an address family (no addresses and no IP pair).
    #[error("cannot tell the advert's address family")]
    UnknownFamily,
}
