//! Watches whether a host holds an address: a thread inside the host's namespace polls
//! `getifaddrs` (netlink of that namespace) every `every` and records each change with a
//! monotonic timestamp.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use netlab::{Host, NetnsThread};

/// A running watcher.
pub struct VipWatch {
    stop: Arc<AtomicBool>,
    now: Arc<AtomicBool>,
    thread: Option<NetnsThread<Vec<(Instant, bool)>>>,
}

/// Does the calling thread's namespace have `addr` on any interface?
pub fn holds_here(addr: Ipv4Addr) -> bool {
    match nix::ifaddrs::getifaddrs() {
        Ok(it) => it.into_iter().any(|ifa| {
            ifa.address
                .as_ref()
                .and_then(|a| a.as_sockaddr_in())
                .is_some_and(|sin| sin.ip() == addr)
        }),
        Err(_) => false,
    }
}

impl VipWatch {
    /// Starts watching `vip` in `host`, for at most `max` (a hard bound on the loop).
    pub fn start(host: &Host, vip: IpAddr, every: Duration, max: Duration) -> anyhow::Result<Self> {
        let IpAddr::V4(v4) = vip else {
            anyhow::bail!("only IPv4 VIPs are watched");
        };
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let now_flag = Arc::new(AtomicBool::new(false));
        let now_w = now_flag.clone();
        let thread = host.spawn_thread(move || {
            let t0 = Instant::now();
            let mut changes = Vec::new();
            let mut last = None;
            while !flag.load(Ordering::Relaxed) && t0.elapsed() < max {
                let now = Instant::now();
                let held = holds_here(v4);
                now_w.store(held, Ordering::Relaxed);
                if last != Some(held) {
                    changes.push((now, held));
                    last = Some(held);
                }
                std::thread::sleep(every);
            }
            changes
        })?;
        Ok(VipWatch {
            stop,
            now: now_flag,
            thread: Some(thread),
        })
    }

    /// Whether the address was held at the last poll.
    pub fn held_now(&self) -> bool {
        self.now.load(Ordering::Relaxed)
    }

    /// Stops and returns the changes `(when, held)`; the first entry is the initial state.
    pub fn finish(mut self) -> Vec<(Instant, bool)> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for VipWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The first moment at or after `from` at which the address was held.
pub fn first_held_since(changes: &[(Instant, bool)], from: Instant) -> Option<Instant> {
    let mut held_at_from = false;
    for &(t, h) in changes {
        if t <= from {
            held_at_from = h;
        } else if h {
            return Some(if held_at_from { from } else { t });
        } else {
            held_at_from = false;
        }
    }
    held_at_from.then_some(from)
}

/// Is the address held at `at` (the last change at or before `at`)?
pub fn held_at(changes: &[(Instant, bool)], at: Instant) -> bool {
    changes
        .iter()
        .take_while(|(t, _)| *t <= at)
        .last()
        .is_some_and(|(_, h)| *h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_held_since_finds_the_takeover() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let ch = vec![(ms(0), false), (ms(300), true)];
        assert_eq!(first_held_since(&ch, ms(100)), Some(ms(300)));
        assert_eq!(first_held_since(&ch, ms(400)), Some(ms(400)));
        assert!(held_at(&ch, ms(350)));
        assert!(!held_at(&ch, ms(200)));
        let never = vec![(ms(0), false)];
        assert_eq!(first_held_since(&never, ms(100)), None);
    }
}
