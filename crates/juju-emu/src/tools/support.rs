//! Helpers shared by the tools: relation ids, key=value parsing, names, leadership, files.

use super::{runerr, usage, Call, TResult};
use crate::store::Store;
use std::collections::BTreeMap;

/// Parses `N` or `anything:N` and checks the id is known (jujuc `relationIdValue.Set`).
pub(crate) fn parse_relation_id(v: &str, known: &[u64]) -> Result<u64, String> {
    let tail = v.rsplit(':').next().unwrap_or(v);
    let id: i64 = tail
        .parse()
        .map_err(|_| "invalid relation id".to_string())?;
    let id = u64::try_from(id).map_err(|_| "relation not found".to_string())?;
    if known.contains(&id) {
        Ok(id)
    } else {
        Err("relation not found".into())
    }
}

impl Call<'_> {
    /// The relation chosen by `-r`, or the hook's relation, or `no relation id specified`.
    pub(crate) fn relation_id(&self) -> TResult<u64> {
        if let Some(v) = self.p.get("r") {
            let known: Vec<u64> = self.ctx.relations.keys().copied().collect();
            return parse_relation_id(v, &known).or_else(usage);
        }
        match self.ctx.hook_relation() {
            Some(id) if self.ctx.relations.contains_key(&id) => Ok(id),
            _ => usage("no relation id specified"),
        }
    }

    /// The model store.
    pub(crate) fn store(&self) -> TResult<Store> {
        Ok(Store::open(&self.ctx.model_dir)?)
    }

    /// Leadership as the hook sees it: once false, false for the rest of the hook.
    pub(crate) fn is_leader(&mut self) -> TResult<bool> {
        if self.ctx.minion {
            return Ok(false);
        }
        let m = self.store()?.read()?;
        let leader = m.is_leader(&self.ctx.unit);
        if !leader {
            self.ctx.minion = true;
        }
        Ok(leader)
    }

    /// Fails with "unrecognized args" when more than `max` positionals were given.
    pub(crate) fn max_args(&self, max: usize) -> TResult<()> {
        if self.p.args.len() > max {
            return usage(format!(
                "unrecognized args: {}",
                crate::gnuflag::go_quote_list(&self.p.args[max..])
            ));
        }
        Ok(())
    }

    /// Reads `--file` (path relative to cwd, or `-` for stdin) as a YAML map of strings.
    pub(crate) fn read_settings_file(&mut self) -> TResult<BTreeMap<String, String>> {
        let Some(f) = self.p.get("file").map(str::to_string) else {
            return Ok(BTreeMap::new());
        };
        let mut data = String::new();
        if f == "-" {
            self.stdin
                .read_to_string(&mut data)
                .map_err(|e| super::Fail::Run(e.to_string()))?;
        } else {
            let path = self.env.cwd.join(&f);
            data = std::fs::read_to_string(&path).map_err(|_| {
                super::Fail::Run(format!(
                    "open {}: no such file or directory",
                    path.display()
                ))
            })?;
        }
        yaml_string_map(&data).or_else(runerr)
    }

    /// Warns that `--format` is deprecated for this command (no newline, like Juju).
    pub(crate) fn deprecated_format(&mut self) {
        if self.p.get("format").is_some() {
            self.stderr
                .extend(format!("--format flag deprecated for command {:?}", self.name).bytes());
        }
    }
}

/// Decodes YAML into `map[string]string` like yaml.v2 (scalars become their text, null → "").
pub(crate) fn yaml_string_map(data: &str) -> Result<BTreeMap<String, String>, String> {
    use serde_yaml::Value as Y;
    let doc: Y = serde_yaml::from_str(data).map_err(|e| format!("yaml: {e}"))?;
    let scalar = |v: &Y| -> Result<String, String> {
        match v {
            Y::Null => Ok(String::new()),
            Y::Bool(b) => Ok(b.to_string()),
            Y::Number(n) => Ok(n.to_string()),
            Y::String(s) => Ok(s.clone()),
            Y::Sequence(_) => {
                Err("yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into string".into())
            }
            Y::Mapping(_) => {
                Err("yaml: unmarshal errors:\n  line 1: cannot unmarshal !!map into string".into())
            }
            Y::Tagged(t) => Ok(crate::charm::yaml_key(&t.value)),
        }
    };
    match &doc {
        Y::Null => Ok(BTreeMap::new()),
        Y::Mapping(m) => {
            let mut out = BTreeMap::new();
            for (k, v) in m {
                out.insert(crate::charm::yaml_key(k), scalar(v)?);
            }
            Ok(out)
        }
        Y::Sequence(_) => Err(
            "yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into map[string]string"
                .into(),
        ),
        other => {
            let (tag, text) = match other {
                Y::Bool(b) => ("!!bool", b.to_string()),
                Y::Number(n) if n.is_f64() => ("!!float", n.to_string()),
                Y::Number(n) => ("!!int", n.to_string()),
                Y::String(s) => ("!!str", s.clone()),
                _ => ("!!str", String::new()),
            };
            Err(format!("yaml: unmarshal errors:\n  line 1: cannot unmarshal {tag} `{text}` into map[string]string"))
        }
    }
}

/// juju/utils keyvalues parsing: split on the first `=`, non-empty key, no duplicates.
pub fn parse_keyvalues(
    args: &[String],
    allow_empty_values: bool,
) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for a in args {
        let Some((k, v)) = a.split_once('=') else {
            return Err(format!("expected \"key=value\", got {a:?}"));
        };
        if k.is_empty() || (!allow_empty_values && v.is_empty()) {
            return Err(format!("expected \"key=value\", got {a:?}"));
        }
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(format!("key {k:?} specified more than once"));
        }
    }
    Ok(out)
}

/// Juju application name rule.
pub fn valid_app_name(s: &str) -> bool {
    let mut parts = s.split('-');
    let Some(first) = parts.next() else {
        return false;
    };
    let ok_first = first.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && first
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    ok_first
        && parts.all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                && p.chars().any(|c| c.is_ascii_lowercase())
        })
}

/// Juju unit name rule (`app/N`).
pub fn valid_unit_name(s: &str) -> bool {
    match s.split_once('/') {
        Some((app, n)) => {
            valid_app_name(app) && !n.is_empty() && n.chars().all(|c| c.is_ascii_digit())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_kv() {
        assert!(valid_unit_name("mysql/0"));
        assert!(!valid_unit_name("unit//0"));
        assert!(valid_app_name("kubeapi-load-balancer"));
        assert!(!valid_app_name("a-1"));
        let kv = parse_keyvalues(&["foo=bar=baz".into(), "x=".into()], true).unwrap();
        assert_eq!(kv["foo"], "bar=baz");
        assert_eq!(
            parse_keyvalues(&["haha".into()], true).unwrap_err(),
            "expected \"key=value\", got \"haha\""
        );
        assert_eq!(
            parse_keyvalues(&["a=1".into(), "a=2".into()], true).unwrap_err(),
            "key \"a\" specified more than once"
        );
        assert_eq!(parse_relation_id("x:3", &[3]), Ok(3));
        assert_eq!(
            parse_relation_id("one", &[3]).unwrap_err(),
            "invalid relation id"
        );
    }
}
