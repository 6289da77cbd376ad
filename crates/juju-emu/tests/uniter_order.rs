//! Ordering and commit rules of Juju's uniter that the emulator reproduces, each read from
//! juju/juju (internal/worker/uniter/…; 3.x has the same files under worker/uniter/):
//! teardown hooks depend on what ran, a reboot runs `start`, and `config-changed` refreshes the
//! unit's network settings in every relation it has joined.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::Fx;
use juju_emu::hooks_of;

/// resolver.go `nextOp`, Dying: `stop` only `if localState.Started && !localState.Stopped`,
/// `remove` only `if localState.Installed && !localState.Removed`.
#[test]
fn stop_only_if_started_remove_only_if_installed() {
    let mut fx = Fx::new();
    fx.juju.deploy("tprin", &fx.prin.clone(), 2).unwrap();
    // tprin/0 fails its install; tprin/1 never gets to run anything.
    fx.on("tprin/0", "install", "exit 1\n");
    let recs = fx.juju.step().unwrap().into_iter().collect::<Vec<_>>();
    assert_eq!(hooks_of(&recs, "tprin/0"), ["install"]);
    fx.juju.remove_unit("tprin/1").unwrap();
    fx.juju.remove_unit("tprin/0").unwrap();
    assert!(
        fx.settle().is_empty(),
        "an errored unit waits; a dying uninstalled unit runs nothing"
    );
    assert!(!fx.juju.model().unwrap().units.contains_key("tprin/1"));
    // Skipping the failed install commits it: installed, never started.
    fx.juju.resolved("tprin/0", false).unwrap();
    let recs = fx.settle();
    assert_eq!(hooks_of(&recs, "tprin/0"), ["remove"]);
    assert!(fx.juju.model().unwrap().units.is_empty());
}

/// reboot/resolver.go: after a reboot a started unit runs `start` (and nothing else); during a
/// series upgrade the `start` waits until the upgrade is complete.
#[test]
fn reboot_runs_start_but_not_during_a_series_upgrade() {
    let mut fx = Fx::new();
    fx.deploy(2);
    fx.settle();
    let m = fx.juju.model().unwrap();
    let machine = m.units["tprin/0"].machine.clone();
    fx.juju.reboot_machine(&machine).unwrap();
    let recs = fx.settle();
    assert_eq!(hooks_of(&recs, "tprin/0"), ["start"]);
    assert_eq!(hooks_of(&recs, "tsub/0"), ["start"]);
    assert!(hooks_of(&recs, "tsub/1").is_empty() && hooks_of(&recs, "tprin/1").is_empty());
    assert!(fx.settle().is_empty(), "once per reboot");

    fx.juju
        .pre_series_upgrade(&machine, "ubuntu@24.04")
        .unwrap();
    assert_eq!(hooks_of(&fx.settle(), "tsub/0"), ["pre-series-upgrade"]);
    fx.juju.reboot_machine(&machine).unwrap();
    assert!(
        fx.settle().is_empty(),
        "no start while the upgrade is in progress"
    );
    fx.juju.complete_series_upgrade(&machine).unwrap();
    let recs = fx.settle();
    assert_eq!(hooks_of(&recs, "tsub/0"), ["post-series-upgrade", "start"]);
}

/// A reboot before the unit started is not reported to the charm (`!localState.Started`).
#[test]
fn reboot_before_start_runs_nothing() {
    let mut fx = Fx::new();
    fx.juju.deploy("tprin", &fx.prin.clone(), 1).unwrap();
    fx.juju.step().unwrap();
    let machine = fx.juju.model().unwrap().units["tprin/0"].machine.clone();
    fx.juju.reboot_machine(&machine).unwrap();
    let recs = fx.settle();
    assert_eq!(
        hooks_of(&recs, "tprin/0"),
        ["leader-elected", "config-changed", "start"]
    );
}

/// context.go `doFlush` (`UpdateNetworkInfo` for config-changed) and uniter.go
/// `commitHookChangesForOneUnit`: the network settings are written first and the charm's bag
/// only where it differs from what is stored, in one transaction.
#[test]
fn config_changed_rewrites_network_settings_of_joined_relations() {
    let mut fx = Fx::new();
    fx.deploy(2);
    fx.settle();
    let cluster = 0;
    let addr = fx.juju.model().unwrap().unit_address("tsub/0");
    let bag = |fx: &Fx| fx.juju.relation_data(cluster, "tsub/0").unwrap();
    assert_eq!(bag(&fx)["private-address"], addr);

    // An ordinary hook publishes a VIP as private-address: it is stored.
    fx.on(
        "tsub/0",
        "update-status",
        "relation-set -r 0 private-address=192.0.2.250\n",
    );
    fx.juju.request_update_status(Some("tsub/0")).unwrap();
    fx.settle();
    assert_eq!(bag(&fx)["private-address"], "192.0.2.250");

    // config-changed re-sets the unchanged VIP and changes another key: Juju's network
    // settings win for the unchanged key, the changed key is written.
    fx.on(
        "tsub/0",
        "config-changed",
        "relation-set -r 0 private-address=192.0.2.250 port=8443\n",
    );
    fx.juju.set_config("tsub", &[("title", "one")]).unwrap();
    let recs = fx.settle();
    assert!(hooks_of(&recs, "tsub/0").contains(&"config-changed"));
    let b = bag(&fx);
    assert_eq!(
        (
            b["private-address"].as_str(),
            b["ingress-address"].as_str(),
            b["egress-subnets"].as_str(),
            b["port"].as_str()
        ),
        (
            addr.as_str(),
            addr.as_str(),
            format!("{addr}/32").as_str(),
            "8443"
        )
    );
    // The other unit saw the change (-changed with the unit's address).
    assert!(hooks_of(&recs, "tsub/1").contains(&"cluster-relation-changed"));

    // The next hook that writes the VIP wins again (it differs from what is stored now).
    fx.juju.request_update_status(Some("tsub/0")).unwrap();
    fx.settle();
    assert_eq!(bag(&fx)["private-address"], "192.0.2.250");

    // A config-changed that *changes* private-address wins over the network settings.
    fx.on(
        "tsub/0",
        "config-changed",
        "relation-set -r 0 private-address=192.0.2.251\n",
    );
    fx.juju.set_config("tsub", &[("title", "two")]).unwrap();
    fx.settle();
    assert_eq!(bag(&fx)["private-address"], "192.0.2.251");

    // A failed config-changed commits nothing, network settings included.
    fx.on("tsub/0", "config-changed", "exit 1\n");
    fx.juju.set_config("tsub", &[("title", "three")]).unwrap();
    fx.settle();
    assert_eq!(bag(&fx)["private-address"], "192.0.2.251");
}

/// resolver.go `nextOp`: `addressesHashChanged` runs config-changed, which then publishes the
/// new address in every joined relation (principal's implicit end included).
#[test]
fn address_change_runs_config_changed_with_new_network_settings() {
    let mut fx = Fx::new();
    let juju_info = fx.deploy(1);
    fx.settle();
    let machine = fx.juju.model().unwrap().units["tsub/0"].machine.clone();
    fx.juju
        .set_machine_address(&machine, "192.0.2.99", "192.0.2.0/24")
        .unwrap();
    let recs = fx.settle();
    assert_eq!(hooks_of(&recs, "tprin/0"), ["config-changed"]);
    // The subordinate also sees its principal's new address as a settings change.
    let mut sub = hooks_of(&recs, "tsub/0");
    sub.sort();
    assert_eq!(sub, ["config-changed", "juju-info-relation-changed"]);
    for unit in ["tsub/0", "tprin/0"] {
        let b = fx.juju.relation_data(juju_info, unit).unwrap();
        assert_eq!(b["private-address"], "192.0.2.99", "{unit}");
        assert_eq!(b["egress-subnets"], "192.0.2.99/32", "{unit}");
    }
    let b = fx.juju.relation_data(0, "tsub/0").unwrap();
    assert_eq!(b["ingress-address"], "192.0.2.99");
}
