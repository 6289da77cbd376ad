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
    /// The type's name in `config.yaml` (and in Juju's error texts).
    pub fn name(self) -> &'static str {
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

/// `ReadConfig` (juju/charm `config.go`): `options:` must be present, a missing `type` means
/// string, and every default is checked with the option type's schema checker (except `""` for
/// string and secret options), failing with `invalid config default: …`.
fn load_config(path: &Path) -> Result<BTreeMap<String, ConfigOption>> {
    let mut out = BTreeMap::new();
    let Some(doc) = yaml_file(path)? else {
        return Ok(out);
    };
    let empty = serde_yaml::Mapping::new();
    let opts = match doc.get("options") {
        Some(Yaml::Mapping(m)) => m,
        // `options:` present but empty is allowed; a missing key is not.
        Some(Yaml::Null) => &empty,
        _ => {
            return Err(Error::CharmConfig(
                "invalid config: empty configuration".into(),
            ))
        }
    };
    for (k, v) in opts {
        let name = yaml_key(k);
        let ty = match ystr(v, "type").as_deref() {
            None | Some("") | Some("string") => ConfigType::String,
            Some("int") => ConfigType::Int,
            Some("float") => ConfigType::Float,
            Some("boolean") => ConfigType::Boolean,
            Some("secret") => ConfigType::Secret,
            Some(t) => {
                return Err(Error::CharmConfig(format!(
                    "invalid config: option {} has unknown type {}",
                    crate::config::go_quote(&name),
                    crate::config::go_quote(t)
                )))
            }
        };
        let default = match v.get("default").map(yaml_to_json) {
            None | Some(Value::Null) => None,
            Some(Value::String(s))
                if s.is_empty() && matches!(ty, ConfigType::String | ConfigType::Secret) =>
            {
                Some(Value::String(s))
            }
            Some(d) => Some(
                crate::config::validate(&name, ty, &d)
                    .map_err(|e| Error::CharmConfig(format!("invalid config default: {e}")))?,
            ),
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

/// Go's `strconv.ParseBool` (kept here for the hook tools' flag parsing).
pub use crate::config::parse_go_bool;
