//! Project commands: `cargo xtask pack | test | demo | bench`.
// Tool / test-support crate: a panic fails only the test or developer command that hit it, with
// its message, so unwrap/expect are allowed here; the product crates deny them (root Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod arm64;
mod bench;
mod demo;
mod deps;
#[cfg(test)]
mod docrefs;
mod elf;
mod pack;
mod sh;
mod stamp;
mod test;

use anyhow::{bail, Result};

const USAGE: &str = "usage: cargo xtask <pack|test|demo|bench>
  pack   build static amd64 + arm64 binaries, write target/charm/keepalived_{amd64,arm64}.charm
         (and keepalived.charm = amd64), check each binary's ELF, charmcraft analyse each
  test   install the Debian packages of missing tools, then fmt, clippy, pack + analyse,
         arm64 tests under qemu, tests
  deps   check every external command the tests and the demo run; apt-get install what is missing
  demo   pack, then deploy it in the Juju model simulator (network namespaces) and fail over [--keep]
         [--systemd: machines are systemd-nspawn containers with real systemd 252]
  bench  failover and footprint of keepalived 2.2.7 vs vrrpd, side by side, charm sizes and hook
         cost vs a Python ops charm [--quick] [--reps N]";

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("pack") => pack::pack_and_analyse().map(drop),
        Some("test") => test::run(),
        Some("deps") => deps::ensure(),
        Some("demo") => demo::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("-h" | "--help" | "help") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown command {other:?}\n{USAGE}"),
    }
}
