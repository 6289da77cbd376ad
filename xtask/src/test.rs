//! `cargo xtask test`: system packages, then every check, then a summary.
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::{pack, sh};

/// Debian packages the tests need on a fresh Debian 12 / Ubuntu host:
/// keepalived (interop tests), iproute2 (`ip netns` labs), tcpdump (packet captures),
/// openssl (test certificates), python3-venv + ca-certificates (charmcraft from PyPI), gcc (linker).
const PACKAGES: [&str; 7] = [
    "keepalived",
    "iproute2",
    "tcpdump",
    "openssl",
    "python3-venv",
    "ca-certificates",
    "gcc",
];

fn installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

fn apt(args: &[&str]) -> Command {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false);
    let mut cmd = if is_root {
        Command::new("apt-get")
    } else {
        let mut c = Command::new("sudo");
        c.arg("apt-get");
        c
    };
    cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
    cmd
}

/// Installs the missing packages (one `apt-get update` first, only when something is missing).
pub fn ensure_packages() -> Result<()> {
    let missing: Vec<&str> = PACKAGES.iter().copied().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        println!("system packages: all present ({})", PACKAGES.join(" "));
        return Ok(());
    }
    println!("system packages: installing {}", missing.join(" "));
    sh::run(apt(&["update"])).context("apt-get update")?;
    let mut args = vec!["install", "-y", "--no-install-recommends"];
    args.extend(&missing);
    sh::run(apt(&args)).context("apt-get install")
}

/// Runs every check, prints a summary, fails if any failed.
pub fn run() -> Result<()> {
    let mut results: Vec<(&str, Result<()>, f64)> = Vec::new();
    let mut step = |name: &'static str, f: &dyn Fn() -> Result<()>| {
        println!("\n=== {name}");
        let t = Instant::now();
        let r = f();
        if let Err(e) = &r {
            eprintln!("{name}: {e:#}");
        }
        results.push((name, r, t.elapsed().as_secs_f64()));
    };
    step("system packages", &ensure_packages);
    step("cargo fmt --check", &|| {
        let mut c = sh::cargo();
        c.args(["fmt", "--all", "--", "--check"]);
        sh::run(c)
    });
    step("cargo clippy", &|| {
        let mut c = sh::cargo();
        c.args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]);
        sh::run(c)
    });
    step("cargo test", &|| {
        let mut c = sh::cargo();
        c.args(["test", "--workspace"]);
        sh::run(c)
    });
    step("pack + charmcraft analyse", &|| {
        pack::pack_and_analyse().map(drop)
    });

    println!("\n=== summary");
    let mut failed = 0;
    for (name, r, secs) in &results {
        let verdict = if r.is_ok() { "ok" } else { "FAILED" };
        failed += usize::from(r.is_err());
        println!("  {verdict:6} {name:28} {secs:7.1}s");
    }
    if failed > 0 {
        bail!("{failed} of {} checks failed", results.len());
    }
    println!("all {} checks passed", results.len());
    Ok(())
}
