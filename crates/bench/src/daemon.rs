//! Starting, signalling and inspecting a VRRP daemon (keepalived 2.2.7 or vrrpd) in a lab host.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use netlab::{Host, Proc, Signal};
use nix::unistd::Pid;
use serde::Serialize;

/// The keepalived binary.
pub const KEEPALIVED: &str = "/usr/sbin/keepalived";

/// Which daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DaemonKind {
    /// keepalived 2.2.7 (`-P -n -l -D`: VRRP only, foreground, log to console).
    Keepalived,
    /// Our worker.
    Vrrpd,
}

impl DaemonKind {
    /// Short label.
    pub fn label(self) -> &'static str {
        match self {
            DaemonKind::Keepalived => "keepalived",
            DaemonKind::Vrrpd => "vrrpd",
        }
    }
}

/// A running daemon. Dropping it stops its whole process group (netlab's guard); the lab's drop
/// also kills everything left in the namespace.
pub struct Daemon {
    /// Which daemon.
    pub kind: DaemonKind,
    dir: tempfile::TempDir,
    proc: Option<Proc>,
}

impl Daemon {
    /// Writes `conf` to a fresh directory and starts `kind` in `host`.
    pub fn start(host: &Host, kind: DaemonKind, conf: &str, vrrpd: &Path) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("bench-").tempdir()?;
        let conf_path = dir.path().join("daemon.conf");
        std::fs::write(&conf_path, conf)?;
        let s = |p: PathBuf| p.to_string_lossy().into_owned();
        let conf_s = s(conf_path);
        let proc = match kind {
            DaemonKind::Vrrpd => {
                let state = s(dir.path().join("state.json"));
                let bin = s(vrrpd.to_path_buf());
                host.spawn(
                    "vrrpd",
                    &bin,
                    &["--config", &conf_s, "--state-file", &state],
                )?
            }
            DaemonKind::Keepalived => {
                let (p, r, c) = (
                    s(dir.path().join("k.pid")),
                    s(dir.path().join("v.pid")),
                    s(dir.path().join("c.pid")),
                );
                host.spawn(
                    "keepalived",
                    KEEPALIVED,
                    &[
                        "-P", "-n", "-l", "-D", "-f", &conf_s, "-p", &p, "-r", &r, "-c", &c,
                    ],
                )?
            }
        };
        Ok(Daemon {
            kind,
            dir,
            proc: Some(proc),
        })
    }

    fn proc(&self) -> anyhow::Result<&Proc> {
        self.proc.as_ref().context("daemon already stopped")
    }

    /// The main process id (also the process group id).
    pub fn pid(&self) -> anyhow::Result<u32> {
        Ok(self.proc()?.pid())
    }

    /// Is the main process still running?
    pub fn is_running(&self) -> bool {
        self.proc.as_ref().is_some_and(Proc::is_running)
    }

    /// keepalived's VRRP child pid (from its pid file).
    fn vrrp_child(&self) -> Option<i32> {
        std::fs::read_to_string(self.dir.path().join("v.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// SIGTERM to the main process: a clean stop (keepalived's parent forwards it to its child).
    pub fn sigterm(&self) -> anyhow::Result<()> {
        Ok(self.proc()?.signal(Signal::SIGTERM)?)
    }

    /// SIGKILL every process of the daemon at once (keepalived's VRRP child first: it has
    /// PDEATHSIG=SIGTERM and would otherwise stop cleanly when its parent dies), then reap.
    pub fn sigkill(&mut self) -> anyhow::Result<()> {
        let proc = self.proc.take().context("daemon already stopped")?;
        if let Some(child) = self.vrrp_child() {
            let _ = nix::sys::signal::kill(Pid::from_raw(child), Signal::SIGKILL);
        }
        let pgid = Pid::from_raw(proc.pid() as i32);
        let _ = nix::sys::signal::killpg(pgid, Signal::SIGKILL);
        if proc.wait_timeout(Duration::from_secs(5)).is_none() {
            bail!("{} did not die on SIGKILL", self.kind.label());
        }
        Ok(())
    }

    /// Every live process of the daemon (its process group: keepalived's parent, VRRP child and
    /// any running check script).
    pub fn pids(&self) -> Vec<i32> {
        match self.pid() {
            Ok(pgid) => crate::resources::group_members(pgid as i32),
            Err(_) => Vec::new(),
        }
    }

    /// The tail of the daemon's logs (stdout + stderr), for error messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let Some(p) = &self.proc else {
            return String::new();
        };
        let all = p.stderr() + &p.stdout();
        let v: Vec<&str> = all.lines().collect();
        v[v.len().saturating_sub(lines)..].join("\n")
    }
}
