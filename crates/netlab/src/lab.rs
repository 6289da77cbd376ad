//! A lab: a switch namespace with a bridge, and hosts plugged into it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::cmd;
use crate::error::{Error, Result};
use crate::host::Host;
use crate::names;
use crate::process::{Slot, TERM_GRACE};
use crate::relay::{Jitter, Relay};

/// Name of the bridge inside the switch namespace.
pub const BRIDGE: &str = "br0";

/// State shared by a [`Lab`] and its [`Host`]s.
pub(crate) struct Shared {
    pub(crate) stem: String,
    pub(crate) switch_ns: String,
    pub(crate) log_dir: PathBuf,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Every namespace created, in creation order (switch first).
    namespaces: Vec<String>,
    /// Host names in use.
    hosts: Vec<String>,
    /// Bridge port counter.
    ports: u32,
    /// Every process spawned.
    procs: Vec<Arc<Slot>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn register_proc(&self, slot: Arc<Slot>) {
        self.lock().procs.push(slot);
    }

    /// Reserves a host name and returns (namespace name, bridge port name).
    pub(crate) fn reserve_host(&self, name: &str) -> Result<(String, String)> {
        let mut inner = self.lock();
        if inner.hosts.iter().any(|h| h == name) {
            return Err(Error::Invalid(format!(
                "host {name:?} already exists in lab {}",
                self.stem
            )));
        }
        inner.hosts.push(name.to_string());
        inner.ports += 1;
        let port: String = format!("p{}{}", inner.ports, name)
            .chars()
            .take(15)
            .collect();
        Ok((format!("{}-{name}", self.stem), port))
    }

    /// Creates a namespace and records it for cleanup.
    pub(crate) fn add_netns(&self, netns: &str) -> Result<()> {
        cmd::ip(&["netns", "add", netns])?;
        self.lock().namespaces.push(netns.to_string());
        cmd::ip_in(netns, &["link", "set", "lo", "up"])?;
        Ok(())
    }
}

/// A throwaway network lab. Dropping it (also during a panic) stops every process it spawned and
/// deletes every namespace it created. Not `Clone`: the `Lab` value owns the cleanup.
pub struct Lab {
    shared: Arc<Shared>,
}

impl Lab {
    /// Creates a lab: checks root, sweeps stale labs of dead processes ([`names::sweep_stale`]),
    /// then creates the switch namespace `nl<pid>x<n>-<tag>-sw` holding bridge [`BRIDGE`] (STP off,
    /// forward delay 0, multicast snooping off, IPv6 off in the switch namespace so the switch
    /// itself sends nothing). `tag`: 1–24 characters of `[a-z0-9_]`.
    pub fn new(tag: &str) -> Result<Lab> {
        names::require_root()?;
        names::check_part("lab tag", tag)?;
        names::sweep_stale()?;
        let stem = names::new_lab_stem(tag);
        let log_dir = std::env::temp_dir().join("netlab").join(&stem);
        std::fs::create_dir_all(&log_dir).map_err(|source| Error::Io {
            what: format!("create {}", log_dir.display()),
            source,
        })?;
        let shared = Arc::new(Shared {
            switch_ns: format!("{stem}-sw"),
            stem,
            log_dir,
            inner: Mutex::new(Inner::default()),
        });
        // From here on, Drop cleans up whatever was created if a later step fails.
        let lab = Lab { shared };
        let sw = lab.shared.switch_ns.clone();
        lab.shared.add_netns(&sw)?;
        crate::enter::run_in_netns(&sw, disable_ipv6)??;
        cmd::ip_in(
            &sw,
            &[
                "link",
                "add",
                BRIDGE,
                "type",
                "bridge",
                "stp_state",
                "0",
                "forward_delay",
                "0",
                "mcast_snooping",
                "0",
            ],
        )?;
        cmd::ip_in(&sw, &["link", "set", BRIDGE, "up"])?;
        Ok(lab)
    }

    /// Adds a host whose interface is called `eth0`; see [`Lab::add_host_with`].
    pub fn add_host(&self, name: &str) -> Result<Host> {
        self.add_host_with(name, "eth0")
    }

    /// Adds a host: namespace `<stem>-<name>` with `lo` up and a veth whose end `ifname` is in the
    /// host (up) and whose other end is a port of the bridge in the switch namespace (up). Nothing
    /// is ever created in the root namespace. `name`: 1–24 characters of `[a-z0-9_]`.
    pub fn add_host_with(&self, name: &str, ifname: &str) -> Result<Host> {
        names::check_part("host name", name)?;
        check_ifname(ifname)?;
        let (netns, port) = self.shared.reserve_host(name)?;
        self.shared.add_netns(&netns)?;
        let host = Host::new(
            self.shared.clone(),
            name.to_string(),
            netns,
            ifname.to_string(),
            port,
        );
        host.create_interface()?;
        Ok(host)
    }

    /// Adds a host like [`Lab::add_host_with`], but behind a delay relay (no `sch_netem` on this
    /// kernel): the bridge port's peer and a second veth whose peer is the host's `ifname` live
    /// in a relay namespace `<stem>-<name>_rl`, and every frame between the host and the bridge
    /// is held for `jitter` in both directions ([`crate::relay`]) for at most `max`. The host
    /// works like any other ([`Host::set_cable`] pulls the bridge side) except that
    /// [`Host::recreate_interface`] is not supported. Drop the [`Relay`] to stop relaying.
    pub fn add_relayed_host(
        &self,
        name: &str,
        ifname: &str,
        jitter: Jitter,
        max: Duration,
    ) -> Result<(Host, Relay)> {
        names::check_part("host name", name)?;
        check_ifname(ifname)?;
        let (relay_ns, _) = self.shared.reserve_host(&format!("{name}_rl"))?;
        let (netns, port) = self.shared.reserve_host(name)?;
        self.shared.add_netns(&relay_ns)?;
        self.shared.add_netns(&netns)?;
        crate::enter::run_in_netns(&relay_ns, disable_ipv6)??;
        let sw = &self.shared.switch_ns;
        cmd::ip_in(
            sw,
            &[
                "link", "add", &port, "type", "veth", "peer", "name", "r0", "netns", &relay_ns,
            ],
        )?;
        cmd::ip_in(sw, &["link", "set", &port, "master", BRIDGE])?;
        cmd::ip_in(sw, &["link", "set", &port, "up"])?;
        cmd::ip_in(
            &relay_ns,
            &[
                "link", "add", "r1", "type", "veth", "peer", "name", ifname, "netns", &netns,
            ],
        )?;
        for end in ["r0", "r1"] {
            cmd::ip_in(&relay_ns, &["link", "set", end, "promisc", "on", "up"])?;
        }
        cmd::ip_in(&netns, &["link", "set", ifname, "up"])?;
        let relay = Relay::start(&relay_ns, "r0", "r1", jitter, max)?;
        let host = Host::new(
            self.shared.clone(),
            name.to_string(),
            netns,
            ifname.to_string(),
            port,
        );
        Ok((host, relay))
    }

    /// The name stem of all this lab's namespaces (`nl<pid>x<n>-<tag>`).
    pub fn stem(&self) -> &str {
        &self.shared.stem
    }

    /// The switch namespace (holds the bridge).
    pub fn switch_netns(&self) -> &str {
        &self.shared.switch_ns
    }

    /// All namespaces created so far.
    pub fn namespaces(&self) -> Vec<String> {
        self.shared.lock().namespaces.clone()
    }

    /// Directory holding spawned processes' stdout/stderr files. Kept after drop when the lab is
    /// dropped during a panic (or `NETLAB_KEEP_LOGS` is set), removed otherwise.
    pub fn log_dir(&self) -> &Path {
        &self.shared.log_dir
    }

    /// Runs `ip -n <switch> args…` (e.g. to inspect the bridge).
    pub fn switch_ip(&self, args: &[&str]) -> Result<String> {
        cmd::ip_in(&self.shared.switch_ns, args)
    }
}

/// Turns IPv6 off in the calling thread's namespace (so a switch or relay sends nothing itself).
fn disable_ipv6() -> Result<()> {
    for key in ["all", "default"] {
        let path = format!("/proc/sys/net/ipv6/conf/{key}/disable_ipv6");
        std::fs::write(&path, "1").map_err(|source| Error::Io {
            what: format!("write {path}"),
            source,
        })?;
    }
    Ok(())
}

impl Drop for Lab {
    fn drop(&mut self) {
        let (procs, namespaces) = {
            let mut inner = self.shared.lock();
            (
                std::mem::take(&mut inner.procs),
                std::mem::take(&mut inner.namespaces),
            )
        };
        // SIGTERM everyone first, then one shared bounded wait, then SIGKILL + reap.
        for p in &procs {
            p.send_term();
        }
        let deadline = Instant::now() + TERM_GRACE;
        for p in &procs {
            p.finish(deadline);
        }
        // Hosts first (deleting a host namespace also removes its veth and the bridge port).
        for ns in namespaces.iter().rev() {
            names::kill_all_in(ns);
            if let Err(e) = cmd::ip(&["netns", "del", ns]) {
                eprintln!("netlab: cannot delete namespace {ns}: {e}");
            }
        }
        let has_logs = std::fs::read_dir(&self.shared.log_dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(false);
        let keep = has_logs
            && (std::thread::panicking() || std::env::var_os("NETLAB_KEEP_LOGS").is_some());
        if keep {
            eprintln!(
                "netlab: logs of lab {} kept in {}",
                self.shared.stem,
                self.shared.log_dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.shared.log_dir);
        }
    }
}

/// A Linux interface name: 1–15 bytes, no `/` or space.
fn check_ifname(ifname: &str) -> Result<()> {
    if ifname.is_empty() || ifname.len() > 15 || ifname.contains(['/', ' ']) {
        return Err(Error::Invalid(format!("interface name {ifname:?}")));
    }
    Ok(())
}
