//! The loop's one timer: a `timerfd` (CLOCK_MONOTONIC, the clock of `Instant`) registered with
//! the reactor, re-armed only when the loop's earliest deadline changes. (A MASTER's timers,
//! its periodic adverts, are the pacer thread's since: `pacer.rs`. This timer serves backups'
//! Master_Down, handoff bounds, the state file and deferred claims; the figures below were
//! measured when it still woke the loop for every advert.)
//!
//! Why not `tokio::time::sleep_until`: after tokio's time driver fires the only timer of its
//! wheel, the wheel is empty, so the next `sleep_until` the loop registers is "earlier than the
//! next wake" and tokio unparks its own driver (an eventfd `write`, then an `epoll_pwait` that
//! returns at once): measured, 2.5 `epoll_pwait` and one eventfd `write` per advert, and a
//! fresh timer-wheel entry each time. A timerfd costs one `timerfd_settime` per new deadline
//! and wakes the loop once per advert, at the deadline (hrtimer precision, where tokio rounds
//! up to the next millisecond).

use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::time::{Duration, Instant};

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// `TimerFd` with the `AsRawFd` the reactor wants.
struct Fd(TimerFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// A one-shot timer whose deadline is set with [`LoopTimer::set`].
pub(super) struct LoopTimer {
    fd: AsyncFd<Fd>,
    /// The deadline the timerfd is armed for (`None`: disarmed, or it fired).
    armed: Option<Instant>,
    /// The timerfd failed once (never seen; logged): from then on tokio's timer.
    fallback: bool,
}

impl LoopTimer {
    /// A disarmed timer (inside a tokio runtime).
    pub fn new() -> io::Result<LoopTimer> {
        let fd = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )
        .map_err(io::Error::from)?;
        // SAFETY: the `TimerFd` owns its fd; it stays open and unchanged until the AsyncFd
        // drops it.
        #[allow(unsafe_code)]
        let fd = unsafe { AsyncFd::register_with_interest(Fd(fd), Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        Ok(LoopTimer {
            fd,
            armed: None,
            fallback: false,
        })
    }

    /// Arm the timer for `deadline` (`None`: disarm); a system call only when it changes.
    pub fn set(&mut self, deadline: Option<Instant>) {
        if deadline == self.armed {
            return;
        }
        if !self.fallback {
            if let Err(e) = self.arm(deadline) {
                self.fail(&e);
            }
        }
        self.armed = deadline;
    }

    fn fail(&mut self, e: &io::Error) {
        tracing::error!(error = %e, "timerfd failed; the loop uses tokio's timer from now on");
        self.fallback = true;
    }

    fn arm(&self, deadline: Option<Instant>) -> io::Result<()> {
        match deadline {
            Some(t) => {
                // Relative to now: the kernel adds it to its clock read after ours, so the
                // timer never fires before `t`. Zero would disarm: a due deadline fires in 1 ns.
                let d = t
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_nanos(1));
                let exp = Expiration::OneShot(TimeSpec::from_duration(d));
                self.fd
                    .get_ref()
                    .0
                    .set(exp, TimerSetTimeFlags::empty())
                    .map_err(io::Error::from)?;
            }
            None => self.fd.get_ref().0.unset().map_err(io::Error::from)?,
        }
        Ok(())
    }

    /// Wait until the armed deadline passes (forever when disarmed). Cancel-safe. The fd's
    /// readiness only says "look now"; the clock says whether the deadline passed: a readiness
    /// left from a deadline that was re-armed since is dropped, and the fired timerfd is never
    /// `read` (the next `timerfd_settime` resets its count, and its next expiry wakes epoll
    /// again): one system call less per advert than keepalived's read. Should the timerfd ever
    /// fail, the error is logged once and tokio's timer takes over (same deadlines).
    pub async fn wait(&mut self) {
        while !self.fallback {
            match self.fd.readable().await {
                Ok(mut guard) => {
                    guard.clear_ready();
                    if self.armed.is_some_and(|t| t <= Instant::now()) {
                        self.armed = None;
                        return;
                    }
                }
                Err(e) => self.fail(&e),
            }
        }
        match self.armed {
            Some(t) => tokio::time::sleep_until(t.into()).await,
            None => std::future::pending().await,
        }
        self.armed = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fires_at_the_deadline_not_before() {
        let mut t = LoopTimer::new().unwrap();
        let deadline = Instant::now() + Duration::from_millis(20);
        t.set(Some(deadline));
        t.wait().await;
        assert!(Instant::now() >= deadline);
    }

    #[tokio::test]
    async fn a_due_deadline_fires_at_once_and_a_moved_one_waits() {
        let mut t = LoopTimer::new().unwrap();
        t.set(Some(Instant::now()));
        tokio::time::timeout(Duration::from_millis(500), t.wait())
            .await
            .unwrap();
        // Armed, then moved later before it fired: it fires at the later deadline.
        let first = Instant::now() + Duration::from_millis(5);
        t.set(Some(first));
        let later = Instant::now() + Duration::from_millis(40);
        t.set(Some(later));
        t.wait().await;
        assert!(Instant::now() >= later);
    }

    #[tokio::test]
    async fn a_readiness_left_from_an_earlier_deadline_does_not_fire_a_later_one() {
        let mut t = LoopTimer::new().unwrap();
        t.set(Some(Instant::now() + Duration::from_millis(2)));
        // Fires while nobody waits: the reactor records the fd as readable.
        tokio::time::sleep(Duration::from_millis(30)).await;
        let later = Instant::now() + Duration::from_millis(40);
        t.set(Some(later));
        t.wait().await;
        assert!(Instant::now() >= later);
        // And the re-armed timer still fires after that (its expiry wakes epoll again).
        let next = Instant::now() + Duration::from_millis(10);
        t.set(Some(next));
        tokio::time::timeout(Duration::from_millis(500), t.wait())
            .await
            .unwrap();
        assert!(Instant::now() >= next);
    }

    #[tokio::test]
    async fn disarmed_never_fires() {
        let mut t = LoopTimer::new().unwrap();
        t.set(Some(Instant::now() + Duration::from_millis(10)));
        t.set(None);
        let r = tokio::time::timeout(Duration::from_millis(60), t.wait()).await;
        assert!(r.is_err(), "a disarmed timer fired");
    }
}
