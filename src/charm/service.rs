//! The host's service manager and sysctl, both run as processes found on `PATH`.
use std::path::Path;
use std::process::{Command, Stdio};

use super::paths::{LEGACY_SERVICE_NAME, SERVICE_NAME};

/// Errors from `systemctl` or `sysctl`.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The program could not be started.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// `systemctl` or `sysctl`.
        program: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The program ran and failed.
    #[error("{program} {args} failed ({code}): {stderr}")]
    Failed {
        /// `systemctl` or `sysctl`.
        program: &'static str,
        /// The arguments, space-joined.
        args: String,
        /// Exit code (-1 for a signal).
        code: i32,
        /// Its stderr, trimmed.
        stderr: String,
    },
}

fn run(program: &'static str, args: &[&str]) -> Result<std::process::Output, ServiceError> {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| ServiceError::Spawn { program, source })
}

fn check(program: &'static str, args: &[&str]) -> Result<(), ServiceError> {
    let out = run(program, args)?;
    if out.status.success() {
        Ok(())
    } else {
        Err(ServiceError::Failed {
            program,
            args: args.join(" "),
            code: out.status.code().unwrap_or(-1),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// One systemd unit, driven through `systemctl`.
#[derive(Debug, Clone, Copy)]
pub struct Unit(pub &'static str);

impl Unit {
    /// `systemctl is-active --quiet UNIT` (any non-zero exit means not active).
    pub fn is_active(&self) -> Result<bool, ServiceError> {
        Ok(run("systemctl", &["is-active", "--quiet", self.0])?
            .status
            .success())
    }
    /// `systemctl is-enabled --quiet UNIT`.
    pub fn is_enabled(&self) -> Result<bool, ServiceError> {
        Ok(run("systemctl", &["is-enabled", "--quiet", self.0])?
            .status
            .success())
    }
    /// Runs `systemctl VERB UNIT` for enable, disable, start, stop, restart or reload.
    pub fn verb(&self, verb: ServiceVerb) -> Result<(), ServiceError> {
        check("systemctl", &[verb.as_str(), self.0])
    }
}

/// The original Python charm's apt `keepalived.service` (this charm never installs one).
pub const LEGACY: Unit = Unit(LEGACY_SERVICE_NAME);

/// The worker's systemd unit, driven through `systemctl`.
#[derive(Debug, Clone, Copy, Default)]
pub struct WorkerService;

impl WorkerService {
    /// `systemctl is-active --quiet vrrpd.service` (any non-zero exit means not active).
    pub fn is_active(&self) -> Result<bool, ServiceError> {
        Unit(SERVICE_NAME).is_active()
    }
    /// `systemctl is-enabled --quiet vrrpd.service`.
    pub fn is_enabled(&self) -> Result<bool, ServiceError> {
        Unit(SERVICE_NAME).is_enabled()
    }
    /// `systemctl daemon-reload`.
    pub fn daemon_reload(&self) -> Result<(), ServiceError> {
        check("systemctl", &["daemon-reload"])
    }
    /// Runs `systemctl VERB vrrpd.service` for enable, disable, start, stop, restart or reload.
    pub fn verb(&self, verb: ServiceVerb) -> Result<(), ServiceError> {
        Unit(SERVICE_NAME).verb(verb)
    }
}

/// The unit verbs the charm uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceVerb {
    /// `enable`
    Enable,
    /// `disable`
    Disable,
    /// `start`
    Start,
    /// `stop`
    Stop,
    /// `restart`
    Restart,
    /// `reload` (SIGHUP through `ExecReload`)
    Reload,
}

impl ServiceVerb {
    /// The systemctl verb.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceVerb::Enable => "enable",
            ServiceVerb::Disable => "disable",
            ServiceVerb::Start => "start",
            ServiceVerb::Stop => "stop",
            ServiceVerb::Restart => "restart",
            ServiceVerb::Reload => "reload",
        }
    }
}

/// Applies a sysctl file with `sysctl -p FILE`.
pub fn sysctl_apply(file: &Path) -> Result<(), ServiceError> {
    let f = file.to_string_lossy();
    check("sysctl", &["-p", &f])
}
