//! The delay relay against the real kernel (needs root): the delay it adds, measured with ping.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use netlab::{Jitter, Lab};

/// `(min, avg, max)` of ping's `rtt min/avg/max/mdev = a/b/c/d ms` line, in ms.
fn rtt(out: &str) -> (f64, f64, f64) {
    let line = out
        .lines()
        .find(|l| l.contains("min/avg/max"))
        .unwrap_or_else(|| panic!("no rtt line in {out}"));
    let nums: Vec<f64> = line
        .split('=')
        .nth(1)
        .unwrap()
        .trim()
        .trim_end_matches(" ms")
        .split('/')
        .map(|x| x.parse().unwrap())
        .collect();
    (nums[0], nums[1], nums[2])
}

/// 5 ms ± 5 ms each way: a ping crosses the relay twice, so its RTT is the sum of two uniform
/// 0–10 ms delays (mean 10 ms, spread over most of 0–20 ms), against well under a millisecond
/// between two plain hosts of the same lab.
#[test]
fn relay_adds_five_plus_minus_five_ms_each_way() {
    if netlab::skip_unless_root() {
        return;
    }
    let lab = Lab::new("relay").unwrap();
    let a = lab.add_host("a").unwrap();
    let c = lab.add_host("c").unwrap();
    let jitter = Jitter::new(Duration::from_millis(5), Duration::from_millis(5));
    let (b, relay) = lab
        .add_relayed_host("b", "eth0", jitter, Duration::from_secs(60))
        .unwrap();
    a.add_addr("192.0.2.1/24").unwrap();
    b.add_addr("192.0.2.2/24").unwrap();
    c.add_addr("192.0.2.3/24").unwrap();
    let plain = a
        .run("ping", &["-c20", "-i0.02", "-W2", "-q", "192.0.2.3"])
        .unwrap();
    let relayed = a
        .run("ping", &["-c60", "-i0.03", "-W2", "-q", "192.0.2.2"])
        .unwrap();
    let (pmin, pavg, pmax) = rtt(&plain);
    let (rmin, ravg, rmax) = rtt(&relayed);
    let st = relay.stats();
    eprintln!(
        "MEASURE relay: ping RTT plain {pmin:.3}/{pavg:.3}/{pmax:.3} ms, through the relay \
         {rmin:.3}/{ravg:.3}/{rmax:.3} ms (min/avg/max); relay forwarded {} frames, dropped {}, \
         hold mean {:.0} µs max {} µs",
        st.forwarded, st.dropped, st.hold_mean_us, st.hold_max_us
    );
    assert!(pavg < 2.0, "plain RTT {pavg} ms");
    assert!((7.0..=16.0).contains(&ravg), "relayed mean RTT {ravg} ms");
    assert!(rmax - rmin >= 6.0, "no jitter: {rmin}–{rmax} ms");
    assert!(rmin < 8.0 && rmax > 12.0, "spread {rmin}–{rmax} ms");
    // 60 echo requests and 60 replies (plus ARP).
    assert!(st.forwarded >= 120, "{st:?}");
    assert!((4000.0..=8000.0).contains(&st.hold_mean_us), "{st:?}");
    drop(relay);
    // Stopped: nothing crosses any more.
    assert!(!a
        .exec("ping", &["-c2", "-i0.2", "-W1", "192.0.2.2"])
        .unwrap()
        .status
        .success());
}

/// A port whose forwarding is off passes nothing, and the host keeps its carrier.
#[test]
fn forwarding_off_blocks_the_port_without_a_link_event() {
    if netlab::skip_unless_root() {
        return;
    }
    let lab = Lab::new("fwd").unwrap();
    let a = lab.add_host("a").unwrap();
    let b = lab.add_host("b").unwrap();
    a.add_addr("192.0.2.1/24").unwrap();
    b.add_addr("192.0.2.2/24").unwrap();
    a.run("ping", &["-c1", "-W2", "192.0.2.2"]).unwrap();
    b.set_forwarding(false).unwrap();
    let ping = |w: &str| {
        a.exec("ping", &["-c1", "-W", w, "192.0.2.2"])
            .unwrap()
            .status
            .success()
    };
    assert!(!ping("1"), "a blocked port forwarded");
    assert!(b.link().unwrap().flags.iter().any(|f| f == "LOWER_UP"));
    b.set_forwarding(true).unwrap();
    assert!(ping("2"), "the port did not forward again");
}
