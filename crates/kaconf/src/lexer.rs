//! Turns configuration text into logical lines the way keepalived's `read_line` does
//! (lib/parser.c): comments, `$NAME=value` definitions and expansion, `include`, and
//! splitting at `{` / `}` so that braces may share a line with anything.

use std::path::{Path, PathBuf};

use crate::diag::Sink;
use crate::include;
use crate::model::Location;

/// Deepest include nesting accepted.
pub(crate) const MAX_INCLUDE_DEPTH: usize = 16;
/// Upper bound on `$NAME` replacements in one line (guards against self-referencing definitions).
const MAX_EXPANSIONS: usize = 64;

/// One logical line: a keyword with its arguments, or a lone `{` / `}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    pub(crate) loc: Location,
    /// Text after comment removal and expansion, as keepalived hands it to handlers.
    pub(crate) raw: String,
    /// Whitespace-separated words; `"…"` makes one word without the quotes.
    pub(crate) words: Vec<String>,
}

/// Reads configuration text, following includes, and produces logical lines.
pub(crate) struct Lexer<'a> {
    sink: &'a mut Sink,
    defs: Vec<(String, String)>,
    /// Canonical paths of the files currently being read (cycle detection).
    stack: Vec<PathBuf>,
    pub(crate) lines: Vec<Line>,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(sink: &'a mut Sink) -> Self {
        Lexer {
            sink,
            defs: Vec::new(),
            stack: Vec::new(),
            lines: Vec::new(),
        }
    }

    /// Reads one file (the top-level one or an included one).
    pub(crate) fn read_file(&mut self, path: &Path, from: Option<&Location>) {
        let shown = path.display().to_string();
        let here = Location {
            file: shown.clone(),
            line: 0,
        };
        let at = from.unwrap_or(&here);
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            self.sink.error(
                at,
                format!("include nesting deeper than {MAX_INCLUDE_DEPTH} at '{shown}'"),
            );
            return;
        }
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if self.stack.contains(&canonical) {
            self.sink.error(
                at,
                format!("include cycle: '{shown}' is already being read"),
            );
            return;
        }
        let text = match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(t) => t,
                Err(_) => {
                    self.sink
                        .error(at, format!("cannot read '{shown}': not valid UTF-8"));
                    return;
                }
            },
            Err(e) => {
                self.sink.error(at, format!("cannot read '{shown}': {e}"));
                return;
            }
        };
        self.stack.push(canonical);
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        self.read_text(&text, &shown, &dir);
        self.stack.pop();
    }

    /// Reads text that came from `origin`; relative includes are resolved against `dir`.
    pub(crate) fn read_text(&mut self, text: &str, origin: &str, dir: &Path) {
        for (idx, physical) in text.lines().enumerate() {
            let loc = Location {
                file: origin.to_string(),
                line: u32::try_from(idx + 1).unwrap_or(u32::MAX),
            };
            self.physical_line(physical, &loc, dir);
        }
    }

    fn physical_line(&mut self, physical: &str, loc: &Location, dir: &Path) {
        let physical = physical.trim_end_matches('\r');
        let Some(mut line) = self.decomment(physical, loc) else {
            return;
        };
        if line.is_empty() {
            return;
        }
        if line.starts_with('@') {
            self.sink
                .error(loc, "conditional lines ('@id …') are not supported");
            return;
        }
        if line.starts_with('$') {
            if let Some((name, value)) = definition(&line) {
                if value.ends_with('\\') {
                    self.sink.error(
                        loc,
                        format!("multi-line definition '${name}' is not supported"),
                    );
                    return;
                }
                self.defs.retain(|(n, _)| n != &name);
                self.defs.push((name, value));
                return;
            }
        }
        if line.starts_with("~SEQ") || line.starts_with("~LST") {
            self.sink
                .error(loc, "'~SEQ' / '~LST' sequences are not supported");
            return;
        }
        if !self.defs.is_empty() && line.contains('$') {
            line = self.expand(&line, loc);
            match self.decomment(&line, loc) {
                Some(l) if !l.is_empty() => line = l,
                _ => return,
            }
        }
        if let Some(rest) = include_argument(&line) {
            self.include(rest, loc, dir);
            return;
        }
        if is_other_include(&line) {
            self.sink.error(
                loc,
                "only plain 'include' is supported (not includet/includer/…)",
            );
            return;
        }
        self.split_braces(&line, loc);
    }

    /// keepalived's `decomment`: strip leading blanks, cut at `#`/`!` outside `"…"`,
    /// turn `\#` / `\!` into literal characters, strip trailing blanks.
    fn decomment(&mut self, s: &str, loc: &Location) -> Option<String> {
        let s = s.trim_start_matches([' ', '\t']);
        let mut out = String::with_capacity(s.len());
        let mut quote = false;
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '"' => {
                    quote = !quote;
                    out.push(c);
                }
                '\\' => match chars.next() {
                    Some(n @ ('#' | '!')) if !quote => out.push(n),
                    Some(n) => {
                        out.push('\\');
                        out.push(n);
                    }
                    None => out.push('\\'),
                },
                '#' | '!' if !quote => break,
                _ => out.push(c),
            }
        }
        if quote {
            self.sink.error(loc, "unterminated quote");
            return None;
        }
        let trimmed = out.trim_end_matches([' ', '\t']).len();
        out.truncate(trimmed);
        Some(out)
    }

    /// Replaces `$NAME` and `${NAME}` for defined names (undefined ones are left alone,
    /// as keepalived does).
    fn expand(&mut self, line: &str, loc: &Location) -> String {
        let mut s = line.to_string();
        let mut pos = 0;
        let mut count = 0;
        while let Some(off) = s.get(pos..).and_then(|t| t.find('$')) {
            let at = pos + off;
            let after = &s[at + 1..];
            let (name, consumed) = if let Some(inner) = after.strip_prefix('{') {
                match inner.find('}') {
                    Some(end) => (&inner[..end], end + 2),
                    None => ("", 0),
                }
            } else {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                let next = after[end..].chars().next();
                if matches!(next, None | Some(' ' | '\t' | ',' | ')')) {
                    (&after[..end], end)
                } else {
                    ("", 0)
                }
            };
            let value = self
                .defs
                .iter()
                .find(|(n, _)| !name.is_empty() && n == name)
                .map(|(_, v)| v.clone());
            match value {
                Some(v) => {
                    count += 1;
                    if count > MAX_EXPANSIONS {
                        self.sink.error(loc, format!("more than {MAX_EXPANSIONS} '$' expansions in one line (recursive definition?)"));
                        return String::new();
                    }
                    s.replace_range(at..at + 1 + consumed, &v);
                    pos = at; // rescan: keepalived expands definitions inside values too
                }
                None => pos = at + 1,
            }
        }
        s
    }

    fn include(&mut self, pattern: &str, loc: &Location, dir: &Path) {
        let pattern = pattern.trim();
        if pattern.is_empty() {
            self.sink.error(loc, "include needs a file name or glob");
            return;
        }
        let full = if Path::new(pattern).is_absolute() {
            PathBuf::from(pattern)
        } else {
            dir.join(pattern)
        };
        let matches = match include::expand(&full) {
            Ok(m) => m,
            Err(e) => {
                self.sink.error(loc, format!("include '{pattern}': {e}"));
                return;
            }
        };
        if matches.is_empty() {
            if include::has_magic(pattern) {
                self.sink
                    .warn(loc, format!("include '{pattern}' matches no file"));
            } else {
                self.sink
                    .error(loc, format!("include '{pattern}': file not found"));
            }
            return;
        }
        for m in matches {
            self.read_file(&m, Some(loc));
        }
    }

    /// Splits at the first `{` or `}` outside `"…"`, like keepalived's line residue.
    fn split_braces(&mut self, line: &str, loc: &Location) {
        let mut rest = line.to_string();
        while !rest.is_empty() {
            let cut = brace_position(&rest);
            let (head, tail) = match cut {
                Some(0) => {
                    let tail = rest[1..].trim_start_matches([' ', '\t']).to_string();
                    (rest[..1].to_string(), tail)
                }
                Some(p) => (
                    rest[..p].trim_end_matches([' ', '\t']).to_string(),
                    rest[p..].to_string(),
                ),
                None => (rest.clone(), String::new()),
            };
            self.push_line(head, loc);
            rest = tail;
        }
    }

    fn push_line(&mut self, raw: String, loc: &Location) {
        match split_words(&raw) {
            Ok(words) if words.is_empty() => {}
            Ok(words) => self.lines.push(Line {
                loc: loc.clone(),
                raw,
                words,
            }),
            Err(msg) => self.sink.error(loc, msg),
        }
    }
}

/// `$NAME=value` at the start of a line; `None` if the line is not a definition.
fn definition(line: &str) -> Option<(String, String)> {
    let body = line.strip_prefix('$')?;
    let eq = body.find('=')?;
    let name = &body[..eq];
    let mut chars = name.chars();
    let first = chars.next()?;
    if !(first.is_ascii_alphabetic() || first == '_')
        || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return None;
    }
    let value = body[eq + 1..].trim_start_matches([' ', '\t']).to_string();
    Some((name.to_string(), value))
}

/// The argument of a plain `include` line.
fn include_argument(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("include")?;
    if rest.starts_with([' ', '\t']) {
        Some(rest.trim_start_matches([' ', '\t']))
    } else {
        None
    }
}

/// keepalived 2.2.7's `includet`, `includer`, `includem`, `includew`, `includeb`, `includea`.
fn is_other_include(line: &str) -> bool {
    let b = line.as_bytes();
    line.starts_with("include")
        && b.len() > 8
        && b"rmwbat".contains(&b[7])
        && (b[8] == b' ' || b[8] == b'\t')
}

fn brace_position(s: &str) -> Option<usize> {
    let mut quote = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quote = !quote,
            '{' | '}' if !quote => return Some(i),
            _ => {}
        }
    }
    None
}

/// keepalived's `alloc_strvec_r`: split on blanks; a word starting with `"` runs to the next `"`.
pub(crate) fn split_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start_matches(is_blank);
        if rest.is_empty() {
            return Ok(words);
        }
        if let Some(q) = rest.strip_prefix('"') {
            let end = q
                .find('"')
                .ok_or_else(|| format!("unmatched quote in '{s}'"))?;
            words.push(q[..end].to_string());
            rest = &q[end + 1..];
        } else {
            let end = rest
                .find(|c: char| is_blank(c) || c == '"')
                .unwrap_or(rest.len());
            words.push(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// keepalived's `alloc_strvec_quoted_escaped`: shell-like words with `"…"`, `'…'`
/// (quotes may join parts of a word) and backslash escapes. No shell is involved.
pub(crate) fn split_quoted_escaped(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| is_blank(*c)) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(words);
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        while let Some(&c) = chars.peek() {
            if quote.is_none() && is_blank(c) {
                break;
            }
            chars.next();
            match c {
                '\\' => {
                    let e = chars
                        .next()
                        .ok_or_else(|| format!("missing escaped character at end of '{s}'"))?;
                    word.push(match e {
                        'a' => '\x07',
                        'b' => '\x08',
                        'E' => '\x1b',
                        'f' => '\x0c',
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        'v' => '\x0b',
                        other => other,
                    });
                }
                '"' | '\'' if quote == Some(c) => quote = None,
                '"' | '\'' if quote.is_none() => quote = Some(c),
                _ => word.push(c),
            }
        }
        if let Some(q) = quote {
            return Err(format!("missing terminating {q} in '{s}'"));
        }
        words.push(word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(text: &str) -> (Vec<Line>, Sink) {
        let mut sink = Sink::default();
        let lines = {
            let mut lx = Lexer::new(&mut sink);
            lx.read_text(text, "t.conf", Path::new("."));
            lx.lines
        };
        (lines, sink)
    }

    fn words(lines: &[Line]) -> Vec<(u32, String)> {
        lines
            .iter()
            .map(|l| (l.loc.line, l.words.join("|")))
            .collect()
    }

    #[test]
    fn comments_hash_and_bang_outside_quotes() {
        let (lines, sink) = lex("a 1 # c\n! whole\nb \"x # y\" ! z\nc \\#lit\n");
        assert!(sink.errors.is_empty());
        assert_eq!(
            words(&lines),
            vec![
                (1, "a|1".into()),
                (3, "b|x # y".into()),
                (4, "c|#lit".into())
            ]
        );
    }

    #[test]
    fn braces_split_lines() {
        let (lines, _) = lex("vip { 10.0.0.1 }\nx {\n}\n");
        assert_eq!(
            words(&lines),
            vec![
                (1, "vip".into()),
                (1, "{".into()),
                (1, "10.0.0.1".into()),
                (1, "}".into()),
                (2, "x".into()),
                (2, "{".into()),
                (3, "}".into())
            ]
        );
    }

    #[test]
    fn quoted_word_keeps_braces_and_single_quotes() {
        let (lines, _) = lex("script \"/bin/sh -c '{ a; }'\"\n");
        assert_eq!(
            words(&lines),
            vec![(1, "script|/bin/sh -c '{ a; }'".into())]
        );
    }

    #[test]
    fn unterminated_quote_is_an_error_with_line() {
        let (_, sink) = lex("\n\nscript \"abc\n");
        assert_eq!(sink.errors.len(), 1);
        assert_eq!(sink.errors[0].location.line, 3);
        assert!(sink.errors[0].message.contains("unterminated quote"));
    }

    #[test]
    fn definitions_expand_plain_and_braced() {
        let (lines, sink) = lex("$IF=eth0\n$P=10\ninterface $IF\npriority ${P}0\nx $UNDEF\n");
        assert!(sink.errors.is_empty(), "{:?}", sink.errors);
        assert_eq!(
            words(&lines),
            vec![
                (3, "interface|eth0".into()),
                (4, "priority|100".into()),
                (5, "x|$UNDEF".into())
            ]
        );
    }

    #[test]
    fn recursive_definition_is_bounded() {
        let (_, sink) = lex("$A=$A x\ny $A\n");
        assert_eq!(sink.errors.len(), 1);
        assert_eq!(sink.errors[0].location.line, 2);
        assert!(sink.errors[0].message.contains("expansions"));
    }

    #[test]
    fn multiline_definition_rejected() {
        let (_, sink) = lex("$A=x \\\n");
        assert!(sink.errors[0].message.contains("multi-line definition"));
    }

    #[test]
    fn conditional_lines_rejected() {
        let (_, sink) = lex("a\n@node1 priority 100\n");
        assert_eq!(sink.errors[0].location.line, 2);
        assert!(sink.errors[0].message.contains("conditional lines"));
    }

    #[test]
    fn quoted_escaped_words() {
        assert_eq!(
            split_quoted_escaped("/bin/bash -c '</dev/tcp/127.0.0.1/443'").unwrap(),
            vec!["/bin/bash", "-c", "</dev/tcp/127.0.0.1/443"]
        );
        assert_eq!(
            split_quoted_escaped(r#"a "b c"d\ e 'f\'"#).unwrap_err(),
            "missing terminating ' in 'a \"b c\"d\\ e 'f\\''"
        );
        assert_eq!(
            split_quoted_escaped(r#"a "b c"d\ e"#).unwrap(),
            vec!["a", "b cd e"]
        );
    }
}
