//! Test lab: the real `keepalived-charm` binary as `dispatch` in a temp charm dir, run by the
//! juju-emu runner, with per-unit roots and fake systemctl/sysctl (tests/fakes) first on PATH.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use juju_emu::{locate_or_build_hook_tool, HookRecord, Juju, RunnerOptions};

pub mod tls;

/// The project root.
pub fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One emulated model with principal, consumers and keepalived.
pub struct Lab {
    pub dir: LabDir,
    pub juju: Juju,
}

/// A lab's directory, removed on drop. Unlike a `TempDir` it can be re-created at the same
/// path (see [`Lab::restore`]): the model stores absolute paths.
pub struct LabDir(PathBuf);

impl LabDir {
    /// A new empty directory below the system temp dir.
    pub fn temp() -> LabDir {
        LabDir(tempfile::tempdir().unwrap().keep())
    }
    /// Takes ownership of an existing directory.
    pub fn adopt(path: PathBuf) -> LabDir {
        LabDir(path)
    }
    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for LabDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Copies a directory tree (`cp -a`); `to` must not exist.
pub fn copy_tree(from: &Path, to: &Path) {
    let st = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(st.success(), "cp -a {} {}", from.display(), to.display());
}

/// How a lab's hooks run: the hook tools, the fakes first on PATH, per-unit roots.
fn runner_options(dir: &Path) -> RunnerOptions {
    let fakes = dir.join("fakebin");
    let mut opts = RunnerOptions::new(locate_or_build_hook_tool().unwrap());
    opts.path_prefix.push(fakes);
    opts.extra_env.push((
        "KEEPALIVED_TEST_ROOTS".into(),
        dir.join("roots").display().to_string(),
    ));
    opts.extra_env.push((
        "KEEPALIVED_TEST_VRRPD".into(),
        real_vrrpd().display().to_string(),
    ));
    opts.command_prefix = vec![project()
        .join("tests/fakes/per-unit-root")
        .display()
        .to_string()];
    opts
}

/// Writes an executable file.
pub fn write_exe(path: &Path, body: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Builds a keepalived charm dir: the real dispatcher, our metadata, and a fake worker binary
/// with its stamp.
pub fn make_charm(dir: &Path, worker_body: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    for f in ["metadata.yaml", "config.yaml", "actions.yaml"] {
        std::fs::copy(project().join(f), dir.join(f)).unwrap();
    }
    symlink(env!("CARGO_BIN_EXE_keepalived-charm"), dir.join("dispatch")).unwrap();
    write_exe(&dir.join("bin/vrrpd"), worker_body);
    // `cargo xtask pack` stamps the worker with its SHA-256; the charm compares stamps only.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::hash::Hasher::write(&mut h, worker_body.as_bytes());
    let stamp = format!("{:016x}\n", std::hash::Hasher::finish(&h));
    std::fs::write(dir.join("bin/vrrpd.sha256"), stamp).unwrap();
    dir.to_path_buf()
}

fn make_plain_charm(dir: &Path, metadata: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("metadata.yaml"), metadata).unwrap();
    dir.to_path_buf()
}

/// Fake workers: never run as the daemon (systemctl is fake), but the charm's certificate
/// check runs `$CHARM_DIR/bin/vrrpd --probe-certificate …`, which the real vrrpd answers.
pub const WORKER_V1: &str = "#!/bin/sh\n# fake vrrpd v1 (never run: systemctl is fake)\n\
    [ \"$1\" = --probe-certificate ] && exec \"$KEEPALIVED_TEST_VRRPD\" \"$@\"\nexit 0\n";
pub const WORKER_V2: &str = "#!/bin/sh\n# fake vrrpd v2 (never run: systemctl is fake)\n\
    [ \"$1\" = --probe-certificate ] && exec \"$KEEPALIVED_TEST_VRRPD\" \"$@\"\nexit 0\n";

/// The real `vrrpd` for the fake workers' `--probe-certificate`: `$KEEPALIVED_TEST_VRRPD`, else
/// the workspace's `target/debug/vrrpd` (`cargo test --workspace` builds it; alone: `cargo
/// build -p vrrpd`). Panics with that advice when there is none.
pub fn real_vrrpd() -> PathBuf {
    if let Some(p) = std::env::var_os("KEEPALIVED_TEST_VRRPD") {
        return PathBuf::from(p);
    }
    // The test executable is target/debug/deps/NAME-HASH.
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .ancestors()
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n == "debug" || n == "release")
        })
        .map(|p| p.join("vrrpd"))
        .unwrap();
    assert!(
        bin.is_file(),
        "{} missing: run `cargo build -p vrrpd` (or set KEEPALIVED_TEST_VRRPD)",
        bin.display()
    );
    bin
}

impl Lab {
    /// A model with `kubeapi-load-balancer` (n units), `kubernetes-control-plane`,
    /// `kubernetes-worker` (1 unit each, no hooks) and `keepalived` related over juju-info.
    pub fn new(lb_units: usize) -> Lab {
        Lab::build(
            lb_units,
            |dir| make_charm(&dir.join("charm"), WORKER_V1),
            &[],
        )
    }

    /// Like [`Lab::new`], with the `keepalived` application deployed from the charm directory
    /// that `charm` builds inside the lab directory (e.g. the original charm, to refresh from).
    pub fn with_keepalived(lb_units: usize, charm: impl FnOnce(&Path) -> PathBuf) -> Lab {
        Lab::build(lb_units, charm, &[])
    }

    /// Like [`Lab::new`], with `charm` (e.g. an unpacked `.charm`) as the keepalived charm and
    /// its hooks run through `handler_wrapper` (e.g. `["qemu-aarch64-static"]`; empty: the
    /// emulator's default, `$JUJU_EMU_HANDLER_WRAPPER`).
    pub fn with_charm(lb_units: usize, charm: &Path, handler_wrapper: &[&str]) -> Lab {
        Lab::build(lb_units, |_| charm.to_path_buf(), handler_wrapper)
    }

    fn build(
        lb_units: usize,
        charm: impl FnOnce(&Path) -> PathBuf,
        handler_wrapper: &[&str],
    ) -> Lab {
        let dir = LabDir::temp();
        let fakes = dir.path().join("fakebin");
        std::fs::create_dir_all(&fakes).unwrap();
        for f in ["systemctl", "sysctl"] {
            std::fs::copy(project().join("tests/fakes").join(f), fakes.join(f)).unwrap();
        }
        let mut opts = runner_options(dir.path());
        if !handler_wrapper.is_empty() {
            opts.handler_wrapper = handler_wrapper.iter().map(|s| s.to_string()).collect();
        }
        let juju = Juju::create(&dir.path().join("model"), opts).unwrap();
        let charm = charm(dir.path());
        let lb = make_plain_charm(
            &dir.path().join("lb"),
            "name: kubeapi-load-balancer\nsummary: s\ndescription: d\nprovides:\n  website:\n    interface: http\n",
        );
        let cp = make_plain_charm(
            &dir.path().join("cp"),
            "name: kubernetes-control-plane\nsummary: s\ndescription: d\nrequires:\n  loadbalancer:\n    interface: public-address\n",
        );
        let worker = make_plain_charm(
            &dir.path().join("worker"),
            "name: kubernetes-worker\nsummary: s\ndescription: d\nrequires:\n  kube-api-endpoint:\n    interface: http\n",
        );
        juju.deploy("kubeapi-load-balancer", &lb, lb_units).unwrap();
        juju.deploy("kubernetes-control-plane", &cp, 1).unwrap();
        juju.deploy("kubernetes-worker", &worker, 1).unwrap();
        juju.deploy("keepalived", &charm, 0).unwrap();
        juju.relate("keepalived:juju-info", "kubeapi-load-balancer")
            .unwrap();
        Lab { dir, juju }
    }

    /// A lab copied from `pristine` (a [`copy_tree`] of a lab that lived at `at`) back to `at`,
    /// so the model's absolute paths hold again. Much cheaper than settling a new model.
    pub fn restore(pristine: &Path, at: &Path) -> Lab {
        let _ = std::fs::remove_dir_all(at);
        copy_tree(pristine, at);
        let dir = LabDir::adopt(at.to_path_buf());
        let juju = Juju::open(&dir.path().join("model"), runner_options(dir.path())).unwrap();
        Lab { dir, juju }
    }

    /// Relates the two legacy consumers (`loadbalancer` to the control plane, `website` to
    /// the worker) and settles; returns their relation ids.
    pub fn relate_consumers(&mut self) -> (u64, u64) {
        let lb = self
            .juju
            .relate("keepalived:loadbalancer", "kubernetes-control-plane")
            .unwrap();
        let web = self
            .juju
            .relate("keepalived:website", "kubernetes-worker")
            .unwrap();
        self.settle();
        (lb, web)
    }

    /// Settles a fresh deployment and checks what every new subordinate unit must show: the
    /// new-unit hook order (`install` first, then the `juju-info` relation, leadership,
    /// `config-changed`, `start`) and the unconfigured status, nothing written, no worker.
    /// Returns the hook records and the units.
    pub fn settle_new_units(&mut self) -> (Vec<HookRecord>, Vec<String>) {
        let first = self.settle();
        let units = self.units();
        for u in &units {
            let seq = juju_emu::hooks_of(&first, u);
            assert_eq!(seq.first(), Some(&"install"), "{u}: {seq:?}");
            let leadership = ["leader-elected", "leader-settings-changed"];
            assert!(leadership.iter().any(|h| seq.contains(h)), "{u}: {seq:?}");
            for hook in ["juju-info-relation-created", "config-changed", "start"] {
                assert!(seq.contains(&hook), "{u}: no {hook} in {seq:?}");
            }
            assert_eq!(
                self.status(u),
                ("blocked".into(), "Please configure virtual ips".into())
            );
            assert!(!self.file(u, CONF).exists(), "{u}");
            assert!(!self.active(u), "{u}");
        }
        (first, units)
    }

    /// Runs hooks until idle and asserts that every hook exited 0.
    pub fn settle(&mut self) -> Vec<HookRecord> {
        let recs = self.juju.settle().unwrap();
        recs.iter().for_each(HookRecord::assert_ok);
        recs
    }

    /// The host root of a unit.
    pub fn root(&self, unit: &str) -> PathBuf {
        self.dir.path().join("roots").join(unit.replace('/', "-"))
    }

    /// A file below a unit's root.
    pub fn file(&self, unit: &str, rel: &str) -> PathBuf {
        self.root(unit).join(rel)
    }

    /// The state-changing systemctl calls of a unit (queries left out).
    pub fn service_calls(&self, unit: &str) -> Vec<String> {
        let log =
            std::fs::read_to_string(self.file(unit, "fake-systemd/calls.log")).unwrap_or_default();
        log.lines()
            .filter(|l| !l.starts_with("is-active") && !l.starts_with("is-enabled"))
            .map(str::to_string)
            .collect()
    }

    /// Whether the fake systemd thinks the worker runs.
    pub fn active(&self, unit: &str) -> bool {
        self.file(unit, "fake-systemd/vrrpd.service.active")
            .exists()
    }

    /// Whether the fake systemd has the worker enabled (started at boot).
    pub fn enabled(&self, unit: &str) -> bool {
        self.file(unit, "fake-systemd/vrrpd.service.enabled")
            .exists()
    }

    /// Reboots a unit's machine as far as the fake systemd goes: every unit stops, then the
    /// enabled ones start (what `WantedBy=multi-user.target` does at boot). Juju runs `start`
    /// after a reboot; run it with [`Lab::run_start_hook`].
    pub fn boot(&self, unit: &str) {
        let d = self.file(unit, "fake-systemd");
        let markers: Vec<PathBuf> = std::fs::read_dir(&d)
            .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        for m in &markers {
            if m.extension().is_some_and(|x| x == "active") {
                std::fs::remove_file(m).unwrap();
            }
        }
        for m in &markers {
            if m.extension().is_some_and(|x| x == "enabled") {
                std::fs::write(m.with_extension("active"), "").unwrap();
            }
        }
    }

    /// Runs the `start` hook on `unit` now, as Juju does after a machine reboot; asserts exit 0.
    pub fn run_start_hook(&self, unit: &str) -> HookRecord {
        let spec = juju_emu::HookSpec::simple(juju_emu::HookKind::Start);
        let r = self.juju.run_hook(unit, &spec).unwrap();
        assert!(
            r.ok(),
            "start on {unit} failed:\n{}\n{}",
            r.stdout,
            r.stderr
        );
        r
    }

    /// The sysctl calls of a unit.
    pub fn sysctl_calls(&self, unit: &str) -> Vec<String> {
        let log = std::fs::read_to_string(self.file(unit, "fake-sysctl.log")).unwrap_or_default();
        log.lines().map(str::to_string).collect()
    }

    /// (status, message) of a unit's workload.
    pub fn status(&self, unit: &str) -> (String, String) {
        let m = self.juju.model().unwrap();
        let s = &m.units[unit].workload_status;
        (s.status.clone(), s.message.clone())
    }

    /// The committed bag of `unit` on relation `id`.
    pub fn data(&self, id: u64, unit: &str) -> BTreeMap<String, String> {
        self.juju.relation_data(id, unit).unwrap()
    }

    /// Current keepalived unit names.
    pub fn units(&self) -> Vec<String> {
        let m = self.juju.model().unwrap();
        m.units
            .values()
            .filter(|u| u.app == "keepalived")
            .map(|u| u.name.clone())
            .collect()
    }

    /// Sets keepalived config.
    pub fn config(&self, values: &[(&str, &str)]) {
        self.juju.set_config("keepalived", values).unwrap();
    }

    /// File mode bits.
    pub fn mode(&self, unit: &str, rel: &str) -> u32 {
        std::fs::metadata(self.file(unit, rel))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    }

    /// File content.
    pub fn read(&self, unit: &str, rel: &str) -> String {
        std::fs::read_to_string(self.file(unit, rel))
            .unwrap_or_else(|e| panic!("{rel} of {unit}: {e}"))
    }
}

pub const CONF: &str = "etc/vrrpd/vrrpd.conf";
pub const UNIT: &str = "etc/systemd/system/vrrpd.service";
pub const SYSCTL: &str = "etc/sysctl.d/50-keepalived.conf";
pub const BIN: &str = "usr/local/sbin/vrrpd";
