//! Runtime values.
//!
//! `Value` is 16 bytes: scalars inline, everything else behind an `Rc` so that copying a
//! value is a reference-count bump. Attribute sets are immutable vectors sorted by symbol
//! ([`attrs`]); thunks are updated in place once forced ([`thunk`]); strings carry their
//! context ([`NixString`]).

use std::cell::RefCell;
use std::rc::Rc;

mod attrs;
mod env;
mod function;
pub(crate) mod print;
mod thunk;

pub use attrs::{Attr, Attrs, AttrsBuilder};
pub use env::{Env, Slots};
pub use function::{Closure, PrimOp, PrimOpApp, PrimOpArgs};
pub use thunk::{Thunk, ThunkState};

use crate::compiler::{Ir, Lit};
pub use crate::string::{ContextElem, NixString};

/// A Nix value.
#[derive(Debug, Clone)]
#[repr(u64)]
pub enum Value {
    // The variants without a reference count come first, so that "holds an `Rc`" is one
    // comparison of the discriminant (see [`Value::copy`]).
    /// `null`
    Null,
    /// `true`/`false`
    Bool(bool),
    /// 64-bit integer.
    Int(i64),
    /// Float.
    Float(f64),
    /// Built-in.
    PrimOp(&'static PrimOp),
    /// String.
    Str(Rc<NixString>),
    /// Path (absolute, canonical).
    Path(Rc<NixString>),
    /// Attribute set.
    Attrs(Rc<Attrs>),
    /// List.
    List(Rc<Vec<Value>>),
    /// Lambda.
    Lambda(Rc<Closure>),
    /// Partially applied built-in.
    PrimOpApp(Rc<PrimOpApp>),
    /// Unevaluated.
    Thunk(Rc<Thunk>),
}

impl Value {
    /// A string value without context.
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(Rc::new(NixString::plain(s)))
    }
    /// A path value.
    pub fn path(s: impl Into<String>) -> Value {
        Value::Path(Rc::new(NixString::plain(s)))
    }
    /// A list value.
    pub fn list(v: Vec<Value>) -> Value {
        Value::List(Rc::new(v))
    }
    /// An attribute set value from unsorted entries.
    pub fn attrs(entries: Vec<Attr>) -> Value {
        Value::Attrs(Rc::new(Attrs::from_unsorted(entries)))
    }
    /// A lazy application `f a`.
    pub fn apply(f: Value, a: Value) -> Value {
        Value::Thunk(Rc::new(Thunk(RefCell::new(ThunkState::Apply(f, a)))))
    }
    /// The value of a constant of the program: a copy, or a reference-count bump.
    #[inline(always)]
    pub fn of_lit(lit: &Lit) -> Value {
        match lit {
            Lit::Int(i) => Value::Int(*i),
            Lit::Float(f) => Value::Float(*f),
            Lit::Str(s) => Value::Str(s.clone()),
            Lit::Path(p) => Value::Path(p.clone()),
        }
    }
    /// A thunk of `ir` in `env`.
    pub fn pending(ir: Rc<Ir>, env: Rc<Env>) -> Value {
        Value::Thunk(Rc::new(Thunk(RefCell::new(ThunkState::Pending(ir, env)))))
    }

    /// Nix's name of the value's type with article, for messages ("an integer").
    pub fn type_desc(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a Boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Str(_) => "a string",
            Value::Path(_) => "a path",
            Value::Attrs(_) => "a set",
            Value::List(_) => "a list",
            Value::Lambda(_) | Value::PrimOp(_) | Value::PrimOpApp(_) => "a function",
            Value::Thunk(_) => "a thunk",
        }
    }

    /// `builtins.typeOf`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::Path(_) => "path",
            Value::Attrs(_) => "set",
            Value::List(_) => "list",
            Value::Lambda(_) | Value::PrimOp(_) | Value::PrimOpApp(_) => "lambda",
            Value::Thunk(_) => "thunk",
        }
    }

    /// A copy of the value made in place: the derived `clone` is an out-of-line call in
    /// wasm, which the hot paths (variables, constants, `//`) would make for every value.
    #[inline(always)]
    pub fn copy(&self) -> Value {
        // Every `Rc` has its count at the same place, so the arms below compile to one
        // increment behind one comparison, and the value is then copied as two words: no
        // jump table, and no narrow stores read back as a word (which stall).
        match self {
            Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::PrimOp(_) => {}
            Value::Str(r) | Value::Path(r) => std::mem::forget(Rc::clone(r)),
            Value::Attrs(r) => std::mem::forget(Rc::clone(r)),
            Value::List(r) => std::mem::forget(Rc::clone(r)),
            Value::Lambda(r) => std::mem::forget(Rc::clone(r)),
            Value::PrimOpApp(r) => std::mem::forget(Rc::clone(r)),
            Value::Thunk(r) => std::mem::forget(Rc::clone(r)),
        }
        // SAFETY: the reference count of the `Rc` the value holds, if any, was raised just
        // above for the copy made here, so the two values each own one count.
        unsafe { std::ptr::read(self) }
    }

    /// Drops the value without drop glue for scalars (see [`Value::take_int`]).
    #[inline(always)]
    pub fn discard(self) {
        match self {
            Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::PrimOp(_) => {
                std::mem::forget(self)
            }
            Value::Lambda(c) => drop(c),
            Value::Thunk(t) => drop(t),
            v => drop(v),
        }
    }

    /// The integer, if the value is one. Consuming a scalar this way runs no drop glue:
    /// in wasm `drop_in_place::<Value>` is an out-of-line call even for an integer, and
    /// the hot arithmetic paths would otherwise make it for every operand.
    #[inline(always)]
    pub fn take_int(self) -> std::result::Result<i64, Value> {
        if let Value::Int(i) = self {
            std::mem::forget(self);
            Ok(i)
        } else {
            Err(self)
        }
    }

    /// The Boolean, if the value is one (without drop glue, see [`Value::take_int`]).
    #[inline(always)]
    pub fn take_bool(self) -> std::result::Result<bool, Value> {
        if let Value::Bool(b) = self {
            std::mem::forget(self);
            Ok(b)
        } else {
            Err(self)
        }
    }

    /// Whether the value is a function.
    pub fn is_function(&self) -> bool {
        matches!(
            self,
            Value::Lambda(_) | Value::PrimOp(_) | Value::PrimOpApp(_)
        )
    }
}
