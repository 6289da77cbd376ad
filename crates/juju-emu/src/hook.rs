//! Hook descriptions: what the resolver asks the runner to run.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The kind of hook (or action).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HookKind {
    /// `install`
    Install,
    /// `start`
    Start,
    /// `config-changed`
    ConfigChanged,
    /// `upgrade-charm`
    UpgradeCharm,
    /// `stop`
    Stop,
    /// `remove`
    Remove,
    /// `update-status`
    UpdateStatus,
    /// `leader-elected`
    LeaderElected,
    /// `leader-settings-changed`
    LeaderSettingsChanged,
    /// `pre-series-upgrade`
    PreSeriesUpgrade,
    /// `post-series-upgrade`
    PostSeriesUpgrade,
    /// `<ep>-relation-created`
    RelationCreated,
    /// `<ep>-relation-joined`
    RelationJoined,
    /// `<ep>-relation-changed`
    RelationChanged,
    /// `<ep>-relation-departed`
    RelationDeparted,
    /// `<ep>-relation-broken`
    RelationBroken,
    /// An action (`actions/<name>`).
    Action,
}

impl HookKind {
    /// The hook name for non-relation hooks, or the suffix for relation hooks.
    pub fn base_name(self) -> &'static str {
        match self {
            HookKind::Install => "install",
            HookKind::Start => "start",
            HookKind::ConfigChanged => "config-changed",
            HookKind::UpgradeCharm => "upgrade-charm",
            HookKind::Stop => "stop",
            HookKind::Remove => "remove",
            HookKind::UpdateStatus => "update-status",
            HookKind::LeaderElected => "leader-elected",
            HookKind::LeaderSettingsChanged => "leader-settings-changed",
            HookKind::PreSeriesUpgrade => "pre-series-upgrade",
            HookKind::PostSeriesUpgrade => "post-series-upgrade",
            HookKind::RelationCreated => "relation-created",
            HookKind::RelationJoined => "relation-joined",
            HookKind::RelationChanged => "relation-changed",
            HookKind::RelationDeparted => "relation-departed",
            HookKind::RelationBroken => "relation-broken",
            HookKind::Action => "action",
        }
    }
    /// True for the five relation hook kinds.
    pub fn is_relation(self) -> bool {
        matches!(
            self,
            HookKind::RelationCreated
                | HookKind::RelationJoined
                | HookKind::RelationChanged
                | HookKind::RelationDeparted
                | HookKind::RelationBroken
        )
    }
    /// Parses a simple (non-relation, non-action) hook name.
    pub fn from_simple(name: &str) -> Option<HookKind> {
        use HookKind::*;
        [
            Install,
            Start,
            ConfigChanged,
            UpgradeCharm,
            Stop,
            Remove,
            UpdateStatus,
            LeaderElected,
            LeaderSettingsChanged,
            PreSeriesUpgrade,
            PostSeriesUpgrade,
        ]
        .into_iter()
        .find(|k| k.base_name() == name)
    }
}

/// Relation details of a relation hook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelationHook {
    /// Relation id.
    pub id: u64,
    /// Local endpoint name (`JUJU_RELATION`).
    pub endpoint: String,
    /// `JUJU_REMOTE_APP`.
    pub remote_app: String,
    /// `JUJU_REMOTE_UNIT` (empty for created, broken, app-data changed).
    pub remote_unit: String,
    /// `JUJU_DEPARTING_UNIT` (departed only).
    pub departing_unit: Option<String>,
    /// Settings version of the remote unit/app observed when the hook was chosen.
    pub version: u64,
}

/// An action invocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionSpec {
    /// Action name.
    pub name: String,
    /// Action id (`JUJU_ACTION_UUID`).
    pub uuid: String,
    /// Parameters (a JSON object).
    pub params: Value,
}

/// One hook to run on one unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HookSpec {
    /// Kind.
    pub kind: HookKind,
    /// Relation details for relation hooks.
    pub relation: Option<RelationHook>,
    /// Action details for actions.
    pub action: Option<ActionSpec>,
    /// `JUJU_TARGET_BASE` for pre-series-upgrade.
    pub target_base: Option<String>,
}

impl HookSpec {
    /// A hook without relation/action details (install, start, …).
    pub fn simple(kind: HookKind) -> HookSpec {
        HookSpec {
            kind,
            relation: None,
            action: None,
            target_base: None,
        }
    }
    /// A relation hook.
    pub fn relation(kind: HookKind, rel: RelationHook) -> HookSpec {
        HookSpec {
            kind,
            relation: Some(rel),
            action: None,
            target_base: None,
        }
    }
    /// The hook name (`JUJU_HOOK_NAME`); the action name for actions.
    pub fn name(&self) -> String {
        match (&self.relation, &self.action) {
            (Some(r), _) if self.kind.is_relation() => {
                format!("{}-{}", r.endpoint, self.kind.base_name())
            }
            (_, Some(a)) => a.name.clone(),
            _ => self.kind.base_name().to_string(),
        }
    }
    /// `JUJU_DISPATCH_PATH`: `hooks/<name>` or `actions/<name>`.
    pub fn dispatch_path(&self) -> String {
        if self.kind == HookKind::Action {
            format!("actions/{}", self.name())
        } else {
            format!("hooks/{}", self.name())
        }
    }
}

/// One `juju-log` / `action-log` line emitted during a hook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// Level (`INFO`, `DEBUG`, …).
    pub level: String,
    /// Message, already prefixed with `<endpoint>:<id>: ` in relation hooks.
    pub message: String,
}

/// What happened when a hook ran (appended to the model's hook log).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HookRecord {
    /// Unit name.
    pub unit: String,
    /// Hook name (`JUJU_HOOK_NAME`; the action name for actions).
    pub hook: String,
    /// `JUJU_DISPATCH_PATH`.
    pub dispatch_path: String,
    /// The spec that was run.
    pub spec: HookSpec,
    /// The JUJU_* variables (and a few others) the hook saw.
    pub env: std::collections::BTreeMap<String, String>,
    /// Exit code (0 for a missing handler; -1 when killed by a signal).
    pub exit_code: i32,
    /// True when no handler existed (skipped, counts as success).
    pub missing: bool,
    /// Captured stdout.
    pub stdout: String,
    /// Captured stderr.
    pub stderr: String,
    /// juju-log lines.
    pub logs: Vec<LogLine>,
}

impl HookRecord {
    /// True when the hook succeeded (exit 0 or missing handler).
    pub fn ok(&self) -> bool {
        self.exit_code == 0
    }

    /// Panics, with the hook's output, unless it succeeded (for tests).
    pub fn assert_ok(&self) {
        assert!(
            self.ok(),
            "hook {} on {} failed ({}):\n{}\n{}",
            self.hook,
            self.unit,
            self.exit_code,
            self.stdout,
            self.stderr
        );
    }
}

/// The hooks `unit` ran, in order, out of `records`.
pub fn hooks_of<'a>(records: &'a [HookRecord], unit: &str) -> Vec<&'a str> {
    records
        .iter()
        .filter(|r| r.unit == unit)
        .map(|r| r.hook.as_str())
        .collect()
}
