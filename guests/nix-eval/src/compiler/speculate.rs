//! The compile-time half of speculation (the run-time half is `eval::speculate`): which
//! expressions are built only of what is free to compute (constants, variables, integer
//! arithmetic and comparisons), so that the evaluator may try computing them on the spot
//! instead of suspending them.

use super::ir::{ConcatKind, Ir};
use crate::syntax::ast::BinOp;

/// Whether `ir` is built only of nodes the evaluator's speculation understands (so trying
/// it can succeed).
pub fn is_cheap_shape(ir: &Ir) -> bool {
    match ir {
        Ir::Const(_) | Ir::Var { .. } => true,
        Ir::Bin { op, lhs, rhs, .. } => int_op(*op) && is_cheap_shape(lhs) && is_cheap_shape(rhs),
        Ir::Concat {
            parts,
            kind: ConcatKind::Plus(_),
            ..
        } => parts.len() == 2 && parts.iter().all(is_cheap_shape),
        _ => false,
    }
}

/// The operators speculation computes on integers.
pub fn int_op(op: BinOp) -> bool {
    matches!(
        op,
        BinOp::Sub
            | BinOp::Mul
            | BinOp::Div
            | BinOp::Lt
            | BinOp::Le
            | BinOp::Gt
            | BinOp::Ge
            | BinOp::Eq
            | BinOp::Neq
    )
}
