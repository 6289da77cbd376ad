//! Long-running processes started inside a lab namespace, killed and reaped on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, killpg, Signal};
use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::error::{Error, Result};

/// How long [`Proc`] waits after SIGTERM before it sends SIGKILL.
pub const TERM_GRACE: Duration = Duration::from_secs(3);

/// A process's slot, shared by its [`Proc`] guard and the lab's registry (whichever drops first
/// stops it).
pub(crate) struct Slot {
    pub(crate) label: String,
    pid: u32,
    stdout: PathBuf,
    stderr: PathBuf,
    state: Mutex<State>,
}

struct State {
    child: Option<Child>,
    status: Option<ExitStatus>,
}

impl Slot {
    pub(crate) fn new(label: String, child: Child, stdout: PathBuf, stderr: PathBuf) -> Self {
        Slot {
            label,
            pid: child.id(),
            stdout,
            stderr,
            state: Mutex::new(State {
                child: Some(child),
                status: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the state usable: recover it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Has the process exited (zombie or reaped)? Does not reap.
    fn exited(&self) -> bool {
        let st = self.lock();
        if st.child.is_none() {
            return true;
        }
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        !matches!(
            waitid(Id::Pid(Pid::from_raw(self.pid as i32)), flags),
            Ok(WaitStatus::StillAlive)
        )
    }

    /// Sends SIGTERM to the process group, waits up to `grace`, then SIGKILLs the whole group and
    /// reaps the leader. Idempotent.
    pub(crate) fn send_term(&self) {
        if self.lock().child.is_some() && !self.exited() {
            let _ = killpg(Pid::from_raw(self.pid as i32), Signal::SIGTERM);
        }
    }

    /// Waits (bounded) for the leader to exit after [`Slot::send_term`], then SIGKILLs the group
    /// (stragglers) and reaps the leader.
    pub(crate) fn finish(&self, deadline: Instant) {
        while !self.exited() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut st = self.lock();
        if let Some(mut child) = st.child.take() {
            // The leader is unreaped here, so its pid (= the group id) cannot be reused yet.
            let _ = killpg(Pid::from_raw(self.pid as i32), Signal::SIGKILL);
            st.status = child.wait().ok();
        }
    }

    /// SIGTERM, bounded wait, SIGKILL, reap.
    pub(crate) fn stop(&self) {
        self.send_term();
        self.finish(Instant::now() + TERM_GRACE);
    }
}

/// A guard for a process started by [`crate::Host::spawn`]. Dropping it stops the process and
/// its process group (SIGTERM, then SIGKILL after [`TERM_GRACE`]) and reaps it.
pub struct Proc {
    pub(crate) slot: Arc<Slot>,
}

impl Proc {
    /// The process id (of `ip netns exec`, which execs the program, so it is the program's pid).
    pub fn pid(&self) -> u32 {
        self.slot.pid
    }

    /// The file that receives the process's stdout.
    pub fn stdout_path(&self) -> &Path {
        &self.slot.stdout
    }

    /// The file that receives the process's stderr.
    pub fn stderr_path(&self) -> &Path {
        &self.slot.stderr
    }

    /// The stdout written so far (lossy UTF-8).
    pub fn stdout(&self) -> String {
        read_lossy(&self.slot.stdout)
    }

    /// The stderr written so far (lossy UTF-8).
    pub fn stderr(&self) -> String {
        read_lossy(&self.slot.stderr)
    }

    /// Sends `sig` to the process (not its group). Fails if it was already reaped.
    pub fn signal(&self, sig: Signal) -> Result<()> {
        let st = self.slot.lock();
        if st.child.is_none() {
            return Err(Error::Invalid(format!(
                "process {} ({}) was already reaped",
                self.slot.pid, self.slot.label
            )));
        }
        kill(Pid::from_raw(self.slot.pid as i32), sig).map_err(|e| Error::Io {
            what: format!("kill({}, {sig})", self.slot.pid),
            source: e.into(),
        })
    }

    /// Is the process still running?
    pub fn is_running(&self) -> bool {
        !self.slot.exited()
    }

    /// Waits up to `timeout` for the process to exit and reaps it; `None` if still running.
    pub fn wait_timeout(&self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            {
                let mut st = self.slot.lock();
                if let Some(status) = st.status {
                    return Some(status);
                }
                if let Some(child) = st.child.as_mut() {
                    if let Ok(Some(status)) = child.try_wait() {
                        st.status = Some(status);
                        st.child = None;
                        return Some(status);
                    }
                }
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the process now (as drop does) and returns its exit status.
    pub fn stop(self) -> Option<ExitStatus> {
        self.slot.stop();
        let st = self.slot.lock();
        st.status
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.slot.stop();
    }
}

fn read_lossy(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}
