//! The client: TCP connects to VIP:PORT every `period` (each with a short timeout) from a thread
//! inside the client's namespace, recording every attempt; and the outage computed from them.

use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use netlab::{Host, NetnsThread};
use serde::Serialize;

/// One connect attempt.
#[derive(Debug, Clone, Copy)]
pub struct Attempt {
    /// When the attempt started.
    pub at: Instant,
    /// Whether the TCP handshake completed within the timeout.
    pub ok: bool,
}

/// A running client.
pub struct Client {
    stop: Arc<AtomicBool>,
    thread: Option<NetnsThread<Vec<Attempt>>>,
}

impl Client {
    /// Starts connecting from `host` to `target` every `period` with `timeout`, for at most
    /// `max` (a hard bound on the loop).
    pub fn start(
        host: &Host,
        target: SocketAddr,
        period: Duration,
        timeout: Duration,
        max: Duration,
    ) -> anyhow::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let limit = (max.as_millis() / period.as_millis().max(1)) as usize + 1;
        let thread = host.spawn_thread(move || {
            let t0 = Instant::now();
            let mut out = Vec::with_capacity(limit.min(100_000));
            let mut next = t0;
            while !flag.load(Ordering::Relaxed) && t0.elapsed() < max && out.len() < limit {
                let at = Instant::now();
                let ok = TcpStream::connect_timeout(&target, timeout).is_ok();
                out.push(Attempt { at, ok });
                next += period;
                let now = Instant::now();
                if next > now {
                    std::thread::sleep(next - now);
                } else {
                    // Behind schedule (a timeout): start again from now.
                    next = now;
                }
            }
            out
        })?;
        Ok(Client {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops and returns every attempt.
    pub fn finish(mut self) -> Vec<Attempt> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What the client saw around a fault.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Outage {
    /// The longest run of failed connects starting at or after the fault (minus one period):
    /// from the first failure's start to the next success's start, in milliseconds. 0 if none.
    pub ms: f64,
    /// The longest run never ended (no success after it before the client stopped).
    pub open: bool,
    /// Failed attempts after the fault.
    pub failures: usize,
    /// Attempts after the fault.
    pub attempts: usize,
    /// Failed attempts before the fault (should be 0: the setup was broken otherwise).
    pub failures_before: usize,
    /// Attempts before the fault.
    pub attempts_before: usize,
}

/// Computes the outage around `fault` from `attempts` (in start order). An attempt that started
/// up to one `period` before the fault counts as after it (it may be the one the fault broke).
pub fn outage(attempts: &[Attempt], fault: Instant, period: Duration) -> Outage {
    outage_between(attempts, fault, None, period)
}

/// Like [`outage`], but only runs of failures *starting* before `until` (if given) count (a run
/// that started before it counts to its end). Runs starting from `margin` before `from` count;
/// a run already going on then does not.
pub fn outage_between(
    attempts: &[Attempt],
    from: Instant,
    until: Option<Instant>,
    margin: Duration,
) -> Outage {
    let from = from.checked_sub(margin).unwrap_or(from);
    let (before, after): (Vec<&Attempt>, Vec<&Attempt>) =
        attempts.iter().partition(|a| a.at < from);
    let counts = |start: Instant| until.is_none_or(|u| start < u);
    let mut best = Duration::ZERO;
    let mut open = false;
    let mut run_start: Option<Instant> = None;
    // A run already going on at `from` is not one of this window's.
    let mut ongoing = before.last().is_some_and(|a| !a.ok);
    for a in &after {
        if ongoing {
            ongoing = !a.ok;
            continue;
        }
        match (a.ok, run_start) {
            (false, None) => run_start = Some(a.at),
            (true, Some(s)) => {
                let gap = a.at.saturating_duration_since(s);
                if gap >= best && counts(s) {
                    best = gap;
                    open = false;
                }
                run_start = None;
            }
            _ => {}
        }
    }
    if let (Some(s), Some(last)) = (run_start, after.last()) {
        let gap = last.at.saturating_duration_since(s);
        if gap >= best && counts(s) {
            best = gap;
            open = true;
        }
    }
    Outage {
        ms: best.as_secs_f64() * 1000.0,
        open,
        failures: after.iter().filter(|a| !a.ok).count(),
        attempts: after.len(),
        failures_before: before.iter().filter(|a| !a.ok).count(),
        attempts_before: before.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(t0: Instant, pattern: &str) -> Vec<Attempt> {
        pattern
            .chars()
            .enumerate()
            .map(|(i, c)| Attempt {
                at: t0 + Duration::from_millis(5 * i as u64),
                ok: c == '+',
            })
            .collect()
    }

    #[test]
    fn longest_failed_run_after_the_fault() {
        let t0 = Instant::now();
        // fault at attempt 4 (20 ms); failures at 5..=7, success at 8; then one failure at 10.
        let a = seq(t0, "+++++---++-+");
        let o = outage(&a, t0 + Duration::from_millis(22), Duration::from_millis(5));
        assert_eq!(o.ms, 15.0);
        assert!(!o.open);
        assert_eq!(o.failures, 4);
        assert_eq!(o.failures_before, 0);
    }

    #[test]
    fn no_failure_means_zero() {
        let t0 = Instant::now();
        let o = outage(
            &seq(t0, "++++++"),
            t0 + Duration::from_millis(10),
            Duration::from_millis(5),
        );
        assert_eq!(o.ms, 0.0);
        assert_eq!(o.failures, 0);
    }

    #[test]
    fn runs_are_split_at_their_start() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        // fault at 10 ms: a 4-attempt run (10..30), then after the resume at 45 ms a 2-attempt
        // run (50..60); the first run counts before the resume, the second after it.
        let a = seq(t0, "++----+++--++");
        let p = Duration::from_millis(5);
        let first = outage_between(&a, ms(10), Some(ms(45)), p);
        assert_eq!(first.ms, 20.0);
        let after = outage_between(&a, ms(45), None, Duration::ZERO);
        assert_eq!(after.ms, 10.0);
        // A run in progress at the resume is not the resume's.
        let b = seq(t0, "++------++");
        assert_eq!(outage_between(&b, ms(20), None, Duration::ZERO).ms, 0.0);
    }

    #[test]
    fn an_unended_run_is_open() {
        let t0 = Instant::now();
        let o = outage(
            &seq(t0, "++----"),
            t0 + Duration::from_millis(10),
            Duration::from_millis(5),
        );
        assert!(o.open);
        assert_eq!(o.ms, 15.0);
    }
}
