//! Host network facts read through rtnetlink (read-only): interfaces, their addresses,
//! and the interfaces of the default routes.
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures::TryStreamExt;
use rtnetlink::packet_route::address::{AddressAttribute, AddressHeaderFlags, AddressScope};
use rtnetlink::packet_route::link::LinkAttribute;
use rtnetlink::packet_route::route::{RouteAttribute, RouteType};
use rtnetlink::{Handle, RouteMessageBuilder};

/// Errors reading network facts.
#[derive(Debug, thiserror::Error)]
pub enum NetInfoError {
    /// The netlink socket or runtime could not be created.
    #[error("cannot open rtnetlink: {0}")]
    Open(std::io::Error),
    /// A dump request failed.
    #[error("rtnetlink {what} dump failed: {source}")]
    Dump {
        /// links, addresses or routes
        what: &'static str,
        /// The netlink error.
        source: rtnetlink::Error,
    },
}

/// One IPv6 address with whether it is link-local.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct V6Addr {
    /// The address.
    pub addr: Ipv6Addr,
    /// Scope link (fe80::/10).
    pub link_local: bool,
}

/// Addresses of one interface, primary addresses first, in kernel order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkFacts {
    /// IPv4 addresses; primaries before secondaries.
    pub v4: Vec<Ipv4Addr>,
    /// IPv6 addresses.
    pub v6: Vec<V6Addr>,
}

/// Everything the charm needs to know about the host network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostFacts {
    /// Interface name → addresses.
    pub links: BTreeMap<String, LinkFacts>,
    /// Interface of the IPv4 default route (lowest metric), if any.
    pub default_v4: Option<String>,
    /// Interface of the IPv6 default route (lowest metric), if any.
    pub default_v6: Option<String>,
}

/// Reads the facts of the network namespace this process runs in.
pub fn read_host_facts() -> Result<HostFacts, NetInfoError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(NetInfoError::Open)?;
    rt.block_on(async {
        let (conn, handle, _) = rtnetlink::new_connection().map_err(NetInfoError::Open)?;
        let task = tokio::spawn(conn);
        let res = collect(&handle).await;
        task.abort();
        res
    })
}

async fn collect(handle: &Handle) -> Result<HostFacts, NetInfoError> {
    let mut names: BTreeMap<u32, String> = BTreeMap::new();
    let mut links = handle.link().get().execute();
    while let Some(msg) = links
        .try_next()
        .await
        .map_err(|source| NetInfoError::Dump {
            what: "link",
            source,
        })?
    {
        for attr in &msg.attributes {
            if let LinkAttribute::IfName(name) = attr {
                names.insert(msg.header.index, name.clone());
            }
        }
    }
    let mut facts = HostFacts::default();
    for name in names.values() {
        facts.links.insert(name.clone(), LinkFacts::default());
    }
    let mut secondaries: BTreeMap<u32, Vec<Ipv4Addr>> = BTreeMap::new();
    let mut addrs = handle.address().get().execute();
    while let Some(msg) = addrs
        .try_next()
        .await
        .map_err(|source| NetInfoError::Dump {
            what: "address",
            source,
        })?
    {
        let Some(name) = names.get(&msg.header.index) else {
            continue;
        };
        let local = msg.attributes.iter().find_map(|a| match a {
            AddressAttribute::Local(ip) => Some(*ip),
            _ => None,
        });
        let address = msg.attributes.iter().find_map(|a| match a {
            AddressAttribute::Address(ip) => Some(*ip),
            _ => None,
        });
        let Some(entry) = facts.links.get_mut(name) else {
            continue;
        };
        match local.or(address) {
            Some(IpAddr::V4(a)) => {
                if msg.header.flags.contains(AddressHeaderFlags::Secondary) {
                    secondaries.entry(msg.header.index).or_default().push(a);
                } else {
                    entry.v4.push(a);
                }
            }
            Some(IpAddr::V6(a)) => entry.v6.push(V6Addr {
                addr: a,
                link_local: msg.header.scope == AddressScope::Link,
            }),
            None => {}
        }
    }
    for (idx, extra) in secondaries {
        if let Some(entry) = names.get(&idx).and_then(|n| facts.links.get_mut(n)) {
            entry.v4.extend(extra);
        }
    }
    facts.default_v4 = default_route(
        handle,
        RouteMessageBuilder::<Ipv4Addr>::new().build(),
        &names,
    )
    .await?;
    facts.default_v6 = default_route(
        handle,
        RouteMessageBuilder::<Ipv6Addr>::new().build(),
        &names,
    )
    .await?;
    Ok(facts)
}

async fn default_route(
    handle: &Handle,
    msg: rtnetlink::packet_route::route::RouteMessage,
    names: &BTreeMap<u32, String>,
) -> Result<Option<String>, NetInfoError> {
    let mut best: Option<(u32, String)> = None;
    let mut routes = handle.route().get(msg).execute();
    while let Some(r) = routes
        .try_next()
        .await
        .map_err(|source| NetInfoError::Dump {
            what: "route",
            source,
        })?
    {
        if r.header.destination_prefix_length != 0 || r.header.kind != RouteType::Unicast {
            continue;
        }
        let table = r.attributes.iter().find_map(|a| match a {
            RouteAttribute::Table(t) => Some(*t),
            _ => None,
        });
        if table.unwrap_or(u32::from(r.header.table)) != 254 {
            continue; // main table only
        }
        let oif = r.attributes.iter().find_map(|a| match a {
            RouteAttribute::Oif(i) => Some(*i),
            _ => None,
        });
        let metric = r
            .attributes
            .iter()
            .find_map(|a| match a {
                RouteAttribute::Priority(p) => Some(*p),
                _ => None,
            })
            .unwrap_or(0);
        if let Some(name) = oif.and_then(|i| names.get(&i)) {
            if best.as_ref().is_none_or(|(m, _)| metric < *m) {
                best = Some((metric, name.clone()));
            }
        }
    }
    Ok(best.map(|(_, n)| n))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads (never changes) this namespace; `lo` with 127.0.0.1 exists in every namespace.
    #[test]
    fn reads_loopback() {
        let facts = read_host_facts().unwrap();
        let lo = facts.links.get("lo").expect("lo is listed");
        assert!(lo.v4.contains(&Ipv4Addr::LOCALHOST), "{lo:?}");
        if let Some(d) = &facts.default_v4 {
            assert!(facts.links.contains_key(d));
        }
    }
}
