//! Operators: the lazy Boolean ones, arithmetic with Nix's rules, `+` and interpolation,
//! `//`, `++`, equality (with the differences an equality `assert` reports) and ordering.

use std::rc::Rc;

use super::Evaluator;
use crate::compiler::{ConcatKind, Ir};
use crate::error::{Error, ErrorKind, Result};
use crate::eval::Coercion;
use crate::source::Pos;
use crate::syntax::ast::BinOp;
use crate::syntax::path::canon_path;
use crate::value::*;

impl Evaluator {
    #[inline(always)]
    pub(super) fn eval_bin(
        &self,
        op: BinOp,
        a: &Ir,
        b: &Ir,
        pos: Pos,
        at: [Pos; 2],
        env: &Rc<Env>,
    ) -> Result<Value> {
        // `&&`, `||` and `->` evaluate their right operand only when needed.
        let lazy = match op {
            BinOp::And => Some(("&&", false, false)),
            BinOp::Or => Some(("||", true, true)),
            BinOp::Impl => Some(("->", false, true)),
            _ => None,
        };
        if let Some((sym, stop_at, result_at_stop)) = lazy {
            let l = self.bool_operand(a, env, at[0], ("left operand", sym))?;
            if l == stop_at {
                return Ok(Value::Bool(result_at_stop));
            }
            let r = self.bool_operand(b, env, at[1], ("right operand", sym))?;
            return Ok(Value::Bool(r));
        }
        // Integer operands already at hand (`n < 2`) are compared without making a value
        // of each (in wasm a value lives in memory).
        if let Some(t) = super::speculate::peek_test(op, a, b, env) {
            return Ok(Value::Bool(t));
        }
        let av = self
            .eval_operand(a, env)
            .map_err(|e| Self::operand_failed(op, 0, e, pos, at))?;
        let bv = self
            .eval_operand(b, env)
            .map_err(|e| Self::operand_failed(op, 1, e, pos, at))?;
        // Fast paths for integer arithmetic and comparison.
        let x = match av.take_int() {
            Ok(x) => x,
            Err(a) => return self.binop_at(op, &a, &bv, pos, at),
        };
        let y = match bv.take_int() {
            Ok(y) => y,
            Err(b) => return self.binop_at(op, &Value::Int(x), &b, pos, at),
        };
        match super::speculate::int_bin(op, x, y) {
            Some(r) => Ok(r),
            None => self.binop_at(op, &Value::Int(x), &Value::Int(y), pos, at),
        }
    }

    /// An operand that must be a Boolean (of `!`, `&&`, `||`, `->`), evaluated where it
    /// starts: a failure there gets the frame "in the `what.0` of '`what.1`'".
    pub(super) fn bool_operand(
        &self,
        e: &Ir,
        env: &Rc<Env>,
        at: Pos,
        what: (&str, &str),
    ) -> Result<bool> {
        self.eval(e, env)
            .and_then(|v| self.expect_bool(&v, at))
            .map_err(|e| {
                Self::forced_at(e, at).frame(at, format!("in the {} of '{}'", what.0, what.1))
            })
    }

    /// An error out of forcing a value at `at`. An infinite recursion is reported where the
    /// thunk that was entered again forced the next value on the cycle: the outermost
    /// position the error passes on its way out of that thunk (see [`Self::force_thunk`]).
    #[cold]
    pub(super) fn forced_at(mut e: Error, at: Pos) -> Error {
        if e.0.recursion_entry != 0 && at != Pos::NONE {
            e.0.pos = at;
        }
        e
    }

    /// The builtin Nix turns an arithmetic or comparison operator into (`a - b` is
    /// `__sub a b`, `a >= b` is `!(__lessThan a b)`), whose frames its failures get.
    pub(super) fn desugared(op: BinOp) -> Option<(&'static str, bool)> {
        Some(match op {
            BinOp::Sub => ("sub", false),
            BinOp::Mul => ("mul", false),
            BinOp::Div => ("div", false),
            BinOp::Lt | BinOp::Gt => ("lessThan", false),
            BinOp::Le | BinOp::Ge => ("lessThan", true),
            _ => return None,
        })
    }

    /// Frames for a failure of a desugared operator, as for a call of its builtin at `pos`.
    #[cold]
    pub(super) fn builtin_op_failed(e: Error, name: &str, negated: bool, pos: Pos) -> Error {
        let e = Self::unpos(e, pos).frame(pos, format!("while calling the '{name}' builtin"));
        if negated {
            e.frame(pos, "in the argument of '!'")
        } else {
            e
        }
    }

    /// Frames for a failure while evaluating operand `side` (0 left, 1 right) of `op`.
    #[cold]
    pub(super) fn operand_failed(
        op: BinOp,
        side: usize,
        e: Error,
        pos: Pos,
        at: [Pos; 2],
    ) -> Error {
        if let Some((name, negated)) = Self::desugared(op) {
            return Self::builtin_op_failed(e, name, negated, pos);
        }
        let sym = match op {
            BinOp::Eq => "==",
            BinOp::Neq => "!=",
            BinOp::Update => "//",
            _ => "++",
        };
        let which = if side == 0 { "left" } else { "right" };
        Self::forced_at(e, at[side]).frame(at[side], format!("in the {which} operand of '{sym}'"))
    }

    /// [`Self::binop`] with the frames Nix gives its failures.
    pub(super) fn binop_at(
        &self,
        op: BinOp,
        av: &Value,
        bv: &Value,
        pos: Pos,
        at: [Pos; 2],
    ) -> Result<Value> {
        match Self::desugared(op) {
            Some((name, negated)) => {
                let r = match op {
                    BinOp::Sub | BinOp::Mul | BinOp::Div => {
                        self.arith_builtin(&[av.clone(), bv.clone()], pos, op)
                    }
                    _ => self.binop(op, av, bv, pos, at),
                };
                r.map_err(|e| Self::builtin_op_failed(e, name, negated, pos))
            }
            None => self.binop(op, av, bv, pos, at),
        }
    }

    /// Applies a strict binary operator to forced operands.
    pub fn binop(
        &self,
        op: BinOp,
        av: &Value,
        bv: &Value,
        pos: Pos,
        at: [Pos; 2],
    ) -> Result<Value> {
        Ok(match op {
            BinOp::Eq => Value::Bool(self.equal(av, bv, pos)?),
            BinOp::Neq => Value::Bool(!self.equal(av, bv, pos)?),
            BinOp::Lt => Value::Bool(self.less_than(av, bv, pos)?),
            BinOp::Gt => Value::Bool(self.less_than(bv, av, pos)?),
            BinOp::Le => Value::Bool(!self.less_than(bv, av, pos)?),
            BinOp::Ge => Value::Bool(!self.less_than(av, bv, pos)?),
            BinOp::Update => {
                let x = self
                    .force_attrs(av, at[0])
                    .map_err(|e| e.frame(at[0], "in the left operand of '//'"))?;
                let y = self
                    .force_attrs(bv, at[1])
                    .map_err(|e| e.frame(at[1], "in the right operand of '//'"))?;
                if x.entries.is_empty() {
                    Value::Attrs(y)
                } else if y.entries.is_empty() {
                    Value::Attrs(x)
                } else {
                    Value::Attrs(Rc::new(x.update(&y)))
                }
            }
            BinOp::Concat => {
                let x = self.force_list(av, Pos::NONE).map_err(|e| {
                    e.frame(pos, "while evaluating one of the elements to concatenate")
                })?;
                let y = self.force_list(bv, Pos::NONE).map_err(|e| {
                    e.frame(pos, "while evaluating one of the elements to concatenate")
                })?;
                if x.is_empty() {
                    Value::List(y)
                } else if y.is_empty() {
                    Value::List(x)
                } else {
                    let mut v = Vec::with_capacity(x.len() + y.len());
                    v.extend(x.iter().cloned());
                    v.extend(y.iter().cloned());
                    Value::list(v)
                }
            }
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div => self.arith(op, av, bv, pos)?,
            _ => unreachable!("handled elsewhere"),
        })
    }

    /// Integer/float arithmetic with Nix's rules.
    pub fn arith(&self, op: BinOp, av: &Value, bv: &Value, pos: Pos) -> Result<Value> {
        let av = self.force(av)?;
        let bv = self.force(bv)?;
        let (sym, verb) = match op {
            BinOp::Add => ("+", "addition"),
            BinOp::Sub => ("-", "subtraction"),
            BinOp::Mul => ("*", "multiplication"),
            _ => ("/", "division"),
        };
        let _ = verb;
        match (&av, &bv) {
            (Value::Int(x), Value::Int(y)) => {
                let r = match op {
                    BinOp::Add => x.checked_add(*y),
                    BinOp::Sub => x.checked_sub(*y),
                    BinOp::Mul => super::speculate::mul_int(*x, *y),
                    _ => {
                        if *y == 0 {
                            return Err(Error::new(ErrorKind::Eval, "division by zero", pos));
                        }
                        x.checked_div(*y)
                    }
                };
                match r {
                    Some(r) => Ok(Value::Int(r)),
                    None => Err(Error::new(
                        ErrorKind::Eval,
                        format!(
                            "integer overflow in {}ing {x} {sym} {y}",
                            match op {
                                BinOp::Add => "add",
                                BinOp::Sub => "subtract",
                                BinOp::Mul => "multiply",
                                _ => "divid",
                            }
                        ),
                        pos,
                    )),
                }
            }
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                let x = num_f64(&av);
                let y = num_f64(&bv);
                Ok(Value::Float(match op {
                    BinOp::Add => x + y,
                    BinOp::Sub => x - y,
                    BinOp::Mul => x * y,
                    _ => {
                        if y == 0.0 {
                            return Err(Error::new(ErrorKind::Eval, "division by zero", pos));
                        }
                        x / y
                    }
                }))
            }
            (Value::Int(_) | Value::Float(_), _) => Err(self.type_err(
                &bv,
                if matches!(av, Value::Int(_)) {
                    "an integer"
                } else {
                    "a float"
                },
                pos,
            )),
            _ => Err(self.type_err(&av, "an integer", pos)),
        }
    }

    /// `"…${e}…"`, a path with interpolations, or `a + b` (with `at`, where its operands
    /// start: failures in an operand are reported there, as Nix does).
    // Inline: out of line it takes more parameters than fit in registers in wasm, and
    // cranelift reads each one passed on the stack as a whole word right after the caller
    // stored half of one, which stalls.
    #[inline(always)]
    pub(super) fn eval_concat(
        &self,
        parts: &[Ir],
        kind: &ConcatKind,
        pos: Pos,
        env: &Rc<Env>,
    ) -> Result<Value> {
        let at = match kind {
            ConcatKind::Plus(at) => Some(&**at),
            _ => None,
        };
        if !matches!(kind, ConcatKind::String) && parts.len() == 2 {
            // `a + b` on integers: the common case.
            let first = self
                .eval_plus_operand(&parts[0], env)
                .map_err(|e| Self::plus_operand_failed(e, at, 0))?;
            let first = match first.take_int() {
                Ok(x) => {
                    let second = self
                        .eval_plus_operand(&parts[1], env)
                        .map_err(|e| Self::plus_operand_failed(e, at, 1))?;
                    let at = at.map_or(pos, |at| at[1]);
                    return match second.take_int() {
                        Ok(y) => match x.checked_add(y) {
                            Some(r) => Ok(Value::Int(r)),
                            None => self.add_values(Value::Int(x), Value::Int(y), at),
                        },
                        Err(second) => self.add_values(Value::Int(x), second, at),
                    };
                }
                Err(first) => first,
            };
            return self.eval_concat_rest(first, parts, kind, pos, env);
        }
        let first = self
            .eval_operand(&parts[0], env)
            .map_err(|e| Self::plus_operand_failed(e, at, 0))?;
        self.eval_concat_rest(first, parts, kind, pos, env)
    }

    /// The frame of a failure in operand `i` of `+`.
    #[cold]
    pub(super) fn plus_operand_failed(e: Error, at: Option<&[Pos; 2]>, i: usize) -> Error {
        match at {
            Some(at) => Self::forced_at(e, at[i]).frame(at[i], "in an operand of '+'"),
            None => e,
        }
    }

    pub(super) fn eval_concat_rest(
        &self,
        first: Value,
        parts: &[Ir],
        kind: &ConcatKind,
        pos: Pos,
        env: &Rc<Env>,
    ) -> Result<Value> {
        let at = match kind {
            ConcatKind::Plus(at) => Some(&**at),
            _ => None,
        };
        // Where part `i` is reported: at the operand for `+`.
        let part_pos = |i: usize| at.map_or(pos, |at| at[i.min(1)]);
        let eval_part = |i: usize, p: &Ir| {
            self.eval_operand(p, env)
                .map_err(|e| Self::plus_operand_failed(e, at, i.min(1)))
        };
        if !matches!(kind, ConcatKind::String) {
            match &first {
                Value::Int(_) | Value::Float(_) => {
                    let mut acc = first;
                    for (i, p) in parts.iter().enumerate().skip(1) {
                        let v = eval_part(i, p)?;
                        acc = match (&acc, &v) {
                            (_, Value::Int(_) | Value::Float(_)) => {
                                self.arith(BinOp::Add, &acc, &v, part_pos(i))?
                            }
                            _ => {
                                return Err(Error::new(
                                    ErrorKind::Eval,
                                    format!("cannot add {} to {}", v.type_desc(), acc.type_desc()),
                                    part_pos(i),
                                ));
                            }
                        };
                    }
                    return Ok(acc);
                }
                Value::Path(p) => {
                    let mut s = p.s.clone();
                    for (i, part) in parts.iter().enumerate().skip(1) {
                        let v = eval_part(i, part)?;
                        let ns = self.coerce_to_string(&v, pos, Coercion::AS_IS)?;
                        if ns.has_ctx() {
                            return Err(Error::new(
                                ErrorKind::Eval,
                                "a string that refers to a store path cannot be appended to a path"
                                    .to_string(),
                                pos,
                            ));
                        }
                        s.push_str(&ns.s);
                    }
                    return Ok(Value::path(canon_path(&s)));
                }
                _ => {}
            }
        }
        let segment = |i: usize| Some((part_pos(i), "while evaluating a path segment"));
        let mut out = NixString::default();
        self.append_coerced(&mut out, &first, pos, Coercion::INTERPOLATE, segment(0))?;
        for (i, p) in parts.iter().enumerate().skip(1) {
            let v = eval_part(i, p)?;
            self.append_coerced(&mut out, &v, pos, Coercion::INTERPOLATE, segment(i))?;
        }
        Ok(Value::Str(Rc::new(out)))
    }

    pub(super) fn add_values(&self, a: Value, b: Value, pos: Pos) -> Result<Value> {
        match (&a, &b) {
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                self.arith(BinOp::Add, &a, &b, pos)
            }
            _ => Err(Error::new(
                ErrorKind::Eval,
                format!("cannot add {} to {}", b.type_desc(), a.type_desc()),
                pos,
            )),
        }
    }

    /// Deep equality (`==`) of two operands, as Nix compares them: both are forced and
    /// compared by content. Nix compares copies of the operands, so a value is never equal to
    /// itself by identity at this level (`let x = { a = throw ""; }; in x == x` throws); inside
    /// lists and sets, see [`Evaluator::equal_elem`].
    pub fn equal(&self, a: &Value, b: &Value, pos: Pos) -> Result<bool> {
        self.check_stack(pos)?;
        let a = self.force(a)?;
        let b = self.force(b)?;
        Ok(match (&a, &b) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(x), Value::Bool(y)) => x == y,
            (Value::Int(x), Value::Int(y)) => x == y,
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                num_f64(&a) == num_f64(&b)
            }
            (Value::Str(x), Value::Str(y)) => x.s == y.s,
            (Value::Path(x), Value::Path(y)) => x.s == y.s,
            (Value::List(x), Value::List(y)) => {
                if x.len() != y.len() {
                    return Ok(false);
                }
                // Each level of nesting counts toward max-call-depth, so comparing two
                // infinite structures ends in an error rather than exhausting the stack.
                self.nested(pos, || {
                    for (p, q) in x.iter().zip(y.iter()) {
                        if !self.equal_elem(p, q, pos)? {
                            return Ok(false);
                        }
                    }
                    Ok(true)
                })?
            }
            (Value::Attrs(x), Value::Attrs(y)) => {
                if self.is_derivation(x)?
                    && self.is_derivation(y)?
                    && let (Some(p), Some(q)) = (x.get(self.sym.out_path), y.get(self.sym.out_path))
                {
                    return self.equal_elem(p, q, pos);
                }
                if x.entries.len() != y.entries.len() {
                    return Ok(false);
                }
                self.nested(pos, || {
                    for (p, q) in x.entries.iter().zip(y.entries.iter()) {
                        if p.name != q.name || !self.equal_elem(&p.value, &q.value, pos)? {
                            return Ok(false);
                        }
                    }
                    Ok(true)
                })?
            }
            _ => false,
        })
    }

    /// Equality of values held by reference (list elements, attribute values, a builtin's
    /// arguments): like [`Evaluator::equal`], except that one value is equal to itself once
    /// forced, without comparing its contents (Nix's pointer equality, which real code relies
    /// on: `let f = x: x; in [ f ] == [ f ]` is true although functions never compare equal).
    pub fn equal_elem(&self, a: &Value, b: &Value, pos: Pos) -> Result<bool> {
        if same_ref(a, b) {
            self.force(a)?;
            return Ok(true);
        }
        self.equal(a, b, pos)
    }

    /// The error of an `assert` whose condition was false. When the condition is `a == b`,
    /// Nix compares the two sides again to say where they differ (`assertEqValues`).
    #[cold]
    pub(super) fn assertion_failed(&self, c: &Ir, env: &Rc<Env>, pos: Pos, text: &str) -> Error {
        if let Ir::Bin {
            op: BinOp::Eq,
            lhs: a,
            rhs: b,
            pos: eq_pos,
            ..
        } = c
        {
            let why = self.eval(a, env).and_then(|a| {
                let b = self.eval(b, env)?;
                self.assert_eq_values(&a, &b, *eq_pos)
            });
            if let Err(e) = why {
                return e.frame(
                    pos,
                    format!("while evaluating the condition of the assertion '{text}'"),
                );
            }
        }
        Error::new(ErrorKind::Assert, format!("assertion '{text}' failed"), pos)
    }

    /// `a == b` as an equality assertion checks it: `Ok` when equal, otherwise an assertion
    /// error naming the first difference, with a frame for each attribute or list element
    /// on the way down to it (Nix's wording).
    pub(super) fn assert_eq_values(&self, a: &Value, b: &Value, pos: Pos) -> Result<()> {
        self.check_stack(pos)?;
        let a = self.force(a)?;
        let b = self.force(b)?;
        let unequal = |msg: String| Err(Error::new(ErrorKind::Assert, msg, Pos::NONE));
        let show = |v: &Value| self.show_value(v);
        let numeric = |v: &Value| matches!(v, Value::Int(_) | Value::Float(_));
        if numeric(&a) && numeric(&b) {
            if self.equal(&a, &b, pos)? {
                return Ok(());
            }
            return unequal(format!(
                "{} with value '{}' is not equal to {} with value '{}'",
                a.type_desc(),
                show(&a),
                b.type_desc(),
                show(&b)
            ));
        }
        if a.type_desc() != b.type_desc() {
            return unequal(format!(
                "{} of value '{}' is not equal to {} of value '{}'",
                a.type_desc(),
                show(&a),
                b.type_desc(),
                show(&b)
            ));
        }
        match (&a, &b) {
            (Value::Bool(x), Value::Bool(y)) if x != y => {
                unequal(format!("boolean '{x}' is not equal to boolean '{y}'"))
            }
            (Value::Str(x), Value::Str(y)) if x.s != y.s => unequal(format!(
                "string '{}' is not equal to string '{}'",
                show(&a),
                show(&b)
            )),
            (Value::Path(x), Value::Path(y)) if x.s != y.s => unequal(format!(
                "path '{}' is not equal to path '{}'",
                x.s, y.s
            )),
            (Value::List(x), Value::List(y)) if !Rc::ptr_eq(x, y) => {
                if x.len() != y.len() {
                    return unequal(format!(
                        "list of size '{}' is not equal to list of size '{}', left hand side is '{}', right hand side is '{}'",
                        x.len(),
                        y.len(),
                        show(&a),
                        show(&b)
                    ));
                }
                self.nested(pos, || {
                    for (i, (p, q)) in x.iter().zip(y.iter()).enumerate() {
                        if !same_ref(p, q) {
                            self.assert_eq_values(p, q, pos).map_err(|e| {
                                e.frame(pos, format!("while comparing list element {i}"))
                            })?;
                        }
                    }
                    Ok(())
                })
            }
            (Value::Attrs(x), Value::Attrs(y)) if !Rc::ptr_eq(x, y) => {
                if self.is_derivation(x)?
                    && self.is_derivation(y)?
                    && let (Some(p), Some(q)) = (x.get(self.sym.out_path), y.get(self.sym.out_path))
                {
                    return self.assert_eq_values(p, q, pos).map_err(|e| {
                        e.frame(pos, "while comparing a derivation by its 'outPath' attribute")
                    });
                }
                let names_differ = || {
                    unequal(format!(
                        "attribute names of attribute set '{}' differs from attribute set '{}'",
                        show(&a),
                        show(&b)
                    ))
                };
                if x.entries.len() != y.entries.len() {
                    return names_differ();
                }
                self.nested(pos, || {
                    for (p, q) in x.entries.iter().zip(y.entries.iter()) {
                        if p.name != q.name {
                            return names_differ();
                        }
                        if !same_ref(&p.value, &q.value) {
                            self.assert_eq_values(&p.value, &q.value, pos)
                                .map_err(|e| {
                                    e.frame(q.pos, "where right hand side is")
                                        .frame(p.pos, "where left hand side is")
                                        .frame(pos, format!("while comparing attribute '{}'", p.name))
                                })?;
                        }
                    }
                    Ok(())
                })
            }
            (Value::Lambda(_) | Value::PrimOp(_) | Value::PrimOpApp(_), _) => unequal(
                "distinct functions and immediate comparisons of identical functions compare as unequal"
                    .into(),
            ),
            _ => Ok(()),
        }
    }

    pub(crate) fn is_derivation(&self, a: &Attrs) -> Result<bool> {
        match a.get(self.sym.type_) {
            Some(t) => match self.force(t)? {
                Value::Str(s) => Ok(s.s == "derivation"),
                _ => Ok(false),
            },
            None => Ok(false),
        }
    }

    /// `<` with Nix's rules.
    pub fn less_than(&self, a: &Value, b: &Value, pos: Pos) -> Result<bool> {
        let a = self.force(a)?;
        let b = self.force(b)?;
        Ok(match (&a, &b) {
            (Value::Int(x), Value::Int(y)) => x < y,
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                num_f64(&a) < num_f64(&b)
            }
            (Value::Str(x), Value::Str(y)) => x.s < y.s,
            (Value::Path(x), Value::Path(y)) => x.s < y.s,
            (Value::List(x), Value::List(y)) => self.nested(pos, || {
                for (p, q) in x.iter().zip(y.iter()) {
                    if !self.equal_elem(p, q, pos)? {
                        return self
                            .less_than(p, q, pos)
                            .map_err(|e| e.frame(Pos::NONE, "while comparing two list elements"));
                    }
                }
                Ok(x.len() < y.len())
            })?,
            _ => {
                let same = a.type_desc() == b.type_desc();
                let msg = if same {
                    format!(
                        "cannot compare {} with {}; values of that type are incomparable (values are {} and {})",
                        a.type_desc(),
                        b.type_desc(),
                        self.show_value(&a),
                        self.show_value(&b)
                    )
                } else {
                    format!(
                        "cannot compare {} with {}; values are {} and {}",
                        a.type_desc(),
                        b.type_desc(),
                        self.show_value(&a),
                        self.show_value(&b)
                    )
                };
                return Err(Error::new(ErrorKind::Eval, msg, pos));
            }
        })
    }

    /// `builtins.add` & co.: forces both operands with Nix's frames, then does the arithmetic.
    pub(crate) fn arith_builtin(&self, a: &[Value], pos: Pos, op: BinOp) -> Result<Value> {
        let (first, second) = match op {
            BinOp::Add => (
                "first argument of the addition",
                "second argument of the addition",
            ),
            BinOp::Sub => (
                "first argument of the subtraction",
                "second argument of the subtraction",
            ),
            BinOp::Mul => (
                "first argument of the multiplication",
                "second argument of the multiplication",
            ),
            _ => (
                "first operand of the division",
                "second operand of the division",
            ),
        };
        let num = |v: &Value| matches!(v, Value::Int(_) | Value::Float(_));
        if op == BinOp::Div {
            // Nix checks the divisor first.
            let y = self.force(&a[1])?;
            if !num(&y) {
                return Err(self
                    .type_err(&y, "a float", Pos::NONE)
                    .frame(Pos::NONE, format!("while evaluating the {second}")));
            }
            if matches!(y, Value::Int(0)) || matches!(y, Value::Float(f) if f == 0.0) {
                return Err(Error::new(ErrorKind::Eval, "division by zero", Pos::NONE));
            }
        }
        let x = self.force(&a[0])?;
        if !num(&x) {
            return Err(self
                .type_err(&x, "an integer", Pos::NONE)
                .frame(Pos::NONE, format!("while evaluating the {first}")));
        }
        let y = self.force(&a[1])?;
        if !num(&y) {
            let want = if matches!(x, Value::Float(_)) || op == BinOp::Div {
                "a float"
            } else {
                "an integer"
            };
            let want = if op == BinOp::Div && matches!(x, Value::Int(_)) {
                "a float"
            } else {
                want
            };
            return Err(self
                .type_err(&y, want, Pos::NONE)
                .frame(Pos::NONE, format!("while evaluating the {second}")));
        }
        self.arith(op, &x, &y, pos)
    }
}

/// Identity of shared values (Nix compares list elements and attribute values by pointer
/// first, which makes `[ f ] == [ f ]` true for a function `f`).
fn same_ref(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Thunk(x), Value::Thunk(y)) => Rc::ptr_eq(x, y),
        (Value::Lambda(x), Value::Lambda(y)) => Rc::ptr_eq(x, y),
        (Value::PrimOp(x), Value::PrimOp(y)) => std::ptr::eq(*x, *y),
        (Value::PrimOpApp(x), Value::PrimOpApp(y)) => Rc::ptr_eq(x, y),
        (Value::Attrs(x), Value::Attrs(y)) => Rc::ptr_eq(x, y),
        (Value::List(x), Value::List(y)) => Rc::ptr_eq(x, y),
        _ => false,
    }
}

pub(crate) fn num_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        _ => 0.0,
    }
}
