//! The packed charms as they ship (`cargo xtask pack`: `target/charm/keepalived_amd64.charm`
//! and `keepalived_arm64.charm`, static musl binaries): each one unpacked and deployed under the
//! Juju emulator, its own `dispatch` running the whole hook sequence; the arm64 one through
//! `qemu-aarch64-static` (juju-emu's handler wrapper: no binfmt_misc on the build machines).
//! Then the `vrrpd` the charm installed checks the config the charm rendered, with the exact
//! `ExecStartPre` command of the rendered unit file.
//!
//! `dispatch` runs the charm's own `bin/vrrpd --probe-certificate` for its certificate check, a
//! child that the handler wrapper does not cover. So the arm64 hooks run in a user and mount
//! namespace of their own, with a private `binfmt_misc` (Linux ≥ 6.7 sandboxes it per user
//! namespace) in which arm64 ELF files run through `qemu-aarch64-static`: the host's binfmt
//! table is neither read nor changed. [`binfmt_wrapper`].
//!
//! Charms: `$KEEPALIVED_CHARM_AMD64` / `$KEEPALIVED_CHARM_ARM64`, else the paths above. A missing
//! charm or `qemu-aarch64-static`, or a kernel without per-user-namespace binfmt_misc (before
//! 6.7), skips (fails under KEEPALIVED_TESTS_STRICT).
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use common::*;

const QEMU: &str = "qemu-aarch64-static";

fn packed(arch: &str) -> Option<PathBuf> {
    let var = format!("KEEPALIVED_CHARM_{}", arch.to_uppercase());
    let p = std::env::var_os(&var)
        .map(PathBuf::from)
        .unwrap_or_else(|| project().join(format!("target/charm/keepalived_{arch}.charm")));
    if p.is_file() {
        Some(p)
    } else {
        netlab::skip(&format!(
            "{} missing (run `cargo xtask pack`, or set {var})",
            p.display()
        ));
        None
    }
}

fn on_path(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `[wrapper..., program, args...]` as a command.
fn wrapped(wrapper: &[&str], program: &Path, args: &[&str]) -> Command {
    let mut argv: Vec<String> = wrapper.iter().map(|s| s.to_string()).collect();
    argv.push(program.display().to_string());
    argv.extend(args.iter().map(|s| s.to_string()));
    let mut c = Command::new(&argv[0]);
    c.args(&argv[1..]);
    c
}

fn deploy_packed(arch: &str, wrapper: &[&str]) {
    let Some(charm) = packed(arch) else { return };
    let unpacked = tempfile::tempdir().unwrap();
    let dir = unpacked.path().join("keepalived");
    jujusim::charmpkg::unpack(&charm, &dir).unwrap();
    let dispatch = dir.join("dispatch");
    let vrrpd = dir.join("bin/vrrpd");

    let mut lab = Lab::with_charm(2, &dir, wrapper);
    let t = Instant::now();
    let (first, units) = lab.settle_new_units();
    assert_eq!(units, ["keepalived/0", "keepalived/1"]);

    lab.config(&[
        ("virtual_ip", "192.0.2.250/24 2001:db8::250/64"),
        ("network_interface", "lo"),
    ]);
    let second = lab.settle();
    lab.relate_consumers();
    let hooks = first.len() + second.len();
    eprintln!(
        "{arch}: {hooks} hooks of the packed dispatch{} in {:.2} s (then the consumers' relations)",
        if wrapper.is_empty() {
            String::new()
        } else {
            format!(" under {}", wrapper.join(" "))
        },
        t.elapsed().as_secs_f64()
    );
    let shipped = std::fs::read(&vrrpd).unwrap();
    for u in &units {
        let (level, msg) = lab.status(u);
        assert_eq!(level, "active", "{u}: {msg}");
        assert!(msg.starts_with("VIP ready (worker starting)"), "{u}: {msg}");
        // The certificate check ran: the charm's own `bin/vrrpd` answered (for arm64, under
        // qemu through the private binfmt_misc), whatever it found on 127.0.0.1:443.
        assert!(!msg.contains("probe failed"), "{arch} {u}: {msg}");
        assert!(lab.active(u), "{u}: worker not started");
        // The charm installed the worker it ships, byte for byte.
        assert!(std::fs::read(lab.file(u, BIN)).unwrap() == shipped, "{u}");
        let conf = lab.read(u, CONF);
        assert!(conf.contains("192.0.2.250/24") && conf.contains("2001:db8::250/64"));

        // The rendered unit's ExecStartPre, run as systemd would (through the wrapper).
        let unit = lab.read(u, UNIT);
        let pre = unit
            .lines()
            .find_map(|l| l.strip_prefix("ExecStartPre="))
            .unwrap_or_else(|| panic!("no ExecStartPre in {unit}"));
        let argv: Vec<&str> = pre.split_whitespace().collect();
        assert_eq!(
            &argv[1..3],
            ["--check-config", &*lab.file(u, CONF).to_string_lossy()]
        );
        let out = wrapped(wrapper, Path::new(argv[0]), &argv[1..])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{arch} {pre}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // And it does check: a broken copy is refused with file:line.
        let bad = lab.file(u, "etc/vrrpd/broken.conf");
        std::fs::write(
            &bad,
            conf.replace("virtual_router_id", "virtual_router_id 0 #"),
        )
        .unwrap();
        let out = wrapped(
            wrapper,
            &lab.file(u, BIN),
            &["--check-config", &bad.to_string_lossy()],
        )
        .output()
        .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{arch}: {err}");
        assert!(err.contains("broken.conf:"), "{arch}: {err}");
    }
    // The binaries are for the named machine: on an amd64 host only the wrapper runs arm64.
    if cfg!(target_arch = "x86_64") && !wrapper.is_empty() {
        let e = Command::new(&dispatch).output().unwrap_err();
        assert_eq!(e.raw_os_error(), Some(ENOEXEC), "{e}");
    }
}

/// "Exec format error".
const ENOEXEC: i32 = 8;

#[test]
fn packed_amd64_charm_runs_its_hooks_and_checks_its_config() {
    deploy_packed("amd64", &[]);
}

/// The ELF header fields binfmt_misc matches for aarch64 executables (e_ident: 64-bit, little
/// endian, version 1; e_type EXEC or DYN; e_machine 183), with the mask of Debian's
/// qemu-user-static `qemu-aarch64` entry.
const AARCH64_MAGIC: &str =
    r"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00";
const AARCH64_MASK: &str =
    r"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff";

/// A script that runs its arguments in a new user + mount namespace (root mapped to root) with a
/// private binfmt_misc in which `qemu` runs every aarch64 executable, so that `dispatch` under
/// qemu can start the charm's arm64 `bin/vrrpd` as a child. `F`: qemu is opened at registration.
fn binfmt_wrapper(dir: &Path, qemu: &Path) -> PathBuf {
    let register = format!(
        ":qemu-aarch64:M::{AARCH64_MAGIC}:{AARCH64_MASK}:{}:F",
        qemu.display()
    );
    let script = format!(
        "#!/bin/sh\nexec unshare --user --map-root-user --mount sh -c '\
         mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc && \
         printf \"%s\" \"$0\" > /proc/sys/fs/binfmt_misc/register && exec \"$@\"' '{register}' \"$@\"\n"
    );
    let p = dir.join("binfmt-qemu");
    std::fs::write(&p, script).unwrap();
    std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    p
}

/// Where `program` is on PATH.
fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
}

#[test]
fn packed_arm64_charm_runs_its_hooks_under_qemu_and_checks_its_config() {
    if !on_path(QEMU) && netlab::skip(&format!("{QEMU} missing (Debian: qemu-user-static)")) {
        return;
    }
    let Some(qemu) = which(QEMU) else {
        netlab::skip(&format!("{QEMU} not found on PATH"));
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let wrapper = binfmt_wrapper(dir.path(), &qemu);
    // Unprivileged-style binfmt_misc mounts (one per user namespace) need Linux 6.7 or later.
    let works = Command::new(&wrapper).arg("true").output().unwrap();
    if !works.status.success()
        && netlab::skip(&format!(
            "no private binfmt_misc in a user namespace (Linux >= 6.7 needed): {}",
            String::from_utf8_lossy(&works.stderr).trim()
        ))
    {
        return;
    }
    deploy_packed("arm64", &[&*wrapper.to_string_lossy(), QEMU]);
}
