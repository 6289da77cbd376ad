//! Issue 11's statuses for real faults, with the real packed charm and worker (root; skipped
//! when `target/charm/keepalived.charm` is missing): the holder's load balancer killed, every
//! load balancer down, the holder's link cut. Statuses follow through update-status (every 3 s
//! here) and the peer relation. The simulator's load balancer charm restarts a stopped
//! listener in its next hook (as a real charm would), so a killed LB is kept down by a
//! [`KeepDown`] loop for as long as the test needs it dead.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{app_is, status_is, unit_on};
use jujusim::demo::{self, holders, VIP};
use jujusim::proto::Request;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const T: Duration = Duration::from_secs(120);

fn lb(sim: &jujusim::sim::Sim, machine: &str, verb: &str) {
    let args = vec![verb.to_string(), "kubeapi-lb".to_string()];
    let req = Request::Systemctl {
        machine: machine.to_string(),
        args,
    };
    let v = sim.call(&req, Duration::from_secs(60)).unwrap();
    assert_eq!(
        v["code"], 0,
        "systemctl {verb} kubeapi-lb on {machine}: {v}"
    );
}

/// Stops `kubeapi-lb` on a machine every 100 ms until dropped (an LB that keeps dying).
struct KeepDown {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl KeepDown {
    fn new(sim: &jujusim::sim::Sim, machine: &str) -> KeepDown {
        lb(sim, machine, "stop");
        let stop = Arc::new(AtomicBool::new(false));
        let (sim, machine, flag) = (sim.clone(), machine.to_string(), stop.clone());
        let thread = std::thread::spawn(move || {
            // Bounded: at most 10 minutes, whatever the test does.
            for _ in 0..6000 {
                if flag.load(Ordering::SeqCst) {
                    return;
                }
                let req = Request::Systemctl {
                    machine: machine.clone(),
                    args: vec!["stop".into(), "kubeapi-lb".into()],
                };
                let _ = sim.call(&req, Duration::from_secs(10));
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        KeepDown {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for KeepDown {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn lb_killed_all_lbs_down_and_link_cut_show_in_juju_status() {
    let Some(charm) = common::packed_charm() else {
        return;
    };
    let Some(model) = common::Model::new() else {
        return;
    };
    let sim = &model.sim;
    let m = common::deploy_ready(sim, &charm);
    let hold = holders(sim, VIP).unwrap();
    let [(first, _)] = hold.as_slice() else {
        panic!("one holder expected: {hold:?}")
    };
    let first = first.clone();
    let ids: Vec<String> = sim.hosts().unwrap().machines.keys().cloned().collect();
    let other = ids
        .iter()
        .find(|id| {
            **id != first
                && m.units
                    .values()
                    .any(|u| u.app == "keepalived" && u.machine == **id)
        })
        .unwrap()
        .clone();
    let (u_first, u_other) = (unit_on(&m, &first), unit_on(&m, &other));

    // The holder's load balancer dies: its unit waits and names the new holder.
    let first_down = KeepDown::new(sim, &first);
    let want = format!("LB not answering on 127.0.0.1:443; VIP on {u_other}");
    let app = format!("VIP {VIP} on {u_other} (1 of 2 units ready)");
    sim.wait_for(
        "the LB-less unit to wait and the app to name the holder",
        T,
        |m| status_is(m, &u_first, "waiting", &want) && app_is(m, "active", &app),
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", sim.status_text(Some("keepalived")).unwrap()));
    println!("{}", sim.status_text(Some("keepalived")).unwrap());

    // Every load balancer down: nobody can hold the VIP.
    let other_down = KeepDown::new(sim, &other);
    let m = sim
        .wait_for("the application to be blocked", T, |m| {
            m.apps["keepalived"].status.status == "blocked"
        })
        .unwrap_or_else(|e| panic!("{e}\n{}", sim.status_text(Some("keepalived")).unwrap()));
    let msg = &m.apps["keepalived"].status.message;
    assert!(
        msg.starts_with(&format!("no unit holds VIP {VIP}: keepalived/"))
            && msg.ends_with(": LB not answering on 127.0.0.1:443"),
        "{msg}"
    );
    println!("{}", sim.status_text(Some("keepalived")).unwrap());

    // Both back; then the holder's cable is pulled.
    drop((first_down, other_down));
    lb(sim, &first, "start");
    lb(sim, &other, "start");
    // Ready (`VIP ready (BACKUP)` counts) can come before the election ends: both units leave
    // FAULT as backups and one takes the VIP a Master_Down interval later. Wait for both.
    sim.wait_for("both units ready and one holder", T, |m| {
        demo::vip_ready(m, "keepalived", 2) && holders(sim, VIP).is_ok_and(|h| h.len() == 1)
    })
    .unwrap();
    let hold = holders(sim, VIP).unwrap();
    let [(holder, _)] = hold.as_slice() else {
        panic!("one holder expected: {hold:?}")
    };
    let holder = holder.clone();
    let (u_holder, u_backup) = if holder == first {
        (u_first.clone(), u_other.clone())
    } else {
        (u_other.clone(), u_first.clone())
    };
    sim.set_link(&holder, false).unwrap();
    let want = format!("link down on eth0; VIP on {u_backup}");
    let res = sim.wait_for("the cut unit to wait", T, |m| {
        status_is(m, &u_holder, "waiting", &want)
    });
    let text = sim.status_text(Some("keepalived")).unwrap();
    sim.set_link(&holder, true).unwrap();
    res.unwrap_or_else(|e| panic!("{e}\n{text}"));
    println!("{text}");
}
