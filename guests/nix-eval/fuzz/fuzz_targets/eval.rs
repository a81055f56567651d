//! Parsing, compiling and evaluating any text strictly (store paths computed, nothing
//! written, no file outside `/nonexistent` named by the input exists to read): a value or an
//! evaluation error, never a panic.
#![no_main]

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::run(data, &["--eval", "--strict", "--readonly-mode"])
});
