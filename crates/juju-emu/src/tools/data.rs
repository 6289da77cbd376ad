//! leader-get/leader-set, state-get/state-set/state-delete, open-port/close-port/opened-ports.

use super::support::parse_keyvalues;
use super::{flag, runerr, usage, Call, TResult, ToolDef};
use crate::context::PortOp;
use crate::gnuflag::FlagKind::{Bool, Value};
use crate::model::PortRange;
use crate::output::Out;
use std::collections::BTreeSet;

pub(super) fn def(name: &str) -> Option<ToolDef> {
    let d = |usage, purpose, flags, formatted, run| ToolDef {
        usage,
        purpose,
        flags,
        formatted,
        run,
    };
    let file = || flag(&["file"], Value, "file containing key-value pairs");
    let eps = || {
        flag(
            &["endpoints"],
            Value,
            "a comma-delimited list of application endpoints to target with this operation",
        )
    };
    Some(match name {
        "leader-get" => d(
            "[options] [<key>]",
            "print application leadership settings",
            vec![],
            true,
            leader_get,
        ),
        "leader-set" => d(
            "<key>=<value> [...]",
            "write application leadership settings",
            vec![],
            false,
            leader_set,
        ),
        "state-get" => d(
            "[options] [<key>]",
            "print server-side-state value(s)",
            vec![flag(
                &["strict"],
                Bool,
                "Return an error if the requested key does not exist",
            )],
            true,
            state_get,
        ),
        "state-set" => d(
            "[options] key=value [key=value ...]",
            "set server-side-state values",
            vec![file()],
            false,
            state_set,
        ),
        "state-delete" => d(
            "<key>",
            "delete server-side-state key value pairs",
            vec![],
            false,
            state_delete,
        ),
        "open-port" => d(
            "[options] <port>[/<protocol>] or <from>-<to>[/<protocol>] or icmp",
            "register a request to open a port or port range",
            vec![eps()],
            false,
            open_port,
        ),
        "close-port" => d(
            "[options] <port>[/<protocol>] or <from>-<to>[/<protocol>] or icmp",
            "register a request to close a port or port range",
            vec![eps()],
            false,
            close_port,
        ),
        "opened-ports" => d(
            "[options]",
            "list all ports or port ranges opened by the unit",
            vec![flag(
                &["endpoints"],
                Bool,
                "display the list of target application endpoints for each port range",
            )],
            true,
            opened_ports,
        ),
        _ => return None,
    })
}

fn leader_get(c: &mut Call) -> TResult<Option<Out>> {
    c.max_args(1)?;
    let key = c.p.args.first().cloned().filter(|k| k != "-");
    if let Some(k) = key.as_ref().filter(|k| k.contains('=')) {
        return usage(format!("invalid key {k:?}"));
    }
    let m = c.store()?.read()?;
    let s = &m.app(&c.ctx.app)?.leader_settings.data;
    Ok(Some(match key {
        Some(k) => s.get(&k).map(|v| Out::Str(v.clone())).unwrap_or(Out::Null),
        None => Out::str_map(s),
    }))
}

fn leader_set(c: &mut Call) -> TResult<Option<Out>> {
    let kv = parse_keyvalues(&c.p.args, true).or_else(usage)?;
    if !c.is_leader()? {
        return runerr("cannot write leadership settings: cannot write settings: not the leader");
    }
    let (app, unit) = (c.ctx.app.clone(), c.ctx.unit.clone());
    c.store()?.update(|m| {
        let Some(a) = m.apps.get_mut(&app) else {
            return Ok(());
        };
        let mut data = a.leader_settings.data.clone();
        for (k, v) in kv {
            data.insert(k, v);
        }
        a.leader_settings.replace(data);
        let v = a.leader_settings.version;
        if let Some(u) = m.units.get_mut(&unit) {
            u.agent.leader_settings_seen = Some(v);
        }
        Ok(())
    })?;
    Ok(None)
}

fn state_get(c: &mut Call) -> TResult<Option<Out>> {
    c.max_args(1)?;
    let key = c.p.args.first().cloned().filter(|k| k != "-");
    Ok(Some(match key {
        None => Out::str_map(&c.ctx.state),
        Some(k) => match c.ctx.state.get(&k) {
            Some(v) => Out::Str(v.clone()),
            None if c.p.bool("strict") => return runerr(format!("{k:?} not found")),
            None => Out::Str(String::new()),
        },
    }))
}

fn state_set(c: &mut Call) -> TResult<Option<Out>> {
    let kv = parse_keyvalues(&c.p.args, true).or_else(usage)?;
    let mut settings = c.read_settings_file()?;
    settings.extend(kv);
    for (k, v) in &settings {
        if k.len() > 256 {
            return runerr(format!(
                "key {k:?} exceeds the maximum allowed size of 256 bytes"
            ));
        }
        if v.len() > 64 * 1024 {
            return runerr(format!(
                "value for key {k:?} exceeds the maximum allowed size of 65536 bytes"
            ));
        }
    }
    c.ctx.state.extend(settings);
    c.ctx.state_dirty = true;
    Ok(None)
}

fn state_delete(c: &mut Call) -> TResult<Option<Out>> {
    let Some(key) = c.p.args.first().cloned() else {
        return usage("argument for key is required");
    };
    c.max_args(1)?;
    c.ctx.state.remove(&key);
    c.ctx.state_dirty = true;
    Ok(None)
}

/// `core/network` ParsePortRange + Validate.
pub(crate) fn parse_port_range(s: &str) -> Result<PortRange, String> {
    let s = s.to_lowercase();
    if s == "icmp" {
        return Ok(PortRange {
            from: 0,
            to: 0,
            protocol: "icmp".into(),
        });
    }
    let (ports, proto) = match s.split_once('/') {
        Some((p, pr)) => (p.to_string(), pr.to_string()),
        None => (s.clone(), "tcp".to_string()),
    };
    if !["tcp", "udp", "icmp"].contains(&proto.as_str()) {
        return Err(format!(
            "invalid protocol {proto:?}, expected \"tcp\", \"udp\", or \"icmp\""
        ));
    }
    let parts: Vec<&str> = ports.split('-').collect();
    if parts.len() > 2 {
        return Err(format!("invalid port range {ports:?}"));
    }
    let num = |p: &str| p.parse::<i64>().map_err(|_| format!("invalid port {p:?}"));
    let from = num(parts[0])?;
    let to = if parts.len() == 2 {
        num(parts[1])?
    } else {
        from
    };
    if proto == "icmp" {
        return Err(format!(
            "protocol \"icmp\" doesn't support any ports; got \"{ports}\""
        ));
    }
    if from > to {
        return Err(format!("invalid port range {from}-{to}/{proto}"));
    }
    if !(1..=65535).contains(&from) || !(1..=65535).contains(&to) {
        return Err(format!(
            "port range bounds must be between 1 and 65535, got {from}-{to}"
        ));
    }
    Ok(PortRange {
        from: from as u16,
        to: to as u16,
        protocol: proto,
    })
}

fn port_op(c: &mut Call, open: bool) -> TResult<Option<Out>> {
    let Some(arg) = c.p.args.first().cloned() else {
        return usage("no port or range specified");
    };
    let range = parse_port_range(&arg).or_else(usage)?;
    c.max_args(1)?;
    let endpoints: BTreeSet<String> =
        c.p.get("endpoints")
            .map(|e| {
                e.split(',')
                    .map(str::trim)
                    .filter(|x| !x.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
    c.ctx.port_ops.push(PortOp {
        open,
        range,
        endpoints,
    });
    Ok(None)
}

fn open_port(c: &mut Call) -> TResult<Option<Out>> {
    port_op(c, true)
}

fn close_port(c: &mut Call) -> TResult<Option<Out>> {
    port_op(c, false)
}

fn opened_ports(c: &mut Call) -> TResult<Option<Out>> {
    c.max_args(0)?;
    let m = c.store()?.read()?;
    let u = m.unit(&c.ctx.unit)?;
    let mut ranges: Vec<(&PortRange, &BTreeSet<String>)> = u.ports.iter().collect();
    ranges.sort_by_key(|(r, _)| (r.protocol == "icmp", r.protocol.clone(), r.from, r.to));
    let with_eps = c.p.bool("endpoints");
    Ok(Some(Out::StrList(
        ranges
            .into_iter()
            .map(|(r, eps)| {
                if !with_eps {
                    r.to_string()
                } else if eps.is_empty() {
                    format!("{r} (*)")
                } else {
                    format!(
                        "{r} ({})",
                        eps.iter().cloned().collect::<Vec<_>>().join(", ")
                    )
                }
            })
            .collect(),
    )))
}
