//! Captures VRRP adverts (IP protocol 112) arriving at a lab host from one source, with
//! monotonic timestamps: an AF_PACKET socket inside the host's namespace, read by a thread.
//! It lets takeover be measured from the master's last advert, independent of the advert phase
//! at the moment of the fault.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use netlab::{Host, NetnsThread};

/// A running capture.
pub struct AdvertCapture {
    stop: Arc<AtomicBool>,
    /// Arrival of the latest advert so far.
    last: Arc<Mutex<Option<Instant>>>,
    thread: Option<NetnsThread<std::io::Result<Vec<Instant>>>>,
}

/// Is `ip` (an IPv4 packet) a VRRP packet from `src`?
pub fn is_advert_from(ip: &[u8], src: Ipv4Addr) -> bool {
    ip.len() >= 20 && ip[0] >> 4 == 4 && ip[9] == 112 && ip[12..16] == src.octets()
}

fn capture(
    ifname: &str,
    src: Ipv4Addr,
    stop: &AtomicBool,
    last: &Mutex<Option<Instant>>,
    max: Duration,
) -> std::io::Result<Vec<Instant>> {
    let ifindex = nix::net::if_::if_nametoindex(ifname).map_err(std::io::Error::from)?;
    // SAFETY: socket(2), setsockopt(2), bind(2), recv(2) and close(2) with correctly sized
    // arguments; the fd is closed on every path below.
    #[allow(unsafe_code)]
    unsafe {
        let proto = (libc::ETH_P_IP as u16).to_be();
        let fd = libc::socket(libc::AF_PACKET, libc::SOCK_DGRAM, i32::from(proto));
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let tv = libc::timeval {
            tv_sec: 0,
            tv_usec: 10_000,
        };
        let mut sll: libc::sockaddr_ll = std::mem::zeroed();
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = proto;
        sll.sll_ifindex = ifindex as i32;
        if libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as u32,
        ) < 0
            || libc::bind(
                fd,
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            ) < 0
        {
            let e = std::io::Error::last_os_error();
            libc::close(fd);
            return Err(e);
        }
        let t0 = Instant::now();
        let mut seen = Vec::new();
        let mut buf = [0u8; 2048];
        while !stop.load(Ordering::Relaxed) && t0.elapsed() < max {
            let n = libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0);
            let at = Instant::now();
            if n > 0 && is_advert_from(&buf[..n as usize], src) {
                seen.push(at);
                if let Ok(mut l) = last.lock() {
                    *l = Some(at);
                }
            }
        }
        libc::close(fd);
        Ok(seen)
    }
}

impl AdvertCapture {
    /// Starts capturing on `host`'s interface adverts from `src`, for at most `max`.
    pub fn start(host: &Host, src: Ipv4Addr, max: Duration) -> anyhow::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let last = Arc::new(Mutex::new(None));
        let seen = last.clone();
        let ifname = host.ifname().to_string();
        let thread = host.spawn_thread(move || capture(&ifname, src, &flag, &seen, max))?;
        Ok(AdvertCapture {
            stop,
            last,
            thread: Some(thread),
        })
    }

    /// Waits (at most `timeout`) for an advert arriving after `since`; returns its arrival.
    /// Lets a trial strike at the same phase of the advert interval for every daemon.
    pub fn wait_next(&self, since: Instant, timeout: Duration) -> Option<Instant> {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            let last = self.last.lock().ok().and_then(|t| *t);
            if let Some(t) = last.filter(|t| *t > since) {
                return Some(t);
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        None
    }

    /// Stops and returns the arrival times.
    pub fn finish(mut self) -> anyhow::Result<Vec<Instant>> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take() {
            Some(t) => Ok(t.join()??),
            None => Ok(Vec::new()),
        }
    }
}

impl Drop for AdvertCapture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The last arrival at or before `until`.
pub fn last_before(arrivals: &[Instant], until: Instant) -> Option<Instant> {
    arrivals.iter().copied().filter(|t| *t <= until).max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_vrrp_from_the_source() {
        let mut p = vec![0u8; 28];
        p[0] = 0x45;
        p[9] = 112;
        p[12..16].copy_from_slice(&[192, 0, 2, 10]);
        assert!(is_advert_from(&p, Ipv4Addr::new(192, 0, 2, 10)));
        assert!(!is_advert_from(&p, Ipv4Addr::new(192, 0, 2, 11)));
        p[9] = 6;
        assert!(!is_advert_from(&p, Ipv4Addr::new(192, 0, 2, 10)));
        assert!(!is_advert_from(&p[..10], Ipv4Addr::new(192, 0, 2, 10)));
    }
}
