//! Installing the worker binary without reading it in every hook.
//!
//! `cargo xtask pack` writes `bin/vrrpd.sha256` (the SHA-256 of `bin/vrrpd`, hex) into the
//! charm. The charm treats that stamp as opaque: after installing the binary it keeps a copy of
//! the stamp on the host ([`Paths::worker_stamp`]), and a later hook reinstalls only when the
//! two stamps differ or the installed file is gone, has another size or another mode. A steady
//! hook therefore reads two small files and stats two more instead of reading and comparing
//! the (megabytes of) binary twice.
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::files::write_if_changed;
use super::paths::Paths;

/// The stamp next to the worker binary inside the charm.
pub fn charm_worker_stamp(charm_dir: &Path) -> PathBuf {
    charm_dir.join("bin/vrrpd.sha256")
}

/// Mode of the installed worker binary.
pub const WORKER_MODE: u32 = 0o755;

/// Why the worker binary could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum WorkerBinError {
    /// The charm lacks the binary or its stamp (it was not assembled by `cargo xtask pack`).
    #[error("the charm is broken: {0} is missing")]
    Missing(String),
    /// A host file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WorkerBinError + '_ {
    move |source| WorkerBinError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Reads a stamp; `None` when the file does not exist.
fn read_stamp(path: &Path) -> Result<Option<Vec<u8>>, WorkerBinError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b.trim_ascii().to_vec())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path)(e)),
    }
}

/// Installs the charm's worker binary when it differs from the installed one (by stamp, size
/// and mode). Returns whether the installed binary changed (then the worker must restart).
pub fn install(charm_dir: &Path, paths: &Paths) -> Result<bool, WorkerBinError> {
    let src = super::paths::charm_worker_binary(charm_dir);
    let src_meta =
        std::fs::metadata(&src).map_err(|_| WorkerBinError::Missing(src.display().to_string()))?;
    let stamp_path = charm_worker_stamp(charm_dir);
    let stamp = read_stamp(&stamp_path)?
        .ok_or_else(|| WorkerBinError::Missing(stamp_path.display().to_string()))?;
    let dst = paths.worker_binary();
    let installed_stamp = paths.worker_stamp();
    let same = read_stamp(&installed_stamp)?.as_deref() == Some(stamp.as_slice())
        && std::fs::metadata(&dst).is_ok_and(|m| {
            m.is_file()
                && m.len() == src_meta.len()
                && m.permissions().mode() & 0o7777 == WORKER_MODE
        });
    if same {
        return Ok(false);
    }
    // Only here (install, upgrade, repair) is the binary read. `write_if_changed` still
    // compares contents, so a lost stamp alone does not restart the worker.
    let bin = std::fs::read(&src).map_err(io(&src))?;
    let changed = write_if_changed(&dst, &bin, WORKER_MODE).map_err(io(&dst))?;
    let mut line = stamp;
    line.push(b'\n');
    write_if_changed(&installed_stamp, &line, 0o644).map_err(io(&installed_stamp))?;
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn charm(dir: &Path, body: &[u8], stamp: &str) {
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::fs::write(dir.join("bin/vrrpd"), body).unwrap();
        std::fs::write(dir.join("bin/vrrpd.sha256"), stamp).unwrap();
    }

    #[test]
    fn installs_by_stamp_and_repairs() {
        let d = tempfile::tempdir().unwrap();
        let c = d.path().join("charm");
        let paths = Paths::new(d.path().join("root"));
        charm(&c, b"v1", "aaaa\n");
        assert!(install(&c, &paths).unwrap(), "first install");
        assert_eq!(std::fs::read(paths.worker_binary()).unwrap(), b"v1");
        assert!(!install(&c, &paths).unwrap(), "same stamp: nothing to do");

        // Same stamp, different content: the stamp decides (the binary is not read).
        std::fs::write(c.join("bin/vrrpd"), b"v2").unwrap();
        assert!(!install(&c, &paths).unwrap());
        assert_eq!(std::fs::read(paths.worker_binary()).unwrap(), b"v1");

        // A new stamp installs the new binary.
        charm(&c, b"v2", "bbbb\n");
        assert!(install(&c, &paths).unwrap());
        assert_eq!(std::fs::read(paths.worker_binary()).unwrap(), b"v2");

        // A changed mode or a deleted binary is repaired.
        std::fs::set_permissions(
            paths.worker_binary(),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        assert!(install(&c, &paths).unwrap());
        std::fs::remove_file(paths.worker_binary()).unwrap();
        assert!(install(&c, &paths).unwrap());

        // A lost installed stamp re-reads, finds the same binary: no restart needed.
        std::fs::remove_file(paths.worker_stamp()).unwrap();
        assert!(!install(&c, &paths).unwrap());
        assert_eq!(
            std::fs::read(paths.worker_stamp()).unwrap(),
            b"bbbb\n",
            "stamp restored"
        );
    }

    #[test]
    fn a_charm_without_binary_or_stamp_is_broken() {
        let d = tempfile::tempdir().unwrap();
        let c = d.path().join("charm");
        let paths = Paths::new(d.path().join("root"));
        assert!(matches!(
            install(&c, &paths),
            Err(WorkerBinError::Missing(p)) if p.ends_with("bin/vrrpd")
        ));
        std::fs::create_dir_all(c.join("bin")).unwrap();
        std::fs::write(c.join("bin/vrrpd"), b"v1").unwrap();
        assert!(matches!(
            install(&c, &paths),
            Err(WorkerBinError::Missing(p)) if p.ends_with("bin/vrrpd.sha256")
        ));
    }
}
