//! `evalbox:guest/nix`: Nix evaluation as a capability. A guest in any language asks for a
//! value; a [`NixEvaluator`] that the embedder provides (the CLI's runs a nested sandbox with
//! the Nix guest, `crate::nix_eval::NestedNix`) answers. This module converts the WIT types
//! to plain ones and back, caps the request's size, and answers the same request twice in
//! one run from its cache.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::bindings::nix as wit;
use crate::runtime::LimitExceeded;

/// What to evaluate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    /// A Nix file in the caller's sources, as the caller sees it.
    File(String),
    /// A Nix expression.
    Expr(String),
}

/// A value the evaluated function is called with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Argument {
    /// A Nix expression (`--arg`).
    Expr(String),
    /// A string (`--argstr`).
    Str(String),
}

/// One evaluation request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Evaluation {
    /// What to evaluate.
    pub source: Source,
    /// An attribute path into the value (`-A`).
    pub attr_path: Option<String>,
    /// Arguments for a function, by name.
    pub args: Vec<(String, Argument)>,
}

/// What a string of the value refers to in the store (Nix's string context).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextItem {
    /// A store path used as a source.
    Opaque(String),
    /// One output of a derivation.
    Output {
        /// The `.drv` path.
        drv_path: String,
        /// The output's name.
        output: String,
    },
    /// A `.drv` with all its outputs and inputs.
    AllOutputs(String),
}

impl ContextItem {
    /// Parses Nix's encoding of a context element: `/nix/store/…`, `=….drv`, `!out!….drv`.
    pub fn parse(encoded: &str) -> Option<ContextItem> {
        if let Some(drv) = encoded.strip_prefix('=') {
            return Some(ContextItem::AllOutputs(drv.to_owned()));
        }
        if let Some(rest) = encoded.strip_prefix('!') {
            let (output, drv) = rest.split_once('!')?;
            return Some(ContextItem::Output {
                drv_path: drv.to_owned(),
                output: output.to_owned(),
            });
        }
        encoded
            .starts_with('/')
            .then(|| ContextItem::Opaque(encoded.to_owned()))
    }
}

/// An evaluated value: JSON and the context of its strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluated {
    /// The value as JSON (derivations as objects; see the WIT).
    pub json: String,
    /// The context of every string in it.
    pub context: Vec<ContextItem>,
}

/// Why an evaluation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// Nix failed; its message.
    #[error("{0}")]
    Eval(String),
    /// The request is malformed.
    #[error("{0}")]
    InvalidArgument(String),
    /// The nested evaluation hit a limit.
    #[error("{0}")]
    LimitExceeded(String),
    /// Nix cannot be evaluated here.
    #[error("{0}")]
    Unsupported(String),
}

/// A boxed evaluation in progress.
pub type EvalFuture<'a> = Pin<Box<dyn Future<Output = Result<Evaluated, EvalError>> + Send + 'a>>;

/// What answers `evalbox:guest/nix` for one run: it evaluates with the caller's sources and
/// store, under its limits, and with nothing more.
pub trait NixEvaluator: Send + Sync + std::fmt::Debug {
    /// Evaluates `what`.
    fn evaluate<'a>(&'a self, what: &'a Evaluation) -> EvalFuture<'a>;
}

/// How many bytes of answers one run keeps for repeated requests; past it, answers are not
/// kept (a request asked again is evaluated again), so a guest asking for ever more values
/// cannot make the host hold them all.
pub const ANSWERS_KEPT: u64 = 64 << 20;

/// The interface's state for one guest.
pub struct NixCapability {
    /// The evaluator; `None` makes every request fail with `unsupported`.
    pub evaluator: Option<Arc<dyn NixEvaluator>>,
    /// Cap on one host-call argument, in bytes (the request's strings together).
    pub max_host_arg: u64,
    /// The answers kept in this run (see [`ANSWERS_KEPT`]), and their size.
    pub answered: HashMap<Evaluation, Result<Evaluated, EvalError>>,
    /// The bytes of `answered`.
    pub answered_bytes: u64,
}

impl std::fmt::Debug for NixCapability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NixCapability")
            .field("evaluator", &self.evaluator.is_some())
            .field("answered", &self.answered.len())
            .finish()
    }
}

impl wit::Host for NixCapability {
    async fn evaluate(
        &mut self,
        what: wit::Evaluation,
    ) -> wasmtime::Result<Result<wit::Value, wit::Error>> {
        let what = Evaluation::from(what);
        let size = what.size();
        if size > self.max_host_arg {
            return Err(wasmtime::Error::new(LimitExceeded::HostArgument {
                operation: "evaluate",
                size,
                limit: self.max_host_arg,
            }));
        }
        if let Some(answer) = self.answered.get(&what) {
            return Ok(to_wit(answer.clone()));
        }
        let answer = match &self.evaluator {
            Some(evaluator) => evaluator.evaluate(&what).await,
            None => Err(EvalError::Unsupported(
                "this host cannot evaluate Nix for its guests".into(),
            )),
        };
        let bytes = what.size() + answer_size(&answer);
        if self.answered_bytes + bytes <= ANSWERS_KEPT {
            self.answered_bytes += bytes;
            self.answered.insert(what, answer.clone());
        }
        Ok(to_wit(answer))
    }
}

impl Evaluation {
    /// The bytes of its strings.
    fn size(&self) -> u64 {
        let text = |s: &str| s.len() as u64;
        let source = match &self.source {
            Source::File(s) | Source::Expr(s) => text(s),
        };
        let args: u64 = self
            .args
            .iter()
            .map(|(name, value)| match value {
                Argument::Expr(v) | Argument::Str(v) => text(name) + text(v),
            })
            .sum();
        source + self.attr_path.as_deref().map_or(0, text) + args
    }
}

impl From<wit::Evaluation> for Evaluation {
    fn from(what: wit::Evaluation) -> Self {
        Evaluation {
            source: match what.source {
                wit::Source::File(f) => Source::File(f),
                wit::Source::Expr(e) => Source::Expr(e),
            },
            attr_path: what.attr_path,
            args: what
                .args
                .into_iter()
                .map(|(name, value)| {
                    let value = match value {
                        wit::Argument::Expr(e) => Argument::Expr(e),
                        wit::Argument::Str(s) => Argument::Str(s),
                    };
                    (name, value)
                })
                .collect(),
        }
    }
}

/// The bytes an answer holds.
fn answer_size(answer: &Result<Evaluated, EvalError>) -> u64 {
    match answer {
        Ok(value) => {
            let context: usize = value
                .context
                .iter()
                .map(|c| match c {
                    ContextItem::Opaque(p) | ContextItem::AllOutputs(p) => p.len(),
                    ContextItem::Output { drv_path, output } => drv_path.len() + output.len(),
                })
                .sum();
            (value.json.len() + context) as u64
        }
        Err(e) => e.to_string().len() as u64,
    }
}

fn to_wit(answer: Result<Evaluated, EvalError>) -> Result<wit::Value, wit::Error> {
    match answer {
        Ok(value) => Ok(wit::Value {
            json: value.json,
            context: value
                .context
                .into_iter()
                .map(|item| match item {
                    ContextItem::Opaque(p) => wit::ContextItem::Opaque(p),
                    ContextItem::Output { drv_path, output } => {
                        wit::ContextItem::Output(wit::DerivationOutput { drv_path, output })
                    }
                    ContextItem::AllOutputs(p) => wit::ContextItem::AllOutputs(p),
                })
                .collect(),
        }),
        Err(EvalError::Eval(m)) => Err(wit::Error::Eval(m)),
        Err(EvalError::InvalidArgument(m)) => Err(wit::Error::InvalidArgument(m)),
        Err(EvalError::LimitExceeded(m)) => Err(wit::Error::LimitExceeded(m)),
        Err(EvalError::Unsupported(m)) => Err(wit::Error::Unsupported(m)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::nix::Host as _;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Answers every request with `size` bytes of JSON, counting the requests.
    #[derive(Debug)]
    struct Counting {
        calls: AtomicUsize,
        size: usize,
    }

    impl NixEvaluator for Counting {
        fn evaluate<'a>(&'a self, _: &'a Evaluation) -> EvalFuture<'a> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let json = "0".repeat(self.size);
            Box::pin(async move {
                Ok(Evaluated {
                    json,
                    context: Vec::new(),
                })
            })
        }
    }

    /// How many times the evaluator ran for two rounds of `requests` distinct requests.
    fn calls_for(size: usize, requests: usize) -> usize {
        let counting = Arc::new(Counting {
            calls: AtomicUsize::new(0),
            size,
        });
        let mut cap = NixCapability {
            evaluator: Some(counting.clone()),
            max_host_arg: 1 << 20,
            answered: HashMap::new(),
            answered_bytes: 0,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        for _ in 0..2 {
            for i in 0..requests {
                let what = wit::Evaluation {
                    source: wit::Source::Expr(i.to_string()),
                    attr_path: None,
                    args: Vec::new(),
                };
                let answer = rt.block_on(cap.evaluate(what)).unwrap().unwrap();
                assert_eq!(answer.json.len(), size);
            }
        }
        counting.calls.load(Ordering::SeqCst)
    }

    #[test]
    fn repeated_requests_are_answered_once_within_the_kept_bytes() {
        assert_eq!(calls_for(10, 5), 5);
        // 3 answers of 30 MiB: two are kept, the third is evaluated again.
        assert_eq!(calls_for(30 << 20, 3), 4);
    }

    #[test]
    fn a_request_over_the_argument_cap_ends_the_guest() {
        let mut cap = NixCapability {
            evaluator: None,
            max_host_arg: 8,
            answered: HashMap::new(),
            answered_bytes: 0,
        };
        let what = wit::Evaluation {
            source: wit::Source::Expr("1 + 1 + 1 + 1".into()),
            attr_path: None,
            args: Vec::new(),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let err = rt.block_on(cap.evaluate(what)).unwrap_err();
        assert!(err.downcast_ref::<LimitExceeded>().is_some(), "{err:?}");
    }

    #[test]
    fn context_items_in_nix_encoding() {
        let drv = "/nix/store/97qlv6h78lxlm9zc8849ahsbcklhsi2y-x.drv";
        assert_eq!(
            ContextItem::parse(&format!("!dev!{drv}")),
            Some(ContextItem::Output {
                drv_path: drv.into(),
                output: "dev".into()
            })
        );
        assert_eq!(
            ContextItem::parse(&format!("={drv}")),
            Some(ContextItem::AllOutputs(drv.into()))
        );
        assert_eq!(
            ContextItem::parse(drv),
            Some(ContextItem::Opaque(drv.into()))
        );
        assert_eq!(ContextItem::parse("!out"), None);
        assert_eq!(ContextItem::parse("relative"), None);
    }
}
