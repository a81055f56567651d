//! The built-in functions and constants (`builtins.*` and the global names), one file per
//! family as Nix's `primops/` has them.
//!
//! Each builtin gets its arguments unforced and forces what it needs, so laziness matches
//! Nix (e.g. `map` returns a list of lazy applications). A builtin value names its
//! implementation by its index in [`PRIMOP_FNS`], which [`Evaluator::new`] hands the
//! evaluator: the value layer does not depend on the evaluator.

use std::rc::Rc;

use crate::compiler::{BaseScope, Ir};
use crate::error::{Error, ErrorKind, Result};
use crate::eval::{EvalOptions, Evaluator, PrimOpFn};
use crate::io::{EvalIo, StdIo};
use crate::source::{Pos, Sym};
use crate::value::*;

mod arith;
mod attrs;
mod context;
mod control;
mod derivation;
mod fetch_git;
mod files;
pub(crate) mod formats;
mod lists;
mod regex;
mod store;
mod strings;
mod types;

/// The builtins' table, written once: each entry's name, arity and implementation.
macro_rules! primops {
    ($($name:literal $arity:literal $f:path),* $(,)?) => {
        const COUNT: usize = [$($name),*].len();
        /// The builtins; `id` is the index of the implementation in [`PRIMOP_FNS`].
        static PRIMOPS: [PrimOp; COUNT] = {
            let names = [$($name),*];
            let arities = [$($arity),*];
            let mut out = [PrimOp { name: "", arity: 0, id: 0 }; COUNT];
            let mut i = 0;
            while i < COUNT {
                out[i] = PrimOp { name: names[i], arity: arities[i], id: i };
                i += 1;
            }
            out
        };
        /// The implementations, in [`PRIMOPS`]' order.
        static PRIMOP_FNS: &[PrimOpFn] = &[$($f),*];
    };
}

primops! {
    "abort" 1 control::b_abort, "add" 2 arith::b_add, "addErrorContext" 2 control::b_add_error_context, "all" 2 lists::b_all,
    "any" 2 lists::b_any, "appendContext" 2 context::b_append_context, "attrNames" 1 attrs::b_attr_names,
    "attrValues" 1 attrs::b_attr_values, "baseNameOf" 1 strings::b_base_name_of, "bitAnd" 2 arith::b_bit_and,
    "bitOr" 2 arith::b_bit_or, "bitXor" 2 arith::b_bit_xor, "break" 1 control::b_break, "catAttrs" 2 attrs::b_cat_attrs,
    "ceil" 1 arith::b_ceil, "compareVersions" 2 strings::b_compare_versions, "concatLists" 1 lists::b_concat_lists,
    "concatMap" 2 lists::b_concat_map, "concatStringsSep" 2 strings::b_concat_strings_sep,
    "deepSeq" 2 control::b_deep_seq, "dirOf" 1 strings::b_dir_of, "div" 2 arith::b_div, "elem" 2 lists::b_elem,
    "elemAt" 2 lists::b_elem_at, "filter" 2 lists::b_filter, "findFile" 2 files::b_find_file, "floor" 1 arith::b_floor,
    "foldl'" 3 lists::b_foldl, "fromJSON" 1 formats::b_from_json, "fromTOML" 1 formats::b_from_toml,
    "functionArgs" 1 attrs::b_function_args, "genList" 2 lists::b_gen_list,
    "genericClosure" 1 lists::b_generic_closure, "getAttr" 2 attrs::b_get_attr, "getContext" 1 context::b_get_context,
    "getEnv" 1 strings::b_get_env, "groupBy" 2 attrs::b_group_by, "hasAttr" 2 attrs::b_has_attr,
    "hasContext" 1 context::b_has_context, "hashFile" 2 files::b_hash_file, "hashString" 2 files::b_hash_string,
    "head" 1 lists::b_head, "import" 1 files::b_import, "intersectAttrs" 2 attrs::b_intersect_attrs,
    "isAttrs" 1 types::b_is_attrs, "isBool" 1 types::b_is_bool, "isFloat" 1 types::b_is_float,
    "isFunction" 1 types::b_is_function, "isInt" 1 types::b_is_int, "isList" 1 types::b_is_list,
    "isNull" 1 types::b_is_null, "isPath" 1 types::b_is_path, "isString" 1 types::b_is_string,
    "length" 1 lists::b_length, "lessThan" 2 arith::b_less_than, "listToAttrs" 1 attrs::b_list_to_attrs,
    "map" 2 lists::b_map, "mapAttrs" 2 attrs::b_map_attrs, "match" 2 strings::b_match, "mul" 2 arith::b_mul,
    "parseDrvName" 1 strings::b_parse_drv_name, "partition" 2 lists::b_partition, "pathExists" 1 files::b_path_exists,
    "readDir" 1 files::b_read_dir, "readFile" 1 files::b_read_file, "readFileType" 1 files::b_read_file_type,
    "removeAttrs" 2 attrs::b_remove_attrs, "replaceStrings" 3 strings::b_replace_strings,
    "scopedImport" 2 files::b_scoped_import, "seq" 2 control::b_seq, "sort" 2 lists::b_sort, "split" 2 strings::b_split,
    "splitVersion" 1 strings::b_split_version, "stringLength" 1 strings::b_string_length, "sub" 2 arith::b_sub,
    "substring" 3 strings::b_substring, "tail" 1 lists::b_tail, "throw" 1 control::b_throw, "toJSON" 1 formats::b_to_json,
    "toPath" 1 strings::b_to_path, "toString" 1 strings::b_to_string, "toXML" 1 formats::b_to_xml, "trace" 2 control::b_trace,
    "traceVerbose" 2 control::b_trace_verbose, "tryEval" 1 control::b_try_eval, "typeOf" 1 types::b_type_of,
    "unsafeDiscardOutputDependency" 1 context::b_discard_output_dep,
    "unsafeDiscardStringContext" 1 context::b_discard_context, "unsafeGetAttrPos" 2 attrs::b_unsafe_get_attr_pos,
    "warn" 2 control::b_warn, "zipAttrsWith" 2 attrs::b_zip_attrs_with, "convertHash" 1 files::b_convert_hash,
    "addDrvOutputDependencies" 1 context::b_add_drv_output_deps, "toFile" 2 store::b_to_file,
    "placeholder" 1 store::b_placeholder, "storePath" 1 store::b_store_path, "path" 1 store::b_path,
    "filterSource" 2 store::b_filter_source, "derivationStrict" 1 store::b_derivation_strict,
    "derivation" 1 store::b_derivation, "fetchurl" 1 store::b_fetchurl, "fetchTarball" 1 store::b_fetch_tarball,
    "fetchGit" 1 fetch_git::b_fetch_git, "fetchMercurial" 1 store::b_fetch, "fetchTree" 1 store::b_fetch,
    "getFlake" 1 store::b_fetch,
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

impl Evaluator {
    /// An evaluator that reads with `std::fs` and computes paths in `/nix/store` without a
    /// store (see [`StdIo`]).
    pub fn new(opts: EvalOptions) -> Evaluator {
        let io = StdIo::new("/nix/store", None).expect("/nix/store is a valid store directory");
        Self::with_io(opts, Box::new(io))
    }

    /// An evaluator whose every file read and store effect goes through `io`.
    pub fn with_io(opts: EvalOptions, io: Box<dyn EvalIo>) -> Evaluator {
        let mut ev = Evaluator::bare(opts, io);
        install(&mut ev);
        ev
    }
}

/// Gives a bare evaluator its base environment: the builtins and the global names.
fn install(ev: &mut Evaluator) {
    ev.primops = PRIMOP_FNS;
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
    for op in &PRIMOPS {
        add_b(op.name, Value::PrimOp(op));
    }
    add_b("true", Value::Bool(true));
    add_b("false", Value::Bool(false));
    add_b("null", Value::Null);
    add_b("currentSystem", Value::str(ev.opts.system.clone()));
    add_b("currentTime", Value::Int(ev.opts.current_time));
    add_b("nixVersion", Value::str("2.8.0"));
    add_b("langVersion", Value::Int(6));
    add_b("storeDir", Value::str(ev.io.store_dir()));
    let nix_path: Vec<Value> = ev
        .opts
        .search_path
        .iter()
        .map(|e| {
            let mut b = AttrsBuilder::default();
            b.add("prefix", Value::str(e.prefix.clone().unwrap_or_default()));
            b.add("path", Value::str(e.path.clone()));
            b.build()
        })
        .collect();
    add_b("nixPath", Value::list(nix_path));
    // builtins.builtins refers back to the base frame's slot 0.
    let self_ref = Value::pending(
        Rc::new(Ir::Var {
            depth: 0,
            slot: 0,
            pos: Pos::NONE,
        }),
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
    ev.base_scope = BaseScope(names);
    *ev.builtins.borrow_mut() = Some(builtins);
}

fn err(msg: impl Into<String>, pos: Pos) -> Error {
    Error::new(ErrorKind::Eval, msg, pos)
}

pub(super) fn s_of(ev: &Evaluator, v: &Value, pos: Pos) -> Result<Rc<NixString>> {
    ev.expect_string(v, pos)
}

/// Where a value was defined, for the values that know it (functions).
pub(super) fn value_pos(v: &Value) -> Pos {
    match v {
        Value::Lambda(c) => c.lambda.pos,
        _ => Pos::NONE,
    }
}

pub(super) fn bool_v(b: bool) -> Result<Value> {
    Ok(Value::Bool(b))
}

#[allow(clippy::box_collection)]
pub(super) fn str_ctx(s: String, ctx: Option<Box<crate::string::Context>>) -> Value {
    Value::Str(Rc::new(NixString { s, ctx }))
}

/// A path argument of a builtin that reads it: coerced to an absolute path, the derivation
/// outputs it refers to built (import from derivation), canonicalised.
pub(super) fn path_arg(ev: &Evaluator, v: &Value, pos: Pos) -> Result<String> {
    let p = ev.coerce_to_path(v, pos)?;
    ev.realise_context(&p, pos)?;
    Ok(crate::syntax::path::canon_path(&p.s))
}

/// The trace frame Nix adds to an error in a builtin's argument: "while evaluating the NTH
/// argument passed to builtins.NAME" (for `.map_err`).
pub(super) fn arg_err(nth: &'static str, builtin: &'static str) -> impl FnOnce(Error) -> Error {
    move |e| {
        e.frame(
            Pos::NONE,
            format!("while evaluating the {nth} argument passed to builtins.{builtin}"),
        )
    }
}
