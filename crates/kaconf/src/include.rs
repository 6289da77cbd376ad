//! A small glob for `include`: `*`, `?` and `[…]` (with `!`/`^` negation and ranges) in
//! any path component; matches are sorted like glob(3). Hidden files match only a
//! pattern that starts with `.`.

use std::path::{Component, Path, PathBuf};

/// True when the pattern has glob metacharacters.
pub(crate) fn has_magic(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// All existing files matching `pattern`, sorted. A pattern without metacharacters
/// yields itself if it exists.
pub(crate) fn expand(pattern: &Path) -> Result<Vec<PathBuf>, String> {
    let mut current: Vec<PathBuf> = vec![PathBuf::new()];
    for comp in pattern.components() {
        let mut next = Vec::new();
        match comp {
            Component::Normal(part) => {
                let part = part.to_str().ok_or("path is not valid UTF-8")?;
                if has_magic(part) {
                    for base in &current {
                        let dir = if base.as_os_str().is_empty() {
                            Path::new(".")
                        } else {
                            base.as_path()
                        };
                        let Ok(entries) = std::fs::read_dir(dir) else {
                            continue;
                        };
                        let mut names: Vec<String> = entries
                            .filter_map(|e| e.ok())
                            .filter_map(|e| e.file_name().into_string().ok())
                            .collect();
                        names.sort();
                        for name in names {
                            if name.starts_with('.') && !part.starts_with('.') {
                                continue;
                            }
                            if matches(part.as_bytes(), name.as_bytes()) {
                                next.push(base.join(&name));
                            }
                        }
                    }
                } else {
                    next = current.iter().map(|b| b.join(part)).collect();
                }
            }
            other => next = current.iter().map(|b| b.join(other.as_os_str())).collect(),
        }
        current = next;
        if current.is_empty() {
            break;
        }
    }
    current.retain(|p| p.is_file());
    current.sort();
    Ok(current)
}

/// fnmatch(3) without flags, on bytes.
fn matches(pat: &[u8], name: &[u8]) -> bool {
    match pat.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|i| matches(rest, &name[i..])),
        Some((b'?', rest)) => !name.is_empty() && matches(rest, &name[1..]),
        Some((b'[', rest)) => match (class(rest, name.first().copied()), name.split_first()) {
            (Some((true, after)), Some((_, tail))) => matches(after, tail),
            (None, Some((b'[', tail))) => matches(rest, tail),
            _ => false,
        },
        Some((c, rest)) => name.first() == Some(c) && matches(rest, &name[1..]),
    }
}

/// Parses a `[…]` class (after the `[`) against `c`; returns (matched, rest of pattern),
/// or `None` when the class is not closed (then `[` is literal).
fn class(pat: &[u8], c: Option<u8>) -> Option<(bool, &[u8])> {
    let (negate, mut i) = match pat.first() {
        Some(b'!' | b'^') => (true, 1),
        _ => (false, 0),
    };
    let mut hit = false;
    let mut first = true;
    while i < pat.len() {
        let p = pat[i];
        if p == b']' && !first {
            return Some((hit != negate, &pat[i + 1..]));
        }
        first = false;
        if i + 2 < pat.len() && pat[i + 1] == b'-' && pat[i + 2] != b']' {
            if let Some(c) = c {
                hit |= p <= c && c <= pat[i + 2];
            }
            i += 3;
        } else {
            hit |= c == Some(p);
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_basics() {
        assert!(matches(b"*.conf", b"a.conf"));
        assert!(!matches(b"*.conf", b"a.conf.bak"));
        assert!(matches(b"a?c", b"abc"));
        assert!(matches(b"[a-c]x", b"bx"));
        assert!(!matches(b"[!a-c]x", b"bx"));
        assert!(matches(b"[]]", b"]"));
        assert!(matches(b"[x", b"[x"));
    }

    #[test]
    fn expand_sorts_and_skips_hidden() {
        let d = tempfile::tempdir().unwrap();
        for n in ["b.conf", "a.conf", ".h.conf", "c.txt"] {
            std::fs::write(d.path().join(n), "").unwrap();
        }
        let got = expand(&d.path().join("*.conf")).unwrap();
        let names: Vec<_> = got
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
            .collect();
        assert_eq!(names, vec!["a.conf", "b.conf"]);
        assert!(expand(&d.path().join("nope/*.conf")).unwrap().is_empty());
    }
}
