//! The typed configuration model, with keepalived 2.2.7 defaults already resolved.
//!
//! Every value here is final: instance fields that keepalived inherits from `global_defs`
//! (GARP settings, `lower_prio_no_advert`, version, …) are filled in, times are rounded
//! the way keepalived rounds them, and track weights include the per-instance overrides.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use serde::Serialize;

/// Where a configuration item was written: file (as given or found by `include`) and 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Location {
    /// The file name, as passed to [`crate::load`] or resolved from an `include` glob.
    pub file: String,
    /// 1-based line number.
    pub line: u32,
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// `global_defs` (defaults when the block is absent).
    pub global: GlobalDefs,
    /// `vrrp_script` blocks, in file order.
    pub scripts: Vec<VrrpScript>,
    /// `vrrpd_check` blocks (our native health checks), in file order.
    pub checks: Vec<NativeCheck>,
    /// `vrrp_instance` blocks, in file order.
    pub instances: Vec<VrrpInstance>,
}

/// VRRP protocol version and address family: the protocol core's own types, so a
/// parsed configuration means exactly what the core runs.
pub use vrrp::{Family, Version};

/// GARP / unsolicited-NA settings (global defaults or resolved per instance).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GarpSettings {
    /// Delay before the second burst after becoming master; zero means no second burst. Default 5 s.
    pub master_delay: Duration,
    /// GARPs per VIP per burst. Default 5.
    pub master_repeat: u32,
    /// Period of refresh GARPs while master; zero means off. Default 0.
    pub master_refresh: Duration,
    /// GARPs per VIP per refresh. Default 1.
    pub master_refresh_repeat: u32,
    /// Delay of the second burst after hearing a lower-priority advert. Default = `master_delay`.
    pub lower_prio_delay: Duration,
    /// GARPs per VIP after hearing a lower-priority advert. Default = `master_repeat`.
    pub lower_prio_repeat: u32,
}

impl Default for GarpSettings {
    fn default() -> Self {
        GarpSettings {
            master_delay: Duration::from_secs(5),
            master_repeat: 5,
            master_refresh: Duration::ZERO,
            master_refresh_repeat: 1,
            lower_prio_delay: Duration::from_secs(5),
            lower_prio_repeat: 5,
        }
    }
}

/// A `user USER [GROUP]` / `script_user USER [GROUP]` setting (names are not resolved).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScriptUser {
    /// User name (or numeric id as text).
    pub user: String,
    /// Group name, if given.
    pub group: Option<String>,
}

/// `global_defs { … }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GlobalDefs {
    /// `router_id`; `None` means the host name (keepalived's default).
    pub router_id: Option<String>,
    /// `vrrp_version`, default 2 (IPv6 instances always use 3).
    pub vrrp_version: Version,
    /// `vrrp_mcast_group4`, default 224.0.0.18.
    pub mcast_group4: Ipv4Addr,
    /// `vrrp_mcast_group6`, default ff02::12.
    pub mcast_group6: Ipv6Addr,
    /// `vrrp_garp_*` defaults inherited by instances.
    pub garp: GarpSettings,
    /// `vrrp_lower_prio_no_advert`, default false.
    pub lower_prio_no_advert: bool,
    /// `vrrp_higher_prio_send_advert`, default false.
    pub higher_prio_send_advert: bool,
    /// `vrrp_down_timer_adverts` (1..=100), default 3.
    pub down_timer_adverts: u32,
    /// `script_user`; `None` means keepalived's default (`keepalived_script` if it exists, else root).
    pub script_user: Option<ScriptUser>,
    /// `enable_script_security`, default false.
    pub enable_script_security: bool,
    /// `vrrp_startup_delay`, default 0.
    pub startup_delay: Duration,
    /// `vrrp_check_unicast_src`, default false (instances may also set `check_unicast_src`).
    pub check_unicast_src: bool,
    /// `vrrpd_metrics_listen ADDR:PORT` (vrrpd only): serve Prometheus metrics there. Off by
    /// default.
    pub metrics_listen: Option<SocketAddr>,
    /// `vrrpd_handoff_timeout SECONDS` (vrrpd only): the make-before-break bound of a leaving
    /// master; 0 = release at once. `None` = automatic (MDI of a priority-1 backup + 1 interval).
    pub handoff_timeout: Option<Duration>,
    /// Scheduling of the VRRP process (`vrrp_rt_priority`, `vrrp_rlimit_rttime`,
    /// `vrrp_priority`).
    pub sched: SchedDefs,
}

/// keepalived's process scheduling keywords for VRRP (global_parser.c, process.c in 2.2.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SchedDefs {
    /// `vrrp_rt_priority N`: run at SCHED_RR priority N (1..=99; keepalived clamps other values
    /// with a configuration error). `None` (keepalived's 0): normal scheduling.
    pub rt_priority: Option<u8>,
    /// `vrrp_rlimit_rttime USEC` (alias `vrrp_rlimit_rtime`, deprecated): RLIMIT_RTTIME while
    /// real-time, hard limit USEC and soft limit USEC / 2 (SIGXCPU). Default 10000.
    pub rlimit_rttime_us: u32,
    /// `vrrp_priority N`: the nice value (-20..=19), used only without `vrrp_rt_priority`.
    /// Default 0 (unchanged).
    pub nice: i8,
}

/// keepalived's `RT_RLIMIT_DEFAULT` (µs).
pub const RT_RLIMIT_DEFAULT_US: u32 = 10_000;

impl Default for SchedDefs {
    fn default() -> Self {
        SchedDefs {
            rt_priority: None,
            rlimit_rttime_us: RT_RLIMIT_DEFAULT_US,
            nice: 0,
        }
    }
}

impl Default for GlobalDefs {
    fn default() -> Self {
        GlobalDefs {
            router_id: None,
            vrrp_version: Version::V2,
            mcast_group4: Ipv4Addr::new(224, 0, 0, 18),
            mcast_group6: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12),
            garp: GarpSettings::default(),
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            down_timer_adverts: 3,
            script_user: None,
            enable_script_security: false,
            startup_delay: Duration::ZERO,
            check_unicast_src: false,
            metrics_listen: None,
            handoff_timeout: None,
            sched: SchedDefs::default(),
        }
    }
}

/// `vrrp_script NAME { … }`: an external command run periodically, without a shell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VrrpScript {
    /// Block name.
    pub name: String,
    /// Where the block starts.
    pub location: Location,
    /// Program and arguments, split keepalived-style (quotes and backslash escapes, no shell).
    pub argv: Vec<String>,
    /// `interval`, whole seconds, default 1 s.
    pub interval: Duration,
    /// `timeout`, whole seconds; resolved to `interval` when not set.
    pub timeout: Duration,
    /// `weight` in -253..=253, default 0 (failure means FAULT).
    pub weight: i32,
    /// `weight W reverse`.
    pub weight_reverse: bool,
    /// `rise`, default 1.
    pub rise: u32,
    /// `fall`, default 1.
    pub fall: u32,
    /// `user USER [GROUP]`; `None` means the global `script_user` / keepalived default.
    pub user: Option<ScriptUser>,
    /// `init_fail`: start in the failed state.
    pub init_fail: bool,
}

/// What a native check probes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Probe {
    /// `tcp_connect IP PORT [watch]`: success when a TCP connection is established within the
    /// timeout.
    TcpConnect {
        /// Address and port to connect to.
        addr: SocketAddr,
        /// `watch`: also hold one connection open and re-probe at once when the peer closes
        /// or resets it, so a dying listener is noticed within milliseconds.
        watch: bool,
    },
    /// `http_get URL [status N]`: success when the response status matches.
    HttpGet {
        /// The URL exactly as written.
        url: String,
        /// `https://` (TLS, certificate not verified) rather than `http://`.
        tls: bool,
        /// Host part of the URL (name or address literal, without IPv6 brackets).
        host: String,
        /// Port (explicit, or 80 / 443).
        port: u16,
        /// Path and query, at least `/`.
        path: String,
        /// Expected status; `None` means any 2xx.
        status: Option<u16>,
    },
}

/// `vrrpd_check NAME { … }`: our native health check (see ARCHITECTURE.md).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NativeCheck {
    /// Block name (shares the namespace with `vrrp_script`).
    pub name: String,
    /// Where the block starts.
    pub location: Location,
    /// The probe.
    pub probe: Probe,
    /// `interval`, millisecond resolution, > 0. Default 1 s.
    pub interval: Duration,
    /// `timeout`, millisecond resolution, > 0. Default = `interval`.
    pub timeout: Duration,
    /// `rise`, default 1.
    pub rise: u32,
    /// `fall`, default 1.
    pub fall: u32,
    /// `weight` in -253..=253, default 0 (failure means FAULT).
    pub weight: i32,
    /// `weight W reverse`.
    pub weight_reverse: bool,
}

/// The `state` keyword, resolved (derived from priority when absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum InitialState {
    /// `state MASTER` (or priority 255).
    Master,
    /// `state BACKUP` (the default below priority 255).
    Backup,
}

/// `authentication { auth_type PASS; auth_pass … }` (only PASS is supported).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Auth {
    /// The password, already truncated to keepalived's 8 bytes.
    pub password: String,
}

/// One line of `virtual_ipaddress` / `virtual_ipaddress_excluded`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VirtualAddress {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length; default 32 (IPv4) or 128 (IPv6).
    pub prefix_len: u8,
    /// `brd X` / `broadcast X` (IPv4 only).
    pub broadcast: Option<Ipv4Addr>,
    /// `dev IF`: interface; `None` means the instance's interface.
    pub dev: Option<String>,
    /// `scope S` (IPv4 only): `global`, `site`, `link`, `host`, `nowhere` or a number.
    pub scope: Option<String>,
    /// `label L` (IPv4 only).
    pub label: Option<String>,
    /// `-nodad` was given: keepalived then does *not* set IFA_F_NODAD, so the kernel runs DAD.
    pub dad: bool,
    /// `noprefixroute`.
    pub noprefixroute: bool,
    /// `no_track`: removal of the address by someone else does not make the instance leave master.
    pub no_track: bool,
    /// Where the line was written.
    pub location: Location,
}

impl VirtualAddress {
    /// The address family.
    pub fn family(&self) -> Family {
        Family::of(&self.addr)
    }
}

/// One `unicast_peer` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnicastPeer {
    /// Peer address (same family as the instance).
    pub addr: IpAddr,
    /// `min_ttl N`: drop adverts from this peer with a lower TTL / hop limit.
    pub min_ttl: Option<u8>,
    /// `max_ttl N`: drop adverts from this peer with a higher TTL / hop limit.
    pub max_ttl: Option<u8>,
}

/// Which kind of object a `track_script` entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackKind {
    /// A `vrrp_script` (index into [`Config::scripts`] by name).
    Script,
    /// A `vrrpd_check` (index into [`Config::checks`] by name).
    Check,
}

/// One `track_script` entry, with the effective weight resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackScript {
    /// Name of the `vrrp_script` or `vrrpd_check`.
    pub name: String,
    /// Which of the two it is.
    pub kind: TrackKind,
    /// Effective weight: the entry's `weight W`, else the script's/check's weight.
    pub weight: i32,
    /// Effective reverse flag: `reverse`/`no_reverse` on the entry, else the script's/check's.
    pub reverse: bool,
}

/// One `track_interface` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackInterface {
    /// Interface name.
    pub name: String,
    /// Weight in -253..=253; 0 (default) means interface down puts the instance in FAULT.
    pub weight: i32,
    /// `reverse`.
    pub reverse: bool,
}

/// `vrrp_instance NAME { … }` with every default resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VrrpInstance {
    /// Instance name.
    pub name: String,
    /// Where the block starts.
    pub location: Location,
    /// `state`, or derived from priority (255 → Master).
    pub initial_state: InitialState,
    /// `interface`; may be absent only in unicast mode.
    pub interface: Option<String>,
    /// `virtual_router_id` (1..=255).
    pub vrid: u8,
    /// `priority` (1..=255); default 100, or 255 with `state MASTER` and no priority.
    pub priority: u8,
    /// `advert_int`, rounded like keepalived (v2 whole seconds 1..=255, v3 centiseconds 0.01..=40.95).
    pub advert_int: Duration,
    /// Protocol version: `version`, else 3 for IPv6, else global `vrrp_version`.
    pub version: Version,
    /// Family of the advertised VIPs (IPv4 when there are none).
    pub family: Family,
    /// Preemption (default true; `nopreempt` clears it).
    pub preempt: bool,
    /// `preempt_delay` (0..=1000 s, microsecond resolution).
    pub preempt_delay: Duration,
    /// `authentication` with `auth_type PASS` (v2 only).
    pub auth: Option<Auth>,
    /// `virtual_ipaddress`: advertised VIPs, all of `family`.
    pub vips: Vec<VirtualAddress>,
    /// `virtual_ipaddress_excluded`: added/removed but not advertised; may mix families.
    pub excluded_vips: Vec<VirtualAddress>,
    /// `unicast_src_ip`.
    pub unicast_src_ip: Option<IpAddr>,
    /// `mcast_src_ip`.
    pub mcast_src_ip: Option<IpAddr>,
    /// `unicast_peer` entries; non-empty means unicast mode.
    pub unicast_peers: Vec<UnicastPeer>,
    /// `unicast_ttl` (default 255).
    pub unicast_ttl: u8,
    /// `check_unicast_src` here or `vrrp_check_unicast_src` globally.
    pub check_unicast_src: bool,
    /// `track_script` entries, in order.
    pub track_scripts: Vec<TrackScript>,
    /// `track_interface` entries, in order (the primary interface is not listed here).
    pub track_interfaces: Vec<TrackInterface>,
    /// `dont_track_primary`.
    pub dont_track_primary: bool,
    /// GARP settings (instance keywords over global defaults).
    pub garp: GarpSettings,
    /// `lower_prio_no_advert [BOOL]` (default: global).
    pub lower_prio_no_advert: bool,
    /// `higher_prio_send_advert [BOOL]` (default: global).
    pub higher_prio_send_advert: bool,
    /// `down_timer_adverts` (1..=100; default: global, 3).
    pub down_timer_adverts: u32,
    /// Accept mode (`accept`/`no_accept`); keepalived default true.
    pub accept: bool,
    /// `vrrpd_v2_compat [BOOL]` (vrrpd only, default false): RFC 5798 §8.4 VRRPv2
    /// interoperation of a VRRPv3 IPv4 instance (also send and accept VRRPv2 adverts).
    pub v2_compat: bool,
    /// `vrrpd_garp_burst S…` (vrrpd only, default none): after the first GARP/NA burst, one
    /// more per VIP at each offset (decimal seconds, ms resolution, strictly ascending, at
    /// most 8, each ≤ 10 s); keepalived's `garp_master_*` keep their meaning.
    pub garp_burst: Vec<Duration>,
    /// `vrrpd_adaptive_interval FLOOR` (vrrpd only, VRRPv3 only, default none = fixed): as
    /// MASTER choose the advert interval between FLOOR and `advert_int` (the ceiling and the
    /// start) from the measured send lateness; whole centiseconds, at most `advert_int`, never
    /// with `vrrpd_v2_compat`.
    pub adaptive_interval: Option<Duration>,
}

impl VrrpInstance {
    /// True when adverts go to unicast peers rather than the multicast group.
    pub fn is_unicast(&self) -> bool {
        !self.unicast_peers.is_empty()
    }
}
