//! `cargo xtask pack`: build static release binaries for amd64 and arm64, assemble one `.charm`
//! zip per architecture, check every binary in it, lint each with charmcraft.
//!
//! The zips are assembled here (not with `charmcraft pack`) because charmcraft can only build on an
//! Ubuntu host of the same release or inside LXD; see docs/juju-hook-environment.md §4.
//! `charmcraft.yaml` describes the same builds for charmcraft, as far as its schema allows.
//!
//! The binaries are linked statically against musl (`<triple>-unknown-linux-musl`, toolchain in
//! `.cargo/config.toml`), so they run on every Ubuntu base whatever its glibc. Pack refuses a
//! charm whose binary is for another machine, or needs a newer glibc than the oldest base listed.
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use zip::write::SimpleFileOptions;

use crate::elf::{self, GlibcVersion};
use crate::sh;

/// An architecture the charm ships for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// x86-64.
    Amd64,
    /// AArch64.
    Arm64,
}

impl Arch {
    /// Every architecture packed, amd64 first (`keepalived.charm` is the amd64 one).
    pub const ALL: [Arch; 2] = [Arch::Amd64, Arch::Arm64];
    /// The architecture of this machine (the one whose charm runs here without qemu).
    pub fn host() -> Arch {
        if cfg!(target_arch = "aarch64") {
            Arch::Arm64
        } else {
            Arch::Amd64
        }
    }
    /// The Juju / Debian name (manifest `architectures`, charm file name).
    pub fn juju(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
        }
    }
    /// The Rust target the binaries are built for.
    pub fn rust_target(self) -> &'static str {
        match self {
            Arch::Amd64 => "x86_64-unknown-linux-musl",
            Arch::Arm64 => "aarch64-unknown-linux-musl",
        }
    }
    /// The ELF `e_machine` its binaries must carry.
    pub fn e_machine(self) -> u16 {
        match self {
            Arch::Amd64 => elf::EM_X86_64,
            Arch::Arm64 => elf::EM_AARCH64,
        }
    }
}

/// Bases listed in every manifest (a subordinate runs wherever its principal runs: Juju refuses
/// to relate it to a principal whose base it does not list), with the glibc each one ships.
pub const BASES: [(&str, (u32, u32)); 3] =
    [("20.04", (2, 31)), ("22.04", (2, 35)), ("24.04", (2, 39))];
/// Linters `charmcraft analyse` may flag without failing the check.
const IGNORED_LINTERS: &str = "naming-conventions";
/// Binaries in the charm: (path in the zip, cargo binary name).
const BINARIES: [(&str, &str); 2] = [("dispatch", "keepalived-charm"), ("bin/vrrpd", "vrrpd")];
/// What the cross build runs or includes besides cargo, and the Debian package of each:
/// musl-gcc (ring's C for x86_64-musl), the aarch64 C compiler/linker (ring's C and asm, and the
/// final link) and the C headers it includes (`stdint.h` via gcc's `#include_next`; rustc links
/// its own musl, not these). `cargo xtask test` installs them (test.rs PACKAGES).
pub const BUILD_TOOLS: [(&str, &str); 3] = [
    ("musl-gcc", "musl-tools"),
    ("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu"),
    (
        "/usr/aarch64-linux-gnu/include/stdint.h",
        "libc6-dev-arm64-cross",
    ),
];

/// The oldest glibc of the listed bases: no binary may need a newer one.
pub fn glibc_floor() -> GlibcVersion {
    let (maj, min) = BASES.iter().map(|(_, g)| *g).min().unwrap_or((2, 31));
    GlibcVersion::new(maj, min)
}

/// The path of the charm for `arch`: `target/charm/keepalived_<arch>.charm`.
pub fn charm_path(arch: Arch) -> PathBuf {
    sh::root()
        .join("target/charm")
        .join(format!("keepalived_{}.charm", arch.juju()))
}

/// Adds the Rust targets that are missing (rustup) and checks that the C cross toolchain is
/// installed (the Debian packages are installed by `cargo xtask test`, see [`BUILD_TOOLS`]).
pub fn ensure_toolchain() -> Result<()> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("running rustup (the musl targets are added with it)")?;
    let installed = String::from_utf8_lossy(&out.stdout).into_owned();
    let missing: Vec<&str> = Arch::ALL
        .iter()
        .map(|a| a.rust_target())
        .filter(|t| !installed.lines().any(|l| l.trim() == *t))
        .collect();
    if !missing.is_empty() {
        let mut add = Command::new("rustup");
        add.args(["target", "add"]).args(&missing);
        sh::run(add).context("rustup target add")?;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let present = |what: &str| {
        if what.starts_with('/') {
            Path::new(what).is_file()
        } else {
            std::env::split_paths(&path).any(|d| d.join(what).is_file())
        }
    };
    let lacking: Vec<&str> = BUILD_TOOLS
        .iter()
        .filter(|(what, _)| !present(what))
        .map(|(_, pkg)| *pkg)
        .collect();
    if !lacking.is_empty() {
        bail!(
            "the cross build needs Debian packages {0} (cargo xtask test installs them; or \
             apt-get install --no-install-recommends {0})",
            lacking.join(" ")
        );
    }
    Ok(())
}

/// Builds the static release binaries for every architecture, writes
/// `target/charm/keepalived_<arch>.charm` for each (checked, see [`verify_charm`]) and
/// `target/charm/keepalived.charm` (the amd64 one, used by the demo and the tests).
/// Returns the charms, amd64 first.
pub fn pack_all() -> Result<Vec<(Arch, PathBuf)>> {
    let root = sh::root();
    if !root.join("crates/vrrpd/src/main.rs").exists() {
        bail!("crates/vrrpd has no binary yet (crates/vrrpd/src/main.rs is missing); the worker is built by another task");
    }
    ensure_toolchain()?;
    let mut build = sh::cargo();
    build.args(["build", "--release", "-p", "keepalived", "-p", "vrrpd"]);
    for a in Arch::ALL {
        build.args(["--target", a.rust_target()]);
    }
    sh::run(build).context("building the release binaries of keepalived-charm and vrrpd")?;
    let out_dir = root.join("target/charm");
    fs::create_dir_all(&out_dir)?;
    let mut charms = Vec::new();
    for arch in Arch::ALL {
        let rel = sh::target_dir().join(arch.rust_target()).join("release");
        let mut bins = Vec::new();
        for (inside, name) in BINARIES {
            let b = rel.join(name);
            if !b.is_file() {
                bail!(
                    "{} was not built (does the crate define that binary?)",
                    b.display()
                );
            }
            let data = fs::read(&b).with_context(|| b.display().to_string())?;
            let report = check_binary(&data, arch)
                .with_context(|| format!("{} ({})", b.display(), arch.juju()))?;
            eprintln!("  {:5} {inside:9} {report}", arch.juju());
            bins.push((inside, data));
        }
        let out = charm_path(arch);
        let tmp = out_dir.join(format!(".keepalived_{}.charm.tmp", arch.juju()));
        write_zip(&tmp, &root, arch, &bins)
            .with_context(|| format!("writing {}", tmp.display()))?;
        verify_charm(&tmp, arch).with_context(|| format!("checking {}", tmp.display()))?;
        fs::rename(&tmp, &out)?;
        eprintln!(
            "wrote {} ({} bytes)",
            out.display(),
            fs::metadata(&out)?.len()
        );
        charms.push((arch, out));
    }
    // keepalived.charm stays the amd64 charm: the demo and the tests deploy it.
    let default = out_dir.join("keepalived.charm");
    let tmp = out_dir.join(".keepalived.charm.tmp");
    fs::copy(charm_path(Arch::Amd64), &tmp)?;
    fs::rename(&tmp, &default)?;
    eprintln!("wrote {} (= keepalived_amd64.charm)", default.display());
    Ok(charms)
}

/// Packs every architecture and returns `target/charm/keepalived.charm` (amd64).
pub fn pack() -> Result<PathBuf> {
    pack_all()?;
    Ok(sh::root().join("target/charm/keepalived.charm"))
}

/// Checks one binary for `arch`: the right ELF machine, and either static (no loader, no shared
/// library) or needing no glibc newer than the oldest base's. Returns a one-line description.
pub fn check_binary(data: &[u8], arch: Arch) -> Result<String> {
    let info = elf::parse(data)?;
    if info.machine != arch.e_machine() {
        bail!(
            "built for {}, packed as {}",
            elf::machine_name(info.machine),
            arch.juju()
        );
    }
    let size = data.len();
    if info.is_static() {
        return Ok(format!("static, no glibc needed, {size} bytes"));
    }
    if let Some(loader) = info.interp.as_deref().filter(|l| !l.contains("/ld-linux")) {
        bail!("dynamic with loader {loader}, which is not glibc's (Ubuntu has no other)");
    }
    let private = info.glibc_private();
    if !private.is_empty() {
        bail!("needs {} (tied to one glibc build)", private.join(", "));
    }
    let floor = glibc_floor();
    match info.glibc_floor() {
        Some(v) if v > floor => bail!(
            "needs GLIBC_{v}, but the oldest listed base (ubuntu {}) has glibc {floor}",
            BASES[0].0
        ),
        Some(v) => Ok(format!(
            "dynamic ({}), needs GLIBC_{v} <= {floor}, {size} bytes",
            info.needed.join(" ")
        )),
        None => Ok(format!(
            "dynamic ({}), no glibc version needed, {size} bytes",
            info.needed.join(" ")
        )),
    }
}

/// Reads a packed charm back and checks what ships: the manifest lists exactly `arch` on every
/// base, and every binary passes [`check_binary`] for `arch`.
pub fn verify_charm(charm: &Path, arch: Arch) -> Result<()> {
    let mut z = zip::ZipArchive::new(fs::File::open(charm)?)?;
    let mut read = |name: &str| -> Result<Vec<u8>> {
        let mut f = z.by_name(name).with_context(|| format!("{name} missing"))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        Ok(buf)
    };
    let manifest = String::from_utf8(read("manifest.yaml")?)?;
    if manifest != self::manifest(arch) {
        bail!("manifest.yaml is not the {} manifest", arch.juju());
    }
    for (inside, _) in BINARIES {
        check_binary(&read(inside)?, arch).with_context(|| format!("{inside} in the charm"))?;
    }
    Ok(())
}

/// `manifest.yaml` as charmcraft would write it for these bases on `arch`.
pub fn manifest(arch: Arch) -> String {
    let mut m = String::from(
        "analysis:\n  attributes:\n  - name: language\n    result: unknown\n  - name: framework\n    result: unknown\n",
    );
    m.push_str("bases:\n");
    for (b, _) in BASES {
        m.push_str(&format!(
            "- architectures:\n  - {}\n  channel: '{b}'\n  name: ubuntu\n",
            arch.juju()
        ));
    }
    m.push_str("charmcraft-started-at: '1970-01-01T00:00:00Z'\ncharmcraft-version: 4.5.0\n");
    m
}

fn write_zip(path: &Path, root: &Path, arch: Arch, bins: &[(&str, Vec<u8>)]) -> Result<()> {
    let file = fs::File::create(path)?;
    let mut zip = zip::ZipWriter::new(file);
    let opts = |mode: u32| {
        SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(mode)
    };
    let add =
        |zip: &mut zip::ZipWriter<fs::File>, name: &str, data: &[u8], mode: u32| -> Result<()> {
            zip.start_file(name, opts(mode))?;
            zip.write_all(data)?;
            Ok(())
        };
    for f in ["metadata.yaml", "config.yaml", "actions.yaml"] {
        add(
            &mut zip,
            f,
            &fs::read(root.join(f)).with_context(|| f.to_string())?,
            0o644,
        )?;
    }
    add(&mut zip, "manifest.yaml", manifest(arch).as_bytes(), 0o644)?;
    zip.add_directory("bin/", opts(0o755))?;
    for (inside, data) in bins {
        add(&mut zip, inside, data, 0o755)?;
        if *inside == "bin/vrrpd" {
            // The hooks compare this stamp, not the binary (see src/charm/workerbin.rs).
            let stamp = crate::stamp::worker_stamp(data);
            add(
                &mut zip,
                crate::stamp::WORKER_STAMP,
                stamp.as_bytes(),
                0o644,
            )?;
        }
    }
    for (dir, mode) in [("hooks", 0o755), ("templates", 0o644)] {
        zip.add_directory(format!("{dir}/"), opts(0o755))?;
        let mut names: Vec<String> = fs::read_dir(root.join(dir))?
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect();
        names.sort();
        for n in names {
            add(
                &mut zip,
                &format!("{dir}/{n}"),
                &fs::read(root.join(dir).join(&n))?,
                mode,
            )?;
        }
    }
    zip.finish()?;
    Ok(())
}

/// The charmcraft virtualenv under `target/`, created on first use.
pub fn charmcraft() -> Result<PathBuf> {
    let venv = sh::root().join("target/charmcraft-venv");
    let bin = venv.join("bin/charmcraft");
    if !bin.exists() {
        let mut mk = Command::new("python3");
        mk.args(["-m", "venv"]).arg(&venv);
        sh::run(mk).context("creating the charmcraft venv (is python3-venv installed?)")?;
        let mut pip = Command::new(venv.join("bin/pip"));
        pip.args(["install", "--quiet", "charmcraft"]);
        sh::run(pip).context("pip install charmcraft")?;
    }
    Ok(bin)
}

/// Runs `charmcraft analyse --format=json` and fails on any lint result other than ok,
/// nonapplicable or ignored (attributes such as `language` are informational).
pub fn analyse(charm: &Path) -> Result<()> {
    let bin = charmcraft()?;
    let mut cmd = Command::new(&bin);
    cmd.args([
        "analyse",
        "--format=json",
        &format!("--ignore={IGNORED_LINTERS}"),
    ])
    .arg(charm);
    cmd.env("XDG_RUNTIME_DIR", std::env::temp_dir());
    eprintln!("+ {}", sh::show(&cmd));
    let out = cmd.output().context("running charmcraft analyse")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let results: serde_json::Value = serde_json::from_str(stdout.trim()).with_context(|| {
        format!(
            "charmcraft analyse printed no JSON (rc {:?}): {stdout}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    let mut bad = Vec::new();
    let mut ignored_warning = false;
    for r in results.as_array().map(Vec::as_slice).unwrap_or_default() {
        let field = |k: &str| r.get(k).and_then(|v| v.as_str()).unwrap_or("?").to_string();
        let (name, kind, result) = (field("name"), field("check_type"), field("result"));
        let text = field("text").replace('\n', " ");
        println!("  {kind:9} {name:20} {result:14} {text}");
        if kind == "attribute" || matches!(result.as_str(), "ok" | "nonapplicable" | "ignored") {
            continue;
        }
        // charmcraft 4.5 reports ignored linters anyway (and exits 3), so filter them here.
        if IGNORED_LINTERS.split(',').any(|l| l == name) {
            ignored_warning = true;
            continue;
        }
        bad.push(format!("{name}: {result} {text}"));
    }
    let rc = out.status.code();
    let rc_ok = rc == Some(0) || (rc == Some(3) && ignored_warning);
    if !bad.is_empty() || !rc_ok {
        bail!("charmcraft analyse failed (rc {rc:?}): {}", bad.join("; "));
    }
    println!("charmcraft analyse: ok (ignoring {IGNORED_LINTERS}: the option names must stay compatible)");
    Ok(())
}

/// `cargo xtask pack`: every charm, each analysed. Returns `target/charm/keepalived.charm`.
pub fn pack_and_analyse() -> Result<PathBuf> {
    for (arch, charm) in pack_all()? {
        println!("charmcraft analyse {} ({})", charm.display(), arch.juju());
        analyse(&charm)?;
    }
    Ok(sh::root().join("target/charm/keepalived.charm"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_glibc_floor_is_the_oldest_bases() {
        assert_eq!(glibc_floor(), GlibcVersion::new(2, 31));
    }

    #[test]
    fn each_manifest_lists_every_base_for_its_architecture_only() {
        for arch in Arch::ALL {
            let m = manifest(arch);
            for (channel, _) in BASES {
                assert!(m.contains(&format!("channel: '{channel}'")), "{m}");
            }
            assert_eq!(
                m.matches(&format!("  - {}\n", arch.juju())).count(),
                BASES.len()
            );
            for other in Arch::ALL.into_iter().filter(|a| *a != arch) {
                assert!(!m.contains(other.juju()), "{m}");
            }
        }
    }

    /// charmcraft.yaml describes the same builds as far as its "bases" form can: one entry per
    /// architecture, built on that architecture, running on the listed bases of that
    /// architecture except 24.04 (not a legacy base; charmcraft refuses it there).
    #[test]
    fn charmcraft_yaml_matches_the_packed_manifests() {
        let text = fs::read_to_string(sh::root().join("charmcraft.yaml")).unwrap();
        let y: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let bases = y["bases"].as_sequence().expect("bases list");
        let archs = |b: &serde_yaml::Value| -> Vec<String> {
            b["architectures"]
                .as_sequence()
                .expect("architectures")
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect()
        };
        for arch in Arch::ALL {
            let entries: Vec<&serde_yaml::Value> = bases
                .iter()
                .filter(|e| {
                    e["build-on"]
                        .as_sequence()
                        .unwrap()
                        .iter()
                        .any(|b| archs(b) == [arch.juju()])
                })
                .collect();
            assert_eq!(entries.len(), 1, "one entry builds on {}", arch.juju());
            let run_on: Vec<(String, Vec<String>)> = entries[0]["run-on"]
                .as_sequence()
                .unwrap()
                .iter()
                .map(|r| (r["channel"].as_str().unwrap().to_string(), archs(r)))
                .collect();
            let want: Vec<(String, Vec<String>)> = BASES
                .iter()
                .filter(|(c, _)| *c != "24.04")
                .map(|(c, _)| (c.to_string(), vec![arch.juju().to_string()]))
                .collect();
            assert_eq!(run_on, want);
        }
    }

    #[test]
    fn a_binary_for_the_other_machine_is_refused() {
        // This test binary is dynamic glibc for the host: wrong machine for the other arch.
        let exe = fs::read(std::env::current_exe().unwrap()).unwrap();
        let other = if cfg!(target_arch = "x86_64") {
            Arch::Arm64
        } else {
            Arch::Amd64
        };
        let e = check_binary(&exe, other).unwrap_err().to_string();
        assert!(e.contains("packed as"), "{e}");
    }

    /// A real binary (this test, dynamic against the host glibc) whose baseline glibc version
    /// need is renamed in place to GLIBC_9.x (same length, so every offset holds): pack refuses
    /// it and names exactly that newest need and the oldest base.
    #[test]
    fn a_binary_needing_a_newer_glibc_is_refused() {
        let mut exe = fs::read(std::env::current_exe().unwrap()).unwrap();
        let (host, from, to): (Arch, &[u8], &str) = if cfg!(target_arch = "x86_64") {
            (Arch::Amd64, b"GLIBC_2.2.5\0", "GLIBC_9.9.9")
        } else {
            (Arch::Arm64, b"GLIBC_2.17\0", "GLIBC_9.99")
        };
        let at = exe
            .windows(from.len())
            .position(|w| w == from)
            .expect("the baseline version string");
        exe[at..at + to.len()].copy_from_slice(to.as_bytes());
        let e = check_binary(&exe, host).unwrap_err().to_string();
        assert!(e.contains(&format!("needs {to},")), "{e}");
        assert!(e.contains("ubuntu 20.04) has glibc 2.31"), "{e}");
    }

    /// A charm written with a static x86-64 binary (musl-gcc -static) passes the amd64 check
    /// and fails the arm64 one (wrong e_machine) and the amd64 check of the arm64 manifest.
    #[test]
    fn verify_charm_reads_back_the_manifest_and_every_binary() {
        let dir = tempfile_dir("verify");
        let src = dir.join("t.c");
        fs::write(&src, "int main(void) { return 0; }\n").unwrap();
        let exe = dir.join("t");
        let st = Command::new("musl-gcc")
            .args(["-static", "-O1", "-o"])
            .arg(&exe)
            .arg(&src)
            .status()
            .expect("musl-gcc runs");
        assert!(st.success());
        let data = fs::read(&exe).unwrap();
        let bins = [("dispatch", data.clone()), ("bin/vrrpd", data)];
        let zip_as = |arch: Arch| {
            let p = dir.join(format!("{}.charm", arch.juju()));
            write_zip(&p, &sh::root(), arch, &bins).unwrap();
            p
        };
        let (amd, arm) = (zip_as(Arch::Amd64), zip_as(Arch::Arm64));
        let verdict = |p: &Path, a: Arch| verify_charm(p, a).map_err(|e| format!("{e:#}"));
        assert_eq!(verdict(&amd, Arch::Amd64), Ok(()));
        let e = verdict(&arm, Arch::Arm64).unwrap_err();
        assert!(
            e.contains("dispatch in the charm") && e.contains("packed as arm64"),
            "{e}"
        );
        let e = verdict(&arm, Arch::Amd64).unwrap_err();
        assert!(e.contains("not the amd64 manifest"), "{e}");
        let _ = fs::remove_dir_all(&dir);
    }

    fn tempfile_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("xtask-pack-{}-{tag}", std::process::id()));
        fs::create_dir_all(&d).unwrap();
        d
    }
}
