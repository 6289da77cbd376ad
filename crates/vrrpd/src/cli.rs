//! Command line of the `vrrpd` binary.
//!
//! Four modes: run (`--config`), validate (`--check-config`, like `keepalived -t`), cleanup
//! (`--cleanup --config`, for systemd `ExecStopPost`) and the charm's certificate probe
//! (`--probe-certificate ADDR:PORT`, see `probe.rs`). No path is implied: the state
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
#[command(group(ArgGroup::new("mode").required(true).args(["config", "check_config", "probe_certificate"])))]
pub struct Cli {
    /// Configuration file (keepalived dialect plus `vrrpd_check`); runs the daemon.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Validate FILE and exit: 0 with warnings for ignored keywords, non-zero with
    /// `file:line: reason` for every error.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["config", "cleanup", "state_file"])]
    pub check_config: Option<PathBuf>,

    /// Read the certificate a TLS listener serves (the charm's load balancer check): one TCP
    /// connection, any chain accepted, handshake signature verified; print one JSON object,
    /// `{"served":{"ips":[…],"dns":[…]}}` or `{"error":{"kind":…,"text":…}}`, and exit 0.
    /// No memory lock, priority, state or logging.
    #[arg(long, value_name = "ADDR:PORT", conflicts_with_all = ["config", "check_config", "cleanup", "state_file", "metrics_listen"])]
    pub probe_certificate: Option<std::net::SocketAddr>,

    /// With `--probe-certificate`: the SNI name to send (else none; the IP is not sent).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["config", "check_config"])]
    pub sni: Option<String>,

    /// With `--probe-certificate`: connect plus handshake give up after this long.
    #[arg(long, value_name = "MS", default_value_t = 2000, conflicts_with_all = ["config", "check_config"],
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub timeout_ms: u64,

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
    fn probe_mode() {
        let cli = Cli::try_parse_from(["vrrpd", "--probe-certificate", "127.0.0.1:443"]).unwrap();
        assert_eq!(
            cli.probe_certificate,
            Some("127.0.0.1:443".parse().unwrap())
        );
        assert_eq!((cli.sni, cli.timeout_ms), (None, 2000));
        let cli = Cli::try_parse_from([
            "vrrpd",
            "--probe-certificate",
            "[::1]:6443",
            "--sni",
            "lb.example.com",
            "--timeout-ms",
            "500",
        ])
        .unwrap();
        assert_eq!(cli.sni.as_deref(), Some("lb.example.com"));
        assert_eq!(cli.timeout_ms, 500);
        for bad in [
            &[
                "vrrpd",
                "--probe-certificate",
                "127.0.0.1:443",
                "--config",
                "/a",
            ][..],
            &["vrrpd", "--probe-certificate", "127.0.0.1"],
            &[
                "vrrpd",
                "--probe-certificate",
                "127.0.0.1:443",
                "--timeout-ms",
                "0",
            ],
            &["vrrpd", "--config", "/a", "--sni", "x"],
            &["vrrpd", "--check-config", "/a", "--timeout-ms", "5"],
        ] {
            assert!(Cli::try_parse_from(bad).is_err(), "{bad:?}");
        }
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
