//! The benchmark report: per-cell summaries with ratios, resources, issue-5 targets; Markdown and
//! JSON renderings.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use crate::configs::ConfigKind;
use crate::daemon::DaemonKind;
use crate::opts::Opts;
use crate::resources::ResourceRow;
use crate::stats::{ratio, Summary};
use crate::stress::{StressCase, StressResult};
use crate::trial::{Scenario, TrialResult};

/// Which per-trial number a row summarises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Client-visible outage.
    Outage,
    /// Fault → backup holds the VIP.
    Takeover,
    /// The master's last advert → backup holds the VIP.
    SinceAdvert,
    /// [`Scenario::Sigstop`]: VIP acquisitions after the resume (the old master taking it back).
    ResumeMoves,
    /// [`Scenario::Sigstop`]: the longest failed-connect run starting after the resume.
    ResumeOutage,
}

impl Metric {
    /// Every metric, in table order.
    pub const ALL: [Metric; 5] = [
        Metric::Outage,
        Metric::Takeover,
        Metric::SinceAdvert,
        Metric::ResumeMoves,
        Metric::ResumeOutage,
    ];

    /// Does this metric have a row for `scenario`?
    pub fn applies(self, scenario: Scenario) -> bool {
        match self {
            Metric::ResumeMoves | Metric::ResumeOutage => scenario == Scenario::Sigstop,
            _ => true,
        }
    }

    /// Table label.
    pub fn label(self) -> &'static str {
        match self {
            Metric::Outage => "client outage",
            Metric::Takeover => "takeover",
            Metric::SinceAdvert => "last advert → takeover",
            Metric::ResumeMoves => "VIP holder changes after resume (count)",
            Metric::ResumeOutage => "client outage after resume",
        }
    }
}

/// One row of the failover table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Configuration.
    pub config: ConfigKind,
    /// Scenario.
    pub scenario: Scenario,
    /// Metric.
    pub metric: Metric,
    /// keepalived's numbers (ms).
    pub keepalived: Option<Summary>,
    /// vrrpd's numbers (ms).
    pub vrrpd: Option<Summary>,
    /// vrrpd median / keepalived median.
    pub ratio: Option<f64>,
    /// Trials without this measurement (failed, or e.g. no advert captured) (keepalived, vrrpd).
    pub failed: (usize, usize),
    /// Trials whose outage had not ended (keepalived, vrrpd).
    pub open: (usize, usize),
}

/// One issue-5 target.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// What is required.
    pub name: String,
    /// What was measured.
    pub measured: String,
    /// `Some(true)` pass, `Some(false)` fail, `None` no data.
    pub pass: Option<bool>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The command line.
    pub command: String,
    /// `keepalived -v` first line.
    pub keepalived_version: String,
    /// Repetitions per cell.
    pub reps: u32,
    /// Client connect period / timeout (ms).
    pub period_ms: u64,
    /// Client connect timeout (ms).
    pub connect_timeout_ms: u64,
    /// Wall time of the run (s).
    pub wall_s: f64,
    /// Failover rows.
    pub rows: Vec<Row>,
    /// Stress cases (false failovers).
    pub stress: Vec<StressResult>,
    /// Stress cases ran in their short form (`--quick`).
    pub stress_quick: bool,
    /// Resource rows.
    pub resources: Vec<ResourceRow>,
    /// Targets of issue 5 (and of issue 10 when the charms were measured).
    pub targets: Vec<Target>,
    /// Charm sizes and hook cost (issue 10), when `--charms` was given.
    pub charm: Option<crate::charmcost::CharmCost>,
    /// Every trial.
    pub trials: Vec<TrialResult>,
}

/// `12.3 ms` or `–`.
pub fn fmt_opt_ms(v: Option<f64>) -> String {
    match v {
        Some(x) => format!("{x:.1} ms"),
        None => "–".into(),
    }
}

fn fmt_summary(s: Option<Summary>, failed: usize, open: usize) -> String {
    let mut out = match s {
        Some(s) if s.n > 1 => format!("{:.0} [{:.0}–{:.0}]", s.median, s.min, s.max),
        Some(s) => format!("{:.0}", s.median),
        None => "–".into(),
    };
    if open > 0 {
        out += &format!(" ({open} open)");
    }
    if failed > 0 {
        out += &format!(" ({failed} without data)");
    }
    out
}

fn fmt_ratio(r: Option<f64>) -> String {
    r.map(|r| format!("{r:.2}")).unwrap_or_else(|| "–".into())
}

fn keepalived_version() -> String {
    std::process::Command::new(crate::daemon::KEEPALIVED)
        .arg("-v")
        .output()
        .map(|o| {
            let text = String::from_utf8_lossy(&o.stderr).into_owned()
                + &String::from_utf8_lossy(&o.stdout);
            text.lines().next().unwrap_or("").trim().to_string()
        })
        .unwrap_or_else(|_| "not found".into())
}

fn value(t: &TrialResult, m: Metric) -> Option<f64> {
    if !t.ok() {
        return None;
    }
    match m {
        Metric::Outage => Some(t.outage_ms),
        Metric::Takeover => t.takeover_ms,
        Metric::SinceAdvert => t.since_last_advert_ms,
        Metric::ResumeMoves => t.resume_moves.map(|n| n as f64),
        Metric::ResumeOutage => t.resume_outage_ms,
    }
}

/// Tolerance for "not slower" comparisons: one client period (the outage resolution).
fn tolerance_ms(period_ms: u64) -> f64 {
    period_ms as f64
}

impl Report {
    /// Builds the report from the trials and resource rows of a run.
    pub fn build(
        opts: &Opts,
        trials: Vec<TrialResult>,
        stress: Vec<StressResult>,
        resources: Vec<ResourceRow>,
        wall: Duration,
    ) -> Report {
        let mut rows = Vec::new();
        for &config in &opts.configs {
            for &scenario in &opts.scenarios {
                for metric in Metric::ALL.into_iter().filter(|m| m.applies(scenario)) {
                    let of = |d: DaemonKind| {
                        let ts: Vec<&TrialResult> = trials
                            .iter()
                            .filter(|t| {
                                t.config == config && t.scenario == scenario && t.daemon == d
                            })
                            .collect();
                        let vals: Vec<f64> = ts.iter().filter_map(|t| value(t, metric)).collect();
                        let failed = ts.len() - vals.len();
                        let open = ts
                            .iter()
                            .filter(|t| t.ok() && t.outage_open && metric == Metric::Outage)
                            .count();
                        (Summary::of(&vals), failed, open)
                    };
                    let (k, kf, ko) = of(DaemonKind::Keepalived);
                    let (v, vf, vo) = of(DaemonKind::Vrrpd);
                    let r = match (k, v) {
                        (Some(k), Some(v)) => ratio(v.median, k.median),
                        _ => None,
                    };
                    rows.push(Row {
                        config,
                        scenario,
                        metric,
                        keepalived: k,
                        vrrpd: v,
                        ratio: r,
                        failed: (kf, vf),
                        open: (ko, vo),
                    });
                }
            }
        }
        let mut targets = targets(&rows, &resources, opts.period_ms);
        targets.extend(issue13_targets(&rows, &stress, &resources));
        Report {
            command: std::env::args().collect::<Vec<_>>().join(" "),
            keepalived_version: keepalived_version(),
            reps: opts.effective_reps(),
            period_ms: opts.period_ms,
            connect_timeout_ms: opts.connect_timeout_ms,
            wall_s: wall.as_secs_f64(),
            rows,
            stress,
            stress_quick: opts.quick,
            resources,
            targets,
            charm: None,
            trials,
        }
    }

    /// Adds the charm sizes and hook cost, and issue 10's targets judged from them.
    pub fn add_charm_cost(&mut self, cc: crate::charmcost::CharmCost) {
        self.targets.extend(crate::charmcost::targets(&cc));
        self.charm = Some(cc);
    }

    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# Failover benchmark: keepalived vs vrrpd\n");
        let _ = writeln!(
            s,
            "`{}` — {}; {} repetition(s) per cell; client connects to VIP:443 every {} ms (timeout {} ms); wall time {:.0} s.\n",
            self.command, self.keepalived_version, self.reps, self.period_ms, self.connect_timeout_ms, self.wall_s
        );
        let _ = writeln!(s, "## Failover (ms, median [min–max]; ratio = vrrpd / keepalived medians, lower is better)\n");
        let _ = writeln!(s, "*outage*: longest run of failed client connects after the fault (first failure → next success). *takeover*: fault → the backup holds the VIP. *last advert → takeover*: the master's last advert seen by the backup → the backup holds the VIP (removes the random advert phase at the fault).\n");
        let _ = writeln!(
            s,
            "| configuration | scenario | metric | keepalived | vrrpd | ratio |"
        );
        let _ = writeln!(s, "|---|---|---|---:|---:|---:|");
        for r in &self.rows {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                r.config.label(),
                r.scenario.label(),
                r.metric.label(),
                fmt_summary(r.keepalived, r.failed.0, r.open.0),
                fmt_summary(r.vrrpd, r.failed.1, r.open.1),
                fmt_ratio(r.ratio)
            );
        }
        self.interval_markdown(&mut s);
        self.resume_markdown(&mut s);
        self.stress_markdown(&mut s);
        self.resources_markdown(&mut s);
        if let Some(cc) = &self.charm {
            crate::charmcost::markdown(&mut s, cc);
        }
        let _ = writeln!(
            s,
            "\n## Targets (issue 5: failover; issue 10: sizes, hooks; issue 13: short failover, stress)\n"
        );
        let _ = writeln!(s, "| target | measured | result |");
        let _ = writeln!(s, "|---|---|---|");
        for t in &self.targets {
            let res = match t.pass {
                Some(true) => "PASS",
                Some(false) => "**FAIL**",
                None => "no data",
            };
            let _ = writeln!(s, "| {} | {} | {res} |", t.name, t.measured);
        }
        let errors: Vec<&TrialResult> = self.trials.iter().filter(|t| !t.ok()).collect();
        if !errors.is_empty() {
            let _ = writeln!(s, "\n## Trials without a measurement\n");
            for t in errors {
                let first = t
                    .error
                    .as_deref()
                    .unwrap_or("")
                    .lines()
                    .next()
                    .unwrap_or("");
                let _ = writeln!(
                    s,
                    "- {} / {} / {} rep {}: {first}",
                    t.config.label(),
                    t.scenario.label(),
                    t.daemon.label(),
                    t.rep + 1
                );
            }
        }
        s
    }
}

fn find(rows: &[Row], c: ConfigKind, sc: Scenario, m: Metric) -> Option<&Row> {
    rows.iter()
        .find(|r| r.config == c && r.scenario == sc && r.metric == m)
}

/// Worst case of vrrpd's outage in a cell against `limit_ms` (open outages and failed trials fail).
fn outage_target(rows: &[Row], sc: Scenario, limit_ms: f64, name: &str) -> Target {
    let row = find(rows, ConfigKind::Charm, sc, Metric::Outage);
    match row.and_then(|r| r.vrrpd.map(|v| (r, v))) {
        Some((r, v)) => Target {
            name: name.into(),
            measured: format!(
                "client outage max {:.0} ms (median {:.0}, n={}){}",
                v.max,
                v.median,
                v.n,
                if r.open.1 + r.failed.1 > 0 {
                    ", incomplete trials"
                } else {
                    ""
                }
            ),
            pass: Some(v.max <= limit_ms && r.open.1 == 0 && r.failed.1 == 0),
        },
        None => Target {
            name: name.into(),
            measured: "not measured".into(),
            pass: None,
        },
    }
}

fn targets(rows: &[Row], resources: &[ResourceRow], period_ms: u64) -> Vec<Target> {
    let mut t = vec![
        outage_target(
            rows,
            Scenario::LinkDown,
            450.0,
            "charm defaults: master link down ≤ 0.45 s",
        ),
        outage_target(
            rows,
            Scenario::LbDeath,
            500.0,
            "charm defaults: LB death ≤ 0.5 s",
        ),
        outage_target(
            rows,
            Scenario::Sigterm,
            20.0,
            "charm defaults: clean stop ≤ 20 ms client gap",
        ),
    ];
    let rss = resources.iter().find(|r| {
        r.daemon == DaemonKind::Vrrpd
            && r.instances == 1
            && r.setup.contains("charm")
            && r.error.is_none()
    });
    t.push(Target {
        name: "worker peak resident (VmHWM) ≤ 4 MiB (charm default, 1 instance)".into(),
        measured: rss
            .map(|r| format!("{:.2} MiB", r.hwm_kib as f64 / 1024.0))
            .unwrap_or_else(|| "not measured".into()),
        pass: rss.map(|r| r.hwm_kib <= 4 * 1024),
    });
    let tol = tolerance_ms(period_ms);
    for sc in Scenario::ALL {
        for m in [Metric::Outage, Metric::Takeover, Metric::SinceAdvert] {
            let Some(r) = find(rows, ConfigKind::Same, sc, m) else {
                continue;
            };
            let name = format!(
                "same keepalived.conf: {} {} not slower than keepalived",
                sc.label(),
                m.label()
            );
            let (measured, pass) = match (r.keepalived, r.vrrpd) {
                (Some(k), Some(v)) => (
                    format!(
                        "median {:.0} vs {:.0} ms (tolerance {tol:.0} ms)",
                        v.median, k.median
                    ),
                    Some(v.median <= k.median + tol && r.failed.1 == 0 && r.open.1 <= r.open.0),
                ),
                _ => ("not measured for both".into(), None),
            };
            t.push(Target {
                name,
                measured,
                pass,
            });
        }
    }
    t
}

impl Report {
    /// The resources table (nothing when resources were skipped).
    fn resources_markdown(&self, s: &mut String) {
        if self.resources.is_empty() {
            return;
        }
        let _ = writeln!(s, "\n## Resources at idle (all processes of the daemon)\n");
        let _ = writeln!(s, "CPU per instance: the CPU column divided by the instances; vrrpd's interval: what its first instance advertised at the end of the window (state file `advert`: `auto` = chosen by the adaptive interval).\n");
        let _ = writeln!(s, "| setup | keepalived RSS (peak) | vrrpd RSS (peak) | ratio | keepalived CPU | vrrpd CPU | ratio | CPU per instance (k / v) | vrrpd interval |");
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        let mut setups: Vec<&str> = Vec::new();
        for r in &self.resources {
            if !setups.contains(&r.setup.as_str()) {
                setups.push(&r.setup);
            }
        }
        for setup in setups {
            let get = |d: DaemonKind| {
                self.resources
                    .iter()
                    .find(|r| r.setup == setup && r.daemon == d && r.error.is_none())
            };
            let (k, v) = (get(DaemonKind::Keepalived), get(DaemonKind::Vrrpd));
            let rss = |r: Option<&ResourceRow>| {
                r.map(|r| {
                    format!(
                        "{:.1} MiB ({:.1}; {} proc)",
                        r.rss_kib as f64 / 1024.0,
                        r.hwm_kib as f64 / 1024.0,
                        r.processes
                    )
                })
                .unwrap_or_else(|| "–".into())
            };
            let cpu = |r: Option<&ResourceRow>| {
                r.map(|r| format!("{:.2} ms/s", r.cpu_ms_per_s))
                    .unwrap_or_else(|| "–".into())
            };
            let (rr, cr) = match (k, v) {
                (Some(k), Some(v)) => (
                    ratio(v.rss_kib as f64, k.rss_kib as f64),
                    ratio(v.cpu_ms_per_s, k.cpu_ms_per_s),
                ),
                _ => (None, None),
            };
            let per = |r: Option<&ResourceRow>| {
                r.map(|r| format!("{:.2}", r.cpu_ms_per_s / f64::from(r.instances.max(1))))
                    .unwrap_or_else(|| "–".into())
            };
            let interval = v
                .and_then(|v| {
                    let ms = v.advert_interval_ms?;
                    Some(format!(
                        "{ms:.0} ms ({})",
                        v.advert_mode.as_deref().unwrap_or("?")
                    ))
                })
                .unwrap_or_else(|| "–".into());
            let _ = writeln!(
                s,
                "| {setup} | {} | {} | {} | {} | {} | {} | {} / {} ms/s | {interval} |",
                rss(k),
                rss(v),
                fmt_ratio(rr),
                cpu(k),
                cpu(v),
                fmt_ratio(cr),
                per(k),
                per(v)
            );
        }
        for r in self.resources.iter().filter(|r| r.error.is_some()) {
            let _ = writeln!(
                s,
                "\n- {} {}: {}",
                r.daemon.label(),
                r.setup,
                r.error.as_deref().unwrap_or("")
            );
        }
    }

    /// The adaptive vrrpd master's interval when each fault struck (nothing if none adapted).
    fn interval_markdown(&self, s: &mut String) {
        let ivs: Vec<u64> = self.trials.iter().filter_map(|t| t.interval_ms).collect();
        if ivs.is_empty() {
            return;
        }
        let (lo, hi) = (ivs.iter().min(), ivs.iter().max());
        let at_30 = ivs.iter().filter(|&&i| i <= 30).count();
        let _ = writeln!(
            s,
            "\nvrrpd's adaptive master (configuration (b)) when the fault struck: {}–{} ms ({at_30} of {} trials at ≤ 30 ms); each trial waits up to 35 s for it to reach its floor.",
            lo.unwrap_or(&0),
            hi.unwrap_or(&0),
            ivs.len()
        );
    }

    /// Who held the VIP after each paused master resumed (nothing without such trials).
    fn resume_markdown(&self, s: &mut String) {
        let paused: Vec<&TrialResult> = self
            .trials
            .iter()
            .filter(|t| t.scenario == Scenario::Sigstop && t.ok())
            .collect();
        if paused.is_empty() {
            return;
        }
        let _ = writeln!(
            s,
            "\nPaused master, VIP holder at the end of each trial (lb0 = the old master):"
        );
        for config in [ConfigKind::Same, ConfigKind::Charm] {
            for d in [DaemonKind::Keepalived, DaemonKind::Vrrpd] {
                let who: Vec<&str> = paused
                    .iter()
                    .filter(|t| t.config == config && t.daemon == d)
                    .filter_map(|t| t.resume_holder.as_deref())
                    .collect();
                if !who.is_empty() {
                    let _ = writeln!(
                        s,
                        "- {} / {}: {}",
                        config.label(),
                        d.label(),
                        who.join(", ")
                    );
                }
            }
        }
    }

    /// The stress table (nothing when no case ran).
    fn stress_markdown(&self, s: &mut String) {
        if self.stress.is_empty() {
            return;
        }
        let _ = writeln!(s, "\n## Stress without failure (configuration (a), advert_int {}; every failover is false)\n", crate::configs::SAME_ADVERT_INT);
        let _ = writeln!(s, "Per daemon: *backup→MASTER* / *state changes* of both (their logs) / *VIP moves* (acquisitions by either host, polled every 5 ms). vrrpd's own timing (state file, worst since start): master's advert send lateness, backup's advert gap beyond the interval.\n");
        let _ = writeln!(
            s,
            "| stress case | keepalived | vrrpd | vrrpd send late max | vrrpd gap excess max | load |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---|");
        let mut cases: Vec<StressCase> = Vec::new();
        for r in &self.stress {
            if !cases.contains(&r.case) {
                cases.push(r.case);
            }
        }
        let us = |v: Option<u64>| {
            v.map(|u| format!("{:.1} ms", u as f64 / 1000.0))
                .unwrap_or_else(|| "–".into())
        };
        for case in cases {
            let get = |d: DaemonKind| self.stress.iter().find(|r| r.case == case && r.daemon == d);
            let cell = |r: Option<&StressResult>| match r {
                None => "–".to_string(),
                Some(r) if r.error.is_some() => "error".to_string(),
                Some(r) => {
                    let t = format!("{} / {} / {}", r.failovers, r.transitions, r.vip_moves);
                    if r.clean() {
                        t
                    } else {
                        format!("**{t}**")
                    }
                }
            };
            let (k, v) = (get(DaemonKind::Keepalived), get(DaemonKind::Vrrpd));
            let detail: Vec<String> = [k, v]
                .iter()
                .flatten()
                .filter(|r| !r.detail.is_empty())
                .map(|r| format!("{}: {}", r.daemon.label(), r.detail))
                .collect();
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                case.label(self.stress_quick),
                cell(k),
                cell(v),
                us(v.and_then(|r| r.send_late_max_us)),
                us(v.and_then(|r| r.gap_excess_max_us)),
                detail.join("; ")
            );
        }
        for r in self.stress.iter().filter(|r| r.error.is_some()) {
            let first = r
                .error
                .as_deref()
                .unwrap_or("")
                .lines()
                .next()
                .unwrap_or("");
            let _ = writeln!(
                s,
                "\n- {} {}: {first}",
                r.daemon.label(),
                r.case.label(self.stress_quick)
            );
        }
    }
}

/// Median and worst vrrpd outage of a charm-default cell against issue 13's limits.
fn short_outage_target(rows: &[Row], sc: Scenario, name: &str) -> Target {
    let row = find(rows, ConfigKind::Charm, sc, Metric::Outage);
    match row.and_then(|r| r.vrrpd.map(|v| (r, v))) {
        Some((r, v)) => Target {
            name: name.into(),
            measured: format!(
                "median {:.0} ms, worst {:.0} ms (n={})",
                v.median, v.max, v.n
            ),
            pass: Some(v.median <= 100.0 && v.max <= 150.0 && r.open.1 + r.failed.1 == 0),
        },
        None => Target {
            name: name.into(),
            measured: "not measured".into(),
            pass: None,
        },
    }
}

/// Issue 13's targets: at the charm's defaults, median outage ≤ 100 ms (worst ≤ 150 ms) on link
/// and machine loss; zero false failovers (vrrpd) in every stress case; idle CPU of one
/// instance at charm defaults ≤ 2 × 2.6 ms/s.
fn issue13_targets(rows: &[Row], stress: &[StressResult], res: &[ResourceRow]) -> Vec<Target> {
    let mut t = vec![
        short_outage_target(
            rows,
            Scenario::LinkDown,
            "issue 13, charm defaults: link down outage median ≤ 100 ms, worst ≤ 150 ms",
        ),
        short_outage_target(
            rows,
            Scenario::MachineGone,
            "issue 13, charm defaults: machine gone outage median ≤ 100 ms, worst ≤ 150 ms",
        ),
    ];
    let ours: Vec<&StressResult> = stress
        .iter()
        .filter(|r| r.daemon == DaemonKind::Vrrpd)
        .collect();
    if !ours.is_empty() {
        let dirty: Vec<String> = ours
            .iter()
            .filter(|r| !r.clean())
            .map(|r| format!("{:?}", r.case))
            .collect();
        t.push(Target {
            name: "issue 13: vrrpd zero false failovers in every stress case".into(),
            measured: if dirty.is_empty() {
                format!("0 in {} cases", ours.len())
            } else {
                format!("false failovers or errors in {}", dirty.join(", "))
            },
            pass: Some(dirty.is_empty()),
        });
    }
    let cpu = res.iter().find(|r| {
        r.daemon == DaemonKind::Vrrpd
            && r.instances == 1
            && r.setup.contains("charm")
            && r.error.is_none()
    });
    t.push(Target {
        name: "issue 13: idle CPU, 1 instance at charm defaults ≤ 5.2 ms/s (2 × 2.6)".into(),
        measured: cpu
            .map(|r| {
                format!(
                    "{:.2} ms/s at {}",
                    r.cpu_ms_per_s,
                    r.advert_interval_ms
                        .map(|i| format!("{i:.0} ms adverts"))
                        .unwrap_or_else(|| "the configured interval".into())
                )
            })
            .unwrap_or_else(|| "not measured".into()),
        pass: cpu.map(|r| r.cpu_ms_per_s <= 5.2),
    });
    t
}
