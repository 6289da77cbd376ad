//! Failover benchmark of issue 5: keepalived 2.2.7 and vrrpd side by side in network-namespace
//! labs (two load-balancer hosts, a client, the bridge in its own namespace).
//!
//! Each trial builds a fresh lab, starts the intended master then the backup, lets them settle,
//! starts a client that TCP-connects to VIP:443 every few milliseconds, injects one fault on the
//! master and measures the client-visible outage and the takeover time (fault → the backup holds
//! the VIP). Resource use is measured separately at idle. See [`run`].
//!
//! Root is required; everything runs inside namespaces the lab creates and is removed on drop.
// Tool / test-support crate: a panic fails only the test or developer command that hit it, with
// its message, so unwrap/expect are allowed here; the product crates deny them (root Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod adverts;
pub mod charmcost;
pub mod client;
pub mod configs;
pub mod daemon;
pub mod hookcost;
pub mod listener;
pub mod opts;
pub mod report;
pub mod resources;
pub mod stats;
pub mod stress;
pub mod topo;
pub mod trial;
pub mod vipwatch;

pub use opts::Opts;
pub use report::Report;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};

/// Root of the workspace this crate lives in.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The target the charm's worker is built for on this machine (static musl, see
/// `cargo xtask pack`): the benchmark measures what ships.
pub const SHIPPED_TARGET: &str = if cfg!(target_arch = "aarch64") {
    "aarch64-unknown-linux-musl"
} else {
    "x86_64-unknown-linux-musl"
};

/// Builds `vrrpd` in release mode as the charm ships it (`cargo build --release -p vrrpd
/// --target SHIPPED_TARGET` in the workspace, honouring `CARGO_TARGET_DIR`) and returns the
/// binary's path.
pub fn build_vrrpd() -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let root = workspace_root();
    let st = std::process::Command::new(&cargo)
        .args([
            "build",
            "--release",
            "-p",
            "vrrpd",
            "--target",
            SHIPPED_TARGET,
        ])
        .current_dir(&root)
        .status()
        .context("run cargo build --release -p vrrpd")?;
    if !st.success() {
        bail!("cargo build --release -p vrrpd --target {SHIPPED_TARGET} failed: {st}");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let bin = target.join(SHIPPED_TARGET).join("release").join("vrrpd");
    if !bin.exists() {
        bail!("{} missing after the build", bin.display());
    }
    Ok(bin)
}

/// Runs the whole benchmark described by `opts`, prints the Markdown report to stdout and writes
/// `report.md` and `report.json` to `opts.out`. Fails at once if not root or keepalived is
/// missing. Every lab is removed before this returns, also on error.
pub fn run(opts: Opts) -> anyhow::Result<Report> {
    netlab::require_root().context("the benchmark needs root (network namespaces)")?;
    if !std::path::Path::new(daemon::KEEPALIVED).exists() && opts.wants_keepalived() {
        bail!(
            "{} is missing (apt-get install keepalived)",
            daemon::KEEPALIVED
        );
    }
    let vrrpd = match &opts.vrrpd {
        Some(p) => p.clone(),
        None => build_vrrpd()?,
    };
    let vrrpd = std::fs::canonicalize(&vrrpd)
        .with_context(|| format!("vrrpd binary {}", vrrpd.display()))?;
    let started = Instant::now();
    let plan = opts.plan();
    let mut results = Vec::new();
    let total = plan.len();
    for (i, cell) in plan.into_iter().enumerate() {
        eprintln!(
            "bench [{}/{total}] {} {} {} rep {}",
            i + 1,
            cell.config.label(),
            cell.scenario.label(),
            cell.daemon.label(),
            cell.rep + 1
        );
        let r = trial::run_trial(&cell, opts.effective_reps(), &opts.timing(), &vrrpd);
        match &r.error {
            Some(e) => eprintln!("    error: {e}"),
            None => eprintln!(
                "    takeover {} outage {}{}",
                report::fmt_opt_ms(r.takeover_ms),
                report::fmt_opt_ms(Some(r.outage_ms)),
                r.interval_ms
                    .map(|i| format!(" (adaptive master at {i} ms)"))
                    .unwrap_or_default()
            ),
        }
        results.push(r);
    }
    let stress = run_stress(&opts, &vrrpd);
    let resources = if opts.skip_resources {
        Vec::new()
    } else {
        resources::measure_all(&opts, &vrrpd)
    };
    let charm = opts.charms.as_deref().map(|dir| {
        eprintln!("bench: charm sizes and hook cost ({})", dir.display());
        charmcost::measure(
            dir,
            &opts.juju,
            opts.ops_python.as_deref(),
            opts.hook_rounds(),
        )
    });
    let mut report = Report::build(&opts, results, stress, resources, started.elapsed());
    if let Some(cc) = charm {
        report.add_charm_cost(cc);
    }
    let md = report.markdown();
    println!("{md}");
    std::fs::create_dir_all(&opts.out).with_context(|| format!("create {}", opts.out.display()))?;
    atomicfile::write(&opts.out.join("report.md"), md.as_bytes(), 0o644)?;
    atomicfile::write(
        &opts.out.join("report.json"),
        serde_json::to_string_pretty(&report)?.as_bytes(),
        0o644,
    )?;
    eprintln!(
        "bench: wrote {} and report.json",
        opts.out.join("report.md").display()
    );
    Ok(report)
}

/// Every stress case of `opts`, each daemon in turn (cases outermost).
fn run_stress(opts: &Opts, vrrpd: &std::path::Path) -> Vec<stress::StressResult> {
    let mut out = Vec::new();
    let plan = opts.stress_plan();
    let total = plan.len();
    for (i, (case, daemon)) in plan.into_iter().enumerate() {
        eprintln!(
            "bench stress [{}/{total}] {} {}",
            i + 1,
            case.label(opts.quick),
            daemon.label()
        );
        let r = stress::run_case(case, daemon, opts.quick, vrrpd);
        match &r.error {
            Some(e) => eprintln!("    error: {e}"),
            None => eprintln!(
                "    backup→MASTER {} transitions {} VIP moves {}; {}",
                r.failovers, r.transitions, r.vip_moves, r.detail
            ),
        }
        for l in &r.changes {
            eprintln!("    {l}");
        }
        out.push(r);
    }
    out
}
