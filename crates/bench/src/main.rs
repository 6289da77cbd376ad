//! `bench`: the failover benchmark (see the library docs). Needs root.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let opts = bench::Opts::parse();
    let report = bench::run(opts)?;
    let failed = report
        .targets
        .iter()
        .filter(|t| t.pass == Some(false))
        .count();
    eprintln!("bench: {failed} target(s) failed (see the report)");
    Ok(())
}
