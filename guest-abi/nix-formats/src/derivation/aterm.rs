//! The ATerm text form of derivations. Parsing is strict: only the exact
//! form Nix writes is accepted (sorted unique keys, the five escapes and
//! no raw newline/CR/tab,
//! base16 fixed-output hashes, UTF-8), so `print(parse(x)) == x`.

use std::collections::{BTreeMap, BTreeSet};

use super::{Derivation, DerivationOutput, Error};
use crate::hash::{HashAlgo, NixHash};
use crate::store_path::{FileIngestionMethod, StoreDir, StorePath};

fn put_string(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    let b = s.as_bytes();
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            _ => continue,
        };
        out.extend_from_slice(&b[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&b[start..]);
    out.push(b'"');
}

fn put_list<T>(
    out: &mut Vec<u8>,
    items: impl IntoIterator<Item = T>,
    mut f: impl FnMut(&mut Vec<u8>, T),
) {
    out.push(b'[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        f(out, item);
    }
    out.push(b']');
}

/// Prints `drv`; with `inputs` (hashDerivationModulo), those strings replace
/// the input derivation paths.
pub(super) fn print(
    drv: &Derivation,
    dir: &StoreDir,
    inputs: Option<&BTreeMap<String, BTreeSet<String>>>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    out.extend_from_slice(b"Derive(");
    put_list(&mut out, &drv.outputs, |out, (name, o)| {
        let (path, algo, hash) = match o {
            DerivationOutput::InputAddressed(p) => (dir.display(p), String::new(), String::new()),
            DerivationOutput::Fixed { path, hash, .. } => (
                dir.display(path),
                o.method_algo().unwrap_or_default(),
                hash.to_base16(),
            ),
            DerivationOutput::Floating { .. } => (
                String::new(),
                o.method_algo().unwrap_or_default(),
                String::new(),
            ),
            DerivationOutput::Impure { .. } => (
                String::new(),
                o.method_algo().unwrap_or_default(),
                "impure".to_owned(),
            ),
            DerivationOutput::Deferred => (String::new(), String::new(), String::new()),
        };
        out.push(b'(');
        put_string(out, name);
        for s in [&path, &algo, &hash] {
            out.push(b',');
            put_string(out, s);
        }
        out.push(b')');
    });
    out.push(b',');
    let put_input = |out: &mut Vec<u8>, (path, outputs): (String, &BTreeSet<String>)| {
        out.push(b'(');
        put_string(out, &path);
        out.push(b',');
        put_list(out, outputs, |out, s| put_string(out, s));
        out.push(b')');
    };
    match inputs {
        Some(map) => put_list(&mut out, map, |out, (k, v)| put_input(out, (k.clone(), v))),
        None => put_list(&mut out, &drv.input_derivations, |out, (k, v)| {
            put_input(out, (dir.display(k), v))
        }),
    }
    out.push(b',');
    put_list(&mut out, &drv.input_sources, |out, p| {
        put_string(out, &dir.display(p))
    });
    out.push(b',');
    put_string(&mut out, &drv.platform);
    out.push(b',');
    put_string(&mut out, &drv.builder);
    out.push(b',');
    put_list(&mut out, &drv.args, |out, s| put_string(out, s));
    out.push(b',');
    put_list(&mut out, &drv.env, |out, (k, v)| {
        out.push(b'(');
        put_string(out, k);
        out.push(b',');
        put_string(out, v);
        out.push(b')');
    });
    out.push(b')');
    out
}

struct Parser<'a> {
    b: &'a [u8],
    pos: usize,
    dir: &'a StoreDir,
}

impl<'a> Parser<'a> {
    fn err(&self, expected: &'static str) -> Error {
        Error::Syntax {
            offset: self.pos,
            expected,
        }
    }

    fn expect(&mut self, lit: &'static str) -> Result<(), Error> {
        if self.b[self.pos..].starts_with(lit.as_bytes()) {
            self.pos += lit.len();
            Ok(())
        } else {
            Err(self.err(lit))
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn string(&mut self) -> Result<String, Error> {
        self.expect("\"")?;
        let start = self.pos;
        let mut out: Vec<u8> = Vec::new();
        let mut run = self.pos;
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err("closing '\"'"));
            };
            match c {
                b'"' => break,
                // Nix always escapes these; a raw one is not canonical.
                b'\n' | b'\r' | b'\t' => {
                    return Err(self.err("an escape instead of a raw control character"));
                }
                b'\\' => {
                    out.extend_from_slice(&self.b[run..self.pos]);
                    let e = self
                        .b
                        .get(self.pos + 1)
                        .copied()
                        .ok_or_else(|| self.err("escape"))?;
                    out.push(match e {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        _ => {
                            let escape = std::str::from_utf8(&self.b[self.pos + 1..])
                                .ok()
                                .and_then(|s| s.chars().next())
                                .unwrap_or(e as char);
                            return Err(Error::InvalidEscape {
                                offset: self.pos,
                                escape,
                            });
                        }
                    });
                    self.pos += 2;
                    run = self.pos;
                }
                _ => self.pos += 1,
            }
        }
        out.extend_from_slice(&self.b[run..self.pos]);
        self.pos += 1;
        String::from_utf8(out).map_err(|_| Error::NotUtf8(start))
    }

    /// `[` item (`,` item)* `]`
    fn list<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T, Error>,
    ) -> Result<Vec<T>, Error> {
        self.expect("[")?;
        let mut v = Vec::new();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(v);
        }
        loop {
            v.push(item(self)?);
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(v);
                }
                _ => return Err(self.err("',' or ']'")),
            }
        }
    }

    fn path(&mut self) -> Result<StorePath, Error> {
        let s = self.string()?;
        Ok(self.dir.parse(&s)?)
    }

    fn output(&mut self) -> Result<(String, DerivationOutput), Error> {
        self.expect("(")?;
        let name = self.string()?;
        self.expect(",")?;
        let path = self.string()?;
        self.expect(",")?;
        let algo = self.string()?;
        self.expect(",")?;
        let hash = self.string()?;
        self.expect(")")?;
        let invalid = |reason| Error::InvalidOutput {
            output: name.clone(),
            reason,
        };
        let out = if algo.is_empty() {
            if !hash.is_empty() {
                return Err(invalid("hash without hash algorithm"));
            }
            if path.is_empty() {
                DerivationOutput::Deferred
            } else {
                DerivationOutput::InputAddressed(self.dir.parse(&path)?)
            }
        } else {
            let (method, a) = match algo.strip_prefix("r:") {
                Some(a) => (FileIngestionMethod::Recursive, a),
                None => (FileIngestionMethod::Flat, algo.as_str()),
            };
            let a: HashAlgo = a.parse().map_err(|source| Error::Hash {
                output: name.clone(),
                source,
            })?;
            if hash == "impure" {
                if !path.is_empty() {
                    return Err(invalid("impure output with a path"));
                }
                DerivationOutput::Impure { method, algo: a }
            } else if hash.is_empty() {
                if !path.is_empty() {
                    return Err(invalid("floating output with a path"));
                }
                DerivationOutput::Floating { method, algo: a }
            } else {
                if hash.len() != a.base16_len() || hash.bytes().any(|c| c.is_ascii_uppercase()) {
                    return Err(invalid("fixed-output hash is not lower-case base16"));
                }
                let h = NixHash::parse(&hash, Some(a)).map_err(|source| Error::Hash {
                    output: name.clone(),
                    source,
                })?;
                DerivationOutput::Fixed {
                    path: self.dir.parse(&path)?,
                    method,
                    hash: h,
                }
            }
        };
        Ok((name, out))
    }
}

fn sorted_map<K: Ord + ToString, V>(
    what: &'static str,
    items: Vec<(K, V)>,
) -> Result<BTreeMap<K, V>, Error> {
    let mut map = BTreeMap::new();
    for (k, v) in items {
        if map.last_key_value().is_some_and(|(last, _)| *last >= k) {
            return Err(Error::Unsorted {
                what,
                key: k.to_string(),
            });
        }
        map.insert(k, v);
    }
    Ok(map)
}

fn sorted_set<K: Ord + ToString>(what: &'static str, items: Vec<K>) -> Result<BTreeSet<K>, Error> {
    Ok(
        sorted_map(what, items.into_iter().map(|k| (k, ())).collect())?
            .into_keys()
            .collect(),
    )
}

pub(super) fn parse(b: &[u8], dir: &StoreDir) -> Result<Derivation, Error> {
    let mut p = Parser { b, pos: 0, dir };
    p.expect("Derive(")?;
    let outputs = sorted_map("outputs", p.list(Parser::output)?)?;
    p.expect(",")?;
    let inputs = p.list(|p| {
        p.expect("(")?;
        let path = p.path()?;
        p.expect(",")?;
        let outs = sorted_set("input derivation outputs", p.list(Parser::string)?)?;
        p.expect(")")?;
        Ok((path, outs))
    })?;
    let input_derivations = sorted_map("input derivations", inputs)?;
    p.expect(",")?;
    let input_sources = sorted_set("input sources", p.list(Parser::path)?)?;
    p.expect(",")?;
    let platform = p.string()?;
    p.expect(",")?;
    let builder = p.string()?;
    p.expect(",")?;
    let args = p.list(Parser::string)?;
    p.expect(",")?;
    let env = p.list(|p| {
        p.expect("(")?;
        let k = p.string()?;
        p.expect(",")?;
        let v = p.string()?;
        p.expect(")")?;
        Ok((k, v))
    })?;
    let env = sorted_map("environment", env)?;
    p.expect(")")?;
    if p.pos != b.len() {
        return Err(p.err("end of input"));
    }
    if outputs.is_empty() {
        return Err(Error::NoOutputs);
    }
    Ok(Derivation {
        outputs,
        input_derivations,
        input_sources,
        platform,
        builder,
        args,
        env,
    })
}
