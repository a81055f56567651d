//! The worker side of `evalbox eval-jobs` (`--eval-jobs`): what nix-eval-jobs' workers do.
//!
//! The expression is evaluated once (and called with the auto arguments); then each line of
//! standard input is a JSON list of attribute names, and is answered with one JSON line:
//! - `{"drvPath", "name", "outputs", "system"[, "meta"]}` when a derivation is there (its
//!   `.drv` is written to the store, as `nix-instantiate` would);
//! - `{"attrs": [...]}`: the names to visit below a set, in name order: those of the top
//!   set, of a set with `recurseForDerivations = true`, of every set with
//!   `--force-recurse`; the indices of a top-level list; none for anything else;
//! - `{"error": "..."}` when evaluating it failed.
//!
//! The host's collector walks the tree through these answers, many workers at once.

use std::io::{BufRead, Write};
use std::rc::Rc;

use serde_json::{Map, Value as Json};

use crate::builtins::formats::to_json;
use crate::diag::format_error;
use crate::error::{Error, Result};
use crate::eval::{Coercion, Evaluator};
use crate::source::{Pos, Sym};
use crate::value::{Attrs, NixString, Value};
use nix_args::Command;

/// `v` called with the auto arguments when it is a function (a set with `__functor` too),
/// as Nix's `autoCallFunction`; anything else as it is.
pub fn auto_call(ev: &Evaluator, v: Value, args: &Rc<Attrs>) -> Result<Value> {
    let f = ev.force(&v)?;
    match &f {
        Value::Lambda(c) => match &c.lambda.formals {
            Some(formals) => {
                let mut entries = Vec::new();
                for a in &args.entries {
                    if c.lambda.ellipsis || formals.iter().any(|f| f.0 == a.name) {
                        entries.push(a.clone());
                    }
                }
                let arg = Value::attrs(entries);
                ev.call(&f, arg, Pos::NONE)
            }
            None => Ok(f),
        },
        Value::Attrs(a) if a.get(Sym::new("__functor")).is_some() => {
            ev.call(&f, Value::Attrs(args.clone()), Pos::NONE)
        }
        _ => Ok(f),
    }
}

/// Answers the requests on standard input about `root`, until its end.
pub fn serve(ev: &Evaluator, cmd: &Command, root: Value, auto: &Rc<Attrs>) -> Result<()> {
    let root = auto_call(ev, root, auto)?;
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    for line in stdin.lock().lines() {
        let line = line.map_err(|e| Error::eval(format!("reading standard input: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let path: Vec<String> = serde_json::from_str(&line)
            .map_err(|e| Error::eval(format!("bad eval-jobs request '{line}': {e}")))?;
        let reply = match answer(ev, cmd, &root, &path, auto) {
            Ok(reply) => reply,
            Err(e) => {
                let msg = format_error(&e, cmd.show_trace);
                let mut m = Map::new();
                m.insert("error".into(), Json::String(msg.trim_end().to_owned()));
                m
            }
        };
        let text = serde_json::to_string(&Json::Object(reply)).expect("JSON of strings");
        writeln!(stdout, "{text}")
            .and_then(|()| stdout.flush())
            .map_err(|e| Error::eval(format!("writing standard output: {e}")))?;
    }
    Ok(())
}

fn answer(
    ev: &Evaluator,
    cmd: &Command,
    root: &Value,
    path: &[String],
    auto: &Rc<Attrs>,
) -> Result<Map<String, Json>> {
    // As Nix's `findAlongAttrPath`: each set on the way is called with the auto arguments
    // when it is a function; the value found is not.
    let mut v = root.clone();
    for (i, name) in path.iter().enumerate() {
        v = ev.force(&auto_call(ev, v, auto)?)?;
        v = match &v {
            Value::Attrs(a) => a.get(Sym::new(name)).cloned(),
            Value::List(l) => name.parse::<usize>().ok().and_then(|n| l.get(n).cloned()),
            _ => None,
        }
        .ok_or_else(|| {
            Error::eval(format!(
                "attribute '{name}' in selection path '{}' not found",
                path[..=i].join(".")
            ))
        })?;
    }
    let v = ev.force(&v)?;
    let mut reply = Map::new();
    let names: Vec<Json> = match &v {
        Value::Attrs(attrs) if ev.is_derivation(attrs)? => {
            return job(ev, cmd, attrs);
        }
        Value::Attrs(attrs) => {
            let mut recurse = cmd.force_recurse || path.is_empty();
            if !cmd.force_recurse
                && let Some(r) = attrs.get(Sym::new("recurseForDerivations"))
            {
                recurse = ev.expect_bool(r, Pos::NONE)?;
            }
            if recurse {
                attrs
                    .sorted_by_name()
                    .into_iter()
                    .map(|a| Json::String(a.name.as_str().to_owned()))
                    .collect()
            } else {
                Vec::new()
            }
        }
        Value::List(items) if path.is_empty() || cmd.force_recurse => (0..items.len())
            .map(|i| Json::String(i.to_string()))
            .collect(),
        _ => Vec::new(),
    };
    reply.insert("attrs".into(), Json::Array(names));
    Ok(reply)
}

/// A derivation's job: its `.drv` path (written to the store), name, system and outputs.
fn job(ev: &Evaluator, cmd: &Command, attrs: &Rc<Attrs>) -> Result<Map<String, Json>> {
    derivation_json(ev, attrs, cmd.meta)
}

/// A derivation as JSON: `drvPath` (its `.drv` written to the store), `name`, `system`,
/// `outputs` (name → path), and with `meta` its `meta` attributes that can be JSON.
pub fn derivation_json(ev: &Evaluator, attrs: &Rc<Attrs>, meta: bool) -> Result<Map<String, Json>> {
    let string =
        |v: &Value| -> Result<String> { Ok(ev.coerce_to_string(v, Pos::NONE, Coercion::AS_IS)?.s) };
    let get = |name: &str| attrs.get(Sym::new(name));
    let drv_path = string(
        get("drvPath").ok_or_else(|| Error::eval("derivation lacks a 'drvPath' attribute"))?,
    )?;
    let name = match get("name") {
        Some(n) => string(n)?,
        None => String::new(),
    };
    let system = match get("system") {
        Some(s) => string(s)?,
        None => "unknown".to_owned(),
    };
    let output_names = match get("outputs") {
        Some(list) => match ev.force(list)? {
            Value::List(items) => items.iter().map(&string).collect::<Result<Vec<_>>>()?,
            other => {
                return Err(Error::eval(format!(
                    "the 'outputs' of a derivation should be a list but is {}",
                    other.type_desc()
                )));
            }
        },
        None => vec!["out".to_owned()],
    };
    let mut outputs = Map::new();
    for output in output_names {
        let path = match get(&output) {
            Some(o) => match ev.force(o)? {
                Value::Attrs(o) => match o.get(Sym::new("outPath")) {
                    Some(p) => Json::String(string(p)?),
                    None => Json::Null,
                },
                _ => Json::Null,
            },
            None => Json::Null,
        };
        outputs.insert(output, path);
    }
    let mut reply = Map::new();
    reply.insert("drvPath".into(), Json::String(drv_path));
    if meta {
        let mut meta = Map::new();
        if let Some(m) = get("meta")
            && let Value::Attrs(m) = ev.force(m)?
        {
            for a in m.sorted_by_name() {
                // As nix-eval-jobs: a meta attribute that cannot be JSON is left out.
                let mut ctx = NixString::default();
                if let Ok(text) = to_json(ev, &a.value, Pos::NONE, &mut ctx)
                    && let Ok(value) = serde_json::from_str(&text)
                {
                    meta.insert(a.name.as_str().to_owned(), value);
                }
            }
        }
        reply.insert("meta".into(), Json::Object(meta));
    }
    reply.insert("name".into(), Json::String(name));
    reply.insert("outputs".into(), Json::Object(outputs));
    reply.insert("system".into(), Json::String(system));
    Ok(reply)
}
