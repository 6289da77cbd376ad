//! The uniter resolver (docs/juju-hook-environment.md §3): which hook a unit runs next, what
//! happens to the model before and after a hook (scope entry, commit or discard, agent-set
//! statuses), and the hook-less transitions (implicit scopes, subordinate creation/teardown, dead
//! units, leadership).

use crate::charm::{Role, Scope};
use crate::context::HookContext;
use crate::hook::{HookKind, HookSpec, RelationHook};
use crate::model::{Life, Model, RelationAgentState, SeriesUpgrade, Status, Unit};
use crate::runner::agent_status;
use crate::Result;
use std::collections::BTreeMap;

/// What `config-changed` reacts to: the config hash and the addresses hash of the unit
/// (juju/juju `internal/worker/uniter/resolver.go` `nextOp`: `configHashChanged ||
/// trustHashChanged || addressesHashChanged`).
fn config_state(m: &Model, unit: &str) -> String {
    let Some(u) = m.units.get(unit) else {
        return String::new();
    };
    let cfg = m
        .apps
        .get(&u.app)
        .map(|a| serde_json::to_string(&a.effective_config()).unwrap_or_default())
        .unwrap_or_default();
    format!("{cfg} addr={}", m.unit_address(unit))
}

/// Relation ids of the unit's relations, peer relations last: the relations resolver handles
/// peers after every other relation (juju/juju PR #18073 "process peer integrations last", so
/// that departed/broken of other relations still see peer data; the 3.x resolver before it
/// ranged over a Go map, so this order is one Juju could always produce).
fn relation_order(m: &Model, u: &Unit) -> Vec<u64> {
    let peer = |rid: &u64| m.relations.get(rid).is_some_and(|r| r.peer);
    let (peers, others): (Vec<u64>, Vec<u64>) = u.agent.relations.keys().copied().partition(peer);
    others.into_iter().chain(peers).collect()
}

fn rel_hook(
    kind: HookKind,
    id: u64,
    endpoint: &str,
    remote_app: &str,
    remote_unit: &str,
    version: u64,
) -> HookSpec {
    HookSpec::relation(
        kind,
        RelationHook {
            id,
            endpoint: endpoint.to_string(),
            remote_app: remote_app.to_string(),
            remote_unit: remote_unit.to_string(),
            departing_unit: None,
            version,
        },
    )
}

/// The next hook `unit` should run, or `None` when it is idle (or in error).
pub fn next_hook(m: &Model, unit: &str) -> Option<HookSpec> {
    let u = m.units.get(unit)?;
    let a = &u.agent;
    if a.error.is_some() {
        return None;
    }
    if let Some(r) = &a.retry {
        return Some(r.clone());
    }
    // The reboot resolver comes first (juju/juju internal/worker/uniter/resolver.go `NextOp`,
    // reboot/resolver.go): a started unit runs `start` once after its machine rebooted, but not
    // while a series upgrade is in progress, and not while another hook is queued.
    if a.reboot_detected
        && a.started
        && a.queued.is_empty()
        && a.series_upgrade == SeriesUpgrade::None
        && m.machines
            .get(&u.machine)
            .is_none_or(|mc| mc.series_upgrade.is_none())
    {
        return Some(HookSpec::simple(HookKind::Start));
    }
    let app = m.apps.get(&u.app)?;
    if u.life == Life::Dying {
        return teardown_hook(m, u);
    }
    if a.removed {
        return None;
    }
    if !a.installed {
        return Some(HookSpec::simple(HookKind::Install));
    }
    match a.series_upgrade {
        SeriesUpgrade::PrePending => {
            let mut s = HookSpec::simple(HookKind::PreSeriesUpgrade);
            s.target_base = m
                .machines
                .get(&u.machine)
                .and_then(|mc| mc.series_upgrade.clone());
            return Some(s);
        }
        SeriesUpgrade::Paused => return None,
        SeriesUpgrade::PostPending => return Some(HookSpec::simple(HookKind::PostSeriesUpgrade)),
        SeriesUpgrade::None => {}
    }
    if app.charm_generation > a.charm_generation {
        return Some(HookSpec::simple(HookKind::UpgradeCharm));
    }
    for rel in m.relations.values() {
        if rel.life != Life::Alive || !m.unit_eligible(rel, unit) || m.end_is_implicit(rel, unit) {
            continue;
        }
        if a.relations.get(&rel.id).is_some_and(|r| r.created) {
            continue;
        }
        let end = rel.end_of(&u.app)?;
        let remote = rel.remote_app(&u.app).unwrap_or_default();
        return Some(rel_hook(
            HookKind::RelationCreated,
            rel.id,
            &end.endpoint,
            remote,
            "",
            0,
        ));
    }
    let leader = m.is_leader(unit);
    if leader && !a.leader_elected_seen {
        return Some(HookSpec::simple(HookKind::LeaderElected));
    }
    if !leader && a.leader_settings_seen != Some(app.leader_settings.version) {
        return Some(HookSpec::simple(HookKind::LeaderSettingsChanged));
    }
    if let Some(q) = a.queued.first() {
        if let Some(k) = HookKind::from_simple(q) {
            return Some(HookSpec::simple(k));
        }
    }
    if a.config_seen.as_deref() != Some(config_state(m, unit).as_str()) {
        return Some(HookSpec::simple(HookKind::ConfigChanged));
    }
    for rid in relation_order(m, u) {
        if let Some(h) = a
            .relations
            .get(&rid)
            .and_then(|rs| relation_hook(m, u, rid, rs))
        {
            return Some(h);
        }
    }
    if a.update_status && a.started {
        return Some(HookSpec::simple(HookKind::UpdateStatus));
    }
    None
}

/// nextHookForRelation (docs/juju-hook-environment.md §3).
fn relation_hook(m: &Model, u: &Unit, rid: u64, rs: &RelationAgentState) -> Option<HookSpec> {
    let rel = m.relations.get(&rid)?;
    if !rs.created || m.end_is_implicit(rel, &u.name) {
        return None;
    }
    let end = rel.end_of(&u.app)?;
    let remote_app = rel.remote_app(&u.app).unwrap_or_default().to_string();
    let dying = u.life == Life::Dying || rel.life == Life::Dying;
    let remote: Vec<String> = if dying {
        vec![]
    } else {
        m.remote_members(rel, &u.name)
    };
    let unit_version = |x: &str| rel.unit_settings.get(x).map(|b| b.version).unwrap_or(0);
    let mk = |kind, ru: &str, v| rel_hook(kind, rid, &end.endpoint, &remote_app, ru, v);
    if let Some(x) = &rs.pending_changed {
        if remote.contains(x) {
            return Some(mk(HookKind::RelationChanged, x, unit_version(x)));
        }
    }
    if let Some(x) = rs.members.keys().find(|x| !remote.contains(x)) {
        let mut h = mk(HookKind::RelationDeparted, x, 0);
        if let Some(r) = h.relation.as_mut() {
            r.departing_unit = Some(if u.life == Life::Dying {
                u.name.clone()
            } else {
                x.clone()
            });
        }
        return Some(h);
    }
    if dying {
        return if rel.peer {
            None
        } else {
            Some(mk(HookKind::RelationBroken, "", 0))
        };
    }
    let app_version = rel
        .app_settings
        .get(&remote_app)
        .map(|b| b.version)
        .unwrap_or(0);
    if app_version > 0 && app_version > rs.app_version_seen {
        return Some(mk(HookKind::RelationChanged, "", app_version));
    }
    if let Some(x) = remote.iter().find(|x| !rs.members.contains_key(*x)) {
        return Some(mk(HookKind::RelationJoined, x, unit_version(x)));
    }
    if let Some((x, _)) = rs.members.iter().find(|(x, seen)| unit_version(x) > **seen) {
        return Some(mk(HookKind::RelationChanged, x, unit_version(x)));
    }
    None
}

/// A Dying unit (juju/juju internal/worker/uniter/resolver.go `nextOp`, `case life.Dying`):
/// relations are broken first, then `stop` only if the unit started, then `remove` only if it
/// was installed.
fn teardown_hook(m: &Model, u: &Unit) -> Option<HookSpec> {
    let a = &u.agent;
    if !a.installed {
        return None;
    }
    for rid in relation_order(m, u) {
        if let Some(h) = a
            .relations
            .get(&rid)
            .and_then(|rs| relation_hook(m, u, rid, rs))
        {
            return Some(h);
        }
    }
    if a.started && !a.stopped {
        return Some(HookSpec::simple(HookKind::Stop));
    }
    if a.installed && !a.removed {
        return Some(HookSpec::simple(HookKind::Remove));
    }
    None
}

/// Puts `unit` into the scope of relation `rid`, seeding its bag.
fn enter_scope(m: &mut Model, unit: &str, rid: u64) {
    let addr = m.unit_address(unit);
    let Some(rel) = m.relations.get_mut(&rid) else {
        return;
    };
    if rel.in_scope.insert(unit.to_string()) {
        let bag = rel.unit_settings.entry(unit.to_string()).or_default();
        let mut data = bag.data.clone();
        data.insert("private-address".into(), addr.clone());
        data.insert("ingress-address".into(), addr.clone());
        data.insert("egress-subnets".into(), format!("{addr}/32"));
        bag.replace(data);
    }
}

/// Model changes made just before a hook runs: scope entry for `-relation-created`, the
/// agent-set statuses, agent status `executing`.
pub fn prepare(m: &mut Model, unit: &str, spec: &HookSpec) -> Result<()> {
    m.unit(unit)?;
    if let (HookKind::RelationCreated, Some(r)) = (spec.kind, &spec.relation) {
        enter_scope(m, unit, r.id);
        if let Some(u) = m.units.get_mut(unit) {
            u.agent.relations.entry(r.id).or_default();
        }
    }
    let Some(u) = m.units.get_mut(unit) else {
        return Ok(());
    };
    match spec.kind {
        HookKind::Install if !u.charm_set_status => {
            u.workload_status = Status::new("maintenance", "installing charm software");
        }
        HookKind::Stop => u.workload_status = Status::new("maintenance", "stopping charm software"),
        HookKind::Remove => {
            u.workload_status = Status::new("maintenance", "cleaning up prior to charm deletion")
        }
        _ => {}
    }
    let what = if spec.kind == HookKind::Action {
        format!("running action {}", spec.name())
    } else {
        format!("running {} hook", spec.name())
    };
    agent_status(u, "executing", &what);
    Ok(())
}

/// Commits (ok) or discards the hook's buffered changes and advances the agent state.
pub fn finish(
    m: &mut Model,
    unit: &str,
    spec: &HookSpec,
    ctx: &HookContext,
    ok: bool,
) -> Result<()> {
    if !ok {
        if spec.kind != HookKind::Action {
            if let Some(u) = m.units.get_mut(unit) {
                u.agent.error = Some(spec.clone());
                u.agent.retry = None;
                agent_status(u, "error", &format!("hook failed: {:?}", spec.name()));
            }
        } else if let Some(u) = m.units.get_mut(unit) {
            agent_status(u, "idle", "");
        }
        return Ok(());
    }
    commit(m, unit, ctx, spec.kind == HookKind::ConfigChanged);
    if spec.kind != HookKind::Action {
        hook_done(m, unit, spec);
    }
    if let Some(u) = m.units.get_mut(unit) {
        u.agent.retry = None;
        agent_status(u, "idle", "");
    }
    Ok(())
}

/// `CommitHookChanges` (juju/juju apiserver/facades/agent/uniter/uniter.go
/// `commitHookChangesForOneUnit`), one transaction:
/// 1. after `config-changed` only (runner/context/context.go `doFlush`: `if process ==
///    hooks.ConfigChanged { b.UpdateNetworkInfo() }`), `updateUnitNetworkInfoOperation` sets
///    `private-address` and `ingress-address` to the unit's ingress address and
///    `egress-subnets` to its egress subnets in the unit's bag of every joined relation;
/// 2. then each dirty bag the hook wrote: the uniter sends the whole cached bag
///    (`Settings.FinalResult`), and `updateUnitSettingsOp` applies it with `Settings.Set`, which
///    writes only keys that differ from what the controller stored *before* this transaction.
///
/// So a charm that re-sets an unchanged `private-address` in `config-changed` does not win
/// over step 1; a value it changes does.
fn commit(m: &mut Model, unit: &str, ctx: &HookContext, update_network_info: bool) {
    let app = ctx.app.clone();
    let addr = m.unit_address(unit);
    for (rid, rel) in m.relations.iter_mut() {
        let cr = ctx.relations.get(rid).filter(|c| c.unit_dirty);
        let joined = rel.in_scope.contains(unit);
        if cr.is_none() && !(update_network_info && joined) {
            continue;
        }
        let bag = rel.unit_settings.entry(unit.to_string()).or_default();
        let stored = bag.data.clone();
        let mut new = stored.clone();
        if update_network_info && joined {
            for key in ["private-address", "ingress-address"] {
                new.insert(key.into(), addr.clone());
            }
            new.insert("egress-subnets".into(), format!("{addr}/32"));
        }
        if let Some(cr) = cr {
            for (k, v) in &cr.unit_bag {
                if stored.get(k) != Some(v) {
                    new.insert(k.clone(), v.clone());
                }
            }
            for k in stored.keys().filter(|k| !cr.unit_bag.contains_key(*k)) {
                new.remove(k);
            }
        }
        bag.replace(new);
    }
    for (rid, cr) in &ctx.relations {
        let mut app_version = None;
        if let Some(rel) = m.relations.get_mut(rid) {
            if cr.app_dirty {
                let bag = rel.app_settings.entry(app.clone()).or_default();
                bag.replace(cr.app_bag.clone());
                app_version = Some(bag.version);
            }
        }
        // A unit never gets -changed for its own writes (peer app data included).
        if let (Some(v), Some(u)) = (app_version, m.units.get_mut(unit)) {
            if let Some(rs) = u.agent.relations.get_mut(rid) {
                if rs.app_version_seen < v {
                    rs.app_version_seen = v;
                }
            }
        }
    }
    let Some(u) = m.units.get_mut(unit) else {
        return;
    };
    if ctx.state_dirty {
        u.charm_state = ctx.state.clone();
    }
    for op in &ctx.port_ops {
        if op.open {
            u.ports
                .entry(op.range.clone())
                .or_default()
                .extend(op.endpoints.iter().cloned());
        } else if op.endpoints.is_empty() {
            u.ports.remove(&op.range);
        } else if let Some(eps) = u.ports.get_mut(&op.range) {
            eps.retain(|e| !op.endpoints.contains(e));
            if eps.is_empty() {
                u.ports.remove(&op.range);
            }
        }
    }
}

/// Advances the agent state after `spec` completed (or was resolved without retry).
pub fn hook_done(m: &mut Model, unit: &str, spec: &HookSpec) {
    let Some(u) = m.units.get(unit) else { return };
    let app_name = u.app.clone();
    let leader = m.is_leader(unit);
    let cfg = config_state(m, unit);
    let (generation, ls_version) = m
        .apps
        .get(&app_name)
        .map(|a| (a.charm_generation, a.leader_settings.version))
        .unwrap_or((0, 0));
    let mut leave: Option<u64> = None;
    let Some(u) = m.units.get_mut(unit) else {
        return;
    };
    let a = &mut u.agent;
    if a.queued.first().map(String::as_str) == Some(spec.kind.base_name()) {
        a.queued.remove(0);
    }
    match spec.kind {
        HookKind::Install => a.installed = true,
        HookKind::Start => {
            a.started = true;
            a.stopped = false;
            a.reboot_detected = false;
            if !u.charm_set_status {
                u.workload_status = Status::new("unknown", "");
            }
        }
        HookKind::ConfigChanged => {
            a.config_seen = Some(cfg);
            if a.after_upgrade {
                a.after_upgrade = false;
                if !leader {
                    a.leader_settings_seen = None;
                }
            }
            if !a.started && !a.queued.iter().any(|q| q == "start") {
                a.queued.push("start".into());
            }
        }
        // operation/runhook.go `Commit`: upgrade-charm queues config-changed, and config-changed
        // queues start only `if !state.Started`; the upgrade (operation/deploy.go `Commit`)
        // keeps Started, so a started unit gets no `start` after an upgrade.
        HookKind::UpgradeCharm => {
            a.charm_generation = generation;
            a.after_upgrade = true;
            if !a.queued.iter().any(|q| q == "config-changed") {
                a.queued.insert(0, "config-changed".into());
            }
        }
        HookKind::LeaderElected => {
            a.leader_elected_seen = true;
            a.leader_settings_seen = Some(ls_version);
        }
        HookKind::LeaderSettingsChanged => a.leader_settings_seen = Some(ls_version),
        HookKind::UpdateStatus => a.update_status = false,
        HookKind::PreSeriesUpgrade => a.series_upgrade = SeriesUpgrade::Paused,
        HookKind::PostSeriesUpgrade => a.series_upgrade = SeriesUpgrade::None,
        HookKind::Stop => {
            a.stopped = true;
            u.workload_status = Status::new("maintenance", "");
        }
        HookKind::Remove => {
            a.removed = true;
            u.workload_status = Status::new("terminated", "");
        }
        HookKind::Action => {}
        HookKind::RelationCreated
        | HookKind::RelationJoined
        | HookKind::RelationChanged
        | HookKind::RelationDeparted
        | HookKind::RelationBroken => {
            let Some(r) = &spec.relation else { return };
            let rs = a.relations.entry(r.id).or_default();
            match spec.kind {
                HookKind::RelationCreated => rs.created = true,
                HookKind::RelationJoined => {
                    rs.members.insert(r.remote_unit.clone(), r.version);
                    rs.pending_changed = Some(r.remote_unit.clone());
                }
                HookKind::RelationChanged if r.remote_unit.is_empty() => {
                    rs.app_version_seen = r.version
                }
                HookKind::RelationChanged => {
                    rs.members.insert(r.remote_unit.clone(), r.version);
                    if rs.pending_changed.as_deref() == Some(r.remote_unit.as_str()) {
                        rs.pending_changed = None;
                    }
                }
                HookKind::RelationDeparted => {
                    rs.members.remove(&r.remote_unit);
                    if rs.pending_changed.as_deref() == Some(r.remote_unit.as_str()) {
                        rs.pending_changed = None;
                    }
                }
                _ => leave = Some(r.id),
            }
        }
    }
    if let Some(rid) = leave {
        a.relations.remove(&rid);
        if let Some(rel) = m.relations.get_mut(&rid) {
            rel.in_scope.remove(unit);
        }
    }
}

/// Applies hook-less transitions until nothing changes. Returns true when something changed.
pub fn silent_steps(m: &mut Model) -> bool {
    let mut any = false;
    for _ in 0..1000 {
        if !silent_step(m) {
            break;
        }
        any = true;
    }
    any
}

fn silent_step(m: &mut Model) -> bool {
    // 1. Implicit ends (principal side of juju-info) enter scope silently after install.
    let rels: Vec<u64> = m.relations.keys().copied().collect();
    for rid in &rels {
        let Some(rel) = m.relations.get(rid) else {
            continue;
        };
        if rel.life != Life::Alive {
            continue;
        }
        let candidates: Vec<String> = m
            .units
            .values()
            .filter(|u| {
                u.life == Life::Alive && u.agent.installed && !rel.in_scope.contains(&u.name)
            })
            .filter(|u| rel.end_of(&u.app).is_some_and(|e| e.implicit))
            .map(|u| u.name.clone())
            .collect();
        if let Some(name) = candidates.first() {
            enter_scope(m, name, *rid);
            if let Some(u) = m.units.get_mut(name) {
                u.agent.relations.insert(
                    *rid,
                    RelationAgentState {
                        created: true,
                        ..Default::default()
                    },
                );
            }
            return true;
        }
    }
    // 2. Subordinate creation: one per principal unit in scope of a container relation.
    for rid in &rels {
        let Some(rel) = m.relations.get(rid) else {
            continue;
        };
        if rel.life != Life::Alive || rel.scope != Scope::Container || rel.peer {
            continue;
        }
        let sub_app = rel
            .ends
            .iter()
            .find(|e| m.apps.get(&e.app).is_some_and(|a| a.charm.subordinate));
        let prin_app = rel
            .ends
            .iter()
            .find(|e| m.apps.get(&e.app).is_some_and(|a| !a.charm.subordinate));
        let (Some(sub), Some(prin)) = (sub_app, prin_app) else {
            continue;
        };
        for p in &rel.in_scope {
            let Some(pu) = m.units.get(p) else { continue };
            if pu.app != prin.app || pu.life != Life::Alive {
                continue;
            }
            let exists = m
                .units
                .values()
                .any(|x| x.app == sub.app && x.principal.as_deref() == Some(p.as_str()));
            if !exists {
                let (sub_name, machine, p) = (sub.app.clone(), pu.machine.clone(), p.clone());
                crate::emulator::create_unit(m, &sub_name, machine, Some(p));
                return true;
            }
        }
    }
    // 3. Subordinate teardown: principal dying/gone, or no alive container relation left.
    let subs: Vec<(String, String, String)> = m
        .units
        .values()
        .filter(|u| u.life == Life::Alive)
        .filter_map(|u| {
            u.principal
                .clone()
                .map(|p| (u.name.clone(), u.app.clone(), p))
        })
        .collect();
    for (s, sapp, p) in subs {
        let papp = m
            .units
            .get(&p)
            .filter(|pu| pu.life == Life::Alive)
            .map(|pu| pu.app.clone());
        let linked = papp.as_ref().is_some_and(|pa| {
            m.relations.values().any(|r| {
                r.life == Life::Alive
                    && r.scope == Scope::Container
                    && r.end_of(&sapp).is_some()
                    && r.end_of(pa).is_some()
            })
        });
        if !linked {
            if let Some(u) = m.units.get_mut(&s) {
                u.life = Life::Dying;
            }
            return true;
        }
    }
    // 4. Scopes left without hooks: implicit ends of dying units/relations, finished peers.
    let mut leave: Vec<(String, u64)> = Vec::new();
    for u in m.units.values() {
        for (rid, rs) in &u.agent.relations {
            let Some(rel) = m.relations.get(rid) else {
                leave.push((u.name.clone(), *rid));
                continue;
            };
            let dying = u.life == Life::Dying || rel.life == Life::Dying;
            let implicit = rel.end_of(&u.app).is_some_and(|e| e.implicit);
            if dying && (implicit || (rel.peer && rs.members.is_empty())) {
                leave.push((u.name.clone(), *rid));
            }
        }
    }
    if let Some((name, rid)) = leave.first() {
        if let Some(u) = m.units.get_mut(name) {
            u.agent.relations.remove(rid);
        }
        if let Some(rel) = m.relations.get_mut(rid) {
            rel.in_scope.remove(name);
        }
        return true;
    }
    // 5. Dying relations with nobody in scope are removed.
    if let Some(rid) = m
        .relations
        .values()
        .find(|r| r.life == Life::Dying && r.in_scope.is_empty())
        .map(|r| r.id)
    {
        m.relations.remove(&rid);
        return true;
    }
    // 6. Dead units (remove ran, or dying before install) without subordinates go away.
    let dead = m.units.values().find(|u| {
        u.life == Life::Dying
            && (u.agent.removed || (!u.agent.installed && u.agent.error.is_none()))
            && !m
                .units
                .values()
                .any(|x| x.principal.as_deref() == Some(u.name.as_str()))
    });
    if let Some(name) = dead.map(|u| u.name.clone()) {
        remove_unit_now(m, &name);
        return true;
    }
    // 7. Leadership for apps without a leader.
    let leaderless: Vec<String> = m
        .apps
        .values()
        .filter(|a| a.leader.as_ref().is_none_or(|l| !m.units.contains_key(l)))
        .map(|a| a.name.clone())
        .collect();
    for app in leaderless {
        let next = m
            .units
            .values()
            .filter(|u| u.app == app && u.life == Life::Alive)
            .min_by_key(|u| u.seq)
            .map(|u| u.name.clone());
        if let Some(n) = next {
            set_leader(m, &app, &n);
            return true;
        }
    }
    false
}

/// Makes `unit` the leader of `app`: resets leader-elected, and (when a previous leader existed)
/// bumps the leader-settings version so non-leaders run `leader-settings-changed`.
pub fn set_leader(m: &mut Model, app: &str, unit: &str) {
    let Some(a) = m.apps.get_mut(app) else { return };
    let had = a.leader.is_some();
    a.leader = Some(unit.to_string());
    if had {
        a.leader_settings.version += 1;
    }
    for u in m.units.values_mut().filter(|u| u.app == app) {
        u.agent.leader_elected_seen = false;
    }
}

fn remove_unit_now(m: &mut Model, name: &str) {
    let Some(u) = m.units.remove(name) else {
        return;
    };
    for rel in m.relations.values_mut() {
        rel.in_scope.remove(name);
    }
    if let Some(a) = m.apps.get_mut(&u.app) {
        if a.leader.as_deref() == Some(name) {
            a.leader = None;
        }
    }
    if !m.units.values().any(|x| x.machine == u.machine) {
        m.machines.remove(&u.machine);
    }
}

/// Hooks any unit could run now, keyed by unit sequence number.
pub fn pending(m: &Model) -> BTreeMap<u64, (String, HookSpec)> {
    m.units
        .values()
        .filter_map(|u| next_hook(m, &u.name).map(|h| (u.seq, (u.name.clone(), h))))
        .collect()
}

/// Role helper used by relate().
pub fn compatible(a: Role, b: Role) -> bool {
    matches!(
        (a, b),
        (Role::Provider, Role::Requirer) | (Role::Requirer, Role::Provider)
    )
}
