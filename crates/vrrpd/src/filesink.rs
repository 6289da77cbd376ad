//! A file written off the event loop: the loop hands over the newest bytes and goes on; one
//! small thread writes them atomically with `atomicfile` (temp file, fsync, rename, fsync of
//! the directory).
//!
//! Why: the event loop is the protocol's clock. An fsync on a busy disk-backed file system has
//! been seen to take seconds, and while the loop waits it neither reads adverts nor runs timers;
//! when it wakes, a master-down timer and the adverts queued meanwhile are ready together, and
//! a backup may take over from a master that never stopped advertising (two holders, seen in
//! the refresh end-to-end test under build load). Only the newest content matters, so a write
//! still pending when a newer one arrives is replaced, never queued.
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use tracing::warn;

/// The writer thread's stack: it only opens, writes, syncs and renames (the default 2 MiB would
/// be locked in memory whole under `mlockall(MCL_FUTURE)`).
const STACK: usize = 128 * 1024;

#[derive(Default)]
struct Slot {
    /// The newest bytes not yet taken by the writer.
    pending: Option<Vec<u8>>,
    /// The newest bytes for the companion file, written after the next main write.
    companion: Option<Vec<u8>>,
    /// The writer is writing (bytes taken, not yet on disk).
    busy: bool,
    /// No more bytes will come: the writer drains and exits.
    closed: bool,
}

struct Shared {
    slot: Mutex<Slot>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Writes the newest bytes handed to it to one path, on a thread of its own.
pub struct FileSink {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    path: PathBuf,
    mode: u32,
    companion: Option<PathBuf>,
}

impl std::fmt::Debug for FileSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSink")
            .field("path", &self.path)
            .field("threaded", &self.thread.is_some())
            .finish()
    }
}

impl FileSink {
    /// Starts the writer for `path` (file mode `mode`) and, if given, a companion file (same
    /// mode) that [`FileSink::write_with`] updates right after the main file: whoever watches
    /// the companion finds the main file at least as new as it. If the thread cannot be
    /// started, every write is done in the caller's thread instead (and a warning says so).
    pub fn with_companion(path: PathBuf, companion: Option<PathBuf>, mode: u32) -> FileSink {
        let shared = Arc::new(Shared {
            slot: Mutex::new(Slot::default()),
            changed: Condvar::new(),
        });
        let worker = Arc::clone(&shared);
        let target = path.clone();
        let second = companion.clone();
        let thread = std::thread::Builder::new()
            .name("statefile".into())
            .stack_size(STACK)
            .spawn(move || writer(&worker, &target, second.as_deref(), mode));
        let thread = match thread {
            Ok(t) => Some(t),
            Err(e) => {
                warn!(error = %e, "cannot start the state-file writer thread; writing inline");
                None
            }
        };
        FileSink {
            shared,
            thread,
            path,
            mode,
            companion,
        }
    }

    /// Hands over the newest content (returns at once; an older pending content is dropped)
    /// and, if `companion` is given, the companion file's (written after the main file; a
    /// pending companion content is kept until written, only replaced by a newer one).
    pub fn write_with(&self, bytes: Vec<u8>, companion: Option<Vec<u8>>) {
        if self.thread.is_none() {
            write_now(&self.path, &bytes, self.mode);
            if let (Some(p), Some(c)) = (&self.companion, companion) {
                write_now(p, &c, self.mode);
            }
            return;
        }
        let mut slot = self.shared.lock();
        slot.pending = Some(bytes);
        if companion.is_some() {
            slot.companion = companion;
        }
        drop(slot);
        self.shared.changed.notify_all();
    }

    /// Waits until everything handed over is on disk.
    pub fn flush(&self) {
        let mut slot = self.shared.lock();
        while self.thread.is_some() && (slot.pending.is_some() || slot.busy) {
            slot = self
                .shared
                .changed
                .wait(slot)
                .unwrap_or_else(|p| p.into_inner());
        }
    }
}

impl Drop for FileSink {
    /// Writes what is pending, then stops the thread.
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.changed.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn writer(shared: &Shared, path: &std::path::Path, companion: Option<&std::path::Path>, mode: u32) {
    let mut slot = shared.lock();
    loop {
        if let Some(bytes) = slot.pending.take() {
            let second = slot.companion.take();
            slot.busy = true;
            drop(slot);
            write_now(path, &bytes, mode);
            if let (Some(p), Some(c)) = (companion, second) {
                write_now(p, &c, mode);
            }
            slot = shared.lock();
            slot.busy = false;
            shared.changed.notify_all();
        } else if slot.closed {
            return;
        } else {
            slot = shared.changed.wait(slot).unwrap_or_else(|p| p.into_inner());
        }
    }
}

fn write_now(path: &std::path::Path, bytes: &[u8], mode: u32) {
    if let Err(e) = atomicfile::write(path, bytes, mode) {
        warn!(path = %path.display(), error = %e, "cannot write state file");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_content_lands_and_flush_waits_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        let sink = FileSink::with_companion(p.clone(), None, 0o644);
        for i in 0..50 {
            sink.write_with(format!("{i}").into_bytes(), None);
        }
        sink.flush();
        assert_eq!(std::fs::read(&p).unwrap(), b"49");
        sink.write_with(b"last".to_vec(), None);
        drop(sink);
        assert_eq!(
            std::fs::read(&p).unwrap(),
            b"last",
            "drop writes what is pending"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temp file left");
    }

    #[test]
    fn companion_follows_the_main_file_and_is_not_lost() {
        let dir = tempfile::tempdir().unwrap();
        let (p, c) = (
            dir.path().join("state.json"),
            dir.path().join("transitions"),
        );
        let sink = FileSink::with_companion(p.clone(), Some(c.clone()), 0o644);
        sink.write_with(b"s1".to_vec(), Some(b"t1".to_vec()));
        // A newer main content without a companion does not drop the pending companion.
        sink.write_with(b"s2".to_vec(), None);
        sink.flush();
        assert_eq!(std::fs::read(&p).unwrap(), b"s2");
        assert_eq!(std::fs::read(&c).unwrap(), b"t1");
        sink.write_with(b"s3".to_vec(), None);
        sink.flush();
        assert_eq!(std::fs::read(&c).unwrap(), b"t1", "only written when given");
        // The companion is renamed into place after the main file: watch it, read the main.
        let (tx, rx) = std::sync::mpsc::channel();
        let (pp, cc) = (p.clone(), c.clone());
        let before = std::fs::read(&c).unwrap();
        let watcher = std::thread::spawn(move || {
            for _ in 0..100_000 {
                let now = std::fs::read(&cc).unwrap();
                if now != before {
                    tx.send((now, std::fs::read(&pp).unwrap())).unwrap();
                    return;
                }
                std::thread::sleep(std::time::Duration::from_micros(50));
            }
        });
        sink.write_with(b"s4".to_vec(), Some(b"t4".to_vec()));
        let (t, s) = rx.recv().unwrap();
        assert_eq!((t.as_slice(), s.as_slice()), (&b"t4"[..], &b"s4"[..]));
        watcher.join().unwrap();
    }
}
