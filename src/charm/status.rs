//! Every workload status the charm sets is built here, collect-status style (as the `ops`
//! framework's `collect_unit_status`): each concern adds candidates, the highest level wins
//! (blocked > maintenance > waiting > active; the first added among equals), and the hook sets
//! only the winner. Plans and the converger report facts; they never word a status.
use super::hooktools::StatusLevel;
use super::sanadvice::CertNote;
use super::service::ServiceVerb;
use super::workerstate;
use vrrp::StateView;

/// Status when `virtual_ip` is empty (exact text of the old charm).
pub const MSG_NO_VIP: &str = "Please configure virtual ips";
/// Status while a series upgrade runs.
pub const MSG_SERIES_UPGRADE: &str = "Series upgrade in progress";
/// Status prefix when the worker runs.
pub const MSG_READY: &str = "VIP ready";
/// Role shown while the worker has not (yet) reported its state.
pub const MSG_STARTING: &str = "worker starting";
/// Status after teardown.
pub const MSG_REMOVED: &str = "vrrpd stopped and removed";
/// Status note while the worker runs VRRPv2-compatible after replacing the previous charm's
/// daemon (it names `keepalived.service` once).
pub const MSG_LEGACY: &str =
    "replaced keepalived.service of the previous charm (stopped, disabled; VRRPv2-compatible)";
/// Status note while an invalid config keeps the previous charm's daemon serving the VIP.
pub const MSG_LEGACY_KEPT: &str = "keepalived.service of the previous charm left running";

/// A workload status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Level.
    pub level: StatusLevel,
    /// Message.
    pub message: String,
}

impl Status {
    /// A status.
    pub fn new(level: StatusLevel, message: impl Into<String>) -> Self {
        Self {
            level,
            message: message.into(),
        }
    }
}

/// How much a level outranks the others when candidates compete (`ops` `StatusBase`
/// priorities: error > blocked > maintenance > waiting > active > unknown).
pub fn rank(level: StatusLevel) -> u8 {
    match level {
        StatusLevel::Blocked => 4,
        StatusLevel::Maintenance => 3,
        StatusLevel::Waiting => 2,
        StatusLevel::Active => 1,
    }
}

/// Candidates of one hook; [`Candidates::winner`] picks the one to set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Candidates(Vec<Status>);

impl Candidates {
    /// Adds a candidate.
    pub fn add(&mut self, s: Status) {
        self.0.push(s);
    }

    /// The highest-ranked candidate, the first added among equals.
    pub fn winner(self) -> Option<Status> {
        let mut best: Option<Status> = None;
        for s in self.0 {
            if best.as_ref().is_none_or(|b| rank(s.level) > rank(b.level)) {
                best = Some(s);
            }
        }
        best
    }
}

/// `blocked` `Invalid config: …`, noting when the previous charm's daemon keeps serving.
pub fn invalid_config(reason: &str, legacy_kept: bool) -> Status {
    let kept = if legacy_kept {
        format!("; {MSG_LEGACY_KEPT}")
    } else {
        String::new()
    };
    Status::new(
        StatusLevel::Blocked,
        format!("Invalid config: {reason}{kept}"),
    )
}

/// `blocked` `Please configure virtual ips`.
pub fn no_vip() -> Status {
    Status::new(StatusLevel::Blocked, MSG_NO_VIP)
}

/// `blocked` `Series upgrade in progress`.
pub fn series_upgrade() -> Status {
    Status::new(StatusLevel::Blocked, MSG_SERIES_UPGRADE)
}

/// The `active` status once the worker runs, with its role(s) when the state file knows them,
/// else `worker starting` (no state file yet, a stale or unreadable one, or just restarted).
pub fn ready_status(state: Option<&StateView>) -> Status {
    let role = state
        .and_then(workerstate::role_summary)
        .unwrap_or_else(|| MSG_STARTING.to_string());
    Status::new(StatusLevel::Active, format!("{MSG_READY} ({role})"))
}

/// The status of a running worker plus, when set, the legacy note ([`MSG_LEGACY`]) and the
/// certificate check's note (one line): `VIP ready (MASTER); LB cert lacks SAN(s) …`. Missing
/// SANs block only with `strict`.
pub fn run_status(
    state: Option<&StateView>,
    legacy_note: bool,
    note: Option<&CertNote>,
    strict: bool,
) -> Status {
    let mut ready = ready_status(state);
    if legacy_note {
        ready.message = format!("{}; {MSG_LEGACY}", ready.message);
    }
    match note {
        None => ready,
        Some(n) => {
            let level = if strict && n.missing_sans {
                StatusLevel::Blocked
            } else {
                StatusLevel::Active
            };
            Status::new(level, format!("{}; {}", ready.message, n.text))
        }
    }
}

/// What the status of a hook that runs the worker needs from the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunNotes<'a> {
    /// The legacy note ([`MSG_LEGACY`]).
    pub legacy_note: bool,
    /// The certificate check's note.
    pub cert_note: Option<&'a CertNote>,
    /// `strict_san_check`.
    pub strict_san_check: bool,
}

/// What became of the worker in a hook that runs it (the converger's report).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerOutcome {
    /// `systemctl VERB` failed.
    Failed(ServiceVerb),
    /// It is not running after the hook's service calls.
    NotRunning,
    /// It runs; `fresh` when this hook (re)started it, so its state file is not yet its own.
    Running {
        /// Started or restarted in this hook.
        fresh: bool,
    },
}

/// The unit status after a hook that runs the worker.
pub fn after_run(outcome: WorkerOutcome, notes: RunNotes<'_>, state: Option<&StateView>) -> Status {
    let mut c = Candidates::default();
    match outcome {
        WorkerOutcome::Failed(verb) => c.add(Status::new(
            StatusLevel::Blocked,
            format!("vrrpd failed to {}; see journalctl -u vrrpd", verb.as_str()),
        )),
        WorkerOutcome::NotRunning => c.add(Status::new(
            StatusLevel::Blocked,
            "vrrpd is not running; see journalctl -u vrrpd",
        )),
        WorkerOutcome::Running { fresh } => {
            let state = if fresh { None } else { state };
            c.add(run_status(
                state,
                notes.legacy_note,
                notes.cert_note,
                notes.strict_san_check,
            ));
        }
    }
    c.winner().unwrap_or_else(|| ready_status(None))
}

/// The unit status after teardown.
pub fn removed() -> Status {
    Status::new(StatusLevel::Maintenance, MSG_REMOVED)
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
