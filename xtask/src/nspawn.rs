//! What the real-systemd test tier (`crates/jujusim/tests/real_systemd.rs`, `netlab::nspawn`)
//! needs on the host, kept apart from the main package list.

/// Debian packages: `systemd-nspawn` (systemd-container) and `debootstrap`, which builds the
/// container's bookworm root file system once (cached in `target/nspawn/`). Installed with
/// `--no-install-recommends`: the recommended `libnss-mymachines` would edit
/// `/etc/nsswitch.conf`. (`nsenter`, `unshare` and `mount` come from essential util-linux/mount.)
pub const PACKAGES: [&str; 2] = ["systemd-container", "debootstrap"];
