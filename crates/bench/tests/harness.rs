//! The harness measures something sane: one quick trial per scenario with vrrpd on the shared
//! configuration (a), and every configuration is accepted by the daemon that runs it.
//! Root required (skipped otherwise). vrrpd: `$BENCH_VRRPD`, else built in release mode.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use bench::configs::{self, ConfigKind};
use bench::daemon::{DaemonKind, KEEPALIVED};
use bench::trial::{run_trial, Cell, Scenario, Timing, TrialResult};

/// Trials share 2 CPUs with everything else: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn vrrpd() -> Option<PathBuf> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    BIN.get_or_init(|| {
        if netlab::skip_unless_root() {
            return None;
        }
        match std::env::var_os("BENCH_VRRPD") {
            Some(p) => Some(PathBuf::from(p)),
            None => Some(bench::build_vrrpd().expect("build vrrpd")),
        }
    })
    .clone()
}

fn trial(scenario: Scenario) -> Option<TrialResult> {
    let bin = vrrpd()?;
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let cell = Cell {
        config: ConfigKind::Same,
        scenario,
        daemon: DaemonKind::Vrrpd,
        rep: 0,
    };
    let r = run_trial(&cell, 1, &Timing::default(), &bin);
    // Trials are serial and this one has returned: none of our labs may be left.
    let me = std::process::id();
    let left: Vec<String> = netlab::list_netns()
        .unwrap()
        .into_iter()
        .filter(|n| netlab::creator_pid(n) == Some(me))
        .collect();
    assert!(left.is_empty(), "namespaces left: {left:?}");
    eprintln!("{scenario:?}: {r:?}");
    assert!(r.ok(), "trial failed: {:?}", r.error);
    assert!(r.attempts > 50, "the client barely ran: {r:?}");
    let takeover = r.takeover_ms.expect("the backup took the VIP");
    assert!(takeover > 0.0 && takeover < 3000.0, "{r:?}");
    Some(r)
}

#[test]
fn link_down_breaks_the_client_until_the_backup_takes_over() {
    let Some(r) = trial(Scenario::LinkDown) else {
        return;
    };
    assert!(r.outage_ms > 0.0 && !r.outage_open, "{r:?}");
    // No adverts: the backup waits for its Master_Down_Interval (3 × 30 ms + skew).
    assert!(r.takeover_ms.unwrap() > 80.0, "{r:?}");
}

#[test]
fn sigkill_is_detected_by_missing_adverts() {
    let Some(r) = trial(Scenario::Sigkill) else {
        return;
    };
    // The killed daemon leaves its VIP behind (the machine is up), so the client may see no gap;
    // the backup still needs the Master_Down_Interval to notice.
    assert!(r.takeover_ms.unwrap() > 80.0, "{r:?}");
    assert_eq!(
        r.release_ms, None,
        "a SIGKILLed daemon cannot remove its VIP: {r:?}"
    );
}

#[test]
fn sigterm_hands_the_vip_over() {
    let Some(r) = trial(Scenario::Sigterm) else {
        return;
    };
    assert!(
        r.release_ms.is_some(),
        "the stopped master kept the VIP: {r:?}"
    );
    assert!(!r.outage_open, "{r:?}");
}

#[test]
fn lb_death_fails_over_through_the_check() {
    let Some(r) = trial(Scenario::LbDeath) else {
        return;
    };
    // Connections are refused from the moment the listener dies until the VIP moves.
    assert!(r.outage_ms > 0.0 && !r.outage_open, "{r:?}");
    assert!(r.failures > 0, "{r:?}");
}

#[test]
fn machine_gone_is_a_silent_loss_of_everything() {
    let Some(r) = trial(Scenario::MachineGone) else {
        return;
    };
    // Nothing said goodbye (no priority-0 advert): Master_Down_Interval, and the client is
    // cut off until the backup announces the VIP.
    assert!(r.takeover_ms.unwrap() > 80.0, "{r:?}");
    assert!(r.outage_ms > 0.0 && !r.outage_open, "{r:?}");
    // The interface went with the machine, and the VIP with it.
    assert!(r.release_ms.is_some(), "{r:?}");
}

#[test]
fn a_paused_master_is_replaced_and_takes_the_vip_back() {
    let Some(r) = trial(Scenario::Sigstop) else {
        return;
    };
    assert!(
        r.takeover_ms.unwrap() < 1000.0,
        "no takeover in the pause: {r:?}"
    );
    assert!(r.outage_ms > 0.0, "{r:?}");
    // At resume the higher priority wins: the backup drops the VIP again.
    assert!(r.resume_moves.unwrap() >= 1, "{r:?}");
    assert_eq!(r.resume_holder.as_deref(), Some("lb0"), "{r:?}");
}

/// The jitter stress case: real delay reaches the worker (its measured advert gap excess), and
/// a healthy pair at 30 ms rides 5 ms ± 5 ms out.
#[test]
fn jitter_stress_delays_adverts_without_a_failover() {
    let Some(bin) = vrrpd() else {
        return;
    };
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let r = bench::stress::run_case(
        bench::stress::StressCase::Jitter,
        DaemonKind::Vrrpd,
        true,
        &bin,
    );
    eprintln!("{r:?}");
    assert!(r.error.is_none(), "{r:?}");
    assert!(
        r.detail.contains("relay:") && r.detail.contains(" 0 dropped"),
        "{r:?}"
    );
    let excess = r
        .gap_excess_max_us
        .expect("vrrpd's timing in its state file");
    assert!(excess >= 3_000, "no jitter reached the backup: {r:?}");
    assert!(r.clean(), "{r:?}");
}

#[test]
fn every_configuration_is_accepted_by_its_daemon() {
    let Some(bin) = vrrpd() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let addr = bench::topo::lb_addr(0);
    let mut old_charm_case = usize::MAX;
    let mut cases = vec![
        (DaemonKind::Vrrpd, configs::same(0, "eth0")),
        (
            DaemonKind::Vrrpd,
            configs::same_with(0, "eth0", Some(configs::rt_priority())),
        ),
        (
            DaemonKind::Vrrpd,
            configs::our_charm(0, "eth0", addr).unwrap(),
        ),
        (DaemonKind::Vrrpd, configs::many(100, "eth0")),
    ];
    if std::path::Path::new(KEEPALIVED).exists() {
        cases.push((DaemonKind::Keepalived, configs::same(1, "eth0")));
        cases.push((
            DaemonKind::Keepalived,
            configs::same_with(1, "eth0", Some(configs::rt_priority())),
        ));
        cases.push((DaemonKind::Keepalived, configs::old_charm(0, "eth0")));
        old_charm_case = cases.len() - 1;
        cases.push((DaemonKind::Keepalived, configs::many(100, "eth0")));
    }
    for (i, (d, conf)) in cases.into_iter().enumerate() {
        let p = dir.path().join(format!("c{i}.conf"));
        std::fs::write(&p, &conf).unwrap();
        let out = match d {
            DaemonKind::Vrrpd => std::process::Command::new(&bin)
                .arg("--check-config")
                .arg(&p)
                .output(),
            DaemonKind::Keepalived => std::process::Command::new(KEEPALIVED)
                .arg("-t")
                .arg("-f")
                .arg(&p)
                .output(),
        }
        .unwrap();
        // The old charm's template has no script_user: keepalived -t exits 6 for that warning
        // alone, and keepalived runs the script as root anyway.
        let stderr = String::from_utf8_lossy(&out.stderr);
        let only_security_warning = out.status.code() == Some(6)
            && stderr
                .lines()
                .all(|l| l.trim().is_empty() || l.starts_with("SECURITY VIOLATION"));
        assert!(
            out.status.success() || (i == old_charm_case && only_security_warning),
            "{d:?} rejects:\n{conf}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
