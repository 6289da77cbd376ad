//! The controller: a background process per model directory that owns everything long-lived —
//! the network lab (one namespace per machine plus extra hosts, on one bridge that lives in its
//! own namespace), the hook scheduler, the services, the update-status timer — and removes all of
//! it when told to stop, on SIGTERM/SIGINT, and (for a crashed predecessor) at startup.

pub mod exec;
mod net;
mod scheduler;
pub use scheduler::{hook_options, HOOK_TIMEOUT};
mod server;
pub mod services;

use crate::error::{Error, Result};
use crate::layout::ModelDir;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// The environment variable that sets the update-status interval in seconds (default 10).
pub const UPDATE_STATUS_ENV: &str = "JUJUSIM_UPDATE_STATUS_INTERVAL";

static SIGNALLED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    SIGNALLED.store(true, Ordering::SeqCst);
}

/// State shared by the controller's threads.
pub(crate) struct Shared {
    pub md: ModelDir,
    pub exe: PathBuf,
    pub net: net::Net,
    pub services: services::Supervisor,
    /// Machine threads currently deciding or running a hook.
    pub busy: AtomicUsize,
    pub stop: AtomicBool,
    pub update_status_ms: AtomicU64,
    generation: Mutex<u64>,
    wake: Condvar,
}

impl Shared {
    /// Wakes every waiting thread (the model may have changed).
    pub fn kick(&self) {
        let mut g = self.generation.lock().unwrap_or_else(|p| p.into_inner());
        *g += 1;
        self.wake.notify_all();
    }

    /// Sleeps until kicked or `d` passed.
    pub fn nap(&self, d: Duration) {
        let g = self.generation.lock().unwrap_or_else(|p| p.into_inner());
        let start = *g;
        let _ = self
            .wake
            .wait_timeout_while(g, d, |g| *g == start && !self.stopping());
    }

    /// Shutdown requested?
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst) || SIGNALLED.load(Ordering::SeqCst)
    }

    pub fn juju(&self) -> Result<juju_emu::Juju> {
        let opts = juju_emu::RunnerOptions::new(&self.exe);
        Ok(juju_emu::Juju::open(&self.md.store(), opts)?)
    }
}

/// Runs the controller in the foreground until it is told to stop. Needs root.
pub fn run(md: ModelDir) -> Result<()> {
    netlab::require_root()?;
    std::fs::create_dir_all(md.root()).map_err(|e| Error::io(md.root(), e))?;
    let exe = std::env::current_exe().map_err(|e| Error::io("/proc/self/exe", e))?;
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        #[allow(unsafe_code)]
        unsafe {
            libc::signal(sig, on_signal as *const () as libc::sighandler_t);
        }
    }
    let secs: f64 = std::env::var(UPDATE_STATUS_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|v: &f64| v.is_finite() && *v >= 0.0)
        .unwrap_or(10.0);
    let swept = crate::sim::sweep_stale()?;
    if !swept.is_empty() {
        eprintln!("controller: swept stale namespaces {swept:?}");
    }
    let shared = std::sync::Arc::new(Shared {
        net: net::Net::new(&md)?,
        md: md.clone(),
        exe,
        services: services::Supervisor::default(),
        busy: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        update_status_ms: AtomicU64::new((secs * 1000.0) as u64),
        generation: Mutex::new(0),
        wake: Condvar::new(),
    });
    let pid = std::process::id().to_string();
    crate::charmpkg::write_atomic(&md.pid_file(), pid.as_bytes())?;
    let listener = server::bind(&md.socket())?;
    eprintln!(
        "controller: pid {pid}, lab {}, socket {}",
        shared.net.stem(),
        md.socket().display()
    );
    let srv = {
        let s = shared.clone();
        std::thread::spawn(move || server::serve(s, listener))
    };
    let result = main_loop(&shared);
    eprintln!("controller: shutting down");
    shared.stop.store(true, Ordering::SeqCst);
    shared.kick();
    shared.services.stop_all();
    shared.net.shutdown();
    let _ = std::fs::remove_file(md.socket());
    let _ = std::fs::remove_file(md.pid_file());
    // Unblock the accept loop so the server thread ends.
    let _ = std::os::unix::net::UnixStream::connect(md.socket());
    drop(srv);
    eprintln!("controller: every namespace and process removed");
    result
}

fn main_loop(shared: &std::sync::Arc<Shared>) -> Result<()> {
    let mut last_update = Instant::now();
    while !shared.stopping() {
        if let Err(e) = net::sync_machines(shared) {
            eprintln!("controller: machine sync: {e}");
        }
        shared.services.tick();
        let every = shared.update_status_ms.load(Ordering::SeqCst);
        if every > 0 && last_update.elapsed() >= Duration::from_millis(every) {
            last_update = Instant::now();
            if let Ok(j) = shared.juju() {
                let _ = j.request_update_status(None);
                shared.kick();
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}
