//! keepalived's `vrrp_rt_priority` in vrrpd (issue 13): the event-loop thread runs SCHED_RR
//! at the configured priority with SCHED_RESET_ON_FORK (`chrt -p` of the loop thread, the
//! main thread, says so), and so does the advert pacer's thread (`pacer`, which sends a
//! master's adverts); every other thread and the health scripts it runs are SCHED_OTHER,
//! the state file's `scheduling` reports it, and a reload applies a changed value. Without
//! CAP_SYS_NICE (dropped with `setpriv`) the kernel refuses: one warning, SCHED_OTHER, and the
//! reason in the state file. Root required; skipped otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use common::{skip, wait_until, VRRPD};
use netlab::Signal;

fn config(ifname: &str, rt: Option<u8>, script: &Path) -> String {
    let rt = rt.map_or(String::new(), |p| format!("    vrrp_rt_priority {p}\n"));
    format!(
        "global_defs {{\n    vrrp_version 3\n{rt}}}\n\
         vrrp_script chk {{\n    script \"{}\"\n    interval 1\n    weight 0\n}}\n\
         vrrp_instance VI_1 {{\n    interface {ifname}\n    virtual_router_id 9\n    priority 150\n    \
         advert_int 0.1\n    virtual_ipaddress {{\n        198.51.100.9/24\n    }}\n    \
         track_script {{\n        chk\n    }}\n}}\n",
        script.display()
    )
}

fn scheduling(state: &Path) -> serde_json::Value {
    std::fs::read(state)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .map_or(serde_json::Value::Null, |v| v["scheduling"].clone())
}

fn wait_scheduling(state: &Path, policy: &str, priority: u64) -> serde_json::Value {
    let ok = wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        let s = scheduling(state);
        s["policy"] == policy && s["priority"] == priority
    });
    let s = scheduling(state);
    assert!(ok.is_some(), "scheduling never {policy}/{priority}: {s}");
    s
}

fn chrt(tid: u32) -> String {
    let out = std::process::Command::new("chrt")
        .args(["-p", &tid.to_string()])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Thread ids of `pid` other than the main (loop) thread.
/// The threads other than the main one, with their names (`comm`).
fn other_threads(pid: u32) -> Vec<(u32, String)> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&t| t != pid)
        .map(|t| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/task/{t}/comm"));
            (t, comm.unwrap_or_default().trim().to_string())
        })
        .collect()
}

/// `chrt -p` of the advert pacer's thread.
fn pacer_chrt(pid: u32) -> String {
    let pacer = other_threads(pid).into_iter().find(|(_, n)| n == "pacer");
    chrt(pacer.expect("the advert pacer thread is missing").0)
}

/// A health script that records its own scheduling policy (as `chrt -p` shows it).
fn recording_script(dir: &Path) -> std::path::PathBuf {
    let script = dir.join("chk.sh");
    let out = dir.join("script-policy");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nchrt -p $$ > {}\nexit 0\n", out.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// One host in a fresh lab, a config asking for `vrrp_rt_priority 50` with the recording
/// script, and where the worker's state file goes.
struct Setup {
    lab: netlab::Lab,
    host: netlab::Host,
    dir: tempfile::TempDir,
    conf: std::path::PathBuf,
    state: std::path::PathBuf,
    script: std::path::PathBuf,
}

fn setup(tag: &str) -> Setup {
    let lab = netlab::Lab::new(tag).unwrap();
    let host = lab.add_host("n0").unwrap();
    host.add_addr("192.0.2.10/24").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (conf, state) = (dir.path().join("vrrpd.conf"), dir.path().join("state.json"));
    let script = recording_script(dir.path());
    std::fs::write(&conf, config(host.ifname(), Some(50), &script)).unwrap();
    Setup {
        lab,
        host,
        dir,
        conf,
        state,
        script,
    }
}

#[test]
fn loop_thread_runs_sched_rr_and_scripts_do_not() {
    if skip() {
        return;
    }
    let Setup {
        lab: _lab,
        host,
        dir,
        conf,
        state,
        script,
    } = setup("schedrr");
    let args = [
        "--config",
        conf.to_str().unwrap(),
        "--state-file",
        state.to_str().unwrap(),
    ];
    let p = host.spawn("vrrpd", VRRPD, &args).unwrap();
    let s = wait_scheduling(&state, "rr", 50);
    assert_eq!(s["requested"], 50);
    assert_eq!(
        s["rlimit_rttime_us"], 10_000,
        "keepalived's default RLIMIT_RTTIME"
    );
    assert!(s["error"].is_null(), "{s}");
    let main = chrt(p.pid());
    eprintln!(
        "MEASURE sched: state file {s}; loop thread: {}",
        main.replace('\n', "; ")
    );
    assert!(
        main.contains("SCHED_RR|SCHED_RESET_ON_FORK") && main.contains("priority: 50"),
        "loop thread: {main}"
    );
    let pacer = pacer_chrt(p.pid());
    eprintln!("MEASURE sched: pacer thread: {}", pacer.replace('\n', "; "));
    assert!(
        pacer.contains("SCHED_RR|SCHED_RESET_ON_FORK") && pacer.contains("priority: 50"),
        "pacer thread: {pacer}"
    );
    let others: Vec<_> = other_threads(p.pid())
        .into_iter()
        .filter(|(_, n)| n != "pacer")
        .collect();
    assert!(
        others.iter().any(|(_, n)| n == "statefile"),
        "the state-file writer thread is missing: {others:?}"
    );
    for (t, name) in others {
        let c = chrt(t);
        assert!(c.contains("SCHED_OTHER"), "thread {t} ({name}): {c}");
    }
    let out = dir.path().join("script-policy");
    let ran = wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
        std::fs::read_to_string(&out).is_ok_and(|s| s.contains("priority"))
    });
    assert!(
        ran.is_some(),
        "the health script did not run: {}",
        p.stderr()
    );
    let c = std::fs::read_to_string(&out).unwrap();
    assert!(
        c.contains("SCHED_OTHER") && !c.contains("SCHED_RR"),
        "script: {c}"
    );
    eprintln!("MEASURE sched: health script: {}", c.replace('\n', "; "));

    // A reload applies a changed value, and its absence.
    std::fs::write(&conf, config(host.ifname(), Some(60), &script)).unwrap();
    p.signal(Signal::SIGHUP).unwrap();
    wait_scheduling(&state, "rr", 60);
    assert!(chrt(p.pid()).contains("priority: 60"));
    assert!(pacer_chrt(p.pid()).contains("priority: 60"));
    std::fs::write(&conf, config(host.ifname(), None, &script)).unwrap();
    p.signal(Signal::SIGHUP).unwrap();
    let s = wait_scheduling(&state, "other", 0);
    assert_eq!(s["requested"], 0);
    assert!(chrt(p.pid()).contains("SCHED_OTHER"));
    assert!(pacer_chrt(p.pid()).contains("SCHED_OTHER"));
}

#[test]
fn refused_without_cap_sys_nice_warns_once() {
    if skip() {
        return;
    }
    let Setup {
        lab: _lab,
        host,
        dir: _dir,
        conf,
        state,
        script: _script,
    } = setup("schednocap");
    let p = host
        .spawn(
            "vrrpd",
            "setpriv",
            &[
                "--inh-caps=-sys_nice",
                "--bounding-set=-sys_nice",
                "--",
                VRRPD,
                "--config",
                conf.to_str().unwrap(),
                "--state-file",
                state.to_str().unwrap(),
            ],
        )
        .unwrap();
    let ok = wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        scheduling(&state)["requested"] == 50
    });
    let s = scheduling(&state);
    assert!(ok.is_some(), "{s}\n{}", p.stderr());
    assert_eq!((&s["policy"], &s["priority"]), (&"other".into(), &0.into()));
    let err = s["error"].as_str().expect("the reason is given");
    assert!(
        err.contains("SCHED_RR") && err.contains("CAP_SYS_NICE"),
        "{err}"
    );
    assert!(chrt(p.pid()).contains("SCHED_OTHER"));
    assert!(pacer_chrt(p.pid()).contains("SCHED_OTHER"));
    // A reload with the same request does not warn again.
    p.signal(Signal::SIGHUP).unwrap();
    let reloaded = wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
        p.stderr().contains("configuration reloaded")
    });
    assert!(reloaded.is_some(), "{}", p.stderr());
    let warnings = p.stderr().matches("not (fully) in effect").count();
    assert_eq!(warnings, 1, "{}", p.stderr());
    eprintln!("MEASURE sched refused: {s}");
}
