//! A small Juju model simulator whose machines are network namespaces.
//!
//! * [`cli`]: the `juju` command (deploy, integrate, config, status, add-unit, run, debug-log, …).
//! * [`controller`]: the background process that owns the lab (one namespace per machine on one
//!   bridge), runs hooks (juju-emu), supervises services (`systemctl`) and cleans up.
//! * [`simcharms`]: built-in stand-ins for kubeapi-load-balancer, kubernetes-master and
//!   kubernetes-worker, with a real TLS listener.
//! * [`status`]: Juju's tabular `juju status` layout.
//! * [`demo`]: the end-to-end demo of the keepalived charm.
//!
//! The model lives in a directory ([`layout::ModelDir`]); the CLI edits the juju-emu store in it
//! directly and talks to the controller over `controller.sock` in it ([`proto`]).
// Tool / test-support crate: a panic fails only the test or developer command that hit it, with
// its message, so unwrap/expect are allowed here; the product crates deny them (root Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod charmpkg;
pub mod cli;
pub mod controller;
pub mod demo;
pub mod error;
pub mod layout;
pub mod proof;
pub mod proto;
pub mod sim;
pub mod simcharms;
pub mod status;
pub mod unitfile;

pub use error::{Error, Result};
