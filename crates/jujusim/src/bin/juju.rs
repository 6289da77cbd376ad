//! `juju`: the simulator's command. Also a multi-call binary: invoked as a hook tool
//! (`config-get`, `relation-set`, … through the per-hook symlinks) it behaves as that tool.
// Tool / test-support crate: a panic fails only the test or developer command that hit it, with
// its message, so unwrap/expect are allowed here; the product crates deny them (root Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use clap::Parser;

fn main() -> std::process::ExitCode {
    let argv0 = std::env::args_os().next().unwrap_or_default();
    let name = std::path::Path::new(&argv0)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if juju_emu::tools::TOOL_NAMES.contains(&name.as_str()) {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let env = juju_emu::tools::ToolEnv::from_process();
        let out = juju_emu::tools::run(&name, &args, &env, &mut std::io::stdin());
        use std::io::Write;
        let _ = std::io::stdout().write_all(&out.stdout);
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().write_all(&out.stderr);
        std::process::exit(out.code);
    }
    let cli = jujusim::cli::Cli::parse();
    match jujusim::cli::run(cli) {
        Ok(code) => std::process::ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("ERROR {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
