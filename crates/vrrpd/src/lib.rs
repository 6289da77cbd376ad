//! vrrpd: the VRRP worker daemon. The protocol lives in the sans-IO `vrrp` crate; this crate is
//! the Linux edge (`net`) and the daemon around it. See ARCHITECTURE.md.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod check;
pub mod cleanup;
pub mod cli;
pub mod conflicts;
pub mod daemon;
pub mod filesink;
pub mod health;
pub mod logging;
pub mod memlock;
pub mod metrics;
pub mod net;
pub mod ratelimit;
pub mod spec;
pub mod statefile;
