//! `tcp_connect IP PORT watch`: a TCP check that notices a dying listener within milliseconds.
//!
//! Besides the periodic connect at `interval` (which catches a process that hangs but still
//! listens), the task holds one idle connection to the port. When the peer closes or resets
//! it (the kernel does so at once when the process dies), the task re-probes immediately: a
//! refused or timed-out reconnect is a failed result at once, independent of `interval`; a
//! successful one (an idle timeout, a reload, another worker process) becomes the new held
//! connection. Results pass through the same rise/fall hysteresis as periodic ones.
//!
//! A peer that closes connections right after accepting them would make this spin, so a held
//! connection that lived less than [`MIN_HOLD`] is re-probed once but not re-held until the
//! next periodic tick.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{interval_at, Instant, MissedTickBehavior};
use tracing::{debug, info, warn};

use super::{tcp, CheckEvent, CheckSpec, Hysteresis};

/// A held connection closed sooner than this is not replaced before the next tick.
pub const MIN_HOLD: Duration = Duration::from_millis(500);

/// What woke the task.
enum Wake {
    Tick,
    Closed(String),
}

/// Wait until the peer closes or resets `s` (data it sends is read and discarded).
async fn closed(s: &mut TcpStream) -> String {
    let mut buf = [0u8; 256];
    loop {
        match s.read(&mut buf).await {
            Ok(0) => return "closed by peer".to_string(),
            Ok(_) => continue,
            Err(e) => return e.to_string(),
        }
    }
}

/// The task body of a watched TCP check `id`; ends when `tx` is closed or it is aborted.
pub async fn run(id: usize, addr: SocketAddr, spec: CheckSpec, tx: mpsc::Sender<CheckEvent>) {
    let mut h = Hysteresis::new(spec.rise, spec.fall, spec.init_fail);
    if let Some(up) = h.state() {
        if tx.send(CheckEvent { id, up }).await.is_err() {
            return;
        }
    }
    let period = spec.interval.max(Duration::from_millis(1));
    let mut ticks = interval_at(Instant::now(), period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut held: Option<(TcpStream, Instant)> = None;
    let mut last_reason: Option<String> = None;
    loop {
        let wake = match held.as_mut() {
            Some((s, _)) => tokio::select! {
                _ = ticks.tick() => Wake::Tick,
                why = closed(s) => Wake::Closed(why),
            },
            None => {
                ticks.tick().await;
                Wake::Tick
            }
        };
        let rehold = match wake {
            Wake::Tick => true,
            Wake::Closed(why) => {
                let lived = held.take().map(|(_, since)| since.elapsed());
                debug!(check = %spec.name, %why, ?lived, "watched connection ended; re-probing");
                lived.is_some_and(|l| l >= MIN_HOLD)
            }
        };
        let result = tcp::connect(addr, spec.timeout).await;
        let ok = result.is_ok();
        match result {
            Ok(stream) => {
                last_reason = None;
                if rehold && held.is_none() {
                    held = Some((stream, Instant::now()));
                }
            }
            Err(reason) => {
                held = None;
                if last_reason.as_ref() != Some(&reason) {
                    warn!(check = %spec.name, %reason, "health check failed");
                }
                last_reason = Some(reason);
            }
        }
        if let Some(up) = h.observe(ok) {
            info!(check = %spec.name, up, "health check state");
            if tx.send(CheckEvent { id, up }).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::CheckKind;
    use std::time::Instant as StdInstant;

    /// Run `f` on a runtime inside a fresh lab namespace (traffic never leaves it); `None`
    /// when not root.
    fn in_lab<F, Fut>(tag: &str, f: F) -> Option<()>
    where
        F: FnOnce() -> Fut + Send,
        Fut: std::future::Future<Output = ()>,
    {
        if netlab::skip_unless_root() {
            return None;
        }
        let lab = netlab::Lab::new(tag).unwrap();
        let host = lab.add_host("h").unwrap();
        host.block_on(f).unwrap();
        Some(())
    }

    fn spec(addr: SocketAddr, interval: Duration) -> CheckSpec {
        CheckSpec {
            name: "lb".into(),
            kind: CheckKind::Tcp { addr, watch: true },
            interval,
            timeout: Duration::from_millis(500),
            rise: 1,
            fall: 1,
            init_fail: false,
        }
    }

    /// The listener and the connections it accepted go away (as when the process dies): the
    /// check reports down long before the next periodic tick.
    #[test]
    fn listener_death_is_noticed_without_waiting_for_the_interval() {
        in_lab("watchdie", || async {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            let server = tokio::spawn(async move {
                let mut conns = Vec::new();
                while let Ok((s, _)) = l.accept().await {
                    conns.push(s);
                }
            });
            let (tx, mut rx) = mpsc::channel(8);
            let task = tokio::spawn(run(3, addr, spec(addr, Duration::from_secs(30)), tx));
            let first = tokio::time::timeout(Duration::from_secs(2), rx.recv()).await;
            assert_eq!(first.unwrap(), Some(CheckEvent { id: 3, up: true }));
            // Let the held connection age past MIN_HOLD, then "kill the process".
            tokio::time::sleep(MIN_HOLD + Duration::from_millis(100)).await;
            let t0 = StdInstant::now();
            server.abort();
            let down = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
            assert_eq!(down.unwrap(), Some(CheckEvent { id: 3, up: false }));
            let took = t0.elapsed();
            eprintln!("MEASURE watch: listener gone -> check down in {took:?}");
            assert!(took < Duration::from_secs(2), "{took:?}");
            task.abort();
        });
    }

    /// A peer closing the held connection while still listening (idle timeout, reload) is no
    /// failure: the re-probe succeeds and nothing is reported.
    #[test]
    fn idle_close_by_a_live_listener_is_not_a_failure() {
        in_lab("watchidle", || async {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let n = accepted.clone();
            let server = tokio::spawn(async move {
                while let Ok((s, _)) = l.accept().await {
                    n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    // Close every connection after a while, like an idle timeout.
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(600)).await;
                        drop(s);
                    });
                }
            });
            let (tx, mut rx) = mpsc::channel(8);
            let task = tokio::spawn(run(4, addr, spec(addr, Duration::from_secs(30)), tx));
            let first = tokio::time::timeout(Duration::from_secs(2), rx.recv()).await;
            assert_eq!(first.unwrap(), Some(CheckEvent { id: 4, up: true }));
            let quiet = tokio::time::timeout(Duration::from_millis(2000), rx.recv()).await;
            assert!(quiet.is_err(), "unexpected event {quiet:?}");
            // Re-probes happened (and were held again): more than the first connection.
            assert!(accepted.load(std::sync::atomic::Ordering::SeqCst) >= 3);
            server.abort();
            task.abort();
        });
    }
}
