//! Health checks: keepalived `vrrp_script` (fork/exec, no shell) and our `vrrpd_check`
//! (TCP connect, HTTP GET). Each check runs in its own task at its interval; results pass
//! through rise/fall hysteresis and every change of the debounced state is reported as a
//! [`CheckEvent`] to the event loop, which turns it into `Input::Track` for every tracking
//! instance.

pub mod http;
pub mod hysteresis;
pub mod runner;
pub mod script;
pub mod security;
pub mod tcp;
pub mod tls;
pub mod watch;

use std::net::SocketAddr;
use std::time::Duration;

pub use http::HttpUrl;
pub use hysteresis::Hysteresis;
pub use runner::spawn;
pub use script::RunAs;

/// What one check does per run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckKind {
    /// Run `argv[0]` with the rest as arguments (no shell); exit status 0 = up.
    Script {
        /// Program and arguments.
        argv: Vec<String>,
        /// Run as this user/group (keepalived `user` / `script_user`); `None` = as we are.
        run_as: Option<RunAs>,
    },
    /// A TCP connection to this address succeeds within the timeout = up.
    Tcp {
        /// Address to connect to.
        addr: SocketAddr,
        /// Also hold one connection open and re-probe as soon as the peer closes it
        /// (see [`watch`]).
        watch: bool,
    },
    /// An HTTP GET answered with the expected status within the timeout = up.
    Http {
        /// Where to connect and what to get.
        url: HttpUrl,
        /// Expected status code; `None` = any 2xx.
        status: Option<u16>,
    },
}

/// A check with its schedule and hysteresis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckSpec {
    /// Name in the configuration (`vrrp_script NAME` / `vrrpd_check NAME`).
    pub name: String,
    /// What to run.
    pub kind: CheckKind,
    /// Time between the starts of two runs.
    pub interval: Duration,
    /// A run taking longer fails (a script is killed).
    pub timeout: Duration,
    /// Consecutive successes to go up.
    pub rise: u32,
    /// Consecutive failures to go down.
    pub fall: u32,
    /// Start in the failed state (keepalived `init_fail`).
    pub init_fail: bool,
}

/// A change of a check's debounced state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckEvent {
    /// Index of the check in the daemon's check table.
    pub id: usize,
    /// New state.
    pub up: bool,
}

/// Run a check once with its timeout; `Ok(())` = up, `Err(reason)` = down.
pub async fn run_once(kind: &CheckKind, timeout: Duration) -> Result<(), String> {
    match kind {
        CheckKind::Script { argv, run_as } => script::run(argv, run_as.as_ref(), timeout).await,
        CheckKind::Tcp { addr, .. } => tcp::connect(*addr, timeout).await.map(drop),
        CheckKind::Http { url, status } => http::get(url, *status, timeout).await,
    }
}
