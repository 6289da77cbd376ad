//! Charm directory reading: `metadata.yaml`, `config.yaml`, `actions.yaml`.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_yaml::Value as Yaml;
use std::collections::BTreeMap;
use std::path::Path;

/// The role an endpoint plays in a relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// `provides:`
    Provider,
    /// `requires:`
    Requirer,
    /// `peers:`
    Peer,
}

/// Relation scope of an endpoint or relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Every unit sees every remote unit.
    Global,
    /// Units see only the units in their own container (principal ↔ subordinate).
    Container,
}

/// One endpoint declared by (or implicit to) a charm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointDef {
    /// Endpoint name, e.g. `juju-info`, `website`.
    pub name: String,
    /// provides / requires / peers.
    pub role: Role,
    /// Interface name.
    pub interface: String,
    /// global or container.
    pub scope: Scope,
    /// True for the implicit `juju-info` provides endpoint every charm has.
    pub implicit: bool,
}

/// Type of a config option (`config.yaml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfigType {
    /// `string` (also the default when `type` is missing)
    String,
    /// `int`
    Int,
    /// `float`
    Float,
    /// `boolean`
    Boolean,
    /// `secret` (a `secret:` URI string)
    Secret,
}

impl ConfigType {
    fn name(self) -> &'static str {
        match self {
            ConfigType::String => "string",
            ConfigType::Int => "int",
            ConfigType::Float => "float",
            ConfigType::Boolean => "boolean",
            ConfigType::Secret => "secret",
        }
    }
}

/// One config option of the charm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigOption {
    /// Declared type.
    pub ty: ConfigType,
    /// Default value (already typed); `None` when there is no `default:` key or it is null.
    pub default: Option<Value>,
}

/// One action from `actions.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionDef {
    /// Parameter defaults (`params.<name>.default`).
    pub defaults: BTreeMap<String, Value>,
}

/// What the emulator knows about a charm directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CharmMeta {
    /// `name:` from metadata.yaml.
    pub name: String,
    /// `subordinate:` flag.
    pub subordinate: bool,
    /// Declared endpoints plus the implicit `juju-info` provides.
    pub endpoints: Vec<EndpointDef>,
    /// Config schema.
    pub config: BTreeMap<String, ConfigOption>,
    /// Actions.
    pub actions: BTreeMap<String, ActionDef>,
}

fn yaml_file(path: &Path) -> Result<Option<Yaml>> {
    if !path.exists() {
        return Ok(None);
    }
    let text = crate::fsutil::read_text(path)?;
    serde_yaml::from_str(&text)
        .map(Some)
        .map_err(|e| Error::Parse {
            path: path.to_path_buf(),
            msg: e.to_string(),
        })
}

fn ystr(v: &Yaml, key: &str) -> Option<String> {
    v.get(key).and_then(|x| x.as_str()).map(str::to_string)
}

/// Converts a YAML scalar/collection to JSON (used for defaults and params).
pub fn yaml_to_json(v: &Yaml) -> Value {
    match v {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(*b),
        Yaml::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64().map(Value::from).unwrap_or(Value::Null)
            }
        }
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Sequence(s) => Value::Array(s.iter().map(yaml_to_json).collect()),
        Yaml::Mapping(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (yaml_key(k), yaml_to_json(v)))
                .collect(),
        ),
        Yaml::Tagged(t) => yaml_to_json(&t.value),
    }
}

/// Renders a YAML mapping key as a string.
pub fn yaml_key(k: &Yaml) -> String {
    match k {
        Yaml::String(s) => s.clone(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Number(n) => n.to_string(),
        Yaml::Null => String::new(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

impl CharmMeta {
    /// Reads and checks the charm in `dir`.
    pub fn load(dir: &Path) -> Result<CharmMeta> {
        let meta_path = dir.join("metadata.yaml");
        let meta = yaml_file(&meta_path)?
            .ok_or_else(|| Error::Charm(format!("{}: charm missing from disk", dir.display())))?;
        let name = ystr(&meta, "name")
            .ok_or_else(|| Error::Charm("metadata: name: expected string".into()))?;
        let subordinate = meta
            .get("subordinate")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let mut endpoints = Vec::new();
        for (key, role) in [
            ("provides", Role::Provider),
            ("requires", Role::Requirer),
            ("peers", Role::Peer),
        ] {
            let Some(map) = meta.get(key).and_then(|m| m.as_mapping()) else {
                continue;
            };
            for (k, v) in map {
                let ep = yaml_key(k);
                let interface = ystr(v, "interface")
                    .or_else(|| v.as_str().map(str::to_string))
                    .ok_or_else(|| Error::Charm(format!("endpoint {ep:?} has no interface")))?;
                let scope = match ystr(v, "scope").as_deref() {
                    None | Some("global") => Scope::Global,
                    Some("container") => Scope::Container,
                    Some(s) => {
                        return Err(Error::Charm(format!(
                            "endpoint {ep:?}: invalid scope {s:?}"
                        )))
                    }
                };
                endpoints.push(EndpointDef {
                    name: ep,
                    role,
                    interface,
                    scope,
                    implicit: false,
                });
            }
        }
        if !endpoints
            .iter()
            .any(|e| e.name == "juju-info" && e.role == Role::Provider)
        {
            endpoints.push(EndpointDef {
                name: "juju-info".into(),
                role: Role::Provider,
                interface: "juju-info".into(),
                scope: Scope::Global,
                implicit: true,
            });
        }
        if subordinate
            && !endpoints
                .iter()
                .any(|e| e.role == Role::Requirer && e.scope == Scope::Container)
        {
            return Err(Error::Charm(format!(
                "subordinate charm {name:?} lacks \"requires\" relation with container scope"
            )));
        }
        let config = load_config(&dir.join("config.yaml"))?;
        let actions = load_actions(&dir.join("actions.yaml"))?;
        Ok(CharmMeta {
            name,
            subordinate,
            endpoints,
            config,
            actions,
        })
    }

    /// Endpoints with this name (a name may exist once as requires and once as implicit provides).
    pub fn endpoints_named<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = &'a EndpointDef> + 'a {
        self.endpoints.iter().filter(move |e| e.name == name)
    }
}

fn load_config(path: &Path) -> Result<BTreeMap<String, ConfigOption>> {
    let mut out = BTreeMap::new();
    let Some(doc) = yaml_file(path)? else {
        return Ok(out);
    };
    let Some(opts) = doc.get("options").and_then(|o| o.as_mapping()) else {
        return Err(Error::Charm(format!("{}: missing options", path.display())));
    };
    for (k, v) in opts {
        let name = yaml_key(k);
        let ty = match ystr(v, "type").as_deref() {
            None | Some("string") => ConfigType::String,
            Some("int") => ConfigType::Int,
            Some("float") => ConfigType::Float,
            Some("boolean") => ConfigType::Boolean,
            Some("secret") => ConfigType::Secret,
            Some(t) => {
                return Err(Error::Charm(format!(
                    "option {name:?} has unknown type {t:?}"
                )))
            }
        };
        let default = match v.get("default") {
            None | Some(Yaml::Null) => None,
            Some(d) => Some(coerce_typed(ty, &yaml_to_json(d)).map_err(|e| {
                Error::Charm(format!("invalid config default: option {name:?} {e}"))
            })?),
        };
        out.insert(name, ConfigOption { ty, default });
    }
    Ok(out)
}

fn load_actions(path: &Path) -> Result<BTreeMap<String, ActionDef>> {
    let mut out = BTreeMap::new();
    let Some(doc) = yaml_file(path)? else {
        return Ok(out);
    };
    let Some(map) = doc.as_mapping() else {
        return Ok(out);
    };
    for (k, v) in map {
        let mut defaults = BTreeMap::new();
        if let Some(params) = v.get("params").and_then(|p| p.as_mapping()) {
            for (pk, pv) in params {
                if let Some(d) = pv.get("default") {
                    defaults.insert(yaml_key(pk), yaml_to_json(d));
                }
            }
        }
        out.insert(yaml_key(k), ActionDef { defaults });
    }
    Ok(out)
}

/// Checks/coerces a typed value against an option type (Juju's checker semantics).
pub fn coerce_typed(ty: ConfigType, v: &Value) -> std::result::Result<Value, String> {
    let bad = || Err(format!("expected {}, got {}", ty.name(), v));
    match ty {
        ConfigType::String | ConfigType::Secret => match v {
            Value::String(_) => Ok(v.clone()),
            _ => bad(),
        },
        ConfigType::Int => match v.as_i64() {
            Some(i) => Ok(Value::from(i)),
            None => match v.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(Value::from(f as i64)),
                _ => bad(),
            },
        },
        ConfigType::Float => match v.as_f64() {
            Some(f) => Ok(serde_json::Number::from_f64(f)
                .map(Value::Number)
                .unwrap_or(Value::Null)),
            None => bad(),
        },
        ConfigType::Boolean => match v {
            Value::Bool(_) => Ok(v.clone()),
            _ => bad(),
        },
    }
}

/// Parses a `juju config k=v` string value for an option type (Go strconv rules).
pub fn parse_typed(ty: ConfigType, s: &str) -> std::result::Result<Value, String> {
    let bad = || Err(format!("expected {}, got {:?}", ty.name(), s));
    match ty {
        ConfigType::String | ConfigType::Secret => Ok(Value::String(s.to_string())),
        ConfigType::Int => s.parse::<i64>().map(Value::from).or_else(|_| bad()),
        ConfigType::Float => match s.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(serde_json::Number::from_f64(f)
                .map(Value::Number)
                .unwrap_or(Value::Null)),
            _ => bad(),
        },
        ConfigType::Boolean => parse_go_bool(s)
            .map(Value::Bool)
            .ok_or(())
            .or_else(|_| bad()),
    }
}

/// Go's `strconv.ParseBool`.
pub fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}
