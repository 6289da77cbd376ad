//! Every host path the charm touches, rooted at `KEEPALIVED_CHARM_ROOT` (default `/`).
use std::path::{Path, PathBuf};

/// Name of the environment variable that moves every host path under another root.
pub const ROOT_ENV: &str = "KEEPALIVED_CHARM_ROOT";

/// The systemd unit name of the worker.
pub const SERVICE_NAME: &str = "vrrpd.service";

/// The `.path` unit that starts the status refresh when vrrpd reports a transition.
pub const REFRESH_PATH_NAME: &str = "vrrpd-status-refresh.path";

/// The oneshot that runs `juju-exec -u UNIT hooks/update-status`.
pub const REFRESH_SERVICE_NAME: &str = "vrrpd-status-refresh.service";

/// The systemd unit of the original Python charm's daemon (Debian/Ubuntu `keepalived`
/// package). This charm never installs it; it stops and disables it (see `desired::legacy`).
pub const LEGACY_SERVICE_NAME: &str = "keepalived.service";

/// Host paths, all below one root directory so tests and simulators can run many units on one machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    root: PathBuf,
}

impl Paths {
    /// Paths below `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Paths below `$KEEPALIVED_CHARM_ROOT`, or `/` when it is unset or empty.
    pub fn from_env() -> Self {
        match std::env::var_os(ROOT_ENV) {
            Some(v) if !v.is_empty() => Self::new(v),
            _ => Self::new("/"),
        }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn at(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// The worker configuration (keepalived dialect), mode 0600.
    pub fn worker_config(&self) -> PathBuf {
        self.at("etc/vrrpd/vrrpd.conf")
    }

    /// The worker's systemd unit.
    pub fn unit_file(&self) -> PathBuf {
        self.at("etc/systemd/system").join(SERVICE_NAME)
    }

    /// The persistent sysctl settings.
    pub fn sysctl_file(&self) -> PathBuf {
        self.at("etc/sysctl.d/50-keepalived.conf")
    }

    /// The installed worker binary.
    pub fn worker_binary(&self) -> PathBuf {
        self.at("usr/local/sbin/vrrpd")
    }

    /// The stamp of the installed worker binary (copied from the charm's `bin/vrrpd.sha256`).
    pub fn worker_stamp(&self) -> PathBuf {
        self.at("var/lib/keepalived-charm/vrrpd.sha256")
    }

    /// The worker's JSON state file (written by vrrpd).
    pub fn worker_state(&self) -> PathBuf {
        self.at("run/vrrpd/state.json")
    }

    /// The file vrrpd rewrites on transitions only (`--transitions-file`, next to the state
    /// file: the unit file renders it as `{state_dir}/transitions`).
    pub fn worker_transitions(&self) -> PathBuf {
        self.at("run/vrrpd/transitions")
    }

    /// The status refresh's `.path` unit.
    pub fn refresh_path_unit(&self) -> PathBuf {
        self.at("etc/systemd/system").join(REFRESH_PATH_NAME)
    }

    /// The status refresh's oneshot unit.
    pub fn refresh_service_unit(&self) -> PathBuf {
        self.at("etc/systemd/system").join(REFRESH_SERVICE_NAME)
    }

    /// The script the oneshot runs (mode 0755).
    pub fn refresh_script(&self) -> PathBuf {
        self.at("usr/local/lib/keepalived-charm/status-refresh")
    }

    /// Juju 3's `juju-exec` on a machine.
    pub fn juju_exec(&self) -> PathBuf {
        self.at("usr/bin/juju-exec")
    }

    /// Juju 2.9's `juju-run`.
    pub fn juju_run(&self) -> PathBuf {
        self.at("usr/bin/juju-run")
    }

    /// The flag that says a series upgrade paused the worker.
    pub fn paused_flag(&self) -> PathBuf {
        self.at("var/lib/keepalived-charm/series-upgrade-paused")
    }

    /// The marker that says this unit replaced the previous charm's `keepalived.service`
    /// (its VRRPv2 group may still have members elsewhere).
    pub fn legacy_marker(&self) -> PathBuf {
        self.at("var/lib/keepalived-charm/replaced-keepalived-service")
    }

    /// Everything `stop`/`remove` deletes, in removal order.
    pub fn installed_files(&self) -> Vec<PathBuf> {
        vec![
            self.refresh_path_unit(),
            self.refresh_service_unit(),
            self.refresh_script(),
            self.unit_file(),
            self.worker_config(),
            self.sysctl_file(),
            self.worker_binary(),
            self.worker_stamp(),
            self.paused_flag(),
            self.legacy_marker(),
        ]
    }
}

/// The worker binary shipped inside the charm directory.
pub fn charm_worker_binary(charm_dir: &Path) -> PathBuf {
    charm_dir.join("bin/vrrpd")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_is_below_the_root() {
        let p = Paths::new("/tmp/x");
        let extra = [
            p.worker_state(),
            p.worker_transitions(),
            p.juju_exec(),
            p.juju_run(),
        ];
        for f in p.installed_files().iter().chain(extra.iter()) {
            assert!(f.starts_with("/tmp/x"), "{}", f.display());
        }
        assert_eq!(
            p.worker_config(),
            PathBuf::from("/tmp/x/etc/vrrpd/vrrpd.conf")
        );
        assert_eq!(
            p.unit_file(),
            PathBuf::from("/tmp/x/etc/systemd/system/vrrpd.service")
        );
        assert_eq!(
            Paths::new("/").sysctl_file(),
            PathBuf::from("/etc/sysctl.d/50-keepalived.conf")
        );
    }
}
