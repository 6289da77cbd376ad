//! Prometheus text exposition format 0.0.4 of the instances' status and the process RSS.

use std::fmt::Write;
use std::time::Duration;

use vrrp::{DropReason, InstanceStatus, State};

/// `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

const ROLES: [(State, &str); 5] = [
    (State::Init, "INIT"),
    (State::Backup, "BACKUP"),
    (State::Master, "MASTER"),
    (State::Fault, "FAULT"),
    (State::Leaving, "LEAVING"),
];

/// One instance as the exposition sees it.
pub struct Sample<'a> {
    /// The core's snapshot.
    pub status: &'a InstanceStatus,
    /// Interface name.
    pub interface: &'a str,
    /// Measured lateness and jitter (core and edge).
    pub timing: vrrp::Timing,
}

/// `measure` label values of the timing families, with their summaries.
fn measures(t: &vrrp::Timing) -> [(&'static str, vrrp::TimingStats); 3] {
    [
        ("timer_late", t.timer_late),
        ("send_late", t.send_late),
        ("advert_gap_excess", t.advert_gap_excess),
    ]
}

/// `vrrpd_timing_seconds{measure,quantile}` over the last `vrrp::timing::WINDOW` samples
/// (quantile 1 = the window's maximum) and `vrrpd_timing_samples_total{measure}`.
fn timing(out: &mut String, samples: &[Sample<'_>]) {
    header(
        out,
        "vrrpd_timing_seconds",
        "gauge",
        "Timer fire vs deadline (timer_late), due advert vs send (send_late), master advert gap \
         beyond its interval as a backup sees it (advert_gap_excess); over the last samples.",
    );
    for x in samples {
        let l = labels(x);
        for (m, st) in measures(&x.timing) {
            for (q, us) in [("0.5", st.p50_us), ("0.99", st.p99_us), ("1", st.max_us)] {
                let v = f64::from(us) / 1e6;
                let _ = writeln!(
                    out,
                    "vrrpd_timing_seconds{{{l},measure=\"{m}\",quantile=\"{q}\"}} {v}"
                );
            }
        }
    }
    header(
        out,
        "vrrpd_timing_samples_total",
        "counter",
        "Samples taken of each timing measure.",
    );
    for x in samples {
        let l = labels(x);
        for (m, st) in measures(&x.timing) {
            let v = st.samples;
            let _ = writeln!(out, "vrrpd_timing_samples_total{{{l},measure=\"{m}\"}} {v}");
        }
    }
}

/// Name, help and value (ms) of one advert-interval gauge.
type AdvertFamily = (&'static str, &'static str, fn(&vrrp::AdvertStatus) -> u64);

/// `vrrpd_advert_interval_seconds{mode}` (the interval in effect: what a master sends, what a
/// backup learned from the master, the starting interval otherwise) and its floor and ceiling; why it moved is
/// `vrrpd_timing_seconds{measure="send_late"}`.
fn advert(out: &mut String, samples: &[Sample<'_>]) {
    let secs = |v: u64| Duration::from_millis(v).as_secs_f64();
    let families: [AdvertFamily; 3] = [
        (
            "vrrpd_advert_interval_seconds",
            "Advert interval in effect: a master's own (mode auto: chosen from its send lateness), a backup's Master_Adver_Interval.",
            |a| a.interval_ms,
        ),
        (
            "vrrpd_advert_interval_floor_seconds",
            "Floor of the adaptive interval (0: fixed).",
            |a| a.floor_ms,
        ),
        (
            "vrrpd_advert_interval_ceiling_seconds",
            "Ceiling of the adaptive interval (advert_int).",
            |a| a.ceiling_ms,
        ),
    ];
    header(
        out,
        "vrrpd_advert_interval_reason",
        "gauge",
        "Why the advert interval is what it is: 1 for the current reason (late: a late send \
         stepped it up; clean: a clean window stepped it down; floor/held: a window ended without \
         a change; following: a backup's Master_Adver_Interval), 0 for the others.",
    );
    for x in samples {
        let l = labels(x);
        let now = x.status.advert_reason.code();
        for code in vrrp::AdvertReason::CODES {
            let v = u8::from(code == now);
            let _ = writeln!(
                out,
                "vrrpd_advert_interval_reason{{{l},reason=\"{code}\"}} {v}"
            );
        }
    }
    for (k, (name, help, value)) in families.into_iter().enumerate() {
        header(out, name, "gauge", help);
        for x in samples {
            let a = &x.status.advert;
            let mode = if k == 0 {
                match a.mode {
                    vrrp::AdvertMode::Fixed => ",mode=\"fixed\"",
                    vrrp::AdvertMode::Auto => ",mode=\"auto\"",
                }
            } else {
                ""
            };
            let _ = writeln!(out, "{name}{{{}{mode}}} {}", labels(x), secs(value(a)));
        }
    }
}

/// Escape a label value (backslash, double quote, newline).
fn escape(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

fn labels(x: &Sample<'_>) -> String {
    let fam = match x.status.family {
        vrrp::Family::Ipv4 => "ipv4",
        vrrp::Family::Ipv6 => "ipv6",
    };
    format!(
        "instance=\"{}\",vrid=\"{}\",interface=\"{}\",family=\"{fam}\"",
        escape(&x.status.name),
        x.status.vrid,
        escape(x.interface)
    )
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// One metric family with one value per instance.
fn family(
    out: &mut String,
    samples: &[Sample<'_>],
    name: &str,
    kind: &str,
    help: &str,
    value: impl Fn(&InstanceStatus) -> u64,
) {
    header(out, name, kind, help);
    for x in samples {
        let _ = writeln!(out, "{name}{{{}}} {}", labels(x), value(x.status));
    }
}

/// One-value-per-instance families: name, type, help, value.
type Family = (
    &'static str,
    &'static str,
    &'static str,
    fn(&InstanceStatus) -> u64,
);

/// The one-value-per-instance families, in exposition order.
const FAMILIES: &[Family] = &[
    (
        "vrrpd_instance_base_priority",
        "gauge",
        "Configured priority.",
        |s| u64::from(s.base_priority),
    ),
    (
        "vrrpd_instance_effective_priority",
        "gauge",
        "Priority after tracking (what is advertised).",
        |s| u64::from(s.effective_priority),
    ),
    (
        "vrrpd_instance_vips_held",
        "gauge",
        "VIPs this instance holds.",
        |s| s.vips_held.len() as u64,
    ),
    (
        "vrrpd_adverts_sent_total",
        "counter",
        "Adverts sent (one per destination).",
        |s| s.counters.adverts_sent,
    ),
    (
        "vrrpd_adverts_received_total",
        "counter",
        "Valid adverts received.",
        |s| s.counters.adverts_received,
    ),
    (
        "vrrpd_priority_zero_sent_total",
        "counter",
        "Priority-0 (resign) adverts sent.",
        |s| s.counters.priority_zero_sent,
    ),
    (
        "vrrpd_priority_zero_received_total",
        "counter",
        "Valid priority-0 adverts received.",
        |s| s.counters.priority_zero_received,
    ),
    (
        "vrrpd_transitions_total",
        "counter",
        "State transitions.",
        |s| s.counters.transitions,
    ),
    (
        "vrrpd_advert_interval_changes_total",
        "counter",
        "Changes of the adaptive advert interval (vrrpd_adaptive_interval).",
        |s| s.advert.changes,
    ),
    (
        "vrrpd_became_master_total",
        "counter",
        "Transitions into MASTER.",
        |s| s.counters.became_master,
    ),
];

/// The whole exposition. `rss_bytes` is the process resident set size, when known.
pub fn render(samples: &[Sample<'_>], rss_bytes: Option<u64>) -> String {
    let mut out = String::with_capacity(1024 + samples.len() * 2048);
    header(
        &mut out,
        "vrrpd_instance_state",
        "gauge",
        "Role of the instance: 1 for the current state, 0 for the others.",
    );
    for x in samples {
        let l = labels(x);
        for (st, name) in ROLES {
            let v = u8::from(x.status.role == st);
            let _ = writeln!(out, "vrrpd_instance_state{{{l},state=\"{name}\"}} {v}");
        }
    }
    for (name, kind, help, value) in FAMILIES {
        family(&mut out, samples, name, kind, help, value);
    }
    render_by_reason(&mut out, samples);
    advert(&mut out, samples);
    timing(&mut out, samples);
    if let Some(rss) = rss_bytes {
        header(
            &mut out,
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
        );
        let _ = writeln!(out, "process_resident_memory_bytes {rss}");
    }
    out
}

/// `vrrpd_scheduling_rt_priority`: the SCHED_RR priority of the event loop (0: SCHED_OTHER)
/// and, labelled, what `vrrp_rt_priority` asked for (0: nothing).
pub fn scheduling(out: &mut String, s: &vrrp::Scheduling) {
    header(
        out,
        "vrrpd_scheduling_rt_priority",
        "gauge",
        "SCHED_RR priority of the event loop in effect (0: SCHED_OTHER), and requested.",
    );
    let _ = writeln!(
        out,
        "vrrpd_scheduling_rt_priority{{which=\"effective\"}} {}",
        s.priority
    );
    let _ = writeln!(
        out,
        "vrrpd_scheduling_rt_priority{{which=\"requested\"}} {}",
        s.requested
    );
}

/// `vrrpd_drops_total` by reason and `vrrpd_conflicts_total` by kind.
fn render_by_reason(out: &mut String, samples: &[Sample<'_>]) {
    header(
        out,
        "vrrpd_drops_total",
        "counter",
        "Received packets dropped, by reason.",
    );
    for x in samples {
        let l = labels(x);
        for r in DropReason::ALL {
            let v = x.status.counters.drops.get(r);
            let _ = writeln!(
                out,
                "vrrpd_drops_total{{{l},reason=\"{}\"}} {v}",
                r.as_str()
            );
        }
    }
    header(
        out,
        "vrrpd_conflicts_total",
        "counter",
        "Adverts on our VRID from another configuration or an unknown peer, by kind.",
    );
    for x in samples {
        let l = labels(x);
        for k in vrrp::ConflictKind::ALL {
            let v = x.status.counters.conflicts.get(k);
            let _ = writeln!(
                out,
                "vrrpd_conflicts_total{{{l},kind=\"{}\"}} {v}",
                k.as_str()
            );
        }
    }
}

/// `VmRSS` of this process from `/proc/self/status`, in bytes.
pub fn rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vmrss(&s)
}

/// `VmRSS:    1234 kB` → 1234 × 1024.
pub fn parse_vmrss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status() -> InstanceStatus {
        let mut cfg = vrrp::InstanceConfig::new(
            "VI_\"23\"",
            23,
            vrrp::Family::Ipv4,
            vec!["192.0.2.100/24".parse().unwrap()],
        );
        cfg.priority = 150;
        let mut s = vrrp::Instance::new(cfg).unwrap().status();
        s.role = State::Master;
        s.counters.adverts_sent = 7;
        s.counters.drops.add(DropReason::Ttl);
        s.counters.conflicts.add(vrrp::ConflictKind::OtherVips);
        s.vips_held = vec!["192.0.2.100/24".parse().unwrap()];
        s.advert = vrrp::AdvertStatus {
            mode: vrrp::AdvertMode::Auto,
            interval_ms: 30,
            floor_ms: 30,
            ceiling_ms: 100,
            reason: "at the floor".into(),
            changes: 4,
        };
        s.advert_reason = vrrp::AdvertReason::Floor { worst_us: 1300 };
        s
    }

    #[test]
    fn scheduling_lines() {
        let mut out = String::new();
        let s = vrrp::Scheduling {
            policy: vrrp::SchedPolicy::Other,
            requested: 50,
            error: Some("EPERM".into()),
            ..vrrp::Scheduling::default()
        };
        scheduling(&mut out, &s);
        assert!(out.contains("vrrpd_scheduling_rt_priority{which=\"effective\"} 0\n"));
        assert!(out.contains("vrrpd_scheduling_rt_priority{which=\"requested\"} 50\n"));
    }

    #[test]
    fn exposition_lines() {
        let s = status();
        let mut timing = vrrp::Timing::default();
        timing.send_late.p99_us = 1500;
        timing.send_late.max_us = 2_000_000;
        timing.timer_late.samples = 9;
        let text = render(
            &[Sample {
                status: &s,
                interface: "eth0",
                timing,
            }],
            Some(4096),
        );
        let l = r#"instance="VI_\"23\"",vrid="23",interface="eth0",family="ipv4""#;
        for want in [
            format!("vrrpd_instance_state{{{l},state=\"MASTER\"}} 1"),
            format!("vrrpd_instance_state{{{l},state=\"BACKUP\"}} 0"),
            format!("vrrpd_instance_base_priority{{{l}}} 150"),
            format!("vrrpd_instance_effective_priority{{{l}}} 150"),
            format!("vrrpd_instance_vips_held{{{l}}} 1"),
            format!("vrrpd_adverts_sent_total{{{l}}} 7"),
            format!("vrrpd_drops_total{{{l},reason=\"ttl\"}} 1"),
            format!("vrrpd_drops_total{{{l},reason=\"checksum\"}} 0"),
            format!("vrrpd_conflicts_total{{{l},kind=\"other_vips\"}} 1"),
            format!("vrrpd_conflicts_total{{{l},kind=\"unknown_peer\"}} 0"),
            "# TYPE vrrpd_transitions_total counter".to_string(),
            "process_resident_memory_bytes 4096".to_string(),
            format!("vrrpd_timing_seconds{{{l},measure=\"send_late\",quantile=\"0.99\"}} 0.0015"),
            format!("vrrpd_timing_seconds{{{l},measure=\"send_late\",quantile=\"1\"}} 2"),
            format!("vrrpd_timing_seconds{{{l},measure=\"timer_late\",quantile=\"0.5\"}} 0"),
            format!("vrrpd_timing_samples_total{{{l},measure=\"timer_late\"}} 9"),
            format!("vrrpd_advert_interval_seconds{{{l},mode=\"auto\"}} 0.03"),
            format!("vrrpd_advert_interval_floor_seconds{{{l}}} 0.03"),
            format!("vrrpd_advert_interval_ceiling_seconds{{{l}}} 0.1"),
            format!("vrrpd_advert_interval_changes_total{{{l}}} 4"),
            format!("vrrpd_advert_interval_reason{{{l},reason=\"floor\"}} 1"),
            format!("vrrpd_advert_interval_reason{{{l},reason=\"late\"}} 0"),
        ] {
            assert!(
                text.lines().any(|x| x == want),
                "missing {want:?} in\n{text}"
            );
        }
        // Every sample line is NAME{LABELS} VALUE or NAME VALUE; every family has a TYPE.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (name, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok_and(f64::is_finite), "{line}");
            let base = name.split('{').next().unwrap();
            assert!(text.contains(&format!("# TYPE {base} ")), "{line}");
        }
    }

    #[test]
    fn vmrss() {
        assert_eq!(
            parse_vmrss("Name:\tvrrpd\nVmRSS:\t    3100 kB\n"),
            Some(3100 * 1024)
        );
        assert_eq!(parse_vmrss("Name: x\n"), None);
        assert!(rss_bytes().is_some_and(|b| b > 0));
    }
}
