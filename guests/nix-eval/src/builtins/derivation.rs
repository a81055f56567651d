//! `derivationStrict` and the `derivation` wrapper: turns an attribute set into a
//! [`nix_formats::Derivation`] (its inputs from the string contexts of its attributes) and
//! hands it to the I/O boundary, which computes its output paths and writes it.

use std::collections::BTreeSet;
use std::rc::Rc;

use nix_formats::{Derivation, DerivationOutput, FileIngestionMethod, NixHash, StoreDir};

use crate::error::{Error, ErrorKind, Result};
use crate::eval::{Coercion, Evaluator};
use crate::source::{Origin, Pos, Sym};
use crate::value::{AttrsBuilder, ContextElem, NixString, Value};

/// The `derivation` function as Nix defines it on top of `derivationStrict`: every output
/// becomes an attribute set sharing the input attributes, with `outPath`, `drvPath`,
/// `type = "derivation"` and `outputName`.
pub const DERIVATION_NIX: &str = r#"
drvAttrs@{ outputs ? [ "out" ], ... }:
let
  strict = derivationStrict drvAttrs;
  common = drvAttrs // builtins.listToAttrs outputsList // {
    all = map (o: o.value) outputsList;
    inherit drvAttrs;
  };
  toOutput = outputName: {
    name = outputName;
    value = common // {
      outPath = builtins.getAttr outputName strict;
      drvPath = strict.drvPath;
      type = "derivation";
      inherit outputName;
    };
  };
  outputsList = map toOutput outputs;
in
(builtins.head outputsList).value
"#;

fn err(msg: impl Into<String>, pos: Pos) -> Error {
    Error::new(ErrorKind::Eval, msg, pos)
}

fn store_dir(ev: &Evaluator, pos: Pos) -> Result<StoreDir> {
    StoreDir::new(ev.io.store_dir()).map_err(|e| err(e.to_string(), pos))
}

/// The `derivation` function (Nix code over `derivationStrict`), compiled on first use.
pub(super) fn derivation_fn(ev: &Evaluator) -> Result<Value> {
    if let Some(f) = &*ev.derivation_fn.borrow() {
        return Ok(f.clone());
    }
    let ir = ev.compile_source(
        DERIVATION_NIX,
        Origin::File("«nix-internal»/derivation-internal.nix".into()),
        "/",
        None,
    )?;
    let f = ev.eval(&ir, &ev.base_env.clone())?;
    *ev.derivation_fn.borrow_mut() = Some(f.clone());
    Ok(f)
}

/// The closure of the store path `p`: it and everything it refers to, recursively.
fn closure(ev: &Evaluator, p: &str) -> std::result::Result<BTreeSet<String>, crate::io::IoError> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![p.to_owned()];
    while let Some(q) = todo.pop() {
        if seen.insert(q.clone()) {
            todo.extend(ev.io.references(&q)?);
        }
    }
    Ok(seen)
}

/// `builtins.derivationStrict`.
pub fn derivation_strict(ev: &Evaluator, arg: &Value, pos: Pos) -> Result<Value> {
    let attrs = ev.force_attrs(arg, pos).map_err(|e| {
        e.frame(
            Pos::NONE,
            "while evaluating the argument passed to builtins.derivationStrict",
        )
    })?;
    let dir = store_dir(ev, pos)?;
    let name_v = attrs.get(Sym::new("name")).ok_or_else(|| {
        err("attribute 'name' missing", Pos::NONE).frame(
            Pos::NONE,
            "in the attrset passed as argument to builtins.derivationStrict",
        )
    })?;
    let name_at = attrs
        .get_attr(Sym::new("name"))
        .map(|a| a.pos)
        .unwrap_or(Pos::NONE);
    let name = ev
        .expect_string(name_v, pos)
        .map_err(|e| {
            e.frame(
                Pos::NONE,
                "while evaluating the `name` attribute passed to builtins.derivationStrict",
            )
            .frame(name_at, "while evaluating the derivation attribute 'name'")
        })?
        .s
        .clone();
    let name_pos = attrs
        .get_attr(Sym::new("name"))
        .map(|a| a.pos)
        .unwrap_or(Pos::NONE);
    derivation_strict_named(ev, &attrs, &dir, name.clone(), pos).map_err(|e| {
        let at = name_pos.resolve().map(|l| l.to_string()).unwrap_or_default();
        e.frame(
            Pos::NONE,
            format!("while evaluating derivation '{name}'\n         whose name attribute is located at {at}"),
        )
    })
}

fn derivation_strict_named(
    ev: &Evaluator,
    attrs: &crate::value::Attrs,
    dir: &StoreDir,
    name: String,
    pos: Pos,
) -> Result<Value> {
    let dir = dir.clone();
    if name.ends_with(".drv") {
        return Err(err(
            "derivation names are not allowed to end in '.drv'",
            pos,
        ));
    }
    let ignore_nulls = match attrs.get(Sym::new("__ignoreNulls")) {
        Some(v) => ev.expect_bool(v, pos).map_err(|e| {
            e.frame(Pos::NONE, "while evaluating the `__ignoreNulls` attribute passed to builtins.derivationStrict")
        })?,
        None => false,
    };
    let structured = match attrs.get(Sym::new("__structuredAttrs")) {
        Some(v) => ev.expect_bool(v, pos).map_err(|e| {
            e.frame(Pos::NONE, "while evaluating the `__structuredAttrs` attribute passed to builtins.derivationStrict")
        })?,
        None => false,
    };
    let mut drv = Derivation::default();
    let mut ctx = NixString::default();
    let mut outputs: Vec<String> = vec!["out".into()];
    let (mut hash, mut hash_algo, mut hash_mode) = (None::<String>, None::<String>, None::<String>);
    let mut json = serde_json::Map::new();
    for at in attrs.sorted_by_name() {
        let key = at.name.as_str();
        if key == "__ignoreNulls" {
            continue;
        }
        let v = ev.force(&at.value)?;
        if ignore_nulls && matches!(v, Value::Null) {
            continue;
        }
        let what = |e: Error| {
            e.frame(
                at.pos,
                format!("while evaluating attribute '{key}' of derivation '{name}'"),
            )
        };
        if key == "__contentAddressed" || key == "__impure" {
            let on = ev.expect_bool(&v, pos).map_err(what)?;
            let feature = if key == "__impure" {
                "impure-derivations"
            } else {
                "ca-derivations"
            };
            if on && !ev.opts.experimental.iter().any(|f| f == feature) {
                return Err(err(
                    format!(
                        "experimental Nix feature '{feature}' is disabled; add '--extra-experimental-features {feature}' to enable it"
                    ),
                    pos,
                ));
            }
        }
        if key == "args" {
            for a in ev.force_list(&v, pos).map_err(what)?.iter() {
                let s = ev
                    .coerce_to_string(a, pos, Coercion::DERIVATION)
                    .map_err(|e| {
                        what(e.frame(
                            Pos::NONE,
                            "while evaluating an element of the argument list",
                        ))
                    })?;
                ctx.merge_ctx(&s);
                drv.args.push(s.s);
            }
            continue;
        }
        if structured && key != "__structuredAttrs" {
            let mut c = NixString::default();
            let j = super::formats::to_json(ev, &v, pos, &mut c).map_err(what)?;
            ctx.merge_ctx(&c);
            json.insert(
                key.to_owned(),
                serde_json::from_str(&j).map_err(|e| err(e.to_string(), pos))?,
            );
        }
        if key == "outputs" {
            // A list of names with structured attributes, else a string of them.
            let names: Vec<String> = if structured {
                let list = ev.force_list(&v, pos).map_err(what)?;
                list.iter()
                    .map(|o| ev.expect_string(o, pos).map(|s| s.s.clone()))
                    .collect::<Result<_>>()
                    .map_err(what)?
            } else {
                let all = ev
                    .coerce_to_string(&v, pos, Coercion::DERIVATION)
                    .map_err(what)?;
                all.s.split_whitespace().map(str::to_owned).collect()
            };
            outputs.clear();
            for o in names {
                if o == "drvPath" || o == "drv" {
                    return Err(what(err(
                        format!("invalid derivation output name '{o}'"),
                        Pos::NONE,
                    )));
                }
                if outputs.contains(&o) {
                    return Err(what(err(
                        format!("duplicate derivation output '{o}'"),
                        Pos::NONE,
                    )));
                }
                outputs.push(o);
            }
            if outputs.is_empty() {
                return Err(what(err(
                    "derivation cannot have an empty set of outputs",
                    Pos::NONE,
                )));
            }
        }
        let s = if key == "outputs" && !structured {
            outputs.join(" ")
        } else if structured {
            match &v {
                Value::Str(s) => s.s.clone(),
                Value::Int(i) => i.to_string(),
                _ => String::new(),
            }
        } else {
            let s = ev
                .coerce_to_string(&v, pos, Coercion::DERIVATION)
                .map_err(what)?;
            ctx.merge_ctx(&s);
            s.s
        };
        match key {
            "builder" => drv.builder = s.clone(),
            "system" => drv.platform = s.clone(),
            "outputHash" => hash = Some(s.clone()),
            "outputHashAlgo" => hash_algo = Some(s.clone()),
            "outputHashMode" => {
                if !matches!(s.as_str(), "flat" | "recursive" | "nar" | "text" | "git") {
                    return Err(what(err(
                        format!("invalid value '{s}' for 'outputHashMode' attribute"),
                        Pos::NONE,
                    )));
                }
                hash_mode = Some(s.clone())
            }
            _ => {}
        }
        if !structured {
            drv.env.insert(key.to_owned(), s);
        }
    }
    if structured {
        drv.env
            .insert("__json".into(), serde_json::Value::Object(json).to_string());
    }
    if drv.builder.is_empty() && attrs.get(Sym::new("builder")).is_none() {
        return Err(err("required attribute 'builder' missing", pos));
    }
    if attrs.get(Sym::new("system")).is_none() {
        return Err(err("required attribute 'system' missing", pos));
    }
    // Context: input sources and input derivations.
    for elem in ctx.context() {
        let parse = |p: &str| dir.parse(p).map_err(|e| err(e.to_string(), pos));
        match elem {
            ContextElem::Opaque(p) => {
                drv.input_sources.insert(parse(p)?);
            }
            ContextElem::DrvDeep(p) => {
                // The whole closure of the `.drv`, as Nix does: every path in it is an input
                // source, every derivation in it an input with all its outputs.
                for q in closure(ev, p).map_err(|e| Error::from(e).at(pos))? {
                    let sp = parse(&q)?;
                    if sp.is_derivation() {
                        let outputs = ev
                            .io
                            .derivation_outputs(&q)
                            .map_err(|e| Error::from(e).at(pos))?;
                        drv.input_derivations
                            .entry(sp.clone())
                            .or_default()
                            .extend(outputs);
                    }
                    drv.input_sources.insert(sp);
                }
            }
            ContextElem::Built { drv: p, output } => {
                drv.input_derivations
                    .entry(parse(p)?)
                    .or_default()
                    .insert(output.clone());
            }
        }
    }
    if let Some(h) = hash {
        if outputs != ["out"] {
            return Err(err(
                "multiple outputs are not supported in fixed-output derivations",
                pos,
            ));
        }
        let algo = match hash_algo.as_deref() {
            None | Some("") => None,
            Some(a) => Some(
                a.parse()
                    .map_err(|e: nix_formats::hash::Error| err(e.to_string(), pos))?,
            ),
        };
        let h = NixHash::parse(&h, algo).map_err(|e| err(e.to_string(), pos))?;
        let method = match hash_mode.as_deref() {
            None | Some("flat") => FileIngestionMethod::Flat,
            Some("recursive") | Some("nar") => FileIngestionMethod::Recursive,
            Some(m) => {
                return Err(err(
                    format!("invalid value '{m}' for 'outputHashMode' attribute"),
                    pos,
                ));
            }
        };
        let o = DerivationOutput::fixed(&dir, &name, "out", method, h)
            .map_err(|e| err(e.to_string(), pos))?;
        drv.outputs.insert("out".into(), o);
    } else {
        for o in &outputs {
            drv.outputs.insert(o.clone(), DerivationOutput::Deferred);
        }
    }
    let added = ev.io.add_derivation(drv, &name).map_err(|e| {
        Error::from(e)
            .at(pos)
            .frame(pos, format!("while computing the output paths of '{name}'"))
    })?;
    let mut out = AttrsBuilder::default();
    out.add(
        "drvPath",
        Value::Str(Rc::new(NixString::with_elem(
            added.drv_path.clone(),
            ContextElem::DrvDeep(added.drv_path.clone()),
        ))),
    );
    for (o, path) in added.outputs {
        let elem = ContextElem::Built {
            drv: added.drv_path.clone(),
            output: o.clone(),
        };
        out.add(&o, Value::Str(Rc::new(NixString::with_elem(path, elem))));
    }
    Ok(out.build())
}
