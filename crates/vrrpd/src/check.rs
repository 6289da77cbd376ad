//! `--check-config`: load, validate and map a configuration without touching the system.

use std::path::Path;
use std::process::ExitCode;

/// A usable configuration: the spec and the warning lines.
pub(crate) type Loaded = (crate::spec::DaemonSpec, Vec<String>);
/// A refused configuration: error lines (`file:line: error: reason`) and warning lines.
pub(crate) type Refused = (Vec<String>, Vec<String>);

/// Load and map `path` into a runnable spec; on failure every diagnostic line.
/// Warnings are returned in both cases.
pub(crate) fn load(path: &Path) -> Result<Loaded, Refused> {
    match kaconf::load(path) {
        Ok(loaded) => {
            let mut warnings: Vec<String> = loaded.warnings.iter().map(|w| w.to_string()).collect();
            match crate::spec::build(&loaded.config) {
                Ok((spec, more)) => {
                    warnings.extend(more);
                    Ok((spec, warnings))
                }
                Err(errs) => Err((errs.iter().map(|e| e.to_string()).collect(), warnings)),
            }
        }
        Err(e) => Err((
            e.errors.iter().map(|d| d.to_string()).collect(),
            e.warnings.iter().map(|d| d.to_string()).collect(),
        )),
    }
}

/// Print warnings (stdout) and errors (stderr); exit 0 when the file is usable, 1 otherwise.
pub fn check_config(path: &Path) -> ExitCode {
    match load(path) {
        Ok((spec, warnings)) => {
            for w in &warnings {
                println!("{w}");
            }
            println!(
                "{}: configuration OK ({} instance(s), {} check(s))",
                path.display(),
                spec.instances.len(),
                spec.checks.len()
            );
            ExitCode::SUCCESS
        }
        Err((errors, warnings)) => {
            for w in &warnings {
                println!("{w}");
            }
            for e in &errors {
                eprintln!("{e}");
            }
            ExitCode::FAILURE
        }
    }
}
