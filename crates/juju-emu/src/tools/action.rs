//! action-get, action-set, action-fail, action-log (only inside an action).

use super::{runerr, usage, Call, TResult, ToolDef};
use crate::context::CtxAction;
use crate::hook::LogLine;
use crate::output::Out;
use serde_json::Value;

pub(super) fn def(name: &str) -> Option<ToolDef> {
    let d = |usage, purpose, formatted, run| ToolDef {
        usage,
        purpose,
        flags: vec![],
        formatted,
        run,
    };
    Some(match name {
        "action-get" => d(
            "[options] [<key>[.<key>.<key>...]]",
            "get action parameters",
            true,
            action_get,
        ),
        "action-set" => d(
            "<key>=<value> [<key>=<value> ...]",
            "set action results",
            false,
            action_set,
        ),
        "action-fail" => d(
            "[\"<failure message>\"]",
            "set action fail status with message",
            false,
            action_fail,
        ),
        "action-log" => d(
            "<message>",
            "record a progress message for the current action",
            false,
            action_log,
        ),
        _ => return None,
    })
}

fn action<'a>(c: &'a mut Call) -> TResult<&'a mut CtxAction> {
    match c.ctx.action.as_mut() {
        Some(a) => Ok(a),
        None => runerr("not running an action"),
    }
}

fn action_get(c: &mut Call) -> TResult<Option<Out>> {
    c.max_args(1)?;
    let key = c.p.args.first().cloned();
    let a = action(c)?;
    let params = if a.params.is_null() {
        Value::Object(Default::default())
    } else {
        a.params.clone()
    };
    let Some(key) = key else {
        return Ok(Some(Out::from(&params)));
    };
    let mut cur = &params;
    for part in key.split('.') {
        match cur.get(part) {
            Some(v) => cur = v,
            None => return Ok(Some(Out::Null)),
        }
    }
    Ok(Some(Out::from(cur)))
}

fn valid_key(k: &str) -> bool {
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let first = k.chars().next();
    let last = k.chars().last();
    first.is_some_and(ok)
        && last.is_some_and(ok)
        && k.chars().all(|c| ok(c) || c == '-' || c == '.')
}

fn action_set(c: &mut Call) -> TResult<Option<Out>> {
    let mut pairs = Vec::new();
    for arg in &c.p.args {
        let Some((k, v)) = arg.split_once('=') else {
            return usage(format!("argument {arg:?} must be of the form key...=value"));
        };
        if !valid_key(k) {
            return usage(format!(
                "key {k:?} must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric, hyphens and periods"
            ));
        }
        if ["stdout", "stdout-encoding", "stderr", "stderr-encoding"].contains(&k) {
            return usage(format!("cannot set reserved action key {k:?}"));
        }
        pairs.push((k.to_string(), v.to_string()));
    }
    let a = action(c)?;
    for (k, v) in pairs {
        let parts: Vec<&str> = k.split('.').collect();
        let mut map = &mut a.results;
        for p in &parts[..parts.len() - 1] {
            let entry = map
                .entry(p.to_string())
                .or_insert_with(|| Value::Object(Default::default()));
            if !entry.is_object() {
                *entry = Value::Object(Default::default());
            }
            let Value::Object(inner) = entry else {
                return runerr("internal error");
            };
            map = inner;
        }
        map.insert(parts[parts.len() - 1].to_string(), Value::String(v));
    }
    Ok(None)
}

fn action_fail(c: &mut Call) -> TResult<Option<Out>> {
    c.max_args(1)?;
    let msg =
        c.p.args.first().cloned().unwrap_or_else(|| {
            "action failed without reason given, check action for errors".into()
        });
    action(c)?.failed = Some(msg);
    Ok(None)
}

fn action_log(c: &mut Call) -> TResult<Option<Out>> {
    if c.p.args.is_empty() {
        return usage("no message specified");
    }
    let message = c.p.args.join(" ");
    action(c)?;
    c.ctx.logs.push(LogLine {
        level: "ACTION".into(),
        message,
    });
    Ok(None)
}
