//! Compiles the syntax tree into the IR the evaluator runs ([`ir`]).
//!
//! Variables are resolved here to `(depth, slot)` pairs over runtime frames ([`scope`]), so
//! evaluation never looks names up in lexical scopes; only names not bound lexically but
//! inside a `with` become dynamic lookups (`Ir::WithVar`), which is exactly Nix's rule that
//! lexical bindings always win over `with` and the innermost `with` wins among them.
//! [`speculate`] marks the lambdas whose bodies are free to compute without a frame.

use std::rc::Rc;

pub(crate) mod ir;
mod scope;
pub(crate) mod speculate;

pub(crate) use ir::*;
pub(crate) use scope::BaseScope;
use scope::{Scope, ScopeKind, vars};

use crate::source::{Pos, Sym};
use crate::string::NixString;
use crate::syntax::ParseError;
use crate::syntax::ast::{self, AttrName, BinOp, Expr, PathKind, StrPart, expr_pos};
use crate::syntax::merge::{Tree, TreeVal, tree_of};
use crate::syntax::show_parsed;

/// Compiles `e` over the base scope; `extra` is an additional frame of names over the base
/// (for `scopedImport`).
pub(crate) fn compile(e: &Expr, base: &BaseScope, extra: Option<&[Sym]>) -> Result<Ir, ParseError> {
    let root = Scope {
        kind: vars(base.0.clone()),
        parent: None,
    };
    match extra {
        Some(names) => {
            let s = Scope {
                kind: vars(names.to_vec()),
                parent: Some(&root),
            };
            Compiler.expr(e, &s)
        }
        None => Compiler.expr(e, &root),
    }
}

struct Compiler;

impl Compiler {
    fn var(&self, name: Sym, pos: Pos, scope: &Scope<'_>, skip: u32) -> Result<Ir, ParseError> {
        scope.lookup(name, pos, skip).ok_or_else(|| ParseError {
            msg: format!("undefined variable '{name}'"),
            pos,
        })
    }

    fn attrpath(&self, path: &[AttrName], scope: &Scope<'_>) -> Result<Box<[IrAttr]>, ParseError> {
        path.iter()
            .map(|a| {
                Ok(match a {
                    AttrName::Static(s) => IrAttr::Static(*s),
                    AttrName::Dynamic(e, _) => {
                        let mut text = String::new();
                        crate::syntax::show_path(std::slice::from_ref(a), &mut text)?;
                        IrAttr::Dynamic(Box::new(DynamicName {
                            ir: self.expr(e, scope)?,
                            pos: expr_pos(e),
                            text,
                        }))
                    }
                })
            })
            .collect()
    }

    fn rc(&self, e: &Expr, scope: &Scope<'_>) -> Result<Rc<Ir>, ParseError> {
        Ok(Rc::new(self.expr(e, scope)?))
    }

    fn name_lambda(ir: Ir, name: Sym) -> Ir {
        if let Ir::Lambda(l) = ir {
            let l = Rc::try_unwrap(l).map(|mut l| {
                if l.name.is_none() {
                    l.name = Some(name);
                }
                l
            });
            match l {
                Ok(l) => Ir::Lambda(Rc::new(l)),
                Err(l) => Ir::Lambda(l),
            }
        } else {
            ir
        }
    }

    /// Compiles a tree's values; `scope` is where values are evaluated, `inherit_skip` how
    /// many frames a plain `inherit` must skip (1 in rec/let, 0 otherwise).
    fn tree(
        &self,
        t: Tree,
        scope: &Scope<'_>,
        inherit_skip: u32,
        from_base: u32,
    ) -> Result<AttrsIr, ParseError> {
        let mut out = AttrsIr::default();
        for (name, v, pos) in t.statics {
            let ir = self.tree_val(v, scope, inherit_skip, from_base)?;
            out.statics
                .push((name, Rc::new(Self::name_lambda(ir, name)), pos));
        }
        for (n, npos, v, pos) in t.dynamics {
            let _ = npos;
            let name = self.expr(&n, scope)?;
            let ir = self.tree_val(v, scope, inherit_skip, from_base)?;
            out.dynamics.push((name, Rc::new(ir), pos));
        }
        Ok(out)
    }

    fn tree_val(
        &self,
        v: TreeVal,
        scope: &Scope<'_>,
        inherit_skip: u32,
        from_base: u32,
    ) -> Result<Ir, ParseError> {
        Ok(match v {
            TreeVal::Expr(e) => self.expr(&e, scope)?,
            TreeVal::Inherit(None, n, p) => self.var(n, p, scope, inherit_skip)?,
            TreeVal::Inherit(Some(i), n, p) => {
                // `inherit (e) n`: `e` sits in a hidden slot of the set's own frame.
                let src = Ir::Var {
                    depth: 0,
                    slot: from_base + i as u32,
                    pos: Pos::NONE,
                };
                Ir::Select {
                    expr: Box::new(src),
                    path: Box::new([IrAttr::Static(n)]),
                    default: None,
                    pos: p,
                }
            }
            TreeVal::Nested(t, rec) => self.attrs(t, rec, scope)?,
        })
    }

    /// Compiles an attribute set. `inherit (e)` sources live in hidden frame slots: after
    /// the attributes in a `rec` frame, or in a frame of their own around a plain set.
    fn attrs(&self, t: Tree, rec: bool, scope: &Scope<'_>) -> Result<Ir, ParseError> {
        let nfroms = t.froms.len();
        let hidden = Sym::new("");
        if rec {
            let mut names: Vec<Sym> = t.statics.iter().map(|s| s.0).collect();
            let base = names.len() as u32;
            names.extend(std::iter::repeat_n(hidden, nfroms));
            let inner = Scope {
                kind: vars(names),
                parent: Some(scope),
            };
            let froms = t
                .froms
                .iter()
                .map(|e| self.rc(e, &inner))
                .collect::<Result<Vec<_>, _>>()?;
            let mut a = self.tree(t, &inner, 1, base)?;
            a.froms = froms;
            Ok(Ir::RecAttrs(Box::new(a)))
        } else if nfroms == 0 {
            Ok(Ir::Attrs(Box::new(self.tree(t, scope, 0, 0)?)))
        } else {
            let inner = Scope {
                kind: vars(vec![hidden; nfroms]),
                parent: Some(scope),
            };
            let froms = t
                .froms
                .iter()
                .map(|e| self.rc(e, &inner))
                .collect::<Result<Vec<_>, _>>()?;
            let a = self.tree(t, &inner, 0, 0)?;
            Ok(Ir::Let {
                binds: froms.into(),
                body: Box::new(Ir::Attrs(Box::new(a))),
            })
        }
    }

    fn expr(&self, e: &Expr, scope: &Scope<'_>) -> Result<Ir, ParseError> {
        Ok(match e {
            Expr::Int(i) => Ir::Const(Lit::Int(*i)),
            Expr::Float(f) => Ir::Const(Lit::Float(*f)),
            Expr::Str(parts, spos) => match parts.as_slice() {
                [] => Ir::Const(Lit::str("")),
                [StrPart::Lit(s)] => Ir::Const(Lit::str(s.clone())),
                _ => {
                    let irs = parts
                        .iter()
                        .map(|p| match p {
                            StrPart::Lit(s) => Ok(Ir::Const(Lit::str(s.clone()))),
                            StrPart::Interp(e) => self.expr(e, scope),
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    Ir::Concat {
                        parts: irs.into(),
                        kind: ConcatKind::String,
                        pos: *spos,
                    }
                }
            },
            Expr::Path(kind, parts, pos) => {
                let mut irs = Vec::new();
                for (i, p) in parts.iter().enumerate() {
                    irs.push(match p {
                        StrPart::Lit(s) if i == 0 => match kind {
                            PathKind::Plain => {
                                Ir::Const(Lit::Path(Rc::new(NixString::plain(s.clone()))))
                            }
                            PathKind::Home => Ir::HomePath {
                                rest: s.clone(),
                                pos: *pos,
                            },
                        },
                        StrPart::Lit(s) => Ir::Const(Lit::str(s.clone())),
                        StrPart::Interp(e) => self.expr(e, scope)?,
                    });
                }
                if irs.len() == 1 {
                    irs.pop().expect("one")
                } else {
                    Ir::Concat {
                        parts: irs.into(),
                        kind: ConcatKind::Path,
                        pos: *pos,
                    }
                }
            }
            Expr::SearchPath(p, pos) => Ir::Call {
                func: Box::new(self.var(Sym::new("__findFile"), *pos, scope, 0)?),
                args: Box::new([
                    Rc::new(self.var(Sym::new("__nixPath"), *pos, scope, 0)?),
                    Rc::new(Ir::Const(Lit::str(p.clone()))),
                ]),
                pos: *pos,
            },
            Expr::Uri(u, _) => Ir::Const(Lit::str(u.clone())),
            Expr::Var(name, pos) => self.var(*name, *pos, scope, 0)?,
            Expr::Select(e, path, def, pos) => Ir::Select {
                expr: Box::new(self.expr(e, scope)?),
                path: self.attrpath(path, scope)?,
                default: match def {
                    Some(d) => Some(Box::new(self.expr(d, scope)?)),
                    None => None,
                },
                pos: *pos,
            },
            Expr::HasAttr(e, path, pos) => Ir::HasAttr {
                expr: Box::new(self.expr(e, scope)?),
                path: self.attrpath(path, scope)?,
                pos: expr_pos(e).or(*pos),
            },
            Expr::Attrs(rec, binds, _) => self.attrs(tree_of(binds)?, *rec, scope)?,
            Expr::List(items) => Ir::List(
                items
                    .iter()
                    .map(|i| self.rc(i, scope))
                    .collect::<Result<Vec<_>, _>>()?
                    .into(),
            ),
            Expr::Lambda(l) => Ir::Lambda(Rc::new(self.lambda(l, scope)?)),
            Expr::Call(f, args, pos) => Ir::Call {
                func: Box::new(self.expr(f, scope)?),
                args: args
                    .iter()
                    .map(|a| self.rc(a, scope))
                    .collect::<Result<Vec<_>, _>>()?
                    .into(),
                pos: *pos,
            },
            Expr::Let(binds, body, pos) => {
                let t = tree_of(binds)?;
                if !t.dynamics.is_empty() {
                    // Nix points at the `let`.
                    return Err(ParseError {
                        msg: "dynamic attributes not allowed in let".into(),
                        pos: *pos,
                    });
                }
                let mut names: Vec<Sym> = t.statics.iter().map(|s| s.0).collect();
                let base = names.len() as u32;
                names.extend(std::iter::repeat_n(Sym::new(""), t.froms.len()));
                let inner = Scope {
                    kind: vars(names),
                    parent: Some(scope),
                };
                let froms = t
                    .froms
                    .iter()
                    .map(|e| self.rc(e, &inner))
                    .collect::<Result<Vec<_>, _>>()?;
                let a = self.tree(t, &inner, 1, base)?;
                let mut binds: Vec<Rc<Ir>> = a.statics.into_iter().map(|s| s.1).collect();
                binds.extend(froms);
                Ir::Let {
                    binds: binds.into(),
                    body: Box::new(self.expr(body, &inner)?),
                }
            }
            Expr::With(env, body, _) => {
                let inner = Scope {
                    kind: ScopeKind::With,
                    parent: Some(scope),
                };
                Ir::With {
                    scope: self.rc(env, scope)?,
                    body: Box::new(self.expr(body, &inner)?),
                }
            }
            Expr::If(c, a, b, pos) => Ir::If {
                cond: Box::new(self.expr(c, scope)?),
                then: Box::new(self.expr(a, scope)?),
                otherwise: Box::new(self.expr(b, scope)?),
                pos: *pos,
            },
            Expr::Assert(c, body, pos) => {
                // Nix names the condition re-rendered as `--parse` prints it.
                let text = show_parsed(c)?;
                Ir::Assert {
                    cond: Box::new(self.expr(c, scope)?),
                    body: Box::new(self.expr(body, scope)?),
                    pos: *pos,
                    text,
                }
            }
            Expr::Not(e, pos) => Ir::Not {
                expr: Box::new(self.expr(e, scope)?),
                pos: expr_pos(e).or(*pos),
            },
            Expr::Neg(e, pos) => Ir::Bin {
                op: BinOp::Sub,
                lhs: Box::new(Ir::Const(Lit::Int(0))),
                rhs: Box::new(self.expr(e, scope)?),
                pos: *pos,
                operand_pos: [*pos, expr_pos(e).or(*pos)],
            },
            // `+` reports an operand's failure where the operand's text starts.
            Expr::Bin(BinOp::Add, a, b, pos, starts) => Ir::Concat {
                parts: vec![self.expr(a, scope)?, self.expr(b, scope)?].into(),
                kind: ConcatKind::Plus(Box::new(starts.as_deref().copied().unwrap_or([*pos; 2]))),
                pos: *pos,
            },
            Expr::Bin(BinOp::PipeRight, a, b, pos, _) => Ir::Call {
                func: Box::new(self.expr(b, scope)?),
                args: Box::new([self.rc(a, scope)?]),
                pos: *pos,
            },
            Expr::Bin(BinOp::PipeLeft, a, b, pos, _) => Ir::Call {
                func: Box::new(self.expr(a, scope)?),
                args: Box::new([self.rc(b, scope)?]),
                pos: *pos,
            },
            Expr::Bin(op, a, b, pos, _) => Ir::Bin {
                op: *op,
                lhs: Box::new(self.expr(a, scope)?),
                rhs: Box::new(self.expr(b, scope)?),
                pos: *pos,
                operand_pos: [expr_pos(a).or(*pos), expr_pos(b).or(*pos)],
            },
            Expr::CurPos(pos) => Ir::CurPos(*pos),
        })
    }

    fn lambda(&self, l: &ast::Lambda, scope: &Scope<'_>) -> Result<LambdaIr, ParseError> {
        let mut names: Vec<Sym> = Vec::new();
        if let Some(f) = &l.formals {
            names.extend(f.entries.iter().map(|e| e.0));
        }
        if let Some(a) = l.arg {
            names.push(a);
        }
        let nslots = names.len();
        let inner = Scope {
            kind: vars(names),
            parent: Some(scope),
        };
        let formals = match &l.formals {
            Some(f) => Some(
                f.entries
                    .iter()
                    .map(|(n, d, p)| {
                        Ok((*n, d.as_ref().map(|d| self.rc(d, &inner)).transpose()?, *p))
                    })
                    .collect::<Result<Vec<_>, ParseError>>()?,
            ),
            None => None,
        };
        let body = self.expr(&l.body, &inner)?;
        Ok(LambdaIr {
            name: None,
            cheap_body: formals.is_none() && speculate::is_cheap_shape(&body),
            formals,
            ellipsis: l.formals.as_ref().is_some_and(|f| f.ellipsis),
            arg: l.arg,
            nslots,
            body,
            pos: l.pos,
        })
    }
}
