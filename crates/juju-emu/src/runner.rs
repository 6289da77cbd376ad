//! The hook runner: builds the environment (docs/juju-hook-environment.md §1) from scratch,
//! installs the hook-tool symlinks, execs the charm's handler under the machine lock, and commits
//! or discards the context.

use crate::context::HookContext;
use crate::error::{Error, Result};
use crate::hook::{HookKind, HookRecord, HookSpec};
use crate::model::Status;
use crate::store::Store;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The default base PATH behind the tools dir.
pub const DEFAULT_BASE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Environment variable naming a program (and its arguments, whitespace-separated) that every
/// hook handler is run through: `JUJU_EMU_HANDLER_WRAPPER=qemu-aarch64-static` runs an arm64
/// charm. Read by [`RunnerOptions::new`]; see [`RunnerOptions::handler_wrapper`].
pub const HANDLER_WRAPPER_ENV: &str = "JUJU_EMU_HANDLER_WRAPPER";

/// The handler wrapper a value of [`HANDLER_WRAPPER_ENV`] names (unset or blank: none).
pub fn handler_wrapper_from(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// How hooks are executed.
#[derive(Debug, Clone)]
pub struct RunnerOptions {
    /// The multi-call `juju-hook-tool` executable the tool symlinks point at.
    pub hook_tool: PathBuf,
    /// Extra variables added to (or overriding) the hook environment, e.g. `KEEPALIVED_CHARM_ROOT`.
    pub extra_env: Vec<(String, String)>,
    /// Directories placed in PATH right after the tools dir (fake `systemctl`, `sysctl`…).
    pub path_prefix: Vec<PathBuf>,
    /// The rest of PATH.
    pub base_path: String,
    /// Command prefix wrapping the handler, e.g. `["ip", "netns", "exec", "ns1"]`.
    pub command_prefix: Vec<String>,
    /// The program that executes the handler itself, placed right before it (after
    /// `command_prefix`): e.g. `["qemu-aarch64-static"]` to run an arm64 charm's `dispatch` on an
    /// amd64 host without binfmt_misc. Empty: the handler is exec'd directly. Defaults to
    /// [`HANDLER_WRAPPER_ENV`] split on whitespace.
    pub handler_wrapper: Vec<String>,
    /// Per-hook time limit; the handler is killed (exit -1, hook failed) when exceeded.
    pub timeout: Duration,
    /// `settle()` gives up after this many hooks.
    pub max_settle_hooks: usize,
}

impl RunnerOptions {
    /// Options with the given hook tool and defaults for everything else.
    pub fn new(hook_tool: impl Into<PathBuf>) -> RunnerOptions {
        RunnerOptions {
            hook_tool: hook_tool.into(),
            extra_env: Vec::new(),
            path_prefix: Vec::new(),
            base_path: DEFAULT_BASE_PATH.to_string(),
            command_prefix: Vec::new(),
            handler_wrapper: handler_wrapper_from(
                std::env::var(HANDLER_WRAPPER_ENV).ok().as_deref(),
            ),
            timeout: Duration::from_secs(120),
            max_settle_hooks: 500,
        }
    }
}

fn sanitize(id: &str) -> String {
    id.replace('/', "-")
}

/// The environment of a hook (docs/juju-hook-environment.md §1), without the tools dir / socket
/// parts filled by the caller.
pub(crate) fn hook_env(
    m: &crate::model::Model,
    unit: &str,
    spec: &HookSpec,
    ctx_id: &str,
    socket: &Path,
    tools_dir: &Path,
    opts: &RunnerOptions,
) -> Result<BTreeMap<String, String>> {
    let u = m.unit(unit)?;
    let app = m.app(&u.app)?;
    let charm_dir = app.charm_dir.display().to_string();
    let mut env = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        env.insert(k.to_string(), v);
    };
    set("JUJU_DISPATCH_PATH", spec.dispatch_path());
    set(
        "JUJU_HOOK_NAME",
        if spec.kind == HookKind::Action {
            String::new()
        } else {
            spec.name()
        },
    );
    set("JUJU_UNIT_NAME", unit.to_string());
    set("JUJU_CHARM_DIR", charm_dir.clone());
    set("CHARM_DIR", charm_dir);
    set("JUJU_CONTEXT_ID", ctx_id.to_string());
    set("JUJU_AGENT_SOCKET_ADDRESS", socket.display().to_string());
    set("JUJU_AGENT_SOCKET_NETWORK", "unix".into());
    set("JUJU_MODEL_UUID", m.info.uuid.clone());
    set("JUJU_MODEL_NAME", m.info.name.clone());
    set("JUJU_API_ADDRESSES", m.info.api_addresses.clone());
    set("JUJU_MACHINE_ID", u.machine.clone());
    set(
        "JUJU_PRINCIPAL_UNIT",
        u.principal.clone().unwrap_or_default(),
    );
    set("JUJU_AVAILABILITY_ZONE", m.info.availability_zone.clone());
    set("JUJU_VERSION", m.info.juju_version.clone());
    set("CLOUD_API_VERSION", String::new());
    for p in [
        "JUJU_CHARM_HTTP_PROXY",
        "JUJU_CHARM_HTTPS_PROXY",
        "JUJU_CHARM_FTP_PROXY",
        "JUJU_CHARM_NO_PROXY",
    ] {
        set(p, String::new());
    }
    let mut path: Vec<String> = vec![tools_dir.display().to_string()];
    path.extend(opts.path_prefix.iter().map(|p| p.display().to_string()));
    if !opts.base_path.is_empty() {
        path.push(opts.base_path.clone());
    }
    set("PATH", path.join(":"));
    set("LANG", "C.UTF-8".into());
    set("TERM", "tmux-256color".into());
    set("DEBIAN_FRONTEND", "noninteractive".into());
    set("APT_LISTCHANGES_FRONTEND", "none".into());
    if let Some(r) = &spec.relation {
        set("JUJU_RELATION", r.endpoint.clone());
        set("JUJU_RELATION_ID", format!("{}:{}", r.endpoint, r.id));
        set("JUJU_REMOTE_APP", r.remote_app.clone());
        set("JUJU_REMOTE_UNIT", r.remote_unit.clone());
        if let Some(d) = r.departing_unit.as_ref().filter(|d| !d.is_empty()) {
            set("JUJU_DEPARTING_UNIT", d.clone());
        }
    }
    if let Some(a) = &spec.action {
        set("JUJU_ACTION_NAME", a.name.clone());
        set("JUJU_ACTION_UUID", a.uuid.clone());
        set("JUJU_ACTION_TAG", format!("action-{}", a.uuid));
    }
    if let Some(b) = &spec.target_base {
        set("JUJU_TARGET_BASE", b.clone());
        set("JUJU_TARGET_SERIES", series_of(b));
    }
    for (k, v) in &opts.extra_env {
        env.insert(k.clone(), v.clone());
    }
    Ok(env)
}

fn series_of(base: &str) -> String {
    match base.strip_prefix("ubuntu@") {
        Some("20.04") => "focal",
        Some("22.04") => "jammy",
        Some("24.04") => "noble",
        Some("18.04") => "bionic",
        _ => "",
    }
    .to_string()
}

/// The handler to exec, or `None` when the hook is missing (counts as success).
fn discover_handler(
    charm_dir: &Path,
    spec: &HookSpec,
) -> std::result::Result<Option<PathBuf>, String> {
    use std::os::unix::fs::PermissionsExt;
    if !charm_dir.join("metadata.yaml").exists() {
        return Err("charm missing from disk".into());
    }
    let executable = |p: &Path| {
        p.metadata()
            .map(|md| md.is_file() && md.permissions().mode() & 0o111 != 0)
    };
    let dispatch = charm_dir.join("dispatch");
    if dispatch.exists() {
        return match executable(&dispatch) {
            Ok(true) => Ok(Some(dispatch)),
            _ => Err(format!(
                "exec: {:?}: permission denied",
                dispatch.display().to_string()
            )),
        };
    }
    let legacy = if spec.kind == HookKind::Action {
        charm_dir.join("actions").join(spec.name())
    } else {
        charm_dir.join("hooks").join(spec.name())
    };
    if legacy.exists() && executable(&legacy).unwrap_or(false) {
        return Ok(Some(legacy));
    }
    Ok(None)
}

fn reader_thread(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

/// A hook context that is open: its tools dir and environment exist until [`end_hook`].
#[derive(Debug, Clone)]
pub struct HookSession {
    /// Unit running the hook.
    pub unit: String,
    /// The hook.
    pub spec: HookSpec,
    /// `JUJU_CONTEXT_ID`.
    pub context_id: String,
    /// Directory holding the context file and tools dir (removed by [`end_hook`]).
    pub dir: PathBuf,
    /// The context file (`JUJU_AGENT_SOCKET_ADDRESS`).
    pub socket: PathBuf,
    /// The tools dir (hook-tool symlinks), first in PATH.
    pub tools_dir: PathBuf,
    /// The full hook environment.
    pub env: BTreeMap<String, String>,
    /// Charm directory (the hook's cwd).
    pub charm_dir: PathBuf,
    /// Machine id (for the machine lock).
    pub machine: String,
}

impl HookSession {
    /// Runs hook tool `name` of this context with `args` (and optional stdin) as a hook would:
    /// through its symlink, with the hook env, cwd = charm dir.
    pub fn tool(
        &self,
        name: &str,
        args: &[&str],
        stdin: Option<&str>,
    ) -> Result<std::process::Output> {
        use std::io::Write;
        let mut cmd = Command::new(self.tools_dir.join(name));
        cmd.args(args)
            .current_dir(&self.charm_dir)
            .env_clear()
            .envs(&self.env)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| Error::io(self.tools_dir.join(name), e))?;
        if let (Some(data), Some(mut w)) = (stdin, child.stdin.take()) {
            w.write_all(data.as_bytes())
                .map_err(|e| Error::io(self.tools_dir.join(name), e))?;
        }
        child
            .wait_with_output()
            .map_err(|e| Error::io(self.tools_dir.join(name), e))
    }
}

/// Opens the context of `spec` on `unit`: prepares the model (scope entry, agent-set statuses),
/// writes the context file and the tool symlinks, and builds the environment.
pub fn begin_hook(
    store: &Store,
    opts: &RunnerOptions,
    unit: &str,
    spec: &HookSpec,
) -> Result<HookSession> {
    let context_id = format!("{unit}-{}-{}", spec.name(), crate::fsutil::random_hex(16));
    let dir = store.contexts_dir().join(sanitize(&context_id));
    let tools_dir = dir.join("tools");
    std::fs::create_dir_all(&tools_dir).map_err(|e| Error::io(&tools_dir, e))?;
    for t in crate::tools::TOOL_NAMES {
        let link = tools_dir.join(t);
        std::os::unix::fs::symlink(&opts.hook_tool, &link).map_err(|e| Error::io(&link, e))?;
    }
    let socket = dir.join("context.json");
    let (env, charm_dir, machine) = store.update(|m| {
        crate::resolver::prepare(m, unit, spec)?;
        let ctx = HookContext::build(m, store.dir(), unit, spec, context_id.clone())?;
        ctx.save(&socket)?;
        let env = hook_env(m, unit, spec, &context_id, &socket, &tools_dir, opts)?;
        let u = m.unit(unit)?.clone();
        let charm_dir = m.app(&u.app)?.charm_dir.clone();
        Ok((env, charm_dir, u.machine))
    })?;
    Ok(HookSession {
        unit: unit.to_string(),
        spec: spec.clone(),
        context_id,
        dir,
        socket,
        tools_dir,
        env,
        charm_dir,
        machine,
    })
}

/// Closes a context: commits (exit 0) or discards, advances the agent state, removes the
/// context dir and appends the hook record.
pub fn end_hook(
    store: &Store,
    session: &HookSession,
    exit_code: i32,
    missing: bool,
    stdout: String,
    stderr: String,
) -> Result<HookRecord> {
    let ctx = HookContext::load(&session.socket)?;
    let ok = exit_code == 0;
    let (unit, spec) = (&session.unit, &session.spec);
    store.update(|m| crate::resolver::finish(m, unit, spec, &ctx, ok))?;
    let _ = std::fs::remove_dir_all(&session.dir);
    let record = HookRecord {
        unit: unit.clone(),
        hook: spec.name(),
        dispatch_path: spec.dispatch_path(),
        spec: spec.clone(),
        env: session.env.clone(),
        exit_code,
        missing,
        stdout,
        stderr,
        logs: ctx.logs.clone(),
    };
    store.append_hook_record(&record)?;
    if let Some(a) = &spec.action {
        let result = crate::emulator::ActionResult::from_run(&record, ctx.action.as_ref());
        let value = serde_json::to_value(&result).map_err(|e| Error::Invalid(e.to_string()))?;
        store.update(|m| {
            m.action_results.insert(a.uuid.clone(), value);
            Ok(())
        })?;
    }
    Ok(record)
}

/// Runs `spec` on `unit` now (no resolver checks) under the machine lock, commits on exit 0,
/// discards otherwise, and records the result in the hook log.
pub fn run_hook(
    store: &Store,
    opts: &RunnerOptions,
    unit: &str,
    spec: &HookSpec,
) -> Result<HookRecord> {
    let session = begin_hook(store, opts, unit, spec)?;
    let (exit_code, missing, stdout, stderr) = {
        let _machine_lock = store.machine_lock(&session.machine)?;
        exec_handler(opts, &session.charm_dir, spec, &session.env)
    };
    end_hook(store, &session, exit_code, missing, stdout, stderr)
}

/// Returns (exit code, missing handler, stdout, stderr).
fn exec_handler(
    opts: &RunnerOptions,
    charm_dir: &Path,
    spec: &HookSpec,
    env: &BTreeMap<String, String>,
) -> (i32, bool, String, String) {
    let handler = match discover_handler(charm_dir, spec) {
        Ok(Some(h)) => h,
        Ok(None) => return (0, true, String::new(), String::new()),
        Err(msg) => return (1, false, String::new(), msg),
    };
    let mut argv: Vec<String> = opts.command_prefix.clone();
    argv.extend(opts.handler_wrapper.iter().cloned());
    argv.push(handler.display().to_string());
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .current_dir(charm_dir)
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return (
                1,
                false,
                String::new(),
                format!("fork/exec {}: {e}", argv[0]),
            )
        }
    };
    let out_t = child.stdout.take().map(reader_thread);
    let err_t = child.stderr.take().map(reader_thread);
    let deadline = Instant::now() + opts.timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(_) => break None,
        }
    };
    let join = |t: Option<std::thread::JoinHandle<Vec<u8>>>| {
        t.and_then(|h| h.join().ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    let stdout = join(out_t);
    let mut stderr = join(err_t);
    let code = match status {
        Some(s) => s.code().unwrap_or(-1),
        None => {
            stderr.push_str("\nhook timed out and was killed\n");
            -1
        }
    };
    (code, false, stdout, stderr)
}

/// Sets an agent status on a unit (helper for the resolver).
pub(crate) fn agent_status(u: &mut crate::model::Unit, status: &str, message: &str) {
    u.agent_status = Status::new(status, message);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handler_wrapper_is_split_on_whitespace() {
        assert!(handler_wrapper_from(None).is_empty());
        assert!(handler_wrapper_from(Some("  ")).is_empty());
        assert_eq!(
            handler_wrapper_from(Some("qemu-aarch64-static  -cpu max")),
            vec!["qemu-aarch64-static", "-cpu", "max"]
        );
    }

    /// The wrapper runs after the command prefix and is handed the handler's path.
    #[test]
    fn the_handler_runs_through_prefix_then_wrapper() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("metadata.yaml"), "name: t\n").unwrap();
        let dispatch = dir.path().join("dispatch");
        std::fs::write(
            &dispatch,
            "#!/bin/sh\necho \"dispatch $JUJU_DISPATCH_PATH\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&dispatch, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut opts = RunnerOptions::new("/nonexistent-hook-tool");
        opts.command_prefix = vec![
            "sh".into(),
            "-c".into(),
            "echo prefix; exec \"$@\"".into(),
            "prefix".into(),
        ];
        opts.handler_wrapper = vec![
            "sh".into(),
            "-c".into(),
            "echo \"wrapper $1\"; exec \"$1\"".into(),
            "wrapper".into(),
        ];
        let spec = HookSpec::simple(HookKind::Install);
        let mut env = BTreeMap::new();
        env.insert("PATH".to_string(), DEFAULT_BASE_PATH.to_string());
        env.insert("JUJU_DISPATCH_PATH".to_string(), spec.dispatch_path());
        let (code, missing, stdout, stderr) = exec_handler(&opts, dir.path(), &spec, &env);
        assert_eq!((code, missing), (0, false), "{stderr}");
        assert_eq!(
            stdout,
            format!(
                "prefix\nwrapper {}\ndispatch hooks/install\n",
                dispatch.display()
            )
        );
    }
}
