//! Command-line options of the benchmark (also the library's input: `bench::run(opts)`).

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::configs::ConfigKind;
use crate::daemon::DaemonKind;
use crate::stress::StressCase;
use crate::trial::{Cell, Scenario, Timing};

/// `cargo xtask bench` / `bench` options.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "bench",
    about = "Failover benchmark: keepalived 2.2.7 vs vrrpd in network-namespace labs (root)"
)]
pub struct Opts {
    /// The vrrpd binary (e.g. `target/x86_64-unknown-linux-musl/release/vrrpd`, what the charm
    /// ships). Default: build it now (`build_vrrpd`).
    #[arg(long, value_name = "PATH")]
    pub vrrpd: Option<PathBuf>,

    /// Repetitions per cell (daemon × configuration × scenario).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub reps: u32,

    /// A smaller run: one repetition per cell and a short idle window for resources.
    #[arg(long)]
    pub quick: bool,

    /// Daemons to run.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [DaemonKind::Keepalived, DaemonKind::Vrrpd])]
    pub daemons: Vec<DaemonKind>,

    /// Configurations to run.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [ConfigKind::Same, ConfigKind::Charm])]
    pub configs: Vec<ConfigKind>,

    /// Scenarios to run.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = Scenario::ALL)]
    pub scenarios: Vec<Scenario>,

    /// Skip the failover trials (e.g. `--no-failover --stress cpu` for one stress case).
    #[arg(long)]
    pub no_failover: bool,

    /// Stress cases to run (false failovers; configuration (a), each daemon).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = StressCase::ALL)]
    pub stress: Vec<StressCase>,

    /// Skip the stress cases.
    #[arg(long)]
    pub no_stress: bool,

    /// Client connect period in milliseconds.
    #[arg(long, default_value_t = 5)]
    pub period_ms: u64,

    /// Client connect timeout in milliseconds.
    #[arg(long, default_value_t = 20)]
    pub connect_timeout_ms: u64,

    /// Idle window for the CPU measurement, in seconds (default 10, 3 with --quick).
    #[arg(long)]
    pub idle_secs: Option<u64>,

    /// Skip the resource measurements.
    #[arg(long)]
    pub skip_resources: bool,

    /// Directory of the packed charms (`keepalived_<arch>.charm`, as `cargo xtask pack` writes
    /// them): adds the size table and the hook cost (issue 10). Not given: both are skipped.
    #[arg(long, value_name = "DIR")]
    pub charms: Option<PathBuf>,

    /// jujusim's `juju` executable, for the hook cost.
    #[arg(long, value_name = "PATH", default_value_os_t = crate::workspace_root().join("target").join("debug").join("juju"))]
    pub juju: PathBuf,

    /// A Python with `ops` installed: the minimal `ops` charm is measured beside ours.
    #[arg(long, value_name = "PY")]
    pub ops_python: Option<PathBuf>,

    /// Rounds of each hook for the hook cost (default 10, 5 with --quick).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub hook_rounds: Option<u32>,

    /// Directory for report.md and report.json.
    #[arg(long, value_name = "DIR", default_value_os_t = crate::workspace_root().join("target").join("bench"))]
    pub out: PathBuf,
}

impl Default for Opts {
    fn default() -> Self {
        Opts::parse_from(["bench"])
    }
}

impl Opts {
    /// Parses command-line arguments (without the program name), e.g. what follows
    /// `cargo xtask bench`. `--help` comes back as an error holding the help text.
    pub fn from_args<I, T>(args: I) -> Result<Opts, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let argv = std::iter::once(std::ffi::OsString::from("bench"))
            .chain(args.into_iter().map(Into::into));
        Opts::try_parse_from(argv)
    }

    /// Repetitions actually run.
    pub fn effective_reps(&self) -> u32 {
        if self.quick {
            1
        } else {
            self.reps
        }
    }

    /// Rounds of each hook for the hook cost.
    pub fn hook_rounds(&self) -> usize {
        self.hook_rounds.unwrap_or(if self.quick { 5 } else { 10 }) as usize
    }

    /// The idle window for CPU measurements.
    pub fn idle_window(&self) -> Duration {
        Duration::from_secs(self.idle_secs.unwrap_or(if self.quick { 3 } else { 10 }))
    }

    /// Is keepalived part of this run?
    pub fn wants_keepalived(&self) -> bool {
        self.daemons.contains(&DaemonKind::Keepalived)
    }

    /// Client timing.
    pub fn timing(&self) -> Timing {
        Timing {
            period: Duration::from_millis(self.period_ms.clamp(1, 1000)),
            connect_timeout: Duration::from_millis(self.connect_timeout_ms.clamp(1, 1000)),
        }
    }

    /// Every trial, repetitions outermost and daemons innermost so that slow drifts of the host
    /// affect both daemons alike.
    pub fn plan(&self) -> Vec<Cell> {
        let mut cells = Vec::new();
        if self.no_failover {
            return cells;
        }
        for rep in 0..self.effective_reps() {
            for &config in &self.configs {
                for &scenario in &self.scenarios {
                    for &daemon in &self.daemons {
                        cells.push(Cell {
                            config,
                            scenario,
                            daemon,
                            rep,
                        });
                    }
                }
            }
        }
        cells
    }
}

impl Opts {
    /// Every stress run: cases outermost, daemons innermost; one each (the cases are long).
    pub fn stress_plan(&self) -> Vec<(StressCase, DaemonKind)> {
        if self.no_stress {
            return Vec::new();
        }
        let mut v = Vec::new();
        for &c in &self.stress {
            for &d in &self.daemons {
                v.push((c, d));
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_cover_everything() {
        let o = Opts::from_args(Vec::<String>::new()).unwrap();
        assert_eq!(o.effective_reps(), 3);
        assert_eq!(o.plan().len(), 3 * 2 * 6 * 2);
        assert_eq!(o.stress_plan().len(), 6 * 2);
        assert!(o.wants_keepalived());
    }

    #[test]
    fn quick_and_filters() {
        let o = Opts::from_args([
            "--quick",
            "--daemons",
            "vrrpd",
            "--scenarios",
            "sigkill,lb-death",
        ])
        .unwrap();
        assert_eq!(o.effective_reps(), 1);
        assert_eq!(o.plan().len(), 2 * 2);
        assert!(!o.wants_keepalived());
        assert!(Opts::from_args(["--reps", "0"]).is_err());
        let o = Opts::from_args(["--no-failover", "--stress", "jitter,cpu-rt"]).unwrap();
        assert!(o.plan().is_empty());
        assert_eq!(o.stress_plan().len(), 2 * 2);
        let o = Opts::from_args(["--no-stress", "--scenarios", "machine-gone,sigstop"]).unwrap();
        assert!(o.stress_plan().is_empty());
        assert_eq!(o.plan().len(), 3 * 2 * 2 * 2);
    }
}
