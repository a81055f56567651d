//! Nix strings: text with a context, the set of store paths the text refers to and how
//! (Nix's `NixStringContextElem`). Derivations get their inputs from it, and `getContext`,
//! `appendContext` and friends expose it. Plain data: the compiler's string constants and the
//! evaluator's values share it.

use std::collections::BTreeSet;
use std::fmt;

/// One element of a string's context.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ContextElem {
    /// A store path used as such: a source copied to the store, a `toFile` result, an
    /// output path named directly.
    Opaque(String),
    /// A derivation together with all its outputs (its `drvPath`).
    DrvDeep(String),
    /// One output of a derivation (its `outPath`).
    Built {
        /// The `.drv` path.
        drv: String,
        /// The output's name.
        output: String,
    },
}

impl ContextElem {
    /// The store path the element refers to (the `.drv` for derivations).
    pub fn path(&self) -> &str {
        match self {
            ContextElem::Opaque(p) | ContextElem::DrvDeep(p) => p,
            ContextElem::Built { drv, .. } => drv,
        }
    }
}

impl fmt::Display for ContextElem {
    /// Nix's encoding: `/nix/store/…`, `=/nix/store/….drv`, `!out!/nix/store/….drv`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContextElem::Opaque(p) => f.write_str(p),
            ContextElem::DrvDeep(p) => write!(f, "={p}"),
            ContextElem::Built { drv, output } => write!(f, "!{output}!{drv}"),
        }
    }
}

/// A string's context.
pub type Context = BTreeSet<ContextElem>;

/// A string with its context.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NixString {
    /// The text.
    pub s: String,
    /// The context; `None` when empty (boxed to keep the string small).
    #[allow(clippy::box_collection)]
    pub ctx: Option<Box<Context>>,
}

impl NixString {
    /// A string without context.
    pub fn plain(s: impl Into<String>) -> Self {
        NixString {
            s: s.into(),
            ctx: None,
        }
    }

    /// A string whose context is the one element `elem`.
    pub fn with_elem(s: impl Into<String>, elem: ContextElem) -> Self {
        NixString {
            s: s.into(),
            ctx: Some(Box::new(std::iter::once(elem).collect())),
        }
    }

    /// Whether the context is empty.
    pub fn has_ctx(&self) -> bool {
        self.ctx.as_ref().is_some_and(|c| !c.is_empty())
    }

    /// The context's elements.
    pub fn context(&self) -> impl Iterator<Item = &ContextElem> {
        self.ctx.iter().flat_map(|c| c.iter())
    }

    /// Adds another string's context to this one.
    pub fn merge_ctx(&mut self, other: &NixString) {
        if let Some(o) = &other.ctx {
            self.ctx
                .get_or_insert_with(Default::default)
                .extend(o.iter().cloned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_print_in_nix_encoding() {
        let p = "/nix/store/00000000000000000000000000000000-x.drv";
        assert_eq!(ContextElem::Opaque(p.into()).to_string(), p);
        assert_eq!(ContextElem::DrvDeep(p.into()).to_string(), format!("={p}"));
        let built = ContextElem::Built {
            drv: p.into(),
            output: "dev".into(),
        };
        assert_eq!(built.to_string(), format!("!dev!{p}"));
        assert_eq!(built.path(), p);
    }
}
