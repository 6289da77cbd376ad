//! Reconciling the running instances with a (re)loaded configuration: unchanged instances are
//! kept, "soft" changes are applied in place (`vrrp::Instance::reconfigure`: state, VIPs and
//! timers kept), identity changes retire the old instance with a make-before-break handoff
//! and start a new one.

use tracing::{error, info, warn};

use super::instance::Running;
use super::table::InstanceId;
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
        for id in self.running.ids_where(|r| !r.retiring) {
            let Some(r) = self.running.get(id) else {
                continue;
            };
            if let Some(k) = wanted.iter().position(|w| w.as_ref() == Some(&r.spec)) {
                wanted[k] = None;
                continue;
            }
            let name = r.spec.core.name.clone();
            let soft = wanted
                .iter()
                .position(|w| w.as_ref().is_some_and(|w| same_identity(&r.spec, w)));
            if let Some(k) = soft {
                if let Some(new) = wanted[k].take() {
                    match self.reconfigure(id, new).await {
                        Ok(()) => continue,
                        // Refused by the core: rebuild instead.
                        Err(new) => wanted[k] = Some(new),
                    }
                }
            }
            info!(instance = %name, "instance removed or its identity changed: handing over");
            if let Some(r) = self.running.get_mut(id) {
                r.retiring = true;
            }
            self.feed(id, vrrp::Input::Leave).await;
        }
        for s in wanted.into_iter().flatten() {
            match Running::new(s) {
                Ok(r) => {
                    let id = self.running.insert(r);
                    self.pace_cores();
                    self.start_instance(id).await;
                }
                Err(e) => error!(error = %e, "instance refused by the core"),
            }
        }
        self.reap_retired();
        self.pace_cores();
    }

    /// Apply `new` to live instance `id` in place; `new` back if the core refused it.
    async fn reconfigure(&mut self, id: InstanceId, new: InstanceSpec) -> Result<(), InstanceSpec> {
        // The health of the new configuration's tracks.
        let tracks = self.track_states(&new.track_sources);
        let Some(r) = self.running.get_mut(id) else {
            return Err(new);
        };
        let now = std::time::Instant::now();
        let result = r.core().inst.reconfigure(now, new.core.clone(), &tracks);
        if let Some(t) = r.paced_deadline() {
            self.pacer.kick(t);
        }
        match result {
            Ok(actions) => {
                let old = std::mem::replace(&mut r.spec, new);
                info!(instance = %old.core.name, role = ?r.state(), "instance reconfigured in place");
                if socket_changed(&old, &r.spec) {
                    r.close_socket();
                }
                self.execute(id, actions).await;
                // Re-reads link and source; opens the socket if it was closed above.
                self.refresh_link(id).await;
                self.urgent = true;
                Ok(())
            }
            Err(e) => {
                warn!(instance = %r.spec.core.name, error = %e, "cannot reconfigure in place");
                Err(new)
            }
        }
    }
}
