//! Atomic, change-detecting file writes.
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Writes `content` with `mode` atomically (temp file in the same directory, fsync, rename, fsync dir),
/// only when the content or mode differs. Returns whether anything changed.
pub fn write_if_changed(path: &Path, content: &[u8], mode: u32) -> std::io::Result<bool> {
    if let Ok(meta) = fs::metadata(path) {
        if meta.permissions().mode() & 0o7777 == mode && fs::read(path)? == content {
            return Ok(false);
        }
    }
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other(format!("{} has no parent", path.display())))?;
    fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let res = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode_set(mode)
            .open(&tmp)?;
        // The umask may have masked bits off; set the exact mode before the content lands.
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.write_all(content)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        fs::File::open(dir)?.sync_all()
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res.map(|()| true)
}

/// Removes a file; a missing file is fine. Returns whether something was removed.
pub fn remove_if_exists(path: &Path) -> std::io::Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

trait ModeSet {
    fn mode_set(&mut self, mode: u32) -> &mut Self;
}

impl ModeSet for fs::OpenOptions {
    fn mode_set(&mut self, mode: u32) -> &mut Self {
        std::os::unix::fs::OpenOptionsExt::mode(self, mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_atomically_only_on_change_with_mode() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a/b/conf");
        assert!(write_if_changed(&p, b"x", 0o600).unwrap());
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(!write_if_changed(&p, b"x", 0o600).unwrap());
        assert!(
            write_if_changed(&p, b"x", 0o644).unwrap(),
            "a mode change is a change"
        );
        assert!(write_if_changed(&p, b"y", 0o644).unwrap());
        assert_eq!(fs::read(&p).unwrap(), b"y");
        let leftovers: Vec<_> = fs::read_dir(p.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp files remain");
        assert!(remove_if_exists(&p).unwrap());
        assert!(!remove_if_exists(&p).unwrap());
    }
}
