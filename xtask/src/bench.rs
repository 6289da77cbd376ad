//! `cargo xtask bench`: keepalived 2.2.7 and vrrpd side by side in one network-namespace lab.
//!
//! Runs the `bench` crate's binary in release mode (the client prober and the VIP watcher are
//! timing-sensitive); it builds vrrpd in release mode itself and writes `target/bench/report.md`
//! and `report.json`. Arguments after `bench` go to it (`--quick`, `--reps N`, `--scenarios …`).
use anyhow::{bail, Result};

use crate::sh;

/// Runs the benchmark.
pub fn run(args: &[String]) -> Result<()> {
    if !sh::is_root() {
        bail!("the benchmark needs root: it builds network namespaces (run it as root)");
    }
    let mut c = sh::cargo();
    c.args(["run", "--release", "-p", "bench", "--"]).args(args);
    sh::run(c)
}
