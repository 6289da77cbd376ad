//! netlab against the real kernel (needs root).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::panic::AssertUnwindSafe;
use std::sync::Mutex;
use std::time::Duration;

use netlab::{Lab, Signal};

fn ours(stem: &str) -> Vec<String> {
    netlab::list_netns()
        .unwrap()
        .into_iter()
        .filter(|n| n.starts_with(&format!("{stem}-")))
        .collect()
}

fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn two_hosts_ping_each_other_v4_and_v6() {
    let lab = Lab::new("ping").unwrap();
    let a = lab.add_host("a").unwrap();
    let b = lab.add_host("b").unwrap();
    a.add_addr("192.0.2.1/24").unwrap();
    b.add_addr("192.0.2.2/24").unwrap();
    a.add_addr_nodad("2001:db8::1/64").unwrap();
    b.add_addr_nodad("2001:db8::2/64").unwrap();
    a.run("ping", &["-c1", "-W3", "192.0.2.2"]).unwrap();
    b.run("ping", &["-c1", "-W3", "192.0.2.1"]).unwrap();
    a.run("ping", &["-6", "-c1", "-W3", "2001:db8::2"]).unwrap();
    // No route out of the lab: a non-lab address is unreachable.
    assert!(!a
        .exec("ping", &["-c1", "-W1", "198.51.100.7"])
        .unwrap()
        .status
        .success());

    let addrs = a.addrs().unwrap();
    let v4 = addrs
        .iter()
        .find(|x| x.addr.to_string() == "192.0.2.1")
        .unwrap();
    assert_eq!(v4.prefix, 24);
    assert_eq!(v4.label.as_deref(), Some("eth0"));
    assert!(addrs
        .iter()
        .any(|x| x.addr.to_string() == "2001:db8::1" && x.nodad && !x.tentative));
    let ll = a.wait_link_local(Duration::from_secs(5)).unwrap();
    assert_eq!(ll.segments()[0], 0xfe80);

    // The bridge lives in the switch namespace and has both ports.
    let ports = lab
        .switch_ip(&["-o", "link", "show", "master", netlab::BRIDGE])
        .unwrap();
    assert!(
        ports.contains(a.bridge_port()) && ports.contains(b.bridge_port()),
        "{ports}"
    );
}

#[test]
fn addresses_outside_the_lab_ranges_are_refused() {
    let lab = Lab::new("ranges").unwrap();
    let a = lab.add_host("a").unwrap();
    assert!(a.add_addr("10.0.0.1/24").is_err());
    assert!(a.add_addr("2001:db9::1/64").is_err());
    assert!(a.add_addr("192.0.2.1").is_err());
    assert!(a.addrs().unwrap().iter().all(|x| x.addr.is_ipv6()));
    assert!(lab.add_host("a").is_err(), "duplicate host name");
    assert!(lab.add_host("Bad-Name").is_err());
}

#[test]
fn cable_pull_link_down_and_recreate() {
    let lab = Lab::new("link").unwrap();
    let a = lab.add_host("a").unwrap();
    let l = a.link().unwrap();
    assert!(l.admin_up());
    a.set_cable(false).unwrap();
    let l = a.link().unwrap();
    assert!(l.admin_up() && !l.lower_up(), "{l:?}");
    a.set_cable(true).unwrap();
    a.set_link(false).unwrap();
    assert!(!a.link().unwrap().admin_up());
    a.set_link(true).unwrap();
    a.add_addr("192.0.2.9/24").unwrap();
    let old = a.ifindex().unwrap();
    let new = a.recreate_interface().unwrap();
    assert_ne!(old, new);
    assert!(
        a.addrs().unwrap().iter().all(|x| x.addr.is_ipv6()),
        "addresses went with the old link"
    );
    assert!(a.link().unwrap().admin_up());
}

#[test]
fn spawn_signal_and_code_inside_a_host() {
    let lab = Lab::new("spawn").unwrap();
    let a = lab.add_host("a").unwrap();
    a.add_addr("198.51.100.1/24").unwrap();
    let p = a
        .spawn("sh", "sh", &["-c", "trap 'echo got-usr1' USR1; echo started; ip -o addr show dev eth0; while :; do sleep 0.05; done"])
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !p.stdout().contains("198.51.100.1") && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        p.stdout().contains("198.51.100.1"),
        "runs inside the namespace: {}",
        p.stdout()
    );
    p.signal(Signal::SIGUSR1).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !p.stdout().contains("got-usr1") && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(p.stdout().contains("got-usr1"));
    let pid = p.pid();
    assert!(p.is_running());
    let status = p.stop();
    assert!(status.is_some());
    assert!(!alive(pid));

    // Rust code inside the namespace sees the host's interfaces, not the root's.
    let idx = a.ifindex().unwrap();
    let seen = a
        .run_in(|| {
            std::fs::read_to_string("/sys/class/net/lo/ifindex").is_ok()
                && nix::net::if_::if_nametoindex("eth0").ok() == Some(idx)
        })
        .unwrap();
    assert!(seen);
    let from_async = a
        .block_on(|| async { nix::net::if_::if_nametoindex("eth0").ok() })
        .unwrap();
    assert_eq!(from_async, Some(idx));
}

#[test]
fn lab_dropped_during_a_panic_leaves_nothing() {
    let before = netlab::list_netns().unwrap();
    let seen: Mutex<(String, Vec<u32>, std::path::PathBuf)> = Mutex::new(Default::default());
    let r = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let lab = Lab::new("panic").unwrap();
        let a = lab.add_host("a").unwrap();
        let b = lab.add_host("b").unwrap();
        let p1 = a.spawn("sleeper", "sleep", &["1000"]).unwrap();
        // A process that ignores SIGTERM must be SIGKILLed.
        let p2 = b
            .spawn(
                "stubborn",
                "sh",
                &["-c", "trap '' TERM; while :; do sleep 0.05; done"],
            )
            .unwrap();
        {
            let mut s = seen.lock().unwrap();
            s.0 = lab.stem().to_string();
            s.1 = vec![p1.pid(), p2.pid()];
            s.2 = lab.log_dir().to_path_buf();
        }
        assert_eq!(ours(lab.stem()).len(), 3);
        std::mem::forget(p1); // even a leaked guard is stopped by the lab
        std::mem::forget(p2);
        panic!("test panic on purpose");
    }));
    assert!(r.is_err());
    let (stem, pids, log_dir) = seen.into_inner().unwrap();
    // Logs of a lab dropped during a panic are kept for debugging; this panic was on purpose.
    assert!(log_dir.join("a-sleeper.stdout").exists());
    std::fs::remove_dir_all(&log_dir).unwrap();
    assert!(!stem.is_empty());
    assert!(ours(&stem).is_empty(), "namespaces left: {:?}", ours(&stem));
    for pid in pids {
        assert!(!alive(pid), "process {pid} still alive");
    }
    let after = netlab::list_netns().unwrap();
    assert!(after
        .iter()
        .all(|n| before.contains(n) || !n.starts_with(&stem)));
}

#[test]
fn sweep_removes_namespaces_of_dead_creators_only() {
    netlab::require_root().unwrap();
    // A pid that is certainly dead: a child we already reaped.
    let dead = std::process::Command::new("true").spawn().unwrap();
    let mut dead = dead;
    let pid = dead.id();
    dead.wait().unwrap();
    let stale = format!("nl{pid}x1-sweep-sw");
    let live = Lab::new("sweeplive").unwrap();
    let live_ns = live.switch_netns().to_string();
    std::process::Command::new("ip")
        .args(["netns", "add", &stale])
        .status()
        .unwrap();
    let deleted = netlab::sweep_stale().unwrap();
    assert!(deleted.contains(&stale), "{deleted:?}");
    let now = netlab::list_netns().unwrap();
    assert!(!now.contains(&stale));
    assert!(now.contains(&live_ns), "a live lab must survive the sweep");
}
