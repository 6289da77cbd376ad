//! `cargo xtask test`: system packages, then every check, then a summary.
use std::time::Instant;

use anyhow::{bail, Result};

use crate::{deps, pack, sh};

/// Totals of libtest's `test result:` lines.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub passed: u64,
    pub failed: u64,
    pub ignored: u64,
}

/// Adds up every `test result: ok. N passed; M failed; K ignored; ...` line of cargo test output.
pub fn tally(output: &str) -> Tally {
    let mut t = Tally::default();
    for line in output.lines() {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            continue;
        };
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(label), Some(n)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(n) = n.parse::<u64>() else { continue };
            match label {
                "passed" => t.passed += n,
                "failed" => t.failed += n,
                "ignored" => t.ignored += n,
                _ => {}
            }
        }
    }
    t
}

/// Builds the hook-tool binary that the charm's emulator tests run, so the tests need not
/// start a nested cargo build of their own.
fn build_hook_tool() -> Result<std::path::PathBuf> {
    let mut c = sh::cargo();
    c.args(["build", "-p", "juju-emu", "--bin", "juju-hook-tool"]);
    sh::run(c)?;
    Ok(sh::target_dir().join("debug").join("juju-hook-tool"))
}

/// Below this much free space a failed step is reported as a possible full disk.
const LOW_DISK: u64 = 1024 * 1024 * 1024;

/// Free bytes on the file system holding `path` (or its nearest existing parent), by `df`.
fn free_bytes(path: &std::path::Path) -> Option<u64> {
    let dir = path.ancestors().find(|p| p.exists())?;
    let out = std::process::Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(dir)
        .output()
        .ok()?;
    parse_df_avail(&String::from_utf8_lossy(&out.stdout))
}

/// The number in `df --output=avail -B1`'s output (a header line, then the value).
fn parse_df_avail(out: &str) -> Option<u64> {
    out.lines().nth(1)?.trim().parse().ok()
}

/// Runs every check, prints a summary, fails if any failed.
pub fn run() -> Result<()> {
    // A clean run needs about 5 GB in target/ (measured: 2.6 GB of test builds, the rest the
    // clippy, release and arm64 builds); the summary reports what was free.
    let start_mib = free_bytes(&sh::target_dir()).map_or(0, |b| b / (1024 * 1024));
    let tally_cell = std::cell::Cell::new(Tally::default());
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
    step("system packages", &deps::ensure);
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
    // Packed first: the simulator's end-to-end test deploys the real packed charm.
    let charm = std::cell::RefCell::new(None);
    step("pack + charmcraft analyse", &|| {
        *charm.borrow_mut() = Some(pack::pack_and_analyse()?);
        Ok(())
    });
    let add = |t: Tally| {
        let mut all = tally_cell.get();
        all.passed += t.passed;
        all.failed += t.failed;
        all.ignored += t.ignored;
        tally_cell.set(all);
    };
    step("arm64 tests (qemu-aarch64)", &|| {
        crate::arm64::run_tests(&add)
    });
    step("cargo test", &|| {
        let Some(charm) = charm.borrow().clone() else {
            bail!("no packed charm to test");
        };
        let tool = build_hook_tool()?;
        let mut c = sh::cargo();
        // --no-fail-fast: one failing binary must not hide the others' results.
        c.args(["test", "--workspace", "--no-fail-fast"])
            .env("JUJU_EMU_HOOK_TOOL", tool)
            .env("KEEPALIVED_CHARM", charm)
            // Every test must run here: a skip (no root, no keepalived, no charm) fails.
            .env("KEEPALIVED_TESTS_STRICT", "1")
            // The release worker that pack just built, as the charm ships it (static musl):
            // the footprint test asserts the peak (VmHWM) target on it (a debug build only
            // prints numbers).
            .env(
                "VRRPD_FOOTPRINT_BIN",
                sh::target_dir()
                    .join(pack::Arch::host().rust_target())
                    .join("release")
                    .join("vrrpd"),
            );
        let (out, status) = sh::run_tee(c)?;
        let t = tally(&out);
        add(t);
        if !status.success() || t.failed > 0 {
            bail!("cargo test failed ({status}; {} failed)", t.failed);
        }
        if t.passed == 0 {
            bail!("cargo test ran no test");
        }
        Ok(())
    });

    println!("\n=== summary");
    let free = free_bytes(&sh::target_dir());
    let mut failed = 0;
    for (name, r, secs) in &results {
        let verdict = if r.is_ok() { "ok" } else { "FAILED" };
        failed += usize::from(r.is_err());
        println!("  {verdict:6} {name:28} {secs:7.1}s");
    }
    let t = tally_cell.get();
    let verdict = if failed > 0 {
        format!("{failed} of {} checks failed", results.len())
    } else {
        format!("all {} checks passed", results.len())
    };
    println!("{verdict}");
    // Stop 18's CI failed with "No space left on device" inside a link step: say so plainly.
    if let Some(free) = free {
        let mib = free / (1024 * 1024);
        println!("disk: {mib} MiB free where target/ is ({start_mib} MiB at the start)");
        if failed > 0 && free < LOW_DISK {
            println!("the disk is nearly full: a failed build step may be that, not the code");
        }
    }
    // The plain closing line CI reads: tests counted over every `cargo test` binary.
    println!(
        "tests: {} passed, {} failed, {} skipped",
        t.passed, t.failed, t.ignored
    );
    if failed > 0 {
        bail!("{verdict}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn df_avail_is_the_second_line() {
        assert_eq!(
            parse_df_avail("     Avail\n 6227460096\n"),
            Some(6_227_460_096)
        );
        assert_eq!(parse_df_avail("Avail\n"), None);
        assert_eq!(parse_df_avail(""), None);
    }

    #[test]
    fn tally_adds_every_result_line() {
        let out = "running 2 tests\n\
            test result: ok. 2 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s\n\
            test result: FAILED. 5 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out\n\
            not a result line: 9 passed\n";
        assert_eq!(
            tally(out),
            Tally {
                passed: 7,
                failed: 2,
                ignored: 1
            }
        );
    }

    #[test]
    fn tally_of_nothing_is_zero() {
        assert_eq!(tally("compiling...\n"), Tally::default());
    }
}
