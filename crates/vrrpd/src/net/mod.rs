//! Linux IO edge: raw VRRP sockets, rtnetlink, GARP and unsolicited NA. No protocol logic (that
//! is the sans-IO `vrrp` crate). Everything here acts on the network namespace of the thread that
//! creates it, and the async parts must be created inside a tokio runtime.
//!
//! # API
//!
//! * [`VrrpSocket`] — raw IP protocol 112, one per (interface, [`Family`], [`Mode`]):
//!   - `VrrpSocket::open(ifname, ifindex, family, mode) -> Result<VrrpSocket, NetError>`
//!     with [`Mode::Multicast`] (joined to 224.0.0.18 / ff02::12, receives multicast only) or
//!     [`Mode::Unicast { src }`](Mode::Unicast) (bound to `src`, receives unicast to it only);
//!   - `async recv(&self) -> Result<Received, NetError>`: [`Received`] `{ src, dst, ttl, payload }`,
//!     payload = the VRRP message only; malformed IP layers are dropped and counted
//!     (`malformed_count()`); `Received::as_rx()` gives the core's `vrrp::RxPacket`;
//!   - `async send(&self, src, dst, payload) -> Result<(), NetError>`: TTL/hop limit 255,
//!     TOS/traffic class 0xc0; the caller supplies the complete VRRP message (IPv4 checksum
//!     included; the kernel fills the IPv6 one).
//!   - Own adverts are not looped back; several sockets on one interface each get every advert
//!     (demultiplexing by VRID is the core's job).
//! * [`Announcer`] — AF_PACKET, send-only: `Announcer::open(ifindex)`, `garp(mac, vip4)`,
//!   `unsolicited_na(mac, vip6, router)`. Frames come from the pure builders in [`frames`].
//! * [`Netlink`] — `Netlink::connect().await`, `link(name)`, `links()`,
//!   `addresses(index)` → [`AddrInfo`], `add_vip(index, &VipSpec)` / `del_vip(index, addr,
//!   prefix)` (both idempotent), `primary_source(index, family, exclude_vips)`, and
//!   `monitor().await` → [`Monitor`], a `Stream` of [`NetEvent`]. [`LinkInfo`] carries index, name,
//!   MAC, admin/oper/carrier state and NOARP.
//! * [`NetError`] — typed errors naming the failing operation and the interface.

mod announce;
mod error;
pub mod frames;
mod monitor;
mod netlink;
mod socket;
mod sockopt;

pub use announce::Announcer;
pub use error::NetError;
pub use monitor::{Monitor, NetEvent};
pub use netlink::{ifa, AddrInfo, LinkInfo, Netlink, VipSpec};
pub use socket::{Mode, Received, VrrpSocket, VRRP_GROUP_V4, VRRP_GROUP_V6};
/// The address family, shared with the core.
pub use vrrp::Family;
