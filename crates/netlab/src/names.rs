//! Namespace naming, the root check and the sweep of stale labs.
//!
//! Every namespace netlab creates is called `nl<pid>x<lab>-<tag>-<part>`: `pid` is the creating
//! process, `lab` a per-process counter, `tag` the lab's tag and `part` `sw` (the switch) or the
//! host's name. The pid lets [`sweep_stale`] find labs whose creator is gone.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::cmd;
use crate::error::{Error, Result};

/// Every netlab namespace name starts with this.
pub const PREFIX: &str = "nl";

static LAB_COUNTER: AtomicU32 = AtomicU32::new(0);

/// Fails with [`Error::NotRoot`] unless we run as root.
pub fn require_root() -> Result<()> {
    let euid = nix::unistd::geteuid();
    if euid.is_root() {
        Ok(())
    } else {
        Err(Error::NotRoot {
            euid: euid.as_raw(),
        })
    }
}

/// Checks a tag or host name: 1–24 characters of `[a-z0-9_]`, so names stay readable and parseable.
pub(crate) fn check_part(what: &str, s: &str) -> Result<()> {
    let ok = !s.is_empty()
        && s.len() <= 24
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{what} {s:?}: use 1-24 characters of [a-z0-9_]"
        )))
    }
}

/// The namespace-name stem of a new lab in this process: `nl<pid>x<n>-<tag>`.
pub(crate) fn new_lab_stem(tag: &str) -> String {
    let n = LAB_COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
    format!("{PREFIX}{}x{n}-{tag}", std::process::id())
}

/// The creating pid encoded in a netlab namespace name, if the name is one of ours.
pub fn creator_pid(netns: &str) -> Option<u32> {
    let rest = netns.strip_prefix(PREFIX)?;
    let (pid, rest) = rest.split_once('x')?;
    let (lab, _) = rest.split_once('-')?;
    if pid.is_empty() || lab.is_empty() || !lab.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Names of all network namespaces (`ip netns list`), without the `(id: N)` suffix.
pub fn list_netns() -> Result<Vec<String>> {
    let out = cmd::ip(&["netns", "list"])?;
    Ok(out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect())
}

fn pid_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Deletes netlab namespaces whose creating process is gone (a test run that was killed),
/// after SIGKILLing any process still inside them. Returns the names it deleted.
/// Namespaces of live processes (other test runs going on now) are left alone.
pub fn sweep_stale() -> Result<Vec<String>> {
    require_root()?;
    let mut deleted = Vec::new();
    for name in list_netns()? {
        let Some(pid) = creator_pid(&name) else {
            continue;
        };
        if pid_alive(pid) {
            continue;
        }
        kill_all_in(&name);
        // Another process may sweep the same namespace at the same time: only report ours.
        if cmd::ip(&["netns", "del", &name]).is_ok() {
            deleted.push(name);
        }
    }
    Ok(deleted)
}

/// SIGKILLs every process whose network namespace is `netns` (best effort).
pub(crate) fn kill_all_in(netns: &str) {
    signal_all_in(netns, nix::sys::signal::SIGKILL);
}

/// Sends `sig` to every process whose network namespace is `netns` (best effort); returns how
/// many were signalled.
pub(crate) fn signal_all_in(netns: &str, sig: nix::sys::signal::Signal) -> usize {
    let Ok(out) = cmd::ip(&["netns", "pids", netns]) else {
        return 0;
    };
    let mut n = 0;
    for pid in out.split_whitespace().filter_map(|p| p.parse::<i32>().ok()) {
        if pid > 1
            && pid as u32 != std::process::id()
            && nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig).is_ok()
        {
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creator_pid_parses_our_names_only() {
        assert_eq!(creator_pid("nl1234x1-ping-a"), Some(1234));
        assert_eq!(creator_pid("nl1234x17-t-sw"), Some(1234));
        assert_eq!(creator_pid("nlx1-t-sw"), None);
        assert_eq!(creator_pid("nl12ax1-t"), None);
        assert_eq!(creator_pid("netlab"), None);
        assert_eq!(creator_pid("blue"), None);
    }

    #[test]
    fn stems_are_unique_and_parseable() {
        let a = new_lab_stem("t");
        let b = new_lab_stem("t");
        assert_ne!(a, b);
        assert_eq!(creator_pid(&format!("{a}-sw")), Some(std::process::id()));
    }

    #[test]
    fn parts_are_checked() {
        assert!(check_part("tag", "ok_1").is_ok());
        assert!(check_part("tag", "").is_err());
        assert!(check_part("tag", "Bad").is_err());
        assert!(check_part("tag", "a-b").is_err());
    }
}
