//! The model's data: applications, machines, units, relations, relation data and agent state.
//! Everything here is plain serde data persisted as `model.json` by [`crate::store`].

use crate::charm::{CharmMeta, Role, Scope};
use crate::hook::HookSpec;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// Lifecycle of a unit or relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Life {
    /// Normal.
    #[default]
    Alive,
    /// Being torn down.
    Dying,
}

/// A status value with its message (workload, agent or application).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Status {
    /// e.g. `active`, `maintenance`, `error`, `idle`.
    pub status: String,
    /// Free text.
    pub message: String,
}

impl Status {
    /// Builds a status.
    pub fn new(status: &str, message: &str) -> Status {
        Status {
            status: status.into(),
            message: message.into(),
        }
    }
}

/// A bag of relation data with its settings version (0 = never written).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Bag {
    /// Version, bumped on every committed change.
    pub version: u64,
    /// The data.
    pub data: BTreeMap<String, String>,
}

impl Bag {
    /// Applies `new` as the full content; bumps the version when something changed.
    pub fn replace(&mut self, new: BTreeMap<String, String>) -> bool {
        let new: BTreeMap<String, String> =
            new.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        if new != self.data {
            self.data = new;
            self.version += 1;
            true
        } else {
            false
        }
    }
}

/// A machine (units of a principal and its subordinates share one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// Machine id (`"0"`, `"1"`, …).
    pub id: String,
    /// Primary address (ingress / private address).
    pub address: String,
    /// CIDR of the primary network.
    pub cidr: String,
    /// Interface name reported by network-get.
    pub interface: String,
    /// MAC address reported by network-get.
    pub mac: String,
    /// Public address, if any (unit-get public-address).
    pub public_address: Option<String>,
    /// Base (e.g. `ubuntu@22.04`).
    pub base: String,
    /// Series upgrade in progress: `Some(target base)`.
    pub series_upgrade: Option<String>,
}

/// An application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Application {
    /// Name.
    pub name: String,
    /// Charm directory on disk.
    pub charm_dir: PathBuf,
    /// Parsed charm.
    pub charm: CharmMeta,
    /// Charm generation: bumped by `upgrade_charm`.
    pub charm_generation: u64,
    /// Values explicitly set by the user (typed).
    pub config: BTreeMap<String, Value>,
    /// Current leader unit.
    pub leader: Option<String>,
    /// Next unit number.
    pub next_unit: u64,
    /// Leader settings (`leader-set`) with version.
    pub leader_settings: Bag,
    /// Application status (`status-set --application`).
    pub status: Status,
}

impl Application {
    /// Effective config: defaults overlaid with set values; options without value omitted.
    pub fn effective_config(&self) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        for (k, opt) in &self.charm.config {
            if let Some(v) = self.config.get(k).or(opt.default.as_ref()) {
                out.insert(k.clone(), v.clone());
            }
        }
        out
    }
}

/// An open port range.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PortRange {
    /// First port (0 for icmp).
    pub from: u16,
    /// Last port.
    pub to: u16,
    /// `tcp`, `udp` or `icmp`.
    pub protocol: String,
}

impl std::fmt::Display for PortRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.protocol == "icmp" {
            write!(f, "icmp")
        } else if self.from == self.to {
            write!(f, "{}/{}", self.from, self.protocol)
        } else {
            write!(f, "{}-{}/{}", self.from, self.to, self.protocol)
        }
    }
}

/// Per-relation resolver state of one unit agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RelationAgentState {
    /// `-relation-created` has run.
    pub created: bool,
    /// Remote units joined, with the settings version last seen.
    pub members: BTreeMap<String, u64>,
    /// Remote app settings version last seen.
    pub app_version_seen: u64,
    /// A unit that just joined and still needs its `-changed`.
    pub pending_changed: Option<String>,
}

/// Series-upgrade progress of a unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum SeriesUpgrade {
    /// Nothing in progress.
    #[default]
    None,
    /// `pre-series-upgrade` must run.
    PrePending,
    /// Pre ran; the unit is paused until completion.
    Paused,
    /// `post-series-upgrade` must run.
    PostPending,
}

/// The unit agent's resolver state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AgentState {
    /// `install` ran.
    pub installed: bool,
    /// `start` ran (an upgrade does not reset it).
    pub started: bool,
    /// The machine rebooted while the unit was started: `start` runs once more.
    #[serde(default)]
    pub reboot_detected: bool,
    /// `leader-elected` ran for the current leadership term.
    pub leader_elected_seen: bool,
    /// Leader-settings version last seen (non-leaders).
    pub leader_settings_seen: Option<u64>,
    /// Canonical JSON of the config last seen by `config-changed`.
    pub config_seen: Option<String>,
    /// Charm generation the unit runs.
    pub charm_generation: u64,
    /// Queued hooks (`start` after config-changed, `config-changed` after upgrade-charm).
    pub queued: Vec<String>,
    /// The `config-changed` now queued follows an upgrade (then leader-settings-changed re-runs).
    pub after_upgrade: bool,
    /// Per relation id.
    pub relations: BTreeMap<u64, RelationAgentState>,
    /// update-status requested.
    pub update_status: bool,
    /// Series upgrade.
    pub series_upgrade: SeriesUpgrade,
    /// `stop` ran.
    pub stopped: bool,
    /// `remove` ran (unit is dead once it has no subordinates).
    pub removed: bool,
    /// Failed hook waiting for `resolved`.
    pub error: Option<HookSpec>,
    /// Hook to re-run first (`resolved` with retry).
    pub retry: Option<HookSpec>,
}

/// A unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    /// `app/N`.
    pub name: String,
    /// Application name.
    pub app: String,
    /// Machine id.
    pub machine: String,
    /// Principal unit (subordinates only).
    pub principal: Option<String>,
    /// Workload status.
    pub workload_status: Status,
    /// True once the charm called status-set (unit scope).
    pub charm_set_status: bool,
    /// Agent status (`idle`, `executing`, `error`…).
    pub agent_status: Status,
    /// `application-version-set`.
    pub workload_version: String,
    /// Charm state (`state-set`).
    pub charm_state: BTreeMap<String, String>,
    /// Opened ports with their endpoints (empty set = all endpoints).
    #[serde(with = "ports_as_list")]
    pub ports: BTreeMap<PortRange, BTreeSet<String>>,
    /// Alive or dying.
    pub life: Life,
    /// Creation sequence number (scheduling order).
    pub seq: u64,
    /// Resolver state.
    pub agent: AgentState,
}

/// One end of a relation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelationEnd {
    /// Application.
    pub app: String,
    /// Endpoint name.
    pub endpoint: String,
    /// Role of this end.
    pub role: Role,
    /// True when this end is the implicit `juju-info` provides (its units run no hooks).
    pub implicit: bool,
}

/// A relation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Relation {
    /// Relation id.
    pub id: u64,
    /// One end (peer) or two ends.
    pub ends: Vec<RelationEnd>,
    /// Interface name.
    pub interface: String,
    /// Container when either end is container-scoped.
    pub scope: Scope,
    /// Peer relation.
    pub peer: bool,
    /// Alive or dying.
    pub life: Life,
    /// Units in scope.
    pub in_scope: BTreeSet<String>,
    /// Unit bags.
    pub unit_settings: BTreeMap<String, Bag>,
    /// App bags.
    pub app_settings: BTreeMap<String, Bag>,
}

impl Relation {
    /// The end belonging to `app` (the single end for peers).
    pub fn end_of(&self, app: &str) -> Option<&RelationEnd> {
        self.ends.iter().find(|e| e.app == app)
    }
    /// The other application (own app for peers).
    pub fn remote_app(&self, app: &str) -> Option<&str> {
        if self.peer {
            return self.ends.first().map(|e| e.app.as_str());
        }
        self.ends
            .iter()
            .find(|e| e.app != app)
            .map(|e| e.app.as_str())
    }
    /// `app:endpoint app:endpoint` (Juju's relation key).
    pub fn key(&self) -> String {
        self.ends
            .iter()
            .map(|e| format!("{}:{}", e.app, e.endpoint))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Model-wide settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Model name.
    pub name: String,
    /// Model UUID.
    pub uuid: String,
    /// `JUJU_VERSION`.
    pub juju_version: String,
    /// `JUJU_API_ADDRESSES`.
    pub api_addresses: String,
    /// `JUJU_AVAILABILITY_ZONE`.
    pub availability_zone: String,
    /// Default base of new machines.
    pub default_base: String,
    /// First three octets of machine addresses (`192.0.2` → `192.0.2.10`, `.11`, …).
    pub address_prefix: String,
}

impl Default for ModelInfo {
    fn default() -> Self {
        ModelInfo {
            name: "test".into(),
            uuid: "a5b4c3d2-1e0f-4a8b-9c7d-6e5f4a3b2c1d".into(),
            juju_version: "3.6.8".into(),
            api_addresses: "192.0.2.1:17070".into(),
            availability_zone: String::new(),
            default_base: "ubuntu@22.04".into(),
            address_prefix: "192.0.2".into(),
        }
    }
}

/// The whole persisted model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Model {
    /// Settings.
    pub info: ModelInfo,
    /// Applications by name.
    pub apps: BTreeMap<String, Application>,
    /// Machines by id.
    pub machines: BTreeMap<String, Machine>,
    /// Units by name.
    pub units: BTreeMap<String, Unit>,
    /// Relations by id.
    pub relations: BTreeMap<u64, Relation>,
    /// Next relation id.
    pub next_relation_id: u64,
    /// Next machine id.
    pub next_machine: u64,
    /// Next unit sequence number.
    pub next_seq: u64,
    /// Pending action results by action uuid (filled by the runner).
    pub action_results: BTreeMap<String, Value>,
}

impl Model {
    /// Records a new Alive relation with no units in scope and no data, between `ends` (one
    /// peer end, or two), and returns its id.
    pub fn new_relation(&mut self, ends: Vec<RelationEnd>, interface: &str, scope: Scope) -> u64 {
        let id = self.next_relation_id;
        self.next_relation_id += 1;
        let peer = matches!(ends.as_slice(), [e] if e.role == Role::Peer);
        self.relations.insert(
            id,
            Relation {
                id,
                ends,
                interface: interface.to_string(),
                scope,
                peer,
                life: Life::Alive,
                in_scope: BTreeSet::new(),
                unit_settings: BTreeMap::new(),
                app_settings: BTreeMap::new(),
            },
        );
        id
    }
    /// Looks up a unit.
    pub fn unit(&self, name: &str) -> crate::Result<&Unit> {
        self.units
            .get(name)
            .ok_or_else(|| crate::Error::NotFound(format!("unit {name:?}")))
    }
    /// Looks up an application.
    pub fn app(&self, name: &str) -> crate::Result<&Application> {
        self.apps
            .get(name)
            .ok_or_else(|| crate::Error::NotFound(format!("application {name:?}")))
    }
    /// The address of a unit (its machine's).
    pub fn unit_address(&self, unit: &str) -> String {
        self.units
            .get(unit)
            .and_then(|u| self.machines.get(&u.machine))
            .map(|m| m.address.clone())
            .unwrap_or_default()
    }
    /// True when `unit` is the leader of its application.
    pub fn is_leader(&self, unit: &str) -> bool {
        self.units
            .get(unit)
            .and_then(|u| self.apps.get(&u.app))
            .is_some_and(|a| a.leader.as_deref() == Some(unit))
    }
    /// Whether `unit`'s end of `rel` is implicit (the unit runs no hooks for it).
    pub fn end_is_implicit(&self, rel: &Relation, unit: &str) -> bool {
        let Some(u) = self.units.get(unit) else {
            return false;
        };
        rel.end_of(&u.app).is_some_and(|e| e.implicit)
    }
    /// Whether `unit` takes part in `rel` at all (app is an end; container scope limits subordinates
    /// to relations with their principal's application).
    pub fn unit_eligible(&self, rel: &Relation, unit: &str) -> bool {
        let Some(u) = self.units.get(unit) else {
            return false;
        };
        if rel.end_of(&u.app).is_none() {
            return false;
        }
        if rel.scope == Scope::Container && !rel.peer {
            if let Some(p) = &u.principal {
                let papp = self.units.get(p).map(|pu| pu.app.as_str()).unwrap_or("");
                return rel.remote_app(&u.app) == Some(papp);
            }
        }
        true
    }
    /// Remote units of `rel` that `unit` should see as members (in scope, other side, same container
    /// for container scope). Ignores the local unit's and relation's life.
    pub fn remote_members(&self, rel: &Relation, unit: &str) -> Vec<String> {
        let Some(u) = self.units.get(unit) else {
            return vec![];
        };
        let Some(remote_app) = rel.remote_app(&u.app) else {
            return vec![];
        };
        rel.in_scope
            .iter()
            .filter(|n| n.as_str() != unit)
            .filter_map(|n| self.units.get(n))
            .filter(|r| r.app == remote_app)
            .filter(|r| {
                rel.scope == Scope::Global
                    || rel.peer
                    || r.principal.as_deref() == Some(unit)
                    || u.principal.as_deref() == Some(r.name.as_str())
            })
            .map(|r| r.name.clone())
            .collect()
    }
}

/// JSON maps need string keys: ports are stored as a list of `[range, endpoints]` pairs.
mod ports_as_list {
    use super::PortRange;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::{BTreeMap, BTreeSet};

    type Ports = BTreeMap<PortRange, BTreeSet<String>>;

    pub fn serialize<S: Serializer>(p: &Ports, s: S) -> Result<S::Ok, S::Error> {
        p.iter().collect::<Vec<_>>().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Ports, D::Error> {
        let v: Vec<(PortRange, BTreeSet<String>)> = Vec::deserialize(d)?;
        Ok(v.into_iter().collect())
    }
}
