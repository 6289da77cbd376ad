//! Structured logging setup (`tracing` + `tracing-subscriber`), text or JSON, to stderr.
//!
//! The level comes from `VRRPD_LOG`, default `info`: comma-separated `RUST_LOG`-style
//! directives, each a level (`off`, `error`, `warn`, `info`, `debug`, `trace`) for every event,
//! or `target=level` for events whose target (module path) starts with `target`, the longest
//! match winning: `VRRPD_LOG=debug`, `VRRPD_LOG=info,vrrpd::net=trace`. An empty value or one
//! that does not parse leaves `info`. (Parsed by tracing-subscriber's `Targets`; `EnvFilter`'s
//! span and field filters, `target[span{field=value}]=level`, are not supported: they need its
//! regex engine, 0.7 MB of the static binary.)
//!
//! Text logs come in two styles ([`Style`]):
//! * **journal** when `JOURNAL_STREAM` is set (systemd connected stderr to journald) or stderr is
//!   not a terminal: plain lines, no ANSI colour, no timestamp (journald stamps every line
//!   itself), and an sd-daemon priority prefix on *every* line (`<3>` error, `<4>` warning,
//!   `<6>` info, `<7>` debug and trace; see `sd-daemon(3)`), so that
//!   `journalctl -p warning -u vrrpd` finds the warnings;
//! * **human** on a terminal: tracing-subscriber's default format (timestamp, colour, level).

use std::ffi::OsStr;
use std::io::IsTerminal;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

use crate::cli::LogFormat;

/// How text logs look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Plain lines with sd-daemon priority prefixes, for journald (or any non-terminal).
    Journal,
    /// Timestamp, colour and level, for a person at a terminal.
    Human,
}

impl Style {
    /// The style for a process whose `JOURNAL_STREAM` is `journal_stream` and whose stderr is
    /// (or is not) a terminal.
    pub fn choose(journal_stream: Option<&OsStr>, stderr_is_terminal: bool) -> Style {
        if journal_stream.is_some_and(|v| !v.is_empty()) || !stderr_is_terminal {
            Style::Journal
        } else {
            Style::Human
        }
    }

    /// The style for this process.
    pub fn detect() -> Style {
        Style::choose(
            std::env::var_os("JOURNAL_STREAM").as_deref(),
            std::io::stderr().is_terminal(),
        )
    }
}

/// The sd-daemon priority of a tracing level (syslog numbers: 3 err, 4 warning, 6 info, 7 debug).
pub fn priority(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        Level::DEBUG | Level::TRACE => 7,
    }
}

/// Formats an event as journald wants it: the message and fields of tracing-subscriber's plain
/// format without time, level, target or colour, each line prefixed with `<priority>`.
pub struct JournalFormat {
    inner: format::Format<format::Full, ()>,
}

impl Default for JournalFormat {
    fn default() -> Self {
        JournalFormat {
            inner: format::format()
                .without_time()
                .with_level(false)
                .with_target(false)
                .with_ansi(false),
        }
    }
}

impl<S, N> FormatEvent<S, N> for JournalFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let mut buf = String::new();
        self.inner.format_event(ctx, Writer::new(&mut buf), event)?;
        let p = priority(event.metadata().level());
        // A multi-line message (e.g. an error chain) keeps its priority on every line:
        // journald reads the prefix per line.
        for line in buf.trim_end_matches('\n').split('\n') {
            writeln!(writer, "<{p}>{line}")?;
        }
        Ok(())
    }
}

/// The filter `VRRPD_LOG` asks for (see the module documentation); `info` when it is unset,
/// empty or does not parse.
pub fn filter(var: Option<&str>) -> Targets {
    var.map(str::trim)
        .filter(|v| !v.is_empty())
        .and_then(|v| v.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

/// Install the global subscriber. Calling it twice is harmless (the second call is ignored).
/// Returns the text style in use (JSON logs are one object per line whatever the style).
pub fn init(format: LogFormat) -> Style {
    let style = Style::detect();
    let filter = filter(std::env::var("VRRPD_LOG").ok().as_deref());
    // The builder's own level filter lets everything through; `filter` decides.
    let builder = tracing_subscriber::fmt()
        .with_max_level(LevelFilter::TRACE)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match (format, style) {
        (LogFormat::Json, _) => builder
            .json()
            .flatten_event(true)
            .finish()
            .with(filter)
            .try_init(),
        (LogFormat::Text, Style::Journal) => builder
            .with_ansi(false)
            .event_format(JournalFormat::default())
            .finish()
            .with(filter)
            .try_init(),
        (LogFormat::Text, Style::Human) => builder.finish().with(filter).try_init(),
    };
    style
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// What the journal style writes for the events `emit` logs.
    fn journal_output(emit: impl FnOnce()) -> String {
        let buf = Buf::default();
        let w = buf.clone();
        let sub = tracing_subscriber::fmt()
            .with_max_level(LevelFilter::TRACE)
            .with_writer(move || w.clone())
            .with_ansi(false)
            .event_format(JournalFormat::default())
            .finish();
        tracing::subscriber::with_default(sub, emit);
        let bytes = buf.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn every_level_gets_its_sd_daemon_priority_and_nothing_else() {
        let out = journal_output(|| {
            tracing::error!(error = "boom", "vrrpd failed");
            tracing::warn!(instance = "VI_23", "dropped advert");
            tracing::info!("VI_23: BACKUP -> MASTER");
            tracing::debug!(n = 3, "timer");
            tracing::trace!("tick");
        });
        assert_eq!(
            out,
            "<3>vrrpd failed error=\"boom\"\n\
             <4>dropped advert instance=\"VI_23\"\n\
             <6>VI_23: BACKUP -> MASTER\n\
             <7>timer n=3\n\
             <7>tick\n"
        );
    }

    #[test]
    fn multi_line_messages_keep_the_priority_on_every_line() {
        let out = journal_output(|| tracing::warn!("first\nsecond"));
        assert_eq!(out, "<4>first\n<4>second\n");
    }

    #[test]
    fn spans_stay_in_the_line_and_no_escape_codes_appear() {
        let out = journal_output(|| {
            let span = tracing::info_span!("instance", name = "VI_23");
            let _g = span.enter();
            tracing::warn!(vip = "192.0.2.250/24", "VIP removed externally");
        });
        assert!(!out.contains('\x1b'), "{out:?}");
        assert_eq!(
            out,
            "<4>instance{name=\"VI_23\"}: VIP removed externally vip=\"192.0.2.250/24\"\n"
        );
    }

    #[test]
    fn the_style_follows_journal_stream_and_the_terminal() {
        let js = OsStr::new("8:12345");
        assert_eq!(Style::choose(Some(js), true), Style::Journal);
        assert_eq!(Style::choose(Some(js), false), Style::Journal);
        assert_eq!(Style::choose(None, false), Style::Journal);
        assert_eq!(Style::choose(None, true), Style::Human);
        assert_eq!(Style::choose(Some(OsStr::new("")), true), Style::Human);
    }

    #[test]
    fn vrrpd_log_takes_levels_and_target_prefixes() {
        let on = |f: &Targets, target: &str, level: Level| f.would_enable(target, &level);
        let default = filter(None);
        assert!(on(&default, "vrrpd::daemon", Level::INFO));
        assert!(!on(&default, "vrrpd::daemon", Level::DEBUG));
        let debug = filter(Some("debug"));
        assert!(on(&debug, "vrrpd::daemon", Level::DEBUG));
        assert!(!on(&debug, "vrrpd::daemon", Level::TRACE));
        let mixed = filter(Some("warn,vrrpd::net=trace"));
        assert!(on(&mixed, "vrrpd::net::monitor", Level::TRACE));
        assert!(!on(&mixed, "vrrpd::daemon", Level::INFO));
        assert!(on(&mixed, "vrrpd::daemon", Level::WARN));
        assert!(!on(&filter(Some("off")), "vrrpd", Level::ERROR));
        // Empty or junk leaves the default.
        assert!(on(&filter(Some(" ")), "vrrpd", Level::INFO));
        let junk = filter(Some("vrrpd=loud"));
        assert!(on(&junk, "vrrpd", Level::INFO));
        assert!(!on(&junk, "vrrpd", Level::DEBUG));
    }

    #[test]
    fn priorities_are_syslogs() {
        assert_eq!(priority(&Level::ERROR), 3);
        assert_eq!(priority(&Level::WARN), 4);
        assert_eq!(priority(&Level::INFO), 6);
        assert_eq!(priority(&Level::DEBUG), 7);
        assert_eq!(priority(&Level::TRACE), 7);
    }
}
