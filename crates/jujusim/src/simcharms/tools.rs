//! A small client of the hook tools for the simulator charms (processes on PATH, as Juju runs).

use crate::error::{Error, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

/// Runs hook tool `name` with `args` (and stdin); returns stdout or the tool's error.
pub fn tool(name: &str, args: &[&str], stdin: Option<&str>) -> Result<String> {
    let mut c = Command::new(name);
    c.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c
        .spawn()
        .map_err(|e| Error::Invalid(format!("cannot run hook tool {name}: {e}")))?;
    if let (Some(data), Some(mut w)) = (stdin, child.stdin.take()) {
        w.write_all(data.as_bytes())
            .map_err(|e| Error::Invalid(format!("{name}: writing stdin: {e}")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Error::Invalid(format!("{name}: {e}")))?;
    if !out.status.success() {
        return Err(Error::Invalid(format!(
            "{name} {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn json(name: &str, args: &[&str]) -> Result<Value> {
    let text = tool(name, args, None)?;
    serde_json::from_str(text.trim())
        .map_err(|e| Error::Invalid(format!("{name}: bad JSON {text:?}: {e}")))
}

/// The charm config (`config-get --format=json`).
pub fn config() -> Result<BTreeMap<String, Value>> {
    Ok(serde_json::from_value(json("config-get", &["--format=json"])?).unwrap_or_default())
}

/// A string option ("" when unset); numbers are rendered.
pub fn config_str(cfg: &BTreeMap<String, Value>, key: &str) -> String {
    match cfg.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(v) => v.to_string(),
    }
}

fn strings(v: Value) -> Vec<String> {
    serde_json::from_value(v).unwrap_or_default()
}

/// Relation ids of `endpoint`, minus the one being broken in this hook.
pub fn relation_ids(endpoint: &str) -> Result<Vec<String>> {
    let ids = strings(json("relation-ids", &[endpoint, "--format=json"])?);
    let broken = std::env::var("JUJU_HOOK_NAME")
        .map(|h| h.ends_with("-relation-broken"))
        .unwrap_or(false);
    let current = std::env::var("JUJU_RELATION_ID").unwrap_or_default();
    Ok(ids
        .into_iter()
        .filter(|r| !(broken && *r == current))
        .collect())
}

/// Remote units of relation `rid`.
pub fn relation_list(rid: &str) -> Result<Vec<String>> {
    Ok(strings(json(
        "relation-list",
        &["--format=json", "-r", rid],
    )?))
}

/// A remote unit's bag.
pub fn relation_get(rid: &str, unit: &str) -> Result<BTreeMap<String, String>> {
    let v = json("relation-get", &["--format=json", "-r", rid, "-", unit])?;
    Ok(serde_json::from_value(v).unwrap_or_default())
}

/// Sets keys in the own unit bag (an empty value deletes).
pub fn relation_set(rid: &str, data: &BTreeMap<&str, String>) -> Result<()> {
    let body = serde_json::to_string(data).map_err(|e| Error::Invalid(e.to_string()))?;
    tool("relation-set", &["-r", rid, "--file", "-"], Some(&body)).map(drop)
}

/// `status-set STATUS MESSAGE`.
pub fn status_set(status: &str, message: &str) -> Result<()> {
    tool("status-set", &[status, "--", message], None).map(drop)
}

/// `juju-log MESSAGE`.
pub fn log(message: &str) {
    let _ = tool("juju-log", &["--", message], None);
}

/// The unit's private address.
pub fn private_address() -> Result<String> {
    Ok(tool("unit-get", &["private-address"], None)?
        .trim()
        .to_string())
}

/// The unit number from `JUJU_UNIT_NAME`.
pub fn unit_number() -> u64 {
    std::env::var("JUJU_UNIT_NAME")
        .ok()
        .and_then(|u| u.rsplit('/').next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// The machine root (`KEEPALIVED_CHARM_ROOT`, set by the simulator for every charm).
pub fn root() -> std::path::PathBuf {
    std::env::var_os("KEEPALIVED_CHARM_ROOT")
        .map(Into::into)
        .unwrap_or_else(|| "/".into())
}

/// `https://HOST:PORT`, bracketing IPv6 literals.
pub fn https_url(host: &str, port: &str) -> String {
    if host.parse::<std::net::Ipv6Addr>().is_ok() {
        format!("https://[{host}]:{port}")
    } else {
        format!("https://{host}:{port}")
    }
}

/// Splits a list option on spaces and commas.
pub fn words(s: &str) -> Vec<String> {
    s.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_bracket_ipv6() {
        assert_eq!(https_url("192.0.2.250", "443"), "https://192.0.2.250:443");
        assert_eq!(
            https_url("2001:db8::250", "443"),
            "https://[2001:db8::250]:443"
        );
        assert_eq!(
            https_url("test.example.com", "443"),
            "https://test.example.com:443"
        );
    }

    #[test]
    fn list_options_split_on_spaces_and_commas() {
        assert_eq!(words(" a,b  c ,"), ["a", "b", "c"]);
        assert!(words("").is_empty());
    }
}
