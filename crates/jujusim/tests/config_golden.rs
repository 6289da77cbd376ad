//! Golden tests of `juju config` in the simulator's CLI: the real binary, stdout, stderr and exit
//! code compared byte for byte with what Juju 3.6 prints for the keepalived charm's own
//! config.yaml (type rules: juju/charm config.go, juju/schema; see `juju_emu::config`). No root
//! needed: the model is created with juju-emu directly and no controller runs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use juju_emu::{Juju, ModelInfo, RunnerOptions};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

const SUB_META: &str = "name: keepalived
subordinate: true
requires:
  juju-info:
    interface: juju-info
    scope: container
";

fn model(dir: &Path) {
    let exe = Path::new(env!("CARGO_BIN_EXE_juju"));
    let md = jujusim::layout::ModelDir::new(dir);
    let info = ModelInfo {
        name: "default".into(),
        ..ModelInfo::default()
    };
    let j = Juju::create_with(&md.store(), info, RunnerOptions::new(exe)).unwrap();
    let charm = dir.join("keepalived-charm");
    std::fs::create_dir_all(&charm).unwrap();
    std::fs::write(charm.join("metadata.yaml"), SUB_META).unwrap();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::copy(workspace.join("config.yaml"), charm.join("config.yaml")).unwrap();
    j.deploy("keepalived", &charm, 0).unwrap();
}

/// Runs `juju --model-dir DIR ARGS…` with `stdin`; (stdout, stderr, exit code).
fn juju(dir: &Path, args: &[&str], stdin: &str) -> (String, String, i32) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_juju"))
        .arg("--model-dir")
        .arg(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
        out.status.code().unwrap_or(-1),
    )
}

fn ok(out: &str) -> (String, String, i32) {
    (out.to_string(), String::new(), 0)
}

fn err(msg: &str) -> (String, String, i32) {
    (
        String::new(),
        format!("ERROR parsing settings for application: {msg}\n"),
        1,
    )
}

#[test]
fn key_value_strings_are_converted_like_juju() {
    let tmp = tempfile::tempdir().unwrap();
    model(tmp.path());
    let d = tmp.path();
    let run = |args: &[&str]| juju(d, args, "");
    assert_eq!(
        run(&["config", "keepalived", "port=abc"]),
        err("option \"port\" expected int, got \"abc\"")
    );
    assert_eq!(
        run(&["config", "keepalived", "router_id=23.0"]),
        err("option \"router_id\" expected int, got \"23.0\"")
    );
    assert_eq!(
        run(&["config", "keepalived", "preempt=yes"]),
        err("option \"preempt\" expected boolean, got \"yes\"")
    );
    assert_eq!(
        run(&["config", "keepalived", "advert_interval=0,5"]),
        err("option \"advert_interval\" expected float, got \"0,5\"")
    );
    assert_eq!(
        run(&[
            "config",
            "keepalived",
            "virtual_ip=192.0.2.250/24",
            "vrid=3"
        ]),
        err("unknown option \"vrid\"")
    );
    // Nothing of a rejected command is applied.
    assert_eq!(run(&["config", "keepalived", "virtual_ip"]), ok("\n"));
    assert_eq!(
        run(&[
            "config",
            "keepalived",
            "advert_interval=1",
            "preempt=True",
            "port=+8443"
        ]),
        ok("")
    );
    assert_eq!(run(&["config", "keepalived", "advert_interval"]), ok("1\n"));
    assert_eq!(run(&["config", "keepalived", "preempt"]), ok("true\n"));
    assert_eq!(run(&["config", "keepalived", "port"]), ok("8443\n"));
}

#[test]
fn file_yaml_values_are_type_checked_like_juju() {
    let tmp = tempfile::tempdir().unwrap();
    model(tmp.path());
    let d = tmp.path();
    let file = |yaml: &str| juju(d, &["config", "keepalived", "--file", "-"], yaml);
    assert_eq!(
        file("keepalived:\n  router_id: 23.0\n"),
        err("option \"router_id\" expected int, got 23")
    );
    assert_eq!(
        file("keepalived:\n  preempt: \"on\"\n"),
        err("option \"preempt\" expected boolean, got \"on\"")
    );
    assert_eq!(
        file("keepalived:\n  vip_hostname: 10\n"),
        err("option \"vip_hostname\" expected string, got 10")
    );
    assert_eq!(
        file("kubeapi-load-balancer:\n  port: 443\n"),
        err("no settings found for \"keepalived\"")
    );
    assert_eq!(
        file("keepalived:\n  advert_interval: 2\n  port: \"8443\"\n  unicast: true\n"),
        ok("")
    );
    let run = |args: &[&str]| juju(d, args, "");
    assert_eq!(run(&["config", "keepalived", "advert_interval"]), ok("2\n"));
    assert_eq!(run(&["config", "keepalived", "port"]), ok("8443\n"));
    // A file on disk, then --reset, then key=value, in Juju's order.
    let f = d.join("cfg.yaml");
    std::fs::write(&f, "keepalived:\n  port: 9443\n  advert_interval: 0.25\n").unwrap();
    assert_eq!(
        run(&[
            "config",
            "keepalived",
            "--file",
            f.to_str().unwrap(),
            "--reset",
            "advert_interval",
            "unicast=false",
        ]),
        ok("")
    );
    assert_eq!(run(&["config", "keepalived", "port"]), ok("9443\n"));
    assert_eq!(run(&["config", "keepalived", "advert_interval"]), ok("0\n"));
    assert_eq!(run(&["config", "keepalived", "unicast"]), ok("false\n"));
}
