//! Functions: closures of compiled lambdas, builtins and their partial applications.

use std::rc::Rc;

use super::{Env, Value};
use crate::compiler::LambdaIr;

/// A function value: compiled lambda plus its environment.
#[derive(Debug)]
pub struct Closure {
    /// The code.
    pub lambda: Rc<LambdaIr>,
    /// Captured environment.
    pub env: Rc<Env>,
}

/// A built-in function.
#[derive(Clone, Copy)]
pub struct PrimOp {
    /// Name without `__`.
    pub name: &'static str,
    /// Number of arguments.
    pub arity: usize,
    /// Which implementation: the index into the evaluator's table of builtins, which get
    /// exactly `arity` (unforced) arguments.
    pub id: usize,
}

impl std::fmt::Debug for PrimOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<primop {}>", self.name)
    }
}

/// The arguments of a builtin, inline (no builtin takes more than three).
pub type PrimOpArgs = smallvec::SmallVec<[Value; 3]>;

/// A partially applied built-in.
#[derive(Debug)]
pub struct PrimOpApp {
    /// The built-in.
    pub op: &'static PrimOp,
    /// The arguments so far (fewer than its arity, and no builtin takes more than three,
    /// so they are held inline).
    pub args: PrimOpArgs,
}
