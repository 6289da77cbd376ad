//! Applies a [`Plan`]: files (atomic, only on change), the service (only the calls needed),
//! relation data (only differing keys) and the status.
use std::path::{Path, PathBuf};

use super::desired::{self, BagWrite, Changed, FileSpec, LegacyStop, Plan, Prelude, RunPlan};
use super::files::{remove_if_exists, write_if_changed};
use super::hooktools::{HookToolError, HookTools, LogLevel};
use super::paths::{Paths, REFRESH_PATH_NAME};
use super::service::{self, ServiceError, ServiceVerb, WorkerService, LEGACY};
use super::status::{self, RunNotes, Status, WorkerOutcome};
use super::workerbin::{self, WorkerBinError};
use super::workerstate;
use super::world::{World, STATE_PUBLISHED_VIP};

/// How long a hook waits for a just started worker to listen before it stops the previous
/// charm's daemon (its priority-0 advert must find the worker's backup listening).
pub const LISTEN_BOUND: std::time::Duration = std::time::Duration::from_secs(3);

/// Errors that make the hook fail (Juju retries it).
#[derive(Debug, thiserror::Error)]
pub enum ConvergeError {
    /// A host file could not be written or removed.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The worker binary could not be installed.
    #[error(transparent)]
    WorkerBin(#[from] WorkerBinError),
    /// A hook tool failed.
    #[error(transparent)]
    HookTool(#[from] HookToolError),
    /// systemctl could not be run at all, or a stop/disable failed.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ConvergeError + '_ {
    move |source| ConvergeError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// What the hook did, for logs and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Files written or removed.
    pub files_changed: Vec<PathBuf>,
    /// Service verbs run.
    pub service_calls: Vec<String>,
    /// Relations written.
    pub relations_written: Vec<String>,
}

/// Applies plans.
pub struct Converger<'a> {
    tools: &'a HookTools,
    paths: &'a Paths,
    svc: WorkerService,
    report: Report,
}

impl<'a> Converger<'a> {
    /// A converger using these tools and paths.
    pub fn new(tools: &'a HookTools, paths: &'a Paths) -> Self {
        Self {
            tools,
            paths,
            svc: WorkerService,
            report: Report::default(),
        }
    }

    fn log(&self, level: LogLevel, msg: &str) {
        // Logging must never fail a hook.
        if self.tools.juju_log(level, msg).is_err() {
            eprintln!("{msg}");
        }
    }

    fn status(&self, s: &Status) -> Result<(), ConvergeError> {
        Ok(self.tools.status_set(s.level, &s.message)?)
    }

    /// Sets the unit status `unit`, then (on the leader) the application status: `app`, else
    /// `unit`.
    fn statuses(
        &self,
        world: &World,
        unit: &Status,
        app: Option<&Status>,
    ) -> Result<(), ConvergeError> {
        self.status(unit)?;
        self.app_status(world, unit, app)
    }

    /// The leader's application status: `app`, else the unit's own (a status the leader set
    /// stays on the application until it sets another, so every leader hook sets one).
    fn app_status(
        &self,
        world: &World,
        unit: &Status,
        app: Option<&Status>,
    ) -> Result<(), ConvergeError> {
        if !world.is_leader {
            return Ok(());
        }
        let s = app.unwrap_or(unit);
        Ok(self.tools.status_set_application(s.level, &s.message)?)
    }

    fn write(&mut self, f: &FileSpec) -> Result<bool, ConvergeError> {
        let changed = write_if_changed(&f.path, &f.content, f.mode).map_err(io_err(&f.path))?;
        if changed {
            self.report.files_changed.push(f.path.clone());
        }
        Ok(changed)
    }

    fn remove(&mut self, p: &Path) -> Result<bool, ConvergeError> {
        let removed = remove_if_exists(p).map_err(io_err(p))?;
        if removed {
            self.report.files_changed.push(p.to_path_buf());
        }
        Ok(removed)
    }

    fn verb(&mut self, v: ServiceVerb) -> Result<(), ServiceError> {
        self.report.service_calls.push(v.as_str().to_string());
        self.svc.verb(v)
    }

    fn relation_writes(&mut self, writes: &[BagWrite]) -> Result<(), ConvergeError> {
        for w in writes {
            self.tools.relation_set(&w.relation_id, &w.changes)?;
            let keys: Vec<&str> = w.changes.keys().map(String::as_str).collect();
            self.log(
                LogLevel::Info,
                &format!("updated {} keys {}", w.relation_id, keys.join(",")),
            );
            self.report.relations_written.push(w.relation_id.clone());
        }
        Ok(())
    }

    /// Enables and starts the status refresh's `.path` unit if it is not. A failure is logged,
    /// never fatal: the status then follows at the next `update-status`.
    fn refresh_on(&mut self) {
        let unit = service::Unit(REFRESH_PATH_NAME);
        for (verb, done) in [
            (ServiceVerb::Enable, unit.is_enabled()),
            (ServiceVerb::Start, unit.is_active()),
        ] {
            if matches!(done, Ok(true)) {
                continue;
            }
            self.report
                .service_calls
                .push(format!("{} {REFRESH_PATH_NAME}", verb.as_str()));
            if let Err(e) = unit.verb(verb) {
                self.log(LogLevel::Warning, &format!("status refresh: {e}"));
                return;
            }
        }
    }

    /// Stops and disables the status refresh's `.path` unit (teardown).
    fn refresh_off(&mut self) {
        let unit = service::Unit(REFRESH_PATH_NAME);
        for (verb, on) in [
            (ServiceVerb::Stop, unit.is_active()),
            (ServiceVerb::Disable, unit.is_enabled()),
        ] {
            if matches!(on, Ok(true)) {
                self.report
                    .service_calls
                    .push(format!("{} {REFRESH_PATH_NAME}", verb.as_str()));
                if let Err(e) = unit.verb(verb) {
                    self.log(LogLevel::Warning, &format!("status refresh: {e}"));
                }
            }
        }
    }

    fn stop_and_disable(&mut self, active: bool) -> Result<(), ConvergeError> {
        if active {
            self.verb(ServiceVerb::Stop)?;
        }
        if self.svc.is_enabled()? {
            self.verb(ServiceVerb::Disable)?;
        }
        Ok(())
    }

    /// Stops and disables the previous charm's `keepalived.service` (see
    /// [`desired::legacy_stop`]), logs it and remembers it (the marker keeps the worker
    /// VRRPv2-compatible in later hooks). Its files and `/etc/keepalived` stay.
    fn replace_legacy(&mut self, l: LegacyStop, remember: bool) -> Result<(), ConvergeError> {
        let name = LEGACY.0;
        if l.stop {
            self.report.service_calls.push(format!("stop {name}"));
            LEGACY.verb(ServiceVerb::Stop)?;
        }
        if l.disable {
            self.report.service_calls.push(format!("disable {name}"));
            LEGACY.verb(ServiceVerb::Disable)?;
        }
        let done = match (l.stop, l.disable) {
            (true, true) => "stopped and disabled",
            (true, false) => "stopped",
            _ => "disabled",
        };
        self.log(
            LogLevel::Warning,
            &format!(
                "{done} {name} (the previous charm's keepalived daemon, replaced by vrrpd); \
                 not removed, /etc/keepalived left as it is"
            ),
        );
        if remember {
            self.write(&FileSpec {
                path: self.paths.legacy_marker(),
                content: format!("{name} {done} by the keepalived charm\n").into_bytes(),
                mode: 0o644,
            })?;
        }
        Ok(())
    }

    /// Waits (at most [`LISTEN_BOUND`]) until the just started worker reports every instance
    /// up (BACKUP or MASTER) in its state file, i.e. it listens to adverts; `systemctl start`
    /// of a `Type=simple` unit returns before that. Returns whether it did.
    fn await_worker_listening(&self) -> bool {
        let path = self.paths.worker_state();
        let deadline = std::time::Instant::now() + LISTEN_BOUND;
        loop {
            if let Ok(Some(st)) = workerstate::read(&path) {
                if workerstate::all_up(&st) && workerstate::writer_alive(&st, Path::new("/proc")) {
                    return true;
                }
            }
            if std::time::Instant::now() >= deadline {
                self.log(
                    LogLevel::Warning,
                    &format!("vrrpd did not report its instances up within {LISTEN_BOUND:?}"),
                );
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// Carries out the hook's [`Prelude`].
    fn prelude(&mut self, p: &Prelude) -> Result<(), ConvergeError> {
        if p.clear_pause {
            let flag = self.paths.paused_flag();
            remove_if_exists(&flag).map_err(io_err(&flag))?;
        }
        if let Some(v) = p.app_version {
            self.tools.application_version_set(v)?;
        }
        Ok(())
    }

    /// Applies `prelude`, then `plan` (and `legacy`, from [`desired::legacy_stop`]) against
    /// what `world` saw.
    pub fn apply(
        mut self,
        prelude: &Prelude,
        plan: Plan,
        legacy: Option<LegacyStop>,
        world: &World,
    ) -> Result<Report, ConvergeError> {
        self.prelude(prelude)?;
        // Run stops the old daemon itself, once the worker runs (the shortest gap).
        if let (Some(l), false) = (legacy, matches!(plan, Plan::Run(_))) {
            self.replace_legacy(l, !matches!(plan, Plan::Remove))?;
        }
        match plan {
            Plan::Hold(status) => {
                self.log(
                    LogLevel::Warning,
                    &format!("not applying configuration: {}", status.message),
                );
                self.relation_writes(&desired::hold_writes(world))?;
                self.statuses(world, &status, None)?;
            }
            Plan::Idle { status, clear } => {
                self.stop_and_disable(world.worker.active)?;
                self.relation_writes(&clear)?;
                if world.published_vip.is_some() {
                    self.tools.state_delete(STATE_PUBLISHED_VIP)?;
                }
                self.statuses(world, &status, None)?;
            }
            Plan::Pause(status) => {
                // Stopped *and* disabled: the reboot in the middle of a release upgrade must
                // not start the worker while Juju holds this unit's hooks back
                // (post-series-upgrade enables and starts it again).
                self.stop_and_disable(world.worker.active)?;
                // Publications stay while paused (the unit runs no hooks until `complete`).
                self.relation_writes(&desired::hold_writes(world))?;
                let flag = FileSpec {
                    path: self.paths.paused_flag(),
                    content: b"worker paused for a series upgrade\n".to_vec(),
                    mode: 0o644,
                };
                self.write(&flag)?;
                self.statuses(world, &status, None)?;
            }
            Plan::Remove => {
                self.refresh_off();
                self.stop_and_disable(world.worker.active)?;
                let unit_removed = self.remove(&self.paths.unit_file())?;
                for p in self
                    .paths
                    .installed_files()
                    .into_iter()
                    .chain([self.paths.worker_state()])
                {
                    self.remove(&p)?;
                }
                if unit_removed {
                    self.report.service_calls.push("daemon-reload".into());
                    self.svc.daemon_reload()?;
                }
                self.status(&status::removed())?;
            }
            Plan::Run(run) => self.run(*run, legacy, world)?,
        }
        Ok(self.report)
    }

    fn run(
        &mut self,
        run: RunPlan,
        legacy: Option<LegacyStop>,
        world: &World,
    ) -> Result<(), ConvergeError> {
        let changed = self.install(&run, world)?;
        let action = desired::service_action(world.worker.active, changed);
        let notes = RunNotes {
            legacy_note: run.legacy_note,
            cert_note: run.cert_note.as_ref(),
            strict_san_check: run.strict_san_check,
            port: run.port,
            vip: run.vip,
            peers: &run.peer_reports,
        };
        let mut running = world.worker.active;
        if let Some((verb, why)) = action {
            self.log(LogLevel::Info, &format!("vrrpd: {} ({why})", verb.as_str()));
            if let Err(e) = self.verb(verb) {
                self.log(LogLevel::Error, &e.to_string());
                let failed = WorkerOutcome::Failed(verb);
                let unit = status::after_run(failed, notes, None);
                return self.statuses(world, &unit, run.app_status.as_ref());
            }
            running = self.svc.is_active()?;
        }
        let fresh = matches!(action, Some((ServiceVerb::Start | ServiceVerb::Restart, _)));
        // The previous charm's daemon goes once the worker runs (desired::legacy_stop).
        if let Some(l) = legacy {
            self.legacy_after_run(l, running, fresh)?;
        }
        if let Some(w) = &run.peer_publish {
            self.relation_writes(std::slice::from_ref(w))?;
        }
        if !running {
            let unit = status::after_run(WorkerOutcome::NotRunning, notes, None);
            return self.statuses(world, &unit, run.app_status.as_ref());
        }
        self.publish(&run, world)?;
        let unit = status::after_run(
            WorkerOutcome::Running { fresh },
            notes,
            world.worker.state.as_ref(),
        );
        self.statuses(world, &unit, run.app_status.as_ref())
    }

    /// Installs the worker binary and writes the plan's files (applying a changed sysctl
    /// file), makes the state file's directory, reloads systemd after a unit change and
    /// enables the worker and the status refresh. Returns what changed.
    fn install(&mut self, run: &RunPlan, world: &World) -> Result<Changed, ConvergeError> {
        let bin_changed = workerbin::install(&world.env.charm_dir, self.paths)?;
        if bin_changed {
            self.report.files_changed.push(self.paths.worker_binary());
        }
        let unit_changed = self.write(&run.unit)?;
        let mut refresh_changed = false;
        for f in &run.refresh {
            refresh_changed |= self.write(f)?;
        }
        let conf_changed = self.write(&run.config)?;
        if self.write(&run.sysctl)? {
            if let Err(e) = service::sysctl_apply(&run.sysctl.path) {
                self.log(LogLevel::Warning, &format!("sysctl: {e}"));
            }
        }
        let state = self.paths.worker_state();
        if let Some(dir) = state.parent() {
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        if unit_changed || refresh_changed {
            self.report.service_calls.push("daemon-reload".into());
            self.svc.daemon_reload()?;
        }
        if !self.svc.is_enabled()? {
            self.verb(ServiceVerb::Enable)?;
        }
        self.refresh_on();
        Ok(Changed {
            binary: bin_changed,
            unit: unit_changed,
            config: conf_changed,
        })
    }

    /// Replaces the previous charm's daemon once the worker runs, after waiting for a
    /// `fresh`ly (re)started worker to listen; else leaves it running, with a warning.
    fn legacy_after_run(
        &mut self,
        l: LegacyStop,
        running: bool,
        fresh: bool,
    ) -> Result<(), ConvergeError> {
        if running {
            if fresh {
                self.await_worker_listening();
            }
            self.replace_legacy(l, true)
        } else {
            self.log(
                LogLevel::Warning,
                &format!("{} left running: vrrpd is not running", LEGACY.0),
            );
            Ok(())
        }
    }

    /// Publishes the running worker's relation data and remembers the published VIP.
    fn publish(&mut self, run: &RunPlan, world: &World) -> Result<(), ConvergeError> {
        self.relation_writes(&run.publish)?;
        if world.published_vip.as_deref() != Some(run.published_vip.as_str()) {
            let remember = super::hooktools::Bag::from([(
                STATE_PUBLISHED_VIP.to_string(),
                run.published_vip.clone(),
            )]);
            self.tools.state_set(&remember)?;
        }
        Ok(())
    }
}
