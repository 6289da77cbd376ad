//! `enable_script_security` and missing scripts mean the same to vrrpd as to keepalived 2.2.7:
//! each case runs both daemons on the same keepalived.conf, a lone instance tracking one
//! always-failing weight-0 `vrrp_script`. A script keepalived disables (unsafe path under
//! `enable_script_security`, not found, no default script user) no longer tracks, so the
//! instance becomes MASTER; a script that runs keeps it out of MASTER.
//! Root and keepalived required; skipped otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use common::{keepalived_available, skip, Bed, Inst, Kind};

fn skip_all() -> bool {
    skip() || (!keepalived_available() && netlab::skip("keepalived is not installed"))
}

/// The instance's config with `global` lines and a tracked failing `script`.
fn conf(kind: Kind, iface: &str, global: &str, script: &str) -> String {
    let base = Inst::v3(100).render(kind, iface);
    let with_global = base.replacen("global_defs {\n", &format!("global_defs {{\n{global}"), 1);
    with_global.replacen(
        "vrrp_instance VI_1 {\n",
        &format!(
            "vrrp_script chk {{\n    script \"{script}\"\n    interval 1\n    weight 0\n}}\n\
             vrrp_instance VI_1 {{\n    track_script {{\n        chk\n    }}\n"
        ),
        1,
    )
}

/// A failing script in a world-writable directory without the sticky bit (unsafe for root).
fn unsafe_script(dir: &Path) -> String {
    let ww = dir.join("ww");
    std::fs::create_dir(&ww).unwrap();
    std::fs::set_permissions(&ww, std::fs::Permissions::from_mode(0o777)).unwrap();
    let s = ww.join("fail.sh");
    std::fs::write(&s, "#!/bin/sh\nexit 1\n").unwrap();
    std::fs::set_permissions(&s, std::fs::Permissions::from_mode(0o755)).unwrap();
    s.to_str().unwrap().to_string()
}

/// Runs `kind` on the case and reports whether it held the VIP 3 s later.
fn holds_vip(tag: &str, kind: Kind, global: &str, script: impl Fn(&Path) -> String) -> bool {
    let mut bed = Bed::new(tag, vec![(kind, Inst::v3(100))]);
    let vip = bed.vip();
    let node = &mut bed.nodes[0];
    // The node's directory is 0700 root: safe, like /etc/keepalived.
    std::fs::set_permissions(node.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = script(node.dir.path());
    let c = conf(kind, node.host.ifname(), global, &script);
    node.start_with_conf(&c);
    // The master down interval at 100 ms adverts is under half a second and the script has
    // run (and failed) at least twice after 3 s; a daemon that tracks it has let go by then.
    std::thread::sleep(Duration::from_secs(3));
    let holds = node.holds(vip);
    if let Some(p) = &node.proc {
        eprintln!("--- {tag} {kind:?}\n{}", p.stderr());
    }
    holds
}

fn both(tag: &str, global: &str, script: impl Fn(&Path) -> String + Copy) -> (bool, bool) {
    let k = holds_vip(&format!("{tag}k"), Kind::Keepalived, global, script);
    let w = holds_vip(&format!("{tag}w"), Kind::Worker, global, script);
    (k, w)
}

#[test]
fn unsafe_script_is_disabled_only_under_enable_script_security() {
    if skip_all() {
        return;
    }
    let secure = "    enable_script_security\n    script_user root\n";
    assert_eq!(
        both("sson", secure, unsafe_script),
        (true, true),
        "disabled: the failing script no longer tracks"
    );
    assert_eq!(
        both("ssoff", "    script_user root\n", unsafe_script),
        (false, false),
        "runs (with a SECURITY VIOLATION warning) and fails"
    );
}

#[test]
fn missing_scripts_are_disabled() {
    if skip_all() {
        return;
    }
    let missing = |d: &Path| d.join("no-such-check.sh").to_str().unwrap().to_string();
    assert_eq!(both("ssmiss", "", missing), (true, true));
    let not_on_path = |_: &Path| "no-such-check-on-path".to_string();
    assert_eq!(both("ssnop", "", not_on_path), (true, true));
}

#[test]
fn no_default_script_user_under_security_disables_the_script() {
    if skip_all() {
        return;
    }
    if nix::unistd::User::from_name("keepalived_script")
        .ok()
        .flatten()
        .is_some()
    {
        // Then both daemons run it as that user; nothing to compare here.
        return;
    }
    let fail = |_: &Path| "/bin/false".to_string();
    assert_eq!(
        both("ssnou", "    enable_script_security\n", fail),
        (true, true)
    );
    // The same script with a script user runs and fails.
    assert_eq!(
        both(
            "ssroot",
            "    enable_script_security\n    script_user root\n",
            fail
        ),
        (false, false)
    );
}
