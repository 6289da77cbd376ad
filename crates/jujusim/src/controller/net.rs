//! The lab: one namespace per model machine (host `m<id>`, `eth0` with the machine's address and
//! a default route), extra hosts (clients), cables, and teardown.

use super::services::MachineCtx;
use super::Shared;
use crate::error::{Error, Result};
use crate::layout::ModelDir;
use netlab::nspawn::{Container, ContainerSpec};
use netlab::{Host, Lab};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

/// The gateway address each machine's default route points at (the charm picks the interface
/// of the default route). Nothing answers there; nothing needs to.
pub const GATEWAY: &str = "192.0.2.1";

/// The lab and what lives in it.
pub(crate) struct Net {
    lab: Mutex<Option<Lab>>,
    stem: String,
    machines: Mutex<BTreeMap<String, Host>>,
    hosts: Mutex<BTreeMap<String, Host>>,
    gone: Mutex<BTreeSet<String>>,
    /// Real-systemd machines: the root file system they boot from (`None`: plain namespaces).
    rootfs: Option<PathBuf>,
    /// The containers of real-systemd machines, by machine id.
    containers: Mutex<BTreeMap<String, Container>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The IPv6 twin of an IPv4 lab address: `192.0.2.N/…` → `2001:db8::N/64` (documentation
/// ranges both), so every machine and host is dual-stack on the one segment.
pub fn ipv6_twin(cidr: &str) -> Option<String> {
    let addr: std::net::Ipv4Addr = cidr.split('/').next()?.parse().ok()?;
    Some(format!("2001:db8::{}/64", addr.octets()[3]))
}

fn prefix_len(cidr: &str) -> &str {
    cidr.split_once('/').map(|(_, p)| p).unwrap_or("24")
}

impl Net {
    /// Creates the lab (this also sweeps stale netlab namespaces of dead processes).
    pub fn new(md: &ModelDir) -> Result<Net> {
        let rootfs = std::fs::read_to_string(md.systemd_rootfs_file())
            .ok()
            .map(|t| PathBuf::from(t.trim()));
        let lab = Lab::new("jujusim")?;
        Ok(Net {
            rootfs,
            containers: Mutex::new(BTreeMap::new()),
            stem: lab.stem().to_string(),
            lab: Mutex::new(Some(lab)),
            machines: Mutex::new(BTreeMap::new()),
            hosts: Mutex::new(BTreeMap::new()),
            gone: Mutex::new(BTreeSet::new()),
        })
    }

    /// The lab's namespace-name stem.
    pub fn stem(&self) -> &str {
        &self.stem
    }

    fn add(&self, name: &str, cidr: &str) -> Result<Host> {
        let lab = lock(&self.lab);
        let lab = lab
            .as_ref()
            .ok_or_else(|| Error::Controller("shutting down".into()))?;
        let h = lab.add_host(name)?;
        h.add_addr(cidr)?;
        if let Some(v6) = ipv6_twin(cidr) {
            h.add_addr_nodad(&v6)?;
        }
        h.ip(&["route", "add", "default", "via", GATEWAY, "dev", "eth0"])?;
        Ok(h)
    }

    /// Adds a non-machine host (e.g. a client).
    pub fn add_host(&self, name: &str, cidr: &str) -> Result<String> {
        if name.starts_with('m') && name[1..].bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::Invalid(format!(
                "host name {name:?} is reserved for machines"
            )));
        }
        let h = self.add(name, cidr)?;
        let ns = h.netns().to_string();
        lock(&self.hosts).insert(name.to_string(), h);
        Ok(ns)
    }

    /// The host behind a machine id or host name.
    pub fn host(&self, target: &str) -> Option<Host> {
        let m = lock(&self.machines).get(target).cloned();
        m.or_else(|| lock(&self.hosts).get(target).cloned())
    }

    /// The namespace of machine `id`.
    pub fn machine_ns(&self, id: &str) -> Option<String> {
        lock(&self.machines).get(id).map(|h| h.netns().to_string())
    }

    /// `{machines: {id: ns}, hosts: {name: ns}, switch: ns}`.
    pub fn listing(&self) -> serde_json::Value {
        let m: BTreeMap<String, String> = lock(&self.machines)
            .iter()
            .map(|(k, h)| (k.clone(), h.netns().to_string()))
            .collect();
        let h: BTreeMap<String, String> = lock(&self.hosts)
            .iter()
            .map(|(k, h)| (k.clone(), h.netns().to_string()))
            .collect();
        let sw = lock(&self.lab)
            .as_ref()
            .map(|l| l.switch_netns().to_string())
            .unwrap_or_default();
        serde_json::json!({"machines": m, "hosts": h, "switch": sw})
    }

    /// Deletes every namespace and kills every process in them (the lab's drop does both).
    pub fn shutdown(&self) {
        // Containers first: they use the machines' namespaces.
        lock(&self.containers).clear();
        lock(&self.machines).clear();
        lock(&self.hosts).clear();
        drop(lock(&self.lab).take());
    }
}

/// The supervisor's view of machine `id`.
/// Reboots machine `id` if it is a real-systemd container (`systemctl reboot` inside, then the
/// same tree boots again): `None` for a plain-namespace machine, whose services the shim reboots.
pub(crate) fn reboot_container(
    shared: &Shared,
    id: &str,
) -> Option<Result<netlab::nspawn::Timing>> {
    let mut containers = lock(&shared.net.containers);
    let c = containers.get_mut(id)?;
    Some(c.reboot().map_err(Into::into))
}

pub(crate) fn machine_ctx(shared: &Shared, id: &str) -> Option<MachineCtx> {
    let ns = shared.net.machine_ns(id)?;
    Some(MachineCtx {
        id: id.to_string(),
        ns,
        root: shared.md.machine_root(id),
        log: shared.md.machine_log(id),
    })
}

fn write_shim(shared: &Shared, id: &str) -> Result<()> {
    let bin = shared.md.machine_bin(id);
    for d in [
        bin.clone(),
        shared.md.machine_root(id),
        shared.md.machine_log(id),
    ] {
        std::fs::create_dir_all(&d).map_err(|e| Error::io(&d, e))?;
    }
    let script = format!(
        "#!/bin/sh\n# The simulator's systemctl for machine {id}: asks the controller.\nexec '{}' --model-dir '{}' sim-systemctl {id} \"$@\"\n",
        shared.exe.display(),
        shared.md.root().display()
    );
    let p = bin.join("systemctl");
    Ok(atomicfile::write_with(
        &p,
        script.as_bytes(),
        &crate::charmpkg::EXECUTABLE,
    )?)
}

fn kill_all_in(ns: &str) {
    let Ok(o) = std::process::Command::new("ip")
        .args(["netns", "pids", ns])
        .output()
    else {
        return;
    };
    for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
        if let Ok(p) = pid.parse::<i32>() {
            if p > 1 && p as u32 != std::process::id() {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(p),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}

/// Boots machine `id` as a real-systemd container on `host`'s namespace (the model directory
/// and the `juju` executable bind-mounted at their paths, so hooks, hook tools and simulator
/// services work inside) and records its init's pid for the hook runner.
fn boot_container(shared: &Shared, id: &str, rootfs: &std::path::Path, host: &Host) -> Result<()> {
    let (c, t) = Container::boot(ContainerSpec {
        name: format!("m{id}"),
        rootfs: rootfs.to_path_buf(),
        netns: host.netns().to_string(),
        state_dir: shared.md.machine_container(id),
        binds: vec![shared.md.root().to_path_buf(), shared.exe.clone()],
    })?;
    crate::charmpkg::write_atomic(
        &shared.md.machine_leader(id),
        c.leader().to_string().as_bytes(),
    )?;
    eprintln!(
        "controller: machine {id} runs systemd 252 in container m{id} (init pid {}, booted in {} ms)",
        c.leader(),
        t.boot.as_millis()
    );
    lock(&shared.net.containers).insert(id.to_string(), c);
    Ok(())
}

/// Creates namespaces for new machines (and starts their hook threads), tears down machines
/// that left the model.
pub(crate) fn sync_machines(shared: &Arc<Shared>) -> Result<()> {
    let model = shared.juju()?.model()?;
    let known: BTreeSet<String> = lock(&shared.net.machines).keys().cloned().collect();
    let gone = lock(&shared.net.gone).clone();
    for (id, m) in &model.machines {
        if known.contains(id) || gone.contains(id) {
            continue;
        }
        let cidr = format!("{}/{}", m.address, prefix_len(&m.cidr));
        let host = shared.net.add(&format!("m{id}"), &cidr)?;
        write_shim(shared, id)?;
        eprintln!(
            "controller: machine {id} is namespace {} ({cidr})",
            host.netns()
        );
        if let Some(rootfs) = &shared.net.rootfs {
            if let Err(e) = boot_container(shared, id, rootfs, &host) {
                eprintln!("controller: machine {id}: {e}");
                let _ = host.delete_interface();
                kill_all_in(host.netns());
                lock(&shared.net.gone).insert(id.clone());
                continue;
            }
        }
        let ns = host.netns().to_string();
        lock(&shared.net.machines).insert(id.clone(), host);
        let (s, id2) = (shared.clone(), id.clone());
        std::thread::spawn(move || super::scheduler::machine_thread(s, id2, ns));
        shared.kick();
    }
    for id in known {
        if model.machines.contains_key(&id) {
            continue;
        }
        eprintln!("controller: machine {id} left the model; removing it");
        shared.services.stop_machine(&id, true);
        drop(lock(&shared.net.containers).remove(&id));
        let _ = std::fs::remove_file(shared.md.machine_leader(&id));
        if let Some(h) = lock(&shared.net.machines).remove(&id) {
            let _ = h.delete_interface();
            kill_all_in(h.netns());
        }
        lock(&shared.net.gone).insert(id);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::ipv6_twin;

    #[test]
    fn every_ipv4_lab_address_has_an_ipv6_twin() {
        assert_eq!(
            ipv6_twin("192.0.2.10/24").as_deref(),
            Some("2001:db8::10/64")
        );
        assert_eq!(
            ipv6_twin("192.0.2.200").as_deref(),
            Some("2001:db8::200/64")
        );
        assert_eq!(ipv6_twin("2001:db8::1/64"), None);
        assert_eq!(ipv6_twin("junk"), None);
    }
}
