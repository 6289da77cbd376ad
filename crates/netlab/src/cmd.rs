//! Running `ip` and friends, with errors that show the command line and stderr.

use std::process::{Command, Output};

use crate::error::{Error, Result};

/// Renders a command line for error messages.
pub(crate) fn render(program: &str, args: &[&str]) -> String {
    let mut s = program.to_string();
    for a in args {
        s.push(' ');
        s.push_str(a);
    }
    s
}

/// Runs `program args…` and returns its output whatever the exit status.
pub(crate) fn output(program: &str, args: &[&str]) -> Result<Output> {
    Command::new(program)
        .args(args)
        .output()
        .map_err(|source| Error::Spawn {
            cmd: render(program, args),
            source,
        })
}

/// Runs `program args…`, fails unless it exits 0, returns stdout.
pub(crate) fn run(program: &str, args: &[&str]) -> Result<String> {
    let out = output(program, args)?;
    check(program, args, out)
}

/// Turns a finished command into its stdout, or an error with its stderr.
pub(crate) fn check(program: &str, args: &[&str], out: Output) -> Result<String> {
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(Error::Command {
            cmd: render(program, args),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// Runs `ip args…` (iproute2) and returns stdout.
pub(crate) fn ip(args: &[&str]) -> Result<String> {
    run("ip", args)
}

/// Runs `ip -n NETNS args…`.
pub(crate) fn ip_in(netns: &str, args: &[&str]) -> Result<String> {
    let mut all = vec!["-n", netns];
    all.extend_from_slice(args);
    ip(&all)
}

/// Parses JSON printed by `ip -j`.
pub(crate) fn json(cmd: &str, text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| Error::Parse {
        cmd: cmd.to_string(),
        reason: e.to_string(),
    })
}
