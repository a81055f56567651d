//! String contexts: `getContext`, `appendContext`, `hasContext`, `unsafeDiscardStringContext`, … .

use std::collections::BTreeMap;
use std::rc::Rc;

use super::{arg_err, bool_v, err, s_of, str_ctx};
use crate::error::Result;
use crate::eval::{Coercion, Evaluator};
use crate::source::{Pos, Sym};
use crate::value::*;

pub(super) fn b_discard_context(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let s = ev
        .coerce_to_string(&a[0], pos, Coercion::INTERPOLATE)
        .map_err(arg_err("first", "unsafeDiscardStringContext"))?;
    Ok(Value::str(s.s))
}
pub(super) fn b_has_context(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    bool_v(
        s_of(ev, &a[0], pos)
            .map_err(arg_err("first", "hasContext"))?
            .has_ctx(),
    )
}
pub(super) fn b_discard_output_dep(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let s = ev
        .coerce_to_string(&a[0], pos, Coercion::INTERPOLATE)
        .map_err(arg_err("first", "unsafeDiscardOutputDependency"))?;
    let ctx = s.ctx.map(|c| {
        Box::new(
            c.into_iter()
                .map(|e| match e {
                    ContextElem::DrvDeep(p) => ContextElem::Opaque(p),
                    e => e,
                })
                .collect(),
        )
    });
    Ok(str_ctx(s.s, ctx))
}
pub(super) fn b_add_drv_output_deps(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let s = ev
        .coerce_to_string(&a[0], pos, Coercion::INTERPOLATE)
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
    match ctx.iter().next().expect("one") {
        ContextElem::DrvDeep(_) => Ok(str_ctx(s.s, s.ctx)),
        ContextElem::Built { drv, output } => Err(err(
            format!(
                "`addDrvOutputDependencies` can only act on derivations, not on a derivation output such as '{output}' of '{drv}'"
            ),
            pos,
        )),
        ContextElem::Opaque(p) if !p.ends_with(".drv") => {
            Err(err(format!("path '{p}' is not a derivation"), pos))
        }
        ContextElem::Opaque(p) => Ok(Value::Str(Rc::new(NixString::with_elem(
            s.s,
            ContextElem::DrvDeep(p.clone()),
        )))),
    }
}
pub(super) fn b_get_context(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let s = ev
        .coerce_to_string(&a[0], pos, Coercion::INTERPOLATE)
        .map_err(arg_err("first", "getContext"))?;
    #[derive(Default)]
    struct Info {
        path: bool,
        all: bool,
        outputs: Vec<String>,
    }
    let mut m: BTreeMap<String, Info> = BTreeMap::new();
    for e in s.context() {
        let info = m.entry(e.path().to_owned()).or_default();
        match e {
            ContextElem::Opaque(_) => info.path = true,
            ContextElem::DrvDeep(_) => info.all = true,
            ContextElem::Built { output, .. } => info.outputs.push(output.clone()),
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
pub(super) fn b_append_context(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let s = s_of(ev, &a[0], pos).map_err(arg_err("first", "appendContext"))?;
    let c = ev
        .force_attrs(&a[1], pos)
        .map_err(arg_err("second", "appendContext"))?;
    let mut out = (*s).clone();
    let ctx = out.ctx.get_or_insert_with(Default::default);
    for e in &c.entries {
        let p = e.name.as_str();
        if !p.starts_with(ev.io.store_dir()) {
            return Err(err(format!("context key '{p}' is not a store path"), pos));
        }
        let info = ev.force_attrs(&e.value, pos)?;
        if let Some(v) = info.get(Sym::new("path"))
            && ev.expect_bool(v, pos)?
        {
            ctx.insert(ContextElem::Opaque(p.to_owned()));
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
            ctx.insert(ContextElem::DrvDeep(p.to_owned()));
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
                ctx.insert(ContextElem::Built {
                    drv: p.to_owned(),
                    output: s_of(ev, o, pos)?.s.clone(),
                });
            }
        }
    }
    Ok(Value::Str(Rc::new(out)))
}
