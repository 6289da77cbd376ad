//! Observable state of an instance: role, priorities, counters and drop reasons (serde).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::config::{Family, Vip};
use crate::events::{Fault, State};

/// Why a received packet was dropped; serialised in snake_case (`"ttl"`, `"auth_type"`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// Runt, or length not matching the address count (RFC 5798 §7.1).
    Length,
    /// VRID not ours: foreign traffic on the link (RFC 5798 §7.1).
    Vrid,
    /// Received while in INIT or FAULT (keepalived ignores these).
    Inactive,
    /// TTL / hop limit ≠ 255 on a multicast instance (RFC 5798 §7.1).
    Ttl,
    /// Version ≠ the configured one, or not 2/3 (RFC 5798 §7.1).
    Version,
    /// Type ≠ 1 (RFC 5798 §5.2.2).
    Type,
    /// Checksum matched no accepted form (RFC 5798 §7.1).
    Checksum,
    /// Address family of the packet or its IP header ≠ the instance's.
    Family,
    /// Multicast instance got a non-group destination, or unicast one a multicast.
    Destination,
    /// v2 Auth Type ≠ the configured one (RFC 2338 §7.1).
    AuthType,
    /// v2 PASS data mismatch.
    Auth,
    /// v2 Adver Int ≠ ours (RFC 3768 §7.1).
    Interval,
    /// Address count ≠ the configured VIP count (RFC 5798 §7.1, sender priority < 255).
    AddrCount,
    /// A configured VIP missing from the advert (RFC 5798 §7.1, sender priority < 255).
    AddrList,
    /// Sent from our own source address (looped back).
    Own,
}

impl DropReason {
    /// All reasons, in validation order.
    pub const ALL: [DropReason; 15] = [
        DropReason::Length,
        DropReason::Vrid,
        DropReason::Inactive,
        DropReason::Ttl,
        DropReason::Version,
        DropReason::Type,
        DropReason::Checksum,
        DropReason::Family,
        DropReason::Destination,
        DropReason::AuthType,
        DropReason::Auth,
        DropReason::Interval,
        DropReason::AddrCount,
        DropReason::AddrList,
        DropReason::Own,
    ];

    /// The snake_case name, as in the state file.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Length => "length",
            DropReason::Vrid => "vrid",
            DropReason::Inactive => "inactive",
            DropReason::Ttl => "ttl",
            DropReason::Version => "version",
            DropReason::Type => "type",
            DropReason::Checksum => "checksum",
            DropReason::Family => "family",
            DropReason::Destination => "destination",
            DropReason::AuthType => "auth_type",
            DropReason::Auth => "auth",
            DropReason::Interval => "interval",
            DropReason::AddrCount => "addr_count",
            DropReason::AddrList => "addr_list",
            DropReason::Own => "own",
        }
    }
}

/// Drop counters, one per [`DropReason`] (all listed, zeros included).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Drops {
    pub length: u64,
    pub vrid: u64,
    pub inactive: u64,
    pub ttl: u64,
    pub version: u64,
    #[serde(rename = "type")]
    pub type_: u64,
    pub checksum: u64,
    pub family: u64,
    pub destination: u64,
    pub auth_type: u64,
    pub auth: u64,
    pub interval: u64,
    pub addr_count: u64,
    pub addr_list: u64,
    pub own: u64,
}

impl Drops {
    fn slot(&mut self, r: DropReason) -> &mut u64 {
        match r {
            DropReason::Length => &mut self.length,
            DropReason::Vrid => &mut self.vrid,
            DropReason::Inactive => &mut self.inactive,
            DropReason::Ttl => &mut self.ttl,
            DropReason::Version => &mut self.version,
            DropReason::Type => &mut self.type_,
            DropReason::Checksum => &mut self.checksum,
            DropReason::Family => &mut self.family,
            DropReason::Destination => &mut self.destination,
            DropReason::AuthType => &mut self.auth_type,
            DropReason::Auth => &mut self.auth,
            DropReason::Interval => &mut self.interval,
            DropReason::AddrCount => &mut self.addr_count,
            DropReason::AddrList => &mut self.addr_list,
            DropReason::Own => &mut self.own,
        }
    }

    /// The count for one reason.
    pub fn get(&self, r: DropReason) -> u64 {
        match r {
            DropReason::Length => self.length,
            DropReason::Vrid => self.vrid,
            DropReason::Inactive => self.inactive,
            DropReason::Ttl => self.ttl,
            DropReason::Version => self.version,
            DropReason::Type => self.type_,
            DropReason::Checksum => self.checksum,
            DropReason::Family => self.family,
            DropReason::Destination => self.destination,
            DropReason::AuthType => self.auth_type,
            DropReason::Auth => self.auth,
            DropReason::Interval => self.interval,
            DropReason::AddrCount => self.addr_count,
            DropReason::AddrList => self.addr_list,
            DropReason::Own => self.own,
        }
    }

    /// Count one drop.
    pub fn add(&mut self, r: DropReason) {
        let s = self.slot(r);
        *s = s.saturating_add(1);
    }

    /// Sum over all reasons.
    pub fn total(&self) -> u64 {
        DropReason::ALL.iter().map(|r| self.get(*r)).sum()
    }
}

/// Event counters of an instance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Adverts sent (one per destination).
    pub adverts_sent: u64,
    /// Adverts that passed validation.
    pub adverts_received: u64,
    /// Priority-0 adverts sent (resign).
    pub priority_zero_sent: u64,
    /// Valid priority-0 adverts received.
    pub priority_zero_received: u64,
    /// Valid v3/IPv4 adverts whose checksum was the message-only (RFC 9568) form.
    pub message_only_checksum: u64,
    /// Valid VRRPv2 adverts accepted by a VRRPv3 instance in `v2_compat` mode (including
    /// those ignored because their sender also sends VRRPv3).
    #[serde(default)]
    pub v2_compat_received: u64,
    /// State transitions.
    pub transitions: u64,
    /// Transitions into MASTER.
    pub became_master: u64,
    /// Dropped packets by reason.
    pub drops: Drops,
    /// Conflicting adverts on our VRID by kind (see [`crate::conflicts`]); a conflict that
    /// is also a drop is counted in both.
    #[serde(default)]
    pub conflicts: crate::conflicts::ConflictCounts,
}

/// Snapshot of an instance for the state file and logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceStatus {
    /// Instance name.
    pub name: String,
    /// VRID.
    pub vrid: u8,
    /// Address family.
    pub family: Family,
    /// 2 or 3.
    pub vrrp_version: u8,
    /// Current role.
    pub role: State,
    /// Configured priority.
    pub base_priority: u8,
    /// Priority after tracking (what we advertise).
    pub effective_priority: u8,
    /// Our address when MASTER; the current master's when BACKUP (once heard); else none.
    pub master_address: Option<IpAddr>,
    /// Our advert source address, as last reported by the IO edge.
    pub source_address: Option<IpAddr>,
    /// VIPs the core has asked the IO edge to hold.
    pub vips_held: Vec<Vip>,
    /// Our configured advert interval (`advert_int`) in milliseconds.
    pub advert_interval_ms: u64,
    /// Master_Adver_Interval in milliseconds (learned from the master in v3 BACKUP).
    pub master_adver_interval_ms: u64,
    /// What holds the instance in FAULT (empty unless FAULT or INIT with a fault pending).
    pub faults: Vec<Fault>,
    /// Counters.
    pub counters: Counters,
    /// As BACKUP: the master's advert gaps beyond the interval it announces (see
    /// [`crate::timing`]); absent in older snapshots.
    #[serde(default)]
    pub advert_gap_excess: crate::timing::TimingStats,
    /// The advert interval in effect and why (fixed or adaptive, [`crate::adaptive`]);
    /// absent in older snapshots.
    #[serde(default)]
    pub advert: crate::adaptive::AdvertStatus,
    /// Why, as a kind (`advert.reason` is the sentence; metrics label by the kind).
    #[serde(default)]
    pub advert_reason: crate::adaptive::AdvertReason,
}
