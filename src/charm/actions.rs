//! Actions declared in `actions.yaml`.
use std::path::Path;

use super::config::CharmConfig;
use super::hooktools::{Bag, HookToolError, HookTools};
use super::paths::Paths;
use super::sanadvice::{self, DEFAULT_LB_APP};
use super::service::WorkerService;
use super::status::{self, UnitReport};
use super::workerstate;
use serde_json::{json, Value};
use vrrp::{InstanceRecord, Skipped, StateView};

/// Turns an instance name into an action-set key part (`VI_23` → `vi-23`).
pub fn key_part(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches('-').to_string();
    if s.is_empty() {
        "instance".into()
    } else {
        s
    }
}

/// The results of `vrrp-status` for a worker state (pure).
pub fn vrrp_status_results(active: bool, state: Option<&StateView>) -> Bag {
    let mut out = Bag::new();
    out.insert("worker-active".into(), active.to_string());
    if let Some(s) = state {
        out.insert("scheduling".into(), scheduling_text(&s.scheduling));
    }
    for i in state.map(|s| s.instances.as_slice()).unwrap_or_default() {
        let k = key_part(&i.name);
        out.insert(format!("{k}.role"), i.role.as_str().to_string());
        out.insert(format!("{k}.base-priority"), i.base_priority.to_string());
        out.insert(
            format!("{k}.effective-priority"),
            i.effective_priority.to_string(),
        );
        out.insert(
            format!("{k}.master-address"),
            i.master_address.map(|a| a.to_string()).unwrap_or_default(),
        );
        let vips: Vec<String> = i.vips_held.iter().map(ToString::to_string).collect();
        out.insert(format!("{k}.vips-held"), vips.join(" "));
        let faults: Vec<&str> = i.faults.iter().map(workerstate::fault_text).collect();
        out.insert(format!("{k}.faults"), faults.join(", "));
        out.insert(format!("{k}.conflicts"), conflicts_text(i).join("; "));
        out.insert(format!("{k}.timing"), timing_text(&i.timing));
        out.insert(format!("{k}.advert-interval"), advert_text(&i.advert));
    }
    out
}

/// The worker's event-loop scheduling: `SCHED_RR 50`, `SCHED_OTHER`, or why not the requested
/// `vrrp_rt_priority`.
fn scheduling_text(s: &vrrp::Scheduling) -> String {
    match (s.policy, &s.error) {
        (vrrp::SchedPolicy::Rr, None) => format!("SCHED_RR {}", s.priority),
        (vrrp::SchedPolicy::Rr, Some(e)) => format!("SCHED_RR {} ({e})", s.priority),
        (vrrp::SchedPolicy::Other, Some(e)) => {
            format!(
                "SCHED_OTHER (vrrp_rt_priority {} not in effect: {e})",
                s.requested
            )
        }
        (vrrp::SchedPolicy::Other, None) => "SCHED_OTHER".into(),
    }
}

/// An instance's conflicts, one text each: `192.0.2.77 advertises other VIPs (3 adverts)`.
fn conflicts_text(i: &InstanceRecord<Skipped>) -> Vec<String> {
    i.conflicts
        .iter()
        .map(|c| {
            let what = status::conflict_text(c.kind);
            format!("{} {what} ({} adverts)", c.source, c.count)
        })
        .collect()
}

/// The facts `vrrp-status` shows: this unit's instances and every unit's report.
pub fn vrrp_status_json(active: bool, state: Option<&StateView>, units: &[UnitReport]) -> Value {
    let instances: Vec<Value> = state
        .map(|s| s.instances.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|i| {
            json!({
                "name": i.name, "vrid": i.vrid, "family": i.family.as_str(),
                "role": i.role.as_str(), "base_priority": i.base_priority,
                "effective_priority": i.effective_priority,
                "master_address": i.master_address.map(|a| a.to_string()),
                "vips_held": i.vips_held.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "faults": i.faults.iter().map(workerstate::fault_text).collect::<Vec<_>>(),
                "conflicts": conflicts_text(i),
                "timing": timing_text(&i.timing),
                "advert_interval": advert_text(&i.advert),
            })
        })
        .collect();
    let units: Vec<Value> = units
        .iter()
        .map(|u| {
            json!({"unit": u.unit, "role": u.role, "ready": u.ready,
                "vips": u.vips.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "fault": u.fault})
        })
        .collect();
    let scheduling = state.map(|s| scheduling_text(&s.scheduling));
    json!({"worker_active": active, "scheduling": scheduling, "instances": instances, "units": units})
}

/// The same facts as a table: one line per instance, then one per unit.
pub fn vrrp_status_table(active: bool, state: Option<&StateView>, units: &[UnitReport]) -> String {
    let mut out = format!("worker active: {active}\n");
    if let Some(s) = state {
        out.push_str(&format!("scheduling: {}\n", scheduling_text(&s.scheduling)));
    }
    out.push_str("INSTANCE\tROLE\tPRIORITY\tMASTER\tVIPS HELD\tFAULTS\tCONFLICTS\n");
    for i in state.map(|s| s.instances.as_slice()).unwrap_or_default() {
        let vips: Vec<String> = i.vips_held.iter().map(ToString::to_string).collect();
        let faults: Vec<&str> = i.faults.iter().map(workerstate::fault_text).collect();
        let master = i.master_address.map(|a| a.to_string()).unwrap_or_default();
        out.push_str(&format!(
            "{}\t{}\t{}/{}\t{master}\t{}\t{}\t{}\n",
            i.name,
            i.role.as_str(),
            i.effective_priority,
            i.base_priority,
            vips.join(" "),
            faults.join(", "),
            conflicts_text(i).join("; ")
        ));
    }
    out.push_str("UNIT\tROLE\tREADY\tVIPS\tFAULT\n");
    for u in units {
        let vips: Vec<String> = u.vips.iter().map(ToString::to_string).collect();
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\n",
            u.unit,
            u.role,
            u.ready,
            vips.join(" "),
            u.fault
        ));
    }
    out
}

/// Every unit's report: this unit's from its state file, the peers' as they published them.
fn unit_reports(
    tools: &HookTools,
    state: Option<&StateView>,
    port: u16,
) -> Result<Vec<UnitReport>, HookToolError> {
    let me = std::env::var("JUJU_UNIT_NAME").unwrap_or_default();
    let mut units = vec![UnitReport::from_state(&me, state, port)];
    for id in tools.relation_ids(super::world::PEER_ENDPOINT)? {
        for name in tools.relation_list(&id)? {
            units.push(UnitReport::from_bag(
                &name,
                &tools.relation_get(&id, &name)?,
            ));
        }
    }
    Ok(units)
}

/// `vrrp-status`: prints the facts (`format`: `table` or `json`) and sets them as results.
fn vrrp_status(tools: &HookTools, paths: &Paths) -> Result<(), HookToolError> {
    let format = tools
        .action_get()?
        .get("format")
        .and_then(Value::as_str)
        .unwrap_or("table")
        .to_string();
    if format != "table" && format != "json" {
        return tools.action_fail(&format!("format {format:?}: use table or json"));
    }
    let active = WorkerService.is_active().unwrap_or(false);
    let state = match workerstate::read(&paths.worker_state()) {
        Ok(s) => s,
        Err(e) => return tools.action_fail(&e.to_string()),
    };
    let port = CharmConfig::from_json(&tools.config_get()?).map_or(443, |c| c.port);
    let units = unit_reports(tools, state.as_ref(), port)?;
    if format == "json" {
        println!("{}", vrrp_status_json(active, state.as_ref(), &units));
    } else {
        print!("{}", vrrp_status_table(active, state.as_ref(), &units));
    }
    let mut out = vrrp_status_results(active, state.as_ref());
    if let Some(s) = &state {
        // A file left by a worker that is gone describes the past.
        let live = workerstate::writer_alive(s, std::path::Path::new("/proc"));
        out.insert("state-current".into(), live.to_string());
    }
    tools.action_set(&out)
}

/// One line of the worker's timing measurements (issue 13): p99 and window maximum in ms;
/// a measure without samples yet is left out (`-` when none has any).
fn timing_text(t: &vrrp::Timing) -> String {
    let ms = |us: u32| f64::from(us) / 1000.0;
    let parts: Vec<String> = [
        ("timer late", t.timer_late),
        ("send late", t.send_late),
        ("advert gap excess", t.advert_gap_excess),
    ]
    .iter()
    .filter(|(_, s)| s.samples > 0)
    .map(|(name, s)| {
        format!(
            "{name} p99 {:.1} ms max {:.1} ms",
            ms(s.p99_us),
            ms(s.max_us)
        )
    })
    .collect();
    if parts.is_empty() {
        "-".to_string()
    } else {
        parts.join("; ")
    }
}

/// The advert interval in effect and why (issue 13): `30 ms (auto 30–100 ms, 4 changes): …`,
/// `100 ms (fixed)`; `-` in files of workers before the adaptive interval.
fn advert_text(a: &vrrp::AdvertStatus) -> String {
    match a.mode {
        _ if a.interval_ms == 0 => "-".to_string(),
        vrrp::AdvertMode::Fixed => format!("{} ms (fixed)", a.interval_ms),
        vrrp::AdvertMode::Auto => format!(
            "{} ms (auto {}–{} ms, {} changes): {}",
            a.interval_ms, a.floor_ms, a.ceiling_ms, a.changes, a.reason
        ),
    }
}

/// Runs the action `name`. Unknown actions fail the action, not the charm.
pub fn run(
    name: &str,
    tools: &HookTools,
    paths: &Paths,
    charm_dir: &Path,
) -> Result<(), HookToolError> {
    match name {
        "vrrp-status" => vrrp_status(tools, paths),
        "check-certificate" => check_certificate(tools, charm_dir),
        other => tools.action_fail(&format!("unknown action {other:?}")),
    }
}

/// `check-certificate`: runs the certificate check now, prints the report and the commands
/// on stdout and returns them as results. Fails only when there is nothing to check.
fn check_certificate(tools: &HookTools, charm_dir: &Path) -> Result<(), HookToolError> {
    let cfg = match CharmConfig::from_json(&tools.config_get()?) {
        Ok(c) => c,
        Err(e) => {
            let text = e.summary(super::desired::STATUS_BUDGET);
            return tools.action_fail(&format!("Invalid config: {text}"));
        }
    };
    if cfg.vips.is_empty() {
        return tools.action_fail("virtual_ip is not set: there is no VIP to check");
    }
    let check = super::world::check_certificate(charm_dir, &cfg);
    let lb_app = super::world::principal_app(tools)?;
    let lb_app = lb_app.as_deref().unwrap_or(DEFAULT_LB_APP);
    print!("{}", sanadvice::action_report(&check, &cfg, lb_app));
    tools.action_set(&sanadvice::action_results(&check, &cfg, lb_app))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_valid_action_keys() {
        assert_eq!(key_part("VI_23"), "vi-23");
        assert_eq!(key_part("VI6_23"), "vi6-23");
        assert_eq!(key_part("__"), "instance");
        let state: StateView = serde_json::from_str(
            r#"{"version":1,"instances":[{"name":"VI_23","family":"ipv4","role":"MASTER","base_priority":250,
            "effective_priority":250,"vips_held":["192.0.2.50/32"]}]}"#,
        )
        .unwrap();
        let r = vrrp_status_results(true, Some(&state));
        assert_eq!(r.get("vi-23.role").map(String::as_str), Some("MASTER"));
        assert_eq!(
            r.get("vi-23.vips-held").map(String::as_str),
            Some("192.0.2.50/32")
        );
        assert_eq!(r.get("worker-active").map(String::as_str), Some("true"));
        assert_eq!(r.get("vi-23.timing").map(String::as_str), Some("-"));
        let mut t = vrrp::Timing::default();
        (
            t.timer_late.samples,
            t.timer_late.p99_us,
            t.timer_late.max_us,
        ) = (5, 1_250, 3_000);
        (t.advert_gap_excess.samples, t.advert_gap_excess.max_us) = (2, 27_000);
        assert_eq!(
            timing_text(&t),
            "timer late p99 1.2 ms max 3.0 ms; advert gap excess p99 0.0 ms max 27.0 ms"
        );
        assert_eq!(vrrp_status_results(false, None).len(), 1);
        assert_eq!(
            r.get("vi-23.advert-interval").map(String::as_str),
            Some("-")
        );
        let a = vrrp::AdvertStatus {
            mode: vrrp::AdvertMode::Auto,
            interval_ms: 30,
            floor_ms: 30,
            ceiling_ms: 100,
            reason: "at the floor; worst send lateness 1.3 ms over 5 s".into(),
            changes: 4,
        };
        assert_eq!(
            advert_text(&a),
            "30 ms (auto 30–100 ms, 4 changes): at the floor; worst send lateness 1.3 ms over 5 s"
        );
        let fixed = vrrp::AdvertStatus {
            interval_ms: 100,
            ceiling_ms: 100,
            ..vrrp::AdvertStatus::default()
        };
        assert_eq!(advert_text(&fixed), "100 ms (fixed)");
        assert_eq!(r.get("scheduling").map(String::as_str), Some("SCHED_OTHER"));
        let s = vrrp::Scheduling {
            policy: vrrp::SchedPolicy::Rr,
            priority: 50,
            requested: 50,
            ..vrrp::Scheduling::default()
        };
        assert_eq!(scheduling_text(&s), "SCHED_RR 50");
    }
}
