//! `cargo xtask demo`.
use anyhow::Result;

/// Packs the charm and runs a 2-unit hook sequence under the Juju emulator.
pub fn run() -> Result<()> {
    let charm = crate::pack::pack()?;
    println!("packed {}", charm.display());
    println!("The hook-sequence demo under juju-emu is not wired up yet; the full network-namespace demo comes with the simulator issue.");
    Ok(())
}
