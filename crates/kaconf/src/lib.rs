//! Parser, typed model and validator for keepalived's configuration dialect: the subset
//! that `vrrpd` implements (keepalived 2.2.7 semantics and defaults) plus our own
//! keywords: `vrrpd_check` health-check blocks (`tcp_connect IP PORT [watch]`, `http_get URL`)
//! the `global_defs` keywords `vrrpd_metrics_listen` and `vrrpd_handoff_timeout`, and the
//! `vrrp_instance` keywords `vrrpd_v2_compat` (RFC 5798 §8.4 VRRPv2 interoperation),
//! `vrrpd_garp_burst` (GARP/NA repeats at offsets after becoming master) and
//! `vrrpd_adaptive_interval` (the master chooses its advert interval above a floor).
//!
//! ```no_run
//! let loaded = kaconf::load(std::path::Path::new("/etc/vrrpd/vrrpd.conf"))?;
//! for w in &loaded.warnings {
//!     eprintln!("{w}");
//! }
//! # Ok::<(), kaconf::ConfigError>(())
//! ```
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

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

mod build;
mod include;
mod keywords;
mod lexer;
mod tree;
mod validate;
mod values;

use std::path::Path;

use diag::Sink;

/// Reads, parses and validates the configuration file at `path` (following `include`s,
/// which are resolved relative to the including file's directory).
///
/// Returns every error at once in [`ConfigError`]; on success the warnings are in
/// [`Loaded::warnings`].
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let mut sink = Sink::default();
    let lines = {
        let mut lx = lexer::Lexer::new(&mut sink);
        lx.read_file(path, None);
        lx.lines
    };
    finish(lines, sink)
}

/// Parses and validates configuration text. `origin` names it in diagnostics; relative
/// `include`s are resolved against the directory part of `origin` (or the current
/// directory when it has none).
pub fn parse_str(text: &str, origin: &str) -> Result<Loaded, ConfigError> {
    let mut sink = Sink::default();
    let dir = Path::new(origin)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let lines = {
        let mut lx = lexer::Lexer::new(&mut sink);
        lx.read_text(text, origin, &dir);
        lx.lines
    };
    finish(lines, sink)
}

fn finish(lines: Vec<lexer::Line>, mut sink: Sink) -> Result<Loaded, ConfigError> {
    let top = tree::build(lines, &mut sink);
    let config = build::config(&top, &mut sink);
    validate::run(&config, &mut sink);
    let order = |d: &Diagnostic| (d.location.file.clone(), d.location.line);
    sink.errors.sort_by_key(order);
    sink.warnings.sort_by_key(order);
    if sink.errors.is_empty() {
        Ok(Loaded {
            config,
            warnings: sink.warnings,
        })
    } else {
        Err(ConfigError {
            errors: sink.errors,
            warnings: sink.warnings,
        })
    }
}
