//! Shared fixtures: two tiny charms (a principal and a subordinate) with a shell `dispatch`
//! that logs its env and sources per-hook control scripts, and a model around them.
#![allow(dead_code)]

use juju_emu::{HookRecord, Juju, RunnerOptions};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub const DISPATCH: &str = r#"#!/bin/sh
hook=$(basename "$JUJU_DISPATCH_PATH")
echo "$JUJU_UNIT_NAME $JUJU_DISPATCH_PATH rid=$JUJU_RELATION_ID ru=$JUJU_REMOTE_UNIT ra=$JUJU_REMOTE_APP dep=$JUJU_DEPARTING_UNIT pu=$JUJU_PRINCIPAL_UNIT base=$JUJU_TARGET_BASE" >> "$EMU_LOG"
u=$(echo "$JUJU_UNIT_NAME" | tr / -)
for f in "$EMU_CTL/all/$hook" "$EMU_CTL/$u/$hook"; do
  if [ -f "$f" ]; then . "$f"; fi
done
exit 0
"#;

pub const SUB_META: &str = "name: tsub
subordinate: true
requires:
  juju-info: {interface: juju-info, scope: container}
  lb-sink: {interface: http}
provides:
  website: {interface: http}
peers:
  cluster: {interface: tsub-peer}
";

pub const SUB_CONFIG: &str = "options:
  spline-reticulation: {type: int, default: 45}
  monsters: {type: boolean, default: false}
  title: {type: string, default: My Title}
  empty: {type: string, default: \"\"}
  nodefault: {type: string, description: none}
  ratio: {type: float, default: 2.0}
";

pub const PRIN_META: &str = "name: tprin
provides:
  website: {interface: http}
";

pub fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

pub fn charm(dir: &Path, meta: &str, config: Option<&str>, actions: Option<&str>) -> PathBuf {
    write(&dir.join("metadata.yaml"), meta);
    if let Some(c) = config {
        write(&dir.join("config.yaml"), c);
    }
    if let Some(a) = actions {
        write(&dir.join("actions.yaml"), a);
    }
    let d = dir.join("dispatch");
    write(&d, DISPATCH);
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir.to_path_buf()
}

pub struct Fx {
    pub tmp: tempfile::TempDir,
    pub juju: Juju,
    pub log: PathBuf,
    pub ctl: PathBuf,
    pub sub: PathBuf,
    pub prin: PathBuf,
}

impl Fx {
    pub fn new() -> Fx {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("hooks.log");
        let ctl = tmp.path().join("ctl");
        std::fs::create_dir_all(ctl.join("all")).unwrap();
        std::fs::write(&log, "").unwrap();
        let sub = charm(
            &tmp.path().join("sub"),
            SUB_META,
            Some(SUB_CONFIG),
            Some("do-thing:\n  params:\n    x: {default: \"1\"}\n"),
        );
        let prin = charm(&tmp.path().join("prin"), PRIN_META, None, None);
        let mut opts = RunnerOptions::new(env!("CARGO_BIN_EXE_juju-hook-tool"));
        opts.extra_env
            .push(("EMU_LOG".into(), log.display().to_string()));
        opts.extra_env
            .push(("EMU_CTL".into(), ctl.display().to_string()));
        opts.max_settle_hooks = 200;
        let juju = Juju::create(&tmp.path().join("model"), opts).unwrap();
        Fx {
            tmp,
            juju,
            log,
            ctl,
            sub,
            prin,
        }
    }

    /// Control script for `hook` on `unit` ("all" for every unit).
    pub fn on(&self, unit: &str, hook: &str, script: &str) {
        write(&self.ctl.join(unit.replace('/', "-")).join(hook), script);
    }

    pub fn off(&self, unit: &str, hook: &str) {
        let _ = std::fs::remove_file(self.ctl.join(unit.replace('/', "-")).join(hook));
    }

    pub fn settle(&mut self) -> Vec<HookRecord> {
        self.juju.settle().unwrap()
    }

    /// Standard topology: tprin with `n` units, tsub related over juju-info.
    pub fn deploy(&mut self, n: usize) -> u64 {
        self.juju.deploy("tprin", &self.prin, n).unwrap();
        self.juju.deploy("tsub", &self.sub, 0).unwrap();
        self.juju.relate("tsub:juju-info", "tprin").unwrap()
    }

    pub fn logged(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

/// Hook names with remote unit, e.g. `cluster-relation-joined(tsub/1)`.
pub fn hooks_detail(records: &[HookRecord], unit: &str) -> Vec<String> {
    records
        .iter()
        .filter(|r| r.unit == unit)
        .map(|r| match &r.spec.relation {
            Some(rel)
                if r.spec.kind != juju_emu::HookKind::RelationCreated
                    && r.spec.kind != juju_emu::HookKind::RelationBroken =>
            {
                format!("{}({})", r.hook, rel.remote_unit)
            }
            _ => r.hook.clone(),
        })
        .collect()
}
