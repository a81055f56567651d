//! `nix-instantiate --parse`: a parsed expression printed as Nix's `Expr::show` prints it.

use super::ParseError;
use super::ast::{AttrName, BinOp, Expr, PathKind, StrPart};
use super::merge::{Tree, TreeVal, tree_of};
use crate::source::{Pos, Sym};

/// Renders a parsed expression the way `nix-instantiate --parse` prints it (Nix's
/// `Expr::show`): attribute paths merged, bindings sorted, operators desugared where Nix
/// desugars them.
pub fn show_parsed(e: &Expr) -> Result<String, ParseError> {
    let mut out = String::new();
    show(e, &mut out)?;
    Ok(out)
}

fn show_str_lit(s: &str, out: &mut String) {
    out.push_str(&super::quote::quote_string(s));
}

fn show_tree(t: Tree, out: &mut String) -> Result<(), ParseError> {
    // plain inherits, then inherits by source, then the rest sorted by name, then dynamics
    let mut plain: Vec<&str> = Vec::new();
    let mut by_from: Vec<Vec<&str>> = vec![Vec::new(); t.froms.len()];
    let mut rest: Vec<(Sym, TreeVal)> = Vec::new();
    for (n, v, _) in t.statics {
        match v {
            TreeVal::Inherit(None, _, _) => plain.push(n.as_str()),
            TreeVal::Inherit(Some(i), _, _) => by_from[i].push(n.as_str()),
            v => rest.push((n, v)),
        }
    }
    plain.sort();
    if !plain.is_empty() {
        out.push_str("inherit");
        for n in &plain {
            out.push(' ');
            out.push_str(&super::quote::attr_name(n));
        }
        out.push_str("; ");
    }
    for (i, names) in by_from.iter_mut().enumerate() {
        names.sort();
        out.push_str("inherit (");
        show(&t.froms[i], out)?;
        out.push(')');
        for n in names.iter() {
            out.push(' ');
            out.push_str(&super::quote::attr_name(n));
        }
        out.push_str("; ");
    }
    rest.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    for (n, v) in rest {
        out.push_str(&super::quote::attr_name(n.as_str()));
        out.push_str(" = ");
        show_tree_val(v, out)?;
        out.push_str("; ");
    }
    for (name, _, v, _) in t.dynamics {
        out.push_str("\"${");
        show(&name, out)?;
        out.push_str("}\" = ");
        show_tree_val(v, out)?;
        out.push_str("; ");
    }
    Ok(())
}

fn show_tree_val(v: TreeVal, out: &mut String) -> Result<(), ParseError> {
    match v {
        TreeVal::Expr(e) => show(&e, out),
        TreeVal::Nested(t, rec) => {
            out.push_str(if rec { "rec { " } else { "{ " });
            show_tree(t, out)?;
            out.push('}');
            Ok(())
        }
        TreeVal::Inherit(..) => Ok(()),
    }
}

pub(crate) fn show_path(path: &[AttrName], out: &mut String) -> Result<(), ParseError> {
    for (i, a) in path.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        match a {
            AttrName::Static(s) => out.push_str(&super::quote::attr_name(s.as_str())),
            AttrName::Dynamic(e, _) => {
                out.push_str("\"${");
                show(e, out)?;
                out.push_str("}\"");
            }
        }
    }
    Ok(())
}

fn show(e: &Expr, out: &mut String) -> Result<(), ParseError> {
    match e {
        Expr::Int(i) => out.push_str(&i.to_string()),
        Expr::Float(f) => out.push_str(&super::quote::format_float(*f)),
        Expr::Str(parts, _) => match parts.as_slice() {
            [] => out.push_str("\"\""),
            [StrPart::Lit(s)] => show_str_lit(s, out),
            _ => {
                out.push('(');
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        out.push_str(" + ");
                    }
                    match p {
                        StrPart::Lit(s) => show_str_lit(s, out),
                        StrPart::Interp(e) => show(e, out)?,
                    }
                }
                out.push(')');
            }
        },
        Expr::Path(kind, parts, _) => {
            let lit = |i: usize, s: &str| {
                if i == 0 && *kind == PathKind::Home {
                    format!("~{s}")
                } else {
                    s.to_owned()
                }
            };
            if let [StrPart::Lit(s)] = parts.as_slice() {
                out.push_str(&lit(0, s));
            } else {
                out.push('(');
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        out.push_str(" + ");
                    }
                    match p {
                        StrPart::Lit(s) if i == 0 => out.push_str(&lit(0, s)),
                        StrPart::Lit(s) => show_str_lit(s, out),
                        StrPart::Interp(e) => show(e, out)?,
                    }
                }
                out.push(')');
            }
        }
        Expr::SearchPath(p, _) => {
            out.push_str("(__findFile __nixPath ");
            show_str_lit(p, out);
            out.push(')');
        }
        Expr::Uri(u, _) => show_str_lit(u, out),
        Expr::Var(n, _) => out.push_str(n.as_str()),
        Expr::Select(e, path, def, _) => {
            out.push('(');
            show(e, out)?;
            out.push_str(").");
            show_path(path, out)?;
            if let Some(d) = def {
                out.push_str(" or ");
                show(d, out)?;
            }
        }
        Expr::HasAttr(e, path, _) => {
            out.push_str("((");
            show(e, out)?;
            out.push_str(") ? ");
            show_path(path, out)?;
            out.push(')');
        }
        Expr::Attrs(rec, binds, _) => {
            let t = tree_of(binds)?;
            if t.statics.is_empty() && t.dynamics.is_empty() {
                out.push_str(if *rec { "rec { }" } else { "{ }" });
            } else {
                out.push_str(if *rec { "rec { " } else { "{ " });
                show_tree(t, out)?;
                out.push('}');
            }
        }
        Expr::List(items) => {
            out.push_str("[ ");
            for i in items {
                out.push('(');
                show(i, out)?;
                out.push_str(") ");
            }
            out.push(']');
        }
        Expr::Lambda(l) => {
            out.push('(');
            match &l.formals {
                Some(f) => {
                    let mut entries: Vec<&(Sym, Option<Expr>, Pos)> = f.entries.iter().collect();
                    entries.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
                    out.push_str("{ ");
                    for (i, (n, d, _)) in entries.iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        out.push_str(n.as_str());
                        if let Some(d) = d {
                            out.push_str(" ? ");
                            show(d, out)?;
                        }
                    }
                    if f.ellipsis {
                        out.push_str(if entries.is_empty() { "..." } else { ", ..." });
                    }
                    out.push_str(" }");
                    if let Some(a) = l.arg {
                        out.push('@');
                        out.push_str(a.as_str());
                    }
                }
                None => out.push_str(l.arg.map(|a| a.as_str()).unwrap_or("")),
            }
            out.push_str(": ");
            show(&l.body, out)?;
            out.push(')');
        }
        Expr::Call(f, args, _) => {
            out.push('(');
            show(f, out)?;
            for a in args {
                out.push(' ');
                show(a, out)?;
            }
            out.push(')');
        }
        Expr::Let(binds, body, _) => {
            out.push_str("(let ");
            show_tree(tree_of(binds)?, out)?;
            out.push_str("in ");
            show(body, out)?;
            out.push(')');
        }
        Expr::With(e, body, _) => {
            out.push_str("(with ");
            show(e, out)?;
            out.push_str("; ");
            show(body, out)?;
            out.push(')');
        }
        Expr::If(c, a, b, _) => {
            out.push_str("(if ");
            show(c, out)?;
            out.push_str(" then ");
            show(a, out)?;
            out.push_str(" else ");
            show(b, out)?;
            out.push(')');
        }
        Expr::Assert(c, body, _) => {
            out.push_str("assert ");
            show(c, out)?;
            out.push_str("; ");
            show(body, out)?;
        }
        Expr::Not(e, _) => {
            out.push_str("(! ");
            show(e, out)?;
            out.push(')');
        }
        Expr::Neg(e, _) => {
            out.push_str("(__sub 0 ");
            show(e, out)?;
            out.push(')');
        }
        Expr::Bin(op, a, b, ..) => {
            let call = |f: &str, x: &Expr, y: &Expr, out: &mut String| -> Result<(), ParseError> {
                out.push('(');
                out.push_str(f);
                out.push(' ');
                show(x, out)?;
                out.push(' ');
                show(y, out)?;
                out.push(')');
                Ok(())
            };
            match op {
                BinOp::Sub => call("__sub", a, b, out)?,
                BinOp::Mul => call("__mul", a, b, out)?,
                BinOp::Div => call("__div", a, b, out)?,
                BinOp::Lt => call("__lessThan", a, b, out)?,
                BinOp::Gt => call("__lessThan", b, a, out)?,
                BinOp::Le => {
                    out.push_str("(! ");
                    call("__lessThan", b, a, out)?;
                    out.push(')');
                }
                BinOp::Ge => {
                    out.push_str("(! ");
                    call("__lessThan", a, b, out)?;
                    out.push(')');
                }
                BinOp::PipeRight => call("", b, a, out)?,
                BinOp::PipeLeft => call("", a, b, out)?,
                _ => {
                    let o = match op {
                        BinOp::Eq => "==",
                        BinOp::Neq => "!=",
                        BinOp::And => "&&",
                        BinOp::Or => "||",
                        BinOp::Impl => "->",
                        BinOp::Update => "//",
                        BinOp::Add => "+",
                        _ => "++",
                    };
                    out.push('(');
                    show(a, out)?;
                    out.push(' ');
                    out.push_str(o);
                    out.push(' ');
                    show(b, out)?;
                    out.push(')');
                }
            }
        }
        Expr::CurPos(_) => out.push_str("__curPos"),
    }
    Ok(())
}
