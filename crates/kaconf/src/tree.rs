//! Groups logical lines into statements with optional `{ … }` blocks.

use crate::diag::Sink;
use crate::lexer::Line;
use crate::model::Location;

/// One statement: `keyword args…`, optionally followed by a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stmt {
    pub(crate) loc: Location,
    /// The line's text (for handlers that re-split it, like `script`).
    pub(crate) raw: String,
    pub(crate) words: Vec<String>,
    pub(crate) block: Option<Vec<Stmt>>,
}

impl Stmt {
    /// The keyword (first word).
    pub(crate) fn keyword(&self) -> &str {
        self.words.first().map(String::as_str).unwrap_or("")
    }

    /// Arguments after the keyword.
    pub(crate) fn args(&self) -> &[String] {
        self.words.get(1..).unwrap_or(&[])
    }
}

/// Builds the statement tree. Unbalanced braces are errors.
pub(crate) fn build(lines: Vec<Line>, sink: &mut Sink) -> Vec<Stmt> {
    // Stack of open blocks: (statement owning the block, its children so far).
    let mut stack: Vec<(Stmt, Vec<Stmt>)> = Vec::new();
    let mut top: Vec<Stmt> = Vec::new();
    let mut last_can_open = false;
    for line in lines {
        let word = line.words.first().map(String::as_str).unwrap_or("");
        match word {
            "{" => {
                let current = stack.last_mut().map(|(_, c)| c).unwrap_or(&mut top);
                match current.pop() {
                    Some(owner) if last_can_open => stack.push((owner, Vec::new())),
                    other => {
                        if let Some(o) = other {
                            current.push(o);
                        }
                        sink.error(&line.loc, "unexpected '{'");
                    }
                }
                last_can_open = false;
            }
            "}" => {
                match stack.pop() {
                    Some((mut owner, children)) => {
                        owner.block = Some(children);
                        stack
                            .last_mut()
                            .map(|(_, c)| c)
                            .unwrap_or(&mut top)
                            .push(owner);
                    }
                    None => sink.error(&line.loc, "extra '}' found"),
                }
                last_can_open = false;
            }
            _ => {
                let stmt = Stmt {
                    loc: line.loc,
                    raw: line.raw,
                    words: line.words,
                    block: None,
                };
                stack
                    .last_mut()
                    .map(|(_, c)| c)
                    .unwrap_or(&mut top)
                    .push(stmt);
                last_can_open = true;
            }
        }
    }
    while let Some((mut owner, children)) = stack.pop() {
        sink.error(
            &owner.loc,
            format!("block '{}' is not closed (missing '}}')", owner.keyword()),
        );
        owner.block = Some(children);
        stack
            .last_mut()
            .map(|(_, c)| c)
            .unwrap_or(&mut top)
            .push(owner);
    }
    top
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::Lexer;
    use std::path::Path;

    fn tree(text: &str) -> (Vec<Stmt>, Sink) {
        let mut sink = Sink::default();
        let lines = {
            let mut lx = Lexer::new(&mut sink);
            lx.read_text(text, "t.conf", Path::new("."));
            lx.lines
        };
        let t = build(lines, &mut sink);
        (t, sink)
    }

    #[test]
    fn nested_blocks() {
        let (t, sink) = tree("a 1 {\n b\n c {\n d\n }\n}\ne\n");
        assert!(sink.errors.is_empty());
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].words, vec!["a", "1"]);
        let inner = t[0].block.as_ref().unwrap();
        assert_eq!(inner.len(), 2);
        assert_eq!(inner[1].block.as_ref().unwrap()[0].keyword(), "d");
        assert_eq!(t[1].keyword(), "e");
        assert!(t[1].block.is_none());
    }

    #[test]
    fn brace_on_next_line_opens_block() {
        let (t, sink) = tree("a\n{\nb\n}\n");
        assert!(sink.errors.is_empty());
        assert_eq!(t[0].block.as_ref().unwrap()[0].keyword(), "b");
    }

    #[test]
    fn extra_close_brace() {
        let (_, sink) = tree("a {\n}\n}\n");
        assert_eq!(sink.errors[0].location.line, 3);
        assert!(sink.errors[0].message.contains("extra '}'"));
    }

    #[test]
    fn unclosed_block_reports_its_start() {
        let (_, sink) = tree("x\nvrrp_instance A {\n b\n");
        assert_eq!(sink.errors[0].location.line, 2);
        assert!(sink.errors[0]
            .message
            .contains("'vrrp_instance' is not closed"));
    }

    #[test]
    fn unexpected_open_brace() {
        let (_, sink) = tree("a {\n}\n{\n");
        assert_eq!(sink.errors[0].location.line, 3);
        assert!(sink.errors[0].message.contains("unexpected '{'"));
    }
}
