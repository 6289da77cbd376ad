//! `vrrp_script NAME { … }`, and the shared name table for `track_script`.

use std::collections::HashMap;
use std::time::Duration;

use super::global::script_user;
use super::Ctx;
use crate::lexer::split_quoted_escaped;
use crate::model::{NativeCheck, TrackKind, VrrpScript};
use crate::tree::Stmt;
use crate::values::{parse_int, parse_uint, want_args};

/// `weight W [reverse]` as used by `vrrp_script` and `vrrpd_check`.
pub(crate) fn weight(st: &Stmt) -> Result<(i32, bool), String> {
    want_args(st, 1, 2)?;
    let w = parse_int(&st.args()[0], -253, 253).map_err(|e| format!("weight: {e}"))?;
    let reverse = match st.args().get(1).map(String::as_str) {
        None => false,
        Some("reverse") => true,
        Some(other) => return Err(format!("unknown weight option '{other}' (only 'reverse')")),
    };
    Ok((i32::try_from(w).unwrap_or(0), reverse))
}

/// `rise N` / `fall N` (≥ 1).
pub(crate) fn count(st: &Stmt) -> Result<u32, String> {
    want_args(st, 1, 1)?;
    let v = parse_uint(&st.args()[0], 1, i32::MAX as u64)
        .map_err(|e| format!("'{}': {e}", st.keyword()))?;
    Ok(u32::try_from(v).unwrap_or(1))
}

pub(crate) fn build(ctx: &mut Ctx, st: &Stmt) -> Option<VrrpScript> {
    let name = ctx.name(st)?;
    let block = ctx.block(st)?;
    let mut s = VrrpScript {
        name,
        location: st.loc.clone(),
        argv: Vec::new(),
        interval: Duration::from_secs(1),
        timeout: Duration::ZERO,
        weight: 0,
        weight_reverse: false,
        rise: 1,
        fall: 1,
        user: None,
        init_fail: false,
    };
    let errors_before = ctx.sink.errors.len();
    for item in block {
        if !ctx.no_block(item) {
            continue;
        }
        match item.keyword() {
            "script" => {
                // keepalived re-splits the raw line, then the command word, shell-like.
                let r = split_quoted_escaped(&item.raw).and_then(|w| match w.as_slice() {
                    [_, cmd] => split_quoted_escaped(cmd),
                    [_] => Err("'script' needs a command".to_string()),
                    _ => Err("'script' takes one (quoted) command line".to_string()),
                });
                if let Some(argv) = ctx.check(item, r) {
                    if argv.is_empty() {
                        ctx.error(item, "'script' command is empty");
                    }
                    s.argv = argv;
                }
            }
            "interval" | "timeout" => {
                let r = want_args(item, 1, 1)
                    .and_then(|_| parse_uint(&item.args()[0], 1, u64::from(u32::MAX) / 1_000_000))
                    .map_err(|e| {
                        format!(
                            "vrrp_script {} {}: {e} (whole seconds)",
                            s.name,
                            item.keyword()
                        )
                    });
                if let Some(v) = ctx.check(item, r) {
                    if item.keyword() == "interval" {
                        s.interval = Duration::from_secs(v);
                    } else {
                        s.timeout = Duration::from_secs(v);
                    }
                }
            }
            "weight" => {
                if let Some((w, r)) = ctx.check(item, weight(item)) {
                    s.weight = w;
                    s.weight_reverse = r;
                }
            }
            "rise" => s.rise = ctx.check(item, count(item)).unwrap_or(s.rise),
            "fall" => s.fall = ctx.check(item, count(item)).unwrap_or(s.fall),
            "user" => s.user = ctx.check(item, script_user(item)).or(s.user.take()),
            "init_fail" => {
                if ctx.check(item, want_args(item, 0, 0)).is_some() {
                    s.init_fail = true;
                }
            }
            _ => ctx.unknown(item, "vrrp_script"),
        }
    }
    if s.argv.is_empty() && ctx.sink.errors.len() == errors_before {
        ctx.error(st, format!("vrrp_script {} has no 'script'", s.name));
    }
    if s.timeout.is_zero() {
        s.timeout = s.interval;
    }
    Some(s)
}

/// What a `track_script` name refers to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target {
    pub(crate) kind: TrackKind,
    pub(crate) weight: i32,
    pub(crate) reverse: bool,
}

/// One namespace for `vrrp_script` and `vrrpd_check` names.
pub(crate) struct Lookup {
    names: HashMap<String, Target>,
}

impl Lookup {
    /// Builds the table; a name used twice (in either kind) is an error at the second use.
    pub(crate) fn new(ctx: &mut Ctx, scripts: &[VrrpScript], checks: &[NativeCheck]) -> Lookup {
        let mut all: Vec<(&str, &crate::model::Location, Target)> = Vec::new();
        for s in scripts {
            all.push((
                &s.name,
                &s.location,
                Target {
                    kind: TrackKind::Script,
                    weight: s.weight,
                    reverse: s.weight_reverse,
                },
            ));
        }
        for c in checks {
            all.push((
                &c.name,
                &c.location,
                Target {
                    kind: TrackKind::Check,
                    weight: c.weight,
                    reverse: c.weight_reverse,
                },
            ));
        }
        all.sort_by(|a, b| (&a.1.file, a.1.line).cmp(&(&b.1.file, b.1.line)));
        let mut names: HashMap<String, Target> = HashMap::new();
        let mut first: HashMap<String, crate::model::Location> = HashMap::new();
        for (name, loc, t) in all {
            if let Some(prev) = first.get(name) {
                ctx.sink.error(
                    loc,
                    format!("duplicate check name '{name}' (first defined at {}:{}); vrrp_script and vrrpd_check share one namespace", prev.file, prev.line),
                );
                continue;
            }
            first.insert(name.to_string(), loc.clone());
            names.insert(name.to_string(), t);
        }
        Lookup { names }
    }

    pub(crate) fn get(&self, name: &str) -> Option<Target> {
        self.names.get(name).copied()
    }
}
