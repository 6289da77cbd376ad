//! Typed client over the Juju hook tools, run as processes found on `PATH`
//! (or in an explicit directory). Call forms follow docs/juju-hook-environment.md §2.
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde::de::DeserializeOwned;
use serde_json::Value;

/// A relation data bag: string keys to string values.
pub type Bag = BTreeMap<String, String>;

/// Errors from running a hook tool.
#[derive(Debug, thiserror::Error)]
pub enum HookToolError {
    /// The tool could not be started (not on PATH, not executable, ...).
    #[error("cannot run hook tool {tool}: {source}")]
    Spawn {
        /// Tool name.
        tool: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The relation id is unknown to Juju (`relation not found`).
    #[error("{tool}: relation not found: {stderr}")]
    RelationNotFound {
        /// Tool name.
        tool: String,
        /// The tool's stderr.
        stderr: String,
    },
    /// Juju refused the access (`permission denied`, `cannot write relation settings`, not leader).
    #[error("{tool}: permission denied: {stderr}")]
    PermissionDenied {
        /// Tool name.
        tool: String,
        /// The tool's stderr.
        stderr: String,
    },
    /// An action tool was used outside an action.
    #[error("{tool}: not running an action")]
    NotInAction {
        /// Tool name.
        tool: String,
    },
    /// Any other non-zero exit.
    #[error("{tool} {args} exited with {code}: {stderr}")]
    Failed {
        /// Tool name.
        tool: String,
        /// Arguments, space-joined, for the message.
        args: String,
        /// Exit code (-1 when killed by a signal).
        code: i32,
        /// The tool's stderr.
        stderr: String,
    },
    /// The tool succeeded but printed something we cannot decode.
    #[error("{tool}: cannot decode output {stdout:?}: {reason}")]
    BadOutput {
        /// Tool name.
        tool: String,
        /// What was printed.
        stdout: String,
        /// Why it could not be decoded.
        reason: String,
    },
}

/// One planned tool run: the tool, its arguments and optional stdin. Built by pure functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// Tool name, e.g. `relation-get`.
    pub tool: &'static str,
    /// Arguments.
    pub args: Vec<String>,
    /// Bytes for stdin, if the tool reads it (`--file -`).
    pub stdin: Option<Vec<u8>>,
}

impl Invocation {
    fn new(tool: &'static str, args: &[&str]) -> Self {
        Self {
            tool,
            args: args.iter().map(|s| s.to_string()).collect(),
            stdin: None,
        }
    }
}

/// Workload status levels a charm may set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusLevel {
    /// `maintenance`
    Maintenance,
    /// `blocked`
    Blocked,
    /// `waiting`
    Waiting,
    /// `active`
    Active,
}

impl StatusLevel {
    /// The word Juju uses.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusLevel::Maintenance => "maintenance",
            StatusLevel::Blocked => "blocked",
            StatusLevel::Waiting => "waiting",
            StatusLevel::Active => "active",
        }
    }
}

/// `juju-log` levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// DEBUG
    Debug,
    /// INFO
    Info,
    /// WARNING
    Warning,
    /// ERROR
    Error,
}

impl LogLevel {
    fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warning => "WARNING",
            LogLevel::Error => "ERROR",
        }
    }
}

/// Argument forms of every tool the charm uses (pure; see the unit tests).
pub mod forms {
    use super::*;

    /// `config-get --format=json`
    pub fn config_get() -> Invocation {
        Invocation::new("config-get", &["--format=json"])
    }
    /// `relation-ids --format=json ENDPOINT`
    pub fn relation_ids(endpoint: &str) -> Invocation {
        Invocation::new("relation-ids", &["--format=json", endpoint])
    }
    /// `relation-list --format=json -r ID`
    pub fn relation_list(rel_id: &str) -> Invocation {
        Invocation::new("relation-list", &["--format=json", "-r", rel_id])
    }
    /// `relation-get --format=json -r ID - UNIT`
    pub fn relation_get(rel_id: &str, unit: &str) -> Invocation {
        Invocation::new("relation-get", &["--format=json", "-r", rel_id, "-", unit])
    }
    /// `relation-set -r ID --file -` with a JSON object on stdin (`""` deletes a key).
    pub fn relation_set(rel_id: &str, values: &Bag) -> Invocation {
        let mut inv = Invocation::new("relation-set", &["-r", rel_id, "--file", "-"]);
        // A BTreeMap of strings always serialises.
        inv.stdin = Some(serde_json::to_vec(values).unwrap_or_default());
        inv
    }
    /// `status-set LEVEL -- MESSAGE`
    pub fn status_set(level: StatusLevel, message: &str) -> Invocation {
        Invocation::new("status-set", &[level.as_str(), "--", message])
    }
    /// `status-set --application LEVEL -- MESSAGE`
    pub fn status_set_application(level: StatusLevel, message: &str) -> Invocation {
        Invocation::new(
            "status-set",
            &["--application", level.as_str(), "--", message],
        )
    }
    /// `is-leader --format=json`
    pub fn is_leader() -> Invocation {
        Invocation::new("is-leader", &["--format=json"])
    }
    /// `juju-log --log-level LEVEL -- MESSAGE`
    pub fn juju_log(level: LogLevel, message: &str) -> Invocation {
        Invocation::new("juju-log", &["--log-level", level.as_str(), "--", message])
    }
    /// `application-version-set -- VERSION`
    pub fn application_version_set(version: &str) -> Invocation {
        Invocation::new("application-version-set", &["--", version])
    }
    /// `state-get --format=json` (the unit's charm state; `{}` or `null` when empty)
    pub fn state_get() -> Invocation {
        Invocation::new("state-get", &["--format=json"])
    }
    /// `state-set --file -` with a JSON object on stdin
    pub fn state_set(values: &Bag) -> Invocation {
        let mut inv = Invocation::new("state-set", &["--file", "-"]);
        // A BTreeMap of strings always serialises.
        inv.stdin = Some(serde_json::to_vec(values).unwrap_or_default());
        inv
    }
    /// `state-delete KEY`
    pub fn state_delete(key: &str) -> Invocation {
        Invocation::new("state-delete", &[key])
    }
    /// `action-get --format=json`
    pub fn action_get() -> Invocation {
        Invocation::new("action-get", &["--format=json"])
    }
    /// `action-set k=v ...`
    pub fn action_set(values: &Bag) -> Invocation {
        let args: Vec<String> = values.iter().map(|(k, v)| format!("{k}={v}")).collect();
        Invocation {
            tool: "action-set",
            args,
            stdin: None,
        }
    }
    /// `action-fail -- MESSAGE`
    pub fn action_fail(message: &str) -> Invocation {
        Invocation::new("action-fail", &["--", message])
    }
}

/// Runs hook tools as processes.
#[derive(Debug, Clone, Default)]
pub struct HookTools {
    dir: Option<PathBuf>,
}

impl HookTools {
    /// Tools looked up on `PATH` (Juju puts its tools directory first).
    pub fn from_path() -> Self {
        Self { dir: None }
    }

    /// Tools taken from one directory.
    pub fn in_dir(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: Some(dir.into()),
        }
    }

    /// Runs one invocation and returns its stdout.
    pub fn run(&self, inv: &Invocation) -> Result<String, HookToolError> {
        let program = match &self.dir {
            Some(d) => d.join(inv.tool),
            None => PathBuf::from(inv.tool),
        };
        let mut cmd = Command::new(program);
        cmd.args(&inv.args)
            .stdin(if inv.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let spawn_err = |source| HookToolError::Spawn {
            tool: inv.tool.to_string(),
            source,
        };
        let mut child = cmd.spawn().map_err(spawn_err)?;
        if let (Some(data), Some(mut pipe)) = (&inv.stdin, child.stdin.take()) {
            // A tool that exits without reading stdin is judged by its exit status, not by EPIPE.
            if let Err(e) = pipe.write_all(data) {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(spawn_err(e));
                }
            }
        }
        let out = child.wait_with_output().map_err(spawn_err)?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            return Ok(stdout);
        }
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        Err(classify(inv, out.status.code().unwrap_or(-1), stderr))
    }

    fn json<T: DeserializeOwned>(&self, inv: &Invocation) -> Result<T, HookToolError> {
        let out = self.run(inv)?;
        serde_json::from_str(out.trim()).map_err(|e| HookToolError::BadOutput {
            tool: inv.tool.to_string(),
            stdout: out.clone(),
            reason: e.to_string(),
        })
    }

    /// The charm config as a JSON map.
    pub fn config_get(&self) -> Result<serde_json::Map<String, Value>, HookToolError> {
        self.json(&forms::config_get())
    }

    /// The relation ids of an endpoint, e.g. `["website:3"]`.
    pub fn relation_ids(&self, endpoint: &str) -> Result<Vec<String>, HookToolError> {
        self.json(&forms::relation_ids(endpoint))
    }

    /// The remote units of a relation.
    pub fn relation_list(&self, rel_id: &str) -> Result<Vec<String>, HookToolError> {
        self.json(&forms::relation_list(rel_id))
    }

    /// A unit's data bag on a relation (`null` reads as empty).
    pub fn relation_get(&self, rel_id: &str, unit: &str) -> Result<Bag, HookToolError> {
        let v: Option<Bag> = self.json(&forms::relation_get(rel_id, unit))?;
        Ok(v.unwrap_or_default())
    }

    /// Writes keys into the own unit bag (`""` deletes).
    pub fn relation_set(&self, rel_id: &str, values: &Bag) -> Result<(), HookToolError> {
        self.run(&forms::relation_set(rel_id, values)).map(drop)
    }

    /// The unit's charm state (Juju keeps it across hooks; written at hook end on success).
    pub fn state_get(&self) -> Result<Bag, HookToolError> {
        let v: Option<Bag> = self.json(&forms::state_get())?;
        Ok(v.unwrap_or_default())
    }

    /// Sets charm state keys.
    pub fn state_set(&self, values: &Bag) -> Result<(), HookToolError> {
        self.run(&forms::state_set(values)).map(drop)
    }

    /// Deletes a charm state key (a missing key is not an error).
    pub fn state_delete(&self, key: &str) -> Result<(), HookToolError> {
        self.run(&forms::state_delete(key)).map(drop)
    }

    /// Sets the unit's workload status.
    pub fn status_set(&self, level: StatusLevel, message: &str) -> Result<(), HookToolError> {
        self.run(&forms::status_set(level, message)).map(drop)
    }

    /// Sets the application's workload status (leader only: Juju refuses others).
    pub fn status_set_application(
        &self,
        level: StatusLevel,
        message: &str,
    ) -> Result<(), HookToolError> {
        self.run(&forms::status_set_application(level, message))
            .map(drop)
    }

    /// Whether this unit is the leader.
    pub fn is_leader(&self) -> Result<bool, HookToolError> {
        self.json(&forms::is_leader())
    }

    /// Logs to the unit's Juju log.
    pub fn juju_log(&self, level: LogLevel, message: &str) -> Result<(), HookToolError> {
        self.run(&forms::juju_log(level, message)).map(drop)
    }

    /// Sets the application version shown by `juju status`.
    pub fn application_version_set(&self, version: &str) -> Result<(), HookToolError> {
        self.run(&forms::application_version_set(version)).map(drop)
    }

    /// The action's parameters.
    pub fn action_get(&self) -> Result<serde_json::Map<String, Value>, HookToolError> {
        let v: Option<serde_json::Map<String, Value>> = self.json(&forms::action_get())?;
        Ok(v.unwrap_or_default())
    }

    /// Sets action results.
    pub fn action_set(&self, values: &Bag) -> Result<(), HookToolError> {
        self.run(&forms::action_set(values)).map(drop)
    }

    /// Marks the action failed.
    pub fn action_fail(&self, message: &str) -> Result<(), HookToolError> {
        self.run(&forms::action_fail(message)).map(drop)
    }
}

fn classify(inv: &Invocation, code: i32, stderr: String) -> HookToolError {
    let tool = inv.tool.to_string();
    if stderr.contains("relation not found") {
        HookToolError::RelationNotFound { tool, stderr }
    } else if stderr.contains("permission denied")
        || stderr.contains("cannot write relation settings")
        || stderr.contains("not the leader")
    {
        HookToolError::PermissionDenied { tool, stderr }
    } else if stderr.contains("not running an action") {
        HookToolError::NotInAction { tool }
    } else {
        HookToolError::Failed {
            tool,
            args: inv.args.join(" "),
            code,
            stderr,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn argument_forms_match_the_juju_call_forms() {
        assert_eq!(forms::config_get().args, ["--format=json"]);
        assert_eq!(
            forms::relation_ids("website").args,
            ["--format=json", "website"]
        );
        assert_eq!(
            forms::relation_list("website:3").args,
            ["--format=json", "-r", "website:3"]
        );
        assert_eq!(
            forms::relation_get("peers:1", "keepalived/1").args,
            ["--format=json", "-r", "peers:1", "-", "keepalived/1"]
        );
        let mut bag = Bag::new();
        bag.insert("port".into(), "443".into());
        bag.insert("hostname".into(), "".into());
        let set = forms::relation_set("website:3", &bag);
        assert_eq!(set.tool, "relation-set");
        assert_eq!(set.args, ["-r", "website:3", "--file", "-"]);
        assert_eq!(
            set.stdin.as_deref(),
            Some(&br#"{"hostname":"","port":"443"}"#[..])
        );
        assert_eq!(
            forms::status_set(StatusLevel::Blocked, "-x").args,
            ["blocked", "--", "-x"],
            "a message starting with a dash must not be read as a flag"
        );
        assert_eq!(forms::is_leader().args, ["--format=json"]);
        assert_eq!(
            forms::status_set_application(StatusLevel::Active, "VIP 10.1.2.3 on k/1").args,
            ["--application", "active", "--", "VIP 10.1.2.3 on k/1"]
        );
        assert_eq!(
            forms::juju_log(LogLevel::Warning, "hi").args,
            ["--log-level", "WARNING", "--", "hi"]
        );
        assert_eq!(forms::application_version_set("1.0").args, ["--", "1.0"]);
        assert_eq!(forms::action_get().args, ["--format=json"]);
        assert_eq!(forms::action_set(&bag).args, ["hostname=", "port=443"]);
        assert_eq!(forms::action_fail("no").args, ["--", "no"]);
    }

    /// Writes an executable shell script `name` into `dir`.
    fn script(dir: &std::path::Path, name: &str, body: &str) {
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn runs_tools_passes_stdin_and_decodes_json() {
        let d = tempfile::tempdir().unwrap();
        script(
            d.path(),
            "relation-set",
            "echo \"$@\" > \"$(dirname \"$0\")/args\"; cat > \"$(dirname \"$0\")/stdin\"",
        );
        script(d.path(), "relation-get", "echo '{\"a\":\"1\"}'");
        script(d.path(), "is-leader", "echo true");
        script(d.path(), "action-get", "echo null");
        let tools = HookTools::in_dir(d.path());
        let mut bag = Bag::new();
        bag.insert("k".into(), "v".into());
        tools.relation_set("peers:0", &bag).unwrap();
        assert_eq!(
            std::fs::read_to_string(d.path().join("args")).unwrap(),
            "-r peers:0 --file -\n"
        );
        assert_eq!(
            std::fs::read_to_string(d.path().join("stdin")).unwrap(),
            r#"{"k":"v"}"#
        );
        assert_eq!(
            tools
                .relation_get("peers:0", "x/1")
                .unwrap()
                .get("a")
                .map(String::as_str),
            Some("1")
        );
        assert!(tools.is_leader().unwrap());
        assert!(tools.action_get().unwrap().is_empty());
    }

    #[test]
    fn maps_errors_with_stderr() {
        let d = tempfile::tempdir().unwrap();
        script(
            d.path(),
            "relation-get",
            "echo 'ERROR invalid value \"burble:123\" for option -r: relation not found' >&2; exit 2",
        );
        script(
            d.path(),
            "relation-set",
            "echo 'ERROR cannot write relation settings' >&2; exit 1",
        );
        script(
            d.path(),
            "action-set",
            "echo 'ERROR not running an action' >&2; exit 1",
        );
        script(
            d.path(),
            "status-set",
            "echo 'ERROR invalid status \"x\"' >&2; exit 2",
        );
        script(d.path(), "is-leader", "echo maybe");
        let tools = HookTools::in_dir(d.path());
        match tools.relation_get("burble:123", "u/0") {
            Err(HookToolError::RelationNotFound { stderr, .. }) => {
                assert!(stderr.contains("burble:123"))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            tools.relation_set("website:1", &Bag::new()),
            Err(HookToolError::PermissionDenied { .. })
        ));
        assert!(matches!(
            tools.action_set(&Bag::new()),
            Err(HookToolError::NotInAction { .. })
        ));
        match tools.status_set(StatusLevel::Active, "m") {
            Err(e @ HookToolError::Failed { code: 2, .. }) => {
                assert!(e.to_string().contains("ERROR invalid status"), "{e}")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            tools.is_leader(),
            Err(HookToolError::BadOutput { .. })
        ));
        assert!(matches!(
            tools.config_get(),
            Err(HookToolError::Spawn { .. })
        ));
    }
}
