//! The end-to-end demo: the documented keepalived deployment, run for real in the simulator,
//! then proof (client reaches the VIP, certificate names it, failover timeline), then cleanup.
//! The step functions are public so the integration tests run the very same flow.

use crate::error::{Error, Result};
use crate::layout::ModelDir;
use crate::proof;
use crate::sim::Sim;
use juju_emu::Model;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The VIP the demo floats (documentation range, inside the lab only).
pub const VIP: &str = "192.0.2.250";
/// `virtual_ip` as configured.
pub const VIP_CIDR: &str = "192.0.2.250/24";
/// `vip_hostname`.
pub const VIP_HOSTNAME: &str = "test.example.com";
/// The client host's address.
pub const CLIENT_CIDR: &str = "192.0.2.200/24";
/// Bound for each "wait until" of the flow.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(180);

/// Demo options.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The packed keepalived charm.
    pub charm: PathBuf,
    /// The `juju` executable (controller, hook tools, simulator charms).
    pub juju: PathBuf,
    /// Model directory (default: a fresh one under /tmp).
    pub model_dir: Option<PathBuf>,
    /// Leave everything running at the end.
    pub keep: bool,
    /// Real-systemd machines, root file system cached in this directory (`None`: namespaces
    /// with the simulator's `systemctl`, the fast default).
    pub systemd: Option<PathBuf>,
}

/// Prints a narrated step with the elapsed time.
pub struct Narrator {
    start: Instant,
    quiet: bool,
}

impl Narrator {
    /// Starts the clock.
    pub fn new(quiet: bool) -> Narrator {
        Narrator {
            start: Instant::now(),
            quiet,
        }
    }
    /// `==> [  12.3s] text`.
    pub fn step(&self, text: &str) {
        if !self.quiet {
            println!("\n==> [{:6.1}s] {text}", self.start.elapsed().as_secs_f64());
        }
    }
    /// An indented detail line (or block).
    pub fn say(&self, text: &str) {
        if !self.quiet {
            for l in text.lines() {
                println!("    {l}");
            }
        }
    }
    /// A `$ juju …` line.
    pub fn cmd(&self, text: &str) {
        if !self.quiet {
            println!("    $ {text}");
        }
    }
}

/// Units of `app` whose workload message starts with `prefix` and whose status is `status`.
pub fn units_with(m: &Model, app: &str, status: &str, prefix: &str) -> usize {
    m.units
        .values()
        .filter(|u| u.app == app && u.workload_status.status == status)
        .filter(|u| u.workload_status.message.starts_with(prefix))
        .count()
}

/// Every unit of `app` (at least `n`) is `active` with `VIP ready…`.
pub fn vip_ready(m: &Model, app: &str, n: usize) -> bool {
    let total = m.units.values().filter(|u| u.app == app).count();
    total >= n && units_with(m, app, "active", "VIP ready") == total
}

/// Machines (id, namespace) whose eth0 holds `ip`.
pub fn holders(sim: &Sim, ip: &str) -> Result<Vec<(String, String)>> {
    Ok(sim
        .hosts()?
        .machines
        .into_iter()
        .filter(|(_, ns)| proof::holds(ns, ip))
        .collect())
}

fn kv(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Steps 1–3: the CK ≤ 1.21 bundle part (load balancer ×2, master, worker, their relations),
/// then the keepalived charm, its four relations, its config and the SANs; waits for `VIP ready`.
pub fn deploy_seed(sim: &Sim, charm: &Path, n: &Narrator) -> Result<Model> {
    n.step("Deploying the Charmed Kubernetes stand-ins (each machine on a network namespace of its own)");
    n.cmd("juju deploy kubeapi-load-balancer -n 2");
    sim.deploy("kubeapi-load-balancer", None, 2, &[])?;
    n.cmd("juju deploy kubernetes-master");
    sim.deploy("kubernetes-master", None, 1, &[])?;
    n.cmd("juju deploy kubernetes-worker");
    sim.deploy("kubernetes-worker", None, 1, &[])?;
    for (a, b) in [
        (
            "kubeapi-load-balancer:loadbalancer",
            "kubernetes-master:loadbalancer",
        ),
        (
            "kubeapi-load-balancer:website",
            "kubernetes-worker:kube-api-endpoint",
        ),
    ] {
        n.cmd(&format!("juju add-relation {a} {b}"));
        sim.relate(a, b)?;
    }
    sim.wait_idle(STEP_TIMEOUT)?;
    n.say(&sim.status_text(None)?);

    n.step("Deploying the packed keepalived charm and relating it as the docs say");
    n.cmd(&format!("juju deploy {}", charm.display()));
    sim.deploy(&charm.display().to_string(), Some("keepalived"), 0, &[])?;
    for (a, b) in [
        ("keepalived:juju-info", "kubeapi-load-balancer:juju-info"),
        ("keepalived:lb-sink", "kubeapi-load-balancer:website"),
        ("keepalived:loadbalancer", "kubernetes-master:loadbalancer"),
        ("keepalived:website", "kubernetes-worker:kube-api-endpoint"),
    ] {
        n.cmd(&format!("juju add-relation {a} {b}"));
        sim.relate(a, b)?;
    }
    n.cmd(&format!(
        "juju config keepalived virtual_ip={VIP_CIDR} vip_hostname={VIP_HOSTNAME}"
    ));
    sim.config_set(
        "keepalived",
        &kv(&[("virtual_ip", VIP_CIDR), ("vip_hostname", VIP_HOSTNAME)]),
    )?;
    let sans = format!("{VIP} {VIP_HOSTNAME}");
    for app in ["kubeapi-load-balancer", "kubernetes-master"] {
        n.cmd(&format!("juju config {app} extra_sans=\"{sans}\""));
        sim.config_set(app, &kv(&[("extra_sans", &sans)]))?;
    }
    n.step("Waiting until every keepalived unit is `VIP ready` (juju status keepalived)");
    sim.wait_for("every keepalived unit to be VIP ready", STEP_TIMEOUT, |m| {
        vip_ready(m, "keepalived", 2)
    })?;
    sim.wait_idle(STEP_TIMEOUT)?;
    n.say(&sim.status_text(Some("keepalived"))?);
    sim.model()
}

/// Step 4: `juju add-unit kubeapi-load-balancer -n 2`, then the docs' two `remove-relation`s.
pub fn scale_and_trim(sim: &Sim, n: &Narrator) -> Result<Model> {
    n.step("Scaling the load balancer: every new unit gets a keepalived subordinate");
    n.cmd("juju add-unit kubeapi-load-balancer -n 2");
    sim.add_units("kubeapi-load-balancer", 2)?;
    sim.wait_for("4 keepalived units to be VIP ready", STEP_TIMEOUT, |m| {
        vip_ready(m, "keepalived", 4)
    })?;
    n.step("Removing the relations the VIP replaces (otherwise consumers see several endpoints)");
    for (a, b) in [
        (
            "kubernetes-worker:kube-api-endpoint",
            "kubeapi-load-balancer:website",
        ),
        (
            "kubernetes-master:loadbalancer",
            "kubeapi-load-balancer:loadbalancer",
        ),
    ] {
        n.cmd(&format!("juju remove-relation {a} {b}"));
        sim.remove_relation(a, b)?;
    }
    sim.wait_idle(STEP_TIMEOUT)?;
    let m = sim.model()?;
    for app in ["kubernetes-master", "kubernetes-worker"] {
        for u in m.units.values().filter(|u| u.app == app) {
            n.say(&format!("{}: {}", u.name, u.workload_status.message));
        }
    }
    Ok(m)
}

/// What the failover measurement found.
#[derive(Debug, Clone)]
pub struct Failover {
    /// The machine that held the VIP.
    pub from: String,
    /// The machine that holds it once things settled (the same single holder in two polls
    /// [`SETTLE_POLL`] apart, confirmed again at the end).
    pub to: String,
    /// Every machine that added the VIP after the cable pull, in order (more than one when
    /// several backups took it for a moment before the highest priority won).
    pub brief_holders: Vec<String>,
    /// How long the client could not connect (None: it never failed).
    pub gap: Option<Duration>,
    /// Failed probes.
    pub failed_probes: usize,
    /// Timeline lines, relative to the cable pull.
    pub timeline: Vec<String>,
}

/// How far apart two polls must see the same single holder for the failover to count as settled.
pub const SETTLE_POLL: Duration = Duration::from_millis(300);

/// The machines that added the VIP at or after `t0`, each once, in order of their first add.
pub fn machines_that_added(events: &[proof::AddrEvent], t0: Instant) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in events.iter().filter(|e| e.added && e.at >= t0) {
        if !out.contains(&e.machine) {
            out.push(e.machine.clone());
        }
    }
    out
}

/// Where the VIP went: `the VIP moved from machine 1 to machine 0`, plus how many machines
/// briefly held it when that was more than the final holder.
pub fn moved_text(from: &str, to: &str, brief_holders: &[String]) -> String {
    let mut text = format!("the VIP moved from machine {from} to machine {to}");
    if brief_holders.len() > 1 {
        text.push_str(&format!(
            " ({} machines briefly held it: {}; machine {to} kept it)",
            brief_holders.len(),
            brief_holders.join(", ")
        ));
    }
    text
}

/// Pulls the VIP holder's cable while a client probes `VIP:443` every 5 ms; returns the timeline.
pub fn failover(sim: &Sim, client_ns: &str, n: &Narrator) -> Result<Failover> {
    let hosts = sim.hosts()?;
    let before = holders(sim, VIP)?;
    let [(from, _)] = before.as_slice() else {
        return Err(Error::Invalid(format!(
            "expected one VIP holder, found {before:?}"
        )));
    };
    let from = from.clone();
    let lb_machines: Vec<(String, String)> = hosts.machines.clone().into_iter().collect();
    let monitor = proof::AddrMonitor::start(&lb_machines, VIP)?;
    let stop = Arc::new(AtomicBool::new(false));
    let addr = format!("{VIP}:443")
        .parse()
        .map_err(|_| Error::Invalid("VIP".into()))?;
    let prober = proof::spawn_prober(
        client_ns,
        addr,
        Duration::from_millis(5),
        Duration::from_secs(60),
        stop.clone(),
    )?;
    std::thread::sleep(Duration::from_millis(500));
    n.step(&format!("Pulling the cable of machine {from} (it holds the VIP); a client probes {VIP}:443 every 5 ms"));
    let t0 = Instant::now();
    sim.set_link(&from, false)?;
    // Bounded (30 s): until another machine is the only holder in two polls SETTLE_POLL
    // apart. One poll is not enough: several backups may add the VIP within a millisecond and
    // all but one drop it again, and a poll walks the machines one after the other.
    let deadline = t0 + Duration::from_secs(30);
    let mut to = None;
    let mut candidate: Option<String> = None;
    while Instant::now() < deadline {
        let h = holders(sim, VIP)?;
        match h.as_slice() {
            [(id, _)] if *id != from => {
                if candidate.as_ref() == Some(id) {
                    to = Some(id.clone());
                    break;
                }
                candidate = Some(id.clone());
                std::thread::sleep(SETTLE_POLL);
            }
            _ => {
                candidate = None;
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
    std::thread::sleep(Duration::from_millis(1500));
    // Whoever holds it alone now is where it settled.
    if let [(id, _)] = holders(sim, VIP)?.as_slice() {
        if to.is_some() && *id != from {
            to = Some(id.clone());
        }
    }
    stop.store(true, Ordering::SeqCst);
    let log = prober.join()?;
    let events = monitor.events();
    drop(monitor);
    let to = to.ok_or_else(|| Error::Timeout {
        what: "another machine to take the VIP".into(),
        secs: 30.0,
    })?;
    let rel = |t: Instant| {
        if t >= t0 {
            format!("+{:>6.1} ms", t.duration_since(t0).as_secs_f64() * 1000.0)
        } else {
            format!("-{:>6.1} ms", t0.duration_since(t).as_secs_f64() * 1000.0)
        }
    };
    let mut tl: Vec<(Instant, String)> = vec![(t0, format!("cable of machine {from} pulled"))];
    for e in events.iter().filter(|e| e.at >= t0) {
        let what = if e.added {
            "VIP added on"
        } else {
            "VIP removed from"
        };
        tl.push((e.at, format!("{what} machine {}", e.machine)));
    }
    let brief_holders = machines_that_added(&events, t0);
    let moved = moved_text(&from, &to, &brief_holders);
    let outage = log.longest_outage(t0);
    let (gap, failed) = match outage {
        Some((s, Some(e), k)) => {
            tl.push((s, "client: first failed connect".into()));
            tl.push((e, "client: connects again".into()));
            (Some(e.duration_since(s)), k)
        }
        Some((s, None, k)) => {
            tl.push((s, "client: first failed connect (never recovered)".into()));
            (None, k)
        }
        None => (None, 0),
    };
    tl.sort_by_key(|(t, _)| *t);
    let timeline: Vec<String> = tl
        .iter()
        .map(|(t, s)| format!("{}  {s}", rel(*t)))
        .collect();
    for l in &timeline {
        n.say(l);
    }
    match gap {
        Some(g) => n.say(&format!(
            "the client could not connect for {:.0} ms ({failed} failed probes of {}); {moved}",
            g.as_secs_f64() * 1000.0,
            log.probes.len()
        )),
        None if failed == 0 => n.say(&format!("the client never failed to connect; {moved}")),
        None => n.say("the client did not get through again within the bound"),
    }
    Ok(Failover {
        from,
        to,
        brief_holders,
        gap,
        failed_probes: failed,
        timeline,
    })
}

struct Cleanup<'a> {
    sim: &'a Sim,
    keep: bool,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if self.keep {
            println!(
                "\n(--keep: the model stays up; `juju --model-dir {} destroy-model` removes it)",
                self.sim.md.root().display()
            );
            return;
        }
        match self.sim.destroy() {
            Ok(_) => println!(
                "\nCleaned up: the controller stopped, every namespace and process is gone."
            ),
            Err(e) => eprintln!("\ncleanup: {e}"),
        }
    }
}

/// Runs the whole demo. Needs root (network namespaces) and the packed charm.
pub fn run(o: &DemoOptions) -> anyhow::Result<()> {
    if netlab::require_root().is_err() {
        anyhow::bail!(
            "the demo needs root: its machines are network namespaces joined by a bridge (run it as root, e.g. `sudo -E cargo xtask demo`)"
        );
    }
    if !o.charm.is_file() {
        anyhow::bail!(
            "{} not found: build it with `cargo xtask pack` first",
            o.charm.display()
        );
    }
    let started = Instant::now();
    let dir = o.model_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("jujusim-demo-{}", std::process::id()))
    });
    let sim = Sim::new(ModelDir::new(&dir), &o.juju);
    if sim.controller_alive() {
        sim.destroy()?;
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let n = Narrator::new(false);
    n.step(&format!(
        "Bootstrapping the simulator (model directory {})",
        dir.display()
    ));
    match &o.systemd {
        Some(cache) => {
            n.cmd(&format!("juju bootstrap --systemd {}", cache.display()));
            std::fs::create_dir_all(&dir)?;
            let rootfs = sim.use_systemd_machines(cache)?;
            n.say(&format!(
                "machines are systemd-nspawn containers running Debian 12's systemd 252 as PID 1 \
                 (root file system {}, {} in {:.1} s)",
                rootfs.dir().display(),
                if rootfs.built { "built" } else { "cached" },
                rootfs.took.as_secs_f64()
            ));
        }
        None => n.cmd("juju bootstrap"),
    }
    sim.bootstrap()?;
    let cleanup = Cleanup {
        sim: &sim,
        keep: o.keep,
    };
    deploy_seed(&sim, &o.charm, &n)?;
    scale_and_trim(&sim, &n)?;

    n.step(&format!(
        "Proof 1: a client at {CLIENT_CIDR} reaches https://{VIP}:443"
    ));
    let client = sim.add_host("client", CLIENT_CIDR)?;
    let cert = proof::served_cert(&client, VIP, 443, VIP_HOSTNAME)?;
    n.cmd(&format!("openssl s_client -connect {VIP}:443 -servername {VIP_HOSTNAME} | openssl x509 -noout -subject -ext subjectAltName"));
    n.say(&cert.text);
    n.say(&format!("served by: {}", cert.served_by));
    let ok_ip = cert.text.contains(&format!("IP Address:{VIP}"));
    let ok_dns = cert.text.contains(&format!("DNS:{VIP_HOSTNAME}"));
    n.say(&format!(
        "certificate names the VIP: {}; names {VIP_HOSTNAME}: {}",
        if ok_ip { "yes" } else { "NO" },
        if ok_dns { "yes" } else { "NO" }
    ));
    let h = holders(&sim, VIP)?;
    n.say(&format!(
        "machines holding {VIP}: {:?}",
        h.iter().map(|x| &x.0).collect::<Vec<_>>()
    ));

    let f = failover(&sim, &client, &n)?;
    n.step(&format!(
        "Plugging machine {}'s cable back in (the VIP stays where it is: no preemption)",
        f.from
    ));
    sim.set_link(&f.from, true)?;
    std::thread::sleep(Duration::from_secs(2));
    let h = holders(&sim, VIP)?;
    n.say(&format!(
        "machines holding {VIP}: {:?}",
        h.iter().map(|x| &x.0).collect::<Vec<_>>()
    ));
    sim.call(&crate::proto::Request::Kick, Duration::from_secs(5))?;
    let _ = sim.juju()?.request_update_status(None);
    sim.wait_idle(STEP_TIMEOUT)?;
    n.step("juju status");
    n.say(&sim.status_text(None)?);
    drop(cleanup);
    let leftover: Vec<String> = netlab::list_netns()?
        .into_iter()
        .filter(|ns| ns.contains("-jujusim-"))
        .collect();
    if !o.keep {
        println!(
            "namespaces left: {}",
            if leftover.is_empty() {
                "none".to_string()
            } else {
                leftover.join(" ")
            }
        );
    }
    println!(
        "\nDemo done in {:.1} s; failover gap seen by the client: {}",
        started.elapsed().as_secs_f64(),
        f.gap
            .map(|g| format!("{:.0} ms", g.as_secs_f64() * 1000.0))
            .unwrap_or_else(|| "none".into())
    );
    if !(ok_ip && ok_dns) {
        anyhow::bail!("the certificate served on the VIP lacks the VIP or its hostname");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(at: Instant, machine: &str, added: bool) -> proof::AddrEvent {
        proof::AddrEvent {
            at,
            machine: machine.into(),
            added,
        }
    }

    #[test]
    fn the_summary_names_the_final_holder_and_the_brief_ones() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_micros(n);
        // The run that printed "moved from machine 1 to machine 5": 4, 5 and 0 added the VIP
        // within 0.5 ms, 4 and 5 dropped it, 0 kept it.
        let events = [
            ev(t0 - Duration::from_secs(1), "1", true),
            ev(ms(100), "1", false),
            ev(ms(300_000), "4", true),
            ev(ms(300_200), "5", true),
            ev(ms(300_450), "0", true),
            ev(ms(301_000), "4", false),
            ev(ms(301_100), "5", false),
            ev(ms(302_000), "4", true),
        ];
        let brief = machines_that_added(&events, t0);
        assert_eq!(brief, ["4", "5", "0"]);
        assert_eq!(
            moved_text("1", "0", &brief),
            "the VIP moved from machine 1 to machine 0 (3 machines briefly held it: 4, 5, 0; machine 0 kept it)"
        );
        assert_eq!(
            moved_text("1", "4", &["4".to_string()]),
            "the VIP moved from machine 1 to machine 4"
        );
    }
}
