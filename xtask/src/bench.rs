//! `cargo xtask bench`: keepalived 2.2.7 and vrrpd side by side in network-namespace labs
//! (failure cases, then issue 13's stress cases with false-failover counts, then idle
//! footprint), then issue 10's figures in the same run: the size of each packed charm and its binaries
//! (amd64 and arm64), and the hook cost of our `dispatch` against a minimal Python `ops` charm.
//!
//! Packs the charms first (`cargo xtask pack`'s build, without the charmcraft lint), builds
//! jujusim's `juju` and a virtualenv with `ops` from PyPI (`target/ops-venv`, made once), then
//! runs the `bench` crate's binary in release mode (the client prober and the VIP watcher are
//! timing-sensitive) on the packed worker. It writes `target/bench/report.md` and
//! `report.json`. Arguments after `bench` go to it (`--quick`, `--reps N`, `--scenarios …`,
//! `--stress …`, `--no-failover`, `--no-stress`, `--skip-resources`);
//! `--vrrpd`, `--charms`, `--juju` or `--ops-python` given there replace the defaults.
use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::pack::{self, Arch};
use crate::sh;

/// The `ops` release the comparison charm runs (the one the README's figures were taken with).
const OPS_VERSION: &str = "3.9.0";

/// Runs the benchmark.
pub fn run(args: &[String]) -> Result<()> {
    if !sh::is_root() {
        bail!("the benchmark needs root: it builds network namespaces (run it as root)");
    }
    pack::pack_all().context("packing the charms (measured as shipped)")?;
    let mut juju = sh::cargo();
    juju.args(["build", "-p", "jujusim", "--bin", "juju"]);
    sh::run(juju).context("building jujusim's juju (the hook cost's model)")?;
    let target = sh::target_dir();
    let given = |flag: &str| {
        args.iter()
            .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
    };
    let mut c = sh::cargo();
    c.args(["run", "--release", "-p", "bench", "--bin", "bench", "--"]);
    if !given("--vrrpd") {
        let host = Arch::host().rust_target();
        c.arg("--vrrpd")
            .arg(target.join(host).join("release").join("vrrpd"));
    }
    if !given("--charms") {
        c.arg("--charms").arg(sh::root().join("target/charm"));
    }
    if !given("--juju") {
        c.arg("--juju").arg(target.join("debug").join("juju"));
    }
    if !given("--ops-python") {
        c.arg("--ops-python").arg(ops_python()?);
    }
    c.args(args);
    sh::run(c)
}

/// The Python of a virtualenv under `target/` with `ops` installed, created on first use.
fn ops_python() -> Result<PathBuf> {
    let venv = sh::root().join("target/ops-venv");
    let python = venv.join("bin/python");
    let has_ops = |py: &PathBuf| {
        Command::new(py)
            .args([
                "-c",
                &format!("import ops, sys; sys.exit(ops.__version__ != '{OPS_VERSION}')"),
            ])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !python.exists() {
        let mut mk = Command::new("python3");
        mk.args(["-m", "venv"]).arg(&venv);
        sh::run(mk).context("creating the ops venv (is python3-venv installed?)")?;
    }
    if !has_ops(&python) {
        let mut pip = Command::new(venv.join("bin/pip"));
        pip.args(["install", "--quiet", &format!("ops=={OPS_VERSION}")]);
        sh::run(pip).context("pip install ops")?;
    }
    Ok(python)
}
