//! Reading files, all through the I/O boundary: `import`, `scopedImport`, `readFile`,
//! `readDir`, `readFileType`, `pathExists`, `findFile`, `hashFile`; and `hashString`,
//! `convertHash`.

use std::cell::RefCell;
use std::rc::Rc;

use super::{arg_err, err, path_arg, s_of};
use crate::error::{Error, Result};
use crate::eval::{Coercion, Evaluator};
use crate::io::{FileType, IoError};
use crate::source::{Origin, Pos, Sym};
use crate::syntax::path::{canon_path, parent_dir};
use crate::value::*;

pub(super) fn b_import(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let p = path_arg(ev, &a[0], pos).map_err(arg_err("first", "import"))?;
    ev.import(&p, pos)
}
pub(super) fn b_scoped_import(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let scope = ev
        .force_attrs(&a[0], pos)
        .map_err(arg_err("first", "scopedImport"))?;
    let p = path_arg(ev, &a[1], pos).map_err(arg_err("second", "scopedImport"))?;
    let p = ev.import_path(&p, pos)?;
    let text = ev.read_file(&p, pos)?;
    let names: Vec<Sym> = scope.entries.iter().map(|e| e.name).collect();
    let ir = ev.compile_source(
        &text,
        Origin::File(p.clone()),
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
pub(super) fn b_read_file(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let p = path_arg(ev, &a[0], pos).map_err(arg_err("first", "readFile"))?;
    let bytes = ev.io.read_file(&p).map_err(|e| Error::from(e).at(pos))?;
    Ok(Value::str(String::from_utf8_lossy(&bytes).into_owned()))
}
pub(super) fn b_path_exists(ev: &Evaluator, a: &[Value], _pos: Pos) -> Result<Value> {
    let s = ev.realise_path(&a[0])?;
    let must_dir = s.ends_with('/') || s.ends_with("/.");
    let p = canon_path(&s);
    // A path the sandbox does not grant does not exist, as in Nix's restricted and pure
    // modes (reading it is an error that says how to grant it). A final symlink is not
    // followed (current Nix: a dangling or looping link exists), unless a trailing `/` asks
    // for a directory.
    Ok(Value::Bool(match ev.io.file_type(&p, must_dir) {
        Ok(t) => !must_dir || t == FileType::Directory,
        Err(_) => false,
    }))
}
pub(super) fn b_read_file_type(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let p = canon_path(&ev.realise_path(&a[0])?);
    match ev.io.file_type(&p, false) {
        Ok(t) => Ok(Value::str(t.as_str())),
        Err(e @ IoError::Refused(_)) => Err(Error::from(e).at(pos)),
        Err(_) => Err(err(format!("path '{p}' does not exist"), pos)),
    }
}
pub(super) fn b_read_dir(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let p = path_arg(ev, &a[0], pos).map_err(arg_err("first", "readDir"))?;
    let entries = ev.io.read_dir(&p).map_err(|e| Error::from(e).at(pos))?;
    Ok(Value::attrs(
        entries
            .into_iter()
            .map(|(name, t)| Attr {
                name: Sym::new(&name),
                value: Value::str(t.as_str()),
                pos: Pos::NONE,
            })
            .collect(),
    ))
}
pub(super) fn b_find_file(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
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
        let path = ev.coerce_to_string(path, pos, Coercion::AS_IS)?.s;
        entries.push(nix_args::SearchPathEntry {
            prefix: (!prefix.is_empty()).then_some(prefix),
            path,
        });
    }
    ev.find_file_in(&entries, &name.s, pos)
}

pub(super) fn b_hash_string(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
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
pub(super) fn b_hash_file(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let algo = s_of(ev, &a[0], pos).map_err(arg_err("first", "hashFile"))?;
    let p = path_arg(ev, &a[1], pos).map_err(arg_err("second", "hashFile"))?;
    let algo: nix_formats::hash::HashAlgo = algo.s.parse().map_err(|_| {
        err(format!("unknown hash algorithm '{}', expect 'blake3', 'md5', 'sha1', 'sha256', or 'sha512'", algo.s), pos)
    })?;
    let data = ev.io.read_file(&p).map_err(|e| match e {
        IoError::Refused(_) => Error::from(e).at(pos),
        _ => err(format!("path '{p}' does not exist"), pos),
    })?;
    Ok(Value::str(
        nix_formats::hash::NixHash::of(algo, &data).to_base16(),
    ))
}
pub(super) fn b_convert_hash(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
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
