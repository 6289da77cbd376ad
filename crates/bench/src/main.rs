//! `bench`: the failover benchmark (see the library docs). Needs root.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    // The hook-cost section's dispatch wrapper runs `bench exec SAMPLES CMD…` (see hookcost).
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if args.first().is_some_and(|a| a == "exec") {
        let (Some(out), Some(cmd)) = (args.get(1), args.get(2..).filter(|c| !c.is_empty())) else {
            anyhow::bail!("usage: bench exec SAMPLES CMD…");
        };
        let code = bench::hookcost::exec_measured(std::path::Path::new(out), cmd)?;
        std::process::exit(code);
    }
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
