//! The keepalived charm: everything Juju sees. See ARCHITECTURE.md.
//!
//! The binary (`keepalived-charm`, installed as `dispatch`) is a thin shell over
//! [`charm::run`]; everything else lives in [`charm`], one concern per module.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]
pub mod charm;
