//! setsockopt helpers for the options socket2/nix do not cover, and the drop-all BPF filter.

use std::os::fd::{AsRawFd, BorrowedFd};

use socket2::{SockFilter, Socket};

/// `IPV6_CHECKSUM` (not in every libc build as a named constant).
pub(crate) const IPV6_CHECKSUM: libc::c_int = 7;

/// Sets an integer or struct socket option.
#[allow(unsafe_code)]
pub(crate) fn set<T>(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> std::io::Result<()> {
    let len = libc::socklen_t::try_from(std::mem::size_of::<T>())
        .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: `value` is a reference, so it points to a live, initialised `T` for the whole
    // call, and `len` is exactly `size_of::<T>()`: the kernel reads only those bytes. `fd` is
    // borrowed, so it stays open for the call.
    let rc =
        unsafe { libc::setsockopt(fd.as_raw_fd(), level, name, (value as *const T).cast(), len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Sets an `int` option.
pub(crate) fn set_int(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> std::io::Result<()> {
    set(fd, level, name, &value)
}

/// `IP_MULTICAST_IF` by interface index (`ip_mreqn`).
pub(crate) fn set_multicast_if_index_v4(fd: BorrowedFd<'_>, ifindex: u32) -> std::io::Result<()> {
    let mreqn = libc::ip_mreqn {
        imr_multiaddr: libc::in_addr { s_addr: 0 },
        imr_address: libc::in_addr { s_addr: 0 },
        imr_ifindex: libc::c_int::try_from(ifindex)
            .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?,
    };
    set(fd, libc::IPPROTO_IP, libc::IP_MULTICAST_IF, &mreqn)
}

/// Attaches a classic BPF program that accepts nothing ("ret #0"), so a send-only socket never
/// queues received packets.
pub(crate) fn attach_drop_all(sock: &Socket) -> std::io::Result<()> {
    const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K
    sock.attach_filter(&[SockFilter::new(BPF_RET_K, 0, 0, 0)])
}
