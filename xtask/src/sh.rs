//! Small helpers for running commands and finding project paths.
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// The workspace root (the parent of this crate).
pub fn root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| here.to_path_buf())
}

/// Cargo's target directory (`CARGO_TARGET_DIR` or `<root>/target`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                root().join(d)
            }
        }
        _ => root().join("target"),
    }
}

/// The cargo executable that runs this xtask.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// True when running as root (the namespace labs need it).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}

/// Runs a command in the workspace root, echoing it; fails on non-zero exit.
pub fn run(mut cmd: Command) -> Result<()> {
    cmd.current_dir(root());
    eprintln!("+ {}", show(&cmd));
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {}", show(&cmd)))?;
    if !status.success() {
        bail!("{} failed ({status})", show(&cmd));
    }
    Ok(())
}

/// Runs a command in the workspace root like [`run`], echoing its stdout line by line as it
/// comes and also returning it, so callers can read a runner's summary lines.
pub fn run_tee(mut cmd: Command) -> Result<(String, std::process::ExitStatus)> {
    use std::io::{BufRead, BufReader, Write};
    cmd.current_dir(root()).stdout(std::process::Stdio::piped());
    eprintln!("+ {}", show(&cmd));
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {}", show(&cmd)))?;
    let mut captured = String::new();
    if let Some(out) = child.stdout.take() {
        let stdout = std::io::stdout();
        for line in BufReader::new(out).lines() {
            let line = line.context("reading child stdout")?;
            let mut lock = stdout.lock();
            writeln!(lock, "{line}").ok();
            captured.push_str(&line);
            captured.push('\n');
        }
    }
    let status = child.wait().context("waiting for child")?;
    Ok((captured, status))
}

/// A command as a shell-like string.
pub fn show(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}
