//! Typed errors of the simulator library.

use std::path::PathBuf;

/// Errors of the simulator library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file-system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The model emulator failed.
    #[error(transparent)]
    Emu(#[from] juju_emu::Error),
    /// The network lab failed.
    #[error(transparent)]
    Net(#[from] netlab::Error),
    /// The controller could not be reached or answered with an error.
    #[error("controller: {0}")]
    Controller(String),
    /// Malformed input (unit file, charm archive, argument).
    #[error("{0}")]
    Invalid(String),
    /// A bounded wait ran out.
    #[error("timed out after {secs:.1}s waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        secs: f64,
    },
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result alias.
pub type Result<T> = std::result::Result<T, Error>;

impl From<atomicfile::Error> for Error {
    fn from(e: atomicfile::Error) -> Self {
        let (path, source) = e.into_parts();
        Error::Io { path, source }
    }
}
