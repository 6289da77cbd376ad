//! The real-systemd tier: the PACKED charm's service under Debian 12's systemd 252, PID 1 of a
//! `systemd-nspawn` container (`netlab::nspawn`) whose network namespace is a lab host of ours.
//! Every hook runs inside the container through the emulator's hook tools (`juju-emu`, the
//! multi-call `juju-hook-tool`, bind-mounted at the same path), so the charm drives the real
//! `systemctl`; the test then checks the unit as a real Ubuntu machine would run it: full
//! hardening, VIP, state file, reload, `kill -9` → `ExecStopPost` cleanup → `Restart`, stop,
//! `systemd-analyze verify`, journald priorities, and a series upgrade across a container
//! reboot. Each check prints a `MEASURE real systemd: …` line.
//!
//! Needs root, `systemd-nspawn`, `debootstrap` (`cargo xtask test` installs them) and the packed
//! charm (`$KEEPALIVED_CHARM` or `target/charm/keepalived.charm`); the root file system is built
//! once (about a minute) and cached in `<target>/nspawn/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use juju_emu::{HookKind, HookRecord, HookSpec, Juju, RunnerOptions};
use netlab::nspawn::{Container, ContainerSpec, Rootfs};

const VIP: &str = "192.0.2.250";
const UNIT: &str = "keepalived/0";
const CONTAINER: &str = "kad0";

fn target_dir() -> PathBuf {
    let t = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    std::fs::create_dir_all(&t).unwrap();
    t.canonicalize().unwrap()
}

/// A directory removed on drop (not under /tmp: nspawn mounts a tmpfs there, and the
/// directory is bind-mounted into the container at the same path).
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn measure(what: &str, took: Duration) {
    eprintln!(
        "MEASURE real systemd: {what}: {:.0} ms",
        took.as_secs_f64() * 1e3
    );
}

/// Polls `f` every 10 ms until it is true (bounded); returns how long it took.
fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let t0 = Instant::now();
    while !f() {
        assert!(
            t0.elapsed() < timeout,
            "timed out after {timeout:?}: {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    t0.elapsed()
}

fn vip_held(host: &netlab::Host) -> bool {
    host.addrs()
        .unwrap()
        .iter()
        .any(|a| a.addr.to_string() == VIP)
}

/// `systemctl show -p PROP --value vrrpd.service`.
fn show(c: &Container, prop: &str) -> String {
    c.run(
        "systemctl",
        &["show", "-p", prop, "--value", "vrrpd.service"],
    )
    .unwrap()
    .trim()
    .to_string()
}

fn is_active(c: &Container) -> String {
    let out = c
        .exec("systemctl", &["is-active", "vrrpd.service"])
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn is_enabled(c: &Container) -> String {
    let out = c
        .exec("systemctl", &["is-enabled", "vrrpd.service"])
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn main_pid(c: &Container) -> u32 {
    show(c, "MainPID").parse().unwrap()
}

/// A line of `/proc/PID/status` inside the container, e.g. `CapEff`.
fn proc_status(c: &Container, pid: u32, key: &str) -> String {
    let status = c.run("cat", &[&format!("/proc/{pid}/status")]).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("{key} missing in /proc/{pid}/status"))
        .trim()
        .to_string()
}

/// The worker's journal records as JSON objects (only those vrrpd itself wrote).
fn journal(c: &Container) -> Vec<serde_json::Value> {
    c.run(
        "journalctl",
        &["-u", "vrrpd.service", "-o", "json", "--no-pager"],
    )
    .unwrap()
    .lines()
    .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
    .filter(|r| r["SYSLOG_IDENTIFIER"] == "vrrpd")
    .collect()
}

/// How many of the journal `records` are the worker's `--cleanup` reporting its VIPs gone.
fn cleanups_logged(records: &[serde_json::Value]) -> usize {
    let cleanup = |r: &&serde_json::Value| {
        r["MESSAGE"]
            .as_str()
            .is_some_and(|m| m.contains("VIP absent or removed"))
    };
    records.iter().filter(cleanup).count()
}

/// Issue 11's status refresh on systemd 252: the charm enabled and started the `.path` unit;
/// both refresh units verify clean; the worker's transitions at start already ran the oneshot
/// (no juju-exec in this container: the script says so and exits 0); with a stand-in
/// `/usr/bin/juju-exec` that records its arguments, the worker's restart after `kill -9` (its
/// transitions) runs `juju-exec -u keepalived/0 hooks/update-status` through the `.path` unit
/// ([`status_refresh_ran_juju_exec`]).
fn status_refresh_under_real_systemd(c: &Container) {
    let unit_state = |verb: &str, unit: &str| {
        let out = c.exec("systemctl", &[verb, unit]).unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(
        unit_state("is-enabled", "vrrpd-status-refresh.path"),
        "enabled"
    );
    assert_eq!(
        unit_state("is-active", "vrrpd-status-refresh.path"),
        "active"
    );
    for f in ["vrrpd-status-refresh.path", "vrrpd-status-refresh.service"] {
        let out = c
            .exec(
                "systemd-analyze",
                &["verify", &format!("/etc/systemd/system/{f}")],
            )
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && said.trim().is_empty(),
            "verify {f}: {said}"
        );
    }
    let journal = || {
        c.run(
            "journalctl",
            &[
                "-u",
                "vrrpd-status-refresh.service",
                "--no-pager",
                "-o",
                "cat",
            ],
        )
        .unwrap_or_default()
    };
    let took = wait_for(
        "the refresh ran at the worker's start",
        Duration::from_secs(10),
        || journal().contains("neither /usr/bin/juju-exec nor /usr/bin/juju-run"),
    );
    measure("status refresh ran (no juju-exec: skipped)", took);
    c.run(
        "sh",
        &[
            "-c",
            "printf '#!/bin/sh\\necho \"$*\" >> /run/refresh-calls\\n' > /usr/bin/juju-exec && chmod 755 /usr/bin/juju-exec",
        ],
    )
    .unwrap();
}

/// After the worker's restart (issue 11): the transitions reached the stand-in juju-exec.
fn status_refresh_ran_juju_exec(c: &Container, since: Instant) {
    wait_for(
        "juju-exec ran after the restart",
        Duration::from_secs(15),
        || {
            c.run("cat", &["/run/refresh-calls"])
                .is_ok_and(|t| t.contains("-u keepalived/0 hooks/update-status"))
        },
    );
    measure(
        "kill -9 → restart → juju-exec -u keepalived/0 hooks/update-status",
        since.elapsed(),
    );
    c.run("rm", &["-f", "/usr/bin/juju-exec", "/run/refresh-calls"])
        .unwrap();
    let out = c
        .exec("systemctl", &["is-active", "vrrpd-status-refresh.path"])
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "active");
}

fn status(juju: &Juju) -> (String, String) {
    let m = juju.model().unwrap();
    let s = &m.units[UNIT].workload_status;
    (s.status.clone(), s.message.clone())
}

fn settle(juju: &mut Juju) {
    juju.settle()
        .unwrap()
        .iter()
        .for_each(HookRecord::assert_ok);
}

/// The emulator with hooks running inside the container's current boot.
fn open_juju(model: &Path, tool: &Path, c: &Container) -> Juju {
    let mut opts = RunnerOptions::new(tool);
    opts.command_prefix = c.command_prefix();
    Juju::open(model, opts).unwrap()
}

/// One container test at a time: they are timed, and the host has two cores.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `None` when the test must skip (not root, no systemd-nspawn/debootstrap, no packed charm);
/// else the packed charm and the lock that serialises these tests.
fn prerequisites() -> Option<(PathBuf, std::sync::MutexGuard<'static, ()>)> {
    if netlab::skip_unless_root() {
        return None;
    }
    let missing = netlab::nspawn::missing_host_programs();
    if !missing.is_empty()
        && netlab::skip(&format!(
            "{missing:?} missing (Debian packages systemd-container, debootstrap)"
        ))
    {
        return None;
    }
    let charm = common::packed_charm()?;
    Some((charm, SERIAL.lock().unwrap_or_else(|p| p.into_inner())))
}

/// `systemctl ARGS` inside simulator machine `id`'s container.
fn machine_systemctl(md: &jujusim::layout::ModelDir, id: &str, args: &[&str]) -> String {
    let leader = std::fs::read_to_string(md.machine_leader(id)).unwrap();
    let out = std::process::Command::new("nsenter")
        .args(["-t", leader.trim(), "-a", "--", "systemctl"])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The simulator with real-systemd machines (what `cargo xtask demo --systemd` runs): the
/// documented seed deployment comes up with the worker under each machine's own systemd, and
/// stopping the holder's worker with the real `systemctl` moves the VIP.
#[test]
fn simulator_machines_run_real_systemd() {
    let Some((charm, _serial)) = prerequisites() else {
        return;
    };
    let cache = target_dir().join("nspawn");
    let t0 = Instant::now();
    let Some(model) = common::Model::create(Some(&cache)) else {
        return;
    };
    let controller_pid = std::fs::read_to_string(model.sim.md.pid_file()).unwrap();
    let sim = &model.sim;
    let m = jujusim::demo::deploy_seed(sim, &charm, &jujusim::demo::Narrator::new(true)).unwrap();
    assert!(jujusim::demo::vip_ready(&m, "keepalived", 2));
    measure(
        "simulator seed deployment on 2+ container machines",
        t0.elapsed(),
    );
    let holders = jujusim::demo::holders(sim, VIP).unwrap();
    let [(holder, _)] = holders.as_slice() else {
        panic!("expected one VIP holder, got {holders:?}");
    };
    let lb_machines: Vec<String> = m
        .units
        .values()
        .filter(|u| u.app == "kubeapi-load-balancer")
        .map(|u| u.machine.clone())
        .collect();
    for id in &lb_machines {
        assert_eq!(
            machine_systemctl(&sim.md, id, &["is-active", "vrrpd.service"]),
            "active",
            "machine {id}"
        );
        assert!(
            machine_systemctl(&sim.md, id, &["--version"]).starts_with("systemd 252"),
            "machine {id}"
        );
    }
    machine_systemctl(&sim.md, holder, &["stop", "vrrpd.service"]);
    let moved = wait_for(
        "another machine holds the VIP",
        Duration::from_secs(10),
        || matches!(jujusim::demo::holders(sim, VIP).unwrap().as_slice(), [(id, _)] if id != holder),
    );
    measure(
        "systemctl stop on the holder → VIP on another machine",
        moved,
    );
    drop(model);
    let left: Vec<String> = ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"]
        .iter()
        .flat_map(|r| std::fs::read_dir(r).unwrap())
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!("netlab-{}x", controller_pid.trim())))
        .collect();
    assert!(left.is_empty(), "container cgroups left: {left:?}");
}

/// `vrrp_rt_priority 50` added to the worker's config and reloaded under the rendered unit
/// (CAP_SYS_NICE, no RestrictRealtime=): the loop thread runs SCHED_RR 50 with
/// SCHED_RESET_ON_FORK and the state file says so. The container's processes stay in the host's
/// root cpu cgroup (nspawn mounts the v1 controllers read-only), which has the real-time budget
/// (`cpu.rt_runtime_us`) that CONFIG_RT_GROUP_SCHED asks for. The charm's next config write
/// takes the line out again (charm13 renders it).
fn rt_priority_under_real_systemd(c: &Container, pid: u32) {
    let t0 = Instant::now();
    c.run(
        "sed",
        &[
            "-i",
            "s/^global_defs {$/global_defs {\\n    vrrp_rt_priority 50/",
            "/etc/vrrpd/vrrpd.conf",
        ],
    )
    .unwrap();
    let conf = c.run("cat", &["/etc/vrrpd/vrrpd.conf"]).unwrap();
    assert!(conf.contains("\n    vrrp_rt_priority 50\n"), "{conf}");
    c.run("systemctl", &["reload", "vrrpd.service"]).unwrap();
    let scheduling = || -> serde_json::Value {
        c.run("cat", &["/run/vrrpd/state.json"])
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .map_or(serde_json::Value::Null, |v| v["scheduling"].clone())
    };
    wait_for(
        "state file: vrrp_rt_priority 50 requested",
        Duration::from_secs(5),
        || scheduling()["requested"] == 50,
    );
    let s = scheduling();
    let chrt = c.run("chrt", &["-p", &pid.to_string()]).unwrap();
    eprintln!(
        "MEASURE real systemd: scheduling {s}; chrt: {}",
        chrt.replace('\n', "; ")
    );
    assert_eq!(
        (&s["policy"], &s["priority"]),
        (&"rr".into(), &50.into()),
        "{s}"
    );
    assert!(chrt.contains("SCHED_RR|SCHED_RESET_ON_FORK"), "{chrt}");
    assert_eq!(main_pid(c), pid, "reload kept the PID");
    measure(
        "vrrp_rt_priority 50 → SCHED_RR under the unit",
        t0.elapsed(),
    );
}

#[test]
fn packed_charm_under_real_systemd() {
    let Some((charm, _serial)) = prerequisites() else {
        return;
    };
    let target = target_dir();
    let rootfs = Rootfs::ensure(&target.join("nspawn")).unwrap();
    measure(
        if rootfs.built {
            "debootstrap bookworm minbase (first run, cached afterwards)"
        } else {
            "root file system (cached)"
        },
        rootfs.took,
    );

    // Everything of this run below one directory, bind-mounted into the container. Runs of
    // test processes that were killed are removed first, after their containers.
    netlab::nspawn::sweep_stale();
    let runs = target.join("nspawn/runs");
    for e in std::fs::read_dir(&runs).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let creator = name.split('-').next().and_then(|p| p.parse::<u32>().ok());
        if creator.is_some_and(|p| !Path::new(&format!("/proc/{p}")).exists()) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
    let scratch = Scratch(target.join("nspawn/runs").join(format!(
        "{}-{}",
        std::process::id(),
        CONTAINER
    )));
    let _ = std::fs::remove_dir_all(&scratch.0);
    std::fs::create_dir_all(&scratch.0).unwrap();
    let dir = scratch.0.clone();
    let tool_src = juju_emu::locate_or_build_hook_tool().unwrap();
    let tool = dir.join("juju-hook-tool");
    std::fs::copy(&tool_src, &tool).unwrap();
    jujusim::charmpkg::unpack(&charm, &dir.join("charm")).unwrap();
    let lb = dir.join("lb");
    std::fs::create_dir_all(&lb).unwrap();
    std::fs::write(
        lb.join("metadata.yaml"),
        "name: kubeapi-load-balancer\nsummary: s\ndescription: d\nprovides:\n  website:\n    interface: http\n",
    )
    .unwrap();

    // The machine's network: a lab host (its namespace becomes the container's), with the
    // load balancer the health check connects to on 127.0.0.1:443.
    let lab = netlab::Lab::new("sysd").unwrap();
    let host = lab.add_host("m0").unwrap();
    host.add_addr("192.0.2.10/24").unwrap();
    let _lb = host
        .spawn(
            "lb",
            "python3",
            &["-m", "http.server", "--bind", "127.0.0.1", "443"],
        )
        .unwrap();

    let (mut c, t) = Container::boot(ContainerSpec {
        name: CONTAINER.into(),
        rootfs: rootfs.dir().to_path_buf(),
        netns: host.netns().to_string(),
        state_dir: dir.join("machine"),
        binds: vec![dir.clone()],
    })
    .unwrap();
    measure("boot to is-system-running=running", t.boot);
    let systemd = c.run("systemctl", &["--version"]).unwrap();
    assert!(systemd.starts_with("systemd 252"), "{systemd}");

    // Deploy: every hook runs in the container.
    let model = dir.join("model");
    {
        let j = Juju::create(&model, RunnerOptions::new(&tool)).unwrap();
        j.deploy("kubeapi-load-balancer", &lb, 1).unwrap();
        j.deploy("keepalived", &dir.join("charm"), 0).unwrap();
        j.relate("keepalived:juju-info", "kubeapi-load-balancer")
            .unwrap();
    }
    let mut juju = open_juju(&model, &tool, &c);
    let t0 = Instant::now();
    settle(&mut juju);
    assert_eq!(
        status(&juju),
        ("blocked".into(), "Please configure virtual ips".into())
    );
    juju.set_config(
        "keepalived",
        &[
            ("virtual_ip", "192.0.2.250/24"),
            ("network_interface", "eth0"),
        ],
    )
    .unwrap();
    settle(&mut juju);
    assert_eq!(is_active(&c), "active");
    assert_eq!(is_enabled(&c), "enabled");
    let held = wait_for("VIP held", Duration::from_secs(10), || vip_held(&host));
    measure("deploy + config hooks → VIP held", t0.elapsed());
    measure("worker started → VIP held", held);
    assert_eq!(status(&juju).0, "active", "{:?}", status(&juju));

    // Full hardening in force: exactly NET_ADMIN + NET_RAW + SYS_NICE (CAP_IPC_LOCK is not in
    // nspawn's set), no new privileges, seccomp filter on, `/` read-only in the worker's mount
    // namespace.
    let t0 = Instant::now();
    let pid = main_pid(&c);
    assert!(pid > 0);
    assert_eq!(proc_status(&c, pid, "CapEff"), "0000000000803000");
    assert_eq!(proc_status(&c, pid, "CapBnd"), "0000000000803000");
    assert_eq!(proc_status(&c, pid, "NoNewPrivs"), "1");
    assert_eq!(proc_status(&c, pid, "Seccomp"), "2", "seccomp filter mode");
    let mountinfo = c.run("cat", &[&format!("/proc/{pid}/mountinfo")]).unwrap();
    let root_opts = mountinfo
        .lines()
        .map(|l| l.split(' ').collect::<Vec<_>>())
        .filter(|f| f.len() > 5 && f[4] == "/")
        .map(|f| f[5].to_string())
        .next_back()
        .expect("a / mount");
    assert!(root_opts.split(',').any(|o| o == "ro"), "{root_opts}");
    let exposure = c
        .run(
            "systemd-analyze",
            &["security", "--no-pager", "vrrpd.service"],
        )
        .unwrap();
    let score = exposure
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_default()
        .trim()
        .to_string();
    eprintln!("MEASURE real systemd: systemd-analyze security: {score}");
    measure("hardening checks", t0.elapsed());

    // The state file the charm reads.
    let state: serde_json::Value =
        serde_json::from_str(&c.run("cat", &["/run/vrrpd/state.json"]).unwrap()).unwrap();
    let wait_master = wait_for("state file says MASTER", Duration::from_secs(5), || {
        let s: serde_json::Value = c
            .run("cat", &["/run/vrrpd/state.json"])
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        s["instances"][0]["role"] == "MASTER"
    });
    assert_eq!(state["version"], 1, "{state}");
    measure("state file shows MASTER", wait_master);
    status_refresh_under_real_systemd(&c);

    // `systemd-analyze verify` on the rendered unit: nothing to say.
    let t0 = Instant::now();
    let out = c
        .exec(
            "systemd-analyze",
            &["verify", "/etc/systemd/system/vrrpd.service"],
        )
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "verify: {said}"
    );
    measure("systemd-analyze verify (clean)", t0.elapsed());

    // Reload keeps the PID and the VIP (systemctl's own, then one the charm does for a
    // configuration change).
    let t0 = Instant::now();
    c.run("systemctl", &["reload", "vrrpd.service"]).unwrap();
    measure("systemctl reload", t0.elapsed());
    juju.set_config("keepalived", &[("healthcheck_interval", "3")])
        .unwrap();
    let t0 = Instant::now();
    settle(&mut juju);
    measure("config-changed hook (reload)", t0.elapsed());
    assert!(c
        .run("cat", &["/etc/vrrpd/vrrpd.conf"])
        .unwrap()
        .contains("interval 3"));
    for _ in 0..50 {
        assert!(vip_held(&host), "VIP lost around a reload");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(main_pid(&c), pid, "reload kept the PID");
    assert_eq!(is_active(&c), "active");
    rt_priority_under_real_systemd(&c, pid);

    // journald: plain lines at the right priority. Removing the VIP behind the master's back
    // makes it log a warning (and put the VIP back).
    host.del_addr("192.0.2.250/24").unwrap();
    let back = wait_for("VIP re-added", Duration::from_secs(5), || vip_held(&host));
    measure("VIP removed externally → re-added", back);
    let t0 = Instant::now();
    wait_for("the warning in the journal", Duration::from_secs(5), || {
        c.run(
            "journalctl",
            &[
                "-u",
                "vrrpd.service",
                "-p",
                "warning",
                "-o",
                "cat",
                "--no-pager",
            ],
        )
        .unwrap()
        .contains("VIP removed externally")
    });
    let records = journal(&c);
    assert!(!records.is_empty());
    let mut seen = std::collections::BTreeSet::new();
    for r in &records {
        let msg = r["MESSAGE"]
            .as_str()
            .unwrap_or_else(|| panic!("MESSAGE not plain text (escape codes?): {r}"));
        assert!(!msg.contains('\u{1b}'), "escape code in {msg:?}");
        assert!(!msg.starts_with('<'), "priority prefix left in {msg:?}");
        assert!(
            !msg.starts_with(|ch: char| ch.is_ascii_digit()),
            "timestamp in {msg:?}"
        );
        let prio = r["PRIORITY"].as_str().unwrap_or_default().to_string();
        if msg.contains("VIP removed externally") {
            assert_eq!(prio, "4", "{r}");
        }
        seen.insert(prio);
    }
    assert!(
        seen.contains("4") && seen.contains("6"),
        "priorities seen: {seen:?}"
    );
    measure("journal priorities checked", t0.elapsed());

    // kill -9: ExecStopPost --cleanup removes the VIP, Restart=always brings the worker back.
    let cleanups_before = cleanups_logged(&records);
    let t0 = Instant::now();
    c.run("kill", &["-9", &pid.to_string()]).unwrap();
    let gone = wait_for(
        "VIP removed by ExecStopPost",
        Duration::from_secs(5),
        || !vip_held(&host),
    );
    measure("kill -9 → VIP removed (ExecStopPost cleanup)", gone);
    wait_for("worker restarted", Duration::from_secs(10), || {
        is_active(&c) == "active" && main_pid(&c) != pid && main_pid(&c) != 0
    });
    wait_for("VIP back", Duration::from_secs(10), || vip_held(&host));
    measure("kill -9 → restarted and VIP held again", t0.elapsed());
    status_refresh_ran_juju_exec(&c, t0);
    assert_eq!(show(&c, "NRestarts"), "1");
    let stop_post = show(&c, "ExecStopPost");
    assert!(
        stop_post.contains("--cleanup") && stop_post.contains("status=0"),
        "{stop_post}"
    );
    let cleanups_after = cleanups_logged(&journal(&c));
    assert!(
        cleanups_after > cleanups_before,
        "the cleanup logged nothing"
    );

    // Stop removes the VIP; the next hook starts the worker again.
    let t0 = Instant::now();
    c.run("systemctl", &["stop", "vrrpd.service"]).unwrap();
    measure("systemctl stop", t0.elapsed());
    assert!(!vip_held(&host), "stop left the VIP");
    assert_eq!(is_active(&c), "inactive");
    juju.request_update_status(Some(UNIT)).unwrap();
    settle(&mut juju);
    assert_eq!(is_active(&c), "active", "update-status restarts the worker");
    wait_for("VIP after restart", Duration::from_secs(10), || {
        vip_held(&host)
    });

    // Series upgrade: pre-series-upgrade stops and disables; the reboot starts nothing;
    // `start` (as Juju runs after a reboot) keeps it paused; post-series-upgrade resumes.
    let machine = juju.model().unwrap().units[UNIT].machine.clone();
    juju.pre_series_upgrade(&machine, "ubuntu@24.04").unwrap();
    let t0 = Instant::now();
    settle(&mut juju);
    measure("pre-series-upgrade hook", t0.elapsed());
    assert_eq!(is_active(&c), "inactive");
    assert_eq!(is_enabled(&c), "disabled");
    assert!(!vip_held(&host));
    assert_eq!(
        status(&juju),
        ("blocked".into(), "Series upgrade in progress".into())
    );
    let t = c.reboot().unwrap();
    measure("container reboot: shutdown", t.shutdown);
    measure("container reboot: boot to running", t.boot);
    let mut juju = open_juju(&model, &tool, &c);
    assert_eq!(is_active(&c), "inactive", "the reboot started the worker");
    let r = juju
        .run_hook(UNIT, &HookSpec::simple(HookKind::Start))
        .unwrap();
    assert!(r.ok(), "start: {}{}", r.stdout, r.stderr);
    assert_eq!(is_active(&c), "inactive", "start while paused");
    assert!(!vip_held(&host));
    juju.complete_series_upgrade(&machine).unwrap();
    let t0 = Instant::now();
    settle(&mut juju);
    assert_eq!(is_active(&c), "active");
    assert_eq!(is_enabled(&c), "enabled");
    wait_for(
        "VIP after post-series-upgrade",
        Duration::from_secs(10),
        || vip_held(&host),
    );
    measure("post-series-upgrade → VIP held", t0.elapsed());
    assert_eq!(status(&juju).0, "active", "{:?}", status(&juju));

    // Control: with the worker enabled again, a reboot does start it.
    let t = c.reboot().unwrap();
    measure("second reboot: boot to running", t.boot);
    let t0 = Instant::now();
    wait_for("worker started at boot", Duration::from_secs(10), || {
        is_active(&c) == "active"
    });
    wait_for("VIP after boot", Duration::from_secs(10), || {
        vip_held(&host)
    });
    measure("boot → VIP held (enabled worker)", t0.elapsed());

    // Clean-up: the container's cgroups go with it.
    let cgroups = c.cgroups();
    let (took, clean) = c.stop(Duration::from_secs(15));
    measure("container stop", took);
    assert!(clean, "systemd-nspawn did not exit cleanly");
    for g in cgroups {
        assert!(!g.exists(), "{} left behind", g.display());
    }
    drop(c);
    drop(lab);
}
