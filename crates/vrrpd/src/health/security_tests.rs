use super::*;

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;

/// A root-owned 0755 directory under the (sticky) temp dir, or `None` when not root.
fn base() -> Option<tempfile::TempDir> {
    if netlab::skip_unless_root() {
        return None;
    }
    let d = tempfile::tempdir().unwrap();
    chmod(d.path(), 0o755);
    Some(d)
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn script(dir: &Path, name: &str, mode: u32) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, "#!/bin/sh\nexit 0\n").unwrap();
    chmod(&p, mode);
    p
}

fn examine_root(p: &Path) -> Verdict {
    examine(p.to_str().unwrap(), 0, 0, None)
}

#[test]
fn root_owned_script_in_root_owned_dirs_runs() {
    let Some(d) = base() else { return };
    let s = script(d.path(), "ok.sh", 0o755);
    assert_eq!(examine_root(&s), Verdict::Runs(s));
}

#[test]
fn world_writable_directory_without_sticky_bit_is_unsafe() {
    let Some(d) = base() else { return };
    let ww = d.path().join("ww");
    std::fs::create_dir(&ww).unwrap();
    chmod(&ww, 0o777);
    let s = script(&ww, "fail.sh", 0o755);
    assert_eq!(
        examine_root(&s),
        Verdict::Insecure {
            program: s,
            part: ww.clone()
        }
    );
    // The sticky bit makes a world-writable directory safe, as /tmp is.
    chmod(&ww, 0o1777);
    assert!(matches!(
        examine_root(&ww.join("fail.sh")),
        Verdict::Runs(_)
    ));
}

#[test]
fn writable_or_foreign_script_file_is_unsafe_even_with_sticky_bit() {
    let Some(d) = base() else { return };
    let s = script(d.path(), "w.sh", 0o1757);
    assert!(matches!(examine_root(&s), Verdict::Insecure { part, .. } if part == s));
    let s = script(d.path(), "g.sh", 0o775);
    std::os::unix::fs::chown(&s, Some(0), Some(65534)).unwrap();
    assert!(matches!(examine_root(&s), Verdict::Insecure { part, .. } if part == s));
    // Group-writable by the root group is fine.
    std::os::unix::fs::chown(&s, Some(0), Some(0)).unwrap();
    assert!(matches!(examine_root(&s), Verdict::Runs(_)));
    let s = script(d.path(), "o.sh", 0o755);
    std::os::unix::fs::chown(&s, Some(65534), Some(0)).unwrap();
    assert!(matches!(examine_root(&s), Verdict::Insecure { part, .. } if part == s));
}

#[test]
fn an_unprivileged_run_needs_no_protection() {
    let Some(d) = base() else { return };
    let ww = d.path().join("ww");
    std::fs::create_dir(&ww).unwrap();
    chmod(&ww, 0o777);
    let s = script(&ww, "x.sh", 0o755);
    let v = examine(s.to_str().unwrap(), 65534, 65534, None);
    assert_eq!(v, Verdict::Runs(s.clone()));
    // …unless the file is set-uid root.
    chmod(&s, 0o4755);
    let v = examine(s.to_str().unwrap(), 65534, 65534, None);
    assert!(matches!(v, Verdict::Insecure { .. }), "{v:?}");
}

#[test]
fn bare_names_are_searched_on_path_and_missing_ones_are_not_found() {
    let Some(d) = base() else { return };
    let bin = d.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    chmod(&bin, 0o755);
    let s = script(&bin, "check-lb", 0o755);
    script(&bin, "not-exec", 0o644);
    let path: OsString = format!("/nonexistent:{}", bin.display()).into();
    assert_eq!(
        examine("check-lb", 0, 0, Some(&path)),
        Verdict::Runs(s.clone())
    );
    assert!(matches!(
        examine("not-exec", 0, 0, Some(&path)),
        Verdict::NotFound(_)
    ));
    assert!(matches!(
        examine("no-such-script", 0, 0, Some(&path)),
        Verdict::NotFound(_)
    ));
    assert!(matches!(
        examine_root(&bin.join("gone.sh")),
        Verdict::NotFound(_)
    ));
}

#[test]
fn system_binaries_are_safe() {
    if netlab::skip_unless_root() {
        return;
    }
    assert!(matches!(examine("/bin/true", 0, 0, None), Verdict::Runs(_)));
    assert!(matches!(examine("true", 0, 0, None), Verdict::Runs(_)));
}
