//! Resident-memory trimming for a long-running, mostly idle daemon.
//!
//! Most of an idle worker's RSS is not data but clean file pages of the executable and the
//! shared libraries: the kernel maps whole neighbourhoods of pages around every code fault
//! ("fault-around", 64 KiB), and start-up code (argument and configuration parsing) is never
//! run again. [`trim`] tells the kernel, for every read-only file mapping that holds no
//! private (copy-on-write) page, to drop our mapping of its pages (`MADV_DONTNEED`; they stay
//! in the page cache) and to map only what is touched from now on (`MADV_RANDOM` disables
//! fault-around). The steady-state working set is then what RSS shows.
//!
//! Safety rule: only mappings without `w` permission and with `Anonymous: 0 kB` in
//! `/proc/self/smaps` are touched. Such a mapping has only clean pages identical to the file,
//! so dropping them cannot lose data (a relocated RELRO segment has anonymous pages and is
//! skipped). Mappings without a file path (heap, stacks, vdso) are never touched.

use std::time::Duration;

use tracing::debug;

/// The daemon trims this long after the last start, reload or role change, so the code of
/// those (parsing, transitions, GARP, logging) is dropped and only the steady-state loop's
/// pages come back.
pub const SETTLE: Duration = Duration::from_secs(5);

/// One candidate mapping.
#[derive(Debug, PartialEq, Eq)]
struct Mapping {
    start: usize,
    end: usize,
}

/// The read-only, file-backed mappings with no private pages, from `/proc/self/smaps` text.
fn candidates(smaps: &str) -> Vec<Mapping> {
    let mut out = Vec::new();
    let mut current: Option<(Mapping, bool)> = None;
    let finish = |cur: Option<(Mapping, bool)>, out: &mut Vec<Mapping>| {
        if let Some((m, true)) = cur {
            out.push(m);
        }
    };
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let Some(first) = fields.next() else { continue };
        if let Some((a, b)) = first.split_once('-') {
            if let (Ok(start), Ok(end)) =
                (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
            {
                finish(current.take(), &mut out);
                let perms = fields.next().unwrap_or_default();
                let path = fields.nth(3).unwrap_or_default();
                let eligible = perms.starts_with('r')
                    && !perms.contains('w')
                    && perms.ends_with('p')
                    && path.starts_with('/');
                current = Some((Mapping { start, end }, eligible));
                continue;
            }
        }
        if first == "Anonymous:" {
            if let Some((_, eligible)) = current.as_mut() {
                if fields.next() != Some("0") {
                    *eligible = false;
                }
            }
        }
    }
    finish(current.take(), &mut out);
    out
}

/// Drop and stop pre-mapping clean code/read-only pages (see the module docs). Best effort.
pub fn trim() {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return;
    };
    let maps = candidates(&smaps);
    let mut bytes = 0usize;
    for m in &maps {
        let len = m.end.saturating_sub(m.start);
        let addr = m.start as *mut libc::c_void;
        // SAFETY: the range is a whole existing mapping of this process, read-only, file
        // backed and without private pages (checked above): MADV_RANDOM only changes
        // read-ahead, and MADV_DONTNEED on clean private file pages only unmaps them; the
        // next access maps the unchanged file page again.
        let ok = unsafe {
            libc::madvise(addr, len, libc::MADV_RANDOM) == 0
                && libc::madvise(addr, len, libc::MADV_DONTNEED) == 0
        };
        if ok {
            bytes += len;
        }
    }
    debug!(mappings = maps.len(), bytes, "trimmed clean file mappings");
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
55d0c0000000-55d0c0100000 r--p 00000000 08:01 123 /usr/sbin/vrrpd
Rss:                 100 kB
Anonymous:             0 kB
55d0c0100000-55d0c0500000 r-xp 00100000 08:01 123 /usr/sbin/vrrpd
Anonymous:             0 kB
55d0c0500000-55d0c0600000 r--p 00500000 08:01 123 /usr/sbin/vrrpd
Anonymous:            64 kB
55d0c0600000-55d0c0610000 rw-p 00600000 08:01 123 /usr/sbin/vrrpd
Anonymous:             8 kB
55d0c1000000-55d0c1100000 rw-p 00000000 00:00 0 [heap]
Anonymous:           100 kB
7f0000000000-7f0000001000 r--p 00000000 00:00 0 
Anonymous:             0 kB
7fff00000000-7fff00002000 r-xp 00000000 00:00 0 [vdso]
Anonymous:             0 kB
";

    #[test]
    fn only_clean_read_only_file_mappings() {
        assert_eq!(
            candidates(SMAPS),
            vec![
                Mapping {
                    start: 0x55d0c0000000,
                    end: 0x55d0c0100000
                },
                Mapping {
                    start: 0x55d0c0100000,
                    end: 0x55d0c0500000
                },
            ]
        );
        assert!(candidates("garbage\n\n-\n").is_empty());
    }

    #[test]
    fn trimming_this_process_is_harmless() {
        trim();
        // Code, read-only data and libc still work afterwards.
        let v: Vec<String> = (0..1000).map(|i| format!("{i:x}")).collect();
        assert_eq!(
            v.iter().map(String::len).sum::<usize>(),
            16 + 240 * 2 + 744 * 3
        );
        assert!(std::fs::read_to_string("/proc/self/status").is_ok());
    }
}
