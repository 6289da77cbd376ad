//! keepalived 2.2.7's script security, so a `vrrp_script` means the same to us as to keepalived.
//!
//! At load time keepalived resolves each script's program (a bare name through `PATH`), and when
//! the script would run with root rights (uid or gid 0, or a set-uid/gid-root file) it checks
//! every part of the path, `/` included: a part owned by a non-root user, or writable by a
//! non-root group or by everyone (a directory with the sticky bit, such as `/tmp`, excepted), is
//! unsafe. With `enable_script_security` an unsafe script is disabled, otherwise it runs and a
//! `SECURITY VIOLATION` warning is logged. A script that cannot be found is disabled either way.
//! Disabled scripts are dropped from every `track_script`: they no longer move the priority.
//! (Checked against keepalived 2.2.7 in a network namespace; see the `script_security` tests.)

use std::ffi::OsStr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// `PATH` when the environment has none (glibc's `_CS_PATH`, as keepalived falls back to).
const DEFAULT_PATH: &str = "/bin:/usr/bin";

/// What the load-time check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Run it (the resolved program path).
    Runs(PathBuf),
    /// Runs as root but `part` of its path is writable or owned by someone else.
    Insecure {
        /// The resolved program path.
        program: PathBuf,
        /// The first unsafe part of it.
        part: PathBuf,
    },
    /// The program is not there (or not executable anywhere on `PATH`).
    NotFound(String),
}

/// Examine `program` (a script's first word) as run by `uid`:`gid`; `path_env` is `PATH`.
pub fn examine(program: &str, uid: u32, gid: u32, path_env: Option<&OsStr>) -> Verdict {
    let resolved = if program.contains('/') {
        PathBuf::from(program)
    } else {
        match search_path(program, uid, gid, path_env) {
            Some(p) => p,
            None => return Verdict::NotFound(format!("cannot find script {program} in path")),
        }
    };
    let Ok(meta) = std::fs::metadata(&resolved) else {
        return Verdict::NotFound(format!("unable to access script {}", resolved.display()));
    };
    if !(executable(&meta, uid, gid) && needs_protection(&meta, uid, gid)) {
        return Verdict::Runs(resolved);
    }
    for part in prefixes(&resolved) {
        let Ok(m) = std::fs::metadata(&part) else {
            return Verdict::NotFound(format!("cannot find script part {}", part.display()));
        };
        if unsafe_part(&m) {
            return Verdict::Insecure {
                program: resolved,
                part,
            };
        }
    }
    Verdict::Runs(resolved)
}

/// The first regular file named `program` on `PATH` that `uid`:`gid` may execute.
fn search_path(program: &str, uid: u32, gid: u32, path_env: Option<&OsStr>) -> Option<PathBuf> {
    let path = path_env.unwrap_or(OsStr::new(DEFAULT_PATH));
    std::env::split_paths(path)
        .map(|dir| dir.join(program))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && executable(&m, uid, gid)))
}

/// keepalived's executable test: root needs any x bit, the owner u+x, the group g+x, others o+x.
fn executable(m: &std::fs::Metadata, uid: u32, gid: u32) -> bool {
    let mode = m.permissions().mode();
    if uid == 0 {
        mode & 0o111 != 0
    } else if uid == m.uid() {
        mode & 0o100 != 0
    } else if gid == m.gid() {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}

/// Root rights: run as uid or gid 0, or a set-uid-root / set-gid-root program.
fn needs_protection(m: &std::fs::Metadata, uid: u32, gid: u32) -> bool {
    let mode = m.permissions().mode();
    uid == 0
        || gid == 0
        || (m.uid() == 0 && mode & 0o4100 == 0o4100)
        || (m.gid() == 0 && mode & 0o2010 == 0o2010)
}

/// Owned by non-root, or writable by a non-root group or by all (sticky directories excepted).
fn unsafe_part(m: &std::fs::Metadata) -> bool {
    let mode = m.permissions().mode();
    let sticky_dir = mode & 0o1000 != 0 && !m.is_file();
    let writable = (m.gid() != 0 && mode & 0o020 != 0) || mode & 0o002 != 0;
    m.uid() != 0 || (!sticky_dir && writable)
}

/// `/`, `/a`, `/a/b`, … `/a/b/prog` of an absolute path; a relative path's parts as given.
fn prefixes(p: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut acc = PathBuf::new();
    for c in p.components() {
        acc.push(c);
        out.push(acc.clone());
    }
    out
}

#[cfg(test)]
#[path = "security_tests.rs"]
mod tests;
