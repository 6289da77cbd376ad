//! `cargo xtask pack`: build release binaries, assemble the `.charm` zip, lint it with charmcraft.
//!
//! The zip is assembled here (not with `charmcraft pack`) because charmcraft can only build on an
//! Ubuntu host of the same release or inside LXD; see docs/juju-hook-environment.md §5.
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use zip::write::SimpleFileOptions;

use crate::sh;

/// Bases listed in the generated manifest (a subordinate runs wherever its principal runs).
const BASES: [&str; 3] = ["20.04", "22.04", "24.04"];
/// Linters `charmcraft analyse` may flag without failing the check.
const IGNORED_LINTERS: &str = "naming-conventions";

/// Builds the release binaries and writes `target/charm/keepalived.charm`. Returns its path.
pub fn pack() -> Result<PathBuf> {
    let root = sh::root();
    if !root.join("crates/vrrpd/src/main.rs").exists() {
        bail!("crates/vrrpd has no binary yet (crates/vrrpd/src/main.rs is missing); the worker is built by another task");
    }
    let mut build = sh::cargo();
    build.args(["build", "--release", "-p", "keepalived", "-p", "vrrpd"]);
    sh::run(build).context("building the release binaries of keepalived-charm and vrrpd")?;
    let rel = sh::target_dir().join("release");
    let dispatch = rel.join("keepalived-charm");
    let vrrpd = rel.join("vrrpd");
    for b in [&dispatch, &vrrpd] {
        if !b.is_file() {
            bail!(
                "{} was not built (does the crate define that binary?)",
                b.display()
            );
        }
    }
    let out_dir = root.join("target/charm");
    fs::create_dir_all(&out_dir)?;
    let out = out_dir.join("keepalived.charm");
    let tmp = out_dir.join(".keepalived.charm.tmp");
    write_zip(&tmp, &root, &dispatch, &vrrpd)
        .with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, &out)?;
    eprintln!(
        "wrote {} ({} bytes)",
        out.display(),
        fs::metadata(&out)?.len()
    );
    Ok(out)
}

/// `manifest.yaml` as charmcraft would write it for these bases.
pub fn manifest() -> String {
    let mut m = String::from(
        "analysis:\n  attributes:\n  - name: language\n    result: unknown\n  - name: framework\n    result: unknown\n",
    );
    m.push_str("bases:\n");
    for b in BASES {
        m.push_str(&format!(
            "- architectures:\n  - amd64\n  channel: '{b}'\n  name: ubuntu\n"
        ));
    }
    m.push_str("charmcraft-started-at: '1970-01-01T00:00:00Z'\ncharmcraft-version: 4.5.0\n");
    m
}

fn write_zip(path: &Path, root: &Path, dispatch: &Path, vrrpd: &Path) -> Result<()> {
    let file = fs::File::create(path)?;
    let mut zip = zip::ZipWriter::new(file);
    let opts = |mode: u32| {
        SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(mode)
    };
    let add =
        |zip: &mut zip::ZipWriter<fs::File>, name: &str, data: &[u8], mode: u32| -> Result<()> {
            zip.start_file(name, opts(mode))?;
            zip.write_all(data)?;
            Ok(())
        };
    for f in ["metadata.yaml", "config.yaml", "actions.yaml"] {
        add(
            &mut zip,
            f,
            &fs::read(root.join(f)).with_context(|| f.to_string())?,
            0o644,
        )?;
    }
    add(&mut zip, "manifest.yaml", manifest().as_bytes(), 0o644)?;
    add(&mut zip, "dispatch", &fs::read(dispatch)?, 0o755)?;
    zip.add_directory("bin/", opts(0o755))?;
    let worker = fs::read(vrrpd)?;
    add(&mut zip, "bin/vrrpd", &worker, 0o755)?;
    let stamp = crate::stamp::worker_stamp(&worker);
    add(
        &mut zip,
        crate::stamp::WORKER_STAMP,
        stamp.as_bytes(),
        0o644,
    )?;
    for (dir, mode) in [("hooks", 0o755), ("templates", 0o644)] {
        zip.add_directory(format!("{dir}/"), opts(0o755))?;
        let mut names: Vec<String> = fs::read_dir(root.join(dir))?
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect();
        names.sort();
        for n in names {
            add(
                &mut zip,
                &format!("{dir}/{n}"),
                &fs::read(root.join(dir).join(&n))?,
                mode,
            )?;
        }
    }
    zip.finish()?;
    Ok(())
}

/// The charmcraft virtualenv under `target/`, created on first use.
pub fn charmcraft() -> Result<PathBuf> {
    let venv = sh::root().join("target/charmcraft-venv");
    let bin = venv.join("bin/charmcraft");
    if !bin.exists() {
        let mut mk = Command::new("python3");
        mk.args(["-m", "venv"]).arg(&venv);
        sh::run(mk).context("creating the charmcraft venv (is python3-venv installed?)")?;
        let mut pip = Command::new(venv.join("bin/pip"));
        pip.args(["install", "--quiet", "charmcraft"]);
        sh::run(pip).context("pip install charmcraft")?;
    }
    Ok(bin)
}

/// Runs `charmcraft analyse --format=json` and fails on any lint result other than ok,
/// nonapplicable or ignored (attributes such as `language` are informational).
pub fn analyse(charm: &Path) -> Result<()> {
    let bin = charmcraft()?;
    let mut cmd = Command::new(&bin);
    cmd.args([
        "analyse",
        "--format=json",
        &format!("--ignore={IGNORED_LINTERS}"),
    ])
    .arg(charm);
    cmd.env("XDG_RUNTIME_DIR", std::env::temp_dir());
    eprintln!("+ {}", sh::show(&cmd));
    let out = cmd.output().context("running charmcraft analyse")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let results: serde_json::Value = serde_json::from_str(stdout.trim()).with_context(|| {
        format!(
            "charmcraft analyse printed no JSON (rc {:?}): {stdout}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    let mut bad = Vec::new();
    let mut ignored_warning = false;
    for r in results.as_array().map(Vec::as_slice).unwrap_or_default() {
        let field = |k: &str| r.get(k).and_then(|v| v.as_str()).unwrap_or("?").to_string();
        let (name, kind, result) = (field("name"), field("check_type"), field("result"));
        let text = field("text").replace('\n', " ");
        println!("  {kind:9} {name:20} {result:14} {text}");
        if kind == "attribute" || matches!(result.as_str(), "ok" | "nonapplicable" | "ignored") {
            continue;
        }
        // charmcraft 4.5 reports ignored linters anyway (and exits 3), so filter them here.
        if IGNORED_LINTERS.split(',').any(|l| l == name) {
            ignored_warning = true;
            continue;
        }
        bad.push(format!("{name}: {result} {text}"));
    }
    let rc = out.status.code();
    let rc_ok = rc == Some(0) || (rc == Some(3) && ignored_warning);
    if !bad.is_empty() || !rc_ok {
        bail!("charmcraft analyse failed (rc {rc:?}): {}", bad.join("; "));
    }
    println!("charmcraft analyse: ok (ignoring {IGNORED_LINTERS}: the option names must stay compatible)");
    Ok(())
}

/// `cargo xtask pack`.
pub fn pack_and_analyse() -> Result<PathBuf> {
    let charm = pack()?;
    analyse(&charm)?;
    Ok(charm)
}
