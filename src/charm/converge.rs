//! Applies a [`Plan`]: files (atomic, only on change), the service (only the calls needed),
//! relation data (only differing keys) and the status.
use std::path::{Path, PathBuf};

use super::desired::{self, BagWrite, FileSpec, Plan, RunPlan, Status};
use super::files::{remove_if_exists, write_if_changed};
use super::hooktools::{HookToolError, HookTools, LogLevel, StatusLevel};
use super::paths::Paths;
use super::service::{self, ServiceError, ServiceVerb, WorkerService};
use super::workerbin::{self, WorkerBinError};
use super::world::World;

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

    fn stop_and_disable(&mut self, active: bool) -> Result<(), ConvergeError> {
        if active {
            self.verb(ServiceVerb::Stop)?;
        }
        if self.svc.is_enabled()? {
            self.verb(ServiceVerb::Disable)?;
        }
        Ok(())
    }

    /// Applies `plan` against what `world` saw.
    pub fn apply(mut self, plan: Plan, world: &World) -> Result<Report, ConvergeError> {
        match plan {
            Plan::Hold(status) => {
                self.log(
                    LogLevel::Warning,
                    &format!("not applying configuration: {}", status.message),
                );
                self.status(&status)?;
            }
            Plan::Idle { status, clear } => {
                self.stop_and_disable(world.worker.active)?;
                self.relation_writes(&clear)?;
                self.status(&status)?;
            }
            Plan::Pause(status) => {
                if world.worker.active {
                    self.verb(ServiceVerb::Stop)?;
                }
                let flag = FileSpec {
                    path: self.paths.paused_flag(),
                    content: b"worker paused for a series upgrade\n".to_vec(),
                    mode: 0o644,
                };
                self.write(&flag)?;
                self.status(&status)?;
            }
            Plan::Remove => {
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
                self.status(&Status {
                    level: StatusLevel::Maintenance,
                    message: "vrrpd stopped and removed".into(),
                })?;
            }
            Plan::Run(run) => self.run(*run, world)?,
        }
        Ok(self.report)
    }

    fn run(&mut self, run: RunPlan, world: &World) -> Result<(), ConvergeError> {
        let bin_changed = workerbin::install(&world.env.charm_dir, self.paths)?;
        if bin_changed {
            self.report.files_changed.push(self.paths.worker_binary());
        }
        let unit_changed = self.write(&run.unit)?;
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
        if unit_changed {
            self.report.service_calls.push("daemon-reload".into());
            self.svc.daemon_reload()?;
        }
        if !self.svc.is_enabled()? {
            self.verb(ServiceVerb::Enable)?;
        }
        // A new binary or unit needs a restart (SIGTERM: the worker hands the VIP over
        // make-before-break, so clients see no gap). A new configuration only needs SIGHUP: the
        // worker applies soft changes in place and replaces changed instances make-before-break,
        // so the VIP does not move needlessly (ARCHITECTURE.md, vrrpd task layout).
        let action = if !world.worker.active {
            Some(ServiceVerb::Start)
        } else if unit_changed || bin_changed {
            Some(ServiceVerb::Restart)
        } else if conf_changed {
            Some(ServiceVerb::Reload)
        } else {
            None
        };
        let mut running = world.worker.active;
        if let Some(verb) = action {
            let why = match (bin_changed, unit_changed, conf_changed) {
                (true, _, _) => "new worker binary",
                (_, true, _) => "unit file changed",
                (_, _, true) => "configuration changed",
                _ => "worker was not running",
            };
            self.log(LogLevel::Info, &format!("vrrpd: {} ({why})", verb.as_str()));
            if let Err(e) = self.verb(verb) {
                self.log(LogLevel::Error, &e.to_string());
                return self.status(&Status {
                    level: StatusLevel::Blocked,
                    message: format!("vrrpd failed to {}; see journalctl -u vrrpd", verb.as_str()),
                });
            }
            running = self.svc.is_active()?;
        }
        if let Some(w) = &run.peer_publish {
            self.relation_writes(std::slice::from_ref(w))?;
        }
        if !running {
            return self.status(&Status {
                level: StatusLevel::Blocked,
                message: "vrrpd is not running; see journalctl -u vrrpd".into(),
            });
        }
        self.relation_writes(&run.publish)?;
        let fresh = matches!(action, Some(ServiceVerb::Start | ServiceVerb::Restart));
        let state = if fresh {
            None
        } else {
            world.worker.state.as_ref()
        };
        self.status(&desired::run_status(
            state,
            run.cert_note.as_ref(),
            run.strict_san_check,
        ))
    }
}
