//! Partition and heal: three workers (v3, 100 ms) on the lab bridge; the master's bridge port
//! stops forwarding (carrier stays up, so it is a partition, not a link fault). Both sides
//! elect (two holders while split), then the port forwards again: exactly one holder within
//! a generous bound of healing, and the winner re-announces, so a client's neighbour entry for
//! the VIP, which pointed at the other side's master, points at the winner again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::{skip, wait_until, Bed, Inst, Kind};

/// One advert interval is 100 ms; allow for a loaded 2-core host.
const HEAL_BOUND: Duration = Duration::from_millis(500);

/// The client's neighbour entry (MAC) for `ip`, if any.
fn neigh_mac(bed: &Bed, client: usize, ip: &str) -> Option<String> {
    let out = bed.nodes[client]
        .host
        .ip(&["-j", "neigh", "show", ip])
        .ok()?;
    let v: serde_json::Value = serde_json::from_str(&out).ok()?;
    Some(v.get(0)?.get("lladdr")?.as_str()?.to_string())
}

fn mac_str(m: [u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[test]
fn split_group_elects_on_both_sides_and_heals_to_one_announced_holder() {
    if skip() {
        return;
    }
    let charm_like = |p| Inst {
        higher_prio_send_advert: true,
        ..Inst::v3(p)
    };
    let w = Kind::Worker;
    let mut bed = Bed::new(
        "partition",
        vec![
            // As the charm renders them: a yielding master sends one advert first, so the
            // winner hears the loser after healing and re-announces (GARP) whichever of the
            // two adverts crosses the healed link first.
            (w, charm_like(150)),
            (w, charm_like(100)),
            (w, charm_like(50)),
            (w, Inst::v3(1)), // the client: runs no daemon
        ],
    );
    for i in 0..3 {
        bed.nodes[i].start();
    }
    bed.wait_sole_holder(0, Duration::from_secs(5));
    bed.assert_stable(0, Duration::from_millis(500));
    let vip = bed.vip();
    let port = bed.nodes[0].host.bridge_port().to_string();
    // STP port state 0 = disabled: the bridge neither forwards to nor from the port, while
    // both veth ends keep carrier.
    let sw = bed.lab.switch_netns().to_string();
    let port_state = |s: &str| {
        let out = std::process::Command::new("ip")
            .args([
                "netns", "exec", &sw, "bridge", "link", "set", "dev", &port, "state", s,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };

    port_state("0");
    // The cut-off side keeps its master; the other side elects node 1.
    let split = wait_until(Duration::from_secs(3), Duration::from_millis(5), || {
        bed.holders() == vec![0, 1]
    });
    if split.is_none() {
        bed.dump();
        panic!("no election on the split side: holders {:?}", bed.holders());
    }
    eprintln!(
        "MEASURE partition: second holder after {:?}",
        split.unwrap()
    );
    assert_eq!(bed.nodes[0].role().as_deref(), Some("MASTER"));
    assert!(
        bed.nodes[0].host.link().unwrap().lower_up(),
        "partition, not link loss"
    );
    // The client talks to the VIP during the split: its neighbour entry is node 1's MAC.
    let mac0 = mac_str(bed.nodes[0].host.mac().unwrap());
    let mac1 = mac_str(bed.nodes[1].host.mac().unwrap());
    let target = SocketAddr::new(vip, 9);
    bed.nodes[3]
        .host
        .run_in(move || {
            let _ = TcpStream::connect_timeout(&target, Duration::from_millis(300));
        })
        .unwrap();
    let seen = wait_until(Duration::from_secs(2), Duration::from_millis(20), || {
        neigh_mac(&bed, 3, "192.0.2.100").as_deref() == Some(mac1.as_str())
    });
    assert!(
        seen.is_some(),
        "client neighbour entry {:?}, want node 1 {mac1}",
        neigh_mac(&bed, 3, "192.0.2.100")
    );
    std::thread::sleep(Duration::from_millis(1200)); // past the neighbour locktime

    let healed = Instant::now();
    port_state("3"); // forwarding
    let one = wait_until(Duration::from_secs(3), Duration::from_millis(2), || {
        bed.holders() == vec![0]
    });
    let Some(one) = one else {
        bed.dump();
        panic!("still {:?} 3 s after healing", bed.holders());
    };
    eprintln!("MEASURE partition: single holder {one:?} after healing");
    assert!(one <= HEAL_BOUND, "single holder only after {one:?}");
    // The winner re-announced: the client's entry follows it without any traffic of its own.
    let follow = wait_until(Duration::from_secs(2), Duration::from_millis(5), || {
        neigh_mac(&bed, 3, "192.0.2.100").as_deref() == Some(mac0.as_str())
    });
    assert!(
        follow.is_some(),
        "client still resolves the VIP to {:?} (winner {mac0})",
        neigh_mac(&bed, 3, "192.0.2.100")
    );
    eprintln!(
        "MEASURE partition: client neighbour entry at the winner {:?} after healing",
        healed.elapsed()
    );
    bed.assert_stable(0, Duration::from_secs(1));
    assert!(
        wait_until(Duration::from_secs(3), Duration::from_millis(50), || {
            bed.nodes[1].role().as_deref() == Some("BACKUP")
                && bed.nodes[2].role().as_deref() == Some("BACKUP")
        })
        .is_some()
    );
}
