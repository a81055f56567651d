//! Lists: `length`, `map`, `filter`, `foldl'`, `genList`, `sort`, `genericClosure`, … .

use super::{arg_err, bool_v, err, value_pos};
use crate::error::{Error, Result};
use crate::eval::Evaluator;
use crate::source::{Pos, Sym};
use crate::value::*;

pub(super) fn b_length(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    Ok(Value::Int(
        ev.force_list(&a[0], pos)
            .map_err(arg_err("first", "length"))?
            .len() as i64,
    ))
}
pub(super) fn b_head(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
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
pub(super) fn b_tail(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
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
pub(super) fn b_elem_at(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
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
pub(super) fn b_map(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let l = ev
        .force_list(&a[1], pos)
        .map_err(arg_err("second", "map"))?;
    // An empty list is returned as it is, without forcing the function (current Nix).
    if l.is_empty() {
        return Ok(a[1].clone());
    }
    ev.expect_function(&a[0], pos)
        .map_err(arg_err("first", "map"))?;
    Ok(Value::list(
        l.iter()
            .map(|x| Value::apply(a[0].clone(), x.clone()))
            .collect(),
    ))
}
pub(super) fn b_filter(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let l = ev
        .force_list(&a[1], pos)
        .map_err(arg_err("second", "filter"))?;
    // An empty list is returned as it is, without forcing the function (current Nix).
    if l.is_empty() {
        return Ok(a[1].clone());
    }
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
pub(super) fn b_elem(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let l = ev
        .force_list(&a[1], pos)
        .map_err(arg_err("second", "elem"))?;
    for x in l.iter() {
        if ev.equal_elem(&a[0], x, pos)? {
            return bool_v(true);
        }
    }
    bool_v(false)
}
pub(super) fn b_concat_lists(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
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
pub(super) fn b_concat_map(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
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
pub(super) fn b_foldl(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
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
pub(super) fn b_all(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
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
pub(super) fn b_any(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
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
pub(super) fn b_gen_list(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
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
pub(super) fn b_partition(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
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
pub(super) fn b_sort(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
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

pub(super) fn b_generic_closure(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
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
        // The element is shown only when the call fails, as it is then (as Nix does).
        let calling = |x: Error| {
            x.frame(
                Pos::NONE,
                format!(
                    "while calling operator on genericClosure element {}",
                    ev.show_value(&e)
                ),
            )
        };
        let next = ev.call(&op, e.clone(), pos).map_err(calling)?;
        work.extend(ev.force_list(&next, pos).map_err(|x| calling(x.frame(Pos::NONE, "while evaluating the return value of the `operator` passed to builtins.genericClosure")))?.iter().cloned());
    }
    Ok(Value::list(done))
}
