//! `vrrpd`: the VRRP worker. See `vrrpd --help` and ARCHITECTURE.md.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use std::process::ExitCode;

use clap::Parser;
use vrrpd::cli::Cli;

/// Stack of the runtime's blocking threads (they only fork/exec a script).
const BLOCKING_STACK: usize = 128 * 1024;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(path) = &cli.check_config {
        return vrrpd::check::check_config(path);
    }
    if let Some(endpoint) = cli.probe_certificate {
        let timeout = std::time::Duration::from_millis(cli.timeout_ms);
        return vrrpd::probe::run(endpoint, cli.sni.as_deref(), timeout);
    }
    let style = vrrpd::logging::init(cli.log_format);
    let Some(config) = cli.config.clone() else {
        eprintln!("vrrpd: --config FILE is required");
        return ExitCode::from(2);
    };
    // The blocking pool only spawns `vrrp_script` children (health/script.rs): one or two small
    // threads, whose stacks `mlockall(MCL_FUTURE)` locks whole (the default is 2 MiB).
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(2)
        .thread_stack_size(BLOCKING_STACK)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("vrrpd: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = if cli.cleanup {
        rt.block_on(vrrpd::cleanup::run(&config))
    } else {
        // Locked before the first socket and timer: from here on no page the daemon has
        // mapped is ever paged out, and new ones are locked as they are mapped.
        match vrrpd::memlock::lock_all() {
            Ok(()) => tracing::debug!(
                locked_kib = vrrpd::memlock::locked_kib(),
                "memory locked (mlockall)"
            ),
            Err(e) => tracing::warn!(
                error = %e,
                "mlockall failed: pages may be swapped out (needs CAP_IPC_LOCK or RLIMIT_MEMLOCK)"
            ),
        }
        rt.block_on(vrrpd::daemon::run(
            config,
            cli.state_file.clone(),
            cli.transitions_file.clone(),
            cli.metrics_listen,
        ))
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "vrrpd failed");
            // On a terminal, also the bare reason; under journald the line above (priority 3)
            // is the one record (an unprefixed copy would land at priority 6).
            if style == vrrpd::logging::Style::Human {
                eprintln!("vrrpd: {e:#}");
            }
            ExitCode::FAILURE
        }
    }
}
