//! The Nix-language guest (`guests/nix-eval`, `nix-eval` built for `wasm32-wasip2`) that ships inside
//! the evalbox binary, so `evalbox eval` needs no separate download or build step. `build.rs`
//! builds and embeds it; `EVALBOX_NIX_EVAL=FILE` at run time uses another component instead
//! (e.g. a freshly built one while working on the evaluator).
//!
//! [`NestedNix`] runs it for other guests: it answers `evalbox:guest/nix` in a nested sandbox.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use crate::capabilities::Preopen;
use crate::capabilities::nix::{
    Argument, ContextItem, EvalError, EvalFuture, Evaluated, Evaluation, NixEvaluator, Source,
};
use crate::runtime::{Limits, OutputTarget};
use crate::sandbox::{Guest, RunConfig, RunOutcome, Sandbox};

/// The environment variable naming a `nix-eval` component to use instead of the embedded one.
pub const GUEST_ENV: &str = "EVALBOX_NIX_EVAL";

/// The embedded `nix-eval` component.
pub static EMBEDDED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/nix-eval.wasm"));

/// SHA-256 of [`EMBEDDED`], computed at build time (the compile cache's key).
pub static EMBEDDED_SHA256: &[u8; 32] =
    include_bytes!(concat!(env!("OUT_DIR"), "/nix-eval.wasm.sha256"));

/// A guest component and its SHA-256.
#[derive(Debug)]
pub struct GuestWasm {
    /// The component's bytes.
    pub bytes: Cow<'static, [u8]>,
    /// Their SHA-256.
    pub sha256: [u8; 32],
}

/// Errors locating the guest.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `$EVALBOX_NIX_EVAL` names a file that cannot be read.
    #[error("cannot read the Nix guest {path} (from ${GUEST_ENV}): {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// The component to run: `$EVALBOX_NIX_EVAL` if set, else the embedded one.
pub fn wasm() -> Result<GuestWasm, Error> {
    match std::env::var_os(GUEST_ENV).filter(|v| !v.is_empty()) {
        Some(path) => {
            let path = PathBuf::from(path);
            let bytes = std::fs::read(&path).map_err(|source| Error::Read { path, source })?;
            let sha256 = crate::runtime::cache::digest(&bytes);
            Ok(GuestWasm {
                bytes: Cow::Owned(bytes),
                sha256,
            })
        }
        None => Ok(GuestWasm {
            bytes: Cow::Borrowed(EMBEDDED),
            sha256: *EMBEDDED_SHA256,
        }),
    }
}

/// The Nix guest ([`wasm`]) compiled (or loaded from the cache), audited and pre-linked in
/// `sandbox`.
pub fn prepare(sandbox: &Sandbox) -> Result<Arc<Guest>, String> {
    let wasm = wasm().map_err(|e| e.to_string())?;
    sandbox
        .prepare_with_digest(&wasm.bytes, &wasm.sha256)
        .map_err(|e| format!("cannot prepare the Nix guest: {e}"))
}

/// The sandbox nested evaluations run in: one that lives as long as the process (the CLI
/// leaks its own), or one an embedder shares.
#[derive(Clone)]
#[allow(missing_debug_implementations)]
pub enum SandboxRef {
    /// A sandbox for the rest of the process.
    Static(&'static Sandbox),
    /// A shared sandbox.
    Shared(Arc<Sandbox>),
}

impl std::ops::Deref for SandboxRef {
    type Target = Sandbox;

    fn deref(&self) -> &Sandbox {
        match self {
            SandboxRef::Static(s) => s,
            SandboxRef::Shared(s) => s,
        }
    }
}

impl From<&'static Sandbox> for SandboxRef {
    fn from(sandbox: &'static Sandbox) -> Self {
        SandboxRef::Static(sandbox)
    }
}

impl From<Arc<Sandbox>> for SandboxRef {
    fn from(sandbox: Arc<Sandbox>) -> Self {
        SandboxRef::Shared(sandbox)
    }
}

/// `evalbox:guest/nix` served by the Nix guest in a nested sandbox: each evaluation is a run
/// of `nix-eval --eval --value-json` with the caller's sources, working directory, store and
/// limits, and nothing else (no environment, no search path beyond what the expression
/// names, no evaluator of its own to nest further).
pub struct NestedNix {
    sandbox: SandboxRef,
    guest: OnceLock<Result<Arc<Guest>, String>>,
    preopens: Vec<Preopen>,
    cwd: Option<String>,
    limits: Limits,
    store: Option<Arc<dyn evalbox_store::NixStore>>,
    /// Where the caller's diagnostics go: the nested evaluation's warnings and traces too.
    stderr: OutputTarget,
}

impl std::fmt::Debug for NestedNix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NestedNix")
            .field("preopens", &self.preopens)
            .field("cwd", &self.cwd)
            .finish_non_exhaustive()
    }
}

impl NestedNix {
    /// An evaluator for the guest that `caller` configures, in `sandbox` (the caller's own,
    /// typically: `&'static` or an `Arc`).
    pub fn new(sandbox: impl Into<SandboxRef>, caller: &RunConfig) -> NestedNix {
        NestedNix {
            sandbox: sandbox.into(),
            guest: OnceLock::new(),
            preopens: caller.preopens.clone(),
            cwd: caller.cwd.clone(),
            limits: caller.limits.clone(),
            store: caller.store.clone(),
            stderr: caller.stderr.clone(),
        }
    }

    /// The Nix guest, prepared on first use.
    fn guest(&self) -> Result<Arc<Guest>, EvalError> {
        self.guest
            .get_or_init(|| prepare(&self.sandbox))
            .clone()
            .map_err(EvalError::Unsupported)
    }

    /// The Nix guest's command line for `what`.
    fn args(&self, what: &Evaluation) -> Result<Vec<String>, EvalError> {
        let mut args: Vec<String> = ["nix-eval", "--eval", "--value-json"]
            .map(String::from)
            .into();
        match &what.source {
            Source::File(file) => {
                if !file.starts_with('/') && self.cwd.is_none() {
                    return Err(EvalError::InvalidArgument(format!(
                        "`{file}`: a relative path, but this guest has no working directory: \
                         name the file by its absolute path"
                    )));
                }
                // A file named like a flag is still a file.
                args.push(if file.starts_with('-') {
                    format!("./{file}")
                } else {
                    file.clone()
                });
            }
            // An expression that starts like a flag (`-1`) is still an expression.
            Source::Expr(expr) => args.extend([
                "--expr".to_owned(),
                if expr.starts_with('-') {
                    format!(" {expr}")
                } else {
                    expr.clone()
                },
            ]),
        }
        if let Some(path) = what.attr_path.as_ref().filter(|p| !p.is_empty()) {
            args.extend(["-A".to_owned(), path.clone()]);
        }
        for (name, value) in &what.args {
            if name.is_empty() {
                return Err(EvalError::InvalidArgument(
                    "an argument without a name".into(),
                ));
            }
            let (flag, value) = match value {
                Argument::Expr(e) => ("--arg", e),
                Argument::Str(s) => ("--argstr", s),
            };
            args.extend([flag.to_owned(), name.clone(), value.clone()]);
        }
        Ok(args)
    }

    async fn run(&self, what: &Evaluation) -> Result<Evaluated, EvalError> {
        let args = self.args(what)?;
        let guest = self.guest()?;
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let config = RunConfig {
            args,
            cwd: self.cwd.clone(),
            preopens: self.preopens.clone(),
            // The answer crosses into the caller as one host-call result: no larger than an
            // argument may be, however much the caller may print.
            limits: Limits {
                max_output: self.limits.max_output.min(self.limits.max_host_arg),
                ..self.limits.clone()
            },
            stdout: OutputTarget::Buffer(stdout.clone()),
            stderr: OutputTarget::Buffer(stderr.clone()),
            store: self.store.clone(),
            reclaim: true,
            ..RunConfig::default()
        };
        let outcome = self
            .sandbox
            .run(&guest, &config)
            .await
            .map_err(|e| EvalError::Unsupported(e.to_string()))?;
        let taken = |buffer: &Mutex<Vec<u8>>| {
            std::mem::take(&mut *buffer.lock().unwrap_or_else(|p| p.into_inner()))
        };
        let diagnostics = String::from_utf8_lossy(&taken(&stderr)).into_owned();
        match outcome {
            RunOutcome::Exited(0) => {
                // Warnings and traces of an evaluation that succeeded are the caller's to see.
                let _ = self.stderr.write_all(diagnostics.as_bytes());
                parse_value_json(&taken(&stdout))
            }
            RunOutcome::Exited(_) => {
                // The error comes last; warnings and traces before it are the caller's.
                let (before, error) = match diagnostics.strip_prefix("error: ") {
                    Some(error) => ("", error),
                    None => match diagnostics.rfind("\nerror: ") {
                        Some(at) => (&diagnostics[..=at], &diagnostics[at + 8..]),
                        None => ("", diagnostics.as_str()),
                    },
                };
                let _ = self.stderr.write_all(before.as_bytes());
                Err(EvalError::Eval(error.trim_end().to_owned()))
            }
            RunOutcome::Limit(limit) => Err(EvalError::LimitExceeded(format!(
                "the nested Nix evaluation: {limit}"
            ))),
            RunOutcome::Trapped(why) => Err(EvalError::Eval(why)),
        }
    }
}

impl NixEvaluator for NestedNix {
    fn evaluate<'a>(&'a self, what: &'a Evaluation) -> EvalFuture<'a> {
        Box::pin(self.run(what))
    }
}

/// The Nix guest's `--value-json` answer as an [`Evaluated`].
/// (Two lines: the context, then the value, which is passed on as it is.)
fn parse_value_json(stdout: &[u8]) -> Result<Evaluated, EvalError> {
    let bad = |why: String| EvalError::Unsupported(format!("the Nix guest answered badly: {why}"));
    let text = std::str::from_utf8(stdout).map_err(|e| bad(e.to_string()))?;
    let (context, value) = text
        .split_once('\n')
        .ok_or_else(|| bad("no value after the context".into()))?;
    let context: Vec<String> = serde_json::from_str(context).map_err(|e| bad(e.to_string()))?;
    let context = context
        .iter()
        .map(|c| ContextItem::parse(c).ok_or_else(|| bad(format!("context `{c}`"))))
        .collect::<Result<_, _>>()?;
    Ok(Evaluated {
        json: value.trim_end().to_owned(),
        context,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_digest_is_the_embedded_guests() {
        assert_eq!(&crate::runtime::cache::digest(EMBEDDED), EMBEDDED_SHA256);
    }
}
