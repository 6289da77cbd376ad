//! A host of a lab: a namespace with one interface plugged into the lab's bridge.

use std::future::Future;
use std::net::{IpAddr, Ipv6Addr};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cmd;
use crate::enter::{self, NetnsThread};
use crate::error::{Error, Result};
use crate::info::{self, AddrEntry, LinkEntry};
use crate::lab::{Shared, BRIDGE};
use crate::process::{Proc, Slot};

/// A host in a [`crate::Lab`]. Cheap to clone; all clones refer to the same namespace. A host
/// does not own cleanup: its lab does.
#[derive(Clone)]
pub struct Host {
    shared: Arc<Shared>,
    name: String,
    netns: String,
    ifname: String,
    port: String,
}

/// Is `addr` allowed in a lab (documentation ranges and link-local only)?
pub fn allowed_lab_addr(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => {
            let o = a.octets();
            (o[0], o[1], o[2]) == (192, 0, 2) || (o[0], o[1], o[2]) == (198, 51, 100)
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            s[0] == 0x2001 && s[1] == 0x0db8 || (s[0] & 0xffc0) == 0xfe80
        }
    }
}

fn parse_cidr(cidr: &str) -> Result<(IpAddr, u8)> {
    let (a, p) = cidr
        .split_once('/')
        .ok_or_else(|| Error::Invalid(format!("{cidr:?} is not ADDR/PREFIX")))?;
    let addr: IpAddr = a
        .parse()
        .map_err(|_| Error::Invalid(format!("bad address in {cidr:?}")))?;
    let prefix: u8 = p
        .parse()
        .map_err(|_| Error::Invalid(format!("bad prefix in {cidr:?}")))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if prefix > max {
        return Err(Error::Invalid(format!("prefix too long in {cidr:?}")));
    }
    if !allowed_lab_addr(addr) {
        return Err(Error::Invalid(format!(
            "{cidr}: labs use only 192.0.2.0/24, 198.51.100.0/24, 2001:db8::/32 and fe80::/10"
        )));
    }
    Ok((addr, prefix))
}

impl Host {
    pub(crate) fn new(
        shared: Arc<Shared>,
        name: String,
        netns: String,
        ifname: String,
        port: String,
    ) -> Self {
        Host {
            shared,
            name,
            netns,
            ifname,
            port,
        }
    }

    /// The host's short name (as given to `add_host`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The host's namespace name.
    pub fn netns(&self) -> &str {
        &self.netns
    }

    /// `/run/netns/<netns>`.
    pub fn netns_path(&self) -> PathBuf {
        enter::netns_path(&self.netns)
    }

    /// The host's interface name (`eth0` by default).
    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// The name of the host's port on the bridge (in the switch namespace).
    pub fn bridge_port(&self) -> &str {
        &self.port
    }

    /// Creates the veth (host end `ifname`, switch end the bridge port), enslaves and ups both.
    pub(crate) fn create_interface(&self) -> Result<()> {
        let sw = &self.shared.switch_ns;
        cmd::ip_in(
            sw,
            &[
                "link",
                "add",
                &self.port,
                "type",
                "veth",
                "peer",
                "name",
                &self.ifname,
                "netns",
                &self.netns,
            ],
        )?;
        cmd::ip_in(sw, &["link", "set", &self.port, "master", BRIDGE])?;
        cmd::ip_in(sw, &["link", "set", &self.port, "up"])?;
        self.ip(&["link", "set", &self.ifname, "up"])?;
        Ok(())
    }

    /// Deletes the host's interface (both veth ends go).
    pub fn delete_interface(&self) -> Result<()> {
        self.ip(&["link", "del", &self.ifname]).map(drop)
    }

    /// Deletes and re-creates the interface (same name, new ifindex, no addresses, up); returns
    /// the new ifindex.
    pub fn recreate_interface(&self) -> Result<u32> {
        self.delete_interface()?;
        self.create_interface()?;
        self.ifindex()
    }

    /// SIGKILLs every process in the host's namespace at once (`ip netns pids`), as a machine
    /// that vanished: nothing of it runs on to send a last frame. Threads of other processes
    /// that entered the namespace (a lab's watchers) are not processes of it and live on.
    /// Deleting the namespace would not do this: `ip netns del` only unmounts its name, and the
    /// namespace lives on, with its interfaces, while a process is in it.
    pub fn kill_all(&self) {
        crate::names::kill_all_in(&self.netns);
    }

    /// Sends `sig` to every process in the host's namespace (e.g. SIGSTOP / SIGCONT to pause
    /// and resume the whole machine); returns how many were signalled.
    pub fn signal_all(&self, sig: crate::Signal) -> usize {
        crate::names::signal_all_in(&self.netns, sig)
    }

    /// Lets the bridge forward frames from and to the host's port, or not (`bridge link set
    /// dev PORT state 3|0`: forwarding / disabled). Unlike [`Host::set_cable`] the host keeps
    /// its carrier and sees no link event: its frames just go nowhere, as a paused VM's.
    pub fn set_forwarding(&self, on: bool) -> Result<()> {
        cmd::run(
            "bridge",
            &[
                "-n",
                &self.shared.switch_ns,
                "link",
                "set",
                "dev",
                &self.port,
                "state",
                if on { "3" } else { "0" },
            ],
        )
        .map(drop)
    }

    /// Runs `ip -n <netns> args…` and returns stdout.
    pub fn ip(&self, args: &[&str]) -> Result<String> {
        cmd::ip_in(&self.netns, args)
    }

    /// Adds `cidr` (e.g. `192.0.2.1/24`, `2001:db8::1/64`) to the interface.
    pub fn add_addr(&self, cidr: &str) -> Result<()> {
        parse_cidr(cidr)?;
        self.ip(&["addr", "add", cidr, "dev", &self.ifname])
            .map(drop)
    }

    /// Adds an IPv6 `cidr` with `nodad` (usable at once, never tentative).
    pub fn add_addr_nodad(&self, cidr: &str) -> Result<()> {
        parse_cidr(cidr)?;
        self.ip(&["addr", "add", cidr, "dev", &self.ifname, "nodad"])
            .map(drop)
    }

    /// Removes `cidr` from the interface.
    pub fn del_addr(&self, cidr: &str) -> Result<()> {
        parse_cidr(cidr)?;
        self.ip(&["addr", "del", cidr, "dev", &self.ifname])
            .map(drop)
    }

    /// Sets the host side of the link administratively up or down.
    pub fn set_link(&self, up: bool) -> Result<()> {
        self.ip(&["link", "set", &self.ifname, if up { "up" } else { "down" }])
            .map(drop)
    }

    /// Sets the bridge side up or down: a cable pull (the host side loses carrier, stays admin up).
    pub fn set_cable(&self, plugged: bool) -> Result<()> {
        cmd::ip_in(
            &self.shared.switch_ns,
            &[
                "link",
                "set",
                &self.port,
                if plugged { "up" } else { "down" },
            ],
        )
        .map(drop)
    }

    /// The interface's addresses (`ip -j addr show dev IF`).
    pub fn addrs(&self) -> Result<Vec<AddrEntry>> {
        let args = ["-j", "addr", "show", "dev", &self.ifname];
        let text = self.ip(&args)?;
        let c = cmd::render("ip", &args);
        info::parse_addrs(&c, &cmd::json(&c, &text)?)
    }

    /// The interface's link state (`ip -j link show dev IF`).
    pub fn link(&self) -> Result<LinkEntry> {
        let args = ["-j", "link", "show", "dev", &self.ifname];
        let text = self.ip(&args)?;
        let c = cmd::render("ip", &args);
        info::parse_link(&c, &cmd::json(&c, &text)?)
    }

    /// The interface's index.
    pub fn ifindex(&self) -> Result<u32> {
        Ok(self.link()?.ifindex)
    }

    /// The interface's MAC.
    pub fn mac(&self) -> Result<[u8; 6]> {
        Ok(self.link()?.mac)
    }

    /// Waits (bounded by `timeout`) until the interface has a non-tentative IPv6 link-local
    /// address and returns it.
    pub fn wait_link_local(&self, timeout: Duration) -> Result<Ipv6Addr> {
        let deadline = Instant::now() + timeout;
        loop {
            for a in self.addrs()? {
                if let IpAddr::V6(v6) = a.addr {
                    if (v6.segments()[0] & 0xffc0) == 0xfe80 && !a.tentative {
                        return Ok(v6);
                    }
                }
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    what: format!(
                        "a non-tentative link-local on {} in {}",
                        self.ifname, self.netns
                    ),
                    secs: timeout.as_secs_f64(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Writes `/proc/sys/<key with dots as slashes>` inside the namespace, e.g.
    /// `set_sysctl("net.ipv6.conf.eth0.accept_dad", "0")`.
    pub fn set_sysctl(&self, key: &str, value: &str) -> Result<()> {
        if key.contains("..") || key.contains('/') || !key.starts_with("net.") {
            return Err(Error::Invalid(format!(
                "sysctl key {key:?} (only net.* keys)"
            )));
        }
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        let value = value.to_string();
        self.run_in(move || {
            std::fs::write(&path, value).map_err(|source| Error::Io {
                what: format!("write {path}"),
                source,
            })
        })?
    }

    fn netns_command(&self, program: &str, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.netns, program]).args(args);
        c
    }

    /// Runs `program args…` inside the namespace (`ip netns exec`) and returns its output,
    /// whatever its exit status.
    pub fn exec(&self, program: &str, args: &[&str]) -> Result<Output> {
        let mut c = self.netns_command(program, args);
        c.stdin(Stdio::null());
        c.output().map_err(|source| Error::Spawn {
            cmd: cmd::render(program, args),
            source,
        })
    }

    /// Runs `program args…` inside the namespace; fails unless it exits 0; returns stdout.
    pub fn run(&self, program: &str, args: &[&str]) -> Result<String> {
        let out = self.exec(program, args)?;
        cmd::check(program, args, out)
    }

    /// Starts a long-running `program args…` inside the namespace, in its own process group, stdin
    /// from /dev/null, stdout and stderr to `<lab log dir>/<host>-<label>.{stdout,stderr}`.
    /// The returned guard stops it on drop; the lab stops it too if it outlives the guard.
    pub fn spawn(&self, label: &str, program: &str, args: &[&str]) -> Result<Proc> {
        use std::os::unix::process::CommandExt;
        crate::names::check_part("process label", label)?;
        let base = self.shared.log_dir.join(format!("{}-{label}", self.name));
        let out_path = base.with_extension("stdout");
        let err_path = base.with_extension("stderr");
        let open = |p: &PathBuf| {
            std::fs::File::create(p).map_err(|source| Error::Io {
                what: format!("create {}", p.display()),
                source,
            })
        };
        let mut c = self.netns_command(program, args);
        c.stdin(Stdio::null())
            .stdout(open(&out_path)?)
            .stderr(open(&err_path)?)
            .process_group(0);
        let child = c.spawn().map_err(|source| Error::Spawn {
            cmd: cmd::render(program, args),
            source,
        })?;
        let slot = Arc::new(Slot::new(
            format!("{}:{label}", self.name),
            child,
            out_path,
            err_path,
        ));
        self.shared.register_proc(slot.clone());
        Ok(Proc { slot })
    }

    /// Runs `f` on a thread inside this host's namespace and returns its result.
    pub fn run_in<F, R>(&self, f: F) -> Result<R>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        enter::run_in_netns(&self.netns, f)
    }

    /// Runs the future made by `f` on a current-thread tokio runtime on a thread inside this
    /// host's namespace.
    pub fn block_on<F, Fut, R>(&self, f: F) -> Result<R>
    where
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = R>,
        R: Send,
    {
        enter::block_on_in_netns(&self.netns, f)
    }

    /// Starts `f` on a detached thread inside this host's namespace.
    pub fn spawn_thread<F, R>(&self, f: F) -> Result<NetnsThread<R>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        enter::spawn_in_netns(&self.netns, f)
    }

    /// Starts the future made by `f` on a current-thread tokio runtime on a detached thread inside
    /// this host's namespace.
    pub fn spawn_async<F, Fut, R>(&self, f: F) -> Result<NetnsThread<R>>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = R>,
        R: Send + 'static,
    {
        enter::spawn_async_in_netns(&self.netns, f)
    }
}
