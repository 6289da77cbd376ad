//! A refresh to a charm with a new peer endpoint (the original keepalived charm had none).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{charm, Fx, SUB_CONFIG, SUB_META};
use juju_emu::hooks_of;

/// juju/juju state Application.SetCharm creates the peer relations a refreshed charm adds
/// ("extraPeerRelations"); every unit then enters it (created, joined). Refreshing again adds
/// no second one.
#[test]
fn upgrade_adds_the_peer_relation_the_new_charm_declares() {
    let mut fx = Fx::new();
    let old_meta = SUB_META.replace("peers:\n  cluster: {interface: tsub-peer}\n", "");
    let old = charm(
        &fx.tmp.path().join("sub-old"),
        &old_meta,
        Some(SUB_CONFIG),
        None,
    );
    fx.juju.deploy("tprin", &fx.prin.clone(), 2).unwrap();
    fx.juju.deploy("tsub", &old, 0).unwrap();
    fx.juju.relate("tsub:juju-info", "tprin").unwrap();
    fx.settle();
    let peers = |fx: &Fx| -> Vec<u64> {
        let m = fx.juju.model().unwrap();
        m.relations
            .values()
            .filter(|r| r.peer && r.ends[0].app == "tsub")
            .map(|r| r.id)
            .collect()
    };
    assert!(peers(&fx).is_empty());
    fx.juju.upgrade_charm("tsub", &fx.sub.clone()).unwrap();
    let recs = fx.settle();
    let ids = peers(&fx);
    assert_eq!(ids.len(), 1);
    for u in ["tsub/0", "tsub/1"] {
        let hooks = hooks_of(&recs, u);
        assert_eq!(hooks.first(), Some(&"upgrade-charm"));
        assert!(hooks.contains(&"cluster-relation-created"), "{hooks:?}");
        assert!(hooks.contains(&"cluster-relation-joined"), "{hooks:?}");
    }
    fx.juju.upgrade_charm("tsub", &fx.sub.clone()).unwrap();
    fx.settle();
    assert_eq!(peers(&fx), ids);
}
