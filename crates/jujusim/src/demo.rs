//! The end-to-end demo (filled in below).
use std::path::PathBuf;

/// Demo options.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The packed keepalived charm.
    pub charm: PathBuf,
    /// The `juju` executable.
    pub juju: PathBuf,
    /// Model directory (default: a fresh temporary one).
    pub model_dir: Option<PathBuf>,
    /// Leave everything running.
    pub keep: bool,
}

/// Runs the demo.
pub fn run(_o: &DemoOptions) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
