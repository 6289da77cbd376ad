//! Issue 11's statuses under the Juju emulator, from hand-written worker state files: a unit
//! whose worker is in FAULT waits and says where the VIP is; the leader sets the application
//! status from what every unit publishes on the peer relation; a conflict shows in the status;
//! `vrrp-status` prints the same facts as a table or JSON.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::*;

const VIP: [(&str, &str); 2] = [
    ("virtual_ip", "192.0.2.250/24"),
    ("network_interface", "lo"),
];

/// A state file as vrrpd writes it (pid 1 is alive, so it counts as current).
fn state(role: &str, faults: &str, vips: &str, conflicts: &str) -> String {
    format!(
        r#"{{"version":1,"pid":1,"instances":[{{"name":"VI_23","vrid":23,"family":"ipv4",
        "vrrp_version":3,"interface":"lo","role":"{role}","base_priority":250,
        "effective_priority":250,"master_address":null,"vips_held":[{vips}],
        "faults":[{faults}],"conflicts":[{conflicts}]}}]}}"#
    )
}

const HELD: &str = r#""192.0.2.250/24""#;
const LB_DOWN: &str = r#"{"track":0}"#;

/// Writes each unit's state file, then runs update-status on every unit twice (the second
/// round sees what the first published).
fn report(lab: &mut Lab, states: &[(&str, String)]) {
    for (u, s) in states {
        std::fs::write(lab.file(u, "run/vrrpd/state.json"), s).unwrap();
    }
    for _ in 0..2 {
        for (u, _) in states {
            lab.juju.request_update_status(Some(u)).unwrap();
        }
        lab.settle();
    }
}

fn app_status(lab: &Lab) -> (String, String) {
    let m = lab.juju.model().unwrap();
    let s = &m.apps["keepalived"].status;
    (s.status.clone(), s.message.clone())
}

#[test]
fn faulty_units_wait_and_the_leader_sums_up_the_vip() {
    let mut lab = Lab::new(2);
    lab.settle();
    lab.config(&VIP);
    lab.settle();
    let (u0, u1) = ("keepalived/0", "keepalived/1");

    // keepalived/0's load balancer is dead; keepalived/1 holds the VIP.
    report(
        &mut lab,
        &[
            (u0, state("FAULT", LB_DOWN, "", "")),
            (u1, state("MASTER", "", HELD, "")),
        ],
    );
    assert_eq!(
        lab.status(u0),
        (
            "waiting".into(),
            "LB not answering on 127.0.0.1:443; VIP on keepalived/1".into()
        )
    );
    let (level, msg) = lab.status(u1);
    assert_eq!(level, "active");
    assert!(msg.starts_with("VIP ready (MASTER)"), "{msg}");
    assert_eq!(
        app_status(&lab),
        (
            "active".into(),
            "VIP 192.0.2.250 on keepalived/1 (1 of 2 units ready)".into()
        )
    );

    // Every load balancer down: nobody holds the VIP.
    report(
        &mut lab,
        &[
            (u0, state("FAULT", LB_DOWN, "", "")),
            (u1, state("FAULT", r#""link_down""#, "", "")),
        ],
    );
    assert_eq!(
        lab.status(u1),
        (
            "waiting".into(),
            "link down on lo; no other unit holds the VIP".into()
        )
    );
    assert_eq!(
        app_status(&lab),
        (
            "blocked".into(),
            "no unit holds VIP 192.0.2.250: keepalived/0: LB not answering on 127.0.0.1:443".into()
        )
    );

    // Two units claim the VIP; a foreign speaker on VRID 23.
    let foreign = r#"{"source":"192.0.2.77","kind":"other_vips","first_seen_unix_ms":1,
        "last_seen_unix_ms":2,"count":3}"#;
    report(
        &mut lab,
        &[
            (u0, state("MASTER", "", HELD, foreign)),
            (u1, state("MASTER", "", HELD, "")),
        ],
    );
    let (level, msg) = app_status(&lab);
    assert_eq!(level, "waiting");
    assert_eq!(
        msg,
        "VIP 192.0.2.250 claimed by 2 units: keepalived/0, keepalived/1 (2 of 2 units ready)"
    );
    let (level, msg) = lab.status(u0);
    assert_eq!(level, "active");
    assert!(
        msg.starts_with("VIP ready (MASTER)")
            && msg.ends_with(
                "; VRID 23 conflict: 192.0.2.77 advertises other VIPs; pick another router_id"
            ),
        "{msg}"
    );

    // The action shows the same facts, as JSON and as a table.
    let res = lab
        .juju
        .run_action(u0, "vrrp-status", serde_json::json!({"format": "json"}))
        .unwrap();
    assert!(!res.failed, "{res:?}");
    let out: serde_json::Value = serde_json::from_str(res.stdout.trim()).unwrap();
    assert_eq!(out["instances"][0]["role"], "MASTER");
    assert_eq!(
        out["instances"][0]["conflicts"][0],
        "192.0.2.77 advertises other VIPs (3 adverts)"
    );
    let units: Vec<&str> = out["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["unit"].as_str().unwrap())
        .collect();
    assert_eq!(units, [u0, u1]);
    assert_eq!(out["units"][1]["vips"][0], "192.0.2.250");
    assert_eq!(
        res.results["vi-23"]["conflicts"],
        "192.0.2.77 advertises other VIPs (3 adverts)"
    );
    let res = lab
        .juju
        .run_action(u0, "vrrp-status", serde_json::Value::Null)
        .unwrap();
    assert!(!res.failed, "{res:?}");
    assert!(
        res.stdout.contains("VI_23\tMASTER\t250/250"),
        "{}",
        res.stdout
    );
    assert!(
        res.stdout
            .contains("keepalived/1\tMASTER\ttrue\t192.0.2.250"),
        "{}",
        res.stdout
    );
    let bad = lab
        .juju
        .run_action(u0, "vrrp-status", serde_json::json!({"format": "xml"}))
        .unwrap();
    assert!(bad.failed, "{bad:?}");
}
