//! The documented deployment with the real packed keepalived charm (root; skipped when
//! `target/charm/keepalived.charm` is missing): statuses, the data master and worker see, the
//! certificate a client gets on the VIP, one VIP holder, failover on link loss, VIP hand-over on
//! unit removal, invalid config, and remove-relation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use jujusim::demo::{self, holders, Narrator, VIP, VIP_HOSTNAME};
use jujusim::proof;
use std::time::Duration;

const T: Duration = Duration::from_secs(180);

fn kv(k: &str, v: &str) -> Vec<(String, String)> {
    vec![(k.to_string(), v.to_string())]
}

/// Waits (bounded) until exactly one machine holds `ip`; returns it.
fn sole_holder_of(sim: &jujusim::sim::Sim, ip: &str) -> String {
    let mut last = Vec::new();
    for _ in 0..100 {
        last = holders(sim, ip).unwrap();
        if let [(id, _)] = last.as_slice() {
            return id.clone();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("expected one holder of {ip}, got {last:?}");
}

/// A model running the documented seed deployment (`None` when the test must skip).
fn seeded() -> Option<(common::Model, juju_emu::Model)> {
    let charm = common::packed_charm()?;
    let model = common::Model::new()?;
    let m = demo::deploy_seed(&model.sim, &charm, &Narrator::new(true)).unwrap();
    Some((model, m))
}

#[test]
fn documented_deployment_serves_the_vip_and_fails_over() {
    let Some((model, m)) = seeded() else {
        return;
    };
    let sim = &model.sim;
    let n = Narrator::new(true);
    assert!(demo::vip_ready(&m, "keepalived", 2));
    let subs: Vec<_> = m.units.values().filter(|u| u.app == "keepalived").collect();
    assert_eq!(subs.len(), 2);
    for u in &subs {
        assert!(u
            .principal
            .as_deref()
            .is_some_and(|p| p.starts_with("kubeapi-load-balancer/")));
        assert_eq!(u.agent_status.status, "idle");
    }

    let m = demo::scale_and_trim(sim, &n).unwrap();
    assert!(demo::vip_ready(&m, "keepalived", 4));
    // Relation data as the consumers see it: every keepalived unit publishes the same values.
    let lb_rel = sim
        .find_relation("keepalived:loadbalancer", "kubernetes-master")
        .unwrap();
    let web_rel = sim
        .find_relation("keepalived:website", "kubernetes-worker")
        .unwrap();
    let j = sim.juju().unwrap();
    for u in m.units.values().filter(|u| u.app == "keepalived") {
        let lb = j.relation_data(lb_rel, &u.name).unwrap();
        assert_eq!(
            lb.get("public-address").map(String::as_str),
            Some(VIP),
            "{}",
            u.name
        );
        assert_eq!(lb.get("port").map(String::as_str), Some("443"));
        let web = j.relation_data(web_rel, &u.name).unwrap();
        assert_eq!(web.get("hostname").map(String::as_str), Some(VIP_HOSTNAME));
        assert_eq!(web.get("private-address").map(String::as_str), Some(VIP));
        assert_eq!(web.get("port").map(String::as_str), Some("443"));
    }
    let master = &m.units["kubernetes-master/0"].workload_status.message;
    assert_eq!(
        master,
        "Kubernetes master running; kubeconfig server https://192.0.2.250:443"
    );
    let worker = &m.units["kubernetes-worker/0"].workload_status.message;
    assert_eq!(
        worker,
        "Kubernetes worker running; API server https://test.example.com:443"
    );

    // The client reaches the VIP and the certificate names the VIP and the hostname.
    let client = sim.add_host("client", demo::CLIENT_CIDR).unwrap();
    let cert = proof::served_cert(&client, VIP, 443, VIP_HOSTNAME).unwrap();
    assert!(
        cert.text.contains("IP Address:192.0.2.250"),
        "{}",
        cert.text
    );
    assert!(cert.text.contains("DNS:test.example.com"), "{}", cert.text);
    let holder = sole_holder_of(sim, VIP);
    let holder_unit = m
        .units
        .values()
        .find(|u| u.app == "kubeapi-load-balancer" && u.machine == holder)
        .unwrap()
        .name
        .clone();
    assert_eq!(cert.served_by, holder_unit);

    // Link loss: another machine takes over within a bounded gap.
    let f = demo::failover(sim, &client, &n).unwrap();
    assert_eq!(f.from, holder);
    assert_ne!(f.to, f.from);
    if let Some(g) = f.gap {
        assert!(g < Duration::from_secs(5), "client gap {g:?}");
    }
    sim.set_link(&f.from, true).unwrap();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        sole_holder_of(sim, VIP),
        f.to,
        "no preemption: the VIP stays"
    );

    // Removing the holder's unit hands the VIP over.
    let unit = sim
        .model()
        .unwrap()
        .units
        .values()
        .find(|u| u.app == "kubeapi-load-balancer" && u.machine == f.to)
        .unwrap()
        .name
        .clone();
    sim.remove_unit(&unit).unwrap();
    sim.wait_for("the holder's machine to go", T, |m| {
        !m.machines.contains_key(&f.to)
    })
    .unwrap();
    let next = sole_holder_of(sim, VIP);
    assert_ne!(next, f.to);
    assert!(proof::served_cert(&client, VIP, 443, VIP_HOSTNAME).is_ok());
    sim.wait_idle(T).unwrap();
    assert!(demo::vip_ready(&sim.model().unwrap(), "keepalived", 3));

    // Invalid config: blocked with the reason, the VIP keeps serving, data stays.
    sim.config_set("keepalived", &kv("router_id", "999"))
        .unwrap();
    sim.wait_idle(T).unwrap();
    let m = sim.model().unwrap();
    for u in m.units.values().filter(|u| u.app == "keepalived") {
        assert_eq!(
            u.workload_status.status, "blocked",
            "{}: {:?}",
            u.name, u.workload_status
        );
        assert!(
            u.workload_status.message.contains("router_id"),
            "{}",
            u.workload_status.message
        );
        assert!(
            u.workload_status.message.contains("999"),
            "{}",
            u.workload_status.message
        );
    }
    assert_eq!(sole_holder_of(sim, VIP), next);
    assert!(proof::served_cert(&client, VIP, 443, VIP_HOSTNAME).is_ok());
    let text = sim.status_text(Some("keepalived")).unwrap();
    assert!(
        text.contains("blocked") && text.contains("router_id"),
        "{text}"
    );
    sim.config_reset("keepalived", &["router_id".to_string()])
        .unwrap();
    sim.wait_for("VIP ready again", T, |m| {
        demo::vip_ready(m, "keepalived", 3)
    })
    .unwrap();

    // remove-relation clears what the master saw.
    sim.remove_relation("keepalived:loadbalancer", "kubernetes-master:loadbalancer")
        .unwrap();
    sim.wait_idle(T).unwrap();
    let m = sim.model().unwrap();
    assert!(!m.relations.contains_key(&lb_rel));
    let st = &m.units["kubernetes-master/0"].workload_status;
    assert_eq!(
        (st.status.as_str(), st.message.as_str()),
        ("waiting", "Waiting for loadbalancer")
    );
    let log = sim.juju().unwrap().hook_log().unwrap();
    assert!(log
        .iter()
        .any(|r| r.unit.starts_with("keepalived/") && r.hook == "loadbalancer-relation-broken"));
    assert!(log.iter().all(|r| r.exit_code == 0), "a hook failed");
}

#[test]
fn ipv6_vip_first_is_published_bracketed_served_and_moves() {
    const VIP6: &str = "2001:db8::250";
    let Some((model, _)) = seeded() else {
        return;
    };
    let sim = &model.sim;

    // Both families, IPv6 first: it is the published one. The SANs follow, as the status asks.
    sim.config_set(
        "keepalived",
        &kv("virtual_ip", &format!("{VIP6}/64 {}", demo::VIP_CIDR)),
    )
    .unwrap();
    // As the docs say once keepalived fronts the control plane: the master uses the VIP only.
    sim.remove_relation(
        "kubeapi-load-balancer:loadbalancer",
        "kubernetes-master:loadbalancer",
    )
    .unwrap();
    let sans = format!("{VIP6} {VIP} {VIP_HOSTNAME}");
    for app in ["kubeapi-load-balancer", "kubernetes-master"] {
        sim.config_set(app, &kv("extra_sans", &sans)).unwrap();
    }
    sim.wait_idle(T).unwrap();
    // The certificate check runs after changes and on update-status (every 10 s here).
    sim.wait_for(
        "VIP ready with both families and every SAN served",
        T,
        |m| {
            demo::vip_ready(m, "keepalived", 2)
                && m.units
                    .values()
                    .filter(|u| u.app == "keepalived")
                    .all(|u| !u.workload_status.message.contains("lacks"))
        },
    )
    .unwrap();
    let m = sim.model().unwrap();
    let lb_rel = sim
        .find_relation("keepalived:loadbalancer", "kubernetes-master")
        .unwrap();
    let j = sim.juju().unwrap();
    for u in m.units.values().filter(|u| u.app == "keepalived") {
        let lb = j.relation_data(lb_rel, &u.name).unwrap();
        assert_eq!(lb.get("public-address").map(String::as_str), Some(VIP6));
    }
    assert_eq!(
        m.units["kubernetes-master/0"].workload_status.message,
        "Kubernetes master running; kubeconfig server https://[2001:db8::250]:443"
    );

    // An IPv6 client gets the certificate naming the IPv6 VIP from the unit that holds it.
    // Each family has exactly one holder, not necessarily the same one: with `preempt: false`
    // (the default) the IPv6 instance, added by this config change, is won by the first unit
    // whose config-changed starts it, whatever the priorities (hooks on machines run
    // concurrently, in real Juju as here), and nothing moves it afterwards.
    let client = sim.add_host("client", demo::CLIENT_CIDR).unwrap();
    let holder = sole_holder_of(sim, VIP6);
    sole_holder_of(sim, VIP);
    let cert = proof::served_cert(&client, VIP6, 443, VIP_HOSTNAME).unwrap();
    assert!(
        cert.text.contains("IP Address:2001:DB8:0:0:0:0:0:250"),
        "{}",
        cert.text
    );
    let unit_on = |machine: &str| {
        m.units
            .values()
            .find(|u| u.app == "kubeapi-load-balancer" && u.machine == machine)
            .unwrap()
            .name
            .clone()
    };
    assert_eq!(cert.served_by, unit_on(&holder));

    // The holder loses its link: both VIPs move to one other machine, which then serves IPv6.
    sim.set_link(&holder, false).unwrap();
    let mut moved = None;
    for _ in 0..100 {
        let h6 = holders(sim, VIP6).unwrap();
        if let [(id, _)] = h6.as_slice() {
            if *id != holder {
                moved = Some(id.clone());
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let to = moved.expect("the IPv6 VIP left the unplugged machine within 5 s");
    // Two units: the only one still plugged in now holds both families.
    assert_eq!(sole_holder_of(sim, VIP), to);
    let cert = proof::served_cert(&client, VIP6, 443, VIP_HOSTNAME).unwrap();
    assert_eq!(cert.served_by, unit_on(&to));
    sim.set_link(&holder, true).unwrap();
}
