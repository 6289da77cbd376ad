//! The adverts a master sends, encoded once and re-used while nothing that goes into them
//! changed (priority, interval, source address; the configuration clears the cache): a master's
//! periodic advert then costs no encoding and no allocation, only a reference count.

use std::net::IpAddr;
use std::sync::Arc;

use crate::config::{InstanceConfig, Version};
use crate::packet::{Advert, AUTH_NONE, AUTH_PASS};

/// What an advert depends on besides the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    priority: u8,
    /// The advertised interval, wire units (centiseconds in v3, seconds in v2).
    interval: u16,
    src: IpAddr,
}

/// The encoded adverts for one [`Key`]: (destination, payload), in sending order.
#[derive(Debug, Clone, Default)]
pub(crate) struct AdvertCache {
    key: Option<Key>,
    sends: Vec<(IpAddr, Arc<[u8]>)>,
}

impl AdvertCache {
    /// Forgets the adverts (the configuration changed).
    pub fn clear(&mut self) {
        self.key = None;
        self.sends.clear();
    }

    /// The adverts `cfg` sends from `src` with `priority` and `interval` (wire units):
    /// (destination, payload), in order.
    pub fn get(
        &mut self,
        cfg: &InstanceConfig,
        priority: u8,
        interval: u16,
        src: IpAddr,
    ) -> &[(IpAddr, Arc<[u8]>)] {
        let key = Key {
            priority,
            interval,
            src,
        };
        if self.key != Some(key) {
            self.sends = encode(cfg, key);
            self.key = Some(key);
        }
        &self.sends
    }
}

/// One advert per destination: the multicast group, or each unicast peer (keepalived
/// `unicast_peer`). The v3/IPv4 pseudo-header uses that destination
/// (docs/keepalived-interop.md §1).
fn encode(cfg: &InstanceConfig, key: Key) -> Vec<(IpAddr, Arc<[u8]>)> {
    let advert = Advert {
        version: cfg.version,
        vrid: cfg.vrid,
        priority: key.priority,
        interval: key.interval,
        auth_type: if cfg.auth_pass.is_some() {
            AUTH_PASS
        } else {
            AUTH_NONE
        },
        auth_data: cfg.auth_pass.unwrap_or([0; 8]),
        addrs: cfg.vips.iter().map(|v| v.addr).collect(),
    };
    let multicast = [cfg.multicast_dst()];
    let dsts: &[IpAddr] = if cfg.unicast_peers.is_empty() {
        &multicast
    } else {
        &cfg.unicast_peers
    };
    // RFC 5798 §8.4.2: in v2 interoperation mode a master "MUST send both types at the
    // configured rate"; the v2 twin carries whole seconds (what v2 backups expect).
    let v2_twin = cfg.v2_compat.then(|| Advert {
        version: Version::V2,
        interval: cfg.v2_interval_wire(),
        auth_type: AUTH_NONE,
        auth_data: [0; 8],
        ..advert.clone()
    });
    let mut sends = Vec::new();
    for &dst in dsts {
        for a in std::iter::once(&advert).chain(v2_twin.as_ref()) {
            // Cannot fail for a validated config and a same-family source.
            if let Ok(payload) = a.encode(Some((key.src, dst)), cfg.v3_checksum) {
                sends.push((dst, Arc::from(payload)));
            }
        }
    }
    sends
}
