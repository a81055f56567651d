//! The built-in functions and constants (`builtins.*` and the global names).
//!
//! Each builtin gets its arguments unforced and forces what it needs, so laziness matches
//! Nix (e.g. `map` returns a list of lazy applications). The string-format builtins
//! (`toJSON`, `fromJSON`, `fromTOML`, `toXML`) live in `formats`, the regex translation in
//! `regex`.

#![allow(clippy::box_collection)] // contexts are boxed to keep `NixString` small

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::rc::Rc;

use crate::eval::{Error, ErrorKind, Evaluator, Result, parent_dir};
use crate::source::{Pos, Sym};
use crate::value::*;

fn err(msg: impl Into<String>, pos: Pos) -> Error {
    Error::new(ErrorKind::Eval, msg, pos)
}

macro_rules! primops {
    ($($name:literal $arity:literal $f:ident),* $(,)?) => {
        static PRIMOPS: &[PrimOp] = &[$(PrimOp { name: $name, arity: $arity, f: $f }),*];
    };
}

primops! {
    "abort" 1 b_abort, "add" 2 b_add, "addErrorContext" 2 b_add_error_context, "all" 2 b_all,
    "any" 2 b_any, "appendContext" 2 b_append_context, "attrNames" 1 b_attr_names,
    "attrValues" 1 b_attr_values, "baseNameOf" 1 b_base_name_of, "bitAnd" 2 b_bit_and,
    "bitOr" 2 b_bit_or, "bitXor" 2 b_bit_xor, "break" 1 b_break, "catAttrs" 2 b_cat_attrs,
    "ceil" 1 b_ceil, "compareVersions" 2 b_compare_versions, "concatLists" 1 b_concat_lists,
    "concatMap" 2 b_concat_map, "concatStringsSep" 2 b_concat_strings_sep,
    "deepSeq" 2 b_deep_seq, "dirOf" 1 b_dir_of, "div" 2 b_div, "elem" 2 b_elem,
    "elemAt" 2 b_elem_at, "filter" 2 b_filter, "findFile" 2 b_find_file, "floor" 1 b_floor,
    "foldl'" 3 b_foldl, "fromJSON" 1 b_from_json, "fromTOML" 1 b_from_toml,
    "functionArgs" 1 b_function_args, "genList" 2 b_gen_list,
    "genericClosure" 1 b_generic_closure, "getAttr" 2 b_get_attr, "getContext" 1 b_get_context,
    "getEnv" 1 b_get_env, "groupBy" 2 b_group_by, "hasAttr" 2 b_has_attr,
    "hasContext" 1 b_has_context, "hashFile" 2 b_hash_file, "hashString" 2 b_hash_string,
    "head" 1 b_head, "import" 1 b_import, "intersectAttrs" 2 b_intersect_attrs,
    "isAttrs" 1 b_is_attrs, "isBool" 1 b_is_bool, "isFloat" 1 b_is_float,
    "isFunction" 1 b_is_function, "isInt" 1 b_is_int, "isList" 1 b_is_list,
    "isNull" 1 b_is_null, "isPath" 1 b_is_path, "isString" 1 b_is_string,
    "length" 1 b_length, "lessThan" 2 b_less_than, "listToAttrs" 1 b_list_to_attrs,
    "map" 2 b_map, "mapAttrs" 2 b_map_attrs, "match" 2 b_match, "mul" 2 b_mul,
    "parseDrvName" 1 b_parse_drv_name, "partition" 2 b_partition, "pathExists" 1 b_path_exists,
    "readDir" 1 b_read_dir, "readFile" 1 b_read_file, "readFileType" 1 b_read_file_type,
    "removeAttrs" 2 b_remove_attrs, "replaceStrings" 3 b_replace_strings,
    "scopedImport" 2 b_scoped_import, "seq" 2 b_seq, "sort" 2 b_sort, "split" 2 b_split,
    "splitVersion" 1 b_split_version, "stringLength" 1 b_string_length, "sub" 2 b_sub,
    "substring" 3 b_substring, "tail" 1 b_tail, "throw" 1 b_throw, "toJSON" 1 b_to_json,
    "toPath" 1 b_to_path, "toString" 1 b_to_string, "toXML" 1 b_to_xml, "trace" 2 b_trace,
    "traceVerbose" 2 b_trace_verbose, "tryEval" 1 b_try_eval, "typeOf" 1 b_type_of,
    "unsafeDiscardOutputDependency" 1 b_discard_output_dep,
    "unsafeDiscardStringContext" 1 b_discard_context, "unsafeGetAttrPos" 2 b_unsafe_get_attr_pos,
    "warn" 2 b_warn, "zipAttrsWith" 2 b_zip_attrs_with, "convertHash" 1 b_convert_hash,
    "addDrvOutputDependencies" 1 b_add_drv_output_deps, "toFile" 2 b_to_file,
    "placeholder" 1 b_placeholder, "storePath" 1 b_store_path, "path" 1 b_path,
    "filterSource" 2 b_filter_source, "derivationStrict" 1 b_derivation_strict,
    "derivation" 1 b_derivation, "fetchurl" 1 b_fetch, "fetchTarball" 1 b_fetch,
    "fetchGit" 1 b_fetch, "fetchMercurial" 1 b_fetch, "fetchTree" 1 b_fetch,
    "getFlake" 1 b_fetch,
}

/// Names available without the `__` prefix at top level.
const GLOBALS: &[&str] = &[
    "abort",
    "baseNameOf",
    "break",
    "derivation",
    "derivationStrict",
    "dirOf",
    "fetchGit",
    "fetchMercurial",
    "fetchTarball",
    "fetchTree",
    "fromTOML",
    "import",
    "isNull",
    "map",
    "placeholder",
    "removeAttrs",
    "scopedImport",
    "throw",
    "toString",
];

/// Installs the base environment into a fresh evaluator.
pub fn install(ev: &mut Evaluator) {
    let mut names: Vec<Sym> = Vec::new();
    let mut slots: Vec<Value> = Vec::new();
    let mut battrs: Vec<Attr> = Vec::new();
    let mut add_b = |name: &'static str, v: Value| {
        battrs.push(Attr {
            name: Sym::from_static(name),
            value: v,
            pos: Pos::NONE,
        })
    };
    for op in PRIMOPS {
        add_b(op.name, Value::PrimOp(op));
    }
    add_b("true", Value::Bool(true));
    add_b("false", Value::Bool(false));
    add_b("null", Value::Null);
    add_b("currentSystem", Value::str(ev.opts.system.clone()));
    add_b("currentTime", Value::Int(ev.opts.current_time));
    add_b("nixVersion", Value::str("2.8.0"));
    add_b("langVersion", Value::Int(6));
    add_b("storeDir", Value::str(ev.opts.store_dir.clone()));
    let nix_path: Vec<Value> = ev
        .opts
        .search_path
        .iter()
        .map(|(p, d)| {
            let mut b = AttrsBuilder::default();
            b.add("prefix", Value::str(p.clone().unwrap_or_default()));
            b.add("path", Value::str(d.clone()));
            b.build()
        })
        .collect();
    add_b("nixPath", Value::list(nix_path));
    // builtins.builtins refers back to the base frame's slot 0.
    let self_ref = Value::pending(
        Rc::new(crate::compile::Ir::Var(0, 0, Pos::NONE)),
        ev.base_env.clone(),
    );
    add_b("builtins", self_ref);
    let builtins = Value::attrs(battrs);
    let Value::Attrs(ba) = &builtins else {
        unreachable!()
    };
    names.push(Sym::from_static("builtins"));
    slots.push(builtins.clone());
    for n in ["true", "false", "null"]
        .into_iter()
        .chain(GLOBALS.iter().copied())
    {
        let name = Sym::from_static(n);
        names.push(name);
        slots.push(ba.get(name).expect("a builtin").clone());
    }
    for a in &ba.entries {
        if a.name.as_str() == "builtins" {
            continue;
        }
        names.push(Sym::underscored(a.name.as_str()));
        slots.push(a.value.clone());
    }
    *ev.base_env.slots.borrow_mut() = slots.into_iter().collect();
    ev.base_scope = crate::compile::BaseScope(names);
    *ev.builtins.borrow_mut() = Some(builtins);
}

// ------------------------------------------------------------------ helpers

fn s_of(ev: &Evaluator, v: &Value, pos: Pos) -> Result<Rc<NixString>> {
    ev.expect_string(v, pos)
}

/// Where a value was defined, for the values that know it (functions).
fn value_pos(v: &Value) -> Pos {
    match v {
        Value::Lambda(c) => c.lambda.pos,
        _ => Pos::NONE,
    }
}

fn bool_v(b: bool) -> Result<Value> {
    Ok(Value::Bool(b))
}

fn str_ctx(s: String, ctx: Option<Box<std::collections::BTreeSet<String>>>) -> Value {
    Value::Str(Rc::new(NixString { s, ctx }))
}

/// The trace frame Nix adds to an error in a builtin's argument: "while evaluating the NTH
/// argument passed to builtins.NAME" (for `.map_err`).
fn arg_err(nth: &'static str, builtin: &'static str) -> impl FnOnce(Error) -> Error {
    move |e| {
        e.frame(
            Pos::NONE,
            format!("while evaluating the {nth} argument passed to builtins.{builtin}"),
        )
    }
}

// ------------------------------------------------------------------ control

fn b_abort(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let s = ev
        .coerce_to_string(&a[0], pos, false, false)
        .map_err(arg_err("first", "abort"))?;
    Err(Error::new(
        ErrorKind::Abort,
        format!(
            "evaluation aborted with the following error message: '{}'",
            s.s
        ),
        pos,
    ))
}

fn b_throw(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let s = ev
        .coerce_to_string(&a[0], pos, false, false)
        .map_err(arg_err("first", "throw"))?;
    Err(Error::new(ErrorKind::Throw, s.s, pos))
}

fn b_add_error_context(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    match ev.force(&a[1]) {
        Ok(v) => Ok(v),
        Err(e) => {
            let ctx = ev
                .coerce_to_string(&a[0], pos, false, false)
                .map_err(arg_err("first", "addErrorContext"))?;
            Err(e.frame(Pos::NONE, ctx.s))
        }
    }
}

fn b_break(ev: &Evaluator, a: &[Value], _pos: Pos) -> Result<Value> {
    ev.force(&a[0])
}

fn b_seq(ev: &Evaluator, a: &[Value], _pos: Pos) -> Result<Value> {
    ev.force(&a[0])?;
    ev.force(&a[1])
}

fn b_deep_seq(ev: &Evaluator, a: &[Value], _pos: Pos) -> Result<Value> {
    ev.force_deep(&a[0])?;
    ev.force(&a[1])
}

fn b_trace(ev: &Evaluator, a: &[Value], _pos: Pos) -> Result<Value> {
    let v = ev.force(&a[0])?;
    let msg = match &v {
        Value::Str(s) => s.s.clone(),
        v => crate::print::print_value(v),
    };
    ev.diag(&format!("trace: {msg}"));
    ev.force(&a[1])
}

fn b_trace_verbose(ev: &Evaluator, a: &[Value], _pos: Pos) -> Result<Value> {
    ev.force(&a[1])
}

fn b_warn(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let s = s_of(ev, &a[0], pos).map_err(arg_err("first", "warn"))?;
    if s.s.starts_with('\n') {
        ev.diag(&format!("evaluation warning:{}", s.s));
    } else {
        ev.diag(&format!(
            "evaluation warning: {}",
            s.s.replace('\n', "\n                    ")
        ));
    }
    ev.force(&a[1])
}

fn b_try_eval(ev: &Evaluator, a: &[Value], _pos: Pos) -> Result<Value> {
    let mut b = AttrsBuilder::default();
    match ev.force(&a[0]) {
        Ok(v) => {
            b.add("success", Value::Bool(true));
            b.add("value", v);
        }
        Err(e) if matches!(e.kind(), ErrorKind::Throw | ErrorKind::Assert) => {
            b.add("success", Value::Bool(false));
            b.add("value", Value::Bool(false));
        }
        Err(e) => return Err(e),
    }
    Ok(b.build())
}

// ------------------------------------------------------------------ types

fn b_type_of(ev: &Evaluator, a: &[Value], _pos: Pos) -> Result<Value> {
    Ok(Value::str(ev.force(&a[0])?.type_name()))
}
fn b_is_attrs(ev: &Evaluator, a: &[Value], _p: Pos) -> Result<Value> {
    bool_v(matches!(ev.force(&a[0])?, Value::Attrs(_)))
}
fn b_is_bool(ev: &Evaluator, a: &[Value], _p: Pos) -> Result<Value> {
    bool_v(matches!(ev.force(&a[0])?, Value::Bool(_)))
}
fn b_is_float(ev: &Evaluator, a: &[Value], _p: Pos) -> Result<Value> {
    bool_v(matches!(ev.force(&a[0])?, Value::Float(_)))
}
fn b_is_function(ev: &Evaluator, a: &[Value], _p: Pos) -> Result<Value> {
    bool_v(ev.force(&a[0])?.is_function())
}
fn b_is_int(ev: &Evaluator, a: &[Value], _p: Pos) -> Result<Value> {
    bool_v(matches!(ev.force(&a[0])?, Value::Int(_)))
}
fn b_is_list(ev: &Evaluator, a: &[Value], _p: Pos) -> Result<Value> {
    bool_v(matches!(ev.force(&a[0])?, Value::List(_)))
}
fn b_is_null(ev: &Evaluator, a: &[Value], _p: Pos) -> Result<Value> {
    bool_v(matches!(ev.force(&a[0])?, Value::Null))
}
fn b_is_path(ev: &Evaluator, a: &[Value], _p: Pos) -> Result<Value> {
    bool_v(matches!(ev.force(&a[0])?, Value::Path(_)))
}
fn b_is_string(ev: &Evaluator, a: &[Value], _p: Pos) -> Result<Value> {
    bool_v(matches!(ev.force(&a[0])?, Value::Str(_)))
}

// ------------------------------------------------------------------ arithmetic

/// `builtins.add` & co.: forces both operands with Nix's frames, then does the arithmetic.
pub(crate) fn arith_builtin(
    ev: &Evaluator,
    a: &[Value],
    pos: Pos,
    op: crate::ast::BinOp,
) -> Result<Value> {
    let (first, second) = match op {
        crate::ast::BinOp::Add => (
            "first argument of the addition",
            "second argument of the addition",
        ),
        crate::ast::BinOp::Sub => (
            "first argument of the subtraction",
            "second argument of the subtraction",
        ),
        crate::ast::BinOp::Mul => (
            "first argument of the multiplication",
            "second argument of the multiplication",
        ),
        _ => (
            "first operand of the division",
            "second operand of the division",
        ),
    };
    let num = |v: &Value| matches!(v, Value::Int(_) | Value::Float(_));
    if op == crate::ast::BinOp::Div {
        // Nix checks the divisor first.
        let y = ev.force(&a[1])?;
        if !num(&y) {
            return Err(ev
                .type_err(&y, "a float", Pos::NONE)
                .frame(Pos::NONE, format!("while evaluating the {second}")));
        }
        if matches!(y, Value::Int(0)) || matches!(y, Value::Float(f) if f == 0.0) {
            return Err(err("division by zero", Pos::NONE));
        }
    }
    let x = ev.force(&a[0])?;
    if !num(&x) {
        return Err(ev
            .type_err(&x, "an integer", Pos::NONE)
            .frame(Pos::NONE, format!("while evaluating the {first}")));
    }
    let y = ev.force(&a[1])?;
    if !num(&y) {
        let want = if matches!(x, Value::Float(_)) || op == crate::ast::BinOp::Div {
            "a float"
        } else {
            "an integer"
        };
        let want = if op == crate::ast::BinOp::Div && matches!(x, Value::Int(_)) {
            "a float"
        } else {
            want
        };
        return Err(ev
            .type_err(&y, want, Pos::NONE)
            .frame(Pos::NONE, format!("while evaluating the {second}")));
    }
    ev.arith(op, &x, &y, pos)
}
fn b_add(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    arith_builtin(ev, a, pos, crate::ast::BinOp::Add)
}
fn b_sub(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    arith_builtin(ev, a, pos, crate::ast::BinOp::Sub)
}
fn b_mul(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    arith_builtin(ev, a, pos, crate::ast::BinOp::Mul)
}
fn b_div(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    arith_builtin(ev, a, pos, crate::ast::BinOp::Div)
}
fn b_bit_and(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    Ok(Value::Int(
        ev.expect_int(&a[0], pos)
            .map_err(arg_err("first", "bitAnd"))?
            & ev.expect_int(&a[1], pos)
                .map_err(arg_err("second", "bitAnd"))?,
    ))
}
fn b_bit_or(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    Ok(Value::Int(
        ev.expect_int(&a[0], pos)
            .map_err(arg_err("first", "bitOr"))?
            | ev.expect_int(&a[1], pos)
                .map_err(arg_err("second", "bitOr"))?,
    ))
}
fn b_bit_xor(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    Ok(Value::Int(
        ev.expect_int(&a[0], pos)
            .map_err(arg_err("first", "bitXor"))?
            ^ ev.expect_int(&a[1], pos)
                .map_err(arg_err("second", "bitXor"))?,
    ))
}
fn b_less_than(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    bool_v(ev.less_than(&a[0], &a[1], pos)?)
}
fn round_common(ev: &Evaluator, v: &Value, pos: Pos, f: fn(f64) -> f64) -> Result<Value> {
    match ev.force(v)? {
        Value::Int(i) => Ok(Value::Int(i)),
        Value::Float(x) => {
            let r = f(x);
            if !(-9.223372036854776e18..9.223372036854776e18).contains(&r) {
                return Err(err(
                    format!(
                        "float {} does not fit in an integer",
                        crate::print::format_float(x)
                    ),
                    pos,
                ));
            }
            Ok(Value::Int(r as i64))
        }
        v => Err(ev.type_err(&v, "a float", pos)),
    }
}
fn b_ceil(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    round_common(ev, &a[0], pos, f64::ceil).map_err(arg_err("first", "ceil"))
}
fn b_floor(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    round_common(ev, &a[0], pos, f64::floor).map_err(arg_err("first", "floor"))
}

// ------------------------------------------------------------------ attrs

fn b_attr_names(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let at = ev.force_attrs(&a[0], pos).map_err(|e| {
        e.frame(
            Pos::NONE,
            "while evaluating the argument passed to builtins.attrNames",
        )
    })?;
    Ok(Value::list(
        at.sorted_by_name()
            .iter()
            .map(|x| Value::str(x.name.as_str()))
            .collect(),
    ))
}
fn b_attr_values(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let at = ev.force_attrs(&a[0], pos).map_err(|e| {
        e.frame(
            Pos::NONE,
            "while evaluating the argument passed to builtins.attrValues",
        )
    })?;
    Ok(Value::list(
        at.sorted_by_name()
            .iter()
            .map(|x| x.value.clone())
            .collect(),
    ))
}
fn b_get_attr(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let n = s_of(ev, &a[0], pos).map_err(arg_err("first", "getAttr"))?;
    let at = ev
        .force_attrs(&a[1], pos)
        .map_err(arg_err("second", "getAttr"))?;
    let name = Sym::new(&n.s);
    match at.get(name) {
        Some(v) => ev.force(v),
        None => Err(ev
            .missing_attr(name, &at, Pos::NONE)
            .frame(Pos::NONE, "in the attribute set under consideration")),
    }
}
fn b_has_attr(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let n = s_of(ev, &a[0], pos).map_err(arg_err("first", "hasAttr"))?;
    let at = ev
        .force_attrs(&a[1], pos)
        .map_err(arg_err("second", "hasAttr"))?;
    bool_v(at.get(Sym::new(&n.s)).is_some())
}
fn b_unsafe_get_attr_pos(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let n = s_of(ev, &a[0], pos).map_err(arg_err("first", "unsafeGetAttrPos"))?;
    let at = ev
        .force_attrs(&a[1], pos)
        .map_err(arg_err("second", "unsafeGetAttrPos"))?;
    match at.get_attr(Sym::new(&n.s)).and_then(|x| x.pos.resolve()) {
        Some(l) => {
            let mut b = AttrsBuilder::default();
            b.add("file", Value::str(l.origin.to_string()));
            b.add("line", Value::Int(l.line as i64));
            b.add("column", Value::Int(l.column as i64));
            Ok(b.build())
        }
        None => Ok(Value::Null),
    }
}
fn b_remove_attrs(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let at = ev
        .force_attrs(&a[0], pos)
        .map_err(arg_err("first", "removeAttrs"))?;
    let names = ev
        .force_list(&a[1], pos)
        .map_err(arg_err("second", "removeAttrs"))?;
    let mut rm = HashSet::new();
    for n in names.iter() {
        rm.insert(Sym::new(&s_of(ev, n, pos)?.s));
    }
    Ok(Value::Attrs(Rc::new(Attrs {
        entries: at
            .entries
            .iter()
            .filter(|x| !rm.contains(&x.name))
            .cloned()
            .collect(),
    })))
}
fn b_intersect_attrs(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let x = ev
        .force_attrs(&a[0], pos)
        .map_err(arg_err("first", "intersectAttrs"))?;
    let y = ev
        .force_attrs(&a[1], pos)
        .map_err(arg_err("second", "intersectAttrs"))?;
    Ok(Value::Attrs(Rc::new(Attrs {
        entries: y
            .entries
            .iter()
            .filter(|e| x.get(e.name).is_some())
            .cloned()
            .collect(),
    })))
}
fn b_cat_attrs(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let n = Sym::new(
        &s_of(ev, &a[0], pos)
            .map_err(arg_err("first", "catAttrs"))?
            .s,
    );
    let l = ev
        .force_list(&a[1], pos)
        .map_err(arg_err("second", "catAttrs"))?;
    let mut out = Vec::new();
    for x in l.iter() {
        if let Some(v) = ev.force_attrs(x, pos).map_err(|e| e.frame(Pos::NONE, "while evaluating an element in the list passed as second argument to builtins.catAttrs"))?.get(n) {
            out.push(v.clone());
        }
    }
    Ok(Value::list(out))
}
fn b_list_to_attrs(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let l = ev.force_list(&a[0], pos).map_err(|e| {
        e.frame(
            Pos::NONE,
            "while evaluating the argument passed to builtins.listToAttrs",
        )
    })?;
    let mut entries: Vec<Attr> = Vec::with_capacity(l.len());
    let mut seen = HashSet::new();
    for x in l.iter() {
        let at = ev.force_attrs(x, pos).map_err(|e| {
            e.frame(
                Pos::NONE,
                "while evaluating an element of the list passed to builtins.listToAttrs",
            )
        })?;
        let nv = at.get(ev.sym.name).ok_or_else(|| {
            err("attribute 'name' missing", Pos::NONE)
                .frame(Pos::NONE, "in a {name=...; value=...;} pair")
        })?;
        let name_pos = at.get_attr(ev.sym.name).map_or(Pos::NONE, |a| a.pos);
        let n = Sym::new(
            &s_of(ev, nv, name_pos)
                .map_err(|e| {
                    e.frame(
                        name_pos,
                        "while evaluating the `name` attribute of an element of the list passed to builtins.listToAttrs",
                    )
                })?
                .s,
        );
        let v = at.get(ev.sym.value).ok_or_else(|| {
            err("attribute 'value' missing", Pos::NONE)
                .frame(Pos::NONE, "in a {name=...; value=...;} pair")
        })?;
        if seen.insert(n) {
            let p = at.get_attr(ev.sym.name).map(|a| a.pos).unwrap_or(Pos::NONE);
            entries.push(Attr {
                name: n,
                value: v.clone(),
                pos: p,
            });
        }
    }
    entries.sort_by_key(|e| e.name);
    Ok(Value::Attrs(Rc::new(Attrs { entries })))
}
fn b_map_attrs(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let at = ev
        .force_attrs(&a[1], pos)
        .map_err(arg_err("second", "mapAttrs"))?;
    let f = a[0].clone();
    Ok(Value::Attrs(Rc::new(Attrs {
        entries: at
            .entries
            .iter()
            .map(|e| Attr {
                name: e.name,
                value: Value::apply(
                    Value::apply(f.clone(), Value::str(e.name.as_str())),
                    e.value.clone(),
                ),
                pos: e.pos,
            })
            .collect(),
    })))
}
fn b_zip_attrs_with(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    ev.expect_function(&a[0], pos)
        .map_err(arg_err("first", "zipAttrsWith"))?;
    let l = ev
        .force_list(&a[1], pos)
        .map_err(arg_err("second", "zipAttrsWith"))?;
    let mut acc: BTreeMap<Sym, Vec<Value>> = BTreeMap::new();
    for x in l.iter() {
        for e in &ev.force_attrs(x, pos).map_err(|e| e.frame(Pos::NONE, "while evaluating a value of the list passed as second argument to builtins.zipAttrsWith"))?.entries {
            acc.entry(e.name).or_default().push(e.value.clone());
        }
    }
    let f = a[0].clone();
    Ok(Value::Attrs(Rc::new(Attrs {
        entries: acc
            .into_iter()
            .map(|(n, vs)| Attr {
                name: n,
                value: Value::apply(
                    Value::apply(f.clone(), Value::str(n.as_str())),
                    Value::list(vs),
                ),
                pos: Pos::NONE,
            })
            .collect(),
    })))
}
fn b_function_args(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    match ev.force(&a[0])? {
        Value::Lambda(c) => {
            let mut entries = Vec::new();
            if let Some(f) = &c.lambda.formals {
                for (n, d, p) in f {
                    entries.push(Attr {
                        name: *n,
                        value: Value::Bool(d.is_some()),
                        pos: *p,
                    });
                }
            }
            Ok(Value::attrs(entries))
        }
        Value::PrimOp(_) | Value::PrimOpApp(_) => Ok(Value::attrs(Vec::new())),
        _ => Err(err("'functionArgs' requires a function", pos)),
    }
}
fn b_group_by(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    ev.expect_function(&a[0], pos)
        .map_err(arg_err("first", "groupBy"))?;
    let l = ev
        .force_list(&a[1], pos)
        .map_err(arg_err("second", "groupBy"))?;
    let mut acc: BTreeMap<Sym, Vec<Value>> = BTreeMap::new();
    for x in l.iter() {
        let k = ev.call(&a[0], x.clone(), Pos::NONE)?;
        let k = s_of(ev, &k, pos).map_err(|e| e.frame(Pos::NONE, "while evaluating the return value of the grouping function passed to builtins.groupBy"))?;
        acc.entry(Sym::new(&k.s)).or_default().push(x.clone());
    }
    Ok(Value::Attrs(Rc::new(Attrs {
        entries: acc
            .into_iter()
            .map(|(n, v)| Attr {
                name: n,
                value: Value::list(v),
                pos: Pos::NONE,
            })
            .collect(),
    })))
}

// ------------------------------------------------------------------ lists

fn b_length(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    Ok(Value::Int(
        ev.force_list(&a[0], pos)
            .map_err(arg_err("first", "length"))?
            .len() as i64,
    ))
}
fn b_head(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let l = ev.force_list(&a[0], pos).map_err(|e| {
        e.frame(
            Pos::NONE,
            "while evaluating the first argument passed to 'builtins.head'",
        )
    })?;
    match l.first() {
        Some(v) => ev.force(v),
        None => Err(err("'builtins.head' called on an empty list", pos)),
    }
}
fn b_tail(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let l = ev.force_list(&a[0], pos).map_err(|e| {
        e.frame(
            Pos::NONE,
            "while evaluating the first argument passed to 'builtins.tail'",
        )
    })?;
    if l.is_empty() {
        return Err(err("'builtins.tail' called on an empty list", pos));
    }
    Ok(Value::list(l[1..].to_vec()))
}
fn b_elem_at(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let l = ev.force_list(&a[0], pos).map_err(|e| {
        e.frame(
            Pos::NONE,
            "while evaluating the first argument passed to 'builtins.elemAt'",
        )
    })?;
    let i = ev.expect_int(&a[1], pos).map_err(|e| {
        e.frame(
            Pos::NONE,
            "while evaluating the second argument passed to 'builtins.elemAt'",
        )
    })?;
    if i < 0 || i as usize >= l.len() {
        return Err(err(
            format!(
                "'builtins.elemAt' called with index {i} on a list of size {}",
                l.len()
            ),
            pos,
        ));
    }
    ev.force(&l[i as usize])
}
fn b_map(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let l = ev
        .force_list(&a[1], pos)
        .map_err(arg_err("second", "map"))?;
    ev.expect_function(&a[0], pos)
        .map_err(arg_err("first", "map"))?;
    Ok(Value::list(
        l.iter()
            .map(|x| Value::apply(a[0].clone(), x.clone()))
            .collect(),
    ))
}
fn b_filter(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let l = ev
        .force_list(&a[1], pos)
        .map_err(arg_err("second", "filter"))?;
    ev.expect_function(&a[0], pos)
        .map_err(arg_err("first", "filter"))?;
    let mut out = Vec::new();
    for x in l.iter() {
        let r = ev.call(&a[0], x.clone(), Pos::NONE)?;
        if ev.expect_bool(&r, pos).map_err(|e| e.frame(Pos::NONE, "while evaluating the return value of the filtering function passed to builtins.filter"))? {
            out.push(x.clone());
        }
    }
    Ok(Value::list(out))
}
fn b_elem(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let l = ev
        .force_list(&a[1], pos)
        .map_err(arg_err("second", "elem"))?;
    for x in l.iter() {
        if ev.equal(&a[0], x, pos)? {
            return bool_v(true);
        }
    }
    bool_v(false)
}
fn b_concat_lists(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let l = ev
        .force_list(&a[0], pos)
        .map_err(arg_err("first", "concatLists"))?;
    let mut out = Vec::new();
    for x in l.iter() {
        out.extend(
            ev.force_list(x, pos)
                .map_err(|e| {
                    e.frame(
                        Pos::NONE,
                        "while evaluating a value of the list passed to builtins.concatLists",
                    )
                })?
                .iter()
                .cloned(),
        );
    }
    Ok(Value::list(out))
}
fn b_concat_map(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    ev.expect_function(&a[0], pos)
        .map_err(arg_err("first", "concatMap"))?;
    let l = ev
        .force_list(&a[1], pos)
        .map_err(arg_err("second", "concatMap"))?;
    let mut out = Vec::new();
    for x in l.iter() {
        let r = ev.call(&a[0], x.clone(), Pos::NONE)?;
        // Nix places the frame at the result, or at the function when the result has no
        // position of its own.
        let at = value_pos(&r).or(value_pos(&a[0]));
        out.extend(
            ev.force_list(&r, Pos::NONE)
                .map_err(|e| {
                    e.frame(
                        at,
                        "while evaluating the return value of the function passed to builtins.concatMap",
                    )
                })?
                .iter()
                .cloned(),
        );
    }
    Ok(Value::list(out))
}
fn b_foldl(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    ev.expect_function(&a[0], pos)
        .map_err(arg_err("first", "foldlStrict"))?;
    let l = ev
        .force_list(&a[2], pos)
        .map_err(arg_err("third", "foldlStrict"))?;
    let mut acc = a[1].clone();
    for x in l.iter() {
        acc = ev.call2(&a[0], acc, x.clone(), Pos::NONE)?;
    }
    ev.force(&acc)
}
fn b_all(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    ev.expect_function(&a[0], pos)
        .map_err(arg_err("first", "all"))?;
    let l = ev
        .force_list(&a[1], pos)
        .map_err(arg_err("second", "all"))?;
    for x in l.iter() {
        let r = ev.call(&a[0], x.clone(), Pos::NONE)?;
        if !ev.expect_bool(&r, pos).map_err(|e| {
            e.frame(
                Pos::NONE,
                "while evaluating the return value of the function passed to builtins.all",
            )
        })? {
            return bool_v(false);
        }
    }
    bool_v(true)
}
fn b_any(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    ev.expect_function(&a[0], pos)
        .map_err(arg_err("first", "any"))?;
    let l = ev
        .force_list(&a[1], pos)
        .map_err(arg_err("second", "any"))?;
    for x in l.iter() {
        let r = ev.call(&a[0], x.clone(), Pos::NONE)?;
        if ev.expect_bool(&r, pos).map_err(|e| {
            e.frame(
                Pos::NONE,
                "while evaluating the return value of the function passed to builtins.any",
            )
        })? {
            return bool_v(true);
        }
    }
    bool_v(false)
}
fn b_gen_list(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let n = ev
        .expect_int(&a[1], pos)
        .map_err(arg_err("second", "genList"))?;
    if n < 0 {
        return Err(err(format!("cannot create list of size {n}"), pos));
    }
    ev.expect_function(&a[0], pos)
        .map_err(arg_err("first", "genList"))?;
    // The size is the user's: a list too big for memory is an evaluation error, not a
    // capacity-overflow panic or an allocation failure that aborts the guest.
    let mut items = Vec::new();
    usize::try_from(n)
        .ok()
        .and_then(|len| items.try_reserve_exact(len).ok())
        .ok_or_else(|| {
            err(
                format!("cannot create list of size {n}: out of memory"),
                pos,
            )
        })?;
    items.extend((0..n).map(|i| Value::apply(a[0].clone(), Value::Int(i))));
    Ok(Value::list(items))
}
fn b_partition(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    ev.expect_function(&a[0], pos)
        .map_err(arg_err("first", "partition"))?;
    let l = ev
        .force_list(&a[1], pos)
        .map_err(arg_err("second", "partition"))?;
    let (mut r, mut w) = (Vec::new(), Vec::new());
    for x in l.iter() {
        let c = ev.call(&a[0], x.clone(), Pos::NONE)?;
        if ev.expect_bool(&c, pos).map_err(|e| e.frame(Pos::NONE, "while evaluating the return value of the partition function passed to builtins.partition"))? {
            r.push(x.clone())
        } else {
            w.push(x.clone())
        }
    }
    let mut b = AttrsBuilder::default();
    b.add("right", Value::list(r));
    b.add("wrong", Value::list(w));
    Ok(b.build())
}
fn b_sort(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let l = ev
        .force_list(&a[1], pos)
        .map_err(arg_err("second", "sort"))?;
    ev.expect_function(&a[0], pos)
        .map_err(arg_err("first", "sort"))?;
    let mut items: Vec<Value> = l.iter().cloned().collect();
    for x in &items {
        ev.force(x)?;
    }
    // Stable merge sort with a fallible comparator.
    let mut error: Option<Error> = None;
    let f = a[0].clone();
    let mut less = |x: &Value, y: &Value| -> bool {
        if error.is_some() {
            return false;
        }
        match ev
            .call_n(&f, &[x.clone(), y.clone()], Pos::NONE)
            .and_then(|r| ev.expect_bool(&r, pos).map_err(|e| e.frame(Pos::NONE, "while evaluating the return value of the sorting function passed to builtins.sort")))
        {
            Ok(b) => b,
            Err(e) => {
                error = Some(e);
                false
            }
        }
    };
    merge_sort(&mut items, &mut less);
    if let Some(e) = error {
        return Err(e);
    }
    Ok(Value::list(items))
}

fn merge_sort(v: &mut Vec<Value>, less: &mut dyn FnMut(&Value, &Value) -> bool) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    let mut right = v.split_off(n / 2);
    merge_sort(v, less);
    merge_sort(&mut right, less);
    let left = std::mem::take(v);
    let mut out = Vec::with_capacity(n);
    let (mut i, mut j) = (0, 0);
    while i < left.len() && j < right.len() {
        if less(&right[j], &left[i]) {
            out.push(right[j].clone());
            j += 1;
        } else {
            out.push(left[i].clone());
            i += 1;
        }
    }
    out.extend_from_slice(&left[i..]);
    out.extend_from_slice(&right[j..]);
    *v = out;
}

fn b_generic_closure(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let args = ev
        .force_attrs(&a[0], pos)
        .map_err(arg_err("first", "genericClosure"))?;
    let start = args.get(Sym::new("startSet")).ok_or_else(|| {
        err("attribute 'startSet' missing", Pos::NONE).frame(
            Pos::NONE,
            "in the attrset passed as argument to builtins.genericClosure",
        )
    })?;
    let op = args
        .get(Sym::new("operator"))
        .ok_or_else(|| {
            err("attribute 'operator' missing", Pos::NONE).frame(
                Pos::NONE,
                "in the attrset passed as argument to builtins.genericClosure",
            )
        })?
        .clone();
    let op = ev.expect_function(&op, pos).map_err(|e| {
        e.frame(
            Pos::NONE,
            "while evaluating the 'operator' attribute passed as argument to builtins.genericClosure",
        )
    })?;
    let mut work: std::collections::VecDeque<Value> =
        ev.force_list(start, pos).map_err(|e| e.frame(Pos::NONE, "while evaluating the 'startSet' attribute passed as argument to builtins.genericClosure"))?.iter().cloned().collect();
    let mut done: Vec<Value> = Vec::new();
    // Keys kept sorted with Nix's `<` (so incomparable keys fail like in Nix).
    let mut keys: Vec<(Value, Value)> = Vec::new();
    while let Some(e) = work.pop_front() {
        let ea = ev.force_attrs(&e, pos).map_err(|x| {
            x.frame(
                Pos::NONE,
                format!("in genericClosure element {}", ev.show_value(&e)),
            )
        })?;
        let key = ea.get(ev.sym.key).ok_or_else(|| {
            err("attribute 'key' missing", Pos::NONE).frame(
                Pos::NONE,
                format!("in genericClosure element {}", ev.show_value(&e)),
            )
        })?;
        let key = ev.force(key)?;
        let (mut lo, mut hi) = (0, keys.len());
        let mut dup = false;
        while lo < hi {
            let mid = (lo + hi) / 2;
            let cmp_err = |x: Error| {
                x.frame(
                    Pos::NONE,
                    format!("with element {}", ev.show_value(&keys[mid].1)),
                )
                .frame(
                    Pos::NONE,
                    format!("while comparing element {}", ev.show_value(&e)),
                )
            };
            // The new key on the left first, as Nix's ordered set compares it.
            if ev
                .less_than(&key, &keys[mid].0, Pos::NONE)
                .map_err(cmp_err)?
            {
                hi = mid;
            } else if ev
                .less_than(&keys[mid].0, &key, Pos::NONE)
                .map_err(cmp_err)?
            {
                lo = mid + 1;
            } else {
                dup = true;
                break;
            }
        }
        if dup {
            continue;
        }
        keys.insert(lo, (key, e.clone()));
        done.push(e.clone());
        let shown = ev.show_value(&e);
        let next = ev.call(&op, e, pos).map_err(|x| {
            x.frame(
                Pos::NONE,
                format!("while calling operator on genericClosure element {shown}"),
            )
        })?;
        work.extend(ev.force_list(&next, pos).map_err(|x| x.frame(Pos::NONE, "while evaluating the return value of the `operator` passed to builtins.genericClosure").frame(Pos::NONE, format!("while calling operator on genericClosure element {shown}")))?.iter().cloned());
    }
    Ok(Value::list(done))
}

// ------------------------------------------------------------------ strings

fn b_to_string(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    Ok(Value::Str(Rc::new(
        ev.coerce_to_string(&a[0], pos, true, false)
            .map_err(arg_err("first", "toString"))?,
    )))
}
fn b_string_length(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    Ok(Value::Int(
        ev.coerce_to_string(&a[0], pos, false, true)
            .map_err(|e| {
                e.frame(
                    Pos::NONE,
                    "while evaluating the argument passed to builtins.stringLength",
                )
            })?
            .s
            .len() as i64,
    ))
}
fn b_substring(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let start = ev.expect_int(&a[0], pos).map_err(|e| {
        e.frame(
            Pos::NONE,
            "while evaluating the first argument (the start offset) passed to builtins.substring",
        )
    })?;
    let len = ev.expect_int(&a[1], pos).map_err(|e| e.frame(Pos::NONE, "while evaluating the second argument (the substring length) passed to builtins.substring"))?;
    let s = ev.coerce_to_string(&a[2], pos, false, true).map_err(|e| {
        e.frame(
            Pos::NONE,
            "while evaluating the third argument (the string) passed to builtins.substring",
        )
    })?;
    if start < 0 {
        return Err(err("negative start position in 'substring'", pos));
    }
    let b = s.s.as_bytes();
    let st = (start as usize).min(b.len());
    let end = if len < 0 {
        b.len()
    } else {
        st.saturating_add(len as usize).min(b.len())
    };
    let sub = String::from_utf8_lossy(&b[st..end]).into_owned();
    Ok(str_ctx(sub, s.ctx))
}
fn b_concat_strings_sep(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let sep = ev.expect_string(&a[0], pos).map(|s| (*s).clone()).map_err(|e| e.frame(Pos::NONE, "while evaluating the first argument (the separator string) passed to builtins.concatStringsSep"))?;
    let l = ev.force_list(&a[1], pos).map_err(|e| e.frame(Pos::NONE, "while evaluating the second argument (the list of strings to concat) passed to builtins.concatStringsSep"))?;
    let mut out = NixString::default();
    out.merge_ctx(&sep);
    for (i, x) in l.iter().enumerate() {
        if i > 0 {
            out.s.push_str(&sep.s);
        }
        ev.force(x).and_then(|x| ev.append_coerced(&mut out, &x, pos, false, true, None)).map_err(|e| e.frame(Pos::NONE, "while evaluating one element of the list of strings to concat passed to builtins.concatStringsSep"))?;
    }
    Ok(Value::Str(Rc::new(out)))
}
fn b_replace_strings(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let from = ev
        .force_list(&a[0], pos)
        .map_err(arg_err("first", "replaceStrings"))?;
    let to = ev
        .force_list(&a[1], pos)
        .map_err(arg_err("second", "replaceStrings"))?;
    if from.len() != to.len() {
        return Err(err(
            "'from' and 'to' arguments passed to builtins.replaceStrings have different lengths",
            pos,
        ));
    }
    let froms: Vec<Rc<NixString>> = from
        .iter()
        .map(|f| {
            s_of(ev, f, pos).map_err(|e| {
                e.frame(
                    Pos::NONE,
                    "while evaluating one of the strings to replace passed to builtins.replaceStrings",
                )
            })
        })
        .collect::<Result<_>>()?;
    let s = ev
        .expect_string(&a[2], pos)
        .map(|s| (*s).clone())
        .map_err(arg_err("third", "replaceStrings"))?;
    let mut tos: Vec<Option<NixString>> = vec![None; to.len()];
    let mut out = NixString::default();
    out.merge_ctx(&s);
    let b = s.s.as_bytes();
    let mut i = 0;
    let mut res: Vec<u8> = Vec::with_capacity(b.len());
    while i <= b.len() {
        let mut matched = false;
        for (k, f) in froms.iter().enumerate() {
            let fb = f.s.as_bytes();
            if b[i..].starts_with(fb) {
                if tos[k].is_none() {
                    tos[k] = Some((*s_of(ev, &to[k], pos).map_err(|e| {
                        e.frame(
                            Pos::NONE,
                            "while evaluating one of the replacement strings passed to builtins.replaceStrings",
                        )
                    })?)
                    .clone());
                }
                let t = tos[k].as_ref().expect("set");
                res.extend_from_slice(t.s.as_bytes());
                out.merge_ctx(t);
                if fb.is_empty() {
                    if i < b.len() {
                        let l = utf8_char_len(b[i]);
                        res.extend_from_slice(&b[i..(i + l).min(b.len())]);
                        i += l;
                    } else {
                        i += 1;
                    }
                } else {
                    i += fb.len();
                }
                matched = true;
                break;
            }
        }
        if !matched {
            if i < b.len() {
                res.push(b[i]);
            }
            i += 1;
        }
    }
    out.s = String::from_utf8_lossy(&res).into_owned();
    Ok(Value::Str(Rc::new(out)))
}
fn utf8_char_len(b: u8) -> usize {
    match b {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}
fn b_base_name_of(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let s = ev
        .coerce_to_string(&a[0], pos, false, false)
        .map_err(arg_err("first", "baseNameOf"))?;
    let t = s.s.strip_suffix('/').unwrap_or(&s.s);
    let base = match t.rfind('/') {
        Some(i) => &t[i + 1..],
        None => t,
    };
    Ok(str_ctx(base.to_owned(), s.ctx.clone()))
}
fn b_dir_of(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let v = ev.force(&a[0])?;
    let s = ev.coerce_to_string(&v, pos, false, false)?;
    let d = match s.s.rfind('/') {
        Some(0) => "/".to_owned(),
        Some(i) => s.s[..i].to_owned(),
        None => ".".to_owned(),
    };
    if let Value::Path(_) = v {
        Ok(Value::path(d))
    } else {
        Ok(str_ctx(d, s.ctx.clone()))
    }
}
fn b_to_path(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let p = ev
        .coerce_to_path(&a[0], pos)
        .map_err(arg_err("first", "toPath"))?;
    Ok(Value::str(crate::parser::canon_path(&p)))
}
fn b_get_env(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let n = s_of(ev, &a[0], pos).map_err(arg_err("first", "getEnv"))?;
    Ok(Value::str(
        ev.opts.env.get(&n.s).cloned().unwrap_or_default(),
    ))
}

/// Splits a version string into components (Nix's `nextComponent`).
pub fn split_version(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'.' || b[i] == b'-' {
            i += 1;
            continue;
        }
        let st = i;
        if b[i].is_ascii_digit() {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        } else {
            while i < b.len() && !b[i].is_ascii_digit() && b[i] != b'.' && b[i] != b'-' {
                i += 1;
            }
        }
        out.push(s[st..i].to_owned());
    }
    out
}

fn component_less(a: &str, b: &str) -> bool {
    let an = !a.is_empty() && a.bytes().all(|c| c.is_ascii_digit());
    let bn = !b.is_empty() && b.bytes().all(|c| c.is_ascii_digit());
    if an && bn {
        let x = a.trim_start_matches('0');
        let y = b.trim_start_matches('0');
        return (x.len(), x) < (y.len(), y);
    }
    if a.is_empty() && bn {
        return true;
    }
    if a == "pre" && b != "pre" {
        return true;
    }
    if b == "pre" {
        return false;
    }
    if bn {
        return true;
    }
    if an {
        return false;
    }
    a < b
}

/// `builtins.compareVersions`.
pub fn compare_versions(a: &str, b: &str) -> i64 {
    let x = split_version(a);
    let y = split_version(b);
    let n = x.len().max(y.len());
    for i in 0..n {
        let p = x.get(i).map(String::as_str).unwrap_or("");
        let q = y.get(i).map(String::as_str).unwrap_or("");
        if component_less(p, q) {
            return -1;
        }
        if component_less(q, p) {
            return 1;
        }
    }
    0
}

fn b_compare_versions(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let x = s_of(ev, &a[0], pos).map_err(arg_err("first", "compareVersions"))?;
    let y = s_of(ev, &a[1], pos).map_err(arg_err("second", "compareVersions"))?;
    Ok(Value::Int(compare_versions(&x.s, &y.s)))
}
fn b_split_version(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let s = s_of(ev, &a[0], pos).map_err(arg_err("first", "splitVersion"))?;
    Ok(Value::list(
        split_version(&s.s).into_iter().map(Value::str).collect(),
    ))
}
fn b_parse_drv_name(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let s = ev
        .expect_string(&a[0], pos)
        .map(|s| (*s).clone())
        .map_err(arg_err("first", "parseDrvName"))?;
    let b = s.s.as_bytes();
    let mut split = b.len();
    for i in 0..b.len() {
        if b[i] == b'-' && i + 1 < b.len() && !b[i + 1].is_ascii_alphabetic() {
            split = i;
            break;
        }
    }
    let (name, version) = if split < b.len() {
        (&s.s[..split], &s.s[split + 1..])
    } else {
        (&s.s[..], "")
    };
    let mut out = AttrsBuilder::default();
    out.add("name", Value::str(name));
    out.add("version", Value::str(version));
    Ok(out.build())
}

fn b_match(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let re = s_of(ev, &a[0], pos).map_err(arg_err("first", "match"))?;
    let s = ev
        .expect_string(&a[1], pos)
        .map(|s| (*s).clone())
        .map_err(arg_err("second", "match"))?;
    let r = crate::regex::compile(&re.s, true).map_err(|e| err(e, pos))?;
    match r.captures(&s.s) {
        None => Ok(Value::Null),
        Some(c) => Ok(Value::list(
            (1..c.len())
                .map(|i| {
                    c.get(i)
                        .map(|m| Value::str(m.as_str()))
                        .unwrap_or(Value::Null)
                })
                .collect(),
        )),
    }
}
fn b_split(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let re = s_of(ev, &a[0], pos).map_err(arg_err("first", "split"))?;
    let s = ev
        .expect_string(&a[1], pos)
        .map(|s| (*s).clone())
        .map_err(arg_err("second", "split"))?;
    let r = crate::regex::compile(&re.s, false).map_err(|e| err(e, pos))?;
    // POSIX picks the longest match at the leftmost position; the `regex` crate the first
    // alternative. Only alternations can tell them apart, so only then look for a longer
    // anchored match.
    let longest = if re.s.contains('|') {
        Some(crate::regex::compile(&re.s, true).map_err(|e| err(e, pos))?)
    } else {
        None
    };
    let text = s.s.as_str();
    let groups = |c: &regex::Captures<'_>| -> Value {
        Value::list(
            (1..c.len())
                .map(|i| {
                    c.get(i)
                        .map(|m| Value::str(m.as_str()))
                        .unwrap_or(Value::Null)
                })
                .collect(),
        )
    };
    let mut out = Vec::new();
    let (mut last, mut at) = (0, 0);
    // Like std::regex_iterator: an empty match may directly follow a non-empty one.
    while at <= text.len() {
        let Some(c) = r.captures_at(text, at) else {
            break;
        };
        let m = c.get(0).expect("group 0");
        let (start, mut end) = (m.start(), m.end());
        let mut g = groups(&c);
        if let Some(lr) = &longest {
            for k in (end + 1..=text.len())
                .rev()
                .filter(|k| text.is_char_boundary(*k))
            {
                if let Some(c2) = lr.captures(&text[start..k]) {
                    end = k;
                    g = groups(&c2);
                    break;
                }
            }
        }
        out.push(Value::str(&text[last..start]));
        out.push(g);
        last = end;
        at = if end == start {
            end + text[end..].chars().next().map_or(1, char::len_utf8)
        } else {
            end
        };
    }
    out.push(Value::str(&text[last..]));
    Ok(Value::list(out))
}

// ------------------------------------------------------------------ context

fn b_discard_context(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let s = ev
        .coerce_to_string(&a[0], pos, false, true)
        .map_err(arg_err("first", "unsafeDiscardStringContext"))?;
    Ok(Value::str(s.s))
}
fn b_has_context(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    bool_v(
        s_of(ev, &a[0], pos)
            .map_err(arg_err("first", "hasContext"))?
            .has_ctx(),
    )
}
fn b_discard_output_dep(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let s = ev
        .coerce_to_string(&a[0], pos, false, true)
        .map_err(arg_err("first", "unsafeDiscardOutputDependency"))?;
    let ctx = s.ctx.map(|c| {
        Box::new(
            c.into_iter()
                .map(|e| e.strip_prefix('=').map(str::to_owned).unwrap_or(e))
                .collect(),
        )
    });
    Ok(str_ctx(s.s, ctx))
}
fn b_add_drv_output_deps(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let s = ev
        .coerce_to_string(&a[0], pos, false, true)
        .map_err(arg_err("first", "addDrvOutputDependencies"))?;
    let ctx = s.ctx.clone().unwrap_or_default();
    if ctx.len() != 1 {
        return Err(err(
            format!(
                "context of string '{}' must have exactly one element, but has {}",
                s.s,
                ctx.len()
            ),
            pos,
        ));
    }
    let e = ctx.iter().next().expect("one").clone();
    if e.starts_with('=') {
        return Ok(str_ctx(s.s, s.ctx));
    }
    if let Some(rest) = e.strip_prefix('!') {
        let (o, p) = rest.split_once('!').unwrap_or((rest, ""));
        return Err(err(
            format!(
                "`addDrvOutputDependencies` can only act on derivations, not on a derivation output such as '{o}' of '{p}'"
            ),
            pos,
        ));
    }
    if !e.ends_with(".drv") {
        return Err(err(format!("path '{e}' is not a derivation"), pos));
    }
    Ok(str_ctx(
        s.s,
        Some(Box::new(std::iter::once(format!("={e}")).collect())),
    ))
}
fn b_get_context(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let s = ev
        .coerce_to_string(&a[0], pos, false, true)
        .map_err(arg_err("first", "getContext"))?;
    #[derive(Default)]
    struct Info {
        path: bool,
        all: bool,
        outputs: Vec<String>,
    }
    let mut m: BTreeMap<String, Info> = BTreeMap::new();
    for e in s.ctx.iter().flat_map(|c| c.iter()) {
        if let Some(p) = e.strip_prefix('=') {
            m.entry(p.to_owned()).or_default().all = true;
        } else if let Some(rest) = e.strip_prefix('!') {
            let (o, p) = rest.split_once('!').unwrap_or((rest, ""));
            m.entry(p.to_owned())
                .or_default()
                .outputs
                .push(o.to_owned());
        } else {
            m.entry(e.clone()).or_default().path = true;
        }
    }
    let mut entries = Vec::new();
    for (p, i) in m {
        let mut b = AttrsBuilder::default();
        if i.path {
            b.add("path", Value::Bool(true));
        }
        if i.all {
            b.add("allOutputs", Value::Bool(true));
        }
        if !i.outputs.is_empty() {
            b.add(
                "outputs",
                Value::list(i.outputs.into_iter().map(Value::str).collect()),
            );
        }
        entries.push(Attr {
            name: Sym::new(&p),
            value: b.build(),
            pos: Pos::NONE,
        });
    }
    Ok(Value::attrs(entries))
}
fn b_append_context(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let s = s_of(ev, &a[0], pos).map_err(arg_err("first", "appendContext"))?;
    let c = ev
        .force_attrs(&a[1], pos)
        .map_err(arg_err("second", "appendContext"))?;
    let mut out = (*s).clone();
    let ctx = out.ctx.get_or_insert_with(Default::default);
    for e in &c.entries {
        let p = e.name.as_str();
        if !p.starts_with(&ev.opts.store_dir) {
            return Err(err(format!("context key '{p}' is not a store path"), pos));
        }
        let info = ev.force_attrs(&e.value, pos)?;
        if let Some(v) = info.get(Sym::new("path"))
            && ev.expect_bool(v, pos)?
        {
            ctx.insert(p.to_owned());
        }
        if let Some(v) = info.get(Sym::new("allOutputs"))
            && ev.expect_bool(v, pos)?
        {
            if !p.ends_with(".drv") {
                return Err(err(
                    format!(
                        "tried to add all-outputs context of {p}, which is not a derivation, to a string"
                    ),
                    pos,
                ));
            }
            ctx.insert(format!("={p}"));
        }
        if let Some(v) = info.get(Sym::new("outputs")) {
            let l = ev.force_list(v, pos)?;
            if !l.is_empty() && !p.ends_with(".drv") {
                return Err(err(
                    format!(
                        "tried to add derivation output context of {p}, which is not a derivation, to a string"
                    ),
                    pos,
                ));
            }
            for o in l.iter() {
                ctx.insert(format!("!{}!{p}", s_of(ev, o, pos)?.s));
            }
        }
    }
    Ok(Value::Str(Rc::new(out)))
}

// ------------------------------------------------------------------ files

fn path_arg(ev: &Evaluator, v: &Value, pos: Pos) -> Result<String> {
    let p = ev.coerce_to_path(v, pos)?;
    Ok(crate::parser::canon_path(&p))
}

fn b_import(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let p = path_arg(ev, &a[0], pos).map_err(arg_err("first", "import"))?;
    ev.import(&p, pos)
}
fn b_scoped_import(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let scope = ev
        .force_attrs(&a[0], pos)
        .map_err(arg_err("first", "scopedImport"))?;
    let mut p = path_arg(ev, &a[1], pos).map_err(arg_err("second", "scopedImport"))?;
    if std::fs::metadata(&p).map(|m| m.is_dir()).unwrap_or(false) {
        p = format!("{p}/default.nix");
    }
    let text = ev.read_file(&p, pos)?;
    let names: Vec<Sym> = scope.entries.iter().map(|e| e.name).collect();
    let ir = ev.compile_source(
        &text,
        crate::source::Origin::File(p.clone()),
        &parent_dir(&p),
        Some(&names),
    )?;
    let frame = Rc::new(Env {
        slots: RefCell::new(scope.entries.iter().map(|e| e.value.clone()).collect()),
        parent: Some(ev.base_env.clone()),
        is_with: false,
    });
    ev.eval(&ir, &frame)
}
fn b_read_file(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let p = path_arg(ev, &a[0], pos).map_err(arg_err("first", "readFile"))?;
    match std::fs::read(&p) {
        Ok(b) => Ok(Value::str(String::from_utf8_lossy(&b).into_owned())),
        Err(e) if crate::sandbox::is_refusal(&p, &e) => {
            Err(err(crate::sandbox::refusal_message(&p), pos))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(err(format!("path '{p}' does not exist"), pos))
        }
        Err(e) => Err(err(format!("reading file '{p}': {e}"), pos)),
    }
}
fn b_path_exists(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let s = ev.realise_path(&a[0])?;
    let must_dir = s.ends_with('/') || s.ends_with("/.");
    let p = crate::parser::canon_path(&s);
    Ok(Value::Bool(match std::fs::metadata(&p) {
        Ok(m) => !must_dir || m.is_dir(),
        Err(e) if crate::sandbox::is_refusal(&p, &e) => {
            return Err(err(crate::sandbox::refusal_message(&p), pos));
        }
        Err(_) => false,
    }))
}
fn file_type(ft: std::fs::FileType) -> &'static str {
    if ft.is_dir() {
        "directory"
    } else if ft.is_symlink() {
        "symlink"
    } else if ft.is_file() {
        "regular"
    } else {
        "unknown"
    }
}
fn b_read_file_type(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let p = crate::parser::canon_path(&ev.realise_path(&a[0])?);
    match std::fs::symlink_metadata(&p) {
        Ok(m) => Ok(Value::str(file_type(m.file_type()))),
        Err(e) if crate::sandbox::is_refusal(&p, &e) => {
            Err(err(crate::sandbox::refusal_message(&p), pos))
        }
        Err(_) => Err(err(format!("path '{p}' does not exist"), pos)),
    }
}
fn b_read_dir(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let p = path_arg(ev, &a[0], pos).map_err(arg_err("first", "readDir"))?;
    let rd = std::fs::read_dir(&p).map_err(|e| {
        if let Some(message) = crate::sandbox::refusal(&p, &e) {
            err(message, pos)
        } else if std::fs::metadata(&p).is_ok() {
            err(format!("'{p}' is not a directory"), pos)
        } else {
            err(format!("path '{p}' does not exist"), pos)
        }
    })?;
    let mut entries = Vec::new();
    for e in rd {
        let e = e.map_err(|e| err(format!("reading directory '{p}': {e}"), pos))?;
        let t = e.file_type().map(file_type).unwrap_or("unknown");
        entries.push(Attr {
            name: Sym::new(&e.file_name().to_string_lossy()),
            value: Value::str(t),
            pos: Pos::NONE,
        });
    }
    Ok(Value::attrs(entries))
}
fn b_find_file(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let sp = ev
        .force_list(&a[0], pos)
        .map_err(arg_err("first", "findFile"))?;
    let name = s_of(ev, &a[1], pos).map_err(arg_err("second", "findFile"))?;
    let mut entries = Vec::new();
    for e in sp.iter() {
        let at = ev.force_attrs(e, pos)?;
        let prefix = match at.get(Sym::new("prefix")) {
            Some(p) => s_of(ev, p, pos)?.s.clone(),
            None => String::new(),
        };
        let path = at
            .get(Sym::new("path"))
            .ok_or_else(|| err("attribute 'path' missing", pos))?;
        let path = ev.coerce_to_string(path, pos, false, false)?.s;
        entries.push((
            if prefix.is_empty() {
                None
            } else {
                Some(prefix)
            },
            path,
        ));
    }
    ev.find_file_in(&entries, &name.s, pos)
}

fn b_hash_string(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let algo = s_of(ev, &a[0], pos).map_err(arg_err("first", "hashString"))?;
    let s = ev
        .expect_string(&a[1], pos)
        .map(|s| (*s).clone())
        .map_err(arg_err("second", "hashString"))?;
    let algo: nix_formats::hash::HashAlgo = algo.s.parse().map_err(|_| {
        err(format!("unknown hash algorithm '{}', expect 'blake3', 'md5', 'sha1', 'sha256', or 'sha512'", algo.s), pos)
    })?;
    Ok(Value::str(
        nix_formats::hash::NixHash::of(algo, s.s.as_bytes()).to_base16(),
    ))
}
fn b_hash_file(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let algo = s_of(ev, &a[0], pos).map_err(arg_err("first", "hashFile"))?;
    let p = path_arg(ev, &a[1], pos).map_err(arg_err("second", "hashFile"))?;
    let algo: nix_formats::hash::HashAlgo = algo.s.parse().map_err(|_| {
        err(format!("unknown hash algorithm '{}', expect 'blake3', 'md5', 'sha1', 'sha256', or 'sha512'", algo.s), pos)
    })?;
    let data = std::fs::read(&p).map_err(|e| {
        let message =
            crate::sandbox::refusal(&p, &e).unwrap_or_else(|| format!("path '{p}' does not exist"));
        err(message, pos)
    })?;
    Ok(Value::str(
        nix_formats::hash::NixHash::of(algo, &data).to_base16(),
    ))
}
fn b_convert_hash(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    use nix_formats::hash::{HashAlgo, NixHash};
    let args = ev
        .force_attrs(&a[0], pos)
        .map_err(arg_err("first", "convertHash"))?;
    let hash = args
        .get(Sym::new("hash"))
        .ok_or_else(|| err("attribute 'hash' missing", pos))?;
    let hash = s_of(ev, hash, pos)?;
    let algo = match args.get(Sym::new("hashAlgo")) {
        Some(v) => Some(
            s_of(ev, v, pos)?
                .s
                .parse::<HashAlgo>()
                .map_err(|e| err(e.to_string(), pos))?,
        ),
        None => None,
    };
    let fmt = args
        .get(Sym::new("toHashFormat"))
        .ok_or_else(|| err("attribute 'toHashFormat' missing", pos))?;
    let fmt = s_of(ev, fmt, pos)?;
    let h = NixHash::parse(&hash.s, algo).map_err(|e| err(e.to_string(), pos))?;
    Ok(Value::str(match fmt.s.as_str() {
        "base16" => h.to_base16(),
        "nix32" => h.to_nix32(),
        "base32" => {
            ev.diag("warning: \"base32\" is a deprecated alias for hash format \"nix32\".");
            h.to_nix32()
        }
        "base64" => h.to_base64(),
        "sri" => h.to_sri(),
        f => {
            return Err(err(
                format!("unknown hash format '{f}', expect 'base16', 'base32', 'base64', or 'sri'"),
                pos,
            ));
        }
    }))
}

// ------------------------------------------------------------------ formats

fn b_to_json(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let mut ctx = NixString::default();
    let s = crate::formats::to_json(ev, &a[0], pos, &mut ctx)?;
    Ok(str_ctx(s, ctx.ctx))
}
fn b_from_json(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let s = s_of(ev, &a[0], pos).map_err(arg_err("first", "fromJSON"))?;
    crate::formats::from_json(&s.s).map_err(|e| err(e, pos))
}
fn b_from_toml(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let s = s_of(ev, &a[0], pos).map_err(arg_err("first", "fromTOML"))?;
    let ts = ev
        .opts
        .experimental
        .iter()
        .any(|f| f == "parse-toml-timestamps");
    crate::formats::from_toml(&s.s, ts).map_err(|e| err(format!("while parsing TOML: {e}"), pos))
}
fn b_to_xml(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let mut ctx = NixString::default();
    let s = crate::formats::to_xml(ev, &a[0], pos, &mut ctx)?;
    Ok(str_ctx(s, ctx.ctx))
}

// ------------------------------------------------------------------ store (next issue)

fn store_err(ev: &Evaluator, what: &'static str, pos: Pos) -> Error {
    let _ = ev;
    err(
        crate::store::StoreError::NotAvailable(what).to_string(),
        pos,
    )
}
fn b_to_file(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let name = s_of(ev, &a[0], pos).map_err(arg_err("first", "toFile"))?;
    let text = ev
        .coerce_to_string(&a[1], pos, false, true)
        .map_err(arg_err("second", "toFile"))?;
    let refs: Vec<String> = text.ctx.iter().flat_map(|c| c.iter().cloned()).collect();
    let p = ev
        .store
        .add_text(&name.s, &text.s, &refs)
        .map_err(|e| err(e.to_string(), pos))?;
    Ok(str_ctx(
        p.clone(),
        Some(Box::new(std::iter::once(p).collect())),
    ))
}
fn b_placeholder(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let o = s_of(ev, &a[0], pos).map_err(arg_err("first", "placeholder"))?;
    let h = nix_formats::hash::NixHash::of(
        nix_formats::hash::HashAlgo::Sha256,
        format!("nix-output:{}", o.s).as_bytes(),
    );
    Ok(Value::str(format!(
        "/{}",
        nix_formats::nixbase32::encode(h.digest())
    )))
}
fn b_store_path(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    ev.coerce_to_string(&a[0], pos, false, false).map_err(|e| {
        e.frame(
            Pos::NONE,
            "while evaluating the first argument passed to 'builtins.storePath'",
        )
    })?;
    Err(store_err(ev, "storePath", pos))
}
fn b_path(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let args = ev.force_attrs(&a[0], pos)?;
    let path_v = args
        .get(Sym::new("path"))
        .ok_or_else(|| err("attribute 'path' missing", pos))?;
    let path = path_arg(ev, path_v, pos)?;
    let name = match args.get(ev.sym.name) {
        Some(n) => s_of(ev, n, pos)?.s.clone(),
        None => path.rsplit('/').next().unwrap_or("").to_owned(),
    };
    let recursive = match args.get(Sym::new("recursive")) {
        Some(r) => ev.expect_bool(r, pos)?,
        None => true,
    };
    let sha256 = match args.get(Sym::new("sha256")) {
        Some(h) => Some(
            nix_formats::NixHash::parse(&s_of(ev, h, pos)?.s, Some(nix_formats::HashAlgo::Sha256))
                .map_err(|e| err(e.to_string(), pos))?,
        ),
        None => None,
    };
    let filter = args.get(Sym::new("filter")).cloned();
    add_path_filtered(ev, &path, &name, recursive, sha256, filter, pos)
}

/// Adds a path through the store, calling the Nix `filter` function (if any) per entry.
fn add_path_filtered(
    ev: &Evaluator,
    path: &str,
    name: &str,
    recursive: bool,
    sha256: Option<nix_formats::NixHash>,
    filter: Option<Value>,
    pos: Pos,
) -> Result<Value> {
    let req = crate::store::AddPath {
        path,
        name,
        recursive,
        sha256,
    };
    let failure: RefCell<Option<Error>> = RefCell::new(None);
    let mut call = |p: &str, t: &str| -> std::result::Result<bool, crate::store::StoreError> {
        let f = filter.as_ref().expect("only called with a filter");
        let r = ev
            .call_n(f, &[Value::str(p), Value::str(t)], pos)
            .and_then(|r| ev.expect_bool(&r, pos));
        r.map_err(|e| {
            let msg = e.to_string();
            *failure.borrow_mut() = Some(e);
            crate::store::StoreError::Failed(msg)
        })
    };
    let r = ev.store.add_path(
        &req,
        if filter.is_some() {
            Some(&mut call)
        } else {
            None
        },
    );
    if let Some(e) = failure.borrow_mut().take() {
        return Err(e);
    }
    let p = r.map_err(|e| err(e.to_string(), pos))?;
    Ok(str_ctx(
        p.clone(),
        Some(Box::new(std::iter::once(p).collect())),
    ))
}
fn b_filter_source(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let path = path_arg(ev, &a[1], pos).map_err(|e| {
        e.frame(
            Pos::NONE,
            "while evaluating the second argument (the path to filter) passed to 'builtins.filterSource'",
        )
    })?;
    let filter = ev
        .expect_function(&a[0], pos)
        .map_err(arg_err("first", "filterSource"))?;
    let name = path.rsplit('/').next().unwrap_or("").to_owned();
    add_path_filtered(ev, &path, &name, true, None, Some(filter), pos)
}
fn b_derivation_strict(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    crate::derivation::derivation_strict(ev, &a[0], pos)
}
fn b_derivation(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let f = ev.derivation_fn()?;
    ev.call(&f, a[0].clone(), pos)
}
fn b_fetch(_ev: &Evaluator, _a: &[Value], pos: Pos) -> Result<Value> {
    Err(err(
        "fetchers are not available in a sandboxed evaluator",
        pos,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(
            split_version("1.2.3pre4-foo"),
            vec!["1", "2", "3", "pre", "4", "foo"]
        );
        assert_eq!(compare_versions("1.0", "2.3"), -1);
        assert_eq!(compare_versions("2.1", "2.3"), -1);
        assert_eq!(compare_versions("2.3", "2.3"), 0);
        assert_eq!(compare_versions("2.5", "2.3"), 1);
        assert_eq!(compare_versions("2.3pre1", "2.3"), -1);
        assert_eq!(compare_versions("2.3a", "2.3c"), -1);
        assert_eq!(compare_versions("2.3", "2.3.1"), -1);
    }
}
