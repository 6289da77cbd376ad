//! [`Sim`]: the operations behind the `juju` command, usable from tests and the demo. Model
//! changes go straight to the juju-emu store in the model directory; the controller is told to
//! look (kick) and asked for what only it knows (namespaces, services, idleness).

use crate::error::{Error, Result};
use crate::layout::ModelDir;
use crate::proto::{self, Request};
use juju_emu::{ActionResult, Juju, Model, ModelInfo, RunnerOptions};
use serde_json::Value;
use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long the CLI waits for a fresh controller to answer.
const START_WAIT: Duration = Duration::from_secs(20);

/// Namespaces known to the controller.
#[derive(Debug, Clone, Default)]
pub struct Hosts {
    /// Machine id → namespace.
    pub machines: BTreeMap<String, String>,
    /// Extra host name → namespace.
    pub hosts: BTreeMap<String, String>,
    /// The switch namespace (holds the bridge).
    pub switch: String,
}

/// A handle on one simulated model.
#[derive(Debug, Clone)]
pub struct Sim {
    /// The model directory.
    pub md: ModelDir,
    /// The `juju` executable (controller, hook tools, simulator charms, systemctl).
    pub exe: PathBuf,
}

fn split_endpoint(s: &str) -> (&str, Option<&str>) {
    match s.split_once(':') {
        Some((a, e)) => (a, Some(e)),
        None => (s, None),
    }
}

impl Sim {
    /// A handle; nothing is created yet.
    pub fn new(md: ModelDir, exe: impl Into<PathBuf>) -> Sim {
        Sim {
            md,
            exe: exe.into(),
        }
    }

    /// Opens the model store (creating an empty model named `default` if there is none).
    pub fn juju(&self) -> Result<Juju> {
        let opts = RunnerOptions::new(&self.exe);
        let store = self.md.store();
        if store.join("model.json").exists() {
            return Ok(Juju::open(&store, opts)?);
        }
        std::fs::create_dir_all(self.md.root()).map_err(|e| Error::io(self.md.root(), e))?;
        let info = ModelInfo {
            name: "default".into(),
            ..ModelInfo::default()
        };
        Ok(Juju::create_with(&store, info, opts)?)
    }

    /// A snapshot of the model.
    pub fn model(&self) -> Result<Model> {
        Ok(self.juju()?.model()?)
    }

    /// Sends a request to the controller.
    pub fn call(&self, req: &Request, timeout: Duration) -> Result<Value> {
        proto::call(&self.md.socket(), req, timeout)
    }

    /// Is a controller answering on this model's socket?
    pub fn controller_alive(&self) -> bool {
        self.call(&Request::Ping, Duration::from_secs(5)).is_ok()
    }

    /// Makes the model's machines real-systemd containers (`netlab::nspawn`: Debian 12's
    /// systemd 252 as PID 1, on the machine's namespace) instead of plain namespaces with the
    /// simulator's `systemctl`. The root file system is built in `cache` if needed (about a
    /// minute, once). Call before the controller starts (before [`Sim::bootstrap`]).
    pub fn use_systemd_machines(&self, cache: &std::path::Path) -> Result<netlab::nspawn::Rootfs> {
        if self.controller_alive() {
            return Err(Error::Invalid(
                "the controller already runs: choose real-systemd machines before bootstrap".into(),
            ));
        }
        let rootfs = netlab::nspawn::Rootfs::ensure(cache)?;
        // Absolute: the controller (and the overlay mount) may run from another directory.
        let dir = rootfs
            .dir()
            .canonicalize()
            .map_err(|e| Error::io(rootfs.dir(), e))?;
        crate::charmpkg::write_atomic(
            &self.md.systemd_rootfs_file(),
            dir.display().to_string().as_bytes(),
        )?;
        Ok(rootfs)
    }

    /// Makes sure the model and its controller exist (starts the controller in the background,
    /// detached, logging to `controller.log`). Needs root.
    pub fn bootstrap(&self) -> Result<()> {
        self.juju()?;
        if self.controller_alive() {
            return Ok(());
        }
        netlab::require_root().map_err(|_| {
            Error::Invalid(
                "the simulator needs root: its machines are network namespaces (run as root, e.g. with sudo)"
                    .into(),
            )
        })?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.md.controller_log())
            .map_err(|e| Error::io(self.md.controller_log(), e))?;
        let log2 = log
            .try_clone()
            .map_err(|e| Error::io(self.md.controller_log(), e))?;
        let mut c = Command::new(&self.exe);
        c.arg("--model-dir")
            .arg(self.md.root())
            .arg("controller")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        // SAFETY: setsid is async-signal-safe; the controller must outlive this CLI process.
        #[allow(unsafe_code)]
        unsafe {
            c.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        let mut child = c
            .spawn()
            .map_err(|e| Error::Invalid(format!("cannot start the controller: {e}")))?;
        let deadline = Instant::now() + START_WAIT;
        loop {
            if self.controller_alive() {
                // The controller is reaped by init once this process exits; do not wait on it.
                std::mem::forget(child);
                return Ok(());
            }
            if let Ok(Some(st)) = child.try_wait() {
                let tail = std::fs::read_to_string(self.md.controller_log()).unwrap_or_default();
                let tail: Vec<&str> = tail.lines().rev().take(10).collect();
                return Err(Error::Controller(format!(
                    "the controller exited ({st}):\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )));
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                return Err(Error::Timeout {
                    what: "the controller to answer".into(),
                    secs: START_WAIT.as_secs_f64(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Tells the controller the model changed (best effort).
    pub fn kick(&self) {
        let _ = self.call(&Request::Kick, Duration::from_secs(5));
    }

    /// `juju deploy CHARM [APP] -n N --config k=v`: CHARM is a `.charm` file, a charm directory
    /// or a built-in simulator charm name.
    pub fn deploy(
        &self,
        charm: &str,
        app: Option<&str>,
        n: usize,
        config: &[(String, String)],
    ) -> Result<Vec<String>> {
        self.bootstrap()?;
        let j = self.juju()?;
        let path = Path::new(charm);
        let builtin = crate::simcharms::builtin(charm);
        let default_name = if let Some(b) = builtin {
            b.name.to_string()
        } else {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let app = app.map(str::to_string).unwrap_or(default_name);
        if j.model()?.apps.contains_key(&app) {
            return Err(Error::Invalid(format!(
                "cannot add application {app:?}: application already exists"
            )));
        }
        let dest = self.md.charm(&app);
        if dest.exists() {
            std::fs::remove_dir_all(&dest).map_err(|e| Error::io(&dest, e))?;
        }
        if path.is_file() {
            crate::charmpkg::unpack(path, &dest)?;
        } else if path.is_dir() {
            crate::charmpkg::copy_dir(path, &dest)?;
        } else if builtin.is_some() {
            crate::charmpkg::write_builtin(charm, &self.exe, &dest)?;
        } else {
            return Err(Error::Invalid(format!(
                "{charm:?} is neither a .charm file, a charm directory nor a built-in charm ({})",
                crate::simcharms::BUILTINS
                    .iter()
                    .map(|b| b.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let meta = juju_emu::charm::CharmMeta::load(&dest)?;
        let n = if meta.subordinate { 0 } else { n };
        let units = j.deploy(&app, &dest, n)?;
        if !config.is_empty() {
            self.config_set(&app, config)?;
        }
        self.kick();
        Ok(units)
    }

    /// `juju refresh APP --path CHARM`: switches `app` to the charm at `charm` (a `.charm`
    /// file or a charm directory, unpacked next to the current one, never over it: units
    /// still run hooks from the old directory until their agents upgrade). Juju then runs
    /// `upgrade-charm` on every unit on its own (no `start` after it), and adds the peer
    /// relations the new charm declares. Returns the new charm directory.
    pub fn refresh(&self, app: &str, charm: &Path) -> Result<PathBuf> {
        let j = self.juju()?;
        let m = j.model()?;
        let a = m
            .apps
            .get(app)
            .ok_or_else(|| Error::Invalid(format!("application {app:?} not found")))?;
        let dest = self
            .md
            .charm(&format!("{app}.refresh-{}", a.charm_generation + 1));
        if dest.exists() {
            std::fs::remove_dir_all(&dest).map_err(|e| Error::io(&dest, e))?;
        }
        if charm.is_file() {
            crate::charmpkg::unpack(charm, &dest)?;
        } else if charm.is_dir() {
            crate::charmpkg::copy_dir(charm, &dest)?;
        } else {
            return Err(Error::Invalid(format!(
                "{} is neither a .charm file nor a charm directory",
                charm.display()
            )));
        }
        let meta = juju_emu::charm::CharmMeta::load(&dest)?;
        if meta.name != a.charm.name {
            return Err(Error::Invalid(format!(
                "cannot refresh {app:?} (charm {:?}) to charm {:?}",
                a.charm.name, meta.name
            )));
        }
        j.upgrade_charm(app, &dest)?;
        self.kick();
        Ok(dest)
    }

    /// Finds the relation between `a` and `b` (`app` or `app:endpoint` each).
    pub fn find_relation(&self, a: &str, b: &str) -> Result<u64> {
        let m = self.model()?;
        let (aa, ae) = split_endpoint(a);
        let (ba, be) = split_endpoint(b);
        let hits: Vec<u64> = m
            .relations
            .values()
            .filter(|r| !r.peer)
            .filter(|r| {
                let side = |app: &str, ep: Option<&str>| {
                    r.ends
                        .iter()
                        .position(|e| e.app == app && ep.is_none_or(|x| x == e.endpoint))
                };
                matches!((side(aa, ae), side(ba, be)), (Some(x), Some(y)) if x != y)
            })
            .map(|r| r.id)
            .collect();
        match hits.as_slice() {
            [id] => Ok(*id),
            [] => Err(Error::Invalid(format!("relation {a:?} {b:?} not found"))),
            _ => Err(Error::Invalid(format!(
                "ambiguous relation: {a:?} {b:?} could refer to several relations"
            ))),
        }
    }

    /// `juju integrate A B`.
    pub fn relate(&self, a: &str, b: &str) -> Result<u64> {
        let id = self.juju()?.relate(a, b)?;
        self.kick();
        Ok(id)
    }

    /// `juju remove-relation A B`.
    pub fn remove_relation(&self, a: &str, b: &str) -> Result<u64> {
        let id = self.find_relation(a, b)?;
        self.juju()?.remove_relation(id)?;
        self.kick();
        Ok(id)
    }

    /// `juju config APP k=v …` (all or nothing).
    pub fn config_set(&self, app: &str, kvs: &[(String, String)]) -> Result<()> {
        let pairs: Vec<(&str, &str)> = kvs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.juju()?.set_config(app, &pairs)?;
        self.kick();
        Ok(())
    }

    /// `juju config APP --file F` (YAML keyed by the application name).
    pub fn config_set_yaml(&self, app: &str, yaml: &str) -> Result<()> {
        self.juju()?.set_config_yaml(app, yaml)?;
        self.kick();
        Ok(())
    }

    /// `juju config APP --reset k,…`.
    pub fn config_reset(&self, app: &str, keys: &[String]) -> Result<()> {
        let k: Vec<&str> = keys.iter().map(String::as_str).collect();
        self.juju()?.reset_config(app, &k)?;
        self.kick();
        Ok(())
    }

    /// `juju add-unit APP -n N`.
    pub fn add_units(&self, app: &str, n: usize) -> Result<Vec<String>> {
        let j = self.juju()?;
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(j.add_unit(app)?);
        }
        self.kick();
        Ok(out)
    }

    /// `juju remove-unit UNIT`.
    pub fn remove_unit(&self, unit: &str) -> Result<()> {
        self.juju()?.remove_unit(unit)?;
        self.kick();
        Ok(())
    }

    /// Namespaces known to the controller.
    pub fn hosts(&self) -> Result<Hosts> {
        let v = self.call(&Request::Hosts, Duration::from_secs(10))?;
        let map = |k: &str| -> BTreeMap<String, String> {
            serde_json::from_value(v.get(k).cloned().unwrap_or(Value::Null)).unwrap_or_default()
        };
        Ok(Hosts {
            machines: map("machines"),
            hosts: map("hosts"),
            switch: v
                .get("switch")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        })
    }

    /// `juju run UNIT ACTION k=v…`: runs the action inside the unit's machine (under its lock).
    pub fn run_action(
        &self,
        unit: &str,
        action: &str,
        params: &[(String, String)],
    ) -> Result<ActionResult> {
        let mut j = self.juju()?;
        let m = j.model()?;
        let id = m.unit(unit)?.machine.clone();
        let ns =
            self.hosts()?.machines.get(&id).cloned().ok_or_else(|| {
                Error::Invalid(format!("machine {id} of {unit} is not running yet"))
            })?;
        j.opts = crate::controller::hook_options(&self.md, &self.exe, &id, &ns);
        let p: serde_json::Map<String, Value> = params
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let r = j.run_action(unit, action, Value::Object(p))?;
        self.kick();
        Ok(r)
    }

    /// `juju status [APP]` as text.
    pub fn status_text(&self, filter: Option<&str>) -> Result<String> {
        let m = self.model()?;
        if let Some(f) = filter {
            if !m.apps.contains_key(f) {
                return Err(Error::Invalid(format!("application {f:?} not found")));
            }
        }
        let machine_ns = self.hosts().map(|h| h.machines).unwrap_or_default();
        let ctx = crate::status::StatusContext {
            timestamp: crate::status::timestamp_now(),
            machine_ns,
            filter: filter.map(str::to_string),
        };
        Ok(crate::status::render(&m, &ctx))
    }

    /// Waits (bounded) until no hook is pending or running.
    pub fn wait_idle(&self, timeout: Duration) -> Result<()> {
        let v = self.call(
            &Request::Wait {
                timeout_ms: timeout.as_millis() as u64,
            },
            timeout + Duration::from_secs(10),
        )?;
        if v.get("idle").and_then(Value::as_bool) == Some(true) {
            Ok(())
        } else {
            Err(Error::Timeout {
                what: "the model to settle".into(),
                secs: timeout.as_secs_f64(),
            })
        }
    }

    /// Polls the model (every 200 ms, bounded) until `pred` holds; returns that model.
    pub fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        mut pred: impl FnMut(&Model) -> bool,
    ) -> Result<Model> {
        let deadline = Instant::now() + timeout;
        loop {
            let m = self.model()?;
            if pred(&m) {
                return Ok(m);
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    what: what.to_string(),
                    secs: timeout.as_secs_f64(),
                });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Plugs or unplugs a machine's (`m<id>` or id) or host's cable.
    pub fn set_link(&self, target: &str, up: bool) -> Result<()> {
        self.call(
            &Request::Link {
                target: target.into(),
                up,
            },
            Duration::from_secs(10),
        )
        .map(drop)
    }

    /// Reboots machine `id` (what `juju ssh ID sudo reboot` does to a real machine).
    pub fn reboot(&self, id: &str) -> Result<()> {
        self.call(
            &Request::Reboot { machine: id.into() },
            Duration::from_secs(120),
        )
        .map(drop)
    }

    /// Adds a non-machine host (a client) on the segment; returns its namespace.
    pub fn add_host(&self, name: &str, cidr: &str) -> Result<String> {
        let v = self.call(
            &Request::AddHost {
                name: name.into(),
                cidr: cidr.into(),
            },
            Duration::from_secs(20),
        )?;
        Ok(v.get("netns")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string())
    }

    /// Stops the controller (it deletes every namespace and process) and waits for it to exit;
    /// then sweeps namespaces of dead simulator controllers. Returns true if one was running.
    pub fn destroy(&self) -> Result<bool> {
        let pid: Option<i32> = std::fs::read_to_string(self.md.pid_file())
            .ok()
            .and_then(|s| s.trim().parse().ok());
        let was = self
            .call(&Request::Shutdown, Duration::from_secs(10))
            .is_ok();
        let deadline = Instant::now() + Duration::from_secs(30);
        if let Some(pid) = pid {
            while process_alive(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            if process_alive(pid) {
                // Last resort: the backstop sweep below removes its namespaces.
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        if netlab::require_root().is_ok() {
            sweep_stale()?;
        }
        let _ = std::fs::remove_file(self.md.socket());
        Ok(was)
    }
}

/// Deletes namespaces of netlab labs whose creator is gone — also when it is a zombie, which
/// netlab's own sweep counts as alive — after SIGKILLing every process inside them. Returns
/// the names deleted.
pub fn sweep_stale() -> Result<Vec<String>> {
    let mut deleted = Vec::new();
    for ns in netlab::list_netns()? {
        let Some(pid) = netlab::creator_pid(&ns) else {
            continue;
        };
        if pid == std::process::id() || process_alive(pid as i32) {
            continue;
        }
        if let Ok(o) = Command::new("ip").args(["netns", "pids", &ns]).output() {
            for p in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                if let Ok(p) = p.parse::<i32>() {
                    if p > 1 && p as u32 != std::process::id() {
                        let _ = nix::sys::signal::kill(
                            nix::unistd::Pid::from_raw(p),
                            nix::sys::signal::Signal::SIGKILL,
                        );
                    }
                }
            }
        }
        if Command::new("ip")
            .args(["netns", "del", &ns])
            .status()
            .is_ok_and(|s| s.success())
        {
            deleted.push(ns);
        }
    }
    Ok(deleted)
}

/// Is `pid` running? Reaps it if it is our exited child (the controller started by this
/// process); a zombie counts as gone.
fn process_alive(pid: i32) -> bool {
    use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
    let p = nix::unistd::Pid::from_raw(pid);
    if let Ok(st) = waitpid(p, Some(WaitPidFlag::WNOHANG)) {
        if !matches!(st, WaitStatus::StillAlive) {
            return false;
        }
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}
