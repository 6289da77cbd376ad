//! metadata.yaml must admit every Juju the charm works with: 2.9 and every 3.x (issue 9).
//! The charm uses nothing newer than 2.9, so `assumes` is either absent or asks for no more
//! than `juju >= 2.9` (a newer floor would shut out 2.9 and 3.1–3.3 controllers at deploy).
#![allow(clippy::unwrap_used, clippy::expect_used)]

fn metadata() -> serde_yaml::Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/metadata.yaml"))
        .expect("metadata.yaml is readable");
    serde_yaml::from_str(&text).expect("metadata.yaml is YAML")
}

/// `(major, minor)` of a `juju >= X.Y` / `juju > X.Y` / `juju < X.Y` expression.
fn juju_bound(expr: &str) -> Option<(&str, (u32, u32))> {
    let rest = expr.trim().strip_prefix("juju")?.trim();
    let (op, ver) = ["<=", ">=", "<", ">"]
        .iter()
        .find_map(|op| rest.strip_prefix(op).map(|v| (*op, v.trim())))?;
    let mut parts = ver.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().unwrap_or("0").parse().ok()?;
    Some((op, (major, minor)))
}

fn admits(expr: &str, version: (u32, u32)) -> bool {
    match juju_bound(expr) {
        Some((">=", v)) => version >= v,
        Some((">", v)) => version > v,
        Some(("<=", v)) => version <= v,
        Some(("<", v)) => version < v,
        _ => panic!("assumes entry {expr:?} is not a juju version bound the charm needs"),
    }
}

#[test]
fn assumes_admits_juju_2_9_and_every_3_x() {
    let meta = metadata();
    let Some(assumes) = meta.get("assumes") else {
        return; // no assumes: every Juju deploys it
    };
    let entries = assumes.as_sequence().expect("assumes is a list");
    for version in [(2, 9), (3, 1), (3, 3), (3, 4), (3, 6)] {
        for e in entries {
            let e = e
                .as_str()
                .expect("assumes entries are plain expressions here");
            assert!(admits(e, version), "{e:?} shuts out Juju {version:?}");
        }
    }
}

#[test]
fn the_bound_parser_reads_what_charms_write() {
    assert!(!admits("juju >= 3.4", (3, 1)));
    assert!(admits("juju >= 2.9", (3, 6)));
    assert!(!admits("juju < 3", (3, 0)));
}

#[test]
fn subordinate_on_juju_info_container_scope() {
    let meta = metadata();
    assert_eq!(meta["subordinate"].as_bool(), Some(true));
    assert_eq!(
        meta["requires"]["juju-info"]["scope"].as_str(),
        Some("container")
    );
}
