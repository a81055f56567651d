//! The interpreter proper: evaluating IR in an environment frame, variables, delaying
//! (thunks, or values free to compute now), selects and attribute sets.

use std::cell::RefCell;
use std::rc::Rc;

use super::suggest::did_you_mean;
use super::{Evaluator, FRAME_POOL};
use crate::compiler::{Ir, IrAttr};
use crate::error::{Error, ErrorKind, Result};
use crate::source::{Pos, Sym};
use crate::syntax::path::canon_path;
use crate::value::*;

impl Evaluator {
    /// The frame `depth` levels up from `env` (variables are resolved at compile time, so
    /// it exists).
    #[inline(always)]
    pub(super) fn frame_at(env: &Rc<Env>, depth: u32) -> &Rc<Env> {
        let mut e = env;
        for _ in 0..depth {
            e = e.parent.as_ref().expect("resolved depth");
        }
        e
    }

    #[inline]
    pub(super) fn lookup(env: &Rc<Env>, depth: u32, slot: u32) -> Value {
        Self::frame_at(env, depth).slots.borrow()[slot as usize].clone()
    }

    pub(super) fn with_lookup(&self, env: &Rc<Env>, name: Sym, pos: Pos) -> Result<Value> {
        let mut e = Some(env);
        while let Some(en) = e {
            if en.is_with {
                let v = en.slots.borrow()[0].clone();
                let attrs = self.force_attrs(&v, pos)?;
                if let Some(v) = attrs.get(name) {
                    return Ok(v.clone());
                }
            }
            e = en.parent.as_ref();
        }
        Err(Error::new(
            ErrorKind::Eval,
            format!("undefined variable '{name}'"),
            pos,
        ))
    }

    /// A lazy value for `ir` in `env`: constants, variables and lambdas need no thunk.
    #[inline]
    pub(super) fn delay(&self, ir: &Rc<Ir>, env: &Rc<Env>) -> Value {
        match &**ir {
            Ir::Const(lit) => Value::of_lit(lit),
            Ir::Var { depth, slot, .. } => {
                let v = Self::lookup(env, *depth, *slot);
                super::speculate::settled(&v, super::speculate::Reach::Settled).unwrap_or(v)
            }
            Ir::Lambda(l) => Value::Lambda(Rc::new(Closure {
                lambda: l.clone(),
                env: env.clone(),
            })),
            _ => Value::pending(ir.clone(), env.clone()),
        }
    }

    /// A lazy function argument: like [`Self::delay`], and what [`super::speculate`] can
    /// compute on the spot needs no thunk either. Only arguments: a list or attribute set
    /// shown by `trace` before it is forced prints its unevaluated members as `«thunk»`,
    /// as Nix does, so those stay thunks.
    #[inline(always)]
    pub(super) fn delay_arg(&self, ir: &Rc<Ir>, env: &Rc<Env>) -> Value {
        match &**ir {
            Ir::Bin { .. } | Ir::Concat { .. } => {
                super::speculate::eval(ir, env, super::speculate::Reach::Settled)
                    .unwrap_or_else(|| Value::pending(ir.clone(), env.clone()))
            }
            _ => self.delay(ir, env),
        }
    }

    /// Like `delay` but for frames under construction (variables of depth 0 may be unset).
    pub(super) fn delay_rec(&self, ir: &Rc<Ir>, env: &Rc<Env>) -> Value {
        match &**ir {
            Ir::Var { depth: 0, .. } => Value::pending(ir.clone(), env.clone()),
            _ => self.delay(ir, env),
        }
    }

    /// A one-slot frame holding `arg` over `parent`, reusing a recycled allocation.
    #[inline(always)]
    pub(super) fn pooled_frame(&self, parent: &Rc<Env>, arg: Value) -> Rc<Env> {
        if let Some(mut f) = self.frame_pool.borrow_mut().pop()
            && let Some(e) = Rc::get_mut(&mut f)
            && let [slot] = e.slots.get_mut().as_mut_slice()
        {
            // A recycled frame keeps its one slot, set to `null` (no push: in wasm that
            // is a call).
            std::mem::replace(slot, arg).discard();
            e.parent = Some(parent.clone());
            return f;
        }
        Rc::new(Env {
            slots: RefCell::new(smallvec::smallvec![arg]),
            parent: Some(parent.clone()),
            is_with: false,
        })
    }

    /// Keeps a plain lambda's frame for reuse when nothing captured it (the common case
    /// for calls whose body only computes a value): saves an allocation per call.
    #[inline(always)]
    pub(super) fn recycle_frame(&self, mut f: Rc<Env>) {
        if let Some(e) = Rc::get_mut(&mut f)
            && let [slot] = e.slots.get_mut().as_mut_slice()
        {
            std::mem::replace(slot, Value::Null).discard();
            e.parent = None;
            let mut pool = self.frame_pool.borrow_mut();
            if pool.len() < FRAME_POOL {
                pool.push(f);
            }
        }
    }

    /// A frame over `parent` whose slots are set once they are made (they may refer to the
    /// frame itself): it starts empty, so no slot storage is allocated twice.
    pub(super) fn new_frame(parent: &Rc<Env>) -> Rc<Env> {
        Rc::new(Env {
            slots: RefCell::new(Slots::new()),
            parent: Some(parent.clone()),
            is_with: false,
        })
    }

    /// Evaluates `ir` in `env` to weak head normal form.
    ///
    /// The native stack is checked where evaluation can recurse without bound (calls,
    /// forcing thunks, recursive builtins, equality, coercions), not at every node: the
    /// nesting of one expression is bounded by the parser, so the frames between two
    /// checks fit in the stack kept in reserve below the budget.
    pub fn eval(&self, mut ir: &Ir, env: &Rc<Env>) -> Result<Value> {
        // A branch is evaluated in this same call (each call of `eval` costs a frame, which
        // in wasm is dearer than natively), and so is an operator in the condition.
        while let Ir::If {
            cond: c,
            then: a,
            otherwise: b,
            pos,
        } = ir
        {
            // `n < 2` on integers at hand: a `bool`, no value.
            if let Ir::Bin {
                op, lhs: x, rhs: y, ..
            } = &**c
                && let Some(cb) = super::speculate::peek_test(*op, x, y, env)
            {
                ir = if cb { a } else { b };
                continue;
            }
            let cv = match &**c {
                Ir::Bin {
                    op,
                    lhs,
                    rhs,
                    pos,
                    operand_pos,
                } => self.eval_bin(*op, lhs, rhs, *pos, *operand_pos, env)?,
                c => self.eval_operand(c, env)?,
            };
            let cb = match cv.take_bool() {
                Ok(b) => b,
                Err(cv) => self
                    .expect_bool(&cv, *pos)
                    .map_err(|e| e.frame(*pos, "while evaluating a branch condition"))?,
            };
            ir = if cb { a } else { b };
        }
        match ir {
            Ir::Const(lit) => Ok(Value::of_lit(lit)),
            Ir::Var { depth, slot, pos } => self.eval_var(*depth, *slot, *pos, env),
            Ir::WithVar { name, pos } => {
                let v = self.with_lookup(env, *name, *pos)?;
                self.force(&v).map_err(|e| Self::forced_at(e, *pos))
            }
            Ir::Select {
                expr,
                path,
                default,
                pos,
            } => self.eval_select(expr, path, default.as_deref(), *pos, env),
            Ir::HasAttr {
                expr: e,
                path,
                pos: at,
            } => {
                let arg = |e: Error| e.frame(*at, "in the argument of '?'");
                let mut v = self.eval(e, env).map_err(arg)?;
                for (i, a) in path.iter().enumerate() {
                    let name = self.attr_name(a, env)?;
                    match v {
                        Value::Attrs(attrs) => match attrs.get(name) {
                            Some(x) if i + 1 < path.len() => v = self.force(x).map_err(arg)?,
                            Some(_) => return Ok(Value::Bool(true)),
                            None => return Ok(Value::Bool(false)),
                        },
                        _ => return Ok(Value::Bool(false)),
                    }
                }
                Ok(Value::Bool(true))
            }
            Ir::Attrs(a) => self.eval_attrs(a, env, false),
            Ir::RecAttrs(a) => self.eval_attrs(a, env, true),
            Ir::List(items) => Ok(Value::list(
                items.iter().map(|i| self.delay(i, env)).collect(),
            )),
            Ir::Lambda(l) => Ok(Value::Lambda(Rc::new(Closure {
                lambda: l.clone(),
                env: env.clone(),
            }))),
            Ir::Call { func, args, pos } => self.eval_call(func, args, *pos, env),
            Ir::Let { binds, body } => {
                let frame = Self::new_frame(env);
                let vals: Slots = binds.iter().map(|b| self.delay_rec(b, &frame)).collect();
                *frame.slots.borrow_mut() = vals;
                self.eval(body, &frame)
            }
            Ir::With { scope, body } => {
                let v = self.delay(scope, env);
                let frame = Rc::new(Env {
                    slots: RefCell::new(smallvec::smallvec![v]),
                    parent: Some(env.clone()),
                    is_with: true,
                });
                self.eval(body, &frame)
            }
            Ir::If { .. } => unreachable!("handled above"),
            Ir::Assert {
                cond: c,
                body,
                pos,
                text,
            } => {
                let cv = self.eval(c, env)?;
                if !self.expect_bool(&cv, *pos)? {
                    return Err(self.assertion_failed(c, env, *pos, text));
                }
                self.eval(body, env)
            }
            Ir::Not { expr: e, pos: at } => Ok(Value::Bool(!self.bool_operand(
                e,
                env,
                *at,
                ("argument", "!"),
            )?)),
            Ir::Bin {
                op,
                lhs,
                rhs,
                pos,
                operand_pos,
            } => self.eval_bin(*op, lhs, rhs, *pos, *operand_pos, env),
            Ir::Concat { parts, kind, pos } => self.eval_concat(parts, kind, *pos, env),
            Ir::HomePath { rest, pos } => match self.opts.env.get("HOME") {
                Some(h) => {
                    let mut p = canon_path(&format!("{h}{rest}"));
                    if rest.ends_with('/') && p != "/" {
                        p.push('/');
                    }
                    Ok(Value::path(p))
                }
                None => Err(Error::new(
                    ErrorKind::Eval,
                    "cannot resolve '~' paths: HOME is not set",
                    *pos,
                )),
            },
            Ir::CurPos(pos) => {
                let mut b = AttrsBuilder::default();
                if let Some(l) = pos.resolve() {
                    b.add("file", Value::str(l.origin.to_string()));
                    b.add("line", Value::Int(l.line as i64));
                    b.add("column", Value::Int(l.column as i64));
                }
                Ok(b.build())
            }
        }
    }

    /// `f args`. One argument is the common case: the callee writes its result straight
    /// into ours. (In wasm a value is returned through memory; moving it out of a local
    /// first costs a copy that stalls on the partial stores just made to that local.)
    #[inline(always)]
    pub(super) fn eval_call(
        &self,
        f: &Ir,
        args: &[Rc<Ir>],
        pos: Pos,
        env: &Rc<Env>,
    ) -> Result<Value> {
        if let ([a], Ir::Var { depth, slot, .. }) = (args, f) {
            // A variable holding a lambda (a recursive or let-bound function): only its
            // `Rc` is taken, no whole `Value` is copied out (in wasm that copy is read back
            // as words just after a narrower store of the pointer, which stalls).
            let closure =
                match &Self::frame_at(env, *depth).slots.borrow().as_slice()[*slot as usize] {
                    Value::Lambda(c) => Some(c.clone()),
                    _ => None,
                };
            if let Some(c) = closure {
                let av = self.delay_arg(a, env);
                return self.call_closure_here(&c.lambda, &c.env, av, pos);
            }
        }
        let fv = self.eval_operand(f, env)?;
        if let [a] = args {
            let av = self.delay_arg(a, env);
            // A lambda is called here, and its `Rc` dropped in place (dropping a whole
            // `Value` is an out-of-line call in wasm).
            return match fv {
                Value::Lambda(c) => self.call_closure_here(&c.lambda, &c.env, av, pos),
                fv => self.call(&fv, av, pos),
            };
        }
        self.eval_call_n(fv, args, pos, env)
    }

    /// `f args` with two or more arguments, two at a time (see [`Self::call2`]).
    #[inline(never)]
    pub(super) fn eval_call_n(
        &self,
        mut fv: Value,
        args: &[Rc<Ir>],
        pos: Pos,
        env: &Rc<Env>,
    ) -> Result<Value> {
        if let (Value::PrimOp(op), [a, b, c]) = (&fv, args) {
            // `foldl' f x xs`: the builtin gets its three arguments at once.
            let args = [a, b, c].map(|a| self.delay_arg(a, env));
            return self.apply_primop(op, &[], args, pos);
        }
        let mut rest = args;
        while let [a, more @ ..] = rest {
            let av = self.delay_arg(a, env);
            fv = match more {
                [b, more @ ..] => {
                    rest = more;
                    let bv = self.delay_arg(b, env);
                    self.call2(&fv, av, bv, pos)?
                }
                [] => {
                    rest = &[];
                    self.call(&fv, av, pos)?
                }
            };
        }
        Ok(fv)
    }

    /// An operand of `+`: [`Self::eval_operand`], with calls made in place too (`f x + f y`
    /// is the recursive shape).
    #[inline(always)]
    pub(super) fn eval_plus_operand(&self, ir: &Ir, env: &Rc<Env>) -> Result<Value> {
        match ir {
            Ir::Call { func, args, pos } => self.eval_call(func, args, *pos, env),
            _ => self.eval_operand(ir, env),
        }
    }

    /// The forced value of variable `(d, s)`.
    #[inline(always)]
    pub(super) fn eval_var(&self, d: u32, s: u32, at: Pos, env: &Rc<Env>) -> Result<Value> {
        let slots = Self::frame_at(env, d).slots.borrow();
        match &slots.as_slice()[s as usize] {
            Value::Thunk(t) => {
                let t = t.clone();
                drop(slots);
                self.force_thunk(&t).map_err(|e| Self::forced_at(e, at))
            }
            v => Ok(v.copy()),
        }
    }

    /// [`Self::eval`] with constants and variables handled in place: operands of
    /// operators and calls are mostly those, and each `eval` call costs a frame (and in
    /// wasm an epoch check).
    #[inline(always)]
    pub(super) fn eval_operand(&self, ir: &Ir, env: &Rc<Env>) -> Result<Value> {
        match ir {
            Ir::Const(lit) => Ok(Value::of_lit(lit)),
            Ir::Var { depth, slot, pos } => self.eval_var(*depth, *slot, *pos, env),
            _ => self.eval(ir, env),
        }
    }

    pub(super) fn attr_name(&self, a: &IrAttr, env: &Rc<Env>) -> Result<Sym> {
        match a {
            IrAttr::Static(s) => Ok(*s),
            IrAttr::Dynamic(d) => {
                let v = self.eval(&d.ir, env)?;
                let s = self
                    .expect_string(&v, d.pos)
                    .map_err(|e| e.frame(d.pos, "while evaluating an attribute name"))?;
                Ok(Sym::new(&s.s))
            }
        }
    }

    /// A select's attribute path as Nix's traces name it: computed names by their value,
    /// or as written when computing them fails.
    pub(super) fn show_attr_path(&self, path: &[IrAttr], env: &Rc<Env>) -> String {
        let mut out = String::new();
        for (i, a) in path.iter().enumerate() {
            if i > 0 {
                out.push('.');
            }
            match (a, self.attr_name(a, env)) {
                (_, Ok(name)) => out.push_str(name.as_str()),
                (IrAttr::Dynamic(d), Err(_)) => out.push_str(&d.text),
                (IrAttr::Static(_), Err(_)) => unreachable!("a static name is always known"),
            }
        }
        out
    }

    /// `e.a.b` and `e.a.b or d`. A failure while selecting gets Nix's frames: the attribute
    /// path at the select and, once an attribute was found, the definition of the last one.
    pub(super) fn eval_select(
        &self,
        e: &Ir,
        path: &[IrAttr],
        def: Option<&Ir>,
        pos: Pos,
        env: &Rc<Env>,
    ) -> Result<Value> {
        let v = self.eval_operand(e, env).map_err(|err| {
            // Forcing the set (a variable's thunk) happens while selecting.
            if def.is_none() && matches!(e, Ir::Var { .. } | Ir::WithVar { .. }) {
                err.frame(pos, "while selecting an attribute")
            } else {
                err
            }
        })?;
        // The last attribute found: its name, definition and whether it was unevaluated.
        let mut found: Option<(Sym, Pos, bool)> = None;
        let mut walk = |mut v: Value| -> Result<Option<Value>> {
            for a in path {
                let name = self.attr_name(a, env)?;
                let attrs = match &v {
                    Value::Attrs(attrs) => attrs.clone(),
                    _ if def.is_some() => return Ok(None),
                    _ => {
                        return Err(Error::new(
                            ErrorKind::Eval,
                            format!(
                                "expected a set but found {}: {}",
                                v.type_desc(),
                                self.show_value(&v)
                            ),
                            pos,
                        )
                        .frame(pos, "while selecting an attribute"));
                    }
                };
                let Some(at) = attrs.get_attr(name) else {
                    if def.is_some() {
                        return Ok(None);
                    }
                    return Err(self.missing_attr(name, &attrs, Pos::NONE));
                };
                found = Some((name, at.pos, matches!(at.value, Value::Thunk(_))));
                v = self.force(&at.value)?;
            }
            Ok(Some(v))
        };
        match walk(v) {
            Ok(Some(v)) => Ok(v),
            Ok(None) => self.eval(def.expect("only a select with a default gives up"), env),
            Err(err) => {
                let err = match found {
                    Some((name, def_pos, true))
                        if !matches!(err.kind(), ErrorKind::StackOverflow) =>
                    {
                        err.frame(def_pos, format!("from the definition of '{name}'"))
                    }
                    _ => err,
                };
                Err(err.frame(
                    pos,
                    format!(
                        "while evaluating the attribute '{}'",
                        self.show_attr_path(path, env)
                    ),
                ))
            }
        }
    }

    pub(crate) fn missing_attr(&self, name: Sym, attrs: &Attrs, pos: Pos) -> Error {
        let mut msg = format!("attribute '{name}' missing");
        // Nix suggests similar names ("Did you mean ...?"): pick by edit distance.
        did_you_mean(
            &mut msg,
            name.as_str(),
            attrs.entries.iter().map(|a| a.name.as_str()),
        );
        Error::new(ErrorKind::Eval, msg, pos)
    }

    pub(super) fn eval_attrs(
        &self,
        a: &crate::compiler::AttrsIr,
        env: &Rc<Env>,
        rec: bool,
    ) -> Result<Value> {
        let scope = if rec {
            Self::new_frame(env)
        } else {
            env.clone()
        };
        let mut entries: Vec<Attr> = Vec::with_capacity(a.statics.len() + a.dynamics.len());
        for (name, ir, pos) in &a.statics {
            let v = if rec {
                self.delay_rec(ir, &scope)
            } else {
                self.delay(ir, &scope)
            };
            entries.push(Attr {
                name: *name,
                value: v,
                pos: *pos,
            });
        }
        if rec {
            let froms: Vec<Value> = a.froms.iter().map(|f| self.delay_rec(f, &scope)).collect();
            *scope.slots.borrow_mut() = entries
                .iter()
                .map(|e| e.value.clone())
                .chain(froms)
                .collect();
        }
        let mut attrs = Attrs::from_unsorted(entries);
        if rec && let Some(ov) = attrs.get(self.sym.overrides).cloned() {
            let ov = self
                .force_attrs(&ov, Pos::NONE)
                .map_err(|e| e.frame(Pos::NONE, "while evaluating the `__overrides` attribute"))?;
            let mut slots = scope.slots.borrow_mut();
            for o in &ov.entries {
                if let Some(i) = a.statics.iter().position(|s| s.0 == o.name) {
                    slots[i] = o.value.clone();
                }
            }
            drop(slots);
            attrs = attrs.update(&ov);
        }
        if !a.dynamics.is_empty() {
            for (nir, vir, pos) in &a.dynamics {
                let nv = self.eval(nir, &scope)?;
                if let Value::Null = nv {
                    continue;
                }
                let ns = self.expect_string(&nv, *pos).map_err(|e| {
                    e.frame(*pos, "while evaluating the name of a dynamic attribute")
                })?;
                let name = Sym::new(&ns.s);
                if let Some(prev) = attrs.get_attr(name) {
                    let _ = prev;
                    return Err(Error::new(
                        ErrorKind::Eval,
                        format!(
                            "dynamic attribute '{name}' already defined at {}",
                            loc_str(prev.pos)
                        ),
                        *pos,
                    ));
                }
                let v = self.delay(vir, &scope);
                let idx = attrs.entries.partition_point(|x| x.name < name);
                attrs.entries.insert(
                    idx,
                    Attr {
                        name,
                        value: v,
                        pos: *pos,
                    },
                );
            }
        }
        Ok(Value::Attrs(Rc::new(attrs)))
    }
}

pub(crate) fn loc_str(p: Pos) -> String {
    p.resolve()
        .map(|l| l.to_string())
        .unwrap_or_else(|| "«none»".into())
}
