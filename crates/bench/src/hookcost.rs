//! Hook cost: the dispatcher's own CPU and peak resident memory per steady-state hook, measured
//! on a packed charm deployed in the Juju model simulator (`jujusim`): one
//! `kubeapi-load-balancer` machine with its real TLS listener on 127.0.0.1:443 (certificate
//! naming the VIP), the keepalived unit's worker running and MASTER.
//!
//! The charm's `dispatch` is replaced by a wrapper that runs the real one under
//! [`exec_measured`]: the child is traced (`PTRACE_O_TRACEEXIT`) so that, when it is about to
//! exit, its `VmHWM` (peak resident) is read exactly from `/proc/PID/status`; its own CPU is
//! read from `/proc/PID/task/*/schedstat` (`sum_exec_runtime`, nanoseconds, the clock `perf
//! stat -e task-clock` reads) once it is a zombie, counted from the end of its `execve` to the
//! end of its exit (address-space teardown included). Children (the hook tools, systemctl)
//! are separate processes and never counted.
//!
//! Rounds: `update-status` requested N times, then N `config-changed` with unchanged config
//! (the agent forgets the config it saw, as after an agent restart).
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// One measured run of a hook handler.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HookSample {
    /// `JUJU_UNIT_NAME`.
    #[serde(default)]
    pub unit: String,
    /// `JUJU_DISPATCH_PATH`, e.g. `hooks/update-status`.
    pub hook: String,
    /// Own CPU (user + system) from the end of exec to the end of exit, nanoseconds.
    pub cpu_ns: u64,
    /// Peak resident set (`VmHWM`), KiB.
    pub hwm_kib: u64,
    /// CPU (user + system) of the handler **and** every descendant it reaped (hook tools,
    /// `systemctl`, the certificate probe), from its fork to its exit: `getrusage(RUSAGE_CHILDREN)`
    /// of this measuring process once the handler is reaped. Nanoseconds (0: not measured).
    #[serde(default)]
    pub tree_cpu_ns: u64,
    /// Exit code (128 + signal when killed).
    pub exit: i32,
}

fn schedstat_ns(pid: i32) -> Result<u64> {
    let mut sum = 0u64;
    let dir = format!("/proc/{pid}/task");
    for t in std::fs::read_dir(&dir).with_context(|| dir.clone())? {
        let p = t?.path().join("schedstat");
        let s = std::fs::read_to_string(&p).with_context(|| p.display().to_string())?;
        let ns: u64 = s
            .split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("{}: {s:?}", p.display()))?;
        sum += ns;
    }
    Ok(sum)
}

fn hwm_kib(pid: i32) -> Result<u64> {
    let p = format!("/proc/{pid}/status");
    let s = std::fs::read_to_string(&p).with_context(|| p.clone())?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no VmHWM in {p}"))
}

fn waitpid(pid: i32) -> Result<i32> {
    loop {
        let mut status = 0;
        // SAFETY: waitpid on our own child with a valid status pointer.
        #[allow(unsafe_code)]
        let r = unsafe { libc::waitpid(pid, &mut status, libc::__WALL) };
        if r == pid {
            return Ok(status);
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e).context("waitpid");
        }
    }
}

/// Waits until `pid` is a zombie without reaping it (its /proc entries stay readable).
fn wait_zombie(pid: i32) -> Result<()> {
    loop {
        // SAFETY: siginfo_t is plain data, all-zero is a valid value.
        #[allow(unsafe_code)]
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid on our own child with a valid, exclusively borrowed siginfo.
        #[allow(unsafe_code)]
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT | libc::__WALL,
            )
        };
        if r == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e).context("waitid");
        }
    }
}

/// User + system CPU of this process's reaped children and their reaped descendants.
fn children_cpu_ns() -> Result<u64> {
    let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes one `rusage` into the buffer we own.
    #[allow(unsafe_code)]
    let r = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, ru.as_mut_ptr()) };
    if r == -1 {
        return Err(std::io::Error::last_os_error()).context("getrusage");
    }
    // SAFETY: getrusage succeeded, so it initialised the struct (and zeroed() already had).
    #[allow(unsafe_code)]
    let ru = unsafe { ru.assume_init() };
    let ns = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
    Ok(ns(ru.ru_utime) + ns(ru.ru_stime))
}

fn ptrace(req: libc::c_uint, pid: i32, data: usize) -> Result<()> {
    // SAFETY: PTRACE_SETOPTIONS/PTRACE_CONT on our stopped tracee; data is flags or a signal.
    #[allow(unsafe_code)]
    let r = unsafe { libc::ptrace(req, pid, 0usize, data) };
    if r == -1 {
        return Err(std::io::Error::last_os_error()).context("ptrace");
    }
    Ok(())
}

/// Runs `cmd` traced, appends one [`HookSample`] (JSON line) to `out`, returns its exit code.
pub fn exec_measured(out: &Path, cmd: &[OsString]) -> Result<i32> {
    let Some((prog, args)) = cmd.split_first() else {
        bail!("no command to measure");
    };
    let mut c = Command::new(prog);
    c.args(args);
    // SAFETY: ptrace(TRACEME) is async-signal-safe; the child then stops at its execve.
    #[allow(unsafe_code)]
    unsafe {
        c.pre_exec(|| {
            if libc::ptrace(libc::PTRACE_TRACEME, 0, 0usize, 0usize) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = c.spawn().with_context(|| format!("spawn {prog:?}"))?;
    let pid = child.id() as i32;
    let status = waitpid(pid)?;
    if !libc::WIFSTOPPED(status) {
        bail!("{prog:?} did not stop at exec (status {status:#x})");
    }
    let at_exec = schedstat_ns(pid)?;
    ptrace(
        libc::PTRACE_SETOPTIONS,
        pid,
        (libc::PTRACE_O_TRACEEXIT | libc::PTRACE_O_TRACEEXEC | libc::PTRACE_O_EXITKILL) as usize,
    )?;
    ptrace(libc::PTRACE_CONT, pid, 0)?;
    let (mut hwm, mut cpu) = (None, None);
    let exit = loop {
        let status = waitpid(pid)?;
        if libc::WIFEXITED(status) {
            break libc::WEXITSTATUS(status);
        }
        if libc::WIFSIGNALED(status) {
            break 128 + libc::WTERMSIG(status);
        }
        if libc::WIFSTOPPED(status) {
            let event = |e: i32| status >> 8 == (libc::SIGTRAP | (e << 8));
            let forward = if event(libc::PTRACE_EVENT_EXIT) {
                hwm = Some(hwm_kib(pid)?);
                // The exit itself (unmapping the address space) is the process's CPU too:
                // read the clock once it is a zombie, before reaping it.
                ptrace(libc::PTRACE_CONT, pid, 0)?;
                wait_zombie(pid)?;
                cpu = Some(schedstat_ns(pid)? - at_exec);
                continue;
            } else if event(libc::PTRACE_EVENT_EXEC) {
                0 // a further execve (a wrapper script): still the same process, still counted
            } else {
                libc::WSTOPSIG(status) as usize
            };
            ptrace(libc::PTRACE_CONT, pid, forward)?;
        }
    };
    let (Some(cpu_ns), Some(hwm_kib)) = (cpu, hwm) else {
        bail!("the child exited without an exit stop");
    };
    let s = HookSample {
        unit: std::env::var("JUJU_UNIT_NAME").unwrap_or_default(),
        hook: std::env::var("JUJU_DISPATCH_PATH").unwrap_or_default(),
        cpu_ns,
        hwm_kib,
        tree_cpu_ns: children_cpu_ns()?,
        exit,
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out)
        .with_context(|| out.display().to_string())?;
    writeln!(f, "{}", serde_json::to_string(&s)?)?;
    Ok(exit)
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct HookCostOpts {
    /// The packed charm (`.charm`) or a charm directory whose `dispatch` is the binary.
    pub charm: PathBuf,
    /// jujusim's `juju` executable.
    pub juju: PathBuf,
    /// This program (for the `exec` wrapper mode).
    pub self_exe: PathBuf,
    /// Rounds of each hook.
    pub rounds: usize,
    /// Measure CPU with `perf stat -e task-clock --no-inherit` instead (no VmHWM then).
    pub perf: bool,
    /// A Python with `ops` installed: also deploy the minimal `ops` charm
    /// (`crates/bench/ops-charm`) as `keepalived-ops` beside ours and measure it the same way.
    pub ops_python: Option<PathBuf>,
}

/// Our unit and the `ops` charm's unit.
pub const UNIT: &str = "keepalived/0";
/// The minimal `ops` charm's unit.
pub const OPS_UNIT: &str = "keepalived-ops/0";

/// Replaces `charm`'s `dispatch` with the measuring wrapper around the original.
fn wrap_dispatch(charm: &Path, opts: &HookCostOpts, samples: &Path, perf_out: &Path) -> Result<()> {
    std::fs::rename(charm.join("dispatch"), charm.join("dispatch.real"))?;
    let wrapper = if opts.perf {
        format!(
            "#!/bin/sh\necho \"# hook $JUJU_UNIT_NAME $JUJU_DISPATCH_PATH\" >> '{0}'\nexec perf stat -e task-clock --no-inherit -x, --append -o '{0}' -- \"$JUJU_CHARM_DIR/dispatch.real\" \"$@\"\n",
            perf_out.display()
        )
    } else {
        format!(
            "#!/bin/sh\nexec '{}' exec '{}' \"$JUJU_CHARM_DIR/dispatch.real\" \"$@\"\n",
            opts.self_exe.display(),
            samples.display()
        )
    };
    let dispatch = charm.join("dispatch");
    std::fs::write(&dispatch, wrapper)?;
    std::fs::set_permissions(
        &dispatch,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )?;
    Ok(())
}

/// The minimal `ops` charm directory: our metadata and config under another name, the code
/// from `crates/bench/ops-charm`, a `dispatch` that runs it with `python`.
fn ops_charm(dest: &Path, python: &Path) -> Result<()> {
    let root = crate::workspace_root();
    std::fs::create_dir_all(dest.join("src"))?;
    let meta = std::fs::read_to_string(root.join("metadata.yaml"))?.replacen(
        "name: keepalived\n",
        "name: keepalived-ops\n",
        1,
    );
    std::fs::write(dest.join("metadata.yaml"), meta)?;
    std::fs::copy(root.join("config.yaml"), dest.join("config.yaml"))?;
    std::fs::copy(
        root.join("crates/bench/ops-charm/src/charm.py"),
        dest.join("src/charm.py"),
    )?;
    let dispatch = dest.join("dispatch");
    std::fs::write(
        &dispatch,
        format!(
            "#!/bin/sh\nexec '{}' \"$JUJU_CHARM_DIR/src/charm.py\"\n",
            python.display()
        ),
    )?;
    std::fs::set_permissions(
        &dispatch,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )?;
    Ok(())
}

/// Destroys the simulated model (namespaces, processes) when dropped, also on error.
struct ModelGuard {
    sim: jujusim::sim::Sim,
    _dir: tempfile::TempDir,
}

impl Drop for ModelGuard {
    fn drop(&mut self) {
        if let Err(e) = self.sim.destroy() {
            eprintln!("hookcost: destroying the model: {e}");
        }
    }
}

const STEP: Duration = Duration::from_secs(120);

/// Deploys the charm with the measuring wrapper and returns the samples of the steady rounds.
pub fn run(opts: &HookCostOpts) -> Result<Vec<HookSample>> {
    netlab::require_root().context("hookcost needs root (network namespaces)")?;
    let dir = tempfile::Builder::new()
        .prefix("hookcost")
        .tempdir_in("/tmp")?;
    let charm = dir.path().join("charm");
    if opts.charm.is_file() {
        jujusim::charmpkg::unpack(&opts.charm, &charm)?;
    } else {
        jujusim::charmpkg::copy_dir(&opts.charm, &charm)?;
    }
    let samples = dir.path().join("samples.jsonl");
    let perf_out = dir.path().join("perf.csv");
    wrap_dispatch(&charm, opts, &samples, &perf_out)?;
    let ops_dir = dir.path().join("ops-charm");
    if let Some(py) = &opts.ops_python {
        ops_charm(&ops_dir, py)?;
        wrap_dispatch(&ops_dir, opts, &samples, &perf_out)?;
    }
    // Only the requested update-status runs; the controller inherits this.
    std::env::set_var(jujusim::controller::UPDATE_STATUS_ENV, "0");
    let model_dir = dir.path().join("model");
    let sim = jujusim::sim::Sim::new(jujusim::layout::ModelDir::new(&model_dir), &opts.juju);
    sim.bootstrap()?;
    let guard = ModelGuard { sim, _dir: dir };
    let sim = &guard.sim;
    let kv = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
    sim.deploy("kubeapi-load-balancer", None, 1, &[])?;
    sim.deploy(&charm.display().to_string(), Some("keepalived"), 0, &[])?;
    sim.relate("keepalived:juju-info", "kubeapi-load-balancer:juju-info")?;
    let mut units = vec![UNIT];
    if opts.ops_python.is_some() {
        sim.deploy(
            &ops_dir.display().to_string(),
            Some("keepalived-ops"),
            0,
            &[],
        )?;
        sim.relate(
            "keepalived-ops:juju-info",
            "kubeapi-load-balancer:juju-info",
        )?;
        units.push(OPS_UNIT);
    }
    sim.config_set(
        "kubeapi-load-balancer",
        &kv("extra_sans", "192.0.2.250 test.example.com"),
    )?;
    let mut cfg = kv("virtual_ip", "192.0.2.250/24");
    cfg.extend(kv("vip_hostname", "test.example.com"));
    sim.config_set("keepalived", &cfg)?;
    if opts.ops_python.is_some() {
        sim.config_set("keepalived-ops", &cfg)?;
    }
    let ready = sim.wait_for("every measured unit VIP ready (MASTER)", STEP, |m| {
        units.iter().all(|n| {
            m.units.get(*n).is_some_and(|u| {
                u.workload_status.status == "active"
                    && u.workload_status.message == "VIP ready (MASTER)"
            })
        })
    });
    if let Err(e) = ready {
        let log = std::fs::read_to_string(sim.md.controller_log()).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        bail!(
            "{e}\n{}\ncontroller log (last lines):\n{}",
            sim.status_text(None).unwrap_or_default(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    sim.wait_idle(STEP)?;
    // Everything so far (install, relations, first config) is set-up, not steady state.
    let _ = std::fs::remove_file(&samples);
    let _ = std::fs::remove_file(&perf_out);
    let juju = sim.juju()?;
    for _ in 0..opts.rounds {
        for u in &units {
            juju.request_update_status(Some(u))?;
        }
        sim.kick();
        sim.wait_idle(STEP)?;
    }
    for _ in 0..opts.rounds {
        juju.update(|m| {
            for n in &units {
                if let Some(u) = m.units.get_mut(*n) {
                    u.agent.config_seen = None;
                }
            }
            Ok(())
        })?;
        sim.kick();
        sim.wait_idle(STEP)?;
    }
    let out: Vec<HookSample> = if opts.perf {
        perf_samples(&std::fs::read_to_string(&perf_out).unwrap_or_default())
    } else {
        let text = std::fs::read_to_string(&samples).unwrap_or_default();
        text.lines()
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()
            .context("reading the samples")?
    };
    let model = sim.model()?;
    drop(guard);
    if let Some(bad) = out.iter().find(|s| s.exit != 0) {
        bail!("a measured hook failed: {bad:?}");
    }
    for unit in &units {
        let status = model.units.get(*unit).map(|u| u.workload_status.clone());
        for hook in ["hooks/update-status", "hooks/config-changed"] {
            let n = out
                .iter()
                .filter(|s| s.unit == *unit && s.hook == hook)
                .count();
            if n != opts.rounds {
                bail!(
                    "{n} {hook} samples of {unit}, expected {} (status {status:?})",
                    opts.rounds
                );
            }
        }
    }
    Ok(out)
}

/// Samples from `perf stat -x, --append` output preceded by `# hook HOOK` lines (no VmHWM, exit
/// status unknown: 0).
fn perf_samples(text: &str) -> Vec<HookSample> {
    let (mut unit, mut hook) = (String::new(), String::new());
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("# hook ") {
            (unit, hook) = match h.split_once(' ') {
                Some((u, h)) => (u.to_string(), h.to_string()),
                None => (String::new(), h.to_string()),
            };
            continue;
        }
        let mut f = line.split(',');
        let (Some(ms), Some(_unit), Some("task-clock")) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        if let Ok(ms) = ms.parse::<f64>() {
            out.push(HookSample {
                unit: unit.clone(),
                hook: hook.clone(),
                cpu_ns: (ms * 1e6) as u64,
                hwm_kib: 0,
                tree_cpu_ns: 0,
                exit: 0,
            });
        }
    }
    out
}

/// Median and maximum of one unit's samples of one hook: (cpu ms median, cpu ms max, hwm KiB
/// median, max).
pub fn summary(samples: &[HookSample], unit: &str, hook: &str) -> Option<(f64, f64, u64, u64)> {
    let mine = || samples.iter().filter(|s| s.unit == unit && s.hook == hook);
    let mut cpu: Vec<u64> = mine().map(|s| s.cpu_ns).collect();
    let mut hwm: Vec<u64> = mine().map(|s| s.hwm_kib).collect();
    if cpu.is_empty() {
        return None;
    }
    cpu.sort_unstable();
    hwm.sort_unstable();
    let ms = |ns: u64| ns as f64 / 1e6;
    Some((
        ms(cpu[cpu.len() / 2]),
        ms(cpu[cpu.len() - 1]),
        hwm[hwm.len() / 2],
        hwm[hwm.len() - 1],
    ))
}

/// Median and max of [`HookSample::tree_cpu_ns`] (own + reaped descendants), ms; `None` when
/// no sample of `unit`/`hook` measured it (perf mode).
pub fn tree_summary(samples: &[HookSample], unit: &str, hook: &str) -> Option<(f64, f64)> {
    let mut cpu: Vec<u64> = samples
        .iter()
        .filter(|s| s.unit == unit && s.hook == hook && s.tree_cpu_ns > 0)
        .map(|s| s.tree_cpu_ns)
        .collect();
    cpu.sort_unstable();
    let ms = |ns: u64| ns as f64 / 1e6;
    Some((ms(*cpu.get(cpu.len() / 2)?), ms(*cpu.last()?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measure(dir: &Path, script: &str) -> HookSample {
        let out = dir.join(format!("{}.jsonl", script.len()));
        let cmd: Vec<OsString> = ["/bin/sh", "-c", script]
            .iter()
            .map(OsString::from)
            .collect();
        let code = exec_measured(&out, &cmd).unwrap();
        let s: HookSample =
            serde_json::from_str(std::fs::read_to_string(&out).unwrap().trim()).unwrap();
        assert_eq!(s.exit, code);
        s
    }

    #[test]
    fn measures_a_process_not_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let busy = "i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done";
        let own = measure(dir.path(), &format!("{busy}; exit 7"));
        assert_eq!(own.exit, 7);
        assert!(own.cpu_ns > 1_000_000, "the loop costs CPU: {own:?}");
        assert!(own.hwm_kib > 100 && own.hwm_kib < 64 * 1024, "{own:?}");
        let child = measure(dir.path(), &format!("sh -c '{busy}'; exit 3"));
        assert_eq!(child.exit, 3);
        assert!(
            child.cpu_ns * 4 < own.cpu_ns,
            "a child's CPU is not counted: {child:?} vs {own:?}"
        );
        // ...but it is in the own + children figure.
        assert!(
            child.tree_cpu_ns * 2 > own.cpu_ns && child.tree_cpu_ns > child.cpu_ns,
            "own + children counts the child: {child:?} vs {own:?}"
        );
        assert!(own.tree_cpu_ns >= own.cpu_ns / 2, "{own:?}");
        assert_eq!(
            summary(std::slice::from_ref(&own), "", "").map(|x| x.2),
            Some(own.hwm_kib)
        );
    }
}
