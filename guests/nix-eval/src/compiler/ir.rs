//! The IR the evaluator runs: the syntax tree with every variable resolved to a frame slot
//! (or a `with` lookup), nested attribute paths merged, and operators in the form Nix
//! evaluates them.

use std::rc::Rc;

use crate::source::{Pos, Sym};
use crate::string::NixString;
use crate::syntax::ast::BinOp;

/// A constant of the program text.
#[derive(Debug)]
pub enum Lit {
    /// An integer literal.
    Int(i64),
    /// A float literal.
    Float(f64),
    /// A string (or URI) literal, shared by every evaluation of it.
    Str(Rc<NixString>),
    /// An absolute path literal.
    Path(Rc<NixString>),
}

impl Lit {
    /// A string literal.
    pub fn str(s: impl Into<String>) -> Lit {
        Lit::Str(Rc::new(NixString::plain(s)))
    }
}

/// An attribute name in a select / has-attr path.
#[derive(Debug)]
pub enum IrAttr {
    /// Known name.
    Static(Sym),
    /// Computed name.
    Dynamic(Box<DynamicName>),
}

/// A computed attribute name `${e}` in a select / has-attr path.
#[derive(Debug)]
pub struct DynamicName {
    /// The name's expression.
    pub ir: Ir,
    /// Where the expression starts (where a name that is not a string is reported).
    pub pos: Pos,
    /// `"${e}"` as `--parse` prints it, for traces naming a path whose name failed.
    pub text: String,
}

/// The compiled attribute-set definition.
#[derive(Debug, Default)]
pub struct AttrsIr {
    /// Static attributes (name, value, pos); in `rec` sets slot i holds attribute i.
    pub statics: Vec<(Sym, Rc<Ir>, Pos)>,
    /// Dynamic attributes `${n} = v`.
    pub dynamics: Vec<(Ir, Rc<Ir>, Pos)>,
    /// `inherit (e)` sources of a `rec` set: frame slots after the attributes.
    pub froms: Vec<Rc<Ir>>,
}

/// A formal argument: name, default, position.
pub type Formal = (Sym, Option<Rc<Ir>>, Pos);

/// A compiled lambda.
#[derive(Debug)]
pub struct LambdaIr {
    /// Function name (when bound to an attribute or variable), for messages.
    pub name: Option<Sym>,
    /// Formals: (name, default); their slots are 0..n.
    pub formals: Option<Vec<Formal>>,
    /// `...` present.
    pub ellipsis: bool,
    /// The plain / `@` argument name; its slot is the last one.
    pub arg: Option<Sym>,
    /// Number of slots in the frame.
    pub nslots: usize,
    /// The body.
    pub body: Ir,
    /// Position of the lambda.
    pub pos: Pos,
    /// A plain-argument lambda whose body is free to compute without a frame (see
    /// [`super::speculate`]).
    pub cheap_body: bool,
}

/// What a concatenation of parts makes.
#[derive(Debug)]
pub enum ConcatKind {
    /// `"…${e}…"`: always a string.
    String,
    /// A path literal with interpolations (`./a/${b}`): its first part is a path.
    Path,
    /// `a + b`: numbers, paths or strings by the first operand; with where each operand's
    /// text starts (an operand's failure is reported there).
    Plus(Box<[Pos; 2]>),
}

/// The IR.
#[derive(Debug)]
pub enum Ir {
    /// A constant.
    Const(Lit),
    /// A lexical variable: how many frames up, which slot, where it is used.
    Var {
        /// Frames up from the current one.
        depth: u32,
        /// The slot in that frame.
        slot: u32,
        /// Where the variable is used.
        pos: Pos,
    },
    /// A variable looked up in the enclosing `with`s.
    WithVar {
        /// The name.
        name: Sym,
        /// Where it is used.
        pos: Pos,
    },
    /// `expr.path or default`.
    Select {
        /// The set.
        expr: Box<Ir>,
        /// The attribute path.
        path: Box<[IrAttr]>,
        /// `or default`.
        default: Option<Box<Ir>>,
        /// Where the select is.
        pos: Pos,
    },
    /// `expr ? path`.
    HasAttr {
        /// The set.
        expr: Box<Ir>,
        /// The attribute path.
        path: Box<[IrAttr]>,
        /// Where `expr` starts.
        pos: Pos,
    },
    /// A non-recursive attribute set.
    Attrs(Box<AttrsIr>),
    /// A recursive attribute set (its own frame).
    RecAttrs(Box<AttrsIr>),
    /// A list.
    List(Box<[Rc<Ir>]>),
    /// A function.
    Lambda(Rc<LambdaIr>),
    /// Application of a function to one or more arguments.
    Call {
        /// The function.
        func: Box<Ir>,
        /// The arguments, applied left to right.
        args: Box<[Rc<Ir>]>,
        /// Where the call is.
        pos: Pos,
    },
    /// `let` (its own frame holding the bindings).
    Let {
        /// The bindings, one slot each.
        binds: Box<[Rc<Ir>]>,
        /// The body.
        body: Box<Ir>,
    },
    /// `with` (its own frame holding the set).
    With {
        /// The set.
        scope: Rc<Ir>,
        /// The body.
        body: Box<Ir>,
    },
    /// `if`.
    If {
        /// The condition.
        cond: Box<Ir>,
        /// `then`.
        then: Box<Ir>,
        /// `else`.
        otherwise: Box<Ir>,
        /// Where the `if` is.
        pos: Pos,
    },
    /// `assert`.
    Assert {
        /// The condition.
        cond: Box<Ir>,
        /// The body.
        body: Box<Ir>,
        /// Where the `assert` is.
        pos: Pos,
        /// The condition's source text, as `--parse` prints it (Nix's message shows it).
        text: String,
    },
    /// `!expr`.
    Not {
        /// The operand.
        expr: Box<Ir>,
        /// Where the operand starts (where Nix reports its failures).
        pos: Pos,
    },
    /// A binary operator other than `+`.
    Bin {
        /// The operator.
        op: BinOp,
        /// The left operand.
        lhs: Box<Ir>,
        /// The right operand.
        rhs: Box<Ir>,
        /// Where the operator is.
        pos: Pos,
        /// Where each operand starts.
        operand_pos: [Pos; 2],
    },
    /// String interpolation, path interpolation and `+`.
    Concat {
        /// The parts, at least two.
        parts: Box<[Ir]>,
        /// What the concatenation makes.
        kind: ConcatKind,
        /// Where it is.
        pos: Pos,
    },
    /// `~/...`, resolved against `HOME` at run time.
    HomePath {
        /// The path after `~`.
        rest: String,
        /// Where it is.
        pos: Pos,
    },
    /// `__curPos`: the position as a set (`file`, `line`, `column`).
    CurPos(Pos),
}
