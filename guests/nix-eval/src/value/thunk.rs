//! Thunks: suspended computations, updated in place once forced.

use std::cell::RefCell;
use std::rc::Rc;

use super::{Env, Value};
use crate::compiler::Ir;
use crate::error::Error;

/// A suspended computation.
#[derive(Debug)]
pub enum ThunkState {
    /// Evaluate `ir` in `env`.
    Pending(Rc<Ir>, Rc<Env>),
    /// Apply a function to an argument.
    Apply(Value, Value),
    /// Being evaluated.
    Blackhole,
    /// Evaluated.
    Done(Value),
    /// Evaluation failed with this error (rethrown when forced again).
    Failed(Error),
}

/// A thunk: shared, updated in place.
#[derive(Debug)]
pub struct Thunk(pub RefCell<ThunkState>);
