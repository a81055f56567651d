//! The Nix language: parser, compiler to a resolved IR, lazy evaluator and builtins.
//!
//! The core is plain Rust with no I/O beyond `std::fs` reads, so it runs natively (tests,
//! benchmarks) and as the `nix-eval` wasm32-wasip2 guest. Store operations go through the
//! [`store::StoreOps`] trait; the environment (`getEnv`), clock, system and search path are
//! all explicit [`eval::EvalOptions`], so nothing of the host leaks into evaluation.

pub mod ast;
pub mod builtins;
pub mod cheap;
pub mod cli;
pub mod compile;
#[cfg(not(target_family = "wasm"))]
pub mod conformance;
pub mod corepkgs;
pub mod derivation;
pub mod diag;
pub mod eval;
pub mod formats;
pub mod parser;
pub mod print;
pub mod regex;
pub mod sandbox;
pub mod source;
pub mod store;
pub mod value;

pub use eval::{Error, ErrorKind, EvalOptions, Evaluator};
pub use value::Value;
