//! Parser, typed model and validator for keepalived's configuration dialect: the subset
//! that `vrrpd` implements (keepalived 2.2.7 semantics and defaults) plus our own
//! `vrrpd_check` health-check blocks.
//!
//! ```no_run
//! let loaded = kaconf::load(std::path::Path::new("/etc/vrrpd/vrrpd.conf"))?;
//! for w in &loaded.warnings {
//!     eprintln!("{w}");
//! }
//! # Ok::<(), kaconf::ConfigError>(())
//! ```

mod diag;
pub mod model;

pub use diag::{ConfigError, Diagnostic, Severity};
pub use model::*;

/// A successfully loaded configuration plus the warnings found on the way.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Loaded {
    /// The configuration, defaults resolved.
    pub config: Config,
    /// Warnings (ignored keywords, adjusted values, suspicious settings), in file order.
    pub warnings: Vec<Diagnostic>,
}
