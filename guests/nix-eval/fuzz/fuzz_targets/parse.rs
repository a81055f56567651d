//! The parser and the `--parse` printer on any text: an error or a printed tree, never a
//! panic.
#![no_main]

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::run(data, &["--parse"]));
