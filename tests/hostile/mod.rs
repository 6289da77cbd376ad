//! The hostile-input property's driver: one emulated deployment per case, the operations,
//! and the invariants checked after every settle.
pub mod ops;
pub mod oracle;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use juju_emu::{ActionResult, HookRecord, Model};
use keepalived::charm::netinfo::HostFacts;
use serde_json::Value;

use crate::common::{copy_tree, make_charm, Lab, LabDir, CONF, UNIT, WORKER_V2};
use ops::{Endpoint, Op, Val};
use oracle::{Expect, Verdict};

const APP: &str = "keepalived";
const PRINCIPAL: &str = "kubeapi-load-balancer";
/// A status message longer than this is not something an operator can read.
pub const MAX_STATUS_LEN: usize = 1024;
const ALLOWED_LEVELS: [&str; 4] = ["active", "blocked", "maintenance", "waiting"];

/// What a unit's worker looked like: its config, its unit file and the service calls so far.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Snap {
    conf: Option<Vec<u8>>,
    unit: Option<Vec<u8>>,
    calls: Vec<String>,
}

/// One case: a deployment and what the property remembers about it.
pub struct Case {
    lab: Lab,
    secret: String,
    host: HostFacts,
    rels: BTreeMap<Endpoint, u64>,
    /// What `loadbalancer`/`website` may carry: the last valid config's publication.
    published: Option<Expect>,
    /// Every publication so far: a unit paused for a series upgrade runs no hooks (as in
    /// Juju), so it keeps what it published before until `complete`.
    published_ever: Vec<Expect>,
    /// Every metrics listener a valid config asked for.
    metrics_seen: BTreeSet<SocketAddr>,
    /// Per unit, the worker as the last valid config (or a planned stop) left it.
    snaps: BTreeMap<String, Snap>,
    log_seen: usize,
    v2: Option<PathBuf>,
    /// Per unit, the last hook it ran: right after `config-changed` Juju has rewritten the
    /// unit's `private-address` to its own address (see `check_publications`).
    last_hook: BTreeMap<String, String>,
}

thread_local! {
    /// Per principal count: where the first settled deployment of this thread lived, and a
    /// copy of it. Later cases start from the copy instead of settling ~50 hooks again.
    static TEMPLATES: std::cell::RefCell<BTreeMap<usize, (PathBuf, LabDir)>> =
        const { std::cell::RefCell::new(BTreeMap::new()) };
}

fn fail<T>(msg: String) -> Result<T, String> {
    Err(msg)
}

impl Case {
    /// A deployment with `principals` load balancer units, settled and checked.
    pub fn new(principals: usize, secret: &str) -> Result<Case, String> {
        let template = TEMPLATES.with(|t| {
            t.borrow()
                .get(&principals)
                .map(|(at, copy)| (at.clone(), copy.path().join("lab")))
        });
        let fresh = template.is_none();
        let lab = match template {
            Some((at, copy)) => Lab::restore(&copy, &at),
            None => Lab::new(principals),
        };
        let host = keepalived::charm::netinfo::read_host_facts().map_err(|e| e.to_string())?;
        let mut case = Case {
            lab,
            secret: secret.to_string(),
            host,
            rels: BTreeMap::new(),
            published: None,
            published_ever: Vec::new(),
            last_hook: BTreeMap::new(),
            metrics_seen: BTreeSet::new(),
            snaps: BTreeMap::new(),
            log_seen: 0,
            v2: None,
        };
        case.settle_and_check(None, &[])?;
        if fresh {
            let copy = LabDir::temp();
            copy_tree(case.lab.dir.path(), &copy.path().join("lab"));
            let at = case.lab.dir.path().to_path_buf();
            TEMPLATES.with(|t| t.borrow_mut().insert(principals, (at, copy)));
        }
        Ok(case)
    }

    fn model(&self) -> Model {
        self.lab.juju.model().expect("model readable")
    }

    fn alive(m: &Model, app: &str) -> Vec<String> {
        m.units
            .values()
            .filter(|u| u.app == app && u.life == juju_emu::Life::Alive)
            .map(|u| u.name.clone())
            .collect()
    }

    fn pick(list: &[String], n: usize) -> Option<String> {
        (!list.is_empty()).then(|| list[n % list.len()].clone())
    }

    fn remote(&self, m: &Model, e: Endpoint) -> (&'static str, Option<String>) {
        match e {
            Endpoint::LoadBalancer => (
                "kubernetes-control-plane",
                Some("kubernetes-control-plane/0".into()),
            ),
            Endpoint::Website => ("kubernetes-worker", Some("kubernetes-worker/0".into())),
            Endpoint::LbSink => (PRINCIPAL, Self::alive(m, PRINCIPAL).first().cloned()),
        }
    }

    /// The keepalived endpoint of `e`.
    fn endpoint_name(e: Endpoint) -> &'static str {
        match e {
            Endpoint::LoadBalancer => "loadbalancer",
            Endpoint::Website => "website",
            Endpoint::LbSink => "lb-sink",
        }
    }

    /// Whether a relation on the keepalived endpoint of `e` is still in the model.
    fn still_dying(m: &Model, e: Endpoint) -> bool {
        let name = Self::endpoint_name(e);
        m.relations
            .values()
            .any(|r| r.end_of(APP).is_some_and(|x| x.endpoint == name))
    }

    fn value(&self, v: &Val) -> Value {
        match v {
            Val::Str(t) => Value::String(t.0.clone()),
            Val::Int(i) => Value::from(*i),
            Val::Float(f) => Value::from(*f),
            Val::Bool(b) => Value::Bool(*b),
            Val::Secret(form) => Value::String(form.value(&self.secret)),
        }
    }

    /// Applies one operation, settles and checks every invariant.
    pub fn step(&mut self, op: &Op) -> Result<(), String> {
        let m = self.model();
        let units = Self::alive(&m, APP);
        let principals = Self::alive(&m, PRINCIPAL);
        let juju = &self.lab.juju;
        let mut actions = Vec::new();
        // Operations the emulator refuses (as `juju` would) are no-ops.
        match op {
            Op::Config(set) => {
                let values: BTreeMap<String, Value> = set
                    .iter()
                    .map(|(k, v)| (k.to_string(), self.value(v)))
                    .collect();
                let _ = juju.set_config_values(APP, &values);
            }
            Op::Reset(keys) => {
                let _ = juju.reset_config(APP, keys);
            }
            // A removed relation stays in the model, dying, until every unit has run
            // its -broken hook (a paused series upgrade holds it): `juju relate` then
            // refuses with "already exists", so the step is a no-op.
            Op::Relate(e) if !self.rels.contains_key(e) && !Self::still_dying(&m, *e) => {
                let (a, b) = match e {
                    Endpoint::LoadBalancer => {
                        ("keepalived:loadbalancer", "kubernetes-control-plane")
                    }
                    Endpoint::Website => ("keepalived:website", "kubernetes-worker"),
                    Endpoint::LbSink => ("keepalived:lb-sink", "kubeapi-load-balancer:website"),
                };
                let id = juju
                    .relate(a, b)
                    .map_err(|e| format!("relate {a} {b}: {e}"))?;
                self.rels.insert(*e, id);
            }
            Op::Relate(_) => {}
            Op::Unrelate(e) => {
                if let Some(id) = self.rels.remove(e) {
                    juju.remove_relation(id).map_err(|e| e.to_string())?;
                }
            }
            Op::RemoteData(e, app_bag, bag) => {
                let (app, unit) = self.remote(&m, *e);
                let who = if *app_bag {
                    Some(app.to_string())
                } else {
                    unit
                };
                if let (Some(id), Some(who)) = (self.rels.get(e), who) {
                    let data = bag
                        .iter()
                        .map(|(k, v)| (k.0.clone(), v.0.clone()))
                        .collect();
                    juju.set_relation_data(*id, &who, data)
                        .map_err(|e| e.to_string())?;
                }
            }
            Op::PeerJunk(n, bag) => {
                let peer = m.relations.values().find(|r| r.peer).map(|r| r.id);
                if let (Some(id), Some(u)) = (peer, Self::pick(&units, *n)) {
                    let data = bag
                        .iter()
                        .map(|(k, v)| (k.0.clone(), v.0.clone()))
                        .collect();
                    juju.set_relation_data(id, &u, data)
                        .map_err(|e| e.to_string())?;
                }
            }
            Op::Leader(n) => {
                if let Some(u) = Self::pick(&units, *n) {
                    juju.set_leader(APP, &u).map_err(|e| e.to_string())?;
                }
            }
            Op::AddUnit => {
                if principals.len() < 3 {
                    juju.add_unit(PRINCIPAL).map_err(|e| e.to_string())?;
                }
            }
            Op::RemoveUnit(n) => {
                if principals.len() > 1 {
                    if let Some(p) = Self::pick(&principals, *n) {
                        juju.remove_unit(&p).map_err(|e| e.to_string())?;
                    }
                }
            }
            Op::UpdateStatus => juju
                .request_update_status(None)
                .map_err(|e| e.to_string())?,
            Op::UpgradeCharm(new_bin) => {
                let dir = if *new_bin {
                    let d = self.lab.dir.path().join("charm-v2");
                    if self.v2.is_none() {
                        make_charm(&d, WORKER_V2);
                        self.v2 = Some(d.clone());
                    }
                    d
                } else {
                    self.lab.dir.path().join("charm")
                };
                juju.upgrade_charm(APP, &dir).map_err(|e| e.to_string())?;
            }
            Op::SeriesPrepare(n) | Op::SeriesComplete(n) => {
                if let Some(u) = Self::pick(&units, *n) {
                    let machine = m.units[&u].machine.clone();
                    let r = if matches!(op, Op::SeriesPrepare(_)) {
                        juju.pre_series_upgrade(&machine, "ubuntu@24.04")
                    } else {
                        juju.complete_series_upgrade(&machine)
                    };
                    r.map_err(|e| e.to_string())?;
                }
            }
            Op::Actions(n) => {
                if let Some(u) = Self::pick(&units, *n) {
                    for name in ["vrrp-status", "check-certificate"] {
                        let res = juju
                            .run_action(&u, name, Value::Null)
                            .map_err(|e| format!("action {name} on {u}: {e}"))?;
                        actions.push((format!("{name} on {u}"), res));
                    }
                }
            }
        }
        self.settle_and_check(Some(op), &actions)
    }

    fn settle_and_check(
        &mut self,
        op: Option<&Op>,
        actions: &[(String, ActionResult)],
    ) -> Result<(), String> {
        let t0 = std::time::Instant::now();
        let records = self.lab.juju.settle().map_err(|e| format!("settle: {e}"))?;
        if std::env::var_os("HOSTILE_TRACE").is_some() {
            let hooks: Vec<String> = records
                .iter()
                .map(|r| format!("{}@{}", r.hook, r.unit))
                .collect();
            eprintln!(
                "{:?} {} hooks in {:?}: {hooks:?}",
                op,
                records.len(),
                t0.elapsed()
            );
        }
        for r in &records {
            self.last_hook.insert(r.unit.clone(), r.hook.clone());
            if !r.ok() {
                return fail(format!(
                    "(a) hook {} on {} exited {}:\nstdout: {}\nstderr: {}",
                    r.hook,
                    r.unit,
                    r.exit_code,
                    clip(&r.stdout),
                    clip(&r.stderr)
                ));
            }
        }
        for (what, res) in actions {
            if res.return_code != 0 {
                return fail(format!(
                    "(a) action {what} exited {}: {}",
                    res.return_code,
                    clip(&res.stderr)
                ));
            }
        }
        let m = self.model();
        let cfg = m.apps[APP].effective_config();
        let verdict = oracle::judge(&cfg, &self.host);
        match &verdict {
            Verdict::Valid(e) => {
                self.published = Some(e.clone());
                if !self.published_ever.contains(e) {
                    self.published_ever.push(e.clone());
                }
                self.metrics_seen.extend(e.metrics);
            }
            Verdict::NoVip => self.published = None,
            Verdict::Invalid(_) => {}
        }
        let units = Self::alive(&m, APP);
        self.check_status(&m, &units, &verdict)?;
        self.check_publications(&m, &verdict)?;
        self.check_worker_kept(&units, &verdict, op)?;
        self.check_rendered(&m, &units, &verdict)?;
        self.check_secret(&m, actions)
    }

    fn paused(m: &Model, unit: &str) -> bool {
        m.units
            .get(unit)
            .and_then(|u| m.machines.get(&u.machine))
            .is_some_and(|mc| mc.series_upgrade.is_some())
    }

    /// (b) Status: a known level; invalid config blocks naming the first offending option.
    fn check_status(&self, m: &Model, units: &[String], verdict: &Verdict) -> Result<(), String> {
        for u in units {
            let s = &m.units[u].workload_status;
            let (level, msg) = (s.status.as_str(), s.message.as_str());
            if !ALLOWED_LEVELS.contains(&level) {
                return fail(format!("(b) {u}: status {level} {}", clip(msg)));
            }
            if msg.len() > MAX_STATUS_LEN {
                return fail(format!(
                    "(b) {u}: status message of {} bytes: {}",
                    msg.len(),
                    clip(msg)
                ));
            }
            let ok = if Self::paused(m, u) {
                level == "blocked" && msg == "Series upgrade in progress"
            } else {
                match verdict {
                    Verdict::Invalid(opts) => {
                        level == "blocked"
                            && msg.starts_with(&format!("Invalid config: {}=", opts[0]))
                    }
                    Verdict::NoVip => level == "blocked" && msg == "Please configure virtual ips",
                    Verdict::Valid(_) => level == "active" && msg.starts_with("VIP ready ("),
                }
            };
            if !ok {
                return fail(format!(
                    "(b) {u}: status {level} {:?} for verdict {verdict:?}",
                    clip(msg)
                ));
            }
        }
        Ok(())
    }

    /// (c) `loadbalancer`/`website`: our keys absent, or exactly the last valid config's.
    fn check_publications(&self, m: &Model, verdict: &Verdict) -> Result<(), String> {
        for (e, id) in &self.rels {
            let Some(rel) = m.relations.get(id) else {
                continue;
            };
            for u in rel.in_scope.iter().filter(|u| u.starts_with("keepalived/")) {
                let bag = rel
                    .unit_settings
                    .get(u)
                    .map(|b| b.data.clone())
                    .unwrap_or_default();
                let get = |k: &str| bag.get(k).cloned();
                // Juju's config-changed commit sets private-address to the unit's ingress
                // address before the charm's changes, and an unchanged re-set is no change; the
                // charm puts the VIP back in its next hook (tests/lifecycle.rs
                // website_private_address_after_every_hook).
                let juju_rewrote = self.last_hook.get(u).map(String::as_str)
                    == Some("config-changed")
                    && get("private-address") == get("ingress-address");
                let paused = Self::paused(m, u);
                let candidates: Vec<&Expect> = if paused {
                    self.published_ever.iter().collect()
                } else {
                    self.published.iter().collect()
                };
                let (absent, exact) = match e {
                    Endpoint::LoadBalancer => (
                        get("public-address").is_none() && get("port").is_none(),
                        candidates.iter().any(|x| {
                            get("public-address") == Some(x.addr.clone())
                                && get("port") == Some(x.port.clone())
                        }),
                    ),
                    Endpoint::Website => (
                        get("hostname").is_none()
                            && get("port").is_none()
                            && get("private-address") == get("ingress-address"),
                        candidates.iter().any(|x| {
                            get("hostname") == Some(x.hostname.clone())
                                && (get("private-address") == Some(x.addr.clone()) || juju_rewrote)
                                && get("port") == Some(x.port.clone())
                        }),
                    ),
                    Endpoint::LbSink => {
                        let ours = ["private-address", "ingress-address", "egress-subnets"];
                        (bag.keys().all(|k| ours.contains(&k.as_str())), false)
                    }
                };
                let must_publish =
                    matches!(verdict, Verdict::Valid(_)) && *e != Endpoint::LbSink && !paused;
                if !(exact || absent && !must_publish) {
                    return fail(format!(
                        "(c) {u} on {e:?}: {bag:?}; expected {} ({verdict:?})",
                        match &self.published {
                            Some(x) => format!("{x:?}"),
                            None => "nothing".into(),
                        }
                    ));
                }
            }
        }
        Ok(())
    }

    fn snap(&self, unit: &str) -> Snap {
        let read = |rel: &str| std::fs::read(self.lab.file(unit, rel)).ok();
        Snap {
            conf: read(CONF),
            unit: read(UNIT),
            calls: self.lab.service_calls(unit),
        }
    }

    /// (d) While the config is invalid, nothing about a worker changes.
    fn check_worker_kept(
        &mut self,
        units: &[String],
        verdict: &Verdict,
        op: Option<&Op>,
    ) -> Result<(), String> {
        self.snaps.retain(|u, _| units.contains(u));
        let hold =
            matches!(verdict, Verdict::Invalid(_)) && !matches!(op, Some(Op::SeriesPrepare(_)));
        for u in units {
            let now = self.snap(u);
            let before = self.snaps.get(u).cloned().unwrap_or(Snap {
                conf: None,
                unit: None,
                calls: Vec::new(),
            });
            if hold && now != before {
                let new_calls: Vec<&String> = now.calls.iter().skip(before.calls.len()).collect();
                return fail(format!(
                    "(d) {u}: the worker changed under an invalid config ({verdict:?}): \
                     config changed: {}, unit file changed: {}, service calls since: {new_calls:?}",
                    now.conf != before.conf,
                    now.unit != before.unit
                ));
            }
            self.snaps.insert(u.clone(), now);
        }
        Ok(())
    }

    /// The rendered config parses, exposes metrics only where configured, the worker runs
    /// exactly when it should, and the config is 0600.
    fn check_rendered(&self, m: &Model, units: &[String], verdict: &Verdict) -> Result<(), String> {
        for u in units {
            let paused = Self::paused(m, u);
            let active = self.lab.active(u);
            let should_run = matches!(verdict, Verdict::Valid(_)) && !paused;
            let must_stop = matches!(verdict, Verdict::NoVip) || paused;
            if (should_run && !active) || (must_stop && active) {
                return fail(format!(
                    "{u}: worker active={active} for {verdict:?} paused={paused}"
                ));
            }
            let path = self.lab.file(u, CONF);
            let Ok(conf) = std::fs::read_to_string(&path) else {
                if should_run {
                    return fail(format!("{u}: no worker config for {verdict:?}"));
                }
                continue;
            };
            let mode = std::fs::metadata(&path).map(|md| md.permissions().mode() & 0o7777);
            if mode.as_ref().ok() != Some(&0o600) {
                return fail(format!("(e) {u}: worker config mode {mode:?}"));
            }
            // Issue 13: the automatic interval's keyword is only ever `vrrpd_adaptive_interval
            // 0.03`; this tree's kaconf does not know it yet (part auto adds it), so it is
            // checked here and left out of the parse until then.
            if let Some(l) = conf.lines().map(str::trim).find(|l| {
                l.starts_with("vrrpd_adaptive_interval") && *l != "vrrpd_adaptive_interval 0.03"
            }) {
                return fail(format!("{u}: unexpected adaptive interval line {l:?}"));
            }
            let parsed: String = conf
                .lines()
                .filter(|l| !l.trim().starts_with("vrrpd_adaptive_interval"))
                .flat_map(|l| [l, "\n"])
                .collect();
            if let Err(e) = kaconf::parse_str(&parsed, "vrrpd.conf") {
                return fail(format!("{u}: rendered config does not parse: {e}\n{conf}"));
            }
            let listen: Vec<Option<SocketAddr>> = conf
                .lines()
                .filter_map(|l| l.trim().strip_prefix("vrrpd_metrics_listen"))
                .map(|a| a.trim().parse().ok())
                .collect();
            let listen = match listen.as_slice() {
                [] => None,
                [Some(a)] => Some(*a),
                _ => return fail(format!("(f) {u}: metrics lines {listen:?}")),
            };
            let ok = match verdict {
                Verdict::Valid(e) if !paused => listen == e.metrics,
                _ => listen.is_none_or(|a| self.metrics_seen.contains(&a)),
            };
            if !ok {
                return fail(format!(
                    "(f) {u}: metrics listener {listen:?}, configured {verdict:?}"
                ));
            }
        }
        Ok(())
    }

    /// (e) The auth password appears nowhere but in the 0600 worker config.
    fn check_secret(
        &mut self,
        m: &Model,
        actions: &[(String, ActionResult)],
    ) -> Result<(), String> {
        let secret = self.secret.clone();
        let leak =
            |where_: String| fail::<()>(format!("(e) auth_pass {secret:?} leaked in {where_}"));
        let log = self.lab.juju.hook_log().map_err(|e| e.to_string())?;
        for r in log.iter().skip(self.log_seen) {
            if let Some(w) = record_leak(r, &secret) {
                return leak(format!("{} on {}: {w}", r.hook, r.unit));
            }
        }
        self.log_seen = log.len();
        for (what, res) in actions {
            let text = format!(
                "{} {} {} {}",
                res.stdout, res.stderr, res.message, res.results
            );
            if text.contains(&secret) {
                return leak(format!("action {what}"));
            }
        }
        for u in m.units.values() {
            if u.workload_status.message.contains(&secret)
                || u.agent_status.message.contains(&secret)
            {
                return leak(format!("the status of {}", u.name));
            }
        }
        for a in m.apps.values() {
            if a.status.message.contains(&secret) {
                return leak(format!("the status of {}", a.name));
            }
        }
        for r in m.relations.values() {
            for (who, bag) in r.unit_settings.iter().chain(r.app_settings.iter()) {
                if bag
                    .data
                    .iter()
                    .any(|(k, v)| k.contains(&secret) || v.contains(&secret))
                {
                    return leak(format!("relation {} data of {who}", r.id));
                }
            }
        }
        let roots = self.lab.dir.path().join("roots");
        if let Some(p) = readable_file_containing(&roots, secret.as_bytes()) {
            return leak(format!("group- or world-readable {}", p.display()));
        }
        Ok(())
    }
}

fn record_leak(r: &HookRecord, secret: &str) -> Option<&'static str> {
    if r.stdout.contains(secret) {
        return Some("stdout");
    }
    if r.stderr.contains(secret) {
        return Some("stderr");
    }
    if r.logs.iter().any(|l| l.message.contains(secret)) {
        return Some("juju-log");
    }
    if r.env.values().any(|v| v.contains(secret)) {
        return Some("the hook environment");
    }
    None
}

/// A file below `dir` readable by group or others whose content contains `needle`.
fn readable_file_containing(dir: &Path, needle: &[u8]) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    for e in entries.flatten() {
        let p = e.path();
        let Ok(md) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if md.is_dir() {
            if let Some(found) = readable_file_containing(&p, needle) {
                return Some(found);
            }
        } else if md.is_file() && md.permissions().mode() & 0o044 != 0 {
            let content = std::fs::read(&p).unwrap_or_default();
            if content.windows(needle.len()).any(|w| w == needle) {
                return Some(p);
            }
        }
    }
    None
}

/// At most 300 characters of a text, for failure messages.
pub fn clip(s: &str) -> String {
    if s.chars().count() <= 300 {
        s.to_string()
    } else {
        let head: String = s.chars().take(300).collect();
        format!("{head}…({} bytes)", s.len())
    }
}
