//! Arithmetic and bit operations: `add`, `sub`, `mul`, `div`, `bitAnd`, `lessThan`, `ceil`, `floor`.

use super::{arg_err, bool_v, err};
use crate::error::Result;
use crate::eval::Evaluator;
use crate::source::Pos;
use crate::value::*;

pub(super) fn b_add(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    ev.arith_builtin(a, pos, crate::syntax::ast::BinOp::Add)
}
pub(super) fn b_sub(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    ev.arith_builtin(a, pos, crate::syntax::ast::BinOp::Sub)
}
pub(super) fn b_mul(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    ev.arith_builtin(a, pos, crate::syntax::ast::BinOp::Mul)
}
pub(super) fn b_div(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    ev.arith_builtin(a, pos, crate::syntax::ast::BinOp::Div)
}
pub(super) fn b_bit_and(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    Ok(Value::Int(
        ev.expect_int(&a[0], pos)
            .map_err(arg_err("first", "bitAnd"))?
            & ev.expect_int(&a[1], pos)
                .map_err(arg_err("second", "bitAnd"))?,
    ))
}
pub(super) fn b_bit_or(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    Ok(Value::Int(
        ev.expect_int(&a[0], pos)
            .map_err(arg_err("first", "bitOr"))?
            | ev.expect_int(&a[1], pos)
                .map_err(arg_err("second", "bitOr"))?,
    ))
}
pub(super) fn b_bit_xor(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    Ok(Value::Int(
        ev.expect_int(&a[0], pos)
            .map_err(arg_err("first", "bitXor"))?
            ^ ev.expect_int(&a[1], pos)
                .map_err(arg_err("second", "bitXor"))?,
    ))
}
pub(super) fn b_less_than(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    bool_v(ev.less_than(&a[0], &a[1], pos)?)
}
fn round_common(ev: &Evaluator, v: &Value, pos: Pos, f: fn(f64) -> f64) -> Result<Value> {
    match ev.force(v)? {
        Value::Int(i) => Ok(Value::Int(i)),
        Value::Float(x) => {
            let r = f(x);
            if !(-9.223372036854776e18..9.223372036854776e18).contains(&r) {
                return Err(err(
                    format!(
                        "float {} does not fit in an integer",
                        crate::syntax::quote::format_float(x)
                    ),
                    pos,
                ));
            }
            Ok(Value::Int(r as i64))
        }
        v => Err(ev.type_err(&v, "a float", pos)),
    }
}
pub(super) fn b_ceil(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    round_common(ev, &a[0], pos, f64::ceil).map_err(arg_err("first", "ceil"))
}
pub(super) fn b_floor(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    round_common(ev, &a[0], pos, f64::floor).map_err(arg_err("first", "floor"))
}
