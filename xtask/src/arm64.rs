//! The arm64 step of `cargo xtask test`: the arm64 (aarch64-unknown-linux-musl) build of the
//! portable crates runs its own tests under `qemu-aarch64-static`, the cargo `runner` that
//! `.cargo/config.toml` names (binfmt_misc is not mounted on the build machines).
//!
//! `vrrp` (the protocol core: codec, state machine, timers, fixtures of keepalived's adverts) and
//! `kaconf` (the config dialect, incl. `keepalived_agrees`, which runs the host's keepalived 2.2.7
//! in a network namespace: the arm64 test binary drives `ip netns` and `keepalived` as host
//! programs). The arm64 `dispatch` and `vrrpd` run under qemu in `tests/packed_charms.rs` (hooks
//! under juju-emu, `vrrpd --check-config` on the rendered config), part of the main test run.
//! Not here: `vrrpd`'s tests and the charm's own tests, which need raw sockets, netlink and
//! network namespaces from the binary under test itself, and are covered on amd64. qemu-user
//! cannot stand in for them: the arm64 vrrpd under qemu-aarch64-static 7.2 (Debian 12) gets
//! ENOPROTOOPT for `setsockopt(IP_MULTICAST_ALL)`, which qemu does not translate, so its VRRP
//! socket never opens and the instance sits in FAULT (tried by hand in a namespace: the same
//! config makes the amd64 build MASTER).
use std::process::Command;

use anyhow::{bail, Result};

use crate::pack::Arch;
use crate::sh;
use crate::test::{tally, Tally};

/// The crates whose tests run under qemu.
pub const CRATES: [&str; 2] = ["vrrp", "kaconf"];

/// Builds and runs the arm64 tests of [`CRATES`] under qemu; hands their tally to `count`
/// (also when some failed) and fails if any failed or none ran.
pub fn run_tests(count: &dyn Fn(Tally)) -> Result<()> {
    crate::pack::ensure_toolchain()?;
    let mut c: Command = sh::cargo();
    c.args([
        "test",
        "--no-fail-fast",
        "--target",
        Arch::Arm64.rust_target(),
    ]);
    for k in CRATES {
        c.args(["-p", k]);
    }
    // A skipped test fails here too.
    c.env("KEEPALIVED_TESTS_STRICT", "1");
    // One test at a time: qemu-user can deadlock a process that forks while another guest
    // thread runs (seen once in CI: kaconf's keepalived_agrees child stuck on a futex inside
    // qemu right after fork, its parent waiting on the exec pipe for 20 minutes). With one
    // test thread no other guest thread exists when a test spawns `keepalived -t`.
    c.env("RUST_TEST_THREADS", "1");
    let (out, status) = sh::run_tee(c)?;
    let t = tally(&out);
    count(t);
    if !status.success() || t.failed > 0 {
        bail!(
            "arm64 tests under qemu failed ({status}; {} failed)",
            t.failed
        );
    }
    if t.passed == 0 {
        bail!("the arm64 build ran no test");
    }
    println!(
        "arm64 under qemu-aarch64-static: {} passed, {} ignored ({})",
        t.passed,
        t.ignored,
        CRATES.join(", ")
    );
    Ok(())
}
