//! Fast health of the local load balancer (issue 5): the master's "load balancer" (a TCP
//! listener) is SIGKILLed while the machine stays up. With `tcp_connect … watch`, weight 0 and
//! a 5 s periodic interval, only the held connection can explain a fast reaction: the master
//! goes FAULT (priority 0) and the backup takes the VIP within Skew_Time.
//! Root required; skipped otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{skip, wait_until, Bed, Inst, Kind};
use netlab::Signal;

const SETTLE: Duration = Duration::from_secs(5);
const PORT: u16 = 6443;

/// A listener on 127.0.0.1:PORT that accepts and keeps every connection, like an LB.
const LISTENER: &str = "import socket\n\
s=socket.socket()\n\
s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
s.bind(('127.0.0.1',6443))\n\
s.listen(64)\n\
held=[]\n\
while True:\n    held.append(s.accept()[0])\n";

#[test]
fn lb_death_on_master_moves_the_vip_at_once() {
    if skip() {
        return;
    }
    let node = |p: u8| Inst {
        check_port: Some(PORT),
        check_watch: true,
        ..Inst::v3(p)
    };
    let mut bed = Bed::new(
        "lbwatch",
        vec![(Kind::Worker, node(150)), (Kind::Worker, node(100))],
    );
    let lb0 = bed.nodes[0]
        .host
        .spawn("lb", "python3", &["-c", LISTENER])
        .unwrap();
    let _lb1 = bed.nodes[1]
        .host
        .spawn("lb", "python3", &["-c", LISTENER])
        .unwrap();
    for n in &bed.nodes {
        let up = wait_until(SETTLE, Duration::from_millis(20), || {
            n.host
                .exec(
                    "python3",
                    &[
                        "-c",
                        "import socket;socket.create_connection(('127.0.0.1',6443),1)",
                    ],
                )
                .is_ok_and(|o| o.status.success())
        });
        assert!(up.is_some(), "listener did not come up");
    }
    bed.nodes[0].start();
    bed.nodes[1].start();
    bed.wait_sole_holder(0, SETTLE);
    bed.assert_stable(0, Duration::from_millis(800));
    let vip = bed.vip();
    lb0.signal(Signal::SIGKILL).unwrap();
    let moved = wait_until(Duration::from_secs(3), Duration::from_millis(2), || {
        bed.nodes[1].holds(vip)
    });
    let Some(took) = moved else {
        bed.dump();
        panic!("backup did not take the VIP after the master's LB died");
    };
    eprintln!("MEASURE v3/100ms LB SIGKILL on master (watch) -> backup holds VIP: {took:?}");
    // Skew at priority 100 is 61 ms; the periodic probe would need up to 5 s.
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    assert!(
        wait_until(Duration::from_secs(1), Duration::from_millis(10), || !bed
            .nodes[0]
            .holds(vip))
        .is_some()
    );
    assert!(
        wait_until(SETTLE, Duration::from_millis(20), || bed.nodes[0]
            .role()
            .as_deref()
            == Some("FAULT"))
        .is_some()
    );
    bed.wait_sole_holder(1, SETTLE);
    // The LB comes back: the periodic probe (5 s) brings node 0 back and it preempts.
    let _lb0 = bed.nodes[0]
        .host
        .spawn("lb2", "python3", &["-c", LISTENER])
        .unwrap();
    bed.wait_sole_holder(0, Duration::from_secs(10));
}
