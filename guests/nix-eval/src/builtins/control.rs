//! Control and debugging: `abort`, `throw`, `addErrorContext`, `seq`, `deepSeq`, `trace`, `warn`, `tryEval`, `break`.

use super::{arg_err, s_of};
use crate::error::{Error, ErrorKind, Result};
use crate::eval::{Coercion, Evaluator};
use crate::source::Pos;
use crate::value::*;

pub(super) fn b_abort(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let s = ev
        .coerce_to_string(&a[0], pos, Coercion::AS_IS)
        .map_err(arg_err("first", "abort"))?;
    Err(Error::new(
        ErrorKind::Abort,
        format!(
            "evaluation aborted with the following error message: '{}'",
            s.s
        ),
        pos,
    ))
}

pub(super) fn b_throw(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let s = ev
        .coerce_to_string(&a[0], pos, Coercion::AS_IS)
        .map_err(arg_err("first", "throw"))?;
    Err(Error::new(ErrorKind::Throw, s.s, pos))
}

pub(super) fn b_add_error_context(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    match ev.force(&a[1]) {
        Ok(v) => Ok(v),
        Err(e) => {
            let ctx = ev
                .coerce_to_string(&a[0], pos, Coercion::AS_IS)
                .map_err(arg_err("first", "addErrorContext"))?;
            Err(e.frame(Pos::NONE, ctx.s))
        }
    }
}

pub(super) fn b_break(ev: &Evaluator, a: &[Value], _pos: Pos) -> Result<Value> {
    ev.force(&a[0])
}

pub(super) fn b_seq(ev: &Evaluator, a: &[Value], _pos: Pos) -> Result<Value> {
    ev.force(&a[0])?;
    ev.force(&a[1])
}

pub(super) fn b_deep_seq(ev: &Evaluator, a: &[Value], _pos: Pos) -> Result<Value> {
    ev.force_deep(&a[0])?;
    ev.force(&a[1])
}

pub(super) fn b_trace(ev: &Evaluator, a: &[Value], _pos: Pos) -> Result<Value> {
    let v = ev.force(&a[0])?;
    let msg = match &v {
        Value::Str(s) => s.s.clone(),
        v => crate::value::print::print_value(v),
    };
    ev.diag(&format!("trace: {msg}"));
    ev.force(&a[1])
}

pub(super) fn b_trace_verbose(ev: &Evaluator, a: &[Value], _pos: Pos) -> Result<Value> {
    ev.force(&a[1])
}

pub(super) fn b_warn(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let s = s_of(ev, &a[0], pos).map_err(arg_err("first", "warn"))?;
    if s.s.starts_with('\n') {
        ev.diag(&format!("evaluation warning:{}", s.s));
    } else {
        ev.diag(&format!(
            "evaluation warning: {}",
            s.s.replace('\n', "\n                    ")
        ));
    }
    if ev.opts.abort_on_warn {
        return Err(Error::eval(
            "aborting to reveal stack trace of warning, as abort-on-warn is set",
        ));
    }
    ev.force(&a[1])
}

pub(super) fn b_try_eval(ev: &Evaluator, a: &[Value], _pos: Pos) -> Result<Value> {
    let mut b = AttrsBuilder::default();
    match ev.force(&a[0]) {
        Ok(v) => {
            b.add("success", Value::Bool(true));
            b.add("value", v);
        }
        Err(e) if matches!(e.kind(), ErrorKind::Throw | ErrorKind::Assert) => {
            b.add("success", Value::Bool(false));
            b.add("value", Value::Bool(false));
        }
        Err(e) => return Err(e),
    }
    Ok(b.build())
}
