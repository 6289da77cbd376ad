//! `--cleanup --config FILE`: remove the configuration's VIPs wherever they are present
//! (systemd `ExecStopPost`, e.g. after SIGKILL). Always exits 0 unless the file is unusable.

use std::path::Path;

use tracing::{info, warn};

use crate::daemon::Edge;

/// Remove every VIP (advertised and excluded) of every instance of `config`.
pub async fn run(config: &Path) -> anyhow::Result<()> {
    let (spec, _) = crate::check::load(config)
        .map_err(|(errors, _)| anyhow::anyhow!("invalid configuration:\n{}", errors.join("\n")))?;
    let edge = Edge::new().await?;
    for inst in &spec.instances {
        for v in inst.vips.iter().chain(inst.excluded.iter()) {
            match edge.del_vip(v).await {
                Ok(()) => {
                    info!(instance = %inst.core.name, vip = %v.vip, dev = %v.dev, "VIP absent or removed")
                }
                Err(e) => {
                    warn!(instance = %inst.core.name, vip = %v.vip, dev = %v.dev, error = %e, "cannot remove VIP")
                }
            }
        }
    }
    Ok(())
}
