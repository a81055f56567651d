//! Printing values the way `nix-instantiate --eval` does, and the shorter renderings Nix
//! uses inside error messages (with elision).

use std::collections::HashSet;
use std::fmt::Write;
use std::rc::Rc;

use super::{ThunkState, Value};
use crate::syntax::quote::{attr_name, format_float, quote_string};

/// Prints a (deeply forced) value as `nix-instantiate --eval` does.
pub fn print_value(v: &Value) -> String {
    let mut out = String::new();
    let mut seen = HashSet::new();
    print_rec(v, &mut out, &mut seen, "«thunk»");
    out
}

/// Prints a value that may contain unevaluated parts as `nix-instantiate --eval` (without
/// `--strict`) does: thunks show as `<CODE>`.
pub fn print_value_lazy(v: &Value) -> String {
    let mut out = String::new();
    let mut seen = HashSet::new();
    print_rec(v, &mut out, &mut seen, "<CODE>");
    out
}

fn forced(v: &Value) -> Option<Value> {
    match v {
        Value::Thunk(t) => match &*t.0.borrow() {
            ThunkState::Done(v) => Some(v.clone()),
            _ => None,
        },
        v => Some(v.clone()),
    }
}

fn print_rec(v: &Value, out: &mut String, seen: &mut HashSet<usize>, thunk: &str) {
    let key = match v {
        Value::Thunk(t) => Some(Rc::as_ptr(t) as usize),
        _ => None,
    };
    let Some(fv) = forced(v) else {
        out.push_str(thunk);
        return;
    };
    match &fv {
        Value::Attrs(a) => {
            if let Some(k) = key
                && !seen.insert(k)
            {
                out.push_str("«repeated»");
                return;
            }
            if !seen.insert(Rc::as_ptr(a) as usize) {
                out.push_str("«repeated»");
                return;
            }
            if a.entries.is_empty() {
                out.push_str("{ }");
                return;
            }
            out.push_str("{ ");
            for at in a.sorted_by_name() {
                out.push_str(&attr_name(at.name.as_str()));
                out.push_str(" = ");
                print_rec(&at.value, out, seen, thunk);
                out.push_str("; ");
            }
            out.push('}');
        }
        Value::List(l) => {
            if let Some(k) = key
                && !seen.insert(k)
            {
                out.push_str("«repeated»");
                return;
            }
            if l.is_empty() {
                out.push_str("[ ]");
                return;
            }
            out.push_str("[ ");
            for x in l.iter() {
                print_rec(x, out, seen, thunk);
                out.push(' ');
            }
            out.push(']');
        }
        other => out.push_str(&scalar(other)),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format_float(*f),
        Value::Str(s) => quote_string(&s.s),
        Value::Path(p) => p.s.clone(),
        Value::Lambda(_) => "<LAMBDA>".into(),
        Value::PrimOp(_) => "<PRIMOP>".into(),
        Value::PrimOpApp(_) => "<PRIMOP-APP>".into(),
        Value::Thunk(_) => "«thunk»".into(),
        Value::Attrs(_) | Value::List(_) => unreachable!("not scalar"),
    }
}

/// Renders a value inside an error message (Nix's error print options: depth and item
/// limits with elision markers).
pub fn show_for_error(v: &Value) -> String {
    let mut out = String::new();
    let mut budget = Budget {
        attrs: 10,
        items: 10,
    };
    show_err_rec(v, &mut out, 0, &mut budget);
    out
}

struct Budget {
    attrs: usize,
    items: usize,
}

fn show_err_rec(v: &Value, out: &mut String, depth: usize, b: &mut Budget) {
    let Some(fv) = forced(v) else {
        out.push_str("«thunk»");
        return;
    };
    match &fv {
        Value::Attrs(a) => {
            if a.entries.is_empty() {
                out.push_str("{ }");
                return;
            }
            if depth >= 10 {
                out.push_str("{ ... }");
                return;
            }
            out.push_str("{ ");
            let sorted = a.sorted_by_name();
            let mut shown = 0;
            for at in &sorted {
                // Nix counts an attribute after printing its value.
                if b.attrs == 0 {
                    break;
                }
                shown += 1;
                out.push_str(&attr_name(at.name.as_str()));
                out.push_str(" = ");
                show_err_rec(&at.value, out, depth + 1, b);
                out.push_str("; ");
                b.attrs = b.attrs.saturating_sub(1);
            }
            let rest = sorted.len() - shown;
            if rest > 0 {
                let _ = write!(
                    out,
                    "«{rest} attribute{} elided» ",
                    if rest == 1 { "" } else { "s" }
                );
            }
            out.push('}');
        }
        Value::List(l) => {
            if l.is_empty() {
                out.push_str("[ ]");
                return;
            }
            if depth >= 10 {
                out.push_str("[ ... ]");
                return;
            }
            out.push_str("[ ");
            let mut shown = 0;
            for x in l.iter() {
                if b.items == 0 {
                    break;
                }
                shown += 1;
                show_err_rec(x, out, depth + 1, b);
                out.push(' ');
                b.items = b.items.saturating_sub(1);
            }
            let rest = l.len() - shown;
            if rest > 0 {
                let _ = write!(
                    out,
                    "«{rest} item{} elided» ",
                    if rest == 1 { "" } else { "s" }
                );
            }
            out.push(']');
        }
        Value::Lambda(c) => {
            let _ = write!(out, "«lambda");
            if let Some(n) = c.lambda.name {
                let _ = write!(out, " {n}");
            }
            if let Some(l) = c.lambda.pos.resolve() {
                let _ = write!(out, " @ {l}");
            }
            out.push('»');
        }
        Value::PrimOp(p) => {
            let _ = write!(out, "«primop {}»", p.name);
        }
        Value::PrimOpApp(p) => {
            let _ = write!(out, "«partially applied primop {}»", p.op.name);
        }
        other => out.push_str(&scalar(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_printf_g() {
        assert_eq!(format_float(1.44), "1.44");
        assert_eq!(format_float(1e20), "1e+20");
        assert_eq!(format_float(0.1 + 0.2), "0.3");
        assert_eq!(format_float(123456789.0), "1.23457e+08");
        assert_eq!(format_float(1.0), "1");
        assert_eq!(format_float(0.0001), "0.0001");
        assert_eq!(format_float(0.00001), "1e-05");
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_string("a\"b${c}\n"), "\"a\\\"b\\${c}\\n\"");
        assert_eq!(attr_name("foo-bar"), "foo-bar");
        assert_eq!(attr_name("if"), "\"if\"");
        assert_eq!(attr_name("1a"), "\"1a\"");
    }
}
