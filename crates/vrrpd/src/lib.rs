//! vrrpd: the VRRP worker daemon. The protocol lives in the sans-IO `vrrp` crate; this crate is
//! the Linux edge (`net`) and the daemon around it. See ARCHITECTURE.md.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod addrwatch;
pub mod check;
pub mod cleanup;
pub mod cli;
mod conflicts;
pub mod daemon;
mod filesink;
mod health;
pub mod logging;
pub mod memlock;
mod metrics;
pub mod net;
pub mod probe;
mod ratelimit;
pub mod sched;
mod spec;
pub mod statefile;
