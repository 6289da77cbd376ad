//! Sans-IO VRRPv2/v3 protocol core: packet codec, state machine, timers, effective priority.
//!
//! Nothing here touches a socket, a clock or a thread. The IO edge feeds [`Input`]s together
//! with the current [`std::time::Instant`] into an [`Instance`] and carries out the returned
//! [`Action`]s; it calls [`Instance::poll_timeout`] to learn when to feed [`Input::Timer`].
//!
//! Wire formats: RFC 3768 (VRRPv2), RFC 5798 / RFC 9568 (VRRPv3). Where keepalived 2.2.7
//! deviates from the RFCs and interop needs it, keepalived's behaviour is followed and the
//! deviation is named at the rule.
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod adaptive;
mod adverts;
pub mod checksum;
pub mod config;
pub mod conflicts;
pub mod error;
pub mod events;
pub mod instance;
pub mod packet;
pub mod priority;
pub mod statefile;
pub mod status;
pub mod timers;
pub mod timing;

pub use adaptive::{AdvertChange, AdvertMode, AdvertReason, AdvertStatus};
pub use config::{Family, InstanceConfig, Track, V3Checksum, Version, Vip};
pub use conflicts::{ConflictCounts, ConflictKind};
pub use error::{ConfigError, DecodeError, EncodeError, ReconfigureError};
pub use events::{Action, Fault, Input, Reason, RxPacket, State};
pub use instance::Instance;
pub use packet::{Advert, ChecksumForm, Decoded};
pub use statefile::{
    ConflictRecord, InstanceRecord, Mac, SchedPolicy, Scheduling, Skipped, StateDoc, StateView,
};
pub use status::{Counters, DropReason, Drops, InstanceStatus};
pub use timing::{Timing, TimingStats};
