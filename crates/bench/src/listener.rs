//! The load balancer stand-in: a TCP listener on 0.0.0.0:PORT inside a lab host.
//!
//! Like nginx or haproxy it keeps an accepted connection open until the client closes it (real
//! load balancers wait tens of seconds for a request or a TLS ClientHello before giving up on
//! an idle connection), discarding whatever the client sends. Killing it closes the listening
//! socket *and* every accepted connection, as the death of the load balancer process does: new
//! connections get RST, open ones see FIN. (An earlier version closed each connection right
//! after accepting it, which no real load balancer does, and so hid the worker's `watch` probe,
//! which learns of the death from its held connection.)

use std::io::{ErrorKind, Read};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use netlab::Host;

/// At most this many accepted connections are kept open (the oldest is closed first).
const MAX_OPEN: usize = 1024;

/// Reads and discards what the client sent; false once it closed (or the socket failed).
fn still_open(conn: &mut TcpStream) -> bool {
    let mut buf = [0u8; 512];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => return false,
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return false,
        }
    }
}

/// A running listener; dropping it kills it.
pub struct Listener {
    stop: Arc<AtomicBool>,
    /// When a connection from loopback (the local daemon's health check) was last accepted.
    last_local: Arc<Mutex<Option<Instant>>>,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    /// Binds 0.0.0.0:`port` in `host`'s namespace and starts accepting.
    pub fn start(host: &Host, port: u16) -> anyhow::Result<Self> {
        let sock = host
            .run_in(move || TcpListener::bind(("0.0.0.0", port)))?
            .with_context(|| format!("bind 0.0.0.0:{port} in {}", host.netns()))?;
        sock.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let last_local = Arc::new(Mutex::new(None));
        let seen = last_local.clone();
        let thread = std::thread::Builder::new()
            .name(format!("lb-{}", host.name()))
            .spawn(move || {
                let mut open: Vec<TcpStream> = Vec::new();
                // Bounded by the stop flag, which `kill`/drop always set.
                while !flag.load(Ordering::Relaxed) {
                    match sock.accept() {
                        Ok((conn, peer)) if conn.set_nonblocking(true).is_ok() => {
                            if peer.ip().is_loopback() {
                                if let Ok(mut t) = seen.lock() {
                                    *t = Some(Instant::now());
                                }
                            }
                            if open.len() >= MAX_OPEN {
                                open.remove(0);
                            }
                            open.push(conn);
                        }
                        Ok(_) => {}
                        Err(_) => std::thread::sleep(Duration::from_millis(1)),
                    }
                    open.retain_mut(still_open);
                }
                drop(open);
                drop(sock);
            })?;
        Ok(Listener {
            stop,
            last_local,
            thread: Some(thread),
        })
    }

    /// Waits (at most `timeout`) for the local daemon's health check to connect after `since`;
    /// returns when it did. Lets a trial strike at the same phase of the check's period for
    /// every daemon, instead of at a random one.
    pub fn wait_local_probe(&self, since: Instant, timeout: Duration) -> Option<Instant> {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            let last = self.last_local.lock().ok().and_then(|t| *t);
            if let Some(t) = last.filter(|t| *t > since) {
                return Some(t);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        None
    }

    /// Closes the listening socket; returns once it is closed.
    pub fn kill(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.kill();
    }
}
