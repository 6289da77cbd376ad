//! The part of a systemd service unit file the simulator's `systemctl` honours.

use crate::error::{Error, Result};
use std::time::Duration;

/// One `Exec*=` command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecLine {
    /// argv (argv[0] absolute).
    pub argv: Vec<String>,
    /// `-` prefix: a failure is ignored.
    pub ignore_failure: bool,
}

/// `Restart=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartPolicy {
    /// `no` (default).
    No,
    /// `always`.
    Always,
    /// `on-failure` (and the other `on-*` values, treated alike).
    OnFailure,
}

/// A parsed `[Service]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceUnit {
    /// `ExecStartPre=` lines, in order.
    pub exec_start_pre: Vec<ExecLine>,
    /// `ExecStart=` (exactly one for Type=simple).
    pub exec_start: ExecLine,
    /// `ExecReload=` lines.
    pub exec_reload: Vec<ExecLine>,
    /// `ExecStopPost=` lines.
    pub exec_stop_post: Vec<ExecLine>,
    /// `Restart=`.
    pub restart: RestartPolicy,
    /// `RestartSec=` (default 100 ms).
    pub restart_sec: Duration,
    /// `TimeoutStopSec=` (default 90 s; the simulator caps it at 10 s).
    pub timeout_stop: Duration,
    /// `Environment=` assignments.
    pub environment: Vec<(String, String)>,
    /// `RuntimeDirectory=` names (created under the machine's `run/`).
    pub runtime_directories: Vec<String>,
    /// `Type=oneshot`: `ExecStart=` runs to completion (the unit is `activating` meanwhile,
    /// `inactive` after a success, `failed` otherwise; no `RemainAfterExit=`).
    pub oneshot: bool,
    /// `[Unit] StartLimitBurst=` within `StartLimitIntervalSec=` (systemd's defaults 5 in
    /// 10 s); `None` when `StartLimitIntervalSec=0` turns the limit off.
    pub start_limit: Option<(usize, Duration)>,
}

/// A parsed `.path` unit (`[Path]`): the paths `PathChanged=`/`PathModified=` watch, the
/// unit it starts and its trigger limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathUnit {
    /// Watched paths (absolute).
    pub changed: Vec<String>,
    /// `Unit=`; default: the `.service` of the same name.
    pub unit: Option<String>,
    /// `TriggerLimitBurst=` within `TriggerLimitIntervalSec=` (systemd's defaults for path
    /// units: 200 in 2 s); hitting it puts the path unit in `failed`.
    pub trigger_limit: (u32, Duration),
}

/// The `KEY=VALUE` lines of a unit file, each with its section name (`Service` for
/// `[Service]`), keys and values trimmed; blank lines and `#`/`;` comments skipped. A line
/// that is neither a section header nor `KEY=VALUE` is an error naming its line number.
fn entries(text: &str) -> Result<Vec<(&str, &str, &str)>> {
    let mut section = "";
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name;
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            return Err(Error::Invalid(format!(
                "line {}: {raw:?} is not KEY=VALUE",
                n + 1
            )));
        };
        out.push((section, k.trim(), v.trim()));
    }
    Ok(out)
}

/// Parses a `.path` unit file. Unsupported `[Path]` settings (`PathExists=`, …) are errors:
/// the simulator does not pretend to follow them.
pub fn parse_path(text: &str) -> Result<PathUnit> {
    let mut u = PathUnit {
        changed: Vec::new(),
        unit: None,
        trigger_limit: (200, Duration::from_secs(2)),
    };
    for (section, k, v) in entries(text)? {
        if section != "Path" {
            continue;
        }
        match k {
            "PathChanged" | "PathModified" if v.starts_with('/') => u.changed.push(v.to_string()),
            "PathChanged" | "PathModified" => {
                return Err(Error::Invalid(format!("{k}={v}: path is not absolute")))
            }
            "Unit" => u.unit = Some(v.to_string()),
            "TriggerLimitIntervalSec" => u.trigger_limit.1 = parse_timespan(v)?,
            "TriggerLimitBurst" => {
                u.trigger_limit.0 = v
                    .parse()
                    .map_err(|_| Error::Invalid(format!("TriggerLimitBurst={v}")))?
            }
            "MakeDirectory" | "DirectoryMode" => {}
            other => {
                return Err(Error::Invalid(format!(
                    "{other}= is not simulated (PathChanged=/PathModified= only)"
                )))
            }
        }
    }
    if u.changed.is_empty() {
        return Err(Error::Invalid(
            "Path unit lacks path setting. Refusing.".into(),
        ));
    }
    Ok(u)
}

/// Splits a command line the way systemd does for the cases that matter here: whitespace
/// separates words, double and single quotes group, backslash escapes the next character.
pub fn split_words(s: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (_, '\\') => {
                let n = chars
                    .next()
                    .ok_or_else(|| Error::Invalid(format!("trailing backslash in {s:?}")))?;
                cur.push(n);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err(Error::Invalid(format!("unterminated quote in {s:?}")));
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

fn exec_line(key: &str, value: &str) -> Result<ExecLine> {
    let mut v = value.trim();
    let mut ignore_failure = false;
    while let Some(c) = v.chars().next().filter(|c| "-@:+!".contains(*c)) {
        if c == '-' {
            ignore_failure = true;
        }
        v = &v[c.len_utf8()..];
    }
    let argv = split_words(v)?;
    match argv.first() {
        Some(a) if a.starts_with('/') => Ok(ExecLine {
            argv,
            ignore_failure,
        }),
        Some(a) => Err(Error::Invalid(format!(
            "{key}={value}: the executable path {a:?} is not absolute"
        ))),
        None => Err(Error::Invalid(format!("{key}= is empty"))),
    }
}

/// Parses a systemd time span: `5`, `5s`, `100ms`, `1min`.
pub fn parse_timespan(s: &str) -> Result<Duration> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| Error::Invalid(format!("bad time span {s:?}")))?;
    let secs = match unit.trim() {
        "" | "s" | "sec" => n,
        "ms" | "msec" => n / 1000.0,
        "min" | "m" => n * 60.0,
        other => return Err(Error::Invalid(format!("bad time unit {other:?} in {s:?}"))),
    };
    if !(0.0..=86400.0).contains(&secs) {
        return Err(Error::Invalid(format!("time span {s:?} out of range")));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses a unit file's text.
pub fn parse(text: &str) -> Result<ServiceUnit> {
    let mut pre = Vec::new();
    let mut start = Vec::new();
    let mut reload = Vec::new();
    let mut stop_post = Vec::new();
    let mut restart = RestartPolicy::No;
    let mut restart_sec = Duration::from_millis(100);
    let mut timeout_stop = Duration::from_secs(90);
    let mut environment = Vec::new();
    let mut runtime_directories = Vec::new();
    let mut oneshot = false;
    let mut start_limit = Some((5usize, Duration::from_secs(10)));
    for (section, k, v) in entries(text)? {
        if section == "Unit" {
            match k {
                "StartLimitIntervalSec" => {
                    let d = parse_timespan(v)?;
                    start_limit = (!d.is_zero()).then(|| (start_limit.map_or(5, |l| l.0), d));
                }
                "StartLimitBurst" => {
                    let b = v
                        .parse()
                        .map_err(|_| Error::Invalid(format!("StartLimitBurst={v}")))?;
                    start_limit = start_limit.map(|(_, d)| (b, d));
                }
                _ => {}
            }
            continue;
        }
        if section != "Service" {
            continue;
        }
        match k {
            "Type" => match v {
                // notify/idle: readiness is not simulated, active once spawned (as before).
                "simple" | "exec" | "notify" | "idle" => oneshot = false,
                "oneshot" => oneshot = true,
                x => return Err(Error::Invalid(format!("Type={x} is not simulated"))),
            },
            "ExecStartPre" => pre.push(exec_line(k, v)?),
            "ExecStart" => start.push(exec_line(k, v)?),
            "ExecReload" => reload.push(exec_line(k, v)?),
            "ExecStopPost" => stop_post.push(exec_line(k, v)?),
            "Restart" => {
                restart = match v {
                    "no" => RestartPolicy::No,
                    "always" => RestartPolicy::Always,
                    x if x.starts_with("on-") => RestartPolicy::OnFailure,
                    x => return Err(Error::Invalid(format!("Restart={x}: unknown policy"))),
                }
            }
            "RestartSec" => restart_sec = parse_timespan(v)?,
            "TimeoutStopSec" => timeout_stop = parse_timespan(v)?,
            "Environment" => {
                for w in split_words(v)? {
                    if let Some((a, b)) = w.split_once('=') {
                        environment.push((a.to_string(), b.to_string()));
                    }
                }
            }
            "RuntimeDirectory" => runtime_directories.extend(split_words(v)?),
            _ => {}
        }
    }
    let exec_start = match start.len() {
        1 => start.remove(0),
        0 => return Err(Error::Invalid("no ExecStart= in [Service]".into())),
        _ => {
            return Err(Error::Invalid(
                "more than one ExecStart= for Type=simple".into(),
            ))
        }
    };
    Ok(ServiceUnit {
        exec_start_pre: pre,
        exec_start,
        exec_reload: reload,
        exec_stop_post: stop_post,
        restart,
        restart_sec,
        timeout_stop,
        environment,
        runtime_directories,
        oneshot,
        start_limit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_charm_unit() {
        let text = "[Unit]\nDescription=x\n\n[Service]\nType=simple\nExecStartPre=/r/usr/local/sbin/vrrpd --check-config /r/etc/vrrpd/vrrpd.conf\nExecStart=/r/usr/local/sbin/vrrpd --config /r/etc/vrrpd/vrrpd.conf --state-file /r/run/vrrpd/state.json\nExecReload=/bin/kill -HUP $MAINPID\nExecStopPost=-/r/usr/local/sbin/vrrpd --cleanup --config \"/r/etc/a b.conf\"\nRestart=always\nRestartSec=1\nTimeoutStopSec=10\nRuntimeDirectory=vrrpd\n[Install]\nWantedBy=multi-user.target\n";
        let u = parse(text).unwrap();
        assert_eq!(u.exec_start_pre.len(), 1);
        assert_eq!(u.exec_start.argv[0], "/r/usr/local/sbin/vrrpd");
        assert_eq!(u.exec_start.argv.len(), 5);
        assert_eq!(u.exec_reload[0].argv, ["/bin/kill", "-HUP", "$MAINPID"]);
        assert!(u.exec_stop_post[0].ignore_failure);
        assert_eq!(u.exec_stop_post[0].argv[3], "/r/etc/a b.conf");
        assert_eq!(u.restart, RestartPolicy::Always);
        assert_eq!(u.restart_sec, Duration::from_secs(1));
        assert_eq!(u.timeout_stop, Duration::from_secs(10));
        assert_eq!(u.runtime_directories, ["vrrpd"]);
    }

    #[test]
    fn rejects_malformed_units() {
        assert!(parse("[Service]\nType=simple\n").is_err());
        assert!(parse("[Service]\nExecStart=relative/x\n").is_err());
        assert!(parse("[Service]\nExecStart=/x \"open\n").is_err());
        assert!(parse("[Service]\nExecStart=/x\nRestart=sometimes\n").is_err());
        assert!(parse("[Service]\nExecStart=/x\nRestartSec=1y\n").is_err());
        assert!(parse("[Service]\nnonsense\n").is_err());
        // The same lexer for every section and both unit kinds: a stray line anywhere is an
        // error (systemd logs it and ignores it; the simulator refuses what it cannot read).
        let e = parse_path("[Path]\nPathChanged=/x\n[Install]\nnonsense\n").unwrap_err();
        assert!(e.to_string().contains("line 4"), "{e}");
    }

    #[test]
    fn oneshot_start_limits_and_path_units() {
        let u = parse(
            "[Unit]\nStartLimitIntervalSec=0\n[Service]\nType=oneshot\nExecStart=/bin/true\n",
        )
        .unwrap();
        assert!(u.oneshot);
        assert_eq!(u.start_limit, None);
        let d = parse("[Service]\nExecStart=/bin/true\n").unwrap();
        assert_eq!(d.start_limit, Some((5, Duration::from_secs(10))));
        assert!(!d.oneshot);
        let b = parse("[Unit]\nStartLimitBurst=3\n[Service]\nExecStart=/bin/true\n").unwrap();
        assert_eq!(b.start_limit, Some((3, Duration::from_secs(10))));
        assert!(parse("[Service]\nType=forking\nExecStart=/bin/true\n").is_err());
        let p = parse_path("[Unit]\nDescription=x\n[Path]\nPathChanged=/run/vrrpd/transitions\nUnit=r.service\n[Install]\nWantedBy=paths.target\n").unwrap();
        assert_eq!(p.changed, ["/run/vrrpd/transitions"]);
        assert_eq!(p.unit.as_deref(), Some("r.service"));
        assert_eq!(p.trigger_limit, (200, Duration::from_secs(2)));
        assert!(parse_path("[Path]\nUnit=r.service\n").is_err());
        assert!(parse_path("[Path]\nPathExists=/x\n").is_err());
        assert!(parse_path("[Path]\nPathChanged=rel\n").is_err());
    }

    #[test]
    fn timespans() {
        assert_eq!(parse_timespan("100ms").unwrap(), Duration::from_millis(100));
        assert_eq!(parse_timespan("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_timespan("1min").unwrap(), Duration::from_secs(60));
    }
}
