//! The simulator's `juju-exec` (Juju 3; `juju-run` in 2.9), at `/usr/bin/juju-exec` under each
//! machine's root: runs commands in a hook context of a unit on that machine, serialised with
//! its hooks by the machine lock, as juju's `cmd/jujud/run` does through the uniter's run
//! listener. Arguments follow juju's `RunCommand.Init`: `-u UNIT` (or the unit as the first
//! argument), one argument = the command string as is, several = joined with shell quoting;
//! the commands go to `/bin/bash -s`. Refused inside a hook (`JUJU_CONTEXT_ID` set, checked by
//! the CLI side) with juju's text. `--no-context` and relation contexts are not simulated.

use super::Shared;
use crate::controller::exec::Outcome;
use std::sync::atomic::Ordering;

/// What `juju-exec` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecArgs {
    /// Unit name (`app/N`; a unit tag `unit-app-N` is converted).
    pub unit: String,
    /// The command string for `bash -s`.
    pub commands: String,
}

/// `unit-app-N` → `app/N`; `app/N` as is.
fn unit_name(s: &str) -> Option<String> {
    if let Some(tag) = s.strip_prefix("unit-") {
        let (app, n) = tag.rsplit_once('-')?;
        n.parse::<u32>().ok()?;
        return Some(format!("{app}/{n}"));
    }
    let (app, n) = s.split_once('/')?;
    (!app.is_empty() && n.parse::<u32>().is_ok()).then(|| s.to_string())
}

/// Shell-quotes one word the way juju's `utils.CommandString` needs it: safe words as they
/// are, others in single quotes.
fn quote(w: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_./=:@%+,-".contains(c);
    if !w.is_empty() && w.chars().all(safe) {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', "'\\''"))
    }
}

/// Parses `juju-exec` arguments (juju's texts for the errors; exit code 2 for them, as
/// juju's `cmd.Main` returns for an `Init` error).
pub fn parse(args: &[String]) -> Result<ExecArgs, String> {
    let mut unit: Option<String> = None;
    let mut rest: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--" => {
                rest.extend(it.by_ref().cloned());
                break;
            }
            "-u" | "--u" | "--unit" => {
                unit = Some(it.next().ok_or("flag needs an argument: -u")?.clone());
            }
            s if s.starts_with("-u=") || s.starts_with("--unit=") => {
                unit = s.split_once('=').map(|(_, v)| v.to_string());
            }
            "--no-context"
            | "--operator"
            | "--force-remote-unit"
            | "-r"
            | "--relation"
            | "--remote-unit"
            | "--remote-app" => {
                return Err(format!("{a}: not supported by the simulator's juju-exec"));
            }
            s if s.starts_with('-') && rest.is_empty() => {
                return Err(format!("flag provided but not defined: {s}"));
            }
            _ => {
                rest.push(a.clone());
                rest.extend(it.by_ref().cloned());
                break;
            }
        }
    }
    let unit = match unit {
        Some(u) => unit_name(&u).ok_or_else(|| format!("{u:?} is not a valid unit tag"))?,
        None => {
            let first = rest.first().ok_or("missing unit-name")?;
            let u = unit_name(first).ok_or_else(|| format!("{first:?} is not a valid unit tag"))?;
            rest.remove(0);
            u
        }
    };
    let commands = match rest.len() {
        0 => return Err("missing commands".into()),
        1 => rest.remove(0),
        _ => rest.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" "),
    };
    Ok(ExecArgs { unit, commands })
}

fn out(code: i32, stdout: String, stderr: String) -> Outcome {
    Outcome {
        code,
        stdout,
        stderr,
    }
}

/// Runs `juju-exec ARGS` for machine `machine` (namespace `ns`).
pub(crate) fn run(shared: &Shared, machine: &str, ns: &str, args: &[String]) -> Outcome {
    let a = match parse(args) {
        Ok(a) => a,
        Err(e) => return out(2, String::new(), format!("ERROR {e}\n")),
    };
    let opts = super::hook_options(&shared.md, &shared.exe, machine, ns);
    let j = match juju_emu::Juju::open(&shared.md.store(), opts) {
        Ok(j) => j,
        Err(e) => return out(1, String::new(), format!("ERROR {e}\n")),
    };
    let here = j
        .model()
        .ok()
        .and_then(|m| m.units.get(&a.unit).map(|u| u.machine == machine));
    if here != Some(true) {
        let msg = format!("ERROR unit {:?} not found on this machine\n", a.unit);
        return out(1, String::new(), msg);
    }
    shared.busy.fetch_add(1, Ordering::SeqCst);
    let r = j.exec_commands(&a.unit, &a.commands);
    shared.busy.fetch_sub(1, Ordering::SeqCst);
    shared.kick();
    match r {
        Ok(rec) => out(rec.exit_code, rec.stdout, rec.stderr),
        Err(e) => out(1, String::new(), format!("ERROR {e}\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<ExecArgs, String> {
        parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn juju_forms() {
        let want = ExecArgs {
            unit: "keepalived/0".into(),
            commands: "hooks/update-status".into(),
        };
        assert_eq!(
            p(&["-u", "keepalived/0", "hooks/update-status"]),
            Ok(want.clone())
        );
        assert_eq!(
            p(&["--unit", "keepalived/0", "hooks/update-status"]),
            Ok(want.clone())
        );
        assert_eq!(
            p(&["keepalived/0", "hooks/update-status"]),
            Ok(want.clone())
        );
        assert_eq!(
            p(&["-u", "unit-keepalived-0", "hooks/update-status"]),
            Ok(want)
        );
        // Several words are joined with quoting; one is passed as is.
        let a = p(&["-u", "a/1", "--", "echo", "a b", "it's"]).unwrap();
        assert_eq!(a.commands, "echo 'a b' 'it'\\''s'");
        let a = p(&["-u", "a/1", "JUJU_DISPATCH_PATH=hooks/x", "./dispatch"]).unwrap();
        assert_eq!(a.commands, "JUJU_DISPATCH_PATH=hooks/x ./dispatch");
        assert_eq!(
            p(&["-u", "a/1", "echo a; echo b"]).unwrap().commands,
            "echo a; echo b"
        );
    }

    #[test]
    fn errors() {
        assert_eq!(p(&[]), Err("missing unit-name".into()));
        assert_eq!(p(&["-u", "a/1"]), Err("missing commands".into()));
        assert!(p(&["-u"]).is_err());
        assert!(p(&["nounit", "x"])
            .unwrap_err()
            .contains("not a valid unit tag"));
        assert!(p(&["--no-context", "x"]).is_err());
        assert!(p(&["-x", "a/1", "x"]).unwrap_err().contains("not defined"));
    }
}
