//! The lazy evaluator: runs compiled IR over environment frames.
//!
//! Thunks are forced in place with blackholing (a thunk under evaluation that is forced
//! again is "infinite recursion"); a failed thunk is restored so `tryEval` can re-force it.
//! Recursion uses the native stack: the evaluator watches both Nix's `max-call-depth` and
//! the remaining native stack (measured from the address of a local) so that runaway
//! recursion ends in a clean error, never a crash, natively and in wasm alike.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::rc::Rc;

use crate::ast::BinOp;
use crate::compile::{self, BaseScope, CompileOpts, Ir, IrAttr, LambdaIr};
use crate::parser::{self, ParseError};
use crate::source::{Origin, Pos, Sym, add_source};
use crate::store::{NoStore, StoreOps};
use crate::value::*;

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

impl From<ParseError> for Error {
    fn from(e: ParseError) -> Error {
        Error::new(ErrorKind::Parse, e.msg, e.pos)
    }
}

/// Result of evaluation.
pub type Result<T> = std::result::Result<T, Error>;

/// Evaluator configuration (everything the outside world may influence).
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Variables visible to `getEnv` (and `HOME` for `~` paths).
    pub env: HashMap<String, String>,
    /// `builtins.currentSystem`.
    pub system: String,
    /// `builtins.currentTime`.
    pub current_time: i64,
    /// Search path entries `(prefix, path)` (`-I`, then `NIX_PATH` given explicitly).
    pub search_path: Vec<(Option<String>, String)>,
    /// `max-call-depth`.
    pub max_call_depth: usize,
    /// Native stack budget in bytes for the evaluating thread.
    pub stack_budget: usize,
    /// The store directory.
    pub store_dir: String,
    /// Enabled experimental features.
    pub experimental: Vec<String>,
    /// Lint settings: (name, level) e.g. ("absolute-path-literals", "fatal").
    pub lints: Vec<(String, String)>,
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
            store_dir: "/nix/store".into(),
            experimental: Vec::new(),
            lints: Vec::new(),
        }
    }
}

/// The evaluator.
pub struct Evaluator {
    /// Options.
    pub opts: EvalOptions,
    /// Store operations.
    pub store: Box<dyn StoreOps>,
    pub(crate) base_env: Rc<Env>,
    pub(crate) base_scope: BaseScope,
    pub(crate) builtins: RefCell<Option<Value>>,
    call_depth: Cell<usize>,
    stack_base: Cell<usize>,
    /// Recycled one-slot frames (see `recycle_frame`).
    frame_pool: RefCell<Vec<Rc<Env>>>,
    pub(crate) import_cache: RefCell<HashMap<String, Value>>,
    /// Where `trace`/`warn` output goes.
    pub diag: RefCell<Box<dyn std::io::Write>>,
    pub(crate) sym: Syms,
    /// Derivations computed so far (by `.drv` path).
    pub(crate) drvs: RefCell<crate::derivation::Registry>,
    derivation_fn: RefCell<Option<Value>>,
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
const FRAME_POOL: usize = 64;

#[inline(always)]
fn stack_addr() -> usize {
    let x = 0u8;
    std::hint::black_box(&x) as *const u8 as usize
}

impl Evaluator {
    /// A new evaluator with no store.
    pub fn new(opts: EvalOptions) -> Evaluator {
        Self::with_store(opts, Box::new(NoStore))
    }

    /// A new evaluator with the given store operations.
    pub fn with_store(opts: EvalOptions, store: Box<dyn StoreOps>) -> Evaluator {
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
        let mut ev = Evaluator {
            opts,
            store,
            base_env: Rc::new(Env {
                slots: RefCell::new(Slots::new()),
                parent: None,
                is_with: false,
            }),
            base_scope: BaseScope(Vec::new()),
            builtins: RefCell::new(None),
            call_depth: Cell::new(0),
            stack_base: Cell::new(stack_addr()),
            frame_pool: RefCell::new(Vec::new()),
            import_cache: RefCell::new(HashMap::new()),
            diag: RefCell::new(Box::new(std::io::stderr())),
            sym,
            drvs: RefCell::new(Default::default()),
            derivation_fn: RefCell::new(None),
            copied: RefCell::new(HashMap::new()),
        };
        crate::builtins::install(&mut ev);
        ev
    }

    /// The `derivation` function (Nix code over `derivationStrict`), compiled on first use.
    pub(crate) fn derivation_fn(&self) -> Result<Value> {
        if let Some(f) = &*self.derivation_fn.borrow() {
            return Ok(f.clone());
        }
        let ir = self.compile_source(
            crate::derivation::DERIVATION_NIX,
            Origin::File("«nix-internal»/derivation-internal.nix".into()),
            "/",
            None,
        )?;
        let f = self.eval(&ir, &self.base_env.clone())?;
        *self.derivation_fn.borrow_mut() = Some(f.clone());
        Ok(f)
    }

    /// Copies a source path to the store once per evaluation.
    fn copy_path_cached(
        &self,
        path: &str,
    ) -> std::result::Result<String, crate::store::StoreError> {
        if let Some(p) = self.copied.borrow().get(path) {
            return Ok(p.clone());
        }
        let sp = self.store.copy_path(path)?;
        self.copied.borrow_mut().insert(path.to_owned(), sp.clone());
        Ok(sp)
    }

    /// Marks the current stack position as the base for stack-overflow detection.
    pub fn reset_stack_base(&self) {
        self.stack_base.set(stack_addr());
    }

    /// Writes a diagnostic line (trace/warning).
    pub fn diag(&self, line: &str) {
        let mut d = self.diag.borrow_mut();
        let _ = writeln!(d, "{line}");
    }

    /// Parses and compiles source text from `origin`, relative paths against `dir`.
    pub fn compile_source(
        &self,
        text: &str,
        origin: Origin,
        dir: &str,
        extra: Option<&[Sym]>,
    ) -> Result<Rc<Ir>> {
        let base = add_source(origin, text);
        let (ast, warnings) = parser::parse_with_lints(text, base, dir, &self.lints())?;
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
        let opts = CompileOpts {
            text: Rc::from(text),
            base,
        };
        Ok(Rc::new(compile::compile(
            &ast,
            &self.base_scope,
            extra,
            &opts,
        )?))
    }

    fn lints(&self) -> parser::Lints {
        let mut l = parser::Lints {
            pipe_operators: self.opts.experimental.iter().any(|f| f == "pipe-operators"),
            ..Default::default()
        };
        for (name, level) in &self.opts.lints {
            let level = match level.as_str() {
                "fatal" => parser::LintLevel::Fatal,
                "warn" => parser::LintLevel::Warn,
                _ => parser::LintLevel::Ignore,
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

    /// `import path`.
    pub fn import(&self, path: &str, pos: Pos) -> Result<Value> {
        let mut path = path.to_owned();
        match std::fs::metadata(&path) {
            _ if crate::corepkgs::lookup(&path).is_some() => {}
            Ok(m) if m.is_dir() => path = format!("{}/default.nix", path.trim_end_matches('/')),
            Err(e) if crate::sandbox::is_refusal(&path, &e) => {
                return Err(Error::new(
                    ErrorKind::Eval,
                    crate::sandbox::refusal_message(&path),
                    pos,
                ));
            }
            _ => {}
        }
        if let Some(v) = self.import_cache.borrow().get(&path) {
            return Ok(v.clone());
        }
        let text = match crate::corepkgs::lookup(&path) {
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
        match std::fs::read(path) {
            Err(e) if crate::sandbox::is_refusal(path, &e) => Err(Error::new(
                ErrorKind::Eval,
                crate::sandbox::refusal_message(path),
                pos,
            )),
            Ok(b) => String::from_utf8(b).map_err(|_| {
                Error::new(
                    ErrorKind::Eval,
                    format!("file '{path}' is not valid UTF-8"),
                    pos,
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::new(
                ErrorKind::Eval,
                format!("path '{path}' does not exist"),
                pos,
            )),
            Err(e) => Err(Error::new(
                ErrorKind::Eval,
                format!("reading '{path}': {e}"),
                pos,
            )),
        }
    }

    // ---------------------------------------------------------------- forcing

    /// Forces a value to weak head normal form.
    #[inline]
    pub fn force(&self, v: &Value) -> Result<Value> {
        match v {
            Value::Thunk(t) => self.force_thunk(t),
            v => Ok(v.clone()),
        }
    }

    fn force_thunk(&self, t: &Rc<Thunk>) -> Result<Value> {
        if let ThunkState::Done(v) = &*t.0.borrow() {
            return Ok(v.clone());
        }
        self.check_stack(Pos::NONE)?;
        let st = std::mem::replace(&mut *t.0.borrow_mut(), ThunkState::Blackhole);
        let r = match &st {
            ThunkState::Pending(ir, env) => self.eval(ir, env),
            // A lazy application (of `genList`, `map`, ...) has the function's position as
            // its call site.
            ThunkState::Apply(f, a) => {
                let at = match f {
                    Value::Lambda(c) => c.lambda.pos,
                    _ => Pos::NONE,
                };
                self.call(f, a.clone(), at)
            }
            ThunkState::Blackhole => {
                let mut e = Error::new(
                    ErrorKind::InfiniteRecursion,
                    "infinite recursion encountered",
                    Pos::NONE,
                );
                e.0.recursion_entry = Rc::as_ptr(t) as usize;
                return Err(e);
            }
            ThunkState::Done(_) => unreachable!("checked above"),
            ThunkState::Failed(e) => {
                let e = e.clone();
                *t.0.borrow_mut() = st;
                return Err(e);
            }
        };
        match r {
            Ok(v) => {
                let v = match v {
                    Value::Thunk(inner) => self.force_thunk(&inner)?,
                    v => v,
                };
                *t.0.borrow_mut() = ThunkState::Done(v.clone());
                Ok(v)
            }
            Err(mut e) => {
                if e.0.recursion_entry == Rc::as_ptr(t) as usize {
                    e.0.recursion_entry = 0;
                    e = e.frame(Pos::NONE, "entering the infinite recursion");
                }
                // Errors are memoized (Nix >= 2.34): forcing again rethrows without
                // re-evaluating.
                drop(st);
                *t.0.borrow_mut() = ThunkState::Failed(e.clone());
                Err(e)
            }
        }
    }

    /// Forces deeply (lists and attribute sets recursively), like `deepSeq`/`--strict`.
    pub fn force_deep(&self, v: &Value) -> Result<Value> {
        let mut seen = std::collections::HashSet::new();
        self.force_deep_inner(v, &mut seen)
    }

    fn force_deep_inner(
        &self,
        v: &Value,
        seen: &mut std::collections::HashSet<usize>,
    ) -> Result<Value> {
        // Every value visited counts as a call, as in Nix: a structure nested deeper than
        // max-call-depth ends in "max-call-depth exceeded".
        let depth = self.call_depth.get();
        if depth > self.opts.max_call_depth {
            return Err(Self::call_depth_exceeded(Pos::NONE));
        }
        self.check_stack(Pos::NONE)?;
        self.call_depth.set(depth + 1);
        let r = self
            .force(v)
            .and_then(|v| self.force_deep_children(&v, seen).map(|()| v));
        self.call_depth.set(depth);
        r
    }

    fn force_deep_children(
        &self,
        v: &Value,
        seen: &mut std::collections::HashSet<usize>,
    ) -> Result<()> {
        match v {
            Value::Attrs(a) if seen.insert(Rc::as_ptr(a) as usize) => {
                for at in &a.entries {
                    self.force_deep_inner(&at.value, seen).map_err(|e| {
                        e.frame(
                            at.pos,
                            format!("while evaluating the attribute '{}'", at.name),
                        )
                    })?;
                }
            }
            Value::List(l) if seen.insert(Rc::as_ptr(l) as usize) => {
                for (i, x) in l.iter().enumerate() {
                    self.force_deep_inner(x, seen).map_err(|e| {
                        e.frame(
                            Pos::NONE,
                            format!("while evaluating list element at index {i}"),
                        )
                    })?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    // ---------------------------------------------------------------- env

    /// The frame `depth` levels up from `env` (variables are resolved at compile time, so
    /// it exists).
    #[inline(always)]
    fn frame_at(env: &Rc<Env>, depth: u32) -> &Rc<Env> {
        let mut e = env;
        for _ in 0..depth {
            e = e.parent.as_ref().expect("resolved depth");
        }
        e
    }

    #[inline]
    fn lookup(env: &Rc<Env>, depth: u32, slot: u32) -> Value {
        Self::frame_at(env, depth).slots.borrow()[slot as usize].clone()
    }

    fn with_lookup(&self, env: &Rc<Env>, name: Sym, pos: Pos) -> Result<Value> {
        let mut e = Some(env);
        while let Some(en) = e {
            if en.is_with {
                let v = en.slots.borrow()[0].clone();
                let attrs = self.force_attrs(&v, pos)?;
                if let Some(v) = attrs.get(name) {
                    return Ok(v.clone());
                }
            }
            e = en.parent.as_ref();
        }
        Err(Error::new(
            ErrorKind::Eval,
            format!("undefined variable '{name}'"),
            pos,
        ))
    }

    /// A lazy value for `ir` in `env`: constants, variables and lambdas need no thunk.
    #[inline]
    fn delay(&self, ir: &Rc<Ir>, env: &Rc<Env>) -> Value {
        match &**ir {
            Ir::Const(v) => v.clone(),
            Ir::Var(d, s, _) => {
                let v = Self::lookup(env, *d, *s);
                crate::cheap::settled(&v, crate::cheap::Reach::Settled).unwrap_or(v)
            }
            Ir::Lambda(l) => Value::Lambda(Rc::new(Closure {
                lambda: l.clone(),
                env: env.clone(),
            })),
            _ => Value::pending(ir.clone(), env.clone()),
        }
    }

    /// A lazy function argument: like [`Self::delay`], and what [`crate::cheap`] can
    /// compute on the spot needs no thunk either. Only arguments: a list or attribute set
    /// shown by `trace` before it is forced prints its unevaluated members as `«thunk»`,
    /// as Nix does, so those stay thunks.
    #[inline(always)]
    fn delay_arg(&self, ir: &Rc<Ir>, env: &Rc<Env>) -> Value {
        match &**ir {
            Ir::Bin(..) | Ir::Concat(..) => {
                crate::cheap::eval(ir, env, crate::cheap::Reach::Settled)
                    .unwrap_or_else(|| Value::pending(ir.clone(), env.clone()))
            }
            _ => self.delay(ir, env),
        }
    }

    /// Like `delay` but for frames under construction (variables of depth 0 may be unset).
    fn delay_rec(&self, ir: &Rc<Ir>, env: &Rc<Env>) -> Value {
        match &**ir {
            Ir::Var(0, ..) => Value::pending(ir.clone(), env.clone()),
            _ => self.delay(ir, env),
        }
    }

    /// A one-slot frame holding `arg` over `parent`, reusing a recycled allocation.
    #[inline(always)]
    fn pooled_frame(&self, parent: &Rc<Env>, arg: Value) -> Rc<Env> {
        if let Some(mut f) = self.frame_pool.borrow_mut().pop()
            && let Some(e) = Rc::get_mut(&mut f)
            && let [slot] = e.slots.get_mut().as_mut_slice()
        {
            // A recycled frame keeps its one slot, set to `null` (no push: in wasm that
            // is a call).
            std::mem::replace(slot, arg).discard();
            e.parent = Some(parent.clone());
            return f;
        }
        Rc::new(Env {
            slots: RefCell::new(smallvec::smallvec![arg]),
            parent: Some(parent.clone()),
            is_with: false,
        })
    }

    /// Keeps a plain lambda's frame for reuse when nothing captured it (the common case
    /// for calls whose body only computes a value): saves an allocation per call.
    #[inline(always)]
    fn recycle_frame(&self, mut f: Rc<Env>) {
        if let Some(e) = Rc::get_mut(&mut f)
            && let [slot] = e.slots.get_mut().as_mut_slice()
        {
            std::mem::replace(slot, Value::Null).discard();
            e.parent = None;
            let mut pool = self.frame_pool.borrow_mut();
            if pool.len() < FRAME_POOL {
                pool.push(f);
            }
        }
    }

    fn new_frame(parent: &Rc<Env>, n: usize) -> Rc<Env> {
        Rc::new(Env {
            slots: RefCell::new(Slots::with_capacity(n)),
            parent: Some(parent.clone()),
            is_with: false,
        })
    }

    // ---------------------------------------------------------------- eval

    /// Runs `f` one level deeper in Nix's call-depth accounting (for recursive builtins).
    pub(crate) fn nested<T>(&self, pos: Pos, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let depth = self.call_depth.get();
        if depth >= self.opts.max_call_depth {
            return Err(Self::call_depth_exceeded(pos));
        }
        self.check_stack(pos)?;
        self.call_depth.set(depth + 1);
        let r = f();
        self.call_depth.set(depth);
        r
    }

    #[inline(always)]
    pub(crate) fn check_stack(&self, pos: Pos) -> Result<()> {
        if self.stack_exceeded() {
            return Err(Self::stack_overflow(pos));
        }
        Ok(())
    }

    /// Whether the native stack in use is over the budget.
    #[inline(always)]
    fn stack_exceeded(&self) -> bool {
        self.stack_base.get().abs_diff(stack_addr()) > self.opts.stack_budget
    }

    #[cold]
    #[inline(never)]
    fn stack_overflow(pos: Pos) -> Error {
        Error::new(
            ErrorKind::StackOverflow,
            "stack overflow (possible infinite recursion)",
            pos,
        )
    }

    /// Evaluates `ir` in `env` to weak head normal form.
    ///
    /// The native stack is checked where evaluation can recurse without bound (calls,
    /// forcing thunks, recursive builtins, equality, coercions), not at every node: the
    /// nesting of one expression is bounded by the parser, so the frames between two
    /// checks fit in the stack kept in reserve below the budget.
    pub fn eval(&self, mut ir: &Ir, env: &Rc<Env>) -> Result<Value> {
        // A branch is evaluated in this same call (each call of `eval` costs a frame, which
        // in wasm is dearer than natively), and so is an operator in the condition.
        while let Ir::If(c, a, b, pos) = ir {
            // `n < 2` on integers at hand: a `bool`, no value.
            if let Ir::Bin(op, x, y, ..) = &**c
                && let Some(cb) = crate::cheap::peek_test(*op, x, y, env)
            {
                ir = if cb { a } else { b };
                continue;
            }
            let cv = match &**c {
                Ir::Bin(op, x, y, p, at) => self.eval_bin(*op, x, y, *p, *at, env)?,
                c => self.eval_operand(c, env)?,
            };
            let cb = match cv.take_bool() {
                Ok(b) => b,
                Err(cv) => self
                    .expect_bool(&cv, *pos)
                    .map_err(|e| e.frame(*pos, "while evaluating a branch condition"))?,
            };
            ir = if cb { a } else { b };
        }
        match ir {
            Ir::Const(v) => Ok(v.clone()),
            Ir::Var(d, s, at) => self.eval_var(*d, *s, *at, env),
            Ir::WithVar(name, pos) => {
                let v = self.with_lookup(env, *name, *pos)?;
                self.force(&v).map_err(|e| Self::forced_at(e, *pos))
            }
            Ir::Select(e, path, def, pos) => self.eval_select(e, path, def.as_deref(), *pos, env),
            Ir::HasAttr(e, path, at) => {
                let arg = |e: Error| e.frame(*at, "in the argument of '?'");
                let mut v = self.eval(e, env).map_err(arg)?;
                for (i, a) in path.iter().enumerate() {
                    let name = self.attr_name(a, env)?;
                    match v {
                        Value::Attrs(attrs) => match attrs.get(name) {
                            Some(x) if i + 1 < path.len() => v = self.force(x).map_err(arg)?,
                            Some(_) => return Ok(Value::Bool(true)),
                            None => return Ok(Value::Bool(false)),
                        },
                        _ => return Ok(Value::Bool(false)),
                    }
                }
                Ok(Value::Bool(true))
            }
            Ir::Attrs(a) => self.eval_attrs(a, env, false),
            Ir::RecAttrs(a) => self.eval_attrs(a, env, true),
            Ir::List(items) => Ok(Value::list(
                items.iter().map(|i| self.delay(i, env)).collect(),
            )),
            Ir::Lambda(l) => Ok(Value::Lambda(Rc::new(Closure {
                lambda: l.clone(),
                env: env.clone(),
            }))),
            Ir::Call(f, args, pos) => self.eval_call(f, args, *pos, env),
            Ir::Let(binds, body) => {
                let frame = Self::new_frame(env, binds.len());
                {
                    let vals: Vec<Value> =
                        binds.iter().map(|b| self.delay_rec(b, &frame)).collect();
                    *frame.slots.borrow_mut() = vals.into_iter().collect();
                }
                self.eval(body, &frame)
            }
            Ir::With(e, body) => {
                let v = self.delay(e, env);
                let frame = Rc::new(Env {
                    slots: RefCell::new(smallvec::smallvec![v]),
                    parent: Some(env.clone()),
                    is_with: true,
                });
                self.eval(body, &frame)
            }
            Ir::If(..) => unreachable!("handled above"),
            Ir::Assert(c, body, pos, text) => {
                let cv = self.eval(c, env)?;
                if !self.expect_bool(&cv, *pos)? {
                    return Err(self.assertion_failed(c, env, *pos, text));
                }
                self.eval(body, env)
            }
            Ir::Not(e, at) => Ok(Value::Bool(!self.bool_operand(
                e,
                env,
                *at,
                ("argument", "!"),
            )?)),
            Ir::Bin(op, a, b, pos, at) => self.eval_bin(*op, a, b, *pos, *at, env),
            Ir::Concat(parts, force_string, pos, at) => {
                self.eval_concat(parts, *force_string, *pos, at.as_deref(), env)
            }
            Ir::HomePath(rest, pos) => match self.opts.env.get("HOME") {
                Some(h) => {
                    let mut p = parser::canon_path(&format!("{h}{rest}"));
                    if rest.ends_with('/') && p != "/" {
                        p.push('/');
                    }
                    Ok(Value::path(p))
                }
                None => Err(Error::new(
                    ErrorKind::Eval,
                    "cannot resolve '~' paths: HOME is not set",
                    *pos,
                )),
            },
            Ir::SearchPath(p, pos) => self.find_file(p, *pos),
        }
    }

    /// `f args`. One argument is the common case: the callee writes its result straight
    /// into ours. (In wasm a value is returned through memory; moving it out of a local
    /// first costs a copy that stalls on the partial stores just made to that local.)
    #[inline(always)]
    fn eval_call(&self, f: &Ir, args: &[Rc<Ir>], pos: Pos, env: &Rc<Env>) -> Result<Value> {
        if let ([a], Ir::Var(d, s, _)) = (args, f) {
            // A variable holding a lambda (a recursive or let-bound function): only its
            // `Rc` is taken, no whole `Value` is copied out (in wasm that copy is read back
            // as words just after a narrower store of the pointer, which stalls).
            let closure = match &Self::frame_at(env, *d).slots.borrow().as_slice()[*s as usize] {
                Value::Lambda(c) => Some(c.clone()),
                _ => None,
            };
            if let Some(c) = closure {
                let av = self.delay_arg(a, env);
                return self.call_closure_here(&c.lambda, &c.env, av, pos);
            }
        }
        let fv = self.eval_operand(f, env)?;
        if let [a] = args {
            let av = self.delay_arg(a, env);
            // A lambda is called here, and its `Rc` dropped in place (dropping a whole
            // `Value` is an out-of-line call in wasm).
            return match fv {
                Value::Lambda(c) => self.call_closure_here(&c.lambda, &c.env, av, pos),
                fv => self.call(&fv, av, pos),
            };
        }
        self.eval_call_n(fv, args, pos, env)
    }

    /// `f args` with two or more arguments, two at a time (see [`Self::call2`]).
    #[inline(never)]
    fn eval_call_n(
        &self,
        mut fv: Value,
        args: &[Rc<Ir>],
        pos: Pos,
        env: &Rc<Env>,
    ) -> Result<Value> {
        let mut rest = args;
        while let [a, more @ ..] = rest {
            let av = self.delay_arg(a, env);
            fv = match more {
                [b, more @ ..] => {
                    rest = more;
                    let bv = self.delay_arg(b, env);
                    self.call2(&fv, av, bv, pos)?
                }
                [] => {
                    rest = &[];
                    self.call(&fv, av, pos)?
                }
            };
        }
        Ok(fv)
    }

    /// An operand of `+`: [`Self::eval_operand`], with calls made in place too (`f x + f y`
    /// is the recursive shape).
    #[inline(always)]
    fn eval_plus_operand(&self, ir: &Ir, env: &Rc<Env>) -> Result<Value> {
        match ir {
            Ir::Call(f, args, pos) => self.eval_call(f, args, *pos, env),
            _ => self.eval_operand(ir, env),
        }
    }

    /// The forced value of variable `(d, s)`.
    #[inline(always)]
    fn eval_var(&self, d: u32, s: u32, at: Pos, env: &Rc<Env>) -> Result<Value> {
        let slots = Self::frame_at(env, d).slots.borrow();
        match &slots.as_slice()[s as usize] {
            Value::Thunk(t) => {
                let t = t.clone();
                drop(slots);
                self.force_thunk(&t).map_err(|e| Self::forced_at(e, at))
            }
            v => Ok(v.copy()),
        }
    }

    /// [`Self::eval`] with constants and variables handled in place: operands of
    /// operators and calls are mostly those, and each `eval` call costs a frame (and in
    /// wasm an epoch check).
    #[inline(always)]
    fn eval_operand(&self, ir: &Ir, env: &Rc<Env>) -> Result<Value> {
        match ir {
            Ir::Const(v) => Ok(v.copy()),
            Ir::Var(d, s, at) => self.eval_var(*d, *s, *at, env),
            _ => self.eval(ir, env),
        }
    }

    fn attr_name(&self, a: &IrAttr, env: &Rc<Env>) -> Result<Sym> {
        match a {
            IrAttr::Static(s) => Ok(*s),
            IrAttr::Dynamic(d) => {
                let v = self.eval(&d.ir, env)?;
                let s = self
                    .expect_string(&v, d.pos)
                    .map_err(|e| e.frame(d.pos, "while evaluating an attribute name"))?;
                Ok(Sym::new(&s.s))
            }
        }
    }

    /// A select's attribute path as Nix's traces name it: computed names by their value,
    /// or as written when computing them fails.
    fn show_attr_path(&self, path: &[IrAttr], env: &Rc<Env>) -> String {
        let mut out = String::new();
        for (i, a) in path.iter().enumerate() {
            if i > 0 {
                out.push('.');
            }
            match (a, self.attr_name(a, env)) {
                (_, Ok(name)) => out.push_str(name.as_str()),
                (IrAttr::Dynamic(d), Err(_)) => out.push_str(&d.text),
                (IrAttr::Static(_), Err(_)) => unreachable!("a static name is always known"),
            }
        }
        out
    }

    /// `e.a.b` and `e.a.b or d`. A failure while selecting gets Nix's frames: the attribute
    /// path at the select and, once an attribute was found, the definition of the last one.
    fn eval_select(
        &self,
        e: &Ir,
        path: &[IrAttr],
        def: Option<&Ir>,
        pos: Pos,
        env: &Rc<Env>,
    ) -> Result<Value> {
        let v = self.eval_operand(e, env).map_err(|err| {
            // Forcing the set (a variable's thunk) happens while selecting.
            if def.is_none() && matches!(e, Ir::Var(..) | Ir::WithVar(..)) {
                err.frame(pos, "while selecting an attribute")
            } else {
                err
            }
        })?;
        // The last attribute found: its name, definition and whether it was unevaluated.
        let mut found: Option<(Sym, Pos, bool)> = None;
        let mut walk = |mut v: Value| -> Result<Option<Value>> {
            for a in path {
                let name = self.attr_name(a, env)?;
                let attrs = match &v {
                    Value::Attrs(attrs) => attrs.clone(),
                    _ if def.is_some() => return Ok(None),
                    _ => {
                        return Err(Error::new(
                            ErrorKind::Eval,
                            format!(
                                "expected a set but found {}: {}",
                                v.type_desc(),
                                self.show_value(&v)
                            ),
                            pos,
                        )
                        .frame(pos, "while selecting an attribute"));
                    }
                };
                let Some(at) = attrs.get_attr(name) else {
                    if def.is_some() {
                        return Ok(None);
                    }
                    return Err(self.missing_attr(name, &attrs, Pos::NONE));
                };
                found = Some((name, at.pos, matches!(at.value, Value::Thunk(_))));
                v = self.force(&at.value)?;
            }
            Ok(Some(v))
        };
        match walk(v) {
            Ok(Some(v)) => Ok(v),
            Ok(None) => self.eval(def.expect("only a select with a default gives up"), env),
            Err(err) => {
                let err = match found {
                    Some((name, def_pos, true))
                        if !matches!(err.kind(), ErrorKind::StackOverflow) =>
                    {
                        err.frame(def_pos, format!("from the definition of '{name}'"))
                    }
                    _ => err,
                };
                Err(err.frame(
                    pos,
                    format!(
                        "while evaluating the attribute '{}'",
                        self.show_attr_path(path, env)
                    ),
                ))
            }
        }
    }

    pub(crate) fn missing_attr(&self, name: Sym, attrs: &Attrs, pos: Pos) -> Error {
        let mut msg = format!("attribute '{name}' missing");
        // Nix suggests similar names ("Did you mean ...?"): pick by edit distance.
        let mut sugg: Vec<&str> = attrs
            .entries
            .iter()
            .map(|a| a.name.as_str())
            .filter(|n| levenshtein(n, name.as_str()) <= 2 && !n.is_empty())
            .collect();
        sugg.sort();
        if !sugg.is_empty() {
            if sugg.len() == 1 {
                let _ = write!(msg, "\nDid you mean {}?", sugg[0]);
            } else {
                let last = sugg.pop().expect("nonempty");
                let _ = write!(
                    msg,
                    "\nDid you mean one of {} or {}?",
                    sugg.join(", "),
                    last
                );
            }
        }
        Error::new(ErrorKind::Eval, msg, pos)
    }

    fn eval_attrs(&self, a: &compile::AttrsIr, env: &Rc<Env>, rec: bool) -> Result<Value> {
        let scope = if rec {
            Self::new_frame(env, a.statics.len())
        } else {
            env.clone()
        };
        let mut entries: Vec<Attr> = Vec::with_capacity(a.statics.len() + a.dynamics.len());
        for (name, ir, pos) in &a.statics {
            let v = if rec {
                self.delay_rec(ir, &scope)
            } else {
                self.delay(ir, &scope)
            };
            entries.push(Attr {
                name: *name,
                value: v,
                pos: *pos,
            });
        }
        if rec {
            let froms: Vec<Value> = a.froms.iter().map(|f| self.delay_rec(f, &scope)).collect();
            *scope.slots.borrow_mut() = entries
                .iter()
                .map(|e| e.value.clone())
                .chain(froms)
                .collect();
        }
        let mut attrs = Attrs::from_unsorted(entries);
        if rec && let Some(ov) = attrs.get(self.sym.overrides).cloned() {
            let ov = self
                .force_attrs(&ov, Pos::NONE)
                .map_err(|e| e.frame(Pos::NONE, "while evaluating the `__overrides` attribute"))?;
            let mut slots = scope.slots.borrow_mut();
            for o in &ov.entries {
                if let Some(i) = a.statics.iter().position(|s| s.0 == o.name) {
                    slots[i] = o.value.clone();
                }
            }
            drop(slots);
            attrs = attrs.update(&ov);
        }
        if !a.dynamics.is_empty() {
            for (nir, vir, pos) in &a.dynamics {
                let nv = self.eval(nir, &scope)?;
                if let Value::Null = nv {
                    continue;
                }
                let ns = self.expect_string(&nv, *pos).map_err(|e| {
                    e.frame(*pos, "while evaluating the name of a dynamic attribute")
                })?;
                let name = Sym::new(&ns.s);
                if let Some(prev) = attrs.get_attr(name) {
                    let _ = prev;
                    return Err(Error::new(
                        ErrorKind::Eval,
                        format!(
                            "dynamic attribute '{name}' already defined at {}",
                            loc_str(prev.pos)
                        ),
                        *pos,
                    ));
                }
                let v = self.delay(vir, &scope);
                let idx = attrs.entries.partition_point(|x| x.name < name);
                attrs.entries.insert(
                    idx,
                    Attr {
                        name,
                        value: v,
                        pos: *pos,
                    },
                );
            }
        }
        Ok(Value::Attrs(Rc::new(attrs)))
    }

    // ---------------------------------------------------------------- calls

    /// Applies a function to one argument.
    pub fn call(&self, f: &Value, arg: Value, pos: Pos) -> Result<Value> {
        match f {
            // The common case, without forcing (and so copying) the function value.
            Value::Lambda(c) => self.call_closure(&c.lambda, &c.env, arg, pos),
            Value::Thunk(_) => {
                let f = self.force(f)?;
                self.call_forced(&f, arg, pos)
            }
            f => self.call_forced(f, arg, pos),
        }
    }

    /// [`Self::call`] of a function in weak head normal form.
    fn call_forced(&self, f: &Value, arg: Value, pos: Pos) -> Result<Value> {
        match f {
            Value::Lambda(c) => self.call_closure(&c.lambda, &c.env, arg, pos),
            Value::PrimOp(op) => {
                if op.arity == 1 {
                    self.nested(pos, || (op.f)(self, &[arg], pos)).map_err(|e| {
                        Self::unpos(e, pos)
                            .frame(pos, format!("while calling the '{}' builtin", op.name))
                    })
                } else {
                    Ok(Value::PrimOpApp(Rc::new(PrimOpApp {
                        op,
                        args: vec![arg],
                    })))
                }
            }
            Value::PrimOpApp(app) => {
                let mut args = Vec::with_capacity(app.args.len() + 1);
                args.extend(app.args.iter().cloned());
                args.push(arg);
                if args.len() == app.op.arity {
                    self.nested(pos, || (app.op.f)(self, &args, pos))
                        .map_err(|e| {
                            Self::unpos(e, pos)
                                .frame(pos, format!("while calling the '{}' builtin", app.op.name))
                        })
                } else {
                    Ok(Value::PrimOpApp(Rc::new(PrimOpApp { op: app.op, args })))
                }
            }
            Value::Attrs(a) if a.get(self.sym.functor).is_some() => {
                let functor = a.get(self.sym.functor).expect("checked").clone();
                let g = self.call(&functor, f.clone(), pos)?;
                self.call(&g, arg, pos)
            }
            _ => Err(Error::new(
                ErrorKind::Eval,
                format!(
                    "attempt to call something which is not a function but {}: {}",
                    f.type_desc(),
                    self.show_value(f)
                ),
                pos,
            )),
        }
    }

    /// How far speculation may force: calls are allowed below max-call-depth.
    #[inline]
    fn reach(&self) -> crate::cheap::Reach {
        if self.call_depth.get() < self.opts.max_call_depth {
            crate::cheap::Reach::Apply
        } else {
            crate::cheap::Reach::Settled
        }
    }

    /// The max-call-depth check of a call to `l` at call depth `depth`.
    #[inline]
    fn check_depth(&self, depth: usize, l: &LambdaIr, pos: Pos) -> Result<()> {
        if depth > self.opts.max_call_depth {
            // A call made by a builtin (genList's elements, say) has no position of its
            // own; Nix then points at the lambda.
            let at = if pos == Pos::NONE { l.pos } else { pos };
            return Err(Self::call_depth_exceeded(at));
        }
        Ok(())
    }

    /// Nix's error for a call, or a value visited by deepSeq, deeper than max-call-depth.
    fn call_depth_exceeded(pos: Pos) -> Error {
        Error::new(
            ErrorKind::StackOverflow,
            "stack overflow; max-call-depth exceeded",
            pos,
        )
    }

    /// Applies the lambda `l` closed over `env` to `arg`.
    fn call_closure(&self, l: &LambdaIr, env: &Rc<Env>, arg: Value, pos: Pos) -> Result<Value> {
        let depth = self.call_depth.get();
        self.check_depth(depth, l, pos)?;
        if l.cheap_body
            && let Some(v) = crate::cheap::apply(&l.body, env, &arg, self.reach())
        {
            arg.discard();
            return Ok(v);
        }
        self.check_stack(pos)?;
        let r = if l.formals.is_none() {
            self.eval_in_frame(l, env, arg, depth)
        } else {
            self.call_depth.set(depth + 1);
            let r = self.call_lambda(l, env, arg, pos);
            self.call_depth.set(depth);
            r
        };
        r.map_err(|e| Self::call_failed(e, l, pos))
    }

    /// The body of the plain lambda `l` closed over `env`, evaluated in a (recycled) frame
    /// holding `arg`, one call deeper than `depth`.
    #[inline(always)]
    fn eval_in_frame(
        &self,
        l: &LambdaIr,
        env: &Rc<Env>,
        arg: Value,
        depth: usize,
    ) -> Result<Value> {
        self.call_depth.set(depth + 1);
        let frame = self.pooled_frame(env, arg);
        let r = self.eval(&l.body, &frame);
        self.recycle_frame(frame);
        self.call_depth.set(depth);
        r
    }

    /// [`Self::call_closure`] made in place, for `eval`'s own calls: a plain lambda whose
    /// body needs a frame, below the depth and stack limits, is called here; anything else
    /// (formals, a free-to-compute body, a limit reached) goes the general way. The call
    /// costs no frame of its own, which in wasm is dearer than natively.
    #[inline(always)]
    fn call_closure_here(
        &self,
        l: &LambdaIr,
        env: &Rc<Env>,
        arg: Value,
        pos: Pos,
    ) -> Result<Value> {
        let depth = self.call_depth.get();
        if l.formals.is_some()
            || l.cheap_body
            || depth > self.opts.max_call_depth
            || self.stack_exceeded()
        {
            return self.call_closure(l, env, arg, pos);
        }
        match self.eval_in_frame(l, env, arg, depth) {
            Ok(v) => Ok(v),
            Err(e) => Err(Self::call_failed(e, l, pos)),
        }
    }

    /// The frames a failed call of `l` at `pos` adds to the error.
    #[cold]
    #[inline(never)]
    fn call_failed(e: Error, l: &LambdaIr, pos: Pos) -> Error {
        if e.0
            .trace
            .iter()
            .any(|f| f.1 == "from call site" && f.0 == pos)
            || matches!(e.kind(), ErrorKind::StackOverflow)
        {
            e
        } else if pos == Pos::NONE {
            // A call made by a builtin (`foldl'`, `sort`, ...) has no call site.
            e.frame(l.pos, Self::calling(l))
        } else {
            e.frame(l.pos, Self::calling(l))
                .frame(pos, "from call site")
        }
    }

    /// `f a b`. When `f` is a plain-argument lambda whose body is a lambda (`a: b: ...`)
    /// the intermediate closure is never built: `b`'s frame hangs directly off `a`'s.
    /// Calling the outer lambda cannot fail past its call-depth check (its body only
    /// makes the closure), so this is the two calls in sequence without the allocation.
    pub fn call2(&self, f: &Value, a: Value, b: Value, pos: Pos) -> Result<Value> {
        if let Value::Thunk(_) = f {
            let f = self.force(f)?;
            return self.call2(&f, a, b, pos);
        }
        if let Value::Lambda(c) = f
            && c.lambda.formals.is_none()
            && let Ir::Lambda(inner) = &c.lambda.body
        {
            self.check_depth(self.call_depth.get(), &c.lambda, pos)?;
            let frame = self.pooled_frame(&c.env, a);
            let r = self.call_closure(inner, &frame, b, pos);
            self.recycle_frame(frame);
            return r;
        }
        let g = self.call(f, a, pos)?;
        self.call(&g, b, pos)
    }

    /// Errors raised by a builtin at its call site are shown at the "while calling" frame.
    fn unpos(mut e: Error, pos: Pos) -> Error {
        if e.0.pos == pos {
            e.0.pos = Pos::NONE;
        }
        e
    }

    /// Applies a function to several arguments.
    pub fn call_n(&self, f: &Value, args: &[Value], pos: Pos) -> Result<Value> {
        let mut f = f.clone();
        for pair in args.chunks(2) {
            f = match pair {
                [a, b] => self.call2(&f, a.clone(), b.clone(), pos)?,
                [a] => self.call(&f, a.clone(), pos)?,
                _ => unreachable!("chunks of two"),
            };
        }
        Ok(f)
    }

    fn lambda_name(l: &LambdaIr) -> String {
        match l.name {
            Some(n) => format!("function '{n}'"),
            None => "function 'anonymous lambda'".into(),
        }
    }

    fn calling(l: &LambdaIr) -> String {
        match l.name {
            Some(n) => format!("while calling '{n}'"),
            None => "while calling anonymous lambda".into(),
        }
    }

    /// A call of a lambda with formals (plain ones are handled by `call_closure`).
    fn call_lambda(&self, l: &LambdaIr, env: &Rc<Env>, arg: Value, pos: Pos) -> Result<Value> {
        let frame = Self::new_frame(env, l.nslots);
        match &l.formals {
            None => unreachable!("plain lambdas are called by call_closure"),
            Some(formals) => {
                let av = self.force(&arg)?;
                let Value::Attrs(attrs) = &av else {
                    return Err(Error::new(
                        ErrorKind::Eval,
                        format!(
                            "expected a set but found {}: {}",
                            av.type_desc(),
                            self.show_value(&av)
                        ),
                        pos,
                    )
                    .frame(l.pos, Self::calling(l)));
                };
                let mut used = 0usize;
                let mut slots = Slots::with_capacity(l.nslots);
                let mut defaults = Vec::new();
                for (i, (name, def, _)) in formals.iter().enumerate() {
                    match attrs.get(*name) {
                        Some(v) => {
                            used += 1;
                            slots.push(v.clone());
                        }
                        None => match def {
                            Some(d) => {
                                slots.push(Value::Null);
                                defaults.push((i, d));
                            }
                            None => {
                                return Err(Error::new(
                                    ErrorKind::Eval,
                                    format!(
                                        "{} called without required argument '{name}'",
                                        Self::lambda_name(l)
                                    ),
                                    l.pos,
                                )
                                .frame(pos, "from call site"));
                            }
                        },
                    }
                }
                if !l.ellipsis && used < attrs.entries.len() {
                    for a in &attrs.entries {
                        if !formals.iter().any(|f| f.0 == a.name) {
                            let mut msg = format!(
                                "{} called with unexpected argument '{}'",
                                Self::lambda_name(l),
                                a.name
                            );
                            let mut sugg: Vec<&str> = formals
                                .iter()
                                .map(|f| f.0.as_str())
                                .filter(|n| levenshtein(n, a.name.as_str()) <= 2)
                                .collect();
                            sugg.sort();
                            did_you_mean(&mut msg, sugg);
                            return Err(Error::new(ErrorKind::Eval, msg, l.pos)
                                .frame(pos, "from call site"));
                        }
                    }
                }
                if l.arg.is_some() {
                    slots.push(av.clone());
                }
                *frame.slots.borrow_mut() = slots;
                // In order, so a default sees the defaults before it already set (the
                // slots of later ones hold a placeholder `delay` never computes with).
                for (i, d) in defaults {
                    let v = match &**d {
                        Ir::Var(0, ..) => Value::pending(d.clone(), frame.clone()),
                        _ => self.delay(d, &frame),
                    };
                    frame.slots.borrow_mut()[i] = v;
                }
            }
        }
        self.eval(&l.body, &frame)
    }

    // ---------------------------------------------------------------- operators

    #[inline(always)]
    fn eval_bin(
        &self,
        op: BinOp,
        a: &Ir,
        b: &Ir,
        pos: Pos,
        at: [Pos; 2],
        env: &Rc<Env>,
    ) -> Result<Value> {
        // `&&`, `||` and `->` evaluate their right operand only when needed.
        let lazy = match op {
            BinOp::And => Some(("&&", false, false)),
            BinOp::Or => Some(("||", true, true)),
            BinOp::Impl => Some(("->", false, true)),
            _ => None,
        };
        if let Some((sym, stop_at, result_at_stop)) = lazy {
            let l = self.bool_operand(a, env, at[0], ("left operand", sym))?;
            if l == stop_at {
                return Ok(Value::Bool(result_at_stop));
            }
            let r = self.bool_operand(b, env, at[1], ("right operand", sym))?;
            return Ok(Value::Bool(r));
        }
        // Integer operands already at hand (`n < 2`) are compared without making a value
        // of each (in wasm a value lives in memory).
        if let Some(t) = crate::cheap::peek_test(op, a, b, env) {
            return Ok(Value::Bool(t));
        }
        let av = self
            .eval_operand(a, env)
            .map_err(|e| Self::operand_failed(op, 0, e, pos, at))?;
        let bv = self
            .eval_operand(b, env)
            .map_err(|e| Self::operand_failed(op, 1, e, pos, at))?;
        // Fast paths for integer arithmetic and comparison.
        let x = match av.take_int() {
            Ok(x) => x,
            Err(a) => return self.binop_at(op, &a, &bv, pos, at),
        };
        let y = match bv.take_int() {
            Ok(y) => y,
            Err(b) => return self.binop_at(op, &Value::Int(x), &b, pos, at),
        };
        let r = match op {
            BinOp::Sub => x.checked_sub(y).map(Value::Int),
            BinOp::Mul => x.checked_mul(y).map(Value::Int),
            op => crate::cheap::int_cmp(op, x, y),
        };
        match r {
            Some(r) => Ok(r),
            None => self.binop_at(op, &Value::Int(x), &Value::Int(y), pos, at),
        }
    }

    /// An operand that must be a Boolean (of `!`, `&&`, `||`, `->`), evaluated where it
    /// starts: a failure there gets the frame "in the `what.0` of '`what.1`'".
    fn bool_operand(&self, e: &Ir, env: &Rc<Env>, at: Pos, what: (&str, &str)) -> Result<bool> {
        self.eval(e, env)
            .and_then(|v| self.expect_bool(&v, at))
            .map_err(|e| {
                Self::forced_at(e, at).frame(at, format!("in the {} of '{}'", what.0, what.1))
            })
    }

    /// An error out of forcing a value at `at`. An infinite recursion is reported where the
    /// thunk that was entered again forced the next value on the cycle: the outermost
    /// position the error passes on its way out of that thunk (see [`Self::force_thunk`]).
    #[cold]
    fn forced_at(mut e: Error, at: Pos) -> Error {
        if e.0.recursion_entry != 0 && at != Pos::NONE {
            e.0.pos = at;
        }
        e
    }

    /// The builtin Nix turns an arithmetic or comparison operator into (`a - b` is
    /// `__sub a b`, `a >= b` is `!(__lessThan a b)`), whose frames its failures get.
    fn desugared(op: BinOp) -> Option<(&'static str, bool)> {
        Some(match op {
            BinOp::Sub => ("sub", false),
            BinOp::Mul => ("mul", false),
            BinOp::Div => ("div", false),
            BinOp::Lt | BinOp::Gt => ("lessThan", false),
            BinOp::Le | BinOp::Ge => ("lessThan", true),
            _ => return None,
        })
    }

    /// Frames for a failure of a desugared operator, as for a call of its builtin at `pos`.
    #[cold]
    fn builtin_op_failed(e: Error, name: &str, negated: bool, pos: Pos) -> Error {
        let e = Self::unpos(e, pos).frame(pos, format!("while calling the '{name}' builtin"));
        if negated {
            e.frame(pos, "in the argument of '!'")
        } else {
            e
        }
    }

    /// Frames for a failure while evaluating operand `side` (0 left, 1 right) of `op`.
    #[cold]
    fn operand_failed(op: BinOp, side: usize, e: Error, pos: Pos, at: [Pos; 2]) -> Error {
        if let Some((name, negated)) = Self::desugared(op) {
            return Self::builtin_op_failed(e, name, negated, pos);
        }
        let sym = match op {
            BinOp::Eq => "==",
            BinOp::Neq => "!=",
            BinOp::Update => "//",
            _ => "++",
        };
        let which = if side == 0 { "left" } else { "right" };
        Self::forced_at(e, at[side]).frame(at[side], format!("in the {which} operand of '{sym}'"))
    }

    /// [`Self::binop`] with the frames Nix gives its failures.
    fn binop_at(&self, op: BinOp, av: &Value, bv: &Value, pos: Pos, at: [Pos; 2]) -> Result<Value> {
        match Self::desugared(op) {
            Some((name, negated)) => {
                let r = match op {
                    BinOp::Sub | BinOp::Mul | BinOp::Div => {
                        crate::builtins::arith_builtin(self, &[av.clone(), bv.clone()], pos, op)
                    }
                    _ => self.binop(op, av, bv, pos, at),
                };
                r.map_err(|e| Self::builtin_op_failed(e, name, negated, pos))
            }
            None => self.binop(op, av, bv, pos, at),
        }
    }

    /// Applies a strict binary operator to forced operands.
    pub fn binop(
        &self,
        op: BinOp,
        av: &Value,
        bv: &Value,
        pos: Pos,
        at: [Pos; 2],
    ) -> Result<Value> {
        Ok(match op {
            BinOp::Eq => Value::Bool(self.equal(av, bv, pos)?),
            BinOp::Neq => Value::Bool(!self.equal(av, bv, pos)?),
            BinOp::Lt => Value::Bool(self.less_than(av, bv, pos)?),
            BinOp::Gt => Value::Bool(self.less_than(bv, av, pos)?),
            BinOp::Le => Value::Bool(!self.less_than(bv, av, pos)?),
            BinOp::Ge => Value::Bool(!self.less_than(av, bv, pos)?),
            BinOp::Update => {
                let x = self
                    .force_attrs(av, at[0])
                    .map_err(|e| e.frame(at[0], "in the left operand of '//'"))?;
                let y = self
                    .force_attrs(bv, at[1])
                    .map_err(|e| e.frame(at[1], "in the right operand of '//'"))?;
                if x.entries.is_empty() {
                    Value::Attrs(y)
                } else if y.entries.is_empty() {
                    Value::Attrs(x)
                } else {
                    Value::Attrs(Rc::new(x.update(&y)))
                }
            }
            BinOp::Concat => {
                let x = self.force_list(av, Pos::NONE).map_err(|e| {
                    e.frame(pos, "while evaluating one of the elements to concatenate")
                })?;
                let y = self.force_list(bv, Pos::NONE).map_err(|e| {
                    e.frame(pos, "while evaluating one of the elements to concatenate")
                })?;
                if x.is_empty() {
                    Value::List(y)
                } else if y.is_empty() {
                    Value::List(x)
                } else {
                    let mut v = Vec::with_capacity(x.len() + y.len());
                    v.extend(x.iter().cloned());
                    v.extend(y.iter().cloned());
                    Value::list(v)
                }
            }
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div => self.arith(op, av, bv, pos)?,
            _ => unreachable!("handled elsewhere"),
        })
    }

    /// Integer/float arithmetic with Nix's rules.
    pub fn arith(&self, op: BinOp, av: &Value, bv: &Value, pos: Pos) -> Result<Value> {
        let av = self.force(av)?;
        let bv = self.force(bv)?;
        let (sym, verb) = match op {
            BinOp::Add => ("+", "addition"),
            BinOp::Sub => ("-", "subtraction"),
            BinOp::Mul => ("*", "multiplication"),
            _ => ("/", "division"),
        };
        let _ = verb;
        match (&av, &bv) {
            (Value::Int(x), Value::Int(y)) => {
                let r = match op {
                    BinOp::Add => x.checked_add(*y),
                    BinOp::Sub => x.checked_sub(*y),
                    BinOp::Mul => x.checked_mul(*y),
                    _ => {
                        if *y == 0 {
                            return Err(Error::new(ErrorKind::Eval, "division by zero", pos));
                        }
                        x.checked_div(*y)
                    }
                };
                match r {
                    Some(r) => Ok(Value::Int(r)),
                    None => Err(Error::new(
                        ErrorKind::Eval,
                        format!(
                            "integer overflow in {}ing {x} {sym} {y}",
                            match op {
                                BinOp::Add => "add",
                                BinOp::Sub => "subtract",
                                BinOp::Mul => "multiply",
                                _ => "divid",
                            }
                        ),
                        pos,
                    )),
                }
            }
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                let x = num_f64(&av);
                let y = num_f64(&bv);
                Ok(Value::Float(match op {
                    BinOp::Add => x + y,
                    BinOp::Sub => x - y,
                    BinOp::Mul => x * y,
                    _ => {
                        if y == 0.0 {
                            return Err(Error::new(ErrorKind::Eval, "division by zero", pos));
                        }
                        x / y
                    }
                }))
            }
            (Value::Int(_) | Value::Float(_), _) => Err(self.type_err(
                &bv,
                if matches!(av, Value::Int(_)) {
                    "an integer"
                } else {
                    "a float"
                },
                pos,
            )),
            _ => Err(self.type_err(&av, "an integer", pos)),
        }
    }

    /// `"…${e}…"`, a path with interpolations, or `a + b` (with `at`, where its operands
    /// start: failures in an operand are reported there, as Nix does).
    // Inline: out of line it takes more parameters than fit in registers in wasm, and
    // cranelift reads each one passed on the stack as a whole word right after the caller
    // stored half of one, which stalls.
    #[inline(always)]
    fn eval_concat(
        &self,
        parts: &[Ir],
        force_string: bool,
        pos: Pos,
        at: Option<&[Pos; 2]>,
        env: &Rc<Env>,
    ) -> Result<Value> {
        if !force_string && parts.len() == 2 {
            // `a + b` on integers: the common case.
            let first = self
                .eval_plus_operand(&parts[0], env)
                .map_err(|e| Self::plus_operand_failed(e, at, 0))?;
            let first = match first.take_int() {
                Ok(x) => {
                    let second = self
                        .eval_plus_operand(&parts[1], env)
                        .map_err(|e| Self::plus_operand_failed(e, at, 1))?;
                    let at = at.map_or(pos, |at| at[1]);
                    return match second.take_int() {
                        Ok(y) => match x.checked_add(y) {
                            Some(r) => Ok(Value::Int(r)),
                            None => self.add_values(Value::Int(x), Value::Int(y), at),
                        },
                        Err(second) => self.add_values(Value::Int(x), second, at),
                    };
                }
                Err(first) => first,
            };
            return self.eval_concat_rest(first, parts, force_string, pos, at, env);
        }
        let first = self
            .eval_operand(&parts[0], env)
            .map_err(|e| Self::plus_operand_failed(e, at, 0))?;
        self.eval_concat_rest(first, parts, force_string, pos, at, env)
    }

    /// The frame of a failure in operand `i` of `+`.
    #[cold]
    fn plus_operand_failed(e: Error, at: Option<&[Pos; 2]>, i: usize) -> Error {
        match at {
            Some(at) => Self::forced_at(e, at[i]).frame(at[i], "in an operand of '+'"),
            None => e,
        }
    }

    fn eval_concat_rest(
        &self,
        first: Value,
        parts: &[Ir],
        force_string: bool,
        pos: Pos,
        at: Option<&[Pos; 2]>,
        env: &Rc<Env>,
    ) -> Result<Value> {
        // Where part `i` is reported: at the operand for `+`.
        let part_pos = |i: usize| at.map_or(pos, |at| at[i.min(1)]);
        let eval_part = |i: usize, p: &Ir| {
            self.eval_operand(p, env)
                .map_err(|e| Self::plus_operand_failed(e, at, i.min(1)))
        };
        if !force_string {
            match &first {
                Value::Int(_) | Value::Float(_) => {
                    let mut acc = first;
                    for (i, p) in parts.iter().enumerate().skip(1) {
                        let v = eval_part(i, p)?;
                        acc = match (&acc, &v) {
                            (_, Value::Int(_) | Value::Float(_)) => {
                                self.arith(BinOp::Add, &acc, &v, part_pos(i))?
                            }
                            _ => {
                                return Err(Error::new(
                                    ErrorKind::Eval,
                                    format!("cannot add {} to {}", v.type_desc(), acc.type_desc()),
                                    part_pos(i),
                                ));
                            }
                        };
                    }
                    return Ok(acc);
                }
                Value::Path(p) => {
                    let mut s = p.s.clone();
                    for (i, part) in parts.iter().enumerate().skip(1) {
                        let v = eval_part(i, part)?;
                        let ns = self.coerce_to_string(&v, pos, false, false)?;
                        if ns.has_ctx() {
                            return Err(Error::new(
                                ErrorKind::Eval,
                                "a string that refers to a store path cannot be appended to a path"
                                    .to_string(),
                                pos,
                            ));
                        }
                        s.push_str(&ns.s);
                    }
                    return Ok(Value::path(parser::canon_path(&s)));
                }
                _ => {}
            }
        }
        let segment = |i: usize| Some((part_pos(i), "while evaluating a path segment"));
        let mut out = NixString::default();
        self.append_coerced(&mut out, &first, pos, false, true, segment(0))?;
        for (i, p) in parts.iter().enumerate().skip(1) {
            let v = eval_part(i, p)?;
            self.append_coerced(&mut out, &v, pos, false, true, segment(i))?;
        }
        Ok(Value::Str(Rc::new(out)))
    }

    /// Appends `v` coerced to a string (see [`Self::coerce_to_string`], or
    /// [`Self::coerce_in`] with a context) to `out`; a string is appended in place rather
    /// than copied first.
    pub fn append_coerced(
        &self,
        out: &mut NixString,
        v: &Value,
        pos: Pos,
        more: bool,
        copy: bool,
        ctx: Option<(Pos, &str)>,
    ) -> Result<()> {
        if let Value::Str(s) = v {
            out.s.push_str(&s.s);
            out.merge_ctx(s);
            return Ok(());
        }
        let s = match ctx {
            Some(ctx) => self.coerce_in(v, more, copy, ctx)?,
            None => self.coerce_to_string(v, pos, more, copy)?,
        };
        out.s.push_str(&s.s);
        out.merge_ctx(&s);
        Ok(())
    }

    fn add_values(&self, a: Value, b: Value, pos: Pos) -> Result<Value> {
        match (&a, &b) {
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                self.arith(BinOp::Add, &a, &b, pos)
            }
            _ => Err(Error::new(
                ErrorKind::Eval,
                format!("cannot add {} to {}", b.type_desc(), a.type_desc()),
                pos,
            )),
        }
    }

    /// Deep equality (`==`).
    #[allow(clippy::only_used_in_recursion)] // kept for error positions
    pub fn equal(&self, a: &Value, b: &Value, pos: Pos) -> Result<bool> {
        self.check_stack(pos)?;
        match (a, b) {
            (Value::Thunk(x), Value::Thunk(y)) if Rc::ptr_eq(x, y) => return Ok(true),
            _ => {}
        }
        let a = self.force(a)?;
        let b = self.force(b)?;
        Ok(match (&a, &b) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(x), Value::Bool(y)) => x == y,
            (Value::Int(x), Value::Int(y)) => x == y,
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                num_f64(&a) == num_f64(&b)
            }
            (Value::Str(x), Value::Str(y)) => x.s == y.s,
            (Value::Path(x), Value::Path(y)) => x.s == y.s,
            (Value::List(x), Value::List(y)) => {
                if Rc::ptr_eq(x, y) {
                    return Ok(true);
                }
                if x.len() != y.len() {
                    return Ok(false);
                }
                // Each level of nesting counts toward max-call-depth, so comparing two
                // infinite structures ends in an error rather than exhausting the stack.
                self.nested(pos, || {
                    for (p, q) in x.iter().zip(y.iter()) {
                        if !same_ref(p, q) && !self.equal(p, q, pos)? {
                            return Ok(false);
                        }
                    }
                    Ok(true)
                })?
            }
            (Value::Attrs(x), Value::Attrs(y)) => {
                if Rc::ptr_eq(x, y) {
                    return Ok(true);
                }
                if self.is_derivation(x)?
                    && self.is_derivation(y)?
                    && let (Some(p), Some(q)) = (x.get(self.sym.out_path), y.get(self.sym.out_path))
                {
                    return self.equal(p, q, pos);
                }
                if x.entries.len() != y.entries.len() {
                    return Ok(false);
                }
                self.nested(pos, || {
                    for (p, q) in x.entries.iter().zip(y.entries.iter()) {
                        if p.name != q.name
                            || (!same_ref(&p.value, &q.value)
                                && !self.equal(&p.value, &q.value, pos)?)
                        {
                            return Ok(false);
                        }
                    }
                    Ok(true)
                })?
            }
            _ => false,
        })
    }

    /// The error of an `assert` whose condition was false. When the condition is `a == b`,
    /// Nix compares the two sides again to say where they differ (`assertEqValues`).
    #[cold]
    fn assertion_failed(&self, c: &Ir, env: &Rc<Env>, pos: Pos, text: &str) -> Error {
        if let Ir::Bin(BinOp::Eq, a, b, eq_pos, _) = c {
            let why = self.eval(a, env).and_then(|a| {
                let b = self.eval(b, env)?;
                self.assert_eq_values(&a, &b, *eq_pos)
            });
            if let Err(e) = why {
                return e.frame(
                    pos,
                    format!("while evaluating the condition of the assertion '{text}'"),
                );
            }
        }
        Error::new(ErrorKind::Assert, format!("assertion '{text}' failed"), pos)
    }

    /// `a == b` as an equality assertion checks it: `Ok` when equal, otherwise an assertion
    /// error naming the first difference, with a frame for each attribute or list element
    /// on the way down to it (Nix's wording).
    fn assert_eq_values(&self, a: &Value, b: &Value, pos: Pos) -> Result<()> {
        self.check_stack(pos)?;
        let a = self.force(a)?;
        let b = self.force(b)?;
        let unequal = |msg: String| Err(Error::new(ErrorKind::Assert, msg, Pos::NONE));
        let show = |v: &Value| self.show_value(v);
        let numeric = |v: &Value| matches!(v, Value::Int(_) | Value::Float(_));
        if numeric(&a) && numeric(&b) {
            if self.equal(&a, &b, pos)? {
                return Ok(());
            }
            return unequal(format!(
                "{} with value '{}' is not equal to {} with value '{}'",
                a.type_desc(),
                show(&a),
                b.type_desc(),
                show(&b)
            ));
        }
        if a.type_desc() != b.type_desc() {
            return unequal(format!(
                "{} of value '{}' is not equal to {} of value '{}'",
                a.type_desc(),
                show(&a),
                b.type_desc(),
                show(&b)
            ));
        }
        match (&a, &b) {
            (Value::Bool(x), Value::Bool(y)) if x != y => {
                unequal(format!("boolean '{x}' is not equal to boolean '{y}'"))
            }
            (Value::Str(x), Value::Str(y)) if x.s != y.s => unequal(format!(
                "string '{}' is not equal to string '{}'",
                show(&a),
                show(&b)
            )),
            (Value::Path(x), Value::Path(y)) if x.s != y.s => unequal(format!(
                "path '{}' is not equal to path '{}'",
                x.s, y.s
            )),
            (Value::List(x), Value::List(y)) if !Rc::ptr_eq(x, y) => {
                if x.len() != y.len() {
                    return unequal(format!(
                        "list of size '{}' is not equal to list of size '{}', left hand side is '{}', right hand side is '{}'",
                        x.len(),
                        y.len(),
                        show(&a),
                        show(&b)
                    ));
                }
                self.nested(pos, || {
                    for (i, (p, q)) in x.iter().zip(y.iter()).enumerate() {
                        if !same_ref(p, q) {
                            self.assert_eq_values(p, q, pos).map_err(|e| {
                                e.frame(pos, format!("while comparing list element {i}"))
                            })?;
                        }
                    }
                    Ok(())
                })
            }
            (Value::Attrs(x), Value::Attrs(y)) if !Rc::ptr_eq(x, y) => {
                if self.is_derivation(x)?
                    && self.is_derivation(y)?
                    && let (Some(p), Some(q)) = (x.get(self.sym.out_path), y.get(self.sym.out_path))
                {
                    return self.assert_eq_values(p, q, pos).map_err(|e| {
                        e.frame(pos, "while comparing a derivation by its 'outPath' attribute")
                    });
                }
                let names_differ = || {
                    unequal(format!(
                        "attribute names of attribute set '{}' differs from attribute set '{}'",
                        show(&a),
                        show(&b)
                    ))
                };
                if x.entries.len() != y.entries.len() {
                    return names_differ();
                }
                self.nested(pos, || {
                    for (p, q) in x.entries.iter().zip(y.entries.iter()) {
                        if p.name != q.name {
                            return names_differ();
                        }
                        if !same_ref(&p.value, &q.value) {
                            self.assert_eq_values(&p.value, &q.value, pos)
                                .map_err(|e| {
                                    e.frame(q.pos, "where right hand side is")
                                        .frame(p.pos, "where left hand side is")
                                        .frame(pos, format!("while comparing attribute '{}'", p.name))
                                })?;
                        }
                    }
                    Ok(())
                })
            }
            (Value::Lambda(_) | Value::PrimOp(_) | Value::PrimOpApp(_), _) => unequal(
                "distinct functions and immediate comparisons of identical functions compare as unequal"
                    .into(),
            ),
            _ => Ok(()),
        }
    }

    pub(crate) fn is_derivation(&self, a: &Attrs) -> Result<bool> {
        match a.get(self.sym.type_) {
            Some(t) => match self.force(t)? {
                Value::Str(s) => Ok(s.s == "derivation"),
                _ => Ok(false),
            },
            None => Ok(false),
        }
    }

    /// `<` with Nix's rules.
    pub fn less_than(&self, a: &Value, b: &Value, pos: Pos) -> Result<bool> {
        let a = self.force(a)?;
        let b = self.force(b)?;
        Ok(match (&a, &b) {
            (Value::Int(x), Value::Int(y)) => x < y,
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                num_f64(&a) < num_f64(&b)
            }
            (Value::Str(x), Value::Str(y)) => x.s < y.s,
            (Value::Path(x), Value::Path(y)) => x.s < y.s,
            (Value::List(x), Value::List(y)) => self.nested(pos, || {
                for (p, q) in x.iter().zip(y.iter()) {
                    if !self.equal(p, q, pos)? {
                        return self
                            .less_than(p, q, pos)
                            .map_err(|e| e.frame(Pos::NONE, "while comparing two list elements"));
                    }
                }
                Ok(x.len() < y.len())
            })?,
            _ => {
                let same = a.type_desc() == b.type_desc();
                let msg = if same {
                    format!(
                        "cannot compare {} with {}; values of that type are incomparable (values are {} and {})",
                        a.type_desc(),
                        b.type_desc(),
                        self.show_value(&a),
                        self.show_value(&b)
                    )
                } else {
                    format!(
                        "cannot compare {} with {}; values are {} and {}",
                        a.type_desc(),
                        b.type_desc(),
                        self.show_value(&a),
                        self.show_value(&b)
                    )
                };
                return Err(Error::new(ErrorKind::Eval, msg, pos));
            }
        })
    }

    // ---------------------------------------------------------------- coercions

    /// A type error "expected X but found Y: v".
    pub fn type_err(&self, v: &Value, expected: &str, pos: Pos) -> Error {
        Error::new(
            ErrorKind::Eval,
            format!(
                "expected {expected} but found {}: {}",
                v.type_desc(),
                self.show_value(v)
            ),
            pos,
        )
    }

    /// Forces to a Boolean.
    pub fn expect_bool(&self, v: &Value, pos: Pos) -> Result<bool> {
        match self.force(v)? {
            Value::Bool(b) => Ok(b),
            v => Err(self.type_err(&v, "a Boolean", pos)),
        }
    }
    /// Forces to an integer.
    pub fn expect_int(&self, v: &Value, pos: Pos) -> Result<i64> {
        match self.force(v)? {
            Value::Int(i) => Ok(i),
            v => Err(self.type_err(&v, "an integer", pos)),
        }
    }
    /// Forces to an attribute set.
    pub fn force_attrs(&self, v: &Value, pos: Pos) -> Result<Rc<Attrs>> {
        match self.force(v)? {
            Value::Attrs(a) => Ok(a),
            v => Err(self.type_err(&v, "a set", pos)),
        }
    }
    /// Forces to a list.
    pub fn force_list(&self, v: &Value, pos: Pos) -> Result<Rc<Vec<Value>>> {
        match self.force(v)? {
            Value::List(l) => Ok(l),
            v => Err(self.type_err(&v, "a list", pos)),
        }
    }
    /// Forces to a function (error otherwise).
    pub fn expect_function(&self, v: &Value, pos: Pos) -> Result<Value> {
        let f = self.force(v)?;
        match &f {
            Value::Lambda(_) | Value::PrimOp(_) | Value::PrimOpApp(_) => Ok(f),
            Value::Attrs(a) if a.get(self.sym.functor).is_some() => Ok(f),
            _ => Err(self.type_err(&f, "a function", pos)),
        }
    }
    /// Forces to a string (no coercion).
    pub fn expect_string(&self, v: &Value, pos: Pos) -> Result<Rc<NixString>> {
        match self.force(v)? {
            Value::Str(s) => Ok(s),
            v => Err(self.type_err(&v, "a string", pos)),
        }
    }

    /// Coerces to a string. `more` enables `toString`'s extra rules (numbers, Booleans,
    /// null, lists); `copy` copies paths to the store (interpolation) instead of using
    /// them verbatim. Errors are reported at `pos`.
    pub fn coerce_to_string(
        &self,
        v: &Value,
        pos: Pos,
        more: bool,
        copy: bool,
    ) -> Result<NixString> {
        self.coerce(v, pos, more, copy, false, None)
    }

    /// [`Self::coerce_to_string`] in a context: a value that cannot be coerced is reported
    /// under the frame `ctx` (Nix's `errorCtx`), not at a position of its own.
    pub fn coerce_in(
        &self,
        v: &Value,
        more: bool,
        copy: bool,
        ctx: (Pos, &str),
    ) -> Result<NixString> {
        self.coerce(v, ctx.0, more, copy, false, Some(ctx))
    }

    /// Coerces to an absolute path string (`toPath`, `readFile`, ...).
    pub fn coerce_to_path(&self, v: &Value, pos: Pos) -> Result<String> {
        Ok(self.coerce(v, pos, false, false, true, None)?.s)
    }

    /// A path argument of a builtin that reads the file system (`pathExists`,
    /// `readFileType`): failures are "while realising the context of a path".
    pub fn realise_path(&self, v: &Value) -> Result<String> {
        let ctx = (Pos::NONE, "while realising the context of a path");
        Ok(self.coerce(v, Pos::NONE, false, false, true, Some(ctx))?.s)
    }

    /// An error of a coercion: under the frame `ctx` when there is one, else at `pos`.
    fn coerce_failed(msg: String, pos: Pos, ctx: Option<(Pos, &str)>) -> Error {
        match ctx {
            Some((at, what)) => Error::new(ErrorKind::Eval, msg, Pos::NONE).frame(at, what),
            None => Error::new(ErrorKind::Eval, msg, pos),
        }
    }

    /// The coercions: to a string, or with `path` to an absolute path. An attribute set
    /// coerces through `__toString` or `outPath`, whose failures get frames naming them.
    fn coerce(
        &self,
        v: &Value,
        pos: Pos,
        more: bool,
        copy: bool,
        path: bool,
        ctx: Option<(Pos, &str)>,
    ) -> Result<NixString> {
        let v = self.force(v)?;
        let s = match &v {
            Value::Str(s) => (**s).clone(),
            Value::Path(p) => {
                if copy {
                    // Nix reports a path it cannot copy on its own, without the context.
                    let at = if ctx.is_some() { Pos::NONE } else { pos };
                    let sp = self
                        .copy_path_cached(&p.s)
                        .map_err(|e| Error::new(ErrorKind::Eval, e.to_string(), at))?;
                    let mut ns = NixString::plain(sp.clone());
                    ns.ctx = Some(Box::new(std::iter::once(sp).collect()));
                    ns
                } else {
                    NixString::plain(p.s.clone())
                }
            }
            // `outPath`/`__toString` chains and nested lists can be cyclic without any thunk
            // left to force, and such recursion uses next to no shadow stack (so the stack
            // check cannot see it in wasm): each level counts toward max-call-depth.
            Value::Attrs(a) => {
                return self.nested(pos, || {
                    if let Some(f) = a.get_attr(self.sym.to_string) {
                        let r = self.call(&f.value, v.clone(), f.pos).map_err(|e| {
                            e.frame(f.pos, "while calling the `__toString` attribute")
                        })?;
                        return self.coerce(&r, pos, more, copy, path, ctx).map_err(|e| {
                            e.frame(
                                f.pos,
                                "while using the result of the `__toString` attribute",
                            )
                        });
                    }
                    if let Some(o) = a.get_attr(self.sym.out_path) {
                        let ov = self.force(&o.value).map_err(|e| {
                            e.frame(o.pos, "while evaluating the `outPath` attribute")
                        })?;
                        return self
                            .coerce(&ov, pos, more, copy, path, ctx)
                            .map_err(|e| e.frame(o.pos, "while using the `outPath` attribute"));
                    }
                    Err(self.coerce_err(&v, pos, ctx))
                });
            }
            Value::Int(i) if more => NixString::plain(i.to_string()),
            Value::Float(f) if more => NixString::plain(format_float_fixed(*f)),
            Value::Bool(b) if more => NixString::plain(if *b { "1" } else { "" }),
            Value::Null if more => NixString::plain(""),
            Value::List(l) if more => self.nested(pos, || {
                let mut out = NixString::default();
                for (i, x) in l.iter().enumerate() {
                    let s = self.coerce(x, pos, more, copy, false, ctx)?;
                    out.s.push_str(&s.s);
                    out.merge_ctx(&s);
                    if i + 1 < l.len() {
                        let xv = self.force(x)?;
                        let empty_list = matches!(&xv, Value::List(l) if l.is_empty());
                        if !empty_list {
                            out.s.push(' ');
                        }
                    }
                }
                Ok(out)
            })?,
            _ => return Err(self.coerce_err(&v, pos, ctx)),
        };
        if path && !s.s.starts_with('/') {
            return Err(Self::coerce_failed(
                format!("string '{}' doesn't represent an absolute path", s.s),
                pos,
                ctx,
            ));
        }
        Ok(s)
    }

    fn coerce_err(&self, v: &Value, pos: Pos, ctx: Option<(Pos, &str)>) -> Error {
        Self::coerce_failed(
            format!(
                "cannot coerce {} to a string: {}",
                v.type_desc(),
                self.show_value(v)
            ),
            pos,
            ctx,
        )
    }

    /// A short rendering of a value for messages.
    pub fn show_value(&self, v: &Value) -> String {
        crate::print::show_for_error(v)
    }

    /// Resolves `<name>` against the search path.
    pub fn find_file(&self, name: &str, pos: Pos) -> Result<Value> {
        self.find_file_in(&self.opts.search_path, name, pos)
    }

    /// Resolves `<name>` against the given search path.
    pub fn find_file_in(
        &self,
        sp: &[(Option<String>, String)],
        name: &str,
        pos: Pos,
    ) -> Result<Value> {
        for (prefix, dir) in sp {
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
            if std::fs::symlink_metadata(&candidate).is_ok() {
                return Ok(Value::path(parser::canon_path(&candidate)));
            }
        }
        if name == "nix/fetchurl.nix" {
            return Ok(Value::path(crate::corepkgs::FETCHURL_PATH));
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

/// Identity of shared values (Nix compares list elements and attribute values by pointer
/// first, which makes `[ f ] == [ f ]` true for a function `f`).
fn same_ref(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Thunk(x), Value::Thunk(y)) => Rc::ptr_eq(x, y),
        (Value::Lambda(x), Value::Lambda(y)) => Rc::ptr_eq(x, y),
        (Value::PrimOp(x), Value::PrimOp(y)) => std::ptr::eq(*x, *y),
        (Value::PrimOpApp(x), Value::PrimOpApp(y)) => Rc::ptr_eq(x, y),
        (Value::Attrs(x), Value::Attrs(y)) => Rc::ptr_eq(x, y),
        (Value::List(x), Value::List(y)) => Rc::ptr_eq(x, y),
        _ => false,
    }
}

pub(crate) fn num_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        _ => 0.0,
    }
}

/// `std::to_string(double)`: fixed with 6 decimals.
pub fn format_float_fixed(f: f64) -> String {
    format!("{f:.6}")
}

pub(crate) fn loc_str(p: Pos) -> String {
    p.resolve()
        .map(|l| l.to_string())
        .unwrap_or_else(|| "«none»".into())
}

/// The directory part of an absolute path.
pub fn parent_dir(p: &str) -> String {
    match p.rfind('/') {
        Some(0) => "/".into(),
        Some(i) => p[..i].into(),
        None => ".".into(),
    }
}

fn did_you_mean(msg: &mut String, mut sugg: Vec<&str>) {
    match sugg.len() {
        0 => {}
        1 => {
            let _ = write!(msg, "\nDid you mean {}?", sugg[0]);
        }
        _ => {
            let last = sugg.pop().expect("nonempty");
            let _ = write!(
                msg,
                "\nDid you mean one of {} or {}?",
                sugg.join(", "),
                last
            );
        }
    }
}

fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = if a[i - 1] == b[j - 1] { 0 } else { 1 };
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_with(opts: EvalOptions, src: &str) -> Result<String> {
        let ev = Evaluator::new(opts);
        let v = ev.eval_source(src, Origin::String, "/")?;
        let v = ev.force_deep(&v)?;
        Ok(crate::print::print_value(&v))
    }

    fn run(src: &str) -> Result<String> {
        run_with(EvalOptions::default(), src)
    }

    fn kind(src: &str) -> ErrorKind {
        run(src).expect_err("should fail").kind()
    }

    #[test]
    fn lexical_scope_beats_with() {
        assert_eq!(run("let x = 1; in with { x = 2; }; x").unwrap(), "1");
        assert_eq!(run("with { x = 1; }; with { x = 2; }; x").unwrap(), "2");
        assert_eq!(
            run("with { x = 1; }; let y = x; in with { x = 2; }; y").unwrap(),
            "1"
        );
        assert_eq!(kind("with { }; x"), ErrorKind::Eval);
        assert_eq!(kind("x"), ErrorKind::Parse);
    }

    #[test]
    fn equality_assertions_say_where_the_sides_differ() {
        let err = |src: &str| run(src).expect_err("should fail").0;
        let e = err("assert [ 1 { a = \"x\"; } ] == [ 1 { a = \"y\"; } ]; 0");
        assert_eq!(e.kind, ErrorKind::Assert);
        assert_eq!(e.msg, "string '\"x\"' is not equal to string '\"y\"'");
        assert_eq!(e.pos, Pos::NONE);
        let frames: Vec<&str> = e.trace.iter().rev().map(|f| f.1.as_str()).collect();
        assert_eq!(
            frames,
            [
                "while evaluating the condition of the assertion '([ (1) ({ a = \"x\"; }) ] == [ (1) ({ a = \"y\"; }) ])'",
                "while comparing list element 1",
                "while comparing attribute 'a'",
                "where left hand side is",
                "where right hand side is",
            ]
        );
        assert_eq!(
            err("assert 1 == 1.5; 0").msg,
            "an integer with value '1' is not equal to a float with value '1.5'"
        );
        assert_eq!(
            err("assert [ 1 ] == [ ]; 0").msg,
            "list of size '1' is not equal to list of size '0', left hand side is '[ 1 ]', right hand side is '[ ]'"
        );
        // Any other condition keeps the plain message; tryEval catches both.
        assert_eq!(
            err("assert 1 < 0; 0").msg,
            "assertion '(__lessThan 1 0)' failed"
        );
        assert_eq!(
            run("(builtins.tryEval (assert { a = 1; } == { b = 1; }; 0)).success").unwrap(),
            "false"
        );
    }

    #[test]
    fn laziness_and_blackholes() {
        assert_eq!(run("let x = throw \"no\"; in 1").unwrap(), "1");
        assert_eq!(run("(x: 1) (throw \"no\")").unwrap(), "1");
        assert_eq!(run("builtins.length [ (throw \"a\") ]").unwrap(), "1");
        assert_eq!(kind("let x = x; in x"), ErrorKind::InfiniteRecursion);
        assert_eq!(
            kind("rec { a = b; b = a; }.a"),
            ErrorKind::InfiniteRecursion
        );
        // a failed thunk is re-evaluated, not left as a blackhole
        assert_eq!(
            run("let x = throw \"t\"; in [ (builtins.tryEval x).success (builtins.tryEval x).success ]")
                .unwrap(),
            "[ false false ]"
        );
    }

    #[test]
    fn arithmetic_rules() {
        assert_eq!(run("7 / 2").unwrap(), "3");
        assert_eq!(run("7 / 2.0").unwrap(), "3.5");
        assert_eq!(run("1 + 2.5").unwrap(), "3.5");
        assert_eq!(kind("9223372036854775807 + 1"), ErrorKind::Eval);
        assert_eq!(kind("1 / 0"), ErrorKind::Eval);
        assert_eq!(run("\"a\" + \"b\"").unwrap(), "\"ab\"");
        assert_eq!(run("/a + \"/b\"").unwrap(), "/a/b");
    }

    #[test]
    fn functions_and_formals() {
        assert_eq!(
            run("({ a, b ? a + 1, ... }@x: [ a b x.c ]) { a = 1; c = 3; }").unwrap(),
            "[ 1 2 3 ]"
        );
        assert_eq!(kind("({ a }: a) { b = 1; }"), ErrorKind::Eval);
        assert_eq!(
            run("let f = { __functor = self: x: x + 1; }; in f 1").unwrap(),
            "2"
        );
    }

    #[test]
    fn environment_is_explicit() {
        let mut opts = EvalOptions::default();
        assert_eq!(
            run_with(opts.clone(), "builtins.getEnv \"HOME\"").unwrap(),
            "\"\""
        );
        opts.env.insert("HOME".into(), "/h".into());
        opts.system = "aarch64-darwin".into();
        assert_eq!(
            run_with(opts.clone(), "builtins.getEnv \"HOME\"").unwrap(),
            "\"/h\""
        );
        assert_eq!(
            run_with(opts.clone(), "builtins.currentSystem").unwrap(),
            "\"aarch64-darwin\""
        );
        assert_eq!(run_with(opts, "builtins.currentTime").unwrap(), "0");
    }

    #[test]
    fn regex_split_like_std_regex() {
        // expected values printed by nix-instantiate 2.8
        assert_eq!(
            run("builtins.split \"a*\" \"baaac\"").unwrap(),
            "[ \"\" [ ] \"b\" [ ] \"\" [ ] \"c\" [ ] \"\" ]"
        );
        assert_eq!(
            run("builtins.split \"a|ab\" \"abc\"").unwrap(),
            "[ \"\" [ ] \"c\" ]"
        );
        assert_eq!(
            run("builtins.match \"(a|ab)(c|bcd)(d*)\" \"abcd\"").unwrap(),
            "[ \"a\" \"bcd\" \"\" ]"
        );
    }

    #[test]
    fn derivation_paths_match_nix() {
        // nix-instantiate --eval --strict of the same expression (Nix 2.8)
        let src = "let d = derivation { name = \"a\"; builder = \"/bin/sh\"; system = \"x86_64-linux\"; args = [ \"-c\" \"echo\" ]; }; \
                   e = derivation { name = \"b\"; builder = \"/bin/sh\"; system = \"x86_64-linux\"; dep = d; outputs = [ \"out\" \"dev\" ]; }; \
                   in [ d.drvPath d.outPath e.drvPath e.dev.outPath ]";
        assert_eq!(
            run(src).unwrap(),
            "[ \"/nix/store/akidvvb10wbg9ysp26anpai477kchj2z-a.drv\" \"/nix/store/5a8m77d8y1bgalsnjmgmz2ypv6w9n8yc-a\" \
             \"/nix/store/658lgdpzb8k607x7knqkzyz59fvq79qc-b.drv\" \"/nix/store/ms6632q961dicx95hbqrbc1pgs2w7y04-b-dev\" ]"
        );
    }

    #[test]
    fn deep_recursion_and_overflow() {
        let h = std::thread::Builder::new()
            .stack_size(1 << 30)
            .spawn(|| {
                let opts = EvalOptions {
                    stack_budget: (1 << 30) - (128 << 20),
                    ..Default::default()
                };
                let deep = run_with(
                    opts.clone(),
                    "let f = n: if n == 0 then 0 else 1 + f (n - 1); in f 9999",
                );
                let infinite = run_with(opts, "let f = n: 1 + f n; in f 0");
                (
                    deep.map_err(|e| e.to_string()),
                    infinite.map_err(|e| e.kind()),
                )
            })
            .unwrap();
        let (deep, infinite) = h.join().unwrap();
        assert_eq!(deep.unwrap(), "9999");
        assert_eq!(infinite.unwrap_err(), ErrorKind::StackOverflow);
    }
}
