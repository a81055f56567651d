//! Attribute sets: immutable vectors sorted by symbol (binary search, cheap `//` merges).

use super::Value;
use crate::source::{Pos, Sym};

/// One attribute.
#[derive(Debug)]
pub struct Attr {
    /// The name.
    pub name: Sym,
    /// The (possibly unevaluated) value.
    pub value: Value,
    /// Where it was defined.
    pub pos: Pos,
}

impl Clone for Attr {
    /// Copies scalars in place (see [`Value::copy`]): `//` copies whole sets.
    #[inline(always)]
    fn clone(&self) -> Attr {
        Attr {
            name: self.name,
            value: self.value.copy(),
            pos: self.pos,
        }
    }
}

/// An attribute set: attributes sorted by symbol.
#[derive(Debug, Clone, Default)]
pub struct Attrs {
    /// Sorted by `name`.
    pub entries: Vec<Attr>,
}

impl Drop for Attrs {
    /// Drops the values without an out-of-line call each (see [`Value::discard`]):
    /// `//` leaves big sets behind.
    fn drop(&mut self) {
        for a in self.entries.drain(..) {
            a.value.discard();
        }
    }
}

impl Attrs {
    /// Builds from unsorted entries (later duplicates win).
    pub fn from_unsorted(mut entries: Vec<Attr>) -> Attrs {
        entries.sort_by_key(|a| a.name);
        entries.dedup_by(|later, earlier| {
            if later.name == earlier.name {
                std::mem::swap(later, earlier);
                true
            } else {
                false
            }
        });
        Attrs { entries }
    }
    /// Looks up an attribute.
    pub fn get(&self, name: Sym) -> Option<&Value> {
        self.get_attr(name).map(|a| &a.value)
    }
    /// Looks up an attribute with its position.
    pub fn get_attr(&self, name: Sym) -> Option<&Attr> {
        self.entries
            .binary_search_by_key(&name, |a| a.name)
            .ok()
            .map(|i| &self.entries[i])
    }
    /// Entries sorted by name text (the order Nix shows them in).
    pub fn sorted_by_name(&self) -> Vec<&Attr> {
        let mut v: Vec<&Attr> = self.entries.iter().collect();
        v.sort_by(|a, b| a.name.as_str().cmp(b.name.as_str()));
        v
    }
    /// `self // other`.
    pub fn update(&self, other: &Attrs) -> Attrs {
        let (a, b) = (&self.entries, &other.entries);
        let mut out = Vec::with_capacity(a.len() + b.len());
        if b.len() * 8 < a.len() {
            // A few attributes over a big set (overlays, `lib` updates): find each one's
            // place by binary search and copy the runs in between wholesale.
            let mut i = 0;
            for e in b {
                let k = a[i..].partition_point(|x| x.name < e.name);
                out.extend_from_slice(&a[i..i + k]);
                i += k;
                if i < a.len() && a[i].name == e.name {
                    i += 1;
                }
                out.push(e.clone());
            }
            out.extend_from_slice(&a[i..]);
            return Attrs { entries: out };
        }
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            match a[i].name.cmp(&b[j].name) {
                std::cmp::Ordering::Less => {
                    out.push(a[i].clone());
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    out.push(b[j].clone());
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    out.push(b[j].clone());
                    i += 1;
                    j += 1;
                }
            }
        }
        out.extend_from_slice(&a[i..]);
        out.extend_from_slice(&b[j..]);
        Attrs { entries: out }
    }
}

/// An attribute-set builder.
#[derive(Debug, Default)]
pub struct AttrsBuilder(pub Vec<Attr>);

impl AttrsBuilder {
    /// Adds an attribute.
    pub fn add(&mut self, name: &str, value: Value) -> &mut Self {
        self.0.push(Attr {
            name: Sym::new(name),
            value,
            pos: Pos::NONE,
        });
        self
    }
    /// Finishes.
    pub fn build(self) -> Value {
        Value::attrs(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Pos, Sym};

    fn set(names: &[(&str, i64)]) -> Attrs {
        Attrs::from_unsorted(
            names
                .iter()
                .map(|(n, v)| Attr {
                    name: Sym::new(n),
                    value: Value::Int(*v),
                    pos: Pos::NONE,
                })
                .collect(),
        )
    }

    fn show(a: &Attrs) -> Vec<(Sym, i64)> {
        a.entries
            .iter()
            .map(|e| match e.value {
                Value::Int(i) => (e.name, i),
                _ => unreachable!("ints only"),
            })
            .collect()
    }

    #[test]
    fn update_small_and_large_right_sides() {
        let big: Vec<(String, i64)> = (0..100).map(|i| (format!("a{i}"), i)).collect();
        let big: Vec<(&str, i64)> = big.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        let left = set(&big);
        for right in [
            set(&[("a5", -5), ("a50", -50), ("zz", 1), ("", 2)]),
            set(&big
                .iter()
                .step_by(3)
                .map(|(n, v)| (*n, -v))
                .collect::<Vec<_>>()),
            set(&[]),
        ] {
            let got = show(&left.update(&right));
            let mut want: std::collections::BTreeMap<Sym, i64> = show(&left).into_iter().collect();
            want.extend(show(&right));
            assert_eq!(got, want.into_iter().collect::<Vec<_>>());
        }
    }
}
