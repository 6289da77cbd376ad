//! Test support: an emulator of the Juju 3.6 unit agent's hook environment and hook tools.
//!
//! # Usage (for charm integration tests)
//!
//! ```no_run
//! use juju_emu::{Juju, RunnerOptions, locate_or_build_hook_tool, HookKind};
//! # fn main() -> juju_emu::Result<()> {
//! let dir = tempfile::tempdir().unwrap();                 // model directory (state as JSON)
//! let mut opts = RunnerOptions::new(locate_or_build_hook_tool()?);
//! opts.extra_env.push(("KEEPALIVED_CHARM_ROOT".into(), "/tmp/root".into()));
//! opts.path_prefix.push("/tmp/fakebin".into());           // fake systemctl/sysctl, after the tools dir
//! // opts.command_prefix = vec!["ip".into(), "netns".into(), "exec".into(), "ns1".into()];
//! let mut juju = Juju::create(&dir.path().join("model"), opts)?;
//! juju.deploy("kubeapi-load-balancer", "/path/principal-charm".as_ref(), 2)?;
//! juju.deploy("keepalived", "/path/charm-dir-with-dispatch".as_ref(), 0)?;
//! juju.set_config("keepalived", &[("virtual_ip", "192.0.2.250/24")])?;
//! let rel = juju.relate("keepalived:juju-info", "kubeapi-load-balancer")?;
//! let records = juju.settle()?;                           // Vec<HookRecord>, in run order
//! let m = juju.model()?;                                  // snapshot: m.units["keepalived/0"].workload_status …
//! assert!(records.iter().all(|r| r.ok()));
//! let data = juju.relation_data(rel, "keepalived/0")?;    // committed unit bag
//! juju.remove_unit("kubeapi-load-balancer/1")?;           // sub tears down on settle
//! juju.settle()?;
//! # let _ = (data, m, HookKind::Install); Ok(()) }
//! ```
//!
//! The model lives in a directory (`model.json` + `model.lock`, hook log `hooks.jsonl`), so a
//! separate process can [`Juju::open`] it. Hooks run `<charm_dir>/dispatch` (or `hooks/<name>`)
//! with the exact Juju env; the hook tools are symlinks to the `juju-hook-tool` binary in a
//! per-hook tools dir at the front of PATH. See the crate README section in the final report and
//! the docs on [`Juju`], [`RunnerOptions`], [`HookRecord`], [`model::Model`].
// Tool / test-support crate: a panic fails only the test or developer command that hit it, with
// its message, so unwrap/expect are allowed here; the product crates deny them (root Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod charm;
pub mod config;
pub mod context;
mod emulator;
pub mod error;
pub mod fsutil;
pub mod gnuflag;
pub mod hook;
pub mod model;
pub mod output;
pub mod resolver;
pub mod runner;
pub mod store;
pub mod tools;

pub use emulator::{locate_hook_tool, locate_or_build_hook_tool, ActionResult, Juju};
pub use error::{Error, Result};
pub use hook::{hooks_of, ActionSpec, HookKind, HookRecord, HookSpec, LogLine, RelationHook};
pub use model::{Life, Model, ModelInfo, Status};
pub use runner::{HookSession, RunnerOptions, DEFAULT_BASE_PATH};
pub use store::Store;
