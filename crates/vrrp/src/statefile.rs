//! The worker's state file: the one contract from `vrrpd` (writer) to the charm (reader).
//!
//! `vrrpd` writes a [`StateDoc`] as JSON at `--state-file PATH` (atomically, see
//! ARCHITECTURE.md); the charm reads the same type back. Only serde is involved, so the charm
//! links no more of the core than these types.
//!
//! Compatibility: fields added after version 1 was first written (`faults`, `conflicts`,
//! `counters.conflicts`, `counters.v2_compat_received`, `timing`, `advert`) default when absent, so a file of an
//! older worker still reads (a refresh reads the old worker's file once). Unknown fields are
//! ignored, so a newer worker may add more without a version change; [`VERSION`] changes only
//! when a field changes meaning.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::adaptive::AdvertStatus;
use crate::config::{Family, Vip};
use crate::conflicts::ConflictKind;
use crate::events::{Fault, State};
use crate::status::{Counters, InstanceStatus};
use crate::timing::Timing;

/// Format version this crate writes and reads.
pub const VERSION: u32 = 1;

/// The whole file. `C` is how the counters are held: [`Counters`] for the writer (and any
/// reader that wants them); a reader that does not, such as the charm, reads
/// [`StateView`], which skips them without generating their decoder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateDoc<C = Counters> {
    /// Format version ([`VERSION`]).
    pub version: u32,
    /// The writer's process id (0: unknown, taken as current).
    #[serde(default)]
    pub pid: u32,
    /// Wall-clock time of this write, ms since the Unix epoch.
    #[serde(default)]
    pub updated_unix_ms: u64,
    /// One entry per running instance.
    #[serde(default)]
    pub instances: Vec<InstanceRecord<C>>,
    /// How the worker's event loop is scheduled (absent in files of older workers: `other`,
    /// nothing requested).
    #[serde(default)]
    pub scheduling: Scheduling,
}

/// The scheduling policy of the worker's event-loop thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SchedPolicy {
    /// SCHED_OTHER (normal time sharing).
    #[default]
    Other,
    /// SCHED_RR (real time, round robin), as keepalived's `vrrp_rt_priority`.
    Rr,
}

/// What `vrrp_rt_priority` asked for and what is in effect.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Scheduling {
    /// The policy in effect.
    #[serde(default)]
    pub policy: SchedPolicy,
    /// The SCHED_RR priority in effect (0 under SCHED_OTHER).
    #[serde(default)]
    pub priority: u8,
    /// The configured `vrrp_rt_priority` (0: none).
    #[serde(default)]
    pub requested: u8,
    /// RLIMIT_RTTIME hard limit in effect while real-time, µs (0: none set).
    #[serde(default)]
    pub rlimit_rttime_us: u32,
    /// Why the request is not (fully) in effect, e.g. the kernel refused SCHED_RR.
    #[serde(default)]
    pub error: Option<String>,
}

/// The file as a reader that skips the counters sees it.
pub type StateView = StateDoc<Skipped>;

/// A field the reader skips without decoding (it must still be well-formed JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Skipped;

impl<'de> Deserialize<'de> for Skipped {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Skipped, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| Skipped)
    }
}

impl Serialize for Skipped {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_unit()
    }
}

impl<C> StateDoc<C> {
    /// Whether a reader of this crate understands the file's format.
    pub fn is_supported(&self) -> bool {
        self.version == VERSION
    }
}

/// One instance in the file. The writer writes every field; the reader requires only `name`,
/// `family` and `role` (the rest default), so hand-written and older files read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceRecord<C = Counters> {
    /// `vrrp_instance` name.
    pub name: String,
    /// VRID.
    #[serde(default)]
    pub vrid: u8,
    /// `ipv4` / `ipv6`.
    pub family: Family,
    /// 2 or 3.
    #[serde(default)]
    pub vrrp_version: u8,
    /// Interface.
    #[serde(default)]
    pub interface: String,
    /// `INIT`, `BACKUP`, `MASTER`, `FAULT` or `LEAVING`.
    pub role: State,
    /// Configured priority.
    #[serde(default)]
    pub base_priority: u8,
    /// Priority after tracking.
    #[serde(default)]
    pub effective_priority: u8,
    /// Current master (us when MASTER), if known.
    pub master_address: Option<IpAddr>,
    /// VIPs we hold, `ADDR/PREFIX`.
    #[serde(default)]
    pub vips_held: Vec<Vip>,
    /// Why the instance is in FAULT (`link_down`, `no_source_address`, `{"track": N}`);
    /// empty otherwise (absent in files of the first workers).
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// Counters, drops and conflicts by kind included.
    #[serde(default)]
    pub counters: C,
    /// Who advertises on our VRID with another configuration, oldest first, bounded by the
    /// writer; empty when nobody does (absent in files of older workers).
    #[serde(default)]
    pub conflicts: Vec<ConflictRecord>,
    /// Measured lateness and jitter (µs; see [`crate::timing`]); all zero in files of older
    /// workers.
    #[serde(default)]
    pub timing: Timing,
    /// The advert interval in effect and why: `{"mode":"fixed"|"auto","interval_ms",
    /// "floor_ms","ceiling_ms","reason","changes"}` ([`crate::adaptive`]); a fixed 0 ms
    /// interval in files of older workers.
    #[serde(default)]
    pub advert: AdvertStatus,
}

impl InstanceRecord {
    /// From the core's snapshot plus the interface name and the edge's conflict record; the
    /// edge's own measurements (`timing.timer_late`, `timing.send_late`) are its to fill in.
    pub fn from_status(s: InstanceStatus, interface: &str, conflicts: &[ConflictRecord]) -> Self {
        InstanceRecord {
            name: s.name,
            vrid: s.vrid,
            family: s.family,
            vrrp_version: s.vrrp_version,
            interface: interface.to_string(),
            role: s.role,
            base_priority: s.base_priority,
            effective_priority: s.effective_priority,
            master_address: s.master_address,
            vips_held: s.vips_held,
            faults: s.faults,
            counters: s.counters,
            conflicts: conflicts.to_vec(),
            timing: Timing {
                advert_gap_excess: s.advert_gap_excess,
                ..Timing::default()
            },
            advert: s.advert,
        }
    }
}

/// One conflicting source and kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictRecord {
    /// IP source of the adverts (or of the ARP/NA for an address conflict).
    pub source: IpAddr,
    /// What differs.
    pub kind: ConflictKind,
    /// First such packet, ms since the Unix epoch.
    pub first_seen_unix_ms: u64,
    /// Latest such packet, ms since the Unix epoch.
    pub last_seen_unix_ms: u64,
    /// Packets seen (since the entry was created).
    pub count: u64,
    /// `address_conflict` only: the claimant's MAC (then `source` is the claimed VIP);
    /// absent otherwise and in files of older workers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<Mac>,
}

/// A MAC address, `aa:bb:cc:dd:ee:ff` in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mac(pub [u8; 6]);

impl std::fmt::Display for Mac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl std::str::FromStr for Mac {
    type Err = String;
    fn from_str(s: &str) -> Result<Mac, String> {
        let mut out = [0u8; 6];
        let mut parts = s.split(':');
        for b in &mut out {
            let p = parts.next().ok_or_else(|| format!("bad MAC {s:?}"))?;
            *b = u8::from_str_radix(p, 16).map_err(|_| format!("bad MAC {s:?}"))?;
        }
        match parts.next() {
            None => Ok(Mac(out)),
            Some(_) => Err(format!("bad MAC {s:?}")),
        }
    }
}

impl Serialize for Mac {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Mac {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Mac, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
