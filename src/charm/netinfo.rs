//! Host network facts read through rtnetlink (read-only): interfaces, their addresses,
//! and the interfaces of the default routes.
//!
//! One blocking `NETLINK_ROUTE` socket and three dump requests (links, addresses, routes of
//! each family), parsed here: a hook needs no async runtime for four request/response rounds.
//! Juju's `network-get` is not the source: it describes the endpoint bindings of the model,
//! not every interface of the namespace the worker runs in nor its default routes, which are
//! what `network_interface` is validated against and what an empty one resolves to.
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// Errors reading network facts.
#[derive(Debug, thiserror::Error)]
pub enum NetInfoError {
    /// The netlink socket could not be created.
    #[error("cannot open rtnetlink: {0}")]
    Open(std::io::Error),
    /// A dump request failed.
    #[error("rtnetlink {what} dump failed: {source}")]
    Dump {
        /// links, addresses or routes
        what: &'static str,
        /// The OS or netlink error.
        source: std::io::Error,
    },
    /// The kernel answered something that is not a well-formed dump.
    #[error("rtnetlink {what} dump malformed: {detail}")]
    Malformed {
        /// links, addresses or routes
        what: &'static str,
        /// What was wrong.
        detail: String,
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

/// How long one dump may take before the hook gives up on it.
const RECV_TIMEOUT: Duration = Duration::from_secs(5);
/// Whole dumps retried when the kernel flags one as inconsistent (NLM_F_DUMP_INTR).
const DUMP_ATTEMPTS: usize = 3;
/// Upper bound on messages in one dump (a bounded loop even against a misbehaving peer).
const MAX_MESSAGES: usize = 1 << 20;

// Netlink and rtnetlink constants (linux/netlink.h, linux/rtnetlink.h, linux/if_addr.h).
const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const NLM_F_DUMP_INTR: u16 = 0x10;
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const RTM_NEWROUTE: u16 = 24;
const RTM_GETROUTE: u16 = 26;
const IFLA_IFNAME: u16 = 3;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_F_SECONDARY: u8 = 0x01;
const RT_SCOPE_LINK: u8 = 253;
const RTA_OIF: u16 = 4;
const RTA_PRIORITY: u16 = 6;
const RTA_TABLE: u16 = 15;
const RTN_UNICAST: u8 = 1;
const RT_TABLE_MAIN: u32 = 254;
/// Size of `struct ifinfomsg`, `struct ifaddrmsg`, `struct rtmsg`.
const IFINFOMSG_LEN: usize = 16;
const IFADDRMSG_LEN: usize = 8;
const RTMSG_LEN: usize = 12;

/// Reads the facts of the network namespace this process runs in.
pub fn read_host_facts() -> Result<HostFacts, NetInfoError> {
    let sock = Netlink::open()?;
    for _ in 0..DUMP_ATTEMPTS {
        if let Ok(r) = collect(&sock) {
            return r;
        }
    }
    Err(NetInfoError::Malformed {
        what: "link, address or route",
        detail: format!("dump interrupted by changes {DUMP_ATTEMPTS} times in a row"),
    })
}

/// A dump the kernel marked inconsistent (the tables changed while it ran): start over.
struct Interrupted;

fn collect(sock: &Netlink) -> Result<Result<HostFacts, NetInfoError>, Interrupted> {
    let names = match link_names(sock)? {
        Ok(names) => names,
        Err(e) => return Ok(Err(e)),
    };
    let mut facts = HostFacts::default();
    for name in names.values() {
        facts.links.insert(name.clone(), LinkFacts::default());
    }
    if let Err(e) = read_addresses(sock, &names, &mut facts.links)? {
        return Ok(Err(e));
    }
    for family in [libc::AF_INET, libc::AF_INET6] {
        match default_route(sock, family, &names)? {
            Ok(best) if family == libc::AF_INET => facts.default_v4 = best,
            Ok(best) => facts.default_v6 = best,
            Err(e) => return Ok(Err(e)),
        }
    }
    Ok(Ok(facts))
}

/// Interface index → name, from a link dump.
fn link_names(sock: &Netlink) -> Result<Result<BTreeMap<u32, String>, NetInfoError>, Interrupted> {
    let mut names: BTreeMap<u32, String> = BTreeMap::new();
    let links = sock.dump(RTM_GETLINK, &[0u8; IFINFOMSG_LEN], "link", |ty, payload| {
        if ty != RTM_NEWLINK || payload.len() < IFINFOMSG_LEN {
            return;
        }
        let index = u32::from_ne_bytes(word(payload, 4));
        for (kind, value) in attrs(&payload[IFINFOMSG_LEN..]) {
            if kind == IFLA_IFNAME {
                let raw = value.split(|b| *b == 0).next().unwrap_or_default();
                names.insert(index, String::from_utf8_lossy(raw).into_owned());
            }
        }
    })?;
    Ok(links.map(|()| names))
}

/// Adds every address of an address dump to its interface in `links` (interfaces named by
/// `names`), each interface's secondary IPv4 addresses after its primaries.
fn read_addresses(
    sock: &Netlink,
    names: &BTreeMap<u32, String>,
    links: &mut BTreeMap<String, LinkFacts>,
) -> Result<Result<(), NetInfoError>, Interrupted> {
    let mut secondaries: BTreeMap<u32, Vec<Ipv4Addr>> = BTreeMap::new();
    let addrs = sock.dump(
        RTM_GETADDR,
        &[0u8; IFADDRMSG_LEN],
        "address",
        |ty, payload| {
            if ty != RTM_NEWADDR || payload.len() < IFADDRMSG_LEN {
                return;
            }
            add_address(payload, names, links, &mut secondaries);
        },
    )?;
    if let Err(e) = addrs {
        return Ok(Err(e));
    }
    for (idx, extra) in secondaries {
        if let Some(entry) = names.get(&idx).and_then(|n| links.get_mut(n)) {
            entry.v4.extend(extra);
        }
    }
    Ok(Ok(()))
}

/// Adds the address of one `RTM_NEWADDR` message (`payload`: at least a `struct ifaddrmsg`)
/// to its interface, a secondary IPv4 address to `secondaries` instead.
fn add_address(
    payload: &[u8],
    names: &BTreeMap<u32, String>,
    links: &mut BTreeMap<String, LinkFacts>,
    secondaries: &mut BTreeMap<u32, Vec<Ipv4Addr>>,
) {
    let (family, flags, scope) = (payload[0], payload[2], payload[3]);
    let index = u32::from_ne_bytes(word(payload, 4));
    let Some(entry) = names.get(&index).and_then(|n| links.get_mut(n)) else {
        return;
    };
    let (mut local, mut address) = (None, None);
    for (kind, value) in attrs(&payload[IFADDRMSG_LEN..]) {
        match kind {
            IFA_LOCAL => local = Some(value),
            IFA_ADDRESS => address = Some(value),
            _ => {}
        }
    }
    let Some(raw) = local.or(address) else {
        return;
    };
    match (i32::from(family), raw.len()) {
        (libc::AF_INET, 4) => {
            let a = Ipv4Addr::from(word(raw, 0));
            if flags & IFA_F_SECONDARY != 0 {
                secondaries.entry(index).or_default().push(a);
            } else {
                entry.v4.push(a);
            }
        }
        (libc::AF_INET6, 16) => {
            let mut b = [0u8; 16];
            b.copy_from_slice(raw);
            entry.v6.push(V6Addr {
                addr: Ipv6Addr::from(b),
                link_local: scope == RT_SCOPE_LINK,
            });
        }
        _ => {}
    }
}

/// The interface of the main table's default unicast route with the lowest metric.
fn default_route(
    sock: &Netlink,
    family: i32,
    names: &BTreeMap<u32, String>,
) -> Result<Result<Option<String>, NetInfoError>, Interrupted> {
    let mut best: Option<(u32, String)> = None;
    let mut req = [0u8; RTMSG_LEN];
    req[0] = family as u8;
    let res = sock.dump(RTM_GETROUTE, &req, "route", |ty, payload| {
        if ty != RTM_NEWROUTE || payload.len() < RTMSG_LEN {
            return;
        }
        let (dst_len, header_table, kind) = (payload[1], payload[4], payload[7]);
        if i32::from(payload[0]) != family || dst_len != 0 || kind != RTN_UNICAST {
            return;
        }
        let (mut table, mut oif, mut metric) = (u32::from(header_table), None, 0);
        for (k, v) in attrs(&payload[RTMSG_LEN..]) {
            let value = (v.len() == 4).then(|| u32::from_ne_bytes(word(v, 0)));
            match (k, value) {
                (RTA_TABLE, Some(t)) => table = t,
                (RTA_OIF, Some(i)) => oif = Some(i),
                (RTA_PRIORITY, Some(p)) => metric = p,
                _ => {}
            }
        }
        if table != RT_TABLE_MAIN {
            return;
        }
        if let Some(name) = oif.and_then(|i| names.get(&i)) {
            if best.as_ref().is_none_or(|(m, _)| metric < *m) {
                best = Some((metric, name.clone()));
            }
        }
    })?;
    Ok(res.map(|()| best.map(|(_, n)| n)))
}

/// Four bytes at `at` (callers checked the length).
fn word(b: &[u8], at: usize) -> [u8; 4] {
    let mut w = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        w.copy_from_slice(s);
    }
    w
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// The route attributes (`struct rtattr` TLVs) in `b`; stops at the first malformed one.
fn attrs(mut b: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if b.len() < 4 {
            return None;
        }
        let len = usize::from(u16::from_ne_bytes([b[0], b[1]]));
        let kind = u16::from_ne_bytes([b[2], b[3]]) & 0x3fff; // without NLA_F_NESTED/BYTEORDER
        if len < 4 || len > b.len() {
            return None;
        }
        let value = &b[4..len];
        b = b.get(align4(len)..).unwrap_or_default();
        Some((kind, value))
    })
}

/// A blocking `NETLINK_ROUTE` socket.
struct Netlink {
    fd: OwnedFd,
    seq: std::cell::Cell<u32>,
}

impl Netlink {
    // The socket(2)/setsockopt(2) calls of the dispatcher's one netlink socket (std has no
    // netlink; nix is not linked into the dispatcher to keep it small).
    #[allow(unsafe_code)]
    fn open() -> Result<Self, NetInfoError> {
        // SAFETY: plain socket(2); the result is checked before it is owned.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if fd < 0 {
            return Err(NetInfoError::Open(std::io::Error::last_os_error()));
        }
        // SAFETY: `fd` is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let tv = libc::timeval {
            tv_sec: RECV_TIMEOUT.as_secs() as _,
            tv_usec: 0,
        };
        // SAFETY: setsockopt with a valid timeval of the size passed.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(NetInfoError::Open(std::io::Error::last_os_error()));
        }
        Ok(Self {
            fd,
            seq: std::cell::Cell::new(1),
        })
    }

    /// Sends a dump request of `kind` with header `req` and feeds every answer's
    /// (type, payload) to `each` until NLMSG_DONE. The outer error means "start over"
    /// (`each` may then have seen part of an inconsistent dump: callers start from scratch).
    fn dump(
        &self,
        kind: u16,
        req: &[u8],
        what: &'static str,
        mut each: impl FnMut(u16, &[u8]),
    ) -> Result<Result<(), NetInfoError>, Interrupted> {
        let seq = self.seq.get();
        self.seq.set(seq.wrapping_add(1));
        let mut msg = Vec::with_capacity(NLMSG_HDRLEN + req.len());
        msg.extend_from_slice(&((NLMSG_HDRLEN + req.len()) as u32).to_ne_bytes());
        msg.extend_from_slice(&kind.to_ne_bytes());
        msg.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
        msg.extend_from_slice(&seq.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend_from_slice(req);
        let dump_err = |source| Ok(Err(NetInfoError::Dump { what, source }));
        let malformed = |detail: String| Ok(Err(NetInfoError::Malformed { what, detail }));
        if let Err(e) = self.send_to_kernel(&msg) {
            return dump_err(e);
        }
        let mut buf = vec![0u8; 64 * 1024];
        let mut progress = DumpProgress {
            seq,
            what,
            seen: 0,
            interrupted: false,
        };
        loop {
            let n = match self.recv(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return dump_err(e),
            };
            if n > buf.len() {
                return malformed(format!("a {n}-byte datagram exceeds the buffer"));
            }
            if let Some(end) = progress.datagram(&buf[..n], &mut each) {
                return end;
            }
        }
    }

    /// Sends `msg` to the kernel.
    // sendto(2) on that socket, with a buffer of the length passed.
    #[allow(unsafe_code)]
    fn send_to_kernel(&self, msg: &[u8]) -> std::io::Result<()> {
        // SAFETY: a zeroed sockaddr_nl is valid; the kernel is pid 0.
        let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: sendto with a buffer and address of the sizes passed.
        let sent = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                msg.as_ptr().cast(),
                msg.len(),
                0,
                (&kernel as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if sent < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Receives one datagram into `buf`; returns its real length (more than `buf.len()`
    /// when it was truncated).
    // recv(2) on that socket, into a buffer of the length passed.
    #[allow(unsafe_code)]
    fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        // SAFETY: recv into our buffer of its length; MSG_TRUNC reports the real length.
        let n = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_TRUNC,
            )
        };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(n as usize)
    }
}

/// One dump's answer so far: its request's sequence number, the messages seen, and whether
/// the kernel flagged any of them inconsistent.
struct DumpProgress {
    seq: u32,
    what: &'static str,
    seen: usize,
    interrupted: bool,
}

impl DumpProgress {
    /// Feeds the messages of one received datagram to `each`; `Some` ends the dump with
    /// that result (NLMSG_DONE, an error message, or a malformed answer).
    fn datagram(
        &mut self,
        mut rest: &[u8],
        each: &mut impl FnMut(u16, &[u8]),
    ) -> Option<Result<Result<(), NetInfoError>, Interrupted>> {
        let what = self.what;
        let dump_err = |source| Some(Ok(Err(NetInfoError::Dump { what, source })));
        let malformed = |detail: String| Some(Ok(Err(NetInfoError::Malformed { what, detail })));
        while rest.len() >= NLMSG_HDRLEN {
            self.seen += 1;
            if self.seen > MAX_MESSAGES {
                return malformed(format!("more than {MAX_MESSAGES} messages"));
            }
            let len = u32::from_ne_bytes(word(rest, 0)) as usize;
            let ty = u16::from_ne_bytes([rest[4], rest[5]]);
            let flags = u16::from_ne_bytes([rest[6], rest[7]]);
            let mseq = u32::from_ne_bytes(word(rest, 8));
            if len < NLMSG_HDRLEN || len > rest.len() {
                return malformed(format!("message length {len} of {}", rest.len()));
            }
            let payload = &rest[NLMSG_HDRLEN..len];
            rest = rest.get(align4(len)..).unwrap_or_default();
            if mseq != self.seq {
                continue; // an answer to an earlier request
            }
            self.interrupted |= flags & NLM_F_DUMP_INTR != 0;
            match ty {
                NLMSG_DONE if self.interrupted => return Some(Err(Interrupted)),
                NLMSG_DONE => return Some(Ok(Ok(()))),
                NLMSG_ERROR => {
                    let code = i32::from_ne_bytes(word(payload, 0));
                    if payload.len() < 4 || code == 0 {
                        return malformed("an error message without an error".into());
                    }
                    return dump_err(std::io::Error::from_raw_os_error(-code));
                }
                _ => each(ty, payload),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads (never changes) this namespace; `lo` with 127.0.0.1 exists in every namespace.
    #[test]
    fn attributes_stop_at_the_first_malformed_one() {
        // IFLA_IFNAME "lo\0" (len 7, padded to 8), then one claiming more bytes than exist.
        let b = [7, 0, 3, 0, b'l', b'o', 0, 0, 200, 0, 4, 0, 1, 2, 3, 4];
        let got: Vec<(u16, &[u8])> = attrs(&b).collect();
        assert_eq!(got, vec![(3u16, &b"lo\0"[..])]);
        assert_eq!(attrs(&[3, 0, 1, 0]).count(), 0, "length below the header");
        assert_eq!(attrs(&[4, 0, 1]).count(), 0, "truncated header");
        assert_eq!(attrs(&[4, 0, 1, 0]).count(), 1, "empty value");
    }

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
