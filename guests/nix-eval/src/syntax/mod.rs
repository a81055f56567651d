//! The Nix language's syntax: tokens, the parser, the syntax tree with nested attribute paths
//! merged, and its printing (`--parse`). Knows nothing of evaluation.

pub(crate) mod ast;
pub(crate) mod merge;
mod parser;
pub(crate) mod path;
pub(crate) mod quote;
mod show;

pub(crate) use parser::{LintLevel, Lints, parse, parse_with_lints};
pub(crate) use show::{show_parsed, show_path};

use crate::error::{Error, ErrorKind};
use crate::source::Pos;

/// A syntax error (or a lint warning).
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[error("{msg}")]
pub struct ParseError {
    /// The message, as Nix words it.
    pub msg: String,
    /// Where it happened.
    pub pos: Pos,
}

impl From<ParseError> for Error {
    fn from(e: ParseError) -> Error {
        Error::new(ErrorKind::Parse, e.msg, e.pos)
    }
}
