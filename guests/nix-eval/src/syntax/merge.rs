//! Nested attribute paths merged into trees (`a.b = 1; a.c = 2;` is `a = { b = 1; c = 2; }`),
//! with Nix's "already defined" errors: what Nix's parser does while building attribute sets.
//! The compiler and the `--parse` printer both read the merged trees.

use rustc_hash::FxHashMap as HashMap;

use super::ParseError;
use super::ast::{AttrName, Binding, Expr};
use crate::source::{Pos, Sym};

/// A tree of attribute definitions being merged.
#[derive(Debug, Default)]
pub(crate) struct Tree {
    pub statics: Vec<(Sym, TreeVal, Pos)>,
    pub dynamics: Vec<(Expr, Pos, TreeVal, Pos)>,
    /// Index into `statics` by name (sets can have tens of thousands of attributes).
    index: HashMap<Sym, usize>,
    /// The `e` of each `inherit (e) ...;`, evaluated once per instantiation.
    pub froms: Vec<Expr>,
}

#[derive(Debug)]
pub(crate) enum TreeVal {
    Expr(Expr),
    /// `inherit x` (from the enclosing scope) / `inherit (e) x`.
    Inherit(Option<usize>, Sym, Pos),
    Nested(Tree, bool),
}

fn loc(p: Pos) -> String {
    p.resolve().map(|l| l.to_string()).unwrap_or_default()
}

fn path_str(path: &[AttrName]) -> String {
    path.iter()
        .map(|a| match a {
            AttrName::Static(s) => s.as_str().to_owned(),
            AttrName::Dynamic(..) => "\"${...}\"".to_owned(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

impl Tree {
    fn push_static(&mut self, entry: (Sym, TreeVal, Pos)) {
        self.index.insert(entry.0, self.statics.len());
        self.statics.push(entry);
    }

    fn add(
        &mut self,
        path: &[AttrName],
        full: &[AttrName],
        value: Expr,
        pos: Pos,
    ) -> Result<(), ParseError> {
        let depth = full.len() - path.len() + 1;
        match &path[0] {
            AttrName::Static(n) => {
                let existing = match self.index.get(n) {
                    Some(&i) => Some(&mut self.statics[i]),
                    None => None,
                };
                if path.len() == 1 {
                    match (existing, value) {
                        (Some((_, TreeVal::Nested(tree, _), _)), Expr::Attrs(_, binds, _)) => {
                            for b in binds {
                                tree.add_binding(b, full)?;
                            }
                            Ok(())
                        }
                        (Some((_, _, p)), _) => Err(ParseError {
                            msg: format!(
                                "attribute '{}' already defined at {}",
                                path_str(&full[..depth]),
                                loc(*p)
                            ),
                            pos,
                        }),
                        (None, Expr::Attrs(rec, binds, _)) => {
                            let mut t = Tree::default();
                            for b in binds {
                                t.add_binding(b, full)?;
                            }
                            self.push_static((*n, TreeVal::Nested(t, rec), pos));
                            Ok(())
                        }
                        (None, v) => {
                            self.push_static((*n, TreeVal::Expr(v), pos));
                            Ok(())
                        }
                    }
                } else {
                    match existing {
                        Some((_, TreeVal::Nested(tree, _), _)) => {
                            tree.add(&path[1..], full, value, pos)
                        }
                        Some((_, _, p)) => Err(ParseError {
                            msg: format!(
                                "attribute '{}' already defined at {}",
                                path_str(&full[..depth]),
                                loc(*p)
                            ),
                            pos,
                        }),
                        None => {
                            let mut t = Tree::default();
                            t.add(&path[1..], full, value, pos)?;
                            self.push_static((*n, TreeVal::Nested(t, false), pos));
                            Ok(())
                        }
                    }
                }
            }
            AttrName::Dynamic(e, npos) => {
                let v = if path.len() == 1 {
                    TreeVal::Expr(value)
                } else {
                    let mut t = Tree::default();
                    t.add(&path[1..], full, value, pos)?;
                    TreeVal::Nested(t, false)
                };
                self.dynamics.push((e.clone(), *npos, v, pos));
                Ok(())
            }
        }
    }

    pub(crate) fn add_binding(
        &mut self,
        b: Binding,
        _outer: &[AttrName],
    ) -> Result<(), ParseError> {
        match b {
            Binding::Attr(path, e, pos) => {
                let full = path.clone();
                self.add(&path, &full, e, pos)
            }
            Binding::Inherit(from, names) => {
                let from = from.map(|e| {
                    self.froms.push(e);
                    self.froms.len() - 1
                });
                for (n, p) in names {
                    if let Some((_, _, prev)) = self.index.get(&n).map(|&i| &self.statics[i]) {
                        return Err(ParseError {
                            msg: format!("attribute '{n}' already defined at {}", loc(*prev)),
                            pos: p,
                        });
                    }
                    self.push_static((n, TreeVal::Inherit(from, n, p), p));
                }
                Ok(())
            }
        }
    }
}

/// The merged tree of a list of bindings.
pub(crate) fn tree_of(binds: &[Binding]) -> Result<Tree, ParseError> {
    let mut t = Tree::default();
    for b in binds.iter().cloned() {
        t.add_binding(b, &[])?;
    }
    Ok(t)
}
