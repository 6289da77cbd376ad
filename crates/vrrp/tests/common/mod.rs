//! Helpers shared by the scripted state-machine tests: addresses, configs, instances driven to
//! a state, adverts on the wire, and what the actions say.
#![allow(dead_code)]

use std::net::IpAddr;
use std::time::{Duration, Instant};

use vrrp::{
    Action, Advert, Family, Input, Instance, InstanceConfig, Reason, RxPacket, State, V3Checksum,
    Version, Vip,
};

pub const ME: &str = "192.0.2.10";
pub const GROUP: &str = "224.0.0.18";

pub fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

pub fn vips() -> Vec<Vip> {
    vec!["192.0.2.100/24".parse().expect("vip")]
}

pub fn v2_cfg() -> InstanceConfig {
    InstanceConfig::new("VI_1", 23, Family::Ipv4, vips())
}

pub fn v3_cfg() -> InstanceConfig {
    let mut c = v2_cfg();
    c.version = Version::V3;
    c.advert_interval = Duration::from_millis(100);
    c
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Start an instance with source ME; returns it and the startup actions.
pub fn start(cfg: InstanceConfig, t0: Instant) -> (Instance, Vec<Action>) {
    let mut i = Instance::new(cfg).expect("valid config");
    assert!(i.handle(t0, Input::SourceAddress(Some(ip(ME)))).is_empty());
    let acts = i.handle(t0, Input::Startup);
    (i, acts)
}

/// An instance already MASTER (its down timer fired); returns it and the time it took over.
pub fn master(cfg: InstanceConfig, t0: Instant) -> (Instance, Instant) {
    let (mut i, _) = start(cfg, t0);
    let t = i.poll_timeout().expect("down timer");
    let _ = i.handle(t, Input::Timer);
    assert_eq!(i.state(), State::Master);
    (i, t)
}

/// A wire advert from `src` with the instance's VIPs.
pub fn advert(cfg: &InstanceConfig, priority: u8, interval: u16) -> Advert {
    let addrs = cfg.vips.iter().map(|v| v.addr).collect();
    match cfg.version {
        Version::V2 => Advert::v2(cfg.vrid, priority, interval as u8, cfg.auth_pass, addrs),
        Version::V3 => Advert::v3(cfg.vrid, priority, interval, addrs),
    }
}

pub fn bytes(a: &Advert, src: &str, dst: &str) -> Vec<u8> {
    a.encode(Some((ip(src), ip(dst))), V3Checksum::PseudoHeader)
        .expect("encode")
}

pub fn rx<'a>(src: &str, dst: &str, ttl: u8, payload: &'a [u8]) -> Input<'a> {
    Input::Packet(RxPacket {
        src: ip(src),
        dst: ip(dst),
        ttl,
        payload,
    })
}

/// Decoded priorities of the Send actions, with their destinations.
pub fn sent(acts: &[Action]) -> Vec<(IpAddr, u8)> {
    acts.iter()
        .filter_map(|a| match a {
            Action::Send { dst, payload, .. } => Some((*dst, payload[2])),
            _ => None,
        })
        .collect()
}

pub fn changed(from: State, to: State, reason: Reason) -> Action {
    Action::StateChanged { from, to, reason }
}
