//! The README's configuration table must list every option of config.yaml with its type and
//! default, and nothing else: operators read the README, Juju reads config.yaml.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

fn config_options() -> BTreeMap<String, (String, String)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.yaml"))
        .expect("config.yaml is readable");
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("config.yaml is YAML");
    let options = doc["options"]
        .as_mapping()
        .expect("config.yaml has options");
    options
        .iter()
        .map(|(k, v)| {
            let name = k.as_str().expect("option names are strings").to_string();
            let ty = v["type"]
                .as_str()
                .expect("every option has a type")
                .to_string();
            let default = match &v["default"] {
                serde_yaml::Value::String(s) if s.is_empty() => "\"\"".to_string(),
                serde_yaml::Value::String(s) => s.clone(),
                serde_yaml::Value::Bool(b) => b.to_string(),
                serde_yaml::Value::Number(n) => n.to_string(),
                other => panic!("option {name}: unexpected default {other:?}"),
            };
            (name, (ty, default))
        })
        .collect()
}

fn readme_options() -> BTreeMap<String, (String, String)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md is readable");
    let start = text
        .find("| option | type | default | meaning |")
        .expect("README has the configuration table");
    text[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let strip = |s: &str| s.trim_matches('`').to_string();
            (strip(cells[1]), (cells[2].to_string(), strip(cells[3])))
        })
        .collect()
}

#[test]
fn readme_table_matches_config_yaml() {
    assert_eq!(readme_options(), config_options());
}

#[test]
fn the_old_charms_six_options_keep_their_types_and_defaults() {
    let opts = config_options();
    for (name, ty, default) in [
        ("virtual_ip", "string", "\"\""),
        ("vip_hostname", "string", "\"\""),
        ("port", "int", "443"),
        ("router_id", "int", "23"),
        ("network_interface", "string", "\"\""),
        ("healthcheck_interval", "int", "2"),
    ] {
        assert_eq!(
            opts.get(name),
            Some(&(ty.to_string(), default.to_string())),
            "option {name}"
        );
    }
}
