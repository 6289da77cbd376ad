//! Scheduling of the event-loop thread, as keepalived's `vrrp_rt_priority`,
//! `vrrp_rlimit_rttime` and `vrrp_priority` (2.2.7: global_parser.c, process.c
//! `set_process_priorities`).
//!
//! The loop is the protocol's clock: under CPU load a SCHED_OTHER thread waits behind every
//! runnable task of its CPU, and adverts go out late. With `vrrp_rt_priority N` the loop's
//! thread (the main thread: the runtime is current-thread) runs SCHED_RR at N, with
//! SCHED_RESET_ON_FORK so that health scripts and any thread started later (the state-file
//! writer, tokio's blocking pool) run SCHED_OTHER; and, like keepalived, RLIMIT_RTTIME soft
//! USEC / 2 (SIGXCPU, logged) and hard USEC (SIGKILL): a loop that spins at real-time priority
//! without blocking is stopped instead of starving the machine. Only this thread's policy is
//! changed (`sched_setscheduler(0, …)` acts on the calling thread), not the process's.
//!
//! When the kernel refuses (EPERM: no CAP_SYS_NICE, or a cgroup without a real-time budget,
//! `cpu.rt_runtime_us` 0 under CONFIG_RT_GROUP_SCHED), one warning says so and the loop runs
//! at normal priority; the state file's `scheduling` shows what is in effect and why.

use std::io;

use kaconf::SchedDefs;
use thiserror::Error;
use tracing::{info, warn};
use vrrp::{SchedPolicy, Scheduling};

/// A scheduling call the kernel refused.
#[derive(Debug, Error)]
pub enum SchedError {
    /// `sched_setscheduler`.
    #[error("sched_setscheduler({policy}, {priority}): {source}")]
    Policy {
        /// `SCHED_RR` or `SCHED_OTHER`.
        policy: &'static str,
        /// Requested priority.
        priority: u8,
        /// The kernel's error.
        source: io::Error,
    },
    /// `setrlimit(RLIMIT_RTTIME)`.
    #[error("setrlimit(RLIMIT_RTTIME, {us} µs): {source}")]
    Rlimit {
        /// Hard limit asked for.
        us: u32,
        /// The kernel's error.
        source: io::Error,
    },
    /// `setpriority` (the nice value).
    #[error("setpriority(nice {nice}): {source}")]
    Nice {
        /// Nice value asked for.
        nice: i8,
        /// The kernel's error.
        source: io::Error,
    },
}

impl SchedError {
    /// A hint for the operator on top of the kernel's words.
    fn hint(&self) -> &'static str {
        match self {
            SchedError::Policy { source, .. } if source.raw_os_error() == Some(libc::EPERM) => {
                " (needs CAP_SYS_NICE, and under CONFIG_RT_GROUP_SCHED a real-time budget \
                 (cpu.rt_runtime_us) in the worker's cgroup)"
            }
            SchedError::Rlimit { source, .. } if source.raw_os_error() == Some(libc::EPERM) => {
                " (raising a hard limit needs CAP_SYS_RESOURCE: restart the worker)"
            }
            _ => "",
        }
    }
}

fn rc(r: libc::c_int) -> io::Result<()> {
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The kernel's `struct sched_param` (one int). The calls below are raw system calls: musl's
/// `sched_setscheduler`/`sched_getscheduler`/`sched_getparam` return ENOSYS by design (POSIX
/// means the process, Linux acts on one thread), and its `sched_param` has more fields.
#[repr(C)]
struct KernelSchedParam {
    sched_priority: libc::c_int,
}

fn syscall_rc(r: libc::c_long) -> io::Result<libc::c_long> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Sets thread `tid`'s policy (0: the calling thread), with SCHED_RESET_ON_FORK.
fn set_thread_policy(tid: libc::pid_t, policy: libc::c_int, priority: u8) -> io::Result<()> {
    let param = KernelSchedParam {
        sched_priority: libc::c_int::from(priority),
    };
    // SAFETY: sched_setscheduler(2) with a thread id (0: the calling thread), a policy and a
    // pointer to an initialised struct of the kernel's layout that outlives the call; the
    // kernel only reads it. No memory of ours is changed.
    #[allow(unsafe_code)]
    let r = unsafe {
        libc::syscall(
            libc::SYS_sched_setscheduler,
            tid,
            policy | libc::SCHED_RESET_ON_FORK,
            &param as *const KernelSchedParam,
        )
    };
    syscall_rc(r).map(|_| ())
}

/// The calling thread's policy and priority, as the kernel has them.
fn current() -> (SchedPolicy, u8) {
    // SAFETY: sched_getscheduler(2) with pid 0 (the calling thread); no pointer is passed.
    #[allow(unsafe_code)]
    let policy = unsafe { libc::syscall(libc::SYS_sched_getscheduler, 0 as libc::pid_t) };
    let mut param = KernelSchedParam { sched_priority: 0 };
    // SAFETY: sched_getparam(2) writes one struct of the kernel's layout into `param`, which
    // is valid and writable for the duration of the call.
    #[allow(unsafe_code)]
    let r = unsafe {
        libc::syscall(
            libc::SYS_sched_getparam,
            0 as libc::pid_t,
            &mut param as *mut KernelSchedParam,
        )
    };
    let prio = if r == 0 {
        u8::try_from(param.sched_priority).unwrap_or(0)
    } else {
        0
    };
    let rr = libc::c_long::from(libc::SCHED_RR);
    let reset = libc::c_long::from(libc::SCHED_RESET_ON_FORK);
    if policy >= 0 && policy & !reset == rr {
        (SchedPolicy::Rr, prio)
    } else {
        (SchedPolicy::Other, 0)
    }
}

/// RLIMIT_RTTIME as keepalived sets it: soft `us / 2` (SIGXCPU), hard `us` (SIGKILL).
fn set_rttime(us: u32) -> io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: libc::rlim_t::from(us / 2),
        rlim_max: libc::rlim_t::from(us),
    };
    // SAFETY: `lim` is an initialised rlimit that outlives the call; the kernel only reads it.
    #[allow(unsafe_code)]
    let r = unsafe { libc::setrlimit(libc::RLIMIT_RTTIME, &lim) };
    rc(r)
}

/// Thread `tid`'s nice value (0: the calling thread; Linux applies PRIO_PROCESS to one thread).
fn set_thread_nice(tid: libc::pid_t, nice: i8) -> io::Result<()> {
    let who = libc::id_t::try_from(tid).unwrap_or(0);
    // SAFETY: plain integer arguments, no pointer.
    #[allow(unsafe_code)]
    let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, who, libc::c_int::from(nice)) };
    rc(r)
}

/// What the loop's thread runs at; owned by the event loop (call from its thread only).
#[derive(Debug, Default)]
pub struct Sched {
    state: Scheduling,
    /// The nice value this thread was given (`None`: the one it inherited).
    nice: Option<i8>,
    /// The last problem warned about (each distinct one is logged once).
    warned: Option<String>,
}

impl Sched {
    /// What is in effect, for the state file and metrics.
    pub fn state(&self) -> &Scheduling {
        &self.state
    }

    /// Gives thread `tid` (another thread of this process: the advert pacer) what is in
    /// effect on the calling thread: its policy and priority, and its nice value. A refusal
    /// (the same process was just granted it, so hardly ever) is reported like the loop's own:
    /// one warning, and the reason in the state file.
    pub fn mirror_to(&mut self, tid: libc::pid_t) {
        if tid <= 0 {
            return;
        }
        let r = match self.state.policy {
            SchedPolicy::Rr => set_thread_policy(tid, libc::SCHED_RR, self.state.priority),
            // The nice value only once the loop's was set: until then both threads keep the
            // one they inherited (raising another thread's without CAP_SYS_NICE is refused).
            SchedPolicy::Other => set_thread_policy(tid, libc::SCHED_OTHER, 0)
                .and_then(|()| self.nice.map_or(Ok(()), |n| set_thread_nice(tid, n))),
        };
        if let Err(e) = r {
            self.state.error = Some(format!("advert pacer thread {tid}: {e}"));
            self.report(self.state.requested);
        }
    }

    /// Back to SCHED_OTHER (keepalived reloads at standard scheduling).
    pub fn reset(&mut self) {
        if self.state.policy == SchedPolicy::Rr {
            if let Err(e) = set_thread_policy(0, libc::SCHED_OTHER, 0) {
                warn!(error = %e, "cannot leave SCHED_RR");
            }
            let (policy, priority) = current();
            self.state.policy = policy;
            self.state.priority = priority;
        }
    }

    /// Applies `want` to the calling thread; returns whether what is in effect changed.
    pub fn apply(&mut self, want: &SchedDefs) -> bool {
        let before = self.state.clone();
        let requested = want.rt_priority.unwrap_or(0);
        let mut error = None;
        if let Some(p) = want.rt_priority {
            match self.enter_rr(p, want.rlimit_rttime_us) {
                Ok(()) => {}
                Err(e) => error = Some(e),
            }
        } else {
            self.reset();
            self.state.rlimit_rttime_us = 0;
            if want.nice != self.nice.unwrap_or(0) {
                match set_thread_nice(0, want.nice) {
                    Ok(()) => self.nice = Some(want.nice),
                    Err(source) => {
                        error = Some(SchedError::Nice {
                            nice: want.nice,
                            source,
                        })
                    }
                }
            }
        }
        let (policy, priority) = current();
        self.state.policy = policy;
        self.state.priority = priority;
        self.state.requested = requested;
        self.state.error = error.as_ref().map(|e| format!("{e}{}", e.hint()));
        self.report(requested);
        self.state != before
    }

    fn enter_rr(&mut self, p: u8, rlimit_us: u32) -> Result<(), SchedError> {
        if self.state.policy != SchedPolicy::Rr || self.state.priority != p {
            set_thread_policy(0, libc::SCHED_RR, p).map_err(|source| SchedError::Policy {
                policy: "SCHED_RR",
                priority: p,
                source,
            })?;
        }
        if self.state.rlimit_rttime_us != rlimit_us {
            set_rttime(rlimit_us).map_err(|source| SchedError::Rlimit {
                us: rlimit_us,
                source,
            })?;
            self.state.rlimit_rttime_us = rlimit_us;
        }
        Ok(())
    }

    /// One line per outcome: info when it took effect, one warning per distinct problem.
    fn report(&mut self, requested: u8) {
        match &self.state.error {
            Some(e) if self.warned.as_ref() != Some(e) => {
                warn!(
                    requested,
                    policy = ?self.state.policy,
                    error = %e,
                    "vrrp_rt_priority/vrrp_priority not (fully) in effect; the event loop runs at {:?} priority {}",
                    self.state.policy,
                    self.state.priority
                );
                self.warned = Some(e.clone());
            }
            Some(_) => {}
            None => {
                self.warned = None;
                if self.state.policy == SchedPolicy::Rr {
                    info!(
                        priority = self.state.priority,
                        rlimit_rttime_us = self.state.rlimit_rttime_us,
                        "event loop runs SCHED_RR (reset on fork)"
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a thread of its own (the test harness's threads are shared): SCHED_RR when the
    /// kernel allows it, else a clear error and SCHED_OTHER; back to SCHED_OTHER without it.
    #[test]
    fn apply_and_reset_on_a_thread() {
        std::thread::spawn(|| {
            let mut s = Sched::default();
            let want = SchedDefs {
                rt_priority: Some(10),
                ..SchedDefs::default()
            };
            s.apply(&want);
            let st = s.state().clone();
            assert_eq!(st.requested, 10);
            match st.policy {
                SchedPolicy::Rr => {
                    assert_eq!(st.priority, 10);
                    assert_eq!(st.rlimit_rttime_us, 10_000);
                    assert!(st.error.is_none());
                }
                SchedPolicy::Other => {
                    let e = st.error.expect("a refusal is explained");
                    assert!(e.contains("SCHED_RR"), "{e}");
                }
            }
            assert!(!s.apply(&want), "applying the same again changes nothing");
            s.apply(&SchedDefs::default());
            assert_eq!(current(), (SchedPolicy::Other, 0));
            assert_eq!(s.state().policy, SchedPolicy::Other);
            assert_eq!(s.state().requested, 0);
        })
        .join()
        .unwrap();
    }
}
