//! Runtime values.
//!
//! `Value` is 16 bytes: scalars inline, everything else behind an `Rc` so that copying a
//! value is a reference-count bump. Attribute sets are immutable vectors sorted by symbol
//! (binary search, cheap `//` merges); thunks are updated in place once forced.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use crate::compile::{Ir, LambdaIr};
use crate::source::{Pos, Sym};

/// A string with its context (the store paths it refers to, in Nix's encoded form:
/// `/nix/store/x`, `=/nix/store/x.drv` for all outputs, `!out!/nix/store/x.drv`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NixString {
    /// The text.
    pub s: String,
    /// The context; `None` when empty.
    pub ctx: Option<Box<BTreeSet<String>>>,
}

impl NixString {
    /// A string without context.
    pub fn plain(s: impl Into<String>) -> Self {
        NixString {
            s: s.into(),
            ctx: None,
        }
    }
    /// Whether the context is empty.
    pub fn has_ctx(&self) -> bool {
        self.ctx.as_ref().is_some_and(|c| !c.is_empty())
    }
    /// Adds another string's context to this one.
    pub fn merge_ctx(&mut self, other: &NixString) {
        if let Some(o) = &other.ctx {
            self.ctx
                .get_or_insert_with(Default::default)
                .extend(o.iter().cloned());
        }
    }
}

/// One attribute.
#[derive(Debug)]
pub struct Attr {
    /// The name.
    pub name: Sym,
    /// The (possibly unevaluated) value.
    pub value: Value,
    /// Where it was defined.
    pub pos: Pos,
}

impl Clone for Attr {
    /// Copies scalars in place (see [`Value::copy`]): `//` copies whole sets.
    #[inline(always)]
    fn clone(&self) -> Attr {
        Attr {
            name: self.name,
            value: self.value.copy(),
            pos: self.pos,
        }
    }
}

/// An attribute set: attributes sorted by symbol.
#[derive(Debug, Clone, Default)]
pub struct Attrs {
    /// Sorted by `name`.
    pub entries: Vec<Attr>,
}

impl Drop for Attrs {
    /// Drops the values without an out-of-line call each (see [`Value::discard`]):
    /// `//` leaves big sets behind.
    fn drop(&mut self) {
        for a in self.entries.drain(..) {
            a.value.discard();
        }
    }
}

impl Attrs {
    /// Builds from unsorted entries (later duplicates win).
    pub fn from_unsorted(mut entries: Vec<Attr>) -> Attrs {
        entries.sort_by_key(|a| a.name);
        entries.dedup_by(|later, earlier| {
            if later.name == earlier.name {
                std::mem::swap(later, earlier);
                true
            } else {
                false
            }
        });
        Attrs { entries }
    }
    /// Looks up an attribute.
    pub fn get(&self, name: Sym) -> Option<&Value> {
        self.get_attr(name).map(|a| &a.value)
    }
    /// Looks up an attribute with its position.
    pub fn get_attr(&self, name: Sym) -> Option<&Attr> {
        self.entries
            .binary_search_by_key(&name, |a| a.name)
            .ok()
            .map(|i| &self.entries[i])
    }
    /// Entries sorted by name text (the order Nix shows them in).
    pub fn sorted_by_name(&self) -> Vec<&Attr> {
        let mut v: Vec<&Attr> = self.entries.iter().collect();
        v.sort_by(|a, b| a.name.as_str().cmp(b.name.as_str()));
        v
    }
    /// `self // other`.
    pub fn update(&self, other: &Attrs) -> Attrs {
        let (a, b) = (&self.entries, &other.entries);
        let mut out = Vec::with_capacity(a.len() + b.len());
        if b.len() * 8 < a.len() {
            // A few attributes over a big set (overlays, `lib` updates): find each one's
            // place by binary search and copy the runs in between wholesale.
            let mut i = 0;
            for e in b {
                let k = a[i..].partition_point(|x| x.name < e.name);
                out.extend_from_slice(&a[i..i + k]);
                i += k;
                if i < a.len() && a[i].name == e.name {
                    i += 1;
                }
                out.push(e.clone());
            }
            out.extend_from_slice(&a[i..]);
            return Attrs { entries: out };
        }
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            match a[i].name.cmp(&b[j].name) {
                std::cmp::Ordering::Less => {
                    out.push(a[i].clone());
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    out.push(b[j].clone());
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    out.push(b[j].clone());
                    i += 1;
                    j += 1;
                }
            }
        }
        out.extend_from_slice(&a[i..]);
        out.extend_from_slice(&b[j..]);
        Attrs { entries: out }
    }
}

/// A function value: compiled lambda plus its environment.
#[derive(Debug)]
pub struct Closure {
    /// The code.
    pub lambda: Rc<LambdaIr>,
    /// Captured environment.
    pub env: Rc<Env>,
}

/// A built-in function.
pub struct PrimOp {
    /// Name without `__`.
    pub name: &'static str,
    /// Number of arguments.
    pub arity: usize,
    /// The implementation; gets exactly `arity` (unforced) arguments.
    pub f: fn(&crate::eval::Evaluator, &[Value], Pos) -> crate::eval::Result<Value>,
}

impl std::fmt::Debug for PrimOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<primop {}>", self.name)
    }
}

/// A partially applied built-in.
#[derive(Debug)]
pub struct PrimOpApp {
    /// The built-in.
    pub op: &'static PrimOp,
    /// The arguments so far (fewer than its arity).
    pub args: Vec<Value>,
}

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
    Failed(crate::eval::Error),
}

/// A thunk: shared, updated in place.
#[derive(Debug)]
pub struct Thunk(pub RefCell<ThunkState>);

/// Frame slots: most frames (lambdas) have one or two, kept inline.
pub type Slots = smallvec::SmallVec<[Value; 2]>;

/// A runtime environment frame.
#[derive(Debug)]
pub struct Env {
    /// Slots (variables of a `let`, `rec`, lambda; or the attribute set of a `with`).
    pub slots: RefCell<Slots>,
    /// The enclosing frame.
    pub parent: Option<Rc<Env>>,
    /// Whether this frame is a `with`.
    pub is_with: bool,
}

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

/// An attribute-set builder.
#[derive(Debug, Default)]
pub struct AttrsBuilder(pub Vec<Attr>);

impl AttrsBuilder {
    /// Adds an attribute.
    pub fn add(&mut self, name: &str, value: Value) -> &mut Self {
        self.0.push(Attr {
            name: Sym::new(name),
            value,
            pos: Pos::NONE,
        });
        self
    }
    /// Finishes.
    pub fn build(self) -> Value {
        Value::attrs(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[(&str, i64)]) -> Attrs {
        Attrs::from_unsorted(
            names
                .iter()
                .map(|(n, v)| Attr {
                    name: Sym::new(n),
                    value: Value::Int(*v),
                    pos: Pos::NONE,
                })
                .collect(),
        )
    }

    fn show(a: &Attrs) -> Vec<(Sym, i64)> {
        a.entries
            .iter()
            .map(|e| match e.value {
                Value::Int(i) => (e.name, i),
                _ => unreachable!("ints only"),
            })
            .collect()
    }

    #[test]
    fn update_small_and_large_right_sides() {
        let big: Vec<(String, i64)> = (0..100).map(|i| (format!("a{i}"), i)).collect();
        let big: Vec<(&str, i64)> = big.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        let left = set(&big);
        for right in [
            set(&[("a5", -5), ("a50", -50), ("zz", 1), ("", 2)]),
            set(&big
                .iter()
                .step_by(3)
                .map(|(n, v)| (*n, -v))
                .collect::<Vec<_>>()),
            set(&[]),
        ] {
            let got = show(&left.update(&right));
            let mut want: std::collections::BTreeMap<Sym, i64> = show(&left).into_iter().collect();
            want.extend(show(&right));
            assert_eq!(got, want.into_iter().collect::<Vec<_>>());
        }
    }
}
