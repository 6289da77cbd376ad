//! The model directory: `model.json` guarded by `model.lock`, the hook log `hooks.jsonl`,
//! per-hook context dirs and per-machine hook locks. Every operation locks, loads, mutates and
//! saves, so several processes can share one model.

use crate::error::{Error, Result};
use crate::fsutil::FileLock;
use crate::hook::HookRecord;
use crate::model::{Model, ModelInfo};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Handle on a model directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// Creates a fresh model in `dir` (created if missing; an existing model is replaced).
    pub fn create(dir: &Path, info: ModelInfo) -> Result<Store> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let dir = dir.canonicalize().map_err(|e| Error::io(dir, e))?;
        for sub in ["contexts", "locks"] {
            let p = dir.join(sub);
            std::fs::create_dir_all(&p).map_err(|e| Error::io(&p, e))?;
        }
        let store = Store { dir };
        let model = Model {
            info,
            ..Model::default()
        };
        let _lock = FileLock::acquire(&store.lock_path())?;
        store.save(&model)?;
        let log = store.dir.join("hooks.jsonl");
        atomicfile::write(&log, b"", 0o644)?;
        Ok(store)
    }

    /// Opens an existing model directory.
    pub fn open(dir: &Path) -> Result<Store> {
        let dir = dir.canonicalize().map_err(|e| Error::io(dir, e))?;
        if !dir.join("model.json").exists() {
            return Err(Error::NotFound(format!("model in {}", dir.display())));
        }
        Ok(Store { dir })
    }

    /// The model directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn lock_path(&self) -> PathBuf {
        self.dir.join("model.lock")
    }

    fn load(&self) -> Result<Model> {
        let path = self.dir.join("model.json");
        let text = crate::fsutil::read_text(&path)?;
        serde_json::from_str(&text).map_err(|e| Error::Parse {
            path,
            msg: e.to_string(),
        })
    }

    fn save(&self, model: &Model) -> Result<()> {
        let path = self.dir.join("model.json");
        let data = serde_json::to_vec_pretty(model).map_err(|e| Error::Parse {
            path: path.clone(),
            msg: e.to_string(),
        })?;
        Ok(atomicfile::write(&path, &data, 0o644)?)
    }

    /// A consistent snapshot of the model.
    pub fn read(&self) -> Result<Model> {
        let _lock = FileLock::acquire(&self.lock_path())?;
        self.load()
    }

    /// Locks, loads, applies `f` and saves if `f` succeeded.
    pub fn update<T>(&self, f: impl FnOnce(&mut Model) -> Result<T>) -> Result<T> {
        let _lock = FileLock::acquire(&self.lock_path())?;
        let mut model = self.load()?;
        let out = f(&mut model)?;
        self.save(&model)?;
        Ok(out)
    }

    /// Appends one record to the hook log.
    pub fn append_hook_record(&self, rec: &HookRecord) -> Result<()> {
        let path = self.dir.join("hooks.jsonl");
        let _lock = FileLock::acquire(&self.dir.join("hooks.lock"))?;
        let mut line = serde_json::to_string(rec).map_err(|e| Error::Parse {
            path: path.clone(),
            msg: e.to_string(),
        })?;
        line.push('\n');
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        f.write_all(line.as_bytes())
            .map_err(|e| Error::io(&path, e))
    }

    /// The whole hook log, oldest first.
    pub fn hook_log(&self) -> Result<Vec<HookRecord>> {
        let path = self.dir.join("hooks.jsonl");
        let _lock = FileLock::acquire(&self.dir.join("hooks.lock"))?;
        let text = crate::fsutil::read_text(&path)?;
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l).map_err(|e| Error::Parse {
                    path: path.clone(),
                    msg: e.to_string(),
                })
            })
            .collect()
    }

    /// Directory holding per-hook contexts.
    pub fn contexts_dir(&self) -> PathBuf {
        self.dir.join("contexts")
    }

    /// Lock file serialising hooks on one machine.
    pub fn machine_lock(&self, machine: &str) -> Result<FileLock> {
        FileLock::acquire(
            &self
                .dir
                .join("locks")
                .join(format!("machine-{machine}.lock")),
        )
    }
}
