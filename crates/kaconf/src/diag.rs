//! Diagnostics: `FILE:LINE: error: reason` / `FILE:LINE: warning: reason`.

use std::fmt;

use serde::Serialize;

use crate::model::Location;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The configuration is rejected.
    Error,
    /// Accepted; something was ignored, adjusted or looks wrong.
    Warning,
}

/// One message about the configuration, tied to a file and line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Where (file and 1-based line).
    pub location: Location,
    /// What is wrong, without the location prefix.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}: {}: {}",
            self.location.file, self.location.line, sev, self.message
        )
    }
}

/// The configuration was rejected. Holds every error found (and the warnings seen so far).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// All error diagnostics, in file order; never empty.
    pub errors: Vec<Diagnostic>,
    /// Warnings found along the way.
    pub warnings: Vec<Diagnostic>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// Collects diagnostics while parsing and validating.
#[derive(Debug, Default)]
pub(crate) struct Sink {
    pub(crate) errors: Vec<Diagnostic>,
    pub(crate) warnings: Vec<Diagnostic>,
}

impl Sink {
    pub(crate) fn error(&mut self, location: &Location, message: impl Into<String>) {
        self.errors.push(Diagnostic {
            severity: Severity::Error,
            location: location.clone(),
            message: message.into(),
        });
    }

    pub(crate) fn warn(&mut self, location: &Location, message: impl Into<String>) {
        self.warnings.push(Diagnostic {
            severity: Severity::Warning,
            location: location.clone(),
            message: message.into(),
        });
    }
}
