//! Issue 11's conflict statuses, with the real packed charm and worker (root; skipped when
//! `target/charm/keepalived.charm` or keepalived is missing): another cluster's keepalived on
//! the same segment and the same `router_id` (23, the default) with another VIP, and a host
//! squatting on our VIP with gratuitous ARPs and ARP replies from its own MAC. Each runs in a
//! model of its own (a worker keeps every conflict it saw and the status names the first one),
//! one model at a time. The intruders are extra hosts of the simulator (namespaces on its
//! bridge, 192.0.2.77 and .78), removed with the model. The periodic update-status is turned
//! off once the model is ready, so only the charm's status refresh can bring a conflict into
//! `juju status` (vrrpd rewrites its transitions file when a conflict from a new source or of
//! a new kind is recorded). Neither intruder may move our VIP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{sole_holder, unit_on};
use jujusim::demo::{holders, VIP};
use netlab::Signal;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(120);
/// How long the VIP must stay put after the status shows the conflict.
const STABLE: Duration = Duration::from_secs(5);
/// The other cluster's host and VIP.
const OTHER_HOST: &str = "192.0.2.77";
const OTHER_VIP: &str = "192.0.2.251";
/// The squatter's own address.
const SQUATTER_CIDR: &str = "192.0.2.78/24";
/// keepalived as Debian installs it.
const KEEPALIVED: &str = "/usr/sbin/keepalived";

/// Two models at once would compete for the machine's cores and the bridge's names.
static ONE_MODEL: Mutex<()> = Mutex::new(());

/// A process started in a simulator host's namespace; stopped (TERM, then KILL, bounded) on
/// drop, also when the test fails. `extra_pids` are killed too (keepalived's VRRP child).
struct Intruder {
    child: Child,
    extra_pids: Vec<PathBuf>,
    log: PathBuf,
}

impl Intruder {
    fn spawn(ns: &str, program: &str, args: &[&str], log: &Path, extra_pids: Vec<PathBuf>) -> Self {
        let out = std::fs::File::create(log).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", ns, program])
            .args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        Intruder {
            child,
            extra_pids,
            log: log.to_path_buf(),
        }
    }

    fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Intruder {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        let _ = nix::sys::signal::kill(pid, Signal::SIGTERM);
        for _ in 0..50 {
            if !self.running() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        for p in &self.extra_pids {
            let pid = std::fs::read_to_string(p)
                .ok()
                .and_then(|s| s.trim().parse::<i32>().ok());
            if let Some(pid) = pid {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The model with the documented deployment, `VIP ready` on both units; the VIP holder's
/// machine and unit, the other unit.
fn deployed(sim: &jujusim::sim::Sim, charm: &Path) -> (String, String, String) {
    let m = common::deploy_ready(sim, charm);
    common::periodic_update_status_off(sim);
    let holder = sole_holder(sim, VIP);
    let u_holder = unit_on(&m, &holder);
    let u_other = m
        .units
        .values()
        .find(|u| u.app == "keepalived" && u.name != u_holder)
        .map(|u| u.name.clone())
        .unwrap();
    (holder, u_holder, u_other)
}

/// Waits (bounded by [`T`]) until each unit's status is `active` `want[unit]`, checking at
/// every poll that `holder` alone holds the VIP. Returns when each unit first showed it,
/// measured from `t0`.
fn wait_statuses(
    sim: &jujusim::sim::Sim,
    holder: &str,
    want: &BTreeMap<String, String>,
    t0: Instant,
    intruder: &mut Intruder,
) -> BTreeMap<String, Duration> {
    let mut seen: BTreeMap<String, Duration> = BTreeMap::new();
    let res = sim.wait_for("the conflict in every unit's status", T, |m| {
        let hold = holders(sim, VIP).unwrap();
        assert!(
            hold.len() == 1 && hold[0].0 == holder,
            "the VIP moved: {hold:?} (was on machine {holder})"
        );
        for (unit, msg) in want {
            let s = &m.units[unit].workload_status;
            if s.status == "active" && s.message == *msg {
                seen.entry(unit.clone()).or_insert_with(|| t0.elapsed());
            }
        }
        seen.len() == want.len()
    });
    if let Err(e) = res {
        panic!(
            "{e}: seen {seen:?}, wanted {want:?}\n{}\nintruder running: {}, output:\n{}",
            sim.status_text(Some("keepalived")).unwrap(),
            intruder.running(),
            intruder.output()
        );
    }
    seen
}

/// The VIP stays on `holder` alone for [`STABLE`], the statuses stay as they are.
fn assert_stable(sim: &jujusim::sim::Sim, holder: &str, want: &BTreeMap<String, String>) {
    let end = Instant::now() + STABLE;
    while Instant::now() < end {
        let hold = holders(sim, VIP).unwrap();
        assert!(
            hold.len() == 1 && hold[0].0 == holder,
            "the VIP moved: {hold:?} (was on machine {holder})"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let m = sim.model().unwrap();
    for (unit, msg) in want {
        assert!(
            common::status_is(&m, unit, "active", msg),
            "{unit}: {:?}",
            m.units[unit].workload_status
        );
    }
}

#[test]
fn another_cluster_on_our_router_id_shows_in_juju_status() {
    let _one = ONE_MODEL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(charm) = common::packed_charm() else {
        return;
    };
    if !Path::new(KEEPALIVED).exists() && netlab::skip(&format!("{KEEPALIVED} missing")) {
        return;
    }
    let Some(model) = common::Model::new() else {
        return;
    };
    let sim = &model.sim;
    let (holder, u_holder, u_other) = deployed(sim, &charm);
    let tmp = tempfile::tempdir().unwrap();
    let ns = sim
        .add_host("cluster2", &format!("{OTHER_HOST}/24"))
        .unwrap();

    // The other cluster: the charm's defaults as keepalived spells them (VRID 23, VRRPv3),
    // another VIP. It advertises every 50 ms, faster than our 100 ms: keepalived 2.2.7 re-arms
    // its advert timer on every advert it receives, so at an equal rate it would hardly send.
    let conf = tmp.path().join("keepalived.conf");
    std::fs::write(
        &conf,
        format!(
            "global_defs {{\n    router_id cluster2\n    vrrp_version 3\n}}\n\
             vrrp_instance cluster2 {{\n    state BACKUP\n    interface eth0\n    \
             virtual_router_id 23\n    priority 254\n    advert_int 0.05\n    \
             virtual_ipaddress {{\n        {OTHER_VIP}/24\n    }}\n}}\n"
        ),
    )
    .unwrap();
    let pid = |n: &str| tmp.path().join(n);
    let arg = |p: PathBuf| p.to_str().unwrap().to_string();
    let (p1, p2, p3) = (arg(pid("k.pid")), arg(pid("v.pid")), arg(pid("c.pid")));
    let t0 = Instant::now();
    let mut ka = Intruder::spawn(
        &ns,
        KEEPALIVED,
        &[
            "-P",
            "-n",
            "-l",
            "-D",
            "-f",
            conf.to_str().unwrap(),
            "-p",
            &p1,
            "-r",
            &p2,
            "-c",
            &p3,
        ],
        &tmp.path().join("keepalived.log"),
        vec![pid("v.pid")],
    );

    let note =
        format!("VRID 23 conflict: {OTHER_HOST} advertises other VIPs; pick another router_id");
    let want: BTreeMap<String, String> = [
        (u_holder.clone(), format!("VIP ready (MASTER); {note}")),
        (u_other.clone(), format!("VIP ready (BACKUP); {note}")),
    ]
    .into_iter()
    .collect();
    let seen = wait_statuses(sim, &holder, &want, t0, &mut ka);
    // It is a real second cluster: it holds its own VIP.
    assert!(
        jujusim::proof::holds(&ns, OTHER_VIP),
        "the other cluster's keepalived does not hold {OTHER_VIP}:\n{}",
        ka.output()
    );
    assert_stable(sim, &holder, &want);
    assert!(ka.running(), "keepalived exited:\n{}", ka.output());
    for (unit, t) in &seen {
        println!(
            "MEASURE other cluster's keepalived start to `juju status` of {unit}: {} ms",
            t.as_millis()
        );
    }
    println!("{}", sim.status_text(Some("keepalived")).unwrap());
}

/// Sends `count` ARP frames for `VIP` from eth0's own MAC, 500 ms apart: gratuitous ARP
/// requests and replies in turn (what a host configured with the address sends).
const SQUATTER_PY: &str = r#"
import socket, struct, sys, time
vip = socket.inet_aton(sys.argv[1])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
mac = s.getsockname()[4]
bc = b"\xff" * 6
for i in range(int(sys.argv[2])):
    op = 1 if i % 2 == 0 else 2
    tha = b"\x00" * 6 if op == 1 else bc
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, mac, vip, tha, vip)
    s.send(bc + mac + b"\x08\x06" + arp)
    print(i, mac.hex(":"), flush=True)
    time.sleep(0.5)
"#;

#[test]
fn a_host_squatting_on_the_vip_shows_in_juju_status() {
    let _one = ONE_MODEL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(charm) = common::packed_charm() else {
        return;
    };
    let Some(model) = common::Model::new() else {
        return;
    };
    let sim = &model.sim;
    let (holder, u_holder, u_other) = deployed(sim, &charm);
    let tmp = tempfile::tempdir().unwrap();
    let ns = sim.add_host("squatter", SQUATTER_CIDR).unwrap();

    let t0 = Instant::now();
    // Bounded: 240 frames, 2 minutes at most.
    let mut sq = Intruder::spawn(
        &ns,
        "python3",
        &["-c", SQUATTER_PY, VIP, "240"],
        &tmp.path().join("squatter.log"),
        Vec::new(),
    );
    let note = format!(
        "VRID 23 conflict: {VIP} is claimed (ARP/NA) by a host that does not hold it; \
         remove the address from that host"
    );
    let want: BTreeMap<String, String> = [
        (u_holder.clone(), format!("VIP ready (MASTER); {note}")),
        (u_other.clone(), format!("VIP ready (BACKUP); {note}")),
    ]
    .into_iter()
    .collect();
    let seen = wait_statuses(sim, &holder, &want, t0, &mut sq);
    assert_stable(sim, &holder, &want);
    assert!(sq.running(), "the squatter stopped early:\n{}", sq.output());
    for (unit, t) in &seen {
        println!(
            "MEASURE squatter's first ARP to `juju status` of {unit}: {} ms",
            t.as_millis()
        );
    }
    println!("{}", sim.status_text(Some("keepalived")).unwrap());
}
