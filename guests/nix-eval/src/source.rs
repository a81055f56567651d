//! Interned symbols and source positions.
//!
//! Attribute names and variables are interned to `Sym` (a `u32`) so attribute sets can be
//! sorted and searched by integer, and positions are a single `u32` offset into a global
//! "code map" of every file loaded, so AST and IR nodes stay small. Both tables live in
//! thread-locals: one evaluation runs on one thread.

use rustc_hash::FxHashMap as HashMap;
use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

/// An interned string (attribute name or identifier).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(pub u32);

struct Interner {
    map: HashMap<&'static str, Sym>,
    names: Vec<&'static str>,
}

/// Room for the names every evaluation interns at start (the builtins, each also as
/// `__name`, about 400) and a small program's, so start-up does not regrow the table.
const INTERNER_CAPACITY: usize = 1024;

thread_local! {
    static INTERNER: RefCell<Interner> = RefCell::new(Interner {
        map: HashMap::with_capacity_and_hasher(INTERNER_CAPACITY, Default::default()),
        names: Vec::with_capacity(INTERNER_CAPACITY),
    });
    static SOURCES: RefCell<Vec<Source>> = RefCell::new(vec![Source { origin: Origin::None, text: Rc::from(""), base: 0 }]);
}

impl Sym {
    /// Interns `s`.
    pub fn new(s: &str) -> Sym {
        // Symbols live as long as the process: the set of names of a program is bounded.
        Self::intern(s, || Box::leak(s.to_owned().into_boxed_str()))
    }

    /// Interns `s`, which lives as long as the process already: no copy is made (the
    /// builtins' names, interned by every evaluation at start).
    pub fn from_static(s: &'static str) -> Sym {
        Self::intern(s, || s)
    }

    /// Interns `s` as `__s`, the name a builtin also has in the global scope.
    pub fn underscored(s: &str) -> Sym {
        let mut name = String::with_capacity(s.len() + 2);
        name.push_str("__");
        name.push_str(s);
        match Self::lookup(&name) {
            Some(sym) => sym,
            None => Self::insert(Box::leak(name.into_boxed_str())),
        }
    }

    fn intern(s: &str, keep: impl FnOnce() -> &'static str) -> Sym {
        Self::lookup(s).unwrap_or_else(|| Self::insert(keep()))
    }

    fn lookup(s: &str) -> Option<Sym> {
        INTERNER.with(|i| i.borrow().map.get(s).copied())
    }

    /// Adds `s`, which is not interned yet.
    fn insert(s: &'static str) -> Sym {
        INTERNER.with(|i| {
            let mut i = i.borrow_mut();
            let sym = Sym(i.names.len() as u32);
            i.names.push(s);
            i.map.insert(s, sym);
            sym
        })
    }

    /// The symbol's text.
    pub fn as_str(self) -> &'static str {
        INTERNER.with(|i| i.borrow().names[self.0 as usize])
    }
}

impl fmt::Debug for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_str())
    }
}

impl fmt::Display for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a source text came from.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// No position.
    None,
    /// A file on disk (absolute path).
    File(String),
    /// Standard input.
    Stdin,
    /// A `-E` expression or `--arg` value.
    String,
}

#[derive(Clone)]
struct Source {
    origin: Origin,
    text: Rc<str>,
    base: u32,
}

/// A position: an offset into the global code map; 0 means "no position".
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
pub struct Pos(pub u32);

/// A position resolved to file, line and column.
#[derive(Clone, Debug, PartialEq)]
pub struct Location {
    /// The source's origin.
    pub origin: Origin,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// The source text (for snippets).
    pub text: Rc<str>,
}

/// Registers a source text; returns the base offset to add to byte offsets within it.
pub fn add_source(origin: Origin, text: &str) -> u32 {
    SOURCES.with(|s| {
        let mut s = s.borrow_mut();
        let last = s.last().expect("sentinel");
        let base = last.base + last.text.len() as u32 + 1;
        s.push(Source {
            origin,
            text: Rc::from(text),
            base,
        });
        base
    })
}

impl Pos {
    /// No position.
    pub const NONE: Pos = Pos(0);

    /// This position, or `other` when there is none.
    pub fn or(self, other: Pos) -> Pos {
        if self == Pos::NONE { other } else { self }
    }

    /// Resolves the position.
    pub fn resolve(self) -> Option<Location> {
        if self.0 == 0 {
            return None;
        }
        SOURCES.with(|s| {
            let s = s.borrow();
            let idx = s.partition_point(|src| src.base <= self.0) - 1;
            let src = &s[idx];
            let off = (self.0 - src.base) as usize;
            let text = &src.text[..off.min(src.text.len())];
            let (count, last) = lines(text).fold((0, ""), |(n, _), l| (n + 1, l));
            let line = count as u32;
            let column = last.chars().count() as u32 + 1;
            Some(Location {
                origin: src.origin.clone(),
                line,
                column,
                text: src.text.clone(),
            })
        })
    }
}

/// The lines of `text`, ended as Nix's lexer ends them: by `\n`, `\r\n` or a lone `\r`.
pub fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let r = rest?;
        match r.find(['\n', '\r']) {
            Some(i) => {
                let skip = if r[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&r[i + skip..]);
                Some(&r[..i])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::None => f.write_str("«none»"),
            Origin::File(p) => f.write_str(p),
            Origin::Stdin => f.write_str("«stdin»"),
            Origin::String => f.write_str("«string»"),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.origin, self.line, self.column)
    }
}

#[cfg(test)]
mod tests {
    use super::lines;

    #[test]
    fn lines_end_like_nix() {
        let all = |t| lines(t).collect::<Vec<_>>();
        assert_eq!(all("a\nb\r\nc\rd"), ["a", "b", "c", "d"]);
        assert_eq!(all("a\n"), ["a", ""]);
        assert_eq!(all(""), [""]);
    }
}
