//! Juju's charm-config type rules, as the controller applies them (Juju 2.9 – 3.6).
//!
//! Read from the real code:
//! * `juju/charm:config.go` (v8–v12; `juju/juju:internal/charm/config.go` is the same file):
//!   `Option.validate` runs the `juju/schema` checker of the option type (`optionTypeCheckers`),
//!   `Option.parse` converts a string with Go `strconv` (`ParseInt(s, 10, 64)`,
//!   `ParseFloat(s, 64)`, `ParseBool`), and both report failures as
//!   `option %q expected %s, got %#v` with the *original* value. `ReadConfig` validates every
//!   default (except `""` for string/secret) and fails with `invalid config default: …`;
//!   `ParseSettingsStrings` (CLI `key=value`) uses `parse`; `ParseSettingsYAML` (`--file`, bundle
//!   options) uses `parse` for YAML strings and `validate` for every other YAML value.
//! * `juju/schema:numeric.go` (v1.0.0 and later, i.e. every Juju since 2.6): `Int()` accepts Go
//!   integer kinds and strings (`ParseInt(s, 0, 64)`), **not** floats or unsigned kinds;
//!   `Float()` accepts floats **and integer/unsigned kinds** (commit fbadcc5, Dec 2018,
//!   LP 1613839; before it, an integer default of a float option was rejected); `Bool()` accepts
//!   bools and `ParseBool` strings; `strings.go` `String()` accepts only strings.
//! * `juju/juju:apiserver/facades/client/application/application.go` (3.x): `setConfig` annotates
//!   every parse error with `parsing settings for application`, which `juju config` prints after
//!   `ERROR `; `splitApplicationAndCharmConfigFromYAML` fails with `no settings found for %q`
//!   when the YAML has no top-level key for the application.
//!
//! Values are YAML-decoded by Juju with `gopkg.in/yaml.v2` (YAML 1.1: `yes`/`on` are booleans);
//! the emulator decodes with YAML 1.2 (`serde_yaml`), so an unquoted `yes` is a string here. Go's
//! hexadecimal float syntax (`0x1p-2`) and `NaN`/`Inf` (which Juju accepts but cannot return as
//! JSON from `config-get`) are rejected here.

use crate::charm::ConfigType;
use serde_json::Value;
use std::collections::BTreeMap;

/// The prefix the application facade puts on every `juju config` parse error.
pub const SET_CONFIG_CONTEXT: &str = "parsing settings for application";

/// `option "NAME" expected TYPE, got VALUE` (`Option.error`).
fn option_error(name: &str, ty: ConfigType, got: &str) -> String {
    format!(
        "option {} expected {}, got {got}",
        go_quote(name),
        ty.name()
    )
}

/// `juju/schema` checker of `ty` applied to a decoded YAML/JSON value (`Option.validate`).
/// Null is valid (no value). The error names the option as Juju does.
pub fn validate(name: &str, ty: ConfigType, v: &Value) -> Result<Value, String> {
    let bad = || Err(option_error(name, ty, &go_sharp_v(v)));
    match (ty, v) {
        (_, Value::Null) => Ok(Value::Null),
        (ConfigType::String, Value::String(_)) => Ok(v.clone()),
        (ConfigType::Secret, Value::String(s)) => {
            if s.is_empty() || secret_uri_ok(s) {
                Ok(v.clone())
            } else {
                bad()
            }
        }
        (ConfigType::Int, Value::Number(n)) => match n.as_i64() {
            Some(i) if !n.is_f64() => Ok(Value::from(i)),
            _ => bad(),
        },
        (ConfigType::Int, Value::String(s)) => match go_parse_int_base0(s) {
            Some(i) => Ok(Value::from(i)),
            None => bad(),
        },
        (ConfigType::Float, Value::Number(n)) => match n.as_f64() {
            Some(f) => Ok(float_value(f)),
            None => bad(),
        },
        (ConfigType::Boolean, Value::Bool(_)) => Ok(v.clone()),
        (ConfigType::Boolean, Value::String(s)) => match parse_go_bool(s) {
            Some(b) => Ok(Value::Bool(b)),
            None => bad(),
        },
        _ => bad(),
    }
}

/// `secretC.Coerce`: a `secret:` URI (url.Parse must find the scheme `secret`).
fn secret_uri_ok(s: &str) -> bool {
    s.split_once(':')
        .is_some_and(|(scheme, _)| scheme == "secret")
}

fn float_value(f: f64) -> Value {
    serde_json::Number::from_f64(f)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// `Option.parse`: a string from the command line (or a YAML string) converted with Go `strconv`.
pub fn parse(name: &str, ty: ConfigType, s: &str) -> Result<Value, String> {
    let bad = || Err(option_error(name, ty, &go_quote(s)));
    match ty {
        ConfigType::String | ConfigType::Secret => Ok(Value::String(s.to_string())),
        ConfigType::Int => go_parse_int_base10(s).map(Value::from).map_or_else(bad, Ok),
        ConfigType::Float => go_parse_float(s).map(float_value).map_or_else(bad, Ok),
        ConfigType::Boolean => parse_go_bool(s).map(Value::Bool).map_or_else(bad, Ok),
    }
}

/// `strconv.ParseInt(s, 10, 64)`: optional sign, decimal digits, no underscores, in range.
fn go_parse_int_base10(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok()
}

/// `strconv.ParseInt(s, 0, 64)` (schema `Int()` on strings): base prefixes `0x`, `0o`, `0b` and a
/// leading `0` for octal; digit separators (`1_000`) allowed in base 0.
fn go_parse_int_base0(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.to_string(), true)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.to_string(), true)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.to_string(), true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string(), true)
    } else {
        (10, lower.clone(), false)
    };
    if digits.contains('_') && !underscores_ok(&digits, radix == 16, prefixed) {
        return None;
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    if clean.is_empty() || clean.starts_with(['+', '-']) {
        return None;
    }
    let mag = u64::from_str_radix(&clean, radix).ok()?;
    if neg {
        if mag <= i64::MAX as u64 + 1 {
            Some((mag as i128).wrapping_neg() as i64)
        } else {
            None
        }
    } else {
        i64::try_from(mag).ok()
    }
}

/// Go `underscoreOK`: an underscore only between two digits, where a base prefix before
/// `digits` counts as a digit.
fn underscores_ok(digits: &str, hex: bool, after_prefix: bool) -> bool {
    let b = digits.as_bytes();
    let digit = |c: u8| c.is_ascii_digit() || (hex && c.is_ascii_hexdigit());
    b.iter().enumerate().all(|(i, c)| {
        let before = if i == 0 {
            after_prefix
        } else {
            digit(b[i - 1])
        };
        *c != b'_' || (before && i + 1 < b.len() && digit(b[i + 1]))
    })
}

/// `strconv.ParseFloat(s, 64)` for decimal input: digits with optional `.`/exponent, Go digit
/// separators (`1_000.5`), and no overflow (Go reports `1e400` as a range error).
fn go_parse_float(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() {
        return None;
    }
    let lower = body.to_ascii_lowercase();
    if ["inf", "infinity", "nan"].contains(&lower.as_str()) || lower.starts_with("0x") {
        return None;
    }
    if !body
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-' | b'_'))
    {
        return None;
    }
    if body.contains('_') && !underscores_ok(body, false, false) {
        return None;
    }
    let clean: String = s.chars().filter(|c| *c != '_').collect();
    let f = clean.parse::<f64>().ok()?;
    f.is_finite().then_some(f)
}

/// Go's `strconv.ParseBool`.
pub fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `%q` / `%#v` of a string (`strconv.Quote`): `"`, `\` and non-printable characters
/// escaped, printable Unicode kept.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() || matches!(c as u32, 0xad | 0x2028 | 0x2029 | 0xfeff) => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `%v` of a float64 (`strconv.FormatFloat(f, 'g', -1, 64)`): shortest round-trip digits,
/// exponent form when the decimal exponent is < -4 or >= 6 (`ftoa.go`: "if precision was the
/// shortest possible, use precision 6 for this decision").
pub fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // Rust's `{:e}` prints the shortest round-trip digits: "d.ddde±x".
    let sci = format!("{:e}", f.abs());
    let (mant, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let sign = if f < 0.0 { "-" } else { "" };
    let nd = digits.len() as i32;
    if !(-4..6).contains(&exp) {
        let mut s = format!("{sign}{}", &digits[..1]);
        if digits.len() > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        let (es, ea) = if exp < 0 { ('-', -exp) } else { ('+', exp) };
        s.push_str(&format!("e{es}{ea:02}"));
        return s;
    }
    let dp = exp + 1;
    if dp <= 0 {
        format!("{sign}0.{}{digits}", "0".repeat((-dp) as usize))
    } else if dp >= nd {
        format!("{sign}{digits}{}", "0".repeat((dp - nd) as usize))
    } else {
        format!(
            "{sign}{}.{}",
            &digits[..dp as usize],
            &digits[dp as usize..]
        )
    }
}

/// Go's `%#v` of a value decoded from YAML by `yaml.v2` (what Juju's errors show).
pub fn go_sharp_v(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64().filter(|_| !n.is_f64()) {
                i.to_string()
            } else if let Some(u) = n.as_u64().filter(|_| !n.is_f64()) {
                // yaml.v2 decodes integers beyond int64 as uint64; `%#v` prints them in hex.
                format!("0x{u:x}")
            } else {
                go_float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => go_quote(s),
        Value::Array(a) => format!(
            "[]interface {{}}{{{}}}",
            a.iter().map(go_sharp_v).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(o) => format!(
            "map[interface {{}}]interface {{}}{{{}}}",
            o.iter()
                .map(|(k, v)| format!("{}:{}", go_quote(k), go_sharp_v(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A value to apply: `Some` sets it, `None` resets the option to its default.
pub type Setting = Option<Value>;

/// `ParseSettingsStrings` (`juju config APP k=v …`): each string converted with `parse`;
/// unknown keys fail with `unknown option "k"`.
pub fn parse_settings_strings(
    options: &BTreeMap<String, crate::charm::ConfigOption>,
    values: &[(&str, &str)],
) -> Result<BTreeMap<String, Setting>, String> {
    let mut out = BTreeMap::new();
    for (k, v) in values {
        let opt = options
            .get(*k)
            .ok_or_else(|| format!("unknown option {}", go_quote(k)))?;
        out.insert(k.to_string(), Some(parse(k, opt.ty, v)?));
    }
    Ok(out)
}

/// `ParseSettingsYAML(yaml, app)` (`juju config APP --file F`, bundle `options:`): the YAML maps
/// the application name to its settings; strings go through `parse`, other values through the
/// schema checker, null (and `""`, which `parse` keeps for strings) as Juju decides.
pub fn parse_settings_yaml(
    options: &BTreeMap<String, crate::charm::ConfigOption>,
    yaml: &str,
    app: &str,
) -> Result<BTreeMap<String, Setting>, String> {
    let doc: serde_yaml::Value =
        serde_yaml::from_str(yaml).map_err(|e| format!("cannot parse settings data: {e}"))?;
    let all = match &doc {
        serde_yaml::Value::Mapping(m) => m,
        serde_yaml::Value::Null => return Err(format!("no settings found for {}", go_quote(app))),
        _ => {
            return Err(format!(
                "cannot parse settings data: yaml: unmarshal errors:\n  line 1: cannot unmarshal {} into map[string]interface {{}}",
                go_sharp_v(&crate::charm::yaml_to_json(&doc))
            ))
        }
    };
    let settings = all
        .iter()
        .find(|(k, _)| crate::charm::yaml_key(k) == app)
        .map(|(_, v)| v)
        .ok_or_else(|| format!("no settings found for {}", go_quote(app)))?;
    let mut out = BTreeMap::new();
    let Some(map) = settings.as_mapping() else {
        if settings.is_null() {
            return Ok(out);
        }
        return Err(format!(
            "cannot parse settings data: yaml: unmarshal errors:\n  line 2: cannot unmarshal {} into charm.Settings",
            go_sharp_v(&crate::charm::yaml_to_json(settings))
        ));
    };
    for (k, v) in map {
        let name = crate::charm::yaml_key(k);
        let opt = options
            .get(&name)
            .ok_or_else(|| format!("unknown option {}", go_quote(&name)))?;
        let value = match v {
            serde_yaml::Value::String(s) => parse(&name, opt.ty, s)?,
            other => validate(&name, opt.ty, &crate::charm::yaml_to_json(other))?,
        };
        out.insert(name, (!value.is_null()).then_some(value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_float_matches_strconv_g_shortest() {
        for (f, want) in [
            (0.0, "0"),
            (1.0, "1"),
            (443.0, "443"),
            (1.5, "1.5"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (123456.0, "123456"),
            (1_000_000.0, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (-2.5, "-2.5"),
            (1e21, "1e+21"),
            (1e100, "1e+100"),
        ] {
            assert_eq!(go_float(f), want, "{f}");
        }
    }

    #[test]
    fn strconv_parsing() {
        assert_eq!(go_parse_int_base10("+42"), Some(42));
        assert_eq!(go_parse_int_base10("0x10"), None);
        assert_eq!(go_parse_int_base10("1_000"), None);
        assert_eq!(go_parse_int_base10("9223372036854775808"), None);
        assert_eq!(go_parse_int_base0("0x10"), Some(16));
        assert_eq!(go_parse_int_base0("010"), Some(8));
        assert_eq!(go_parse_int_base0("0b1_0"), Some(2));
        assert_eq!(go_parse_int_base0("1_0"), Some(10));
        assert_eq!(go_parse_int_base0("1__0"), None);
        assert_eq!(go_parse_int_base0("0_7"), Some(7));
        assert_eq!(go_parse_int_base0("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(go_parse_float("1_000.5"), Some(1000.5));
        assert_eq!(go_parse_float(".5"), Some(0.5));
        assert_eq!(go_parse_float("1e3"), Some(1000.0));
        assert_eq!(go_parse_float("1e400"), None);
        assert_eq!(go_parse_float("1__0"), None);
        assert_eq!(go_parse_float("_1"), None);
        assert_eq!(go_parse_float(""), None);
    }

    #[test]
    fn go_quote_escapes_like_strconv() {
        assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quote("x\ny\u{0}"), r#""x\ny\x00""#);
        assert_eq!(go_quote("é✓"), "\"é✓\"");
        assert_eq!(go_quote("\u{85}"), r#""\u0085""#);
    }
}
