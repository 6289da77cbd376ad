//! `cargo xtask demo`: the documented deployment, for real, on this machine.
//!
//! Packs the charm, builds the Juju model simulator (`crates/jujusim`, binary `juju`), and runs
//! its narrated demo: machines are network namespaces on one bridge, the packed keepalived charm
//! runs unmodified beside simulated kubeapi-load-balancer, kubernetes-master and
//! kubernetes-worker charms; a client reaches the VIP over TLS, then the VIP holder loses its
//! link and the demo prints how long the client could not connect. It cleans up every namespace
//! and process it made. Needs root.
use anyhow::{bail, Result};

use crate::sh;

/// Runs the demo; `args` are passed on to `juju demo` (e.g. `--keep`), except `--systemd`,
/// which makes the machines real-systemd containers whose root file system is cached in
/// `target/nspawn` (needs systemd-container and debootstrap: `crate::deps` installs them).
pub fn run(args: &[String]) -> Result<()> {
    let mut args = args.to_vec();
    if let Some(i) = args.iter().position(|a| a == "--systemd") {
        args[i] = format!("--systemd={}", sh::target_dir().join("nspawn").display());
    }
    if !sh::is_root() {
        bail!(
            "the demo needs root: its machines are network namespaces joined by a bridge \
             (run it as root, e.g. `sudo -E cargo xtask demo`)"
        );
    }
    crate::deps::ensure()?;
    let charm = crate::pack::pack()?;
    let mut build = sh::cargo();
    build.args(["build", "-p", "jujusim", "--bin", "juju"]);
    sh::run(build)?;
    let juju = sh::target_dir().join("debug").join("juju");
    let mut demo = std::process::Command::new(juju);
    demo.arg("demo").arg("--charm").arg(&charm).args(&args);
    sh::run(demo)
}
