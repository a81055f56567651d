//! Lexical scopes at compile time, mirroring the frames the evaluator builds at run time: a
//! name resolves to how many frames up and which slot, or to a `with` lookup.

use rustc_hash::FxHashMap as HashMap;

use super::ir::Ir;
use crate::source::{Pos, Sym};

/// What a scope binds.
#[derive(Debug)]
pub(super) enum ScopeKind {
    /// Names by slot, with a hash index for big frames.
    Vars(Vec<Sym>, Option<HashMap<Sym, usize>>),
    /// A `with`: its names are only known at run time.
    With,
}

/// A scope binding `names` in slot order.
pub(super) fn vars(names: Vec<Sym>) -> ScopeKind {
    let index = (names.len() > 8).then(|| names.iter().enumerate().map(|(i, n)| (*n, i)).collect());
    ScopeKind::Vars(names, index)
}

/// One frame's scope and its enclosing ones.
#[derive(Debug)]
pub(super) struct Scope<'p> {
    pub kind: ScopeKind,
    pub parent: Option<&'p Scope<'p>>,
}

/// The names of the base environment (the outermost frame: the builtins).
#[derive(Debug, Clone, Default)]
pub struct BaseScope(pub Vec<Sym>);

impl Scope<'_> {
    /// Resolves `name` used at `pos`, skipping the innermost `skip` frames: a lexical
    /// variable if one binds it, else a `with` lookup if a `with` encloses it.
    pub fn lookup(&self, name: Sym, pos: Pos, skip: u32) -> Option<Ir> {
        let mut depth = 0u32;
        let mut s = Some(self);
        let mut has_with = false;
        while let Some(sc) = s {
            if depth >= skip {
                match &sc.kind {
                    ScopeKind::Vars(names, index) => {
                        let found = match index {
                            Some(ix) => ix.get(&name).copied(),
                            None => names.iter().position(|n| *n == name),
                        };
                        if let Some(slot) = found {
                            return Some(Ir::Var {
                                depth,
                                slot: slot as u32,
                                pos,
                            });
                        }
                    }
                    ScopeKind::With => has_with = true,
                }
            }
            depth += 1;
            s = sc.parent;
        }
        has_with.then_some(Ir::WithVar { name, pos })
    }
}
