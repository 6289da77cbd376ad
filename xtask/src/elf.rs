//! A small ELF reader for the pack checks: which machine a binary is for, whether it is static,
//! and the newest glibc symbol version it needs.
//!
//! It reads what the dynamic loader reads: the program headers (`PT_INTERP`, `PT_DYNAMIC`,
//! `PT_LOAD`), the dynamic section (`DT_NEEDED`, `DT_STRTAB`, `DT_VERNEED`, `DT_VERNEEDNUM`) and
//! the version-needed records (`Elf64_Verneed`/`Elf64_Vernaux`), so a binary whose section
//! headers were stripped reads the same. Only 64-bit little-endian files (amd64, arm64).
use std::fmt;

/// `e_machine` of x86-64.
pub const EM_X86_64: u16 = 62;
/// `e_machine` of AArch64.
pub const EM_AARCH64: u16 = 183;

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;
const DT_STRTAB: u64 = 5;
const DT_VERNEED: u64 = 0x6fff_fffe;
const DT_VERNEEDNUM: u64 = 0x6fff_ffff;

/// Why a file could not be read as an ELF binary.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ElfError {
    /// No `\x7fELF` magic.
    #[error("not an ELF file")]
    NotElf,
    /// 32-bit or big-endian.
    #[error("unsupported ELF class/encoding {class}/{data} (only 64-bit little-endian)")]
    Unsupported {
        /// `EI_CLASS`.
        class: u8,
        /// `EI_DATA`.
        data: u8,
    },
    /// A header, table or string lies outside the file.
    #[error("truncated or corrupt ELF: {0}")]
    Corrupt(&'static str),
}

/// A glibc symbol version such as `GLIBC_2.34` (`2.2.5` has three parts).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct GlibcVersion(pub Vec<u32>);

impl GlibcVersion {
    /// Parses `GLIBC_2.34`; `None` for other names (including `GLIBC_PRIVATE`).
    pub fn parse(name: &str) -> Option<GlibcVersion> {
        let v = name.strip_prefix("GLIBC_")?;
        let parts: Option<Vec<u32>> = v.split('.').map(|p| p.parse().ok()).collect();
        parts.filter(|p| !p.is_empty()).map(GlibcVersion)
    }
    /// `major.minor`.
    pub fn new(major: u32, minor: u32) -> GlibcVersion {
        GlibcVersion(vec![major, minor])
    }
}

impl fmt::Display for GlibcVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s: Vec<String> = self.0.iter().map(u32::to_string).collect();
        write!(f, "{}", s.join("."))
    }
}

/// What the pack checks need to know about one binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfInfo {
    /// `e_machine`.
    pub machine: u16,
    /// The `PT_INTERP` path (the dynamic loader), if any.
    pub interp: Option<String>,
    /// `DT_NEEDED` libraries.
    pub needed: Vec<String>,
    /// (library, version) pairs from the version-needed records.
    pub version_needs: Vec<(String, String)>,
}

impl ElfInfo {
    /// Static: no loader and no shared library (a static-pie still has `PT_DYNAMIC`).
    pub fn is_static(&self) -> bool {
        self.interp.is_none() && self.needed.is_empty()
    }
    /// The newest `GLIBC_x.y` version needed, or `None` when none is needed.
    pub fn glibc_floor(&self) -> Option<GlibcVersion> {
        self.version_needs
            .iter()
            .filter_map(|(_, v)| GlibcVersion::parse(v))
            .max()
    }
    /// Version names that start with `GLIBC_` but are no release (e.g. `GLIBC_PRIVATE`):
    /// such a binary is tied to one exact glibc build.
    pub fn glibc_private(&self) -> Vec<String> {
        self.version_needs
            .iter()
            .filter(|(_, v)| v.starts_with("GLIBC_") && GlibcVersion::parse(v).is_none())
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// The Debian architecture name of an `e_machine`, for messages.
pub fn machine_name(machine: u16) -> String {
    match machine {
        EM_X86_64 => "amd64 (x86-64)".into(),
        EM_AARCH64 => "arm64 (aarch64)".into(),
        other => format!("e_machine {other}"),
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn bytes(&self, off: u64, len: u64, what: &'static str) -> Result<&[u8], ElfError> {
        let start = usize::try_from(off).map_err(|_| ElfError::Corrupt(what))?;
        let len = usize::try_from(len).map_err(|_| ElfError::Corrupt(what))?;
        let end = start.checked_add(len).ok_or(ElfError::Corrupt(what))?;
        self.0.get(start..end).ok_or(ElfError::Corrupt(what))
    }
    fn u16(&self, off: u64, what: &'static str) -> Result<u16, ElfError> {
        let b = self.bytes(off, 2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&self, off: u64, what: &'static str) -> Result<u32, ElfError> {
        let b = self.bytes(off, 4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&self, off: u64, what: &'static str) -> Result<u64, ElfError> {
        let b = self.bytes(off, 8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    /// A NUL-terminated string starting at `off`.
    fn cstr(&self, off: u64, what: &'static str) -> Result<String, ElfError> {
        let start = usize::try_from(off).map_err(|_| ElfError::Corrupt(what))?;
        let rest = self.0.get(start..).ok_or(ElfError::Corrupt(what))?;
        let end = rest
            .iter()
            .position(|&c| c == 0)
            .ok_or(ElfError::Corrupt(what))?;
        Ok(String::from_utf8_lossy(&rest[..end]).into_owned())
    }
}

struct Phdr {
    kind: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
}

/// Reads the machine, loader, needed libraries and needed symbol versions of an ELF file.
pub fn parse(data: &[u8]) -> Result<ElfInfo, ElfError> {
    if data.len() < 4 || &data[..4] != b"\x7fELF" {
        return Err(ElfError::NotElf);
    }
    let r = Reader(data);
    let (class, enc) = (
        *data.get(4).ok_or(ElfError::NotElf)?,
        *data.get(5).ok_or(ElfError::NotElf)?,
    );
    if class != 2 || enc != 1 {
        return Err(ElfError::Unsupported { class, data: enc });
    }
    let machine = r.u16(18, "e_machine")?;
    let phoff = r.u64(32, "e_phoff")?;
    let phentsize = u64::from(r.u16(54, "e_phentsize")?);
    let phnum = u64::from(r.u16(56, "e_phnum")?);
    if phnum > 0 && phentsize < 56 {
        return Err(ElfError::Corrupt("e_phentsize"));
    }
    let mut phdrs = Vec::new();
    for i in 0..phnum {
        let at = phoff
            .checked_add(i * phentsize)
            .ok_or(ElfError::Corrupt("program header"))?;
        phdrs.push(Phdr {
            kind: r.u32(at, "p_type")?,
            offset: r.u64(at + 8, "p_offset")?,
            vaddr: r.u64(at + 16, "p_vaddr")?,
            filesz: r.u64(at + 32, "p_filesz")?,
        });
    }
    let mut info = ElfInfo {
        machine,
        interp: None,
        needed: Vec::new(),
        version_needs: Vec::new(),
    };
    if let Some(p) = phdrs.iter().find(|p| p.kind == PT_INTERP) {
        let b = r.bytes(p.offset, p.filesz, "PT_INTERP")?;
        let s = b.split(|&c| c == 0).next().unwrap_or_default();
        info.interp = Some(String::from_utf8_lossy(s).into_owned());
    }
    let Some(dynamic) = phdrs.iter().find(|p| p.kind == PT_DYNAMIC) else {
        return Ok(info);
    };
    // Addresses in the dynamic section are virtual: map them through the PT_LOAD segments.
    let file_offset = |vaddr: u64| -> Result<u64, ElfError> {
        phdrs
            .iter()
            .filter(|p| p.kind == PT_LOAD)
            .find(|p| vaddr >= p.vaddr && vaddr - p.vaddr < p.filesz)
            .map(|p| p.offset + (vaddr - p.vaddr))
            .ok_or(ElfError::Corrupt("dynamic address outside every PT_LOAD"))
    };
    let (mut needed_offs, mut strtab, mut verneed, mut verneednum) = (Vec::new(), None, None, 0);
    let count = dynamic.filesz / 16;
    for i in 0..count {
        let at = dynamic.offset + i * 16;
        let tag = r.u64(at, "d_tag")?;
        let val = r.u64(at + 8, "d_val")?;
        match tag {
            DT_NULL => break,
            DT_NEEDED => needed_offs.push(val),
            DT_STRTAB => strtab = Some(val),
            DT_VERNEED => verneed = Some(val),
            DT_VERNEEDNUM => verneednum = val,
            _ => {}
        }
    }
    if needed_offs.is_empty() && verneed.is_none() {
        return Ok(info);
    }
    let strtab = file_offset(strtab.ok_or(ElfError::Corrupt("DT_NEEDED without DT_STRTAB"))?)?;
    let string = |off: u64| -> Result<String, ElfError> {
        r.cstr(
            strtab.checked_add(off).ok_or(ElfError::Corrupt("string"))?,
            "dynamic string",
        )
    };
    for off in needed_offs {
        info.needed.push(string(off)?);
    }
    if let Some(vn) = verneed {
        let mut at = file_offset(vn)?;
        // Bounded by DT_VERNEEDNUM, and by the file size against a corrupt count.
        for _ in 0..verneednum.min(data.len() as u64 / 16) {
            let cnt = r.u16(at + 2, "vn_cnt")?;
            let file = string(u64::from(r.u32(at + 4, "vn_file")?))?;
            let mut aux = at + u64::from(r.u32(at + 8, "vn_aux")?);
            for _ in 0..cnt {
                let name = string(u64::from(r.u32(aux + 8, "vna_name")?))?;
                info.version_needs.push((file.clone(), name));
                let next = r.u32(aux + 12, "vna_next")?;
                if next == 0 {
                    break;
                }
                aux += u64::from(next);
            }
            let next = r.u32(at + 12, "vn_next")?;
            if next == 0 {
                break;
            }
            at += u64::from(next);
        }
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    fn read(p: &Path) -> Vec<u8> {
        std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    /// The newest GLIBC_ version in `objdump -p`'s "Version References" (binutils), to check
    /// this reader against an independent one.
    fn objdump_floor(objdump: &str, p: &Path) -> Option<GlibcVersion> {
        let out = Command::new(objdump)
            .arg("-p")
            .arg(p)
            .output()
            .unwrap_or_else(|e| panic!("{objdump}: {e}"));
        assert!(out.status.success(), "{objdump} -p {}", p.display());
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(GlibcVersion::parse)
            .max()
    }

    #[test]
    fn versions_order_numerically() {
        let v = |s: &str| GlibcVersion::parse(s).unwrap();
        assert!(v("GLIBC_2.34") > v("GLIBC_2.4"));
        assert!(v("GLIBC_2.2.5") < v("GLIBC_2.3"));
        assert!(v("GLIBC_2.31") <= GlibcVersion::new(2, 31));
        assert_eq!(GlibcVersion::parse("GLIBC_PRIVATE"), None);
        assert_eq!(GlibcVersion::parse("GCC_3.0"), None);
        assert_eq!(v("GLIBC_2.2.5").to_string(), "2.2.5");
    }

    /// This very test binary: built by rustc for the host's glibc, so dynamic, with a loader,
    /// libc.so.6 needed and the same newest GLIBC_ version that objdump reports.
    #[test]
    fn reads_this_dynamic_test_binary_like_objdump() {
        let exe = std::env::current_exe().unwrap();
        let info = parse(&read(&exe)).unwrap();
        #[cfg(target_arch = "x86_64")]
        assert_eq!(info.machine, EM_X86_64);
        #[cfg(target_arch = "aarch64")]
        assert_eq!(info.machine, EM_AARCH64);
        assert!(!info.is_static(), "{info:?}");
        assert!(info.interp.as_deref().unwrap_or("").contains("ld-linux"));
        assert!(info.needed.iter().any(|n| n == "libc.so.6"), "{info:?}");
        let floor = info.glibc_floor().expect("needs some GLIBC_ version");
        assert_eq!(Some(floor), objdump_floor("objdump", &exe));
    }

    fn cc(compiler: &str, args: &[&str], name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-elf-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let src = dir.join("t.c");
        std::fs::write(
            &src,
            "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n",
        )
        .unwrap();
        let out = dir.join(name);
        let st = Command::new(compiler)
            .args(args)
            .arg("-o")
            .arg(&out)
            .arg(&src)
            .status()
            .unwrap_or_else(|e| panic!("{compiler}: {e}"));
        assert!(st.success(), "{compiler} failed");
        out
    }

    /// A real static binary (musl-gcc -static, from musl-tools): no loader, nothing needed.
    #[test]
    fn a_static_musl_binary_needs_no_glibc() {
        let exe = cc("musl-gcc", &["-static", "-O1"], "static");
        let info = parse(&read(&exe)).unwrap();
        let _ = std::fs::remove_dir_all(exe.parent().unwrap());
        assert_eq!(info.machine, EM_X86_64);
        assert!(info.is_static(), "{info:?}");
        assert_eq!(info.glibc_floor(), None);
    }

    /// A real arm64 object: the cross toolchain's libgcc_s.so.1 (gcc-aarch64-linux-gnu brings
    /// it), dynamic against arm64 glibc. Machine AArch64 and the same newest GLIBC_ version as
    /// binutils' aarch64-linux-gnu-objdump reports (2.35 on Debian 12: newer than focal's 2.31).
    #[test]
    fn an_arm64_glibc_object_reads_as_arm64() {
        let out = Command::new("aarch64-linux-gnu-gcc")
            .arg("-print-file-name=libgcc_s.so.1")
            .output()
            .expect("aarch64-linux-gnu-gcc runs");
        let lib = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        let info = parse(&read(&lib)).unwrap();
        assert_eq!(info.machine, EM_AARCH64);
        assert!(!info.is_static());
        assert!(info.needed.iter().any(|n| n == "libc.so.6"), "{info:?}");
        assert!(info.glibc_floor() >= Some(GlibcVersion::new(2, 17)));
        assert_eq!(
            info.glibc_floor(),
            objdump_floor("aarch64-linux-gnu-objdump", &lib)
        );
    }

    #[test]
    fn garbage_is_refused() {
        assert_eq!(parse(b"#!/bin/sh\n"), Err(ElfError::NotElf));
        assert_eq!(
            parse(b"\x7fELF\x01\x01\x01"),
            Err(ElfError::Unsupported { class: 1, data: 1 })
        );
        let exe = read(&std::env::current_exe().unwrap());
        assert!(matches!(parse(&exe[..40]), Err(ElfError::Corrupt(_))));
    }
}
