//! What the tests and the demo run besides cargo: every external command, the Debian package
//! that provides it, and the install step that makes a fresh Debian 12 machine ready.
//!
//! The table is the single place to name a new tool. `every_spawned_program_is_listed` (below)
//! reads the workspace's sources for programs that are started by name and fails when one is
//! missing here, so a test cannot start depending on a tool that a fresh machine lacks.
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result};

use crate::sh;

/// An external command the tests, the demo or the packing step execute, and its Debian package.
pub struct Tool {
    /// The program name as the code starts it (looked up on `PATH`, then in the sbin folders).
    pub command: &'static str,
    /// The Debian package that ships it.
    pub package: &'static str,
    /// Who runs it (shown when it is missing).
    pub used_by: &'static str,
}

const fn tool(command: &'static str, package: &'static str, used_by: &'static str) -> Tool {
    Tool {
        command,
        package,
        used_by,
    }
}

/// Every external command. Keep it sorted by package, then command.
pub const TOOLS: &[Tool] = &[
    tool("sh", "dash", "lab processes, the simulator's proof steps"),
    tool("bash", "bash", "the charm's tests (fake systemctl/sysctl)"),
    tool("cp", "coreutils", "tests"),
    tool(
        "rm",
        "coreutils",
        "real-systemd test (status refresh stand-in)",
    ),
    tool("df", "coreutils", "xtask (free disk space in the summary)"),
    tool("id", "coreutils", "xtask (root check)"),
    tool("sleep", "coreutils", "netlab tests"),
    tool("timeout", "coreutils", "vrrpd CPU-load test"),
    tool("true", "coreutils", "tests"),
    tool("false", "coreutils", "tests"),
    tool("dpkg-query", "dpkg", "xtask (package check)"),
    tool("gcc", "gcc", "cargo (linker)"),
    tool("ip", "iproute2", "every namespace lab"),
    tool("bridge", "iproute2", "netlab"),
    tool("ping", "iputils-ping", "netlab tests"),
    tool("keepalived", "keepalived", "interop tests, bench"),
    tool("man", "man-db", "kaconf: ignored keywords are keepalived's"),
    tool("openssl", "openssl", "lab certificates (netlab::cert)"),
    tool("sysctl", "procps", "the charm (sysctl -p), tests"),
    tool("kill", "procps", "vrrpd.service ExecReload"),
    tool("python3", "python3", "lab listeners, charmcraft venv"),
    tool("tcpdump", "tcpdump", "advert captures"),
    // The static amd64/arm64 charm binaries (pack.rs) and the arm64 tests under qemu.
    tool(
        "musl-gcc",
        "musl-tools",
        "pack: amd64 musl build (ring's C)",
    ),
    tool(
        "aarch64-linux-gnu-gcc",
        "gcc-aarch64-linux-gnu",
        "pack: arm64 build",
    ),
    tool(
        "aarch64-linux-gnu-objdump",
        "binutils-aarch64-linux-gnu",
        "ELF reader tests",
    ),
    tool("objdump", "binutils", "ELF reader tests"),
    tool(
        "qemu-aarch64-static",
        "qemu-user-static",
        "arm64 tests (no binfmt_misc here)",
    ),
    // The real-systemd tier (netlab::nspawn). systemd-container is installed with
    // --no-install-recommends (as every package here): its recommended libnss-mymachines
    // would edit /etc/nsswitch.conf.
    tool("systemd-nspawn", "systemd-container", "real-systemd tier"),
    tool(
        "debootstrap",
        "debootstrap",
        "real-systemd tier (root file system)",
    ),
    tool(
        "chrt",
        "util-linux",
        "vrrpd adaptive-interval and scheduling tests (SCHED_RR workers, vrrp_rt_priority)",
    ),
    tool("nsenter", "util-linux", "real-systemd tier"),
    tool(
        "setpriv",
        "util-linux",
        "vrrpd scheduling test (no CAP_SYS_NICE)",
    ),
    tool("unshare", "util-linux", "real-systemd tier"),
    tool("mount", "mount", "real-systemd tier (overlay)"),
];

/// Packages needed that provide no command of their own (libraries, data, modules).
pub const EXTRA_PACKAGES: &[(&str, &str)] = &[
    ("ca-certificates", "charmcraft from PyPI (pip over TLS)"),
    ("python3-venv", "charmcraft's virtualenv"),
    (
        "libc6-dev-arm64-cross",
        "pack: ring's C headers for the arm64 build",
    ),
];

/// True when `command` is an executable file on `PATH` or in the sbin folders.
pub fn on_path(command: &str) -> bool {
    find(command).is_some()
}

/// Where `command` is found: `PATH` first, then `/usr/sbin` and `/sbin` (root's tools live there
/// and a minimal `PATH` may lack them).
pub fn find(command: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|d| d.join(command))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

fn installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

fn apt(args: &[&str]) -> Command {
    let mut cmd = if sh::is_root() {
        Command::new("apt-get")
    } else {
        let mut c = Command::new("sudo");
        c.arg("apt-get");
        c
    };
    cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
    cmd
}

/// Runs `apt-get ARGS` (through sudo when not root) from `/`: it needs nothing of the checkout,
/// so it also works in a bare root file system (how the fresh-machine install was proven).
fn run_apt(args: &[&str]) -> Result<()> {
    let mut cmd = apt(args);
    cmd.current_dir("/");
    eprintln!("+ apt-get {}", args.join(" "));
    let status = cmd
        .status()
        .with_context(|| format!("cannot start apt-get {}", args.join(" ")))?;
    if !status.success() {
        anyhow::bail!("apt-get {} failed ({status})", args.join(" "));
    }
    Ok(())
}

/// The packages to install: those of missing commands, and extra packages not installed.
pub fn missing_packages() -> Vec<&'static str> {
    let mut pkgs: Vec<&'static str> = Vec::new();
    for t in TOOLS {
        if !on_path(t.command) && !pkgs.contains(&t.package) {
            println!(
                "  missing: {} (package {}; {})",
                t.command, t.package, t.used_by
            );
            pkgs.push(t.package);
        }
    }
    for (p, why) in EXTRA_PACKAGES {
        if !installed(p) && !pkgs.contains(p) {
            println!("  missing: package {p} ({why})");
            pkgs.push(p);
        }
    }
    pkgs
}

/// Checks every external command before anything runs and installs the Debian packages of the
/// missing ones (one `apt-get update` first, only when something is missing). Afterwards every
/// command must be there, else it fails naming them.
pub fn ensure() -> Result<()> {
    let missing = missing_packages();
    if missing.is_empty() {
        println!(
            "system tools: all {} commands and {} extra packages present",
            TOOLS.len(),
            EXTRA_PACKAGES.len()
        );
        return Ok(());
    }
    println!("system packages: installing {}", missing.join(" "));
    run_apt(&["update"])?;
    let mut args = vec!["install", "-y", "--no-install-recommends"];
    args.extend(&missing);
    run_apt(&args)?;
    let still: Vec<&str> = TOOLS
        .iter()
        .filter(|t| !on_path(t.command))
        .map(|t| t.command)
        .collect();
    if !still.is_empty() {
        anyhow::bail!("still missing after apt-get install: {}", still.join(" "));
    }
    Ok(())
}

/// The workspace's files whose name passes `keep`, skipping hidden folders, `target` and `fuzz`.
#[cfg(test)]
pub fn workspace_files(root: &std::path::Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name();
            let name = name.to_string_lossy();
            if p.is_dir() {
                if !(name.starts_with('.') || name == "target" || name == "fuzz") {
                    stack.push(p);
                }
            } else if keep(&name) {
                found.push(p);
            }
        }
    }
    found
}

/// Program names started by name in Rust sources: `Command::new("x")`, and netlab's
/// `.run("x", …)`, `.exec("x", …)`, `.spawn(label, "x", …)`, plus commands run through
/// `ip netns exec NS x`. Returns (program, file) pairs.
#[cfg(test)]
pub fn spawned_programs(root: &std::path::Path) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    for p in workspace_files(root, |name| name.ends_with(".rs")) {
        if p.ends_with("xtask/src/deps.rs") {
            continue;
        }
        if let Ok(text) = std::fs::read_to_string(&p) {
            for prog in programs_in(&text) {
                found.push((prog, p.clone()));
            }
        }
    }
    found
}

/// The program literals of one source text (see [`spawned_programs`]).
#[cfg(test)]
pub fn programs_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut grab = |prefix: &str, skip_args: usize| {
        let mut rest = flat.as_str();
        while let Some(i) = rest.find(prefix) {
            rest = &rest[i + prefix.len()..];
            let mut args = rest;
            let mut ok = true;
            for _ in 0..skip_args {
                // The skipped argument ends at a comma before any closing parenthesis
                // (`.spawn()` with no arguments is another method).
                match (args.find(','), args.find(')')) {
                    (Some(j), close) if close.is_none_or(|c| j < c) => {
                        args = args[j + 1..].trim_start()
                    }
                    _ => ok = false,
                }
            }
            if !ok {
                continue;
            }
            if let Some(lit) = args.strip_prefix('"') {
                if let Some(end) = lit.find('"') {
                    let prog = &lit[..end];
                    if !prog.is_empty()
                        && prog
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
                    {
                        out.push(prog.rsplit('/').next().unwrap_or(prog).to_string());
                    }
                }
            }
        }
    };
    grab("Command::new(", 0);
    grab(".run(", 0);
    grab("cmd::run(", 0);
    grab("cmd::output(", 0);
    grab(".exec(", 0);
    grab(".spawn(", 1);
    grab("\"netns\", \"exec\", ", 1);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_programs_in_the_usual_shapes() {
        let src = r#"
            Command::new("ip").args(["link"]);
            a.run("ping", &["-c1"]);
            h.spawn("listen", "python3", &["-c", X]);
            h.spawn(
                "tcpdump",
                "tcpdump",
                &args,
            );
            Command::new(&bin);
            let child = Command::new("true").spawn().unwrap();
            Command::new("ip").args(["netns", "add", &stale]);
            c.args(["netns", "exec", ns, "sh", "-c", &script]);
        "#;
        let mut got = programs_in(src);
        got.sort();
        assert_eq!(
            got,
            ["ip", "ip", "ping", "python3", "sh", "tcpdump", "true"]
        );
    }

    /// A program started by name anywhere in the workspace must be in [`TOOLS`], so that
    /// `cargo xtask test` installs it on a fresh machine.
    #[test]
    fn every_spawned_program_is_listed() {
        let root = sh::root();
        let found = spawned_programs(&root);
        assert!(
            ["ip", "ping", "tcpdump", "openssl", "python3"]
                .iter()
                .all(|want| found.iter().any(|(p, _)| p == want)),
            "the scan missed a program the tests are known to run: the scanner is broken"
        );
        let unlisted: Vec<String> = found
            .iter()
            .filter(|(p, _)| {
                !TOOLS.iter().any(|t| t.command == p) && !ALLOWED.contains(&p.as_str())
            })
            .map(|(p, f)| format!("{p} ({})", f.display()))
            .collect();
        assert!(
            unlisted.is_empty(),
            "programs started by tests or tools but missing from deps::TOOLS: {unlisted:?}"
        );
    }

    /// Names the scanner sees that are not external programs (our own binaries, methods that
    /// share the `.run(`/`.spawn(` shape, programs installed by the suite itself).
    /// `cat`, `journalctl`, `systemd-analyze` and `sysctl` also run inside the real-systemd
    /// containers, whose root file system the tier builds itself.
    const ALLOWED: &[&str] = &[
        "apt-get",
        "sudo",
        "rustup",
        "systemctl",
        "juju",
        "vrrpd",
        "dispatch",
        "cat",
        "journalctl",
        "systemd-analyze",
    ];

    #[test]
    fn the_table_names_each_command_once() {
        let mut names: Vec<&str> = TOOLS.iter().map(|t| t.command).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }
}
