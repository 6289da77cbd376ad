//! One policy for tests that cannot run here (not root, keepalived missing, no packed charm).
//!
//! A developer's plain `cargo test` skips them with a visible `SKIP:` line. Under
//! `cargo xtask test` (and so in CI) `STRICT_ENV` is set and a skip is a failure instead: a
//! green CI run must mean every test ran.

/// Set (to any non-empty value) to turn every skip into a test failure.
pub const STRICT_ENV: &str = "KEEPALIVED_TESTS_STRICT";

/// Reports that a test cannot run because of `reason`: returns `true` (the caller returns
/// early) after printing `SKIP: reason`, or panics when [`STRICT_ENV`] is set.
pub fn skip(reason: &str) -> bool {
    if std::env::var_os(STRICT_ENV).is_some_and(|v| !v.is_empty()) {
        panic!("cannot run: {reason} (skipping is not allowed: {STRICT_ENV} is set)");
    }
    eprintln!("SKIP: {reason}");
    true
}

/// `true` (skip) unless we run as root; see [`skip`].
pub fn skip_unless_root() -> bool {
    crate::require_root().is_err() && skip("needs root (network namespaces)")
}
