//! The lexer: Nix's tokens, recognised as Nix's `lexer.l` does (paths, URIs and numbers by
//! longest match), pulled one at a time by the parser (no token vector).

use super::{PResult, Parser};
use crate::source::Sym;

#[derive(Debug, PartialEq)]
pub(super) enum Tok {
    Id(Sym),
    Int(i64),
    Float(f64),
    /// A path literal; `true` when an interpolation `${` follows directly.
    Path(String, bool),
    HPath(String, bool),
    SPath(String),
    Uri(String),
    DQuote,
    IndOpen,
    DollarCurly,
    If,
    Then,
    Else,
    Assert,
    With,
    Let,
    In,
    Rec,
    Inherit,
    OrKw,
    Ellipsis,
    Eq,
    Neq,
    Leq,
    Geq,
    And,
    Or,
    Impl,
    Update,
    Concat,
    PipeFrom,
    PipeInto,
    Punct(u8),
    Eof,
    Invalid,
}

impl Clone for Tok {
    /// Inline, and a plain copy for the tokens without text: `peek` copies every token
    /// it returns, and the derived clone is an out-of-line call in wasm.
    #[inline(always)]
    fn clone(&self) -> Tok {
        match self {
            Tok::Id(s) => Tok::Id(*s),
            Tok::Int(i) => Tok::Int(*i),
            Tok::Float(f) => Tok::Float(*f),
            Tok::Punct(c) => Tok::Punct(*c),
            Tok::Path(p, i) => Tok::Path(p.clone(), *i),
            Tok::HPath(p, i) => Tok::HPath(p.clone(), *i),
            Tok::SPath(p) => Tok::SPath(p.clone()),
            Tok::Uri(u) => Tok::Uri(u.clone()),
            Tok::DQuote => Tok::DQuote,
            Tok::IndOpen => Tok::IndOpen,
            Tok::DollarCurly => Tok::DollarCurly,
            Tok::If => Tok::If,
            Tok::Then => Tok::Then,
            Tok::Else => Tok::Else,
            Tok::Assert => Tok::Assert,
            Tok::With => Tok::With,
            Tok::Let => Tok::Let,
            Tok::In => Tok::In,
            Tok::Rec => Tok::Rec,
            Tok::Inherit => Tok::Inherit,
            Tok::OrKw => Tok::OrKw,
            Tok::Ellipsis => Tok::Ellipsis,
            Tok::Eq => Tok::Eq,
            Tok::Neq => Tok::Neq,
            Tok::Leq => Tok::Leq,
            Tok::Geq => Tok::Geq,
            Tok::And => Tok::And,
            Tok::Or => Tok::Or,
            Tok::Impl => Tok::Impl,
            Tok::Update => Tok::Update,
            Tok::Concat => Tok::Concat,
            Tok::PipeFrom => Tok::PipeFrom,
            Tok::PipeInto => Tok::PipeInto,
            Tok::Eof => Tok::Eof,
            Tok::Invalid => Tok::Invalid,
        }
    }
}

pub(super) fn tok_name(t: &Tok) -> String {
    match t {
        Tok::Id(_) => "ID".into(),
        Tok::Int(_) => "INT".into(),
        Tok::Float(_) => "FLOAT".into(),
        Tok::Path(..) => "PATH".into(),
        Tok::HPath(..) => "HPATH".into(),
        Tok::SPath(_) => "SPATH".into(),
        Tok::Uri(_) => "URI".into(),
        Tok::DQuote => "'\"'".into(),
        Tok::IndOpen => "IND_STRING_OPEN".into(),
        Tok::DollarCurly => "DOLLAR_CURLY".into(),
        Tok::If => "IF".into(),
        Tok::Then => "THEN".into(),
        Tok::Else => "ELSE".into(),
        Tok::Assert => "ASSERT".into(),
        Tok::With => "WITH".into(),
        Tok::Let => "LET".into(),
        Tok::In => "IN".into(),
        Tok::Rec => "REC".into(),
        Tok::Inherit => "INHERIT".into(),
        Tok::OrKw => "OR_KW".into(),
        Tok::Ellipsis => "ELLIPSIS".into(),
        Tok::Eq => "EQ".into(),
        Tok::Neq => "NEQ".into(),
        Tok::Leq => "LEQ".into(),
        Tok::Geq => "GEQ".into(),
        Tok::And => "AND".into(),
        Tok::Or => "OR".into(),
        Tok::Impl => "IMPL".into(),
        Tok::Update => "UPDATE".into(),
        Tok::Concat => "CONCAT".into(),
        Tok::PipeFrom => "PIPE_FROM".into(),
        Tok::PipeInto => "PIPE_INTO".into(),
        Tok::Punct(c) => format!("'{}'", *c as char),
        Tok::Eof => "end of file".into(),
        Tok::Invalid => "invalid token".into(),
    }
}

pub(super) fn is_path_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-' | b'+')
}

pub(super) fn is_uri_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"%/?:@&=+$,-_.!~*'".contains(&c)
}

impl Parser<'_> {
    pub(super) fn at(&self, i: usize) -> u8 {
        self.src.get(i).copied().unwrap_or(0)
    }

    pub(super) fn skip_ws(&mut self) -> PResult<()> {
        loop {
            let c = self.at(self.pos);
            match c {
                b' ' | b'\t' | b'\r' | b'\n' => self.pos += 1,
                b'#' => {
                    while self.pos < self.src.len() && !matches!(self.src[self.pos], b'\n' | b'\r')
                    {
                        self.pos += 1;
                    }
                }
                b'/' if self.at(self.pos + 1) == b'*' => {
                    let start = self.pos;
                    self.pos += 2;
                    loop {
                        if self.pos >= self.src.len() {
                            return self.err("syntax error, unterminated comment", start);
                        }
                        if self.src[self.pos] == b'*' && self.at(self.pos + 1) == b'/' {
                            self.pos += 2;
                            break;
                        }
                        self.pos += 1;
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// Length of a PATH / PATH_SEG match at `i`: (end, interpolation follows).
    pub(super) fn match_path(&self, i: usize) -> Option<(usize, bool)> {
        let mut j = i;
        while is_path_char(self.at(j)) {
            j += 1;
        }
        let mut segs = 0;
        loop {
            if self.at(j) == b'/' && is_path_char(self.at(j + 1)) {
                j += 1;
                while is_path_char(self.at(j)) {
                    j += 1;
                }
                segs += 1;
            } else {
                break;
            }
        }
        if self.at(j) == b'/' && self.at(j + 1) == b'$' && self.at(j + 2) == b'{' {
            return Some((j + 1, true));
        }
        if segs == 0 {
            return None;
        }
        if self.at(j) == b'$' && self.at(j + 1) == b'{' {
            return Some((j, true));
        }
        if self.at(j) == b'/' {
            // trailing slash: reported by the caller
            return Some((j + 1, false));
        }
        Some((j, false))
    }

    pub(super) fn match_uri(&self, i: usize) -> Option<usize> {
        if !self.at(i).is_ascii_alphabetic() {
            return None;
        }
        let mut j = i + 1;
        while self.at(j).is_ascii_alphanumeric() || matches!(self.at(j), b'+' | b'-' | b'.') {
            j += 1;
        }
        if self.at(j) != b':' {
            return None;
        }
        j += 1;
        let s = j;
        while is_uri_char(self.at(j)) {
            j += 1;
        }
        if j == s { None } else { Some(j) }
    }

    pub(super) fn path_tok(
        &self,
        start: usize,
        end: usize,
        interp: bool,
        home: bool,
    ) -> PResult<Tok> {
        let text = String::from_utf8_lossy(&self.src[start..end]).into_owned();
        if !interp && text.ends_with('/') && text.len() > 1 {
            return self.err(format!("path '{text}' has a trailing slash"), start);
        }
        Ok(if home {
            Tok::HPath(text, interp)
        } else {
            Tok::Path(text, interp)
        })
    }

    /// Lexes the next token; returns it and its start offset.
    pub(super) fn lex(&mut self) -> PResult<(Tok, usize)> {
        self.skip_ws()?;
        let s = self.pos;
        let c = self.at(s);
        if s >= self.src.len() {
            return Ok((Tok::Eof, s));
        }
        let two = |a: u8, b: u8| c == a && self.at(s + 1) == b;
        // identifiers, numbers, paths, URIs: longest match
        if c.is_ascii_alphanumeric()
            || c == b'_'
            || c == b'.'
            || c == b'/'
            || c == b'+'
            || c == b'-'
        {
            let path = self.match_path(s);
            let uri = self.match_uri(s);
            let mut id_end = s;
            if c.is_ascii_alphabetic() || c == b'_' {
                id_end = s + 1;
                while self.at(id_end).is_ascii_alphanumeric()
                    || matches!(self.at(id_end), b'_' | b'\'' | b'-')
                {
                    id_end += 1;
                }
            }
            let mut num_end = s;
            let mut is_float = false;
            if c.is_ascii_digit() || (c == b'.' && self.at(s + 1).is_ascii_digit()) {
                let mut j = s;
                while self.at(j).is_ascii_digit() {
                    j += 1;
                }
                num_end = j;
                // FLOAT: ([1-9][0-9]*\.[0-9]*|0?\.[0-9]+)([Ee][+-]?[0-9]+)?
                let int_part = &self.src[s..j];
                let float_ok = if self.at(j) == b'.' {
                    if int_part.is_empty() || int_part == b"0" {
                        self.at(j + 1).is_ascii_digit()
                    } else {
                        int_part[0] != b'0'
                    }
                } else {
                    false
                };
                if float_ok {
                    let mut k = j + 1;
                    while self.at(k).is_ascii_digit() {
                        k += 1;
                    }
                    if matches!(self.at(k), b'e' | b'E') {
                        let mut m = k + 1;
                        if matches!(self.at(m), b'+' | b'-') {
                            m += 1;
                        }
                        if self.at(m).is_ascii_digit() {
                            while self.at(m).is_ascii_digit() {
                                m += 1;
                            }
                            k = m;
                        }
                    }
                    num_end = k;
                    is_float = true;
                }
            }
            let path_end = path.map(|p| p.0).unwrap_or(0);
            let uri_end = uri.unwrap_or(0);
            let best = id_end.max(num_end).max(path_end).max(uri_end);
            if best > s {
                if best == id_end && id_end >= num_end && id_end >= path_end && id_end >= uri_end {
                    self.pos = id_end;
                    let word = std::str::from_utf8(&self.src[s..id_end]).expect("ascii");
                    let t = match word {
                        "if" => Tok::If,
                        "then" => Tok::Then,
                        "else" => Tok::Else,
                        "assert" => Tok::Assert,
                        "with" => Tok::With,
                        "let" => Tok::Let,
                        "in" => Tok::In,
                        "rec" => Tok::Rec,
                        "inherit" => Tok::Inherit,
                        "or" => Tok::OrKw,
                        _ => Tok::Id(Sym::new(word)),
                    };
                    return Ok((t, s));
                }
                if best == num_end && num_end >= path_end && num_end >= uri_end {
                    self.pos = num_end;
                    let text = std::str::from_utf8(&self.src[s..num_end]).expect("ascii");
                    if is_float {
                        let v: f64 = text
                            .parse()
                            .or_else(|_| self.err(format!("invalid float '{text}'"), s))?;
                        return Ok((Tok::Float(v), s));
                    }
                    return match text.parse::<i64>() {
                        Ok(v) => Ok((Tok::Int(v), s)),
                        Err(_) => self.err(format!("invalid integer '{text}'"), s),
                    };
                }
                if best == path_end && path_end >= uri_end {
                    let (end, interp) = path.expect("path");
                    self.pos = end;
                    return Ok((self.path_tok(s, end, interp, false)?, s));
                }
                self.pos = uri_end;
                let text = String::from_utf8_lossy(&self.src[s..uri_end]).into_owned();
                return Ok((Tok::Uri(text), s));
            }
        }
        if c == b'~' && self.at(s + 1) == b'/' {
            if let Some((end, interp)) = self.match_path(s + 1) {
                self.pos = end;
                return Ok((self.path_tok(s, end, interp, true)?, s));
            }
            if self.at(s + 2) == b'$' && self.at(s + 3) == b'{' {
                self.pos = s + 2;
                return Ok((Tok::HPath("~/".into(), true), s));
            }
        }
        if c == b'<' && is_path_char(self.at(s + 1)) {
            let mut j = s + 1;
            loop {
                while is_path_char(self.at(j)) {
                    j += 1;
                }
                if self.at(j) == b'/' && is_path_char(self.at(j + 1)) {
                    j += 1;
                    continue;
                }
                break;
            }
            if self.at(j) == b'>' {
                self.pos = j + 1;
                let text = String::from_utf8_lossy(&self.src[s + 1..j]).into_owned();
                return Ok((Tok::SPath(text), s));
            }
        }
        let (t, len) = if c == b'.' && self.at(s + 1) == b'.' && self.at(s + 2) == b'.' {
            (Tok::Ellipsis, 3)
        } else if two(b'$', b'{') {
            (Tok::DollarCurly, 2)
        } else if two(b'\'', b'\'') {
            let mut j = s + 2;
            while self.at(j) == b' ' {
                j += 1;
            }
            if self.at(j) == b'\n' {
                (Tok::IndOpen, j + 1 - s)
            } else {
                (Tok::IndOpen, 2)
            }
        } else if two(b'=', b'=') {
            (Tok::Eq, 2)
        } else if two(b'!', b'=') {
            (Tok::Neq, 2)
        } else if two(b'<', b'=') {
            (Tok::Leq, 2)
        } else if two(b'>', b'=') {
            (Tok::Geq, 2)
        } else if two(b'&', b'&') {
            (Tok::And, 2)
        } else if two(b'|', b'|') {
            (Tok::Or, 2)
        } else if two(b'-', b'>') {
            (Tok::Impl, 2)
        } else if two(b'/', b'/') {
            (Tok::Update, 2)
        } else if two(b'+', b'+') {
            (Tok::Concat, 2)
        } else if two(b'|', b'>') {
            (Tok::PipeInto, 2)
        } else if two(b'<', b'|') {
            (Tok::PipeFrom, 2)
        } else if c == b'"' {
            (Tok::DQuote, 1)
        } else if b"{}[]();:,.@?=+-*/!<>".contains(&c) {
            (Tok::Punct(c), 1)
        } else {
            (Tok::Invalid, 1)
        };
        self.pos = s + len;
        Ok((t, s))
    }

    pub(super) fn peek(&mut self) -> PResult<(Tok, usize)> {
        if let Some((at, t, s, _)) = &self.peeked
            && *at == self.pos
        {
            return Ok((t.clone(), *s));
        }
        let save = self.pos;
        let (t, s) = self.lex()?;
        self.peeked = Some((save, t.clone(), s, self.pos));
        self.pos = save;
        Ok((t, s))
    }

    /// The next token, reusing the last `peek` when it was at the same position.
    pub(super) fn next(&mut self) -> PResult<(Tok, usize)> {
        if let Some((at, t, s, after)) = self.peeked.take()
            && at == self.pos
        {
            self.pos = after;
            return Ok((t, s));
        }
        self.lex()
    }

    pub(super) fn peek2(&mut self) -> PResult<(Tok, Tok)> {
        let save = self.pos;
        let a = self.next().map(|x| x.0);
        let b = if a.is_ok() {
            self.next().map(|x| x.0)
        } else {
            Ok(Tok::Eof)
        };
        self.pos = save;
        Ok((a?, b?))
    }

    pub(super) fn expect(&mut self, want: Tok) -> PResult<usize> {
        let (t, s) = self.next()?;
        if t != want {
            let mut e = self.unexpected(&t, s);
            e.msg.push_str(&format!(", expecting {}", tok_name(&want)));
            return Err(e);
        }
        Ok(s)
    }
}

pub(super) fn utf8_len(b: u8) -> usize {
    match b {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}
