//! `cargo xtask demo`: pack the charm, unpack it, and run a 2-unit deployment's hooks under the
//! Juju emulator (juju-emu) with fake systemctl/sysctl and per-unit roots from `tests/fakes`.
//! No network namespaces, no real worker: the full simulator demo comes with the simulator issue.
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{bail, Context, Result};
use juju_emu::{locate_or_build_hook_tool, Juju, RunnerOptions};

use crate::sh;

fn unzip(charm: &Path, dir: &Path) -> Result<()> {
    let mut z = zip::ZipArchive::new(std::fs::File::open(charm)?)?;
    for i in 0..z.len() {
        let mut f = z.by_index(i)?;
        let Some(rel) = f.enclosed_name() else {
            bail!("unsafe path in {}", charm.display())
        };
        let out = dir.join(rel);
        if f.is_dir() {
            std::fs::create_dir_all(&out)?;
            continue;
        }
        if let Some(p) = out.parent() {
            std::fs::create_dir_all(p)?;
        }
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        std::fs::write(&out, buf)?;
        if let Some(mode) = f.unix_mode() {
            std::fs::set_permissions(&out, std::fs::Permissions::from_mode(mode & 0o7777))?;
        }
    }
    Ok(())
}

fn show(juju: &Juju, rels: &[(u64, &str)]) -> Result<()> {
    let m = juju.model()?;
    for u in m.units.values().filter(|u| u.app == "keepalived") {
        println!(
            "  {:14} {:8} {}",
            u.name, u.workload_status.status, u.workload_status.message
        );
        for (id, name) in rels {
            let d = juju.relation_data(*id, &u.name)?;
            let shown: Vec<String> = d
                .iter()
                .filter(|(k, _)| !["egress-subnets", "ingress-address"].contains(&k.as_str()))
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            println!("      {name:13} {}", shown.join(" "));
        }
    }
    Ok(())
}

/// Runs the demo.
pub fn run() -> Result<()> {
    let charm = crate::pack::pack()?;
    let root = sh::root();
    let work = root.join("target/demo");
    if work.exists() {
        std::fs::remove_dir_all(&work)?;
    }
    let charm_dir = work.join("keepalived");
    unzip(&charm, &charm_dir).context("unpacking the charm")?;
    let fakes = work.join("fakebin");
    std::fs::create_dir_all(&fakes)?;
    for f in ["systemctl", "sysctl"] {
        std::fs::copy(root.join("tests/fakes").join(f), fakes.join(f))?;
    }
    let plain = |name: &str, meta: &str| -> Result<std::path::PathBuf> {
        let d = work.join(name);
        std::fs::create_dir_all(&d)?;
        std::fs::write(d.join("metadata.yaml"), meta)?;
        Ok(d)
    };
    let lb = plain(
        "lb",
        "name: kubeapi-load-balancer\nsummary: s\ndescription: d\n",
    )?;
    let cp = plain(
        "cp",
        "name: kubernetes-control-plane\nsummary: s\ndescription: d\nrequires:\n  loadbalancer:\n    interface: public-address\n",
    )?;
    let mut opts = RunnerOptions::new(locate_or_build_hook_tool().context("juju-emu hook tool")?);
    opts.path_prefix.push(fakes);
    opts.extra_env.push((
        "KEEPALIVED_TEST_ROOTS".into(),
        work.join("roots").display().to_string(),
    ));
    opts.command_prefix = vec![root.join("tests/fakes/per-unit-root").display().to_string()];
    let mut juju = Juju::create(&work.join("model"), opts)?;
    juju.deploy("kubeapi-load-balancer", &lb, 2)?;
    juju.deploy("kubernetes-control-plane", &cp, 1)?;
    juju.deploy("keepalived", &charm_dir, 0)?;
    juju.relate("keepalived:juju-info", "kubeapi-load-balancer")?;
    let lbrel = juju.relate("keepalived:loadbalancer", "kubernetes-control-plane")?;
    let rels = [(lbrel, "loadbalancer")];
    let step = |juju: &mut Juju, title: &str| -> Result<()> {
        let recs = juju.settle()?;
        println!("\n== {title} ({} hooks)", recs.len());
        for r in recs.iter().filter(|r| !r.ok()) {
            println!("  FAILED {} on {}: {}", r.hook, r.unit, r.stderr.trim());
        }
        Ok(())
    };
    step(
        &mut juju,
        "deploy keepalived on 2 load balancer units, relate loadbalancer",
    )?;
    show(&juju, &rels)?;
    juju.set_config(
        "keepalived",
        &[
            ("virtual_ip", "192.0.2.250/24"),
            ("network_interface", "lo"),
        ],
    )?;
    step(
        &mut juju,
        "juju config keepalived virtual_ip=192.0.2.250/24 network_interface=lo",
    )?;
    show(&juju, &rels)?;
    juju.set_config("keepalived", &[("router_id", "300")])?;
    step(
        &mut juju,
        "juju config keepalived router_id=300 (invalid: nothing else changes)",
    )?;
    show(&juju, &rels)?;
    juju.set_config("keepalived", &[("router_id", "23")])?;
    juju.remove_unit("kubeapi-load-balancer/1")?;
    step(
        &mut juju,
        "router_id=23 again; juju remove-unit kubeapi-load-balancer/1",
    )?;
    show(&juju, &rels)?;
    println!(
        "\nUnit roots (rendered files, fake systemd call logs): {}",
        work.join("roots").display()
    );
    println!(
        "This demo runs the packed charm's hooks under the Juju emulator with fake systemctl/sysctl;\n\
         the worker does not run and no VIP moves. The network-namespace demo with real vrrpd\n\
         failover comes with the simulator issue."
    );
    Ok(())
}
