//! Store effects, all through the evaluator's I/O boundary: `toFile`, `path`, `filterSource`
//! (the filter runs here, over the entries the boundary lists), `storePath`, `placeholder`,
//! `derivation`, and the fetchers (`fetchurl` through the store's `builtin:fetchurl`; the others
//! refused: an evaluator has no network).

use std::collections::BTreeSet;
use std::rc::Rc;

use nix_formats::{FileIngestionMethod, HashAlgo, NixHash};

use super::{arg_err, err, path_arg, s_of};
use crate::error::{Error, Result};
use crate::eval::{Coercion, Evaluator};
use crate::io::{AddToStore, FileType};
use crate::source::{Pos, Sym};
use crate::value::*;

pub(super) fn b_to_file(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let name = s_of(ev, &a[0], pos).map_err(arg_err("first", "toFile"))?;
    let text = ev
        .coerce_to_string(&a[1], pos, Coercion::INTERPOLATE)
        .map_err(arg_err("second", "toFile"))?;
    let mut refs = BTreeSet::new();
    for elem in text.context() {
        match elem {
            ContextElem::Opaque(p) => refs.insert(p.clone()),
            _ => {
                return Err(err(
                    format!(
                        "files created by builtins.toFile may not reference derivations, but {} references {elem}",
                        name.s
                    ),
                    pos,
                ));
            }
        };
    }
    let p = ev
        .io
        .add_text_to_store(&name.s, &text.s, &refs)
        .map_err(|e| Error::from(e).at(pos))?;
    Ok(Value::Str(Rc::new(NixString::with_elem(
        p.clone(),
        ContextElem::Opaque(p),
    ))))
}
pub(super) fn b_placeholder(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let o = s_of(ev, &a[0], pos).map_err(arg_err("first", "placeholder"))?;
    let h = NixHash::of(HashAlgo::Sha256, format!("nix-output:{}", o.s).as_bytes());
    Ok(Value::str(format!(
        "/{}",
        nix_formats::nixbase32::encode(h.digest())
    )))
}
/// `builtins.storePath`: a store path (or a path below one) taken as it is, with the store
/// path as its context; it must be valid.
pub(super) fn b_store_path(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let p = ev.coerce_to_path(&a[0], pos).map_err(|e| {
        e.frame(
            Pos::NONE,
            "while evaluating the first argument passed to 'builtins.storePath'",
        )
    })?;
    let path = crate::syntax::path::canon_path(&p.s);
    let store_dir = ev.io.store_dir();
    let store_path = path
        .strip_prefix(store_dir)
        .and_then(|r| r.strip_prefix('/'))
        .and_then(|r| r.split('/').next())
        .filter(|base| !base.is_empty())
        .map(|base| format!("{store_dir}/{base}"))
        .ok_or_else(|| err(format!("path '{path}' is not in the Nix store"), pos))?;
    if ev.io.file_type(&store_path, false).is_err() {
        return Err(err(format!("path '{store_path}' is not valid"), pos));
    }
    Ok(Value::Str(Rc::new(NixString::with_elem(
        path,
        ContextElem::Opaque(store_path),
    ))))
}
pub(super) fn b_path(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
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
            NixHash::parse(&s_of(ev, h, pos)?.s, Some(HashAlgo::Sha256))
                .map_err(|e| err(e.to_string(), pos))?,
        ),
        None => None,
    };
    let filter = args.get(Sym::new("filter")).cloned();
    add_path_filtered(ev, &path, &name, recursive, sha256, filter, pos)
}

/// Adds a path to the store, keeping below it what the Nix `filter` function (if any)
/// accepts.
fn add_path_filtered(
    ev: &Evaluator,
    path: &str,
    name: &str,
    recursive: bool,
    expected: Option<NixHash>,
    filter: Option<Value>,
    pos: Pos,
) -> Result<Value> {
    let included = match &filter {
        Some(filter) if recursive => Some(filtered_entries(ev, path, filter, pos)?),
        _ => None,
    };
    let p = ev
        .io
        .add_to_store(&AddToStore {
            path,
            name,
            method: if recursive {
                FileIngestionMethod::Recursive
            } else {
                FileIngestionMethod::Flat
            },
            expected,
            included: included.as_ref(),
        })
        .map_err(|e| Error::from(e).at(pos))?;
    Ok(Value::Str(Rc::new(NixString::with_elem(
        p.clone(),
        ContextElem::Opaque(p),
    ))))
}

/// The entries below the directory `root` that `filter` keeps, as `/`-separated paths
/// relative to `root`. The tree is walked as Nix walks it while serialising: each
/// directory's entries in name order, the filter called with an entry's absolute path and
/// type, and a directory it rejects not entered. A `root` that is not a directory has
/// nothing below it to filter.
fn filtered_entries(
    ev: &Evaluator,
    root: &str,
    filter: &Value,
    pos: Pos,
) -> Result<BTreeSet<String>> {
    let mut kept = BTreeSet::new();
    if ev.io.file_type(root, true) == Ok(FileType::Directory) {
        walk(ev, root, "", filter, pos, &mut kept)?;
    }
    Ok(kept)
}

fn walk(
    ev: &Evaluator,
    dir: &str,
    rel: &str,
    filter: &Value,
    pos: Pos,
    kept: &mut BTreeSet<String>,
) -> Result<()> {
    let mut entries = ev.io.read_dir(dir).map_err(|e| Error::from(e).at(pos))?;
    entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    for (name, ty) in entries {
        let path = format!("{}/{name}", dir.trim_end_matches('/'));
        let keep = ev
            .call_n(
                filter,
                &[Value::str(path.clone()), Value::str(ty.as_str())],
                pos,
            )
            .and_then(|r| ev.expect_bool(&r, pos))?;
        if keep {
            let child = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            if ty == FileType::Directory {
                walk(ev, &path, &child, filter, pos, kept)?;
            }
            kept.insert(child);
        }
    }
    Ok(())
}

pub(super) fn b_filter_source(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
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
pub(super) fn b_derivation_strict(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    super::derivation::derivation_strict(ev, &a[0], pos)
}
pub(super) fn b_derivation(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let f = super::derivation::derivation_fn(ev)?;
    ev.call(&f, a[0].clone(), pos)
}
/// `builtins.fetchurl`: the fixed-output derivation of `<nix/fetchurl.nix>`, built by the
/// store now (the evaluator itself has no network), its output a plain store path as in Nix.
/// Without a hash the result could not be known in advance: an error, as in pure evaluation.
pub(super) fn b_fetchurl(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let arg = ev.force(&a[0])?;
    let mut call = AttrsBuilder::default();
    let mut hashed = false;
    match &arg {
        Value::Attrs(attrs) => {
            for attr in attrs.sorted_by_name() {
                let name = attr.name.as_str();
                match name {
                    "url" | "name" => {}
                    "sha256" => hashed = true,
                    other => {
                        return Err(err(
                            format!("unsupported argument '{other}' to 'fetchurl'"),
                            pos,
                        ));
                    }
                }
                let value = s_of(ev, &attr.value, pos)?;
                if value.has_ctx() {
                    return Err(err(
                        format!("the {name} passed to 'fetchurl' may not refer to store paths"),
                        pos,
                    ));
                }
                call.add(name, Value::str(value.s.clone()));
            }
            if attrs.get(Sym::new("url")).is_none() {
                return Err(err("'url' argument required", pos));
            }
        }
        _ => {
            let url = s_of(ev, &arg, pos)?;
            call.add("url", Value::str(url.s.clone()));
        }
    }
    if !hashed {
        return Err(err(
            "in pure evaluation mode, 'fetchurl' requires a 'sha256' argument",
            pos,
        ));
    }
    let fetchurl = ev.import(crate::eval::corepkgs::FETCHURL_PATH, pos)?;
    let drv = ev.call(&fetchurl, call.build(), pos)?;
    let out = ev.coerce_to_string(&drv, pos, Coercion::INTERPOLATE)?;
    ev.build_context(&out, pos)?;
    Ok(Value::Str(Rc::new(NixString::with_elem(
        out.s.clone(),
        ContextElem::Opaque(out.s.clone()),
    ))))
}

/// `builtins.fetchTarball`: with a hash, the store path of the unpacked tarball, which the
/// store's host fetches (only if that path is not valid yet) and checks; the evaluator has
/// no network. Without a hash the result could not be known in advance: an error, as in
/// pure evaluation.
pub(super) fn b_fetch_tarball(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let arg = ev.force(&a[0])?;
    let (mut url, mut name, mut sha256) = (None, "source".to_owned(), None);
    let no_ctx = |what: &str, v: &Value| -> Result<String> {
        let s = s_of(ev, v, pos)?;
        if s.has_ctx() {
            return Err(err(
                format!("the {what} passed to 'fetchTarball' may not refer to store paths"),
                pos,
            ));
        }
        Ok(s.s.clone())
    };
    match &arg {
        Value::Attrs(attrs) => {
            for attr in attrs.sorted_by_name() {
                match attr.name.as_str() {
                    "url" => url = Some(no_ctx("url", &attr.value)?),
                    "name" => name = no_ctx("name", &attr.value)?,
                    "sha256" => sha256 = Some(no_ctx("sha256", &attr.value)?),
                    other => {
                        return Err(err(
                            format!("unsupported argument '{other}' to 'fetchTarball'"),
                            pos,
                        ));
                    }
                }
            }
        }
        v => url = Some(no_ctx("url", v)?),
    }
    let Some(url) = url else {
        return Err(err("'url' argument required", pos));
    };
    let Some(sha256) = sha256 else {
        return Err(err(
            "in pure evaluation mode, 'fetchTarball' requires a 'sha256' argument",
            pos,
        ));
    };
    let hash = NixHash::parse(&sha256, Some(HashAlgo::Sha256))
        .map_err(|e| err(format!("invalid hash '{sha256}': {e}"), pos))?;
    let path = ev
        .io
        .fetch_tarball(&url, &name, &hash)
        .map_err(|e| Error::from(e).at(pos))?;
    Ok(Value::Str(Rc::new(NixString::with_elem(
        path.clone(),
        ContextElem::Opaque(path),
    ))))
}

/// The fetchers that need a repository (git, Mercurial) or a flake reference: refused, since
/// the evaluator has no network of its own.
pub(super) fn b_fetch(_ev: &Evaluator, _a: &[Value], pos: Pos) -> Result<Value> {
    Err(err(
        "this fetcher is not available in a sandboxed evaluator (builtins.fetchurl, fetchTarball and <nix/fetchurl.nix> fetch, through the store, given a hash)",
        pos,
    ))
}
