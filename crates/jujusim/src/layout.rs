//! Where things live in a model directory.

use std::path::{Path, PathBuf};

/// The environment variable naming the model directory.
pub const MODEL_DIR_ENV: &str = "JUJUSIM_MODEL_DIR";
/// The default model directory when neither `--model-dir` nor the variable is given.
pub const DEFAULT_MODEL_DIR: &str = "/tmp/jujusim/default";

/// A model directory: the juju-emu store in `model/`, the controller socket, charms, and one
/// directory per machine (`root/` for the charm's files, `bin/` for `systemctl`, `log/`).
#[derive(Debug, Clone)]
pub struct ModelDir {
    root: PathBuf,
}

impl ModelDir {
    /// Wraps `root` (not created).
    pub fn new(root: impl Into<PathBuf>) -> ModelDir {
        ModelDir { root: root.into() }
    }

    /// `--model-dir`, else `$JUJUSIM_MODEL_DIR`, else [`DEFAULT_MODEL_DIR`].
    pub fn resolve(flag: Option<&Path>) -> ModelDir {
        let p = flag
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os(MODEL_DIR_ENV).map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_MODEL_DIR));
        let p = if p.is_absolute() {
            p
        } else {
            std::env::current_dir().map(|c| c.join(&p)).unwrap_or(p)
        };
        ModelDir::new(p)
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// The juju-emu store.
    pub fn store(&self) -> PathBuf {
        self.root.join("model")
    }
    /// The controller's unix socket.
    pub fn socket(&self) -> PathBuf {
        self.root.join("controller.sock")
    }
    /// The controller's log.
    pub fn controller_log(&self) -> PathBuf {
        self.root.join("controller.log")
    }
    /// The controller's pid file.
    pub fn pid_file(&self) -> PathBuf {
        self.root.join("controller.pid")
    }
    /// Unpacked charm of `app`.
    pub fn charm(&self, app: &str) -> PathBuf {
        self.root.join("charms").join(app)
    }
    /// Per-machine directory.
    pub fn machine(&self, id: &str) -> PathBuf {
        self.root.join("machines").join(id)
    }
    /// The machine's root directory (`KEEPALIVED_CHARM_ROOT`).
    pub fn machine_root(&self, id: &str) -> PathBuf {
        self.machine(id).join("root")
    }
    /// The machine's extra PATH directory (holds `systemctl`).
    pub fn machine_bin(&self, id: &str) -> PathBuf {
        self.machine(id).join("bin")
    }
    /// Present when machines are real-systemd containers: holds the root file system's path.
    pub fn systemd_rootfs_file(&self) -> PathBuf {
        self.root.join("systemd-rootfs")
    }
    /// The host pid of a container machine's init (hooks enter it with nsenter).
    pub fn machine_leader(&self, id: &str) -> PathBuf {
        self.machine(id).join("container-leader")
    }
    /// A container machine's own state (overlay layers, console log).
    pub fn machine_container(&self, id: &str) -> PathBuf {
        self.machine(id).join("container")
    }
    /// The machine's service logs.
    pub fn machine_log(&self, id: &str) -> PathBuf {
        self.machine(id).join("log")
    }
}
