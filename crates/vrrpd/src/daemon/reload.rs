//! Reconciling the running instances with a (re)loaded configuration: unchanged instances are
//! kept, "soft" changes are applied in place (`vrrp::Instance::reconfigure`: state, VIPs and
//! timers kept), identity changes retire the old instance with a make-before-break handoff
//! and start a new one.

use tracing::{error, info, warn};

use super::instance::Running;
use super::Daemon;
use crate::spec::{DaemonSpec, InstanceSpec};

/// Whether `new` can replace `old` in place: same core identity (name, VRID, family,
/// version, VIP set) and the same interface and VIP/excluded-address details.
fn same_identity(old: &InstanceSpec, new: &InstanceSpec) -> bool {
    let sorted = |v: &[crate::spec::VipSpec]| {
        let mut v = v.to_vec();
        v.sort_by_key(|x| x.vip);
        v
    };
    old.core.same_identity(&new.core).is_ok()
        && old.interface == new.interface
        && sorted(&old.vips) == sorted(&new.vips)
        && old.excluded == new.excluded
}

/// Whether the socket must be reopened: multicast/unicast mode, group or source changed.
fn socket_changed(old: &InstanceSpec, new: &InstanceSpec) -> bool {
    old.core.unicast_peers.is_empty() != new.core.unicast_peers.is_empty()
        || old.core.mcast_dst != new.core.mcast_dst
        || old.source != new.source
}

impl Daemon {
    /// Start, keep, reconfigure, rebuild or stop instances so that the live set matches `spec`.
    pub(super) async fn apply(&mut self, spec: DaemonSpec) {
        // Checks first, so reconfigured instances see the current health of their tracks.
        self.checks.apply(&spec.checks);
        let mut wanted: Vec<Option<InstanceSpec>> = spec.instances.into_iter().map(Some).collect();
        let live: Vec<usize> = (0..self.running.len())
            .filter(|&i| !self.running[i].retiring)
            .collect();
        for i in live {
            let name = self.running[i].spec.core.name.clone();
            let exact = wanted
                .iter()
                .position(|w| w.as_ref() == Some(&self.running[i].spec));
            if let Some(k) = exact {
                wanted[k] = None;
                continue;
            }
            let soft = wanted.iter().position(|w| {
                w.as_ref()
                    .is_some_and(|w| same_identity(&self.running[i].spec, w))
            });
            if let Some(new) = soft.and_then(|k| wanted[k].take()) {
                if self.reconfigure(i, new.clone()).await {
                    continue;
                }
                // Refused by the core: rebuild instead.
                if let Some(k) = soft {
                    wanted[k] = Some(new);
                }
            }
            info!(instance = %name, "instance removed or its identity changed: handing over");
            self.running[i].retiring = true;
            self.feed(i, vrrp::Input::Leave).await;
        }
        for s in wanted.into_iter().flatten() {
            match Running::new(s) {
                Ok(r) => {
                    self.running.push(r);
                    let i = self.running.len() - 1;
                    self.start_instance(i).await;
                }
                Err(e) => error!(error = %e, "instance refused by the core"),
            }
        }
        self.reap_retired();
    }

    /// Apply `new` to live instance `i` in place; false if the core refused it.
    async fn reconfigure(&mut self, i: usize, new: InstanceSpec) -> bool {
        let old = std::mem::replace(&mut self.running[i].spec, new);
        let tracks = self.track_states(i);
        let core = self.running[i].spec.core.clone();
        let now = std::time::Instant::now();
        match self.running[i].inst.reconfigure(now, core, &tracks) {
            Ok(actions) => {
                info!(instance = %old.core.name, role = ?self.running[i].inst.state(), "instance reconfigured in place");
                if socket_changed(&old, &self.running[i].spec) {
                    self.running[i].close_socket();
                }
                self.execute(i, actions).await;
                // Re-reads link and source; opens the socket if it was closed above.
                self.refresh_link(i).await;
                self.urgent = true;
                true
            }
            Err(e) => {
                warn!(instance = %old.core.name, error = %e, "cannot reconfigure in place");
                self.running[i].spec = old;
                false
            }
        }
    }
}
