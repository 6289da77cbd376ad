//! Atomic, change-detecting file writes: the workspace's one helper, [`atomicfile`], returning
//! the bare `io::Error` that the callers' error types pair with the path themselves.
use std::io;
use std::path::Path;

/// Writes `content` with `mode` atomically (temp file in the same directory, fsync, rename, fsync
/// dir; missing directories created), only when the content or mode differs. Returns whether
/// anything changed.
pub fn write_if_changed(path: &Path, content: &[u8], mode: u32) -> io::Result<bool> {
    atomicfile::write_if_changed(path, content, mode).map_err(os_error)
}

/// Removes a file; a missing file is fine. Returns whether something was removed.
pub fn remove_if_exists(path: &Path) -> io::Result<bool> {
    atomicfile::remove_if_exists(path).map_err(os_error)
}

fn os_error(e: atomicfile::Error) -> io::Error {
    e.into_parts().1
}
