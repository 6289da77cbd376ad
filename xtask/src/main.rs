//! Project commands: `cargo xtask pack | test | demo | bench`.
mod bench;
mod demo;
mod pack;
mod sh;
mod stamp;
mod test;

use anyhow::{bail, Result};

const USAGE: &str = "usage: cargo xtask <pack|test|demo|bench>
  pack   build release binaries and write target/charm/keepalived.charm, then charmcraft analyse it
  test   install missing system packages, then fmt, clippy, tests, pack + analyse
  demo   pack, then deploy it in the Juju model simulator (network namespaces) and fail over [--keep]
  bench  failover and footprint of keepalived 2.2.7 vs vrrpd, side by side [--quick] [--reps N]";

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
        Some("demo") => demo::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("-h" | "--help" | "help") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown command {other:?}\n{USAGE}"),
    }
}
