//! Reads everything a hook needs to decide: env, config, relations, peers, host and worker facts.
use std::path::{Path, PathBuf};

use super::config::{CharmConfig, ConfigErrors};
use super::event::{Event, RelationHook};
use super::hooktools::{Bag, HookToolError, HookTools};
use super::netinfo::{self, HostFacts, NetInfoError};
use super::paths::Paths;
use super::service::{ServiceError, WorkerService, LEGACY};
use super::tlscheck::{CertCheck, PROBE_TIMEOUT};
use super::workerstate;

/// Endpoints whose own unit bag the charm writes.
pub const PUBLISHED_ENDPOINTS: [&str; 2] = ["loadbalancer", "website"];
/// The peer endpoint.
pub const PEER_ENDPOINT: &str = "peers";
/// The endpoint that ties this subordinate to its principal.
pub const PRINCIPAL_ENDPOINT: &str = "juju-info";
/// Charm-state key: the VIP this unit last published as `website` `private-address`.
pub const STATE_PUBLISHED_VIP: &str = "published-vip";

/// Errors while reading the world (the charm cannot decide without these facts).
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    /// A required environment variable is missing or malformed.
    #[error("environment: {0}")]
    Env(String),
    /// A hook tool failed.
    #[error(transparent)]
    HookTool(#[from] HookToolError),
    /// Network facts could not be read.
    #[error(transparent)]
    Net(#[from] NetInfoError),
    /// systemctl could not be run.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// The Juju unit this process runs for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// `keepalived/3`
    pub name: String,
    /// `3`
    pub number: u32,
}

impl Unit {
    /// Parses `app/N`.
    pub fn parse(name: &str) -> Option<Self> {
        let (app, n) = name.rsplit_once('/')?;
        if app.is_empty() {
            return None;
        }
        Some(Self {
            name: name.to_string(),
            number: n.parse().ok()?,
        })
    }
}

/// The hook's environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookEnv {
    /// The event.
    pub event: Event,
    /// This unit.
    pub unit: Unit,
    /// The charm directory.
    pub charm_dir: PathBuf,
    /// `JUJU_RELATION_ID` in relation hooks.
    pub relation_id: Option<String>,
}

impl HookEnv {
    /// Reads `JUJU_UNIT_NAME`, `JUJU_CHARM_DIR` (or `CHARM_DIR`, or the cwd) and `JUJU_RELATION_ID`.
    pub fn from_env(event: Event) -> Result<Self, WorldError> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let unit_name = var("JUJU_UNIT_NAME")
            .ok_or_else(|| WorldError::Env("JUJU_UNIT_NAME is not set".into()))?;
        let unit = Unit::parse(&unit_name)
            .ok_or_else(|| WorldError::Env(format!("JUJU_UNIT_NAME={unit_name:?} is not app/N")))?;
        let charm_dir = match var("JUJU_CHARM_DIR").or_else(|| var("CHARM_DIR")) {
            Some(d) => PathBuf::from(d),
            None => std::env::current_dir()
                .map_err(|e| WorldError::Env(format!("no charm dir: {e}")))?,
        };
        Ok(Self {
            event,
            unit,
            charm_dir,
            relation_id: var("JUJU_RELATION_ID"),
        })
    }

    /// The relation being broken in this hook, which must be neither read nor written.
    pub fn broken_relation(&self) -> Option<&str> {
        match &self.event {
            Event::Relation {
                kind: RelationHook::Broken,
                ..
            } => self.relation_id.as_deref(),
            _ => None,
        }
    }
}

/// One relation of an endpoint we publish on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// Endpoint name.
    pub endpoint: String,
    /// `endpoint:N`
    pub id: String,
    /// Our own unit bag (with this hook's pending writes).
    pub local: Bag,
}

/// A remote unit on the peer relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// The peer unit.
    pub unit: Unit,
    /// Its unit bag.
    pub data: Bag,
}

/// The peer relation, when it exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerRelation {
    /// `peers:N`
    pub id: String,
    /// Our own bag there.
    pub local: Bag,
    /// The other units, sorted by unit number.
    pub peers: Vec<Peer>,
}

/// The worker as the service manager and its state file see it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WorkerFacts {
    /// `systemctl is-active`.
    pub active: bool,
    /// The state file, if present and readable.
    pub state: Option<vrrp::StateView>,
}

/// The original Python charm's apt `keepalived.service` on this host, as `systemctl` sees it
/// (this charm never installs that unit, so any active or enabled one is the previous charm's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LegacyFacts {
    /// `systemctl is-active keepalived.service`.
    pub active: bool,
    /// `systemctl is-enabled keepalived.service`.
    pub enabled: bool,
    /// This unit stopped it in an earlier hook (the marker file exists), so the application's
    /// VRRPv2 group may still have keepalived members on units not refreshed yet.
    pub replaced: bool,
}

impl LegacyFacts {
    /// Reads the unit's state and the marker.
    pub fn read(paths: &Paths) -> Result<Self, ServiceError> {
        Ok(Self {
            active: LEGACY.is_active()?,
            enabled: LEGACY.is_enabled()?,
            replaced: paths.legacy_marker().exists(),
        })
    }

    /// Something of the previous charm's daemon is still on this host.
    pub fn present(&self) -> bool {
        self.active || self.enabled
    }
}

/// Everything a hook decides from.
#[derive(Debug, Clone)]
pub struct World {
    /// The hook environment.
    pub env: HookEnv,
    /// The validated config, or why it is invalid.
    pub config: Result<CharmConfig, ConfigErrors>,
    /// Relations of `loadbalancer` and `website`.
    pub relations: Vec<Relation>,
    /// The peer relation.
    pub peers: Option<PeerRelation>,
    /// Host network facts.
    pub host: HostFacts,
    /// The worker.
    pub worker: WorkerFacts,
    /// The previous charm's `keepalived.service`.
    pub legacy: LegacyFacts,
    /// Whether a series upgrade paused the worker.
    pub paused: bool,
    /// `is-leader`: the leader sets the application status.
    pub is_leader: bool,
    /// The principal application (from `juju-info`), e.g. `kubeapi-load-balancer`.
    pub principal: Option<String>,
    /// The principal unit (from `juju-info`), e.g. `kubeapi-load-balancer/2`.
    pub principal_unit: Option<String>,
    /// The principal application's units as `lb-sink` lists them (its remote units of that
    /// application); read only after a refresh from the previous charm, `None` otherwise or
    /// when no `lb-sink` relation names the principal ([`super::legacy::refresh_complete`]).
    pub lb_units: Option<Vec<String>>,
    /// What the local load balancer serves, read in this hook (never cached across hooks);
    /// `None` when this hook does not run the worker.
    pub cert: Option<CertCheck>,
    /// The VIP last published as `website` `private-address` (charm state), so that a hook
    /// that must not apply the config can still put it back after Juju's `config-changed`
    /// overwrote it with the unit's address.
    pub published_vip: Option<String>,
}

/// The principal unit: the remote unit on `juju-info` (`app/N`).
pub fn principal_unit(tools: &HookTools) -> Result<Option<String>, HookToolError> {
    for id in tools.relation_ids(PRINCIPAL_ENDPOINT)? {
        if let Some(unit) = tools.relation_list(&id)?.into_iter().next() {
            if Unit::parse(&unit).is_some() {
                return Ok(Some(unit));
            }
        }
    }
    Ok(None)
}

/// The application of a unit name (`app/N` → `app`).
fn app_of(unit: &str) -> Option<&str> {
    unit.rsplit_once('/').map(|(app, _)| app)
}

/// The principal application's name: the app of the remote unit on `juju-info`.
pub fn principal_app(tools: &HookTools) -> Result<Option<String>, HookToolError> {
    Ok(principal_unit(tools)?.and_then(|u| app_of(&u).map(str::to_string)))
}

/// The units of application `app` on the `lb-sink` relations, sorted; `None` when none is.
fn read_lb_units(tools: &HookTools, app: &str) -> Result<Option<Vec<String>>, HookToolError> {
    let mut units = Vec::new();
    for id in tools.relation_ids(super::legacy::LB_ENDPOINT)? {
        units.extend(
            tools
                .relation_list(&id)?
                .into_iter()
                .filter(|u| app_of(u) == Some(app)),
        );
    }
    units.sort();
    units.dedup();
    Ok((!units.is_empty()).then_some(units))
}

/// Whether this hook will run the worker, so the certificate check is worth its time.
fn runs_worker(env: &HookEnv, config: &Result<CharmConfig, ConfigErrors>, paused: bool) -> bool {
    super::desired::phase(&env.event, paused) == super::desired::Phase::Running
        && config.as_ref().is_ok_and(|c| !c.vips.is_empty())
}

/// Reads the certificate the local load balancer serves on `127.0.0.1:<port>`, sending SNI
/// `vip_hostname` when set, with the worker binary of this charm revision (`charm_dir`).
pub fn check_certificate(charm_dir: &Path, cfg: &CharmConfig) -> CertCheck {
    let endpoint = std::net::SocketAddr::from(([127, 0, 0, 1], cfg.port));
    CertCheck::run(
        charm_dir,
        endpoint,
        cfg.vip_hostname.as_deref(),
        PROBE_TIMEOUT,
    )
}

impl World {
    /// Reads the world through the hook tools, rtnetlink, systemctl and the filesystem.
    /// Returns the world and warnings worth logging.
    pub fn read(
        env: HookEnv,
        tools: &HookTools,
        paths: &Paths,
    ) -> Result<(Self, Vec<String>), WorldError> {
        let mut warnings = Vec::new();
        let config = CharmConfig::from_json(&tools.config_get()?);
        let relations = read_relations(&env, tools)?;
        let peers = read_peers(&env, tools, &mut warnings)?;
        let host = netinfo::read_host_facts()?;
        let state = read_worker_state(paths, &mut warnings);
        let worker = WorkerFacts {
            active: WorkerService.is_active()?,
            state,
        };
        let legacy = LegacyFacts::read(paths)?;
        let paused = paths.paused_flag().exists();
        let is_leader = tools.is_leader()?;
        let principal_unit = principal_unit(tools)?;
        let principal = principal_unit
            .as_deref()
            .and_then(app_of)
            .map(str::to_string);
        // Only needed to tell when a refresh from the previous charm is over.
        let lb_units = match &principal {
            Some(app) if super::legacy::after_old_charm(&legacy, peers.as_ref()) => {
                read_lb_units(tools, app)?
            }
            _ => None,
        };
        let published_vip = tools
            .state_get()?
            .remove(STATE_PUBLISHED_VIP)
            .filter(|v| !v.is_empty());
        let cert = match &config {
            Ok(cfg) if runs_worker(&env, &config, paused) => {
                Some(check_certificate(&env.charm_dir, cfg))
            }
            _ => None,
        };
        Ok((
            World {
                env,
                config,
                relations,
                peers,
                host,
                worker,
                legacy,
                paused,
                is_leader,
                principal,
                principal_unit,
                lb_units,
                cert,
                published_vip,
            },
            warnings,
        ))
    }
}

/// This unit's data on every `loadbalancer` and `website` relation but the one breaking.
fn read_relations(env: &HookEnv, tools: &HookTools) -> Result<Vec<Relation>, WorldError> {
    let broken = env.broken_relation().map(str::to_string);
    let mut relations = Vec::new();
    for ep in PUBLISHED_ENDPOINTS {
        for id in tools.relation_ids(ep)? {
            if Some(&id) == broken.as_ref() {
                continue;
            }
            let local = tools.relation_get(&id, &env.unit.name)?;
            relations.push(Relation {
                endpoint: ep.to_string(),
                id,
                local,
            });
        }
    }
    Ok(relations)
}

/// The peer relation: this unit's data and every peer's (by unit number); a peer with a
/// malformed unit name is skipped with a warning.
fn read_peers(
    env: &HookEnv,
    tools: &HookTools,
    warnings: &mut Vec<String>,
) -> Result<Option<PeerRelation>, WorldError> {
    let Some(id) = tools.relation_ids(PEER_ENDPOINT)?.into_iter().next() else {
        return Ok(None);
    };
    let local = tools.relation_get(&id, &env.unit.name)?;
    let mut peers = Vec::new();
    for name in tools.relation_list(&id)? {
        match Unit::parse(&name) {
            Some(unit) => peers.push(Peer {
                data: tools.relation_get(&id, &name)?,
                unit,
            }),
            None => warnings.push(format!("ignoring peer with malformed unit name {name:?}")),
        }
    }
    peers.sort_by_key(|p| p.unit.number);
    Ok(Some(PeerRelation { id, local, peers }))
}

/// The worker's state file, unless it is missing, unreadable (a warning) or stale: its
/// writer is gone (a warning).
fn read_worker_state(paths: &Paths, warnings: &mut Vec<String>) -> Option<vrrp::StateView> {
    match workerstate::read(&paths.worker_state()) {
        Ok(Some(s)) if !workerstate::writer_alive(&s, std::path::Path::new("/proc")) => {
            warnings.push(format!(
                "ignoring stale worker state: its writer (pid {}) is gone",
                s.pid
            ));
            None
        }
        Ok(s) => s,
        Err(e) => {
            warnings.push(e.to_string());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_names() {
        assert_eq!(
            Unit::parse("keepalived/12"),
            Some(Unit {
                name: "keepalived/12".into(),
                number: 12
            })
        );
        assert_eq!(Unit::parse("keepalived"), None);
        assert_eq!(Unit::parse("/1"), None);
        assert_eq!(Unit::parse("k/x"), None);
    }
}
