//! `keepalived-charm`, installed in the charm as `dispatch`: picks the event and runs the charm.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]
use std::process::ExitCode;

use keepalived::charm::{self, event::Event};

fn event_name() -> String {
    match std::env::var("JUJU_DISPATCH_PATH") {
        Ok(p) if !p.is_empty() => p,
        _ => std::env::args()
            .next()
            .and_then(|a| {
                std::path::Path::new(&a)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
            })
            .unwrap_or_default(),
    }
}

fn main() -> ExitCode {
    let event = Event::from_dispatch_path(&event_name());
    match charm::run(event.clone()) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            let msg = format!("{event} failed: {e}");
            eprintln!("{msg}");
            let _ = charm::hooktools::HookTools::from_path()
                .juju_log(charm::hooktools::LogLevel::Error, &msg);
            ExitCode::FAILURE
        }
    }
}
