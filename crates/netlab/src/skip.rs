//! One policy for tests that cannot run here (not root, keepalived missing, no packed charm).
//!
//! A developer's plain `cargo test` skips them with a visible `SKIPPED: test: reason` line on
//! the terminal; the test itself still shows `ok` (libtest cannot mark a test ignored once it
//! runs), so the line is what tells a skip from a pass. Under `cargo xtask test` (and so in CI)
//! `STRICT_ENV` is set and a skip is a failure instead: a green CI run must mean every test ran.

use std::io::Write;

/// Set (to any non-empty value) to turn every skip into a test failure.
pub const STRICT_ENV: &str = "KEEPALIVED_TESTS_STRICT";

/// Whether [`STRICT_ENV`] is set.
pub fn strict() -> bool {
    std::env::var_os(STRICT_ENV).is_some_and(|v| !v.is_empty())
}

/// Reports that a test cannot run because of `reason`: returns `true` (the caller returns
/// early) after printing `SKIPPED: <test>: reason`, or panics when [`STRICT_ENV`] is set.
pub fn skip(reason: &str) -> bool {
    if strict() {
        panic!("cannot run: {reason} (skipping is not allowed: {STRICT_ENV} is set)");
    }
    // libtest captures `eprintln!` of a passing test and never shows it; a write to the stderr
    // handle itself is not captured, so the line reaches the terminal (and CI logs).
    let line = skip_line(std::thread::current().name(), reason);
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
    true
}

/// The line [`skip`] prints. libtest names each test's thread after the test.
fn skip_line(test: Option<&str>, reason: &str) -> String {
    match test {
        Some(name) if name != "main" => format!("SKIPPED: {name}: {reason}\n"),
        _ => format!("SKIPPED: {reason}\n"),
    }
}

/// `true` (skip) unless we run as root; see [`skip`].
pub fn skip_unless_root() -> bool {
    crate::require_root().is_err() && skip("needs root (network namespaces)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_skip_line_names_the_test() {
        let name = std::thread::current().name().map(str::to_owned);
        assert_eq!(
            name.as_deref(),
            Some("skip::tests::the_skip_line_names_the_test"),
            "libtest no longer names the test thread: skip lines lose the test name"
        );
        assert_eq!(
            skip_line(name.as_deref(), "no keepalived"),
            "SKIPPED: skip::tests::the_skip_line_names_the_test: no keepalived\n"
        );
        assert_eq!(skip_line(Some("main"), "r"), "SKIPPED: r\n");
        assert_eq!(skip_line(None, "r"), "SKIPPED: r\n");
    }
}
