//! From kaconf's model to what the daemon runs: one [`InstanceSpec`] per `vrrp_instance`
//! (the core's `vrrp::InstanceConfig` plus the Linux details only the edge needs) and the
//! health checks the instances track.
//!
//! Track indices: `InstanceConfig::tracks[i]` corresponds to `InstanceSpec::track_sources[i]`;
//! `track_script` entries come first, then `track_interface` entries, in file order.

use std::net::IpAddr;

use thiserror::Error;

use crate::health::security::{self, Verdict};
use crate::health::{CheckKind, CheckSpec, HttpUrl, RunAs};

/// The whole runnable configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct DaemonSpec {
    /// One per `vrrp_instance`, in file order.
    pub instances: Vec<InstanceSpec>,
    /// Every `vrrp_script` / `vrrpd_check` tracked by at least one instance.
    pub checks: Vec<CheckSpec>,
    /// `global_defs { vrrpd_metrics_listen ADDR:PORT }` (the `--metrics-listen` flag wins).
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// `vrrp_rt_priority`, `vrrp_rlimit_rttime`, `vrrp_priority` (see `crate::sched`).
    pub sched: kaconf::SchedDefs,
}

/// One VIP as the edge manages it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipSpec {
    /// Address and prefix.
    pub vip: vrrp::Vip,
    /// Interface it goes on (`dev`, else the instance's interface).
    pub dev: String,
    /// IPv4 label (`label`).
    pub label: Option<String>,
    /// Set IFA_F_NODAD (IPv6; keepalived's default unless `-nodad` was given).
    pub nodad: bool,
    /// `noprefixroute`.
    pub noprefixroute: bool,
    /// External removal does not make us leave MASTER (`no_track`).
    pub no_track: bool,
}

/// What an instance's track index follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackSource {
    /// A health check, by name (its spec is in [`DaemonSpec::checks`]).
    Check(String),
    /// The link state of this interface.
    Interface(String),
}

/// One instance: core configuration plus edge details.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceSpec {
    /// What the protocol core runs.
    pub core: vrrp::InstanceConfig,
    /// The interface adverts go out of and come in on.
    pub interface: String,
    /// Advertised VIPs, same order as `core.vips`.
    pub vips: Vec<VipSpec>,
    /// `virtual_ipaddress_excluded`: added and removed with the VIPs, never advertised.
    pub excluded: Vec<VipSpec>,
    /// Fixed advert source (`unicast_src_ip` / `mcast_src_ip`); `None` = the interface's
    /// primary IPv4 address or IPv6 link-local.
    pub source: Option<IpAddr>,
    /// Whether the own interface going down means FAULT (not `dont_track_primary`).
    pub track_primary: bool,
    /// Per track index, what it follows.
    pub track_sources: Vec<TrackSource>,
    /// The checks this instance tracks, with their full spec (for reload comparison).
    pub tracked_checks: Vec<CheckSpec>,
}

/// Why a loaded configuration cannot be run (reported like kaconf's diagnostics).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{file}:{line}: error: {message}")]
pub struct SpecError {
    /// File.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// Reason.
    pub message: String,
}

fn err(loc: &kaconf::Location, message: impl Into<String>) -> SpecError {
    SpecError {
        file: loc.file.clone(),
        line: loc.line,
        message: message.into(),
    }
}

/// Map a loaded configuration, with warnings (`file:line: warning: …`) for scripts keepalived
/// would disable or flag; every problem found is returned.
pub fn build(cfg: &kaconf::Config) -> Result<(DaemonSpec, Vec<String>), Vec<SpecError>> {
    let mut errors = Vec::new();
    let mut checks: Vec<CheckSpec> = Vec::new();
    let mut instances = Vec::new();
    let mut scripts = Scripts::new(cfg);
    for inst in &cfg.instances {
        match build_instance(cfg, inst, &mut scripts) {
            Ok((spec, used)) => {
                for c in used {
                    if !checks.iter().any(|k| k.name == c.name) {
                        checks.push(c);
                    }
                }
                instances.push(spec);
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        let spec = DaemonSpec {
            instances,
            checks,
            metrics_listen: cfg.global.metrics_listen,
            sched: cfg.global.sched,
        };
        Ok((spec, scripts.warnings))
    } else {
        Err(errors)
    }
}

fn vip_spec(v: &kaconf::VirtualAddress, default_dev: &str) -> VipSpec {
    VipSpec {
        vip: vrrp::Vip::new(v.addr, v.prefix_len),
        dev: v.dev.clone().unwrap_or_else(|| default_dev.to_string()),
        label: v.label.clone(),
        nodad: v.addr.is_ipv6() && !v.dad,
        noprefixroute: v.noprefixroute,
        no_track: v.no_track,
    }
}

fn build_instance(
    cfg: &kaconf::Config,
    inst: &kaconf::VrrpInstance,
    scripts: &mut Scripts,
) -> Result<(InstanceSpec, Vec<CheckSpec>), Vec<SpecError>> {
    let mut errors = Vec::new();
    let loc = &inst.location;
    let interface = match &inst.interface {
        Some(i) => i.clone(),
        None => {
            errors.push(err(loc, "vrrpd needs `interface` (also in unicast mode)"));
            String::new()
        }
    };
    let mut core = core_config(cfg, inst);
    let (track_sources, tracked_checks) = tracks(cfg, inst, scripts, &mut core, &mut errors);
    if let Err(e) = core.validate() {
        errors.push(err(loc, format!("vrrp_instance {}: {e}", inst.name)));
    }
    let source = advert_source(inst, core.family, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let spec = InstanceSpec {
        vips: inst.vips.iter().map(|v| vip_spec(v, &interface)).collect(),
        excluded: inst
            .excluded_vips
            .iter()
            .map(|v| vip_spec(v, &interface))
            .collect(),
        core,
        interface,
        source,
        track_primary: !inst.dont_track_primary,
        track_sources,
        tracked_checks: tracked_checks.clone(),
    };
    Ok((spec, tracked_checks))
}

/// The core's configuration of `inst` (without its tracks).
fn core_config(cfg: &kaconf::Config, inst: &kaconf::VrrpInstance) -> vrrp::InstanceConfig {
    let mut core = vrrp::InstanceConfig::new(
        inst.name.clone(),
        inst.vrid,
        inst.family,
        inst.vips
            .iter()
            .map(|v| vrrp::Vip::new(v.addr, v.prefix_len))
            .collect(),
    );
    core.version = inst.version;
    core.priority = inst.priority;
    core.advert_interval = inst.advert_int;
    core.preempt = inst.preempt;
    core.preempt_delay = inst.preempt_delay;
    core.auth_pass = inst.auth.as_ref().map(|a| {
        let mut pass = [0u8; 8];
        for (d, s) in pass.iter_mut().zip(a.password.as_bytes()) {
            *d = *s;
        }
        pass
    });
    core.unicast_peers = inst.unicast_peers.iter().map(|p| p.addr).collect();
    let g = &inst.garp;
    core.garp_master_delay = g.master_delay;
    core.garp_master_repeat = g.master_repeat;
    core.garp_master_refresh = g.master_refresh;
    core.garp_master_refresh_repeat = g.master_refresh_repeat;
    core.garp_lower_prio_delay = g.lower_prio_delay;
    core.garp_lower_prio_repeat = g.lower_prio_repeat;
    core.lower_prio_no_advert = inst.lower_prio_no_advert;
    core.higher_prio_send_advert = inst.higher_prio_send_advert;
    core.down_timer_adverts = u8::try_from(inst.down_timer_adverts).unwrap_or(u8::MAX);
    core.handoff_timeout = cfg.global.handoff_timeout;
    core.v2_compat = inst.v2_compat;
    core.garp_burst = inst.garp_burst.clone();
    core.adaptive_floor = inst.adaptive_interval;
    // A non-default group (`vrrp_mcast_group4/6`) of the instance's family.
    let group = match core.family {
        vrrp::Family::Ipv4 => IpAddr::V4(cfg.global.mcast_group4),
        vrrp::Family::Ipv6 => IpAddr::V6(cfg.global.mcast_group6),
    };
    core.mcast_dst = (group != core.family.multicast_group()).then_some(group);
    core
}

/// `track_script` entries, then `track_interface` entries: their core tracks (pushed onto
/// `core.tracks`), what each follows, and the checks to run. A script keepalived disables
/// moves no priority and gets no track.
fn tracks(
    cfg: &kaconf::Config,
    inst: &kaconf::VrrpInstance,
    scripts: &mut Scripts,
    core: &mut vrrp::InstanceConfig,
    errors: &mut Vec<SpecError>,
) -> (Vec<TrackSource>, Vec<CheckSpec>) {
    let mut track_sources = Vec::new();
    let mut tracked_checks = Vec::new();
    for t in &inst.track_scripts {
        let check = match t.kind {
            kaconf::TrackKind::Script => scripts.get(&t.name),
            kaconf::TrackKind::Check => cfg
                .checks
                .iter()
                .find(|c| c.name == t.name)
                .map(|c| native_check(c).map(Some)),
        };
        match check {
            Some(Ok(Some(c))) => tracked_checks.push(c),
            // Disabled as keepalived disables it (warned once): it moves no priority.
            Some(Ok(None)) => continue,
            Some(Err(e)) => errors.push(e),
            None => errors.push(err(
                &inst.location,
                format!("track_script {}: no such check", t.name),
            )),
        }
        core.tracks.push(vrrp::Track {
            weight: t.weight,
            reverse: t.reverse,
        });
        track_sources.push(TrackSource::Check(t.name.clone()));
    }
    for t in &inst.track_interfaces {
        core.tracks.push(vrrp::Track {
            weight: t.weight,
            reverse: t.reverse,
        });
        track_sources.push(TrackSource::Interface(t.name.clone()));
    }
    (track_sources, tracked_checks)
}

/// The fixed advert source: `unicast_src_ip` first in unicast mode, `mcast_src_ip` first in
/// multicast mode; it must be of the instance's family.
fn advert_source(
    inst: &kaconf::VrrpInstance,
    family: vrrp::Family,
    errors: &mut Vec<SpecError>,
) -> Option<IpAddr> {
    let source = if inst.is_unicast() {
        inst.unicast_src_ip.or(inst.mcast_src_ip)
    } else {
        inst.mcast_src_ip.or(inst.unicast_src_ip)
    };
    if let Some(s) = source {
        if vrrp::Family::of(&s) != family {
            errors.push(err(
                &inst.location,
                format!("source address {s} is not of the instance's family"),
            ));
        }
    }
    source
}

/// The `vrrp_script`s as keepalived would run them, examined once each (see
/// [`crate::health::security`]): `Ok(None)` is a script keepalived disables.
struct Scripts<'a> {
    cfg: &'a kaconf::Config,
    done: Vec<(String, Result<Option<CheckSpec>, SpecError>)>,
    warnings: Vec<String>,
}

impl<'a> Scripts<'a> {
    fn new(cfg: &'a kaconf::Config) -> Self {
        Scripts {
            cfg,
            done: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The script named `name`; `None` when there is no such `vrrp_script`.
    fn get(&mut self, name: &str) -> Option<Result<Option<CheckSpec>, SpecError>> {
        if let Some((_, r)) = self.done.iter().find(|(n, _)| n == name) {
            return Some(r.clone());
        }
        let s = self.cfg.scripts.iter().find(|s| s.name == name)?;
        let r = script_check(self.cfg, s, &mut self.warnings);
        self.done.push((name.to_string(), r.clone()));
        Some(r)
    }
}

/// keepalived's run-as rule: the script's `user`, else global `script_user`, else the user
/// `keepalived_script` if it exists, else ourselves (root). `Ok(None)`: keepalived disables
/// the script (no such default user under `enable_script_security`).
fn script_user(
    cfg: &kaconf::Config,
    s: &kaconf::VrrpScript,
) -> Result<Option<Option<RunAs>>, SpecError> {
    let chosen = s.user.as_ref().or(cfg.global.script_user.as_ref());
    match chosen {
        Some(u) => RunAs::resolve(&u.user, u.group.as_deref())
            .map(|r| Some(Some(r)))
            .map_err(|e| err(&s.location, format!("vrrp_script {}: {e}", s.name))),
        None => match RunAs::resolve("keepalived_script", None) {
            Ok(r) => Ok(Some(Some(r))),
            Err(_) if cfg.global.enable_script_security => Ok(None),
            Err(_) => Ok(Some(None)),
        },
    }
}

fn script_check(
    cfg: &kaconf::Config,
    s: &kaconf::VrrpScript,
    warnings: &mut Vec<String>,
) -> Result<Option<CheckSpec>, SpecError> {
    let loc = &s.location;
    let mut warn = |m: String| {
        warnings.push(format!(
            "{}:{}: warning: vrrp_script {}: {m}",
            loc.file, loc.line, s.name
        ))
    };
    let Some(run_as) = script_user(cfg, s)? else {
        warn(
            "no script_user and no user keepalived_script under enable_script_security: \
             disabled, as keepalived does"
                .into(),
        );
        return Ok(None);
    };
    let (uid, gid) = match &run_as {
        Some(r) => (r.uid, r.gid),
        None => (
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
        ),
    };
    let program = s.argv.first().map(String::as_str).unwrap_or("");
    match security::examine(program, uid, gid, std::env::var_os("PATH").as_deref()) {
        Verdict::Runs(_) => {}
        Verdict::NotFound(why) => {
            warn(format!("{why}: disabled, as keepalived does"));
            return Ok(None);
        }
        Verdict::Insecure { part, .. } if cfg.global.enable_script_security => {
            warn(format!(
                "unsafe permissions on {} (writable or owned by a non-root user): \
                 disabled by enable_script_security",
                part.display()
            ));
            return Ok(None);
        }
        Verdict::Insecure { part, .. } => warn(format!(
            "SECURITY VIOLATION: runs with root rights but {} is writable or owned by a \
             non-root user; set enable_script_security to refuse it",
            part.display()
        )),
    }
    Ok(Some(CheckSpec {
        name: s.name.clone(),
        kind: CheckKind::Script {
            argv: s.argv.clone(),
            run_as,
        },
        interval: s.interval,
        timeout: s.timeout,
        rise: s.rise,
        fall: s.fall,
        init_fail: s.init_fail,
    }))
}

fn native_check(c: &kaconf::NativeCheck) -> Result<CheckSpec, SpecError> {
    let kind = match &c.probe {
        kaconf::Probe::TcpConnect { addr, watch } => CheckKind::Tcp {
            addr: *addr,
            watch: *watch,
        },
        kaconf::Probe::HttpGet {
            tls,
            host,
            port,
            path,
            status,
            url: _,
        } => CheckKind::Http {
            url: HttpUrl {
                host: host.clone(),
                port: *port,
                path: path.clone(),
                tls: *tls,
            },
            status: *status,
        },
    };
    Ok(CheckSpec {
        name: c.name.clone(),
        kind,
        interval: c.interval,
        timeout: c.timeout,
        rise: c.rise,
        fall: c.fall,
        init_fail: false,
    })
}
