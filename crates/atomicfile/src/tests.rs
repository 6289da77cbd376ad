use super::*;

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn mode_of(p: &Path) -> u32 {
    fs::metadata(p).unwrap().mode() & 0o7777
}

#[test]
fn replaces_content_with_exact_mode_and_leaves_no_temp() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("state.json");
    write(&p, b"one", 0o600).unwrap();
    assert_eq!(mode_of(&p), 0o600);
    write(&p, b"two", 0o755).unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"two");
    assert_eq!(mode_of(&p), 0o755, "the mode is set, not just kept");
    // 0o666 with the usual umask 022 would come out 0o644 without the explicit chmod.
    write(&p, b"three", 0o666).unwrap();
    assert_eq!(mode_of(&p), 0o666, "the umask does not apply");
    assert_eq!(entries(d.path()), ["state.json"]);
}

#[test]
fn missing_directory_is_an_error_naming_the_path_unless_asked_to_create() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("a/b/conf");
    let e = write(&p, b"x", 0o644).unwrap_err();
    assert_eq!(e.step(), Step::Write);
    assert_eq!(e.kind(), io::ErrorKind::NotFound);
    assert_eq!(e.path(), p);
    assert!(e.to_string().contains("a/b/conf"), "{e}");
    write_with(&p, b"x", &Options::mode(0o640).create_dirs()).unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"x");
    assert_eq!(mode_of(&p), 0o640);
}

#[test]
fn a_failed_write_leaves_the_old_file_and_no_temp() {
    let d = tempfile::tempdir().unwrap();
    // A 250-byte name fits (NAME_MAX is 255) but its temp name, longer by the prefix and the
    // suffix, does not: creating the temp file fails after the target exists, also as root.
    let p = d.path().join("c".repeat(250));
    fs::write(&p, b"old").unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
    let e = write(&p, b"new", 0o600).unwrap_err();
    assert_eq!(e.step(), Step::Write, "{e}");
    assert_eq!(fs::read(&p).unwrap(), b"old", "the old content stays");
    assert_eq!(mode_of(&p), 0o644, "and its mode");
    assert_eq!(entries(d.path()).len(), 1, "no temp file left");
}

#[test]
fn a_failed_rename_removes_the_temp_file() {
    let d = tempfile::tempdir().unwrap();
    // Renaming a file over a non-empty directory fails (EISDIR/ENOTEMPTY).
    let p = d.path().join("taken");
    fs::create_dir(&p).unwrap();
    fs::write(p.join("inside"), b"keep").unwrap();
    let e = write(&p, b"x", 0o644).unwrap_err();
    assert_eq!(e.step(), Step::Rename, "{e}");
    assert_eq!(entries(d.path()), ["taken"], "no temp file left");
    assert_eq!(fs::read(p.join("inside")).unwrap(), b"keep");
}

#[test]
fn write_if_changed_writes_only_on_content_or_mode_change() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("a/b/conf");
    assert!(write_if_changed(&p, b"x", 0o600).unwrap());
    assert_eq!(mode_of(&p), 0o600);
    let ino = fs::metadata(&p).unwrap().ino();
    assert!(!write_if_changed(&p, b"x", 0o600).unwrap());
    assert_eq!(
        fs::metadata(&p).unwrap().ino(),
        ino,
        "an unchanged file is not rewritten"
    );
    assert!(
        write_if_changed(&p, b"x", 0o644).unwrap(),
        "a mode change is a change"
    );
    assert!(write_if_changed(&p, b"y", 0o644).unwrap());
    assert_eq!(fs::read(&p).unwrap(), b"y");
    assert_eq!(entries(p.parent().unwrap()), ["conf"]);
    assert!(remove_if_exists(&p).unwrap());
    assert!(!remove_if_exists(&p).unwrap());
}

#[test]
fn owner_is_applied_when_root() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("owned");
    let me = fs::metadata(d.path()).unwrap();
    // Giving the file to its current owner works unprivileged; another owner needs root.
    write_with(&p, b"x", &Options::mode(0o644).owner(me.uid(), me.gid())).unwrap();
    assert_eq!(fs::metadata(&p).unwrap().uid(), me.uid());
    let other = write_with(&p, b"y", &Options::mode(0o644).owner(65534, 65534));
    if me.uid() == 0 {
        other.unwrap();
        let m = fs::metadata(&p).unwrap();
        assert_eq!((m.uid(), m.gid()), (65534, 65534));
    } else {
        assert_eq!(other.unwrap_err().kind(), io::ErrorKind::PermissionDenied);
        assert_eq!(fs::read(&p).unwrap(), b"x");
    }
}

#[test]
fn concurrent_writers_never_leave_a_torn_file() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("shared");
    let a = vec![b'a'; 64 * 1024];
    let b = vec![b'b'; 64 * 1024];
    std::thread::scope(|s| {
        for bytes in [&a, &b] {
            let p = &p;
            s.spawn(move || {
                for _ in 0..20 {
                    write(p, bytes, 0o644).unwrap();
                }
            });
        }
    });
    let got = fs::read(&p).unwrap();
    assert!(got == a || got == b, "one writer's content, whole");
    assert_eq!(entries(d.path()), ["shared"]);
}
