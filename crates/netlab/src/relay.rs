//! A userspace delay relay: real frames, real delay, where the kernel has no `sch_netem`.
//!
//! [`crate::Lab::add_relayed_host`] puts a relay namespace between a host and the bridge: the
//! bridge port's veth peer (`r0`) and a second veth (`r1`, whose peer is the host's interface)
//! both live in the relay namespace, which has no addresses and IPv6 off (it sends nothing of
//! its own). One AF_PACKET socket per end reads every frame arriving there; each frame is held
//! for its own delay, drawn uniformly from `base ± spread` (like `tc netem delay BASE SPREAD`,
//! frames may overtake each other), then written out of the other end. Both directions, each a
//! reader and a writer thread, every loop bounded by the relay's lifetime; dropping the
//! [`Relay`] stops them (the lab deletes the namespace).
//!
//! Limits: frames are forwarded as captured, so a checksum left to offload by the sender (TCP or
//! UDP from a veth) stays unfilled; VRRP, ARP, ICMP and anything checksummed in software pass
//! intact. At most [`MAX_QUEUED`] frames wait per direction; more are dropped and counted.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// At most this many frames wait in one direction.
pub const MAX_QUEUED: usize = 10_000;

/// The delay each frame gets: uniform in `[base - spread, base + spread]` (never below 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Jitter {
    /// Mean delay.
    pub base: Duration,
    /// Half-width of the uniform spread.
    pub spread: Duration,
}

impl Jitter {
    /// `base ± spread`.
    pub fn new(base: Duration, spread: Duration) -> Self {
        Jitter { base, spread }
    }

    /// The delay for a uniform sample `u` in [0, 1).
    pub fn delay(&self, u: f64) -> Duration {
        let lo = self.base.saturating_sub(self.spread);
        let hi = self.base + self.spread;
        lo + (hi - lo).mul_f64(u.clamp(0.0, 1.0))
    }
}

/// What a relay did so far (both directions).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RelayStats {
    /// Frames written out.
    pub forwarded: u64,
    /// Frames dropped (queue full or the write failed).
    pub dropped: u64,
    /// Mean measured hold (receive → write), microseconds.
    pub hold_mean_us: f64,
    /// Longest measured hold, microseconds.
    pub hold_max_us: u64,
}

#[derive(Default)]
struct Counters {
    forwarded: AtomicU64,
    dropped: AtomicU64,
    hold_sum_us: AtomicU64,
    hold_max_us: AtomicU64,
}

/// A frame waiting for its deadline (ordered by deadline, then arrival).
type Held = Reverse<(Instant, u64, Instant, Vec<u8>)>;

struct Queue {
    heap: Mutex<BinaryHeap<Held>>,
    ready: Condvar,
}

/// A running relay; dropping it stops its threads.
pub struct Relay {
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    threads: Vec<JoinHandle<()>>,
}

/// An AF_PACKET socket bound to one interface (all protocols, own transmissions ignored).
struct PacketSock {
    fd: OwnedFd,
}

/// `PACKET_IGNORE_OUTGOING` (Linux 4.20+, `linux/if_packet.h`).
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;

impl PacketSock {
    /// Opens the socket in the calling thread's namespace.
    fn open(ifname: &str) -> std::io::Result<PacketSock> {
        let ifindex = nix::net::if_::if_nametoindex(ifname).map_err(std::io::Error::from)?;
        let proto = (libc::ETH_P_ALL as u16).to_be();
        // SAFETY: socket(2) with constant arguments; the result is checked before use and owned
        // by an OwnedFd at once.
        #[allow(unsafe_code)]
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, i32::from(proto)) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor nothing else owns.
        #[allow(unsafe_code)]
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let tv = libc::timeval {
            tv_sec: 0,
            tv_usec: 5_000,
        };
        let one: libc::c_int = 1;
        // SAFETY: a zeroed sockaddr_ll is a valid value of that plain C struct.
        #[allow(unsafe_code)]
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = proto;
        sll.sll_ifindex = ifindex as i32;
        // SAFETY: setsockopt(2) and bind(2) on an fd we own, with pointers to live values of the
        // sizes passed.
        #[allow(unsafe_code)]
        let rc = unsafe {
            let raw = fd.as_raw_fd();
            libc::setsockopt(
                raw,
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as u32,
            ) | libc::setsockopt(
                raw,
                libc::SOL_PACKET,
                PACKET_IGNORE_OUTGOING,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as u32,
            ) | libc::bind(
                raw,
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if rc < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(PacketSock { fd })
    }

    /// One frame (Ethernet header included), or `None` after the receive timeout.
    fn recv(&self, buf: &mut [u8]) -> Option<usize> {
        // SAFETY: recv(2) into a buffer of the length passed, on an fd we own.
        #[allow(unsafe_code)]
        let n = unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        (n > 0).then_some(n as usize)
    }

    /// Writes one frame out of the bound interface.
    fn send(&self, frame: &[u8]) -> bool {
        // SAFETY: send(2) of a buffer of the length passed, on an fd we own.
        #[allow(unsafe_code)]
        let n = unsafe { libc::send(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
        n == frame.len() as isize
    }
}

/// A xorshift64* generator: uniform enough for delays, seeded per direction.
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn io_err(what: &str) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        what: what.to_string(),
        source,
    }
}

impl Relay {
    /// Starts relaying between interfaces `a` and `b` of namespace `netns` with `jitter`, for
    /// at most `max`.
    pub(crate) fn start(
        netns: &str,
        a: &str,
        b: &str,
        jitter: Jitter,
        max: Duration,
    ) -> Result<Relay> {
        let (a, b) = (a.to_string(), b.to_string());
        let (sa, sb) = crate::enter::run_in_netns(netns, move || -> std::io::Result<_> {
            Ok((
                Arc::new(PacketSock::open(&a)?),
                Arc::new(PacketSock::open(&b)?),
            ))
        })?
        .map_err(io_err("open the relay's packet sockets"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(Counters::default());
        let end = Instant::now() + max;
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ u64::from(std::process::id());
        let mut threads = Vec::new();
        for (i, (from, to)) in [(sa.clone(), sb.clone()), (sb, sa)].into_iter().enumerate() {
            let q = Arc::new(Queue {
                heap: Mutex::new(BinaryHeap::new()),
                ready: Condvar::new(),
            });
            let (st, c, q2) = (stop.clone(), counters.clone(), q.clone());
            let rng =
                Rng((seed.wrapping_add(i as u64 + 1)).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
            threads.push(spawn(format!("relay-rx{i}"), move || {
                read_loop(&from, &q, jitter, rng, &st, end, &c)
            })?);
            let (st, c) = (stop.clone(), counters.clone());
            threads.push(spawn(format!("relay-tx{i}"), move || {
                write_loop(&to, &q2, &st, end, &c)
            })?);
        }
        Ok(Relay {
            stop,
            counters,
            threads,
        })
    }

    /// What the relay did so far.
    pub fn stats(&self) -> RelayStats {
        let c = &self.counters;
        let forwarded = c.forwarded.load(Ordering::Relaxed);
        RelayStats {
            forwarded,
            dropped: c.dropped.load(Ordering::Relaxed),
            hold_mean_us: c.hold_sum_us.load(Ordering::Relaxed) as f64 / forwarded.max(1) as f64,
            hold_max_us: c.hold_max_us.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn spawn(name: String, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name)
        .spawn(f)
        .map_err(io_err("spawn a relay thread"))
}

fn running(stop: &AtomicBool, end: Instant) -> bool {
    !stop.load(Ordering::Relaxed) && Instant::now() < end
}

fn read_loop(
    from: &PacketSock,
    q: &Queue,
    jitter: Jitter,
    mut rng: Rng,
    stop: &AtomicBool,
    end: Instant,
    c: &Counters,
) {
    let mut buf = vec![0u8; 65_536];
    let mut seq = 0u64;
    while running(stop, end) {
        let Some(n) = from.recv(&mut buf) else {
            continue;
        };
        let now = Instant::now();
        let due = now + jitter.delay(rng.unit());
        let mut heap = q.heap.lock().unwrap_or_else(|p| p.into_inner());
        if heap.len() >= MAX_QUEUED {
            c.dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        seq += 1;
        heap.push(Reverse((due, seq, now, buf[..n].to_vec())));
        drop(heap);
        q.ready.notify_one();
    }
}

fn write_loop(to: &PacketSock, q: &Queue, stop: &AtomicBool, end: Instant, c: &Counters) {
    let mut heap = q.heap.lock().unwrap_or_else(|p| p.into_inner());
    while running(stop, end) {
        let wait = match heap.peek() {
            None => Duration::from_millis(10),
            Some(Reverse((due, ..))) => due.saturating_duration_since(Instant::now()),
        };
        if !wait.is_zero() {
            heap = match q.ready.wait_timeout(heap, wait) {
                Ok((h, _)) => h,
                Err(p) => p.into_inner().0,
            };
            continue;
        }
        let Some(Reverse((_, _, got, frame))) = heap.pop() else {
            continue;
        };
        drop(heap);
        if to.send(&frame) {
            let hold = got.elapsed().as_micros() as u64;
            c.forwarded.fetch_add(1, Ordering::Relaxed);
            c.hold_sum_us.fetch_add(hold, Ordering::Relaxed);
            c.hold_max_us.fetch_max(hold, Ordering::Relaxed);
        } else {
            c.dropped.fetch_add(1, Ordering::Relaxed);
        }
        heap = q.heap.lock().unwrap_or_else(|p| p.into_inner());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_are_uniform_in_the_window() {
        let j = Jitter::new(Duration::from_millis(5), Duration::from_millis(5));
        assert_eq!(j.delay(0.0), Duration::ZERO);
        assert_eq!(j.delay(1.0), Duration::from_millis(10));
        assert_eq!(j.delay(0.5), Duration::from_millis(5));
        let mut r = Rng(0x1234_5678_9abc_def1);
        let n = 20_000;
        let xs: Vec<f64> = (0..n).map(|_| r.unit()).collect();
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = xs.iter().sum::<f64>() / n as f64;
        assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
        let low = xs.iter().filter(|x| **x < 0.1).count() as f64 / n as f64;
        assert!((low - 0.1).abs() < 0.01, "P(x < 0.1) = {low}");
    }
}
