//! Runner and resolver behaviour with a tiny shell charm.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{hooks_detail, Fx};
use juju_emu::hooks_of;
use juju_emu::Life;

#[test]
fn first_sequence_principal_and_subordinate() {
    let mut fx = Fx::new();
    fx.deploy(1);
    fx.on(
        "all",
        "juju-info-relation-joined",
        "relation-list >> \"$EMU_LOG\"\n",
    );
    let recs = fx.settle();
    assert_eq!(
        hooks_of(&recs, "tprin/0"),
        ["install", "leader-elected", "config-changed", "start"]
    );
    assert_eq!(
        hooks_detail(&recs, "tsub/0"),
        [
            "install",
            "cluster-relation-created",
            "juju-info-relation-created",
            "leader-elected",
            "config-changed",
            "start",
            "juju-info-relation-joined(tprin/0)",
            "juju-info-relation-changed(tprin/0)",
        ]
    );
    assert!(recs.iter().all(|r| r.ok()), "{recs:#?}");
    let sub = recs.iter().find(|r| r.unit == "tsub/0").unwrap();
    assert_eq!(sub.env["JUJU_PRINCIPAL_UNIT"], "tprin/0");
    assert!(sub.env["JUJU_CONTEXT_ID"].starts_with("tsub/0-install-"));
    assert_eq!(
        sub.env["JUJU_CONTEXT_ID"].len(),
        "tsub/0-install-".len() + 32
    );
    let log = fx.logged();
    assert!(
        log.iter().any(|l| l == "tprin/0"),
        "relation-list in joined: {log:?}"
    );
    assert!(log.iter().any(|l| l.starts_with("tsub/0 hooks/juju-info-relation-joined rid=juju-info:1 ru=tprin/0 ra=tprin dep= pu=tprin/0")), "{log:?}");
    let m = fx.juju.model().unwrap();
    assert_eq!(m.units["tsub/0"].machine, m.units["tprin/0"].machine);
    assert_eq!(m.units["tsub/0"].workload_status.status, "unknown");
    assert_eq!(m.units["tsub/0"].agent_status.status, "idle");
    // The principal ran nothing for the implicit juju-info but is in scope with a seeded bag.
    let bag = fx.juju.relation_data(1, "tprin/0").unwrap();
    assert_eq!(
        bag["private-address"],
        m.machines[&m.units["tprin/0"].machine].address
    );
    assert!(bag.contains_key("egress-subnets") && bag.contains_key("ingress-address"));
}

#[test]
fn subordinate_per_principal_unit_and_peers() {
    let mut fx = Fx::new();
    fx.deploy(2);
    let recs = fx.settle();
    let m = fx.juju.model().unwrap();
    assert_eq!(m.units["tsub/0"].principal.as_deref(), Some("tprin/0"));
    assert_eq!(m.units["tsub/1"].principal.as_deref(), Some("tprin/1"));
    assert_eq!(m.units["tsub/1"].machine, m.units["tprin/1"].machine);
    assert_eq!(m.apps["tsub"].leader.as_deref(), Some("tsub/0"));
    let s1 = hooks_detail(&recs, "tsub/1");
    assert_eq!(
        &s1[..6],
        [
            "install",
            "cluster-relation-created",
            "juju-info-relation-created",
            "leader-settings-changed",
            "config-changed",
            "start"
        ]
    );
    assert!(s1.contains(&"cluster-relation-joined(tsub/0)".to_string()));
    assert!(s1.contains(&"juju-info-relation-joined(tprin/1)".to_string()));
    assert!(
        !s1.iter().any(|h| h.contains("(tprin/0)")),
        "sub sees only its principal: {s1:?}"
    );
    // joined is immediately followed by changed for the same unit
    let i = s1
        .iter()
        .position(|h| h == "cluster-relation-joined(tsub/0)")
        .unwrap();
    assert_eq!(s1[i + 1], "cluster-relation-changed(tsub/0)");
}

#[test]
fn commit_on_success_discard_on_failure_and_resolved() {
    let mut fx = Fx::new();
    fx.deploy(1);
    fx.on(
        "tsub/0",
        "install",
        "state-set a=1\nrelation-ids cluster > /dev/null\nstatus-set active hi\nexit 3\n",
    );
    let recs = fx.settle();
    let last = recs.iter().rfind(|r| r.unit == "tsub/0").unwrap();
    assert_eq!((last.hook.as_str(), last.exit_code), ("install", 3));
    let m = fx.juju.model().unwrap();
    let u = &m.units["tsub/0"];
    assert_eq!(
        (
            u.agent_status.status.as_str(),
            u.agent_status.message.as_str()
        ),
        ("error", "hook failed: \"install\"")
    );
    assert_eq!(
        u.workload_status.status, "active",
        "status-set applies at once"
    );
    assert!(u.charm_state.is_empty(), "state-set discarded");
    assert!(fx.settle().is_empty(), "no hooks while in error");
    fx.on("tsub/0", "install", "state-set a=1\n");
    fx.juju.resolved("tsub/0", true).unwrap();
    let recs = fx.settle();
    assert_eq!(recs[0].hook, "install");
    let m = fx.juju.model().unwrap();
    assert_eq!(m.units["tsub/0"].charm_state["a"], "1");
    assert!(m.units["tsub/0"].agent.started);
}

#[test]
fn own_writes_do_not_trigger_changed_but_others_see_them() {
    let mut fx = Fx::new();
    fx.deploy(2);
    fx.settle();
    let cluster = 0;
    fx.on("tsub/0", "do-thing", "relation-set -r cluster:0 x=1\nrelation-set --app -r 0 y=2\nrelation-get -r 0 - tsub/0 > \"$EMU_CTL/own\"\n");
    let res = fx
        .juju
        .run_action("tsub/0", "do-thing", serde_json::json!({}))
        .unwrap();
    assert!(!res.failed, "{res:?}");
    let own = std::fs::read_to_string(fx.ctl.join("own")).unwrap();
    assert!(
        own.contains("x: \"1\""),
        "pending write visible to own reads: {own}"
    );
    assert_eq!(fx.juju.relation_data(cluster, "tsub/0").unwrap()["x"], "1");
    assert_eq!(fx.juju.relation_data(cluster, "tsub").unwrap()["y"], "2");
    let recs = fx.settle();
    assert_eq!(hooks_of(&recs, "tsub/0"), Vec::<&str>::new());
    assert_eq!(
        hooks_detail(&recs, "tsub/1"),
        [
            "cluster-relation-changed()",
            "cluster-relation-changed(tsub/0)"
        ]
    );
    // A failing action hook discards its writes.
    fx.on("tsub/0", "do-thing", "relation-set -r 0 z=9\nexit 1\n");
    let res = fx
        .juju
        .run_action("tsub/0", "do-thing", serde_json::json!({}))
        .unwrap();
    assert!(res.failed && res.message == "exit status 1");
    assert!(!fx
        .juju
        .relation_data(cluster, "tsub/0")
        .unwrap()
        .contains_key("z"));
    assert!(fx.settle().is_empty());
}

#[test]
fn principal_removal_tears_down_subordinate() {
    let mut fx = Fx::new();
    fx.deploy(2);
    fx.settle();
    fx.on(
        "all",
        "cluster-relation-departed",
        "relation-list | tr '\\n' , >> \"$EMU_LOG\"; echo >> \"$EMU_LOG\"\n",
    );
    fx.juju.remove_unit("tprin/1").unwrap();
    let recs = fx.settle();
    assert_eq!(
        hooks_detail(&recs, "tsub/1"),
        [
            // Peer relations last (relation/resolver.go, juju/juju PR #18073).
            "juju-info-relation-departed(tprin/1)",
            "juju-info-relation-broken",
            "cluster-relation-departed(tsub/0)",
            "stop",
            "remove"
        ]
    );
    let dep = recs
        .iter()
        .find(|r| r.unit == "tsub/1" && r.hook == "juju-info-relation-departed")
        .unwrap();
    assert_eq!(dep.env["JUJU_DEPARTING_UNIT"], "tsub/1");
    assert_eq!(
        hooks_detail(&recs, "tsub/0"),
        ["cluster-relation-departed(tsub/1)"]
    );
    let d0 = recs.iter().find(|r| r.unit == "tsub/0").unwrap();
    assert_eq!(d0.env["JUJU_DEPARTING_UNIT"], "tsub/1");
    assert_eq!(hooks_of(&recs, "tprin/1"), ["stop", "remove"]);
    let m = fx.juju.model().unwrap();
    assert!(!m.units.contains_key("tsub/1") && !m.units.contains_key("tprin/1"));
    assert!(
        !fx.logged().iter().any(|l| l.contains("tsub/1,")),
        "departing unit not listed"
    );
}

#[test]
fn leader_removal_and_set_leader() {
    let mut fx = Fx::new();
    fx.deploy(2);
    fx.settle();
    fx.juju.set_leader("tsub", "tsub/1").unwrap();
    let recs = fx.settle();
    assert_eq!(hooks_of(&recs, "tsub/1"), ["leader-elected"]);
    assert_eq!(hooks_of(&recs, "tsub/0"), ["leader-settings-changed"]);
    fx.juju.remove_unit("tprin/1").unwrap();
    let recs = fx.settle();
    assert!(
        hooks_of(&recs, "tsub/0").contains(&"leader-elected"),
        "{recs:?}"
    );
    assert_eq!(
        fx.juju.model().unwrap().apps["tsub"].leader.as_deref(),
        Some("tsub/0")
    );
}

#[test]
fn relation_removal_destroys_subordinates() {
    let mut fx = Fx::new();
    let rel = fx.deploy(1);
    fx.settle();
    fx.juju.remove_relation(rel).unwrap();
    let recs = fx.settle();
    assert_eq!(
        hooks_detail(&recs, "tsub/0"),
        [
            "juju-info-relation-departed(tprin/0)",
            "juju-info-relation-broken",
            "stop",
            "remove"
        ]
    );
    let m = fx.juju.model().unwrap();
    assert!(m.units.keys().all(|u| u.starts_with("tprin")));
    assert!(!m.relations.contains_key(&rel));
    assert_eq!(m.units["tprin/0"].life, Life::Alive);
}

#[test]
fn upgrade_and_series_upgrade_sequences() {
    let mut fx = Fx::new();
    fx.deploy(2);
    fx.settle();
    fx.juju.upgrade_charm("tsub", &fx.sub.clone()).unwrap();
    let recs = fx.settle();
    // No start for a started unit (operation/runhook.go Commit queues start only
    // `if !state.Started`; operation/deploy.go keeps Started across the upgrade).
    assert_eq!(
        hooks_of(&recs, "tsub/0"),
        ["upgrade-charm", "config-changed"]
    );
    assert_eq!(
        hooks_of(&recs, "tsub/1"),
        ["upgrade-charm", "config-changed", "leader-settings-changed"]
    );
    let machine = fx.juju.model().unwrap().units["tsub/0"].machine.clone();
    fx.juju
        .pre_series_upgrade(&machine, "ubuntu@24.04")
        .unwrap();
    let recs = fx.settle();
    assert_eq!(hooks_of(&recs, "tsub/0"), ["pre-series-upgrade"]);
    assert_eq!(hooks_of(&recs, "tprin/0"), ["pre-series-upgrade"]);
    assert_eq!(recs[0].env["JUJU_TARGET_BASE"], "ubuntu@24.04");
    fx.juju.set_config("tsub", &[("title", "x")]).unwrap();
    let recs = fx.settle();
    assert_eq!(hooks_of(&recs, "tsub/0"), Vec::<&str>::new(), "paused");
    assert_eq!(hooks_of(&recs, "tsub/1"), ["config-changed"]);
    fx.juju.complete_series_upgrade(&machine).unwrap();
    let recs = fx.settle();
    assert_eq!(
        hooks_of(&recs, "tsub/0"),
        ["post-series-upgrade", "config-changed"]
    );
}

#[test]
fn config_validation_update_status_and_settle_bound() {
    let mut fx = Fx::new();
    fx.deploy(2);
    fx.settle();
    assert_eq!(
        fx.juju
            .set_config("tsub", &[("nope", "1")])
            .unwrap_err()
            .to_string(),
        "parsing settings for application: unknown option \"nope\""
    );
    assert!(fx
        .juju
        .set_config("tsub", &[("spline-reticulation", "abc")])
        .is_err());
    fx.juju.request_update_status(None).unwrap();
    let recs = fx.settle();
    assert_eq!(recs.iter().filter(|r| r.hook == "update-status").count(), 4);
    // A ping-pong charm never settles.
    fx.on(
        "all",
        "cluster-relation-changed",
        "relation-set n=$(date +%s%N)\n",
    );
    fx.on("tsub/0", "update-status", "relation-set -r 0 n=start\n");
    fx.juju.request_update_status(Some("tsub/0")).unwrap();
    fx.juju.opts.max_settle_hooks = 20;
    assert!(matches!(
        fx.juju.settle(),
        Err(juju_emu::Error::NoSettle(20))
    ));
}

#[test]
fn handler_discovery_missing_legacy_and_non_executable() {
    use std::os::unix::fs::PermissionsExt;
    let mut fx = Fx::new();
    let dir = fx.tmp.path().join("legacy");
    common::write(&dir.join("metadata.yaml"), common::PRIN_META);
    let install = dir.join("hooks/install");
    common::write(
        &install,
        "#!/bin/sh\nis-leader > \"$EMU_CTL/leader\"\nexit 0\n",
    );
    std::fs::set_permissions(&install, std::fs::Permissions::from_mode(0o755)).unwrap();
    fx.juju.deploy("legacy", &dir, 1).unwrap();
    let recs = fx.settle();
    assert_eq!(
        hooks_of(&recs, "legacy/0"),
        ["install", "leader-elected", "config-changed", "start"]
    );
    assert!(!recs[0].missing && recs[1..].iter().all(|r| r.missing && r.ok()));
    assert_eq!(
        std::fs::read_to_string(fx.ctl.join("leader")).unwrap(),
        "True\n"
    );
    // A dispatch without the exec bit fails the hook (no fallback to hooks/).
    let d = dir.join("dispatch");
    common::write(&d, "#!/bin/sh\nexit 0\n");
    fx.juju.add_unit("legacy").unwrap();
    let recs = fx.settle();
    assert_eq!(recs.len(), 1);
    assert_ne!(recs[0].exit_code, 0);
    let m = fx.juju.model().unwrap();
    assert_eq!(
        m.units["legacy/1"].agent_status.message,
        "hook failed: \"install\""
    );
}
