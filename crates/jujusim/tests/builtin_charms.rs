//! The simulator with its built-in charms only (root): hooks inside namespaces, the real TLS
//! listener and its SANs, the supervised service, machine removal, and complete cleanup.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use jujusim::proof;
use std::time::Duration;

const T: Duration = Duration::from_secs(120);

fn kv(k: &str, v: &str) -> Vec<(String, String)> {
    vec![(k.to_string(), v.to_string())]
}

#[test]
fn stand_ins_serve_tls_publish_and_clean_up() {
    let Some(model) = common::Model::new() else {
        return;
    };
    let sim = &model.sim;
    sim.deploy("kubeapi-load-balancer", None, 2, &[]).unwrap();
    sim.deploy("kubernetes-master", None, 1, &[]).unwrap();
    sim.deploy("kubernetes-worker", None, 1, &[]).unwrap();
    sim.relate(
        "kubeapi-load-balancer:loadbalancer",
        "kubernetes-master:loadbalancer",
    )
    .unwrap();
    sim.relate(
        "kubeapi-load-balancer:website",
        "kubernetes-worker:kube-api-endpoint",
    )
    .unwrap();
    sim.wait_idle(T).unwrap();
    let m = sim.model().unwrap();
    for u in m.units.values() {
        assert_eq!(
            u.workload_status.status, "active",
            "{}: {:?}",
            u.name, u.workload_status
        );
        assert_eq!(u.agent_status.status, "idle", "{}", u.name);
    }
    // Two LB units publish two endpoints: consumers see both (the docs' reason for remove-relation).
    let master = &m.units["kubernetes-master/0"].workload_status.message;
    assert!(
        master.contains("https://192.0.2.10:443") && master.contains("https://192.0.2.11:443"),
        "{master}"
    );
    let worker = &m.units["kubernetes-worker/0"].workload_status.message;
    assert!(
        worker.starts_with("Kubernetes worker running; API server https://192.0.2.10:443"),
        "{worker}"
    );

    // Hooks ran inside the machines: the LB's relation data carries its namespace address.
    let rid = sim
        .find_relation("kubeapi-load-balancer:website", "kubernetes-worker")
        .unwrap();
    let bag = sim
        .juju()
        .unwrap()
        .relation_data(rid, "kubeapi-load-balancer/1")
        .unwrap();
    assert_eq!(bag.get("hostname").map(String::as_str), Some("192.0.2.11"));
    assert_eq!(bag.get("port").map(String::as_str), Some("443"));

    // A client sees a real certificate; extra_sans regenerates it.
    let client = sim.add_host("client", "192.0.2.200/24").unwrap();
    let c = proof::served_cert(&client, "192.0.2.11", 443, "x").unwrap();
    assert!(c.text.contains("IP Address:192.0.2.11"), "{}", c.text);
    assert!(!c.text.contains("test.example.com"), "{}", c.text);
    assert_eq!(c.served_by, "kubeapi-load-balancer/1");
    sim.config_set(
        "kubeapi-load-balancer",
        &kv("extra_sans", "192.0.2.250 test.example.com"),
    )
    .unwrap();
    sim.wait_idle(T).unwrap();
    let c = proof::served_cert(&client, "192.0.2.11", 443, "test.example.com").unwrap();
    assert!(
        c.text.contains("IP Address:192.0.2.250") && c.text.contains("DNS:test.example.com"),
        "{}",
        c.text
    );
    // A bad SAN blocks with the reason and leaves the listener serving.
    sim.config_set("kubeapi-load-balancer", &kv("extra_sans", "a,b c;d"))
        .unwrap();
    sim.wait_idle(T).unwrap();
    let m = sim.model().unwrap();
    let st = &m.units["kubeapi-load-balancer/0"].workload_status;
    assert_eq!(st.status, "blocked");
    assert!(st.message.contains("c;d"), "{}", st.message);
    assert!(proof::served_cert(&client, "192.0.2.10", 443, "x").is_ok());

    // systemctl supervises: a killed listener comes back (Restart=always).
    let ns0 = sim.hosts().unwrap().machines["0"].clone();
    let pid_of = || common::service_pid(sim, "0", "kubeapi-lb.service");
    let pid = pid_of().expect("listener pid");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let back = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        pid_of().is_some_and(|p| p != pid)
            && proof::served_cert(&client, "192.0.2.10", 443, "x").is_ok()
    });
    assert!(back, "the listener was not restarted");
    assert!(proof::holds(&ns0, "192.0.2.10"));

    // Removing a unit removes its machine and stops its processes.
    sim.remove_unit("kubeapi-load-balancer/1").unwrap();
    sim.wait_for("machine 1 to leave", T, |m| !m.machines.contains_key("1"))
        .unwrap();
    let gone = (0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        !sim.hosts().unwrap().machines.contains_key("1")
    });
    assert!(gone, "machine 1 still has a namespace");
    assert!(proof::served_cert(&client, "192.0.2.11", 443, "x").is_err());
    sim.wait_idle(T).unwrap();
    let worker = sim.model().unwrap().units["kubernetes-worker/0"]
        .workload_status
        .message
        .clone();
    assert!(!worker.contains("192.0.2.11"), "{worker}");

    // The hook log shows the hooks, in Juju's debug-log wording.
    let log = sim.juju().unwrap().hook_log().unwrap();
    assert!(log
        .iter()
        .any(|r| r.unit == "kubeapi-load-balancer/1" && r.hook == "remove"));
    assert!(log.iter().all(|r| r.exit_code == 0), "a hook failed");
}

#[test]
fn reboot_restarts_enabled_services_empties_run_and_runs_start() {
    let Some(model) = common::Model::new() else {
        return;
    };
    let sim = &model.sim;
    sim.deploy("kubeapi-load-balancer", None, 1, &[]).unwrap();
    sim.wait_idle(T).unwrap();
    let pid_of = || common::service_pid(sim, "0", "kubeapi-lb.service");
    let before = pid_of().expect("listener pid");
    let run = sim.md.machine_root("0").join("run");
    std::fs::create_dir_all(run.join("leftover")).unwrap();
    let hooks_before = sim.juju().unwrap().hook_log().unwrap().len();

    sim.reboot("0").unwrap();
    sim.wait_idle(T).unwrap();

    let after = pid_of().expect("the enabled listener runs again after boot");
    assert_ne!(before, after);
    assert!(!run.join("leftover").exists(), "/run is a tmpfs");
    let log = sim.juju().unwrap().hook_log().unwrap();
    let new: Vec<&str> = log[hooks_before..]
        .iter()
        .map(|r| r.hook.as_str())
        .collect();
    assert_eq!(new, ["start"], "a reboot runs start and nothing else");
    let client = sim.add_host("client", "192.0.2.200/24").unwrap();
    assert!(proof::served_cert(&client, "192.0.2.10", 443, "x").is_ok());
}
