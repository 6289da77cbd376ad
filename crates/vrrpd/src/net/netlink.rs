//! rtnetlink: link and address queries, idempotent VIP add/remove, the primary advert source.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures::TryStreamExt;
use rtnetlink::packet_route::address::{AddressAttribute, AddressFlags, AddressMessage, CacheInfo};
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use rtnetlink::{AddressMessageBuilder, Handle};
use tokio::task::JoinHandle;

use super::error::NetError;
use super::Family;

/// IFA flag bits (linux/if_addr.h), as found in [`AddrInfo::flags`].
pub mod ifa {
    /// Not the primary address of its subnet.
    pub const SECONDARY: u32 = 0x01;
    /// DAD failed.
    pub const DADFAILED: u32 = 0x08;
    /// DAD still running.
    pub const TENTATIVE: u32 = 0x40;
}

/// What we need to know about a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// Interface index.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// Hardware address, if the link has a 6-byte one.
    pub mac: Option<[u8; 6]>,
    /// `IFF_UP`: administratively up.
    pub admin_up: bool,
    /// `IFF_RUNNING`: operationally up (RFC 2863 up/unknown).
    pub oper_up: bool,
    /// `IFF_LOWER_UP`: carrier.
    pub carrier: bool,
    /// `IFF_NOARP`: do not send GARPs on it.
    pub noarp: bool,
    /// All `IFF_*` flags.
    pub flags: u32,
    /// MTU, if reported.
    pub mtu: Option<u32>,
}

impl LinkInfo {
    /// Usable for VRRP: admin up and running (keepalived's `IF_ISUP`).
    pub fn is_up(&self) -> bool {
        self.admin_up && self.oper_up
    }

    pub(crate) fn from_message(m: &LinkMessage) -> Self {
        let flags = m.header.flags;
        let mut info = LinkInfo {
            index: m.header.index,
            name: String::new(),
            mac: None,
            admin_up: flags.contains(LinkFlags::Up),
            oper_up: flags.contains(LinkFlags::Running),
            carrier: flags.contains(LinkFlags::LowerUp),
            noarp: flags.contains(LinkFlags::Noarp),
            flags: flags.bits(),
            mtu: None,
        };
        for a in &m.attributes {
            match a {
                LinkAttribute::IfName(n) => info.name = n.clone(),
                LinkAttribute::Address(mac) => info.mac = <[u8; 6]>::try_from(mac.as_slice()).ok(),
                LinkAttribute::Mtu(mtu) => info.mtu = Some(*mtu),
                _ => {}
            }
        }
        info
    }
}

/// One address on an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrInfo {
    /// Interface index.
    pub index: u32,
    /// The (local) address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix: u8,
    /// IPv4 label (`eth0`, `eth0:vip`).
    pub label: Option<String>,
    /// Scope (`RT_SCOPE_*`: 0 universe, 253 link, 254 host).
    pub scope: u8,
    /// `IFA_F_*` flags (see [`ifa`]).
    pub flags: u32,
}

impl AddrInfo {
    /// Secondary address of its subnet.
    pub fn secondary(&self) -> bool {
        self.flags & ifa::SECONDARY != 0
    }
    /// DAD still running (IPv6): not usable as a source yet.
    pub fn tentative(&self) -> bool {
        self.flags & ifa::TENTATIVE != 0
    }
    /// DAD failed (IPv6): never usable.
    pub fn dadfailed(&self) -> bool {
        self.flags & ifa::DADFAILED != 0
    }
    /// IPv6 link-local (fe80::/10).
    pub fn is_link_local(&self) -> bool {
        matches!(self.addr, IpAddr::V6(a) if (a.segments()[0] & 0xffc0) == 0xfe80)
    }

    pub(crate) fn from_message(m: &AddressMessage) -> Option<Self> {
        let mut local = None;
        let mut address = None;
        let mut label = None;
        let mut flags = u32::from(m.header.flags.bits());
        for a in &m.attributes {
            match a {
                AddressAttribute::Local(ip) => local = Some(*ip),
                AddressAttribute::Address(ip) => address = Some(*ip),
                AddressAttribute::Label(l) => label = Some(l.clone()),
                AddressAttribute::Flags(f) => flags = f.bits(),
                _ => {}
            }
        }
        Some(AddrInfo {
            index: m.header.index,
            addr: local.or(address)?,
            prefix: m.header.prefix_len,
            label,
            scope: u8::from(m.header.scope),
            flags,
        })
    }
}

/// A VIP to put on an interface. Build with [`VipSpec::new`] and adjust the public fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipSpec {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length (32/128 is keepalived's default for a bare address).
    pub prefix: u8,
    /// IPv4 label, e.g. `eth0:vip` (at most 15 bytes; keepalived `label`). Ignored for IPv6.
    pub label: Option<String>,
    /// `IFA_F_NODAD` (IPv6; default on, like keepalived).
    pub nodad: bool,
    /// `IFA_F_NOPREFIXROUTE`: no prefix route for the VIP's subnet.
    pub noprefixroute: bool,
    /// Preferred lifetime 0 (valid forever), so the kernel does not pick the VIP as a source
    /// address. Default on for IPv6 /128, like keepalived.
    pub deprecated: bool,
}

impl VipSpec {
    /// A VIP with keepalived's defaults: IPv6 gets `nodad`, IPv6 /128 is deprecated.
    pub fn new(addr: IpAddr, prefix: u8) -> Self {
        let v6 = addr.is_ipv6();
        VipSpec {
            addr,
            prefix,
            label: None,
            nodad: v6,
            noprefixroute: false,
            deprecated: v6 && prefix == 128,
        }
    }

    fn validate(&self) -> Result<(), NetError> {
        let bad = |why| {
            Err(NetError::InvalidVip {
                addr: self.addr,
                prefix: self.prefix,
                why,
            })
        };
        let max = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.prefix > max {
            return bad("prefix too long");
        }
        if self.addr.is_multicast() || self.addr.is_unspecified() {
            return bad("not a unicast address");
        }
        if let Some(l) = &self.label {
            if l.is_empty() || l.len() > 15 {
                return bad("label must be 1-15 bytes");
            }
        }
        Ok(())
    }

    fn message(&self, index: u32) -> AddressMessage {
        let mut m = address_message(index, self.addr, self.prefix);
        let mut flags = AddressFlags::empty();
        if self.addr.is_ipv6() && self.nodad {
            flags |= AddressFlags::Nodad;
        }
        if self.noprefixroute {
            flags |= AddressFlags::Noprefixroute;
        }
        if !flags.is_empty() {
            m.attributes.push(AddressAttribute::Flags(flags));
        }
        if let (Some(label), true) = (&self.label, self.addr.is_ipv4()) {
            m.attributes.push(AddressAttribute::Label(label.clone()));
        }
        if self.deprecated {
            let mut ci = CacheInfo::default();
            ci.ifa_preferred = 0;
            ci.ifa_valid = u32::MAX;
            m.attributes.push(AddressAttribute::CacheInfo(ci));
        }
        m
    }
}

fn address_message(index: u32, addr: IpAddr, prefix: u8) -> AddressMessage {
    match addr {
        IpAddr::V4(a) => AddressMessageBuilder::<Ipv4Addr>::new()
            .index(index)
            .address(a, prefix)
            .build(),
        IpAddr::V6(a) => AddressMessageBuilder::<Ipv6Addr>::new()
            .index(index)
            .address(a, prefix)
            .build(),
    }
}

/// The errno of a netlink error, positive.
pub(crate) fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => Some(-m.raw_code()),
        _ => None,
    }
}

/// An rtnetlink request handle with its connection task (aborted on drop). Must be created
/// inside a tokio runtime, in the network namespace to act on.
pub struct Netlink {
    handle: Handle,
    conn: JoinHandle<()>,
}

impl Drop for Netlink {
    fn drop(&mut self) {
        self.conn.abort();
    }
}

impl Netlink {
    /// Opens a NETLINK_ROUTE socket and spawns its connection task.
    pub async fn connect() -> Result<Self, NetError> {
        let (conn, handle, _) =
            rtnetlink::new_connection().map_err(|source| NetError::NetlinkSocket {
                op: "connect",
                source,
            })?;
        let conn = tokio::spawn(conn);
        Ok(Netlink { handle, conn })
    }

    /// The link called `name`, or `None` if there is none.
    pub async fn link(&self, name: &str) -> Result<Option<LinkInfo>, NetError> {
        let r = self
            .handle
            .link()
            .get()
            .match_name(name.to_string())
            .execute()
            .try_next()
            .await;
        Self::link_result(r, format!("get link {name}"), 0)
    }

    /// All links.
    pub async fn links(&self) -> Result<Vec<LinkInfo>, NetError> {
        let msgs: Vec<LinkMessage> = self
            .handle
            .link()
            .get()
            .execute()
            .try_collect()
            .await
            .map_err(|source| NetError::Netlink {
                op: "dump links".into(),
                index: 0,
                source,
            })?;
        Ok(msgs.iter().map(LinkInfo::from_message).collect())
    }

    fn link_result(
        r: Result<Option<LinkMessage>, rtnetlink::Error>,
        op: String,
        index: u32,
    ) -> Result<Option<LinkInfo>, NetError> {
        match r {
            Ok(m) => Ok(m.as_ref().map(LinkInfo::from_message)),
            Err(e) if errno(&e) == Some(libc::ENODEV) => Ok(None),
            Err(source) => Err(NetError::Netlink { op, index, source }),
        }
    }

    /// The addresses of interface `index` (both families, kernel order: primary first).
    pub async fn addresses(&self, index: u32) -> Result<Vec<AddrInfo>, NetError> {
        let msgs: Vec<AddressMessage> = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .execute()
            .try_collect()
            .await
            .map_err(|source| NetError::Netlink {
                op: "dump addresses".into(),
                index,
                source,
            })?;
        Ok(msgs.iter().filter_map(AddrInfo::from_message).collect())
    }

    /// Adds a VIP; idempotent (`NLM_F_REPLACE`, and EEXIST is success).
    pub async fn add_vip(&self, index: u32, vip: &VipSpec) -> Result<(), NetError> {
        vip.validate()?;
        let mut req = self
            .handle
            .address()
            .add(index, vip.addr, vip.prefix)
            .replace();
        *req.message_mut() = vip.message(index);
        match req.execute().await {
            Ok(()) => Ok(()),
            Err(e) if errno(&e) == Some(libc::EEXIST) => Ok(()),
            Err(source) => Err(NetError::Netlink {
                op: format!("add address {}/{}", vip.addr, vip.prefix),
                index,
                source,
            }),
        }
    }

    /// Removes a VIP; idempotent (absent address or interface is success).
    pub async fn del_vip(&self, index: u32, addr: IpAddr, prefix: u8) -> Result<(), NetError> {
        match self
            .handle
            .address()
            .del(address_message(index, addr, prefix))
            .execute()
            .await
        {
            Ok(()) => Ok(()),
            Err(e)
                if matches!(
                    errno(&e),
                    Some(libc::EADDRNOTAVAIL | libc::ENOENT | libc::ENODEV | libc::ESRCH)
                ) =>
            {
                Ok(())
            }
            Err(source) => Err(NetError::Netlink {
                op: format!("delete address {addr}/{prefix}"),
                index,
                source,
            }),
        }
    }

    /// The address to source adverts from on interface `index`: IPv4, the first primary
    /// (non-secondary) address that is not in `exclude` (the VIPs), else the first non-excluded
    /// one; IPv6, the first link-local that is neither tentative nor DAD-failed. `None` if there
    /// is none yet (keepalived: "No address yet").
    pub async fn primary_source(
        &self,
        index: u32,
        family: Family,
        exclude: &[IpAddr],
    ) -> Result<Option<IpAddr>, NetError> {
        let addrs = self.addresses(index).await?;
        Ok(pick_source(&addrs, family, exclude))
    }
}

/// The pure choice behind [`Netlink::primary_source`].
pub(crate) fn pick_source(
    addrs: &[AddrInfo],
    family: Family,
    exclude: &[IpAddr],
) -> Option<IpAddr> {
    let usable = |a: &&AddrInfo| Family::of(&a.addr) == family && !exclude.contains(&a.addr);
    match family {
        Family::Ipv4 => addrs
            .iter()
            .filter(usable)
            .find(|a| !a.secondary())
            .or_else(|| addrs.iter().find(usable))
            .map(|a| a.addr),
        Family::Ipv6 => addrs
            .iter()
            .filter(usable)
            .find(|a| a.is_link_local() && !a.tentative() && !a.dadfailed())
            .map(|a| a.addr),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(addr: &str, prefix: u8, flags: u32) -> AddrInfo {
        AddrInfo {
            index: 2,
            addr: addr.parse().unwrap(),
            prefix,
            label: None,
            scope: 0,
            flags,
        }
    }

    #[test]
    fn source_never_a_vip_and_not_tentative() {
        let addrs = [
            a("192.0.2.100", 24, 0),
            a("192.0.2.1", 24, ifa::SECONDARY),
            a("fe80::1", 64, ifa::TENTATIVE),
            a("fe80::2", 64, 0),
            a("2001:db8::1", 64, 0),
        ];
        let vip: IpAddr = "192.0.2.100".parse().unwrap();
        assert_eq!(pick_source(&addrs, Family::Ipv4, &[]), Some(vip));
        assert_eq!(
            pick_source(&addrs, Family::Ipv4, &[vip]),
            Some("192.0.2.1".parse().unwrap())
        );
        assert_eq!(
            pick_source(&addrs, Family::Ipv6, &[]),
            Some("fe80::2".parse().unwrap())
        );
        assert_eq!(pick_source(&addrs[..3], Family::Ipv6, &[]), None);
        assert_eq!(pick_source(&[], Family::Ipv4, &[]), None);
    }

    #[test]
    fn vip_message_carries_flags_label_and_lifetimes() {
        let mut v = VipSpec::new("2001:db8::100".parse().unwrap(), 128);
        assert!(v.nodad && v.deprecated);
        v.noprefixroute = true;
        let m = v.message(7);
        assert_eq!(m.header.index, 7);
        assert_eq!(m.header.prefix_len, 128);
        assert!(m.attributes.contains(&AddressAttribute::Flags(
            AddressFlags::Nodad | AddressFlags::Noprefixroute
        )));
        assert!(m.attributes.iter().any(|a| matches!(a, AddressAttribute::CacheInfo(c) if c.ifa_preferred == 0 && c.ifa_valid == u32::MAX)));

        let mut v4 = VipSpec::new("192.0.2.100".parse().unwrap(), 32);
        assert!(!v4.nodad && !v4.deprecated);
        v4.label = Some("eth0:vip".into());
        let m = v4.message(7);
        assert!(m
            .attributes
            .contains(&AddressAttribute::Label("eth0:vip".into())));
        assert!(!m.attributes.iter().any(|a| matches!(
            a,
            AddressAttribute::Flags(_) | AddressAttribute::CacheInfo(_)
        )));

        assert!(VipSpec::new("192.0.2.1".parse().unwrap(), 33)
            .validate()
            .is_err());
        assert!(VipSpec::new("224.0.0.18".parse().unwrap(), 32)
            .validate()
            .is_err());
        let mut long = VipSpec::new("192.0.2.1".parse().unwrap(), 32);
        long.label = Some("a-very-long-label-x".into());
        assert!(long.validate().is_err());
    }
}
