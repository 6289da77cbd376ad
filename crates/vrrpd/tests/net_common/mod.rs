//! Helpers shared by the `net_*` kernel tests (need root; everything runs in netlab labs).
#![allow(dead_code)]

use std::io::Read;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use netlab::{Host, Lab, NetnsThread};
use socket2::{Domain, Protocol, Socket, Type};

/// Generous bound for anything that should happen "at once".
pub const WAIT: Duration = Duration::from_secs(5);
/// How long we listen to conclude that something did *not* arrive.
pub const QUIET: Duration = Duration::from_millis(400);

/// A lab with hosts `a` (192.0.2.1/24) and `b` (192.0.2.2/24).
pub fn lab_ab(tag: &str) -> (Lab, Host, Host) {
    let lab = Lab::new(tag).expect("create lab (are we root?)");
    let a = lab.add_host("a").expect("host a");
    let b = lab.add_host("b").expect("host b");
    a.add_addr("192.0.2.1/24").expect("addr a");
    b.add_addr("192.0.2.2/24").expect("addr b");
    (lab, a, b)
}

/// Starts an AF_PACKET capture of every frame on `host`'s namespace, waits until it is open,
/// and returns a handle whose `join` gives the first frames (up to `max`) that match `keep`
/// within `window`.
pub fn capture(
    host: &Host,
    window: Duration,
    max: usize,
    keep: impl Fn(&[u8]) -> bool + Send + 'static,
) -> NetnsThread<Vec<Vec<u8>>> {
    let (ready_tx, ready_rx) = mpsc::channel();
    let t = host
        .spawn_thread(move || {
            let proto = i32::from((libc::ETH_P_ALL as u16).to_be());
            let mut s = Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(proto)))
                .expect("AF_PACKET socket");
            s.set_read_timeout(Some(Duration::from_millis(50)))
                .expect("timeout");
            let _ = ready_tx.send(());
            let deadline = Instant::now() + window;
            let mut frames = Vec::new();
            let mut buf = vec![0u8; 2048];
            while Instant::now() < deadline && frames.len() < max {
                if let Ok(n) = s.read(&mut buf) {
                    if keep(&buf[..n]) {
                        frames.push(buf[..n].to_vec());
                    }
                }
            }
            frames
        })
        .expect("capture thread");
    ready_rx.recv_timeout(WAIT).expect("capture ready");
    t
}

/// Formats a MAC for `ip neigh`.
pub fn mac_str(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}
