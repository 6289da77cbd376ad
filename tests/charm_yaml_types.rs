//! config.yaml and actions.yaml as Juju reads them, so a typo in a default cannot reach a deploy.
//!
//! Two layers:
//! * Juju's own rules (juju/charm `ReadConfig` with juju/schema's checkers, as `juju_emu` applies
//!   them): the charm must load, every option must have a known type.
//! * Exact YAML types: a float default is written as a YAML float, an int default as a YAML int,
//!   a boolean as a YAML bool, a string as a string. This is stricter than Juju 2.6+, whose
//!   juju/schema `Float()` also accepts an integer (commit fbadcc5, LP 1613839); juju/schema
//!   before 1.0.0 rejected `default: 0` for a float with `invalid config default: option
//!   "advert_interval" expected float, got 0`, and ints/strings that Juju coerces (`"443"`,
//!   `"true"`) mean different things to other readers of config.yaml (charmcraft, ops).
//! * actions.yaml: every action is a map; `params` (if any) is a map of JSON-schema properties
//!   whose `type` is a JSON-schema type and whose `default` has that type.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_yaml::Value;

fn load(name: &str) -> Value {
    let path = format!("{}/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The YAML type name of a scalar as a YAML 1.2 reader sees it.
fn yaml_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "string",
        Value::Sequence(_) => "sequence",
        Value::Mapping(_) => "mapping",
        Value::Tagged(_) => "tagged",
    }
}

/// Problems with `config.yaml`'s options (empty when it is right).
fn config_problems(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let Some(options) = doc.get("options").and_then(Value::as_mapping) else {
        return vec!["config.yaml has no options map".into()];
    };
    for (k, opt) in options {
        let name = k.as_str().unwrap_or("?");
        let ty = opt.get("type").and_then(Value::as_str);
        let want = match ty {
            Some("string") | Some("secret") => "string",
            Some("int") => "int",
            Some("float") => "float",
            Some("boolean") => "bool",
            other => {
                out.push(format!("option {name}: type {other:?} is not one of string, int, float, boolean, secret"));
                continue;
            }
        };
        match opt.get("default") {
            None | Some(Value::Null) => {}
            Some(d) if yaml_type(d) != want => out.push(format!(
                "option {name}: {} default {d:?} is a YAML {}, write a YAML {want}",
                ty.unwrap_or_default(),
                yaml_type(d)
            )),
            Some(_) => {}
        }
    }
    out
}

/// Problems with `actions.yaml` (empty when it is right).
fn actions_problems(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let Some(actions) = doc.as_mapping() else {
        return vec!["actions.yaml is not a map of actions".into()];
    };
    for (k, action) in actions {
        let name = k.as_str().unwrap_or("?");
        if !action.is_mapping() {
            out.push(format!("action {name}: not a map"));
            continue;
        }
        let Some(params) = action.get("params") else {
            continue;
        };
        let Some(params) = params.as_mapping() else {
            out.push(format!("action {name}: params is not a map"));
            continue;
        };
        for (pk, schema) in params {
            let p = pk.as_str().unwrap_or("?");
            let ty = schema.get("type").and_then(Value::as_str);
            let ok = |d: &Value| match ty {
                None => true,
                Some("string") => d.is_string(),
                Some("integer") => yaml_type(d) == "int",
                Some("number") => d.is_number(),
                Some("boolean") => d.is_bool(),
                Some("array") => d.is_sequence(),
                Some("object") => d.is_mapping(),
                Some("null") => d.is_null(),
                Some(_) => false,
            };
            if let Some(t) = ty.filter(|t| {
                ![
                    "string", "integer", "number", "boolean", "array", "object", "null",
                ]
                .contains(t)
            }) {
                out.push(format!(
                    "action {name}: param {p}: {t:?} is not a JSON-schema type"
                ));
            }
            if let Some(d) = schema.get("default").filter(|d| !ok(d)) {
                out.push(format!(
                    "action {name}: param {p}: default {d:?} is not of type {}",
                    ty.unwrap_or_default()
                ));
            }
        }
    }
    out
}

#[test]
fn config_yaml_loads_with_jujus_rules() {
    // ReadConfig as the controller runs it (defaults checked by juju/schema).
    let meta = juju_emu::charm::CharmMeta::load(env!("CARGO_MANIFEST_DIR").as_ref())
        .expect("Juju reads the charm's metadata.yaml and config.yaml");
    assert_eq!(meta.config.len(), 13, "{:?}", meta.config.keys());
}

#[test]
fn config_yaml_defaults_have_the_exact_yaml_type() {
    assert_eq!(config_problems(&load("config.yaml")), Vec::<String>::new());
}

#[test]
fn actions_yaml_params_have_json_schema_types() {
    assert_eq!(
        actions_problems(&load("actions.yaml")),
        Vec::<String>::new()
    );
}

/// The checks above are not vacuous: the mistakes they exist for are caught.
#[test]
fn the_checks_catch_the_mistakes() {
    let bad: Value = serde_yaml::from_str(
        "options:\n  a: {type: float, default: 0}\n  b: {type: int, default: \"443\"}\n  \
         c: {type: boolean, default: \"true\"}\n  d: {type: string, default: 5}\n  \
         e: {type: integer, default: 1}\n  f: {type: float, default: 0.0}\n",
    )
    .unwrap();
    let p = config_problems(&bad);
    assert_eq!(p.len(), 5, "{p:#?}");
    assert!(p[0].starts_with("option a: float default"), "{p:#?}");
    let bad: Value = serde_yaml::from_str(
        "go:\n  params:\n    n: {type: integer, default: 1.5}\n    s: {type: text}\n    \
         ok: {type: number, default: 1}\n",
    )
    .unwrap();
    assert_eq!(
        actions_problems(&bad).len(),
        2,
        "{:#?}",
        actions_problems(&bad)
    );
}
