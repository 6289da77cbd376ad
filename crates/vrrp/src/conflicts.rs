//! Conflict detection: adverts on our VRID that are not from a legitimate peer of this
//! virtual router (another cluster using the same VRID, a stale or misconfigured host).
//!
//! The core only classifies and counts; the IO edge keeps the per-source record (first/last
//! seen in wall-clock time), logs it rate-limited and writes it to the state file and
//! metrics. A conflict never changes the instance's state: the adverts it is derived from
//! are either dropped by validation (and counted there by [`DropReason`] too) or, for
//! [`ConflictKind::UnknownPeer`], handled exactly as before.
//!
//! Which drops are conflicts follows the receive checks of `Instance::validate`: only
//! well-formed adverts (VRID ours, version nibble 2 or 3) whose *configuration* differs from
//! ours. Damaged packets (length, type, checksum), TTL and destination drops, our own
//! looped-back adverts and drops while INIT/FAULT (packets are not validated then) are not.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::status::DropReason;

/// What is wrong with a conflicting advert; serialised in snake_case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictKind {
    /// Same VRID, different VIP set (address count or list, sender priority < 255): the
    /// classic "another cluster with the same router_id" (drops `addr_count`, `addr_list`).
    OtherVips,
    /// Same VRID, the other VRRP version (2 vs 3) (drop `version`).
    Version,
    /// VRRPv2 only: a different Adver Int, which RFC 3768 §7.1 drops (drop `interval`).
    Interval,
    /// VRRPv2 only: a different auth type or password (drops `auth_type`, `auth`).
    Auth,
    /// Unicast mode: a valid advert from a source not in `unicast_peer`. It is still
    /// processed as keepalived 2.2.7 does without `check_unicast_src`; it is reported so
    /// the operator sees who else speaks on the VRID.
    UnknownPeer,
    /// Not VRRP: a host answers ARP (or sends NAs) for one of our VIPs with a MAC that is not
    /// the holder's (a squatter, a stale static address). The IO edge sees the frames and
    /// reports them with [`crate::Instance::count_address_conflict`].
    AddressConflict,
}

impl ConflictKind {
    /// All kinds, in a fixed order (metrics, counters).
    pub const ALL: [ConflictKind; 6] = [
        ConflictKind::OtherVips,
        ConflictKind::Version,
        ConflictKind::Interval,
        ConflictKind::Auth,
        ConflictKind::UnknownPeer,
        ConflictKind::AddressConflict,
    ];

    /// The snake_case name, as in the state file and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictKind::OtherVips => "other_vips",
            ConflictKind::Version => "version",
            ConflictKind::Interval => "interval",
            ConflictKind::Auth => "auth",
            ConflictKind::UnknownPeer => "unknown_peer",
            ConflictKind::AddressConflict => "address_conflict",
        }
    }

    /// The conflict a validation drop stands for, if any. `payload` is the dropped VRRP
    /// payload: a version drop is a conflict only when the version nibble is a real VRRP
    /// version (2 or 3), not garbage.
    pub fn from_drop(reason: DropReason, payload: &[u8]) -> Option<ConflictKind> {
        match reason {
            DropReason::AddrCount | DropReason::AddrList => Some(ConflictKind::OtherVips),
            DropReason::Version => match payload.first().map(|b| b >> 4) {
                Some(2 | 3) => Some(ConflictKind::Version),
                _ => None,
            },
            DropReason::Interval => Some(ConflictKind::Interval),
            DropReason::AuthType | DropReason::Auth => Some(ConflictKind::Auth),
            DropReason::Length
            | DropReason::Vrid
            | DropReason::Inactive
            | DropReason::Ttl
            | DropReason::Type
            | DropReason::Checksum
            | DropReason::Family
            | DropReason::Destination
            | DropReason::Own => None,
        }
    }

    /// For a valid advert: [`ConflictKind::UnknownPeer`] when the instance is in unicast
    /// mode (`unicast_peers` not empty) and `src` is not one of them.
    pub fn from_source(unicast_peers: &[IpAddr], src: IpAddr) -> Option<ConflictKind> {
        (!unicast_peers.is_empty() && !unicast_peers.contains(&src))
            .then_some(ConflictKind::UnknownPeer)
    }
}

/// Conflicting adverts counted by kind (all kinds listed, zeros included; a kind missing in
/// an older state file reads as 0).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct ConflictCounts {
    pub other_vips: u64,
    pub version: u64,
    pub interval: u64,
    pub auth: u64,
    pub unknown_peer: u64,
    /// ARP/NA frames claiming a VIP from a MAC that is not the holder's.
    pub address_conflict: u64,
}

impl ConflictCounts {
    fn slot(&mut self, k: ConflictKind) -> &mut u64 {
        match k {
            ConflictKind::OtherVips => &mut self.other_vips,
            ConflictKind::Version => &mut self.version,
            ConflictKind::Interval => &mut self.interval,
            ConflictKind::Auth => &mut self.auth,
            ConflictKind::UnknownPeer => &mut self.unknown_peer,
            ConflictKind::AddressConflict => &mut self.address_conflict,
        }
    }

    /// The count for one kind.
    pub fn get(&self, k: ConflictKind) -> u64 {
        match k {
            ConflictKind::OtherVips => self.other_vips,
            ConflictKind::Version => self.version,
            ConflictKind::Interval => self.interval,
            ConflictKind::Auth => self.auth,
            ConflictKind::UnknownPeer => self.unknown_peer,
            ConflictKind::AddressConflict => self.address_conflict,
        }
    }

    /// Count one conflicting advert.
    pub fn add(&mut self, k: ConflictKind) {
        let s = self.slot(k);
        *s = s.saturating_add(1);
    }

    /// Sum over all kinds.
    pub fn total(&self) -> u64 {
        ConflictKind::ALL.iter().map(|k| self.get(*k)).sum()
    }
}
