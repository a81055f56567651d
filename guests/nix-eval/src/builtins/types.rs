//! Type predicates: `typeOf`, `isAttrs`, `isInt`, … .

use super::bool_v;
use crate::error::Result;
use crate::eval::Evaluator;
use crate::source::Pos;
use crate::value::*;

pub(super) fn b_type_of(ev: &Evaluator, a: &[Value], _pos: Pos) -> Result<Value> {
    Ok(Value::str(ev.force(&a[0])?.type_name()))
}
pub(super) fn b_is_attrs(ev: &Evaluator, a: &[Value], _p: Pos) -> Result<Value> {
    bool_v(matches!(ev.force(&a[0])?, Value::Attrs(_)))
}
pub(super) fn b_is_bool(ev: &Evaluator, a: &[Value], _p: Pos) -> Result<Value> {
    bool_v(matches!(ev.force(&a[0])?, Value::Bool(_)))
}
pub(super) fn b_is_float(ev: &Evaluator, a: &[Value], _p: Pos) -> Result<Value> {
    bool_v(matches!(ev.force(&a[0])?, Value::Float(_)))
}
pub(super) fn b_is_function(ev: &Evaluator, a: &[Value], _p: Pos) -> Result<Value> {
    bool_v(ev.force(&a[0])?.is_function())
}
pub(super) fn b_is_int(ev: &Evaluator, a: &[Value], _p: Pos) -> Result<Value> {
    bool_v(matches!(ev.force(&a[0])?, Value::Int(_)))
}
pub(super) fn b_is_list(ev: &Evaluator, a: &[Value], _p: Pos) -> Result<Value> {
    bool_v(matches!(ev.force(&a[0])?, Value::List(_)))
}
pub(super) fn b_is_null(ev: &Evaluator, a: &[Value], _p: Pos) -> Result<Value> {
    bool_v(matches!(ev.force(&a[0])?, Value::Null))
}
pub(super) fn b_is_path(ev: &Evaluator, a: &[Value], _p: Pos) -> Result<Value> {
    bool_v(matches!(ev.force(&a[0])?, Value::Path(_)))
}
pub(super) fn b_is_string(ev: &Evaluator, a: &[Value], _p: Pos) -> Result<Value> {
    bool_v(matches!(ev.force(&a[0])?, Value::Str(_)))
}
