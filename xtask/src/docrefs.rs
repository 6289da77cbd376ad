//! Every reference the sources and documents cite resolves (issue 12): each `docs/NAME.md`
//! path names a file of this repository, each `docs/NAME.md §N` a section of it, and nothing
//! cites the design note that never was in the repository (a bare "doc §N").
use std::path::Path;

use crate::deps::workspace_files;
use crate::sh;

/// One `docs/….md` citation: the path and, when a ` §N[.M]` follows, the section number.
#[derive(Debug, PartialEq)]
struct Cite {
    path: String,
    section: Option<String>,
}

/// The `docs/….md` citations of one text.
fn cites_in(text: &str) -> Vec<Cite> {
    let mut out = Vec::new();
    for (at, _) in text.match_indices("docs/") {
        let tail = &text[at..];
        let len = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || "_-./".contains(c)))
            .unwrap_or(tail.len());
        let path = tail[..len].trim_end_matches('.');
        if !path.ends_with(".md") {
            continue;
        }
        let after = &tail[path.len()..];
        let section = after.strip_prefix(" §").and_then(|s| {
            let n = s
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(s.len());
            let num = s[..n].trim_end_matches('.');
            (!num.is_empty()).then(|| num.to_string())
        });
        out.push(Cite {
            path: path.to_string(),
            section,
        });
    }
    out
}

/// Whether `doc` (Markdown) has a heading numbered `section` (`## 3. …`, `### 3.1 …`).
fn has_section(doc: &str, section: &str) -> bool {
    doc.lines().any(|l| {
        let head = l.trim_start_matches('#');
        head.len() < l.len()
            && head
                .trim_start()
                .strip_prefix(section)
                .is_some_and(|rest| rest.starts_with(['.', ' ']))
    })
}

/// Problems with the citations of the files under `root`, one line each.
fn problems(root: &Path) -> Vec<String> {
    let stale = ["doc", " §"].concat();
    let keep = |n: &str| {
        [".rs", ".md", ".toml", ".yaml", ".sh"]
            .iter()
            .any(|e| n.ends_with(e))
    };
    let mut out = Vec::new();
    for file in workspace_files(root, keep) {
        if file.ends_with("xtask/src/docrefs.rs") {
            continue; // its tests' examples
        }
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let rel = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        for (n, line) in text.lines().enumerate() {
            if line.to_lowercase().contains(&stale) {
                out.push(format!(
                    "{rel}:{}: cites the absent design note: {line}",
                    n + 1
                ));
            }
        }
        for c in cites_in(&text) {
            match std::fs::read_to_string(root.join(&c.path)) {
                Err(_) => out.push(format!("{rel}: cites {} which does not exist", c.path)),
                Ok(doc) => {
                    if let Some(s) = c.section.filter(|s| !has_section(&doc, s)) {
                        out.push(format!("{rel}: cites {} §{s}, no such section", c.path));
                    }
                }
            }
        }
    }
    out.sort();
    out
}

#[test]
fn cites_are_parsed_with_their_sections() {
    let text = "see docs/a-b.md §4. and (docs/x.md §3.1), docs/y.md, docs/z.md §N, docs/dir/";
    let got = cites_in(text);
    let want = [
        ("docs/a-b.md", Some("4")),
        ("docs/x.md", Some("3.1")),
        ("docs/y.md", None),
        ("docs/z.md", None),
    ];
    assert_eq!(got.len(), want.len(), "{got:?}");
    for (c, (p, s)) in got.iter().zip(want) {
        assert_eq!((c.path.as_str(), c.section.as_deref()), (p, s));
    }
    let doc = "# T\n## 1. One\n### 1.2 Sub\n## 12. Twelve\n";
    assert!(has_section(doc, "1") && has_section(doc, "1.2") && has_section(doc, "12"));
    assert!(!has_section(doc, "2") && !has_section(doc, "1.3"));
}

#[test]
fn a_missing_doc_or_section_and_a_stale_note_are_found() {
    let dir = tempfile_dir();
    let root = dir.as_path();
    std::fs::create_dir_all(root.join("docs")).unwrap();
    std::fs::write(root.join("docs/a.md"), "# A\n## 1. One\n").unwrap();
    let src = format!(
        "// docs/a.md §1 ok\n// docs/a.md §2 bad\n// docs/gone.md\n// ({} 3.3)\n",
        ["doc", " §"].concat()
    );
    std::fs::write(root.join("x.rs"), src).unwrap();
    let p = problems(root);
    assert_eq!(p.len(), 3, "{p:#?}");
    assert!(p
        .iter()
        .any(|l| l.contains("docs/a.md §2, no such section")));
    assert!(p
        .iter()
        .any(|l| l.contains("docs/gone.md which does not exist")));
    assert!(p
        .iter()
        .any(|l| l.contains("x.rs:4: cites the absent design note")));
    std::fs::remove_dir_all(root).unwrap();
}

/// Every `docs/…` path (and section) cited in the workspace's code and documents exists.
#[test]
fn every_cited_doc_exists() {
    let root = sh::root();
    assert!(
        !cites_in(&std::fs::read_to_string(root.join("xtask/src/pack.rs")).unwrap()).is_empty(),
        "pack.rs cites docs/juju-hook-environment.md: the scanner is broken"
    );
    let p = problems(&root);
    assert!(
        p.is_empty(),
        "citations that point nowhere:\n{}",
        p.join("\n")
    );
}

/// A fresh directory under the system temp dir (xtask has no tempfile dependency).
fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("xtask-docrefs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
