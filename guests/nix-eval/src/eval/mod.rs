//! The lazy evaluator: runs compiled IR over environment frames.
//!
//! [`Evaluator`] holds an evaluation's state; its methods are spread by responsibility:
//! [`interp`] (evaluating IR), [`force`], [`call`], [`ops`] (operators and equality),
//! [`coerce`] (type checks and coercions), [`import`] (loading code and the search path),
//! [`limits`] (call depth and native stack) and [`speculate`] (computing on the spot what is
//! free to compute). Thunks are forced in place with blackholing (a thunk under evaluation
//! that is forced again is "infinite recursion"); a failed thunk keeps its error. Every file
//! read and store effect goes through the evaluator's [`EvalIo`].

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io::Write as _;
use std::rc::Rc;

use crate::compiler::BaseScope;
use crate::error::Result;
use crate::io::EvalIo;
use crate::source::{Pos, Sym};
use crate::value::{Env, NixString, Slots, Value};

mod call;
mod coerce;
pub(crate) mod corepkgs;
mod force;
mod import;
mod interp;
mod limits;
mod ops;
pub(crate) mod speculate;
mod suggest;
#[cfg(test)]
mod tests;

pub(crate) use coerce::Coercion;

/// Evaluator configuration (everything the outside world may influence).
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Variables visible to `getEnv` (and `HOME` for `~` paths).
    pub env: HashMap<String, String>,
    /// `builtins.currentSystem`.
    pub system: String,
    /// `builtins.currentTime`.
    pub current_time: i64,
    /// The search path (`-I`, then `NIX_PATH` given explicitly), entries absolute.
    pub search_path: Vec<nix_args::SearchPathEntry>,
    /// `max-call-depth`.
    pub max_call_depth: usize,
    /// Native stack budget in bytes for the evaluating thread.
    pub stack_budget: usize,
    /// Enabled experimental features.
    pub experimental: Vec<String>,
    /// Lint settings: (name, level) e.g. ("absolute-path-literals", "fatal").
    pub lints: Vec<(String, String)>,
    /// `allow-import-from-derivation`: reading a derivation's output builds it.
    pub allow_ifd: bool,
    /// `abort-on-warn`: `builtins.warn` fails the evaluation after printing its warning.
    pub abort_on_warn: bool,
    /// Whether diagnostics go to a terminal: colour codes in messages are kept there and
    /// removed elsewhere, as Nix does.
    pub terminal: bool,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            env: HashMap::new(),
            system: "x86_64-linux".into(),
            current_time: 0,
            search_path: Vec::new(),
            max_call_depth: 10000,
            stack_budget: 512 << 20,
            experimental: Vec::new(),
            lints: Vec::new(),
            allow_ifd: true,
            abort_on_warn: false,
            terminal: false,
        }
    }
}

/// The implementation of a builtin: gets exactly its arity's (unforced) arguments.
pub(crate) type PrimOpFn = fn(&Evaluator, &[Value], Pos) -> Result<Value>;

/// The evaluator: one evaluation's state.
pub struct Evaluator {
    /// Options.
    pub opts: EvalOptions,
    /// Every file read and store effect.
    pub(crate) io: Box<dyn EvalIo>,
    pub(crate) base_env: Rc<Env>,
    pub(crate) base_scope: BaseScope,
    pub(crate) builtins: RefCell<Option<Value>>,
    /// The builtins' implementations, by [`crate::value::PrimOp::id`].
    pub(crate) primops: &'static [PrimOpFn],
    call_depth: Cell<usize>,
    stack_base: Cell<usize>,
    /// Recycled one-slot frames (see `recycle_frame`).
    frame_pool: RefCell<Vec<Rc<Env>>>,
    /// Each attribute name as a string value, made once (see [`Evaluator::name_str`]).
    name_strs: RefCell<Vec<Option<Rc<NixString>>>>,
    import_cache: RefCell<HashMap<String, Value>>,
    /// Where `trace`/`warn` output goes.
    pub diag: RefCell<Box<dyn std::io::Write>>,
    pub(crate) sym: Syms,
    /// The `derivation` function, once compiled (see `builtins::derivation`).
    pub(crate) derivation_fn: RefCell<Option<Value>>,
    /// Source paths copied to the store so far, and their store paths.
    copied: RefCell<HashMap<String, String>>,
}

impl std::fmt::Debug for Evaluator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evaluator")
            .field("opts", &self.opts)
            .finish()
    }
}

/// Frequently used symbols.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Syms {
    pub functor: Sym,
    pub to_string: Sym,
    pub out_path: Sym,
    pub type_: Sym,
    pub overrides: Sym,
    pub name: Sym,
    pub value: Sym,
    pub key: Sym,
}

/// How many recycled frames `Evaluator::recycle_frame` keeps.
pub(super) const FRAME_POOL: usize = 64;

impl Evaluator {
    /// An evaluator without the base environment: `builtins::install` gives it one (see
    /// [`Evaluator::new`]).
    pub(crate) fn bare(opts: EvalOptions, io: Box<dyn EvalIo>) -> Evaluator {
        let sym = Syms {
            functor: Sym::new("__functor"),
            to_string: Sym::new("__toString"),
            out_path: Sym::new("outPath"),
            type_: Sym::new("type"),
            overrides: Sym::new("__overrides"),
            name: Sym::new("name"),
            value: Sym::new("value"),
            key: Sym::new("key"),
        };
        Evaluator {
            opts,
            io,
            base_env: Rc::new(Env {
                slots: RefCell::new(Slots::new()),
                parent: None,
                is_with: false,
            }),
            base_scope: BaseScope::default(),
            builtins: RefCell::new(None),
            primops: &[],
            call_depth: Cell::new(0),
            stack_base: Cell::new(limits::stack_addr()),
            frame_pool: RefCell::new(Vec::new()),
            name_strs: RefCell::new(Vec::new()),
            import_cache: RefCell::new(HashMap::new()),
            diag: RefCell::new(Box::new(std::io::stderr())),
            sym,
            derivation_fn: RefCell::new(None),
            copied: RefCell::new(HashMap::new()),
        }
    }

    /// The attribute name `name` as a string value. `mapAttrs`, `zipAttrsWith` and
    /// `attrNames` give every name of a set as a string; the module system asks for the
    /// same names over and over, so each is made once and shared.
    pub(crate) fn name_str(&self, name: Sym) -> Value {
        let mut strs = self.name_strs.borrow_mut();
        let i = name.0 as usize;
        if strs.len() <= i {
            strs.resize(i + 1, None);
        }
        let s = strs[i].get_or_insert_with(|| Rc::new(NixString::plain(name.as_str())));
        Value::Str(s.clone())
    }

    /// Marks the current stack position as the base for stack-overflow detection.
    pub fn reset_stack_base(&self) {
        self.stack_base.set(limits::stack_addr());
    }

    /// Writes a diagnostic line (trace/warning).
    pub fn diag(&self, line: &str) {
        let line = crate::diag::filter_ansi(line, self.opts.terminal);
        let mut d = self.diag.borrow_mut();
        let _ = writeln!(d, "{line}");
    }
}
