//! The typed error of the IO edge: every variant names the operation and the interface.

use std::net::IpAddr;

/// An error of the Linux IO edge.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A socket call failed (`op` is e.g. `"setsockopt(IP_ADD_MEMBERSHIP)"`, `"sendto"`).
    #[error("{op} on {iface}: {source}")]
    Socket {
        /// The failing operation.
        op: &'static str,
        /// The interface (name, or `ifindex N`).
        iface: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// An address of the wrong family (or a multicast source) was given.
    #[error("{op} on {iface}: address {addr} does not fit this socket ({why})")]
    BadAddress {
        /// The operation.
        op: &'static str,
        /// The interface.
        iface: String,
        /// The offending address.
        addr: IpAddr,
        /// Why it does not fit.
        why: &'static str,
    },
    /// A payload too large for one IP packet.
    #[error("send on {iface}: payload of {len} bytes is too large")]
    TooLarge {
        /// The interface.
        iface: String,
        /// Payload length.
        len: usize,
    },
    /// A netlink request failed.
    #[error("netlink {op} (ifindex {index}): {source}")]
    Netlink {
        /// The operation (`"add address 192.0.2.100/32"`…).
        op: String,
        /// Interface index (0 if none).
        index: u32,
        /// The rtnetlink error.
        source: rtnetlink::Error,
    },
    /// Opening a netlink socket failed.
    #[error("netlink {op}: {source}")]
    NetlinkSocket {
        /// The operation.
        op: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// An invalid VIP specification.
    #[error("invalid VIP {addr}/{prefix}: {why}")]
    InvalidVip {
        /// The address.
        addr: IpAddr,
        /// The prefix length.
        prefix: u8,
        /// What is wrong.
        why: &'static str,
    },
}

impl NetError {
    pub(crate) fn socket(op: &'static str, iface: &str, source: impl Into<std::io::Error>) -> Self {
        NetError::Socket {
            op,
            iface: iface.to_string(),
            source: source.into(),
        }
    }

    /// The OS errno behind this error, if any.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            NetError::Socket { source, .. } | NetError::NetlinkSocket { source, .. } => {
                source.raw_os_error()
            }
            NetError::Netlink {
                source: rtnetlink::Error::NetlinkError(m),
                ..
            } => Some(-m.raw_code()),
            _ => None,
        }
    }
}
