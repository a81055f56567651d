//! The Nix language: parser, compiler to a resolved IR, lazy evaluator and builtins.

pub mod ast;
pub mod parser;
pub mod source;
