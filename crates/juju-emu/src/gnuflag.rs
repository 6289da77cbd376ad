//! A re-implementation of `juju/gnuflag` parsing as used by jujuc: interspersed flags, `--` ends
//! flags, `--flag=v` / `--flag v`, short `-r3` / `-r 3` (`-r=3` keeps the `=`), grouped short
//! bools, Go `strconv.ParseBool` for bools, and gnuflag's error texts with "option" wording.

/// Whether a flag takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagKind {
    /// Boolean: `--app`, `--app=false`.
    Bool,
    /// Takes a value.
    Value,
}

/// One flag definition; `names[0]` is the canonical name.
#[derive(Debug, Clone)]
pub struct FlagDef {
    /// Names (one-char names are short flags, longer ones long flags; both accept `--`).
    pub names: Vec<&'static str>,
    /// Kind.
    pub kind: FlagKind,
    /// Help text.
    pub help: &'static str,
}

/// Outcome of parsing.
#[derive(Debug, Default, Clone)]
pub struct Parsed {
    /// (canonical name, value) in command-line order; bools have "true"/"false".
    pub flags: Vec<(&'static str, String)>,
    /// Positional arguments.
    pub args: Vec<String>,
    /// `-h` / `--help` was given.
    pub help: bool,
}

impl Parsed {
    /// Last value of a flag.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
    /// A bool flag's final value (false when absent).
    pub fn bool(&self, name: &str) -> bool {
        self.get(name) == Some("true")
    }
}

/// `-x` for one-char names, `--name` otherwise (gnuflag's `flagWithMinus`).
pub fn with_minus(name: &str) -> String {
    if name.chars().count() > 1 {
        format!("--{name}")
    } else {
        format!("-{name}")
    }
}

/// Parses `args` against `defs`. `set` validates a value at the moment the flag is seen
/// (like a gnuflag `Value.Set`) and returns the reason on failure.
pub fn parse(
    defs: &[FlagDef],
    args: &[String],
    set: &mut dyn FnMut(&'static str, &str) -> Result<(), String>,
) -> Result<Parsed, String> {
    let find = |n: &str| defs.iter().find(|d| d.names.contains(&n));
    let mut out = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            out.args.extend(args[i..].iter().cloned());
            break;
        }
        if arg.len() < 2 || !arg.starts_with('-') {
            out.args.push(arg.clone());
            continue;
        }
        if let Some(body) = arg.strip_prefix("--") {
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            if name.is_empty() || name.starts_with('-') || name.starts_with('=') {
                return Err(format!("bad flag syntax: {arg}"));
            }
            let Some(def) = find(name) else {
                if name == "help" || name == "h" {
                    out.help = true;
                    continue;
                }
                return Err(format!(
                    "option provided but not defined: {}",
                    with_minus(name)
                ));
            };
            let canon = def.names[0];
            match def.kind {
                FlagKind::Bool => {
                    let v = match value {
                        None => true,
                        Some(v) => crate::charm::parse_go_bool(&v).ok_or_else(|| {
                            format!(
                                "invalid boolean value {v:?} for option {}: strconv.ParseBool: parsing {v:?}: invalid syntax",
                                with_minus(name)
                            )
                        })?,
                    };
                    out.flags.push((canon, v.to_string()));
                }
                FlagKind::Value => {
                    let v = match value {
                        Some(v) => v,
                        None => {
                            let Some(v) = args.get(i) else {
                                return Err(format!(
                                    "option needs an argument: {}",
                                    with_minus(name)
                                ));
                            };
                            i += 1;
                            v.clone()
                        }
                    };
                    set(canon, &v).map_err(|e| {
                        format!("invalid value {v:?} for option {}: {e}", with_minus(name))
                    })?;
                    out.flags.push((canon, v));
                }
            }
            continue;
        }
        // Short flags, possibly grouped: -ab, -r3, -r 3.
        let chars: Vec<char> = arg[1..].chars().collect();
        let mut j = 0;
        while j < chars.len() {
            let c = chars[j].to_string();
            j += 1;
            let Some(def) = find(&c) else {
                if c == "h" {
                    out.help = true;
                    continue;
                }
                return Err(format!("option provided but not defined: -{c}"));
            };
            let canon = def.names[0];
            match def.kind {
                FlagKind::Bool => out.flags.push((canon, "true".into())),
                FlagKind::Value => {
                    let rest: String = chars[j..].iter().collect();
                    let v = if !rest.is_empty() {
                        rest
                    } else if let Some(v) = args.get(i) {
                        i += 1;
                        v.clone()
                    } else {
                        return Err(format!("option needs an argument: -{c}"));
                    };
                    set(canon, &v)
                        .map_err(|e| format!("invalid value {v:?} for option -{c}: {e}"))?;
                    out.flags.push((canon, v));
                    break;
                }
            }
        }
    }
    Ok(out)
}

/// Go's `%q` of a string slice: `["a" "b"]`.
pub fn go_quote_list(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|s| go_quote(s)).collect();
    format!("[{}]", inner.join(" "))
}

/// Go's `%q` of a string (close enough: Rust debug escaping of printable ASCII matches).
pub fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Renders the help text of a tool.
pub fn help_text(name: &str, usage: &str, purpose: &str, defs: &[FlagDef]) -> String {
    let mut s = format!("Usage: {name} {usage}\n\nSummary:\n{purpose}\n");
    if !defs.is_empty() {
        s.push_str("\nOptions:\n");
        for d in defs {
            let names: Vec<String> = d.names.iter().map(|n| with_minus(n)).collect();
            let val = if d.kind == FlagKind::Value {
                " (= \"\")"
            } else {
                " (= false)"
            };
            s.push_str(&format!("{}{}\n    {}\n", names.join(", "), val, d.help));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defs() -> Vec<FlagDef> {
        vec![
            FlagDef {
                names: vec!["r", "relation"],
                kind: FlagKind::Value,
                help: "",
            },
            FlagDef {
                names: vec!["app"],
                kind: FlagKind::Bool,
                help: "",
            },
        ]
    }
    fn p(args: &[&str]) -> Result<Parsed, String> {
        let a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        parse(&defs(), &a, &mut |_, v| {
            if v.parse::<u32>().is_ok() {
                Ok(())
            } else {
                Err("invalid relation id".into())
            }
        })
    }

    #[test]
    fn forms() {
        assert_eq!(p(&["-r3"]).unwrap().get("r"), Some("3"));
        assert_eq!(p(&["-r", "3", "x"]).unwrap().args, vec!["x"]);
        assert_eq!(p(&["x", "--relation=4"]).unwrap().get("r"), Some("4"));
        assert_eq!(
            p(&["-r=3"]).unwrap_err(),
            "invalid value \"=3\" for option -r: invalid relation id"
        );
        assert_eq!(p(&["-r"]).unwrap_err(), "option needs an argument: -r");
        assert_eq!(
            p(&["--relation"]).unwrap_err(),
            "option needs an argument: --relation"
        );
        assert_eq!(
            p(&["--foo"]).unwrap_err(),
            "option provided but not defined: --foo"
        );
        assert_eq!(
            p(&["-app"]).unwrap_err(),
            "option provided but not defined: -a"
        );
        assert!(!p(&["--app=False"]).unwrap().bool("app"));
        assert!(p(&["--app=true"]).unwrap().bool("app"));
        assert_eq!(p(&["--", "--app"]).unwrap().args, vec!["--app"]);
        assert_eq!(p(&["-"]).unwrap().args, vec!["-"]);
        assert!(p(&["--help"]).unwrap().help);
    }
}
