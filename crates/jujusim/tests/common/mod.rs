//! Shared helpers of the simulator's root tests: a model in a temp dir whose controller is
//! destroyed (namespaces and processes included) when the guard drops, also on failure.
#![allow(dead_code)]

use jujusim::layout::ModelDir;
use jujusim::sim::Sim;
use std::path::PathBuf;

/// A simulated model that is destroyed on drop.
pub struct Model {
    pub sim: Sim,
    _dir: tempfile::TempDir,
}

impl Model {
    /// A fresh model with a short update-status interval, or `None` (test skipped) without root.
    pub fn new() -> Option<Model> {
        Model::create(None)
    }

    /// Like [`Model::new`], with real-systemd machines whose root file system is cached in
    /// `systemd` (see `Sim::use_systemd_machines`) when given.
    pub fn create(systemd: Option<&std::path::Path>) -> Option<Model> {
        if netlab::skip_unless_root() {
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("jsim")
            .tempdir_in("/tmp")
            .unwrap();
        // The controller reads the interval when it starts (it inherits our environment).
        std::env::set_var(jujusim::controller::UPDATE_STATUS_ENV, "3");
        let sim = Sim::new(ModelDir::new(dir.path()), env!("CARGO_BIN_EXE_juju"));
        if let Some(cache) = systemd {
            sim.use_systemd_machines(cache).unwrap();
        }
        sim.bootstrap().unwrap();
        Some(Model { sim, _dir: dir })
    }

    /// The controller log (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.sim.md.controller_log()).unwrap_or_default()
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        let stem = self
            .sim
            .hosts()
            .ok()
            .map(|h| h.switch.trim_end_matches("-sw").to_string());
        if std::thread::panicking() {
            eprintln!("--- controller log ---\n{}", self.log());
        }
        self.sim.destroy().unwrap();
        if let Some(stem) = stem.filter(|s| !s.is_empty()) {
            let left: Vec<String> = netlab::list_netns()
                .unwrap()
                .into_iter()
                .filter(|n| n.starts_with(&format!("{stem}-")))
                .collect();
            assert!(left.is_empty(), "namespaces left behind: {left:?}");
        }
    }
}

/// The packed charm: `$KEEPALIVED_CHARM`, else `<workspace>/target/charm/keepalived.charm`.
pub fn packed_charm() -> Option<PathBuf> {
    let p = std::env::var_os("KEEPALIVED_CHARM")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/charm/keepalived.charm")
        });
    if p.is_file() {
        Some(p)
    } else {
        netlab::skip(&format!("{} missing (run `cargo xtask pack`)", p.display()));
        None
    }
}

/// The pid of service `name` on `machine` as the controller supervises it, if it runs.
pub fn service_pid(sim: &Sim, machine: &str, name: &str) -> Option<i32> {
    let v = sim
        .call(
            &jujusim::proto::Request::Services,
            std::time::Duration::from_secs(5),
        )
        .unwrap();
    v.as_array()?
        .iter()
        .find(|s| s["machine"] == machine && s["name"] == name)?["pid"]
        .as_i64()
        .and_then(|p| i32::try_from(p).ok())
}

/// The keepalived unit on machine `id`.
pub fn unit_on(m: &juju_emu::Model, id: &str) -> String {
    m.units
        .values()
        .find(|u| u.app == "keepalived" && u.machine == id)
        .map(|u| u.name.clone())
        .unwrap()
}

/// Whether `unit`'s workload status is exactly `level` `msg`.
pub fn status_is(m: &juju_emu::Model, unit: &str, level: &str, msg: &str) -> bool {
    let s = &m.units[unit].workload_status;
    s.status == level && s.message == msg
}

/// Whether the keepalived application's status is exactly `level` `msg`.
pub fn app_is(m: &juju_emu::Model, level: &str, msg: &str) -> bool {
    let s = &m.apps["keepalived"].status;
    s.status == level && s.message == msg
}

/// The one machine whose eth0 holds `ip` (panics unless exactly one does).
pub fn sole_holder(sim: &Sim, ip: &str) -> String {
    let hold = jujusim::demo::holders(sim, ip).unwrap();
    let [(id, _)] = hold.as_slice() else {
        panic!("one holder of {ip} expected: {hold:?}")
    };
    id.clone()
}

/// The documented deployment (`demo::deploy_seed`) with the charm at `charm`, asserted `VIP
/// ready` on both keepalived units; returns the model as it then stands.
pub fn deploy_ready(sim: &Sim, charm: &std::path::Path) -> juju_emu::Model {
    let m = jujusim::demo::deploy_seed(sim, charm, &jujusim::demo::Narrator::new(true)).unwrap();
    assert!(jujusim::demo::vip_ready(&m, "keepalived", 2));
    m
}

/// Turns the periodic update-status off and waits until the model is idle: from then on only
/// the charm's own status refresh (`juju-exec … hooks/update-status`) can move a status.
pub fn periodic_update_status_off(sim: &Sim) {
    sim.call(
        &jujusim::proto::Request::UpdateStatusInterval { ms: 0 },
        std::time::Duration::from_secs(5),
    )
    .unwrap();
    sim.wait_idle(std::time::Duration::from_secs(60)).unwrap();
}
