//! VrrpSocket against the real kernel, inside netlab labs (needs root).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod net_common;

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4};
use std::sync::mpsc;
use std::time::Duration;

use net_common::{lab_ab, QUIET, WAIT};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::time::timeout;
use vrrpd::net::frames::Ipv4Header;
use vrrpd::net::{Family, Mode, Received, VrrpSocket, VRRP_GROUP_V4, VRRP_GROUP_V6};

const A4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const B4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

/// Receives up to `n` packets (bounded by WAIT each), then checks nothing more arrives in QUIET.
async fn recv_n(s: &VrrpSocket, n: usize) -> (Vec<Received>, Option<Received>) {
    let mut got = Vec::new();
    for _ in 0..n {
        match timeout(WAIT, s.recv()).await {
            Ok(r) => got.push(r.expect("recv")),
            Err(_) => break,
        }
    }
    let extra = timeout(QUIET, s.recv())
        .await
        .ok()
        .map(|r| r.expect("recv"));
    (got, extra)
}

#[test]
fn v4_multicast_ttl_src_dst_payload_and_no_self_delivery() {
    let (_lab, a, b) = lab_ab("v4mc");
    let (ia, ib) = (a.ifindex().unwrap(), b.ifindex().unwrap());
    let (ready_tx, ready_rx) = mpsc::channel();
    // Host b: two sockets on the same interface (as for two VRIDs), plus a plain raw socket to
    // see the full IPv4 header.
    let rx = b
        .spawn_async(move || async move {
            let s1 = VrrpSocket::open("eth0", ib, Family::Ipv4, Mode::Multicast).unwrap();
            let s2 = VrrpSocket::open("eth0", ib, Family::Ipv4, Mode::Multicast).unwrap();
            let plain = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(112))).unwrap();
            plain.join_multicast_v4(&VRRP_GROUP_V4, &B4).unwrap();
            plain.set_read_timeout(Some(WAIT)).unwrap();
            ready_tx.send(()).unwrap();
            let r1 = recv_n(&s1, 2).await;
            let r2 = recv_n(&s2, 2).await;
            let mut headers = Vec::new();
            for _ in 0..2 {
                let mut buf = [0u8; 256];
                if let Ok(n) = (&plain).read(&mut buf) {
                    headers.push(buf[..n].to_vec());
                }
            }
            (r1, r2, headers, s1.malformed_count())
        })
        .unwrap();
    ready_rx.recv_timeout(WAIT).unwrap();

    let own = a
        .block_on(|| async move {
            let s = VrrpSocket::open("eth0", ia, Family::Ipv4, Mode::Multicast).unwrap();
            s.send(
                A4.into(),
                VRRP_GROUP_V4.into(),
                b"\x31\x01\x64\x01advert-255",
            )
            .await
            .unwrap();
            // A hand-made packet with TTL 64 (the core must see the real TTL to drop it).
            let raw = Socket::new(
                Domain::IPV4,
                Type::RAW,
                Some(Protocol::from(libc::IPPROTO_RAW)),
            )
            .unwrap();
            raw.set_multicast_if_v4(&A4).unwrap();
            raw.set_multicast_loop_v4(false).unwrap();
            let payload = b"\x31\x01\x64\x01advert-64";
            let mut h = Ipv4Header::vrrp(A4, VRRP_GROUP_V4, 77);
            h.ttl = 64;
            let pkt = [&h.encode(payload.len()).unwrap()[..], &payload[..]].concat();
            raw.send_to(&pkt, &SockAddr::from(SocketAddrV4::new(VRRP_GROUP_V4, 0)))
                .unwrap();
            // Our own multicast is not looped back to our own socket.
            timeout(QUIET, s.recv()).await.ok()
        })
        .unwrap();
    assert!(own.is_none(), "a received its own advert: {own:?}");

    let ((got1, extra1), (got2, extra2), headers, malformed) = rx.join().unwrap();
    for (got, extra) in [(&got1, &extra1), (&got2, &extra2)] {
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].src, IpAddr::V4(A4));
        assert_eq!(got[0].dst, IpAddr::V4(VRRP_GROUP_V4));
        assert_eq!(got[0].ttl, 255);
        assert_eq!(got[0].payload, b"\x31\x01\x64\x01advert-255");
        assert_eq!(got[1].ttl, 64);
        assert_eq!(got[1].payload, b"\x31\x01\x64\x01advert-64");
        assert!(extra.is_none(), "unexpected {extra:?}");
    }
    assert_eq!(got1[0].as_rx().ttl, 255);
    assert_eq!(malformed, 0);
    // The wire header of our own send, as keepalived builds it.
    let h = &headers[0];
    assert_eq!(h[0], 0x45);
    assert_eq!(h[1], 0xc0, "TOS");
    assert_eq!(
        u16::from_be_bytes([h[2], h[3]]) as usize,
        h.len(),
        "tot_len"
    );
    assert_eq!(u16::from_be_bytes([h[4], h[5]]), 1, "first IP ID is 1");
    assert_eq!(&h[6..8], &[0, 0], "DF clear");
    assert_eq!((h[8], h[9]), (255, 112));
}

#[test]
fn v4_ip_id_increments_and_family_is_checked() {
    let (_lab, a, b) = lab_ab("v4id");
    let (ia, ib) = (a.ifindex().unwrap(), b.ifindex().unwrap());
    let (ready_tx, ready_rx) = mpsc::channel();
    let rx = b
        .spawn_thread(move || {
            let plain = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(112))).unwrap();
            plain.join_multicast_v4(&VRRP_GROUP_V4, &B4).unwrap();
            plain.set_read_timeout(Some(WAIT)).unwrap();
            ready_tx.send(()).unwrap();
            let mut ids = Vec::new();
            for _ in 0..3 {
                let mut b = [0u8; 256];
                if let Ok(n) = (&plain).read(&mut b) {
                    assert!(n >= 20);
                    ids.push(u16::from_be_bytes([b[4], b[5]]));
                }
            }
            ids
        })
        .unwrap();
    ready_rx.recv_timeout(WAIT).unwrap();
    a.block_on(|| async move {
        let _ = ib;
        let s = VrrpSocket::open("eth0", ia, Family::Ipv4, Mode::Multicast).unwrap();
        for _ in 0..3 {
            s.send(A4.into(), VRRP_GROUP_V4.into(), b"x").await.unwrap();
        }
        let v6: IpAddr = "fe80::1".parse().unwrap();
        assert!(s.send(v6, VRRP_GROUP_V4.into(), b"x").await.is_err());
        assert!(
            s.send(VRRP_GROUP_V4.into(), VRRP_GROUP_V4.into(), b"x")
                .await
                .is_err(),
            "multicast source"
        );
        assert!(VrrpSocket::open("eth0", ia, Family::Ipv4, Mode::Unicast { src: v6 }).is_err());
        let err = VrrpSocket::open("nosuch0", 999, Family::Ipv4, Mode::Multicast)
            .err()
            .unwrap();
        assert!(err.to_string().contains("nosuch0"), "{err}");
    })
    .unwrap();
    assert_eq!(rx.join().unwrap(), vec![1, 2, 3]);
}

#[test]
fn v4_unicast_socket_gets_unicast_only() {
    let (_lab, a, b) = lab_ab("v4uc");
    let (ia, ib) = (a.ifindex().unwrap(), b.ifindex().unwrap());
    let (ready_tx, ready_rx) = mpsc::channel();
    let rx = b
        .spawn_async(move || async move {
            let uc = VrrpSocket::open("eth0", ib, Family::Ipv4, Mode::Unicast { src: B4.into() })
                .unwrap();
            let mc = VrrpSocket::open("eth0", ib, Family::Ipv4, Mode::Multicast).unwrap();
            ready_tx.send(()).unwrap();
            (recv_n(&uc, 1).await, recv_n(&mc, 1).await)
        })
        .unwrap();
    ready_rx.recv_timeout(WAIT).unwrap();
    a.block_on(|| async move {
        let s =
            VrrpSocket::open("eth0", ia, Family::Ipv4, Mode::Unicast { src: A4.into() }).unwrap();
        s.send(A4.into(), VRRP_GROUP_V4.into(), b"multicast")
            .await
            .unwrap();
        s.send(A4.into(), B4.into(), b"unicast").await.unwrap();
    })
    .unwrap();
    let ((uc, uc_extra), (mc, mc_extra)) = rx.join().unwrap();
    assert_eq!(uc.len(), 1);
    assert_eq!(uc[0].payload, b"unicast");
    assert_eq!(
        (uc[0].src, uc[0].dst, uc[0].ttl),
        (IpAddr::V4(A4), IpAddr::V4(B4), 255)
    );
    assert!(uc_extra.is_none(), "unicast socket got {uc_extra:?}");
    assert_eq!(mc.len(), 1);
    assert_eq!(mc[0].payload, b"multicast");
    assert!(mc_extra.is_none(), "multicast socket got {mc_extra:?}");
}

#[test]
fn v6_multicast_and_unicast_hop_limit_src_dst() {
    let (_lab, a, b) = lab_ab("v6");
    let (ia, ib) = (a.ifindex().unwrap(), b.ifindex().unwrap());
    let lla = a.wait_link_local(Duration::from_secs(10)).unwrap();
    let llb = b.wait_link_local(Duration::from_secs(10)).unwrap();
    let (ready_tx, ready_rx) = mpsc::channel();
    let rx = b
        .spawn_async(move || async move {
            let mc = VrrpSocket::open("eth0", ib, Family::Ipv6, Mode::Multicast).unwrap();
            let uc = VrrpSocket::open("eth0", ib, Family::Ipv6, Mode::Unicast { src: llb.into() })
                .unwrap();
            ready_tx.send(()).unwrap();
            (recv_n(&mc, 1).await, recv_n(&uc, 1).await)
        })
        .unwrap();
    ready_rx.recv_timeout(WAIT).unwrap();
    // A 12-byte VRRPv3-shaped payload; the kernel fills the checksum at offset 6.
    let payload: &[u8] = b"\x31\x01\x64\x01\x00\x64\x00\x00ABCD";
    let own = a
        .block_on(|| async move {
            let s = VrrpSocket::open("eth0", ia, Family::Ipv6, Mode::Multicast).unwrap();
            s.send(lla.into(), VRRP_GROUP_V6.into(), payload)
                .await
                .unwrap();
            s.send(lla.into(), llb.into(), payload).await.unwrap();
            timeout(QUIET, s.recv()).await.ok()
        })
        .unwrap();
    assert!(own.is_none(), "a received its own advert: {own:?}");
    let ((mc, mc_extra), (uc, uc_extra)) = rx.join().unwrap();
    assert_eq!(mc.len(), 1, "multicast socket");
    assert_eq!(
        (mc[0].src, mc[0].dst, mc[0].ttl),
        (IpAddr::V6(lla), IpAddr::V6(VRRP_GROUP_V6), 255)
    );
    assert_eq!(&mc[0].payload[..6], &payload[..6]);
    assert_ne!(&mc[0].payload[6..8], &[0, 0], "kernel filled the checksum");
    assert_eq!(&mc[0].payload[8..], &payload[8..]);
    assert!(mc_extra.is_none(), "multicast socket got {mc_extra:?}");
    assert_eq!(uc.len(), 1, "unicast socket");
    assert_eq!(
        (uc[0].src, uc[0].dst, uc[0].ttl),
        (IpAddr::V6(lla), IpAddr::V6(llb), 255)
    );
    assert!(uc_extra.is_none(), "unicast socket got {uc_extra:?}");
    let _: Ipv6Addr = lla;
}
