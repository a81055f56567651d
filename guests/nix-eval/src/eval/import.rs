//! Loading code: parsing and compiling source text, `import` (with its cache), reading files
//! through the I/O boundary, and `<name>` lookups in the search path.

use std::rc::Rc;

use super::{Evaluator, corepkgs};
use crate::compiler::{self, Ir};
use crate::error::{Error, ErrorKind, Result};
use crate::io::{FileType, IoError};
use crate::source::{Origin, Pos, Sym, add_source};
use crate::syntax::path::{canon_path, parent_dir};
use crate::syntax::{LintLevel, Lints};
use std::collections::{BTreeMap, BTreeSet};

use crate::string::{ContextElem, NixString};
use crate::value::Value;
use nix_args::SearchPathEntry;

impl Evaluator {
    /// Parses and compiles source text from `origin`, relative paths against `dir`.
    pub fn compile_source(
        &self,
        text: &str,
        origin: Origin,
        dir: &str,
        extra: Option<&[Sym]>,
    ) -> Result<Rc<Ir>> {
        let base = add_source(origin, text);
        let (ast, warnings) = crate::syntax::parse_with_lints(text, base, dir, &self.lints())?;
        for w in warnings {
            let mut msg = format!("warning: {}", w.msg);
            let snippet = crate::diag::snippet_string(w.pos);
            for (i, line) in snippet.lines().enumerate() {
                msg.push('\n');
                if i > 0 {
                    msg.push_str("  ");
                }
                msg.push_str(line);
            }
            self.diag(&msg);
        }
        Ok(Rc::new(compiler::compile(&ast, &self.base_scope, extra)?))
    }

    pub(super) fn lints(&self) -> Lints {
        let mut l = Lints {
            pipe_operators: self.opts.experimental.iter().any(|f| f == "pipe-operators"),
            ..Default::default()
        };
        for (name, level) in &self.opts.lints {
            let level = match level.as_str() {
                "fatal" => LintLevel::Fatal,
                "warn" => LintLevel::Warn,
                _ => LintLevel::Ignore,
            };
            match name.as_str() {
                "absolute-path-literals" => l.absolute_paths = level,
                "short-path-literals" => l.short_paths = level,
                "url-literals" => l.urls = level,
                _ => {}
            }
        }
        l
    }

    /// Evaluates source text to weak head normal form.
    pub fn eval_source(&self, text: &str, origin: Origin, dir: &str) -> Result<Value> {
        let ir = self.compile_source(text, origin, dir, None)?;
        self.eval(&ir, &self.base_env.clone())
    }

    /// Evaluates a file (like `import`).
    pub fn eval_file(&self, path: &str) -> Result<Value> {
        self.import(path, Pos::NONE)
    }

    /// The file `import path` reads: `path`, or its `default.nix` when it is a directory.
    pub(crate) fn import_path(&self, path: &str, pos: Pos) -> Result<String> {
        if corepkgs::lookup(path).is_some() {
            return Ok(path.to_owned());
        }
        match self.io.file_type(path, true) {
            Ok(FileType::Directory) => Ok(format!("{}/default.nix", path.trim_end_matches('/'))),
            Err(e @ IoError::Refused(_)) => Err(Error::from(e).at(pos)),
            // Reading it says what is wrong.
            _ => Ok(path.to_owned()),
        }
    }

    /// `import path`.
    pub fn import(&self, path: &str, pos: Pos) -> Result<Value> {
        let path = self.import_path(path, pos)?;
        if let Some(v) = self.import_cache.borrow().get(&path) {
            return Ok(v.clone());
        }
        let text = match corepkgs::lookup(&path) {
            Some(t) => t.to_owned(),
            None => self.read_file(&path, pos)?,
        };
        let dir = parent_dir(&path);
        let ir = self.compile_source(&text, Origin::File(path.clone()), &dir, None)?;
        let v = Value::pending(ir, self.base_env.clone());
        self.import_cache.borrow_mut().insert(path, v.clone());
        self.force(&v)
    }

    /// Reads a file as text.
    pub fn read_file(&self, path: &str, pos: Pos) -> Result<String> {
        let bytes = self
            .io
            .read_file(path)
            .map_err(|e| Error::from(e).at(pos))?;
        String::from_utf8(bytes).map_err(|_| {
            Error::new(
                ErrorKind::Eval,
                format!("file '{path}' is not valid UTF-8"),
                pos,
            )
        })
    }

    /// Builds the derivation outputs the path `s` refers to (its context), so that reading it
    /// works: import from derivation. Refused when `allow-import-from-derivation` is off.
    pub(crate) fn realise_context(&self, s: &NixString, pos: Pos) -> Result<()> {
        if !self.opts.allow_ifd
            && let Some((drv, _)) = built_outputs(s).first()
        {
            return Err(Error::new(
                ErrorKind::Eval,
                format!(
                    "cannot build '{drv}' during evaluation because the option \
                     'allow-import-from-derivation' is disabled"
                ),
                pos,
            ));
        }
        self.build_context(s, pos)
    }

    /// Builds the derivation outputs in the context of `s`, whatever the IFD setting (a
    /// fetcher's own fixed-output derivation).
    pub(crate) fn build_context(&self, s: &NixString, pos: Pos) -> Result<()> {
        let targets = built_outputs(s);
        if targets.is_empty() {
            return Ok(());
        }
        self.io.build(&targets).map_err(|e| Error::from(e).at(pos))
    }

    /// Resolves `<name>` against the search path.
    pub fn find_file(&self, name: &str, pos: Pos) -> Result<Value> {
        self.find_file_in(&self.opts.search_path, name, pos)
    }

    /// Resolves `<name>` against the given search path.
    pub fn find_file_in(&self, sp: &[SearchPathEntry], name: &str, pos: Pos) -> Result<Value> {
        for SearchPathEntry { prefix, path: dir } in sp {
            let candidate = match prefix {
                None => format!("{}/{}", dir.trim_end_matches('/'), name),
                Some(p) => {
                    if name == p {
                        dir.clone()
                    } else if let Some(rest) = name
                        .strip_prefix(p.as_str())
                        .and_then(|r| r.strip_prefix('/'))
                    {
                        format!("{}/{}", dir.trim_end_matches('/'), rest)
                    } else {
                        continue;
                    }
                }
            };
            if self.io.file_type(&candidate, false).is_ok() {
                return Ok(Value::path(canon_path(&candidate)));
            }
        }
        if name == "nix/fetchurl.nix" {
            return Ok(Value::path(corepkgs::FETCHURL_PATH));
        }
        Err(Error::new(
            ErrorKind::Throw,
            format!(
                "file '{name}' was not found in the Nix search path (add it using $NIX_PATH or -I)"
            ),
            pos,
        ))
    }
}

/// The derivation outputs in the context of `s`, by `.drv` path in sorted order.
fn built_outputs(s: &NixString) -> Vec<(String, BTreeSet<String>)> {
    let mut targets: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for elem in s.context() {
        if let ContextElem::Built { drv, output } = elem {
            targets.entry(drv).or_default().insert(output.clone());
        }
    }
    targets
        .into_iter()
        .map(|(d, o)| (d.to_owned(), o))
        .collect()
}
