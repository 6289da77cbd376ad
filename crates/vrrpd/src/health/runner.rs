//! The per-check task: run at the interval, debounce, report changes.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{interval_at, Instant, MissedTickBehavior};
use tracing::{info, warn};

use super::{run_once, CheckEvent, CheckSpec, Hysteresis};

/// Spawn the task for check `id`; it reports to `tx` and ends when `tx` is closed or the
/// handle is aborted. A check started with `init_fail` reports "down" at once.
pub fn spawn(id: usize, spec: CheckSpec, tx: mpsc::Sender<CheckEvent>) -> JoinHandle<()> {
    if let super::CheckKind::Tcp { addr, watch: true } = spec.kind {
        return tokio::spawn(super::watch::run(id, addr, spec, tx));
    }
    tokio::spawn(async move {
        let mut h = Hysteresis::new(spec.rise, spec.fall, spec.init_fail);
        if let Some(up) = h.state() {
            if tx.send(CheckEvent { id, up }).await.is_err() {
                return;
            }
        }
        let period = spec.interval.max(Duration::from_millis(1));
        let mut ticks = interval_at(Instant::now(), period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_reason: Option<String> = None;
        loop {
            ticks.tick().await;
            let result = run_once(&spec.kind, spec.timeout).await;
            let ok = result.is_ok();
            if let Err(reason) = &result {
                if last_reason.as_ref() != Some(reason) {
                    warn!(check = %spec.name, %reason, "health check failed");
                }
                last_reason = Some(reason.clone());
            } else {
                last_reason = None;
            }
            if let Some(up) = h.observe(ok) {
                info!(check = %spec.name, up, "health check state");
                if tx.send(CheckEvent { id, up }).await.is_err() {
                    return;
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::CheckKind;

    #[tokio::test]
    async fn reports_down_then_up_with_fall_and_rise() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let spec = CheckSpec {
            name: "port".into(),
            kind: CheckKind::Tcp { addr, watch: false },
            interval: Duration::from_millis(20),
            timeout: Duration::from_millis(200),
            rise: 2,
            fall: 2,
            init_fail: false,
        };
        let (tx, mut rx) = mpsc::channel(8);
        let task = spawn(7, spec, tx);
        let first = tokio::time::timeout(Duration::from_secs(2), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first, CheckEvent { id: 7, up: true });
        drop(l);
        let down = tokio::time::timeout(Duration::from_secs(2), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(down, CheckEvent { id: 7, up: false });
        let _l2 = std::net::TcpListener::bind(addr).unwrap();
        let up = tokio::time::timeout(Duration::from_secs(2), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(up, CheckEvent { id: 7, up: true });
        task.abort();
    }
}
