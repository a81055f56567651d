//! Attribute sets: `attrNames`, `getAttr`, `removeAttrs`, `listToAttrs`, `mapAttrs`, `zipAttrsWith`, … .

use std::collections::{BTreeMap, HashSet};
use std::rc::Rc;

use super::{arg_err, bool_v, err, s_of};
use crate::error::Result;
use crate::eval::Evaluator;
use crate::source::{Pos, Sym};
use crate::value::*;

pub(super) fn b_attr_names(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let at = ev.force_attrs(&a[0], pos).map_err(|e| {
        e.frame(
            Pos::NONE,
            "while evaluating the argument passed to builtins.attrNames",
        )
    })?;
    Ok(Value::list(
        at.sorted_by_name()
            .iter()
            .map(|x| ev.name_str(x.name))
            .collect(),
    ))
}
pub(super) fn b_attr_values(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
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
pub(super) fn b_get_attr(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
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
pub(super) fn b_has_attr(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let n = s_of(ev, &a[0], pos).map_err(arg_err("first", "hasAttr"))?;
    let at = ev
        .force_attrs(&a[1], pos)
        .map_err(arg_err("second", "hasAttr"))?;
    bool_v(at.get(Sym::new(&n.s)).is_some())
}
pub(super) fn b_unsafe_get_attr_pos(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
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
pub(super) fn b_remove_attrs(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
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
pub(super) fn b_intersect_attrs(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
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
pub(super) fn b_cat_attrs(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
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
pub(super) fn b_list_to_attrs(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
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
            // The new attribute is where its value was defined, as in Nix.
            let p = at
                .get_attr(ev.sym.value)
                .map(|a| a.pos)
                .unwrap_or(Pos::NONE);
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
pub(super) fn b_map_attrs(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
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
                    Value::apply(f.clone(), ev.name_str(e.name)),
                    e.value.clone(),
                ),
                // New values have no definition site: Nix gives them no position.
                pos: Pos::NONE,
            })
            .collect(),
    })))
}
pub(super) fn b_zip_attrs_with(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
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
                value: Value::apply(Value::apply(f.clone(), ev.name_str(n)), Value::list(vs)),
                pos: Pos::NONE,
            })
            .collect(),
    })))
}
pub(super) fn b_function_args(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
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
pub(super) fn b_group_by(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
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
