//! `hookcost`: the dispatcher's own CPU and peak RSS per steady-state hook on a packed charm
//! in the Juju model simulator (see `bench::hookcost`). Needs root.
//!
//! ```text
//! hookcost [--charm target/charm/keepalived.charm] [--juju target/debug/juju] [--rounds 10]
//!          [--perf]              # CPU from `perf stat -e task-clock --no-inherit` (no VmHWM,
//!                                # no own + children figure)
//!          [--ops-python PY]     # also a minimal Python `ops` charm run by PY (ops installed)
//! hookcost exec SAMPLES CMD…      # (internal) run CMD traced, append its sample to SAMPLES
//! ```
// Tool / test-support crate: a panic fails only the test or developer command that hit it, with
// its message, so unwrap/expect are allowed here; the product crates deny them (root Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use bench::hookcost::{self, HookCostOpts};

fn main() -> Result<()> {
    let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if args.first().is_some_and(|a| a == "exec") {
        if args.len() < 3 {
            bail!("usage: hookcost exec SAMPLES CMD…");
        }
        let out = PathBuf::from(args.remove(1));
        let code = hookcost::exec_measured(&out, &args[1..])?;
        std::process::exit(code);
    }
    let root = bench::workspace_root();
    let mut opts = HookCostOpts {
        charm: root.join("target/charm/keepalived.charm"),
        juju: root.join("target/debug/juju"),
        self_exe: std::env::current_exe().context("current_exe")?,
        rounds: 10,
        perf: false,
        ops_python: None,
    };
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().context("a flag without its value");
        match a.to_str() {
            Some("--charm") => opts.charm = value()?.into(),
            Some("--juju") => opts.juju = value()?.into(),
            Some("--perf") => opts.perf = true,
            Some("--ops-python") => opts.ops_python = Some(value()?.into()),
            Some("--rounds") => {
                opts.rounds = value()?
                    .to_str()
                    .and_then(|v| v.parse().ok())
                    .filter(|n| (1..=1000).contains(n))
                    .context("--rounds takes 1..=1000")?
            }
            _ => bail!("unknown argument {a:?} (see the file header for usage)"),
        }
    }
    for p in [&opts.charm, &opts.juju] {
        if !p.exists() {
            bail!(
                "{} is missing (cargo xtask pack; cargo build -p jujusim)",
                p.display()
            );
        }
    }
    // The simulator's charms and services run the executable by this path from elsewhere.
    opts.juju = opts.juju.canonicalize()?;
    opts.charm = opts.charm.canonicalize()?;
    let samples = hookcost::run(&opts)?;
    println!(
        "dispatch of {} ({} rounds each; own CPU {}, VmHWM at exit)",
        opts.charm.display(),
        opts.rounds,
        if opts.perf {
            "by perf stat -e task-clock --no-inherit"
        } else {
            "from exec to exit by /proc schedstat"
        }
    );
    println!("| unit | hook | own CPU median [max] | own + children CPU median [max] | VmHWM median [max] |");
    println!("|---|---|---:|---:|---:|");
    for unit in [hookcost::UNIT, hookcost::OPS_UNIT] {
        for hook in ["hooks/update-status", "hooks/config-changed"] {
            if let Some((cm, cx, hm, hx)) = hookcost::summary(&samples, unit, hook) {
                let tree = hookcost::tree_summary(&samples, unit, hook)
                    .map_or("–".to_string(), |(m, x)| format!("{m:.1} ms [{x:.1}]"));
                println!(
                    "| {unit} | {} | {cm:.1} ms [{cx:.1}] | {tree} | {:.1} MiB [{:.1}] |",
                    hook.trim_start_matches("hooks/"),
                    hm as f64 / 1024.0,
                    hx as f64 / 1024.0
                );
            }
        }
    }
    for s in &samples {
        eprintln!("{}", serde_json::to_string(s)?);
    }
    Ok(())
}
