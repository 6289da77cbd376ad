//! Typed errors of the emulator library.

use std::path::PathBuf;

/// Errors returned by model operations, the runner and the resolver.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O error on a named path.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A JSON or YAML document could not be parsed.
    #[error("{path}: {msg}")]
    Parse {
        /// The file involved.
        path: PathBuf,
        /// What was wrong.
        msg: String,
    },
    /// A charm's metadata is invalid (mirrors Juju's charm checks).
    #[error("invalid charm: {0}")]
    Charm(String),
    /// `config.yaml` was rejected by Juju's `ReadConfig` (message as Juju words it).
    #[error("{0}")]
    CharmConfig(String),
    /// Something named does not exist (application, unit, relation, endpoint).
    #[error("{0} not found")]
    NotFound(String),
    /// The operation is not allowed in the current model state.
    #[error("{0}")]
    Invalid(String),
    /// A configuration value was rejected (unknown key or wrong type).
    #[error("{0}")]
    Config(String),
    /// `settle()` ran more hooks than its bound: probably a hook loop.
    #[error("model did not settle after {0} hooks")]
    NoSettle(usize),
    /// The hook tool executable could not be located or built.
    #[error("hook tool: {0}")]
    HookTool(String),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<atomicfile::Error> for Error {
    fn from(e: atomicfile::Error) -> Self {
        let (path, source) = e.into_parts();
        Error::Io { path, source }
    }
}
