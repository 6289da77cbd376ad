//! Issue 10's figures in the benchmark report, taken in the same run: the size of each packed
//! charm and of the binaries in it (every architecture `cargo xtask pack` wrote), and the hook
//! cost of our `dispatch` against a minimal Python `ops` charm in the same simulated model
//! ([`crate::hookcost`]: own CPU and peak resident memory per steady-state hook).
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::hookcost::{self, HookCostOpts, HookSample};
use crate::report::Target;

/// Issue 10's ceiling for each binary and each charm, in bytes.
pub const SIZE_LIMIT: u64 = 3_000_000;
/// Issue 10's ceiling for the dispatcher's own CPU per steady-state hook, ms.
pub const HOOK_CPU_LIMIT_MS: f64 = 10.0;
/// Issue 10's ceiling for the dispatcher's peak resident memory per hook, KiB.
pub const HOOK_HWM_LIMIT_KIB: u64 = 5 * 1024;
/// Architectures packed, the host's charm first is not assumed: table order.
const ARCHES: [&str; 2] = ["amd64", "arm64"];
/// Files of a charm whose size matters (path in the zip).
const BINARIES: [&str; 2] = ["dispatch", "bin/vrrpd"];

/// One size: a charm file or a binary inside it.
#[derive(Debug, Clone, Serialize)]
pub struct SizeRow {
    /// `amd64` or `arm64`.
    pub arch: String,
    /// `keepalived_<arch>.charm`, `dispatch` or `bin/vrrpd`.
    pub file: String,
    /// Bytes (a binary: as extracted, i.e. stripped as packed).
    pub bytes: u64,
}

/// One hook's figures: our dispatcher and (if measured) the `ops` charm.
#[derive(Debug, Clone, Serialize)]
pub struct HookRow {
    /// `update-status` or `config-changed`.
    pub hook: String,
    /// Ours: own CPU median and max (ms), VmHWM median and max (KiB).
    pub ours: (f64, f64, u64, u64),
    /// The `ops` charm's, same fields.
    pub ops: Option<(f64, f64, u64, u64)>,
}

/// Everything this section measured (errors instead of figures where a step failed).
#[derive(Debug, Clone, Default, Serialize)]
pub struct CharmCost {
    /// Sizes, per architecture.
    pub sizes: Vec<SizeRow>,
    /// Hook rounds per hook.
    pub rounds: usize,
    /// Hook figures.
    pub hooks: Vec<HookRow>,
    /// What could not be measured.
    pub errors: Vec<String>,
}

/// The architecture whose charm runs on this machine without an emulator.
pub fn host_arch() -> &'static str {
    if cfg!(target_arch = "aarch64") {
        "arm64"
    } else {
        "amd64"
    }
}

/// Sizes of `dir/keepalived_<arch>.charm` and of its binaries, for every packed architecture.
pub fn sizes(dir: &Path) -> Result<Vec<SizeRow>> {
    let mut rows = Vec::new();
    for arch in ARCHES {
        let charm = dir.join(format!("keepalived_{arch}.charm"));
        let len = |p: &Path| {
            std::fs::metadata(p)
                .map(|m| m.len())
                .with_context(|| p.display().to_string())
        };
        let row = |file: &str, bytes| SizeRow {
            arch: arch.to_string(),
            file: file.to_string(),
            bytes,
        };
        rows.push(row(&format!("keepalived_{arch}.charm"), len(&charm)?));
        let tmp = tempfile::Builder::new().prefix("charmsize").tempdir()?;
        jujusim::charmpkg::unpack(&charm, tmp.path())?;
        for b in BINARIES {
            rows.push(row(b, len(&tmp.path().join(b))?));
        }
    }
    Ok(rows)
}

/// Measures sizes and hook cost for the charms in `dir` (hooks on the host's charm, `juju` is
/// jujusim's executable, `ops_python` a Python with `ops` installed). Needs root.
pub fn measure(dir: &Path, juju: &Path, ops_python: Option<&Path>, rounds: usize) -> CharmCost {
    let mut cc = CharmCost {
        rounds,
        ..CharmCost::default()
    };
    match sizes(dir) {
        Ok(s) => cc.sizes = s,
        Err(e) => cc.errors.push(format!("sizes: {e:#}")),
    }
    let samples = std::env::current_exe()
        .context("current_exe")
        .and_then(|self_exe| {
            let opts = HookCostOpts {
                charm: dir.join(format!("keepalived_{}.charm", host_arch())),
                juju: juju.canonicalize().context("jujusim's juju")?,
                self_exe,
                rounds,
                perf: false,
                ops_python: ops_python.map(Path::to_path_buf),
            };
            hookcost::run(&opts)
        });
    match samples {
        Ok(s) => cc.hooks = hook_rows(&s),
        Err(e) => cc.errors.push(format!("hook cost: {e:#}")),
    }
    cc
}

fn hook_rows(samples: &[HookSample]) -> Vec<HookRow> {
    ["update-status", "config-changed"]
        .into_iter()
        .filter_map(|h| {
            let hook = format!("hooks/{h}");
            Some(HookRow {
                hook: h.to_string(),
                ours: hookcost::summary(samples, hookcost::UNIT, &hook)?,
                ops: hookcost::summary(samples, hookcost::OPS_UNIT, &hook),
            })
        })
        .collect()
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Appends the section's Markdown.
pub fn markdown(s: &mut String, cc: &CharmCost) {
    let _ = writeln!(s, "\n## Charm size (issue 10: each ≤ {SIZE_LIMIT} B)\n");
    let _ = writeln!(s, "| file | amd64 | arm64 |");
    let _ = writeln!(s, "|---|---:|---:|");
    for file in ["charm", BINARIES[0], BINARIES[1]] {
        let cell = |arch: &str| {
            cc.sizes
                .iter()
                .find(|r| {
                    r.arch == arch
                        && (r.file == file || (file == "charm" && r.file.ends_with(".charm")))
                })
                .map(|r| format!("{} B", r.bytes))
                .unwrap_or_else(|| "–".into())
        };
        let _ = writeln!(s, "| {file} | {} | {} |", cell("amd64"), cell("arm64"));
    }
    let _ = writeln!(
        s,
        "\n## Hook cost: our dispatch vs a minimal Python `ops` charm\n"
    );
    let _ = writeln!(s, "Same simulated model, same run, {} rounds of each hook; own CPU of the hook process (children not counted) and its VmHWM at exit, median [max]; ratio = ops / ours (medians).\n", cc.rounds);
    let _ = writeln!(
        s,
        "| hook | dispatch CPU | ops CPU | ratio | dispatch VmHWM | ops VmHWM | ratio |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|");
    for h in &cc.hooks {
        let (oc, ocx, oh, ohx) = h.ours;
        let ops = |f: &dyn Fn((f64, f64, u64, u64)) -> String| h.ops.map(f).unwrap_or("–".into());
        let _ = writeln!(
            s,
            "| {} | {oc:.1} ms [{ocx:.1}] | {} | {} | {:.1} MiB [{:.1}] | {} | {} |",
            h.hook,
            ops(&|(c, cx, _, _)| format!("{c:.1} ms [{cx:.1}]")),
            ops(&|(c, ..)| format!("{:.1}", c / oc)),
            mib(oh),
            mib(ohx),
            ops(&|(_, _, m, mx)| format!("{:.1} MiB [{:.1}]", mib(m), mib(mx))),
            ops(&|(_, _, m, _)| format!("{:.1}", m as f64 / oh.max(1) as f64)),
        );
    }
    for e in &cc.errors {
        let _ = writeln!(s, "\n- not measured: {e}");
    }
}

/// Issue 10's targets that this section can judge (sizes: of the amd64 charm, as the issue
/// states them; arm64's are in the table only).
pub fn targets(cc: &CharmCost) -> Vec<Target> {
    let mut out: Vec<Target> = cc
        .sizes
        .iter()
        .filter(|r| r.arch == "amd64")
        .map(|r| Target {
            name: format!("{} {} ≤ {SIZE_LIMIT} B", r.arch, r.file),
            measured: format!("{} B", r.bytes),
            pass: Some(r.bytes <= SIZE_LIMIT),
        })
        .collect();
    for h in &cc.hooks {
        let (cpu, cpu_max, hwm, hwm_max) = h.ours;
        out.push(Target {
            name: format!("dispatch own CPU per {} ≤ {HOOK_CPU_LIMIT_MS} ms", h.hook),
            measured: format!("{cpu:.1} ms [max {cpu_max:.1}]"),
            pass: Some(cpu <= HOOK_CPU_LIMIT_MS),
        });
        out.push(Target {
            name: format!("dispatch peak RSS per {} ≤ 5 MiB", h.hook),
            measured: format!("{:.1} MiB [max {:.1}]", mib(hwm), mib(hwm_max)),
            pass: Some(hwm_max <= HOOK_HWM_LIMIT_KIB),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost() -> CharmCost {
        CharmCost {
            sizes: vec![
                SizeRow {
                    arch: "amd64".into(),
                    file: "keepalived_amd64.charm".into(),
                    bytes: 2_700_000,
                },
                SizeRow {
                    arch: "amd64".into(),
                    file: "bin/vrrpd".into(),
                    bytes: 3_000_001,
                },
                SizeRow {
                    arch: "arm64".into(),
                    file: "bin/vrrpd".into(),
                    bytes: 3_100_000,
                },
            ],
            rounds: 10,
            hooks: vec![HookRow {
                hook: "update-status".into(),
                ours: (4.0, 5.0, 2048, 3000),
                ops: Some((240.0, 270.0, 30 * 1024, 32 * 1024)),
            }],
            errors: vec!["hook cost: boom".into()],
        }
    }

    #[test]
    fn targets_judge_sizes_and_hooks() {
        let t = targets(&cost());
        let pass: Vec<Option<bool>> = t.iter().map(|t| t.pass).collect();
        assert_eq!(pass, [Some(true), Some(false), Some(true), Some(true)]);
    }

    #[test]
    fn markdown_has_both_tables_and_ratios() {
        let mut s = String::new();
        markdown(&mut s, &cost());
        assert!(s.contains("| charm | 2700000 B | – |"), "{s}");
        assert!(s.contains("| bin/vrrpd | 3000001 B | 3100000 B |"), "{s}");
        assert!(
            s.contains("| update-status | 4.0 ms [5.0] | 240.0 ms [270.0] | 60.0 | 2.0 MiB [2.9] | 30.0 MiB [32.0] | 15.0 |"),
            "{s}"
        );
        assert!(s.contains("not measured: hook cost: boom"), "{s}");
    }
}
