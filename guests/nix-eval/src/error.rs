//! Evaluation errors: what failed, where, and the trace frames Nix prints above it. The bottom
//! of the evaluator: every layer returns these; this module imports only positions and the I/O
//! boundary's errors.

use crate::source::Pos;

/// What kind of failure (decides what `tryEval` catches and the exit code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// `throw`.
    Throw,
    /// A failed `assert`.
    Assert,
    /// `abort`.
    Abort,
    /// Syntax or name-resolution error.
    Parse,
    /// Any other evaluation error (type errors, missing attributes, ...).
    Eval,
    /// Blackhole hit.
    InfiniteRecursion,
    /// Call depth or native stack exhausted.
    StackOverflow,
}

/// The body of an evaluation error.
#[derive(Debug, Clone)]
pub struct ErrorInner {
    /// Kind.
    pub kind: ErrorKind,
    /// Message (Nix wording).
    pub msg: String,
    /// Position of the failure.
    pub pos: Pos,
    /// Trace frames, innermost first: (position, description).
    pub trace: Vec<(Pos, String)>,
    /// For an infinite recursion on its way out: the address of the thunk that was
    /// entered again, whose own failure gets the frame "entering the infinite recursion".
    pub recursion_entry: usize,
}

/// An evaluation error.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", .0.msg)]
pub struct Error(pub Box<ErrorInner>);

impl Error {
    /// A new error.
    pub fn new(kind: ErrorKind, msg: impl Into<String>, pos: Pos) -> Error {
        Error(Box::new(ErrorInner {
            kind,
            msg: msg.into(),
            pos,
            trace: Vec::new(),
            recursion_entry: 0,
        }))
    }
    /// A plain evaluation error.
    pub fn eval(msg: impl Into<String>) -> Error {
        Error::new(ErrorKind::Eval, msg, Pos::NONE)
    }
    /// Sets the position if none yet.
    pub fn at(mut self, pos: Pos) -> Error {
        if self.0.pos == Pos::NONE {
            self.0.pos = pos;
        }
        self
    }
    /// Adds a trace frame.
    pub fn frame(mut self, pos: Pos, msg: impl Into<String>) -> Error {
        self.0.trace.push((pos, msg.into()));
        self
    }
    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }
}

/// Result of evaluation.
pub type Result<T> = std::result::Result<T, Error>;

impl From<crate::io::IoError> for Error {
    /// A failed read or store operation, as an evaluation error (its position is set by the
    /// caller with [`Error::at`]).
    fn from(e: crate::io::IoError) -> Error {
        Error::new(ErrorKind::Eval, e.to_string(), Pos::NONE)
    }
}
