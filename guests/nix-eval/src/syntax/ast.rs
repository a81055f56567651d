//! The abstract syntax tree produced by the parser.
//!
//! It keeps the surface structure (attribute paths, inherits, string parts) so that the
//! compiler can report Nix's definition-time errors (duplicate attributes) and `--parse`
//! can print it; evaluation never walks it (see `compile`).

use crate::source::{Pos, Sym};

/// An expression.
#[derive(Debug, Clone)]
pub enum Expr {
    /// Integer literal.
    Int(i64),
    /// Float literal.
    Float(f64),
    /// String with interpolations (a single literal part when plain), and where its parts
    /// start.
    Str(Vec<StrPart>, Pos),
    /// A path literal: the parts (first part literal), absolute after parsing if not `~`.
    Path(PathKind, Vec<StrPart>, Pos),
    /// `<name/sub>`.
    SearchPath(String, Pos),
    /// An URI literal.
    Uri(String, Pos),
    /// A variable.
    Var(Sym, Pos),
    /// `e.a.b or def`.
    Select(Box<Expr>, Vec<AttrName>, Option<Box<Expr>>, Pos),
    /// `e ? a.b`.
    HasAttr(Box<Expr>, Vec<AttrName>, Pos),
    /// `{ ... }` / `rec { ... }`.
    Attrs(bool, Vec<Binding>, Pos),
    /// `[ ... ]`.
    List(Vec<Expr>),
    /// A function.
    Lambda(Box<Lambda>),
    /// Function application (with one or more arguments).
    Call(Box<Expr>, Vec<Expr>, Pos),
    /// `let ... in e`.
    Let(Vec<Binding>, Box<Expr>, Pos),
    /// `with e; e`.
    With(Box<Expr>, Box<Expr>, Pos),
    /// `if c then a else b`.
    If(Box<Expr>, Box<Expr>, Box<Expr>, Pos),
    /// `assert c; e`.
    Assert(Box<Expr>, Box<Expr>, Pos),
    /// `!e`.
    Not(Box<Expr>, Pos),
    /// `-e`.
    Neg(Box<Expr>, Pos),
    /// A binary operator, with where the operator is and, for `+`, where the text of each
    /// operand starts (boxed: every node's size is the largest variant's).
    Bin(BinOp, Box<Expr>, Box<Expr>, Pos, Option<Box<[Pos; 2]>>),
    /// `__curPos`.
    CurPos(Pos),
}

// Every node is as big as the largest variant, and the parser moves nodes by value: a bigger
// `Expr` costs parse time (8 more bytes on wasm32 made the 20 000-attribute benchmark 9 %
// slower). Box what a variant adds rather than growing it.
const _: () = assert!(
    size_of::<Expr>()
        <= if cfg!(target_pointer_width = "32") {
            24
        } else {
            48
        }
);

/// Kind of a path literal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PathKind {
    /// Absolute or relative (already made absolute against the file's directory).
    Plain,
    /// `~/...`.
    Home,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `==`
    Eq,
    /// `!=`
    Neq,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `&&`
    And,
    /// `||`
    Or,
    /// `->`
    Impl,
    /// `//`
    Update,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `++`
    Concat,
    /// `|>`
    PipeRight,
    /// `<|`
    PipeLeft,
}

/// A part of a string.
#[derive(Debug, Clone)]
pub enum StrPart {
    /// Literal text.
    Lit(String),
    /// `${e}`.
    Interp(Expr),
}

/// An attribute name in a path.
#[derive(Debug, Clone)]
pub enum AttrName {
    /// `a` or `"a"`.
    Static(Sym),
    /// `${e}` or `"a${e}"`.
    Dynamic(Expr, Pos),
}

/// A binding in an attribute set or `let`.
#[derive(Debug, Clone)]
pub enum Binding {
    /// `a.b.c = e;`
    Attr(Vec<AttrName>, Expr, Pos),
    /// `inherit (from) names;`
    Inherit(Option<Expr>, Vec<(Sym, Pos)>),
}

/// A lambda.
#[derive(Debug, Clone)]
pub struct Lambda {
    /// The plain argument or `@` name.
    pub arg: Option<Sym>,
    /// The formals, if a pattern.
    pub formals: Option<Formals>,
    /// The body.
    pub body: Expr,
    /// Position of the lambda.
    pub pos: Pos,
}

/// A `{ a, b ? d, ... }` pattern.
#[derive(Debug, Clone)]
pub struct Formals {
    /// The formals in source order.
    pub entries: Vec<(Sym, Option<Expr>, Pos)>,
    /// `...` present.
    pub ellipsis: bool,
}
/// Where an expression starts, as Nix's `Expr::getPos` reports it (literal numbers, lists
/// and lambdas have no position of their own).
pub fn expr_pos(e: &Expr) -> Pos {
    match e {
        Expr::Str(_, p)
        | Expr::Path(_, _, p)
        | Expr::SearchPath(_, p)
        | Expr::Uri(_, p)
        | Expr::Var(_, p)
        | Expr::Select(_, _, _, p)
        | Expr::HasAttr(_, _, p)
        | Expr::Attrs(_, _, p)
        | Expr::Call(_, _, p)
        | Expr::Let(_, _, p)
        | Expr::With(_, _, p)
        | Expr::If(_, _, _, p)
        | Expr::Assert(_, _, p)
        | Expr::Not(_, p)
        | Expr::Neg(_, p)
        | Expr::Bin(_, _, _, p, _)
        | Expr::CurPos(p) => *p,
        Expr::Lambda(l) => l.pos,
        Expr::Int(_) | Expr::Float(_) | Expr::List(_) => Pos::NONE,
    }
}
