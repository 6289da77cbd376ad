//! Test support: throwaway network-namespace labs with guaranteed cleanup.
//!
//! A [`Lab`] is a switch namespace holding a Linux bridge plus any number of [`Host`]s, each a
//! namespace with one veth plugged into the bridge. Everything lives in namespaces the lab creates;
//! the root namespace is never touched. Everything shells out to `ip` (iproute2), so what a lab
//! does can be replayed by hand.
//!
//! ```no_run
//! let lab = netlab::Lab::new("demo")?;
//! let a = lab.add_host("a")?;
//! let b = lab.add_host("b")?;
//! a.add_addr("192.0.2.1/24")?;
//! b.add_addr("192.0.2.2/24")?;
//! a.run("ping", &["-c1", "-W2", "192.0.2.2"])?;
//! // Rust code inside a host: a thread that setns()es into it.
//! let idx = b.block_on(|| async { 42 })?;
//! # Ok::<(), netlab::Error>(())
//! ```
//!
//! Cleanup: dropping the [`Lab`] (also while unwinding from a panic) stops every process spawned
//! with [`Host::spawn`] and deletes every namespace. [`sweep_stale`] (also run by [`Lab::new`])
//! deletes namespaces left by test processes that were killed. Namespace names are
//! `nl<pid>x<n>-<tag>-<host>` (switch: `…-sw`). Root is required ([`Error::NotRoot`] otherwise).
// Tool / test-support crate: a panic fails only the test or developer command that hit it, with
// its message, so unwrap/expect are allowed here; the product crates deny them (root Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod cert;
mod cmd;
mod enter;
mod error;
mod host;
mod info;
mod lab;
mod names;
pub mod nspawn;
mod process;
pub mod relay;
mod skip;

pub use enter::{
    block_on_in_netns, enter_netns, netns_path, run_in_netns, spawn_async_in_netns, spawn_in_netns,
    NetnsThread,
};
pub use error::{Error, Result};
pub use host::{allowed_lab_addr, Host};
pub use info::{parse_mac, AddrEntry, LinkEntry};
pub use lab::{Lab, BRIDGE};
pub use names::{creator_pid, list_netns, require_root, sweep_stale, PREFIX};
pub use nix::sys::signal::Signal;
pub use process::{Proc, TERM_GRACE};
pub use relay::{Jitter, Relay, RelayStats};
pub use skip::{skip, skip_unless_root, strict, STRICT_ENV};
