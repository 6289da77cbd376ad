//! The workspace's one atomic file write.
//!
//! [`write`] replaces a file so that a reader sees the old content or the new, never a mix, and
//! so that the new content survives a crash once the call returns: the bytes go to a temp file
//! in the same directory (same filesystem, so the rename is atomic), the temp file is fsynced,
//! renamed over the target, and the directory is fsynced so the rename itself is durable
//! (rename(2), fsync(2)). On any failure the temp file is removed and the old file is left as
//! it was. Errors name the path and the step that failed.
//!
//! Only `std`: the charm's dispatcher links this, and it stays small.
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The step of a write that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The path has no file name (`/`, `..`).
    Name,
    /// Creating the missing parent directories.
    CreateDir,
    /// Reading the current file (to compare it).
    Read,
    /// Creating, writing, chmod/chown or fsync of the temp file.
    Write,
    /// Renaming the temp file over the target.
    Rename,
    /// Fsync of the directory after the rename.
    SyncDir,
    /// Removing the file.
    Remove,
}

/// A failed file operation: the path, the step and the OS error.
#[derive(Debug)]
pub struct Error {
    path: PathBuf,
    step: Step,
    source: io::Error,
}

impl Error {
    fn new(path: &Path, step: Step, source: io::Error) -> Self {
        Error {
            path: path.to_path_buf(),
            step,
            source,
        }
    }

    /// The file (or, for [`Step::CreateDir`] and [`Step::SyncDir`], directory) involved.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The step that failed.
    pub fn step(&self) -> Step {
        self.step
    }

    /// The OS error's kind.
    pub fn kind(&self) -> io::ErrorKind {
        self.source.kind()
    }

    /// The path and the OS error, for callers whose own error type carries both.
    pub fn into_parts(self) -> (PathBuf, io::Error) {
        (self.path, self.source)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.step {
            Step::Name => "no file name in",
            Step::CreateDir => "create directory",
            Step::Read => "read",
            Step::Write => "write temp file for",
            Step::Rename => "rename temp file to",
            Step::SyncDir => "fsync directory",
            Step::Remove => "remove",
        };
        write!(f, "{what} {}: {}", self.path.display(), self.source)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// How [`write_with`] writes: the file's mode, its owner, and whether missing parent
/// directories are created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Permission bits, set exactly (the umask does not apply). Default 0o644.
    pub mode: u32,
    /// Owner and group to give the file before it is renamed into place; `None` keeps the
    /// writer's. Default `None`.
    pub owner: Option<(u32, u32)>,
    /// Create missing parent directories (mode 0o755 less the umask). Default `false`: a
    /// missing directory is an error.
    pub create_dirs: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options::mode(0o644)
    }
}

impl Options {
    /// The defaults with `mode`.
    pub const fn mode(mode: u32) -> Self {
        Options {
            mode,
            owner: None,
            create_dirs: false,
        }
    }

    /// These options, also creating missing parent directories.
    #[must_use]
    pub const fn create_dirs(self) -> Self {
        Options {
            create_dirs: true,
            ..self
        }
    }

    /// These options, giving the file to `uid`:`gid`.
    #[must_use]
    pub const fn owner(self, uid: u32, gid: u32) -> Self {
        Options {
            owner: Some((uid, gid)),
            ..self
        }
    }
}

/// Replaces `path` with `bytes` atomically and durably, with mode `mode`; the directory must
/// exist. See the crate docs.
pub fn write(path: &Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    write_with(path, bytes, &Options::mode(mode))
}

/// Replaces `path` with `bytes` atomically and durably, as `opts` says.
pub fn write_with(path: &Path, bytes: &[u8], opts: &Options) -> Result<(), Error> {
    let (dir, tmp) = temp_path(path)?;
    if opts.create_dirs {
        fs::create_dir_all(dir).map_err(|e| Error::new(dir, Step::CreateDir, e))?;
    }
    let result = fill_temp(&tmp, bytes, opts)
        .map_err(|e| Error::new(path, Step::Write, e))
        .and_then(|()| fs::rename(&tmp, path).map_err(|e| Error::new(path, Step::Rename, e)));
    if let Err(e) = result {
        // Best effort: the write already failed, and that error is the one to report.
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::new(dir, Step::SyncDir, e))
}

/// Like [`write_with`] with [`Options::mode`]`(mode)` and missing directories created, but
/// only when the file's content or permission bits differ. Returns whether it wrote.
pub fn write_if_changed(path: &Path, bytes: &[u8], mode: u32) -> Result<bool, Error> {
    if let Ok(meta) = fs::metadata(path) {
        if meta.mode() & 0o7777 == mode
            && fs::read(path).map_err(|e| Error::new(path, Step::Read, e))? == bytes
        {
            return Ok(false);
        }
    }
    write_with(path, bytes, &Options::mode(mode).create_dirs())?;
    Ok(true)
}

/// Removes a file; a missing file is fine. Returns whether something was removed.
pub fn remove_if_exists(path: &Path) -> Result<bool, Error> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::new(path, Step::Remove, e)),
    }
}

/// The directory of `path` and a temp name in it no other writer (process or thread) uses.
fn temp_path(path: &Path) -> Result<(&Path, PathBuf), Error> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().ok_or_else(|| {
        let e = io::Error::new(io::ErrorKind::InvalidInput, "path has no file name");
        Error::new(path, Step::Name, e)
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = OsString::from(".");
    tmp.push(name);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    tmp.push(format!(".tmp.{}.{seq}", std::process::id()));
    Ok((dir, dir.join(tmp)))
}

fn fill_temp(tmp: &Path, bytes: &[u8], opts: &Options) -> io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(opts.mode)
        .open(tmp)?;
    // The umask may have masked bits off: set the exact mode before the content lands.
    f.set_permissions(fs::Permissions::from_mode(opts.mode))?;
    if let Some((uid, gid)) = opts.owner {
        std::os::unix::fs::fchown(&f, Some(uid), Some(gid))?;
    }
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests;
