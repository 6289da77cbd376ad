//! One hook thread per machine: hooks of the units on that machine run one at a time, inside the
//! machine's namespace, with the machine's root, PATH and `systemctl`.

use super::Shared;
use crate::layout::ModelDir;
use juju_emu::{resolver, Juju, RunnerOptions};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Per-hook time limit.
pub const HOOK_TIMEOUT: Duration = Duration::from_secs(90);

/// How hooks (and actions) of machine `id` run: inside namespace `ns`, with the machine's root
/// as `KEEPALIVED_CHARM_ROOT`, its `systemctl` first on PATH, and `exe` as the hook tool.
/// A real-systemd machine (a container, see `juju bootstrap --systemd`) runs them inside the
/// container instead, with its own `/` and its real `systemctl`.
pub fn hook_options(md: &ModelDir, exe: &Path, id: &str, ns: &str) -> RunnerOptions {
    let mut o = RunnerOptions::new(exe);
    let leader = std::fs::read_to_string(md.machine_leader(id))
        .ok()
        .and_then(|t| t.trim().parse::<u32>().ok());
    if let Some(leader) = leader {
        o.extra_env = vec![
            ("JUJUSIM_MODEL_DIR".into(), md.root().display().to_string()),
            ("JUJUSIM_MACHINE".into(), id.to_string()),
            ("JUJUSIM_BIN".into(), exe.display().to_string()),
        ];
        o.command_prefix = netlab::nspawn::command_prefix(leader);
        o.timeout = HOOK_TIMEOUT;
        return o;
    }
    let root = md.machine_root(id).display().to_string();
    o.extra_env = vec![
        ("KEEPALIVED_CHARM_ROOT".into(), root),
        ("JUJUSIM_MODEL_DIR".into(), md.root().display().to_string()),
        ("JUJUSIM_MACHINE".into(), id.to_string()),
        ("JUJUSIM_BIN".into(), exe.display().to_string()),
    ];
    o.path_prefix = vec![md.machine_bin(id)];
    o.command_prefix = vec!["ip".into(), "netns".into(), "exec".into(), ns.into()];
    o.timeout = HOOK_TIMEOUT;
    o
}

struct Busy<'a>(&'a Shared);
impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Picks the next hook of a unit on machine `id` (round-robin after `cursor`).
fn pick(
    j: &Juju,
    id: &str,
    cursor: &mut u64,
) -> juju_emu::Result<Option<(String, juju_emu::HookSpec)>> {
    let mut m = j.model()?;
    if resolver::silent_steps(&mut m) {
        j.update(|m| {
            resolver::silent_steps(m);
            Ok(())
        })?;
        m = j.model()?;
    }
    let mut units: Vec<_> = m.units.values().filter(|u| u.machine == id).collect();
    units.sort_by_key(|u| u.seq);
    let n = units.len();
    let start = units.iter().position(|u| u.seq > *cursor).unwrap_or(0);
    for k in 0..n {
        let u = units[(start + k) % n];
        if let Some(spec) = resolver::next_hook(&m, &u.name) {
            *cursor = u.seq;
            return Ok(Some((u.name.clone(), spec)));
        }
    }
    Ok(None)
}

/// The machine's hook loop; ends when the machine leaves the model or on shutdown.
pub(crate) fn machine_thread(shared: Arc<Shared>, id: String, ns: String) {
    let opts = hook_options(&shared.md, &shared.exe, &id, &ns);
    let mut cursor = 0u64;
    while !shared.stopping() {
        if shared.net.machine_ns(&id).is_none() {
            return;
        }
        shared.busy.fetch_add(1, Ordering::SeqCst);
        let busy = Busy(&shared);
        let mut j = match shared.juju() {
            Ok(j) => j,
            Err(e) => {
                eprintln!("controller: machine {id}: {e}");
                drop(busy);
                shared.nap(Duration::from_millis(500));
                continue;
            }
        };
        j.opts = opts.clone();
        match pick(&j, &id, &mut cursor) {
            Ok(Some((unit, spec))) => {
                match j.run_hook(&unit, &spec) {
                    Ok(r) if r.exit_code != 0 => {
                        eprintln!(
                            "controller: {unit}: hook {} failed ({})",
                            r.hook, r.exit_code
                        )
                    }
                    Ok(_) => {}
                    Err(e) => eprintln!("controller: {unit}: {}: {e}", spec.name()),
                }
                drop(busy);
                shared.kick();
            }
            Ok(None) => {
                drop(busy);
                shared.nap(Duration::from_millis(300));
            }
            Err(e) => {
                eprintln!("controller: machine {id}: {e}");
                drop(busy);
                shared.nap(Duration::from_millis(300));
            }
        }
    }
}

/// True when no unit has a hook to run (after hook-less transitions) and none is running.
pub(crate) fn idle(shared: &Shared) -> crate::Result<bool> {
    if shared.busy.load(Ordering::SeqCst) > 0 {
        return Ok(false);
    }
    let j = shared.juju()?;
    let mut m = j.model()?;
    resolver::silent_steps(&mut m);
    let machines_ready = m
        .machines
        .keys()
        .all(|id| shared.net.machine_ns(id).is_some());
    Ok(machines_ready
        && resolver::pending(&m).is_empty()
        && shared.busy.load(Ordering::SeqCst) == 0)
}
