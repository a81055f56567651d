//! Forcing: thunks to weak head normal form (blackholing catches infinite recursion; a failed
//! thunk keeps its error), and deep forcing for `deepSeq` and `--strict`.

use std::rc::Rc;

use super::Evaluator;
use crate::error::{Error, ErrorKind, Result};
use crate::source::Pos;
use crate::value::*;

impl Evaluator {
    /// Forces a value to weak head normal form.
    #[inline]
    pub fn force(&self, v: &Value) -> Result<Value> {
        match v {
            Value::Thunk(t) => self.force_thunk(t),
            v => Ok(v.clone()),
        }
    }

    pub(super) fn force_thunk(&self, t: &Rc<Thunk>) -> Result<Value> {
        if let ThunkState::Done(v) = &*t.0.borrow() {
            return Ok(v.clone());
        }
        self.check_stack(Pos::NONE)?;
        let st = std::mem::replace(&mut *t.0.borrow_mut(), ThunkState::Blackhole);
        let r = match &st {
            ThunkState::Pending(ir, env) => self.eval(ir, env),
            // A lazy application (of `genList`, `map`, ...) has the function's position as
            // its call site.
            ThunkState::Apply(f, a) => {
                let at = match f {
                    Value::Lambda(c) => c.lambda.pos,
                    _ => Pos::NONE,
                };
                self.call(f, a.clone(), at)
            }
            ThunkState::Blackhole => {
                let mut e = Error::new(
                    ErrorKind::InfiniteRecursion,
                    "infinite recursion encountered",
                    Pos::NONE,
                );
                e.0.recursion_entry = Rc::as_ptr(t) as usize;
                return Err(e);
            }
            ThunkState::Done(_) => unreachable!("checked above"),
            ThunkState::Failed(e) => {
                let e = e.clone();
                *t.0.borrow_mut() = st;
                return Err(e);
            }
        };
        match r {
            Ok(v) => {
                let v = match v {
                    Value::Thunk(inner) => self.force_thunk(&inner)?,
                    v => v,
                };
                *t.0.borrow_mut() = ThunkState::Done(v.clone());
                Ok(v)
            }
            Err(mut e) => {
                if e.0.recursion_entry == Rc::as_ptr(t) as usize {
                    e.0.recursion_entry = 0;
                    e = e.frame(Pos::NONE, "entering the infinite recursion");
                }
                // Errors are memoized (Nix >= 2.34): forcing again rethrows without
                // re-evaluating.
                drop(st);
                *t.0.borrow_mut() = ThunkState::Failed(e.clone());
                Err(e)
            }
        }
    }

    /// Forces deeply (lists and attribute sets recursively), like `deepSeq`/`--strict`.
    pub fn force_deep(&self, v: &Value) -> Result<Value> {
        let mut seen = std::collections::HashSet::new();
        self.force_deep_inner(v, &mut seen)
    }

    pub(super) fn force_deep_inner(
        &self,
        v: &Value,
        seen: &mut std::collections::HashSet<usize>,
    ) -> Result<Value> {
        // Every value visited counts as a call, as in Nix: a structure nested deeper than
        // max-call-depth ends in "max-call-depth exceeded".
        let depth = self.call_depth.get();
        if depth > self.opts.max_call_depth {
            return Err(Self::call_depth_exceeded(Pos::NONE));
        }
        self.check_stack(Pos::NONE)?;
        self.call_depth.set(depth + 1);
        let r = self
            .force(v)
            .and_then(|v| self.force_deep_children(&v, seen).map(|()| v));
        self.call_depth.set(depth);
        r
    }

    pub(super) fn force_deep_children(
        &self,
        v: &Value,
        seen: &mut std::collections::HashSet<usize>,
    ) -> Result<()> {
        match v {
            Value::Attrs(a) if seen.insert(Rc::as_ptr(a) as usize) => {
                for at in &a.entries {
                    self.force_deep_inner(&at.value, seen).map_err(|e| {
                        e.frame(
                            at.pos,
                            format!("while evaluating the attribute '{}'", at.name),
                        )
                    })?;
                }
            }
            Value::List(l) if seen.insert(Rc::as_ptr(l) as usize) => {
                for (i, x) in l.iter().enumerate() {
                    self.force_deep_inner(x, seen).map_err(|e| {
                        e.frame(
                            Pos::NONE,
                            format!("while evaluating list element at index {i}"),
                        )
                    })?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}
