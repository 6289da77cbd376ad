//! `vrrpd --check-config` (no root needed): exit codes, `file:line:` errors, warnings, and
//! agreement with the charm's renderings of `templates/vrrpd.conf.tera`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

const VRRPD: &str = env!("CARGO_BIN_EXE_vrrpd");

fn check(path: &Path) -> (i32, String, String) {
    let out = Command::new(VRRPD)
        .arg("--check-config")
        .arg(path)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const GOOD: &str = "global_defs {\n    router_id lb\n    vrrp_version 3\n}\n\
vrrpd_check api {\n    tcp_connect 127.0.0.1 6443\n    interval 0.1\n    timeout 0.1\n}\n\
vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 23\n    priority 101\n    advert_int 0.1\n\
    virtual_ipaddress {\n        192.0.2.100/24\n    }\n    track_script {\n        api\n    }\n}\n";

#[test]
fn valid_file_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = check(&write(dir.path(), "ok.conf", GOOD));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("configuration OK (1 instance(s), 1 check(s))"),
        "{out}"
    );
}

#[test]
fn ignored_keyword_is_a_warning_with_location() {
    let dir = tempfile::tempdir().unwrap();
    let text = GOOD.replace("    router_id lb\n", "    router_id lb\n    enable_traps\n");
    let p = write(dir.path(), "warn.conf", &text);
    let (code, out, err) = check(&p);
    assert_eq!(code, 0, "{out}{err}");
    let want = format!("{}:3: warning:", p.display());
    assert!(out.contains(&want), "{out}");
}

#[test]
fn a_missing_script_is_disabled_with_a_warning_as_keepalived_does() {
    let dir = tempfile::tempdir().unwrap();
    let text = GOOD
        .replace(
            "vrrp_instance VI_1 {",
            "vrrp_script gone {\n    script \"/nonexistent/check.sh\"\n}\nvrrp_instance VI_1 {",
        )
        .replace("        api\n", "        api\n        gone\n");
    let p = write(dir.path(), "gone.conf", &text);
    let (code, out, err) = check(&p);
    assert_eq!(code, 0, "{out}{err}");
    let want = format!(
        "{}:10: warning: vrrp_script gone: unable to access script /nonexistent/check.sh: disabled",
        p.display()
    );
    assert!(out.contains(&want), "{out}");
    assert!(out.contains("(1 instance(s), 1 check(s))"), "{out}");
}

#[test]
fn errors_name_file_and_line_and_exit_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let text = GOOD.replace("virtual_router_id 23", "virtual_router_id 300");
    let p = write(dir.path(), "bad.conf", &text);
    let (code, out, err) = check(&p);
    assert_ne!(code, 0, "{out}{err}");
    let want = format!("{}:12: error:", p.display());
    assert!(err.contains(&want), "{err}");
}

#[test]
fn daemon_refuses_an_invalid_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "bad.conf", "vrrp_instance x {\n");
    let out = Command::new(VRRPD)
        .arg("--config")
        .arg(&p)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.conf:"));
}

#[test]
fn cli_needs_a_mode() {
    let out = Command::new(VRRPD).output().unwrap();
    assert!(!out.status.success());
}

/// Every rendering of the charm's worker template kept by the charm's tests is accepted.
#[test]
fn charm_renderings_are_accepted() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../src/charm/testdata");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("vrrpd") && name.ends_with(".conf") {
            let (code, out, err) = check(&p);
            assert_eq!(code, 0, "{name}: {out}{err}");
            seen += 1;
        }
    }
    assert!(seen >= 1, "no charm renderings found in {}", dir.display());
}

/// Issue 5 keywords are accepted: `tcp_connect … watch`, `http_get https://…`,
/// `vrrpd_metrics_listen`, `vrrpd_handoff_timeout`.
#[test]
fn fast_failover_keywords_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let text = "global_defs {\n    vrrp_version 3\n    vrrpd_metrics_listen 127.0.0.1:9650\n    vrrpd_handoff_timeout 0.5\n}\n\
vrrpd_check lb {\n    tcp_connect 127.0.0.1 443 watch\n    interval 1\n    timeout 0.2\n}\n\
vrrpd_check api {\n    http_get https://127.0.0.1:6443/readyz status 200\n    interval 0.5\n}\n\
vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 23\n    priority 101\n    advert_int 0.1\n\
    virtual_ipaddress {\n        192.0.2.100/24\n    }\n    track_script {\n        lb\n        api weight -50\n    }\n}\n";
    let (code, out, err) = check(&write(dir.path(), "fast.conf", text));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("configuration OK (1 instance(s), 2 check(s))"),
        "{out}"
    );
}
