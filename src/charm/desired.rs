//! Pure decisions: world → the plan for files, service, relation data and status.
use std::net::IpAddr;

use super::config::CharmConfig;
use super::event::Event;
use super::hooktools::Bag;
use super::legacy::presence;
pub use super::legacy::{
    keepalived_may_be_in_group, legacy_stop, v2_compat_needed, LegacyStop, PEER_KEY_CHARM,
    PEER_KEY_LEGACY,
};
use super::netinfo::HostFacts;
use super::paths::Paths;
use super::render::{self, CheckSpec, InstanceSpec, RenderError, UnitSpec, WorkerConfigSpec};
use super::sanadvice::{self, CertNote, Finding, DEFAULT_LB_APP};
use super::service::ServiceVerb;
use super::status::{self, Status, UnitReport};
use super::world::{PeerRelation, Relation, World};
use vrrp::{Family, Version};

/// Bytes of config problems a status names before `; and N more` (the first is always whole).
pub const STATUS_BUDGET: usize = 400;
/// Peer bag keys.
pub const PEER_KEY_V4: &str = "vrrp-ipv4";
/// Peer bag key for the IPv6 source address.
pub const PEER_KEY_V6: &str = "vrrp-ipv6";
/// Name of the health check in the worker config.
pub const CHECK_NAME: &str = "chk_lb_port";
/// A file the charm owns on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    /// Absolute path (below the root).
    pub path: std::path::PathBuf,
    /// Content.
    pub content: Vec<u8>,
    /// Mode bits.
    pub mode: u32,
}

/// Writes to one relation's own unit bag (only the keys that differ; `""` deletes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BagWrite {
    /// Relation id.
    pub relation_id: String,
    /// Keys to set.
    pub changes: Bag,
}

/// What running the worker needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPlan {
    /// The worker config (0600).
    pub config: FileSpec,
    /// The systemd unit (0644).
    pub unit: FileSpec,
    /// The sysctl file (0644).
    pub sysctl: FileSpec,
    /// The status refresh after transitions: `.path` unit, its oneshot (0644), script (0755).
    pub refresh: Vec<FileSpec>,
    /// Publications, applied only once the worker runs.
    pub publish: Vec<BagWrite>,
    /// Our addresses on the peer relation.
    pub peer_publish: Option<BagWrite>,
    /// What the certificate check found, when the operator must act.
    pub cert_note: Option<CertNote>,
    /// `strict_san_check`: missing SANs block the unit.
    pub strict_san_check: bool,
    /// The first VIP, remembered in charm state once published (see [`hold_writes`]).
    pub published_vip: String,
    /// The worker runs VRRPv2-compatible because the previous charm's daemon was replaced
    /// here or on a peer: the status says so ([`status::MSG_LEGACY`]).
    pub legacy_note: bool,
    /// The load balancer's port.
    pub port: u16,
    /// The first VIP.
    pub vip: Option<IpAddr>,
    /// What the other units publish about their workers.
    pub peer_reports: Vec<UnitReport>,
    /// The application status, when this unit is the leader.
    pub app_status: Option<Status>,
}

/// What this hook should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Invalid config or environment: set the status and change nothing else.
    Hold(Status),
    /// No VIP configured: stop the worker, clear publications.
    Idle {
        /// The status.
        status: Status,
        /// Clearing writes.
        clear: Vec<BagWrite>,
    },
    /// Series upgrade: stop and disable the worker, remember the pause (a reboot or a `start`
    /// hook before `post-series-upgrade` leaves it stopped).
    Pause(Status),
    /// Teardown: stop and disable the worker, remove what the charm installed.
    Remove,
    /// Render, install and run the worker, then publish.
    Run(Box<RunPlan>),
}

/// What kind of hook this is for the worker, from the event and the pause flag alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// `stop`, `remove`: tear down.
    Teardown,
    /// `pre-series-upgrade`, or any hook while paused (until `post-series-upgrade`).
    Paused,
    /// Everything else: run the worker if the configuration allows.
    Running,
}

/// The phase of a hook (the one place that decides which events run the worker).
pub fn phase(event: &Event, paused: bool) -> Phase {
    match event {
        Event::Stop | Event::Remove => Phase::Teardown,
        Event::PreSeriesUpgrade => Phase::Paused,
        Event::PostSeriesUpgrade => Phase::Running,
        _ if paused => Phase::Paused,
        _ => Phase::Running,
    }
}

/// What this hook's writes changed for the worker (the converger reports it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Changed {
    /// A new worker binary was installed.
    pub binary: bool,
    /// The systemd unit changed.
    pub unit: bool,
    /// The worker config changed.
    pub config: bool,
}

/// The service call a hook that runs the worker makes, and why. A new binary or unit needs a
/// restart (SIGTERM: the worker hands the VIP over make-before-break, so clients see no gap).
/// A new configuration only needs SIGHUP: the worker applies soft changes in place and replaces
/// changed instances make-before-break, so the VIP does not move needlessly (ARCHITECTURE.md,
/// vrrpd task layout).
pub fn service_action(active: bool, c: Changed) -> Option<(ServiceVerb, &'static str)> {
    let why = match (c.binary, c.unit, c.config) {
        (true, _, _) => "new worker binary",
        (_, true, _) => "unit file changed",
        (_, _, true) => "configuration changed",
        _ => "worker was not running",
    };
    if !active {
        Some((ServiceVerb::Start, why))
    } else if c.unit || c.binary {
        Some((ServiceVerb::Restart, why))
    } else if c.config {
        Some((ServiceVerb::Reload, why))
    } else {
        None
    }
}

/// Side effects a hook makes before its plan, whatever the plan.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Prelude {
    /// `post-series-upgrade`: remove the pause flag.
    pub clear_pause: bool,
    /// `install`, `upgrade-charm`: `application-version-set`.
    pub app_version: Option<&'static str>,
}

/// The prelude of a hook (pure).
pub fn prelude(event: &Event) -> Prelude {
    Prelude {
        clear_pause: *event == Event::PostSeriesUpgrade,
        app_version: matches!(event, Event::Install | Event::UpgradeCharm)
            .then_some(env!("CARGO_PKG_VERSION")),
    }
}

/// Computes the plan for this hook.
pub fn plan(world: &World, paths: &Paths) -> Result<Plan, RenderError> {
    match phase(&world.env.event, world.paused) {
        Phase::Teardown => return Ok(Plan::Remove),
        Phase::Paused => return Ok(Plan::Pause(status::series_upgrade())),
        Phase::Running => {}
    }
    let kept = world.legacy.active;
    let cfg = match &world.config {
        Ok(c) => c,
        Err(e) => {
            return Ok(Plan::Hold(status::invalid_config(
                &e.summary(STATUS_BUDGET),
                kept,
            )))
        }
    };
    if cfg.vips.is_empty() {
        return Ok(Plan::Idle {
            status: status::no_vip(),
            clear: clear_writes(&world.relations)
                .into_iter()
                .chain(peer_presence(world))
                .collect(),
        });
    }
    let net = match resolve_network(cfg, &world.host) {
        Ok(n) => n,
        Err(msg) => return Ok(Plan::Hold(status::invalid_config(&msg, kept))),
    };
    Ok(Plan::Run(Box::new(run_plan(world, paths, cfg, &net)?)))
}

/// The plan of a hook that runs the worker with a valid config on `net` (pure).
fn run_plan(
    world: &World,
    paths: &Paths,
    cfg: &CharmConfig,
    net: &Network,
) -> Result<RunPlan, RenderError> {
    let spec = compat_worker_spec(world, cfg, net);
    let legacy_note = spec.instances.iter().any(|i| i.v2_compat);
    let (config, unit, sysctl) = worker_files(paths, cfg, &spec)?;
    let refresh = refresh_files(paths, &world.env.unit.name)?;
    let publish = world
        .relations
        .iter()
        .filter_map(|r| write_for(r, &publication(cfg, &r.endpoint)))
        .collect();
    let peer_publish = peer_publication(world, cfg, net);
    let lb_app = world.principal.as_deref().unwrap_or(DEFAULT_LB_APP);
    let cert_note = world
        .cert
        .as_ref()
        .and_then(|c| sanadvice::note(&Finding::of(c, &sanadvice::required(cfg)), lb_app));
    Ok(RunPlan {
        config,
        unit,
        sysctl,
        refresh,
        publish,
        peer_publish,
        cert_note,
        strict_san_check: cfg.strict_san_check,
        published_vip: cfg
            .vips
            .first()
            .map(|v| v.addr.to_string())
            .unwrap_or_default(),
        legacy_note,
        port: cfg.port,
        vip: cfg.vips.first().map(|v| v.addr),
        peer_reports: peer_reports(world),
        app_status: app_status(world, cfg),
    })
}

/// [`worker_spec`] for this unit, its VRRPv3 IPv4 instance marked VRRPv2-compatible when
/// [`v2_compat_needed`], and every instance on a fixed interval while
/// [`keepalived_may_be_in_group`].
fn compat_worker_spec(world: &World, cfg: &CharmConfig, net: &Network) -> WorkerConfigSpec {
    let mut spec = worker_spec(
        cfg,
        net,
        &world.env.unit.name,
        world.env.unit.number,
        world.peers.as_ref(),
    );
    let compat = v2_compat_needed(world);
    let fixed = keepalived_may_be_in_group(world).is_some();
    for (i, fam) in spec.instances.iter_mut().zip(cfg.families()) {
        // Only a VRRPv3 IPv4 instance can interoperate (RFC 5798 §8.4); the old group is IPv4.
        i.v2_compat = compat && fam == Family::Ipv4 && i.version == Version::V3.number();
        // The worker refuses an adaptive v2-compat instance; `compat` implies `fixed` anyway.
        if fixed || i.v2_compat {
            i.adaptive_floor = None;
        }
    }
    spec
}

/// The worker config (0600), the systemd unit and the sysctl file (0644), rendered in that
/// order.
fn worker_files(
    paths: &Paths,
    cfg: &CharmConfig,
    spec: &WorkerConfigSpec,
) -> Result<(FileSpec, FileSpec, FileSpec), RenderError> {
    let families = cfg.families();
    let config = FileSpec {
        path: paths.worker_config(),
        content: render::worker_config(spec)?.into_bytes(),
        mode: 0o600,
    };
    let unit = FileSpec {
        path: paths.unit_file(),
        content: render::unit_file(&unit_spec(paths))?.into_bytes(),
        mode: 0o644,
    };
    let sysctl = FileSpec {
        path: paths.sysctl_file(),
        content: render::sysctl_file(families.contains(&Family::Ipv6))?.into_bytes(),
        mode: 0o644,
    };
    Ok((config, unit, sysctl))
}

/// What this unit publishes on the peer relation (its VRRP source addresses, its worker's
/// report, whether it replaced the previous charm's daemon), as the keys that differ.
fn peer_publication(world: &World, cfg: &CharmConfig, net: &Network) -> Option<BagWrite> {
    world.peers.as_ref().and_then(|p| {
        let mut want = Bag::new();
        want.insert(
            PEER_KEY_V4.into(),
            net.src_v4.map(|a| a.to_string()).unwrap_or_default(),
        );
        want.insert(
            PEER_KEY_V6.into(),
            net.src_v6.map(|a| a.to_string()).unwrap_or_default(),
        );
        want.extend(own_report(world, cfg.port).to_bag());
        want.extend(presence(world));
        diff(&p.local, &want).map(|changes| BagWrite {
            relation_id: p.id.clone(),
            changes,
        })
    })
}

/// [`presence`] as the keys that differ, for hooks that do not run the worker.
fn peer_presence(world: &World) -> Option<BagWrite> {
    let p = world.peers.as_ref()?;
    diff(&p.local, &presence(world)).map(|changes| BagWrite {
        relation_id: p.id.clone(),
        changes,
    })
}

/// This unit's report from its worker's state file.
fn own_report(world: &World, port: u16) -> UnitReport {
    UnitReport::from_state(&world.env.unit.name, world.worker.state.as_ref(), port)
}

/// What the other units published about their workers.
fn peer_reports(world: &World) -> Vec<UnitReport> {
    world
        .peers
        .as_ref()
        .map(|p| {
            p.peers
                .iter()
                .map(|peer| UnitReport::from_bag(&peer.unit.name, &peer.data))
                .collect()
        })
        .unwrap_or_default()
}

/// The application status, set by the leader only (`status-set --application` needs
/// leadership), from every unit's report, its own first.
fn app_status(world: &World, cfg: &CharmConfig) -> Option<Status> {
    let vip = cfg.vips.first()?.addr;
    if !world.is_leader {
        return None;
    }
    let mut units = vec![own_report(world, cfg.port)];
    units.extend(peer_reports(world));
    units.sort_by_key(|u| super::world::Unit::parse(&u.unit).map(|u| u.number));
    Some(status::application(vip, &units))
}

/// Writes for a hook that holds (invalid config) or pauses (series upgrade): nothing of the
/// config is applied, but this unit's [`presence`] on the peer relation is kept and the
/// `website` `private-address` we published is put back where Juju replaced it. Juju's
/// `config-changed` commit rewrites `private-address`/`ingress-address`/`egress-subnets` of
/// every joined relation to the unit's own addresses before the charm's changes, and a charm
/// value equal to the stored one is not a change (juju/juju `commitHookChangesForOneUnit`,
/// state `Settings.changes`), so after a `config-changed` the bag shows the unit's address; any
/// later hook that writes the VIP wins. Only bags that still carry our `hostname` are touched.
pub fn hold_writes(world: &World) -> Vec<BagWrite> {
    let presence = peer_presence(world);
    let Some(vip) = &world.published_vip else {
        return presence.into_iter().collect();
    };
    world
        .relations
        .iter()
        .filter(|r| r.endpoint == "website" && r.local.contains_key("hostname"))
        .filter_map(|r| {
            let want = Bag::from([("private-address".to_string(), vip.clone())]);
            write_for(r, &want)
        })
        .chain(presence)
        .collect()
}

/// The floor of the automatic advert interval, in centiseconds: 30 ms, rendered as
/// `vrrpd_adaptive_interval 0.03` beside `advert_int 0.1` (the ceiling and the start).
///
/// The charm's first backup (priority 240) declares the master down after
/// 3 × I + (256 − 240)/256 × I ≈ 3.06 × I without an advert: at 30 ms that is 92 ms, so a
/// client sees roughly 75–80 ms of outage when the holder's link or machine dies (the bench
/// strikes 20 ms after an advert; issue 13's target is ≤ 100 ms median). Measured timing on the
/// shared 2-core test machine (README, issue 13): the worst advert gap excess under multicast
/// and reload stress was ≤ 31 ms, i.e. about 2 × I = 60 ms of slack at the floor; under full CPU
/// saturation it reached 104 ms at nice 0, which is why the worker runs at [`RT_PRIORITY`] and
/// steps back up towards the ceiling at once when its own lateness grows.
pub const AUTO_FLOOR_CS: u32 = 3;

/// `vrrp_rt_priority` in `global_defs` (keepalived 2.2.7's keyword, `<1..99>` in
/// keepalived.conf(5): real-time scheduling of the process that runs VRRP): the worker's event
/// loop, which owns the timers and sends the adverts, runs at this SCHED_RR priority when the
/// kernel allows it, so a busy machine does not delay adverts into a false failover. 50 is the
/// middle of the range, the value issue 13's plan fixed. On this kernel the migration threads
/// run at SCHED_FIFO 99 and the threaded interrupt handlers at SCHED_FIFO 50
/// (`ps -o cls,rtprio`): at 50 the worker and those handlers never preempt each other; 40
/// would put it just below them. Both cores busy, 30 ms adverts, measured the same at 50 and
/// at 40 (`crates/vrrpd/tests/stress.rs`: no false failover, send lateness ≤ 2.0 ms).
pub const RT_PRIORITY: u8 = 50;

/// Priority levels between two neighbouring units.
///
/// After the master dies every backup's Master_Down_Timer ends Skew_Time =
/// (256 - priority) / 256 intervals after the last advert (RFC 5798 §6.1), so two backups whose
/// priorities differ by `PRIORITY_STEP` fire 10/256 of an interval apart (3.9 ms at the 100 ms
/// default). That is enough for the higher one's first advert to reach the others before their
/// own timers end; with a step of 1 (0.4 ms) several backups took the VIP for a moment.
pub const PRIORITY_STEP: u32 = 10;

/// The base priority of a unit: stable (derived from the unit number, never from leadership),
/// 250, 240, ... 10 for units 0..=24, then the same levels again (equal priorities are broken
/// by address, deterministically).
pub fn priority(unit_number: u32) -> u8 {
    let levels = 250 / PRIORITY_STEP; // 25
    let p = 250 - PRIORITY_STEP * (unit_number % levels);
    u8::try_from(p).unwrap_or(1)
}

/// The VRRP interface and this unit's source addresses on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    /// Interface name.
    pub interface: String,
    /// IPv4 source (primary address, not a VIP).
    pub src_v4: Option<std::net::Ipv4Addr>,
    /// IPv6 source (global preferred, else link-local; not a VIP).
    pub src_v6: Option<std::net::Ipv6Addr>,
}

/// Picks the interface and source addresses; the error names the option and value.
pub fn resolve_network(cfg: &CharmConfig, host: &HostFacts) -> Result<Network, String> {
    let families = cfg.families();
    let first = families.first().copied().unwrap_or(Family::Ipv4);
    let (default_first, default_other) = match first {
        Family::Ipv4 => (&host.default_v4, &host.default_v6),
        Family::Ipv6 => (&host.default_v6, &host.default_v4),
    };
    let shown = cfg.network_interface.clone().unwrap_or_default();
    let interface = match &cfg.network_interface {
        Some(name) => {
            if !host.links.contains_key(name) {
                return Err(format!("network_interface={shown:?}: no such interface on this machine"));
            }
            name.clone()
        }
        None => match default_first.as_ref().or(default_other.as_ref()) {
            Some(n) => n.clone(),
            None => return Err("network_interface=\"\": no default route to find the interface; set network_interface".into()),
        },
    };
    let link = host.links.get(&interface).cloned().unwrap_or_default();
    let is_vip = |a: IpAddr| cfg.vips.iter().any(|v| v.addr == a);
    let src_v4 = link.v4.iter().copied().find(|a| !is_vip(IpAddr::V4(*a)));
    let v6: Vec<_> = link
        .v6
        .iter()
        .filter(|a| !is_vip(IpAddr::V6(a.addr)))
        .collect();
    let src_v6 = v6
        .iter()
        .find(|a| !a.link_local)
        .or_else(|| v6.first())
        .map(|a| a.addr);
    if families.contains(&Family::Ipv4) && src_v4.is_none() {
        return Err(format!("network_interface={shown:?}: interface {interface} has no IPv4 address to send VRRP from"));
    }
    if families.contains(&Family::Ipv6) && src_v6.is_none() {
        return Err(format!("network_interface={shown:?}: interface {interface} has no IPv6 address to send VRRP from"));
    }
    Ok(Network {
        interface,
        src_v4,
        src_v6,
    })
}

/// Builds the worker config spec (pure).
pub fn worker_spec(
    cfg: &CharmConfig,
    net: &Network,
    unit_name: &str,
    unit_number: u32,
    peers: Option<&PeerRelation>,
) -> WorkerConfigSpec {
    let mut instances = Vec::new();
    for fam in cfg.families() {
        let version = match fam {
            Family::Ipv4 => cfg.vrrp_version,
            Family::Ipv6 => Version::V3,
        };
        let (name, src, key) = match fam {
            Family::Ipv4 => (
                format!("VI_{}", cfg.router_id),
                net.src_v4.map(IpAddr::V4),
                PEER_KEY_V4,
            ),
            Family::Ipv6 => (
                format!("VI6_{}", cfg.router_id),
                net.src_v6.map(IpAddr::V6),
                PEER_KEY_V6,
            ),
        };
        let unicast_peers = match (cfg.unicast, peers) {
            (true, Some(p)) => peer_addresses(p, key, fam),
            _ => Vec::new(),
        };
        instances.push(InstanceSpec {
            name,
            interface: net.interface.clone(),
            vrid: cfg.router_id,
            priority: priority(unit_number),
            version: version.number(),
            advert_int: render::seconds(u32::from(cfg.advert_cs(version))),
            adaptive_floor: cfg
                .adaptive(version)
                .then(|| render::seconds(AUTO_FLOOR_CS)),
            nopreempt: !cfg.preempt,
            auth_pass: match version {
                Version::V2 => cfg.auth_pass.as_ref().map(|p| p.expose().to_string()),
                Version::V3 => None,
            },
            unicast: cfg.unicast,
            unicast_src: if cfg.unicast {
                src.map(|a| a.to_string())
            } else {
                None
            },
            unicast_peers,
            vips: cfg.vips_of(fam).iter().map(ToString::to_string).collect(),
            v2_compat: false,
        });
    }
    WorkerConfigSpec {
        unit: unit_name.to_string(),
        router_name: unit_name.replace('/', "-"),
        rt_priority: RT_PRIORITY,
        check: CheckSpec {
            name: CHECK_NAME.into(),
            port: cfg.port,
            interval: cfg.healthcheck_interval.to_string(),
        },
        metrics_listen: cfg.metrics_address.map(|a| a.to_string()),
        instances,
    }
}

/// Peers' published addresses of one family, in unit-number order; malformed values are skipped.
fn peer_addresses(p: &PeerRelation, key: &str, fam: Family) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for peer in &p.peers {
        let Some(Ok(addr)) = peer.data.get(key).map(|v| v.parse::<IpAddr>()) else {
            continue;
        };
        let right_family = matches!(
            (fam, addr),
            (Family::Ipv4, IpAddr::V4(_)) | (Family::Ipv6, IpAddr::V6(_))
        );
        if right_family && !out.contains(&addr.to_string()) {
            out.push(addr.to_string());
        }
    }
    out
}

/// The status refresh's files (see [`render::refresh_files`]) for `unit`.
fn refresh_files(paths: &Paths, unit: &str) -> Result<Vec<FileSpec>, RenderError> {
    let s = |p: std::path::PathBuf| p.display().to_string();
    let (path, service, script) = render::refresh_files(&render::RefreshSpec {
        unit: unit.to_string(),
        transitions: s(paths.worker_transitions()),
        script: s(paths.refresh_script()),
        juju_exec: s(paths.juju_exec()),
        juju_run: s(paths.juju_run()),
    })?;
    Ok(vec![
        FileSpec {
            path: paths.refresh_path_unit(),
            content: path.into_bytes(),
            mode: 0o644,
        },
        FileSpec {
            path: paths.refresh_service_unit(),
            content: service.into_bytes(),
            mode: 0o644,
        },
        FileSpec {
            path: paths.refresh_script(),
            content: script.into_bytes(),
            mode: 0o755,
        },
    ])
}

fn unit_spec(paths: &Paths) -> UnitSpec {
    let s = |p: std::path::PathBuf| p.to_string_lossy().into_owned();
    let state = paths.worker_state();
    UnitSpec {
        binary: s(paths.worker_binary()),
        config: s(paths.worker_config()),
        state_dir: state
            .parent()
            .map(|p| s(p.to_path_buf()))
            .unwrap_or_default(),
        state: s(state),
    }
}

/// The keys we publish on an endpoint, derived from app config only (identical on every unit).
pub fn publication(cfg: &CharmConfig, endpoint: &str) -> Bag {
    let mut bag = Bag::new();
    let Some(vip) = cfg.vips.first() else {
        return bag;
    };
    let addr = vip.addr.to_string();
    let port = cfg.port.to_string();
    match endpoint {
        "loadbalancer" => {
            bag.insert("public-address".into(), addr);
            bag.insert("port".into(), port);
        }
        "website" => {
            bag.insert(
                "hostname".into(),
                cfg.vip_hostname.clone().unwrap_or_else(|| addr.clone()),
            );
            bag.insert("private-address".into(), addr);
            bag.insert("port".into(), port);
        }
        _ => {}
    }
    bag
}

/// The changes that turn `current` into `want` (keys outside `want` are left alone).
pub fn diff(current: &Bag, want: &Bag) -> Option<Bag> {
    let changes: Bag = want
        .iter()
        .filter(|(k, v)| current.get(*k).map(String::as_str).unwrap_or("") != v.as_str())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (!changes.is_empty()).then_some(changes)
}

fn write_for(r: &Relation, want: &Bag) -> Option<BagWrite> {
    diff(&r.local, want).map(|changes| BagWrite {
        relation_id: r.id.clone(),
        changes,
    })
}

/// Writes that remove our publications; `website`'s `private-address` returns to Juju's ingress address.
pub fn clear_writes(relations: &[Relation]) -> Vec<BagWrite> {
    relations
        .iter()
        .filter_map(|r| {
            let mut want = Bag::new();
            match r.endpoint.as_str() {
                "loadbalancer" => {
                    want.insert("public-address".into(), String::new());
                    want.insert("port".into(), String::new());
                }
                "website" => {
                    want.insert("hostname".into(), String::new());
                    want.insert("port".into(), String::new());
                    let ingress = r.local.get("ingress-address").cloned().unwrap_or_default();
                    want.insert("private-address".into(), ingress);
                }
                _ => {}
            }
            write_for(r, &want)
        })
        .collect()
}

#[cfg(test)]
#[path = "desired_tests.rs"]
mod tests;
