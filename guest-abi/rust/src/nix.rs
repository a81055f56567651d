//! Nix evaluation, as the host offers it (`evalbox:guest/nix`): a file of the guest's sources
//! or an expression, evaluated in a nested sandbox that sees the guest's sources and store and
//! nothing more. The value comes back as JSON text (parse it with the JSON library of your
//! choice): each derivation in it is `{"type": "derivation", "drvPath", "name", "system",
//! "outputs"}`, its `.drv` already in the store, ready to be an input of the guest's own
//! derivations ([`crate::derivation::DerivationBuilder::input_drv`]).
//!
//! ```no_run
//! use evalbox_guest::nix::Evaluation;
//!
//! let hello = Evaluation::file("/src/pkgs.nix").attr("hello").eval()?;
//! println!("{}", hello.json); // {"type":"derivation","drvPath":"/nix/store/…-hello.drv",…}
//! # Ok::<(), evalbox_guest::nix::Error>(())
//! ```

use crate::bindings::evalbox::guest::nix as wit;

/// Why an evaluation failed; each variant carries the message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Nix failed: its message, with its trace.
    Eval(String),
    /// The request is malformed.
    InvalidArgument(String),
    /// The nested evaluation hit a sandbox limit.
    LimitExceeded(String),
    /// The host cannot evaluate Nix here.
    Unsupported(String),
}

impl Error {
    /// The message.
    pub fn message(&self) -> &str {
        match self {
            Error::Eval(m)
            | Error::InvalidArgument(m)
            | Error::LimitExceeded(m)
            | Error::Unsupported(m) => m,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Error {}

/// What a string of the value refers to in the store (Nix's string context).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextItem {
    /// A store path used as a source (an input source of a derivation using the string).
    Opaque(String),
    /// One output of a derivation (an input derivation of one using the string).
    Output {
        /// The `.drv` path.
        drv_path: String,
        /// The output's name.
        output: String,
    },
    /// A `.drv` with all its outputs and inputs (the context of `drvPath`).
    AllOutputs(String),
}

/// An evaluated value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    /// The value as JSON.
    pub json: String,
    /// The context of every string in it.
    pub context: Vec<ContextItem>,
}

/// An evaluation to ask for: what to evaluate, where in its value, with which arguments.
#[derive(Debug, Clone)]
pub struct Evaluation(wit::Evaluation);

impl Evaluation {
    /// A Nix file of the guest's sources.
    pub fn file(path: &str) -> Self {
        Self::new(wit::Source::File(path.to_owned()))
    }

    /// A Nix expression.
    pub fn expr(expr: &str) -> Self {
        Self::new(wit::Source::Expr(expr.to_owned()))
    }

    fn new(source: wit::Source) -> Self {
        Evaluation(wit::Evaluation {
            source,
            attr_path: None,
            args: Vec::new(),
        })
    }

    /// The attribute path into the value (`-A`), such as `pkgs.hello`.
    pub fn attr(mut self, path: &str) -> Self {
        self.0.attr_path = Some(path.to_owned());
        self
    }

    /// An argument, a Nix expression, for a function found there (`--arg`).
    pub fn arg(mut self, name: &str, expr: &str) -> Self {
        let value = wit::Argument::Expr(expr.to_owned());
        self.0.args.push((name.to_owned(), value));
        self
    }

    /// A string argument (`--argstr`).
    pub fn argstr(mut self, name: &str, value: &str) -> Self {
        let value = wit::Argument::Str(value.to_owned());
        self.0.args.push((name.to_owned(), value));
        self
    }

    /// Evaluates it (the same evaluation twice in one run is answered once).
    pub fn eval(&self) -> Result<Value, Error> {
        let value = wit::evaluate(&self.0).map_err(|e| match e {
            wit::Error::Eval(m) => Error::Eval(m),
            wit::Error::InvalidArgument(m) => Error::InvalidArgument(m),
            wit::Error::LimitExceeded(m) => Error::LimitExceeded(m),
            wit::Error::Unsupported(m) => Error::Unsupported(m),
        })?;
        let context = value
            .context
            .into_iter()
            .map(|item| match item {
                wit::ContextItem::Opaque(p) => ContextItem::Opaque(p),
                wit::ContextItem::Output(o) => ContextItem::Output {
                    drv_path: o.drv_path,
                    output: o.output,
                },
                wit::ContextItem::AllOutputs(p) => ContextItem::AllOutputs(p),
            })
            .collect();
        Ok(Value {
            json: value.json,
            context,
        })
    }
}
