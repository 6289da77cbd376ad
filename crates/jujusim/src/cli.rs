//! The `juju` command line.

use crate::layout::ModelDir;
use crate::sim::Sim;
use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

/// A small Juju simulator: machines are network namespaces on one bridge.
#[derive(Debug, Parser)]
#[command(name = "juju", version, about)]
pub struct Cli {
    /// Model directory (default: $JUJUSIM_MODEL_DIR, else /tmp/jujusim/default).
    #[arg(long, global = true)]
    pub model_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Creates the model and starts its controller (other commands do this on first use).
    Bootstrap {
        /// Machines are real-systemd containers (systemd-nspawn, Debian 12) whose root file
        /// system is built once in this cache directory, e.g. target/nspawn.
        #[arg(long, value_name = "CACHE_DIR")]
        systemd: Option<PathBuf>,
    },
    /// Deploys a .charm file, a charm directory or a built-in charm.
    Deploy {
        /// Path or built-in name (kubeapi-load-balancer, kubernetes-master, kubernetes-worker).
        charm: String,
        /// Application name (default: the charm's).
        app: Option<String>,
        /// Number of units.
        #[arg(short = 'n', long = "num-units", default_value_t = 1)]
        n: usize,
        /// Initial configuration, key=value (repeatable).
        #[arg(long = "config")]
        config: Vec<String>,
    },
    /// Relates two applications (`app` or `app:endpoint`).
    #[command(alias = "add-relation", alias = "relate")]
    Integrate {
        /// One end.
        a: String,
        /// The other end.
        b: String,
    },
    /// Refreshes (upgrades) an application to a local charm: `juju refresh APP --path CHARM`.
    #[command(alias = "upgrade-charm")]
    Refresh {
        /// Application.
        app: String,
        /// The new charm (.charm file or directory).
        #[arg(long)]
        path: PathBuf,
    },
    /// Removes a relation.
    RemoveRelation {
        /// One end.
        a: String,
        /// The other end.
        b: String,
    },
    /// Shows or sets application configuration.
    Config {
        /// Application.
        app: String,
        /// `key=value` to set, or one `key` to show.
        values: Vec<String>,
        /// Options to reset to their defaults (comma-separated).
        #[arg(long)]
        reset: Option<String>,
        /// YAML settings file (`-` for stdin): `APP: {key: value, ...}`, applied before
        /// `--reset` and `key=value` as Juju does.
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Shows the model.
    Status {
        /// Only this application.
        app: Option<String>,
        /// Output format: tabular or json.
        #[arg(long, default_value = "tabular")]
        format: String,
    },
    /// Adds units of an application (each on a new machine).
    AddUnit {
        /// Application.
        app: String,
        /// Number of units.
        #[arg(short = 'n', long = "num-units", default_value_t = 1)]
        n: usize,
    },
    /// Removes units (subordinates go with their principal).
    RemoveUnit {
        /// Unit names.
        #[arg(required = true)]
        units: Vec<String>,
    },
    /// Runs an action on a unit.
    Run {
        /// Unit.
        unit: String,
        /// Action.
        action: String,
        /// Parameters, key=value.
        params: Vec<String>,
    },
    /// Shows the hook log (hooks run, juju-log lines, hook stderr).
    #[command(alias = "show-hook-log")]
    DebugLog {
        /// Only the last N hooks.
        #[arg(short = 'n', long = "lines")]
        lines: Option<usize>,
        /// Only this unit or application.
        #[arg(long)]
        include: Option<String>,
    },
    /// Waits until no hook is pending or running.
    Wait {
        /// Bound in seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Runs a command inside a machine's namespace.
    Ssh {
        /// Machine id or unit name.
        target: String,
        /// Command and arguments.
        #[arg(trailing_var_arg = true, required = true)]
        command: Vec<String>,
    },
    /// Stops the controller: every service, namespace and process goes.
    #[command(alias = "kill-controller")]
    DestroyModel {
        /// Accepted for compatibility; nothing is asked.
        #[arg(long, short = 'y')]
        no_prompt: bool,
    },
    /// Runs the end-to-end keepalived demo (needs root).
    Demo {
        /// The packed keepalived charm.
        #[arg(long, default_value = "target/charm/keepalived.charm")]
        charm: PathBuf,
        /// Keep the model running at the end (no cleanup).
        #[arg(long)]
        keep: bool,
        /// Machines are real-systemd containers (see `bootstrap --systemd`).
        #[arg(long, value_name = "CACHE_DIR")]
        systemd: Option<PathBuf>,
    },
    /// Controller process (started by other commands).
    #[command(hide = true)]
    Controller,
    /// The simulator's `systemctl` for a machine (called by the per-machine shim).
    #[command(hide = true)]
    SimSystemctl {
        /// Machine id.
        machine: String,
        /// systemctl arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// The simulator's `juju-exec` for a machine (called by the per-machine shim).
    #[command(hide = true)]
    SimJujuExec {
        /// Machine id.
        machine: String,
        /// juju-exec arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// A built-in charm's hook (called by its dispatch).
    #[command(hide = true)]
    SimCharm {
        /// Charm name.
        name: String,
    },
    /// The load balancer stand-in's TLS listener.
    #[command(hide = true)]
    SimTlsServer {
        #[arg(long)]
        cert: PathBuf,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        port: u16,
        #[arg(long)]
        name: String,
    },
    /// Plugs (up) or unplugs (down) a machine's or host's cable.
    #[command(hide = true)]
    SimLink {
        /// Machine id or host name.
        target: String,
        /// up or down.
        state: String,
    },
    /// Adds a non-machine host on the segment.
    #[command(hide = true)]
    SimAddHost {
        /// Host name.
        name: String,
        /// Address/prefix.
        cidr: String,
    },
    /// Lists namespaces.
    #[command(hide = true)]
    SimHosts,
}

fn kv(items: &[String]) -> Result<Vec<(String, String)>> {
    items
        .iter()
        .map(|s| {
            s.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| anyhow!("expected key=value, got {s:?}"))
        })
        .collect()
}

fn exe() -> Result<PathBuf> {
    std::env::current_exe().context("locating the juju executable")
}

/// Runs a parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    let md = ModelDir::resolve(cli.model_dir.as_deref());
    let sim = Sim::new(md.clone(), exe()?);
    match cli.cmd {
        Cmd::Bootstrap { systemd } => {
            if let Some(cache) = systemd {
                sim.use_systemd_machines(&cache)?;
            }
            sim.bootstrap()?;
            let h = sim.hosts()?;
            println!(
                "Controller running for model {} (bridge in namespace {})",
                md.root().display(),
                h.switch
            );
        }
        Cmd::Deploy {
            charm,
            app,
            n,
            config,
        } => {
            let units = sim.deploy(&charm, app.as_deref(), n, &kv(&config)?)?;
            let name = app.unwrap_or_else(|| sim_app_name(&sim, &charm));
            eprintln!("Deployed {name:?} from {charm}");
            for u in units {
                eprintln!("  added unit {u}");
            }
        }
        Cmd::Integrate { a, b } => {
            sim.bootstrap()?;
            sim.relate(&a, &b)?;
        }
        Cmd::Refresh { app, path } => {
            sim.refresh(&app, &path)?;
            eprintln!(
                "Added local charm {:?}, to refresh application {app:?}",
                path
            );
        }
        Cmd::RemoveRelation { a, b } => {
            sim.remove_relation(&a, &b)?;
        }
        Cmd::Config {
            app,
            values,
            reset,
            file,
        } => return config(&sim, &app, &values, reset, file),
        Cmd::Status { app, format } => {
            if format == "json" {
                println!("{}", serde_json::to_string_pretty(&sim.model()?)?);
            } else {
                print!("{}", sim.status_text(app.as_deref())?);
            }
        }
        Cmd::AddUnit { app, n } => {
            for u in sim.add_units(&app, n)? {
                eprintln!("added unit {u}");
            }
        }
        Cmd::RemoveUnit { units } => {
            for u in units {
                sim.remove_unit(&u)?;
                eprintln!("will remove unit {u}");
            }
        }
        Cmd::Run {
            unit,
            action,
            params,
        } => {
            let r = sim.run_action(&unit, &action, &kv(&params)?)?;
            if let serde_json::Value::Object(o) = &r.results {
                for (k, v) in o {
                    match v {
                        serde_json::Value::String(s) => println!("{k}: {s}"),
                        other => println!("{k}: {other}"),
                    }
                }
            }
            if !r.stdout.is_empty() {
                print!("{}", r.stdout);
            }
            if r.failed {
                eprintln!("ERROR action {action} on {unit} failed: {}", r.message);
                return Ok(1);
            }
        }
        Cmd::DebugLog { lines, include } => debug_log(&sim, lines, include.as_deref())?,
        Cmd::Wait { timeout } => {
            sim.wait_idle(Duration::from_secs(timeout))?;
            let m = sim.model()?;
            let errs: Vec<_> = m
                .units
                .values()
                .filter(|u| u.agent_status.status == "error")
                .collect();
            for u in &errs {
                eprintln!("{} is in error: {}", u.name, u.agent_status.message);
            }
            if !errs.is_empty() {
                return Ok(1);
            }
        }
        Cmd::Ssh { target, command } => {
            let m = sim.model()?;
            let id = match m.units.get(&target) {
                Some(u) => u.machine.clone(),
                None => target.clone(),
            };
            // `juju ssh N sudo reboot`: the simulator reboots the machine (services stop and
            // the enabled ones start again, /run is emptied, started units run `start`).
            let words: Vec<&str> = command
                .iter()
                .map(String::as_str)
                .skip_while(|w| *w == "sudo" || *w == "--")
                .collect();
            if words == ["reboot"] || words == ["shutdown", "-r", "now"] {
                sim.reboot(&id)?;
                eprintln!("Connection to machine {id} closed by remote host.");
                return Ok(0);
            }
            let ns = sim
                .hosts()?
                .machines
                .get(&id)
                .cloned()
                .ok_or_else(|| anyhow!("no running machine {target:?}"))?;
            let st = std::process::Command::new("ip")
                .args(["netns", "exec", &ns])
                .args(&command)
                .status()?;
            return Ok(st.code().unwrap_or(1));
        }
        Cmd::DestroyModel { .. } => {
            if sim.destroy()? {
                eprintln!("Controller stopped; every namespace and process removed.");
            } else {
                eprintln!("No controller was running; stale simulator namespaces swept.");
            }
        }
        Cmd::Demo {
            charm,
            keep,
            systemd,
        } => {
            return crate::demo::run(&crate::demo::DemoOptions {
                charm,
                systemd,
                juju: exe()?,
                model_dir: cli.model_dir.clone(),
                keep,
            })
            .map(|_| 0)
        }
        Cmd::Controller => {
            crate::controller::run(md)?;
        }
        Cmd::SimSystemctl { machine, args } => {
            let v = sim.call(
                &crate::proto::Request::Systemctl { machine, args },
                Duration::from_secs(120),
            )?;
            print!("{}", v.get("stdout").and_then(|s| s.as_str()).unwrap_or(""));
            eprint!("{}", v.get("stderr").and_then(|s| s.as_str()).unwrap_or(""));
            return Ok(v.get("code").and_then(|c| c.as_i64()).unwrap_or(1) as i32);
        }
        Cmd::SimJujuExec { machine, args } => {
            // juju's RunCommand.Init: never from inside a hook (exit 2, an Init error).
            if let Some(id) = std::env::var("JUJU_CONTEXT_ID")
                .ok()
                .filter(|v| !v.is_empty())
            {
                eprintln!(
                    "ERROR juju-exec cannot be called from within a hook, have context {id:?}"
                );
                return Ok(2);
            }
            let v = sim.call(
                &crate::proto::Request::Exec { machine, args },
                Duration::from_secs(crate::controller::HOOK_TIMEOUT.as_secs() + 30),
            )?;
            print!("{}", v.get("stdout").and_then(|s| s.as_str()).unwrap_or(""));
            eprint!("{}", v.get("stderr").and_then(|s| s.as_str()).unwrap_or(""));
            return Ok(v.get("code").and_then(|c| c.as_i64()).unwrap_or(1) as i32);
        }
        Cmd::SimCharm { name } => {
            if let Err(e) = crate::simcharms::dispatch(&name) {
                eprintln!("{name}: {e}");
                return Ok(1);
            }
        }
        Cmd::SimTlsServer {
            cert,
            key,
            port,
            name,
        } => {
            crate::simcharms::tls::serve(&cert, &key, port, &name)?;
        }
        Cmd::SimLink { target, state } => {
            let up = match state.as_str() {
                "up" => true,
                "down" => false,
                s => bail!("state must be up or down, not {s:?}"),
            };
            sim.set_link(&target, up)?;
        }
        Cmd::SimAddHost { name, cidr } => {
            sim.bootstrap()?;
            println!("{}", sim.add_host(&name, &cidr)?);
        }
        Cmd::SimHosts => {
            let h = sim.hosts()?;
            println!("switch {}", h.switch);
            for (id, ns) in h.machines {
                println!("machine {id} {ns}");
            }
            for (n, ns) in h.hosts {
                println!("host {n} {ns}");
            }
        }
    }
    Ok(0)
}

fn sim_app_name(_sim: &Sim, charm: &str) -> String {
    std::path::Path::new(charm)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| charm.to_string())
}

fn config(
    sim: &Sim,
    app: &str,
    values: &[String],
    reset: Option<String>,
    file: Option<PathBuf>,
) -> Result<i32> {
    // Juju 3.x (cmd/juju/config ConfigCommandBase): --file, then --reset, then key=value.
    let changes = file.is_some() || reset.is_some();
    if let Some(f) = file {
        let text = if f.as_os_str() == "-" {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                .context("reading settings from stdin")?;
            s
        } else {
            std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?
        };
        sim.config_set_yaml(app, &text)?;
    }
    if let Some(r) = reset {
        let keys: Vec<String> = r.split(',').map(|s| s.trim().to_string()).collect();
        sim.config_reset(app, &keys)?;
    }
    let sets: Vec<&String> = values.iter().filter(|v| v.contains('=')).collect();
    let gets: Vec<&String> = values.iter().filter(|v| !v.contains('=')).collect();
    if !sets.is_empty() && !gets.is_empty() {
        bail!("cannot mix key=value and key arguments");
    }
    if !sets.is_empty() {
        let owned: Vec<String> = sets.into_iter().cloned().collect();
        sim.config_set(app, &kv(&owned)?)?;
        return Ok(0);
    }
    if changes && gets.is_empty() {
        return Ok(0);
    }
    let m = sim.model()?;
    let a = m.app(app)?;
    let eff = a.effective_config();
    if let [key] = gets.as_slice() {
        if !a.charm.config.contains_key(key.as_str()) {
            bail!("key {key:?} not found in {app:?} application config or charm settings");
        }
        // `fmt.Fprintln(ctx.Stdout, v)`: Go's %v (a float64 1 prints as `1`).
        match eff.get(key.as_str()) {
            Some(serde_json::Value::String(s)) => println!("{s}"),
            Some(serde_json::Value::Number(n)) if n.is_f64() => {
                println!(
                    "{}",
                    juju_emu::config::go_float(n.as_f64().unwrap_or_default())
                )
            }
            Some(v) => println!("{v}"),
            None => println!(),
        }
        return Ok(0);
    }
    println!("application: {app}\ncharm: {}\nsettings:", a.charm.name);
    for (k, opt) in &a.charm.config {
        let source = if a.config.contains_key(k) {
            "user"
        } else {
            "default"
        };
        println!("  {k}:");
        if let Some(d) = &opt.default {
            println!("    default: {d}");
        }
        println!("    source: {source}");
        println!(
            "    type: {}",
            serde_json::to_value(opt.ty)?.as_str().unwrap_or("")
        );
        if let Some(v) = eff.get(k) {
            println!("    value: {v}");
        }
    }
    Ok(0)
}

fn debug_log(sim: &Sim, lines: Option<usize>, include: Option<&str>) -> Result<()> {
    let log = sim.juju()?.hook_log()?;
    let keep: Vec<_> = log
        .iter()
        .filter(|r| include.is_none_or(|i| r.unit == i || r.unit.split('/').next() == Some(i)))
        .collect();
    let skip = lines.map(|n| keep.len().saturating_sub(n)).unwrap_or(0);
    for r in keep.into_iter().skip(skip) {
        let tag = format!("unit-{}", r.unit.replace('/', "-"));
        for l in &r.logs {
            println!("{tag}: {} unit.{}.juju-log {}", l.level, r.unit, l.message);
        }
        for l in r.stderr.lines().filter(|l| !l.trim().is_empty()) {
            println!("{tag}: WARNING unit.{}.{} {l}", r.unit, r.hook);
        }
        let via = if r.missing {
            "missing"
        } else {
            "hook dispatching script: dispatch"
        };
        if r.exit_code == 0 {
            println!(
                "{tag}: INFO juju.worker.uniter.operation ran \"{}\" hook (via {via})",
                r.hook
            );
        } else {
            println!(
                "{tag}: ERROR juju.worker.uniter.operation hook \"{}\" (via {via}) failed: exit status {}",
                r.hook, r.exit_code
            );
        }
    }
    Ok(())
}
