//! Strings and versions: `toString`, `substring`, `replaceStrings`, `match`, `split`, `compareVersions`, … .

use std::rc::Rc;

use super::{arg_err, err, s_of, str_ctx};
use crate::error::Result;
use crate::eval::{Coercion, Evaluator};
use crate::source::Pos;
use crate::value::*;

pub(super) fn b_to_string(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    Ok(Value::Str(Rc::new(
        ev.coerce_to_string(&a[0], pos, Coercion::TO_STRING)
            .map_err(arg_err("first", "toString"))?,
    )))
}
pub(super) fn b_string_length(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    Ok(Value::Int(
        ev.coerce_to_string(&a[0], pos, Coercion::INTERPOLATE)
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
pub(super) fn b_substring(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let start = ev.expect_int(&a[0], pos).map_err(|e| {
        e.frame(
            Pos::NONE,
            "while evaluating the first argument (the start offset) passed to builtins.substring",
        )
    })?;
    let len = ev.expect_int(&a[1], pos).map_err(|e| e.frame(Pos::NONE, "while evaluating the second argument (the substring length) passed to builtins.substring"))?;
    let s = ev
        .coerce_to_string(&a[2], pos, Coercion::INTERPOLATE)
        .map_err(|e| {
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
pub(super) fn b_concat_strings_sep(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let sep = ev.expect_string(&a[0], pos).map(|s| (*s).clone()).map_err(|e| e.frame(Pos::NONE, "while evaluating the first argument (the separator string) passed to builtins.concatStringsSep"))?;
    let l = ev.force_list(&a[1], pos).map_err(|e| e.frame(Pos::NONE, "while evaluating the second argument (the list of strings to concat) passed to builtins.concatStringsSep"))?;
    let mut out = NixString::default();
    out.merge_ctx(&sep);
    for (i, x) in l.iter().enumerate() {
        if i > 0 {
            out.s.push_str(&sep.s);
        }
        ev.force(x).and_then(|x| ev.append_coerced(&mut out, &x, pos, Coercion::INTERPOLATE, None)).map_err(|e| e.frame(Pos::NONE, "while evaluating one element of the list of strings to concat passed to builtins.concatStringsSep"))?;
    }
    Ok(Value::Str(Rc::new(out)))
}
pub(super) fn b_replace_strings(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
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
pub(super) fn b_base_name_of(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let s = ev
        .coerce_to_string(&a[0], pos, Coercion::AS_IS)
        .map_err(arg_err("first", "baseNameOf"))?;
    let t = s.s.strip_suffix('/').unwrap_or(&s.s);
    let base = match t.rfind('/') {
        Some(i) => &t[i + 1..],
        None => t,
    };
    Ok(str_ctx(base.to_owned(), s.ctx.clone()))
}
pub(super) fn b_dir_of(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let v = ev.force(&a[0])?;
    let s = ev.coerce_to_string(&v, pos, Coercion::AS_IS)?;
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
pub(super) fn b_to_path(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let p = ev
        .coerce_to_path(&a[0], pos)
        .map(|s| s.s)
        .map_err(arg_err("first", "toPath"))?;
    Ok(Value::str(crate::syntax::path::canon_path(&p)))
}
pub(super) fn b_get_env(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
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

pub(super) fn b_compare_versions(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let x = s_of(ev, &a[0], pos).map_err(arg_err("first", "compareVersions"))?;
    let y = s_of(ev, &a[1], pos).map_err(arg_err("second", "compareVersions"))?;
    Ok(Value::Int(compare_versions(&x.s, &y.s)))
}
pub(super) fn b_split_version(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let s = s_of(ev, &a[0], pos).map_err(arg_err("first", "splitVersion"))?;
    Ok(Value::list(
        split_version(&s.s).into_iter().map(Value::str).collect(),
    ))
}
pub(super) fn b_parse_drv_name(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
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

pub(super) fn b_match(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let re = s_of(ev, &a[0], pos).map_err(arg_err("first", "match"))?;
    let s = ev
        .expect_string(&a[1], pos)
        .map(|s| (*s).clone())
        .map_err(arg_err("second", "match"))?;
    let r = super::regex::compile(&re.s, true).map_err(|e| err(e, pos))?;
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
pub(super) fn b_split(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let re = s_of(ev, &a[0], pos).map_err(arg_err("first", "split"))?;
    let s = ev
        .expect_string(&a[1], pos)
        .map(|s| (*s).clone())
        .map_err(arg_err("second", "split"))?;
    let r = super::regex::compile(&re.s, false).map_err(|e| err(e, pos))?;
    // POSIX picks the longest match at the leftmost position; the `regex` crate the first
    // alternative. Only alternations can tell them apart, so only then look for a longer
    // anchored match.
    let longest = if re.s.contains('|') {
        Some(super::regex::compile(&re.s, true).map_err(|e| err(e, pos))?)
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
