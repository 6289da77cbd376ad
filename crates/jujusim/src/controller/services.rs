//! The simulator's `systemctl`: services of each machine, started inside its namespace from the
//! unit files the charms render under the machine's root, and supervised (Restart=).

use super::exec::{netns_command, run_bounded, Outcome};
use crate::unitfile::{self, PathUnit, RestartPolicy, ServiceUnit};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Longest stop wait the simulator honours (TimeoutStopSec is capped to this).
const MAX_STOP_WAIT: Duration = Duration::from_secs(10);
/// Bound on ExecStartPre / ExecReload / ExecStopPost commands.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(30);

/// A machine as the supervisor sees it.
#[derive(Debug, Clone)]
pub struct MachineCtx {
    /// Machine id.
    pub id: String,
    /// Its namespace.
    pub ns: String,
    /// Its root directory.
    pub root: PathBuf,
    /// Its log directory.
    pub log: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Inactive,
    Active,
    AutoRestart,
    /// A `Type=oneshot` unit running its `ExecStart=`.
    Starting,
    Failed,
}

impl State {
    fn word(self) -> &'static str {
        match self {
            State::Inactive => "inactive",
            State::Active => "active",
            State::AutoRestart | State::Starting => "activating",
            State::Failed => "failed",
        }
    }
}

/// (exists, inode, mtime ns, size): what inotify's events on a path amount to here (an atomic
/// rename always brings a new inode).
type Sig = Option<(u64, i128, u64)>;

fn sig(path: &str) -> Sig {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some((
        m.ino(),
        i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
        m.size(),
    ))
}

/// A started `.path` unit, following systemd 252's `src/core/path.c`: while its unit runs it is
/// `running` and unwatched (changes then are lost); once the unit is inactive it waits again
/// and a change of a `PathChanged=` path starts the unit. More triggers than the trigger limit
/// (200 in 2 s) or the unit hitting its start limit put it in `failed`.
struct PathWatch {
    unit: PathUnit,
    seen: Vec<Sig>,
    /// The triggered unit was running at the last look.
    was_running: bool,
    triggers: VecDeque<Instant>,
}

impl PathWatch {
    fn new(unit: PathUnit) -> PathWatch {
        let seen = unit.changed.iter().map(|p| sig(p)).collect();
        PathWatch {
            unit,
            seen,
            was_running: false,
            triggers: VecDeque::new(),
        }
    }

    fn current(&self) -> Vec<Sig> {
        self.unit.changed.iter().map(|p| sig(p)).collect()
    }
}

struct Svc {
    m: MachineCtx,
    name: String,
    enabled: bool,
    state: State,
    child: Option<Child>,
    unit: Option<ServiceUnit>,
    restart_at: Option<Instant>,
    starts: VecDeque<Instant>,
    restarts: u32,
    /// A started `.path` unit.
    path: Option<PathWatch>,
}

/// Services keyed by (machine id, unit name).
type SvcMap = BTreeMap<(String, String), Arc<Mutex<Svc>>>;

/// All services of all machines.
#[derive(Default)]
pub struct Supervisor {
    svcs: Mutex<SvcMap>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn unit_name(s: &str) -> String {
    if s.contains('.') {
        s.to_string()
    } else {
        format!("{s}.service")
    }
}

fn out(code: i32, stdout: impl Into<String>, stderr: impl Into<String>) -> Outcome {
    Outcome {
        code,
        stdout: stdout.into(),
        stderr: stderr.into(),
    }
}

fn log_line(dir: &Path, name: &str, line: &str) {
    use std::io::Write;
    let _ = std::fs::create_dir_all(dir);
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{name}.log")))
    {
        let _ = writeln!(f, "[systemd] {line}");
    }
}

impl Svc {
    fn new(m: MachineCtx, name: String) -> Svc {
        Svc {
            m,
            name,
            enabled: false,
            state: State::Inactive,
            child: None,
            unit: None,
            restart_at: None,
            starts: VecDeque::new(),
            restarts: 0,
            path: None,
        }
    }

    /// Starts a `.path` unit: parse it, note the watched paths' current state, wait.
    fn start_path(&mut self) -> Outcome {
        let text = match std::fs::read_to_string(self.unit_path()) {
            Ok(t) => t,
            Err(_) => {
                return out(
                    5,
                    "",
                    format!("Failed to start {0}: Unit {0} not found.\n", self.name),
                )
            }
        };
        match unitfile::parse_path(&text) {
            Ok(u) => {
                self.path = Some(PathWatch::new(u));
                self.state = State::Active;
                self.log("waiting for changes");
                out(0, "", "")
            }
            Err(e) => {
                self.state = State::Failed;
                out(
                    1,
                    "",
                    format!("Failed to start {}: bad unit file: {e}\n", self.name),
                )
            }
        }
    }

    /// The unit a `.path` unit starts.
    fn path_target(&self) -> String {
        self.path
            .as_ref()
            .and_then(|p| p.unit.unit.clone())
            .unwrap_or_else(|| self.name.trim_end_matches(".path").to_string() + ".service")
    }

    /// `systemctl start` of a oneshot waits for it to finish (bounded).
    fn wait_oneshot(&mut self) -> Outcome {
        let deadline = Instant::now() + CONTROL_TIMEOUT;
        while self.state == State::Starting && Instant::now() < deadline {
            self.tick();
            std::thread::sleep(Duration::from_millis(5));
        }
        match self.state {
            State::Failed => out(1, "", format!(
                "Job for {0} failed because the control process exited with error code.\nSee \"systemctl status {0}\" and \"journalctl -xeu {0}\" for details.\n",
                self.name
            )),
            _ => out(0, "", ""),
        }
    }

    fn unit_path(&self) -> PathBuf {
        self.m.root.join("etc/systemd/system").join(&self.name)
    }

    fn log(&self, line: &str) {
        log_line(&self.m.log, &self.name, line);
    }

    fn env(&self) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        if let Some(u) = &self.unit {
            env.extend(u.environment.iter().cloned());
        }
        if let Some(c) = &self.child {
            env.insert("MAINPID".into(), c.id().to_string());
        }
        env
    }

    fn expand(&self, argv: &[String]) -> Vec<String> {
        let pid = self
            .child
            .as_ref()
            .map(|c| c.id().to_string())
            .unwrap_or_default();
        argv.iter()
            .map(|a| a.replace("${MAINPID}", &pid).replace("$MAINPID", &pid))
            .collect()
    }

    /// Loads the unit file, runs ExecStartPre, spawns ExecStart.
    fn start(&mut self) -> Outcome {
        self.restart_at = None;
        if self.name.ends_with(".path") {
            return self.start_path();
        }
        let path = self.unit_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(_) => {
                return out(
                    5,
                    "",
                    format!("Failed to start {0}: Unit {0} not found.\n", self.name),
                )
            }
        };
        let unit = match unitfile::parse(&text) {
            Ok(u) => u,
            Err(e) => {
                self.state = State::Failed;
                return out(
                    1,
                    "",
                    format!("Failed to start {}: bad unit file: {e}\n", self.name),
                );
            }
        };
        for d in &unit.runtime_directories {
            let _ = std::fs::create_dir_all(self.m.root.join("run").join(d));
        }
        self.unit = Some(unit.clone());
        let now = Instant::now();
        self.starts.push_back(now);
        let (burst, interval) = unit.start_limit.unwrap_or((usize::MAX, Duration::ZERO));
        while self
            .starts
            .front()
            .is_some_and(|t| now.duration_since(*t) > interval)
        {
            self.starts.pop_front();
        }
        if self.starts.len() > burst {
            self.state = State::Failed;
            self.log("start request repeated too quickly, refusing to start");
            return out(
                1,
                "",
                format!(
                    "Job for {} failed: start request repeated too quickly.\n",
                    self.name
                ),
            );
        }
        let env = self.env();
        for pre in &unit.exec_start_pre {
            let r = run_bounded(&self.m.ns, &pre.argv, &env, CONTROL_TIMEOUT);
            self.log(&format!("ExecStartPre {:?} exited {}", pre.argv, r.code));
            if !r.stderr.is_empty() {
                self.log(r.stderr.trim_end());
            }
            if r.code != 0 && !pre.ignore_failure {
                self.fail_and_maybe_restart(&unit);
                return out(1, "", format!(
                    "Job for {0} failed because the control process exited with error code.\nSee \"systemctl status {0}\" and \"journalctl -xeu {0}\" for details.\n{1}",
                    self.name, r.stderr
                ));
            }
        }
        let _ = std::fs::create_dir_all(&self.m.log);
        let logf = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.m.log.join(format!("{}.log", self.name)));
        let (o, e) = match logf.and_then(|f| Ok((f.try_clone()?, f))) {
            Ok((a, b)) => (Stdio::from(a), Stdio::from(b)),
            Err(_) => (Stdio::null(), Stdio::null()),
        };
        let mut c = netns_command(&self.m.ns, &unit.exec_start.argv, &env);
        c.stdin(Stdio::null()).stdout(o).stderr(e).process_group(0);
        match c.spawn() {
            Ok(ch) => {
                self.log(&format!(
                    "started {:?} as pid {}",
                    unit.exec_start.argv,
                    ch.id()
                ));
                self.child = Some(ch);
                self.state = if unit.oneshot {
                    State::Starting
                } else {
                    State::Active
                };
                out(0, "", "")
            }
            Err(err) => {
                self.fail_and_maybe_restart(&unit);
                out(1, "", format!("Failed to start {}: {err}\n", self.name))
            }
        }
    }

    fn fail_and_maybe_restart(&mut self, unit: &ServiceUnit) {
        if unit.restart != RestartPolicy::No {
            self.state = State::AutoRestart;
            self.restart_at = Some(Instant::now() + unit.restart_sec);
        } else {
            self.state = State::Failed;
        }
    }

    /// SIGTERM, bounded wait, SIGKILL, then ExecStopPost.
    fn stop(&mut self, run_stop_post: bool) -> Outcome {
        self.restart_at = None;
        let wait = self
            .unit
            .as_ref()
            .map(|u| u.timeout_stop.min(MAX_STOP_WAIT))
            .unwrap_or(MAX_STOP_WAIT);
        if let Some(mut ch) = self.child.take() {
            let pgid = Pid::from_raw(ch.id() as i32);
            let _ = killpg(pgid, Signal::SIGTERM);
            let deadline = Instant::now() + wait;
            let mut status = None;
            while Instant::now() < deadline {
                if let Ok(Some(s)) = ch.try_wait() {
                    status = Some(s);
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            // Stragglers of the group (and the leader, if it ignored SIGTERM) get SIGKILL.
            let _ = killpg(pgid, Signal::SIGKILL);
            if status.is_none() {
                status = ch.wait().ok();
                self.log("stop timed out, killed");
            }
            self.log(&format!("stopped ({status:?})"));
        }
        self.path = None;
        if run_stop_post {
            if let Some(u) = self.unit.clone() {
                let env = self.env();
                for post in &u.exec_stop_post {
                    let r = run_bounded(&self.m.ns, &post.argv, &env, CONTROL_TIMEOUT);
                    self.log(&format!("ExecStopPost {:?} exited {}", post.argv, r.code));
                }
            }
        }
        if self.state != State::Failed {
            self.state = State::Inactive;
        }
        out(0, "", "")
    }

    fn reload(&mut self) -> Outcome {
        if self.state != State::Active || self.child.is_none() {
            return out(
                1,
                "",
                format!("{} is not active, cannot reload.\n", self.name),
            );
        }
        let reload = self
            .unit
            .as_ref()
            .map(|u| u.exec_reload.clone())
            .unwrap_or_default();
        if reload.is_empty() {
            if let Some(c) = &self.child {
                let _ = nix::sys::signal::kill(Pid::from_raw(c.id() as i32), Signal::SIGHUP);
            }
            self.log("reloaded (SIGHUP)");
            return out(0, "", "");
        }
        let env = self.env();
        for r in &reload {
            let argv = self.expand(&r.argv);
            let res = run_bounded(&self.m.ns, &argv, &env, CONTROL_TIMEOUT);
            self.log(&format!("ExecReload {argv:?} exited {}", res.code));
            if res.code != 0 && !r.ignore_failure {
                return out(
                    1,
                    "",
                    format!("Job for {} failed (reload).\n{}", self.name, res.stderr),
                );
            }
        }
        out(0, "", "")
    }

    /// Reaps a died main process and applies Restart=; starts a due restart.
    fn tick(&mut self) {
        let exited = self
            .child
            .as_mut()
            .and_then(|ch| ch.try_wait().ok().flatten().map(|st| (st, ch.id())));
        if let Some((status, pid)) = exited {
            {
                self.child = None;
                // Group stragglers go with their leader.
                let _ = killpg(Pid::from_raw(pid as i32), Signal::SIGKILL);
                self.log(&format!("main process exited: {status}"));
                let unit = self.unit.clone();
                let oneshot = unit.as_ref().is_some_and(|u| u.oneshot);
                let restart = !oneshot
                    && unit.as_ref().is_some_and(|u| match u.restart {
                        RestartPolicy::Always => true,
                        RestartPolicy::OnFailure => !status.success(),
                        RestartPolicy::No => false,
                    });
                if let (true, Some(u)) = (restart, unit) {
                    self.state = State::AutoRestart;
                    self.restart_at = Some(Instant::now() + u.restart_sec);
                } else {
                    self.state = if status.success() {
                        State::Inactive
                    } else {
                        State::Failed
                    };
                }
            }
        }
        if self.restart_at.is_some_and(|t| Instant::now() >= t) {
            self.restarts += 1;
            self.log("scheduled restart");
            let r = self.start();
            if r.code != 0 {
                self.log(r.stderr.trim_end());
            }
        }
    }
}

impl Supervisor {
    fn get(&self, m: &MachineCtx, name: &str) -> Arc<Mutex<Svc>> {
        let mut svcs = lock(&self.svcs);
        svcs.entry((m.id.clone(), name.to_string()))
            .or_insert_with(|| Arc::new(Mutex::new(Svc::new(m.clone(), name.to_string()))))
            .clone()
    }

    /// Runs `systemctl args…` for machine `m`.
    pub fn systemctl(&self, m: &MachineCtx, args: &[String]) -> Outcome {
        let mut now = false;
        let mut words = Vec::new();
        for a in args {
            match a.as_str() {
                "--now" => now = true,
                s if s.starts_with('-') => {}
                s => words.push(s.to_string()),
            }
        }
        let Some((cmd, names)) = words.split_first() else {
            return out(1, "", "systemctl: missing command\n");
        };
        if cmd == "daemon-reload" {
            return out(0, "", "");
        }
        if names.is_empty() {
            return out(1, "", format!("Too few arguments for {cmd}.\n"));
        }
        let mut result = out(0, "", "");
        for n in names {
            let name = unit_name(n);
            let svc = self.get(m, &name);
            let mut s = lock(&svc);
            let r = match cmd.as_str() {
                "enable" => {
                    s.enabled = true;
                    if now && s.state != State::Active {
                        s.start()
                    } else {
                        out(0, "", "")
                    }
                }
                "disable" => {
                    s.enabled = false;
                    if now {
                        s.stop(true)
                    } else {
                        out(0, "", "")
                    }
                }
                "start" if matches!(s.state, State::Active | State::Starting) => out(0, "", ""),
                "start" => match s.start() {
                    o if o.code == 0 && s.state == State::Starting => s.wait_oneshot(),
                    o => o,
                },
                "restart" => {
                    if s.child.is_some() {
                        s.stop(true);
                    }
                    s.start()
                }
                "try-restart" if s.state == State::Active => {
                    s.stop(true);
                    s.start()
                }
                "try-restart" => out(0, "", ""),
                "stop" => s.stop(true),
                "reload" => s.reload(),
                "reload-or-restart" if s.state == State::Active => s.reload(),
                "reload-or-restart" => s.start(),
                "is-active" => {
                    let w = s.state.word();
                    out(
                        if s.state == State::Active { 0 } else { 3 },
                        format!("{w}\n"),
                        "",
                    )
                }
                "is-failed" => {
                    let w = s.state.word();
                    out(
                        if s.state == State::Failed { 0 } else { 1 },
                        format!("{w}\n"),
                        "",
                    )
                }
                "is-enabled" => {
                    if s.enabled {
                        out(0, "enabled\n", "")
                    } else {
                        out(1, "disabled\n", "")
                    }
                }
                "reset-failed" => {
                    if s.state == State::Failed {
                        s.state = State::Inactive;
                    }
                    s.starts.clear();
                    out(0, "", "")
                }
                "status" => {
                    let pid = s
                        .child
                        .as_ref()
                        .map(|c| c.id().to_string())
                        .unwrap_or("-".into());
                    let text = format!(
                        "● {}\n     Loaded: loaded ({}; {})\n     Active: {}\n   Main PID: {}\n",
                        s.name,
                        s.unit_path().display(),
                        if s.enabled { "enabled" } else { "disabled" },
                        s.state.word(),
                        pid
                    );
                    out(if s.state == State::Active { 0 } else { 3 }, text, "")
                }
                other => out(1, "", format!("Unknown command verb {other}.\n")),
            };
            if r.code != 0 || result.code == 0 {
                let (so, se) = (
                    result.stdout.clone() + &r.stdout,
                    result.stderr.clone() + &r.stderr,
                );
                result = out(if r.code != 0 { r.code } else { result.code }, so, se);
            } else {
                result.stdout.push_str(&r.stdout);
            }
        }
        result
    }

    /// Applies Restart= to every service and follows the started `.path` units (called
    /// periodically).
    pub fn tick(&self) {
        let all: Vec<_> = lock(&self.svcs).values().cloned().collect();
        for s in &all {
            if let Ok(mut s) = s.try_lock() {
                s.tick();
            }
        }
        for p in &all {
            self.tick_path(p);
        }
    }

    /// One look at a `.path` unit. Only this (the supervisor's) thread ever holds two service
    /// locks (the target's, then the path unit's), and never blocks on either.
    fn tick_path(&self, p: &Arc<Mutex<Svc>>) {
        let (m, target) = {
            let Ok(ps) = p.try_lock() else { return };
            if ps.path.is_none() || ps.state != State::Active {
                return;
            }
            (ps.m.clone(), ps.path_target())
        };
        let t = self.get(&m, &target);
        let Ok(mut ts) = t.try_lock() else { return };
        let running = ts.child.is_some() || ts.state == State::Starting;
        let Ok(mut ps) = p.try_lock() else { return };
        let Some(w) = ps.path.as_mut() else { return };
        let now_sig = w.current();
        let just_finished = w.was_running && !running;
        w.was_running = running;
        if running || just_finished {
            // Unwatched while the unit runs: what changed meanwhile is not an event.
            w.seen = now_sig;
            return;
        }
        if now_sig == w.seen {
            return;
        }
        w.seen = now_sig;
        let now = Instant::now();
        let (burst, interval) = w.unit.trigger_limit;
        w.triggers.retain(|t| now.duration_since(*t) < interval);
        w.triggers.push_back(now);
        if w.triggers.len() > burst as usize {
            ps.state = State::Failed;
            ps.path = None;
            ps.log("Trigger limit hit, refusing further activation.");
            return;
        }
        ps.log(&format!("triggered {target}"));
        let o = ts.start();
        if o.code != 0 {
            ps.log(o.stderr.trim_end());
            if o.stderr.contains("repeated too quickly") {
                ps.state = State::Failed;
                ps.path = None;
                ps.log(&format!(
                    "Unit {target} start limit hit, refusing further activation."
                ));
            }
        } else if let Some(w) = ps.path.as_mut() {
            w.was_running = true;
        }
    }

    /// Stops every service of machine `id` (its machine is going away).
    pub fn stop_machine(&self, id: &str, run_stop_post: bool) {
        let all: Vec<_> = lock(&self.svcs)
            .iter()
            .filter(|((m, _), _)| m == id)
            .map(|(_, s)| s.clone())
            .collect();
        for s in all {
            lock(&s).stop(run_stop_post);
        }
        lock(&self.svcs).retain(|(m, _), _| m != id);
    }

    /// Reboots machine `m`: every service stops as systemd stops it at shutdown (ExecStop,
    /// ExecStopPost), `run_dir` (the machine's tmpfs `/run`) is emptied, and the enabled
    /// services start as at boot. Services keep their enablement.
    pub fn reboot_machine(&self, m: &MachineCtx, run_dir: &Path) {
        let all: Vec<_> = lock(&self.svcs)
            .iter()
            .filter(|((id, _), _)| *id == m.id)
            .map(|(_, s)| s.clone())
            .collect();
        for s in &all {
            let mut s = lock(s);
            if s.child.is_some() || s.state == State::Active {
                s.stop(true);
            }
        }
        if let Ok(entries) = std::fs::read_dir(run_dir) {
            for e in entries.flatten() {
                let p = e.path();
                let _ = if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                };
            }
        }
        for s in &all {
            let mut s = lock(s);
            if s.enabled {
                s.starts.clear();
                let o = s.start();
                if o.code != 0 {
                    s.log(&format!("boot: start failed: {}", o.stderr.trim_end()));
                }
            }
        }
    }

    /// Stops everything (shutdown); no ExecStopPost since the namespaces go away.
    pub fn stop_all(&self) {
        let ids: Vec<String> = lock(&self.svcs).keys().map(|(m, _)| m.clone()).collect();
        for id in ids {
            self.stop_machine(&id, false);
        }
    }

    /// A listing for `juju`'s own inspection.
    pub fn list(&self) -> Value {
        let all: Vec<_> = lock(&self.svcs).values().cloned().collect();
        let rows: Vec<Value> = all
            .iter()
            .map(|s| {
                let s = lock(s);
                json!({
                    "machine": s.m.id, "name": s.name, "state": s.state.word(),
                    "enabled": s.enabled, "restarts": s.restarts,
                    "pid": s.child.as_ref().map(|c| c.id()),
                })
            })
            .collect();
        Value::Array(rows)
    }
}
