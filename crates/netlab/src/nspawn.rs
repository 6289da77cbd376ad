//! Real systemd machines: Debian 12's systemd (252) booted as PID 1 of a `systemd-nspawn`
//! container whose network namespace is one of ours (a lab [`crate::Host`]).
//!
//! The recipe, tried on a machine of the project's kind; what it takes here:
//! * [`Rootfs::ensure`] builds a bookworm `minbase` root file system once with `debootstrap`
//!   (from the Debian mirror the host's apt sources already use) and caches it (e.g. under
//!   `target/`). It is never written afterwards: every container boots from an overlay whose
//!   upper layer is the container's own state directory, so a reboot keeps what the machine
//!   wrote (enabled units, the charm's files) and other containers never see it.
//! * [`Container::boot`] starts `systemd-nspawn -b` from a cgroup of its own (cgroup v1 hybrid:
//!   the `name=systemd` and the unified hierarchy), inside a private mount namespace that holds
//!   the overlay mount (so the mount goes away with the container, whatever happens), handing
//!   it the lab namespace with `--network-namespace-path` (plus `CAP_NET_ADMIN`, which nspawn
//!   grants only with `--private-network`), and waits until `systemctl is-system-running` says
//!   `running`.
//! * Commands run inside with `nsenter -t <container init> -a` ([`Container::exec`],
//!   [`Container::command_prefix`]); `systemd-run --machine`/`machinectl` need a host systemd.
//! * Dropping a [`Container`] (also while unwinding from a panic) stops it (SIGTERM to nspawn, a
//!   bounded wait, then SIGKILL of everything left in its cgroups) and removes its cgroups.
//!   [`sweep_stale`] (also run by [`Container::boot`]) does the same for containers of test
//!   processes that were killed. Cgroup names are `netlab-<pid>x<n>-<name>`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::cmd;
use crate::error::{Error, Result};
use crate::names;

/// The Debian release the root file system is built from.
pub const SUITE: &str = "bookworm";
/// Packages added to `minbase`: systemd as init, iproute2, dbus (systemctl needs it for some
/// verbs), procps (`/bin/kill` for `ExecReload=/bin/kill -HUP $MAINPID`), python3-minimal, and
/// openssl (the simulator's load balancer charm makes its certificate with it).
pub const INCLUDE: &str = "systemd,systemd-sysv,iproute2,dbus,procps,python3-minimal,openssl";
/// The programs the host needs: Debian packages `systemd-container`, `debootstrap`,
/// `util-linux` (nsenter, unshare, mount).
pub const HOST_PROGRAMS: [&str; 4] = ["systemd-nspawn", "debootstrap", "nsenter", "unshare"];
/// Exit status of `systemd-nspawn` when the container asked for a reboot.
pub const REBOOT_EXIT: i32 = 133;
/// Cgroup hierarchies a container's cgroup is made in (cgroup v1 hybrid: systemd's named
/// hierarchy and the unified one).
const CGROUP_ROOTS: [&str; 2] = ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"];
/// Cgroup name prefix.
const CGROUP_PREFIX: &str = "netlab-";

static CONTAINER_COUNTER: AtomicU32 = AtomicU32::new(0);

/// The programs of [`HOST_PROGRAMS`] that are not on PATH (empty: all there).
pub fn missing_host_programs() -> Vec<&'static str> {
    HOST_PROGRAMS
        .iter()
        .copied()
        .filter(|p| which(p).is_none())
        .collect()
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let what = what.into();
    move |source| Error::Io { what, source }
}

/// The Debian mirror of `suite` in apt source files (one-line `sources.list` or deb822
/// `.sources`): the first `http(s)` URI listed with that suite that is not a security or
/// updates-only archive.
pub fn mirror_from_sources(texts: &[String], suite: &str) -> Option<String> {
    let usable = |uri: &str, suites: &[&str]| {
        (uri.starts_with("http://") || uri.starts_with("https://"))
            && !uri.contains("security")
            && suites.contains(&suite)
    };
    for text in texts {
        // deb822 stanzas.
        for stanza in text.split("\n\n") {
            let mut uris = Vec::new();
            let mut suites = Vec::new();
            let mut is_deb = false;
            for line in stanza.lines() {
                let Some((k, v)) = line.split_once(':') else {
                    continue;
                };
                match k.trim() {
                    "Types" => is_deb = v.split_whitespace().any(|t| t == "deb"),
                    "URIs" => uris = v.split_whitespace().collect(),
                    "Suites" => suites = v.split_whitespace().collect(),
                    _ => {}
                }
            }
            if is_deb {
                if let Some(u) = uris.iter().find(|u| usable(u, &suites)) {
                    return Some(u.trim_end_matches('/').to_string());
                }
            }
        }
        // One-line style: `deb [opts] URI SUITE COMPONENTS…`.
        for line in text.lines() {
            let mut words = line.split_whitespace();
            if words.next() != Some("deb") {
                continue;
            }
            let mut rest: Vec<&str> = words.collect();
            if rest.first().is_some_and(|w| w.starts_with('[')) {
                let end = rest.iter().position(|w| w.ends_with(']')).unwrap_or(0);
                rest.drain(..=end);
            }
            if let [uri, s, ..] = rest[..] {
                if usable(uri, &[s]) {
                    return Some(uri.trim_end_matches('/').to_string());
                }
            }
        }
    }
    None
}

/// The host's Debian mirror for [`SUITE`], read from `/etc/apt/sources.list.d/*` and
/// `/etc/apt/sources.list`.
pub fn host_mirror() -> Result<String> {
    let mut texts = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut files: Vec<PathBuf> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        texts.extend(files.iter().filter_map(|f| std::fs::read_to_string(f).ok()));
    }
    if let Ok(t) = std::fs::read_to_string("/etc/apt/sources.list") {
        texts.push(t);
    }
    mirror_from_sources(&texts, SUITE).ok_or_else(|| {
        Error::Invalid(format!(
            "no Debian {SUITE} mirror in /etc/apt/sources.list(.d): cannot debootstrap"
        ))
    })
}

/// A cached root file system (read-only once built).
#[derive(Debug, Clone)]
pub struct Rootfs {
    dir: PathBuf,
    /// How long `ensure` took (the build, or just the check when cached).
    pub took: Duration,
    /// Whether `ensure` built it.
    pub built: bool,
}

impl Rootfs {
    /// The root file system in `cache_dir/bookworm-minbase`, built with debootstrap if it is
    /// not there yet (about a minute and 300 MB). Concurrent callers wait for one build (a
    /// lock file); a build that was interrupted is thrown away and redone.
    pub fn ensure(cache_dir: &Path) -> Result<Rootfs> {
        names::require_root()?;
        let t0 = Instant::now();
        std::fs::create_dir_all(cache_dir)
            .map_err(io(format!("create {}", cache_dir.display())))?;
        let dir = cache_dir.join(format!("{SUITE}-minbase"));
        let done = cache_dir.join(format!("{SUITE}-minbase.done"));
        let lock_path = cache_dir.join(format!("{SUITE}-minbase.lock"));
        let lock = std::fs::File::create(&lock_path)
            .map_err(io(format!("create {}", lock_path.display())))?;
        let _guard = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive).map_err(
            |(_, e)| Error::Io {
                what: format!("lock {}", lock_path.display()),
                source: e.into(),
            },
        )?;
        let want = format!("{SUITE} minbase +{INCLUDE}\n");
        if std::fs::read_to_string(&done).ok().as_deref() == Some(want.as_str()) && dir.is_dir() {
            return Ok(Rootfs {
                dir,
                took: t0.elapsed(),
                built: false,
            });
        }
        let partial = cache_dir.join(format!("{SUITE}-minbase.partial"));
        for d in [&partial, &dir] {
            if d.exists() {
                std::fs::remove_dir_all(d).map_err(io(format!("remove {}", d.display())))?;
            }
        }
        let _ = std::fs::remove_file(&done);
        let mirror = host_mirror()?;
        let target = partial.display().to_string();
        let args = [
            "--variant=minbase",
            &format!("--include={INCLUDE}"),
            SUITE,
            &target,
            &mirror,
        ];
        let out = cmd::output("debootstrap", &args)?;
        if !out.status.success() {
            let mut log = String::from_utf8_lossy(&out.stdout).into_owned();
            log.push_str(&String::from_utf8_lossy(&out.stderr));
            let tail: Vec<&str> = log.lines().rev().take(15).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(Error::Command {
                cmd: cmd::render("debootstrap", &args),
                status: out.status,
                stderr: tail.join("\n"),
            });
        }
        std::fs::rename(&partial, &dir).map_err(io(format!("rename to {}", dir.display())))?;
        // Written last: a tree without a matching marker (interrupted, or other packages) is
        // rebuilt, so a torn marker costs a rebuild, never a broken tree.
        std::fs::write(&done, want).map_err(io(format!("write {}", done.display())))?;
        Ok(Rootfs {
            dir,
            took: t0.elapsed(),
            built: true,
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// What to boot.
#[derive(Debug, Clone)]
pub struct ContainerSpec {
    /// Short name (hostname, machine name): 1–24 characters of `[a-z0-9_]`.
    pub name: String,
    /// The read-only lower layer.
    pub rootfs: PathBuf,
    /// The lab namespace the container uses as its network (`ip netns` name).
    pub netns: String,
    /// The container's own directory: overlay upper/work layers, console log. Kept across
    /// reboots (and after drop: the caller owns it).
    pub state_dir: PathBuf,
    /// Host directories or files bind-mounted read-write at the same path inside.
    pub binds: Vec<PathBuf>,
}

/// A booted container. Dropping it stops it and removes its cgroups.
pub struct Container {
    spec: ContainerSpec,
    cgroup: String,
    nspawn: Option<Child>,
    leader: u32,
}

/// How long one step took.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Shutting the running system down (zero for a first boot).
    pub shutdown: Duration,
    /// From spawning nspawn to `is-system-running` = `running`.
    pub boot: Duration,
}

impl Container {
    /// Boots a container (see the module docs); waits (bounded) until systemd reports
    /// `running`. On any error what was started is stopped again.
    pub fn boot(spec: ContainerSpec) -> Result<(Container, Timing)> {
        names::require_root()?;
        names::check_part("container name", &spec.name)?;
        let missing = missing_host_programs();
        if !missing.is_empty() {
            return Err(Error::Invalid(format!(
                "missing host programs {missing:?} (Debian packages systemd-container, \
                 debootstrap, util-linux)"
            )));
        }
        sweep_stale();
        let n = CONTAINER_COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
        let cgroup = format!("{CGROUP_PREFIX}{}x{n}-{}", std::process::id(), spec.name);
        let mut c = Container {
            spec,
            cgroup,
            nspawn: None,
            leader: 0,
        };
        let boot = c.start()?;
        Ok((
            c,
            Timing {
                shutdown: Duration::ZERO,
                boot,
            },
        ))
    }

    fn cgroup_dirs(&self) -> Vec<PathBuf> {
        CGROUP_ROOTS
            .iter()
            .map(|r| Path::new(r).join(&self.cgroup))
            .collect()
    }

    /// The console log (what systemd printed while booting and stopping).
    pub fn console_log(&self) -> PathBuf {
        self.spec.state_dir.join("console.log")
    }

    fn console_tail(&self) -> String {
        let text = std::fs::read_to_string(self.console_log()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().rev().take(20).collect();
        lines.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    /// Spawns nspawn and waits for `running`; returns how long it took.
    fn start(&mut self) -> Result<Duration> {
        let t0 = Instant::now();
        let st = &self.spec.state_dir;
        let (upper, work, merged) = (st.join("upper"), st.join("work"), st.join("merged"));
        for d in [&upper, &work, &merged] {
            std::fs::create_dir_all(d).map_err(io(format!("create {}", d.display())))?;
        }
        let cg = self.cgroup_dirs();
        for d in &cg {
            std::fs::create_dir_all(d).map_err(io(format!("create cgroup {}", d.display())))?;
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.console_log())
            .map_err(io(format!("open {}", self.console_log().display())))?;
        let log2 = log.try_clone().map_err(io("dup console log"))?;
        let mut nspawn: Vec<String> = vec![
            "systemd-nspawn".into(),
            "--boot".into(),
            format!("--directory={}", merged.display()),
            format!("--machine={}", self.spec.name),
            "--register=no".into(),
            "--keep-unit".into(),
            format!(
                "--network-namespace-path={}",
                crate::netns_path(&self.spec.netns).display()
            ),
            "--capability=CAP_NET_ADMIN".into(),
            "--console=read-only".into(),
        ];
        for b in &self.spec.binds {
            nspawn.push(format!("--bind={}", b.display()));
        }
        // sh joins the cgroups and execs unshare, whose private mount namespace holds the
        // overlay; its sh execs nspawn: one pid from here to nspawn.
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(r#"echo $$ > "$1" && echo $$ > "$2" && shift 2 && exec "$@""#)
            .arg("sh")
            .arg(cg[0].join("cgroup.procs"))
            .arg(cg[1].join("cgroup.procs"))
            .args(["unshare", "--mount", "--propagation", "private", "sh", "-c"])
            .arg(
                r#"mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" "$4" && shift 4 && exec "$@""#,
            )
            .arg("sh")
            .arg(&self.spec.rootfs)
            .arg(&upper)
            .arg(&work)
            .arg(&merged)
            .args(&nspawn)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        let child = c.spawn().map_err(|source| Error::Spawn {
            cmd: "systemd-nspawn (via sh, unshare)".into(),
            source,
        })?;
        let pid = child.id();
        self.nspawn = Some(child);
        let deadline = t0 + Duration::from_secs(30);
        // The container's init is nspawn's child.
        self.leader = loop {
            if let Some(status) = self.try_wait_nspawn()? {
                return Err(self.boot_error(format!("systemd-nspawn exited ({status})")));
            }
            let kids = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                .unwrap_or_default();
            let init = kids.split_whitespace().find_map(|k| {
                let comm = std::fs::read_to_string(format!("/proc/{k}/comm")).ok()?;
                (comm.trim() == "systemd").then(|| k.parse::<u32>().ok())?
            });
            if let Some(init) = init {
                break init;
            }
            if Instant::now() >= deadline {
                return Err(self.boot_error("no container init after 30 s".into()));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = self.exec("systemctl", &["is-system-running"])?;
            let state = String::from_utf8_lossy(&out.stdout).trim().to_string();
            match state.as_str() {
                "running" => return Ok(t0.elapsed()),
                "degraded" => {
                    let failed = self
                        .exec("systemctl", &["--failed", "--no-legend"])
                        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                        .unwrap_or_default();
                    return Err(self.boot_error(format!("system degraded: {failed}")));
                }
                _ => {}
            }
            if let Some(status) = self.try_wait_nspawn()? {
                return Err(self.boot_error(format!("systemd-nspawn exited ({status})")));
            }
            if Instant::now() >= deadline {
                return Err(self.boot_error(format!("still {state:?} after 60 s")));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn boot_error(&self, what: String) -> Error {
        Error::Invalid(format!(
            "container {} did not boot: {what}\n--- console ---\n{}",
            self.spec.name,
            self.console_tail()
        ))
    }

    fn try_wait_nspawn(&mut self) -> Result<Option<ExitStatus>> {
        match self.nspawn.as_mut() {
            Some(c) => c.try_wait().map_err(io("wait for systemd-nspawn")),
            None => Ok(None),
        }
    }

    /// Waits (bounded) for nspawn to exit; returns its status, or `None` on timeout.
    fn wait_nspawn(&mut self, timeout: Duration) -> Result<Option<ExitStatus>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.try_wait_nspawn()? {
                self.nspawn = None;
                return Ok(Some(s));
            }
            if self.nspawn.is_none() {
                return Ok(None);
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The container's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The host pid of the container's init (changes with every boot).
    pub fn leader(&self) -> u32 {
        self.leader
    }

    /// The command prefix that runs a program inside the container (its current boot); see
    /// [`command_prefix`].
    pub fn command_prefix(&self) -> Vec<String> {
        command_prefix(self.leader)
    }

    /// Runs `program args…` inside the container and returns its output whatever its status.
    pub fn exec(&self, program: &str, args: &[&str]) -> Result<Output> {
        let mut all: Vec<&str> = vec!["-t", "", "-a", "--", program];
        let leader = self.leader.to_string();
        all[1] = &leader;
        all.extend_from_slice(args);
        let out = Command::new("nsenter")
            .args(&all)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| Error::Spawn {
                cmd: cmd::render(program, args),
                source,
            })?;
        Ok(out)
    }

    /// Runs `program args…` inside the container; fails unless it exits 0; returns stdout.
    pub fn run(&self, program: &str, args: &[&str]) -> Result<String> {
        let out = self.exec(program, args)?;
        cmd::check(program, args, out)
    }

    /// Reboots: `systemctl reboot` inside, waits for nspawn to exit with [`REBOOT_EXIT`] (what
    /// `systemd-nspawn@.service` restarts on), then boots the same tree again.
    pub fn reboot(&mut self) -> Result<Timing> {
        let t0 = Instant::now();
        // The call may lose its connection while systemd goes down: its status says nothing.
        let _ = self.exec("systemctl", &["reboot"])?;
        let status = self.wait_nspawn(Duration::from_secs(60))?;
        let shutdown = t0.elapsed();
        match status {
            Some(s) if s.code() == Some(REBOOT_EXIT) => {}
            Some(s) => {
                return Err(Error::Invalid(format!(
                    "container {}: systemd-nspawn exited with {s}, not {REBOOT_EXIT} (reboot)\n{}",
                    self.spec.name,
                    self.console_tail()
                )))
            }
            None => {
                return Err(Error::Timeout {
                    what: format!("container {} to reboot", self.spec.name),
                    secs: 60.0,
                })
            }
        }
        kill_cgroup_tree(&self.cgroup_dirs());
        let boot = self.start()?;
        Ok(Timing { shutdown, boot })
    }

    /// Stops the container: SIGTERM to nspawn (the container shuts down cleanly), up to
    /// `grace`, then SIGKILL of everything in its cgroups; removes the cgroups. Returns how long
    /// the shutdown took and whether it was clean.
    pub fn stop(&mut self, grace: Duration) -> (Duration, bool) {
        let t0 = Instant::now();
        let mut clean = true;
        if let Some(child) = &self.nspawn {
            let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
            match self.wait_nspawn(grace) {
                Ok(Some(s)) => clean = s.success(),
                _ => clean = false,
            }
        }
        if let Some(mut child) = self.nspawn.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        kill_cgroup_tree(&self.cgroup_dirs());
        remove_cgroup_tree(&self.cgroup_dirs());
        (t0.elapsed(), clean)
    }

    /// The container's cgroup directories (gone after [`Container::stop`] or drop).
    pub fn cgroups(&self) -> Vec<PathBuf> {
        self.cgroup_dirs()
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "nspawn: container {} console (tail):\n{}",
                self.spec.name,
                self.console_tail()
            );
        }
        let _ = self.stop(Duration::from_secs(15));
    }
}

/// The command prefix that runs a program inside the container whose init is host pid
/// `leader` (`nsenter -a`), with the working directory `$JUJU_CHARM_DIR` when that is set (as
/// a hook runner wants), else `/`. The environment is passed through.
pub fn command_prefix(leader: u32) -> Vec<String> {
    vec![
        "nsenter".into(),
        "-t".into(),
        leader.to_string(),
        "-a".into(),
        "--".into(),
        "/bin/sh".into(),
        "-c".into(),
        r#"cd "${JUJU_CHARM_DIR:-/}" && exec "$@""#.into(),
        "sh".into(),
    ]
}

/// Every cgroup directory below (and including) `dirs`, deepest first.
fn cgroup_tree(dirs: &[PathBuf]) -> Vec<PathBuf> {
    fn walk(d: &Path, out: &mut Vec<PathBuf>, depth: usize) {
        if depth > 32 {
            return;
        }
        if let Ok(rd) = std::fs::read_dir(d) {
            for e in rd.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    walk(&e.path(), out, depth + 1);
                }
            }
        }
        out.push(d.to_path_buf());
    }
    let mut out = Vec::new();
    for d in dirs.iter().filter(|d| d.is_dir()) {
        walk(d, &mut out, 0);
    }
    out
}

/// SIGKILLs every process in the cgroup trees, a few rounds (bounded) until none is left.
fn kill_cgroup_tree(dirs: &[PathBuf]) {
    for _ in 0..50 {
        let mut any = false;
        for d in cgroup_tree(dirs) {
            let procs = std::fs::read_to_string(d.join("cgroup.procs")).unwrap_or_default();
            for pid in procs
                .split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok())
            {
                if pid > 1 && pid as u32 != std::process::id() {
                    any = true;
                    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                }
            }
        }
        if !any {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Removes the (empty) cgroup trees, deepest first.
fn remove_cgroup_tree(dirs: &[PathBuf]) {
    for d in cgroup_tree(dirs) {
        if let Err(e) = std::fs::remove_dir(&d) {
            eprintln!("nspawn: cannot remove cgroup {}: {e}", d.display());
        }
    }
}

/// The creating pid of one of our cgroup names (`netlab-<pid>x<n>-<name>`).
fn cgroup_creator(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(CGROUP_PREFIX)?;
    let (pid, rest) = rest.split_once('x')?;
    let (n, _) = rest.split_once('-')?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Stops containers whose creating process is gone (a killed test run): kills what is left in
/// their cgroups and removes the cgroups. Returns the cgroup names it removed.
pub fn sweep_stale() -> Vec<String> {
    let mut names = Vec::new();
    for root in CGROUP_ROOTS {
        let Ok(rd) = std::fs::read_dir(root) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(pid) = cgroup_creator(&name) else {
                continue;
            };
            if Path::new(&format!("/proc/{pid}")).exists() || names.contains(&name) {
                continue;
            }
            names.push(name);
        }
    }
    for name in &names {
        let dirs: Vec<PathBuf> = CGROUP_ROOTS
            .iter()
            .map(|r| Path::new(r).join(name))
            .collect();
        kill_cgroup_tree(&dirs);
        remove_cgroup_tree(&dirs);
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_from_deb822_and_one_line_sources() {
        let deb822 = "Types: deb\n# http://snapshot.debian.org/archive/debian/20250520T000000Z\n\
            URIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\n\
            Components: main\n\nTypes: deb\nURIs: http://deb.debian.org/debian-security\n\
            Suites: bookworm-security\nComponents: main\n"
            .to_string();
        let node = "Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\n"
            .to_string();
        assert_eq!(
            mirror_from_sources(&[node.clone(), deb822], "bookworm").as_deref(),
            Some("http://deb.debian.org/debian")
        );
        let list = "deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n\
            deb [arch=amd64 signed-by=/k.gpg] http://ftp.de.debian.org/debian/ bookworm main\n"
            .to_string();
        assert_eq!(
            mirror_from_sources(&[node, list], "bookworm").as_deref(),
            Some("http://ftp.de.debian.org/debian")
        );
        let sec = "deb http://security.debian.org/debian-security bookworm-security main\n";
        assert_eq!(mirror_from_sources(&[sec.into()], "bookworm"), None);
    }

    #[test]
    fn cgroup_names_carry_the_creator() {
        assert_eq!(cgroup_creator("netlab-123x4-m0"), Some(123));
        assert_eq!(cgroup_creator("netlab-123x-m0"), None);
        assert_eq!(cgroup_creator("system.slice"), None);
    }
}
