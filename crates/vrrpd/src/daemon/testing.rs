//! Test helpers shared by the daemon's unit tests.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use super::instance::Running;

/// A VRRPv3 instance at `interval` with source 192.0.2.1, started (BACKUP) at the returned
/// instant.
pub(super) fn v3_backup(interval: Duration) -> (vrrp::Instance, Instant) {
    let mut cfg = vrrp::InstanceConfig::new(
        "VI_1",
        1,
        vrrp::Family::Ipv4,
        vec!["192.0.2.100/24".parse().unwrap()],
    );
    cfg.version = vrrp::Version::V3;
    cfg.advert_interval = interval;
    let mut i = vrrp::Instance::new(cfg).unwrap();
    let t0 = Instant::now();
    let src = Some("192.0.2.1".parse().unwrap());
    let _ = i.handle(t0, vrrp::Input::SourceAddress(src));
    let _ = i.handle(t0, vrrp::Input::Startup);
    (i, t0)
}

/// A running instance `name` on VRID `vrid` (veth0, one VIP, nothing started).
pub(super) fn running(name: &str, vrid: u8) -> Running {
    let vips = vec![vrrp::Vip::host("192.0.2.1".parse().unwrap())];
    let core = vrrp::InstanceConfig::new(name, vrid, vrrp::Family::Ipv4, vips);
    let spec = crate::spec::InstanceSpec {
        core,
        interface: "veth0".into(),
        vips: Vec::new(),
        excluded: Vec::new(),
        source: None,
        track_primary: true,
        track_sources: Vec::new(),
        tracked_checks: Vec::new(),
    };
    Running::new(spec).unwrap()
}
