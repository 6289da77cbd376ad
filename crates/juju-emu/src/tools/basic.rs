//! status-set, status-get, is-leader, juju-log, network-get, unit-get, application-version-set.

use super::{flag, runerr, usage, Call, TResult, ToolDef};
use crate::gnuflag::FlagKind::{Bool, Value};
use crate::hook::LogLine;
use crate::model::Status;
use crate::output::{Format, Out};
use std::collections::BTreeMap;

pub(super) fn def(name: &str) -> Option<ToolDef> {
    let d = |usage, purpose, flags, formatted, run| ToolDef {
        usage,
        purpose,
        flags,
        formatted,
        run,
    };
    Some(match name {
        "status-set" => d(
            "[options] <maintenance | blocked | waiting | active> [message]",
            "set status information",
            vec![flag(&["application"], Bool, "set this status for the application to which the unit belongs if the unit is the leader")],
            false,
            status_set,
        ),
        "status-get" => d(
            "[options] [--include-data] [--application]",
            "print status information",
            vec![
                flag(&["include-data"], Bool, "print all status data"),
                flag(&["application"], Bool, "print status for all units of this application if this unit is the leader"),
            ],
            true,
            status_get,
        ),
        "is-leader" => d("[options]", "print application leadership status", vec![], true, is_leader),
        "juju-log" => d(
            "[options] <message>",
            "write a message to the juju log",
            vec![
                flag(&["debug"], Bool, "log at debug level"),
                flag(&["l", "log-level"], Value, "Send log message at the given level"),
                flag(&["format"], Value, "deprecated format flag"),
            ],
            false,
            juju_log,
        ),
        "network-get" => d(
            "[options] <binding-name> [--ingress-address] [--bind-address] [--egress-subnets]",
            "get network config",
            vec![
                flag(&["r", "relation"], Value, "Specify a relation by id"),
                flag(&["primary-address"], Bool, "(deprecated) get the primary address for the binding"),
                flag(&["bind-address"], Bool, "get the address for the binding on which the unit should listen"),
                flag(&["ingress-address"], Bool, "get the ingress-address for the binding"),
                flag(&["egress-subnets"], Bool, "get the egress-subnets for the binding"),
            ],
            true,
            network_get,
        ),
        "unit-get" => d("[options] <setting>", "print public-address or private-address", vec![], true, unit_get),
        "application-version-set" => d(
            "<new-version>",
            "specify which version of the application is deployed",
            vec![],
            false,
            app_version_set,
        ),
        _ => return None,
    })
}

const SETTABLE: [&str; 4] = ["maintenance", "blocked", "waiting", "active"];

fn status_set(c: &mut Call) -> TResult<Option<Out>> {
    let Some(status) = c.p.args.first().cloned() else {
        return usage("invalid args, require <status> [message]");
    };
    if !SETTABLE.contains(&status.as_str()) {
        return usage(format!(
            "invalid status {status:?}, expected one of [{}]",
            SETTABLE.join(" ")
        ));
    }
    c.max_args(2)?;
    let message = c.p.args.get(1).cloned().unwrap_or_default();
    let application = c.p.bool("application");
    if application && !c.is_leader()? {
        return runerr("this unit is not the leader");
    }
    let (unit, app) = (c.ctx.unit.clone(), c.ctx.app.clone());
    c.store()?.update(|m| {
        if application {
            if let Some(a) = m.apps.get_mut(&app) {
                a.status = Status::new(&status, &message);
            }
        } else if let Some(u) = m.units.get_mut(&unit) {
            u.workload_status = Status::new(&status, &message);
            u.charm_set_status = true;
        }
        Ok(())
    })?;
    Ok(None)
}

fn status_map(s: &Status, data: bool) -> Out {
    let mut m = BTreeMap::new();
    m.insert("status".to_string(), Out::Str(s.status.clone()));
    if data {
        m.insert("message".to_string(), Out::Str(s.message.clone()));
        m.insert("status-data".to_string(), Out::Map(BTreeMap::new()));
    }
    Out::Map(m)
}

fn status_get(c: &mut Call) -> TResult<Option<Out>> {
    c.max_args(0)?;
    let include = c.p.bool("include-data");
    if c.p.bool("application") {
        if !c.is_leader()? {
            return runerr("finding application status: this unit is not the leader");
        }
        let m = c.store()?.read()?;
        let app = m.app(&c.ctx.app)?;
        let mut units = BTreeMap::new();
        for u in m.units.values().filter(|u| u.app == app.name) {
            units.insert(u.name.clone(), status_map(&u.workload_status, true));
        }
        let mut inner = match status_map(&app.status, true) {
            Out::Map(x) => x,
            _ => BTreeMap::new(),
        };
        inner.insert("units".into(), Out::Map(units));
        let mut top = BTreeMap::new();
        top.insert("application-status".to_string(), Out::Map(inner));
        return Ok(Some(Out::Map(top)));
    }
    let m = c.store()?.read()?;
    let st = m.unit(&c.ctx.unit)?.workload_status.clone();
    if !include && c.format == Format::Smart {
        return Ok(Some(Out::Str(st.status)));
    }
    Ok(Some(status_map(&st, include)))
}

fn is_leader(c: &mut Call) -> TResult<Option<Out>> {
    c.max_args(0)?;
    Ok(Some(Out::Bool(c.is_leader()?)))
}

fn juju_log(c: &mut Call) -> TResult<Option<Out>> {
    if c.p.args.is_empty() {
        return usage("no message specified");
    }
    c.deprecated_format();
    let mut level = c.p.get("l").unwrap_or("INFO").to_uppercase();
    if c.p.bool("debug") {
        level = "DEBUG".into();
    }
    if !["TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"].contains(&level.as_str()) {
        c.ctx.logs.push(LogLine {
            level: "WARNING".into(),
            message: format!("Specified log level of {level:?} is not valid"),
        });
        level = "INFO".into();
    }
    let mut message = c.p.args.join(" ");
    if let Some(r) = c.ctx.spec.relation.as_ref() {
        message = format!("{}:{}: {message}", r.endpoint, r.id);
    }
    c.ctx.logs.push(LogLine { level, message });
    Ok(None)
}

fn network_get(c: &mut Call) -> TResult<Option<Out>> {
    let Some(binding) = c.p.args.first().cloned() else {
        return usage("no arguments specified");
    };
    c.max_args(1)?;
    let m = c.store()?.read()?;
    let unit = m.unit(&c.ctx.unit)?;
    let app = m.app(&unit.app)?;
    let Some(machine) = m.machines.get(&unit.machine) else {
        return runerr(format!("no network config found for binding {binding:?}"));
    };
    if !app.charm.endpoints.iter().any(|e| e.name == binding) {
        return runerr(format!("no network config found for binding {binding:?}"));
    }
    let keys: Vec<&str> = [
        "primary-address",
        "bind-address",
        "ingress-address",
        "egress-subnets",
    ]
    .into_iter()
    .filter(|k| c.p.bool(k))
    .collect();
    if keys.contains(&"primary-address") && keys.len() > 1 {
        return runerr("--primary-address must be the only flag specified");
    }
    let addr = machine.address.clone();
    let egress = Out::StrList(vec![format!("{addr}/32")]);
    let value = |k: &str| match k {
        "egress-subnets" => egress.clone(),
        _ => Out::Str(addr.clone()),
    };
    if keys.len() == 1 {
        return Ok(Some(value(keys[0])));
    }
    if !keys.is_empty() {
        return Ok(Some(Out::Map(
            keys.iter().map(|k| (k.to_string(), value(k))).collect(),
        )));
    }
    let json = c.format == Format::Json;
    let (mac, ifn, val) = if json {
        ("mac-address", "interface-name", "value")
    } else {
        ("macaddress", "interfacename", "address")
    };
    let address = Out::Struct(vec![
        ("hostname".into(), Out::Str(String::new())),
        (val.into(), Out::Str(addr.clone())),
        ("cidr".into(), Out::Str(machine.cidr.clone())),
    ]);
    let bind = Out::Struct(vec![
        (mac.into(), Out::Str(machine.mac.clone())),
        (ifn.into(), Out::Str(machine.interface.clone())),
        ("addresses".into(), Out::List(vec![address])),
    ]);
    Ok(Some(Out::Struct(vec![
        ("bind-addresses".into(), Out::List(vec![bind])),
        ("egress-subnets".into(), egress),
        ("ingress-addresses".into(), Out::StrList(vec![addr])),
    ])))
}

fn unit_get(c: &mut Call) -> TResult<Option<Out>> {
    let Some(setting) = c.p.args.first().cloned() else {
        return usage("no setting specified");
    };
    if setting != "private-address" && setting != "public-address" {
        return usage(format!("unknown setting {setting:?}"));
    }
    c.max_args(1)?;
    let m = c.store()?.read()?;
    let unit = m.unit(&c.ctx.unit)?;
    let Some(machine) = m.machines.get(&unit.machine) else {
        return runerr("private address not found");
    };
    if setting == "private-address" {
        return Ok(Some(Out::Str(machine.address.clone())));
    }
    match &machine.public_address {
        Some(a) => Ok(Some(Out::Str(a.clone()))),
        None => runerr("public address not found"),
    }
}

fn app_version_set(c: &mut Call) -> TResult<Option<Out>> {
    let Some(version) = c.p.args.first().cloned() else {
        return usage("no version specified");
    };
    c.max_args(1)?;
    let unit = c.ctx.unit.clone();
    c.store()?.update(|m| {
        if let Some(u) = m.units.get_mut(&unit) {
            u.workload_version = version;
        }
        Ok(())
    })?;
    Ok(None)
}
