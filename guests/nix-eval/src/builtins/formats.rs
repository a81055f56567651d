//! Data formats: `toJSON`, `fromJSON`, `fromTOML` and `toXML`, producing byte-identical
//! output to Nix's; the builtins and the `--json`/`--xml` output of the command line.

use std::fmt::Write;
use std::rc::Rc;

use super::{arg_err, err, s_of, str_ctx};
use crate::error::{Error, ErrorKind, Result};
use crate::eval::{Coercion, Evaluator};
use crate::source::{Pos, Sym};
use crate::value::*;

fn json_escape(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn json_float(f: f64) -> String {
    if !f.is_finite() {
        return "null".into();
    }
    serde_json::Number::from_f64(f)
        .map(|n| n.to_string())
        .unwrap_or_else(|| "null".into())
}

/// `builtins.toJSON`; string contexts are collected into `ctx`.
pub fn to_json(ev: &Evaluator, v: &Value, pos: Pos, ctx: &mut NixString) -> Result<String> {
    let mut out = String::new();
    to_json_rec(ev, v, pos, ctx, &mut out)?;
    Ok(out)
}

fn to_json_rec(
    ev: &Evaluator,
    v: &Value,
    pos: Pos,
    ctx: &mut NixString,
    out: &mut String,
) -> Result<()> {
    ev.nested(pos, || to_json_inner(ev, v, pos, ctx, out))
}

fn to_json_inner(
    ev: &Evaluator,
    v: &Value,
    pos: Pos,
    ctx: &mut NixString,
    out: &mut String,
) -> Result<()> {
    let v = ev.force(v)?;
    match &v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => out.push_str(&json_float(*f)),
        Value::Str(s) => {
            ctx.merge_ctx(s);
            json_escape(&s.s, out);
        }
        Value::Path(_) => {
            let s = ev.coerce_to_string(&v, pos, Coercion::INTERPOLATE)?;
            ctx.merge_ctx(&s);
            json_escape(&s.s, out);
        }
        Value::List(l) => {
            out.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                to_json_rec(ev, x, pos, ctx, out).map_err(|e| {
                    e.frame(pos, format!("while evaluating list element at index {i}"))
                })?;
            }
            out.push(']');
        }
        Value::Attrs(a) => {
            if let Some(f) = a.get_attr(ev.sym.to_string) {
                let r = ev
                    .call(&f.value, v.clone(), f.pos)
                    .map_err(|e| e.frame(f.pos, "while calling the `__toString` attribute"))?;
                let using = |e: Error| {
                    e.frame(
                        f.pos,
                        "while using the result of the `__toString` attribute",
                    )
                };
                let r = ev.force(&r).map_err(using)?;
                // A set that coerces (through `__toString` or `outPath`) is peeled again.
                if let Value::Attrs(ra) = &r
                    && (ra.get(ev.sym.to_string).is_some() || ra.get(ev.sym.out_path).is_some())
                {
                    let s = ev
                        .coerce_to_string(&r, pos, Coercion::INTERPOLATE)
                        .map_err(using)?;
                    ctx.merge_ctx(&s);
                    json_escape(&s.s, out);
                    return Ok(());
                }
                let Value::Str(s) = &r else {
                    let how = if matches!(r, Value::Attrs(_)) {
                        "must"
                    } else {
                        "should"
                    };
                    return Err(using(Error::new(
                        ErrorKind::Eval,
                        format!(
                            "`__toString` {how} return a string, but got {}: {}",
                            r.type_desc(),
                            ev.show_value(&r)
                        ),
                        f.pos,
                    )));
                };
                ctx.merge_ctx(s);
                json_escape(&s.s, out);
                return Ok(());
            }
            if let Some(o) = a.get_attr(ev.sym.out_path) {
                return to_json_rec(ev, &o.value, pos, ctx, out)
                    .map_err(|e| e.frame(o.pos, "while using the `outPath` attribute"));
            }
            out.push('{');
            for (i, at) in a.sorted_by_name().iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_escape(at.name.as_str(), out);
                out.push(':');
                to_json_rec(ev, &at.value, at.pos, ctx, out).map_err(|e| {
                    e.frame(at.pos, format!("while evaluating attribute '{}'", at.name))
                })?;
            }
            out.push('}');
        }
        _ => {
            return Err(Error::new(
                ErrorKind::Eval,
                format!("cannot convert {} to JSON", v.type_desc()),
                pos,
            ));
        }
    }
    Ok(())
}

/// `builtins.fromJSON`.
pub fn from_json(s: &str) -> std::result::Result<Value, String> {
    let j: serde_json::Value = serde_json::from_str(s).map_err(|e| e.to_string())?;
    json_to_value(&j)
}

fn json_to_value(j: &serde_json::Value) -> std::result::Result<Value, String> {
    Ok(match j {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Int(i)
            } else if let Some(u) = n.as_u64() {
                return Err(format!(
                    "unsigned json number {u} outside of Nix integer range"
                ));
            } else {
                Value::Float(n.as_f64().unwrap_or(0.0))
            }
        }
        serde_json::Value::String(s) => Value::str(no_nul(s)?),
        serde_json::Value::Array(a) => Value::list(
            a.iter()
                .map(json_to_value)
                .collect::<std::result::Result<_, _>>()?,
        ),
        serde_json::Value::Object(o) => {
            let mut entries = Vec::with_capacity(o.len());
            for (k, v) in o {
                entries.push(Attr {
                    name: Sym::new(&no_nul(k)?),
                    value: json_to_value(v)?,
                    pos: Pos::NONE,
                });
            }
            Value::attrs(entries)
        }
    })
}

fn no_nul(s: &str) -> std::result::Result<String, String> {
    if s.contains('\0') {
        return Err(format!(
            "input string '{}' cannot be represented as Nix string because it contains null bytes",
            s.replace('\0', "␀")
        ));
    }
    Ok(s.to_owned())
}

/// `builtins.fromTOML`.
pub fn from_toml(s: &str, timestamps: bool) -> std::result::Result<Value, String> {
    let t: toml::Table = s
        .parse()
        .map_err(|e: toml::de::Error| e.message().to_owned())?;
    table_to_value(&t, timestamps)
}

fn table_to_value(t: &toml::Table, ts: bool) -> std::result::Result<Value, String> {
    let mut entries = Vec::with_capacity(t.len());
    for (k, v) in t {
        entries.push(Attr {
            name: Sym::new(&no_nul(k).map_err(|e| format!("error: {e}"))?),
            value: toml_to_value(v, ts)?,
            pos: Pos::NONE,
        });
    }
    Ok(Value::attrs(entries))
}

fn toml_to_value(v: &toml::Value, ts: bool) -> std::result::Result<Value, String> {
    Ok(match v {
        toml::Value::String(s) => {
            if s.contains('\0') {
                return Err(format!(
                    "error: input string '{}' cannot be represented as Nix string because it contains null bytes",
                    s.replace('\0', "␀")
                ));
            }
            Value::str(s.clone())
        }
        toml::Value::Integer(i) => Value::Int(*i),
        toml::Value::Float(f) => Value::Float(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => {
            if !ts {
                return Err("Dates and times are not supported".into());
            }
            let mut b = AttrsBuilder::default();
            b.add("_type", Value::str("timestamp"));
            b.add("value", Value::str(pad_fraction(&d.to_string())));
            b.build()
        }
        toml::Value::Array(a) => Value::list(
            a.iter()
                .map(|x| toml_to_value(x, ts))
                .collect::<std::result::Result<_, _>>()?,
        ),
        toml::Value::Table(t) => table_to_value(t, ts)?,
    })
}

/// Pads fractional seconds to milli/micro/nanoseconds, as Nix's TOML library prints them.
fn pad_fraction(s: &str) -> String {
    let Some(dot) = s.find('.') else {
        return s.to_owned();
    };
    let digits = s[dot + 1..].bytes().take_while(u8::is_ascii_digit).count();
    let want = digits.div_ceil(3) * 3;
    let mut out = s[..dot + 1 + digits].to_owned();
    out.extend(std::iter::repeat_n('0', want - digits));
    out.push_str(&s[dot + 1 + digits..]);
    out
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            '\t' => out.push_str("&#x9;"),
            c => out.push(c),
        }
    }
    out
}

struct Xml {
    out: String,
    depth: usize,
    location: bool,
}

impl Xml {
    fn attrs_str(attrs: &[(&str, String)]) -> String {
        let mut sorted: Vec<&(&str, String)> = attrs.iter().collect();
        sorted.sort_by_key(|a| a.0);
        let mut s = String::new();
        for (k, v) in sorted {
            let _ = write!(s, " {k}=\"{}\"", xml_escape(v));
        }
        s
    }
    fn open(&mut self, name: &str, attrs: &[(&str, String)]) {
        let _ = writeln!(
            self.out,
            "{}<{name}{}>",
            "  ".repeat(self.depth),
            Self::attrs_str(attrs)
        );
        self.depth += 1;
    }
    fn close(&mut self, name: &str) {
        self.depth -= 1;
        let _ = writeln!(self.out, "{}</{name}>", "  ".repeat(self.depth));
    }
    fn empty(&mut self, name: &str, attrs: &[(&str, String)]) {
        let _ = writeln!(
            self.out,
            "{}<{name}{} />",
            "  ".repeat(self.depth),
            Self::attrs_str(attrs)
        );
    }
}

/// `builtins.toXML` (and `--xml`; `location` adds source positions).
pub fn to_xml(ev: &Evaluator, v: &Value, pos: Pos, ctx: &mut NixString) -> Result<String> {
    to_xml_opts(ev, v, pos, ctx, false)
}

/// XML rendering with optional locations.
pub fn to_xml_opts(
    ev: &Evaluator,
    v: &Value,
    pos: Pos,
    ctx: &mut NixString,
    location: bool,
) -> Result<String> {
    let mut x = Xml {
        out: String::from("<?xml version='1.0' encoding='utf-8'?>\n"),
        depth: 0,
        location,
    };
    x.open("expr", &[]);
    let mut drvs = std::collections::HashSet::new();
    xml_rec(ev, v, pos, ctx, &mut x, &mut drvs)?;
    x.close("expr");
    Ok(x.out)
}

fn loc_attrs(p: Pos, x: &Xml) -> Vec<(&'static str, String)> {
    if !x.location {
        return Vec::new();
    }
    match p.resolve() {
        Some(l) => vec![
            ("path", l.origin.to_string()),
            ("line", l.line.to_string()),
            ("column", l.column.to_string()),
        ],
        None => Vec::new(),
    }
}

fn xml_rec(
    ev: &Evaluator,
    v: &Value,
    pos: Pos,
    ctx: &mut NixString,
    x: &mut Xml,
    drvs: &mut std::collections::HashSet<String>,
) -> Result<()> {
    // Every level counts toward max-call-depth: a cyclic value would otherwise nest until
    // memory runs out (each line's indentation grows with the depth).
    ev.nested(pos, || xml_value(ev, v, pos, ctx, x, drvs))
}

fn xml_value(
    ev: &Evaluator,
    v: &Value,
    pos: Pos,
    ctx: &mut NixString,
    x: &mut Xml,
    drvs: &mut std::collections::HashSet<String>,
) -> Result<()> {
    let v = ev.force(v)?;
    match &v {
        Value::Str(s) => {
            ctx.merge_ctx(s);
            x.empty("string", &[("value", s.s.clone())]);
        }
        Value::Int(i) => x.empty("int", &[("value", i.to_string())]),
        Value::Bool(b) => x.empty("bool", &[("value", b.to_string())]),
        Value::Null => x.empty("null", &[]),
        Value::Float(f) => x.empty(
            "float",
            &[("value", crate::syntax::quote::format_float(*f))],
        ),
        Value::Path(p) => x.empty("path", &[("value", p.s.clone())]),
        Value::List(l) => {
            if l.is_empty() {
                x.empty("list", &[]);
            } else {
                x.open("list", &[]);
                for e in l.iter() {
                    xml_rec(ev, e, pos, ctx, x, drvs)?;
                }
                x.close("list");
            }
        }
        Value::Attrs(a) => {
            if ev.is_derivation(a)? {
                let mut attrs = Vec::new();
                let mut drv_path = None;
                if let Some(dp) = a.get(Sym::new("drvPath")) {
                    let s = ev.expect_string(dp, pos)?;
                    ctx.merge_ctx(&s);
                    drv_path = Some(s.s.clone());
                    attrs.push(("drvPath", s.s.clone()));
                }
                if let Some(op) = a.get(ev.sym.out_path) {
                    let s = ev.expect_string(op, pos)?;
                    ctx.merge_ctx(&s);
                    attrs.push(("outPath", s.s.clone()));
                }
                x.open("derivation", &attrs);
                let fresh = match &drv_path {
                    Some(p) => drvs.insert(p.clone()),
                    None => true,
                };
                if fresh {
                    xml_attrs(ev, a, pos, ctx, x, drvs)?;
                } else {
                    x.empty("repeated", &[]);
                }
                x.close("derivation");
            } else if a.entries.is_empty() {
                x.empty("attrs", &[]);
            } else {
                x.open("attrs", &[]);
                xml_attrs(ev, a, pos, ctx, x, drvs)?;
                x.close("attrs");
            }
        }
        Value::Lambda(c) => {
            let l = &c.lambda;
            let fattrs = loc_attrs(l.pos, x);
            x.open("function", &fattrs);
            match &l.formals {
                Some(f) => {
                    let mut attrs = Vec::new();
                    if l.ellipsis {
                        attrs.push(("ellipsis", "1".to_owned()));
                    }
                    if let Some(n) = l.arg {
                        attrs.push(("name", n.as_str().to_owned()));
                    }
                    x.open("attrspat", &attrs);
                    let mut names: Vec<&str> = f.iter().map(|(n, _, _)| n.as_str()).collect();
                    names.sort();
                    for n in names {
                        x.empty("attr", &[("name", n.to_owned())]);
                    }
                    x.close("attrspat");
                }
                None => x.empty(
                    "varpat",
                    &[("name", l.arg.map(|s| s.as_str()).unwrap_or("").to_owned())],
                ),
            }
            x.close("function");
        }
        Value::PrimOp(_) | Value::PrimOpApp(_) | Value::Thunk(_) => x.empty("unevaluated", &[]),
    }
    Ok(())
}

fn xml_attrs(
    ev: &Evaluator,
    a: &Rc<Attrs>,
    pos: Pos,
    ctx: &mut NixString,
    x: &mut Xml,
    drvs: &mut std::collections::HashSet<String>,
) -> Result<()> {
    for at in a.sorted_by_name() {
        let mut attrs = loc_attrs(at.pos, x);
        attrs.push(("name", at.name.as_str().to_owned()));
        x.open("attr", &attrs);
        xml_rec(ev, &at.value, pos, ctx, x, drvs)?;
        x.close("attr");
    }
    Ok(())
}

pub(super) fn b_to_json(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let mut ctx = NixString::default();
    let s = to_json(ev, &a[0], pos, &mut ctx)?;
    Ok(str_ctx(s, ctx.ctx))
}
pub(super) fn b_from_json(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let s = s_of(ev, &a[0], pos).map_err(arg_err("first", "fromJSON"))?;
    from_json(&s.s).map_err(|e| err(e, pos))
}
pub(super) fn b_from_toml(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let s = s_of(ev, &a[0], pos).map_err(arg_err("first", "fromTOML"))?;
    let ts = ev
        .opts
        .experimental
        .iter()
        .any(|f| f == "parse-toml-timestamps");
    from_toml(&s.s, ts).map_err(|e| err(format!("while parsing TOML: {e}"), pos))
}
pub(super) fn b_to_xml(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let mut ctx = NixString::default();
    let s = to_xml(ev, &a[0], pos, &mut ctx)?;
    Ok(str_ctx(s, ctx.ctx))
}
