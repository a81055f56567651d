//! Speculative evaluation of expressions whose value is free to compute (the run-time half;
//! `compiler::speculate` marks the shapes worth trying).
//!
//! Laziness costs an allocation per suspended expression (a thunk) and a frame per call.
//! Many suspended expressions are trivially computable on the spot: `n - 1` when `n` is
//! already an integer, a variable whose thunk was forced already, the body `i: i` of a
//! function applied to a known value. Computing those eagerly is unobservable as long as
//! the computation can neither fail, force anything, call anything nor loop: then the
//! program cannot tell whether it ran now or later. This module evaluates exactly that
//! fragment (constants, variables holding values, integer arithmetic and comparison that
//! does not overflow) and gives up (`None`) on anything else, in which case the caller
//! builds the thunk or frame as usual.
//!
//! Two things can tell an unforced value from a forced one, so the evaluator speculates
//! only where they do not reach: `trace` prints a list's or set's unforced members as
//! `«thunk»` (so only function arguments are computed early, not members), and Nix points
//! a `max-call-depth` error inside `deepSeq` at the value being forced (so `genList`'s
//! elements stay applications; forcing one takes the frame-free path of [`apply`] after the
//! call-depth check).

use std::rc::Rc;

use crate::compiler::{ConcatKind, Ir, Lit};
use crate::syntax::ast::BinOp;
use crate::value::{Env, ThunkState, Value};

/// How far speculation may go when it meets an unforced value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Only values already forced.
    Settled,
    /// Also a thunk applying a lambda with a free-to-compute body to a settled argument
    /// (`genList`'s and `map`'s elements, say); it is forced in place. Forcing it the
    /// usual way would run exactly this computation, which cannot fail, so nothing can
    /// tell, provided the value is demanded now (a body being evaluated, not a lazy
    /// argument) and the call would be allowed (below max-call-depth).
    Apply,
}

/// A value that needs no forcing: `v` itself, or what its thunk was forced to already
/// (or, with [`Reach::Apply`], is free to force to).
#[inline]
pub fn settled(v: &Value, reach: Reach) -> Option<Value> {
    match v {
        Value::Thunk(t) => {
            let st = t.0.try_borrow().ok()?;
            match &*st {
                ThunkState::Done(x) => Some(x.copy()),
                ThunkState::Apply(Value::Lambda(c), a)
                    if reach == Reach::Apply && c.lambda.cheap_body =>
                {
                    let r = apply(&c.lambda.body, &c.env, a, Reach::Settled)?;
                    drop(st);
                    let old = std::mem::replace(&mut *t.0.borrow_mut(), ThunkState::Done(r.copy()));
                    if let ThunkState::Apply(f, a) = old {
                        f.discard();
                        a.discard();
                    }
                    Some(r)
                }
                _ => None,
            }
        }
        v => Some(v.copy()),
    }
}

/// The frame `depth` levels up from `env`, if the chain is that long.
#[inline(always)]
fn frame(env: &Rc<Env>, depth: u32) -> Option<&Rc<Env>> {
    let mut e = env;
    for _ in 0..depth {
        e = e.parent.as_ref()?;
    }
    Some(e)
}

/// The settled value of variable `(depth, slot)` in `env`; `None` if it is unforced, or
/// the frame is still being built (slot missing or frame borrowed).
#[inline]
pub fn var(env: &Rc<Env>, depth: u32, slot: u32, reach: Reach) -> Option<Value> {
    let slots = frame(env, depth)?.slots.try_borrow().ok()?;
    let v = slots.as_slice().get(slot as usize)?;
    match v {
        Value::Thunk(t) => {
            // Forcing may need the frame's slots (the thunk's own environment).
            let t = Value::Thunk(t.clone());
            drop(slots);
            settled(&t, reach)
        }
        v => Some(v.copy()),
    }
}

/// An integer operand: constants and variables directly (no recursive call, which in
/// wasm costs an epoch check), anything else through [`eval_in`].
#[inline(always)]
fn int_operand(ir: &Ir, lookup: &impl Fn(u32, u32) -> Option<Value>) -> Option<i64> {
    match ir {
        Ir::Const(Lit::Int(i)) => Some(*i),
        Ir::Const(_) => None,
        Ir::Var { depth, slot, .. } => lookup(*depth, *slot)?.take_int().ok(),
        _ => eval_in(ir, lookup)?.take_int().ok(),
    }
}

/// The value of `ir`, with variables resolved by `lookup`, if it is free to compute.
pub fn eval_in(ir: &Ir, lookup: &impl Fn(u32, u32) -> Option<Value>) -> Option<Value> {
    match ir {
        Ir::Const(lit) => Some(Value::of_lit(lit)),
        Ir::Var { depth, slot, .. } => lookup(*depth, *slot),
        Ir::Bin { op, lhs, rhs, .. } => {
            let x = int_operand(lhs, lookup)?;
            let y = int_operand(rhs, lookup)?;
            int_bin(*op, x, y)
        }
        Ir::Concat {
            parts,
            kind: ConcatKind::Plus(_),
            ..
        } if parts.len() == 2 => {
            let x = int_operand(&parts[0], lookup)?;
            let y = int_operand(&parts[1], lookup)?;
            Some(Value::Int(x.checked_add(y)?))
        }
        _ => None,
    }
}

/// `x * y`, unless it overflows. Operands that fit in 32 bits cannot overflow, and are
/// multiplied directly: in wasm32 a checked 64-bit multiplication is a call of a 128-bit
/// multiplication routine.
#[inline(always)]
pub(super) fn mul_int(x: i64, y: i64) -> Option<i64> {
    if i64::from(x as i32) == x && i64::from(y as i32) == y {
        Some(x * y)
    } else {
        x.checked_mul(y)
    }
}

/// `x op y` on integers, if it cannot fail (no overflow, no division by zero).
#[inline(always)]
pub(super) fn int_bin(op: BinOp, x: i64, y: i64) -> Option<Value> {
    match op {
        BinOp::Sub => Some(Value::Int(x.checked_sub(y)?)),
        BinOp::Mul => Some(Value::Int(mul_int(x, y)?)),
        BinOp::Div => Some(Value::Int(x.checked_div(y)?)),
        op => int_cmp(op, x, y),
    }
}

/// `x op y` for a comparison `op` on integers (`None` for other operators).
#[inline(always)]
pub(crate) fn int_cmp(op: BinOp, x: i64, y: i64) -> Option<Value> {
    int_test(op, x, y).map(Value::Bool)
}

/// [`int_cmp`] as a plain `bool`, for a branch condition (no value is made: in wasm a value
/// lives in memory, and reading its Boolean back just after storing it stalls).
#[inline(always)]
pub(crate) fn int_test(op: BinOp, x: i64, y: i64) -> Option<bool> {
    Some(match op {
        BinOp::Lt => x < y,
        BinOp::Le => x <= y,
        BinOp::Gt => x > y,
        BinOp::Ge => x >= y,
        BinOp::Eq => x == y,
        BinOp::Neq => x != y,
        _ => return None,
    })
}

/// The integer variable `(depth, slot)` holds, if it holds one already (directly, not
/// through a thunk).
#[inline(always)]
pub(crate) fn int_var(env: &Rc<Env>, depth: u32, slot: u32) -> Option<i64> {
    match frame(env, depth)?
        .slots
        .try_borrow()
        .ok()?
        .as_slice()
        .get(slot as usize)?
    {
        Value::Int(i) => Some(*i),
        _ => None,
    }
}

/// The integer `ir` is without evaluating anything: an integer constant, or a variable
/// holding an integer already.
#[inline(always)]
pub(crate) fn peek_int(ir: &Ir, env: &Rc<Env>) -> Option<i64> {
    match ir {
        Ir::Const(Lit::Int(i)) => Some(*i),
        Ir::Var { depth, slot, .. } => int_var(env, *depth, *slot),
        _ => None,
    }
}

/// `a op b` for a comparison `op` of two integers at hand ([`peek_int`]), evaluating nothing.
#[inline(always)]
pub(crate) fn peek_test(op: BinOp, a: &Ir, b: &Ir, env: &Rc<Env>) -> Option<bool> {
    int_test(op, peek_int(a, env)?, peek_int(b, env)?)
}

/// The value of `ir` in `env`, if it is free to compute.
#[inline(always)]
pub fn eval(ir: &Ir, env: &Rc<Env>, reach: Reach) -> Option<Value> {
    // `n - 1` on an integer variable, the commonest case, without the general walk (in
    // wasm each of its steps is a call).
    if let Ir::Bin { op, lhs, rhs, .. } = ir
        && let (Ir::Var { depth, slot, .. }, Ir::Const(Lit::Int(y))) = (&**lhs, &**rhs)
        && let Some(x) = int_var(env, *depth, *slot)
        && let Some(v) = int_bin(*op, x, *y)
    {
        return Some(v);
    }
    eval_in(ir, &|d, s| var(env, d, s, reach))
}

/// The body of a one-argument lambda (its argument in slot 0 of a frame over `env`)
/// applied to `arg`, if it is free to compute; no frame is built.
#[inline]
pub fn apply(body: &Ir, env: &Rc<Env>, arg: &Value, reach: Reach) -> Option<Value> {
    eval_in(body, &|d, s| match d {
        0 if s == 0 => settled(arg, reach),
        0 => None,
        d => var(env, d - 1, s, reach),
    })
}

#[cfg(test)]
mod tests {
    use crate::eval::{EvalOptions, Evaluator};
    use crate::source::Origin;
    use crate::value::print::print_value;

    fn run(src: &str) -> String {
        let ev = Evaluator::new(EvalOptions::default());
        let v = ev.eval_source(src, Origin::String, "/").unwrap();
        let v = ev.force_deep(&v).unwrap();
        print_value(&v)
    }

    #[test]
    fn failing_arithmetic_stays_lazy() {
        // overflow and division by zero must only fail when forced
        assert_eq!(
            run("let m = 9223372036854775807; f = x: 1; in f (m + 1) + f (m * 2) + f (1 / 0)"),
            "3"
        );
        assert_eq!(run("builtins.length (builtins.genList (i: 1 / i) 3)"), "3");
    }

    #[test]
    fn defaults_and_bindings_see_what_is_set() {
        assert_eq!(run("({ a ? 1, b ? a - 1 }: b) { }"), "0");
        assert_eq!(run("({ b ? a - 1, a ? 5 }: b) { }"), "4");
        assert_eq!(run("({ b ? a == 3, a ? 3 }: b) { }"), "true");
        assert_eq!(
            run("let a = 2; b = a * 3; in rec { c = b - a; d = c; }.d"),
            "4"
        );
    }

    #[test]
    fn cheap_bodies_match_full_calls() {
        assert_eq!(run("builtins.genList (i: i * i - 1) 4"), "[ -1 0 3 8 ]");
        assert_eq!(
            run("builtins.foldl' (a: b: a + b) 0 (builtins.genList (i: i) 100)"),
            "4950"
        );
        assert_eq!(
            run("let k = 7; f = x: x < k; in [ (f 3) (f 9) ]"),
            "[ true false ]"
        );
    }
}
