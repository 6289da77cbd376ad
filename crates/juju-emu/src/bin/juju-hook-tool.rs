//! The multi-call hook tool: dispatches on basename(argv[0]) (`config-get`, `relation-set`, …).
// Tool / test-support crate: a panic fails only the test or developer command that hit it, with
// its message, so unwrap/expect are allowed here; the product crates deny them (root Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

fn main() {
    let mut argv = std::env::args_os().map(|a| a.to_string_lossy().into_owned());
    let argv0 = argv.next().unwrap_or_default();
    let name = std::path::Path::new(&argv0)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let args: Vec<String> = argv.collect();
    let env = juju_emu::tools::ToolEnv::from_process();
    let mut stdin = std::io::stdin();
    let out = juju_emu::tools::run(&name, &args, &env, &mut stdin);
    use std::io::Write;
    let _ = std::io::stdout().write_all(&out.stdout);
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().write_all(&out.stderr);
    std::process::exit(out.code);
}
