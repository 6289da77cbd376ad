//! config-get and the relation-* tools.

use super::support::{valid_app_name, valid_unit_name};
use super::{flag, runerr, usage, Call, TResult, ToolDef};
use crate::gnuflag::FlagKind::{Bool, Value};
use crate::output::Out;
use std::collections::BTreeMap;

pub(super) fn def(name: &str) -> Option<ToolDef> {
    let rel = || flag(&["r", "relation"], Value, "Specify a relation by id");
    let app = || flag(&["app"], Bool, "Get/set the application data");
    Some(match name {
        "config-get" => ToolDef {
            usage: "[options] [<key>]",
            purpose: "print application configuration",
            flags: vec![flag(&["a", "all"], Bool, "print all keys")],
            formatted: true,
            run: config_get,
        },
        "relation-ids" => ToolDef {
            usage: "[options] <name>",
            purpose: "list all relation ids with the given relation name",
            flags: vec![],
            formatted: true,
            run: relation_ids,
        },
        "relation-list" => ToolDef {
            usage: "[options]",
            purpose: "list relation units",
            flags: vec![rel(), app()],
            formatted: true,
            run: relation_list,
        },
        "relation-get" => ToolDef {
            usage: "[options] <key> <unit id>",
            purpose: "get relation settings",
            flags: vec![rel(), app()],
            formatted: true,
            run: relation_get,
        },
        "relation-set" => ToolDef {
            usage: "[options] key=value [key=value ...]",
            purpose: "set relation settings",
            flags: vec![
                rel(),
                app(),
                flag(&["file"], Value, "file containing key-value pairs"),
                flag(&["format"], Value, "deprecated format flag"),
            ],
            formatted: false,
            run: relation_set,
        },
        _ => return None,
    })
}

fn config_get(c: &mut Call) -> TResult<Option<Out>> {
    let all = c.p.bool("a");
    if c.p.args.len() > 1 {
        return c.max_args(1).map(|_| None);
    }
    let key = c.p.args.first().cloned();
    if let (true, Some(k)) = (all, &key) {
        return usage(format!("cannot use argument --all together with key {k:?}"));
    }
    let model = c.store()?.read()?;
    let app = model.app(&c.ctx.app)?;
    let cfg = app.effective_config();
    if let Some(k) = key {
        return Ok(Some(cfg.get(&k).map(Out::from).unwrap_or(Out::Null)));
    }
    let mut out: BTreeMap<String, Out> =
        cfg.iter().map(|(k, v)| (k.clone(), Out::from(v))).collect();
    if all {
        for k in app.charm.config.keys() {
            out.entry(k.clone()).or_insert(Out::Null);
        }
    }
    Ok(Some(Out::Map(out)))
}

fn relation_ids(c: &mut Call) -> TResult<Option<Out>> {
    c.max_args(1)?;
    let endpoint = match c.p.args.first() {
        Some(e) => e.clone(),
        None => match c
            .ctx
            .hook_relation()
            .and_then(|id| c.ctx.relations.get(&id))
        {
            Some(r) => r.endpoint.clone(),
            None => return usage("no endpoint name specified"),
        },
    };
    let ids: Vec<String> = c
        .ctx
        .relations
        .iter()
        .filter(|(_, r)| r.endpoint == endpoint)
        .map(|(id, r)| format!("{}:{id}", r.endpoint))
        .collect();
    Ok(Some(Out::StrList(ids)))
}

fn relation_list(c: &mut Call) -> TResult<Option<Out>> {
    let id = c.relation_id()?;
    c.max_args(0)?;
    let Some(r) = c.ctx.relations.get(&id) else {
        return runerr("relation not found");
    };
    if c.p.bool("app") {
        return Ok(Some(Out::Str(r.remote_app.clone())));
    }
    Ok(Some(Out::StrList(r.members.clone())))
}

enum Target {
    Unit(String),
    App(String),
}

fn relation_get(c: &mut Call) -> TResult<Option<Out>> {
    let id = c.relation_id()?;
    let mut args = c.p.args.clone();
    let mut key = String::new();
    if !args.is_empty() {
        key = args.remove(0);
        if key == "-" {
            key.clear();
        }
    }
    let want_app = c.p.bool("app");
    let rh = c.ctx.spec.relation.clone();
    let target = if !args.is_empty() {
        let name = args.remove(0);
        if want_app {
            if valid_unit_name(&name) {
                Target::App(name.split('/').next().unwrap_or_default().to_string())
            } else if valid_app_name(&name) {
                Target::App(name)
            } else {
                return usage(format!("invalid unit or application name {name:?}"));
            }
        } else if valid_unit_name(&name) {
            Target::Unit(name)
        } else if valid_app_name(&name) {
            return usage(format!("expected unit name, got application name {name:?}"));
        } else {
            return usage(format!("invalid unit name {name:?}"));
        }
    } else if want_app {
        match rh.as_ref().filter(|r| !r.remote_app.is_empty()) {
            Some(r) => Target::App(r.remote_app.clone()),
            None => return usage("no unit or application specified"),
        }
    } else {
        match rh.as_ref() {
            Some(r) if !r.remote_unit.is_empty() => Target::Unit(r.remote_unit.clone()),
            Some(r) if !r.remote_app.is_empty() => Target::App(r.remote_app.clone()),
            _ => return usage("no unit or application specified"),
        }
    };
    if !args.is_empty() {
        return usage(format!(
            "unrecognized args: {}",
            crate::gnuflag::go_quote_list(&args)
        ));
    }
    let bag = read_bag(c, id, target)?;
    if key.is_empty() {
        return Ok(Some(Out::str_map(&bag)));
    }
    Ok(Some(
        bag.get(&key)
            .map(|v| Out::Str(v.clone()))
            .unwrap_or(Out::Null),
    ))
}

fn read_bag(c: &mut Call, id: u64, target: Target) -> TResult<BTreeMap<String, String>> {
    let own_unit = c.ctx.unit.clone();
    let own_app = c.ctx.app.clone();
    match target {
        Target::Unit(u) if u == own_unit => Ok(c.ctx.relations[&id].unit_bag.clone()),
        Target::App(a) if a == own_app => {
            if c.is_leader()? {
                return Ok(c.ctx.relations[&id].app_bag.clone());
            }
            if !c.ctx.relations[&id].peer {
                return runerr("permission denied");
            }
            let m = c.store()?.read()?;
            Ok(m.relations
                .get(&id)
                .and_then(|r| r.app_settings.get(&a))
                .map(|b| b.data.clone())
                .unwrap_or_default())
        }
        Target::App(a) => {
            let cache_key = format!("app:{a}");
            if let Some(b) = c.ctx.relations[&id].remote_cache.get(&cache_key) {
                return Ok(b.clone());
            }
            let m = c.store()?.read()?;
            let bag = m
                .relations
                .get(&id)
                .and_then(|r| r.app_settings.get(&a))
                .map(|b| b.data.clone())
                .unwrap_or_default();
            if let Some(r) = c.ctx.relations.get_mut(&id) {
                r.remote_cache.insert(cache_key, bag.clone());
            }
            Ok(bag)
        }
        Target::Unit(u) => {
            // The cache starts empty in every hook, which covers the invalidation of the
            // hook's remote unit; the first read is kept for the rest of the hook.
            if let Some(b) = c.ctx.relations[&id].remote_cache.get(&u) {
                return Ok(b.clone());
            }
            let m = c.store()?.read()?;
            let rel = m.relations.get(&id);
            let Some(bag) = rel.and_then(|r| r.unit_settings.get(&u)) else {
                let key = c.ctx.relations[&id].key.clone();
                return runerr(format!(
                    "cannot read settings for unit {u:?} in relation {key:?}: unit {u:?}: settings not found"
                ));
            };
            let data = bag.data.clone();
            if let Some(r) = c.ctx.relations.get_mut(&id) {
                r.remote_cache.insert(u, data.clone());
            }
            Ok(data)
        }
    }
}

fn relation_set(c: &mut Call) -> TResult<Option<Out>> {
    let id = c.relation_id()?;
    let kv = super::support::parse_keyvalues(&c.p.args, true).or_else(usage)?;
    c.deprecated_format();
    let mut settings = c.read_settings_file()?;
    settings.extend(kv);
    let app = c.p.bool("app");
    if app && !c.is_leader()? {
        return runerr("cannot write relation settings");
    }
    let Some(r) = c.ctx.relations.get_mut(&id) else {
        return runerr("relation not found");
    };
    let (bag, dirty) = if app {
        (&mut r.app_bag, &mut r.app_dirty)
    } else {
        (&mut r.unit_bag, &mut r.unit_dirty)
    };
    for (k, v) in settings {
        if v.is_empty() {
            bag.remove(&k);
        } else {
            bag.insert(k, v);
        }
        *dirty = true;
    }
    Ok(None)
}
