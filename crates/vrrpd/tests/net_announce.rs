//! GARP and unsolicited NA on the wire and their effect on a neighbour's table (needs root).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod net_common;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use net_common::{capture, lab_ab, mac_str, WAIT};
use vrrpd::net::frames::{garp_frame, unsolicited_na_frame, GARP_LEN, NA_LEN};
use vrrpd::net::Announcer;

const FAKE_MAC: &str = "02:00:00:00:00:99";

fn neigh_mac(host: &netlab::Host, family: &str, addr: &str) -> Option<String> {
    let out = host
        .ip(&[family, "-j", "neigh", "show", "to", addr, "dev", "eth0"])
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v.as_array()?
        .first()?
        .get("lladdr")?
        .as_str()
        .map(str::to_string)
}

fn wait_neigh(host: &netlab::Host, family: &str, addr: &str, want: &str) -> Option<String> {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let got = neigh_mac(host, family, addr);
        if got.as_deref() == Some(want) || std::time::Instant::now() >= deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn garp_on_the_wire_and_neighbour_learns_the_vip() {
    let (_lab, a, b) = lab_ab("garp");
    let (ia, mac_a) = (a.ifindex().unwrap(), a.mac().unwrap());
    let vip = Ipv4Addr::new(192, 0, 2, 100);
    // b knows the VIP at some old MAC (the previous master).
    b.ip(&[
        "neigh",
        "add",
        "192.0.2.100",
        "lladdr",
        FAKE_MAC,
        "dev",
        "eth0",
        "nud",
        "stale",
    ])
    .unwrap();
    let cap = capture(&b, WAIT, 1, |f| f.len() >= 14 && f[12..14] == [0x08, 0x06]);
    a.run_in(move || {
        let ann = Announcer::open(ia).unwrap();
        ann.garp(mac_a, vip).unwrap();
    })
    .unwrap();
    let frames = cap.join().unwrap();
    assert_eq!(frames.len(), 1, "one GARP captured");
    let f = &frames[0];
    assert!(f.len() >= GARP_LEN);
    assert_eq!(&f[..GARP_LEN], &garp_frame(mac_a, vip)[..]);
    assert_eq!(&f[0..6], &[0xff; 6], "Ethernet broadcast");
    assert_eq!(&f[6..12], &mac_a, "Ethernet source");
    assert_eq!(&f[20..22], &[0, 1], "ARP request");
    assert_eq!(&f[22..28], &mac_a, "sender MAC");
    assert_eq!(&f[28..32], &vip.octets(), "sender IP");
    assert_eq!(&f[32..38], &[0xff; 6], "target MAC");
    assert_eq!(&f[38..42], &vip.octets(), "target IP");
    assert!(
        f[GARP_LEN..].iter().all(|&x| x == 0),
        "only padding after the ARP body"
    );
    assert_eq!(
        wait_neigh(&b, "-4", "192.0.2.100", &mac_str(mac_a)),
        Some(mac_str(mac_a))
    );
}

#[test]
fn unsolicited_na_on_the_wire_and_neighbour_learns_the_vip() {
    let (_lab, a, b) = lab_ab("na");
    let (ia, mac_a) = (a.ifindex().unwrap(), a.mac().unwrap());
    let vip: Ipv6Addr = "2001:db8::100".parse().unwrap();
    b.wait_link_local(Duration::from_secs(10)).unwrap();
    b.ip(&[
        "-6",
        "neigh",
        "add",
        "2001:db8::100",
        "lladdr",
        FAKE_MAC,
        "dev",
        "eth0",
        "nud",
        "stale",
    ])
    .unwrap();
    // IPv6 frames carrying ICMPv6 type 136 only.
    let cap = capture(&b, WAIT, 1, |f| {
        f.len() >= 55 && f[12..14] == [0x86, 0xdd] && f[20] == 58 && f[54] == 136
    });
    a.run_in(move || {
        let ann = Announcer::open(ia).unwrap();
        ann.unsolicited_na(mac_a, vip, false).unwrap();
    })
    .unwrap();
    let frames = cap.join().unwrap();
    assert_eq!(frames.len(), 1, "one NA captured");
    let f = &frames[0];
    assert_eq!(f.len(), NA_LEN);
    assert_eq!(&f[..], &unsolicited_na_frame(mac_a, vip, false)[..]);
    assert_eq!(&f[0..6], &[0x33, 0x33, 0, 0, 0, 1]);
    assert_eq!(&f[6..12], &mac_a);
    assert_eq!(f[21], 255, "hop limit");
    assert_eq!(&f[22..38], &vip.octets(), "IPv6 source is the VIP");
    assert_eq!(&f[38..54], &"ff02::1".parse::<Ipv6Addr>().unwrap().octets());
    assert_eq!(f[58] & 0xe0, 0x20, "O flag only");
    assert_eq!(&f[62..78], &vip.octets(), "target");
    assert_eq!(
        &f[78..86],
        &[&[2u8, 1][..], &mac_a[..]].concat()[..],
        "target link-layer address option"
    );
    // The kernel accepted it (checksum, hop limit, option) and updated the entry.
    assert_eq!(
        wait_neigh(&b, "-6", "2001:db8::100", &mac_str(mac_a)),
        Some(mac_str(mac_a))
    );
}

#[test]
fn announcer_on_a_missing_interface_fails_clearly() {
    let (_lab, a, _b) = lab_ab("annerr");
    a.run_in(|| {
        let ann = Announcer::open(9999).unwrap();
        let err = ann
            .garp([2, 0, 0, 0, 0, 1], Ipv4Addr::new(192, 0, 2, 100))
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("GARP") && msg.contains("ifindex 9999"),
            "{msg}"
        );
    })
    .unwrap();
}
