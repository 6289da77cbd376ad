//! `juju status` in Juju 3.6's tabular layout: Model, App, Unit (subordinates indented under
//! their principal), Machine and Integration sections, columns separated by two spaces.

use juju_emu::charm::{Role, Scope};
use juju_emu::model::{Model, Unit};
use std::collections::{BTreeMap, BTreeSet};

/// What `status` needs beyond the model.
#[derive(Debug, Clone, Default)]
pub struct StatusContext {
    /// `HH:MM:SSZ`.
    pub timestamp: String,
    /// Namespace of each machine (the "Inst id"); missing = pending.
    pub machine_ns: BTreeMap<String, String>,
    /// Only this application (and what hosts or relates to it), like `juju status APP`.
    pub filter: Option<String>,
}

/// A table whose columns are padded to the widest cell plus two spaces; `right` columns are
/// right-aligned; trailing blanks are dropped.
struct Table {
    rows: Vec<Vec<String>>,
    right: Vec<usize>,
}

impl Table {
    fn new(header: &[&str], right: &[usize]) -> Table {
        Table {
            rows: vec![header.iter().map(|s| s.to_string()).collect()],
            right: right.to_vec(),
        }
    }
    fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }
    fn render(&self, out: &mut String) {
        let cols = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let width: Vec<usize> = (0..cols)
            .map(|c| {
                self.rows
                    .iter()
                    .map(|r| r.get(c).map_or(0, |s| s.chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for r in &self.rows {
            let mut line = String::new();
            for (c, w) in width.iter().enumerate() {
                let cell = r.get(c).map(String::as_str).unwrap_or("");
                let pad = w.saturating_sub(cell.chars().count());
                if self.right.contains(&c) {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.push_str(&" ".repeat(pad));
                }
                line.push_str("  ");
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
}

fn severity(s: &str) -> u8 {
    match s {
        "error" => 100,
        "blocked" => 90,
        "maintenance" => 80,
        "waiting" => 70,
        "active" => 60,
        "terminated" => 50,
        _ => 40,
    }
}

/// Unit numbers sort numerically (`app/2` before `app/10`).
fn unit_key(name: &str) -> (String, u64) {
    match name.rsplit_once('/') {
        Some((a, n)) => (a.to_string(), n.parse().unwrap_or(u64::MAX)),
        None => (name.to_string(), 0),
    }
}

/// (workload, agent, message) as `juju status` shows them: a failed hook shows `error` with the
/// agent's message.
fn unit_statuses(u: &Unit) -> (String, String, String) {
    if u.agent_status.status == "error" {
        return (
            "error".into(),
            "idle".into(),
            u.agent_status.message.clone(),
        );
    }
    (
        u.workload_status.status.clone(),
        u.agent_status.status.clone(),
        u.workload_status.message.clone(),
    )
}

fn ports(u: &Unit) -> String {
    let mut by_proto: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in u.ports.keys() {
        let range = if p.from == p.to {
            p.from.to_string()
        } else {
            format!("{}-{}", p.from, p.to)
        };
        by_proto.entry(p.protocol.clone()).or_default().push(range);
    }
    by_proto
        .iter()
        .map(|(proto, r)| format!("{}/{proto}", r.join(",")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Renders the whole status.
pub fn render(m: &Model, ctx: &StatusContext) -> String {
    // Which apps and units to show.
    let related = |app: &str| -> BTreeSet<String> {
        let mut s = BTreeSet::from([app.to_string()]);
        for u in m.units.values().filter(|u| u.app == app) {
            if let Some(p) = u.principal.as_ref().and_then(|p| m.units.get(p)) {
                s.insert(p.app.clone());
            }
        }
        s
    };
    let apps: BTreeSet<String> = match &ctx.filter {
        Some(f) => related(f),
        None => m.apps.keys().cloned().collect(),
    };
    let wanted_sub = |u: &Unit| ctx.filter.as_ref().is_none_or(|f| *f == u.app);
    let mut principals: Vec<&Unit> = m
        .units
        .values()
        .filter(|u| u.principal.is_none() && apps.contains(&u.app))
        .filter(|u| {
            ctx.filter.as_ref().is_none_or(|f| {
                *f == u.app
                    || m.units
                        .values()
                        .any(|s| s.principal.as_deref() == Some(u.name.as_str()) && s.app == *f)
            })
        })
        .collect();
    principals.sort_by_key(|u| unit_key(&u.name));

    let mut out = String::new();
    let mut t = Table::new(
        &[
            "Model",
            "Controller",
            "Cloud/Region",
            "Version",
            "SLA",
            "Timestamp",
        ],
        &[],
    );
    t.push(vec![
        m.info.name.clone(),
        "jujusim".into(),
        "netns/lab".into(),
        m.info.juju_version.clone(),
        "unsupported".into(),
        ctx.timestamp.clone(),
    ]);
    t.render(&mut out);

    if !apps.is_empty() {
        out.push('\n');
        let mut t = Table::new(
            &[
                "App", "Version", "Status", "Scale", "Charm", "Channel", "Rev", "Exposed",
                "Message",
            ],
            &[3, 6],
        );
        for name in &apps {
            let Some(a) = m.apps.get(name) else { continue };
            let units: Vec<&Unit> = m.units.values().filter(|u| u.app == *name).collect();
            let set = a.status.status != "unknown" && !a.status.status.is_empty();
            let (st, msg) = if set {
                (a.status.status.clone(), a.status.message.clone())
            } else {
                // The most severe unit status; ties go to the lowest unit number.
                units
                    .iter()
                    .map(|u| (unit_key(&u.name), unit_statuses(u)))
                    .min_by_key(|(k, (w, _, _))| (std::cmp::Reverse(severity(w)), k.clone()))
                    .map(|(_, (w, _, msg))| (w, msg))
                    .unwrap_or(("unknown".into(), String::new()))
            };
            let version = a
                .leader
                .as_ref()
                .and_then(|l| m.units.get(l))
                .map(|u| u.workload_version.clone())
                .unwrap_or_default();
            t.push(vec![
                name.clone(),
                version,
                st,
                units.len().to_string(),
                a.charm.name.clone(),
                String::new(),
                a.charm_generation.to_string(),
                "no".into(),
                msg,
            ]);
        }
        t.render(&mut out);
    }

    let mut machines = BTreeSet::new();
    if !principals.is_empty() {
        out.push('\n');
        let mut t = Table::new(
            &[
                "Unit",
                "Workload",
                "Agent",
                "Machine",
                "Public address",
                "Ports",
                "Message",
            ],
            &[],
        );
        for p in &principals {
            machines.insert(p.machine.clone());
            let (w, a, msg) = unit_statuses(p);
            let star = if m.is_leader(&p.name) { "*" } else { "" };
            t.push(vec![
                format!("{}{star}", p.name),
                w,
                a,
                p.machine.clone(),
                m.unit_address(&p.name),
                ports(p),
                msg,
            ]);
            let mut subs: Vec<&Unit> = m
                .units
                .values()
                .filter(|s| s.principal.as_deref() == Some(p.name.as_str()) && wanted_sub(s))
                .collect();
            subs.sort_by_key(|u| unit_key(&u.name));
            for s in subs {
                let (w, a, msg) = unit_statuses(s);
                let star = if m.is_leader(&s.name) { "*" } else { "" };
                t.push(vec![
                    format!("  {}{star}", s.name),
                    w,
                    a,
                    String::new(),
                    m.unit_address(&s.name),
                    ports(s),
                    msg,
                ]);
            }
        }
        t.render(&mut out);
    }

    if !machines.is_empty() {
        out.push('\n');
        let mut t = Table::new(
            &[
                "Machine", "State", "Address", "Inst id", "Base", "AZ", "Message",
            ],
            &[],
        );
        let mut ids: Vec<&String> = machines.iter().collect();
        ids.sort_by_key(|id| id.parse::<u64>().unwrap_or(u64::MAX));
        for id in ids {
            let Some(mc) = m.machines.get(id) else {
                continue;
            };
            let (state, inst, msg) = match ctx.machine_ns.get(id) {
                Some(ns) => ("started", ns.clone(), "Running"),
                None => ("pending", "pending".to_string(), "allocating"),
            };
            t.push(vec![
                id.clone(),
                state.into(),
                mc.address.clone(),
                inst,
                mc.base.clone(),
                String::new(),
                msg.into(),
            ]);
        }
        t.render(&mut out);
    }

    let mut rels: Vec<(String, String, String, &str)> = m
        .relations
        .values()
        .filter(|r| ctx.filter.as_ref().is_none_or(|f| r.end_of(f).is_some()))
        .map(|r| {
            let ep = |e: &juju_emu::model::RelationEnd| format!("{}:{}", e.app, e.endpoint);
            let (prov, req) = if r.peer {
                let e = r.ends.first().map(ep).unwrap_or_default();
                (e.clone(), e)
            } else {
                let p = r.ends.iter().find(|e| e.role == Role::Provider).map(ep);
                let q = r.ends.iter().find(|e| e.role == Role::Requirer).map(ep);
                (p.unwrap_or_default(), q.unwrap_or_default())
            };
            let kind = if r.peer {
                "peer"
            } else if r.scope == Scope::Container {
                "subordinate"
            } else {
                "regular"
            };
            (prov, req, r.interface.clone(), kind)
        })
        .collect();
    rels.sort();
    if !rels.is_empty() {
        out.push('\n');
        let mut t = Table::new(
            &[
                "Integration provider",
                "Requirer",
                "Interface",
                "Type",
                "Message",
            ],
            &[],
        );
        for (p, q, i, k) in rels {
            t.push(vec![p, q, i, k.to_string(), String::new()]);
        }
        t.render(&mut out);
    }
    out
}

/// The current UTC time as `HH:MM:SSZ`.
pub fn timestamp_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let s = secs % 86400;
    format!("{:02}:{:02}:{:02}Z", s / 3600, (s / 60) % 60, s % 60)
}
