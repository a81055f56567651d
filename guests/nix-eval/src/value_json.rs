//! `--value-json`: a value as the `evalbox:guest/nix` interface returns it to a guest in
//! another language. Two lines of JSON (neither holds a newline), so that the host reads the
//! first and passes the second on as it is:
//! - the context of every string in the value, a list in Nix's encoding (`/nix/store/…`,
//!   `=/nix/store/….drv`, `!out!/nix/store/….drv`), sorted;
//! - the value deeply evaluated, as `builtins.toJSON` writes it, except that a derivation is
//!   `{"type": "derivation", "drvPath", "name", "system", "outputs"}` (its `.drv` written to
//!   the store, as `nix-instantiate` would) and is not evaluated further.

use serde_json::{Map, Value as Json};

use crate::builtins::formats::to_json;
use crate::error::{Error, Result};
use crate::eval::Evaluator;
use crate::jobs::derivation_json;
use crate::source::Pos;
use crate::value::{NixString, Value};

/// `v` as `--value-json` prints it.
pub fn render(ev: &Evaluator, v: &Value) -> Result<String> {
    let mut ctx = NixString::default();
    let value = walk(ev, v, &mut ctx)?;
    let context: Vec<Json> = ctx.context().map(|c| Json::String(c.to_string())).collect();
    let text = |j: &Json| serde_json::to_string(j).expect("JSON of JSON values");
    Ok(format!("{}\n{}", text(&Json::Array(context)), text(&value)))
}

fn walk(ev: &Evaluator, v: &Value, ctx: &mut NixString) -> Result<Json> {
    let v = ev.force(v)?;
    match &v {
        Value::Attrs(attrs) if ev.is_derivation(attrs)? => {
            let mut object = Map::new();
            object.insert("type".into(), Json::String("derivation".into()));
            object.extend(derivation_json(ev, attrs, false)?);
            Ok(Json::Object(object))
        }
        Value::Attrs(attrs)
            if attrs.get(ev.sym.to_string).is_none() && attrs.get(ev.sym.out_path).is_none() =>
        {
            let mut object = Map::new();
            for a in attrs.sorted_by_name() {
                let value = walk(ev, &a.value, ctx).map_err(|e| {
                    e.frame(a.pos, format!("while evaluating attribute '{}'", a.name))
                })?;
                object.insert(a.name.as_str().to_owned(), value);
            }
            Ok(Json::Object(object))
        }
        Value::List(items) => items
            .iter()
            .enumerate()
            .map(|(i, x)| {
                walk(ev, x, ctx).map_err(|e| {
                    e.frame(
                        Pos::NONE,
                        format!("while evaluating list element at index {i}"),
                    )
                })
            })
            .collect::<Result<Vec<_>>>()
            .map(Json::Array),
        // Scalars, strings, paths, and sets that turn into strings: as `toJSON` has them.
        _ => {
            let text = to_json(ev, &v, Pos::NONE, ctx)?;
            serde_json::from_str(&text)
                .map_err(|e| Error::eval(format!("cannot represent {text} in JSON: {e}")))
        }
    }
}
