//! Hostile or broken input from Juju and operators (issue 6): random sequences of config
//! values (garbage included), relations with junk remote data, leadership, units coming and
//! going, upgrades and series upgrades, run by the real dispatcher under the Juju emulator.
//! After every settle: no hook fails, the status says what is wrong, publications are absent
//! or exactly right, an invalid change never touches the running worker, and the auth
//! password leaks nowhere. `KEEPALIVED_HOSTILE_CASES` overrides the case count.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;
mod hostile;

use hostile::ops::{config_valid, op, Op};
use hostile::Case;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError};

fn cases(default: u32) -> u32 {
    std::env::var("KEEPALIVED_HOSTILE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn run(principals: usize, secret: &str, steps: &[Op]) -> Result<(), TestCaseError> {
    let mut case =
        Case::new(principals, secret).map_err(|e| TestCaseError::fail(format!("setup: {e}")))?;
    for (n, op) in steps.iter().enumerate() {
        case.step(op)
            .map_err(|e| TestCaseError::fail(format!("step {n} {op:?}: {e}")))?;
    }
    Ok(())
}

fn config() -> Config {
    Config {
        cases: cases(10),
        max_shrink_iters: 128,
        max_shrink_time: 180_000,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/hostile_input.proptest-regressions",
        ))),
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// Starts from a valid configuration, then anything goes.
    #[test]
    fn hostile_sequences_from_a_running_vip(
        principals in 2usize..=3,
        secret in "[G-Z][A-Za-z0-9]{5}",
        first in config_valid(),
        rest in proptest::collection::vec(op(), 4..12),
    ) {
        let steps: Vec<Op> = std::iter::once(first).chain(rest).collect();
        run(principals, &secret, &steps)?;
    }

    /// Starts unconfigured.
    #[test]
    fn hostile_sequences_from_scratch(
        principals in 2usize..=3,
        secret in "[G-Z][A-Za-z0-9]{5}",
        steps in proptest::collection::vec(op(), 5..13),
    ) {
        run(principals, &secret, &steps)?;
    }
}
