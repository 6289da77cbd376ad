//! The per-hook context shared by the runner and the hook tools: a JSON file in its own
//! directory (`JUJU_AGENT_SOCKET_ADDRESS` points at it), guarded by a lock file. It holds the
//! snapshot taken when the hook starts, the remote-data cache and the buffered writes.

use crate::error::{Error, Result};
use crate::fsutil::FileLock;
use crate::hook::{HookKind, HookSpec, LogLine};
use crate::model::{Model, PortRange};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One relation as the hook sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CtxRelation {
    /// Local endpoint name.
    pub endpoint: String,
    /// Remote application (own app for peers).
    pub remote_app: String,
    /// Peer relation.
    pub peer: bool,
    /// Relation key (`app:ep app:ep`).
    pub key: String,
    /// Membership snapshot (remote units), sorted.
    pub members: Vec<String>,
    /// Local unit bag (committed + pending writes).
    pub unit_bag: BTreeMap<String, String>,
    /// Local unit bag written in this hook.
    pub unit_dirty: bool,
    /// Local app bag (committed + pending writes; leader cache).
    pub app_bag: BTreeMap<String, String>,
    /// Local app bag written in this hook.
    pub app_dirty: bool,
    /// Remote bags read so far (`unit` or `app` name → data).
    pub remote_cache: BTreeMap<String, BTreeMap<String, String>>,
}

/// A buffered port change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortOp {
    /// open (true) or close.
    pub open: bool,
    /// Range.
    pub range: PortRange,
    /// Endpoints (empty = all).
    pub endpoints: BTreeSet<String>,
}

/// Action state inside an action context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CtxAction {
    /// Parameters.
    pub params: Value,
    /// `action-set` results (nested maps).
    pub results: serde_json::Map<String, Value>,
    /// `action-fail` message.
    pub failed: Option<String>,
}

/// The hook context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HookContext {
    /// `JUJU_CONTEXT_ID`.
    pub id: String,
    /// Model directory.
    pub model_dir: PathBuf,
    /// Local unit.
    pub unit: String,
    /// Local application.
    pub app: String,
    /// The hook being run.
    pub spec: HookSpec,
    /// Relations visible to the hook by id.
    pub relations: BTreeMap<u64, CtxRelation>,
    /// Sticky "not leader" (is-leader answered false once).
    pub minion: bool,
    /// Charm state (committed + pending).
    pub state: BTreeMap<String, String>,
    /// state-set/state-delete used.
    pub state_dirty: bool,
    /// Buffered port changes.
    pub port_ops: Vec<PortOp>,
    /// Log lines.
    pub logs: Vec<LogLine>,
    /// Action state.
    pub action: Option<CtxAction>,
}

impl HookContext {
    /// Builds the context of `spec` on `unit` from the model (the start-of-hook snapshot).
    pub fn build(
        model: &Model,
        model_dir: &Path,
        unit: &str,
        spec: &HookSpec,
        id: String,
    ) -> Result<HookContext> {
        let u = model.unit(unit)?;
        let mut relations = BTreeMap::new();
        for (rid, rstate) in &u.agent.relations {
            let Some(rel) = model.relations.get(rid) else {
                continue;
            };
            let Some(end) = rel.end_of(&u.app) else {
                continue;
            };
            if !rstate.created && spec.relation.as_ref().map(|r| r.id) != Some(*rid) {
                continue;
            }
            let mut members: Vec<String> = rstate.members.keys().cloned().collect();
            if let Some(rh) = spec.relation.as_ref().filter(|r| r.id == *rid) {
                match spec.kind {
                    HookKind::RelationJoined => members.push(rh.remote_unit.clone()),
                    HookKind::RelationDeparted => members.retain(|m| *m != rh.remote_unit),
                    HookKind::RelationBroken => members.clear(),
                    _ => {}
                }
            }
            members.sort();
            members.dedup();
            relations.insert(
                *rid,
                CtxRelation {
                    endpoint: end.endpoint.clone(),
                    remote_app: rel.remote_app(&u.app).unwrap_or_default().to_string(),
                    peer: rel.peer,
                    key: rel.key(),
                    members,
                    unit_bag: rel
                        .unit_settings
                        .get(unit)
                        .map(|b| b.data.clone())
                        .unwrap_or_default(),
                    unit_dirty: false,
                    app_bag: rel
                        .app_settings
                        .get(&u.app)
                        .map(|b| b.data.clone())
                        .unwrap_or_default(),
                    app_dirty: false,
                    remote_cache: BTreeMap::new(),
                },
            );
        }
        let action = spec.action.as_ref().map(|a| CtxAction {
            params: a.params.clone(),
            ..CtxAction::default()
        });
        Ok(HookContext {
            id,
            model_dir: model_dir.to_path_buf(),
            unit: unit.to_string(),
            app: u.app.clone(),
            spec: spec.clone(),
            relations,
            minion: false,
            state: u.charm_state.clone(),
            state_dirty: false,
            port_ops: Vec::new(),
            logs: Vec::new(),
            action,
        })
    }

    /// Writes the context as `<dir>/context.json`.
    pub fn save(&self, file: &Path) -> Result<()> {
        let data = serde_json::to_vec(self).map_err(|e| Error::Parse {
            path: file.to_path_buf(),
            msg: e.to_string(),
        })?;
        Ok(atomicfile::write(file, &data, 0o644)?)
    }

    /// Reads a context file.
    pub fn load(file: &Path) -> Result<HookContext> {
        let text = crate::fsutil::read_text(file)?;
        serde_json::from_str(&text).map_err(|e| Error::Parse {
            path: file.to_path_buf(),
            msg: e.to_string(),
        })
    }

    /// The lock file next to a context file.
    pub fn lock(file: &Path) -> Result<FileLock> {
        let lock = file.with_extension("lock");
        FileLock::acquire(&lock)
    }

    /// The relation id of the hook, if it is a relation hook.
    pub fn hook_relation(&self) -> Option<u64> {
        self.spec.relation.as_ref().map(|r| r.id)
    }
}
