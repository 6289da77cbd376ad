//! The advert pacer (issue 13): a dedicated thread that runs the timers of MASTER instances,
//! so a master's periodic advert never wakes the event loop.
//!
//! Why: a master at the charm's 30 ms interval wakes 33 times a second for one advert each.
//! Through the loop that wake costs the reactor's park and turn, the select over every
//! source, the timerfd re-arm and the bookkeeping around one `sendmsg` (measured: ~180 µs of
//! CPU per advert in the netns lab, keepalived ~130 µs, a bare `clock_nanosleep` + `sendto`
//! loop ~40 µs). Here the wake is one futex wait that times out, the core's own
//! `handle(now, Timer)` and the `sendmsg`.
//!
//! Who owns what: the core (`vrrp::Instance`) of each instance sits behind a mutex
//! ([`super::instance::CoreState`]) shared by the loop and this thread. The pacer feeds
//! `Input::Timer` only to instances that are MASTER when it looks, and carries out only the
//! adverts; any other action a master's timer yields (a GARP/NA burst, an interval change)
//! goes to the loop in order, with the adverts of that call ([`Paced`]). Every other timer
//! (a backup's Master_Down, a handoff's bound) and every other input stay with the loop, and
//! any input the loop feeds runs the due timers first, as before: whichever thread comes
//! first sends the advert, the other finds it no longer due.
//!
//! Locks: the pacer's own state, then a core; the loop never holds a core while it takes the
//! pacer's lock. An advert is sent while its core is locked, so it can never follow a state
//! change the loop made meanwhile.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use tokio::sync::Notify;

use super::instance::Core;
use super::table::InstanceId;

/// `m.lock()`, also after a thread panicked holding it (the data is plain state; the panic
/// itself is reported by its thread).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Actions of one paced `Timer` that only the loop can carry out, in order (from the first
/// that is not an advert, or from an advert that could not be sent here: no socket, or the
/// send failed; the loop tries it and logs why). They wait in the pacer's state until the loop,
/// woken through a [`Notify`], takes them ([`Pacer::take_handoffs`]): the pacer never waits
/// for the loop.
pub(crate) struct Paced {
    pub id: InstanceId,
    pub actions: Vec<vrrp::Action>,
}

/// What the loop and the pacer share.
#[derive(Default)]
struct State {
    /// Every running instance's core (the pacer looks only at MASTERs).
    cores: Vec<(InstanceId, Core)>,
    /// The deadline the pacer sleeps towards (`None`: until kicked).
    until: Option<Instant>,
    stop: bool,
    /// The pacer thread's kernel id, once it runs (-1: unknown).
    tid: libc::pid_t,
    /// What the loop has not taken yet, oldest first.
    handoffs: Vec<Paced>,
}

type Shared = Arc<(Mutex<State>, Condvar, Notify)>;

/// The pacer's stack: it runs the core's timer code and one `sendmsg` (the default 2 MiB would
/// be locked in memory whole under `mlockall(MCL_FUTURE)`).
const STACK: usize = 128 * 1024;

/// The pacer thread and its handle.
pub(crate) struct Pacer {
    shared: Shared,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The thread's kernel id (for its scheduling policy), 0 if unknown.
    tid: libc::pid_t,
}

/// The earliest timer of the MASTER cores.
fn earliest(cores: &[(InstanceId, Core)]) -> Option<Instant> {
    cores
        .iter()
        .filter_map(|(_, c)| lock(c).paced_deadline())
        .min()
}

impl Pacer {
    /// Starts the thread.
    pub fn start() -> std::io::Result<Pacer> {
        let shared: Shared = Arc::default();
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("pacer".into())
            .stack_size(STACK)
            .spawn(move || {
                // SAFETY: gettid(2) takes no arguments and cannot fail. A raw system call:
                // the static musl build resolves `libc::gettid` to nothing (measured: a call
                // through a null pointer).
                #[allow(unsafe_code)]
                let tid = unsafe { libc::syscall(libc::SYS_gettid) };
                let (m, cv, _) = &*s;
                lock(m).tid = libc::pid_t::try_from(tid).unwrap_or(-1);
                cv.notify_all();
                run(&s);
            })?;
        let tid = {
            let (m, cv, _) = &*shared;
            let st = cv.wait_while(lock(m), |st| st.tid == 0);
            st.unwrap_or_else(PoisonError::into_inner).tid.max(0)
        };
        Ok(Pacer {
            shared,
            thread: Some(thread),
            tid,
        })
    }

    /// The pacer thread's kernel id (0 if unknown).
    pub fn tid(&self) -> libc::pid_t {
        self.tid
    }

    /// Resolves when the pacer has left actions for the loop (cancel-safe; a wake-up given
    /// while the loop was busy is kept).
    pub async fn handed_off(&self) {
        self.shared.2.notified().await;
    }

    /// The actions the pacer left for the loop, oldest first.
    pub fn take_handoffs(&self) -> Vec<Paced> {
        std::mem::take(&mut lock(&self.shared.0).handoffs)
    }

    /// The instances to pace (after the table changed).
    pub fn set_cores(&self, cores: Vec<(InstanceId, Core)>) {
        let (m, cv, _) = &*self.shared;
        lock(m).cores = cores;
        cv.notify_one();
    }

    /// After the loop fed an input to a MASTER whose earliest timer is now `deadline`: wakes
    /// the pacer if that is earlier than what it sleeps towards (a new master, a shorter
    /// interval). A later one needs no wake: the pacer finds nothing due and sleeps again.
    pub fn kick(&self, deadline: Instant) {
        let (m, cv, _) = &*self.shared;
        if lock(m).until.is_none_or(|u| deadline < u) {
            cv.notify_one();
        }
    }
}

impl Drop for Pacer {
    fn drop(&mut self) {
        let (m, cv, _) = &*self.shared;
        lock(m).stop = true;
        cv.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(shared: &Shared) {
    let (m, cv, wake_loop) = &**shared;
    // One action buffer for every advert: with the core's cached adverts, a master's advert
    // allocates nothing (`vrrp/tests/no_alloc.rs`).
    let mut buf = Vec::new();
    let mut st = lock(m);
    while !st.stop {
        let now = Instant::now();
        match earliest(&st.cores) {
            Some(t) if t <= now => {
                let st = &mut *st;
                let before = st.handoffs.len();
                for (id, core) in &st.cores {
                    st.handoffs.extend(fire(*id, core, now, &mut buf));
                }
                if st.handoffs.len() > before {
                    wake_loop.notify_one();
                }
                st.until = None;
            }
            next => {
                st.until = next;
                st = match next {
                    Some(t) => {
                        cv.wait_timeout(st, t.saturating_duration_since(now))
                            .unwrap_or_else(PoisonError::into_inner)
                            .0
                    }
                    None => cv.wait(st).unwrap_or_else(PoisonError::into_inner),
                };
            }
        }
    }
}

/// Runs a MASTER core's due timers at `now` (actions into `buf`) and sends their adverts; what
/// only the loop can do comes back.
fn fire(id: InstanceId, core: &Core, now: Instant, buf: &mut Vec<vrrp::Action>) -> Option<Paced> {
    let mut c = lock(core);
    let c = &mut *c;
    if c.inst.state() != vrrp::State::Master || c.inst.poll_timeout().is_none_or(|t| t > now) {
        return None;
    }
    let now = c.lateness.feed_time(now, now);
    c.lateness.before_handle(&c.inst, now);
    buf.clear();
    c.inst.handle_into(now, vrrp::Input::Timer, buf);
    let mut sent = 0;
    for a in buf.iter() {
        let vrrp::Action::Send { src, dst, payload } = a else {
            break;
        };
        // No socket, or the send failed: the loop tries it and says why.
        let Some(sock) = c.sock.as_ref() else {
            break;
        };
        if sock.send_now(*src, *dst, payload).is_err() {
            break;
        }
        c.lateness.sent(Instant::now());
        sent += 1;
    }
    let rest = buf.get(sent..).filter(|r| !r.is_empty())?;
    Some(Paced {
        id,
        actions: rest.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A core that became MASTER at the returned instant (no socket).
    fn master() -> (Core, Instant) {
        let (mut inst, _) = super::super::testing::v3_backup(Duration::from_millis(30));
        let down = inst.poll_timeout().unwrap();
        let _ = inst.handle(down, vrrp::Input::Timer);
        assert_eq!(inst.state(), vrrp::State::Master);
        let core = Arc::new(Mutex::new(super::super::instance::CoreState {
            inst,
            lateness: super::super::timing::Lateness::default(),
            sock: None,
        }));
        (core, down)
    }

    fn id() -> InstanceId {
        let mut t = super::super::table::Instances::default();
        t.insert(super::super::testing::running("x", 9))
    }

    #[test]
    fn only_a_masters_due_timer_fires_and_an_unsendable_advert_goes_to_the_loop() {
        let (core, _) = master();
        let due = lock(&core).inst.poll_timeout().unwrap();
        let cores = vec![(id(), core.clone())];
        assert_eq!(earliest(&cores), Some(due));
        // Not due yet: nothing happens.
        assert!(fire(
            cores[0].0,
            &core,
            due - Duration::from_millis(1),
            &mut Vec::new()
        )
        .is_none());
        // Due, and no socket: the advert is handed to the loop, the timer moves on.
        let paced = fire(cores[0].0, &core, due, &mut Vec::new()).expect("handed over");
        assert!(matches!(paced.actions[..], [vrrp::Action::Send { .. }, ..]));
        assert!(lock(&core).inst.poll_timeout().unwrap() > due);
        // A core that is not MASTER is the loop's: no deadline here, nothing fired.
        let _ = lock(&core).inst.handle(due, vrrp::Input::Shutdown);
        assert_eq!(earliest(&cores), None);
        assert!(fire(
            cores[0].0,
            &core,
            due + Duration::from_secs(1),
            &mut Vec::new()
        )
        .is_none());
    }

    #[test]
    fn the_thread_reports_its_id_and_stops_on_drop() {
        let p = Pacer::start().unwrap();
        assert!(p.tid() > 0);
        let (core, _) = master();
        p.set_cores(vec![(id(), core)]);
        drop(p);
    }
}
