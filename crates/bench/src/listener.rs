//! The load balancer stand-in: a TCP listener on 0.0.0.0:PORT inside a lab host, accepting and
//! closing connections until killed. Killing it closes the listening socket, as the death of the
//! load balancer process would (new connections get RST).

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context;
use netlab::Host;

/// A running listener; dropping it kills it.
pub struct Listener {
    stop: Arc<AtomicBool>,
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
        let thread = std::thread::Builder::new()
            .name(format!("lb-{}", host.name()))
            .spawn(move || {
                // Bounded by the stop flag, which `kill`/drop always set.
                while !flag.load(Ordering::Relaxed) {
                    match sock.accept() {
                        Ok((conn, _)) => drop(conn),
                        Err(_) => std::thread::sleep(Duration::from_millis(1)),
                    }
                }
                drop(sock);
            })?;
        Ok(Listener {
            stop,
            thread: Some(thread),
        })
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
