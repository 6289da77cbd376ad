//! Command line of the `vrrpd` binary.
//!
//! Three modes: run (`--config`), validate (`--check-config`, like `keepalived -t`) and
//! cleanup (`--cleanup --config`, for systemd `ExecStopPost`). No path is implied: the state
//! file is written only when `--state-file` names one, so several daemons in different network
//! namespaces of one host never share a file.

use std::path::PathBuf;

use clap::{ArgGroup, Parser, ValueEnum};

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `vrrpd` command line.
#[derive(Debug, Parser)]
#[command(
    name = "vrrpd",
    version,
    about = "VRRP worker daemon (keepalived-compatible configuration)"
)]
#[command(group(ArgGroup::new("mode").required(true).args(["config", "check_config"])))]
pub struct Cli {
    /// Configuration file (keepalived dialect plus `vrrpd_check`); runs the daemon.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Validate FILE and exit: 0 with warnings for ignored keywords, non-zero with
    /// `file:line: reason` for every error.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["config", "cleanup", "state_file"])]
    pub check_config: Option<PathBuf>,

    /// Remove the configuration's VIPs from their interfaces if present, then exit 0.
    #[arg(long, requires = "config")]
    pub cleanup: bool,

    /// Write the JSON state file here (atomically) on every change.
    #[arg(long, value_name = "PATH")]
    pub state_file: Option<PathBuf>,

    /// Also rewrite this small file (atomically, right after the state file) on every role,
    /// master or holding change and never otherwise: a systemd `.path` unit watching it can
    /// refresh the unit's Juju status after each transition. Needs `--state-file`.
    #[arg(long, value_name = "PATH", requires = "state_file")]
    pub transitions_file: Option<PathBuf>,

    /// Serve Prometheus metrics (text format 0.0.4) at `http://ADDR:PORT/metrics`; overrides
    /// `global_defs { vrrpd_metrics_listen }`. Off by default; prefer a loopback address.
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics_listen: Option<std::net::SocketAddr>,

    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_mode_parses() {
        let cli = Cli::try_parse_from(["vrrpd", "--config", "/x", "--state-file", "/s"]).unwrap();
        assert_eq!(cli.config.as_deref(), Some(std::path::Path::new("/x")));
        assert!(!cli.cleanup);
        assert_eq!(cli.log_format, LogFormat::Text);
    }

    #[test]
    fn a_mode_is_required() {
        assert!(Cli::try_parse_from(["vrrpd"]).is_err());
        assert!(Cli::try_parse_from(["vrrpd", "--cleanup"]).is_err());
    }

    #[test]
    fn check_config_excludes_run() {
        assert!(Cli::try_parse_from(["vrrpd", "--check-config", "/a", "--config", "/b"]).is_err());
        let cli = Cli::try_parse_from(["vrrpd", "--check-config", "/a"]).unwrap();
        assert!(cli.check_config.is_some());
    }

    #[test]
    fn json_logs() {
        let cli = Cli::try_parse_from(["vrrpd", "--config", "/a", "--log-format", "json"]).unwrap();
        assert_eq!(cli.log_format, LogFormat::Json);
    }

    #[test]
    fn metrics_listen_flag() {
        let cli = Cli::try_parse_from(["vrrpd", "--config", "/a"]).unwrap();
        assert_eq!(cli.metrics_listen, None);
        let cli =
            Cli::try_parse_from(["vrrpd", "--config", "/a", "--metrics-listen", "[::1]:9650"])
                .unwrap();
        assert_eq!(cli.metrics_listen, Some("[::1]:9650".parse().unwrap()));
        assert!(
            Cli::try_parse_from(["vrrpd", "--config", "/a", "--metrics-listen", "9650"]).is_err()
        );
    }
}
