//! A hand-written recursive-descent parser for the Nix language (the lexer is `lexer.rs`).
//!
//! Hand-written rather than generated (rnix) so that tokens, precedence and error positions
//! follow Nix's own `lexer.l`/`parser.y` exactly (paths vs. division vs. URIs by longest
//! match, indented-string stripping, the "cursed" `or`), and so the parser is a single fast
//! pass over bytes with no intermediate token vector.

mod lexer;

use super::ParseError;
use super::ast::*;
use super::path::canon_path;
use crate::source::{Pos, Sym};
use lexer::{Tok, is_path_char, tok_name, utf8_len};

/// The parser state over one source text.
struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
    base: u32,
    base_dir: String,
    lints: &'a Lints,
    warnings: Vec<ParseError>,
    depth: usize,
    /// The last peeked token: (position before, token, start, position after).
    peeked: Option<(usize, Tok, usize, usize)>,
}

/// How a lint reacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LintLevel {
    /// Silent.
    #[default]
    Ignore,
    /// Print a warning.
    Warn,
    /// Fail parsing.
    Fatal,
}

/// The `--lint-*` settings that concern literals.
#[derive(Debug, Clone, Default)]
pub struct Lints {
    /// `--lint-absolute-path-literals`.
    pub absolute_paths: LintLevel,
    /// `--lint-short-path-literals`.
    pub short_paths: LintLevel,
    /// `--lint-url-literals`.
    pub urls: LintLevel,
    /// The `pipe-operators` experimental feature (`|>`, `<|`).
    pub pipe_operators: bool,
}

/// Parses a whole source text. `base` is the code-map offset from `add_source`, `base_dir`
/// the directory relative paths are resolved against.
pub fn parse(text: &str, base: u32, base_dir: &str) -> Result<Expr, ParseError> {
    parse_with_lints(text, base, base_dir, &Lints::default()).map(|r| r.0)
}

/// Parses with lint settings; returns the expression and the lint warnings.
pub fn parse_with_lints(
    text: &str,
    base: u32,
    base_dir: &str,
    lints: &Lints,
) -> Result<(Expr, Vec<ParseError>), ParseError> {
    let mut p = Parser {
        src: text.as_bytes(),
        pos: 0,
        base,
        base_dir: base_dir.to_owned(),
        lints,
        warnings: Vec::new(),
        depth: 0,
        peeked: None,
    };
    let e = p.expr()?;
    let (t, start) = p.next()?;
    if t != Tok::Eof {
        return Err(p.unexpected(&t, start));
    }
    Ok((e, p.warnings))
}

type PResult<T> = Result<T, ParseError>;

impl<'a> Parser<'a> {
    fn lint(&mut self, level: LintLevel, msg: String, off: usize) -> PResult<()> {
        let e = ParseError {
            msg,
            pos: self.mkpos(off),
        };
        match level {
            LintLevel::Ignore => Ok(()),
            LintLevel::Warn => {
                self.warnings.push(e);
                Ok(())
            }
            LintLevel::Fatal => Err(e),
        }
    }

    fn mkpos(&self, off: usize) -> Pos {
        Pos(self.base + off as u32)
    }

    fn err<T>(&self, msg: impl Into<String>, off: usize) -> PResult<T> {
        Err(ParseError {
            msg: msg.into(),
            pos: self.mkpos(off),
        })
    }

    fn unexpected(&self, t: &Tok, off: usize) -> ParseError {
        ParseError {
            msg: format!("syntax error, unexpected {}", tok_name(t)),
            pos: self.mkpos(off),
        }
    }

    /// `expr_function`
    fn expr(&mut self) -> PResult<Expr> {
        // Bison's default stack limit in Nix's parser; keeps deeply nested input from
        // exhausting the native stack.
        if self.depth >= MAX_NESTING {
            return self.err("syntax error, expression nested too deeply", self.pos);
        }
        self.depth += 1;
        let r = self.expr_inner();
        self.depth -= 1;
        r
    }

    fn expr_inner(&mut self) -> PResult<Expr> {
        let (t, s) = self.peek()?;
        match t {
            Tok::Id(name) => {
                let (_, t2) = self.peek2()?;
                if t2 == Tok::Punct(b':') {
                    self.next()?;
                    self.next()?;
                    let body = self.expr()?;
                    return Ok(Expr::Lambda(Box::new(Lambda {
                        arg: Some(name),
                        formals: None,
                        body,
                        pos: self.mkpos(s),
                    })));
                }
                if t2 == Tok::Punct(b'@') {
                    self.next()?;
                    self.next()?;
                    let brace = self.expect(Tok::Punct(b'{'))?;
                    let formals = self.formals(brace)?;
                    self.expect(Tok::Punct(b':'))?;
                    return self.finish_lambda(Some(name), formals, s);
                }
            }
            Tok::Punct(b'{') if self.looks_like_formals()? => {
                self.next()?;
                let formals = self.formals(s)?;
                let (t, ts) = self.next()?;
                let arg = match t {
                    Tok::Punct(b':') => None,
                    Tok::Punct(b'@') => {
                        let (t, ts) = self.next()?;
                        let Tok::Id(n) = t else {
                            return Err(self.unexpected(&t, ts));
                        };
                        self.expect(Tok::Punct(b':'))?;
                        Some(n)
                    }
                    t => return Err(self.unexpected(&t, ts)),
                };
                return self.finish_lambda(arg, formals, s);
            }
            Tok::Assert => {
                self.next()?;
                let c = self.expr()?;
                self.expect(Tok::Punct(b';'))?;
                let body = self.expr()?;
                return Ok(Expr::Assert(Box::new(c), Box::new(body), self.mkpos(s)));
            }
            Tok::With => {
                self.next()?;
                let e = self.expr()?;
                self.expect(Tok::Punct(b';'))?;
                let body = self.expr()?;
                return Ok(Expr::With(Box::new(e), Box::new(body), self.mkpos(s)));
            }
            Tok::Let => {
                let (_, t2) = self.peek2()?;
                if t2 != Tok::Punct(b'{') {
                    self.next()?;
                    let binds = self.binds(true)?;
                    self.expect(Tok::In)?;
                    let body = self.expr()?;
                    return Ok(Expr::Let(binds, Box::new(body), self.mkpos(s)));
                }
            }
            _ => {}
        }
        self.expr_if()
    }

    fn finish_lambda(&mut self, arg: Option<Sym>, formals: Formals, s: usize) -> PResult<Expr> {
        if let Some(a) = arg
            && formals.entries.iter().any(|f| f.0 == a)
        {
            return self.err(format!("duplicate formal function argument '{a}'"), s);
        }
        let body = self.expr()?;
        Ok(Expr::Lambda(Box::new(Lambda {
            arg,
            formals: Some(formals),
            body,
            pos: self.mkpos(s),
        })))
    }

    fn looks_like_formals(&mut self) -> PResult<bool> {
        let save = self.pos;
        let r = (|| {
            self.next()?; // '{'
            let (a, _) = self.next()?;
            Ok(match a {
                Tok::Punct(b'}') => {
                    matches!(self.next()?.0, Tok::Punct(b':') | Tok::Punct(b'@'))
                }
                Tok::Ellipsis => true,
                Tok::Id(_) => matches!(
                    self.next()?.0,
                    Tok::Punct(b',') | Tok::Punct(b'?') | Tok::Punct(b'}')
                ),
                _ => false,
            })
        })();
        self.pos = save;
        r
    }

    /// After '{': formals up to and including '}'.
    fn formals(&mut self, start: usize) -> PResult<Formals> {
        let mut entries: Vec<(Sym, Option<Expr>, Pos)> = Vec::new();
        let mut ellipsis = false;
        loop {
            let (t, s) = self.next()?;
            match t {
                Tok::Punct(b'}') => break,
                Tok::Ellipsis => {
                    ellipsis = true;
                    let (t, s) = self.next()?;
                    if t != Tok::Punct(b'}') {
                        return Err(self.unexpected(&t, s));
                    }
                    break;
                }
                Tok::Id(name) => {
                    if entries.iter().any(|e| e.0 == name) {
                        return self.err(
                            format!("duplicate formal function argument '{name}'"),
                            start,
                        );
                    }
                    let (t, ts) = self.next()?;
                    let (def, t, ts) = if t == Tok::Punct(b'?') {
                        let d = self.expr()?;
                        let (t, ts) = self.next()?;
                        (Some(d), t, ts)
                    } else {
                        (None, t, ts)
                    };
                    entries.push((name, def, self.mkpos(s)));
                    match t {
                        Tok::Punct(b',') => {}
                        Tok::Punct(b'}') => break,
                        t => return Err(self.unexpected(&t, ts)),
                    }
                }
                t => return Err(self.unexpected(&t, s)),
            }
        }
        Ok(Formals { entries, ellipsis })
    }

    fn expr_if(&mut self) -> PResult<Expr> {
        let (t, s) = self.peek()?;
        if t == Tok::If {
            self.next()?;
            let c = self.expr()?;
            self.expect(Tok::Then)?;
            let a = self.expr()?;
            self.expect(Tok::Else)?;
            let b = self.expr()?;
            return Ok(Expr::If(
                Box::new(c),
                Box::new(a),
                Box::new(b),
                self.mkpos(s),
            ));
        }
        self.expr_op(0)
    }

    fn binop(t: &Tok) -> Option<(BinOp, u8, u8)> {
        // (op, precedence, assoc: 0 left, 1 right, 2 non)
        Some(match t {
            Tok::PipeFrom => (BinOp::PipeLeft, 1, 1),
            Tok::PipeInto => (BinOp::PipeRight, 1, 0),
            Tok::Impl => (BinOp::Impl, 2, 1),
            Tok::Or => (BinOp::Or, 3, 0),
            Tok::And => (BinOp::And, 4, 0),
            Tok::Eq => (BinOp::Eq, 5, 2),
            Tok::Neq => (BinOp::Neq, 5, 2),
            Tok::Punct(b'<') => (BinOp::Lt, 6, 2),
            Tok::Punct(b'>') => (BinOp::Gt, 6, 2),
            Tok::Leq => (BinOp::Le, 6, 2),
            Tok::Geq => (BinOp::Ge, 6, 2),
            Tok::Update => (BinOp::Update, 7, 1),
            Tok::Punct(b'+') => (BinOp::Add, 9, 0),
            Tok::Punct(b'-') => (BinOp::Sub, 9, 0),
            Tok::Punct(b'*') => (BinOp::Mul, 10, 0),
            Tok::Punct(b'/') => (BinOp::Div, 10, 0),
            Tok::Concat => (BinOp::Concat, 11, 1),
            _ => return None,
        })
    }

    const NOT_PREC: u8 = 8;
    const HAS_PREC: u8 = 12;

    fn expr_op(&mut self, min: u8) -> PResult<Expr> {
        if self.depth >= MAX_NESTING {
            return self.err("syntax error, expression nested too deeply", self.pos);
        }
        self.depth += 1;
        let r = self.expr_op_inner(min);
        self.depth -= 1;
        r
    }

    fn expr_op_inner(&mut self, min: u8) -> PResult<Expr> {
        // Left-associative chains nest the tree too; bound them like other nesting.
        let mut chain = 0usize;
        let (t, s) = self.peek()?;
        let mut lhs = match t {
            Tok::Punct(b'!') => {
                self.next()?;
                let e = self.expr_op(Self::NOT_PREC + 1)?;
                Expr::Not(Box::new(e), self.mkpos(s))
            }
            Tok::Punct(b'-') => {
                self.next()?;
                let e = self.expr_op(Self::HAS_PREC + 2)?;
                Expr::Neg(Box::new(e), self.mkpos(s))
            }
            _ => self.expr_app()?,
        };
        let mut last_nonassoc: Option<u8> = None;
        loop {
            let (t, ts) = self.peek()?;
            if t == Tok::Punct(b'?') {
                if Self::HAS_PREC < min {
                    break;
                }
                if last_nonassoc == Some(Self::HAS_PREC) {
                    return Err(self.unexpected(&t, ts));
                }
                self.next()?;
                let path = self.attrpath()?;
                lhs = Expr::HasAttr(Box::new(lhs), path, self.mkpos(ts));
                if self.depth + chain >= MAX_NESTING {
                    return self.err("syntax error, expression nested too deeply", ts);
                }
                chain += 1;
                last_nonassoc = Some(Self::HAS_PREC);
                continue;
            }
            let Some((op, prec, assoc)) = Self::binop(&t) else {
                break;
            };
            if matches!(op, BinOp::PipeLeft | BinOp::PipeRight) && !self.lints.pipe_operators {
                return self.err(
                    "experimental Nix feature 'pipe-operators' is disabled; add '--extra-experimental-features pipe-operators' to enable it",
                    ts,
                );
            }
            if prec < min {
                break;
            }
            if assoc == 2 && last_nonassoc == Some(prec) {
                return Err(self.unexpected(&t, ts));
            }
            self.next()?;
            let starts = if op == BinOp::Add {
                let rs = self.peek()?.1;
                Some(Box::new([self.mkpos(s), self.mkpos(rs)]))
            } else {
                None
            };
            let rhs = self.expr_op(if assoc == 1 { prec } else { prec + 1 })?;
            lhs = Expr::Bin(op, Box::new(lhs), Box::new(rhs), self.mkpos(ts), starts);
            if self.depth + chain >= MAX_NESTING {
                return self.err("syntax error, expression nested too deeply", ts);
            }
            chain += 1;
            last_nonassoc = if assoc == 2 { Some(prec) } else { None };
        }
        Ok(lhs)
    }

    fn starts_simple(t: &Tok) -> bool {
        matches!(
            t,
            Tok::Id(_)
                | Tok::Int(_)
                | Tok::Float(_)
                | Tok::Path(..)
                | Tok::HPath(..)
                | Tok::SPath(_)
                | Tok::Uri(_)
                | Tok::DQuote
                | Tok::IndOpen
                | Tok::Rec
                | Tok::Punct(b'(')
                | Tok::Punct(b'{')
                | Tok::Punct(b'[')
        )
    }

    fn expr_app(&mut self) -> PResult<Expr> {
        let (_, s) = self.peek()?;
        let f = self.expr_select_at(true)?;
        let mut args = Vec::new();
        loop {
            let (t, ts) = self.peek()?;
            let is_legacy_let = t == Tok::Let && self.peek2()?.1 == Tok::Punct(b'{');
            if t == Tok::OrKw {
                // `f or ...`: an argument named `or` (the accepted, non-"cursed" form)
                self.next()?;
                args.push(Expr::Var(Sym::new("or"), self.mkpos(ts)));
            } else if Self::starts_simple(&t) || is_legacy_let {
                args.push(self.expr_select()?);
            } else {
                break;
            }
        }
        if args.is_empty() {
            Ok(f)
        } else {
            Ok(Expr::Call(Box::new(f), args, self.mkpos(s)))
        }
    }

    fn expr_select(&mut self) -> PResult<Expr> {
        self.expr_select_at(false)
    }

    /// `function_pos`: the head of an application, where a following `or` is an argument.
    fn expr_select_at(&mut self, function_pos: bool) -> PResult<Expr> {
        let (_, s) = self.peek()?;
        let e = self.expr_simple()?;
        let (t, ts) = self.peek()?;
        if t == Tok::Punct(b'.') {
            self.next()?;
            let path = self.attrpath()?;
            let (t, _) = self.peek()?;
            let def = if t == Tok::OrKw {
                self.next()?;
                Some(Box::new(self.expr_select()?))
            } else {
                None
            };
            return Ok(Expr::Select(Box::new(e), path, def, self.mkpos(s)));
        }
        if t == Tok::OrKw && !function_pos {
            // "cursed or": `f or` applies f to a variable named `or`.
            self.next()?;
            let text = String::from_utf8_lossy(&self.src[s..self.pos]).into_owned();
            let at = self
                .mkpos(s)
                .resolve()
                .map(|l| l.to_string())
                .unwrap_or_default();
            self.warnings.push(ParseError {
                msg: format!(
                    "at {at}: This expression uses `or` as an identifier in a way that will change in a future Nix release.\n\
                     Wrap this entire expression in parentheses to preserve its current meaning:\n    ({text})\n\
                     Give feedback at https://github.com/NixOS/nix/pull/11121"
                ),
                pos: Pos::NONE,
            });
            return Ok(Expr::Call(
                Box::new(e),
                vec![Expr::Var(Sym::new("or"), self.mkpos(ts))],
                self.mkpos(s),
            ));
        }
        Ok(e)
    }

    fn attrpath(&mut self) -> PResult<Vec<AttrName>> {
        let mut path = vec![self.attr()?];
        while self.peek()?.0 == Tok::Punct(b'.') {
            self.next()?;
            path.push(self.attr()?);
        }
        Ok(path)
    }

    fn attr(&mut self) -> PResult<AttrName> {
        let (t, s) = self.next()?;
        match t {
            Tok::Id(n) => Ok(AttrName::Static(n)),
            Tok::OrKw => Ok(AttrName::Static(Sym::new("or"))),
            Tok::DollarCurly => {
                let e = self.expr()?;
                self.expect(Tok::Punct(b'}'))?;
                match &e {
                    Expr::Str(parts, _) if parts.is_empty() => Ok(AttrName::Static(Sym::new(""))),
                    Expr::Str(parts, _) if matches!(parts.as_slice(), [StrPart::Lit(_)]) => {
                        let [StrPart::Lit(l)] = parts.as_slice() else {
                            unreachable!()
                        };
                        Ok(AttrName::Static(Sym::new(l)))
                    }
                    _ => Ok(AttrName::Dynamic(e, self.mkpos(s))),
                }
            }
            Tok::DQuote => {
                let parts = self.string_parts()?;
                match parts.as_slice() {
                    [] => Ok(AttrName::Static(Sym::new(""))),
                    [StrPart::Lit(l)] => Ok(AttrName::Static(Sym::new(l))),
                    _ => Ok(AttrName::Dynamic(
                        Expr::Str(parts, self.mkpos(s + 1)),
                        self.mkpos(s),
                    )),
                }
            }
            t => {
                let mut e = self.unexpected(&t, s);
                e.msg
                    .push_str(", expecting ID or OR_KW or DOLLAR_CURLY or '\"'");
                Err(e)
            }
        }
    }

    fn expr_simple(&mut self) -> PResult<Expr> {
        if self.depth >= MAX_NESTING {
            return self.err("syntax error, expression nested too deeply", self.pos);
        }
        self.depth += 1;
        let r = self.expr_simple_inner();
        self.depth -= 1;
        r
    }

    fn expr_simple_inner(&mut self) -> PResult<Expr> {
        let (t, s) = self.next()?;
        let pos = self.mkpos(s);
        Ok(match t {
            Tok::Id(n) => {
                if n.as_str() == "__curPos" {
                    Expr::CurPos(pos)
                } else {
                    Expr::Var(n, pos)
                }
            }
            Tok::Int(i) => Expr::Int(i),
            Tok::Float(f) => Expr::Float(f),
            Tok::DQuote => Expr::Str(self.string_parts()?, self.mkpos(s + 1)),
            Tok::IndOpen => Expr::Str(self.ind_string_parts()?, self.mkpos(s + 2)),
            Tok::Path(text, interp) => {
                if text.starts_with('/') {
                    let shown = if interp {
                        format!("{text}${{...}}")
                    } else {
                        text.clone()
                    };
                    self.lint(
                        self.lints.absolute_paths,
                        format!("absolute path literals are not portable. Consider replacing path literal '{shown}' by a string, relative path, or parameter (lint-absolute-path-literals)"),
                        s,
                    )?;
                } else if !text.starts_with("./") && !text.starts_with("../") {
                    self.lint(
                        self.lints.short_paths,
                        format!("relative path literal '{text}' should be prefixed with '.' for clarity: './{text}' (lint-short-path-literals)"),
                        s,
                    )?;
                }
                let first = if text.starts_with('/') {
                    text.clone()
                } else {
                    format!("{}/{}", self.base_dir.trim_end_matches('/'), text)
                };
                let mut first = canon_path(&first);
                if text.ends_with('/') && first != "/" {
                    first.push('/');
                }
                self.path_rest(PathKind::Plain, first, interp, pos)?
            }
            Tok::HPath(text, interp) => {
                self.lint(
                    self.lints.absolute_paths,
                    format!("home path literals are not portable. Consider replacing path literal '{text}' by a string, relative path, or parameter (lint-absolute-path-literals)"),
                    s,
                )?;
                self.path_rest(PathKind::Home, text[1..].to_owned(), interp, pos)?
            }
            Tok::SPath(p) => Expr::SearchPath(p, pos),
            Tok::Uri(u) => {
                let (verb, level) = match self.lints.urls {
                    LintLevel::Fatal => ("disallowed", LintLevel::Fatal),
                    l => ("discouraged", l),
                };
                self.lint(
                    level,
                    format!("URL literals are {verb}. Consider using a string literal \"{u}\" instead (lint-url-literals)"),
                    s,
                )?;
                Expr::Uri(u, pos)
            }
            Tok::Punct(b'(') => {
                let e = self.expr()?;
                self.expect(Tok::Punct(b')'))?;
                e
            }
            Tok::Let => {
                self.expect(Tok::Punct(b'{'))?;
                let binds = self.binds(false)?;
                self.expect(Tok::Punct(b'}'))?;
                // legacy let: `let { body = e; ... }` is `(rec { ... }).body`
                let attrs = Expr::Attrs(true, binds, pos);
                Expr::Select(
                    Box::new(attrs),
                    vec![AttrName::Static(Sym::new("body"))],
                    None,
                    pos,
                )
            }
            Tok::Rec => {
                self.expect(Tok::Punct(b'{'))?;
                let binds = self.binds(false)?;
                self.expect(Tok::Punct(b'}'))?;
                Expr::Attrs(true, binds, pos)
            }
            Tok::Punct(b'{') => {
                let binds = self.binds(false)?;
                self.expect(Tok::Punct(b'}'))?;
                Expr::Attrs(false, binds, pos)
            }
            Tok::Punct(b'[') => {
                let mut items = Vec::new();
                loop {
                    let (t, _) = self.peek()?;
                    if t == Tok::Punct(b']') {
                        self.next()?;
                        break;
                    }
                    let is_legacy_let = t == Tok::Let && self.peek2()?.1 == Tok::Punct(b'{');
                    if !Self::starts_simple(&t) && !is_legacy_let {
                        let (t, s) = self.next()?;
                        return Err(self.unexpected(&t, s));
                    }
                    items.push(self.expr_select()?);
                }
                Expr::List(items)
            }
            t => return Err(self.unexpected(&t, s)),
        })
    }

    fn path_rest(
        &mut self,
        kind: PathKind,
        first: String,
        interp: bool,
        pos: Pos,
    ) -> PResult<Expr> {
        let mut parts = vec![StrPart::Lit(first)];
        if !interp {
            return Ok(Expr::Path(kind, parts, pos));
        }
        loop {
            if self.at(self.pos) == b'$' && self.at(self.pos + 1) == b'{' {
                self.pos += 2;
                let e = self.expr()?;
                self.expect(Tok::Punct(b'}'))?;
                parts.push(StrPart::Interp(e));
                continue;
            }
            let s = self.pos;
            while is_path_char(self.at(self.pos)) || self.at(self.pos) == b'/' {
                self.pos += 1;
            }
            if self.pos == s {
                break;
            }
            let lit = String::from_utf8_lossy(&self.src[s..self.pos]).into_owned();
            if lit.ends_with('/') && !(self.at(self.pos) == b'$' && self.at(self.pos + 1) == b'{') {
                return self.err("path has a trailing slash", s);
            }
            parts.push(StrPart::Lit(lit));
        }
        Ok(Expr::Path(kind, parts, pos))
    }

    fn interp(&mut self) -> PResult<Expr> {
        let e = self.expr()?;
        self.expect(Tok::Punct(b'}'))?;
        Ok(e)
    }

    /// After the opening `"`.
    fn string_parts(&mut self) -> PResult<Vec<StrPart>> {
        let start = self.pos;
        let mut parts = Vec::new();
        let mut lit: Vec<u8> = Vec::new();
        loop {
            let c = self.at(self.pos);
            if self.pos >= self.src.len() {
                return self.err(
                    "syntax error, unexpected end of file, expecting '\"'",
                    self.pos,
                );
            }
            match c {
                b'"' => {
                    self.pos += 1;
                    break;
                }
                b'\\' => {
                    if self.pos + 1 >= self.src.len() {
                        return self.err("syntax error, unexpected end of file", self.pos);
                    }
                    let n = self.src[self.pos + 1];
                    self.pos += 2;
                    match n {
                        b'n' => lit.push(b'\n'),
                        b'r' => lit.push(b'\r'),
                        b't' => lit.push(b'\t'),
                        _ => lit.push(n),
                    }
                }
                b'$' if self.at(self.pos + 1) == b'{' => {
                    self.pos += 2;
                    if !lit.is_empty() {
                        parts.push(StrPart::Lit(String::from_utf8_lossy(&lit).into_owned()));
                        lit.clear();
                    }
                    parts.push(StrPart::Interp(self.interp()?));
                }
                b'$' if self.at(self.pos + 1) == b'$' => {
                    lit.extend_from_slice(b"$$");
                    self.pos += 2;
                }
                b'\r' => {
                    // literal CR and CRLF in strings become LF
                    lit.push(b'\n');
                    self.pos += if self.at(self.pos + 1) == b'\n' { 2 } else { 1 };
                }
                _ => {
                    lit.push(c);
                    self.pos += 1;
                }
            }
        }
        if !lit.is_empty() {
            parts.push(StrPart::Lit(String::from_utf8_lossy(&lit).into_owned()));
        }
        self.check_nul(&parts, start)?;
        Ok(parts)
    }

    fn check_nul(&self, parts: &[StrPart], start: usize) -> PResult<()> {
        for p in parts {
            if let StrPart::Lit(l) = p
                && l.contains('\0')
            {
                return self.err(
                    format!(
                        "input string '{}' cannot be represented as Nix string because it contains null bytes",
                        l.replace('\0', "␀")
                    ),
                    start,
                );
            }
        }
        Ok(())
    }

    /// After the opening `''`: parses and strips indentation.
    fn ind_string_parts(&mut self) -> PResult<Vec<StrPart>> {
        let ind_start = self.pos;
        // (text, has_indentation) or interpolation
        enum P {
            L(Vec<u8>, bool),
            I(Expr),
        }
        let mut raw: Vec<P> = Vec::new();
        let push = |raw: &mut Vec<P>, bytes: &[u8], ind: bool| {
            if let Some(P::L(prev, true)) = raw.last_mut()
                && ind
            {
                prev.extend_from_slice(bytes);
                return;
            }
            raw.push(P::L(bytes.to_vec(), ind));
        };
        loop {
            if self.pos >= self.src.len() {
                return self.err("syntax error, unexpected end of file", self.pos);
            }
            let c = self.src[self.pos];
            let n = self.at(self.pos + 1);
            if c == b'\'' && n == b'\'' {
                let m = self.at(self.pos + 2);
                if m == b'$' {
                    push(&mut raw, b"$", false);
                    self.pos += 3;
                } else if m == b'\'' {
                    push(&mut raw, b"''", false);
                    self.pos += 3;
                } else if m == b'\\' {
                    let e = self.at(self.pos + 3);
                    if self.pos + 3 >= self.src.len() {
                        return self.err("syntax error, unexpected end of file", self.pos);
                    }
                    let len = utf8_len(e);
                    let bytes = match e {
                        b'n' => vec![b'\n'],
                        b'r' => vec![b'\r'],
                        b't' => vec![b'\t'],
                        _ => self.src[self.pos + 3..(self.pos + 3 + len).min(self.src.len())]
                            .to_vec(),
                    };
                    push(&mut raw, &bytes, false);
                    self.pos += 3 + len;
                } else {
                    self.pos += 2;
                    break;
                }
            } else if c == b'$' && n == b'{' {
                self.pos += 2;
                raw.push(P::I(self.interp()?));
            } else if c == b'$' && n != b'\'' && self.pos + 1 < self.src.len() {
                push(&mut raw, &[c, n], true);
                self.pos += 2;
            } else if c == b'$' {
                push(&mut raw, b"$", false);
                self.pos += 1;
            } else if c == b'\'' && n != b'$' && self.pos + 1 < self.src.len() {
                // `'x` (x not ' or $) is ordinary text
                push(&mut raw, &[c, n], true);
                self.pos += 2;
            } else if c == b'\'' {
                push(&mut raw, b"'", false);
                self.pos += 1;
            } else if c == b'\r' {
                push(&mut raw, b"\n", true);
                self.pos += if n == b'\n' { 2 } else { 1 };
            } else {
                push(&mut raw, &[c], true);
                self.pos += 1;
            }
        }
        for p in &raw {
            if let P::L(text, _) = p
                && text.contains(&0)
            {
                let shown = String::from_utf8_lossy(text).replace('\0', "␀");
                return self.err(
                    format!("input string '{shown}' cannot be represented as Nix string because it contains null bytes"),
                    ind_start,
                );
            }
        }
        // Pass 1: minimum indentation.
        let mut min_indent = usize::MAX;
        let mut cur = 0usize;
        let mut at_sol = true;
        for p in &raw {
            match p {
                P::L(text, true) => {
                    for &ch in text {
                        if at_sol {
                            if ch == b' ' {
                                cur += 1;
                            } else if ch == b'\n' {
                                cur = 0;
                            } else {
                                at_sol = false;
                                min_indent = min_indent.min(cur);
                            }
                        } else if ch == b'\n' {
                            at_sol = true;
                            cur = 0;
                        }
                    }
                }
                _ => {
                    if at_sol {
                        at_sol = false;
                        min_indent = min_indent.min(cur);
                    }
                }
            }
        }
        // Pass 2: strip.
        let mut out: Vec<StrPart> = Vec::new();
        let mut acc: Vec<u8> = Vec::new();
        let mut at_sol = true;
        let mut dropped = 0usize;
        let n = raw.len();
        for (i, p) in raw.into_iter().enumerate() {
            match p {
                P::L(text, true) => {
                    let mut s2 = Vec::with_capacity(text.len());
                    for ch in text {
                        if at_sol {
                            if ch == b' ' {
                                if dropped >= min_indent {
                                    s2.push(ch);
                                }
                                dropped += 1;
                            } else if ch == b'\n' {
                                dropped = 0;
                                s2.push(ch);
                            } else {
                                at_sol = false;
                                dropped = 0;
                                s2.push(ch);
                            }
                        } else {
                            s2.push(ch);
                            if ch == b'\n' {
                                at_sol = true;
                            }
                        }
                    }
                    if i == n - 1
                        && let Some(p) = s2.iter().rposition(|&b| b == b'\n')
                        && s2[p + 1..].iter().all(|&b| b == b' ')
                    {
                        s2.truncate(p + 1);
                    }
                    acc.extend_from_slice(&s2);
                }
                P::L(text, false) => {
                    at_sol = false;
                    dropped = 0;
                    acc.extend_from_slice(&text);
                }
                P::I(e) => {
                    at_sol = false;
                    dropped = 0;
                    if !acc.is_empty() {
                        out.push(StrPart::Lit(String::from_utf8_lossy(&acc).into_owned()));
                        acc.clear();
                    }
                    out.push(StrPart::Interp(e));
                }
            }
        }
        if !acc.is_empty() {
            out.push(StrPart::Lit(String::from_utf8_lossy(&acc).into_owned()));
        }
        self.check_nul(&out, ind_start)?;
        Ok(out)
    }

    /// Bindings up to (not including) `}` or `in`.
    fn binds(&mut self, is_let: bool) -> PResult<Vec<Binding>> {
        let mut out = Vec::new();
        loop {
            let (t, s) = self.peek()?;
            match t {
                Tok::Punct(b'}') if !is_let => return Ok(out),
                Tok::In if is_let => return Ok(out),
                Tok::Inherit => {
                    self.next()?;
                    let from = if self.peek()?.0 == Tok::Punct(b'(') {
                        self.next()?;
                        let e = self.expr()?;
                        self.expect(Tok::Punct(b')'))?;
                        Some(e)
                    } else {
                        None
                    };
                    let mut names = Vec::new();
                    loop {
                        let (t, s) = self.peek()?;
                        if t == Tok::Punct(b';') {
                            self.next()?;
                            break;
                        }
                        match self.attr()? {
                            AttrName::Static(n) => names.push((n, self.mkpos(s))),
                            AttrName::Dynamic(..) => {
                                return self.err("dynamic attributes not allowed in inherit", s);
                            }
                        }
                    }
                    out.push(Binding::Inherit(from, names));
                }
                _ => {
                    let path = self.attrpath()?;
                    let (t, ts) = self.next()?;
                    if t != Tok::Punct(b'=') {
                        let mut e = self.unexpected(&t, ts);
                        e.msg.push_str(", expecting '.' or '='");
                        return Err(e);
                    }
                    let e = self.expr()?;
                    self.expect(Tok::Punct(b';'))?;
                    out.push(Binding::Attr(path, e, self.mkpos(s)));
                }
            }
        }
    }
}

/// Deepest nesting of expressions the parser accepts (Bison's default stack in Nix).
const MAX_NESTING: usize = 10000;

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Expr, ParseError> {
        parse(s, 1, "/dir")
    }

    #[test]
    fn precedence_and_tokens() {
        assert!(matches!(p("1 + 2 * 3").unwrap(), Expr::Bin(BinOp::Add, ..)));
        assert!(matches!(p("a/b").unwrap(), Expr::Path(..)));
        assert!(matches!(p("a / b").unwrap(), Expr::Bin(BinOp::Div, ..)));
        assert!(matches!(p("x:x").unwrap(), Expr::Uri(..)));
        assert!(matches!(p("x: x").unwrap(), Expr::Lambda(..)));
        assert!(matches!(p("!a == b").unwrap(), Expr::Bin(BinOp::Eq, ..)));
        assert!(matches!(
            p("{ a, b ? 1, ... }@x: a").unwrap(),
            Expr::Lambda(..)
        ));
        assert!(matches!(p("{ }").unwrap(), Expr::Attrs(..)));
        assert!(p("a == b == c").is_err());
        assert!(p("{x, y, x}: x").is_err());
        assert!(p("\"abc").is_err());
    }

    #[test]
    fn indented_strings() {
        let Expr::Str(parts, _) = p("''\n  a\n    b\n  ''").unwrap() else {
            panic!()
        };
        let [StrPart::Lit(s)] = parts.as_slice() else {
            panic!()
        };
        assert_eq!(s, "a\n  b\n");
    }
}
