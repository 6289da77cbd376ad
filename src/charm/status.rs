//! Every workload status the charm sets is built here, collect-status style (as the `ops`
//! framework's `collect_unit_status`): each concern adds candidates, the highest level wins
//! (blocked > maintenance > waiting > active; the first added among equals), and the hook sets
//! only the winner. Plans and the converger report facts; they never word a status.
use std::net::IpAddr;

use super::hooktools::{Bag, StatusLevel};
use super::sanadvice::CertNote;
use super::service::ServiceVerb;
use super::workerstate;
use vrrp::{ConflictKind, Fault, InstanceRecord, Skipped, State, StateView};

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

/// What the status of a hook that runs the worker needs from the plan and the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunNotes<'a> {
    /// The legacy note ([`MSG_LEGACY`]).
    pub legacy_note: bool,
    /// The certificate check's note.
    pub cert_note: Option<&'a CertNote>,
    /// `strict_san_check`.
    pub strict_san_check: bool,
    /// The load balancer's port (the health check's target on 127.0.0.1).
    pub port: u16,
    /// The first VIP (the one published), whose holder a faulty unit names.
    pub vip: Option<IpAddr>,
    /// What the other units publish on the peer relation.
    pub peers: &'a [UnitReport],
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
            if let Some(reason) = state.and_then(|s| first_fault(s, notes.port)) {
                let here = holder_text(notes.vip, notes.peers);
                c.add(Status::new(
                    StatusLevel::Waiting,
                    format!("{reason}; {here}"),
                ));
            }
        }
    }
    let mut s = c.winner().unwrap_or_else(|| ready_status(None));
    if let Some(note) = state.and_then(first_conflict) {
        s.message = format!("{}; {note}", s.message);
    }
    s
}

/// Peer bag key: this unit's worker role summary (`MASTER`, `FAULT: …`; empty: unknown).
pub const PEER_KEY_ROLE: &str = "vrrp-role";
/// Peer bag key: `"1"` when every instance is MASTER or BACKUP (the unit can hold the VIP).
pub const PEER_KEY_READY: &str = "vrrp-ready";
/// Peer bag key: the addresses this unit holds, space-separated.
pub const PEER_KEY_VIPS: &str = "vrrp-vips";
/// Peer bag key: why the unit cannot hold the VIP (its first fault), empty otherwise.
pub const PEER_KEY_FAULT: &str = "vrrp-fault";

/// What one unit reports about its worker: from its own state file, or as a peer published it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnitReport {
    /// `keepalived/N`.
    pub unit: String,
    /// Role summary; empty when unknown.
    pub role: String,
    /// Every instance is MASTER or BACKUP.
    pub ready: bool,
    /// Addresses held.
    pub vips: Vec<IpAddr>,
    /// The first fault, worded; empty when none.
    pub fault: String,
}

impl UnitReport {
    /// This unit's report from its worker's state file (`None`: not known yet).
    pub fn from_state(unit: &str, state: Option<&StateView>, port: u16) -> Self {
        let Some(s) = state else {
            return UnitReport {
                unit: unit.to_string(),
                ..UnitReport::default()
            };
        };
        UnitReport {
            unit: unit.to_string(),
            role: workerstate::role_summary(s).unwrap_or_default(),
            ready: workerstate::all_up(s),
            vips: s
                .instances
                .iter()
                .flat_map(|i| i.vips_held.iter().map(|v| v.addr))
                .collect(),
            fault: first_fault(s, port).unwrap_or_default(),
        }
    }

    /// A peer's report from its unit bag (malformed addresses are skipped).
    pub fn from_bag(unit: &str, bag: &Bag) -> Self {
        let get = |k: &str| bag.get(k).cloned().unwrap_or_default();
        UnitReport {
            unit: unit.to_string(),
            role: get(PEER_KEY_ROLE),
            ready: get(PEER_KEY_READY) == "1",
            vips: get(PEER_KEY_VIPS)
                .split_whitespace()
                .filter_map(|a| a.parse().ok())
                .collect(),
            fault: get(PEER_KEY_FAULT),
        }
    }

    /// The keys published on the peer relation.
    pub fn to_bag(&self) -> Bag {
        let vips: Vec<String> = self.vips.iter().map(ToString::to_string).collect();
        Bag::from([
            (PEER_KEY_ROLE.to_string(), self.role.clone()),
            (
                PEER_KEY_READY.to_string(),
                if self.ready { "1" } else { "" }.to_string(),
            ),
            (PEER_KEY_VIPS.to_string(), vips.join(" ")),
            (PEER_KEY_FAULT.to_string(), self.fault.clone()),
        ])
    }
}

/// A fault as an operator reads it, with where to look.
pub fn fault_reason(f: &Fault, interface: &str, port: u16) -> String {
    match f {
        Fault::Track(_) => format!("LB not answering on 127.0.0.1:{port}"),
        Fault::LinkDown => format!("link down on {interface}"),
        Fault::NoSourceAddress => format!("no source address on {interface}"),
    }
}

/// The first fault of the first instance in FAULT, worded.
pub fn first_fault(s: &StateView, port: u16) -> Option<String> {
    let i = s.instances.iter().find(|i| i.role == State::Fault)?;
    Some(match i.faults.first() {
        Some(f) => fault_reason(f, &i.interface, port),
        None => format!("{} in FAULT", i.name),
    })
}

/// What a conflicting speaker does differently, as the status words it.
pub fn conflict_text(kind: ConflictKind) -> &'static str {
    match kind {
        ConflictKind::OtherVips => "advertises other VIPs",
        ConflictKind::Version => "speaks another VRRP version",
        ConflictKind::Interval => "advertises another interval",
        ConflictKind::Auth => "uses another authentication",
        ConflictKind::UnknownPeer => "is not a unit of this application",
        ConflictKind::AddressConflict => "is claimed (ARP/NA) by a host that does not hold it",
    }
}

/// The first conflict in the state file: `VRID 23 conflict: 192.0.2.77 advertises other
/// VIPs; pick another router_id`.
pub fn first_conflict(s: &StateView) -> Option<String> {
    let (i, c) = s
        .instances
        .iter()
        .find_map(|i: &InstanceRecord<Skipped>| i.conflicts.first().map(|c| (i, c)))?;
    // An address conflict is not another VRRP speaker: another router_id would not help.
    let advice = match c.kind {
        ConflictKind::AddressConflict => "remove the address from that host",
        _ => "pick another router_id",
    };
    Some(format!(
        "VRID {} conflict: {} {}; {advice}",
        i.vrid,
        c.source,
        conflict_text(c.kind)
    ))
}

/// Where the VIP is, from the peers' reports: `VIP on keepalived/1`.
fn holder_text(vip: Option<IpAddr>, peers: &[UnitReport]) -> String {
    let holders: Vec<&str> = match vip {
        Some(v) => peers
            .iter()
            .filter(|p| p.vips.contains(&v))
            .map(|p| p.unit.as_str())
            .collect(),
        None => Vec::new(),
    };
    if holders.is_empty() {
        "no other unit holds the VIP".to_string()
    } else {
        format!("VIP on {}", holders.join(", "))
    }
}

/// The application status the leader sets from every unit's report (its own included):
/// `active` `VIP 10.1.2.3 on keepalived/1 (3 of 3 units ready)`; `blocked` `no unit holds VIP
/// 10.1.2.3: <first reason>`; `waiting` when two or more units claim it.
pub fn application(vip: IpAddr, units: &[UnitReport]) -> Status {
    let holders: Vec<&str> = units
        .iter()
        .filter(|u| u.vips.contains(&vip))
        .map(|u| u.unit.as_str())
        .collect();
    let ready = units.iter().filter(|u| u.ready).count();
    let n = units.len();
    match holders.as_slice() {
        [one] => Status::new(
            StatusLevel::Active,
            format!("VIP {vip} on {one} ({ready} of {n} units ready)"),
        ),
        [] => {
            let why = units
                .iter()
                .find(|u| !u.fault.is_empty())
                .map(|u| format!("{}: {}", u.unit, u.fault))
                .unwrap_or_else(|| "no unit reports its worker yet".to_string());
            Status::new(
                StatusLevel::Blocked,
                format!("no unit holds VIP {vip}: {why}"),
            )
        }
        many => Status::new(
            StatusLevel::Waiting,
            format!(
                "VIP {vip} claimed by {} units: {} ({ready} of {n} units ready)",
                many.len(),
                many.join(", ")
            ),
        ),
    }
}

/// The unit status after teardown.
pub fn removed() -> Status {
    Status::new(StatusLevel::Maintenance, MSG_REMOVED)
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
