//! Runs the real keepalived 2.2.7 in config-test mode (`keepalived -t -n -l -f FILE`) on the
//! fixtures and checks that it agrees with kaconf: the valid fixtures that use only
//! keepalived keywords are accepted by both, the invalid ones rejected by both.
//!
//! keepalived checks that interfaces exist, so it runs inside a network namespace created
//! here with veth interfaces `eth0` and `eth1` (nothing is sent: `-t` only parses).
//! keepalived 2.2.7 exits 0 when the configuration is clean, 5 on configuration errors
//! and 6 when the only complaint is script security.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const KEEPALIVED: &str = "/usr/sbin/keepalived";

/// A network namespace with two veth pairs, deleted on drop (also when a test panics).
struct Netns {
    name: String,
}

impl Netns {
    fn new() -> Netns {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "kaconf-t-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        run("ip", &["netns", "add", &name]);
        let ns = Netns { name };
        for i in ["eth0", "eth1"] {
            let peer = format!("{i}p");
            run(
                "ip",
                &[
                    "-n", &ns.name, "link", "add", i, "type", "veth", "peer", "name", &peer,
                ],
            );
            run("ip", &["-n", &ns.name, "link", "set", i, "up"]);
            run("ip", &["-n", &ns.name, "link", "set", &peer, "up"]);
        }
        ns
    }

    /// `keepalived -t` on `file` inside the namespace, with a time bound.
    fn keepalived_test(&self, file: &Path) -> Output {
        let mut child = Command::new("ip")
            .args([
                "netns", "exec", &self.name, KEEPALIVED, "-t", "-n", "-l", "-f",
            ])
            .arg(file)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn keepalived");
        let deadline = Instant::now() + Duration::from_secs(30);
        while child.try_wait().expect("wait").is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("keepalived -t on {} did not finish in 30 s", file.display());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.wait_with_output().expect("output")
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn run(cmd: &str, args: &[&str]) {
    let st = Command::new(cmd)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(st.success(), "{cmd} {args:?} failed");
}

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// Whether the comparison can run here: root (it makes a network namespace) and keepalived
/// installed; otherwise the project's skip policy (`netlab::skip`).
fn available() -> bool {
    if netlab::skip_unless_root() {
        return false;
    }
    Path::new(KEEPALIVED).exists() || !netlab::skip(&format!("{KEEPALIVED} not installed"))
}

/// keepalived's verdict: Ok when accepted, Err(output) when it reported problems.
fn keepalived_accepts(ns: &Netns, file: &Path) -> Result<(), String> {
    let out = ns.keepalived_test(file);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    match out.status.code() {
        Some(0) => Ok(()),
        // Script-security only: the configuration itself parsed fine.
        Some(6)
            if text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .all(|l| l.starts_with("SECURITY VIOLATION")) =>
        {
            Ok(())
        }
        code => Err(format!("exit {code:?}:\n{text}")),
    }
}

/// Valid fixtures that use only keywords keepalived 2.2.7 knows.
const KEEPALIVED_VALID: &[&str] = &[
    "valid/charm-classic.conf",
    "valid/auth-pass.conf",
    "valid/unicast-v3.conf",
    "valid/ipv6.conf",
    "valid/tracking.conf",
    "valid/include-tree/main.conf",
    "valid/ignored-keywords.conf",
    "valid/scheduling.conf",
];

#[test]
fn keepalived_and_kaconf_accept_the_valid_fixtures() {
    if !available() {
        return;
    }
    let ns = Netns::new();
    for rel in KEEPALIVED_VALID {
        let path = fixture(rel);
        if let Err(e) = kaconf::load(&path) {
            panic!("kaconf rejects {rel}:\n{e}");
        }
        if let Err(e) = keepalived_accepts(&ns, &path) {
            panic!("keepalived rejects {rel}: {e}");
        }
    }
}

#[test]
fn keepalived_and_kaconf_reject_the_invalid_fixtures() {
    if !available() {
        return;
    }
    let ns = Netns::new();
    let mut n = 0;
    for entry in std::fs::read_dir(fixture("invalid")).expect("invalid dir") {
        let path = entry.expect("entry").path();
        assert!(
            kaconf::load(&path).is_err(),
            "kaconf accepts {}",
            path.display()
        );
        assert!(
            keepalived_accepts(&ns, &path).is_err(),
            "keepalived accepts {}",
            path.display()
        );
        n += 1;
    }
    assert!(n >= 10, "only {n} invalid fixtures");
}

#[test]
fn keepalived_rejects_our_own_keyword() {
    // vrrpd_check is ours: keepalived reports it as an unknown keyword (so the worker
    // config is not a drop-in keepalived config once native checks are used).
    if !available() {
        return;
    }
    let ns = Netns::new();
    let path = fixture("valid/vrrpd-check.conf");
    assert!(kaconf::load(&path).is_ok());
    let err = keepalived_accepts(&ns, &path).expect_err("keepalived should complain");
    assert!(err.contains("Unknown keyword 'vrrpd_check'"), "{err}");
}

#[test]
fn keepalived_rejects_vrrpd_adaptive_interval() {
    // Ours too (issue 13): keepalived 2.2.7 does not know it, so a config that adapts the
    // interval is vrrpd-only, like vrrpd_garp_burst.
    if !available() {
        return;
    }
    let ns = Netns::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("adaptive.conf");
    let text = "vrrp_instance V {\n interface lo\n virtual_router_id 5\n version 3\n \
                advert_int 0.1\n vrrpd_adaptive_interval 0.03\n \
                virtual_ipaddress {\n  192.0.2.1/24\n }\n}\n";
    std::fs::write(&path, text).expect("write");
    assert!(kaconf::load(&path).is_ok());
    let err = keepalived_accepts(&ns, &path).expect_err("keepalived should complain");
    assert!(
        err.contains("Unknown keyword 'vrrpd_adaptive_interval'"),
        "{err}"
    );
}
