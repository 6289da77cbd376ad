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

    /// Sends `sig` to every process of the daemon (its process group).
    pub fn signal_group(&self, sig: Signal) -> anyhow::Result<()> {
        let pgid = Pid::from_raw(self.pid()? as i32);
        Ok(nix::sys::signal::killpg(pgid, sig)?)
    }

    /// SIGHUP to the main process: reload (keepalived's parent forwards it to its child).
    pub fn sighup(&self) -> anyhow::Result<()> {
        Ok(self.proc()?.signal(Signal::SIGHUP)?)
    }

    /// Everything the daemon logged so far (stderr + stdout).
    pub fn log(&self) -> String {
        self.proc
            .as_ref()
            .map(|p| p.stderr() + &p.stdout())
            .unwrap_or_default()
    }

    /// State changes logged so far: `(entered MASTER, any change)`. keepalived: `Entering
    /// <STATE> STATE`; vrrpd: `state change … to=<State>`.
    pub fn state_changes(&self) -> (usize, usize) {
        count_state_changes(self.kind, &self.log())
    }

    /// vrrpd's state file (`None` for keepalived or before it was written).
    pub fn state(&self) -> Option<serde_json::Value> {
        let text = std::fs::read_to_string(self.dir.path().join("state.json")).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// vrrpd's first instance's `advert` object (mode, interval_ms, floor_ms, …), if any.
    pub fn advert(&self) -> Option<serde_json::Value> {
        self.state()
            .map(|s| s["instances"][0]["advert"].clone())
            .filter(serde_json::Value::is_object)
    }

    /// For a vrrpd master with an adaptive interval (`advert.mode` `auto`): waits (at most
    /// `bound`) until it advertises at its floor, so measurements are taken at the interval it
    /// settles on, not on the way down from the ceiling (a step per clean 5 s window). Returns
    /// the interval in effect then (ms), `None` for a fixed interval or keepalived.
    pub fn wait_interval_settled(&self, bound: Duration) -> Option<u64> {
        let t0 = std::time::Instant::now();
        loop {
            let a = self.advert()?;
            if a["mode"] != "auto" {
                return None;
            }
            let (now, floor) = (a["interval_ms"].as_u64()?, a["floor_ms"].as_u64()?);
            if now <= floor || t0.elapsed() >= bound {
                return Some(now);
            }
            std::thread::sleep(Duration::from_millis(200));
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

/// `(entered MASTER, any state change)` in a log of `kind`.
pub fn count_state_changes(kind: DaemonKind, log: &str) -> (usize, usize) {
    let (mut master, mut any) = (0, 0);
    for l in log.lines() {
        let (is_change, to_master) = match kind {
            DaemonKind::Keepalived => (
                l.contains("Entering") && l.contains(" STATE"),
                l.contains("Entering MASTER STATE"),
            ),
            DaemonKind::Vrrpd => (l.contains("state change"), l.contains("to=Master")),
        };
        if is_change {
            any += 1;
            master += usize::from(to_master);
        }
    }
    (master, any)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_changes_of_both_daemons() {
        let k = "Mon (VI_1) Entering BACKUP STATE (init)\n(VI_1) Entering MASTER STATE\n(VI_1) Entering BACKUP STATE\nother";
        assert_eq!(count_state_changes(DaemonKind::Keepalived, k), (1, 3));
        let v = "<6>state change instance=\"VI_1\" from=Init to=Backup reason=Startup\n<6>state change instance=\"VI_1\" from=Backup to=Master reason=MasterDown\n<6>configuration reloaded";
        assert_eq!(count_state_changes(DaemonKind::Vrrpd, v), (1, 2));
    }
}
