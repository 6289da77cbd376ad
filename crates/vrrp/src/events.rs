//! What goes into an [`Instance`](crate::Instance) and what comes out.

use std::net::IpAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::config::Vip;
use crate::conflicts::ConflictKind;
use crate::status::DropReason;

/// Role of an instance (RFC 5798 §6.4 plus keepalived's FAULT). Serialised upper-case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum State {
    /// Not started, or shut down.
    Init,
    /// Listening for the master.
    Backup,
    /// Holding the VIPs and advertising.
    Master,
    /// keepalived FAULT: link down, a weight-0 track failing, or no source address.
    Fault,
    /// vrrpd make-before-break handoff after `Input::Leave` (not RFC): priority 0 was sent,
    /// no more adverts, but the VIPs are kept until a new master advertises (or a bound).
    Leaving,
}

impl State {
    /// The name as serialised: `INIT`, `BACKUP`, `MASTER`, `FAULT`, `LEAVING`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Init => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
            State::Leaving => "LEAVING",
        }
    }
}

/// Why the instance is held in FAULT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// The interface is down (`Input::LinkDown`).
    LinkDown,
    /// No usable source address (`Input::SourceAddress(None)`, or never reported).
    NoSourceAddress,
    /// The weight-0 track with this index is failing.
    Track(usize),
}

/// Why a state change happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// `Input::Startup` with priority < 255 (RFC 5798 §6.4.1).
    Startup,
    /// `Input::Startup` (or fault cleared) as address owner, priority 255 (RFC 5798 §6.4.1).
    Owner,
    /// Master_Down_Timer fired (RFC 5798 §6.4.2).
    MasterDown,
    /// A higher-priority advert reached the master (RFC 5798 §6.4.3).
    HigherPriority,
    /// Equal priority from a higher source address (RFC 5798 §6.4.3).
    HigherAddress,
    /// `Input::Shutdown` (RFC 5798 §6.4.2/§6.4.3), or `Input::Leave` when not master.
    Shutdown,
    /// `Input::Leave` while master: handing over (vrrpd extension).
    Leave,
    /// While leaving, an advert with priority > 0 showed that a new master took over.
    HandedOver,
    /// While leaving, no new master advertised within the handoff bound.
    HandoffTimeout,
    /// Entered FAULT (keepalived).
    Fault(Fault),
    /// All faults cleared (keepalived).
    FaultCleared,
}

/// One received VRRP packet as the IO edge saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxPacket<'a> {
    /// IP source.
    pub src: IpAddr,
    /// IP destination.
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// The VRRP payload (after the IP header; no AH).
    pub payload: &'a [u8],
}

/// An event fed to [`Instance::handle`](crate::Instance::handle).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input<'a> {
    /// Start the protocol (RFC 5798 §6.4.1 Startup event).
    Startup,
    /// Stop the protocol at once (RFC 5798 §6.4.2/§6.4.3 Shutdown event): a master sends
    /// priority 0 and releases its VIPs immediately.
    Shutdown,
    /// Planned stop with make-before-break (vrrpd extension): a master sends priority 0 and
    /// goes to [`State::Leaving`], keeping its VIPs until a new master advertises or the
    /// handoff bound expires, then goes to INIT. Other states go to INIT at once.
    Leave,
    /// `now` reached [`Instance::poll_timeout`](crate::Instance::poll_timeout).
    Timer,
    /// A received VRRP packet.
    Packet(RxPacket<'a>),
    /// The interface came up.
    LinkUp,
    /// The interface went down (FAULT).
    LinkDown,
    /// Our advert source address (IPv4 primary, or IPv6 link-local); `None` = none usable.
    SourceAddress(Option<IpAddr>),
    /// Health of `InstanceConfig::tracks[index]` changed.
    Track {
        /// Index into `InstanceConfig::tracks`.
        index: usize,
        /// Healthy (before `reverse` is applied).
        up: bool,
    },
}

/// A side effect for the IO edge to carry out, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Send this VRRP payload from `src` to `dst` with TTL/hop limit 255, TOS/traffic
    /// class 0xc0, IP protocol 112. `src` is the current source address; the checksum
    /// already covers the pseudo-header with exactly these addresses.
    Send {
        /// IP source.
        src: IpAddr,
        /// IP destination (multicast group or one unicast peer).
        dst: IpAddr,
        /// The VRRP payload (shared: a master's periodic advert is encoded once, `adverts.rs`).
        payload: Arc<[u8]>,
    },
    /// Add these VIPs ("already present" counts as success).
    AddVips(Vec<Vip>),
    /// Remove these VIPs ("not present" counts as success).
    RemoveVips(Vec<Vip>),
    /// One GARP (IPv4) / unsolicited NA (IPv6) burst: `count` per VIP.
    Announce {
        /// VIPs to announce.
        vips: Vec<Vip>,
        /// Packets per VIP.
        count: u32,
    },
    /// The role changed.
    StateChanged {
        /// Previous role.
        from: State,
        /// New role.
        to: State,
        /// Why.
        reason: Reason,
    },
    /// A received packet was dropped (for rate-limited logging; it is already counted).
    Dropped {
        /// IP source of the packet.
        src: IpAddr,
        /// Why.
        reason: DropReason,
    },
    /// The master's adaptive advert interval changed (`vrrpd_adaptive_interval`); the edge
    /// logs one line (the change's `Display`).
    AdvertInterval(crate::adaptive::AdvertChange),
    /// A conflicting advert on our VRID (already counted; see [`crate::conflicts`]). It
    /// changed nothing; the edge records the source and logs it rate-limited.
    Conflict {
        /// IP source of the advert.
        src: IpAddr,
        /// What differs.
        kind: ConflictKind,
    },
}
