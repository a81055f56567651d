//! Compiles the AST into the IR the evaluator runs.
//!
//! Variables are resolved here to `(depth, slot)` pairs over runtime frames, so evaluation
//! never looks names up in lexical scopes; only names not bound lexically but inside a
//! `with` become dynamic lookups (`Ir::WithVar`), which is exactly Nix's rule that lexical
//! bindings always win over `with` and the innermost `with` wins among them. Nested
//! attribute paths (`a.b.c = 1; a.d = 2;`) are merged here, reporting Nix's duplicate
//! attribute errors.

use rustc_hash::FxHashMap as HashMap;
use std::rc::Rc;

use crate::ast::{self, AttrName, BinOp, Binding, Expr, PathKind, StrPart};
use crate::parser::ParseError;
use crate::source::{Pos, Sym};
use crate::value::Value;

/// An attribute name in a select / has-attr path.
#[derive(Debug)]
pub enum IrAttr {
    /// Known name.
    Static(Sym),
    /// Computed name.
    Dynamic(Box<DynamicName>),
}

/// A computed attribute name `${e}` in a select / has-attr path.
#[derive(Debug)]
pub struct DynamicName {
    /// The name's expression.
    pub ir: Ir,
    /// Where the expression starts (where a name that is not a string is reported).
    pub pos: Pos,
    /// `"${e}"` as `--parse` prints it, for traces naming a path whose name failed.
    pub text: String,
}

/// The compiled attribute-set definition.
#[derive(Debug, Default)]
pub struct AttrsIr {
    /// Static attributes (name, value, pos); in `rec` sets slot i holds attribute i.
    pub statics: Vec<(Sym, Rc<Ir>, Pos)>,
    /// Dynamic attributes `${n} = v`.
    pub dynamics: Vec<(Ir, Rc<Ir>, Pos)>,
    /// `inherit (e)` sources of a `rec` set: frame slots after the attributes.
    pub froms: Vec<Rc<Ir>>,
}

/// A formal argument: name, default, position.
pub type Formal = (Sym, Option<Rc<Ir>>, Pos);

/// A compiled lambda.
#[derive(Debug)]
pub struct LambdaIr {
    /// Function name (when bound to an attribute or variable), for messages.
    pub name: Option<Sym>,
    /// Formals: (name, default); their slots are 0..n.
    pub formals: Option<Vec<Formal>>,
    /// `...` present.
    pub ellipsis: bool,
    /// The plain / `@` argument name; its slot is the last one.
    pub arg: Option<Sym>,
    /// Number of slots in the frame.
    pub nslots: usize,
    /// The body.
    pub body: Ir,
    /// Position of the lambda.
    pub pos: Pos,
    /// Plain-argument lambda whose body [`crate::cheap::apply`] may compute without a frame.
    pub cheap_body: bool,
}

/// The IR.
#[derive(Debug)]
pub enum Ir {
    /// A constant.
    Const(Value),
    /// A lexical variable: frame depth, slot, and where it is used.
    Var(u32, u32, Pos),
    /// A variable looked up in the enclosing `with`s.
    WithVar(Sym, Pos),
    /// `e.path or default`.
    Select(Box<Ir>, Box<[IrAttr]>, Option<Box<Ir>>, Pos),
    /// `e ? path`, with where `e` starts.
    HasAttr(Box<Ir>, Box<[IrAttr]>, Pos),
    /// A non-recursive attribute set.
    Attrs(Box<AttrsIr>),
    /// A recursive attribute set (its own frame).
    RecAttrs(Box<AttrsIr>),
    /// A list.
    List(Box<[Rc<Ir>]>),
    /// A function.
    Lambda(Rc<LambdaIr>),
    /// Application.
    Call(Box<Ir>, Box<[Rc<Ir>]>, Pos),
    /// `let` (its own frame).
    Let(Box<[Rc<Ir>]>, Box<Ir>),
    /// `with` (its own frame holding the set).
    With(Rc<Ir>, Box<Ir>),
    /// `if`.
    If(Box<Ir>, Box<Ir>, Box<Ir>, Pos),
    /// `assert`, with the condition's source text.
    Assert(Box<Ir>, Box<Ir>, Pos, String),
    /// `!e`, with where `e` starts (where Nix reports its failures).
    Not(Box<Ir>, Pos),
    /// Binary operator, with where the operator and each operand are.
    Bin(BinOp, Box<Ir>, Box<Ir>, Pos, [Pos; 2]),
    /// String concatenation / interpolation / `+`; `true` forces a string result. For `+`,
    /// where each operand starts (failures are reported there).
    Concat(Box<[Ir]>, bool, Pos, Option<Box<[Pos; 2]>>),
    /// `~/...`, resolved against `HOME` at run time.
    HomePath(String, Pos),
    /// `<name>`.
    SearchPath(String, Pos),
}

#[derive(Debug)]
enum ScopeKind {
    /// Names by slot, with a hash index for big frames.
    Vars(Vec<Sym>, Option<HashMap<Sym, usize>>),
    With,
}

fn vars(names: Vec<Sym>) -> ScopeKind {
    let index = (names.len() > 8).then(|| names.iter().enumerate().map(|(i, n)| (*n, i)).collect());
    ScopeKind::Vars(names, index)
}

#[derive(Debug)]
struct Scope<'p> {
    kind: ScopeKind,
    parent: Option<&'p Scope<'p>>,
}

/// The names of the base environment (the outermost frame).
#[derive(Debug, Clone)]
pub struct BaseScope(pub Vec<Sym>);

/// Compile-time options.
#[derive(Debug, Clone, Default)]
pub struct CompileOpts {
    /// Source of the text (for assertion messages).
    pub text: Rc<str>,
    /// Base offset of the text in the code map.
    pub base: u32,
}

/// Compiles `e`; `extra` is an additional frame of names over the base (for `scopedImport`).
pub fn compile(
    e: &Expr,
    base: &BaseScope,
    extra: Option<&[Sym]>,
    opts: &CompileOpts,
) -> Result<Ir, ParseError> {
    let root = Scope {
        kind: vars(base.0.clone()),
        parent: None,
    };
    let c = Compiler { opts };
    match extra {
        Some(names) => {
            let s = Scope {
                kind: vars(names.to_vec()),
                parent: Some(&root),
            };
            c.expr(e, &s)
        }
        None => c.expr(e, &root),
    }
}

struct Compiler<'o> {
    opts: &'o CompileOpts,
}

/// A tree of attribute definitions being merged.
#[derive(Debug, Default)]
struct Tree {
    statics: Vec<(Sym, TreeVal, Pos)>,
    dynamics: Vec<(Expr, Pos, TreeVal, Pos)>,
    /// Index into `statics` by name (sets can have tens of thousands of attributes).
    index: HashMap<Sym, usize>,
    /// The `e` of each `inherit (e) ...;`, evaluated once per instantiation.
    froms: Vec<Expr>,
}

#[derive(Debug)]
enum TreeVal {
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

    fn add_binding(&mut self, b: Binding, _outer: &[AttrName]) -> Result<(), ParseError> {
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

impl<'o> Compiler<'o> {
    fn lookup(&self, name: Sym, scope: &Scope<'_>, skip: u32) -> Option<Ir> {
        let mut depth = 0u32;
        let mut s = Some(scope);
        let mut has_with = false;
        while let Some(sc) = s {
            if depth >= skip {
                match &sc.kind {
                    ScopeKind::Vars(names, index) => {
                        let found = match index {
                            Some(ix) => ix.get(&name).copied(),
                            None => names.iter().position(|n| *n == name),
                        };
                        if let Some(i) = found {
                            return Some(Ir::Var(depth, i as u32, Pos::NONE));
                        }
                    }
                    ScopeKind::With => has_with = true,
                }
            }
            depth += 1;
            s = sc.parent;
        }
        if has_with {
            Some(Ir::WithVar(name, Pos::NONE))
        } else {
            None
        }
    }

    fn var(&self, name: Sym, pos: Pos, scope: &Scope<'_>, skip: u32) -> Result<Ir, ParseError> {
        match self.lookup(name, scope, skip) {
            Some(Ir::WithVar(n, _)) => Ok(Ir::WithVar(n, pos)),
            Some(Ir::Var(d, s, _)) => Ok(Ir::Var(d, s, pos)),
            Some(ir) => Ok(ir),
            None => Err(ParseError {
                msg: format!("undefined variable '{name}'"),
                pos,
            }),
        }
    }

    fn attrpath(&self, path: &[AttrName], scope: &Scope<'_>) -> Result<Box<[IrAttr]>, ParseError> {
        path.iter()
            .map(|a| {
                Ok(match a {
                    AttrName::Static(s) => IrAttr::Static(*s),
                    AttrName::Dynamic(e, _) => {
                        let mut text = String::new();
                        show_path(std::slice::from_ref(a), &mut text)?;
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
                let src = Ir::Var(0, from_base + i as u32, Pos::NONE);
                Ir::Select(Box::new(src), Box::new([IrAttr::Static(n)]), None, p)
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
            Ok(Ir::Let(froms.into(), Box::new(Ir::Attrs(Box::new(a)))))
        }
    }

    fn expr(&self, e: &Expr, scope: &Scope<'_>) -> Result<Ir, ParseError> {
        Ok(match e {
            Expr::Int(i) => Ir::Const(Value::Int(*i)),
            Expr::Float(f) => Ir::Const(Value::Float(*f)),
            Expr::Str(parts, spos) => match parts.as_slice() {
                [] => Ir::Const(Value::str("")),
                [StrPart::Lit(s)] => Ir::Const(Value::str(s.clone())),
                _ => {
                    let irs = parts
                        .iter()
                        .map(|p| match p {
                            StrPart::Lit(s) => Ok(Ir::Const(Value::str(s.clone()))),
                            StrPart::Interp(e) => self.expr(e, scope),
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    Ir::Concat(irs.into(), true, *spos, None)
                }
            },
            Expr::Path(kind, parts, pos) => {
                let mut irs = Vec::new();
                for (i, p) in parts.iter().enumerate() {
                    irs.push(match p {
                        StrPart::Lit(s) if i == 0 => match kind {
                            PathKind::Plain => Ir::Const(Value::path(s.clone())),
                            PathKind::Home => Ir::HomePath(s.clone(), *pos),
                        },
                        StrPart::Lit(s) => Ir::Const(Value::str(s.clone())),
                        StrPart::Interp(e) => self.expr(e, scope)?,
                    });
                }
                if irs.len() == 1 {
                    irs.pop().expect("one")
                } else {
                    Ir::Concat(irs.into(), false, *pos, None)
                }
            }
            Expr::SearchPath(p, pos) => Ir::Call(
                Box::new(self.var(Sym::new("__findFile"), *pos, scope, 0)?),
                Box::new([
                    Rc::new(self.var(Sym::new("__nixPath"), *pos, scope, 0)?),
                    Rc::new(Ir::Const(Value::str(p.clone()))),
                ]),
                *pos,
            ),
            Expr::Uri(u, _) => Ir::Const(Value::str(u.clone())),
            Expr::Var(name, pos) => self.var(*name, *pos, scope, 0)?,
            Expr::Select(e, path, def, pos) => Ir::Select(
                Box::new(self.expr(e, scope)?),
                self.attrpath(path, scope)?,
                match def {
                    Some(d) => Some(Box::new(self.expr(d, scope)?)),
                    None => None,
                },
                *pos,
            ),
            Expr::HasAttr(e, path, pos) => Ir::HasAttr(
                Box::new(self.expr(e, scope)?),
                self.attrpath(path, scope)?,
                expr_pos(e).or(*pos),
            ),
            Expr::Attrs(rec, binds, _) => {
                let mut t = Tree::default();
                for b in binds.iter().cloned() {
                    t.add_binding(b, &[])?;
                }
                self.attrs(t, *rec, scope)?
            }
            Expr::List(items) => Ir::List(
                items
                    .iter()
                    .map(|i| self.rc(i, scope))
                    .collect::<Result<Vec<_>, _>>()?
                    .into(),
            ),
            Expr::Lambda(l) => Ir::Lambda(Rc::new(self.lambda(l, scope)?)),
            Expr::Call(f, args, pos) => Ir::Call(
                Box::new(self.expr(f, scope)?),
                args.iter()
                    .map(|a| self.rc(a, scope))
                    .collect::<Result<Vec<_>, _>>()?
                    .into(),
                *pos,
            ),
            Expr::Let(binds, body, pos) => {
                let mut t = Tree::default();
                for b in binds.iter().cloned() {
                    t.add_binding(b, &[])?;
                }
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
                Ir::Let(binds.into(), Box::new(self.expr(body, &inner)?))
            }
            Expr::With(env, body, _) => {
                let inner = Scope {
                    kind: ScopeKind::With,
                    parent: Some(scope),
                };
                Ir::With(self.rc(env, scope)?, Box::new(self.expr(body, &inner)?))
            }
            Expr::If(c, a, b, pos) => Ir::If(
                Box::new(self.expr(c, scope)?),
                Box::new(self.expr(a, scope)?),
                Box::new(self.expr(b, scope)?),
                *pos,
            ),
            Expr::Assert(c, body, pos) => {
                // Nix names the condition re-rendered as `--parse` prints it.
                let text = show_parsed(c)?;
                Ir::Assert(
                    Box::new(self.expr(c, scope)?),
                    Box::new(self.expr(body, scope)?),
                    *pos,
                    text,
                )
            }
            Expr::Not(e, pos) => Ir::Not(Box::new(self.expr(e, scope)?), expr_pos(e).or(*pos)),
            Expr::Neg(e, pos) => Ir::Bin(
                BinOp::Sub,
                Box::new(Ir::Const(Value::Int(0))),
                Box::new(self.expr(e, scope)?),
                *pos,
                [*pos, expr_pos(e).or(*pos)],
            ),
            // `+` reports an operand's failure where the operand's text starts.
            Expr::Bin(BinOp::Add, a, b, pos, starts) => Ir::Concat(
                vec![self.expr(a, scope)?, self.expr(b, scope)?].into(),
                false,
                *pos,
                Some(Box::new(starts.as_deref().copied().unwrap_or([*pos; 2]))),
            ),
            Expr::Bin(BinOp::PipeRight, a, b, pos, _) => Ir::Call(
                Box::new(self.expr(b, scope)?),
                Box::new([self.rc(a, scope)?]),
                *pos,
            ),
            Expr::Bin(BinOp::PipeLeft, a, b, pos, _) => Ir::Call(
                Box::new(self.expr(a, scope)?),
                Box::new([self.rc(b, scope)?]),
                *pos,
            ),
            Expr::Bin(op, a, b, pos, _) => Ir::Bin(
                *op,
                Box::new(self.expr(a, scope)?),
                Box::new(self.expr(b, scope)?),
                *pos,
                [expr_pos(a).or(*pos), expr_pos(b).or(*pos)],
            ),
            Expr::CurPos(pos) => {
                let l = pos.resolve();
                let mut b = crate::value::AttrsBuilder::default();
                if let Some(l) = l {
                    b.add("file", Value::str(l.origin.to_string()));
                    b.add("line", Value::Int(l.line as i64));
                    b.add("column", Value::Int(l.column as i64));
                }
                Ir::Const(b.build())
            }
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
        let _ = self.opts;
        let body = self.expr(&l.body, &inner)?;
        Ok(LambdaIr {
            name: None,
            cheap_body: formals.is_none() && crate::cheap::is_cheap_shape(&body),
            formals,
            ellipsis: l.formals.as_ref().is_some_and(|f| f.ellipsis),
            arg: l.arg,
            nslots,
            body,
            pos: l.pos,
        })
    }
}

/// Where an expression starts, as Nix's `Expr::getPos` reports it (literal numbers, lists
/// and lambdas have no position of their own).
pub fn expr_pos(e: &Expr) -> Pos {
    match e {
        Expr::Str(_, p)
        | Expr::Path(_, _, p)
        | Expr::SearchPath(_, p)
        | Expr::Uri(_, p)
        | Expr::Var(_, p)
        | Expr::Select(_, _, _, p)
        | Expr::HasAttr(_, _, p)
        | Expr::Attrs(_, _, p)
        | Expr::Call(_, _, p)
        | Expr::Let(_, _, p)
        | Expr::With(_, _, p)
        | Expr::If(_, _, _, p)
        | Expr::Assert(_, _, p)
        | Expr::Not(_, p)
        | Expr::Neg(_, p)
        | Expr::Bin(_, _, _, p, _)
        | Expr::CurPos(p) => *p,
        Expr::Lambda(l) => l.pos,
        Expr::Int(_) | Expr::Float(_) | Expr::List(_) => Pos::NONE,
    }
}

/// Renders a parsed expression the way `nix-instantiate --parse` prints it (Nix's
/// `Expr::show`): attribute paths merged, bindings sorted, operators desugared where Nix
/// desugars them.
pub fn show_parsed(e: &Expr) -> Result<String, ParseError> {
    let mut out = String::new();
    show(e, &mut out)?;
    Ok(out)
}

fn show_str_lit(s: &str, out: &mut String) {
    out.push_str(&crate::print::quote_string(s));
}

fn show_tree(t: Tree, out: &mut String) -> Result<(), ParseError> {
    // plain inherits, then inherits by source, then the rest sorted by name, then dynamics
    let mut plain: Vec<&str> = Vec::new();
    let mut by_from: Vec<Vec<&str>> = vec![Vec::new(); t.froms.len()];
    let mut rest: Vec<(Sym, TreeVal)> = Vec::new();
    for (n, v, _) in t.statics {
        match v {
            TreeVal::Inherit(None, _, _) => plain.push(n.as_str()),
            TreeVal::Inherit(Some(i), _, _) => by_from[i].push(n.as_str()),
            v => rest.push((n, v)),
        }
    }
    plain.sort();
    if !plain.is_empty() {
        out.push_str("inherit");
        for n in &plain {
            out.push(' ');
            out.push_str(&crate::print::attr_name(n));
        }
        out.push_str("; ");
    }
    for (i, names) in by_from.iter_mut().enumerate() {
        names.sort();
        out.push_str("inherit (");
        show(&t.froms[i], out)?;
        out.push(')');
        for n in names.iter() {
            out.push(' ');
            out.push_str(&crate::print::attr_name(n));
        }
        out.push_str("; ");
    }
    rest.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    for (n, v) in rest {
        out.push_str(&crate::print::attr_name(n.as_str()));
        out.push_str(" = ");
        show_tree_val(v, out)?;
        out.push_str("; ");
    }
    for (name, _, v, _) in t.dynamics {
        out.push_str("\"${");
        show(&name, out)?;
        out.push_str("}\" = ");
        show_tree_val(v, out)?;
        out.push_str("; ");
    }
    Ok(())
}

fn show_tree_val(v: TreeVal, out: &mut String) -> Result<(), ParseError> {
    match v {
        TreeVal::Expr(e) => show(&e, out),
        TreeVal::Nested(t, rec) => {
            out.push_str(if rec { "rec { " } else { "{ " });
            show_tree(t, out)?;
            out.push('}');
            Ok(())
        }
        TreeVal::Inherit(..) => Ok(()),
    }
}

fn tree_of(binds: &[Binding]) -> Result<Tree, ParseError> {
    let mut t = Tree::default();
    for b in binds.iter().cloned() {
        t.add_binding(b, &[])?;
    }
    Ok(t)
}

fn show_path(path: &[AttrName], out: &mut String) -> Result<(), ParseError> {
    for (i, a) in path.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        match a {
            AttrName::Static(s) => out.push_str(&crate::print::attr_name(s.as_str())),
            AttrName::Dynamic(e, _) => {
                out.push_str("\"${");
                show(e, out)?;
                out.push_str("}\"");
            }
        }
    }
    Ok(())
}

fn show(e: &Expr, out: &mut String) -> Result<(), ParseError> {
    match e {
        Expr::Int(i) => out.push_str(&i.to_string()),
        Expr::Float(f) => out.push_str(&crate::print::format_float(*f)),
        Expr::Str(parts, _) => match parts.as_slice() {
            [] => out.push_str("\"\""),
            [StrPart::Lit(s)] => show_str_lit(s, out),
            _ => {
                out.push('(');
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        out.push_str(" + ");
                    }
                    match p {
                        StrPart::Lit(s) => show_str_lit(s, out),
                        StrPart::Interp(e) => show(e, out)?,
                    }
                }
                out.push(')');
            }
        },
        Expr::Path(kind, parts, _) => {
            let lit = |i: usize, s: &str| {
                if i == 0 && *kind == PathKind::Home {
                    format!("~{s}")
                } else {
                    s.to_owned()
                }
            };
            if let [StrPart::Lit(s)] = parts.as_slice() {
                out.push_str(&lit(0, s));
            } else {
                out.push('(');
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        out.push_str(" + ");
                    }
                    match p {
                        StrPart::Lit(s) if i == 0 => out.push_str(&lit(0, s)),
                        StrPart::Lit(s) => show_str_lit(s, out),
                        StrPart::Interp(e) => show(e, out)?,
                    }
                }
                out.push(')');
            }
        }
        Expr::SearchPath(p, _) => {
            out.push_str("(__findFile __nixPath ");
            show_str_lit(p, out);
            out.push(')');
        }
        Expr::Uri(u, _) => show_str_lit(u, out),
        Expr::Var(n, _) => out.push_str(n.as_str()),
        Expr::Select(e, path, def, _) => {
            out.push('(');
            show(e, out)?;
            out.push_str(").");
            show_path(path, out)?;
            if let Some(d) = def {
                out.push_str(" or ");
                show(d, out)?;
            }
        }
        Expr::HasAttr(e, path, _) => {
            out.push_str("((");
            show(e, out)?;
            out.push_str(") ? ");
            show_path(path, out)?;
            out.push(')');
        }
        Expr::Attrs(rec, binds, _) => {
            let t = tree_of(binds)?;
            if t.statics.is_empty() && t.dynamics.is_empty() {
                out.push_str(if *rec { "rec { }" } else { "{ }" });
            } else {
                out.push_str(if *rec { "rec { " } else { "{ " });
                show_tree(t, out)?;
                out.push('}');
            }
        }
        Expr::List(items) => {
            out.push_str("[ ");
            for i in items {
                out.push('(');
                show(i, out)?;
                out.push_str(") ");
            }
            out.push(']');
        }
        Expr::Lambda(l) => {
            out.push('(');
            match &l.formals {
                Some(f) => {
                    let mut entries: Vec<&(Sym, Option<Expr>, Pos)> = f.entries.iter().collect();
                    entries.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
                    out.push_str("{ ");
                    for (i, (n, d, _)) in entries.iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        out.push_str(n.as_str());
                        if let Some(d) = d {
                            out.push_str(" ? ");
                            show(d, out)?;
                        }
                    }
                    if f.ellipsis {
                        out.push_str(if entries.is_empty() { "..." } else { ", ..." });
                    }
                    out.push_str(" }");
                    if let Some(a) = l.arg {
                        out.push('@');
                        out.push_str(a.as_str());
                    }
                }
                None => out.push_str(l.arg.map(|a| a.as_str()).unwrap_or("")),
            }
            out.push_str(": ");
            show(&l.body, out)?;
            out.push(')');
        }
        Expr::Call(f, args, _) => {
            out.push('(');
            show(f, out)?;
            for a in args {
                out.push(' ');
                show(a, out)?;
            }
            out.push(')');
        }
        Expr::Let(binds, body, _) => {
            out.push_str("(let ");
            show_tree(tree_of(binds)?, out)?;
            out.push_str("in ");
            show(body, out)?;
            out.push(')');
        }
        Expr::With(e, body, _) => {
            out.push_str("(with ");
            show(e, out)?;
            out.push_str("; ");
            show(body, out)?;
            out.push(')');
        }
        Expr::If(c, a, b, _) => {
            out.push_str("(if ");
            show(c, out)?;
            out.push_str(" then ");
            show(a, out)?;
            out.push_str(" else ");
            show(b, out)?;
            out.push(')');
        }
        Expr::Assert(c, body, _) => {
            out.push_str("assert ");
            show(c, out)?;
            out.push_str("; ");
            show(body, out)?;
        }
        Expr::Not(e, _) => {
            out.push_str("(! ");
            show(e, out)?;
            out.push(')');
        }
        Expr::Neg(e, _) => {
            out.push_str("(__sub 0 ");
            show(e, out)?;
            out.push(')');
        }
        Expr::Bin(op, a, b, ..) => {
            let call = |f: &str, x: &Expr, y: &Expr, out: &mut String| -> Result<(), ParseError> {
                out.push('(');
                out.push_str(f);
                out.push(' ');
                show(x, out)?;
                out.push(' ');
                show(y, out)?;
                out.push(')');
                Ok(())
            };
            match op {
                BinOp::Sub => call("__sub", a, b, out)?,
                BinOp::Mul => call("__mul", a, b, out)?,
                BinOp::Div => call("__div", a, b, out)?,
                BinOp::Lt => call("__lessThan", a, b, out)?,
                BinOp::Gt => call("__lessThan", b, a, out)?,
                BinOp::Le => {
                    out.push_str("(! ");
                    call("__lessThan", b, a, out)?;
                    out.push(')');
                }
                BinOp::Ge => {
                    out.push_str("(! ");
                    call("__lessThan", a, b, out)?;
                    out.push(')');
                }
                BinOp::PipeRight => call("", b, a, out)?,
                BinOp::PipeLeft => call("", a, b, out)?,
                _ => {
                    let o = match op {
                        BinOp::Eq => "==",
                        BinOp::Neq => "!=",
                        BinOp::And => "&&",
                        BinOp::Or => "||",
                        BinOp::Impl => "->",
                        BinOp::Update => "//",
                        BinOp::Add => "+",
                        _ => "++",
                    };
                    out.push('(');
                    show(a, out)?;
                    out.push(' ');
                    out.push_str(o);
                    out.push(' ');
                    show(b, out)?;
                    out.push(')');
                }
            }
        }
        Expr::CurPos(_) => out.push_str("__curPos"),
    }
    Ok(())
}
