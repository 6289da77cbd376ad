//! Instance configuration: what one `vrrp_instance` means to the protocol core.
//!
//! Defaults follow keepalived 2.2.7 (docs/keepalived-interop.md §7). Fields the IO edge alone needs
//! (interface, VIP labels, `dev`, excluded VIPs) live in the IO layer, not here.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// Longest accepted `handoff_timeout`.
pub const MAX_HANDOFF: Duration = Duration::from_secs(60);

/// VRRP protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Version {
    /// VRRPv2, RFC 3768 (IPv4 only).
    V2,
    /// VRRPv3, RFC 5798 / RFC 9568.
    V3,
}

impl Version {
    /// The 4-bit version number on the wire.
    pub fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

/// Address family of an instance (VIPs, peers and adverts are all one family).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// IPv4.
    Ipv4,
    /// IPv6.
    Ipv6,
}

impl Family {
    /// The family of an address.
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }

    /// `ipv4` / `ipv6`, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        }
    }

    /// The largest prefix length (32 or 128).
    pub fn max_prefix(self) -> u8 {
        match self {
            Family::Ipv4 => 32,
            Family::Ipv6 => 128,
        }
    }

    /// Bytes per address on the wire (4 or 16).
    pub fn addr_len(self) -> usize {
        match self {
            Family::Ipv4 => 4,
            Family::Ipv6 => 16,
        }
    }

    /// The IANA VRRP multicast group: 224.0.0.18 or ff02::12 (RFC 5798 §5.1.1.2, §5.1.2.2).
    pub fn multicast_group(self) -> IpAddr {
        match self {
            Family::Ipv4 => IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)),
            Family::Ipv6 => IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12)),
        }
    }
}

/// Which checksum a VRRPv3/IPv4 advert is sent with (docs/keepalived-interop.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum V3Checksum {
    /// IPv4 pseudo-header with the actual IP destination: keepalived 2.2.7, FRR, RFC 5798 reading.
    #[default]
    PseudoHeader,
    /// Message only: RFC 9568 §5.2.8, keepalived ≥ 2.2.8 `v3_checksum_as_v2`.
    MessageOnly,
}

/// A virtual IP address as the core sees it: address plus prefix length.
///
/// Serialises as the string `"ADDR/PREFIX"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Vip {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length (0..=32 for IPv4, 0..=128 for IPv6).
    pub prefix_len: u8,
}

impl Vip {
    /// A VIP with the given address and prefix length.
    pub fn new(addr: IpAddr, prefix_len: u8) -> Vip {
        Vip { addr, prefix_len }
    }

    /// The VIP's address family.
    pub fn family(&self) -> Family {
        Family::of(&self.addr)
    }

    /// A host VIP (/32 or /128), keepalived's default prefix.
    pub fn host(addr: IpAddr) -> Vip {
        let prefix_len = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        Vip { addr, prefix_len }
    }
}

impl fmt::Display for Vip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

impl FromStr for Vip {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Vip, ConfigError> {
        let bad = || ConfigError::BadVip(s.to_string());
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix_len = match prefix {
            Some(p) => p.parse::<u8>().map_err(|_| bad())?,
            None => max,
        };
        if prefix_len > max {
            return Err(bad());
        }
        Ok(Vip { addr, prefix_len })
    }
}

impl Serialize for Vip {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Vip {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Vip, D::Error> {
        let s = String::deserialize(d)?;
        // A fixed message, not `ConfigError`'s Display: readers such as the charm then link
        // no text of the core's config errors.
        s.parse().map_err(|_| {
            serde::de::Error::invalid_value(serde::de::Unexpected::Str(&s), &"ADDR[/PREFIX]")
        })
    }
}

/// One tracked check, script or interface, in the order the IO edge reports them with
/// `Input::Track { index, .. }` (docs/keepalived-interop.md §6, keepalived `vrrp_track.c`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Track {
    /// −253..=253. Zero: failure puts the instance in FAULT. Positive: +W while up.
    /// Negative: −|W| while down.
    pub weight: i32,
    /// Flip the direction (keepalived `reverse`).
    pub reverse: bool,
}

/// Configuration of one VRRP instance (one VRID on one interface and family).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceConfig {
    /// Instance name (keepalived `vrrp_instance NAME`), for status and logs.
    pub name: String,
    /// Virtual router id, 1..=255.
    pub vrid: u8,
    /// Protocol version; v2 is IPv4 only.
    pub version: Version,
    /// Address family of VIPs, peers and adverts.
    pub family: Family,
    /// Base priority 1..=255 (255 = address owner). keepalived default 100.
    pub priority: u8,
    /// Advertisement interval. v2: whole seconds 1..=255. v3: centiseconds, 10 ms..=40.95 s.
    pub advert_interval: Duration,
    /// Preempt a lower-priority master (keepalived default on; `nopreempt` turns it off).
    pub preempt: bool,
    /// keepalived `preempt_delay`: hold off preemption this long after the instance starts
    /// (or leaves FAULT). Zero = off.
    pub preempt_delay: Duration,
    /// Advertised VIPs (same family as the instance).
    pub vips: Vec<Vip>,
    /// v2 `auth_type PASS`: the password, first 8 bytes, zero padded. `None` = no auth.
    pub auth_pass: Option<[u8; 8]>,
    /// Unicast peers; empty = multicast.
    pub unicast_peers: Vec<IpAddr>,
    /// Multicast destination override (keepalived `mcast_dst_ip`); `None` = the IANA group.
    pub mcast_dst: Option<IpAddr>,
    /// Delay of the second GARP/NA burst after becoming master; zero = no second burst.
    pub garp_master_delay: Duration,
    /// GARPs/NAs per VIP per burst when becoming master.
    pub garp_master_repeat: u32,
    /// Periodic GARP/NA while master; zero = off.
    pub garp_master_refresh: Duration,
    /// GARPs/NAs per VIP per refresh.
    pub garp_master_refresh_repeat: u32,
    /// Delay of the second burst after hearing a lower-priority advert; zero = none.
    pub garp_lower_prio_delay: Duration,
    /// GARPs/NAs per VIP per burst after hearing a lower-priority advert.
    pub garp_lower_prio_repeat: u32,
    /// Master does not answer lower-priority adverts (pre-RFC 9568 behaviour).
    pub lower_prio_no_advert: bool,
    /// Master sends one advert before yielding to a higher priority.
    pub higher_prio_send_advert: bool,
    /// Adverts missed before the master is declared down (RFC: 3; keepalived 1..=100).
    pub down_timer_adverts: u8,
    /// Checksum form for sent v3/IPv4 adverts.
    pub v3_checksum: V3Checksum,
    /// Tracked checks in index order.
    pub tracks: Vec<Track>,
    /// Make-before-break bound for `Input::Leave` (vrrpd extension): how long a leaving
    /// master keeps its VIPs waiting for a new master's advert. `None` = automatic
    /// ([`InstanceConfig::handoff_bound`]); `Some(ZERO)` = no handoff (release at once, RFC).
    pub handoff_timeout: Option<Duration>,
    /// RFC 5798 §8.4 VRRPv2 interoperation (vrrpd `vrrpd_v2_compat`), for moving a VRRPv2
    /// group to VRRPv3 one router at a time: a v3/IPv4 instance also sends a VRRPv2 advert
    /// (no auth, Adver Int [`v2_interval_wire`](Self::v2_interval_wire)) with each advert, and
    /// also accepts VRRPv2 adverts (no auth, any interval, translated to centiseconds), except
    /// those from a router it also hears VRRPv3 from. Without it, v2 and v3 routers of one VRID
    /// drop each other's adverts and both become master.
    pub v2_compat: bool,
    /// vrrpd extension (`vrrpd_garp_burst`): after the keepalived-compatible first burst
    /// (`garp_master_repeat` at once), one more GARP/NA per VIP at each of these offsets from
    /// becoming master, so one lost frame (or a client busy at that instant) costs no extra
    /// outage; strictly ascending. Empty (the default) = keepalived's behaviour. Independent of
    /// `garp_master_delay` (the second burst) and `garp_master_refresh`.
    pub garp_burst: Vec<Duration>,
    /// vrrpd extension (`vrrpd_adaptive_interval FLOOR`, [`crate::adaptive`]): as MASTER, choose
    /// the advert interval between this floor and `advert_interval` (the ceiling, and the
    /// start) from the measured send lateness. VRRPv3 only, whole centiseconds, at most
    /// `advert_interval`; never with `v2_compat` (VRRPv2 peers require equal intervals).
    /// `None` (the default) = the fixed `advert_interval`.
    pub adaptive_floor: Option<Duration>,
}

/// Most `garp_burst` offsets.
pub const MAX_GARP_BURST: usize = 8;
/// Largest `garp_burst` offset (beyond it, `garp_master_delay`/`refresh` are the tools).
pub const MAX_GARP_BURST_OFFSET: Duration = Duration::from_secs(10);

impl InstanceConfig {
    /// A configuration with keepalived 2.2.7's defaults: priority 100, 1 s interval,
    /// preempt on, GARP 5 + 5 at +5 s, no refresh, 3 down-timer adverts, pseudo-header
    /// v3/IPv4 checksum, multicast, no auth, no tracks. Version 2 for IPv4, 3 for IPv6.
    pub fn new(name: impl Into<String>, vrid: u8, family: Family, vips: Vec<Vip>) -> Self {
        InstanceConfig {
            name: name.into(),
            vrid,
            version: match family {
                Family::Ipv4 => Version::V2,
                Family::Ipv6 => Version::V3,
            },
            family,
            priority: 100,
            advert_interval: Duration::from_secs(1),
            preempt: true,
            preempt_delay: Duration::ZERO,
            vips,
            auth_pass: None,
            unicast_peers: Vec::new(),
            mcast_dst: None,
            garp_master_delay: Duration::from_secs(5),
            garp_master_repeat: 5,
            garp_master_refresh: Duration::ZERO,
            garp_master_refresh_repeat: 1,
            garp_lower_prio_delay: Duration::from_secs(5),
            garp_lower_prio_repeat: 5,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            down_timer_adverts: 3,
            v3_checksum: V3Checksum::PseudoHeader,
            tracks: Vec::new(),
            handoff_timeout: None,
            v2_compat: false,
            garp_burst: Vec::new(),
            adaptive_floor: None,
        }
    }

    /// How long a leaving master keeps its VIPs: the configured `handoff_timeout`, or by
    /// default Master_Down_Interval of the slowest possible backup (priority 1) plus one
    /// advert interval, so a backup that missed the priority-0 advert still takes over in
    /// time. Zero disables the handoff.
    pub fn handoff_bound(&self) -> Duration {
        self.handoff_timeout.unwrap_or_else(|| {
            crate::timers::master_down_interval(
                self.version,
                self.down_timer_adverts,
                1,
                self.advert_interval,
            ) + self.advert_interval
        })
    }

    /// Whether `other` describes the same virtual router (name, VRID, family, version and
    /// VIP set), so that [`Instance::reconfigure`](crate::Instance::reconfigure) can apply it
    /// in place. `Err` names the first differing field.
    pub fn same_identity(&self, other: &InstanceConfig) -> Result<(), &'static str> {
        let sorted = |v: &[Vip]| {
            let mut v = v.to_vec();
            v.sort();
            v
        };
        if self.name != other.name {
            Err("name")
        } else if self.vrid != other.vrid {
            Err("vrid")
        } else if self.family != other.family {
            Err("family")
        } else if self.version != other.version {
            Err("version")
        } else if sorted(&self.vips) != sorted(&other.vips) {
            Err("vips")
        } else {
            Ok(())
        }
    }

    /// The advert interval in wire units: seconds (v2) or centiseconds (v3).
    /// Only meaningful after [`validate`](Self::validate) succeeded.
    pub fn interval_wire(&self) -> u16 {
        let ms = self.advert_interval.as_millis();
        let v = match self.version {
            Version::V2 => ms / 1000,
            Version::V3 => ms / 10,
        };
        u16::try_from(v).unwrap_or(u16::MAX)
    }

    /// The Adver Int of the VRRPv2 adverts sent in [`v2_compat`](Self::v2_compat) mode: the
    /// advert interval rounded up to whole seconds, 1..=255 (keepalived's default group sends
    /// and expects 1; a VRRPv2 receiver drops any other value, RFC 3768 §7.1).
    pub fn v2_interval_wire(&self) -> u16 {
        let ms = self.advert_interval.as_millis();
        u16::try_from(ms.div_ceil(1000).clamp(1, 255)).unwrap_or(255)
    }

    /// The multicast destination of adverts.
    pub fn multicast_dst(&self) -> IpAddr {
        self.mcast_dst
            .unwrap_or_else(|| self.family.multicast_group())
    }

    /// Check every field; the core refuses an invalid configuration.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.vrid == 0 {
            return Err(ConfigError::Vrid);
        }
        if self.priority == 0 {
            return Err(ConfigError::Priority);
        }
        if self.version == Version::V2 && self.family == Family::Ipv6 {
            return Err(ConfigError::V2Ipv6);
        }
        let iv = self.advert_interval;
        match self.version {
            Version::V2 => {
                if iv.subsec_nanos() != 0 || iv.as_secs() < 1 || iv.as_secs() > 255 {
                    return Err(ConfigError::Interval(iv));
                }
            }
            Version::V3 => {
                let ns = iv.as_nanos();
                if ns % 10_000_000 != 0 || !(10_000_000..=40_950_000_000).contains(&ns) {
                    return Err(ConfigError::Interval(iv));
                }
            }
        }
        if self.auth_pass.is_some() && self.version != Version::V2 {
            return Err(ConfigError::AuthV3);
        }
        if self.v2_compat && (self.version != Version::V3 || self.family != Family::Ipv4) {
            return Err(ConfigError::V2Compat);
        }
        if self.vips.len() > 255 {
            return Err(ConfigError::TooManyVips(self.vips.len()));
        }
        for vip in &self.vips {
            let max = if vip.addr.is_ipv4() { 32 } else { 128 };
            if Family::of(&vip.addr) != self.family || vip.prefix_len > max {
                return Err(ConfigError::BadVip(vip.to_string()));
            }
        }
        for peer in self.unicast_peers.iter().chain(self.mcast_dst.iter()) {
            if Family::of(peer) != self.family {
                return Err(ConfigError::PeerFamily(*peer));
            }
        }
        if !(1..=100).contains(&self.down_timer_adverts) {
            return Err(ConfigError::DownTimerAdverts(self.down_timer_adverts));
        }
        if self.preempt_delay > Duration::from_secs(1000) {
            return Err(ConfigError::PreemptDelay(self.preempt_delay));
        }
        let b = &self.garp_burst;
        if b.len() > MAX_GARP_BURST
            || b.windows(2).any(|w| w.first() >= w.get(1))
            || b.last().is_some_and(|t| *t > MAX_GARP_BURST_OFFSET)
        {
            return Err(ConfigError::GarpBurst);
        }
        if let Some(f) = self.adaptive_floor {
            if self.version != Version::V3
                || self.v2_compat
                || f.as_nanos() % 10_000_000 != 0
                || f < Duration::from_millis(10)
                || f > iv
            {
                return Err(ConfigError::AdaptiveInterval(f));
            }
        }
        if let Some(t) = self.handoff_timeout {
            if t > MAX_HANDOFF {
                return Err(ConfigError::HandoffTimeout(t));
            }
        }
        for (index, t) in self.tracks.iter().enumerate() {
            if !(-253..=253).contains(&t.weight) {
                return Err(ConfigError::TrackWeight {
                    index,
                    weight: t.weight,
                });
            }
        }
        Ok(())
    }
}
