//! Locking the daemon in memory, as keepalived's `vrrp_no_swap` does: a transition must not
//! wait for a page of code or data to come back from disk or swap.
//!
//! `mlockall(MCL_CURRENT | MCL_FUTURE)` faults in and pins every page mapped now and every
//! page mapped later, so the resident size then is the whole mapped size: keeping the binary
//! small is what keeps the locked size (and VmHWM) small. The unit file grants
//! `CAP_IPC_LOCK` (then RLIMIT_MEMLOCK is not consulted).

/// Locks all current and future mappings.
#[allow(unsafe_code)]
pub fn lock_all() -> std::io::Result<()> {
    // SAFETY: mlockall takes two constant flags and no pointer; it only pins pages and
    // changes no memory contents, so no Rust invariant can be broken by it.
    let rc = unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// `VmLck` of this process in KiB, from `/proc/self/status` (for logs and tests).
pub fn locked_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmLck:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
