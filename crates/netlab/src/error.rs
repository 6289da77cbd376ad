//! The one error type of netlab.

use std::process::ExitStatus;

/// Everything that can go wrong while building, using or tearing down a lab.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Network namespaces need root (CAP_SYS_ADMIN + CAP_NET_ADMIN).
    #[error(
        "netlab needs root to create network namespaces (euid is {euid}); run the tests as root"
    )]
    NotRoot {
        /// The effective uid we run as.
        euid: u32,
    },
    /// A command could not be started at all (e.g. `ip` missing).
    #[error("cannot run `{cmd}`: {source}")]
    Spawn {
        /// The command line.
        cmd: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A command ran and failed.
    #[error("`{cmd}` failed ({status}): {stderr}")]
    Command {
        /// The command line.
        cmd: String,
        /// Its exit status.
        status: ExitStatus,
        /// What it printed on stderr (trimmed).
        stderr: String,
    },
    /// A command printed something we could not understand.
    #[error("cannot parse the output of `{cmd}`: {reason}")]
    Parse {
        /// The command line.
        cmd: String,
        /// What was wrong.
        reason: String,
    },
    /// An invalid argument (bad name, bad address).
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// Entering a namespace failed.
    #[error("cannot enter network namespace {netns}: {source}")]
    Setns {
        /// The namespace name.
        netns: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Other IO (log files, threads, runtimes).
    #[error("{what}: {source}")]
    Io {
        /// What we were doing.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A bounded wait ran out.
    #[error("timed out after {secs:.1}s waiting for {what}")]
    Timeout {
        /// What we waited for.
        what: String,
        /// How long we waited.
        secs: f64,
    },
}

/// netlab's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
