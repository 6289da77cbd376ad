//! The previous (Python) charm after a refresh: its `keepalived.service` is stopped once the
//! worker runs, and the worker speaks VRRPv2 too (one group with the old daemons) until every
//! unit of the principal runs this charm without one. Pure: decisions from the [`World`].
use super::desired::{Plan, PEER_KEY_V4, PEER_KEY_V6};
use super::hooktools::Bag;
use super::world::{LegacyFacts, Peer, PeerRelation, World};

/// Whether `bag` has `key` with a non-empty value.
fn set(bag: &Bag, key: &str) -> bool {
    bag.get(key).is_some_and(|v| !v.is_empty())
}

/// Peer bag key: `"1"` while this unit has replaced the previous charm's `keepalived.service`,
/// so units that never ran it (added later) also keep VRRPv2 compatibility.
pub const PEER_KEY_LEGACY: &str = "replaced-keepalived";
/// Peer bag key: `"1"` on every unit that runs this charm, in every hook but teardown, whatever
/// its config: the previous (Python) charm had no peer endpoint, so a peer without it (and
/// without a VRRP address, as units of this charm's earlier versions publish) may still run
/// that charm's keepalived ([`keepalived_may_be_in_group`]).
pub const PEER_KEY_CHARM: &str = "vrrpd-charm";
/// Peer bag key: `"1"` while the previous charm's `keepalived.service` is active or enabled on
/// this unit's host (not yet replaced, or left running by an invalid config).
pub const PEER_KEY_LEGACY_PRESENT: &str = "keepalived-service";
/// Peer bag key: this unit's principal unit (`kubeapi-load-balancer/2`), from `juju-info`.
pub const PEER_KEY_PRINCIPAL: &str = "principal-unit";
/// The endpoint whose remote units are the principal's units: `lb-sink`, related to the load
/// balancer's `website` (as the README's deployment does).
pub const LB_ENDPOINT: &str = "lb-sink";

/// The peer keys every hook but teardown publishes: this charm runs here
/// ([`PEER_KEY_CHARM`]), whether the previous charm's daemon is or was on this host
/// ([`PEER_KEY_LEGACY`]: also while an invalid config leaves it running), whether it still is
/// ([`PEER_KEY_LEGACY_PRESENT`]), and beside which principal unit ([`PEER_KEY_PRINCIPAL`]).
pub(super) fn presence(world: &World) -> Bag {
    let flag = |on: bool| if on { "1" } else { "" }.to_string();
    let l = world.legacy;
    Bag::from([
        (PEER_KEY_CHARM.to_string(), "1".to_string()),
        (PEER_KEY_LEGACY.to_string(), flag(l.present() || l.replaced)),
        (PEER_KEY_LEGACY_PRESENT.to_string(), flag(l.present())),
        (
            PEER_KEY_PRINCIPAL.to_string(),
            world.principal_unit.clone().unwrap_or_default(),
        ),
    ])
}

/// Whether this unit's VRRP group had the previous charm's keepalived in it: the old daemon is
/// still on this host, this unit replaced it, or a peer says it replaced it.
pub fn after_old_charm(legacy: &LegacyFacts, peers: Option<&PeerRelation>) -> bool {
    let peer_replaced = peers.is_some_and(|p| {
        p.peers
            .iter()
            .any(|peer| peer.data.get(PEER_KEY_LEGACY).is_some_and(|v| v == "1"))
    });
    legacy.present() || legacy.replaced || peer_replaced
}

/// Whether the refresh from the previous charm is over: no `keepalived.service` is left in
/// this unit's VRRP group, as far as the units can show it.
///
/// A subordinate cannot count its own application's units (Juju's `goal-state` lists no
/// subordinate peers), and a unit still on the previous charm is not on the peer relation (that
/// charm had no peer endpoint). But there is one unit of this charm beside each unit of the
/// principal, and `lb-sink` lists the principal's units ([`World::lb_units`]). So it is over
/// when this host has no old daemon, this unit's principal is on `lb-sink`, and for every other
/// principal unit there a peer says it runs beside it ([`PEER_KEY_PRINCIPAL`]) with no old
/// daemon on its host ([`PEER_KEY_LEGACY_PRESENT`] empty), and no peer at all has one. Without
/// `lb-sink`, or with peers of earlier revisions of this charm (no [`PEER_KEY_PRINCIPAL`]), it
/// is never over: compatibility costs an extra packet per advert and the automatic interval,
/// two VIP holders cost the cluster.
pub fn refresh_complete(world: &World) -> bool {
    let (Some(own), Some(lb_units), Some(peers)) = (
        world.principal_unit.as_deref(),
        world.lb_units.as_ref(),
        world.peers.as_ref(),
    ) else {
        return false;
    };
    let clean = |p: &Peer| set(&p.data, PEER_KEY_CHARM) && !set(&p.data, PEER_KEY_LEGACY_PRESENT);
    !world.legacy.present()
        && lb_units.iter().any(|u| u == own)
        && peers.peers.iter().all(clean)
        && lb_units.iter().filter(|u| *u != own).all(|u| {
            peers
                .peers
                .iter()
                .any(|p| p.data.get(PEER_KEY_PRINCIPAL) == Some(u))
        })
}

/// What to do in this hook about the previous charm's `keepalived.service`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegacyStop {
    /// `systemctl stop keepalived.service` (it is active).
    pub stop: bool,
    /// `systemctl disable keepalived.service` (it is enabled).
    pub disable: bool,
}

/// The previous (Python) charm installed the apt `keepalived` package, whose
/// `keepalived.service` keeps running after a refresh to this charm, on the same VRID with the
/// same VIP: two VRRP speakers on one host. Every hook stops and disables it (never removes it;
/// `/etc/keepalived` stays as it is), except while the configuration is invalid for this
/// charm: then the worker does not run either and the old daemon is the only thing serving the
/// VIP, so it is left running ("an invalid change never touches the running VIP").
///
/// Order of operations (converge): the worker starts first, in VRRPv2 compatibility (see
/// [`v2_compat_needed`]), and once its state file shows its instances up (bounded) the old
/// daemon is stopped; if the worker does not run, the old daemon is left running. Measured
/// with keepalived 2.2.7 (crates/jujusim/tests/refresh_e2e.rs,
/// crates/vrrpd/tests/scenario_refresh_mixed.rs):
/// - keepalived's SIGTERM sends priority 0 at once; a worker already backing up on another
///   host takes over after its Skew_Time: 20.5 ms client gap when both units refreshed together;
/// - the old master's host refreshed while the others still run keepalived: the new worker
///   cannot hear its local keepalived (same source address), and its start-up removal of stale
///   VIPs has already taken the VIP, so it takes over after its own Master_Down_Interval: 312 ms
///   without a holder, keepalived backups (skew 0.6 s) then hear it and stay backups;
/// - a backup's host first: the worker times out before keepalived's next 1 s advert and, with
///   the higher priority, takes the VIP over from keepalived (no gap or overlap seen at 2 ms).
///
/// The other order (stop, then start) measured a 1.39 s client gap when both units refreshed
/// together: keepalived takes ~1 s to exit after its priority-0 advert (`systemctl stop` waits
/// for it), the peer's keepalived backup was being stopped too, and the fresh worker then waited
/// its Master_Down_Interval.
pub fn legacy_stop(world: &World, plan: &Plan) -> Option<LegacyStop> {
    let l = world.legacy;
    match plan {
        Plan::Hold(_) => None,
        _ if l.present() => Some(LegacyStop {
            stop: l.active,
            disable: l.enabled,
        }),
        _ => None,
    }
}

/// Whether the worker's IPv4 instance must also speak VRRPv2 (RFC 5798 §8.4, vrrpd
/// `vrrpd_v2_compat`).
///
/// A refresh is rolling: Juju runs `upgrade-charm` on each unit on its own, so for a while some
/// hosts run the old charm's keepalived (VRRPv2, 1 s adverts, no auth, priorities 100/101 plus
/// 2 from its health check) and some run vrrpd (VRRPv3 by default). VRRPv2 and VRRPv3 routers
/// of one VRID drop each other's adverts as a version mismatch, so each side would elect its own
/// master: two holders of the VIP until the last unit is refreshed. In compatibility mode the
/// worker stays VRRPv3 (100 ms adverts among vrrpd units) and also sends a VRRPv2 advert with
/// Adver Int 1 and no auth (what keepalived's default group accepts) and accepts keepalived's
/// VRRPv2 adverts, so both daemons form one group:
/// - a keepalived master keeps the VIP while refreshed units come up as backups (our
///   `nopreempt`); keepalived backups hear a vrrpd master (priority ≥ 10 … 250 vs their 102)
///   and stay backups;
/// - a stopping keepalived master (this charm stops it) sends priority 0: a vrrpd backup takes
///   over after its Skew_Time ((256 − 250)/256 × 1 s = 23 ms for unit 0) or, when none runs yet,
///   a keepalived backup after 0.6 s: one gap, well under 1 s;
/// - a unit whose worker starts alone (no advert heard within 3 × 100 ms) becomes master and
///   advertises priority ≥ 10 > 103 in VRRPv2, so a keepalived master yields on that advert: the
///   two hold the VIP together only for the time that advert takes to arrive.
///
/// The mode is on while this unit has replaced the old daemon (its marker) or any peer says it
/// did (`PEER_KEY_LEGACY`, for units added during the refresh), until [`refresh_complete`].
/// Among vrrpd units it changes nothing but one extra packet per advert: the VRRPv2 twins of a
/// router also heard in VRRPv3 are ignored, so failover keeps VRRPv3 timing; but the interval
/// stays fixed ([`keepalived_may_be_in_group`]). When the refresh completes, the last unit's
/// peer data reaches the others (`peers-relation-changed`), and every unit reloads its worker
/// without the mode and with the automatic interval (in place: neither is part of an
/// instance's identity).
pub fn v2_compat_needed(world: &World) -> bool {
    after_old_charm(&world.legacy, world.peers.as_ref()) && !refresh_complete(world)
}

/// Why the previous (Python) charm's keepalived may still be a member of this unit's VRRP group,
/// if it may: then the automatic advert interval is rendered fixed (`advert_int 0.1`, no
/// `vrrpd_adaptive_interval`).
///
/// An adapting master changes the interval it advertises; VRRPv2 routers (the old charm's
/// keepalived: VRRPv2, 1 s) require every advert to carry their own interval, and the worker
/// refuses `vrrpd_adaptive_interval` beside `vrrpd_v2_compat`. So the group adapts only once
/// it is ours as far as this unit can tell:
/// - [`v2_compat_needed`]: the old daemon is still on this host, this unit replaced it, or a
///   peer says it replaced it, until the refresh is complete ([`refresh_complete`]);
/// - a peer unit that has published neither [`PEER_KEY_CHARM`] (every hook of this charm does)
///   nor a VRRP source address (`vrrp-ipv4`/`vrrp-ipv6`, as earlier versions of this charm
///   do): it may still run the old charm. Once it publishes, its `-changed` hook here renders
///   the automatic interval again (a SIGHUP; the worker applies it in place).
pub fn keepalived_may_be_in_group(world: &World) -> Option<String> {
    if v2_compat_needed(world) {
        return Some(
            "the previous charm's keepalived.service was replaced (VRRPv2-compatible)".into(),
        );
    }
    let peers = world.peers.as_ref()?;
    peers
        .peers
        .iter()
        .find(|p| {
            [PEER_KEY_CHARM, PEER_KEY_V4, PEER_KEY_V6]
                .iter()
                .all(|k| !set(&p.data, k))
        })
        .map(|p| format!("{} may still run the previous charm", p.unit.name))
}
