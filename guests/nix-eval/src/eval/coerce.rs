//! Coercions and type checks: forcing a value to the type a builtin or operator expects, and
//! to a string or path with Nix's rules (`__toString`, `outPath`, copying paths to the store).

use std::rc::Rc;

use nix_formats::FileIngestionMethod;

use super::Evaluator;
use crate::error::{Error, ErrorKind, Result};
use crate::io::{AddToStore, IoError};
use crate::source::Pos;
use crate::value::*;

/// How a value is coerced to a string (Nix's `coerceToString` and `coerceToPath`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coercion {
    /// `toString`'s extra rules: integers, floats, Booleans, `null` and lists become strings
    /// too.
    pub strong: bool,
    /// A path is copied to the store and the string is its store path, rather than the path
    /// itself.
    pub copy_to_store: bool,
    /// The result must be an absolute path.
    pub absolute_path: bool,
}

impl Coercion {
    /// Strings, and paths as they are.
    pub const AS_IS: Coercion = Coercion {
        strong: false,
        copy_to_store: false,
        absolute_path: false,
    };
    /// String interpolation (`"${x}"`): paths are copied to the store.
    pub const INTERPOLATE: Coercion = Coercion {
        copy_to_store: true,
        ..Coercion::AS_IS
    };
    /// `toString`: paths as they are, and the extra rules.
    pub const TO_STRING: Coercion = Coercion {
        strong: true,
        ..Coercion::AS_IS
    };
    /// A derivation's attributes and arguments: the extra rules, paths copied to the store.
    pub const DERIVATION: Coercion = Coercion {
        strong: true,
        copy_to_store: true,
        absolute_path: false,
    };
    /// An absolute path (`toPath`, `readFile`, …).
    pub const PATH: Coercion = Coercion {
        absolute_path: true,
        ..Coercion::AS_IS
    };
}

impl Evaluator {
    /// A type error "expected X but found Y: v".
    pub fn type_err(&self, v: &Value, expected: &str, pos: Pos) -> Error {
        Error::new(
            ErrorKind::Eval,
            format!(
                "expected {expected} but found {}: {}",
                v.type_desc(),
                self.show_value(v)
            ),
            pos,
        )
    }

    /// Forces to a Boolean.
    pub fn expect_bool(&self, v: &Value, pos: Pos) -> Result<bool> {
        match self.force(v)? {
            Value::Bool(b) => Ok(b),
            v => Err(self.type_err(&v, "a Boolean", pos)),
        }
    }

    /// Forces to an integer.
    pub fn expect_int(&self, v: &Value, pos: Pos) -> Result<i64> {
        match self.force(v)? {
            Value::Int(i) => Ok(i),
            v => Err(self.type_err(&v, "an integer", pos)),
        }
    }

    /// Forces to an attribute set.
    pub fn force_attrs(&self, v: &Value, pos: Pos) -> Result<Rc<Attrs>> {
        match self.force(v)? {
            Value::Attrs(a) => Ok(a),
            v => Err(self.type_err(&v, "a set", pos)),
        }
    }

    /// Forces to a list.
    pub fn force_list(&self, v: &Value, pos: Pos) -> Result<Rc<Vec<Value>>> {
        match self.force(v)? {
            Value::List(l) => Ok(l),
            v => Err(self.type_err(&v, "a list", pos)),
        }
    }

    /// Forces to a function (error otherwise).
    pub fn expect_function(&self, v: &Value, pos: Pos) -> Result<Value> {
        let f = self.force(v)?;
        match &f {
            Value::Lambda(_) | Value::PrimOp(_) | Value::PrimOpApp(_) => Ok(f),
            Value::Attrs(a) if a.get(self.sym.functor).is_some() => Ok(f),
            _ => Err(self.type_err(&f, "a function", pos)),
        }
    }

    /// Forces to a string (no coercion).
    pub fn expect_string(&self, v: &Value, pos: Pos) -> Result<Rc<NixString>> {
        match self.force(v)? {
            Value::Str(s) => Ok(s),
            v => Err(self.type_err(&v, "a string", pos)),
        }
    }

    /// Coerces to a string the way `how` says. Errors are reported at `pos`.
    pub fn coerce_to_string(&self, v: &Value, pos: Pos, how: Coercion) -> Result<NixString> {
        self.coerce(v, pos, how, None)
    }

    /// [`Self::coerce_to_string`] in a context: a value that cannot be coerced is reported
    /// under the frame `ctx` (Nix's `errorCtx`), not at a position of its own.
    pub fn coerce_in(&self, v: &Value, how: Coercion, ctx: (Pos, &str)) -> Result<NixString> {
        self.coerce(v, ctx.0, how, Some(ctx))
    }

    /// Appends `v` coerced to a string (see [`Self::coerce_to_string`], or
    /// [`Self::coerce_in`] with a context) to `out`; a string is appended in place rather
    /// than copied first.
    pub fn append_coerced(
        &self,
        out: &mut NixString,
        v: &Value,
        pos: Pos,
        how: Coercion,
        ctx: Option<(Pos, &str)>,
    ) -> Result<()> {
        if let Value::Str(s) = v {
            out.s.push_str(&s.s);
            out.merge_ctx(s);
            return Ok(());
        }
        let s = match ctx {
            Some(ctx) => self.coerce_in(v, how, ctx)?,
            None => self.coerce_to_string(v, pos, how)?,
        };
        out.s.push_str(&s.s);
        out.merge_ctx(&s);
        Ok(())
    }

    /// Coerces to an absolute path string (`toPath`, `readFile`, ...).
    pub fn coerce_to_path(&self, v: &Value, pos: Pos) -> Result<NixString> {
        self.coerce(v, pos, Coercion::PATH, None)
    }

    /// A path argument of a builtin that reads the file system (`pathExists`,
    /// `readFileType`), its context realised: failures are "while realising the context of
    /// a path".
    pub fn realise_path(&self, v: &Value) -> Result<String> {
        let ctx = (Pos::NONE, "while realising the context of a path");
        let s = self.coerce(v, Pos::NONE, Coercion::PATH, Some(ctx))?;
        self.realise_context(&s, Pos::NONE)?;
        Ok(s.s)
    }

    /// An error of a coercion: under the frame `ctx` when there is one, else at `pos`.
    pub(super) fn coerce_failed(msg: String, pos: Pos, ctx: Option<(Pos, &str)>) -> Error {
        match ctx {
            Some((at, what)) => Error::new(ErrorKind::Eval, msg, Pos::NONE).frame(at, what),
            None => Error::new(ErrorKind::Eval, msg, pos),
        }
    }

    /// The coercions (see [`Coercion`]). An attribute set coerces through `__toString` or
    /// `outPath`, whose failures get frames naming them.
    pub(super) fn coerce(
        &self,
        v: &Value,
        pos: Pos,
        how: Coercion,
        ctx: Option<(Pos, &str)>,
    ) -> Result<NixString> {
        let v = self.force(v)?;
        let s = match &v {
            Value::Str(s) => (**s).clone(),
            Value::Path(p) => {
                if how.copy_to_store {
                    // Nix reports a path it cannot copy on its own, without the context.
                    let at = if ctx.is_some() { Pos::NONE } else { pos };
                    let sp = self
                        .copy_path_cached(&p.s)
                        .map_err(|e| Error::new(ErrorKind::Eval, e.to_string(), at))?;
                    NixString::with_elem(sp.clone(), ContextElem::Opaque(sp))
                } else {
                    NixString::plain(p.s.clone())
                }
            }
            // `outPath`/`__toString` chains and nested lists can be cyclic without any thunk
            // left to force, and such recursion uses next to no shadow stack (so the stack
            // check cannot see it in wasm): each level counts toward max-call-depth.
            Value::Attrs(a) => {
                return self.nested(pos, || {
                    if let Some(f) = a.get_attr(self.sym.to_string) {
                        let r = self.call(&f.value, v.clone(), f.pos).map_err(|e| {
                            e.frame(f.pos, "while calling the `__toString` attribute")
                        })?;
                        return self.coerce(&r, pos, how, ctx).map_err(|e| {
                            e.frame(
                                f.pos,
                                "while using the result of the `__toString` attribute",
                            )
                        });
                    }
                    if let Some(o) = a.get_attr(self.sym.out_path) {
                        let ov = self.force(&o.value).map_err(|e| {
                            e.frame(o.pos, "while evaluating the `outPath` attribute")
                        })?;
                        return self
                            .coerce(&ov, pos, how, ctx)
                            .map_err(|e| e.frame(o.pos, "while using the `outPath` attribute"));
                    }
                    Err(self.coerce_err(&v, pos, ctx))
                });
            }
            Value::Int(i) if how.strong => NixString::plain(i.to_string()),
            Value::Float(f) if how.strong => NixString::plain(format_float_fixed(*f)),
            Value::Bool(b) if how.strong => NixString::plain(if *b { "1" } else { "" }),
            Value::Null if how.strong => NixString::plain(""),
            Value::List(l) if how.strong => self.nested(pos, || {
                let mut out = NixString::default();
                for (i, x) in l.iter().enumerate() {
                    let s = self.coerce(x, pos, how, ctx)?;
                    out.s.push_str(&s.s);
                    out.merge_ctx(&s);
                    if i + 1 < l.len() {
                        let xv = self.force(x)?;
                        let empty_list = matches!(&xv, Value::List(l) if l.is_empty());
                        if !empty_list {
                            out.s.push(' ');
                        }
                    }
                }
                Ok(out)
            })?,
            _ => return Err(self.coerce_err(&v, pos, ctx)),
        };
        if how.absolute_path && !s.s.starts_with('/') {
            return Err(Self::coerce_failed(
                format!("string '{}' doesn't represent an absolute path", s.s),
                pos,
                ctx,
            ));
        }
        Ok(s)
    }

    pub(super) fn coerce_err(&self, v: &Value, pos: Pos, ctx: Option<(Pos, &str)>) -> Error {
        Self::coerce_failed(
            format!(
                "cannot coerce {} to a string: {}",
                v.type_desc(),
                self.show_value(v)
            ),
            pos,
            ctx,
        )
    }

    /// A short rendering of a value for messages.
    pub fn show_value(&self, v: &Value) -> String {
        crate::value::print::show_for_error(v)
    }

    /// Copies a source path to the store once per evaluation.
    pub(super) fn copy_path_cached(&self, path: &str) -> std::result::Result<String, IoError> {
        if let Some(p) = self.copied.borrow().get(path) {
            return Ok(p.clone());
        }
        let name = path.rsplit('/').next().unwrap_or(path);
        let sp = self.io.add_to_store(&AddToStore {
            path,
            name,
            method: FileIngestionMethod::Recursive,
            expected: None,
            included: None,
        })?;
        self.copied.borrow_mut().insert(path.to_owned(), sp.clone());
        Ok(sp)
    }
}

/// `std::to_string(double)`: fixed with 6 decimals.
pub fn format_float_fixed(f: f64) -> String {
    format!("{f:.6}")
}
