//! The Nix language: parser, compiler to a resolved IR, lazy evaluator and builtins, with
//! `nix-instantiate --eval`/`--parse`'s command line ([`cli`]).
//!
//! The crate is plain Rust, so it runs natively (tests, benchmarks) and as the `nix-eval`
//! wasm32-wasip2 guest. Its modules form layers that only point down:
//!
//! | layer | modules |
//! | --- | --- |
//! | the command line | [`cli`] |
//! | builtins, one file per family | `builtins` |
//! | the interpreter | `eval` ([`Evaluator`]) |
//! | values | `value` |
//! | the compiler (IR, scopes, speculation analysis) | `compiler` |
//! | syntax (lexer, parser, `--parse` printer) | `syntax` |
//! | errors and diagnostics, strings with context, the I/O boundary, sources | `error`, `diag`, `string`, [`io`], `source` |
//!
//! Every file read and store effect goes through the [`io::EvalIo`] boundary; the
//! environment (`getEnv`), clock, system and search path are explicit [`EvalOptions`], so
//! nothing of the host leaks into evaluation. `tests/layers.rs` checks the layering.

mod builtins;
pub mod cli;
mod compiler;
#[cfg(not(target_family = "wasm"))]
pub mod conformance;
mod diag;
mod error;
mod eval;
mod git;
pub mod heap;
pub mod io;
mod jobs;
mod source;
mod string;
mod syntax;
mod value;
mod value_json;

pub use diag::format_error;
pub use error::{Error, ErrorKind, Result};
pub use eval::{EvalOptions, Evaluator};
pub use source::Origin;
