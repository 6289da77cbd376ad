//! Netlink: link lookup, idempotent VIP add/del, primary source, and the event monitor
//! (needs root; runs inside netlab hosts).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod net_common;

use std::net::IpAddr;
use std::time::Duration;

use futures::StreamExt;
use net_common::{lab_ab, WAIT};
use tokio::time::timeout;
use vrrpd::net::{Family, Monitor, NetEvent, Netlink, VipSpec};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn links_vips_and_primary_source() {
    let (_lab, a, _b) = lab_ab("nlvip");
    let (ia, mac_a) = (a.ifindex().unwrap(), a.mac().unwrap());
    let host = a.clone();
    a.block_on(|| async move {
        let nl = Netlink::connect().await.unwrap();
        let l = nl.link("eth0").await.unwrap().expect("eth0 exists");
        assert_eq!((l.index, l.name.as_str(), l.mac), (ia, "eth0", Some(mac_a)));
        assert!(
            l.admin_up && l.oper_up && l.carrier && !l.noarp && l.is_up(),
            "{l:?}"
        );
        assert!(nl.link("nosuch0").await.unwrap().is_none());

        // IPv4 VIP with a label, added twice.
        let mut v4 = VipSpec::new(ip("192.0.2.100"), 32);
        v4.label = Some("eth0:vip".into());
        nl.add_vip(ia, &v4).await.unwrap();
        nl.add_vip(ia, &v4).await.unwrap();
        let seen = host.addrs().unwrap();
        let e = seen
            .iter()
            .find(|x| x.addr == ip("192.0.2.100"))
            .expect("VIP present");
        assert_eq!((e.prefix, e.label.as_deref()), (32, Some("eth0:vip")));
        assert_eq!(
            seen.iter().filter(|x| x.addr == ip("192.0.2.100")).count(),
            1
        );

        // IPv6 /128: nodad and preferred lifetime 0; IPv6 /64 with noprefixroute.
        let v6 = VipSpec::new(ip("2001:db8::100"), 128);
        nl.add_vip(ia, &v6).await.unwrap();
        nl.add_vip(ia, &v6).await.unwrap();
        let mut v6b = VipSpec::new(ip("2001:db8:1::100"), 64);
        v6b.noprefixroute = true;
        nl.add_vip(ia, &v6b).await.unwrap();
        let seen = host.addrs().unwrap();
        let e = seen
            .iter()
            .find(|x| x.addr == ip("2001:db8::100"))
            .expect("v6 VIP present");
        assert_eq!(e.prefix, 128);
        assert!(e.nodad && !e.tentative, "{e:?}");
        assert_eq!(e.preferred_life_time, Some(0));
        let e = seen
            .iter()
            .find(|x| x.addr == ip("2001:db8:1::100"))
            .expect("v6 /64 VIP present");
        assert!(e.noprefixroute && e.nodad, "{e:?}");
        let routes = host
            .ip(&["-6", "route", "show", "2001:db8:1::/64"])
            .unwrap();
        assert!(routes.trim().is_empty(), "no prefix route: {routes}");

        // Our own view agrees.
        let mine = nl.addresses(ia).await.unwrap();
        let m = mine.iter().find(|x| x.addr == ip("192.0.2.100")).unwrap();
        assert_eq!(
            (m.index, m.prefix, m.label.as_deref()),
            (ia, 32, Some("eth0:vip"))
        );

        // Primary source: never a VIP; IPv6 = the non-tentative link-local.
        let vips = [
            ip("192.0.2.100"),
            ip("2001:db8::100"),
            ip("2001:db8:1::100"),
        ];
        assert_eq!(
            nl.primary_source(ia, Family::Ipv4, &vips).await.unwrap(),
            Some(ip("192.0.2.1"))
        );
        let ll = host.wait_link_local(Duration::from_secs(10)).unwrap();
        assert_eq!(
            nl.primary_source(ia, Family::Ipv6, &vips).await.unwrap(),
            Some(IpAddr::V6(ll))
        );

        // Delete, twice each; gone from `ip -j addr`.
        for _ in 0..2 {
            nl.del_vip(ia, ip("192.0.2.100"), 32).await.unwrap();
            nl.del_vip(ia, ip("2001:db8::100"), 128).await.unwrap();
            nl.del_vip(ia, ip("2001:db8:1::100"), 64).await.unwrap();
        }
        let seen = host.addrs().unwrap();
        assert!(seen.iter().all(|x| !vips.contains(&x.addr)), "{seen:?}");
        assert!(
            seen.iter().any(|x| x.addr == ip("192.0.2.1")),
            "the real address stays"
        );
        // On an interface that does not exist: deleting is fine, adding is an error naming it.
        nl.del_vip(9999, ip("192.0.2.100"), 32).await.unwrap();
        let err = nl.add_vip(9999, &v4).await.unwrap_err().to_string();
        assert!(
            err.contains("9999") && err.contains("192.0.2.100/32"),
            "{err}"
        );
        assert!(nl
            .add_vip(ia, &VipSpec::new(ip("192.0.2.100"), 40))
            .await
            .is_err());
    })
    .unwrap();
}

/// Reads events until `want` matches one (returned), bounded by WAIT.
async fn expect(mon: &mut Monitor, what: &str, want: impl Fn(&NetEvent) -> bool) -> NetEvent {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match timeout(
            deadline.saturating_duration_since(tokio::time::Instant::now()),
            mon.next(),
        )
        .await
        {
            Ok(Some(ev)) if want(&ev) => return ev,
            Ok(Some(ev)) => seen.push(ev),
            Ok(None) => panic!("monitor ended while waiting for {what}; saw {seen:?}"),
            Err(_) => panic!("no {what} within {WAIT:?}; saw {seen:?}"),
        }
    }
}

#[test]
fn monitor_reports_link_and_address_changes() {
    let (_lab, a, _b) = lab_ab("nlmon");
    let ia = a.ifindex().unwrap();
    let host = a.clone();
    a.block_on(|| async move {
        let nl = Netlink::connect().await.unwrap();
        let mut mon = nl.monitor().await.unwrap();

        host.set_cable(false).unwrap();
        expect(&mut mon, "LinkDown on cable pull", |e| *e == NetEvent::LinkDown { index: ia, name: "eth0".into() }).await;
        host.set_cable(true).unwrap();
        expect(&mut mon, "LinkUp on cable plug", |e| *e == NetEvent::LinkUp { index: ia, name: "eth0".into() }).await;
        host.set_link(false).unwrap();
        expect(&mut mon, "LinkDown on admin down", |e| *e == NetEvent::LinkDown { index: ia, name: "eth0".into() }).await;
        host.set_link(true).unwrap();
        expect(&mut mon, "LinkUp on admin up", |e| *e == NetEvent::LinkUp { index: ia, name: "eth0".into() }).await;

        host.add_addr("198.51.100.7/24").unwrap();
        expect(&mut mon, "AddrAdded", |e| {
            matches!(e, NetEvent::AddrAdded { index, addr, prefix: 24, .. } if *index == ia && *addr == ip("198.51.100.7"))
        })
        .await;
        host.del_addr("198.51.100.7/24").unwrap();
        expect(&mut mon, "AddrRemoved", |e| {
            *e == NetEvent::AddrRemoved { index: ia, addr: ip("198.51.100.7"), prefix: 24 }
        })
        .await;
        // A VIP removed behind our back is reported too.
        nl.add_vip(ia, &VipSpec::new(ip("192.0.2.100"), 32)).await.unwrap();
        host.del_addr("192.0.2.100/32").unwrap();
        expect(&mut mon, "VIP AddrRemoved", |e| {
            *e == NetEvent::AddrRemoved { index: ia, addr: ip("192.0.2.100"), prefix: 32 }
        })
        .await;

        let new = host.recreate_interface().unwrap();
        assert_ne!(new, ia);
        expect(&mut mon, "LinkRemoved", |e| *e == NetEvent::LinkRemoved { index: ia, name: "eth0".into() }).await;
        expect(&mut mon, "LinkAdded", |e| *e == NetEvent::LinkAdded { index: new, name: "eth0".into() }).await;
        expect(&mut mon, "LinkUp of the new link", |e| *e == NetEvent::LinkUp { index: new, name: "eth0".into() }).await;
    })
    .unwrap();
}
