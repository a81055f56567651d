//! The limits that keep runaway recursion a clean error, natively and in wasm alike: Nix's
//! `max-call-depth`, and a budget of native stack measured from the address of a local at
//! every point where evaluation can recurse without bound.

use super::Evaluator;
use crate::compiler::LambdaIr;
use crate::error::{Error, ErrorKind, Result};
use crate::source::Pos;

/// The address of a local: where the native stack is now.
#[inline(always)]
pub(super) fn stack_addr() -> usize {
    let x = 0u8;
    std::hint::black_box(&x) as *const u8 as usize
}

impl Evaluator {
    /// Runs `f` one level deeper in Nix's call-depth accounting (for recursive builtins).
    pub(crate) fn nested<T>(&self, pos: Pos, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let depth = self.call_depth.get();
        if depth >= self.opts.max_call_depth {
            return Err(Self::call_depth_exceeded(pos));
        }
        self.check_stack(pos)?;
        self.call_depth.set(depth + 1);
        let r = f();
        self.call_depth.set(depth);
        r
    }

    #[inline(always)]
    pub(crate) fn check_stack(&self, pos: Pos) -> Result<()> {
        if self.stack_exceeded() {
            return Err(Self::stack_overflow(pos));
        }
        Ok(())
    }

    /// Whether the native stack in use is over the budget.
    #[inline(always)]
    pub(super) fn stack_exceeded(&self) -> bool {
        self.stack_base.get().abs_diff(stack_addr()) > self.opts.stack_budget
    }

    #[cold]
    #[inline(never)]
    pub(super) fn stack_overflow(pos: Pos) -> Error {
        Error::new(
            ErrorKind::StackOverflow,
            "stack overflow (possible infinite recursion)",
            pos,
        )
    }

    /// How far speculation may force: calls are allowed below max-call-depth.
    #[inline]
    pub(super) fn reach(&self) -> super::speculate::Reach {
        if self.call_depth.get() < self.opts.max_call_depth {
            super::speculate::Reach::Apply
        } else {
            super::speculate::Reach::Settled
        }
    }

    /// The max-call-depth check of a call to `l` at call depth `depth`.
    #[inline]
    pub(super) fn check_depth(&self, depth: usize, l: &LambdaIr, pos: Pos) -> Result<()> {
        if depth > self.opts.max_call_depth {
            // A call made by a builtin (genList's elements, say) has no position of its
            // own; Nix then points at the lambda.
            let at = if pos == Pos::NONE { l.pos } else { pos };
            return Err(Self::call_depth_exceeded(at));
        }
        Ok(())
    }

    /// Nix's error for a call, or a value visited by deepSeq, deeper than max-call-depth.
    pub(super) fn call_depth_exceeded(pos: Pos) -> Error {
        Error::new(
            ErrorKind::StackOverflow,
            "stack overflow; max-call-depth exceeded",
            pos,
        )
    }
}
