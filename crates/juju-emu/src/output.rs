//! juju/cmd output formatters: `smart`, `yaml` (gopkg.in/yaml.v2 style) and `json`
//! (Go encoding/json: sorted keys, `<>&` escaped, compact).

use serde_json::Value;
use std::collections::BTreeMap;

/// A value to print.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    /// nil
    Null,
    /// bool
    Bool(bool),
    /// integer
    Int(i64),
    /// float
    Float(f64),
    /// string
    Str(String),
    /// `[]string` (smart joins with newlines)
    StrList(Vec<String>),
    /// any other list
    List(Vec<Out>),
    /// map with sorted keys
    Map(BTreeMap<String, Out>),
    /// struct with fixed field order
    Struct(Vec<(String, Out)>),
}

impl From<&Value> for Out {
    fn from(v: &Value) -> Out {
        match v {
            Value::Null => Out::Null,
            Value::Bool(b) => Out::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Out::Int(i),
                None => Out::Float(n.as_f64().unwrap_or(0.0)),
            },
            Value::String(s) => Out::Str(s.clone()),
            Value::Array(a) => Out::List(a.iter().map(Out::from).collect()),
            Value::Object(m) => {
                Out::Map(m.iter().map(|(k, v)| (k.clone(), Out::from(v))).collect())
            }
        }
    }
}

impl Out {
    /// A map of strings.
    pub fn str_map(m: &BTreeMap<String, String>) -> Out {
        Out::Map(
            m.iter()
                .map(|(k, v)| (k.clone(), Out::Str(v.clone())))
                .collect(),
        )
    }
}

/// The three formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// default
    Smart,
    /// yaml
    Yaml,
    /// json
    Json,
}

impl Format {
    /// Parses a `--format` value.
    pub fn parse(s: &str) -> Result<Format, String> {
        match s {
            "smart" => Ok(Format::Smart),
            "yaml" => Ok(Format::Yaml),
            "json" => Ok(Format::Json),
            _ => Err(format!("unknown format {s:?}")),
        }
    }
}

/// Renders `v` in format `f` exactly as juju/cmd writes it (including the trailing newline,
/// and nothing at all for empty output).
pub fn render(f: Format, v: &Out) -> String {
    let body = match f {
        Format::Json => json(v),
        Format::Yaml => yaml_doc(v),
        Format::Smart => match v {
            Out::Null => String::new(),
            Out::Str(s) => s.clone(),
            Out::Bool(true) => "True".into(),
            Out::Bool(false) => "False".into(),
            Out::StrList(l) => l.join("\n"),
            other => yaml_doc(other),
        },
    };
    if body.is_empty() {
        body
    } else {
        body + "\n"
    }
}

fn yaml_doc(v: &Out) -> String {
    if *v == Out::Null {
        return String::new();
    }
    let mut s = String::new();
    yaml_node(v, 0, &mut s);
    s.trim_end_matches('\n').to_string()
}

/// Go's encoding/json of a value.
pub fn json(v: &Out) -> String {
    let mut s = String::new();
    json_into(v, &mut s);
    s
}

fn json_into(v: &Out, s: &mut String) {
    match v {
        Out::Null => s.push_str("null"),
        Out::Bool(b) => s.push_str(if *b { "true" } else { "false" }),
        Out::Int(i) => s.push_str(&i.to_string()),
        Out::Float(f) => s.push_str(&go_float(*f)),
        Out::Str(t) => json_str(t, s),
        Out::StrList(l) => {
            s.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                json_str(x, s);
            }
            s.push(']');
        }
        Out::List(l) => {
            s.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                json_into(x, s);
            }
            s.push(']');
        }
        Out::Map(m) => json_obj(m.iter().map(|(k, v)| (k.as_str(), v)), s),
        Out::Struct(f) => json_obj(f.iter().map(|(k, v)| (k.as_str(), v)), s),
    }
}

fn json_obj<'a>(it: impl Iterator<Item = (&'a str, &'a Out)>, s: &mut String) {
    s.push('{');
    for (i, (k, v)) in it.enumerate() {
        if i > 0 {
            s.push(',');
        }
        json_str(k, s);
        s.push(':');
        json_into(v, s);
    }
    s.push('}');
}

fn json_str(t: &str, s: &mut String) {
    s.push('"');
    for c in t.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                s.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => s.push_str(&format!("\\u{:04x}", c as u32)),
            c => s.push(c),
        }
    }
    s.push('"');
}

/// Go's float formatting for JSON (`2.0` → `2`).
pub fn go_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e21 {
        format!("{}", f as i128)
    } else {
        format!("{f}")
    }
}

fn yaml_node(v: &Out, indent: usize, s: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Out::Map(m) => yaml_map(
            m.iter().map(|(k, v)| (k.as_str(), v)),
            indent,
            s,
            m.is_empty(),
        ),
        Out::Struct(f) => yaml_map(
            f.iter().map(|(k, v)| (k.as_str(), v)),
            indent,
            s,
            f.is_empty(),
        ),
        Out::List(l) if l.is_empty() => s.push_str("[]\n"),
        Out::StrList(l) if l.is_empty() => s.push_str("[]\n"),
        Out::StrList(l) => {
            for x in l {
                s.push_str(&format!("{pad}- "));
                yaml_scalar_str(x, indent + 2, s);
            }
        }
        Out::List(l) => {
            for x in l {
                s.push_str(&format!("{pad}- "));
                match x {
                    Out::Map(m) if !m.is_empty() => {
                        let mut inner = String::new();
                        yaml_node(x, indent + 2, &mut inner);
                        s.push_str(inner.trim_start());
                    }
                    Out::Struct(f) if !f.is_empty() => {
                        let mut inner = String::new();
                        yaml_node(x, indent + 2, &mut inner);
                        s.push_str(inner.trim_start());
                    }
                    Out::List(_) | Out::StrList(_) => {
                        s.push('\n');
                        yaml_node(x, indent + 2, s);
                    }
                    _ => yaml_scalar(x, indent + 2, s),
                }
            }
        }
        _ => yaml_scalar(v, indent, s),
    }
}

fn yaml_map<'a>(
    it: impl Iterator<Item = (&'a str, &'a Out)>,
    indent: usize,
    s: &mut String,
    empty: bool,
) {
    if empty {
        s.push_str("{}\n");
        return;
    }
    let pad = " ".repeat(indent);
    for (k, v) in it {
        s.push_str(&pad);
        s.push_str(&yaml_plain_or_quoted(k));
        s.push(':');
        match v {
            Out::Map(m) if !m.is_empty() => {
                s.push('\n');
                yaml_node(v, indent + 2, s);
            }
            Out::Struct(f) if !f.is_empty() => {
                s.push('\n');
                yaml_node(v, indent + 2, s);
            }
            Out::List(l) if !l.is_empty() => {
                s.push('\n');
                yaml_node(v, indent, s);
            }
            Out::StrList(l) if !l.is_empty() => {
                s.push('\n');
                yaml_node(v, indent, s);
            }
            _ => {
                s.push(' ');
                yaml_node(v, indent + 2, s);
            }
        }
    }
}

fn yaml_scalar(v: &Out, indent: usize, s: &mut String) {
    match v {
        Out::Null => s.push_str("null\n"),
        Out::Bool(b) => s.push_str(&format!("{b}\n")),
        Out::Int(i) => s.push_str(&format!("{i}\n")),
        Out::Float(f) => s.push_str(&format!("{}\n", go_float(*f))),
        Out::Str(t) => yaml_scalar_str(t, indent, s),
        other => yaml_node(other, indent, s),
    }
}

fn yaml_scalar_str(t: &str, indent: usize, s: &mut String) {
    if t.contains('\n') && !t.contains('\r') && !t.starts_with(' ') && !t.ends_with(" ") {
        let pad = " ".repeat(indent);
        let (body, chomp) = match t.strip_suffix('\n') {
            Some(b) if !b.ends_with('\n') => (b, "|"),
            Some(_) => (t.trim_end_matches('\n'), "|+"),
            None => (t, "|-"),
        };
        s.push_str(chomp);
        s.push('\n');
        for line in body.split('\n') {
            if line.is_empty() {
                s.push('\n');
            } else {
                s.push_str(&pad);
                s.push_str(line);
                s.push('\n');
            }
        }
        if chomp == "|+" {
            for _ in 0..(t.len() - t.trim_end_matches('\n').len() - 1) {
                s.push('\n');
            }
        }
        return;
    }
    s.push_str(&yaml_plain_or_quoted(t));
    s.push('\n');
}

/// True when yaml.v2 would resolve the plain scalar to something other than a string.
fn resolves_non_string(t: &str) -> bool {
    const SPECIAL: &[&str] = &[
        "", "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
        "true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
        ".inf", ".Inf", ".INF", "-.inf", "-.Inf", "-.INF", "+.inf", ".nan", ".NaN", ".NAN", "<<",
    ];
    if SPECIAL.contains(&t) {
        return true;
    }
    let u = t.replace('_', "");
    let body = u.strip_prefix(['-', '+']).unwrap_or(&u);
    if body.is_empty() {
        return false;
    }
    if body.parse::<i64>().is_ok() || body.parse::<u64>().is_ok() {
        return true;
    }
    if let Some(h) = body.strip_prefix("0x") {
        return i64::from_str_radix(h, 16).is_ok();
    }
    if let Some(b) = body.strip_prefix("0b") {
        return i64::from_str_radix(b, 2).is_ok();
    }
    let first = body.chars().next().unwrap_or('x');
    (first.is_ascii_digit() || first == '.') && body.parse::<f64>().is_ok()
}

fn plain_allowed(t: &str) -> bool {
    let first = t.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first)
        && !(matches!(first, '-' | '?' | ':') && t.len() > 1 && !t[1..].starts_with(' '))
    {
        return false;
    }
    if t.starts_with(' ')
        || t.ends_with(' ')
        || t.contains(": ")
        || t.contains(" #")
        || t.ends_with(':')
    {
        return false;
    }
    if t.starts_with("---") || t.starts_with("...") {
        return false;
    }
    !t.chars()
        .any(|c| (c as u32) < 0x20 || c == '\u{7f}' || c == '\u{feff}')
}

fn yaml_plain_or_quoted(t: &str) -> String {
    if resolves_non_string(t) {
        return format!("\"{}\"", t.replace('\\', "\\\\").replace('"', "\\\""));
    }
    if plain_allowed(t) {
        return t.to_string();
    }
    if !t.chars().any(|c| (c as u32) < 0x20) {
        return format!("'{}'", t.replace('\'', "''"));
    }
    let mut s = String::new();
    json_str(t, &mut s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smart_and_json() {
        assert_eq!(render(Format::Json, &Out::Int(45)), "45\n");
        assert_eq!(render(Format::Json, &Out::Null), "null\n");
        assert_eq!(render(Format::Smart, &Out::Null), "");
        assert_eq!(render(Format::Smart, &Out::Str(String::new())), "");
        assert_eq!(render(Format::Smart, &Out::Bool(false)), "False\n");
        assert_eq!(render(Format::Json, &Out::Float(2.0)), "2\n");
        assert_eq!(
            render(Format::Json, &Out::Str("<a&b>".into())),
            "\"\\u003ca\\u0026b\\u003e\"\n"
        );
        let m = Out::Map(
            [("pew".to_string(), Out::Str("pew\npew\n".into()))]
                .into_iter()
                .collect(),
        );
        assert_eq!(render(Format::Smart, &m), "pew: |\n  pew\n  pew\n");
        let m = Out::Map(
            [
                ("b".to_string(), Out::Str("80".into())),
                ("a".to_string(), Out::Str("x y".into())),
            ]
            .into_iter()
            .collect(),
        );
        assert_eq!(render(Format::Yaml, &m), "a: x y\nb: \"80\"\n");
        assert_eq!(render(Format::Json, &m), "{\"a\":\"x y\",\"b\":\"80\"}\n");
        assert_eq!(render(Format::Smart, &Out::StrList(vec![])), "");
        assert_eq!(render(Format::Json, &Out::StrList(vec![])), "[]\n");
    }
}
