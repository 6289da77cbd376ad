//! The hook tools (the server side of jujuc, run in-process by the multi-call binary).
//! [`run`] takes the tool name (basename of argv[0]), its args, the environment and stdin,
//! and returns stdout, stderr and the exit code exactly as Juju would.

mod action;
mod basic;
mod data;
mod relation;
mod support;

use crate::context::HookContext;
use crate::gnuflag::{self, FlagDef, FlagKind, Parsed};
use crate::output::{render, Format, Out};
use std::io::Read;
use std::path::PathBuf;

pub use support::{parse_keyvalues, valid_app_name, valid_unit_name};

/// Every tool name the multi-call binary answers to.
pub const TOOL_NAMES: &[&str] = &[
    "config-get",
    "relation-ids",
    "relation-list",
    "relation-get",
    "relation-set",
    "status-set",
    "status-get",
    "is-leader",
    "juju-log",
    "network-get",
    "unit-get",
    "application-version-set",
    "leader-get",
    "leader-set",
    "state-get",
    "state-set",
    "state-delete",
    "open-port",
    "close-port",
    "opened-ports",
    "action-get",
    "action-set",
    "action-fail",
    "action-log",
];

/// The environment a tool invocation sees.
#[derive(Debug, Clone, Default)]
pub struct ToolEnv {
    /// `JUJU_CONTEXT_ID`.
    pub context_id: Option<String>,
    /// `JUJU_AGENT_SOCKET_ADDRESS` (the context file path).
    pub socket_address: Option<String>,
    /// `JUJU_AGENT_SOCKET_NETWORK`.
    pub socket_network: Option<String>,
    /// Working directory (for relative `-o`/`--file` paths).
    pub cwd: PathBuf,
}

impl ToolEnv {
    /// Reads the variables from the process environment.
    pub fn from_process() -> ToolEnv {
        ToolEnv {
            context_id: std::env::var("JUJU_CONTEXT_ID").ok(),
            socket_address: std::env::var("JUJU_AGENT_SOCKET_ADDRESS").ok(),
            socket_network: std::env::var("JUJU_AGENT_SOCKET_NETWORK").ok(),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
        }
    }
}

/// What a tool produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolOutput {
    /// Bytes for stdout.
    pub stdout: Vec<u8>,
    /// Bytes for stderr.
    pub stderr: Vec<u8>,
    /// Exit code.
    pub code: i32,
}

impl ToolOutput {
    fn error(code: i32, msg: &str) -> ToolOutput {
        ToolOutput {
            stdout: vec![],
            stderr: format!("ERROR {msg}\n").into_bytes(),
            code,
        }
    }
}

/// A tool failure: `Usage` exits 2 (flags/Init), `Run` exits 1.
#[derive(Debug)]
pub(crate) enum Fail {
    Usage(String),
    Run(String),
}

pub(crate) type TResult<T> = Result<T, Fail>;

pub(crate) fn usage<T>(msg: impl Into<String>) -> TResult<T> {
    Err(Fail::Usage(msg.into()))
}
pub(crate) fn runerr<T>(msg: impl Into<String>) -> TResult<T> {
    Err(Fail::Run(msg.into()))
}

impl From<crate::Error> for Fail {
    fn from(e: crate::Error) -> Fail {
        Fail::Run(e.to_string())
    }
}

/// Static description of one tool.
pub(crate) struct ToolDef {
    pub usage: &'static str,
    pub purpose: &'static str,
    pub flags: Vec<FlagDef>,
    pub formatted: bool,
    pub run: fn(&mut Call) -> TResult<Option<Out>>,
}

/// One invocation in progress.
pub(crate) struct Call<'a> {
    pub name: &'a str,
    pub ctx: HookContext,
    pub p: Parsed,
    pub env: &'a ToolEnv,
    pub stdin: &'a mut dyn Read,
    pub stderr: Vec<u8>,
    pub format: Format,
}

pub(crate) fn flag(names: &[&'static str], kind: FlagKind, help: &'static str) -> FlagDef {
    FlagDef {
        names: names.to_vec(),
        kind,
        help,
    }
}

fn format_flags() -> Vec<FlagDef> {
    vec![
        flag(
            &["format"],
            FlagKind::Value,
            "Specify output format (json|smart|yaml)",
        ),
        flag(&["o", "output"], FlagKind::Value, "Specify an output file"),
    ]
}

fn def(name: &str) -> Option<ToolDef> {
    let mut d = match name {
        "config-get" | "relation-ids" | "relation-list" | "relation-get" | "relation-set" => {
            relation::def(name)?
        }
        "status-set"
        | "status-get"
        | "is-leader"
        | "juju-log"
        | "network-get"
        | "unit-get"
        | "application-version-set" => basic::def(name)?,
        "leader-get" | "leader-set" | "state-get" | "state-set" | "state-delete" | "open-port"
        | "close-port" | "opened-ports" => data::def(name)?,
        _ => action::def(name)?,
    };
    if d.formatted {
        d.flags.extend(format_flags());
    }
    Some(d)
}

/// Runs tool `name` with `args` against the hook context named by `env`.
pub fn run(name: &str, args: &[String], env: &ToolEnv, stdin: &mut dyn Read) -> ToolOutput {
    let Some(ctx_id) = env.context_id.as_deref() else {
        return ToolOutput::error(1, "JUJU_CONTEXT_ID not set");
    };
    let Some(addr) = env.socket_address.as_deref() else {
        return ToolOutput::error(1, "JUJU_AGENT_SOCKET_ADDRESS not set");
    };
    let Some(network) = env.socket_network.as_deref() else {
        return ToolOutput::error(1, "JUJU_AGENT_SOCKET_NETWORK not set");
    };
    let file = PathBuf::from(addr);
    if !file.is_file() {
        return ToolOutput::error(
            1,
            &format!("dial {network} {addr}: connect: no such file or directory"),
        );
    }
    if !env.cwd.is_absolute() {
        return ToolOutput::error(
            1,
            &format!("bad request: Dir is not absolute: {:?}", env.cwd),
        );
    }
    let _lock = match HookContext::lock(&file) {
        Ok(l) => l,
        Err(e) => return ToolOutput::error(1, &e.to_string()),
    };
    let ctx = match HookContext::load(&file) {
        Ok(c) => c,
        Err(e) => return ToolOutput::error(1, &e.to_string()),
    };
    if ctx.id != ctx_id {
        return ToolOutput::error(
            1,
            &format!(
                "bad request: expected context id {:?}, got {:?}",
                ctx.id, ctx_id
            ),
        );
    }
    let Some(tool) = def(name) else {
        return ToolOutput::error(1, &format!("bad request: unknown command {name:?}"));
    };
    let rel_ids: Vec<u64> = ctx.relations.keys().copied().collect();
    let parsed = gnuflag::parse(&tool.flags, args, &mut |canon, v| match canon {
        "r" => support::parse_relation_id(v, &rel_ids).map(|_| ()),
        "format" => Format::parse(v).map(|_| ()),
        _ => Ok(()),
    });
    let p = match parsed {
        Ok(p) => p,
        Err(msg) => return ToolOutput::error(2, &msg),
    };
    if p.help {
        let text = gnuflag::help_text(name, tool.usage, tool.purpose, &tool.flags);
        return ToolOutput {
            stdout: text.into_bytes(),
            stderr: vec![],
            code: 0,
        };
    }
    let format = p
        .get("format")
        .and_then(|f| Format::parse(f).ok())
        .unwrap_or(Format::Smart);
    let output = p.get("o").map(str::to_string);
    let mut call = Call {
        name,
        ctx,
        p,
        env,
        stdin,
        stderr: Vec::new(),
        format,
    };
    let result = (tool.run)(&mut call);
    let mut out = ToolOutput {
        stdout: vec![],
        stderr: std::mem::take(&mut call.stderr),
        code: 0,
    };
    match result {
        Err(Fail::Usage(m)) => {
            out.stderr.extend(format!("ERROR {m}\n").bytes());
            out.code = 2;
            return out;
        }
        Err(Fail::Run(m)) => {
            // Run errors may still have changed the context (e.g. is-leader minion); keep them.
            let _ = call.ctx.save(&file);
            out.stderr.extend(format!("ERROR {m}\n").bytes());
            out.code = 1;
            return out;
        }
        Ok(value) => {
            if let Err(e) = call.ctx.save(&file) {
                return ToolOutput::error(1, &e.to_string());
            }
            if let Some(v) = value {
                let text = render(call.format, &v);
                match output {
                    Some(path) => {
                        let target = env.cwd.join(path);
                        if let Err(e) = std::fs::write(&target, text.as_bytes()) {
                            out.stderr.extend(format!("ERROR {e}\n").bytes());
                            out.code = 1;
                        }
                    }
                    None => out.stdout = text.into_bytes(),
                }
            }
        }
    }
    out
}
