//! [`Juju`]: the model operations (deploy, relate, config, leadership, actions, upgrades) and
//! the scheduler (`step`/`settle`) on top of a model directory.

use crate::charm::{self, CharmMeta, Role, Scope};
use crate::config;
use crate::error::{Error, Result};
use crate::hook::{ActionSpec, HookKind, HookRecord, HookSpec};
use crate::model::{
    AgentState, Application, Bag, Life, Machine, Model, ModelInfo, RelationEnd, SeriesUpgrade,
    Status, Unit,
};
use crate::resolver;
use crate::runner::{run_hook, RunnerOptions};
use crate::store::Store;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Result of `run_action`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionResult {
    /// `completed` or `failed`.
    pub status: String,
    /// Failure message (`action-fail` text, or `exit status N`).
    pub message: String,
    /// Values from `action-set` (nested objects for dotted keys).
    pub results: Value,
    /// Captured stdout.
    pub stdout: String,
    /// Captured stderr.
    pub stderr: String,
    /// Exit code of the handler.
    pub return_code: i32,
    /// True when the action failed (action-fail or non-zero exit).
    pub failed: bool,
}

impl ActionResult {
    pub(crate) fn from_run(
        rec: &HookRecord,
        action: Option<&crate::context::CtxAction>,
    ) -> ActionResult {
        let fail_msg = action.and_then(|a| a.failed.clone());
        let (failed, message) = match (fail_msg, rec.exit_code) {
            (Some(m), _) => (true, m),
            (None, 0) => (false, String::new()),
            (None, c) => (true, format!("exit status {c}")),
        };
        ActionResult {
            status: if failed { "failed" } else { "completed" }.into(),
            message,
            results: action
                .map(|a| Value::Object(a.results.clone()))
                .unwrap_or(Value::Object(Default::default())),
            stdout: rec.stdout.clone(),
            stderr: rec.stderr.clone(),
            return_code: rec.exit_code,
            failed,
        }
    }
}

/// The emulated controller + unit agents for one model directory.
#[derive(Debug, Clone)]
pub struct Juju {
    store: Store,
    /// How hooks are run; may be changed at any time.
    pub opts: RunnerOptions,
    cursor: Option<u64>,
}

/// Adds a unit to the model (used by deploy/add_unit and subordinate creation).
pub(crate) fn create_unit(
    m: &mut Model,
    app: &str,
    machine: String,
    principal: Option<String>,
) -> String {
    let Some(a) = m.apps.get_mut(app) else {
        return String::new();
    };
    let name = format!("{app}/{}", a.next_unit);
    a.next_unit += 1;
    let generation = a.charm_generation;
    let seq = m.next_seq;
    m.next_seq += 1;
    m.units.insert(
        name.clone(),
        Unit {
            name: name.clone(),
            app: app.to_string(),
            machine,
            principal,
            workload_status: Status::new("waiting", "agent initialising"),
            charm_set_status: false,
            agent_status: Status::new("allocating", ""),
            workload_version: String::new(),
            charm_state: BTreeMap::new(),
            ports: BTreeMap::new(),
            life: Life::Alive,
            seq,
            agent: AgentState {
                charm_generation: generation,
                ..AgentState::default()
            },
        },
    );
    if m.apps.get(app).is_some_and(|a| a.leader.is_none()) {
        resolver::set_leader(m, app, &name);
    }
    name
}

fn new_machine(m: &mut Model) -> String {
    let id = m.next_machine.to_string();
    let n = m.next_machine;
    m.next_machine += 1;
    let p = &m.info.address_prefix;
    m.machines.insert(
        id.clone(),
        Machine {
            id: id.clone(),
            address: format!("{p}.{}", 10 + n),
            cidr: format!("{p}.0/24"),
            interface: "eth0".into(),
            mac: format!("02:00:00:00:{:02x}:{:02x}", (n >> 8) & 0xff, n & 0xff),
            public_address: Some(format!("{p}.{}", 10 + n)),
            base: m.info.default_base.clone(),
            series_upgrade: None,
        },
    );
    id
}

fn parse_endpoint(s: &str) -> (String, Option<String>) {
    match s.split_once(':') {
        Some((a, e)) => (a.to_string(), Some(e.to_string())),
        None => (s.to_string(), None),
    }
}

impl Juju {
    /// Creates a fresh model in `dir` with default settings.
    pub fn create(dir: &Path, opts: RunnerOptions) -> Result<Juju> {
        Self::create_with(dir, ModelInfo::default(), opts)
    }

    /// Creates a fresh model in `dir` with the given settings.
    pub fn create_with(dir: &Path, info: ModelInfo, opts: RunnerOptions) -> Result<Juju> {
        Ok(Juju {
            store: Store::create(dir, info)?,
            opts,
            cursor: None,
        })
    }

    /// Opens an existing model (another process may have created it).
    pub fn open(dir: &Path, opts: RunnerOptions) -> Result<Juju> {
        Ok(Juju {
            store: Store::open(dir)?,
            opts,
            cursor: None,
        })
    }

    /// The model store (low-level access).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// A snapshot of the whole model.
    pub fn model(&self) -> Result<Model> {
        self.store.read()
    }

    /// Mutates the model directly (escape hatch for tests and simulators).
    pub fn update<T>(&self, f: impl FnOnce(&mut Model) -> Result<T>) -> Result<T> {
        self.store.update(f)
    }

    /// Every hook run so far, oldest first.
    pub fn hook_log(&self) -> Result<Vec<HookRecord>> {
        self.store.hook_log()
    }

    /// Deploys `charm_dir` as `app` with `units` units (0 for subordinates). Peer relations
    /// are created at once. Returns the new unit names.
    pub fn deploy(&self, app: &str, charm_dir: &Path, units: usize) -> Result<Vec<String>> {
        let charm_dir: PathBuf = charm_dir
            .canonicalize()
            .map_err(|e| Error::io(charm_dir, e))?;
        let meta = CharmMeta::load(&charm_dir)?;
        if !crate::tools::valid_app_name(app) {
            return Err(Error::Invalid(format!("invalid application name {app:?}")));
        }
        if meta.subordinate && units > 0 {
            return Err(Error::Invalid(
                "cannot use --num-units or --to with subordinate application".into(),
            ));
        }
        self.store.update(|m| {
            if m.apps.contains_key(app) {
                return Err(Error::Invalid(format!(
                    "application {app:?} already exists"
                )));
            }
            m.apps.insert(
                app.to_string(),
                Application {
                    name: app.to_string(),
                    charm_dir: charm_dir.clone(),
                    charm: meta.clone(),
                    charm_generation: 0,
                    config: BTreeMap::new(),
                    leader: None,
                    next_unit: 0,
                    leader_settings: Bag::default(),
                    status: Status::new("unknown", ""),
                },
            );
            add_peer_relations(m, app, &meta);
            let mut names = Vec::new();
            for _ in 0..units {
                let mc = new_machine(m);
                names.push(create_unit(m, app, mc, None));
            }
            Ok(names)
        })
    }

    /// Adds one unit of a principal application on a new machine.
    pub fn add_unit(&self, app: &str) -> Result<String> {
        self.store.update(|m| {
            let a = m.app(app)?;
            if a.charm.subordinate {
                return Err(Error::Invalid(format!(
                    "cannot add unit to application {app:?}: application is a subordinate"
                )));
            }
            let mc = new_machine(m);
            Ok(create_unit(m, app, mc, None))
        })
    }

    /// Marks a principal unit Dying; it (and its subordinates) tear down on `settle`.
    pub fn remove_unit(&self, unit: &str) -> Result<()> {
        self.store.update(|m| {
            let u = m
                .units
                .get_mut(unit)
                .ok_or_else(|| Error::NotFound(format!("unit {unit:?}")))?;
            if u.principal.is_some() {
                return Err(Error::Invalid(format!(
                    "removing unit {unit:?}: unit is a subordinate, remove the relation instead"
                )));
            }
            u.life = Life::Dying;
            Ok(())
        })
    }

    /// Relates two endpoints (`app` or `app:endpoint` each). Returns the relation id.
    pub fn relate(&self, a: &str, b: &str) -> Result<u64> {
        let (aa, ae) = parse_endpoint(a);
        let (ba, be) = parse_endpoint(b);
        self.store.update(|m| {
            let ma = &m.app(&aa)?.charm;
            let mb = &m.app(&ba)?.charm;
            let mut pairs = Vec::new();
            for x in ma
                .endpoints
                .iter()
                .filter(|e| ae.as_ref().is_none_or(|n| *n == e.name))
            {
                for y in mb
                    .endpoints
                    .iter()
                    .filter(|e| be.as_ref().is_none_or(|n| *n == e.name))
                {
                    if resolver::compatible(x.role, y.role)
                        && x.interface == y.interface
                        && !(x.implicit && y.implicit)
                    {
                        pairs.push((x.clone(), y.clone()));
                    }
                }
            }
            if pairs.len() > 1 {
                let explicit: Vec<_> = pairs
                    .iter()
                    .filter(|(x, y)| !x.implicit && !y.implicit)
                    .cloned()
                    .collect();
                if explicit.len() == 1 {
                    pairs = explicit;
                }
            }
            let (x, y) = match pairs.as_slice() {
                [p] => p.clone(),
                [] => {
                    return Err(Error::Invalid(format!(
                        "no relations found between {a:?} and {b:?}"
                    )))
                }
                _ => {
                    return Err(Error::Invalid(format!(
                        "ambiguous relation: {a:?} {b:?} could refer to several relations"
                    )))
                }
            };
            let exists = m.relations.values().any(|r| {
                r.end_of(&aa).is_some_and(|e| e.endpoint == x.name)
                    && r.end_of(&ba).is_some_and(|e| e.endpoint == y.name)
            });
            if exists {
                return Err(Error::Invalid(format!(
                    "relation {aa}:{} {ba}:{} already exists",
                    x.name, y.name
                )));
            }
            let scope = if x.scope == Scope::Container || y.scope == Scope::Container {
                Scope::Container
            } else {
                Scope::Global
            };
            let ends = vec![
                RelationEnd {
                    app: aa.clone(),
                    endpoint: x.name.clone(),
                    role: x.role,
                    implicit: x.implicit,
                },
                RelationEnd {
                    app: ba.clone(),
                    endpoint: y.name.clone(),
                    role: y.role,
                    implicit: y.implicit,
                },
            ];
            let id = m.new_relation(ends, &x.interface, scope);
            Ok(id)
        })
    }

    /// Marks a relation Dying (departed/broken hooks follow on `settle`).
    pub fn remove_relation(&self, id: u64) -> Result<()> {
        self.store.update(|m| {
            let r = m
                .relations
                .get_mut(&id)
                .ok_or_else(|| Error::NotFound(format!("relation {id}")))?;
            if r.peer {
                return Err(Error::Invalid("cannot remove a peer relation".into()));
            }
            r.life = Life::Dying;
            Ok(())
        })
    }

    /// `juju config app k=v …` (the `SetConfigs` facade with a string map): each value is
    /// converted with Go `strconv` for its option type (`ParseSettingsStrings`); all-or-nothing.
    /// Errors read as `juju config` prints them after `ERROR `.
    pub fn set_config(&self, app: &str, values: &[(&str, &str)]) -> Result<()> {
        self.apply_settings(app, |opts| config::parse_settings_strings(opts, values))
    }

    /// `juju config app --file FILE`: YAML with the application name as the top-level key
    /// (`ParseSettingsYAML`): YAML strings are converted like `key=value`, every other value must
    /// pass the option type's schema checker (an int is a valid float, a float is not a valid
    /// int); null resets the option.
    pub fn set_config_yaml(&self, app: &str, yaml: &str) -> Result<()> {
        self.apply_settings(app, |opts| config::parse_settings_yaml(opts, yaml, app))
    }

    /// Sets typed config values (JSON) as a bundle's `options:` would: strings converted,
    /// other values schema-checked, null resets; all-or-nothing.
    pub fn set_config_values(&self, app: &str, values: &BTreeMap<String, Value>) -> Result<()> {
        self.apply_settings(app, |opts| {
            let mut out = BTreeMap::new();
            for (k, v) in values {
                let opt = opts
                    .get(k)
                    .ok_or_else(|| format!("unknown option {}", config::go_quote(k)))?;
                let val = match v {
                    Value::String(s) => config::parse(k, opt.ty, s)?,
                    other => config::validate(k, opt.ty, other)?,
                };
                out.insert(k.clone(), (!val.is_null()).then_some(val));
            }
            Ok(out)
        })
    }

    fn apply_settings(
        &self,
        app: &str,
        parse: impl FnOnce(
            &BTreeMap<String, charm::ConfigOption>,
        ) -> std::result::Result<BTreeMap<String, config::Setting>, String>,
    ) -> Result<()> {
        self.store.update(|m| {
            let a = m
                .apps
                .get_mut(app)
                .ok_or_else(|| Error::NotFound(format!("application {app:?}")))?;
            let parsed = parse(&a.charm.config)
                .map_err(|e| Error::Config(format!("{}: {e}", config::SET_CONFIG_CONTEXT)))?;
            for (k, v) in parsed {
                match v {
                    Some(v) => a.config.insert(k, v),
                    None => a.config.remove(&k),
                };
            }
            Ok(())
        })
    }

    /// `juju config --reset`: back to defaults.
    pub fn reset_config(&self, app: &str, keys: &[&str]) -> Result<()> {
        self.store.update(|m| {
            let a = m
                .apps
                .get_mut(app)
                .ok_or_else(|| Error::NotFound(format!("application {app:?}")))?;
            for k in keys {
                if !a.charm.config.contains_key(*k) {
                    return Err(Error::Config(format!("unknown option {k:?}")));
                }
                a.config.remove(*k);
            }
            Ok(())
        })
    }

    /// Moves leadership of `app` to `unit`.
    pub fn set_leader(&self, app: &str, unit: &str) -> Result<()> {
        self.store.update(|m| {
            let u = m.unit(unit)?;
            if u.app != app || u.life != Life::Alive {
                return Err(Error::Invalid(format!("unit {unit:?} cannot lead {app:?}")));
            }
            resolver::set_leader(m, app, unit);
            Ok(())
        })
    }

    /// Sets a machine's address (also used for relation seeds of units entering scope later).
    pub fn set_machine_address(&self, machine: &str, address: &str, cidr: &str) -> Result<()> {
        self.store.update(|m| {
            let mc = m
                .machines
                .get_mut(machine)
                .ok_or_else(|| Error::NotFound(format!("machine {machine:?}")))?;
            mc.address = address.into();
            mc.public_address = Some(address.into());
            mc.cidr = cidr.into();
            Ok(())
        })
    }

    /// Requests `update-status` for one unit or all started units.
    pub fn request_update_status(&self, unit: Option<&str>) -> Result<()> {
        self.store.update(|m| {
            for u in m.units.values_mut() {
                if unit.is_none_or(|n| n == u.name) && u.life == Life::Alive {
                    u.agent.update_status = true;
                }
            }
            Ok(())
        })
    }

    /// The machine rebooted (its unit agents restart and detect it): every unit on it that had
    /// started runs `start` once more; during a series upgrade that waits until the upgrade is
    /// complete (juju/juju internal/worker/uniter/reboot/resolver.go). Services the machine runs
    /// are the caller's business (the simulator restarts its enabled services).
    pub fn reboot_machine(&self, machine: &str) -> Result<()> {
        self.store.update(|m| {
            if !m.machines.contains_key(machine) {
                return Err(Error::NotFound(format!("machine {machine:?}")));
            }
            for u in m.units.values_mut().filter(|u| u.machine == machine) {
                // A unit that never started skips the implicit start (`!localState.Started`).
                u.agent.reboot_detected = u.agent.started;
            }
            Ok(())
        })
    }

    /// `juju upgrade-machine M prepare BASE`: every unit on the machine runs `pre-series-upgrade`.
    pub fn pre_series_upgrade(&self, machine: &str, target_base: &str) -> Result<()> {
        self.store.update(|m| {
            let mc = m
                .machines
                .get_mut(machine)
                .ok_or_else(|| Error::NotFound(format!("machine {machine:?}")))?;
            mc.series_upgrade = Some(target_base.into());
            for u in m.units.values_mut().filter(|u| u.machine == machine) {
                u.agent.series_upgrade = SeriesUpgrade::PrePending;
            }
            Ok(())
        })
    }

    /// `juju upgrade-machine M complete`: paused units run `post-series-upgrade`.
    pub fn complete_series_upgrade(&self, machine: &str) -> Result<()> {
        self.store.update(|m| {
            let mc = m
                .machines
                .get_mut(machine)
                .ok_or_else(|| Error::NotFound(format!("machine {machine:?}")))?;
            if let Some(b) = mc.series_upgrade.take() {
                mc.base = b;
            }
            for u in m.units.values_mut().filter(|u| u.machine == machine) {
                if u.agent.series_upgrade != SeriesUpgrade::None {
                    u.agent.series_upgrade = SeriesUpgrade::PostPending;
                }
            }
            Ok(())
        })
    }

    /// `juju refresh --path DIR`: new charm for `app`; units run upgrade-charm → config-changed
    /// (and `start` only if they had not started yet).
    pub fn upgrade_charm(&self, app: &str, charm_dir: &Path) -> Result<()> {
        let charm_dir = charm_dir
            .canonicalize()
            .map_err(|e| Error::io(charm_dir, e))?;
        let meta = CharmMeta::load(&charm_dir)?;
        self.store.update(|m| {
            let a = m
                .apps
                .get_mut(app)
                .ok_or_else(|| Error::NotFound(format!("application {app:?}")))?;
            if a.charm.subordinate != meta.subordinate {
                return Err(Error::Invalid("cannot change subordinate status".into()));
            }
            a.config.retain(|k, _| meta.config.contains_key(k));
            a.charm = meta.clone();
            a.charm_dir = charm_dir;
            a.charm_generation += 1;
            // juju/juju state Application.SetCharm: "Add any extra peer relations that need
            // creation" (a refresh from a charm without the peer endpoint gains the relation).
            add_peer_relations(m, app, &meta);
            Ok(())
        })
    }

    /// `juju resolved [--no-retry]`: clears the error; `retry` re-runs the failed hook first.
    pub fn resolved(&self, unit: &str, retry: bool) -> Result<()> {
        self.store.update(|m| {
            let u = m
                .units
                .get_mut(unit)
                .ok_or_else(|| Error::NotFound(format!("unit {unit:?}")))?;
            let Some(spec) = u.agent.error.take() else {
                return Err(Error::Invalid(format!(
                    "unit {unit:?} is not in an error state"
                )));
            };
            u.agent_status = Status::new("idle", "");
            if retry {
                u.agent.retry = Some(spec);
            } else {
                resolver::hook_done(m, unit, &spec);
            }
            Ok(())
        })
    }

    /// The hook `unit` would run next (after hook-less transitions).
    pub fn next_hook(&self, unit: &str) -> Result<Option<HookSpec>> {
        self.store.update(|m| {
            resolver::silent_steps(m);
            Ok(resolver::next_hook(m, unit))
        })
    }

    /// Opens a hook context without running a handler (drive tools with
    /// [`HookSession::tool`](crate::runner::HookSession::tool), then call [`Juju::end_hook`]).
    pub fn begin_hook(&self, unit: &str, spec: &HookSpec) -> Result<crate::runner::HookSession> {
        crate::runner::begin_hook(&self.store, &self.opts, unit, spec)
    }

    /// Closes a context opened by [`Juju::begin_hook`] as if the handler exited with `exit_code`.
    pub fn end_hook(
        &self,
        session: &crate::runner::HookSession,
        exit_code: i32,
    ) -> Result<HookRecord> {
        crate::runner::end_hook(
            &self.store,
            session,
            exit_code,
            false,
            String::new(),
            String::new(),
        )
    }

    /// Runs `spec` on `unit` right now (no resolver checks).
    pub fn run_hook(&self, unit: &str, spec: &HookSpec) -> Result<HookRecord> {
        run_hook(&self.store, &self.opts, unit, spec)
    }

    /// Runs an action on a unit and returns its result. Unknown actions are an error.
    pub fn run_action(&self, unit: &str, name: &str, params: Value) -> Result<ActionResult> {
        let m = self.model()?;
        let u = m.unit(unit)?;
        let def = m.app(&u.app)?.charm.actions.get(name).ok_or_else(|| {
            Error::Invalid(format!("action {name:?} not defined on unit {unit:?}"))
        })?;
        let mut p = match params {
            Value::Object(o) => o,
            Value::Null => Default::default(),
            _ => return Err(Error::Invalid("action params must be an object".into())),
        };
        for (k, v) in &def.defaults {
            p.entry(k.clone()).or_insert(v.clone());
        }
        let uuid = crate::fsutil::random_hex(16);
        let spec = HookSpec {
            kind: HookKind::Action,
            relation: None,
            action: Some(ActionSpec {
                name: name.into(),
                uuid: uuid.clone(),
                params: Value::Object(p),
            }),
            target_base: None,
        };
        self.run_hook(unit, &spec)?;
        let m = self.model()?;
        let v = m
            .action_results
            .get(&uuid)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("action {uuid}")))?;
        serde_json::from_value(v).map_err(|e| Error::Invalid(e.to_string()))
    }

    /// Runs one pending hook (round-robin over units). `None` when the model is idle.
    pub fn step(&mut self) -> Result<Option<HookRecord>> {
        let pending = self.store.update(|m| {
            resolver::silent_steps(m);
            Ok(resolver::pending(m))
        })?;
        let from = self.cursor.map_or(0, |c| c + 1);
        let chosen = pending
            .range(from..)
            .next()
            .or_else(|| pending.iter().next())
            .map(|(seq, v)| (*seq, v.clone()));
        let Some((seq, (unit, spec))) = chosen else {
            return Ok(None);
        };
        self.cursor = Some(seq);
        self.run_hook(&unit, &spec).map(Some)
    }

    /// Runs hooks until no unit has anything to do; errors after `opts.max_settle_hooks` hooks.
    /// Returns the records of the hooks run.
    pub fn settle(&mut self) -> Result<Vec<HookRecord>> {
        let mut out = Vec::new();
        while let Some(r) = self.step()? {
            out.push(r);
            if out.len() >= self.opts.max_settle_hooks {
                return Err(Error::NoSettle(out.len()));
            }
        }
        Ok(out)
    }

    /// Relation data as committed: a unit's bag or (with an app name) an app bag.
    pub fn relation_data(&self, id: u64, unit_or_app: &str) -> Result<BTreeMap<String, String>> {
        let m = self.model()?;
        let r = m
            .relations
            .get(&id)
            .ok_or_else(|| Error::NotFound(format!("relation {id}")))?;
        let bag = if unit_or_app.contains('/') {
            r.unit_settings.get(unit_or_app)
        } else {
            r.app_settings.get(unit_or_app)
        };
        Ok(bag.map(|b| b.data.clone()).unwrap_or_default())
    }

    /// Writes a bag directly, as a remote (non-emulated) party would; bumps its version.
    pub fn set_relation_data(
        &self,
        id: u64,
        unit_or_app: &str,
        data: BTreeMap<String, String>,
    ) -> Result<()> {
        self.store.update(|m| {
            let r = m
                .relations
                .get_mut(&id)
                .ok_or_else(|| Error::NotFound(format!("relation {id}")))?;
            let bag = if unit_or_app.contains('/') {
                r.unit_settings.entry(unit_or_app.to_string()).or_default()
            } else {
                r.app_settings.entry(unit_or_app.to_string()).or_default()
            };
            bag.replace(data);
            Ok(())
        })
    }
}

/// Finds the `juju-hook-tool` executable: `$JUJU_EMU_HOOK_TOOL`, else next to the running
/// executable (`target/<profile>/` when run from `target/<profile>/deps/`).
pub fn locate_hook_tool() -> Result<PathBuf> {
    if let Ok(p) = std::env::var("JUJU_EMU_HOOK_TOOL") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().map_err(|e| Error::HookTool(e.to_string()))?;
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let cand = dir.join("juju-hook-tool");
    if cand.is_file() {
        return Ok(cand);
    }
    Err(Error::HookTool(format!(
        "{} not found; run `cargo build -p juju-emu --bin juju-hook-tool` or set JUJU_EMU_HOOK_TOOL",
        cand.display()
    )))
}

/// Like [`locate_hook_tool`], but builds the tool with cargo (into `<target>/juju-emu-tool`)
/// when it is missing.
pub fn locate_or_build_hook_tool() -> Result<PathBuf> {
    if let Ok(p) = locate_hook_tool() {
        return Ok(p);
    }
    let exe = std::env::current_exe().map_err(|e| Error::HookTool(e.to_string()))?;
    let target = exe
        .ancestors()
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n == "debug" || n == "release")
        })
        .and_then(Path::parent)
        .map(|p| p.join("juju-emu-tool"))
        .unwrap_or_else(|| std::env::temp_dir().join("juju-emu-tool"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let status = std::process::Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--bin",
            "juju-hook-tool",
            "--manifest-path",
        ])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .map_err(|e| Error::HookTool(e.to_string()))?;
    let bin = target.join("debug").join("juju-hook-tool");
    if status.success() && bin.is_file() {
        Ok(bin)
    } else {
        Err(Error::HookTool(format!(
            "building the hook tool failed ({status})"
        )))
    }
}

/// Creates the peer relation of each peer endpoint of `meta` that `app` does not have yet
/// (deploy, and juju/juju `extraPeerRelations` on a charm upgrade).
fn add_peer_relations(m: &mut Model, app: &str, meta: &CharmMeta) {
    for p in meta.endpoints.iter().filter(|e| e.role == Role::Peer) {
        let exists = m.relations.values().any(|r| {
            r.peer
                && r.life == Life::Alive
                && r.ends.iter().any(|e| e.app == app && e.endpoint == p.name)
        });
        if exists {
            continue;
        }
        let end = RelationEnd {
            app: app.to_string(),
            endpoint: p.name.clone(),
            role: Role::Peer,
            implicit: false,
        };
        m.new_relation(vec![end], &p.interface, p.scope);
    }
}
