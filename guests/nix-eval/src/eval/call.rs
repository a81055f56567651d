//! Function calls: lambdas (plain and with formals), builtins and their partial application,
//! functors, and the trace frames a failed call adds.

use std::rc::Rc;

use super::Evaluator;
use super::suggest::did_you_mean;
use crate::compiler::{Ir, LambdaIr};
use crate::error::{Error, ErrorKind, Result};
use crate::source::Pos;
use crate::value::*;

impl Evaluator {
    /// Applies a function to one argument.
    pub fn call(&self, f: &Value, arg: Value, pos: Pos) -> Result<Value> {
        match f {
            // The common case, without forcing (and so copying) the function value.
            Value::Lambda(c) => self.call_closure(&c.lambda, &c.env, arg, pos),
            Value::Thunk(_) => {
                let f = self.force(f)?;
                self.call_forced(&f, arg, pos)
            }
            f => self.call_forced(f, arg, pos),
        }
    }

    /// The builtin `op` applied to all its arguments, one call deeper, with Nix's frame.
    fn call_primop(&self, op: &PrimOp, args: &[Value], pos: Pos) -> Result<Value> {
        self.nested(pos, || (self.primops[op.id])(self, args, pos))
            .map_err(|e| {
                Self::unpos(e, pos).frame(pos, format!("while calling the '{}' builtin", op.name))
            })
    }

    /// The builtin `op`, already given `have`, applied to `more`: called once it has all
    /// its arguments, a partial application otherwise. The arguments are gathered inline,
    /// so a builtin given its arguments at once (`f a b` by `call2`) allocates nothing.
    #[inline]
    pub(super) fn apply_primop<const N: usize>(
        &self,
        op: &'static PrimOp,
        have: &[Value],
        more: [Value; N],
        pos: Pos,
    ) -> Result<Value> {
        let mut args = PrimOpArgs::new();
        args.extend(have.iter().cloned());
        let given = have.len() + N;
        if given > op.arity {
            // More arguments than the builtin takes: call it, then its result with the rest.
            let mut more = more.into_iter();
            args.extend(more.by_ref().take(op.arity - have.len()));
            let mut r = self.call_primop(op, &args, pos)?;
            for a in more {
                r = self.call(&r, a, pos)?;
            }
            return Ok(r);
        }
        args.extend(more);
        if given == op.arity {
            self.call_primop(op, &args, pos)
        } else {
            Ok(Value::PrimOpApp(Rc::new(PrimOpApp { op, args })))
        }
    }

    /// [`Self::call`] of a function in weak head normal form.
    pub(super) fn call_forced(&self, f: &Value, arg: Value, pos: Pos) -> Result<Value> {
        match f {
            Value::Lambda(c) => self.call_closure(&c.lambda, &c.env, arg, pos),
            Value::PrimOp(op) => self.apply_primop(op, &[], [arg], pos),
            Value::PrimOpApp(app) => self.apply_primop(app.op, &app.args, [arg], pos),
            Value::Attrs(a) if a.get(self.sym.functor).is_some() => {
                let functor = a.get(self.sym.functor).expect("checked").clone();
                let g = self.call(&functor, f.clone(), pos)?;
                self.call(&g, arg, pos)
            }
            _ => Err(Error::new(
                ErrorKind::Eval,
                format!(
                    "attempt to call something which is not a function but {}: {}",
                    f.type_desc(),
                    self.show_value(f)
                ),
                pos,
            )),
        }
    }

    /// Applies the lambda `l` closed over `env` to `arg`.
    pub(super) fn call_closure(
        &self,
        l: &LambdaIr,
        env: &Rc<Env>,
        arg: Value,
        pos: Pos,
    ) -> Result<Value> {
        let depth = self.call_depth.get();
        self.check_depth(depth, l, pos)?;
        if l.cheap_body
            && let Some(v) = super::speculate::apply(&l.body, env, &arg, self.reach())
        {
            arg.discard();
            return Ok(v);
        }
        self.check_stack(pos)?;
        let r = if l.formals.is_none() {
            self.eval_in_frame(l, env, arg, depth)
        } else {
            self.call_depth.set(depth + 1);
            let r = self.call_lambda(l, env, arg, pos);
            self.call_depth.set(depth);
            r
        };
        r.map_err(|e| Self::call_failed(e, l, pos))
    }

    /// The body of the plain lambda `l` closed over `env`, evaluated in a (recycled) frame
    /// holding `arg`, one call deeper than `depth`.
    #[inline(always)]
    pub(super) fn eval_in_frame(
        &self,
        l: &LambdaIr,
        env: &Rc<Env>,
        arg: Value,
        depth: usize,
    ) -> Result<Value> {
        self.call_depth.set(depth + 1);
        let frame = self.pooled_frame(env, arg);
        let r = self.eval(&l.body, &frame);
        self.recycle_frame(frame);
        self.call_depth.set(depth);
        r
    }

    /// [`Self::call_closure`] made in place, for `eval`'s own calls: a plain lambda whose
    /// body needs a frame, below the depth and stack limits, is called here; anything else
    /// (formals, a free-to-compute body, a limit reached) goes the general way. The call
    /// costs no frame of its own, which in wasm is dearer than natively.
    #[inline(always)]
    pub(super) fn call_closure_here(
        &self,
        l: &LambdaIr,
        env: &Rc<Env>,
        arg: Value,
        pos: Pos,
    ) -> Result<Value> {
        let depth = self.call_depth.get();
        if l.formals.is_some()
            || l.cheap_body
            || depth > self.opts.max_call_depth
            || self.stack_exceeded()
        {
            return self.call_closure(l, env, arg, pos);
        }
        match self.eval_in_frame(l, env, arg, depth) {
            Ok(v) => Ok(v),
            Err(e) => Err(Self::call_failed(e, l, pos)),
        }
    }

    /// The frames a failed call of `l` at `pos` adds to the error.
    #[cold]
    #[inline(never)]
    pub(super) fn call_failed(e: Error, l: &LambdaIr, pos: Pos) -> Error {
        if e.0
            .trace
            .iter()
            .any(|f| f.1 == "from call site" && f.0 == pos)
            || matches!(e.kind(), ErrorKind::StackOverflow)
        {
            e
        } else if pos == Pos::NONE {
            // A call made by a builtin (`foldl'`, `sort`, ...) has no call site.
            e.frame(l.pos, Self::calling(l))
        } else {
            e.frame(l.pos, Self::calling(l))
                .frame(pos, "from call site")
        }
    }

    /// `f a b`. When `f` is a plain-argument lambda whose body is a lambda (`a: b: ...`)
    /// the intermediate closure is never built: `b`'s frame hangs directly off `a`'s.
    /// Calling the outer lambda cannot fail past its call-depth check (its body only
    /// makes the closure), so this is the two calls in sequence without the allocation.
    pub fn call2(&self, f: &Value, a: Value, b: Value, pos: Pos) -> Result<Value> {
        if let Value::Thunk(_) = f {
            let f = self.force(f)?;
            return self.call2(&f, a, b, pos);
        }
        if let Value::Lambda(c) = f
            && c.lambda.formals.is_none()
            && let Ir::Lambda(inner) = &c.lambda.body
        {
            self.check_depth(self.call_depth.get(), &c.lambda, pos)?;
            let frame = self.pooled_frame(&c.env, a);
            let r = self.call_closure(inner, &frame, b, pos);
            self.recycle_frame(frame);
            return r;
        }
        match f {
            Value::PrimOp(op) => return self.apply_primop(op, &[], [a, b], pos),
            Value::PrimOpApp(app) => return self.apply_primop(app.op, &app.args, [a, b], pos),
            _ => {}
        }
        let g = self.call(f, a, pos)?;
        self.call(&g, b, pos)
    }

    /// Errors raised by a builtin at its call site are shown at the "while calling" frame.
    pub(super) fn unpos(mut e: Error, pos: Pos) -> Error {
        if e.0.pos == pos {
            e.0.pos = Pos::NONE;
        }
        e
    }

    /// Applies a function to several arguments.
    pub fn call_n(&self, f: &Value, args: &[Value], pos: Pos) -> Result<Value> {
        let mut f = f.clone();
        for pair in args.chunks(2) {
            f = match pair {
                [a, b] => self.call2(&f, a.clone(), b.clone(), pos)?,
                [a] => self.call(&f, a.clone(), pos)?,
                _ => unreachable!("chunks of two"),
            };
        }
        Ok(f)
    }

    pub(super) fn lambda_name(l: &LambdaIr) -> String {
        match l.name {
            Some(n) => format!("function '{n}'"),
            None => "function 'anonymous lambda'".into(),
        }
    }

    pub(super) fn calling(l: &LambdaIr) -> String {
        match l.name {
            Some(n) => format!("while calling '{n}'"),
            None => "while calling anonymous lambda".into(),
        }
    }

    /// A call of a lambda with formals (plain ones are handled by `call_closure`).
    pub(super) fn call_lambda(
        &self,
        l: &LambdaIr,
        env: &Rc<Env>,
        arg: Value,
        pos: Pos,
    ) -> Result<Value> {
        let frame = Self::new_frame(env);
        match &l.formals {
            None => unreachable!("plain lambdas are called by call_closure"),
            Some(formals) => {
                let av = self.force(&arg)?;
                let Value::Attrs(attrs) = &av else {
                    return Err(Error::new(
                        ErrorKind::Eval,
                        format!(
                            "expected a set but found {}: {}",
                            av.type_desc(),
                            self.show_value(&av)
                        ),
                        pos,
                    )
                    .frame(l.pos, Self::calling(l)));
                };
                let mut used = 0usize;
                let mut slots = Slots::with_capacity(l.nslots);
                let mut defaults = Vec::new();
                for (i, (name, def, _)) in formals.iter().enumerate() {
                    match attrs.get(*name) {
                        Some(v) => {
                            used += 1;
                            slots.push(v.clone());
                        }
                        None => match def {
                            Some(d) => {
                                slots.push(Value::Null);
                                defaults.push((i, d));
                            }
                            None => {
                                return Err(Error::new(
                                    ErrorKind::Eval,
                                    format!(
                                        "{} called without required argument '{name}'",
                                        Self::lambda_name(l)
                                    ),
                                    l.pos,
                                )
                                .frame(pos, "from call site"));
                            }
                        },
                    }
                }
                if !l.ellipsis && used < attrs.entries.len() {
                    for a in &attrs.entries {
                        if !formals.iter().any(|f| f.0 == a.name) {
                            // The name as Nix prints identifiers: quoted unless plain.
                            let mut msg = format!(
                                "{} called with unexpected argument '{}'",
                                Self::lambda_name(l),
                                crate::syntax::quote::attr_name(a.name.as_str())
                            );
                            did_you_mean(
                                &mut msg,
                                a.name.as_str(),
                                formals.iter().map(|f| f.0.as_str()),
                            );
                            return Err(Error::new(ErrorKind::Eval, msg, l.pos)
                                .frame(pos, "from call site"));
                        }
                    }
                }
                if l.arg.is_some() {
                    slots.push(av.clone());
                }
                *frame.slots.borrow_mut() = slots;
                // In order, so a default sees the defaults before it already set (the
                // slots of later ones hold a placeholder `delay` never computes with).
                for (i, d) in defaults {
                    let v = match &**d {
                        Ir::Var { depth: 0, .. } => Value::pending(d.clone(), frame.clone()),
                        _ => self.delay(d, &frame),
                    };
                    frame.slots.borrow_mut()[i] = v;
                }
            }
        }
        self.eval(&l.body, &frame)
    }
}
