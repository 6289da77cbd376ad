//! Getting a charm into the model directory: unpack a `.charm` zip (keeping mode bits), copy a
//! charm directory, or write one of the built-in simulator charms.

use crate::error::{Error, Result};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// How the simulator writes its files: mode 0644, missing directories created.
pub const FILE: atomicfile::Options = atomicfile::Options::mode(0o644).create_dirs();

/// An executable: mode 0755, missing directories created.
pub const EXECUTABLE: atomicfile::Options = atomicfile::Options::mode(0o755).create_dirs();

/// Writes `data` to `path` atomically and durably with [`FILE`]'s options (`atomicfile`).
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    Ok(atomicfile::write_with(path, data, &FILE)?)
}

/// Unpacks a `.charm` zip into `dest` (which must not exist), keeping unix mode bits. Entries
/// with unsafe paths are rejected and nothing is left behind.
pub fn unpack(zip_path: &Path, dest: &Path) -> Result<()> {
    let file = std::fs::File::open(zip_path).map_err(|e| Error::io(zip_path, e))?;
    let mut z = zip::ZipArchive::new(file)
        .map_err(|e| Error::Invalid(format!("{}: not a charm archive: {e}", zip_path.display())))?;
    let result = (|| {
        for i in 0..z.len() {
            let mut f = z
                .by_index(i)
                .map_err(|e| Error::Invalid(format!("{}: entry {i}: {e}", zip_path.display())))?;
            let rel = f.enclosed_name().ok_or_else(|| {
                Error::Invalid(format!(
                    "{}: unsafe path {:?}",
                    zip_path.display(),
                    f.name()
                ))
            })?;
            let out = dest.join(&rel);
            if f.is_dir() {
                std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
                continue;
            }
            if let Some(p) = out.parent() {
                std::fs::create_dir_all(p).map_err(|e| Error::io(p, e))?;
            }
            let mut buf = Vec::new();
            f.read_to_end(&mut buf).map_err(|e| {
                Error::Invalid(format!("{}: {}: {e}", zip_path.display(), rel.display()))
            })?;
            std::fs::write(&out, buf).map_err(|e| Error::io(&out, e))?;
            let mode = f.unix_mode().map(|m| m & 0o777).unwrap_or(0o644);
            std::fs::set_permissions(&out, std::fs::Permissions::from_mode(mode))
                .map_err(|e| Error::io(&out, e))?;
        }
        if !dest.join("metadata.yaml").is_file() {
            return Err(Error::Invalid(format!(
                "{}: no metadata.yaml",
                zip_path.display()
            )));
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(dest);
    }
    result
}

/// Copies a charm directory (recursively, keeping modes) to `dest`.
pub fn copy_dir(src: &Path, dest: &Path) -> Result<()> {
    std::fs::create_dir_all(dest).map_err(|e| Error::io(dest, e))?;
    for entry in std::fs::read_dir(src).map_err(|e| Error::io(src, e))? {
        let entry = entry.map_err(|e| Error::io(src, e))?;
        let from = entry.path();
        let to = dest.join(entry.file_name());
        let ft = entry.file_type().map_err(|e| Error::io(&from, e))?;
        if ft.is_dir() {
            copy_dir(&from, &to)?;
        } else if ft.is_file() || ft.is_symlink() {
            std::fs::copy(&from, &to).map_err(|e| Error::io(&from, e))?;
        }
    }
    Ok(())
}

/// Writes the built-in simulator charm `name` into `dest`: its metadata, config and a
/// `dispatch` that runs `<exe> sim-charm <name>`.
pub fn write_builtin(name: &str, exe: &Path, dest: &Path) -> Result<()> {
    let spec = crate::simcharms::builtin(name)
        .ok_or_else(|| Error::Invalid(format!("no built-in charm {name:?}")))?;
    std::fs::create_dir_all(dest).map_err(|e| Error::io(dest, e))?;
    write_atomic(&dest.join("metadata.yaml"), spec.metadata.as_bytes())?;
    write_atomic(&dest.join("config.yaml"), spec.config.as_bytes())?;
    let dispatch = format!(
        "#!/bin/sh\n# Built-in simulator charm {name}.\nexec '{}' sim-charm {name}\n",
        exe.display()
    );
    let p = dest.join("dispatch");
    Ok(atomicfile::write_with(
        &p,
        dispatch.as_bytes(),
        &EXECUTABLE,
    )?)
}
