//! Golden tests: the simulator's `juju status` in Juju 3.6's tabular layout. No root needed: the
//! model is built with juju-emu directly and rendered with a fixed timestamp.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use juju_emu::{Juju, ModelInfo, RunnerOptions, Status};
use jujusim::status::{render, StatusContext};
use std::collections::BTreeMap;
use std::path::Path;

const SUB_META: &str = "name: keepalived
summary: test subordinate
description: test subordinate
subordinate: true
requires:
  juju-info:
    interface: juju-info
    scope: container
provides:
  loadbalancer:
    interface: public-address
peers:
  peers:
    interface: keepalived-peers
";

fn model(dir: &Path) -> Juju {
    let exe = Path::new(env!("CARGO_BIN_EXE_juju"));
    let info = ModelInfo {
        name: "default".into(),
        ..ModelInfo::default()
    };
    let j = Juju::create_with(&dir.join("model"), info, RunnerOptions::new(exe)).unwrap();
    for name in ["kubeapi-load-balancer", "kubernetes-master"] {
        jujusim::charmpkg::write_builtin(name, exe, &dir.join(name)).unwrap();
    }
    let sub = dir.join("keepalived");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(sub.join("metadata.yaml"), SUB_META).unwrap();
    j.deploy(
        "kubeapi-load-balancer",
        &dir.join("kubeapi-load-balancer"),
        2,
    )
    .unwrap();
    j.deploy("kubernetes-master", &dir.join("kubernetes-master"), 1)
        .unwrap();
    j.deploy("keepalived", &sub, 0).unwrap();
    j.relate("keepalived:juju-info", "kubeapi-load-balancer")
        .unwrap();
    j.relate("keepalived:loadbalancer", "kubernetes-master:loadbalancer")
        .unwrap();
    j
}

fn ctx(filter: Option<&str>) -> StatusContext {
    StatusContext {
        timestamp: "12:34:56Z".into(),
        machine_ns: BTreeMap::from([
            ("0".to_string(), "nl1x1-jujusim-m0".to_string()),
            ("1".to_string(), "nl1x1-jujusim-m1".to_string()),
        ]),
        filter: filter.map(str::to_string),
    }
}

/// Brings the model to "installed and related": subordinates exist on both LB units.
fn settle_shape(j: &Juju) {
    j.update(|m| {
        for u in m.units.values_mut() {
            u.agent.installed = true;
            u.agent_status = Status::new("idle", "");
        }
        Ok(())
    })
    .unwrap();
    // Hook-less transitions create one keepalived unit per load balancer unit.
    j.update(|m| {
        juju_emu::resolver::silent_steps(m);
        for u in m.units.values_mut() {
            u.agent_status = Status::new("idle", "");
            let (st, msg) = match u.app.as_str() {
                "kubeapi-load-balancer" => ("active", "Loadbalancer ready."),
                "kubernetes-master" => ("waiting", "Waiting for loadbalancer"),
                _ if u.name == "keepalived/0" => ("active", "VIP ready (MASTER)"),
                _ => ("blocked", "router_id=999: must be 1-255"),
            };
            u.workload_status = Status::new(st, msg);
        }
        Ok(())
    })
    .unwrap();
}

const FULL: &str = "\
Model    Controller  Cloud/Region  Version  SLA          Timestamp
default  jujusim     netns/lab     3.6.8    unsupported  12:34:56Z

App                    Version  Status   Scale  Charm                  Channel  Rev  Exposed  Message
keepalived                      blocked      2  keepalived                        0  no       router_id=999: must be 1-255
kubeapi-load-balancer           active       2  kubeapi-load-balancer             0  no       Loadbalancer ready.
kubernetes-master               waiting      1  kubernetes-master                 0  no       Waiting for loadbalancer

Unit                      Workload  Agent  Machine  Public address  Ports  Message
kubeapi-load-balancer/0*  active    idle   0        192.0.2.10             Loadbalancer ready.
  keepalived/0*           active    idle            192.0.2.10             VIP ready (MASTER)
kubeapi-load-balancer/1   active    idle   1        192.0.2.11             Loadbalancer ready.
  keepalived/1            blocked   idle            192.0.2.11             router_id=999: must be 1-255
kubernetes-master/0*      waiting   idle   2        192.0.2.12             Waiting for loadbalancer

Machine  State    Address     Inst id           Base          AZ  Message
0        started  192.0.2.10  nl1x1-jujusim-m0  ubuntu@22.04      Running
1        started  192.0.2.11  nl1x1-jujusim-m1  ubuntu@22.04      Running
2        pending  192.0.2.12  pending           ubuntu@22.04      allocating

Integration provider             Requirer                        Interface         Type         Message
keepalived:loadbalancer          kubernetes-master:loadbalancer  public-address    regular
keepalived:peers                 keepalived:peers                keepalived-peers  peer
kubeapi-load-balancer:juju-info  keepalived:juju-info            juju-info         subordinate
";

#[test]
fn full_status_matches_the_tabular_layout() {
    let d = tempfile::tempdir().unwrap();
    let j = model(d.path());
    settle_shape(&j);
    let got = render(&j.model().unwrap(), &ctx(None));
    assert_eq!(got, FULL, "\n--- got ---\n{got}");
}

const FILTERED: &str = "\
Model    Controller  Cloud/Region  Version  SLA          Timestamp
default  jujusim     netns/lab     3.6.8    unsupported  12:34:56Z

App                    Version  Status   Scale  Charm                  Channel  Rev  Exposed  Message
keepalived                      blocked      2  keepalived                        0  no       router_id=999: must be 1-255
kubeapi-load-balancer           active       2  kubeapi-load-balancer             0  no       Loadbalancer ready.

Unit                      Workload  Agent  Machine  Public address  Ports  Message
kubeapi-load-balancer/0*  active    idle   0        192.0.2.10             Loadbalancer ready.
  keepalived/0*           active    idle            192.0.2.10             VIP ready (MASTER)
kubeapi-load-balancer/1   active    idle   1        192.0.2.11             Loadbalancer ready.
  keepalived/1            blocked   idle            192.0.2.11             router_id=999: must be 1-255

Machine  State    Address     Inst id           Base          AZ  Message
0        started  192.0.2.10  nl1x1-jujusim-m0  ubuntu@22.04      Running
1        started  192.0.2.11  nl1x1-jujusim-m1  ubuntu@22.04      Running

Integration provider             Requirer                        Interface         Type         Message
keepalived:loadbalancer          kubernetes-master:loadbalancer  public-address    regular
keepalived:peers                 keepalived:peers                keepalived-peers  peer
kubeapi-load-balancer:juju-info  keepalived:juju-info            juju-info         subordinate
";

#[test]
fn status_of_a_subordinate_app_shows_its_principals() {
    let d = tempfile::tempdir().unwrap();
    let j = model(d.path());
    settle_shape(&j);
    let got = render(&j.model().unwrap(), &ctx(Some("keepalived")));
    assert_eq!(got, FILTERED, "\n--- got ---\n{got}");
}

#[test]
fn failed_hooks_show_as_error_with_the_hook_name() {
    let d = tempfile::tempdir().unwrap();
    let j = model(d.path());
    settle_shape(&j);
    j.update(|m| {
        let u = m.units.get_mut("kubernetes-master/0").unwrap();
        u.agent_status = Status::new("error", "hook failed: \"config-changed\"");
        Ok(())
    })
    .unwrap();
    let got = render(&j.model().unwrap(), &ctx(None));
    let line = got
        .lines()
        .find(|l| l.starts_with("kubernetes-master/0*"))
        .unwrap();
    assert_eq!(
        line,
        "kubernetes-master/0*      error     idle   2        192.0.2.12             hook failed: \"config-changed\""
    );
    let app = got
        .lines()
        .find(|l| l.starts_with("kubernetes-master "))
        .unwrap();
    assert!(app.contains(" error "), "{app}");
    assert!(
        got.lines().all(|l| l == l.trim_end()),
        "trailing blanks:\n{got}"
    );
}
