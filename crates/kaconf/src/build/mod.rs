//! Turns the statement tree into the typed model, reporting problems with their lines.

mod check;
mod global;
mod instance;
mod script;

use crate::diag::Sink;
use crate::keywords::IGNORED_TOP;
use crate::model::{Config, GlobalDefs};
use crate::tree::Stmt;

/// Shared helpers for the block builders.
pub(crate) struct Ctx<'a> {
    pub(crate) sink: &'a mut Sink,
}

impl Ctx<'_> {
    /// Reports `Err(msg)` at the statement's line; passes `Ok` through.
    pub(crate) fn check<T>(&mut self, st: &Stmt, r: Result<T, String>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(msg) => {
                self.sink.error(&st.loc, msg);
                None
            }
        }
    }

    pub(crate) fn error(&mut self, st: &Stmt, msg: impl Into<String>) {
        self.sink.error(&st.loc, msg);
    }

    pub(crate) fn warn(&mut self, st: &Stmt, msg: impl Into<String>) {
        self.sink.warn(&st.loc, msg);
    }

    /// The statement's block, or an error when it has none.
    pub(crate) fn block<'s>(&mut self, st: &'s Stmt) -> Option<&'s [Stmt]> {
        match &st.block {
            Some(b) => Some(b),
            None => {
                self.error(st, format!("'{}' needs a {{ … }} block", st.keyword()));
                None
            }
        }
    }

    /// Errors when a plain keyword is followed by a block. Returns false in that case.
    pub(crate) fn no_block(&mut self, st: &Stmt) -> bool {
        if st.block.is_some() {
            self.error(
                st,
                format!("'{}' does not take a {{ … }} block", st.keyword()),
            );
            false
        } else {
            true
        }
    }

    /// Warns that a known keepalived keyword is ignored.
    pub(crate) fn ignored(&mut self, st: &Stmt, within: &str) {
        let what = if st.block.is_some() {
            "block"
        } else {
            "keyword"
        };
        self.warn(
            st,
            format!(
                "{what} '{}' in {within} is not implemented by vrrpd; ignored",
                st.keyword()
            ),
        );
    }

    /// Errors for an unknown keyword.
    pub(crate) fn unknown(&mut self, st: &Stmt, within: &str) {
        self.error(
            st,
            format!("unknown keyword '{}' in {within}", st.keyword()),
        );
    }

    /// The single block name argument (`vrrp_instance NAME`), or an error.
    pub(crate) fn name(&mut self, st: &Stmt) -> Option<String> {
        match st.args() {
            [n] => Some(n.clone()),
            [] => {
                self.error(st, format!("'{}' needs a name", st.keyword()));
                None
            }
            _ => {
                self.error(st, format!("'{}' takes exactly one name", st.keyword()));
                None
            }
        }
    }
}

/// Builds the whole configuration. Errors go to the sink; the returned value is only
/// meaningful when the sink has no errors.
pub(crate) fn config(top: &[Stmt], sink: &mut Sink) -> Config {
    let mut ctx = Ctx { sink };
    // global_defs first: instances inherit from it wherever it is written.
    let mut global = GlobalDefs::default();
    let mut global_seen = global::Pending::default();
    for st in top.iter().filter(|s| s.keyword() == "global_defs") {
        if !st.args().is_empty() {
            ctx.error(st, "'global_defs' takes no arguments");
        }
        if let Some(b) = ctx.block(st) {
            global::apply(&mut ctx, b, &mut global, &mut global_seen);
        }
    }
    global::finish(&mut global, &global_seen);

    let mut scripts = Vec::new();
    let mut checks = Vec::new();
    for st in top {
        match st.keyword() {
            "vrrp_script" => scripts.extend(script::build(&mut ctx, st)),
            "vrrpd_check" => checks.extend(check::build(&mut ctx, st)),
            _ => {}
        }
    }
    let lookup = script::Lookup::new(&mut ctx, &scripts, &checks);
    let mut instances = Vec::new();
    for st in top {
        match st.keyword() {
            "global_defs" | "vrrp_script" | "vrrpd_check" => {}
            "vrrp_instance" => instances.extend(instance::build(&mut ctx, st, &global, &lookup)),
            k if IGNORED_TOP.contains(&k) => ctx.ignored(st, "the top level"),
            _ => ctx.unknown(st, "the top level"),
        }
    }
    Config {
        global,
        scripts,
        checks,
        instances,
    }
}
