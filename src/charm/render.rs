//! Renders the three host files from the tera templates in `templates/` (embedded at build time).
use serde::Serialize;
use tera::{Context, Tera};

const CONF: &str = include_str!("../../templates/vrrpd.conf.tera");
const UNIT: &str = include_str!("../../templates/vrrpd.service.tera");
const SYSCTL: &str = include_str!("../../templates/sysctl.conf.tera");
const REFRESH_PATH: &str = include_str!("../../templates/vrrpd-status-refresh.path.tera");
const REFRESH_SERVICE: &str = include_str!("../../templates/vrrpd-status-refresh.service.tera");
const REFRESH_SCRIPT: &str = include_str!("../../templates/status-refresh.sh.tera");

/// A template failed to render (a charm bug, never operator input).
#[derive(Debug, thiserror::Error)]
#[error("cannot render {template}: {detail}")]
pub struct RenderError {
    /// Template name.
    pub template: &'static str,
    /// tera's error chain.
    pub detail: String,
}

/// The native health check of the local load balancer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckSpec {
    /// Name referenced from `track_script`.
    pub name: String,
    /// TCP port on 127.0.0.1.
    pub port: u16,
    /// Interval (and timeout) in decimal seconds.
    pub interval: String,
}

/// One `vrrp_instance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceSpec {
    /// Instance name, e.g. `VI_23` or `VI6_23`.
    pub name: String,
    /// VRRP interface.
    pub interface: String,
    /// Virtual router id.
    pub vrid: u8,
    /// Base priority.
    pub priority: u8,
    /// 2 or 3.
    pub version: u8,
    /// Advert interval in decimal seconds (with `adaptive_floor`: the ceiling and the start).
    pub advert_int: String,
    /// `vrrpd_adaptive_interval FLOOR` (decimal seconds): the master chooses its interval between
    /// FLOOR and `advert_int` (see `desired::AUTO_FLOOR_CS`); `None` = fixed `advert_int`.
    pub adaptive_floor: Option<String>,
    /// Render `nopreempt`.
    pub nopreempt: bool,
    /// PASS authentication (v2 only).
    pub auth_pass: Option<String>,
    /// Unicast mode.
    pub unicast: bool,
    /// Own source address in unicast mode.
    pub unicast_src: Option<String>,
    /// Peer addresses in unicast mode.
    pub unicast_peers: Vec<String>,
    /// `ADDR/PREFIX` lines.
    pub vips: Vec<String>,
    /// Render `vrrpd_v2_compat` (RFC 5798 §8.4; see `desired::v2_compat_needed`).
    pub v2_compat: bool,
}

/// Everything the worker config needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkerConfigSpec {
    /// The Juju unit, for the header.
    pub unit: String,
    /// `global_defs router_id`.
    pub router_name: String,
    /// `global_defs vrrp_rt_priority` (SCHED_RR priority of the VRRP loop; see
    /// `desired::RT_PRIORITY`).
    pub rt_priority: u8,
    /// The health check.
    pub check: CheckSpec,
    /// `vrrpd_metrics_listen ADDR:PORT` (IPv6 bracketed), when metrics are on.
    pub metrics_listen: Option<String>,
    /// Instances, IPv4 first.
    pub instances: Vec<InstanceSpec>,
}

/// Paths the systemd unit refers to (absolute host paths).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitSpec {
    /// The worker binary.
    pub binary: String,
    /// The worker config.
    pub config: String,
    /// The state file.
    pub state: String,
    /// The state file's directory.
    pub state_dir: String,
}

/// The status refresh after transitions: a `.path` unit on vrrpd's transitions file starts a
/// oneshot whose script runs `juju-exec -u UNIT hooks/update-status` (absolute host paths).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefreshSpec {
    /// The Juju unit, e.g. `keepalived/0`.
    pub unit: String,
    /// vrrpd's `--transitions-file`.
    pub transitions: String,
    /// The script the oneshot runs.
    pub script: String,
    /// Juju 3's `juju-exec`.
    pub juju_exec: String,
    /// Juju 2.9's `juju-run`.
    pub juju_run: String,
}

/// The three files of the status refresh: (`.path` unit, `.service` unit, script).
pub fn refresh_files(spec: &RefreshSpec) -> Result<(String, String, String), RenderError> {
    let path = "vrrpd-status-refresh.path.tera";
    let service = "vrrpd-status-refresh.service.tera";
    let script = "status-refresh.sh.tera";
    Ok((
        render(path, REFRESH_PATH, &context(path, spec)?)?,
        render(service, REFRESH_SERVICE, &context(service, spec)?)?,
        render(script, REFRESH_SCRIPT, &context(script, spec)?)?,
    ))
}

fn render(name: &'static str, src: &str, ctx: &Context) -> Result<String, RenderError> {
    let err = |e: tera::Error| {
        let mut detail = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            detail.push_str(": ");
            detail.push_str(&s.to_string());
            source = s.source();
        }
        RenderError {
            template: name,
            detail,
        }
    };
    let mut tera = Tera::default();
    tera.autoescape_on(vec![]);
    tera.add_raw_template(name, src).map_err(err)?;
    tera.render(name, ctx).map_err(err)
}

fn context<T: Serialize>(name: &'static str, v: &T) -> Result<Context, RenderError> {
    Context::from_serialize(v).map_err(|e| RenderError {
        template: name,
        detail: e.to_string(),
    })
}

/// Renders `vrrpd.conf`.
pub fn worker_config(spec: &WorkerConfigSpec) -> Result<String, RenderError> {
    render("vrrpd.conf.tera", CONF, &context("vrrpd.conf.tera", spec)?)
}

/// Renders `vrrpd.service`.
pub fn unit_file(spec: &UnitSpec) -> Result<String, RenderError> {
    render(
        "vrrpd.service.tera",
        UNIT,
        &context("vrrpd.service.tera", spec)?,
    )
}

/// Renders `50-keepalived.conf`.
pub fn sysctl_file(ipv6: bool) -> Result<String, RenderError> {
    let mut ctx = Context::new();
    ctx.insert("ipv6", &ipv6);
    render("sysctl.conf.tera", SYSCTL, &ctx)
}

/// Formats centiseconds as decimal seconds without trailing zeros (`100` → `1`, `10` → `0.1`).
pub fn seconds(cs: u32) -> String {
    let (s, frac) = (cs / 100, cs % 100);
    match frac {
        0 => s.to_string(),
        f if f % 10 == 0 => format!("{s}.{}", f / 10),
        f => format!("{s}.{f:02}"),
    }
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
